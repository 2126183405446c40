"""Tests of dmftlib.symbolic.msr: the SymPy MSR-JD derivation against closed forms and dmftlib.cavity."""
import numpy as np
import pytest
import sympy as sp
from numpy.testing import assert_allclose

from dmftlib import cavity as cv
from dmftlib.core import ConvergenceError
from dmftlib.symbolic import msr


def test_gaussian_coupling_average_closed_form_and_monte_carlo():
    g, N, a = msr.g, msr.N_sym, msr.a
    assert sp.simplify(msr.gaussian_coupling_average(1) - sp.exp(g**2 * a**2 / (2 * N))) == 0
    assert sp.simplify(msr.gaussian_coupling_average(2) - sp.exp(g**2 * a**2 / N)) == 0
    # Monte Carlo check of E exp(-J a), J ~ N(0, g^2/N): relative SEM ~ 1e-3 with 1e6 samples
    rng = np.random.default_rng(0)
    gv, Nv, av = 0.7, 3.0, 1.3
    Js = rng.standard_normal(1_000_000) * gv / np.sqrt(Nv)
    mc = np.exp(-Js * av)
    exact = float(msr.gaussian_coupling_average(1).subs({g: gv, N: Nv, a: av}))
    assert abs(mc.mean() - exact) < 4 * mc.std() / np.sqrt(mc.size)


@pytest.mark.parametrize("T, N, symmetric, phi", [(2, 2, False, "generic"), (2, 3, True, "generic"),
                                                  (3, 2, True, "linear"), (1, 1, True, "generic")])
def test_order_parameter_identity(T, N, symmetric, phi):
    # ln E_J exp(S_J) == N * W(Q, C, K) at the microscopic order parameters (exact, any N)
    d = msr.derive(T=T, N=N, symmetric=symmetric, phi=phi)
    assert d.order_parameter_identity


@pytest.mark.parametrize("symmetric", [False, True])
def test_saddle_point_kernels(symmetric):
    d = msr.derive(T=3, N=2, symmetric=symmetric)
    T = d.T
    # noise covariance g^2 C_phi, memory kernel kappa g^2 R (strictly causal on the Ito grid)
    assert sp.simplify(d.noise_covariance - msr.g**2 * d.C) == sp.zeros(T, T)
    kappa = 1 if symmetric else 0
    assert sp.simplify(d.memory_kernel - kappa * msr.g**2 * d.R) == sp.zeros(T, T)
    # physical saddle: the conjugate of C vanishes when Q = <xt xt> = 0
    sol = {eq.lhs: eq.rhs for eq in d.saddle_equations}
    for k in range(T):
        for l in range(T):
            assert sol[d.Ch[k, l]].subs({q: 0 for q in d.Q}) == 0


def test_equation_of_motion_is_euler_step():
    d = msr.derive(T=2, N=2, symmetric=True, phi="linear")
    x0, x1, x2 = [sp.Symbol(f"x^{{{k}}}", real=True) for k in range(3)]
    eta1, h1 = sp.Symbol(r"\eta^{1}", real=True), sp.Symbol("h^{1}", real=True)
    R10 = d.R[1, 0]
    expected = x1 + msr.dt * (-x1 + msr.dt * msr.g**2 * R10 * x0 + eta1 + h1)
    assert d.equations_of_motion[1].lhs == x2
    assert sp.expand(d.equations_of_motion[1].rhs - expected) == 0


def test_kernel_functions_numeric():
    sigma, memory = msr.kernel_functions(msr.derive(T=2, N=2, symmetric=True))
    C = np.array([[1.0, 0.3], [0.3, 2.0]])
    assert_allclose(sigma(0.6, C), 0.36 * C)
    assert_allclose(memory(0.6, C), 0.36 * C)
    _, memory_iid = msr.kernel_functions(msr.derive(T=2, N=2, symmetric=False))
    assert_allclose(memory_iid(0.6, C) * np.ones_like(C), 0.0)


@pytest.mark.parametrize("symmetric, g", [(False, 0.8), (True, 0.4)])
def test_msr_single_site_matches_cavity(symmetric, g):
    # The SymPy-derived kernels, iterated on an Ito grid, converge to the cavity solution
    # (trapezoid, O(dt^2)) at first order in dt: error <= 1.5 dt, halving dt halves it.
    sigma, memory = msr.kernel_functions(msr.derive(T=3, N=2, symmetric=symmetric))
    errs = []
    for n in (41, 81):
        th = cv.theory(g, symmetric, t_max=4.0, n_t=n)
        dd = msr.discrete_linear_dmft(sigma, memory, g, t_max=4.0, n_t=n)
        dt = 4.0 / (n - 1)
        below = np.tri(n, k=-1, dtype=bool)
        eR = np.abs(dd.R - th.R)[below].max()
        eC = np.abs(dd.C - th.C).max()
        assert eR < 1.5 * dt and eC < 1.5 * dt
        errs.append((eR, eC))
    assert 1.7 < errs[0][0] / errs[1][0] < 2.3
    assert 1.7 < errs[0][1] / errs[1][1] < 2.3


def test_discrete_dmft_convergence_error():
    sigma, memory = msr.kernel_functions(msr.derive(T=2, N=2, symmetric=False))
    with pytest.raises(ConvergenceError):
        msr.discrete_linear_dmft(sigma, memory, 0.8, t_max=4.0, n_t=41, max_iter=2)
    sig_s, mem_s = msr.kernel_functions(msr.derive(T=2, N=2, symmetric=True))
    with pytest.raises(ConvergenceError):   # symmetric, g > 1/2: the response grows without bound
        msr.discrete_linear_dmft(sig_s, mem_s, 1.5, t_max=20.0, n_t=201)


@pytest.mark.parametrize("kw", [dict(T=0), dict(T=5), dict(N=0), dict(phi="tanh"), dict(symmetric="no")])
def test_derive_bad_input(kw):
    with pytest.raises(ValueError):
        msr.derive(**kw)


def test_discrete_dmft_bad_input():
    sigma, memory = msr.kernel_functions(msr.derive(T=2, N=2, symmetric=False))
    with pytest.raises(ValueError):
        msr.discrete_linear_dmft(sigma, memory, -0.1)
    with pytest.raises(ValueError):
        msr.discrete_linear_dmft(sigma, memory, 0.5, n_t=1)
