"""Tests of dmftlib.symbolic.pontryagin: the symbolic optimality conditions and their NumPy versions."""
import numpy as np
import pytest
import sympy as sp
from numpy.testing import assert_allclose

from dmftlib.symbolic.pontryagin import (derive_pontryagin, discrete_costate_equations, mlp_system,
                                         parameter_block, state_symbols, tanh_system)


@pytest.fixture(scope="module")
def tanh2():
    return tanh_system(2)


def test_linear_system_closed_forms():
    """F = A h + b, Phi = (c . h)^2 / 2: costate -A^T lambda, dH/dA = lambda h^T, lambda(1) = -(c.h) c."""
    h = state_symbols(3)
    A = parameter_block("A", (3, 3))
    b = parameter_block("b", (3,))
    c = sp.Matrix(sp.symbols("c0:3", real=True))
    loss = sp.Rational(1, 2) * (c.T * h)[0] ** 2
    sys = derive_pontryagin(A * h + b, h, {"A": A, "b": b}, loss, list(c))
    lam = sp.Matrix(sys.lam)
    assert sp.simplify(sp.Matrix(sys.costate_rhs) + A.T * lam) == sp.zeros(3, 1)
    assert sp.simplify(sp.Matrix(sys.state_rhs) - (A * h + b)) == sp.zeros(3, 1)
    assert sp.simplify(sp.Matrix(sys.dH_dtheta) - sp.Matrix(list(lam * h.T) + list(lam))) == sp.zeros(12, 1)
    assert sp.simplify(sp.Matrix(sys.terminal_costate) + (c.T * h)[0] * c) == sp.zeros(3, 1)
    assert sp.simplify(sys.hamiltonian - (lam.T * (A * h + b))[0]) == 0
    # the Euler-Lagrange list holds 3 state + 3 costate + 12 parameter equations
    assert len(sys.euler_lagrange) == 18


def test_tanh_system_symbolic(tanh2):
    h0, h1 = tanh2.h
    l0, l1 = tanh2.lam
    A00, A01, A10, A11, b0, b1 = tanh2.theta
    # costate of component 0: -(dF/dh_0)^T lambda
    expect = -(l0 * (-1 + A00 * (1 - sp.tanh(h0) ** 2)) + l1 * A10 * (1 - sp.tanh(h0) ** 2))
    assert sp.simplify(tanh2.costate_rhs[0] - expect) == 0
    y0, y1 = tanh2.y
    assert sp.simplify(tanh2.terminal_costate[0] - (y0 - h0)) == 0
    assert [n for n, _ in tanh2.blocks] == ["A", "b"]
    assert tanh2.blocks[0][1] == (2, 2) and tanh2.blocks[1][1] == (2,)


@pytest.mark.parametrize("K", [2, 6])
def test_lambdified_functions_match_numpy(K):
    """The lambdified F, dF/dh, -dH/dh, dH/dtheta, Phi, -dPhi/dh equal their matrix forms (rounding)."""
    sys = tanh_system(K)
    rng = np.random.default_rng(1)
    A, b = rng.standard_normal((K, K)), rng.standard_normal(K)
    theta = sys.pack({"A": A, "b": b})
    h, lam, y = rng.standard_normal((3, K, 7))
    assert_allclose(sys.f(h, theta), -h + A @ np.tanh(h) + b[:, None], rtol=1e-13, atol=1e-13)
    J = np.einsum("ij,jn->ijn", A, 1 - np.tanh(h) ** 2) - np.eye(K)[:, :, None]
    assert_allclose(sys.jacobian(h, theta), J, atol=1e-13)
    assert_allclose(sys.costate_f(h, lam, theta), -np.einsum("ijn,in->jn", J, lam), atol=1e-13)
    gA = np.einsum("in,jn->ijn", lam, np.tanh(h)).reshape(K * K, 7)
    assert_allclose(sys.grad_h(h, lam, theta), np.concatenate([gA, lam]), atol=1e-13)
    assert_allclose(sys.loss_fn(h, y), 0.5 * np.sum((h - y) ** 2, axis=0), atol=1e-13)
    assert_allclose(sys.terminal_fn(h, y), y - h, atol=1e-13)


def test_jacobian_and_parameter_gradient_by_finite_differences():
    """Lambdified dF/dh and dH/dtheta of the MLP field vs central differences of f (error O(eps^2))."""
    sys = mlp_system(2, 3)
    rng = np.random.default_rng(2)
    theta = rng.standard_normal(sys.P)
    h, lam = rng.standard_normal((2, 2, 5))
    eps = 1e-6
    for j in range(2):
        e = np.zeros((2, 1))
        e[j] = eps
        fd = (sys.f(h + e, theta) - sys.f(h - e, theta)) / (2 * eps)
        assert_allclose(sys.jacobian(h, theta)[:, j], fd, atol=1e-8)
    g = sys.grad_h(h, lam, theta)
    for p in range(sys.P):
        e = np.zeros(sys.P)
        e[p] = eps
        fd = np.sum(lam * (sys.f(h, theta + e) - sys.f(h, theta - e)), axis=0) / (2 * eps)
        assert_allclose(g[p], fd, atol=1e-8)


def test_pack_unpack_roundtrip(tanh2):
    rng = np.random.default_rng(3)
    p = {"A": rng.standard_normal((4, 2, 2)), "b": rng.standard_normal((4, 2))}
    theta = tanh2.pack(p)
    assert theta.shape == (4, 6)
    back = tanh2.unpack(theta)
    assert_allclose(back["A"], p["A"])
    assert_allclose(back["b"], p["b"])
    one = tanh_system(1)
    assert one.pack({"A": [[2.0]], "b": [1.0]}).tolist() == [2.0, 1.0]


def test_discrete_costate_equations_are_the_recursion():
    """Stationarity of the discrete Lagrangian = lambda_l = lambda_{l+1} + dt dH/dh, lambda_L = -dPhi/dh."""
    sys = tanh_system(1)
    L = 3
    lag, eqs = discrete_costate_equations(sys, L)
    dt = sp.Rational(1, L)
    h = {l: sp.Symbol(f"h_0,{l}") for l in range(L + 1)}
    lam = {l: sp.Symbol(f"lambda_0,{l}") for l in range(L + 1)}
    th = {l: [sp.Symbol(f"theta_{j},{l}") for j in range(2)] for l in range(L)}
    y = sys.y[0]
    assert sp.simplify(eqs[h[L]] - (h[L] - y + lam[L])) == 0
    for l in range(1, L):
        sub = {sys.h[0]: h[l], sys.lam[0]: lam[l + 1], sys.theta[0]: th[l][0], sys.theta[1]: th[l][1]}
        dHdh = sp.diff(sys.hamiltonian, sys.h[0]).subs(sub)
        # dLag/dh_l = lambda_l - lambda_{l+1} - dt dH/dh(h_l, lambda_{l+1})
        assert sp.simplify(eqs[h[l]] - (lam[l] - lam[l + 1] - dt * dHdh)) == 0
    for l in range(L):
        sub = {sys.h[0]: h[l], sys.lam[0]: lam[l + 1], sys.theta[0]: th[l][0], sys.theta[1]: th[l][1]}
        for j in range(2):
            assert sp.simplify(eqs[th[l][j]] + dt * sys.dH_dtheta[j].subs(sub)) == 0


def test_bad_input_raises_value_error():
    h = state_symbols(2)
    A = parameter_block("A", (2, 2))
    z = sp.Symbol("z")
    with pytest.raises(ValueError, match="neither states"):
        derive_pontryagin(A * h + sp.Matrix([z, 0]), h, {"A": A}, h[0] ** 2)
    with pytest.raises(ValueError, match="F must have"):
        derive_pontryagin(sp.Matrix([h[0]]), h, {"A": A}, h[0] ** 2)
    with pytest.raises(ValueError, match="params"):
        derive_pontryagin(A * h, h, {}, h[0] ** 2)
    with pytest.raises(ValueError, match="name"):
        parameter_block("2A", (2,))
    with pytest.raises(ValueError, match="K"):
        state_symbols(0)
    with pytest.raises(ValueError, match="readout"):
        tanh_system(2, readout=[2])
    sys = tanh_system(2)
    with pytest.raises(ValueError, match="keys"):
        sys.pack({"A": np.eye(2)})
    with pytest.raises(ValueError, match="shape"):
        sys.pack({"A": np.eye(3), "b": np.zeros(2)})
    with pytest.raises(ValueError, match="theta"):
        sys.unpack(np.zeros(5))
