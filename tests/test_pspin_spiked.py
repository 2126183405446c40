"""Tests of dmftlib.pspin.spiked: closed forms, DMFT invariants and limits, DMFT vs simulation."""
import importlib.util
import os

import numpy as np
import pytest
from numpy.testing import assert_allclose

from dmftlib.pspin import spiked as sp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------ closed forms
def test_Q_derivatives_match_finite_differences():
    q, h = 0.37, 1e-5
    for d2, dp in [(0.5, 1.0), (2.0, 0.3)]:
        f = lambda x: sp.spiked_Q(x, d2, dp)                      # noqa: E731
        assert_allclose(sp.spiked_Q(q, d2, dp, derivative=1), (f(q + h) - f(q - h)) / (2 * h), rtol=1e-8)
        assert_allclose(sp.spiked_Q(q, d2, dp, derivative=2),
                        (f(q + h) - 2 * f(q) + f(q - h)) / h**2, rtol=1e-5)


def test_threshold_is_the_bbp_point_of_the_marginal_states():
    dp = np.array([0.25, 1.0, 2.0, 10.0])
    th = sp.spiked_threshold(dp)
    # 1/Delta_2 = sqrt(Q''(1)) = sqrt(1/Delta_2 + 2/Delta_p)
    assert_allclose(th, np.sqrt(th + 2.0 / dp), rtol=1e-13)
    assert_allclose(sp.spiked_threshold(1.0), 2.0, rtol=1e-14)
    # equivalent form Delta_2 = (sqrt(Dp^2 + 4(p-1)Dp) - Dp) / (2(p-1))
    assert_allclose(1 / th, (np.sqrt(dp**2 + 8 * dp) - dp) / 4, rtol=1e-13)


def test_betas():
    assert_allclose(sp.spiked_betas("gd", 3), 0.0)
    assert_allclose(sp.spiked_betas("heavy_ball", 3, beta=0.7), 0.7)
    n = np.arange(5)
    assert_allclose(sp.spiked_betas("nesterov", 5), n / (n + 3))


# ------------------------------------------------------------------ DMFT
@pytest.mark.parametrize("method", sp.SPIKED_METHODS)
def test_dmft_invariants(method):
    th = sp.spiked_dmft(1 / 3, 1.0, method, alpha=0.1, m0=0.1, t_max=6.0)
    C, R = th.C, th.R
    assert_allclose(C, C.T, atol=1e-15)
    assert_allclose(np.diag(C), 1.0, atol=1e-12)                      # spherical constraint, exactly
    assert np.linalg.eigvalsh(C).min() > -1e-10                        # a Gram matrix
    assert np.all(np.triu(R, 1) == 0) and np.all(np.diag(R) == 1.0)    # causal, book convention
    assert not th.diverged and np.all(np.isfinite(th.energy)) and np.all(np.isfinite(th.mu))


def test_heavy_ball_with_zero_momentum_is_gradient_descent():
    a = sp.spiked_dmft(0.4, 1.0, "gd", alpha=0.1, t_max=5.0)
    b = sp.spiked_dmft(0.4, 1.0, "heavy_ball", beta=0.0, alpha=0.1, t_max=5.0)
    assert_allclose(b.m, a.m, rtol=0, atol=1e-14)
    assert_allclose(b.C, a.C, rtol=0, atol=1e-14)


@pytest.mark.parametrize("method", sp.SPIKED_METHODS)
def test_dmft_pure_matrix_limit_is_bbp(method):
    # Delta_p -> infinity: the loss is quadratic, every method ends on the top eigenvector of the
    # spiked Wigner matrix: m^2 = 1 - Delta_2, mu = lambda_max = 1 + 1/Delta_2, e = -mu/2.
    # Residual O(1/Delta_p) = 1e-3 from the tiny tensor channel left at Delta_p = 1e3.
    d2 = 0.4
    th = sp.spiked_dmft(d2, 1e3, method, alpha=0.1, m0=0.1, t_max=40.0, every=100)
    assert_allclose(th.m[-1], np.sqrt(1 - d2), atol=2e-3)
    assert_allclose(th.mu[-2], 1 + 1 / d2, atol=3e-3)
    assert_allclose(th.energy[-1], -(1 + 1 / d2) / 2, atol=2e-3)


def test_dmft_matches_the_from_scratch_gradient_descent_loop():
    # the ten-line loop of the chapter (gradient descent only)
    d2, dp, alpha, m0, n_steps = 0.4, 1.0, 0.1, 0.1, 40
    Q1 = lambda q: q / d2 + q**2 / dp                                  # noqa: E731
    Q2 = lambda q: 1 / d2 + 2 * q / dp                                 # noqa: E731
    K = n_steps + 1
    C, R, m = np.eye(K), np.zeros((K, K)), np.full(K, m0)
    for n in range(n_steps):
        w, a = Q1(C[n, :n + 1]), Q2(C[n, :n]) * R[n, :n]
        u = C[n, :n + 1] + alpha * (Q1(m[n]) * m[:n + 1] + R[:n + 1, :n + 1] @ w + a @ C[:n, :n + 1])
        mt = m[n] + alpha * (Q1(m[n]) + a @ m[:n])
        Rt = R[n, :n + 1] + alpha * (a @ R[:n, :n + 1])
        Rt[n] += alpha
        r = np.sqrt(u[n] + alpha * (Q1(m[n]) * mt + a @ u[:n] + w @ Rt))
        C[n + 1, :n + 1] = C[:n + 1, n + 1] = u / r
        m[n + 1], R[n + 1, :n + 1] = mt / r, Rt / r
    th = sp.spiked_dmft(d2, dp, "gd", alpha=alpha, m0=m0, t_max=n_steps * alpha)
    assert_allclose(th.m, m, atol=1e-13)
    assert_allclose(th.C, C, atol=1e-13)


def test_escape_time_and_early_stop():
    full = sp.spiked_dmft(1 / 3, 1.0, "gd", alpha=0.1, m0=0.1, t_max=10.0)
    stop = sp.spiked_dmft(1 / 3, 1.0, "gd", alpha=0.1, m0=0.1, t_max=10.0, stop_at=0.5)
    assert stop.m[-1] > 0.5 >= stop.m[-2]
    assert_allclose(sp.spiked_escape_time(stop), sp.spiked_escape_time(full), rtol=1e-12)
    assert sp.spiked_escape_time(full, level=0.99) == np.inf


# ------------------------------------------------------------------ simulation
def test_simulation_energy_and_projection_at_start():
    sim = sp.spiked_simulate(40, 0.4, 1.0, "nesterov", alpha=0.1, m0=0.3, t_max=0.5, seeds=3)
    assert_allclose(sim.m_seeds[:, 0], 0.3, atol=1e-12)                # planted initial overlap
    # the initial energy is -Q(m0) plus the noise energy of a random point: mean 0, sd sqrt(Q(1)/N)
    sd = np.sqrt(float(sp.spiked_Q(1.0, 0.4, 1.0)) / 40)
    assert np.all(np.abs(sim.energy_seeds[:, 0] + float(sp.spiked_Q(0.3, 0.4, 1.0))) < 5 * sd)
    assert np.all(np.isfinite(sim.mu))


def test_simulation_matches_dmft_with_shrinking_tolerance():
    # The DMFT is exact for the discrete iteration, so the only deviations are finite-N ones: a bias
    # O(1/N) of the seed mean plus sampling noise of size sem (itself ~ 1/sqrt(N * seeds)). Tolerance
    # 4 sem + 1/N. Started at m0 = 0.4 so that no run falls into a spurious minimum at these small N;
    # the largest deviation measured here is about half of the tolerance (2.7 sem at most).
    d2, dp, alpha, m0, t_max = 1 / 3, 1.0, 0.1, 0.4, 2.0
    for N, seeds in [(48, 16), (96, 8)]:
        sims = sp.spiked_simulate_methods(N, d2, dp, alpha=alpha, m0=m0, t_max=t_max, seeds=seeds, every=5)
        for method, sim in sims.items():
            th = sp.spiked_dmft(d2, dp, method, alpha=alpha, m0=m0, t_max=t_max, every=5)
            for f in ("m", "energy"):
                d = np.abs(getattr(sim, f) - getattr(th, f))
                assert np.all(d <= 4 * getattr(sim, f + "_sem") + 1.0 / N), (N, method, f, d)


# ------------------------------------------------------------------ plots, data script, validation
def test_plot_function():
    import matplotlib
    matplotlib.use("Agg")
    ax = sp.plot_spiked_overlap(inv_delta2=3.0, deltap=1.0, t_max=4.0)
    assert len(ax.get_lines()) >= 3


def test_data_script_small_instance(tmp_path):
    spec = importlib.util.spec_from_file_location("spiked_make", os.path.join(ROOT, "book", "data", "spiked_make.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "small.npz"
    mod.make(out, sizes=((24, 2),), t_max=0.6, scan_inv=(4.0,), scan_t_max=5.0, every=3)
    d = np.load(out)
    for method in sp.SPIKED_METHODS:
        th = sp.spiked_dmft(mod.DELTA2, mod.DELTAP, method, alpha=mod.ALPHA, beta=mod.BETA, m0=mod.M0,
                            t_max=0.6, every=3)
        assert_allclose(d[f"theory/{method}/m"], th.m, atol=1e-14)
        assert d[f"sim/24/{method}/m_seeds"].shape == (2, th.t.size)
    assert d["scan/inv_delta2"].tolist() == [4.0]
    mod.make_phase(out, deltaps=(2.0,), offsets=(3.0,), t_max=4.0)
    runs = sp.spiked_load_runs(out)
    assert_allclose(runs["phase"][2.0]["inv_delta2"], sp.spiked_threshold(2.0) + 3.0)
    assert set(runs["sim"]) == {24} and runs["sim"][24]["gd"].n_seeds == 2


@pytest.mark.parametrize("kw", [dict(delta2=np.nan), dict(deltap=-1.0), dict(method="adam"), dict(alpha=0.0),
                                dict(beta=1.0), dict(m0=1.0), dict(t_max=np.inf), dict(p=2), dict(every=0),
                                dict(stop_at=1.5), dict(alpha="0.1"), dict(t_max=1e9)])
def test_dmft_rejects_bad_input(kw):
    args = dict(delta2=0.5, deltap=1.0, method="gd", alpha=0.1, t_max=1.0)
    args.update(kw)
    with pytest.raises(ValueError):
        sp.spiked_dmft(**args)


@pytest.mark.parametrize("kw", [dict(N=0), dict(N=2.5), dict(N=4096), dict(seeds=-1), dict(seeds=[1, 1]),
                                dict(p=4), dict(method="sgd")])
def test_simulate_rejects_bad_input(kw):
    args = dict(N=16, delta2=0.5, deltap=1.0, method="gd", alpha=0.1, t_max=0.2, seeds=1)
    args.update(kw)
    with pytest.raises(ValueError):
        sp.spiked_simulate(**args)


def test_other_functions_reject_bad_input():
    with pytest.raises(ValueError):
        sp.spiked_threshold(-1.0)
    with pytest.raises(ValueError):
        sp.spiked_threshold(1.0, p=np.nan)
    with pytest.raises(ValueError):
        sp.spiked_escape_time(np.zeros(3))
    with pytest.raises(ValueError):
        sp.spiked_Q(0.5, 0.0, 1.0)
    with pytest.raises(ValueError):
        sp.spiked_simulate_methods(16, 0.5, 1.0, methods=(), t_max=0.2, seeds=1)


def test_loader_and_plot_reject_bad_input(tmp_path):
    with pytest.raises(ValueError):
        sp.spiked_load_runs(tmp_path / "missing.npz")
    with pytest.raises(ValueError):
        sp.spiked_load_runs(3.0)
    th = sp.spiked_dmft(0.5, 1.0, "gd", alpha=0.1, t_max=0.5)
    with pytest.raises(ValueError):
        sp.plot_spiked_vs_simulation({"gd": th}, [th])
    with pytest.raises(ValueError):
        sp.plot_spiked_vs_simulation({"adam": th}, {})
    with pytest.raises(ValueError):
        sp.spiked_Q(np.nan, 0.5, 1.0)
