"""Tests for dmftlib.sgd: SGD learning curves (theory vs simulation), GD / gradient-flow limits, online SGD."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

from dmftlib import linear, sgd
from dmftlib.linear import mp_quadrature

ALPHA, SIGMA2, ETA, B_FRAC, T_MAX = 2.0, 0.25, 0.2, 0.1, 20.0


# --- theory vs simulation, multi-pass ---------------------------------------------------------
@pytest.mark.parametrize("N, n_seeds", [(150, 24), (400, 12)])
def test_theory_vs_simulation_time_average(N, n_seeds):
    # Statistic: per-seed average of E_g and E_t over t in [5, 20] (the SGD-noise-dominated regime).
    # Seed-to-seed fluctuations are O(1/sqrt(N)) (measured std ~0.5/sqrt(N)), the finite-size bias O(1/N):
    # tol = 4 sem + 2/N, which shrinks with N (0.013 + 4 sem at N = 150, 0.005 + 4 sem at N = 400).
    th = sgd.theory(ALPHA, SIGMA2, ETA, B_FRAC, T_MAX)
    t, eg, et, P, _ = sgd._runs(N, ALPHA, SIGMA2, ETA, B_FRAC, T_MAX, range(n_seeds))
    assert_allclose(t, th.t)
    win = t >= 5.0
    for runs, curve in ((eg, th.test_error), (et, th.train_error)):
        avg = runs[:, win].mean(axis=1)
        m, s = avg.mean(), avg.std(ddof=1) / np.sqrt(n_seeds)
        assert abs(m - curve[win].mean()) < 4 * s + 2.0 / N


def test_simulation_pointwise_and_fields():
    # Pointwise check at N = 300 on a thinned grid: tol = 4 sem + 2/N (O(1/sqrt N) noise, O(1/N) bias).
    th = sgd.theory(ALPHA, SIGMA2, ETA, B_FRAC, 10.0)
    sim = sgd.simulate(300, ALPHA, SIGMA2, ETA, B_FRAC, 10.0, seeds=range(10))
    assert (sim.N, sim.P, sim.n_seeds, sim.B) == (300, 600, 10, 60.0)
    k = slice(0, None, 5)
    assert np.all(np.abs(sim.test_error[k] - th.test_error[k]) < 4 * sim.test_error_sem[k] + 2.0 / 300)
    assert np.all(np.abs(sim.train_error[k] - th.train_error[k]) < 4 * sim.train_error_sem[k] + 2.0 / 300)
    with pytest.raises(ValueError):
        sim.test_error[0] = 0.0     # read-only results


def test_full_batch_simulation_matches_gd_theory():
    # b = 1: deterministic GD given the data; only the data fluctuate (O(1/sqrt N)), tol 4 sem + 1/N.
    th = sgd.theory(ALPHA, SIGMA2, 0.3, 1.0, 6.0)
    sim = sgd.simulate(300, ALPHA, SIGMA2, 0.3, 1.0, 6.0, seeds=range(8))
    assert np.all(np.abs(sim.test_error - th.test_error) < 4 * sim.test_error_sem + 1.0 / 300)


# --- limits -----------------------------------------------------------------------------------
def test_full_batch_is_exact_gradient_descent():
    # b = 1 has no batch noise: E_g(k) = int rho [(1-eta lam)^{2k} + sigma^2/alpha lam Phi_k^2],
    # Phi_k = (1 - (1-eta lam)^k)/lam (the GD solution in the eigenbasis); machine precision.
    eta, n = 0.25, 40
    th = sgd.theory(ALPHA, SIGMA2, eta, 1.0, n * eta, n_quad=400)
    lam, w = mp_quadrature(ALPHA, 400)
    k = np.arange(n + 1)[:, None]
    g = (1 - eta * lam) ** k
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(lam > 0, (1 - g) / np.where(lam > 0, lam, 1), eta * k)
    eg = (g**2 + SIGMA2 / ALPHA * lam * phi**2) @ w
    assert_allclose(th.test_error, eg, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("b", [1.0, 0.5])
def test_gradient_flow_limit(b):
    # eta -> 0 at fixed b: the discretisation error and the batch-noise term are both O(eta).
    ref = None
    errs = []
    for eta in (0.02, 0.01):
        th = sgd.theory(ALPHA, SIGMA2, eta, b, 5.0, n_quad=400)
        gf = linear.gradient_flow_theory(ALPHA, SIGMA2, th.t, n_quad=400)
        errs.append(np.abs(th.test_error - gf.test_error).max())
        assert np.abs(th.train_error - gf.train_error).max() < 3 * eta
    assert errs[1] < 3 * 0.01 and 1.6 < errs[0] / errs[1] < 2.4     # first order in eta


def test_stability_threshold():
    # GD limit 2/lambda_+; small-eta estimate 2 alpha b/(1-b) is an upper bound; the curve blows up past eta_c.
    lp = (1 + 1 / np.sqrt(ALPHA)) ** 2
    assert_allclose(sgd.stability_threshold(ALPHA, 1.0), 2 / lp, rtol=1e-12)
    for b in (0.01, 0.1, 0.5):
        ec = sgd.stability_threshold(ALPHA, b)
        assert ec <= min(2 * ALPHA * b / (1 - b), 2 / lp)
    # small b: eta_c = eta0 (1 - eta0 E[lam^2]/2 + O(eta0^2)), eta0 = 2 alpha b/(1-b), E[lam^2] = 1 + 1/alpha
    eta0 = 2 * ALPHA * 0.001 / 0.999
    assert_allclose(sgd.stability_threshold(ALPHA, 0.001), eta0 * (1 - eta0 * (1 + 1 / ALPHA) / 2), rtol=1e-4)
    ec = sgd.stability_threshold(ALPHA, B_FRAC)
    assert not sgd.theory(ALPHA, SIGMA2, 0.95 * ec, B_FRAC, 200.0).diverged
    bad = sgd.theory(ALPHA, SIGMA2, 1.05 * ec, B_FRAC, 2000.0)
    assert bad.diverged and np.isinf(bad.test_error[-1]) and not np.any(np.isnan(bad.test_error))


# --- online SGD -------------------------------------------------------------------------------
def test_online_ode_closed_form():
    # The closed form solves dE/dt = -(2-g)E + g sigma^2 (checked by finite differences) with E(0) = 1.
    g = 0.7
    t = np.linspace(0, 4, 4001)
    e = sgd.online_theory(SIGMA2, g, t).test_error
    de = np.gradient(e, t, edge_order=2)
    assert_allclose(de, -(2 - g) * e + g * SIGMA2, atol=1e-5)
    assert e[0] == 1.0
    assert_allclose(sgd.online_theory(SIGMA2, g, [1e3]).test_error, g * SIGMA2 / (2 - g))
    assert sgd.online_theory(SIGMA2, 2.5, [0.0, 1e3]).diverged


def test_online_recursion_tends_to_ode():
    # At eta = gB/N the exact finite-N recursion differs from the ODE by O(1/N) (and O(eta) = O(B/N)).
    g, B = 0.5, 10
    errs = []
    for N in (200, 800):
        eta = g * B / N
        n = int(round(4.0 / eta))
        rec = sgd.online_recursion(N, B, eta, SIGMA2, n)
        ode = sgd.online_theory(SIGMA2, g, eta * np.arange(n + 1)).test_error
        errs.append(np.abs(rec - ode).max())
    assert 3.0 < errs[0] / errs[1] < 5.0 and errs[1] < 1e-3


@pytest.mark.parametrize("N", [200, 800])
def test_online_simulation(N):
    # Simulation vs the exact finite-N recursion (tol 4 sem) and vs the N -> inf ODE (tol 4 sem + 2/N).
    g, B = 0.5, 8
    sim = sgd.simulate_online(N, B, SIGMA2, g, 3.0, seeds=range(12))
    rec = sgd.online_recursion(N, B, sim.eta, SIGMA2, sim.t.size - 1)
    ode = sgd.online_theory(SIGMA2, g, sim.t).test_error
    k = slice(0, None, 10)
    assert np.all(np.abs(sim.test_error[k] - rec[k]) <= 4 * sim.test_error_sem[k] + 1e-12)
    assert np.all(np.abs(sim.test_error[k] - ode[k]) <= 4 * sim.test_error_sem[k] + 2.0 / N)


# --- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, name", [
    (dict(alpha=0.0), "alpha"), (dict(sigma2=-1.0), "sigma2"), (dict(eta=0.0), "eta"),
    (dict(b=1.5), "b"), (dict(b=0.0), "b"), (dict(t_max=-1.0), "t_max")])
def test_bad_input(kw, name):
    args = dict(alpha=ALPHA, sigma2=SIGMA2, eta=ETA, b=B_FRAC, t_max=1.0)
    args.update(kw)
    with pytest.raises(ValueError, match=name):
        sgd.theory(**args)
    with pytest.raises(ValueError, match=name):
        sgd.simulate(20, seeds=range(2), **args)


def test_bad_input_other():
    with pytest.raises(ValueError, match="seeds"):
        sgd.simulate(20, ALPHA, SIGMA2, ETA, B_FRAC, 1.0, seeds=[0])
    with pytest.raises(ValueError, match="N"):
        sgd.simulate(1, ALPHA, SIGMA2, ETA, B_FRAC, 1.0, seeds=range(2))
    with pytest.raises(ValueError, match="g"):
        sgd.simulate_online(20, 2, SIGMA2, -1.0, 1.0, seeds=range(2))
    with pytest.raises(ValueError, match="B"):
        sgd.online_recursion(20, 0, 0.1, SIGMA2, 5)
    with pytest.raises(ValueError, match="t_max / eta"):
        sgd.theory(ALPHA, SIGMA2, 1e-6, B_FRAC, 1.0)


def test_simulation_overflow_raises():
    # far beyond eta_c the finite-N iteration overflows: an error, never NaN
    with pytest.raises(FloatingPointError):
        with np.errstate(over="ignore", invalid="ignore"):
            sgd.simulate(20, ALPHA, SIGMA2, 3.0, 0.5, 3000.0, seeds=range(2))


def test_plots_smoke():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    for ax in (sgd.plot_learning_curves(), sgd.plot_learning_curves(eta=0.6), sgd.plot_stability(t_max=10.0),
               sgd.plot_online()):
        assert ax.get_xlabel()
    plt.close("all")


@pytest.mark.parametrize("alpha, eta, b", [(2.0, 0.2, 0.1), (0.5, 0.05, 0.1), (3.0, 0.4, 0.3)])
def test_stationary_errors_are_the_long_time_limit(alpha, eta, b):
    # closed-form fixed point vs iterating the recursion far past the relaxation time (geometric convergence)
    th = sgd.theory(alpha, SIGMA2, eta, b, 600.0, n_quad=2000)
    eg, et = sgd.stationary_errors(alpha, SIGMA2, eta, b)
    assert_allclose([th.test_error[-1], th.train_error[-1]], [eg, et], rtol=1e-6, atol=1e-10)
    with pytest.raises(ValueError, match="eta"):
        sgd.stationary_errors(alpha, SIGMA2, 1.01 * sgd.stability_threshold(alpha, b), b)


def test_finite_size_scan_small_instance():
    # the scan behind book/data/sgd_scan.npz, at small N: deviations within 4 sem + 2/N, fields consistent
    sc = sgd.finite_size_scan([100, 200], [8, 6], ALPHA, SIGMA2, ETA, B_FRAC, 10.0, window=(5.0, 10.0))
    assert sc.sim_test_error.shape == (2, sc.t.size)
    assert np.all(np.abs(sc.dev_test) < 4 * sc.dev_test_sem + 2.0 / sc.N)
    assert np.all(np.abs(sc.dev_train) < 4 * sc.dev_train_sem + 2.0 / sc.N)
    with pytest.raises(ValueError, match="seeds_per_N"):
        sgd.finite_size_scan([100, 200], [8], ALPHA, SIGMA2, ETA, B_FRAC, 10.0)


# --- the two-time DMFT with selection variables -----------------------------------------------
def test_dmft_full_batch_is_exact_gd():
    # b = 1: every selection is 1, no Monte Carlo error; the DMFT must reproduce exact GD (round-off)
    res = sgd.dmft(ALPHA, SIGMA2, 0.25, 1.0, 4.0, n_paths=4)
    th = sgd.theory(ALPHA, SIGMA2, 0.25, 1.0, 4.0)
    assert_allclose(res.test_error, th.test_error, atol=1e-10)
    assert_allclose(res.train_error, th.train_error, atol=1e-10)


def test_dmft_matches_recursion_and_invariants():
    # b = 0.1: the selection average is a Monte Carlo average over n_paths paths, error O(n_paths^-1/2);
    # measured max deviations over 6 seeds at 300 paths: E_g <= 0.013, E_t <= 0.034 -> tol 0.5/sqrt(n), 1.4/sqrt(n)
    n_paths = 300
    res = sgd.dmft(ALPHA, SIGMA2, ETA, B_FRAC, 6.0, n_paths=n_paths, seed=3)
    th = sgd.theory(ALPHA, SIGMA2, ETA, B_FRAC, 6.0)
    assert np.abs(res.test_error - th.test_error).max() < 0.5 / np.sqrt(n_paths)
    assert np.abs(res.train_error - th.train_error).max() < 1.4 / np.sqrt(n_paths)
    assert res.converged and res.n_iter <= res.t.size + 2           # causal: at most n + 1 sweeps (+ check)
    assert_allclose(res.C, res.C.T, atol=0)                        # symmetric
    assert res.min_eigenvalue > -1e-10 * np.abs(res.C).max()       # PSD before projection (round-off)
    for K in (res.R, res.R_r):                                     # causal, unit diagonal
        assert np.all(np.triu(K, 1) == 0) and np.all(np.diag(K) == 1)


def test_dmft_convergence_error_and_bad_input():
    from dmftlib.core import ConvergenceError
    with pytest.raises(ConvergenceError):
        sgd.dmft(ALPHA, SIGMA2, ETA, B_FRAC, 4.0, n_paths=20, max_iter=2)
    with pytest.raises(ValueError, match="n_paths"):
        sgd.dmft(ALPHA, SIGMA2, ETA, B_FRAC, 4.0, n_paths=1)
    with pytest.raises(ValueError, match="steps"):
        sgd.dmft(ALPHA, SIGMA2, 0.01, B_FRAC, 10.0)
