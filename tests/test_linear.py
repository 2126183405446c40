"""Tests of dmftlib.linear: closed forms, DMFT, simulations, power-law spectrum, bad input."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

# literals printed on one machine: another BLAS kernel or NumPy version moves them by round-off
# accumulated over the steps (measured 3.9e-12 relative under OPENBLAS_CORETYPE=Sandybridge)
_PORTABLE = 1e-10

from dmftlib import ConvergenceError
from dmftlib import linear as L
from dmftlib.core import is_causal, is_psd


# ---------------------------------------------------------------- closed form and limits
def test_mp_quadrature_moments():
    # Marchenko-Pastur moments of X^T X / P: m1 = 1, m2 = 1 + 1/alpha, mass 1 (atom included)
    for alpha in (0.3, 1.0, 2.5):
        lam, w = L.mp_quadrature(alpha)
        assert_allclose([w.sum(), w @ lam, w @ lam**2], [1.0, 1.0, 1.0 + 1.0 / alpha], rtol=1e-10)


def test_mp_quadrature_matches_core_rmt():
    from dmftlib.core import rmt
    t = np.array([0.1, 1.0, 5.0])
    for alpha in (0.4, 2.0):
        lam, w = L.mp_quadrature(alpha)
        ref = rmt.marchenko_pastur_expect(lambda l: np.exp(-np.outer(t, l)), alpha, n=512)
        assert_allclose(np.exp(-np.outer(t, lam)) @ w, ref, rtol=1e-10)


@pytest.mark.parametrize("alpha", [0.5, 2.0])
@pytest.mark.parametrize("sigma2", [0.0, 0.3])
def test_initial_values_and_long_time_limit(alpha, sigma2):
    th = L.gradient_flow_theory(alpha, sigma2, [0.0, 1e7])
    assert_allclose(th.test_error[0], 1.0, rtol=1e-12)           # E_g(0) = |w*|^2/N = 1
    assert_allclose(th.train_error[0], 1.0 + sigma2, rtol=1e-12)  # E_t(0) = <y^2>
    eg_inf, et_inf = L.long_time_errors(alpha, sigma2)
    expected = sigma2 / (alpha - 1) if alpha > 1 else 1 - alpha + sigma2 * alpha / (1 - alpha)
    assert_allclose(eg_inf, expected, rtol=1e-12)
    assert_allclose(et_inf, sigma2 * max(0.0, 1 - 1 / alpha), rtol=1e-12)
    # gradient flow reaches the least-squares / minimum-norm solution (quadrature error only)
    assert_allclose(th.test_error[1], eg_inf, rtol=1e-6, atol=1e-9)
    assert_allclose(th.train_error[1], et_inf, rtol=1e-6, atol=1e-9)


def test_double_descent_peak_and_ridge():
    assert L.long_time_errors(1.0, 0.5)[0] == np.inf
    # ridge tames the peak; with ridge the t -> infinity limit of the flow is the ridge estimator
    eg_r, et_r = L.long_time_errors(1.0, 0.5, ridge=0.1)
    th = L.gradient_flow_theory(1.0, 0.5, [0.0, 1e4], ridge=0.1)
    assert np.isfinite(eg_r) and eg_r < 2.0
    assert_allclose([th.test_error[1], th.train_error[1]], [eg_r, et_r], rtol=1e-8)
    # the Bayes-optimal ridge sigma^2/alpha minimises E_g(infinity) (w* ~ N(0, I))
    alpha, sigma2 = 1.5, 0.4
    ridges = np.array([0.5, 0.8, 1.0, 1.25, 2.0]) * sigma2 / alpha
    eg = [L.long_time_errors(alpha, sigma2, r)[0] for r in ridges]
    assert int(np.argmin(eg)) == 2


def test_early_stopping():
    t_opt, e_opt = L.optimal_stopping(1.0, 0.5)
    th = L.gradient_flow_theory(1.0, 0.5, np.linspace(0, 20, 2001))
    assert e_opt <= th.test_error.min() + 1e-9
    assert 0 < t_opt < 20 and e_opt < 0.6
    # without noise the test error decreases monotonically: no early stopping
    t_opt0, _ = L.optimal_stopping(2.0, 0.0, t_max=50.0)
    assert t_opt0 == 50.0


# ---------------------------------------------------------------- DMFT
def test_responses_match_resolvent_second_order():
    # R(tau) = int rho(lam) exp(-(lam + ridge) tau): the MP resolvent; trapezoid scheme is O(dt^2)
    alpha, ridge = 1.5, 0.2
    lam, w = L.mp_quadrature(alpha)
    errs = []
    for n in (101, 201, 401):
        t = np.linspace(0, 5, n)
        rf = L.response_functions(alpha, t, ridge)
        errs.append(np.abs(rf.R - np.exp(-np.outer(t, lam + ridge)) @ w).max())
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.all((ratios > 3.5) & (ratios < 4.5)), ratios


@pytest.mark.parametrize("alpha,sigma2,ridge", [(2.0, 0.25, 0.0), (0.5, 0.25, 0.0), (1.0, 0.5, 0.1)])
def test_dmft_matches_closed_form_to_dt_squared(alpha, sigma2, ridge):
    errs = []
    for n in (101, 201):
        t = np.linspace(0, 8, n)
        d = L.gradient_flow_dmft(alpha, sigma2, t, ridge)
        th = L.gradient_flow_theory(alpha, sigma2, t, ridge)
        errs.append(max(np.abs(d.test_error - th.test_error).max(), np.abs(d.train_error - th.train_error).max()))
        dt = t[1]
        assert errs[-1] < 2.0 * dt**2          # O(dt^2), constant measured ~1 at t_max = 8
        assert d.converged and is_psd(d.C, tol=1e-9) and is_psd(d.C_r, tol=1e-9)
        assert is_causal(d.R, strict=False) and is_causal(d.R_r, strict=False)
        assert_allclose(np.diag(d.R), 1.0)
        assert_allclose(d.C, d.C.T, atol=0)
    ratio = errs[0] / errs[1]
    assert 3.5 < ratio < 4.5, ratio              # halving dt divides the error by 4


def test_dmft_two_time_correlations_match_closed_form():
    # the whole C(t, t') and C_r(t, t'), not only the diagonal, to O(dt^2)
    errs = []
    for n in (81, 161):
        t = np.linspace(0, 8, n)
        d = L.gradient_flow_dmft(1.5, 0.3, t, ridge=0.05)
        C, Cr = L.correlation_theory(1.5, 0.3, t, ridge=0.05)
        errs.append(max(np.abs(d.C - C).max(), np.abs(d.C_r - Cr).max()))
        assert errs[-1] < 2.0 * t[1] ** 2
    assert 3.5 < errs[0] / errs[1] < 4.5


def test_stein_doubling_matches_scipy():
    from scipy.linalg import solve_discrete_lyapunov
    rng = np.random.default_rng(0)
    A = np.tril(rng.standard_normal((30, 30))) * 0.15
    A[np.diag_indices(30)] = 0.3
    G = rng.standard_normal((30, 30))
    S = G @ G.T / 30
    C, res, k = L.stein_doubling(A, S)
    assert_allclose(C, solve_discrete_lyapunov(A, S), rtol=1e-9, atol=1e-12)
    assert is_psd(C) and res[-1] < 1e-12
    with pytest.raises(ConvergenceError):
        L.stein_doubling(2.0 * np.eye(3), np.eye(3))      # spectral radius > 1: divergence guard


def test_dmft_convergence_error():
    t = np.linspace(0, 20, 201)
    with pytest.raises(ConvergenceError) as info:
        L.gradient_flow_dmft(1.0, 0.5, t, max_doublings=2)
    assert info.value.residuals.size == 2


# ---------------------------------------------------------------- theory vs simulation
@pytest.mark.parametrize("alpha,sigma2,ridge", [(2.0, 0.25, 0.0), (0.6, 0.25, 0.0), (1.0, 0.25, 0.05)])
def test_theory_vs_simulation_two_N(alpha, sigma2, ridge):
    # Errors are self-averaging: across seeds they fluctuate by O(1/sqrt(N)) (sem computed from the
    # seeds), and the finite-N mean differs from the N -> infinity limit by O(1/N). Hence
    # tol = 4 sem + c / N with c = 3 (measured bias times N is below 1.5 at these parameters).
    t = np.array([0.0, 0.5, 2.0, 8.0, 30.0])
    th = L.gradient_flow_theory(alpha, sigma2, t, ridge)
    for N in (100, 400):
        sim = L.simulate_gradient_flow(N, alpha, sigma2, t, seeds=range(10), ridge=ridge)
        for name in ("test_error", "train_error"):
            dev = np.abs(getattr(sim, name) - getattr(th, name))
            tol = 4 * getattr(sim, name + "_sem") + 3.0 / N
            assert np.all(dev < tol), (N, name, dev, tol)


# ---------------------------------------------------------------- power-law covariance
def test_spectrum_theory_reduces_to_mp():
    # Sigma = I: the deterministic-equivalent + Stehfest route equals the MP quadrature;
    # Gaver-Stehfest (14 nodes) in double precision is accurate to ~1e-5
    t = np.linspace(0, 60, 31)
    for alpha in (0.5, 2.0):
        a = L.gradient_flow_theory(alpha, 0.3, t)
        b = L.gradient_flow_theory_spectrum(alpha, 0.3, t, np.ones(20))
        assert_allclose(b.test_error, a.test_error, atol=5e-5)
        assert_allclose(b.train_error, a.train_error, atol=5e-5)


@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_power_law_theory_vs_simulation(alpha):
    # same tolerance logic as the isotropic test; the theory uses the same N population eigenvalues
    N, b, sigma2 = 300, 0.5, 0.2
    spec = L.power_law_spectrum(N, b)
    t = np.array([0.0, 0.3, 1.0, 5.0, 30.0])
    th = L.gradient_flow_theory_spectrum(alpha, sigma2, t, spec)
    sim = L.simulate_gradient_flow(N, alpha, sigma2, t, seeds=range(10), spectrum=spec)
    for name in ("test_error", "train_error"):
        dev = np.abs(getattr(sim, name) - getattr(th, name))
        assert np.all(dev < 4 * getattr(sim, name + "_sem") + 3.0 / N), (name, dev)


def test_power_law_spectrum():
    lam = L.power_law_spectrum(500, 0.7)
    assert_allclose(lam.mean(), 1.0, rtol=1e-12)
    k = np.arange(1, 501) - 0.5
    assert_allclose(np.log(lam[10] / lam[100]), -0.7 * np.log(k[10] / k[100]), rtol=1e-12)


# ---------------------------------------------------------------- bad input
def test_value_errors():
    t = np.linspace(0, 1, 11)
    with pytest.raises(ValueError, match="alpha"):
        L.gradient_flow_theory(0.0, 0.1, t)
    with pytest.raises(ValueError, match="sigma2"):
        L.gradient_flow_theory(1.0, -0.1, t)
    with pytest.raises(ValueError, match="ridge"):
        L.gradient_flow_dmft(1.0, 0.1, t, ridge=-1.0)
    with pytest.raises(ValueError, match="t must"):
        L.gradient_flow_theory(1.0, 0.1, [1.0, 0.5])
    with pytest.raises(ValueError, match="uniform"):
        L.gradient_flow_dmft(1.0, 0.1, [0.0, 0.1, 0.3])
    with pytest.raises(ValueError, match="start at 0"):
        L.gradient_flow_dmft(1.0, 0.1, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="seeds"):
        L.simulate_gradient_flow(10, 1.0, 0.1, t, seeds=[0])
    with pytest.raises(ValueError, match="N"):
        L.simulate_gradient_flow(1, 1.0, 0.1, t, seeds=[0, 1])
    with pytest.raises(ValueError, match="spectrum"):
        L.simulate_gradient_flow(10, 1.0, 0.1, t, seeds=[0, 1], spectrum=np.ones(5))
    with pytest.raises(ValueError, match="b must"):
        L.power_law_spectrum(10, 1.0)
    with pytest.raises(ValueError, match="mean 1"):
        L.gradient_flow_theory_spectrum(1.0, 0.1, t, 2 * np.ones(5))


def test_plot_functions_run():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ax = L.plot_learning_curves(1.0, 0.5, 0.0, t_max=50.0)
    assert len(ax.lines) >= 2
    ax = L.plot_long_time_error(0.5, ridges=(0.0, 0.1), alphas=np.linspace(0.2, 3, 15))
    assert len(ax.lines) >= 2
    plt.close("all")


def test_finite_size_scan_small_instance():
    # small instance of book/data/linear_regression_make.py; batching over seeds must not change the result
    sc = L.finite_size_scan([40, 80], 2.0, 0.25, [0.5, 5.0], seeds=6, seeds_per_batch=4)
    ref = L.simulate_gradient_flow(80, 2.0, 0.25, [0.5, 5.0], seeds=range(6))
    assert_allclose(sc.mean[1], ref.test_error, rtol=1e-12)
    assert_allclose(sc.sem[1], ref.test_error_sem, rtol=1e-10)
    assert np.all(sc.std > 0) and sc.theory.shape == (2,)


@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_train_error_noise_part_against_finite_n_spectrum(alpha):
    """The noise part of E_t(t), independently of the closed form and of the DMFT.

    For one design X (P x N) and noise averaged exactly, the noise-driven residual is
    sigma (I - X Phi X^T / P) eps, so E_t^noise = sigma^2 / P [sum_{lam_i > 0} B(lam_i, t)^2 + max(0, P - N)]
    (B = e^{-lam t} without ridge). This linear spectral statistic of one Wishart sample deviates from its
    N -> infinity limit by O(1/N): at N = 800 about 1e-3, so a 2% error of the noise part (1e-2 here)
    cannot hide. Checks gradient_flow_theory, gradient_flow_dmft and long_time_errors.
    """
    from dmftlib.core import rmt
    N = 800
    P = int(round(alpha * N))
    lam = np.linalg.eigvalsh(rmt.sample_wishart(N, alpha, seed=11))
    lam = lam[lam > 1e-9]
    t = np.array([0.0, 0.3, 1.0, 3.0, 10.0])
    finite = (np.exp(-2 * np.outer(t, lam)).sum(axis=1) + max(0, P - N)) / P     # sigma^2 = 1
    noise = L.gradient_flow_theory(alpha, 1.0, t).train_error - L.gradient_flow_theory(alpha, 0.0, t).train_error
    assert_allclose(noise, finite, atol=4e-3)         # O(1/N) finite-size deviation
    tg = np.linspace(0.0, 3.0, 301)                   # the DMFT needs a uniform grid; error O(dt^2) ~ 1e-4
    finite_g = (np.exp(-2 * np.outer(tg, lam)).sum(axis=1) + max(0, P - N)) / P
    d1 = L.gradient_flow_dmft(alpha, 1.0, tg)
    d0 = L.gradient_flow_dmft(alpha, 0.0, tg)
    assert_allclose(d1.train_error - d0.train_error, finite_g, atol=4e-3)
    e1 = L.long_time_errors(alpha, 1.0)[1] - L.long_time_errors(alpha, 0.0)[1]
    assert_allclose(e1, max(0.0, 1.0 - 1.0 / alpha), atol=1e-9)     # B(lam > 0, inf) = 0


def test_defaults_fields_and_argument_names():
    """Defaults, result fields and error messages that mutation testing found unchecked (tools/mutation.md)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = np.array([0.0, 0.5, 2.0])
    # the default ridge of response_functions is 0
    tu = np.linspace(0.0, 2.0, 5)
    r0, r1 = L.response_functions(2.0, tu), L.response_functions(2.0, tu, ridge=0.0)
    assert_allclose(np.asarray(r0.R), np.asarray(r1.R), rtol=0, atol=0)
    assert not np.allclose(np.asarray(L.response_functions(2.0, tu, ridge=1.0).R)[1:], np.asarray(r0.R)[1:])
    # the spectrum theory reports its own parameters
    res = L.gradient_flow_theory_spectrum(2.0, 0.25, t, np.ones(4))
    assert (res.alpha, res.sigma2, res.ridge) == (2.0, 0.25, 0.0)
    assert_allclose(L.power_law_spectrum(1, 0.5), [1.0])            # one eigenvalue, normalised to mean 1
    # the plotted long-time asymptote is E_g(inf) = sigma^2 / (alpha - 1) (here 0.25 / 1)
    ax = L.plot_learning_curves(alpha=2.0, sigma=0.5, t_max=10.0)
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == r"$E_g(\infty)$"]
    assert_allclose(line.get_ydata(), 0.25)
    plt.close("all")
    # messages start with the argument's name
    for call, name in [(lambda: L.mp_quadrature(-1.0), "alpha"), (lambda: L.mp_quadrature(0.5, n=4), "n"),
                       (lambda: L.gradient_flow_theory_spectrum(2.0, 0.1, t, np.ones(4), n_stehfest=11), "n_stehfest"),
                       (lambda: L.stein_doubling(np.zeros((2, 2)), np.eye(2), max_doublings=0), "max_doublings"),
                       (lambda: L.gradient_flow_dmft(2.0, 0.1, tu, max_doublings=0), "max_doublings"),
                       (lambda: L.plot_long_time_error(ridges=(-1.0,)), "ridge")]:
        with pytest.raises(ValueError, match=rf"^{name} "):
            call()
    plt.close("all")


# ------------------------------------------------------------------ issue 17: faster simulations
# The simulation was rewritten (batched matmul instead of einsum, seeds as the leading dimension); the random
# streams are unchanged, so the results equal those of the previous implementation to round-off.
# The literals below were printed by the previous implementation (git cc61746) at these small sizes.
_PREV_GF = {
    "isotropic": ([
        1.1126493831031263, 0.4535178125541002, 0.16037461687548385, 0.20351344188580547,
    ], [
        1.5438463423467095, 0.4469482600649444, 0.11421986635429765, 0.0903191001106779,
    ]),
    "spectrum, ridge": ([
        0.8683316815625051, 0.594092963326816, 0.5794956811720385, 0.608216589814974,
    ], [
        1.0682217343457499, 0.16605497029269897, 0.01617168866649518, 0.005980938541234333,
    ]),
}


def test_simulate_gradient_flow_equals_previous_implementation():
    a = L.simulate_gradient_flow(30, 2.0, 0.25, [0, 0.5, 3, 100], seeds=range(3))
    b = L.simulate_gradient_flow(30, 0.5, 0.25, [0, 0.5, 3, 100], seeds=range(3), ridge=0.1,
                                 spectrum=L.power_law_spectrum(30, 0.5))
    for sim, key in ((a, "isotropic"), (b, "spectrum, ridge")):
        assert_allclose(sim.test_error, _PREV_GF[key][0], rtol=_PORTABLE)
        assert_allclose(sim.train_error, _PREV_GF[key][1], rtol=_PORTABLE)


def test_simulate_gradient_flow_equals_naive_per_seed_loop():
    # benchmarks/naive.py: the same draws, one seed at a time with 2-D products (the benchmark's baseline)
    import os
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
    import naive
    t = [0.0, 0.3, 2.0, 50.0]
    sim = L.simulate_gradient_flow(25, 1.5, 0.3, t, seeds=[4, 9, 2], ridge=0.05)
    eg, et = naive.linear_gradient_flow(25, 1.5, 0.3, t, [4, 9, 2], ridge=0.05)
    assert_allclose(sim.test_error, eg.mean(axis=0), rtol=1e-12)
    assert_allclose(sim.train_error, et.mean(axis=0), rtol=1e-12)


# ---------------------------------------------------------------- fast (FFT / factored) two-time route
@pytest.mark.parametrize("n", [101, 401])
@pytest.mark.parametrize("alpha, sigma2, ridge", [(2.0, 0.25, 0.0), (1.5, 0.3, 0.05), (0.5, 0.5, 0.0)])
def test_gradient_flow_dmft_fft_matches_dense(n, alpha, sigma2, ridge):
    # both routes sum the same 2^n_iter terms of the Stein series: agreement to round-off
    t = np.linspace(0.0, 10.0, n)
    f = L.gradient_flow_dmft(alpha, sigma2, t, ridge)                      # method="fft" (default)
    d = L.gradient_flow_dmft(alpha, sigma2, t, ridge, method="dense")
    assert f.n_iter == d.n_iter
    assert_allclose(f.residuals, d.residuals, rtol=1e-8, atol=1e-15)
    for a, b in ((f.C, d.C), (f.C_r, d.C_r), (f.R, d.R), (f.R_r, d.R_r)):
        assert np.abs(a - b).max() < 1e-14 * np.abs(b).max()
    assert np.array_equal(f.C, f.C.T) and is_psd(f.C) and is_psd(f.C_r)
    assert is_causal(f.R, strict=False) and is_causal(f.R_r, strict=False)
    assert abs(f.min_eigenvalue) < 1e-10


def test_stein_factored_fallback_matches_stein_doubling():
    # the factored sum and its FFT-doubling continuation (max_rank small) against dense doubling
    from dmftlib.core.toeplitz import CausalToeplitz, stein_factored
    rng = np.random.default_rng(3)
    n = 60
    c = 0.3 * np.exp(-0.1 * np.arange(n)) * rng.uniform(0.5, 1.0, n)
    A = CausalToeplitz(c, rng.uniform(0.0, 0.2, n))
    G = rng.standard_normal((n, 2))
    ref, res_ref, k_ref = L.stein_doubling(A.dense(), G @ G.T)
    for max_rank in (4, 1000):
        C, res, k, F = stein_factored(A, G, max_rank=max_rank)
        assert k == k_ref and (F is None) == (max_rank == 4)
        assert np.abs(C - ref).max() < 1e-13 * np.abs(ref).max()
    X = rng.standard_normal((n, 3))
    assert_allclose(A.apply(X), A.dense() @ X, atol=1e-14)
    assert_allclose((A @ A).dense(), A.dense() @ A.dense(), atol=1e-14)


def test_gradient_flow_dmft_fft_raises_like_dense():
    t = np.linspace(0.0, 10.0, 201)
    for method in ("fft", "dense"):
        with pytest.raises(ConvergenceError):
            L.gradient_flow_dmft(2.0, 0.25, t, max_doublings=2, method=method)
        with pytest.raises(ConvergenceError):
            L.gradient_flow_dmft(2.0, 0.25, t, divergence=0.5, method=method)
    with pytest.raises(ValueError, match="method"):
        L.gradient_flow_dmft(2.0, 0.25, t, method="toeplitz")
