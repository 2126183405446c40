"""Tests of dmftlib.multipass: ERM (multi-pass GD) vs online SGD for the linear-field neural ODE."""
import importlib.util
import pathlib

import numpy as np
import pytest
from numpy.testing import assert_allclose

from dmftlib import ConvergenceError, linear, multipass as mp, neural_ode, sgd

P = dict(sigma=0.5, eta=0.2, eta_theta=1.0, L=8, a0=0.0, a_star=1.0)


@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_three_routes_agree(alpha):
    """Causal DMFT, damped fixed-point DMFT and the resolvent route: the same numbers (round-off)."""
    th = mp.theory(alpha, t_max=6.0, **P)
    fp = mp.theory(alpha, t_max=6.0, method="fixed_point", tol=1e-12, **P)
    sp = mp.spectral_theory(alpha, t_max=6.0, **P)
    assert th.converged and fp.converged and fp.n_iter > 1
    for other in (fp, sp):
        assert_allclose(other.test_error, th.test_error, atol=1e-10)
        assert_allclose(other.train_error, th.train_error, atol=1e-10)
        assert_allclose(other.gain, th.gain, atol=1e-10)
        assert_allclose(other.Q, th.Q, atol=1e-10)
        assert_allclose(other.R, th.R, atol=1e-10)
    assert_allclose(fp.C, th.C, atol=1e-9)
    assert_allclose(fp.R_r, th.R_r, atol=1e-8)


def test_two_time_invariants():
    th = mp.theory(1.5, t_max=8.0, **P)
    C, Rw, Rr = np.asarray(th.C), np.asarray(th.R_w), np.asarray(th.R_r)
    assert_allclose(C, C.T, atol=0)
    assert th.min_eigenvalue > -1e-10 * np.abs(C).max()
    assert np.all(np.triu(Rw, 1) == 0) and np.all(np.triu(Rr, 1) == 0)      # causal
    assert_allclose(np.diag(Rw), 1.0)
    assert_allclose(np.diag(Rr), -th.gain ** 2 / 1.5)
    assert_allclose(np.diag(C), th.Q, atol=1e-12)
    # equal-time limit of the P-side response: R_r(t_{k+1}, t_k) = -c_{k+1} c_k / alpha exactly
    assert_allclose(np.diag(Rr, -1), -th.gain[1:] * th.gain[:-1] / 1.5, rtol=1e-12)


def test_frozen_gain_is_gradient_descent_on_linear_regression():
    """c = c* = 1 and eta_theta = 0: the model is linear regression; sgd.theory with b = 1 is exact GD."""
    th = mp.theory(2.0, sigma=0.5, eta=0.2, t_max=6.0, eta_theta=0.0, a0=1.0, a_star=1.0)
    ref = sgd.theory(2.0, 0.25, eta=0.2, b=1.0, t_max=6.0)
    assert_allclose(th.test_error, 0.5 * (np.asarray(ref.test_error) + 0.25), atol=1e-12)
    assert_allclose(th.train_error, 0.5 * np.asarray(ref.train_error), atol=1e-12)


def test_responses_tend_to_gradient_flow_dmft():
    """Small eta, frozen unit gain: the responses approach the gradient-flow DMFT of dmftlib.linear (O(eta))."""
    eta, alpha = 0.01, 2.0
    th = mp.theory(alpha, sigma=0.5, eta=eta, t_max=2.0, eta_theta=0.0, a0=1.0)
    gf = linear.gradient_flow_dmft(alpha, 0.25, th.t)
    err = np.abs(np.asarray(th.R_w) - np.asarray(gf.R))[np.tril_indices(th.t.size)].max()
    assert err < 3 * eta
    # R_r: compare the regular part below the diagonal
    low = np.tril_indices(th.t.size, -1)
    assert np.abs(np.asarray(th.R_r)[low] - np.asarray(gf.R_r)[low]).max() < 3 * eta


def test_long_time_least_squares_limit():
    tr = mp.theory(2.0, t_max=200.0, eta=0.5, sigma=0.5)
    test, train = mp.asymptotic_errors(2.0, 0.5)
    assert abs(tr.test_error[-1] - test) < 1e-6 and abs(tr.train_error[-1] - train) < 1e-6
    under = mp.theory(0.5, t_max=200.0, eta=0.5, sigma=0.5)
    assert under.train_error[-1] < 1e-6                  # alpha < 1: interpolation


def test_online_theory_matches_closed_form():
    """Frozen controls, teacher = student controls: the closed form of dmftlib.neural_ode."""
    on = mp.online_theory(sigma=0.5, eta=0.5, t_max=4.0, eta_theta=0.0, a0=0.0, a_star=0.0, q0=0.25, r0=0.1, n_t=9)
    eg, Q, R = neural_ode.linear_closed_form(8, 0.5, on.t, 0.25, 0.1, 0.5)
    assert_allclose(on.test_error - 0.125, eg, atol=1e-10)    # eg of neural_ode excludes the noise sigma^2/2
    assert_allclose(on.Q, Q, atol=1e-10)
    assert_allclose(on.R, R, atol=1e-10)


def test_fixed_point_failure_raises():
    with pytest.raises(ConvergenceError):
        mp.theory(2.0, t_max=6.0, method="fixed_point", max_iter=2, **P)


def test_divergence_is_flagged():
    th = mp.theory(4.0, sigma=0.5, eta=1.5, t_max=40.0, eta_theta=0.0, a0=1.0)
    assert th.diverged and not th.converged and np.isinf(th.test_error[-1])


def _tolerance(sim, k, c):
    # deviation of the mean = finite-N bias O(1/N) + sampling noise (k sem)
    return k * np.asarray(sim.test_error_sem) + c / sim.N


@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_multipass_theory_vs_simulation(alpha):
    """Mean over seeds within 4 sem + 2/N of the DMFT, at N = 100 and 400 (bias expected O(1/N))."""
    th = mp.theory(alpha, t_max=6.0, **P)
    for N, S in ((100, 24), (400, 8)):
        sim = mp.simulate(N, alpha, t_max=6.0, seeds=S, every=5, **P)
        ref = th.test_error[::5]
        assert np.all(np.abs(sim.test_error - ref) <= _tolerance(sim, 4.0, 2.0))
        tr = th.train_error[::5]
        assert np.all(np.abs(sim.train_error - tr) <= 4 * np.asarray(sim.train_error_sem) + 2.0 / N)
        assert np.all(np.abs(sim.gain - th.gain[::5]) <= 4 * np.asarray(sim.gain_sem) + 2.0 / N)


def test_online_theory_vs_simulation():
    """Online SGD: within 4 sem + 2/N of the ODEs at N = 200 and 800 (deviation O(1/N) in the mean)."""
    on = mp.online_theory(sigma=0.5, eta=0.5, t_max=3.0, n_t=7)
    for N, S in ((200, 16), (800, 8)):
        sim = mp.simulate_online(N, sigma=0.5, eta=0.5, t_max=3.0, seeds=S, n_t=7)
        assert np.all(np.abs(sim.test_error - on.test_error) <= _tolerance(sim, 4.0, 2.0))


def test_rms_deviation_shrinks_like_inverse_sqrt_N():
    """The deviation of one run from the theory is O(1/sqrt(N)): rms ratio between N = 100 and 400 near 2."""
    th = mp.theory(2.0, t_max=4.0, **P)
    rms = []
    for N in (100, 400):
        sim = mp.simulate(N, 2.0, t_max=4.0, seeds=12, **P)
        rms.append(np.sqrt(np.mean((np.asarray(sim.test_error_seeds) - th.test_error) ** 2)))
    assert 1.3 < rms[0] / rms[1] < 3.0          # 2 expected; the band is the sampling error of 12 seeds


def test_make_script_small_instance():
    path = pathlib.Path(__file__).resolve().parents[1] / "book" / "data" / "erm_vs_online_make.py"
    spec = importlib.util.spec_from_file_location("erm_vs_online_make", path)
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    out = make.scan((50, 100), (4, 4), (2.0,), 2.0, **make.PARAMS)
    assert out["test"].shape == (1, 2, out["t"].size) and np.all(out["rms"] > 0)
    rows = make.budget(50, 3, (0.5, 2.0), 2.0, **make.PARAMS)
    assert rows.shape == (2, 4) and np.all(np.isfinite(rows))


def test_plots_draw():
    import matplotlib
    matplotlib.use("Agg")
    ax = mp.plot_learning_curves(alpha=2.0, t_max=4.0)
    assert len(ax.lines) >= 4
    ax = mp.plot_budget([0.5, 2.0], t_max=4.0)
    assert len(ax.lines) >= 3


def test_multipass_sgd_frozen_gain_matches_sgd_module():
    """b < 1, frozen unit gain: the resolvent route equals dmftlib.sgd.theory (same batch-noise term)."""
    a = mp.spectral_theory(2.0, sigma=0.5, eta=0.2, t_max=6.0, eta_theta=0.0, a0=1.0, b=0.2, n_quad=600)
    ref = sgd.theory(2.0, 0.25, eta=0.2, b=0.2, t_max=6.0, n_quad=600)
    assert_allclose(a.test_error, 0.5 * (np.asarray(ref.test_error) + 0.25), atol=1e-12)
    assert_allclose(a.train_error, 0.5 * np.asarray(ref.train_error), atol=1e-12)


def test_multipass_sgd_theory_vs_simulation():
    """Bernoulli batches b = 0.1 with learned controls: within 4 sem + 2/N at N = 100 and 400 (bias O(1/N))."""
    th = mp.spectral_theory(2.0, t_max=6.0, b=0.1, **P)
    for N, S in ((100, 24), (400, 8)):
        sim = mp.simulate(N, 2.0, t_max=6.0, seeds=S, every=5, b=0.1, **P)
        assert np.all(np.abs(sim.test_error - th.test_error[::5]) <= _tolerance(sim, 4.0, 2.0))
        assert np.all(np.abs(sim.train_error - th.train_error[::5]) <= 4 * np.asarray(sim.train_error_sem) + 2.0 / N)
