"""Training as optimal control: HJB vs Pontryagin, schedules theory vs simulation, MSA."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dmftlib import optimal_control as oc
from dmftlib import sgd
from dmftlib.symbolic.riccati import riccati_two_ways, schedule_hamiltonian


# ------------------------------------------------------------------ LQR
def test_scalar_riccati_is_tanh():
    t, P = oc.riccati([[0.0]], [[1.0]], [[1.0]], [[1.0]], [[0.0]], T=3.0, n_t=301)
    np.testing.assert_allclose(P[:, 0, 0], np.tanh(3.0 - t), atol=1e-9)   # RK4, dt = 0.01: O(dt^4)


def test_lqr_dynamic_programming_equals_pontryagin():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((3, 3)) * 0.7
    B = rng.standard_normal((3, 2))
    Q = np.diag([1.0, 0.5, 2.0])
    R = np.array([[1.0, 0.2], [0.2, 0.5]])
    F = np.eye(3)
    sol = oc.lqr(A, B, Q, R, F, x0=[1.0, -0.5, 0.3], T=2.0, n_t=401)
    assert sol.costate_gap < 1e-8                       # lambda = -grad V = -P x along the optimal path
    assert abs(sol.cost_dp - sol.cost_pmp) < 1e-8      # Simpson on 401 points
    # the costate really is -dV/dx: finite differences of V(x) = x^T P x / 2 at t = 0
    x0 = sol.x[0]
    V = lambda x: 0.5 * x @ sol.P[0] @ x
    grad = np.array([(V(x0 + 1e-6 * e) - V(x0 - 1e-6 * e)) / 2e-6 for e in np.eye(3)])
    np.testing.assert_allclose(sol.lam[0], -grad, atol=1e-7)


def test_sympy_riccati_two_routes_agree_and_match_numerics():
    d = riccati_two_ways(2, 1)
    assert d.difference == d.difference.zeros(2, 2)
    rng = np.random.default_rng(0)
    for _ in range(3):
        A, B = rng.standard_normal((2, 2)), rng.standard_normal((2, 1))
        P = rng.standard_normal((2, 2)); P = P + P.T
        Q, R = np.diag(rng.uniform(0.5, 2, 2)), np.array([[rng.uniform(0.5, 2)]])
        np.testing.assert_allclose(d.rhs(P, A, B, Q, R), oc.riccati_rhs(P, A, B, Q, R), atol=1e-12)


# ------------------------------------------------------------------ HJB on a grid vs Hopf-Lax vs Pontryagin
def test_dp_converges_to_hopf_lax():
    phi = lambda x: oc.double_well(x)[0]
    xs = np.linspace(-1.5, 1.5, 31)
    exact = oc.hopf_lax_value(phi, xs, 1.0)
    errs = []
    for n in (61, 121, 241):
        grid = np.linspace(-3, 3, 2 * n - 1)
        dp = oc.dp_solve_1d(lambda x, u: u, lambda x, u: 0.5 * u**2, phi, grid, np.linspace(-4, 4, n), T=1.0,
                            n_t=(n - 1) // 2 + 1)
        errs.append(np.abs(np.interp(xs, grid, dp.V[0]) - exact).max())
    assert errs[2] < errs[1] < errs[0]
    assert errs[2] < 0.01


def test_pontryagin_extremals_and_the_value_function():
    for x0 in (-0.7, 0.0, 0.2, 1.3):
        e = oc.pmp_extremals(x0, T=1.0)
        hl = oc.hopf_lax_value(lambda y: oc.double_well(y)[0], [x0], 1.0, y=np.linspace(-4, 4, 400001))[0]
        assert abs(e.cost[e.best] - hl) < 1e-7          # the cheapest extremal is the optimum
        if abs(x0) < 1:                                 # 4y^3 - 3y = x0: three extremals, y = cos((acos x0 + 2 pi k)/3)
            roots = np.sort(np.cos((np.arccos(x0) + 2 * np.pi * np.arange(3)) / 3))
            np.testing.assert_allclose(e.y, roots, atol=1e-10)
    e0 = oc.pmp_extremals(0.0, T=1.0)
    c = np.sort(e0.cost)
    assert abs(c[0] - c[1]) < 1e-12                     # x0 = 0: two optimal paths tie (kink of V)


# ------------------------------------------------------------------ schedules
def test_constant_schedule_is_the_online_sgd_ode():
    tau = np.linspace(0, 20, 41)
    for g in (0.3, 1.0, 1.5):
        th = oc.schedule_theory(g, tau, 0.25)
        ref = sgd.online_theory(0.25, g, g * tau)       # sgd uses t = k eta = g tau
        np.testing.assert_allclose(th.test_error, ref.test_error, rtol=1e-12)


def test_optimal_schedule_closed_form_and_sympy():
    tau = np.linspace(0, 60, 61)
    opt = oc.optimal_schedule(tau, 0.25)
    d = schedule_hamiltonian()
    ref = solve_ivp(lambda t, E: d.Edot_fn(E, 0.25), (0, 60), [1.0], t_eval=tau, rtol=1e-11, atol=1e-14).y[0]
    np.testing.assert_allclose(opt.test_error, ref, rtol=1e-7)
    np.testing.assert_allclose(opt.g, d.g_star_fn(opt.test_error, 0.25), rtol=1e-12)
    # it beats the best constant and the 1/(1 + tau) schedules at the horizon
    for other in (oc.optimal_constant_schedule(tau, 0.25), oc.inverse_time_schedule(tau, 0.25)):
        assert opt.test_error[-1] < other.test_error[-1]
    # and 1/tau asymptotics: g* tau -> 1
    assert abs(opt.g[-1] * tau[-1] - 1) < 0.1


def test_pontryagin_gradient_descent_finds_the_optimal_schedule():
    tau = np.linspace(0, 10, 401)
    res, hist = oc.schedule_pontryagin(tau, 0.25, n_iter=400, lr=2.0)
    opt = oc.optimal_schedule(tau, 0.25)
    assert hist[-1] <= hist[0]
    assert abs(res.test_error[-1] / opt.test_error[-1] - 1) < 0.02      # Euler on dtau = 0.025
    mid = slice(40, 360)
    assert np.abs(res.g[mid] - opt.g[mid]).max() < 0.03


def test_dynamic_programming_recovers_the_greedy_schedule():
    s2 = 0.25
    E = np.linspace(0.0, 1.2, 241)
    g = np.linspace(0.0, 1.5, 301)
    dp = oc.dp_solve_1d(lambda E, g: -2 * g * E + g**2 * (E + s2), lambda E, g: 0.0 * E * g, lambda E: E,
                        E, g, T=5.0, n_t=201)
    sel = (E > 0.1) & (E < 1.0)
    np.testing.assert_allclose(dp.u[0][sel], E[sel] / (E[sel] + s2), atol=0.02)   # control grid spacing 0.005


@pytest.mark.parametrize("kind", ["optimal", "inverse"])
def test_schedule_simulation_against_theory_at_two_N(kind):
    tau = np.linspace(0, 8, 17)
    res = oc.optimal_schedule(tau, 0.25) if kind == "optimal" else oc.inverse_time_schedule(tau, 0.25)
    devs = []
    for N, S in ((100, 40), (400, 12)):
        sim = oc.simulate_schedule(N, res, seeds=S, sigma2=0.25)
        exact = oc.schedule_finite_n(res, N, sigma2=0.25)
        # the simulation is an unbiased sample of the exact finite-N mean: within 4 sem
        assert np.all(np.abs(sim.test_error - exact)[1:] < 4 * sim.test_error_sem[1:] + 1e-12)
        # and the finite-N mean approaches the N -> infinity theory like 1/N
        dev = np.abs(exact - res.test_error).max()
        devs.append(dev)
        assert np.all(np.abs(sim.test_error - res.test_error) < 4 * sim.test_error_sem + 3.0 / N)
    assert 3.0 < devs[0] / devs[1] < 5.0            # 1/N: ratio 4 from N = 100 to 400


# ------------------------------------------------------------------ MSA
def _task(L=8, K=2, n=40, seed=0):
    rng = np.random.default_rng(seed)
    A_star = np.sign(rng.standard_normal((L, K, K)))
    b_star = np.sign(rng.standard_normal((L, K)))
    h0 = rng.standard_normal((K, n))
    hs = [h0]                                       # the teacher's forward pass gives the targets
    for l in range(L):
        hs.append(hs[-1] + (1 / L) * (-hs[-1] + A_star[l] @ np.tanh(hs[-1]) + b_star[l][:, None]))
    return h0, hs[-1], np.zeros((L, K, K)), np.zeros((L, K))


def test_msa_controls_are_bang_bang_and_relaxed_msa_descends():
    h0, y, A0, b0 = _task()
    basic = oc.msa_train(A0, b0, h0, y, n_iter=10, relax=1.0)
    assert set(np.unique(np.abs(basic.A))) == {1.0}
    relaxed = oc.msa_train(A0, b0, h0, y, n_iter=40, relax=0.2)
    gd = oc.projected_gd_train(A0, b0, h0, y, n_iter=40, lr=2.0)
    assert relaxed.loss[-1] < 0.5 * relaxed.loss[0]
    assert gd.loss[-1] < 0.5 * gd.loss[0]
    assert np.all(np.abs(gd.A) <= 1.0) and np.all(np.abs(relaxed.A) <= 1.0)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("call, name", [
    (lambda: oc.riccati([[0.0]], [[1.0]], [[1.0]], [[-1.0]], [[0.0]], T=1.0), "R"),
    (lambda: oc.lqr([[0.0]], [[1.0]], [[1.0]], [[1.0]], [[0.0]], x0=[1.0, 2.0], T=1.0), "x0"),
    (lambda: oc.schedule_theory(2.5, [0.0, 1.0], 0.25), "g"),
    (lambda: oc.optimal_schedule([1.0, 0.0], 0.25), "tau"),
    (lambda: oc.simulate_schedule(10, oc.optimal_schedule([0.0, 1.0], 0.25), seeds=None), "seeds"),
    (lambda: oc.msa_train(np.zeros((2, 1, 1)), np.zeros((2, 1)), np.ones((1, 3)), np.ones((1, 3)), relax=0.0), "relax"),
    (lambda: oc.pmp_extremals(float("nan"), 1.0), "x0"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
