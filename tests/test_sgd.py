"""Tests for dmftlib.sgd: SGD learning curves (theory vs simulation), GD / gradient-flow limits, online SGD."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

# literals printed on one machine: another BLAS kernel or NumPy version moves them by round-off
# accumulated over the steps (measured 3.9e-12 relative under OPENBLAS_CORETYPE=Sandybridge)
_PORTABLE = 1e-10

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


def test_dmft_monte_carlo_error_shrinks_like_inverse_sqrt_paths():
    # re-drawing the selection paths: the spread of E_t across draws is the Monte Carlo error of the
    # selection average, O(n_paths^-1/2); 4x the paths should halve it (ratio 2, tolerance for 6 draws)
    def spread(n):
        runs = np.array([sgd.dmft(ALPHA, SIGMA2, ETA, B_FRAC, 3.0, n_paths=n, seed=s).train_error
                         for s in range(6)])
        return np.sqrt(np.mean(runs.std(axis=0, ddof=1)[1:] ** 2))
    ratio = spread(50) / spread(200)
    assert 1.3 < ratio < 3.2


def test_sgd_data_script_paths_small_instance():
    # book/data/sgd_make.py, paths part, at a small size: same fields as the stored file
    import importlib.util
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("sgd_make", root / "book" / "data" / "sgd_make.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = mod.make_paths(paths=[20, 40], n_seeds=2, t_max=2.0)
    stored = np.load(root / "book" / "data" / "sgd_dmft_paths.npz")
    assert set(data) == set(stored.files)
    assert data["test_error"].shape == (2, 2, data["t"].size)
    # the stored runs: the mean over re-draws deviates from the recursion by no more than its standard error
    # (rms over t; measured ratios 0.5-1.3), and the spread across re-draws falls like n_paths^-1/2
    for key, ref in (("test_error", "theory_test_error"), ("train_error", "theory_train_error")):
        runs = stored[key]
        sem = runs.std(axis=1, ddof=1) / np.sqrt(runs.shape[1])
        dev = runs.mean(axis=1) - stored[ref]
        rms_dev, rms_sem = np.sqrt(np.mean(dev[:, 1:] ** 2, axis=1)), np.sqrt(np.mean(sem[:, 1:] ** 2, axis=1))
        assert np.all(rms_dev <= 2 * rms_sem + 5e-4)
        spread = np.sqrt(np.mean(runs.std(axis=1, ddof=1)[:, 1:] ** 2, axis=1))
        slope = np.polyfit(np.log(stored["n_paths"]), np.log(spread), 1)[0]
        assert -0.65 < slope < -0.35


def test_closure_near_the_stability_limit_gap_shrinks_with_N():
    # at eta = 0.9 eta_c the noise is amplified by 1/(1 - G) and the self-averaging closure is stressed: the
    # simulations lie above the recursion by a gap resolved at N = 125 (stored scan: 0.19 +- 0.02) that shrinks
    # at least like 1/N (threshold shift): at N = 500 it is at most a quarter of it, up to 3 sem
    eta = 0.9 * sgd.stability_threshold(ALPHA, B_FRAC)
    sc = sgd.finite_size_scan([125, 500], [96, 32], ALPHA, SIGMA2, eta, B_FRAC, 30.0, window=(15.0, 30.0))
    assert sc.dev_test[0] > 4 * sc.dev_test_sem[0]
    assert abs(sc.dev_test[1]) < sc.dev_test[0] / 4 + 3 * sc.dev_test_sem[1]


# ------------------------------------------------------------------ issue 17: faster simulations
# The simulation was rewritten (batched matmul instead of einsum, seed-major cache groups); the random
# streams are unchanged, so the results equal those of the previous implementation to round-off.
# The literals below were printed by the previous implementation (git cc61746) at these small sizes.
_PREV_SGD = {
    "one group": ([
        1.1126493831031266, 0.9788847760885306, 0.9270416899862415, 0.8128731706602658, 0.7347937799518277,
        0.7053222746574822,
    ], [
        1.5438463423467088, 1.2169181697789393, 1.1445111586839343, 0.9309804292769247, 0.734840990576142,
        0.6573841902096805,
    ]),
    "memory groups": ([
        0.9907967119336695, 0.9149883061239873, 0.8011220983320424, 0.735204130186416, 0.6842324069017797,
        0.6353084190140779,
    ], [
        1.251565666211347, 1.1299332858289282, 0.9255706646991145, 0.863323855081542, 0.8224458501107993,
        0.735472742569938,
    ]),
    "online": ([
        0.7905451802377867, 0.709866188662892, 0.6599031907935279, 0.6160349988547965, 0.5353791264107883,
        0.5146688278379333, 0.47991439077582765, 0.44994281874976033, 0.39937835066975386,
        0.3657331270034465, 0.3406121973770457, 0.3200556005889114, 0.2823046079177271, 0.2620798621368267,
        0.23754102414262324, 0.19742446588065332,
    ], [
        1.3154284453922227, 0.8207642952124999, 1.0825048861957025, 1.0548865920463257, 0.6529982539847003,
        0.7000372674561998, 0.5670052169350767, 0.9180493000190836, 0.6360324527893518, 0.5367371291777489,
        0.2619870932718386, 0.7523786592214283, 0.42076844004345215, 0.6693661795031706, 0.8716218846676281,
        0.3733471022226699,
    ]),
}


def test_simulate_equals_previous_implementation():
    a = sgd.simulate(30, 2.0, 0.25, 0.2, 0.1, 1.0, seeds=range(3))
    b = sgd.simulate(200, 2.0, 0.25, 0.2, 0.1, 1.0, seeds=range(3), max_bytes=1e6)   # one seed per group
    c = sgd.simulate_online(30, 4, 0.25, 0.5, 1.0, seeds=range(3))
    for sim, key in ((a, "one group"), (b, "memory groups"), (c, "online")):
        assert_allclose(sim.test_error, _PREV_SGD[key][0], rtol=_PORTABLE)
        assert_allclose(sim.train_error, _PREV_SGD[key][1], rtol=_PORTABLE)


def test_simulate_cache_groups_and_selection_chunks_do_not_change_results(monkeypatch):
    ref = sgd.simulate(30, 2.0, 0.25, 0.2, 0.1, 2.0, seeds=range(4))
    monkeypatch.setattr(sgd, "_CACHE_BYTES", 1)            # one seed per cache group
    monkeypatch.setattr(sgd, "_SEL_BYTES", 1)              # selections drawn step by step
    alt = sgd.simulate(30, 2.0, 0.25, 0.2, 0.1, 2.0, seeds=range(4))
    assert_allclose(alt.test_error, ref.test_error, rtol=1e-13)
    assert_allclose(alt.train_error, ref.train_error, rtol=1e-13)


def test_simulate_equals_naive_per_seed_loop():
    import os
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
    import naive
    sim = sgd.simulate(40, 1.5, 0.3, 0.25, 0.2, 3.0, seeds=[3, 8, 1])
    eg, et = naive.sgd_multipass(40, 1.5, 0.3, 0.25, 0.2, 3.0, [3, 8, 1])
    assert_allclose(sim.test_error, eg.mean(axis=0), rtol=1e-12)
    assert_allclose(sim.train_error, et.mean(axis=0), rtol=1e-12)
