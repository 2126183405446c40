"""Tests of dmftlib.symbolic.training_msr: the saddle point of the training MSR action is the ODE drift."""
import numpy as np
import pytest
import sympy as sp
from numpy.testing import assert_allclose

from dmftlib import neural_ode as no
from dmftlib.core import gauss_hermite
from dmftlib.symbolic import training_msr as tm


@pytest.mark.parametrize("K,M", [(1, 1), (2, 1), (2, 2)])
def test_increments_exact(K, M):
    dQ, dR = tm.sgd_increments(K, M, N=3)
    assert dQ.is_zero_matrix and dR.is_zero_matrix


def test_chi2_limit_and_saddle():
    s, a = sp.symbols("s a", real=True)
    assert sp.simplify(tm.chi2_limit() - sp.exp(s * a)) == 0
    eqs, phys = tm.saddle_point(2)
    assert len(eqs) == 4
    q = [sp.Function(f"q_{i}")(tm.t_sym) for i in range(2)]
    f = [sp.Function(f"f_{i}")(*q) for i in range(2)]
    assert phys[0] == sp.Eq(sp.diff(q[0], tm.t_sym), f[0])
    assert phys[1] == sp.Eq(sp.diff(q[1], tm.t_sym), f[1])
    assert phys[2] is sp.true and phys[3] is sp.true       # p = 0 solves the q equations identically


def _random_overlaps(rng, K, M):
    """(Q, R) with [[Q, R], [R^T, I]] positive definite."""
    X = rng.standard_normal((K + M, K + M + 2)) / np.sqrt(K + M + 2)
    X[K:] = np.linalg.qr(X[K:].T)[0].T                  # teacher rows orthonormal: T = I
    return X[:K] @ X[:K].T, X[:K] @ X[K:].T


@pytest.mark.parametrize("K,M,L", [(1, 1, 2), (2, 1, 2), (2, 2, 1)])
def test_linear_drift_exact_equals_neural_ode_rhs(K, M, L):
    """Wick-exact saddle-point drift = neural_ode.rhs (A = A* = 0, b fixed): polynomial integrands, on
    which the trapezoidal rule with 41-61 nodes is exact to round-off."""
    rng = np.random.default_rng(K + 10 * M + 100 * L)
    f = tm.linear_drift(K, M, L)
    for _ in range(3):
        Q, R = _random_overlaps(rng, K, M)
        b = 0.5 * rng.standard_normal((L, K))
        s = no.setup(K=K, M=M, L=L, a_star=0.0, c_star=0.0, b0=b)
        dQ, dR, dth = no.rhs(s, Q, R, s.theta0, eta=1.3, eta_theta=0.0, n_nodes=61 if M == 1 else 41)
        eQ, eR = f(Q, R, b, 1.3)
        assert_allclose(dQ, eQ, rtol=1e-11, atol=1e-12)
        assert_allclose(dR, eR, rtol=1e-11, atol=1e-12)
        assert np.all(dth == 0.0)


def _check_drift(d, s, Q, R, A, b, n, u, W, rtol, atol):
    dQ, dR, dth = no.rhs(s, Q, R, s.theta0, eta=1.5, eta_theta=0.7, n_nodes=n)
    K = R.shape[0]
    eQ, eR, eA, eb = [np.asarray(p) @ W for p in d.fn(u[:K], u[K:], A, b, 1.5, 0.7)]
    th = no.system(K).unpack(dth)
    for a, e in ((dQ, eQ), (dR, eR), (th["A"], eA), (th["b"], eb)):
        assert_allclose(a, e, rtol=rtol, atol=atol)


@pytest.mark.parametrize("K,M,L", [(1, 1, 2), (2, 1, 2), (2, 2, 1), (1, 2, 3)])
def test_tanh_drift_equals_neural_ode_rhs_same_nodes(K, M, L):
    """The lambdified saddle-point drift (sympy.diff of the composed ResNets, no costate code), averaged
    on neural_ode's own quadrature nodes, equals neural_ode.rhs (costate code) at random points with
    non-zero controls: the integrands agree to round-off."""
    rng = np.random.default_rng(7 + K + 3 * M + 9 * L)
    d = tm.drift(K, M, L)
    n = 8
    Zs, ws = no._grid(K, n)
    Zt, wt = no._grid(M, no._teacher_nodes(n))
    W = np.outer(ws, wt).ravel()
    for _ in range(2):
        Q, R = _random_overlaps(rng, K, M)
        A = 0.8 * rng.standard_normal((L, K, K))
        b = 0.3 * rng.standard_normal((L, K))
        s = no.setup(K=K, M=M, L=L, A0=A, b0=b)
        Fq, B, Fc = no._split_factor(Q, R, np.eye(M))       # h = Fq zeta, h* = B zeta + Fc xi
        h = np.repeat(Fq @ Zs, Zt.shape[1], axis=1)
        hs = ((B @ Zs)[:, :, None] + (Fc @ Zt)[:, None, :]).reshape(M, -1)
        u = np.concatenate([h, hs])
        _check_drift(d, s, Q, R, A, b, n, u, W, 1e-11, 1e-13)


def test_tanh_drift_independent_quadrature():
    """K = M = 1, L = 2: the same comparison with an independent quadrature (Cholesky frame). Both
    converge slowly (tanh is analytic only in a strip): at 20 nodes they differ by 4%, at 80 by 1e-6;
    at 160 nodes the difference is below 1e-8 (measured), so rtol = 1e-7."""
    rng = np.random.default_rng(8)
    d = tm.drift(1, 1, 2)
    Q, R = _random_overlaps(rng, 1, 1)
    A, b = 0.8 * rng.standard_normal((2, 1, 1)), 0.3 * rng.standard_normal((2, 1))
    s = no.setup(K=1, M=1, L=2, A0=A, b0=b)
    n = 160
    z, w = gauss_hermite(n)
    Z = np.stack(np.meshgrid(z, z, indexing="ij")).reshape(2, -1)
    W = np.outer(w, w).ravel()
    u = np.linalg.cholesky(np.block([[Q, R], [R.T, np.eye(1)]])) @ Z
    _check_drift(d, s, Q, R, A, b, n, u, W, 1e-7, 1e-9)


def test_bad_input():
    with pytest.raises(ValueError, match="K"):
        tm.drift(0, 1, 1)
    with pytest.raises(ValueError, match="K \\* L"):
        tm.drift(3, 1, 3)
    with pytest.raises(ValueError, match="n_fields"):
        tm.action(0)
