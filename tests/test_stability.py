"""GD and SGD stability: theory against simulation, with tolerances that shrink with N."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

from dmftlib.core import ConvergenceError, fit_power_law, rmt
from dmftlib.stability import (MLP, eos_dataset, gd_threshold, gradient_flow_loss, hessian_vector_product,
                               interpolation_data, lyapunov_crossing, mean_square_rate, mlp_init, mlp_loss_grad,
                               quadratic_gd_simulate, quadratic_gd_theory, sample_thresholds, sgd_lyapunov,
                               sgd_second_moment, sgd_threshold_theory, sharpness, train_gd)


@pytest.mark.parametrize("N", [100, 400])
def test_quadratic_gd_theory_vs_simulation(N):
    # L_k = x^T H^k.. x / N: its seed-to-seed spread is O(1/sqrt(N)) (random x0) and its finite-size
    # bias O(1/N) (a linear spectral statistic); tolerance 4 sem + 2/N shrinks with N.
    k = np.arange(0, 41, 5)
    th = quadratic_gd_theory(2.0, 0.5, k)
    sim = quadratic_gd_simulate(N, 2.0, 0.5, k, seeds=range(12))
    assert np.all(np.abs(sim.loss - th.loss) <= 4 * sim.loss_sem + 2.0 / N)
    assert sim.N == N and sim.n_seeds == 12 and th.N is None


def test_quadratic_gd_diverges_above_threshold_only():
    alpha = 2.0
    eta_c = gd_threshold(alpha)
    k = np.array([0, 200, 400])
    below = quadratic_gd_theory(alpha, 0.95 * eta_c, k).loss
    above = quadratic_gd_theory(alpha, 1.05 * eta_c, k).loss
    assert below[2] < below[1] < below[0]
    assert above[2] > above[1] > 1.0


def test_finite_n_thresholds_approach_two_over_lambda_plus():
    # lambda_max fluctuates on the Tracy-Widom scale N^{-2/3} around lambda_+.
    errs = []
    for N in (100, 400):
        thr = sample_thresholds(N, 2.0, seeds=range(8))
        errs.append(abs(thr.mean() - gd_threshold(2.0)))
        assert errs[-1] < 3.0 * N ** (-2 / 3) * gd_threshold(2.0)
    assert errs[1] < errs[0]


def test_gd_converges_to_gradient_flow_linearly_in_eta():
    alpha, t = 2.0, 2.0
    etas = np.array([0.2, 0.1, 0.05, 0.025])
    errs = [abs(quadratic_gd_theory(alpha, e, np.array([int(round(t / e))])).loss[0] - gradient_flow_loss(alpha, t))
            for e in etas]
    assert fit_power_law(etas, errs).slope == pytest.approx(1.0, abs=0.1)


def test_mlp_gradient_and_hvp_against_finite_differences():
    mlp = MLP((3, 5, 4, 1))
    X, y = eos_dataset(n=7, d=3, seed=1)
    th = mlp_init(mlp, seed=2)
    rng = np.random.default_rng(3)
    u = rng.standard_normal(th.size)
    eps = 1e-6
    fd = (mlp_loss_grad(mlp, th + eps * u, X, y)[0] - mlp_loss_grad(mlp, th - eps * u, X, y)[0]) / (2 * eps)
    assert_allclose(mlp_loss_grad(mlp, th, X, y)[1] @ u, fd, rtol=1e-6)
    # full Hessian by differences of gradients; compare with HVP and with the sharpness
    H = np.stack([hessian_vector_product(mlp, th, e, X, y) for e in np.eye(th.size)])
    assert_allclose(H, H.T, atol=1e-6)
    assert_allclose(hessian_vector_product(mlp, th, u, X, y), H @ u, rtol=1e-6, atol=1e-9)
    lam, _ = sharpness(mlp, th, X, y, iters=500, tol=1e-12)
    ev = np.linalg.eigvalsh(0.5 * (H + H.T))
    assert lam == pytest.approx(ev[np.argmax(np.abs(ev))], rel=1e-4)


def test_edge_of_stability_sharpness_hovers_at_two_over_eta():
    # Cohen et al. 2021: with a large step, sharpness rises to ~2/eta and stays; with a small one it stays below.
    mlp = MLP((10, 32, 32, 1))
    X, y = eos_dataset(n=100, d=10, seed=0)
    big = train_gd(mlp, X, y, eta=12.0, n_steps=1200, sharpness_every=50)
    late = big.sharpness[big.sharpness_steps >= 600]
    assert np.all(np.abs(late * 12.0 / 2 - 1) < 0.1)
    assert np.any(np.diff(big.loss) > 0) and big.loss[-1] < 0.05 * big.loss[0]   # non-monotone, yet decreasing
    small = train_gd(mlp, X, y, eta=2.0, n_steps=300, sharpness_every=100)
    assert np.all(small.sharpness < 2 / 2.0) and np.all(np.diff(small.loss) <= 0)
    with pytest.raises(ConvergenceError, match="diverged"):
        train_gd(mlp, X, y, eta=500.0, n_steps=200)


@pytest.mark.parametrize("N", [100, 200])
def test_sgd_lyapunov_threshold_matches_high_dimensional_theory(N):
    # The almost-sure threshold (sign change of the simulated Lyapunov exponent) approaches the
    # high-dimensional mean-square threshold with O(1/N) corrections: tolerance 10/N (relative).
    alpha, B = 0.5, 4
    X = interpolation_data(N, alpha, seed=0)
    theory = sgd_threshold_theory(alpha, B, N)
    etas = np.linspace(0.8, 1.2, 5) * 2 * B / N
    cross, err, g, s = lyapunov_crossing(X, B, etas, seeds=range(16))
    assert abs(cross / theory - 1) < 10.0 / N + 3 * err / theory
    # the exact mean-square rate bounds the Lyapunov exponent from above (Jensen)
    assert mean_square_rate(X, etas[1], B) >= g[1] - 3 * s[1]


def test_sgd_second_moment_exact_vs_monte_carlo():
    # Monte Carlo over R runs: agreement within 4 standard errors (sem ~ 1/sqrt(R)).
    X = interpolation_data(60, 0.5, seed=1)
    exact, m, s = sgd_second_moment(X, eta=0.05, B=3, n_steps=60, seeds=range(400))
    assert np.all(np.abs(m - exact) <= 4 * s + 1e-12)
    assert exact[-1] < exact[0]


def test_sgd_threshold_small_batch_expansion():
    # B = 1: exactly 2B/N. Small B/N: eta_c = eta0 / (1 + eta0 (1 - 1/B) E[lambda^2] / 2) + O((B/N)^2),
    # eta0 = 2B/N, E[lambda^2] = 1 + 1/alpha (Marchenko-Pastur).
    assert sgd_threshold_theory(0.3, 1, 500) == pytest.approx(2 / 500)
    alpha, N = 0.3, 2000
    for B in (4, 16):
        eta0 = 2 * B / N
        approx = eta0 / (1 + eta0 * (1 - 1 / B) * (1 + 1 / alpha) / 2)
        assert sgd_threshold_theory(alpha, B, N) == pytest.approx(approx, rel=5 * (B / N) ** 2 * (1 + 1 / alpha) ** 2)


@pytest.mark.parametrize("call, name", [
    (lambda: quadratic_gd_theory(-1.0, 0.1, np.arange(3)), "alpha"),
    (lambda: quadratic_gd_theory(1.0, 0.0, np.arange(3)), "eta"),
    (lambda: quadratic_gd_theory(1.0, 0.1, np.array([0.5, 1.0])), "steps"),
    (lambda: interpolation_data(100, 1.5), "alpha"),
    (lambda: sgd_lyapunov(np.ones((5, 10)), 0.1, 6, seeds=range(2)), "B"),
    (lambda: MLP((3, 4, 2)), "widths"),
    (lambda: quadratic_gd_simulate(50, 2.0, 0.1, np.arange(3), seeds=[0]), "seeds"),
])
def test_invalid_arguments(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_uv_toy_model_closed_forms():
    # L(u, v) = (uv - 1)^2 / 2: on uv = 1 the Hessian eigenvalues are 0 and u^2 + v^2 (checked by eigvalsh);
    # GD multiplies D = u^2 - v^2 by (1 - eta^2 r^2) exactly (up to round-off).
    from dmftlib.stability import uv_gd, uv_sharpness, uv_theory
    u = np.array([0.5, 1.0, 3.0])
    v = 1 / u
    H = np.stack([np.stack([v * v, 2 * u * v - 1], -1), np.stack([2 * u * v - 1, u * u], -1)], -2)
    assert_allclose(np.linalg.eigvalsh(H)[:, -1], u * u + v * v, rtol=1e-12)
    assert_allclose(uv_sharpness(u, v), u * u + v * v, rtol=1e-12)
    run = uv_gd(2.0, 0.05, [0.01, 0.3, 0.5], 2000)
    D, r = run.u ** 2 - run.v ** 2, run.u * run.v - 1
    assert_allclose(D[:, 1:], (1 - run.eta[:, None] ** 2 * r[:, :-1] ** 2) * D[:, :-1], rtol=1e-10, atol=1e-12)
    S_gf, S1, I = uv_theory(2.0, 0.05, run.eta)
    from scipy.integrate import quad
    D0, s0 = 4.0 - 0.0025, 0.1
    assert I == pytest.approx(quad(lambda s: (1 - s) / np.sqrt(D0 ** 2 + 4 * s * s), s0, 1)[0], rel=1e-10)
    end = run.sharpness[:, -1]
    assert not run.diverged.any() and np.all(run.loss[:, -1] < 1e-20)
    assert np.all(end <= np.minimum(S_gf, 2 / run.eta) + 1e-9)        # flatter than GF, linearly stable
    # first order in eta: the log-shift of D is -eta I (1 + O(eta)); at eta = 0.01 the O(eta) term is ~2%
    Dend = run.u[0, -1] ** 2 - run.v[0, -1] ** 2
    assert np.log(D0 / Dend) / 0.01 == pytest.approx(I, rel=0.05)
    assert end[0] == pytest.approx(S1[0], abs=2e-3)
    assert uv_gd(2.0, 0.05, [1.5], 500).diverged[0]


def test_exact_mean_square_threshold_brackets_lyapunov():
    # rho(T) = 1 on the span of the data; the closure is exact for B = 1 only when |x|^2 = N, so at N = 100
    # the exact threshold sits below 2/N; the almost-sure threshold is above it (Jensen).
    from dmftlib.stability import mean_square_threshold
    X = interpolation_data(100, 0.5, seed=0)
    eta = mean_square_threshold(X, 1, 0.014, 0.026)
    assert eta == pytest.approx(0.018073, abs=2e-6)
    assert mean_square_rate(X, 0.99 * eta, 1) < 0 < mean_square_rate(X, 1.01 * eta, 1)
    with pytest.raises(ValueError, match="sign"):
        mean_square_threshold(X, 1, 0.001, 0.002)


def test_plot_uv_and_bad_input():
    import matplotlib
    matplotlib.use("Agg")
    from dmftlib.stability import plot_uv, uv_gd, uv_sharpness, uv_theory
    axes = plot_uv(eta_grid=np.linspace(0.05, 1.0, 8), n_steps=300)
    assert len(axes) == 2
    for call, name in [(lambda: uv_gd(2.0, 0.05, [], 10), "etas"), (lambda: uv_gd(2.0, 0.05, [-0.1], 10), "etas"),
                       (lambda: uv_gd(np.nan, 0.05, [0.1], 10), "u0"), (lambda: uv_theory(2.0, 1.0, [0.1]), "u0"),
                       (lambda: uv_sharpness(1e200, 1.0), "u")]:
        with pytest.raises(ValueError, match=name):
            call()
