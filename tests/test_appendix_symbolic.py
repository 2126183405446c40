"""Tests of dmftlib.symbolic.gaussian: Wick's theorem (SymPy) vs Monte Carlo and quadrature, Price, Stein."""
import numpy as np
import pytest
import sympy as sp
from scipy.special import erf

from dmftlib.core import expect, expect2, expect_joint
from dmftlib.symbolic import gaussian as G

C4 = np.array([[1.0, 0.5, 0.2, -0.3],
               [0.5, 1.5, 0.4, 0.1],
               [0.2, 0.4, 0.8, 0.3],
               [-0.3, 0.1, 0.3, 1.2]])


def test_wick_equals_mgf_derivatives():
    for ix in [(0, 1), (0, 1, 2, 3), (0, 0, 1, 1), (0, 0, 0, 1, 2, 3)]:
        assert G.wick_theorem_holds(ix)
    assert G.moment((0, 1, 2)) == 0                     # odd moments vanish
    assert len(G.pairings(range(8))) == 105             # 7!!


def test_wick_vs_monte_carlo():
    # sample mean of x1 x2 x3 x4 over n draws: error = sem ~ 1/sqrt(n); 4 standard errors
    rng = np.random.default_rng(0)
    x = rng.multivariate_normal(np.zeros(4), C4, size=400_000)
    prod = x.prod(axis=1)
    mean, sem = prod.mean(), prod.std(ddof=1) / np.sqrt(prod.size)
    exact = float(G.moment_function((0, 1, 2, 3))(C4))
    assert abs(mean - exact) < 4 * sem


def test_wick_vs_expect_joint():
    # E[u^2 v^2] and E[u^3 v]: polynomials of degree 4, integrated exactly by 10 x 10 Gauss-Hermite
    vu, vv, c = 1.3, 0.7, 0.4
    C = np.array([[vu, c], [c, vv]])
    for (m, n) in [(2, 2), (3, 1), (4, 2)]:
        exact = float(G.moment_function((0,) * m + (1,) * n)(C))
        quad = float(expect_joint(lambda u, v: u**m * v**n, vu, vv, c, n=10))
        np.testing.assert_allclose(quad, exact, rtol=1e-12)
    np.testing.assert_allclose(float(G.moment_function((0, 0, 1, 1))(C)), vu * vv + 2 * c**2, rtol=1e-14)


def test_price_symbolic_and_numeric():
    x = sp.Symbol("x")
    for f, g in [(x**3, x), (x**2 + x, x**4 - x), (x**5, x**3)]:
        lhs, rhs = G.price_derivative(f, g)
        assert sp.expand(lhs - rhs) == 0
    assert G.heat_equation_identity()
    # tanh: central difference of E[tanh u tanh v] in c (error O(h^2) ~ 1e-8) vs E[tanh' tanh'] by quadrature
    h, c = 1e-4, 0.3
    d = (expect2(np.tanh, np.tanh, 1.0, 1.0, c + h) - expect2(np.tanh, np.tanh, 1.0, 1.0, c - h)) / (2 * h)
    dt = lambda u: 1 / np.cosh(u) ** 2
    np.testing.assert_allclose(d, expect2(dt, dt, 1.0, 1.0, c), atol=1e-7)
    # ReLU: d/dc of the arc-cosine kernel is the step kernel (exact closed forms)
    d = (G.arccos_kernel(1.0, 1.0, c + h) - G.arccos_kernel(1.0, 1.0, c - h)) / (2 * h)
    np.testing.assert_allclose(d, G.arccos_kernel(1.0, 1.0, c, order=0), atol=1e-8)


def test_stein_and_hubbard_stratonovich():
    assert G.stein_identity()
    assert sp.simplify(G.hubbard_stratonovich() - sp.exp(sp.Symbol("a", real=True) ** 2 / 2)) == 0
    # tanh has poles at +-i pi/2: Gauss-Hermite error decays like exp(-c sqrt(n)), about 1e-10 at n = 80
    np.testing.assert_allclose(expect(lambda z: z * np.tanh(z)), expect(lambda z: 1 / np.cosh(z) ** 2), atol=1e-8)


def test_kernels_vs_quadrature():
    vu, vv = np.array([0.5, 1.0, 2.0]), np.array([1.0, 1.5, 0.5])
    c = np.array([0.2, -0.9, 0.7])
    np.testing.assert_allclose(expect2(erf, erf, vu, vv, c, n=80), G.arcsine_kernel(vu, vv, c), atol=1e-10)
    relu = lambda x: np.maximum(x, 0)
    # ReLU kink: quadrature error ~ sqrt(v_u v_v) / n (node spacing ~ n^{-1/2} near the kink, error ~ spacing^2,
    # measured in the appendix); n = 200
    n = 200
    err = np.abs(expect2(relu, relu, vu, vv, c, n=n) - G.arccos_kernel(vu, vv, c))
    assert np.all(err < np.sqrt(vu * vv) / n)


def test_bad_input():
    with pytest.raises(ValueError, match="indices"):
        G.moment((0, 5), G.covariance_symbols(2))
    with pytest.raises(ValueError, match="cov"):
        G.arcsine_kernel(1.0, 1.0, 2.0)
    with pytest.raises(ValueError, match="var_u"):
        G.arccos_kernel(-1.0, 1.0, 0.0)
