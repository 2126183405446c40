"""Tests of dmftlib.diagonal_linear: implicit bias, the DMFT, the simulation, and their agreement."""
import math

import numpy as np
import pytest

from dmftlib import ConvergenceError, linear
from dmftlib import diagonal_linear as dl


# ---------------------------------------------------------------------------------------------
# Closed forms and the implicit bias
# ---------------------------------------------------------------------------------------------
def test_hyperbolic_entropy_limits_and_mirror_map():
    beta = np.array([0.3, -1.2, 2.0])
    # large a: Q ~ |beta|^2 / (4 a^2); small a: Q ~ |beta|_1 log(1/a^2) to leading order
    a = 30.0
    assert math.isclose(dl.hyperbolic_entropy(beta, a) * 4 * a**2, float(beta @ beta), rel_tol=1e-5)
    a = 1e-3
    ratio = dl.hyperbolic_entropy(beta, a) / (np.abs(beta).sum() * math.log(1 / a**2))
    assert abs(ratio - 1) < 0.1
    # gradient of Q is asinh(beta / 2a^2) (finite differences)
    a, h = 0.7, 1e-6
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        fd = (dl.hyperbolic_entropy(beta + e, a) - dl.hyperbolic_entropy(beta - e, a)) / (2 * h)
        assert math.isclose(fd, math.asinh(beta[i] / (2 * a * a)), rel_tol=1e-6)


def test_teacher_norm_and_sparsity():
    rng = np.random.default_rng(3)
    b = dl.teacher(1000, 0.1, rng)
    assert np.count_nonzero(b) == 100
    assert math.isclose(b @ b / 1000, 1.0)
    assert set(np.round(np.abs(b[b != 0]) ** 2, 12)) == {10.0}


@pytest.mark.parametrize("a", [0.1, 1.0, 10.0])
def test_implicit_bias_is_the_limit_of_long_gradient_flow(a):
    # gradient flow run to t = 400 (converged: the velocity is below 1e-10) against the convex solver
    sim = dl.simulate(100, 0.5, 0.1, 0.0, a, [0.0, 400.0], seeds=[3, 4])
    for k, s in enumerate([3, 4]):
        X, y, _ = dl.make_data(100, 0.5, 0.1, 0.0, s)
        beta = dl.implicit_bias(X, y, a)
        assert np.abs(sim.beta[k] - beta).max() < 1e-7


def test_implicit_bias_kkt_and_regimes():
    X, y, bstar = dl.make_data(300, 0.5, 0.05, 0.0, seed=1)
    for a in (1e-3, 1.0, 30.0):
        res = dl._implicit_bias(X, y, a)
        assert res.converged and res.constraint_residual < 1e-9
        # stationarity: asinh(beta / 2a^2) lies in the row space of X
        s = np.arcsinh(res.beta / (2 * a * a))
        coef, *_ = np.linalg.lstsq(X.T, s, rcond=None)
        assert np.abs(X.T @ coef - s).max() < 1e-6 * max(1.0, np.abs(s).max())
    # a -> infinity: the minimum-l2-norm interpolator
    b_l2 = np.linalg.pinv(X / np.sqrt(300)) @ y
    assert np.abs(dl.implicit_bias(X, y, 30.0) - b_l2).max() < 1e-3
    # a -> 0 with alpha above the Donoho-Tanner threshold: exact recovery (up to the a-dependent smoothing)
    assert np.mean((dl.implicit_bias(X, y, 1e-3) - bstar) ** 2) < 1e-4


def test_donoho_tanner_curve():
    # known values of the weak l1 threshold (signed signals) and monotonicity
    rho = np.array([0.01, 0.1, 0.3, 0.6])
    a_c = dl.donoho_tanner(rho)
    assert np.all(np.diff(a_c) > 0) and np.all(a_c > rho) and np.all(a_c < 1)
    assert abs(a_c[1] - 0.3291) < 1e-3


# ---------------------------------------------------------------------------------------------
# The DMFT
# ---------------------------------------------------------------------------------------------
def test_bdf2_coefficients_are_consistent():
    grid = dl.time_grid(5.0, 30, 0.01)
    A1, A0, Bh = dl._bdf2_coefficients(grid)
    # exact for linear functions (consistency) and for quadratics (second order), every step >= 2
    for f, fp in ((lambda t: 2 + 3 * t, lambda t: 3 + 0 * t), (lambda t: t**2, lambda t: 2 * t)):
        k = np.arange(2, grid.size)
        lhs = f(grid[k]) - A1[k] * f(grid[k - 1]) + A0[k] * f(grid[k - 2])
        assert np.abs(lhs - Bh[k] * fp(grid[k])).max() < 1e-9


def test_theory_lazy_limit_is_linear_regression():
    # a = 10: beta moves at rate 8 a^2 F; E_g(t) = linear-regression gradient flow at time 8 a^2 t.
    # Tolerance: Monte Carlo of the sampled sites (3 sem) + O(1/a^4) nonlinearity + BDF2 on 60 points.
    a = 10.0
    t = np.array([0.0, 2e-4, 1e-3, 5e-3, 40.0])
    th = dl.theory(0.5, 0.2, 0.0, a, t, n_grid=40, n_samples=800, n_response=40)
    lin = linear.gradient_flow_theory(0.5, 0.0, 8 * a * a * t)
    assert th.converged
    assert np.all(np.abs(th.test_error - lin.test_error) < 3 * th.test_error_sem + 5e-3)
    # causality and symmetry of the kernels
    assert np.allclose(th.C, th.C.T) and np.all(np.triu(th.R, 1) == 0)


def test_theory_long_time_matches_implicit_bias():
    # sigma = 0, alpha < 1, t = 40: the DMFT limit equals E_g of the entropy minimiser, averaged over data.
    # Tolerance: 3 combined sem (theory sampling + seeds of the d = 200 convex solves) + O(1/d) bias.
    alpha, rho, a = 0.5, 0.1, 1.0
    th = dl.theory(alpha, rho, 0.0, a, [0.0, 40.0], n_grid=40, n_samples=800, n_response=40)
    eg = []
    for s in range(12):
        X, y, b = dl.make_data(200, alpha, rho, 0.0, s)
        eg.append(np.mean((dl.implicit_bias(X, y, a) - b) ** 2))
    m, sem = np.mean(eg), np.std(eg, ddof=1) / np.sqrt(len(eg))
    assert abs(th.test_error[-1] - m) < 3 * math.hypot(sem, th.test_error_sem[-1]) + 1.0 / 200


@pytest.fixture(scope="module")
def theory_a05():
    """Two independent samplings of the DMFT at a = 0.5; their spread is part of the theory's error."""
    t = np.array([0.0, 0.5, 2.0, 8.0])
    ths = [dl.theory(0.5, 0.2, 0.0, 0.5, t, n_grid=40, n_samples=800, n_response=40, seed=s) for s in (0, 1)]
    mean = 0.5 * (ths[0].test_error + ths[1].test_error)
    err = 0.5 * np.abs(ths[0].test_error - ths[1].test_error) + ths[0].test_error_sem / np.sqrt(2)
    return t, mean, err


@pytest.mark.parametrize("d", [100, 400])
def test_theory_vs_simulation(theory_a05, d):
    # tolerance k * sem + c / d: the seed average deviates from the d -> infinity limit by O(1/sqrt(d B))
    # fluctuations (in the sem) plus an O(1/d) bias; the theory's own Monte Carlo error is added.
    t, th, th_err = theory_a05
    sim = dl.simulate(d, 0.5, 0.2, 0.0, 0.5, t, seeds=8)
    sem = np.hypot(sim.test_error_sem, th_err)
    assert np.all(np.abs(sim.test_error - th) < 4 * sem + 2.0 / d)


def test_theory_label_noise_early_stopping_shape():
    # with label noise the lazy flow overfits: E_g has an interior minimum (early stopping), as in
    # linear regression at the rescaled time
    a = 10.0
    t = np.concatenate([[0.0], np.geomspace(1e-4, 1.0, 12)])
    th = dl.theory(2.0, 0.2, 1.0, a, t, n_grid=40, n_samples=800, n_response=40)
    lin = linear.gradient_flow_theory(2.0, 1.0, 8 * a * a * t)
    assert np.all(np.abs(th.test_error - lin.test_error) < 3 * th.test_error_sem + 1e-2)
    k = int(np.argmin(th.test_error))
    assert 0 < k < t.size - 1


def test_simulation_lazy_matches_linear_simulation_law():
    # at a = 10 the simulated network is linear regression: E_g at 8 a^2 t against the linear theory
    a = 10.0
    t = np.array([0.0, 1e-3, 5e-3, 1.0])
    sim = dl.simulate(300, 0.5, 0.2, 0.0, a, t, seeds=6)
    lin = linear.gradient_flow_theory(0.5, 0.0, 8 * a * a * t)
    assert np.all(np.abs(sim.test_error - lin.test_error) < 4 * sim.test_error_sem + 2.0 / 300)


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [dict(alpha=0.0), dict(alpha=np.nan), dict(rho=0.0), dict(rho=1.5),
                                dict(sigma2=-1.0), dict(init_scale=0.0), dict(init_scale=np.inf),
                                dict(t=[1.0, 0.5]), dict(t=[0.0]), dict(n_grid=3), dict(n_samples="many"), dict(n_samples=10),
                                dict(damping=1.0), dict(seed=-1)])
def test_theory_rejects_bad_input(kw):
    args = dict(alpha=0.5, rho=0.1, sigma2=0.0, init_scale=1.0, t=[0.0, 1.0], n_grid=10, n_samples=800,
                n_response=8)
    args.update(kw)
    with pytest.raises(ValueError):
        dl.theory(**args)


@pytest.mark.parametrize("kw", [dict(d=1), dict(d=2.5), dict(seeds=[1, 1]), dict(seeds=1), dict(seeds=-2),
                                dict(alpha=-1), dict(t=[0.0, np.nan]), dict(d=20000, alpha=100.0)])
def test_simulate_rejects_bad_input(kw):
    args = dict(d=20, alpha=0.5, rho=0.1, sigma2=0.0, init_scale=1.0, t=[0.0, 1.0], seeds=2)
    args.update(kw)
    with pytest.raises(ValueError):
        dl.simulate(**args)


def test_implicit_bias_rejects_bad_input():
    X = np.random.default_rng(0).standard_normal((5, 10))
    with pytest.raises(ValueError):
        dl.implicit_bias(X, np.zeros(4), 1.0)
    with pytest.raises(ValueError):
        dl.implicit_bias(X.T, np.zeros(10), 1.0)         # n > d: not an interpolation problem
    with pytest.raises(ValueError):
        dl.implicit_bias(X, np.full(5, np.nan), 1.0)
    with pytest.raises(ValueError):
        dl.implicit_bias(X, np.zeros(5), -1.0)


def test_theory_raises_convergence_error_when_capped():
    with pytest.raises(ConvergenceError):
        dl.theory(0.5, 0.1, 0.0, 1.0, [0.0, 4.0], n_grid=20, n_samples=400, n_response=20, max_iter=2)


def test_data_script_small_instance():
    # the chapter's data are produced by book/data/diagonal_linear_make.py: run a miniature through the same code
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[1] / "book" / "data" / "diagonal_linear_make.py"
    spec = importlib.util.spec_from_file_location("diagonal_linear_make", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.run(["main_10", "th_0.1", "scal_10_small"], small=True)
    assert out["main_10/theory"].shape == (2, 8) and out["main_10/sim_80"].shape == (3, 8)
    assert out["th_0.1/theory"].shape == (2, 8) and out["scal_10_small/sim_40"].shape == (3, 8)
    # independent solver seeds: different samplings, the same E_g(0) = |beta*|^2/d = 1
    th = out["th_0.1/theory"]
    assert np.allclose(th[:, 0], 1.0) and not np.allclose(th[0, 1:], th[1, 1:])
    # lazy limit at the end: E_g -> 1 - alpha (theory exact up to the sampling; simulation within its spread)
    assert abs(out["main_10/theory"][:, -1].mean() - 0.5) < 0.02
    # the rich clock: the half time grows with log(1/a) (two scales, through the same code as the chapter's data)
    sa = mod.run(["small_a"], small=True)
    t = sa["small_a/t"]
    assert sa["small_a/theory_0.1"].shape == (2, t.size) and sa["small_a/sim_0.01"].shape == (3, t.size)
    cross = [t[np.argmax(sa[f"small_a/theory_{a}"][0] < 0.5)] for a in ("0.1", "0.01")]
    assert cross[1] > cross[0]


# ----------------------------------------------------------------------------------------------
# The end point of the flow: static limit of the DMFT, against the finite-d implicit bias
# ----------------------------------------------------------------------------------------------
def test_prox_entropy_solves_its_equation_and_limits():
    x = np.linspace(-5, 5, 41)
    for lam, a in ((0.3, 0.05), (1.0, 1.0), (2.0, 10.0)):
        b, db = dl.prox_entropy(x, lam, a)
        assert np.abs(b + lam * np.arcsinh(b / (2 * a * a)) - x).max() < 1e-10
        h = 1e-6
        fd = (dl.prox_entropy(x + h, lam, a)[0] - dl.prox_entropy(x - h, lam, a)[0]) / (2 * h)
        assert np.abs(fd - db).max() < 1e-6
    # a -> 0: soft thresholding at the threshold lam log(1/a^2) scale; a = 0 exactly soft thresholding
    b0, _ = dl.prox_entropy(x, 1.0, 0.0)
    assert np.array_equal(b0, np.sign(x) * np.maximum(np.abs(x) - 1.0, 0.0))


@pytest.mark.parametrize("sigma2", [0.0, 0.25])
def test_static_limit_lazy_is_min_norm_closed_form(sigma2):
    # a -> infinity: the minimum-norm interpolator, E_g = 1 - alpha + alpha sigma^2 / (1 - alpha)
    for alpha in (0.2, 0.5, 0.8):
        st = dl.static_limit(alpha, 0.1, sigma2, 100.0)
        exact = 1 - alpha + alpha * sigma2 / (1 - alpha)
        assert abs(st.test_error - exact) < 1e-6 and abs(st.active_fraction - alpha) < 1e-8


def test_static_limit_l1_transition_is_donoho_tanner():
    # a = 0: E_g(infinity) = 0 exactly above alpha_c(rho), positive below (the bisection of the zero set
    # is as fine as the root finders: 1e-6)
    for rho in (0.05, 0.1, 0.2):
        ac = float(dl.donoho_tanner([rho])[0])
        assert dl.static_limit(ac + 1e-4, rho, 0.0, 0.0).test_error == 0.0
        assert dl.static_limit(ac - 1e-4, rho, 0.0, 0.0).test_error > 0.0
    # a > 0 never recovers exactly, and E_g(infinity) decreases to the l1 value as a -> 0
    eg = [dl.static_limit(0.5, 0.1, 0.0, a).test_error for a in (1.0, 0.1, 0.01, 1e-3)]
    assert all(x > y > 0 for x, y in zip(eg, eg[1:]))


def test_static_limit_is_the_long_time_dmft():
    # the DMFT at a = 1 has converged by t = 40 (stored chapter run: 0.4716 +- 0.012 and 0.4702 +- 0.012 for two
    # solver seeds); a small run here, within 3 of its sem
    th = dl.theory(0.5, 0.1, 0.0, 1.0, [0.0, 40.0], n_grid=40, n_samples=800, n_response=40)
    st = dl.static_limit(0.5, 0.1, 0.0, 1.0)
    assert abs(th.test_error[-1] - st.test_error) < 3 * th.test_error_sem[-1]


@pytest.mark.parametrize("d, seeds", [(100, 64), (400, 16)])
@pytest.mark.parametrize("a", [1.0, 0.1])
def test_static_limit_vs_implicit_bias(d, seeds, a):
    # the end point of the flow at finite d, averaged over data sets, against d -> infinity: tolerance
    # 3 sem (the spread of one data set falls like d^(-1/2)) + 1/d (the bias of the mean)
    alpha, rho = 0.5, 0.1
    eg = []
    for s in range(seeds):
        X, y, b = dl.make_data(d, alpha, rho, 0.0, s)
        eg.append(np.mean((dl.implicit_bias(X, y, a) - b) ** 2))
    m, sem = np.mean(eg), np.std(eg, ddof=1) / np.sqrt(seeds)
    assert abs(m - dl.static_limit(alpha, rho, 0.0, a).test_error) < 3 * sem + 1.0 / d


@pytest.mark.parametrize("kw", [dict(alpha=1.0), dict(alpha=0.0), dict(alpha=np.nan), dict(rho=0.0),
                                dict(sigma2=-1.0), dict(init_scale=-0.1), dict(init_scale=np.inf)])
def test_static_limit_rejects_bad_input(kw):
    args = dict(alpha=0.5, rho=0.1, sigma2=0.0, init_scale=0.1) | kw
    with pytest.raises(ValueError, match=next(iter(kw))):
        dl.static_limit(**args)


def test_phase_diagram_rejects_bad_grids():
    for bad in (dict(alphas=[1.2]), dict(alphas=[]), dict(rhos=[0.0]), dict(alphas=[[0.3]])):
        args = dict(alphas=[0.3], rhos=[0.1]) | bad
        with pytest.raises(ValueError):
            dl.phase_diagram(args["alphas"], args["rhos"], 0.0, 0.1)


def test_static_data_script_small_instance():
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[1] / "book" / "data" / "diagonal_linear_static_make.py"
    spec = importlib.util.spec_from_file_location("diagonal_linear_static_make", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.make(small=True)
    assert out["curve_eg"].shape == (5, 7) and out["pd_eg_0"].shape == (4, 5)
    # the l1 column is zero exactly where alpha > alpha_c(rho)
    ac = dl.donoho_tanner(out["pd_rho"])
    assert np.array_equal(out["pd_eg_0"] == 0.0, out["pd_alpha"][None, :] > ac[:, None])
    assert out["pdsim_eg"].shape == (1, 2, 2)
