"""Tests of dmftlib.rnn: stationary theory (closed-form checks), sampling DMFT, finite-N simulation."""
import importlib.util
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from numpy.testing import assert_allclose  # noqa: E402

from dmftlib import rnn  # noqa: E402
from dmftlib.core import ConvergenceError, expect2, is_causal, is_psd  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "book" / "data"


@pytest.mark.parametrize("g", [0.0, 0.5, 0.99, 1.0])
def test_no_chaos_below_transition(g):
    res = rnn.stationary_dmft(g)
    assert res.delta0 == 0.0 and np.all(res.delta == 0.0) and res.converged


@pytest.mark.parametrize("eps", [0.005, 0.01, 0.02])
def test_delta0_near_transition_matches_expansion(eps):
    # Delta0 = eps + (7/6) eps^2 + O(eps^3), eps = g - 1 (derived in the chapter from Var log cosh)
    d0 = rnn.stationary_dmft(1 + eps).delta0
    assert abs(d0 - (eps + 7 / 6 * eps**2)) < 5 * eps**3
    assert abs(d0 / eps - 1) < 2 * eps    # leading behaviour: linear in g - 1
    # correlation time: kappa = eps / sqrt(3) + O(eps^2) (measured correction ~ -1.0 eps)
    kappa = rnn.stationary_dmft(1 + eps).decay_rate
    assert abs(kappa / eps - 1 / np.sqrt(3)) < 2 * eps


@pytest.mark.parametrize("phi", ["tanh", "erf"])
@pytest.mark.parametrize("g", [1.5, 2.0, 3.0])
def test_stationary_solution_conserves_energy_and_solves_newton(g, phi):
    res = rnn.stationary_dmft(g, phi=phi, tau_max=15.0, n_tau=601)
    # energy condition V(Delta0) = V(0) at the root
    assert abs(res.energy_residual) < 1e-10 * max(1.0, res.delta0**2)
    # Newton's equation Delta'' = Delta - g^2 C_phi(Delta; Delta0), second differences O(h^2); at large
    # Delta0 the Gauss-Hermite error of E[Phi Phi] (log cosh is nearly |x|) dominates: 3e-3 Delta0
    f, _, _ = rnn.phi_functions(phi)
    d, h = res.delta, res.tau[1] - res.tau[0]
    acc = (d[2:] - 2 * d[1:-1] + d[:-2]) / h**2
    rhs = d[1:-1] - g**2 * expect2(f, f, res.delta0, res.delta0, d[1:-1])
    assert np.abs(acc - rhs).max() < 3e-3 * res.delta0
    assert np.all(np.diff(d) <= 0) and d[-1] > 0          # monotone decay to 0
    # exponential tail with the rate kappa = sqrt(1 - g^2 <phi'>^2)
    slope = -np.log(d[-1] / d[-101]) / (100 * h)
    assert abs(slope - res.decay_rate) < 0.02 * res.decay_rate


def test_delta0_theory_vectorized_and_increasing():
    g = np.array([0.5, 1.2, 1.5, 2.0, 3.0])
    d0 = rnn.delta0_theory(g)
    assert d0[0] == 0 and np.all(np.diff(d0) > 0)
    assert_allclose(d0[3], rnn.stationary_dmft(2.0).delta0, rtol=1e-12)


def test_sampling_dmft_agrees_with_stationary_theory_at_long_times():
    g = 2.0
    res = rnn.sampling_dmft(g, t_max=30.0, n_t=601, n_samples=1500, seed=2)
    # reference: the deterministic two-time DMFT over the same window t >= 15 (cavity.theory, stored by
    # book/data/rnn_sampling_make.py), not the t -> infinity stationary solution (the window is transient)
    ref = np.load(DATA / "rnn_sampling.npz")
    tau, dl = rnn.stationary_part(res.C, res.t, 15.0)
    # Euler dt = 0.05 (O(dt) bias, ~3% at tau = 4-8, measured at S = 6000) + Monte Carlo accumulated along
    # the slow mode of the iteration (run-to-run spread at S = 1500: 0.07 at tau = 4, 45% of the tail at
    # tau = 8, measured over 6 seeds): 6% of Delta0 up to tau = 4 only
    sel = tau <= 4.0
    d0 = float(ref["delta_ref"][0])
    assert np.abs(dl[sel] - np.interp(tau[sel], ref["tau_ref"], ref["delta_ref"])).max() < 0.06 * d0
    # invariants of the numerical DMFT
    assert is_psd(res.C) and np.allclose(res.C, res.C.T)
    assert is_causal(res.R, strict=False) and np.allclose(np.diagonal(res.R), 1.0)   # R[i, i] = R(t_i^+, t_i)
    # the single-site drift is -x: the Euler response is exactly R[k, s] = (1 - dt)^(k - s), k >= s
    lag = np.arange(0, 60)
    assert_allclose(res.R[200 + lag, 200], (1 - 0.05) ** lag, rtol=1e-12)
    assert res.converged and res.n_iter >= 40 and res.residuals.size == res.n_iter


def test_theory_vs_simulation_two_sizes():
    g = 2.0
    d0 = rnn.stationary_dmft(g).delta0
    for N, n_seeds in [(200, 6), (800, 3)]:
        sim = rnn.simulate(N, g, seeds=n_seeds, t_burn=20.0, t_record=20.0, dt=0.1, tau_max=4.0)
        # seed-to-seed fluctuations O(1/sqrt(N)) (measured by sem), finite-size bias O(1/N): c = 20
        tol = 4 * sim.delta0_sem + 20.0 / N
        assert abs(sim.delta0 - d0) < tol, (N, sim.delta0, sim.delta0_sem)
        th = np.interp(sim.tau, *(lambda r: (r.tau, r.delta))(rnn.stationary_dmft(g)))
        assert np.all(np.abs(sim.delta - th) < 4 * sim.delta_sem + 20.0 / N + 0.02 * d0)


def test_precomputed_data_recreated_at_small_size():
    spec = importlib.util.spec_from_file_location("rnn_make", DATA / "rnn_make.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = np.load(DATA / "rnn_sim.npz")
    for N in data["sizes"]:
        assert data[f"delta0_seeds_{N}"].size >= 16          # issue 16: >= 16 networks per size
    assert float(data["t_record"]) >= 1000.0                    # ... and records of >= 1000 time units
    sim = rnn.simulate(100, mod.G_MAIN, seeds=2, **{**mod.COMMON, "t_burn": 5.0, "t_record": 15.0})
    assert_allclose(sim.tau, data["tau"])
    assert sim.delta.shape == data[f"delta_{data['sizes'][0]}"].shape


def test_sampling_dmft_convergence_error():
    with pytest.raises(ConvergenceError) as err:
        rnn.sampling_dmft(2.0, t_max=10.0, n_t=51, n_samples=100, tol=1e-12, max_iter=3, min_iter=1)
    assert err.value.residuals.size == 3


def test_plots_run():
    axes = rnn.plot_stationary(1.8)
    assert len(axes) == 2
    rnn.plot_potential(0.8)


@pytest.mark.parametrize("call", [
    lambda: rnn.stationary_dmft(-1.0), lambda: rnn.stationary_dmft(2.0, phi="relu"),
    lambda: rnn.stationary_dmft(2.0, n_tau=1), lambda: rnn.delta0_theory([1.0, np.nan]),
    lambda: rnn.simulate(1, 2.0), lambda: rnn.simulate(100, 2.0, seeds=1),
    lambda: rnn.simulate(100, 2.0, dt=1.0), lambda: rnn.sampling_dmft(2.0, q0=-1.0),
    lambda: rnn.potential(0.5, -1.0, 2.0)])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


# --- decay rate quadrature, Lyapunov exponent (tangent DMFT vs tangent dynamics), precomputed data ---

def test_decay_rate_quadrature_adapts_to_delta0():
    # 1/tau_c^2 = 1 - g^2 E[sech^2(sqrt(Delta0) z)]^2; at g = 3 (Delta0 = 5.4463) 80 fixed Gauss-Hermite
    # nodes give 0.28701; the adaptive rule agrees with an independent fine trapezoid rule in z
    res = rnn.stationary_dmft(3.0)
    assert round(res.decay_rate, 4) == 0.2859
    z = np.linspace(-40.0, 40.0, 400001)
    w = np.exp(-z**2 / (2 * res.delta0)) / np.sqrt(2 * np.pi * res.delta0) * (z[1] - z[0])
    kappa_ref = np.sqrt(1 - 9.0 * np.sum(w / np.cosh(z) ** 2) ** 2)
    assert abs(res.decay_rate - kappa_ref) < 1e-9


def test_lyapunov_theory_closed_forms_and_zero_mode():
    from scipy.linalg import eigh_tridiagonal
    # below the transition: the fixed point x = 0, lambda = g - 1 (edge of the circular law)
    assert_allclose(rnn.lyapunov_theory(np.array([0.0, 0.5, 1.0])), [-1.0, -0.5, 0.0])
    # above: Delta'(tau) solves the Schrodinger problem with E = -1 (differentiate Newton's equation),
    # i.e. lambda = 0 is an excited state; the ground state gives lambda > 0 (chaos)
    h = 0.05
    tau, q = rnn.schrodinger_potential(2.0, tau_max=130.0, n_tau=2601)
    qq = np.concatenate([q[:0:-1], q])
    E = eigh_tridiagonal(2 / h**2 - qq, np.full(qq.size - 1, -1 / h**2), eigvals_only=True,
                         select="i", select_range=(0, 1))
    assert abs(E[1] + 1.0) < 1e-4                       # O(h^2) discretization error
    lam = rnn.lyapunov_theory(np.array([1.05, 1.5, 2.0, 3.0]))
    assert np.all(lam > 0) and np.all(np.diff(lam) > 0)
    assert_allclose(lam[2], np.sqrt(-E[0]) - 1.0, rtol=1e-6)
    # O(h^2) convergence: halving h changes lambda by < 1e-5
    assert abs(rnn.lyapunov_theory(2.0, h=0.025) - lam[2]) < 1e-5


def test_lyapunov_simulation_fixed_point_is_the_spectral_edge():
    # for g < 1 the network settles on x = 0 and lambda = max Re eig(J) - 1, realization by realization
    seeds = [3, 4]
    sim = rnn.lyapunov_simulate(80, 0.6, seeds=seeds, t_burn=60.0, t_run=200.0)
    edge = [np.linalg.eigvals(np.random.default_rng(s).standard_normal((80, 80)) * 0.6 / np.sqrt(80)).real.max()
            for s in seeds]
    # finite-time estimate: the tangent vector aligns with the top eigenvector up to O(1/t_run)
    assert_allclose(sim.lyap_seeds, np.array(edge) - 1.0, atol=0.01)


@pytest.mark.slow
def test_lyapunov_theory_vs_simulation_two_sizes():
    lam = rnn.lyapunov_theory(2.0)
    devs = []
    for N, n_seeds in [(200, 4), (400, 4)]:
        sim = rnn.lyapunov_simulate(N, 2.0, seeds=n_seeds, t_burn=30.0, t_run=100.0)
        # seed-to-seed fluctuations (sem) + a finite-N bias measured ~ -15/N (N = 400: -0.037,
        # N = 1000: -0.012): the tolerance shrinks like 1/N
        assert abs(sim.lyap - lam) < 4 * sim.lyap_sem + 25.0 / N, (N, sim.lyap, sim.lyap_sem)
        devs.append(lam - sim.lyap)
    assert devs[0] > 0       # the finite network is less chaotic than the limit


def _load(name):
    spec = importlib.util.spec_from_file_location(name, DATA / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_precomputed_lyapunov_and_sampling_data_recreated_at_small_size():
    mod = _load("rnn_lyapunov_make")
    ly, d0 = mod.sweep(30, 2, g_grid=[0.5, 2.0], t_burn=5.0, t_run=10.0)
    assert ly.shape == (2, 2) and d0.shape == (2, 2) and np.all(ly[0] < 0)
    data = np.load(DATA / "rnn_lyapunov.npz")
    assert data["lyap_100"].shape == (len(mod.G_GRID), mod.SIZES[100])
    mod = _load("rnn_sampling_make")
    out = mod.run(t_max=4.0, t_start=2.0, n_t=41, n_t_ref=21, runs={200: [1, 2]}, min_iter=3)
    assert out["delta_S200"].shape == (2, out["tau"].size)
    data = np.load(DATA / "rnn_sampling.npz")
    assert data["delta_S1500"].shape[0] >= 3 and data["tau_ref"].size > 10


def _euler_reference_small(g, t_max, n_t):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from _rnn_reference import euler_reference
    return euler_reference(g, t_max, n_t, n_quad=40)


def test_fast_sampling_matches_default_path_and_euler_reference():
    """fast=True (time-major, one kernel map, control variate, moment matching) against the default path and
    the deterministic Euler reference: both within their Monte Carlo errors (late C(t, t), rel. sem ~ 2/sqrt(S))."""
    ref = _euler_reference_small(2.0, 10.0, 101)
    old = rnn.sampling_dmft(2.0, t_max=10.0, n_t=101, n_samples=1000, min_iter=20, seed=4, response=False)
    new = rnn.sampling_dmft(2.0, t_max=10.0, n_t=101, n_samples=1000, min_iter=20, seed=4, response=False, fast=True)
    for res in (old, new):
        assert abs(res.C[-1, -1] / ref[-1, -1] - 1) < 5 * 2 / np.sqrt(1000)
    assert new.C_sem[-1, -1] < 0.2 * old.C_sem[-1, -1]    # the control variate removes the final-pass noise


def test_stopping_rule_error_estimate_is_honest_over_seeds():
    """target_error: the reported error estimate of the late diagonal against the actual error (Euler reference),
    over 6 seeds. The estimate comes from 4 independent chains (3 degrees of freedom), so single ratios scatter;
    the rms ratio actual / estimate is ~1 (measured 0.8-1.3 at g = 2, T = 20) and is required below 2."""
    ref = _euler_reference_small(2.0, 6.0, 61)
    ratios = []
    for seed in range(6):
        res = rnn.sampling_dmft(2.0, t_max=6.0, n_t=61, n_samples=1200, min_iter=10, seed=seed, response=False,
                                fast=True, target_error=0.006, max_iter=200)
        assert res.converged and res.error_estimate < 0.006 and res.n_average >= 4
        d = np.diag(res.C)[30:] / np.diag(ref)[30:] - 1
        ratios.append(np.sqrt(np.mean(d**2)) / res.error_estimate)
    assert np.sqrt(np.mean(np.square(ratios))) < 2.0


def test_plot_delta0_spread():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    x = [np.array([1.8, 2.0, 2.1]), np.array([1.9, 1.95])]
    ax = rnn.plot_delta0_spread(1.925, [250, 500], x)
    labels = ax.get_legend_handles_labels()[1]
    assert labels[0] == "one network" and "DMFT" in labels[1] and labels[2] == "mean ± sem, networks per N"
    assert ax.get_ylim()[1] > 2.1 + 0.4 * 0.3                       # room for the legend above the dots
    with pytest.raises(ValueError, match="samples"):
        rnn.plot_delta0_spread(1.925, [250, 500], x[:1])
    with pytest.raises(ValueError, match="samples"):
        rnn.plot_delta0_spread(1.925, [250], [np.array([1.0])])
    plt.close("all")
