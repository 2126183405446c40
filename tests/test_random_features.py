"""Tests of dmftlib.random_features.

Error model used for every theory-vs-simulation tolerance: the simulated mean over seeds fluctuates by
its standard error (the test error of one model fluctuates by O(1/sqrt(N)) over the draws of teacher,
data and features), and the finite-N mean differs from the N -> infinity limit by O(1/N). For linear
features ``theory`` is exact (``exact_theory``: deterministic equivalents + Talbot inversion, about five
digits), so the tolerance is ``4 sem + c/N``. The large-N evaluation ``large_n_theory`` (teacher, noise and
test point averaged analytically, matrices sampled at N_theory) carries an O(1/N_theory) error (linear
spectral statistics): it is checked against the exact curves, and is the theory for nonlinear features.
"""
import math

import numpy as np
import pytest

from dmftlib import linear
from dmftlib import random_features as rf

T = np.array([0.0, 0.3, 1.0, 3.0, 10.0, 30.0, np.inf])


@pytest.fixture(scope="module")
def theory_lin():
    return rf.theory(1.0, 0.5, 0.0, T, N_theory=600, n_draws=2)


def test_activation_coefficients_closed_forms():
    mu0, mu1, mus = rf.activation_coefficients("relu")
    assert mu0 == 0.0
    np.testing.assert_allclose(mu1, 0.5, atol=1e-10)
    np.testing.assert_allclose(mus**2, 0.25 - 1 / (2 * np.pi), atol=1e-10)
    assert rf.activation_coefficients("linear") == (0.0, 1.0, 0.0)


def test_initial_errors_exact(theory_lin):
    # a(0) = 0: E_g(0) = |w*|^2/N -> 1 exactly in the averaged theory; E_t(0) = |y|^2/P -> 1 + sigma2
    np.testing.assert_allclose(theory_lin.test_error[0], 1.0, atol=1e-12)
    th = rf.theory(2.0, 1.0, 0.25, [0.0, 1.0], N_theory=300, n_draws=2)
    np.testing.assert_allclose(th.train_error[0], 1.25, atol=5 / 300)   # tr(XX^T)/(NP) fluctuates O(1/N)


def test_decomposition_identities(theory_lin):
    th = theory_lin
    total = th.bias + th.var_features + th.var_data + th.var_interaction
    np.testing.assert_allclose(total, th.test_error, atol=1e-12)
    # an average of predictors is never worse than one predictor (Cauchy-Schwarz), up to O(1/N)
    assert np.all(th.ens_features <= th.test_error + 1e-3)
    assert np.all(th.ens_data <= th.test_error + 1e-3)
    assert np.all(th.bias <= np.minimum(th.ens_features, th.ens_data) + 1e-3)
    np.testing.assert_allclose(rf.ensemble_error(th, [1], "features")[0], th.test_error)
    np.testing.assert_allclose(rf.ensemble_error(th, [1e12], "data")[0], th.ens_data, atol=1e-10)


@pytest.mark.parametrize("N, n_seeds", [(60, 40), (240, 10)])
def test_theory_vs_simulation_linear(theory_lin, N, n_seeds):
    sim = rf.simulate(N, 1.0, 0.5, 0.0, T, seeds=range(n_seeds))
    for name in ("test_error", "train_error", "ens_features", "ens_data", "bias"):
        th, m, s = getattr(theory_lin, name), getattr(sim, name), getattr(sim, name + "_sem")
        # seed fluctuations (4 sem, sem ~ 1/sqrt(N n_seeds)) + finite-size bias c/N with c = 3 (exact theory)
        tol = 4 * s + 3.0 / N
        assert np.all(np.abs(m - th) <= tol), (name, N, np.abs(m - th), tol)


@pytest.mark.parametrize("N, n_seeds", [(60, 30), (200, 8)])
def test_gaussian_equivalence_tanh(N, n_seeds):
    th = rf.theory(1.0, 0.5, 0.0, T, phi="tanh", N_theory=400, n_draws=2)
    sim = rf.simulate(N, 1.0, 0.5, 0.0, T, seeds=range(n_seeds), phi="tanh", n_test=1500)
    for name in ("test_error", "train_error", "bias"):
        th_, m, s = getattr(th, name), getattr(sim, name), getattr(sim, name + "_sem")
        # Gaussian equivalence holds up to O(1/sqrt(N)) per model (absorbed in the sem) and O(1/N) in mean
        tol = 4 * s + 4.0 / N + 3.0 / 400
        assert np.all(np.abs(m - th_) <= tol), (name, N, np.abs(m - th_), tol)


def test_large_width_limit_is_linear_regression():
    # M -> infinity: the random-feature kernel becomes the linear kernel, same clock (da/dt = -N dL/da).
    t = np.array([0.3, 1.0, 3.0, 10.0])
    lr = linear.gradient_flow_theory(2.0, 0.25, t).test_error
    errs = []
    for nu in (2.0, 8.0):
        th = rf.theory(2.0, nu, 0.25, t, N_theory=100, n_draws=2)
        errs.append(np.max(np.abs(th.test_error - lr)))
    # the deviation is O(1/nu) (measured: 0.12 at nu = 2, 0.031 at nu = 8): quadrupling nu must divide it by
    # about four; allow 0.35 of it plus O(1/N_theory) = 0.01
    assert errs[1] < 0.35 * errs[0] + 0.01, errs
    assert errs[1] < 0.05, errs


@pytest.mark.parametrize("alpha, nu, sigma2", [(2.0, 0.5, 0.0), (1.5, 0.5, 0.25)])
def test_ridgeless_limit_underparametrized(alpha, nu, sigma2):
    ref = rf.long_time_error_underparametrized(alpha, nu, sigma2)
    # exact theory: the closed form to Talbot/brentq accuracy
    np.testing.assert_allclose(rf.theory(alpha, nu, sigma2, [0.0, np.inf]).test_error[-1], ref, rtol=1e-8)
    for N in (200, 400):
        th = rf.large_n_theory(alpha, nu, sigma2, [0.0, np.inf], N_theory=N, n_draws=2)
        # OLS in M dims: finite-M correction to nu/(alpha-nu) is O(1/N) relative
        assert abs(th.test_error[-1] - ref) <= 4 * th.test_error_sem[-1] + 3 * ref / N, (N, th.test_error[-1], ref)


def test_ridgeless_limit_wide_features():
    # nu > 1 and alpha > 1: least squares in the input space, E_g(inf) = sigma2/(alpha - 1) as for linear regression
    th = rf.large_n_theory(2.0, 1.5, 0.25, [0.0, np.inf], N_theory=300, n_draws=2)
    np.testing.assert_allclose(th.test_error[-1], 0.25 / (2.0 - 1.0), atol=4 * th.test_error_sem[-1] + 3 * 0.25 / 300)
    np.testing.assert_allclose(rf.theory(2.0, 1.5, 0.25, [0.0, np.inf]).test_error[-1], 0.25, rtol=1e-8)


def test_hermitian_theory_exact_and_convergence():
    t = np.array([0.0, 0.5, 2.0, 10.0])
    H = rf.hermitian_theory(1.0, 0.5, t)
    np.testing.assert_allclose(H[0], 1.0, atol=1e-8)
    assert np.all(np.diff(H) <= 0)                       # a Hermitian drive only decays
    for N in (150, 600):
        th = rf.large_n_theory(1.0, 0.5, 0.0, t, N_theory=N, n_draws=2)
        # linear spectral statistic: fluctuation and bias O(1/N), coefficient ~ 1
        assert np.max(np.abs(th.hermitian_error - H)) <= 1.0 / N, N


def test_non_normal_drive_is_non_monotone(theory_lin):
    th = theory_lin
    # without label noise the non-normal drive overshoots: E_g rises after its minimum ...
    assert th.test_error[-1] - th.test_error.min() > 0.15
    # ... while the Hermitian drive with the same spectrum decreases monotonically
    assert np.all(np.diff(th.hermitian_error) <= 1e-12)


@pytest.mark.parametrize("over", ["features", "data"])
def test_simulated_ensembles_match_theory(theory_lin, over):
    ks = [1, 2, 8]
    N, n_seeds = 80, 16
    ens = rf.simulate_ensemble(N, 1.0, 0.5, 0.0, T, ks, seeds=range(n_seeds), over=over)
    pred = rf.ensemble_error(theory_lin, ks, over)
    tol = 4 * ens.test_error_sem + 3.0 / N                    # exact theory: seeds + finite-size bias
    assert np.all(np.abs(ens.test_error - pred) <= tol), (over, np.abs(ens.test_error - pred), tol)
    # the infinite ensemble over features removes the feature variance: E_inf = bias + data variance
    if over == "features":
        np.testing.assert_allclose(theory_lin.ens_features, theory_lin.bias + theory_lin.var_data, atol=1e-12)
    assert theory_lin.kind == "theory" and theory_lin.N == 0          # the exact N -> infinity theory


def test_bad_input():
    with pytest.raises(ValueError, match="alpha"):
        rf.theory(0.0, 1.0, 0.0, [0.0, 1.0])
    with pytest.raises(ValueError, match="nu"):
        rf.simulate(50, 1.0, -1.0, 0.0, [0.0, 1.0], seeds=range(2))
    with pytest.raises(ValueError, match="sigma2"):
        rf.theory(1.0, 1.0, -0.1, [0.0, 1.0])
    with pytest.raises(ValueError, match="phi"):
        rf.theory(1.0, 1.0, 0.0, [0.0, 1.0], phi="gelu")
    with pytest.raises(ValueError, match="t"):
        rf.theory(1.0, 1.0, 0.0, [1.0, 0.5])
    with pytest.raises(ValueError, match="seeds"):
        rf.simulate(50, 1.0, 1.0, 0.0, [0.0, 1.0], seeds=[3])
    with pytest.raises(ValueError, match="N_theory"):
        rf.theory(1.0, 1.0, 0.0, [0.0, 1.0], N_theory=10)
    with pytest.raises(ValueError, match="over"):
        rf.ensemble_error(rf.theory(1.0, 1.0, 0.0, [0.0, 1.0], N_theory=50, n_draws=1), [2], "width")
    with pytest.raises(ValueError, match="alpha"):
        rf.long_time_error_underparametrized(0.4, 0.5, 0.0)


@pytest.mark.slow   # about 30 s of CPU: the exact linear curves of the script (46 times x 4 widths) dominate
def test_data_script_small_instance():
    # book/data/random_features_make.py at a small size reproduces the stored (N = 800 / 300) curves
    # up to the O(1/N) error of the small instance (N = 60: a few percent at early times)
    import importlib.util
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("rf_make", root / "book" / "data" / "random_features_make.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = mod.make(N_curve=60, N_sweep=60, n_sweep=5, tanh_runs=((200, 2), (400, 2)), mp_runs=((200, 32), (800, 2)),
                    nu_refine=(0.0,))
    stored = np.load(root / "book" / "data" / "random_features_curves.npz")
    assert set(data) == set(stored.files)
    early = stored["t_curve"] < 0.5
    np.testing.assert_allclose(data["curves_alpha05"][:, 0, early], stored["curves_alpha05"][:, 0, early], atol=0.05)
    np.testing.assert_allclose(data["curve_tanh"][0, early], stored["curve_tanh"][0, early], atol=0.05)
    # the same simulation code path: the stored M = P run at N = 200 (32 seeds) is re-created exactly
    # (up to the round-off of the eigendecompositions), the others have the stored shapes
    np.testing.assert_allclose(data["mp_sim_200"], stored["mp_sim_200"], rtol=1e-6)
    for key in ("tanh_sim_200", "tanh_sim_400_sem", "mp_sim_800"):
        assert data[key].shape == stored[key].shape


def test_plot_functions_are_pure():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    th = rf.theory(1.0, 0.5, 0.0, [0.0, 1.0, 10.0], N_theory=60, n_draws=1)
    sim = rf.simulate(20, 1.0, 0.5, 0.0, [0.0, 1.0, 10.0], seeds=range(2))
    ax = rf.plot_learning_curves(th, [sim], hermitian=True)
    assert len(ax.lines) >= 2
    ax = rf.plot_bias_variance([0.5, 1.0], [th, th])
    ax = rf.plot_explorer(alpha=1.0, nu=0.5, N_theory=60, t_max=10.0)
    assert ax.get_xscale() == "log"
    plt.close("all")


def test_drive_spectrum_matches_free_product():
    # histogram of the eigenvalues of A at N = 400 against the free multiplicative convolution (rf-cubic);
    # bin counts fluctuate by about sqrt(count), so compare masses per bin within 4 sqrt(count)/N + O(1/N) edges
    lam = rf.sample_drive_spectrum(400, 1.0, 0.5, seed=3)
    bulk = lam[lam > 1e-10]
    assert bulk.size == 200
    edges = np.linspace(0.0, bulk.max() * 1.01, 9)
    counts, _ = np.histogram(bulk, edges)
    x = np.linspace(1e-6, edges[-1], 40001)
    rho = rf.product_wishart_density(x, 1.0, 0.5)
    mass = np.array([np.trapezoid(rho[(x >= a) & (x < b)], x[(x >= a) & (x < b)]) for a, b in zip(edges[:-1], edges[1:])])
    np.testing.assert_allclose(counts / 400, mass, atol=4 * np.sqrt(counts.max()) / 400 + 2 / 400)


def test_nonnormal_theory_exact_limit():
    t = np.array([0.0, 0.3, 1.0, 3.0, 10.0, 30.0])
    exact = rf.nonnormal_theory(1.0, 0.5, t)
    assert exact[0] == 1.0
    # Talbot accuracy: 12 and 16 nodes agree to ~1e-6
    np.testing.assert_allclose(rf.nonnormal_theory(1.0, 0.5, t, n_talbot=12), exact, atol=1e-5)
    for N in (150, 600):
        th = rf.large_n_theory(1.0, 0.5, 0.0, t, N_theory=N, n_draws=2)
        # linear spectral statistics: fluctuation + bias O(1/N); measured N*|dev| between 0.3 and 1.8
        assert np.max(np.abs(th.test_error - exact)) <= 3.0 / N, (N, np.abs(th.test_error - exact))


def test_nonnormal_theory_limits():
    # symmetry alpha <-> nu (trace cyclicity, exercise ex-rf-symmetry)
    t = np.array([0.3, 1.0, 3.0, 10.0])
    np.testing.assert_allclose(rf.nonnormal_theory(0.7, 1.3, t), rf.nonnormal_theory(1.3, 0.7, t), atol=1e-6)
    # ridgeless limit (rf-ols)
    np.testing.assert_allclose(rf.nonnormal_theory(2.0, 0.5, [1e4]), rf.long_time_error_underparametrized(2.0, 0.5, 0.0),
                               atol=1e-3)
    # M -> infinity: linear regression, with an O(1/nu) correction (measured coefficient 0.248)
    lr = linear.gradient_flow_theory(2.0, 0.0, t).test_error
    assert np.max(np.abs(rf.nonnormal_theory(2.0, 16.0, t) - lr)) <= 0.3 / 16
    assert np.max(np.abs(rf.nonnormal_theory(2.0, 64.0, t) - lr)) <= 0.3 / 64


def test_nonnormal_theory_convergence_error():
    with pytest.raises(rf.ConvergenceError):
        rf.nonnormal_theory(1.0, 0.5, [1.0], max_iter=1)
    with pytest.raises(ValueError, match="n_talbot"):
        rf.nonnormal_theory(1.0, 0.5, [1.0], n_talbot=64)


# ----------------------------------------------------------------------------------------------
# The exact theory of linear features with label noise, train error, ensembles and bias
# ----------------------------------------------------------------------------------------------
TN = np.array([0.0, 0.3, 1.0, 3.0, 10.0, 30.0, np.inf])
FIELDS = ("test_error", "train_error", "ens_features", "ens_data", "bias", "hermitian_error")
CASES = [(1.0, 0.5, 0.25), (0.6, 1.5, 0.5)]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"a{c[0]}-n{c[1]}-s{c[2]}")
def exact_noisy(request):
    return rf.exact_theory(*request.param, TN)


def test_exact_theory_reduces_to_known_curves():
    t = np.array([0.0, 0.3, 1.0, 3.0, 10.0])
    th = rf.exact_theory(1.0, 0.5, 0.0, t)
    np.testing.assert_allclose(th.test_error, rf.nonnormal_theory(1.0, 0.5, t), atol=1e-10)
    # Hermitian curve c(2t) and bias c(t)^2 with c(t) = (1/N) tr exp(-A t) = E_H(t/2) (grid quadrature ~1e-4)
    np.testing.assert_allclose(th.hermitian_error, rf.hermitian_theory(1.0, 0.5, t), atol=2e-4)
    np.testing.assert_allclose(th.bias, rf.hermitian_theory(1.0, 0.5, t / 2) ** 2, atol=4e-4)
    # Talbot accuracy: 12 and 16 nodes agree
    th12 = rf.exact_theory(1.0, 0.5, 0.3, t, n_talbot=12)
    th16 = rf.exact_theory(1.0, 0.5, 0.3, t)
    for name in FIELDS:
        np.testing.assert_allclose(getattr(th12, name), getattr(th16, name), atol=1e-5)


def test_exact_theory_structure():
    a, n = 1.0, 0.5
    th0, th1, th2 = (rf.exact_theory(a, n, s2, TN) for s2 in (0.0, 0.25, 0.5))
    # the noise enters linearly (sigma^2 times a trace); the data ensemble averages the noise away
    for name in ("test_error", "train_error", "ens_features"):
        v0, v1, v2 = getattr(th0, name), getattr(th1, name), getattr(th2, name)
        np.testing.assert_allclose(v2 - v1, v1 - v0, atol=1e-6)
    np.testing.assert_allclose(th2.ens_data, th0.ens_data, atol=1e-12)
    np.testing.assert_allclose(th2.bias, th0.bias, atol=1e-12)
    # initial values and the ridgeless limits in closed form (nu < 1 < alpha / nu impossible here: alpha = 1)
    np.testing.assert_allclose(th2.test_error[0], 1.0)
    np.testing.assert_allclose(th2.train_error[0], 1.5)
    ref = rf.long_time_error_underparametrized(2.0, 0.5, 0.5)
    np.testing.assert_allclose(rf.exact_theory(2.0, 0.5, 0.5, [np.inf]).test_error[-1], ref, rtol=1e-8)
    # train error at t = inf: least squares in M < P dims leaves (1 - nu + sigma2)(1 - nu/alpha)
    np.testing.assert_allclose(rf.exact_theory(2.0, 0.5, 0.5, [np.inf]).train_error[-1], 1.0 * 0.75, rtol=1e-8)
    # overparametrized (M > P): the train error vanishes at t = inf
    np.testing.assert_allclose(rf.exact_theory(0.6, 1.5, 0.5, [np.inf]).train_error[-1], 0.0, atol=1e-12)
    # the t = inf limit is the end of the curve
    late = rf.exact_theory(2.0, 0.5, 0.5, [1e3, np.inf])
    for name in FIELDS:
        np.testing.assert_allclose(getattr(late, name)[0], getattr(late, name)[1], atol=1e-3)


def test_exact_decomposition_identities(exact_noisy):
    th = exact_noisy
    total = th.bias + th.var_features + th.var_data + th.var_interaction
    np.testing.assert_allclose(total, th.test_error, atol=1e-12)
    np.testing.assert_allclose(th.ens_features, th.bias + th.var_data, atol=1e-12)
    np.testing.assert_allclose(th.ens_data, th.bias + th.var_features, atol=1e-12)
    # averaging predictors never hurts (Cauchy-Schwarz), exactly at N -> infinity up to Talbot accuracy
    tol = 1e-5
    assert np.all(th.ens_features <= th.test_error + tol)
    assert np.all(th.ens_data <= th.test_error + tol)
    assert np.all(th.bias <= np.minimum(th.ens_features, th.ens_data) + tol)
    assert np.all(th.var_interaction >= -tol)
    assert np.all(th.test_error_sem == 0) and th.n_seeds == 0


@pytest.mark.parametrize("case", CASES)
def test_exact_theory_vs_large_n_evaluation(case):
    ex = rf.exact_theory(*case, TN)
    devs = {}
    for N in (100, 400):
        ln = rf.large_n_theory(*case, TN, N_theory=N, n_draws=4)
        for name in FIELDS:
            dev = np.abs(getattr(ln, name) - getattr(ex, name))
            sem = getattr(ln, name + "_sem")
            # linear spectral statistics: the mean over draws fluctuates by its sem, O(1/(N sqrt(n_draws))), and
            # is biased by O(1/N); measured N * max|dev| from 0.05 to 4.3 (largest: test error at t = inf,
            # alpha = 0.6, nu = 1.5, N = 100, near the P = N peak; sem absorbs it)
            assert np.all(dev <= 4 * sem + 4.0 / N), (case, N, name, dev)
            devs[N, name] = dev.max()
    # and the deviation does shrink: summed over the fields, by at least a factor 2 from N = 100 to 400
    assert sum(devs[400, f] for f in FIELDS) < 0.5 * sum(devs[100, f] for f in FIELDS), devs


@pytest.mark.parametrize("N, n_seeds", [(60, 40), (240, 10)])
@pytest.mark.parametrize("case", CASES)
def test_exact_theory_vs_simulation_with_noise(case, N, n_seeds):
    ex = rf.exact_theory(*case, TN)
    sim = rf.simulate(N, *case, TN, seeds=range(n_seeds))
    for name in FIELDS[:-1]:
        th, m, s = getattr(ex, name), getattr(sim, name), getattr(sim, name + "_sem")
        # seed fluctuations 4 sem (sem ~ 1/sqrt(N n_seeds)) + finite-size bias c/N, c = 3
        tol = 4 * s + 3.0 / N
        assert np.all(np.abs(m - th) <= tol), (case, name, N, np.abs(m - th), tol)


@pytest.mark.parametrize("over", ["features", "data"])
@pytest.mark.parametrize("N, n_seeds", [(50, 20), (150, 6)])
def test_exact_ensembles_vs_simulated_ensembles(over, N, n_seeds):
    case = (1.0, 0.5, 0.25)
    ks = [1, 3, 8]
    ex = rf.exact_theory(*case, TN)
    ens = rf.simulate_ensemble(N, *case, TN, ks, seeds=range(n_seeds), over=over)
    pred = rf.ensemble_error(ex, ks, over)
    tol = 4 * ens.test_error_sem + 3.0 / N                    # seeds + finite-size bias c/N, c = 3
    assert np.all(np.abs(ens.test_error - pred) <= tol), (over, N, np.abs(ens.test_error - pred), tol)


def test_exact_theory_errors():
    with pytest.raises(rf.ConvergenceError):
        rf.exact_theory(1.0, 0.5, 0.25, [0.0, 1.0], max_iter=1)
    with pytest.raises(ValueError, match="n_talbot"):
        rf.exact_theory(1.0, 0.5, 0.25, [0.0, 1.0], n_talbot=4)
    with pytest.raises(ValueError, match="sigma2"):
        rf.exact_theory(1.0, 0.5, -1.0, [0.0, 1.0])


# ---------------------------------------------------------------------------------------------
# The two-field DMFT (dmft_theory) against the exact curves
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha, nu, sigma2", [(1.0, 0.5, 0.25), (0.5, 2.0, 0.0)])
def test_dmft_theory_matches_exact_curves_second_order(alpha, nu, sigma2):
    # trapezoid operators on a uniform grid: error O(dt^2), so halving dt divides it by about 4
    fields = ("test_error", "train_error", "ens_features", "ens_data", "bias")
    errs = []
    for n_t in (41, 81):
        d = rf.dmft_theory(alpha, nu, sigma2, 6.0, n_t=n_t)
        assert d.converged
        idx = np.arange(n_t)[(n_t - 1) // 6::(n_t - 1) // 6]           # t = 1, 2, ..., 6
        ex = rf.exact_theory(alpha, nu, sigma2, d.t[idx])
        errs.append(max(np.max(np.abs(getattr(d, f)[idx] - getattr(ex, f))) for f in fields))
    assert errs[1] < 0.4 * errs[0] and errs[1] < 5e-3


def test_dmft_theory_structure():
    d = rf.dmft_theory(1.0, 0.5, 0.25, 3.0, n_t=31)
    np.testing.assert_allclose(d.test_error[0], 1.0, atol=1e-12)          # v(0) = -w*, |w*|^2/N = 1
    np.testing.assert_allclose(d.train_error[0], 1.25, atol=1e-12)        # 1 + sigma^2
    np.testing.assert_allclose(d.C_test, d.C_test.T, atol=1e-12)
    np.testing.assert_allclose(d.bias, d.response ** 2, atol=1e-14)
    # dropping a field removes a non-negative variance: bias <= each ensemble <= test error
    assert np.all(d.bias <= d.ens_features + 1e-12) and np.all(d.ens_features <= d.test_error + 1e-12)
    assert np.all(d.bias <= d.ens_data + 1e-12) and np.all(d.ens_data <= d.test_error + 1e-12)
    # the data ensemble does not see the label noise
    d0 = rf.dmft_theory(1.0, 0.5, 0.0, 3.0, n_t=31)
    np.testing.assert_allclose(d.ens_data, d0.ens_data, atol=1e-12)
    # many features (nu -> infinity, W -> 1): gradient flow on linear regression, whose test error is
    # int exp(-2 lambda t) dMP(lambda) without noise; the deviation is O(1/nu) + O(dt^2)
    wide = rf.dmft_theory(2.0, 400.0, 0.0, 3.0, n_t=61)
    ref = linear.gradient_flow_theory(2.0, 0.0, wide.t[1::20])
    assert np.max(np.abs(wide.test_error[1::20] - ref.test_error)) < 0.5 / 400   # measured 0.24 / nu


def test_dmft_theory_bad_input():
    for kw in ({"alpha": 0.0}, {"nu": -1.0}, {"sigma2": np.nan}, {"t_max": np.inf}, {"n_t": 2}):
        args = {"alpha": 1.0, "nu": 0.5, "sigma2": 0.0, "t_max": 2.0, "n_t": 11} | kw
        with pytest.raises(ValueError, match=list(kw)[0]):
            rf.dmft_theory(**args)


# ------------------------------------------------------------------ issue 17: faster simulations
# The simulation was rewritten (batched matmul instead of einsum, Xi is not drawn for a linear simulation: it was the last draw); the random
# streams are unchanged, so the results equal those of the previous implementation to round-off.
# The literals below were printed by the previous implementation (git cc61746) at these small sizes.
_PREV_RF = {
    "linear": ([
        1.0876979113962655, 0.8144749787707483, 0.9978604931057703, 1.1603475840541277,
    ], [
        1.4989036707081986, 0.5520266133865284, 0.3423154090598895, 0.29450626313553635,
    ],
               [
                1.0876979113962655, 0.49511048437084115, 0.17522471236230577, -0.09634563297626653,
            ], [
                0.8849279346404123, 0.7312249615350077, 0.8849279346404123, 0.5395668115867408,
            ]),
    "tanh": ([
        1.0954308461089106, 0.7883181727829539, 0.7986244254425893, 1.0492182160144632,
    ], [
        1.4989036707081986, 0.7975374548216833, 0.43035280854560093, 0.3455576098806448,
    ],
             [
                1.0954308461089106, 0.6825023231558945, 0.3402128598171885, 0.09092197157258075,
            ], [
                0.86151215337468, 0.7990211534216098, 0.86151215337468, 0.5337462849657949,
            ]),
}


@pytest.mark.parametrize("phi", ["linear", "tanh"])
def test_simulate_equals_previous_implementation(phi):
    sim = rf.simulate(20, 1.0, 0.5, 0.25, [0.0, 0.5, 3.0, np.inf], seeds=range(3), phi=phi, n_test=50)
    ens = rf.simulate_ensemble(20, 1.0, 0.5, 0.25, [0.0, 3.0], [1, 3], seeds=range(3), over="data", phi=phi,
                               n_test=50)
    eg, et, bias, ens_eg = _PREV_RF[phi]
    np.testing.assert_allclose(sim.test_error, eg, rtol=1e-12)
    np.testing.assert_allclose(sim.train_error, et, rtol=1e-12)
    np.testing.assert_allclose(sim.bias, bias, rtol=1e-12)
    np.testing.assert_allclose(ens.test_error.ravel(), ens_eg, rtol=1e-12)


def test_simulate_equals_naive_per_seed_loop():
    # benchmarks/naive.py: the same draws, one seed and one model at a time (the benchmark's baseline)
    import os
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
    import naive
    t = np.array([0.0, 0.7, 5.0, np.inf])
    sim = rf.simulate(24, 1.5, 0.75, 0.2, t, seeds=[5, 1])
    ref = naive.random_features_linear(24, 1.5, 0.75, 0.2, t, [5, 1])
    for field, key in (("test_error", "eg"), ("train_error", "et"), ("ens_features", "features"),
                       ("ens_data", "data"), ("bias", "bias"), ("hermitian_error", "herm")):
        np.testing.assert_allclose(getattr(sim, field), ref[key].mean(axis=0), rtol=1e-11, err_msg=field)
