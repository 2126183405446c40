"""Tests of dmftlib.cavity: closed forms, invariants, theory vs finite-N simulation, bad input."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

from dmftlib import cavity as cv
from dmftlib.core import ConvergenceError, is_causal, is_psd


def rms(a):
    return float(np.sqrt(np.mean(np.square(a))))


# ----------------------------------------------------------------------------- closed forms

@pytest.mark.parametrize("symmetric, g", [(False, 0.7), (True, 0.3), (True, 0.45)])
def test_response_matches_closed_form(symmetric, g):
    # trapezoid rule: error O(dt^2); dt = 0.05 -> a few 1e-5
    th = cv.theory(g, symmetric, t_max=8.0, n_t=161, kick_times=[0.0, 2.0])
    for j, tk in enumerate(th.kick_times):
        tau = np.clip(th.t - tk, 0, None)
        exact = np.where(th.t >= tk, cv.response_closed_form(tau, g, symmetric), 0.0)
        assert_allclose(th.R_kick[j], exact, atol=2e-4)


def test_iid_linear_correlation_closed_form_g0():
    # g = 0: x(t) = x(0) e^{-t}, so C(t,t') = C0 e^{-t-t'} exactly
    th = cv.theory(0.0, False, t_max=3.0, n_t=31, C0=2.0)
    assert_allclose(th.C, 2.0 * np.exp(-th.t[:, None] - th.t[None, :]), atol=1e-12)


def test_iid_linear_equal_time_variance_stationary_limit():
    # i.i.d. linear, C(t,t) -> 0 for g < 1; the long-time decay rate of R is 1 for any g
    th = cv.theory(0.6, False, t_max=30.0, n_t=301)
    assert th.C[-1, -1] < 1e-3 * th.C[0, 0]


def test_grid_convergence_second_order():
    # halving dt divides the discretization error by ~4 (trapezoid rule)
    ref = cv.theory(0.4, True, t_max=4.0, n_t=321)
    errs = []
    for n in (41, 81):
        th = cv.theory(0.4, True, t_max=4.0, n_t=n)
        s = (320 // (n - 1))
        errs.append(np.abs(th.C - ref.C[::s, ::s]).max())
    assert 3.0 < errs[0] / errs[1] < 5.0


# ----------------------------------------------------------------------------- invariants

@pytest.mark.parametrize("symmetric, g, phi", [(False, 0.8, "linear"), (True, 0.4, "linear"), (False, 1.5, "tanh")])
def test_invariants(symmetric, g, phi):
    th = cv.theory(g, symmetric, phi, t_max=5.0, n_t=51)
    assert is_causal(th.R, strict=False)          # R(t, t') = 0 for t' > t
    assert_allclose(np.diag(th.R), 1.0)            # R(t'+, t') = 1
    assert_allclose(th.C, th.C.T, atol=0)          # symmetric
    assert is_psd(th.C)                            # a covariance
    assert th.converged and th.residuals[-1] < 1e-10


def test_tanh_iid_response_is_bare():
    th = cv.theory(1.5, False, "tanh", t_max=4.0, n_t=41, kick_times=[1.0])
    assert_allclose(th.R_kick[0], np.where(th.t >= 1.0, np.exp(-(th.t - 1.0)), 0.0), atol=1e-14)


def test_tanh_small_g_matches_linear():
    # tanh(x) ~ x for small x: with C0 = 1e-4 and g = 0.8 the two theories agree to O(C0)
    lin = cv.theory(0.8, False, "linear", t_max=4.0, n_t=41, C0=1e-4)
    tnh = cv.theory(0.8, False, "tanh", t_max=4.0, n_t=41, C0=1e-4)
    assert_allclose(tnh.C, lin.C, atol=1e-4 * 1e-3)


# ----------------------------------------------------------------------------- theory vs simulation

@pytest.mark.parametrize("symmetric, g, phi", [(False, 0.8, "linear"), (True, 0.4, "linear"), (False, 1.5, "tanh")])
def test_theory_vs_simulation_two_N(symmetric, g, phi):
    # Finite-N deviations: fluctuations O(1/sqrt(N n_seeds)) across seeds (measured by the SEM),
    # finite-size bias O(1/N). RMS over the grid of the deviation vs RMS of the SEM:
    # tol = 3 * rms(sem) + 1 / N.  The SEM itself shrinks like 1/sqrt(N), so does the tolerance.
    th = cv.theory(g, symmetric, phi, t_max=6.0, n_t=61, kick_times=[0.0, 2.0])
    tols = []
    for N in (250, 1000):
        sim = cv.simulate(N, g, symmetric, phi, t_max=6.0, n_t=61, kick_times=[0.0, 2.0], seeds=range(3, 11))
        tol_C = 3 * rms(sim.C_sem) + 1.0 / N
        tol_R = 3 * rms(sim.R_kick_sem) + 1.0 / N
        assert rms(sim.C - th.C) < tol_C
        assert rms(sim.R_kick - th.R_kick) < tol_R
        tols.append(tol_C)
    assert tols[1] < tols[0]


def test_simulation_kick_at_kick_time_is_one_and_causal():
    sim = cv.simulate(100, 0.5, True, t_max=2.0, n_t=21, kick_times=[1.0], seeds=2)
    k = 10
    assert_allclose(sim.R_kick[0, :k], 0.0, atol=0)
    assert_allclose(sim.R_kick[0, k], 1.0, atol=1e-9)


# ----------------------------------------------------------------------------- errors

def test_convergence_error_symmetric_unstable():
    # symmetric linear couplings are unstable for g > 1/2 (semicircle edge 2g > 1): R grows like
    # e^{(2g-1) t}; the divergence guard raises
    with pytest.raises(ConvergenceError):
        cv.theory(0.9, True, t_max=60.0, n_t=301)


def test_convergence_error_max_iter():
    with pytest.raises(ConvergenceError) as err:
        cv.theory(0.4, True, t_max=10.0, n_t=101, max_iter=2)
    assert err.value.residuals.size == 2


@pytest.mark.parametrize("kw", [dict(g=-1.0), dict(g=0.5, phi="relu"), dict(g=0.5, t_max=0.0),
                                dict(g=0.5, n_t=1), dict(g=0.5, kick_times=[0.123]),
                                dict(g=0.5, symmetric="yes"), dict(g=0.5, C0=-1.0),
                                dict(g=0.8, phi="tanh", symmetric=True, sampling=dict(n_samples=4))])
def test_theory_bad_input(kw):
    with pytest.raises(ValueError):
        cv.theory(**kw)


@pytest.mark.parametrize("kw", [dict(N=1), dict(seeds=1), dict(delta=0.0), dict(substeps=0)])
def test_simulate_bad_input(kw):
    args = dict(N=50, g=0.5, t_max=1.0, n_t=11)
    args.update(kw)
    with pytest.raises(ValueError):
        cv.simulate(**args)


def test_plot_functions_run():
    import matplotlib
    matplotlib.use("Agg")
    th = cv.theory(0.4, True, t_max=3.0, n_t=31, kick_times=[0.0, 1.0])
    sim = cv.simulate(100, 0.4, True, t_max=3.0, n_t=31, kick_times=[0.0, 1.0], seeds=2)
    cv.plot_correlation(th, sim, t_refs=[1.0])
    cv.plot_response(th, sim)
    cv.plot_cavity(0.7, True, N=60, seeds=2, t_max=2.0)


def test_iid_linear_correlation_bessel_closed_form():
    # i.i.d. linear: C(t,t') = C0 e^{-(t+t')} I0(2 g sqrt(t t')) (series in (J^T)^k J^l); trapezoid O(dt^2)
    from scipy.special import i0
    g = 0.7
    th = cv.theory(g, False, t_max=10.0, n_t=201, C0=1.5)
    T, Tp = np.meshgrid(th.t, th.t, indexing="ij")
    assert_allclose(th.C, 1.5 * np.exp(-T - Tp) * i0(2 * g * np.sqrt(T * Tp)), atol=2e-5)


def test_finite_size_scan_small_instance():
    # small re-creation of book/data/cavity_scaling_make.py: the standard error shrinks with N
    scan = cv.finite_size_scan(0.4, True, Ns=(100, 400), seeds=4, t_max=3.0, n_t=31)
    assert scan.sem_C[1] < scan.sem_C[0]
    assert np.all(scan.err_C < 3 * scan.sem_C + 1.0 / scan.N)


# ----------------------------------------------------------------------------- symmetric couplings, tanh (sampling)

G_ST, TMAX_ST, NT_ST, KICKS_ST = 0.8, 5.0, 51, [0.0, 2.0]
S_ST, B_ST = 16000, 256          # Monte Carlo: samples of the single-site process, tangent samples for R


def _euler_bias(t, kicks, dt, C0=1.0):
    """First-order Euler error of the bare relaxation x' = -x, rms over the grid: (dt/2) tau e^{-tau} for R(t, t'),
    (dt/2) (t+t') e^{-(t+t')} C0 for C. It predicts the measured error of the linear symmetric case (exact
    reference) to about 25 % (test_sampling_linear_symmetric_matches_exact)."""
    tau = np.clip(t[None, :] - np.asarray(kicks)[:, None], 0, None)
    T = t[:, None] + t[None, :]
    return rms(0.5 * dt * T * np.exp(-T) * C0), rms(0.5 * dt * tau * np.exp(-tau))


@pytest.fixture(scope="module")
def sym_tanh():
    return cv.theory(G_ST, True, "tanh", t_max=TMAX_ST, n_t=NT_ST, kick_times=KICKS_ST,
                     sampling=dict(n_samples=S_ST, n_response=B_ST, seed=0))


def test_sym_tanh_theory_vs_simulation_two_N(sym_tanh):
    # Error budget, rms over the grid:
    #  simulation: 3 * rms(sem) (fluctuations O(1/sqrt(N n_seeds))) + 1/N (finite-size bias);
    #  theory, Monte Carlo: 3 * 2 * rms(theory sem) -- the final pass's standard error (O(1/sqrt(n_samples)),
    #    n_samples = 16000 for C, n_response = 256 tangent samples for R) plus that of the converged kernels,
    #    of the same order: the spread over 4 solver seeds is 1.6 (C) and 2.0 (R) times the final-pass sem;
    #  theory, Euler step dt/refine = 0.05: 1.5 * the first-order Euler error of the bare relaxation.
    th = sym_tanh
    assert th.converged
    dt = (th.t[1] - th.t[0]) / 2
    bias_C, bias_R = _euler_bias(th.t, KICKS_ST, dt)
    tols = []
    for N in (250, 1000):
        sim = cv.simulate(N, G_ST, True, "tanh", t_max=TMAX_ST, n_t=NT_ST, kick_times=KICKS_ST, seeds=range(3, 11))
        tol_C = 3 * rms(sim.C_sem) + 1.0 / N + 6 * rms(th.C_sem) + 1.5 * bias_C
        tol_R = 3 * rms(sim.R_kick_sem) + 1.0 / N + 6 * rms(th.R_kick_sem) + 1.5 * bias_R
        assert rms(sim.C - th.C) < tol_C
        assert rms(sim.R_kick - th.R_kick) < tol_R
        tols.append(tol_C)
    assert tols[1] < tols[0]


def test_sym_tanh_invariants(sym_tanh):
    th = sym_tanh
    assert_allclose(th.C, th.C.T, atol=0)          # symmetric
    assert is_psd(th.C)                            # a covariance
    assert is_causal(th.R, strict=False)           # R(t, t') = 0 for t' > t
    assert_allclose(np.diag(th.R), 1.0, atol=1e-12)  # R(t'+, t') = 1
    assert th.R_kick.shape == (2, NT_ST) and th.C_sem.shape == th.C.shape
    # tanh saturates: bounded where the linear symmetric network (unstable for g > 1/2) grows like e^{(2g-1)t}
    assert np.all(np.diag(th.C) < 1.1)


def test_sampling_linear_symmetric_matches_exact():
    # the sampling solver with phi linear against the exact (C, R) solver: Euler error O(dt) (predicted by the
    # bare relaxation) plus Monte Carlo (3 * 2 * rms of the standard error); R of a linear process is
    # deterministic given M, so only the Euler error remains
    kw = dict(t_max=3.0, n_t=31, kick_times=[0.0, 1.0])
    th = cv.theory_sampling(0.4, True, "linear", n_samples=4000, n_response=64, seed=1, **kw)
    ex = cv.theory(0.4, True, "linear", **kw)
    bias_C, bias_R = _euler_bias(th.t, [0.0, 1.0], 0.05)
    assert rms(th.C - ex.C) < 1.5 * bias_C + 6 * rms(th.C_sem)
    assert rms(th.R_kick - ex.R_kick) < 1.5 * bias_R
    assert rms(th.R_kick - ex.R_kick) > 0.5 * bias_R      # the error is the Euler one, O(dt)


def test_sym_tanh_small_amplitude_is_linear():
    # tanh(x) = x - x^3/3 + ...: with initial variance C0 the relative nonlinear correction is O(C0). Same seed,
    # so the Monte Carlo noise is common to both and cancels in the difference
    C0 = 1e-2
    kw = dict(t_max=3.0, n_t=31, C0=C0, kick_times=[0.0, 1.0], n_samples=4000, n_response=64, seed=5)
    tnh = cv.theory_sampling(0.4, True, "tanh", **kw)
    lin = cv.theory_sampling(0.4, True, "linear", **kw)
    assert rms(tnh.C - lin.C) < C0 * C0
    assert rms(tnh.R_kick - lin.R_kick) < C0


def test_sampling_iid_linear_has_no_memory():
    th = cv.theory_sampling(0.5, False, "linear", t_max=2.0, n_t=21, n_samples=400, n_response=16)
    assert_allclose(th.R_kick[0], np.exp(-th.t), atol=0.06 * 0.5)   # Euler: (1-dt)^k vs e^{-t}, dt = 0.05


def test_sampling_convergence_error():
    with pytest.raises(ConvergenceError):
        cv.theory_sampling(0.8, t_max=3.0, n_t=31, n_samples=400, n_response=16, max_iter=2, min_iter=2)


@pytest.mark.parametrize("kw", [dict(refine=0), dict(n_samples=1), dict(n_response=1), dict(damping=1.0),
                                dict(g=-0.1), dict(phi="relu")])
def test_sampling_bad_input(kw):
    args = dict(g=0.8, t_max=1.0, n_t=11)
    args.update(kw)
    with pytest.raises(ValueError):
        cv.theory_sampling(**args)


# --- partial symmetry kappa in [-1, 1], white noise and the fluctuation-dissipation theorem ---------

def test_partial_symmetric_couplings_moments_and_elliptic_law():
    N = 600
    J = cv.sample_partial_symmetric(N, 1.0, 0.5, seed=3)
    off = ~np.eye(N, dtype=bool)
    # E J_ij^2 = g^2/N, E J_ij J_ji = kappa g^2/N; sampling error ~ sqrt(2/N^2) relative
    assert abs(np.mean(J[off] ** 2) * N - 1.0) < 0.01
    assert abs(np.mean((J * J.T)[off]) * N - 0.5) < 0.01
    lam = np.linalg.eigvals(J)
    # elliptic law: semi-axes 1 + kappa = 1.5 and 1 - kappa = 0.5 (edge fluctuations O(N^-1/2))
    assert abs(lam.real.max() - 1.5) < 0.1 and abs(lam.imag.max() - 0.5) < 0.1
    assert np.mean((lam.real / 1.5) ** 2 + (lam.imag / 0.5) ** 2 <= 1.0) > 0.98


@pytest.mark.parametrize("kappa", [1.0, 0.5, 0.0, -0.5])
def test_response_partial_symmetric_matches_eigenvalues(kappa):
    tau = np.array([0.5, 1.0, 2.0, 4.0])
    th = cv.response_partial_symmetric(tau, 0.4, kappa)
    R = [np.real(np.mean(np.exp(np.outer(tau, np.linalg.eigvals(cv.sample_partial_symmetric(400, 0.4, kappa, seed=s))
                                          - 1.0)), axis=1)) for s in range(4)]
    m, e = np.mean(R, 0), np.std(R, 0, ddof=1) / 2
    # linear spectral statistic: deviations O(1/N) plus sem
    assert np.all(np.abs(m - th) < 4 * e + 2.0 / 400)
    if kappa == 1.0:
        assert_allclose(th, cv.response_closed_form(tau, 0.4, True), rtol=1e-12)


def test_fdt_holds_iff_symmetric_closed_forms():
    tau = np.linspace(0.0, 6.0, 61)
    sym = cv.stationary_linear_noise(tau, 0.4, 1.0, T=0.7)
    # FDT: T chi(tau) = C(0) - C(tau); C(0) = T G_sc(1) = T (1 - sqrt(1 - 4 g^2)) / (2 g^2)
    assert np.abs(sym.C[0] - sym.C - sym.T * sym.chi).max() < 1e-5
    assert abs(sym.C[0] - 0.7 * (1 - np.sqrt(1 - 4 * 0.16)) / 0.32) < 1e-5
    iid = cv.stationary_linear_noise(tau, 0.4, 0.0, T=0.7)
    s = np.sqrt(1 - 0.16)
    assert_allclose(iid.C, 0.7 * np.exp(-s * tau) / s, atol=1e-5)      # closed form, kappa = 0
    assert np.all((iid.C[0] - iid.C)[1:] > 0.7 * iid.chi[1:])          # FDT violated: fluctuations exceed response


def test_noisy_simulation_matches_stationary_theory_two_sizes():
    for N in (100, 300):
        sim = cv.simulate_linear_noise(N, 0.4, 0.5, seeds=4, t_burn=10.0, t_record=60.0, dt=0.05, tau_max=3.0, n_tau=7)
        th = cv.stationary_linear_noise(sim.tau, 0.4, 0.5)
        # seed-to-seed fluctuations (sem, from a finite record and finite N) + the O(dt^2) midpoint error
        # of the lagged correlation (C(0) is exact) + an O(1/N) finite-size bias
        assert np.all(np.abs(sim.C - th.C) < 4 * sim.C_sem + 0.005 + 2.0 / N)
        assert np.all(np.abs(sim.R - th.R) < 4 * sim.R_sem + 2.0 / N)


# ---------------------------------------------------------------- fast (FFT / Stein) route of theory
@pytest.mark.parametrize("n_t", [101, 201])
@pytest.mark.parametrize("g, symmetric", [(0.4, True), (0.45, True), (0.8, False)])
def test_theory_fft_matches_dense_linear(n_t, g, symmetric):
    # the dense Picard iteration stops at an rms residual tol = 1e-10; the fast route solves the
    # same discrete equations (R by Picard on its first column to 1e-12, C by the Stein series
    # to 1e-10 relative per chunk): agreement to ~tol, and the fast C satisfies its equation to round-off
    kw = dict(t_max=10.0, n_t=n_t, kick_times=[0.0, 2.0])
    d = cv.theory(g, symmetric, method="dense", **kw)
    f = cv.theory(g, symmetric, method="fft", **kw)
    assert np.abs(f.R - d.R).max() < 1e-9
    assert np.abs(f.C - d.C).max() < 1e-9 * np.abs(d.C).max()
    assert np.array_equal(f.C, f.C.T) and is_psd(f.C) and is_causal(f.R, strict=False)
    assert np.allclose(np.diag(f.R), 1.0)
    from dmftlib.core import causal_weights
    A = f.R * causal_weights(n_t, f.t[1])
    resid = f.C - (np.outer(f.R[:, 0], f.R[:, 0]) + g**2 * A @ f.C @ A.T)
    assert np.abs(resid).max() < 1e-12 * np.abs(f.C).max()
    # "auto" keeps the dense route on the book's grids (n_t <= 512): same Picard count
    assert cv.theory(g, symmetric, **kw).n_iter == d.n_iter


def test_theory_fft_matches_dense_tanh():
    # same Picard iteration, products by FFT: round-off agreement, same number of iterations
    kw = dict(t_max=4.0, n_t=41)
    d = cv.theory(1.5, False, "tanh", method="dense", **kw)
    f = cv.theory(1.5, False, "tanh", method="fft", **kw)
    assert f.n_iter == d.n_iter
    assert np.abs(f.C - d.C).max() < 1e-13 * np.abs(d.C).max()
    assert is_psd(f.C)


def test_tanh_kernel_blocks_are_exact():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 50))
    C = X @ X.T / 50
    whole = cv._tanh_kernel(C, 12, block=10**9)
    blocked = cv._tanh_kernel(C, 12, block=30 * 144 * 4)        # blocks of 4 rows
    assert np.array_equal(whole, blocked)


def test_theory_fft_raises_on_unstable():
    for g, symmetric in ((0.8, True), (1.2, False)):
        with pytest.raises(ConvergenceError, match="unstable"):
            cv.theory(g, symmetric, t_max=60.0, n_t=301, method="fft")
    with pytest.raises(ValueError, match="method"):
        cv.theory(0.4, method="picard")
