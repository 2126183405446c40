"""Time grids, causal integrals and two-time helpers."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

from dmftlib.core import (causal_integral, causal_part, causal_weights, is_causal, is_psd,
                          project_psd, symmetrize, uniform_grid)


def ou_exact(t, D=0.5):
    """Ornstein-Uhlenbeck dx = -x dt + sqrt(2D) dW, x(0) = 0: C(t,t') = D (e^{-|t-t'|} - e^{-(t+t')})."""
    T, S = t[:, None], t[None, :]
    return D * (np.exp(-np.abs(T - S)) - np.exp(-(T + S)))


def test_weights_integrate_polynomials():
    g = uniform_grid(3.0, 301)
    W = causal_weights(g.n, g.dt)
    assert_allclose(W @ np.ones(g.n), g.t, atol=1e-12)             # exact for constants
    assert_allclose(W @ g.t, g.t**2 / 2, atol=1e-12)                # and linear functions
    assert_allclose(W @ g.t**2, g.t**3 / 3, atol=2 * g.dt**2)       # O(dt^2) otherwise


@pytest.mark.parametrize("n", [101, 201, 401])
def test_ou_covariance_through_causal_integral_is_second_order(n):
    # C(t,t') = 2D int_0^{min(t,t')} R(t,s) R(t',s) ds with R(t,s) = e^{-(t-s)} theta(t-s)
    g = uniform_grid(4.0, n)
    R = np.tril(np.exp(-(g.t[:, None] - g.t[None, :])))
    C = causal_integral(R, R.T, g.dt, upto="min")
    err = np.max(np.abs(C - ou_exact(g.t)))
    # trapezoid error: (t/12) dt^2 max|f''| <= 4/12 * dt^2 * 1
    assert err < 0.34 * g.dt**2
    assert is_psd(C, tol=1e-8)
    assert_allclose(C, C.T, atol=1e-14)


def test_row_and_column_limits():
    g = uniform_grid(1.0, 201)
    A = np.ones((g.n, g.n))
    assert_allclose(causal_integral(A, A, g.dt, upto="row"), np.repeat(g.t[:, None], g.n, 1), atol=1e-12)
    assert_allclose(causal_integral(A, A, g.dt, upto="column"), np.repeat(g.t[None, :], g.n, 0), atol=1e-12)
    assert_allclose(causal_integral(A, A, g.dt, upto="min"), np.minimum.outer(g.t, g.t), atol=1e-12)


def test_response_convolution_composes_exponentials():
    # int_{t'}^{t} e^{-(t-s)} e^{-(s-t')} ds = (t - t') e^{-(t-t')}
    g = uniform_grid(3.0, 301)
    tau = g.t[:, None] - g.t[None, :]
    R = np.tril(np.exp(-tau))
    I = causal_integral(R, R, g.dt, upto="between")
    # trapezoid rule is exact here: the integrand e^{-(t-t')} is constant in s
    assert_allclose(I, np.tril(tau * np.exp(-tau)), atol=1e-12)
    assert is_causal(I, strict=True, atol=1e-15)
    # a genuinely curved integrand, int_{t'}^{t} e^{-2(t-s)} ds = (1 - e^{-2(t-t')})/2: O(dt^2)
    R2 = np.tril(np.exp(-2 * tau))
    I2 = causal_integral(R2, np.tril(np.ones_like(tau)), g.dt, upto="between")
    assert np.max(np.abs(I2 - np.tril(0.5 * (1 - np.exp(-2 * tau))))) < 3 * 4 / 12 * g.dt**2


def test_symmetry_causality_psd_helpers():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((6, 6))
    S = symmetrize(M)
    assert_allclose(S, S.T)
    R = causal_part(M)
    assert is_causal(R) and not is_causal(M)
    assert is_causal(causal_part(M, strict=False), strict=False)
    P = project_psd(S)
    assert is_psd(P) and np.linalg.eigvalsh(P).min() >= -1e-12
    G = M @ M.T
    assert_allclose(project_psd(G), G)  # PSD input unchanged


def test_invalid_arguments():
    with pytest.raises(ValueError, match="t_max"):
        uniform_grid(-1.0, 10)
    with pytest.raises(ValueError, match="n must be an integer"):
        uniform_grid(1.0, 1)
    with pytest.raises(ValueError, match="upto"):
        causal_integral(np.eye(3), np.eye(3), 0.1, upto="diag")
    with pytest.raises(ValueError, match="square"):
        causal_integral(np.ones((2, 3)), np.ones((2, 3)), 0.1)
