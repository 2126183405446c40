"""Gaussian expectations against closed forms."""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import erf

from dmftlib.core import expect, expect2, expect_joint, gauss_hermite


def test_weights_are_a_probability_measure():
    z, w = gauss_hermite(40)
    assert_allclose(w.sum(), 1.0, rtol=1e-14)
    assert_allclose((w * z).sum(), 0.0, atol=1e-14)


@pytest.mark.parametrize("k, moment", [(2, 1.0), (4, 3.0), (6, 15.0), (8, 105.0)])
def test_even_moments(k, moment):
    # E[(sqrt(v) z)^k] = v^{k/2} (k-1)!!; exact for a rule with 2n-1 >= k
    v = np.array([0.5, 1.0, 2.5])
    assert_allclose(expect(lambda x: x**k, var=v, n=10), moment * v ** (k / 2), rtol=1e-12)


def test_mean_shift_and_broadcasting():
    m = np.array([[0.0], [1.0]])
    v = np.array([1.0, 2.0, 3.0])
    out = expect(lambda x: x**2, var=v, mean=m)
    assert out.shape == (2, 3)
    assert_allclose(out, v + m**2, rtol=1e-12)


def test_erf_second_moment_closed_form():
    # E[erf(u/sqrt2)^2] = (2/pi) arcsin(v / (1 + v)) for u ~ N(0, v)
    v = np.linspace(0.1, 4.0, 7)
    exact = 2 / np.pi * np.arcsin(v / (1 + v))
    assert_allclose(expect(lambda x: erf(x / np.sqrt(2)) ** 2, var=v), exact, rtol=1e-8)


def test_pair_expectation_erf_kernel():
    # E[erf(u/sqrt2) erf(v/sqrt2)] = (2/pi) arcsin(c / sqrt((1+a)(1+b)))
    a, b = 1.3, 0.7
    c = np.linspace(-0.9, 0.9, 9) * np.sqrt(a * b)
    g = lambda x: erf(x / np.sqrt(2))
    exact = 2 / np.pi * np.arcsin(c / np.sqrt((1 + a) * (1 + b)))
    assert_allclose(expect2(g, g, a, b, c), exact, atol=1e-10)


def test_pair_expectation_relu_arccos_kernel():
    # Cho & Saul: E[relu(u) relu(v)] = sqrt(ab)/(2 pi) (sin th + (pi - th) cos th), cos th = rho.
    # The kink limits Gauss-Hermite to algebraic convergence: the error must fall with n
    # (about 1/n), reaching the 1e-3 level at n = 120. Use closed forms for ReLU where exact
    # numbers matter.
    a, b = 2.0, 0.5
    rho = np.array([-0.5, 0.0, 0.3, 0.8])
    th = np.arccos(rho)
    exact = np.sqrt(a * b) / (2 * np.pi) * (np.sin(th) + (np.pi - th) * np.cos(th))
    relu = lambda x: np.maximum(x, 0)
    errs = [np.max(np.abs(expect2(relu, relu, a, b, rho * np.sqrt(a * b), n=n) - exact)) for n in (30, 120)]
    assert errs[1] < 2e-3 and errs[1] < errs[0] / 4


def test_degenerate_covariances():
    # var_u = 0 and perfectly correlated pairs are allowed
    assert_allclose(expect2(lambda u: u + 1, lambda v: v**2, 0.0, 2.0, 0.0), 2.0, rtol=1e-12)
    assert_allclose(expect2(np.tanh, np.tanh, 1.0, 1.0, 1.0), expect(lambda x: np.tanh(x) ** 2, 1.0), rtol=1e-7)


def test_joint_function():
    assert_allclose(expect_joint(lambda u, v: u * v + u**2, 1.0, 2.0, 0.3), 1.3, rtol=1e-12)


@pytest.mark.parametrize("kwargs, name", [
    (dict(var_u=-1.0, var_v=1.0, cov=0.0), "var_u"),
    (dict(var_u=1.0, var_v=np.nan, cov=0.0), "var_v"),
    (dict(var_u=1.0, var_v=1.0, cov=2.0), "cov"),
])
def test_invalid_covariance_raises(kwargs, name):
    with pytest.raises(ValueError, match=name):
        expect2(np.tanh, np.tanh, **kwargs)


def test_invalid_node_count():
    with pytest.raises(ValueError, match="n must be an integer in"):
        gauss_hermite(0)


def test_largest_allowed_rule_is_finite_and_larger_is_refused():
    z, w = gauss_hermite(350)
    assert np.all(np.isfinite(w)) and abs(w.sum() - 1) < 1e-12
    with pytest.raises(ValueError, match=r"n must be an integer in \[1, 350\]"):
        gauss_hermite(351)
