"""Tests of dmftlib.learning: ResNet -> neural ODE, GD -> GF, teacher-student theory vs simulation, self-averaging."""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from numpy.testing import assert_allclose  # noqa: E402

from dmftlib import learning as ld  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "book" / "data" / "learning_self_averaging.npz"


def _load_make():
    import importlib.util
    spec = importlib.util.spec_from_file_location("learning_self_averaging_make", DATA.with_name(
        "learning_self_averaging_make.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MAKE = _load_make()


# --- inference dynamics --------------------------------------------------------------------

def test_resnet_one_layer_is_one_euler_step():
    F = ld.random_vector_field(30, seeds=[3, 4])
    h = ld.resnet(F, 1)
    assert_allclose(h[-1], F.h0 + F(0.0, F.h0), rtol=1e-14)


def test_neural_ode_closed_form_without_coupling():
    # g = 0: f = b0 cos(w tau) + b1 sin(w tau), so h(1) = h0 + b0 sin(w)/w + b1 (1 - cos w)/w.
    F = ld.random_vector_field(20, seeds=[1, 2, 3], g=0.0, omega=1.0)
    h1 = ld.neural_ode(F, substeps=64)[-1]
    assert_allclose(h1, F.h0 + F.b0 * np.sin(1.0) + F.b1 * (1 - np.cos(1.0)), atol=1e-10)


def test_resnet_converges_to_neural_ode_at_rate_one_over_L():
    r = ld.resnet_vs_ode(N=64, L_values=(8, 16, 32, 64, 128), seeds=[2, 3, 4])
    assert np.all(np.diff(r.error) < 0)
    # Euler's global error is C/L + O(1/L^2): the fitted exponent is -1 up to the O(1/L) correction.
    assert abs(r.slope + 1.0) < 0.05, r.slope
    assert_allclose(r.error[-1] * 128, r.error[-2] * 64, rtol=0.05)


# --- training dynamics ---------------------------------------------------------------------

def test_gradient_flow_methods_agree_and_solve_the_ode():
    for alpha, sigma2 in [(0.5, 0.3), (2.0, 0.5)]:
        d = ld.sample_teacher_student(60, alpha, sigma2, seeds=[4, 5, 6])
        t = np.array([0.0, 0.3, 1.0, 4.0, 9.0])
        w_e = ld.gradient_flow(d, t, method="eigh")
        w_c = ld.gradient_flow(d, t, method="chebyshev")
        assert_allclose(w_c, w_e, atol=1e-10)  # Chebyshev truncated at 1e-13 relative
        assert_allclose(w_e[0], 0.0, atol=1e-12)  # w(0) = 0
        # dv/dt = -Sigma_hat v + b, checked by a central difference (error O(h^2) ~ 1e-8).
        h = 1e-4
        wp, wm = ld.gradient_flow(d, np.array([1.0 + h, 1.0 - h]), method="eigh")
        v = w_e[2] - d.w_star
        assert_allclose((wp - wm) / (2 * h), -d.sigma_hat_matvec(v) + d.b, atol=1e-6)


def test_gradient_descent_converges_to_gradient_flow_at_rate_eta():
    r = ld.gd_vs_gf(N=80, alpha=2.0, sigma2=0.25, etas=(0.2, 0.1, 0.05, 0.025), T=4.0, seeds=[5, 6, 7])
    # (1 - eta lam)^(T/eta) = exp(-lam T) (1 - eta lam^2 T / 2 + O(eta^2)): exponent 1 up to O(eta).
    assert abs(r.slope - 1.0) < 0.05, r.slope
    assert r.eta.max() < r.eta_c


def test_gradient_descent_step_is_the_update_rule():
    d = ld.sample_teacher_student(40, 1.5, 0.2, seeds=[6, 7])
    w = ld.gradient_descent(d, 0.1, 2)
    # one step by hand: w1 = w0 - eta * N dL/dw with dL/dw = -(1/P) sum (y - f) x / sqrt(N)
    grad = -np.einsum("sp,spn->sn", d.y - np.einsum("spn,sn->sp", d.X, w[0]) / np.sqrt(d.N), d.X) / (d.P * np.sqrt(d.N))
    assert_allclose(w[1], w[0] - 0.1 * d.N * grad, atol=1e-12)


# --- theory ------------------------------------------------------------------------------

def test_theory_closed_forms():
    # E_g(0) = |w*|^2/N = 1, and dE_g/dt(0) = -2 int rho lambda = -2 at sigma = 0 (mean eigenvalue 1).
    th = ld.theory([0.0, 1e-5], alpha=2.0)
    assert_allclose(th.eg[0], 1.0, atol=1e-12)
    assert_allclose((th.eg[1] - th.eg[0]) / 1e-5, -2.0, rtol=1e-4)
    # t -> infinity: least squares sigma^2/(alpha-1) for alpha > 1; for alpha < 1 the unlearned
    # fraction 1 - alpha plus the min-norm variance sigma^2 alpha/(1-alpha) (Hastie et al. 2019).
    assert_allclose(ld.theory([1e4], alpha=2.0, sigma2=0.3).eg[0], 0.3, rtol=1e-8)
    assert_allclose(ld.theory([1e4], alpha=0.5, sigma2=0.3).eg[0], 0.5 + 0.3, rtol=1e-8)
    assert_allclose(ld.theory([1e4], alpha=4.0, sigma2=0.0).eg[0], 0.0, atol=1e-12)


@pytest.mark.parametrize("N", [200, 800])
def test_simulation_matches_theory(N):
    t = np.array([0.5, 1.0, 2.0, 4.0])
    n_seeds = 24
    sim = ld.simulate(N, t, alpha=2.0, sigma2=0.25, seeds=range(7, 7 + n_seeds))
    th = ld.theory(t, alpha=2.0, sigma2=0.25)
    # fluctuations across seeds are O(1/sqrt(N)) (4 standard errors), the finite-size bias of the
    # mean is O(1/N) with an O(1) constant: tol = 4 sem + 1/N shrinks with N.
    tol = 4 * sim.eg_sem + 1.0 / N
    assert np.all(np.abs(sim.eg - th.eg) < tol), (sim.eg - th.eg, tol)
    assert np.all(sim.eg_sem < 0.5 / np.sqrt(N))


def test_self_averaging_slope_and_prefactor():
    r = ld.self_averaging((100, 200, 400, 800), t=1.0, alpha=0.5, seeds_per_N=[range(8, 136), range(136, 232), range(232, 296), range(296, 344)])
    # std ~ N^(-1/2): the slope within 3 standard errors propagated from the finite number of seeds.
    assert abs(r.slope + 0.5) < 3 * r.slope_stderr_seeds, (r.slope, r.slope_stderr_seeds)
    # leading order std = sqrt(2 E_g(2t)/N) (sigma = 0) with relative corrections O(1/N) (spectral
    # fluctuations and E[(1/N) sum exp(-4 lam t)] - E_g(2t)); 3 standard errors of the sample std.
    assert np.all(np.abs(r.std - r.std_theory) < 3 * r.std_err + 2 * r.std_theory / r.N), r.std / r.std_theory
    assert np.all(np.abs(r.mean - r.theory) < 4 * r.mean_sem + 1.0 / r.N)


def test_stored_self_averaging_data_is_reproducible():
    stored = ld.load_self_averaging(DATA)
    assert stored.N.tolist() == [100, 200, 400, 800, 1600, 3200]
    # re-create the two smallest sizes with the parameters of book/data/learning_self_averaging_make.py:
    # each seed has its own generator, so the samples are reproduced exactly.
    small = ld.self_averaging((100, 200), t=stored.t, alpha=stored.alpha, sigma2=stored.sigma2,
                              seeds_per_N=MAKE.SEEDS_PER_N[:2])
    for a, b in zip(small.samples, stored.samples[:2]):
        assert_allclose(a, b, rtol=1e-12)
    assert abs(stored.slope + 0.5) < 3 * stored.slope_stderr_seeds


def test_save_load_roundtrip(tmp_path):
    r = ld.self_averaging((20, 40), seeds_per_N=(5, range(5, 9)))
    ld.save_self_averaging(r, tmp_path / "x.npz")
    s = ld.load_self_averaging(tmp_path / "x.npz")
    assert_allclose(s.std, r.std)
    assert s.n_seeds.tolist() == [5, 4]


# --- bad input ---------------------------------------------------------------------------

def test_bad_input_raises_value_error():
    with pytest.raises(ValueError, match="N"):
        ld.sample_teacher_student(0)
    with pytest.raises(ValueError, match="alpha"):
        ld.theory([1.0], alpha=0.0)
    with pytest.raises(ValueError, match="sigma2"):
        ld.simulate(50, [1.0], sigma2=-1.0)
    with pytest.raises(ValueError, match="method"):
        ld.simulate(50, [1.0], method="lanczos")
    with pytest.raises(ValueError, match="seeds"):
        ld.simulate(50, [1.0], seeds=1)
    with pytest.raises(ValueError, match="t"):
        ld.theory([-1.0])
    with pytest.raises(ValueError, match="L_values"):
        ld.resnet_vs_ode(N=10, L_values=(8,))
    with pytest.raises(ValueError, match="L"):
        ld.resnet(ld.random_vector_field(5, seeds=1), 0)
    with pytest.raises(ValueError, match="stability limit"):
        ld.gd_vs_gf(N=40, etas=(2.0, 1.0))
    with pytest.raises(ValueError, match="integer"):
        ld.gd_vs_gf(N=40, etas=(0.3, 0.1), T=1.0)
    with pytest.raises(ValueError, match="overflowed"):
        ld.gradient_descent(ld.sample_teacher_student(40, 2.0, seeds=1), 50.0, 400)
    with pytest.raises(ValueError, match="seeds"):
        ld.self_averaging((10, 20), seeds=2)
    with pytest.raises(ValueError, match="N must be one of"):
        ld.plot_test_error_histogram(ld.self_averaging((10, 20), seeds=4), N=30)


# --- plots ---------------------------------------------------------------------------------

def test_plot_functions_return_axes():
    sa = ld.self_averaging((20, 40), seeds=4)
    axes = [
        ld.plot_resnet_trajectories(L=4, N=20),
        ld.plot_euler_error(ld.resnet_vs_ode(N=20, L_values=(4, 8), seeds=2)),
        ld.plot_gd_error(ld.gd_vs_gf(N=20, etas=(0.2, 0.1), seeds=2)),
        ld.plot_gd_vs_gf(eta=0.9, N=20, seeds=2),  # above the stability limit: diverges, still plots
        ld.plot_test_error([ld.simulate(20, [0.0, 1.0], seeds=2)], ld.theory([0.0, 1.0])),
        ld.plot_self_averaging(sa),
        ld.plot_test_error_histogram(sa, N=40),
    ]
    assert all(hasattr(ax, "plot") for ax in axes)
    plt.close("all")
