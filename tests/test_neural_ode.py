"""Tests of dmftlib.neural_ode: gradients, closed forms, theory vs online-SGD simulations."""
import pathlib
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

from dmftlib import control
from dmftlib import neural_ode as no

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _loss(s, theta, h0, hs0):
    return no.forward_backward(s, theta, h0, hs0)["loss"]


def test_costate_gradients_match_finite_differences():
    """g = lambda_0 = -dl/dh(0), dl/dtheta_l = -dtau dH/dtheta and dl/dW = -g x^T / sqrt(N) (central differences)."""
    rng = np.random.default_rng(3)
    s = no.setup(K=2, M=2, L=5, A0=0.5 * rng.standard_normal((5, 2, 2)), b0=0.3 * rng.standard_normal((5, 2)))
    theta = s.theta0
    h0, hs0 = rng.standard_normal((2, 2, 3))
    r = no.forward_backward(s, theta, h0, hs0)
    eps = 1e-6
    for k in range(2):
        e = np.zeros((2, 1))
        e[k] = eps
        fd = (_loss(s, theta, h0 + e, hs0) - _loss(s, theta, h0 - e, hs0)) / (2 * eps)
        assert_allclose(-r["g"][k], fd, rtol=1e-7, atol=1e-9)
    for l in (0, 2, 4):
        for p in range(theta.shape[1]):
            d = np.zeros_like(theta)
            d[l, p] = eps
            fd = (_loss(s, theta + d, h0, hs0) - _loss(s, theta - d, h0, hs0)) / (2 * eps)
            assert_allclose(-r["dH"][l, p] / s.L, fd, rtol=1e-6, atol=1e-9)
    # the gradient with respect to W for one input x (N = 7)
    N = 7
    W, Ws, x = rng.standard_normal((2, N)), rng.standard_normal((2, N)), rng.standard_normal(N)

    def lossW(Wm):
        return float(_loss(s, theta, (Wm @ x / np.sqrt(N))[:, None], (Ws @ x / np.sqrt(N))[:, None])[0])

    g = no.forward_backward(s, theta, (W @ x / np.sqrt(N))[:, None], (Ws @ x / np.sqrt(N))[:, None])["g"][:, 0]
    fd = np.zeros_like(W)
    for i in range(2):
        for j in range(N):
            d = np.zeros_like(W)
            d[i, j] = eps
            fd[i, j] = (lossW(W + d) - lossW(W - d)) / (2 * eps)
    assert_allclose(-np.outer(g, x) / np.sqrt(N), fd, rtol=1e-6, atol=1e-9)


def test_per_sample_controls_equal_shared_controls():
    """Controls of shape (L, P, n) (one set per seed) give the same pass as shared (L, P) ones."""
    rng = np.random.default_rng(0)
    s = no.setup(K=2, M=1, L=3, A0=rng.standard_normal((3, 2, 2)))
    h0, hs0 = rng.standard_normal((2, 4)), rng.standard_normal((1, 4))
    a = no.forward_backward(s, s.theta0, h0, hs0)
    b = no.forward_backward(s, np.repeat(s.theta0[:, :, None], 4, axis=2), h0, hs0)
    for k in ("err", "g", "dH"):
        assert_allclose(a[k], b[k], rtol=1e-14, atol=1e-14)


def test_resnet_converges_to_neural_ode():
    """The Euler ResNet's h(1) approaches the RK4 solution of the ODE at rate O(1/L)."""
    s = no.setup(K=2, M=2)
    theta = s.theta_star[:1]                       # constant controls, one piece
    h0 = np.random.default_rng(1).standard_normal((2, 5))
    ref = control.solve_forward(no.system(2), theta, h0, n_steps=512, method="rk4").h[-1]
    errs = [np.abs(no._forward(no.system(2), np.repeat(theta, L, 0), h0)[-1] - ref).max() for L in (16, 32, 64)]
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert_allclose(ratios, 2.0, rtol=0.1)


@pytest.mark.parametrize("sigma", [0.0, 0.5])
def test_linear_case_closed_form(sigma):
    """K = M = 1, A = b = 0 for teacher and student, controls fixed: exact perceptron solution."""
    s = no.setup(K=1, M=1, L=4, a_star=0.0)
    t = np.linspace(0.0, 6.0, 13)
    th = no.theory(s, 1.5, t, eta_theta=0.0, sigma=sigma)
    eg, Q, R = no.linear_closed_form(4, 1.5, t, s.Q0[0, 0], s.R0[0, 0], sigma)
    # quadrature is exact for these polynomials; the error is RK4's, O(dt^4)
    assert_allclose(th.eg, eg, rtol=1e-7)
    assert_allclose(th.Q[:, 0, 0], Q, rtol=1e-7)
    assert_allclose(th.R[:, 0, 0], R, rtol=1e-7)


def test_student_equal_to_teacher_has_zero_error_and_is_a_fixed_point():
    s = no.setup(K=2, M=2, L=4)
    assert no.generalization_error(s, s.T, s.T, s.A_star[:4], s.b_star[:4]) < 1e-14
    import dataclasses
    s2 = dataclasses.replace(s, Q0=s.T.copy(), R0=s.T.copy(), A0=s.A_star.copy(), b0=s.b_star.copy())
    th = no.theory(s2, 1.0, [0.0, 0.5])
    assert_allclose(th.Q[-1], s.T, atol=1e-12)
    assert_allclose(th.A[-1], s.A_star, atol=1e-12)


def test_theory_vs_simulation_two_N():
    """Online SGD at N = 500 and 2000 against the ODEs (K = M = 1, L = 4, eta = 2, controls learned).

    Fluctuations across seeds are O(1/sqrt(N)) and measured by the standard error; the
    finite-size bias is O(1/N), with N * (mean deviation) measured at about 0.5 (we allow
    c = 2); hence tol = 4 sem + 2 / N, which shrinks with N. Measured worst deviations:
    0.0023 at N = 500 (sem ~ 0.001), 0.0010 at N = 2000 (sem ~ 0.0006).
    """
    s = no.setup(K=1, M=1, L=4)
    t = np.linspace(0.0, 3.0, 7)
    th = no.theory(s, 2.0, t)
    worst = {}
    for N in (500, 2000):
        sim = no.simulate(N, s, 2.0, t, seeds=range(8))
        dev = np.abs(sim.eg - th.eg)
        tol = 4 * sim.eg_sem + 2.0 / N
        worst[N] = dev.max()
        assert np.all(dev <= tol), (N, dev, tol)
        assert_allclose(sim.A[:, :, 0, 0], th.A[:, :, 0, 0], atol=float(4 * sim.A_sem.max() + 2.0 / N))
    assert sim.N == 2000 and sim.n_seeds == 8


def test_data_script_small_instance():
    """The chapter's data script runs (small instance, same code path) and its results are consistent:
    simulations within 4 sem + 2/N of the ODE (fluctuations O(1/sqrt N), bias O(1/N)); the symmetric
    run stays exchange-symmetric; the linearization along it has an unstable antisymmetric mode."""
    sys.path.insert(0, str(ROOT / "book" / "data"))
    import neural_ode_make
    res = neural_ode_make.make(small=True)
    th = res["matched"]
    for N in (200, 400):
        sim = res[f"matched_N{N}"]
        assert_allclose(sim.eg, np.interp(sim.t, th.t, th.eg), atol=float(4 * sim.eg_sem.max() + 2.0 / N))
    assert res["fixed"].A.max() == 0.0
    sym = res["symmetric"]
    assert_allclose(sym.R[:, 0], sym.R[:, 1], atol=1e-12)
    assert_allclose(sym.Q[:, 0, 0], sym.Q[:, 1, 1], atol=1e-12)
    lin = neural_ode_make.linearization(sym, no.setup(K=2, M=2, L=4), times=(1.0,), n_nodes=6)
    assert lin["anti"][0] > 0


def test_quadrature_converges_and_matches_tensor_grid():
    """The split quadrature (student pass on K dimensions, teacher averaged conditionally) converges
    exponentially with the trapezoidal nodes, to the same averages as a 4-dimensional Gauss-Hermite
    tensor grid; the plateau drift that 10 Gauss-Hermite nodes got wrong by up to 50% is right to 1%
    with 31 trapezoidal nodes."""
    s = no.setup(K=2, M=2, L=8)
    Q = np.array([[1.9, 1.3], [1.3, 1.5]])
    R = np.array([[0.3, 0.95], [0.1, 1.2]])
    theta = no.system(2).pack({"A": np.full((8, 2, 2), 0.15), "b": np.zeros((8, 2))})
    ref = no._rhs(s, Q, R, theta, 2.0, 2.0, 0.0, 51)
    errs = []
    for n in (17, 25, 33):
        out = no._rhs(s, Q, R, theta, 2.0, 2.0, 0.0, n)
        errs.append(max(np.abs(a - b).max() / np.abs(b).max() for a, b in zip(out, ref)))
    assert errs[0] > errs[1] > errs[2] and errs[2] < 0.01, errs
    # an independent route: Gauss-Hermite on the full (h, h*) tensor grid, 24 nodes per dimension
    from dmftlib.core import gauss_hermite
    z, w = gauss_hermite(24)
    Z = np.stack(np.meshgrid(z, z, z, z, indexing="ij")).reshape(4, -1)
    W = np.multiply.outer(np.multiply.outer(w, w), np.multiply.outer(w, w)).ravel()
    u = no._factor(no._omega(Q, R, s.T)) @ Z
    r = no.forward_backward(s, theta, u[:2], u[2:])
    assert_allclose(0.5 * r["err"] ** 2 @ W, no.generalization_error(s, Q, R, theta[:, :4].reshape(8, 2, 2),
                                                                  theta[:, 4:], n_nodes=51), rtol=2e-3)


def test_fast_student_pass_equals_forward_backward():
    """simulate's matmul pass (seeds as a batch axis) = the lambdified Pontryagin pass, per seed."""
    rng = np.random.default_rng(2)
    L, S = 3, 4
    s = no.setup(K=2, M=1, L=L, A0=0.6 * rng.standard_normal((L, 2, 2)), b0=0.2 * rng.standard_normal((L, 2)))
    A = s.A0[:, None] + 0.1 * rng.standard_normal((L, S, 2, 2))
    b = s.b0[:, None] + 0.1 * rng.standard_normal((L, S, 2))
    h0, hs0 = rng.standard_normal((S, 2)), rng.standard_normal((1, S))
    theta = np.stack([no.system(2).pack({"A": A[:, i], "b": b[:, i]}) for i in range(S)], axis=-1)
    r = no.forward_backward(s, theta, h0.T, hs0)
    y = r["err"] + s.v @ no._forward(no.system(2), theta, h0.T)[-1]
    g, gA, gb = no._student_pass(A, b, h0, y, s.v)
    assert_allclose(g, r["g"].T, rtol=1e-12, atol=1e-14)
    dH = np.moveaxis(r["dH"], -1, 1)                                     # (L, S, P)
    assert_allclose(gA.reshape(L, S, 4), dH[..., :4], rtol=1e-12, atol=1e-14)
    assert_allclose(gb, dH[..., 4:], rtol=1e-12, atol=1e-14)


def test_jacobian_block_diagonal_on_symmetric_states():
    """The ODEs are invariant under the exchange of the two students: at an exchange-symmetric state
    the Jacobian commutes with the swap (up to finite-difference error)."""
    s = no.setup(K=2, M=1, L=1)
    Q = np.array([[1.0, 0.3], [0.3, 1.0]])
    R = np.array([[0.4], [0.4]])
    A = np.array([[[0.2, 0.1], [0.1, 0.2]]])
    b = np.array([[0.05, 0.05]])
    lin = no.linearization(s, 1.0, Q, R, A, b, n_nodes=8)
    S = no.swap_students(2, 1, 1)
    assert_allclose(S @ lin.jacobian @ S, lin.jacobian, atol=1e-8)
    assert np.isfinite(lin.antisymmetric_rate) and np.isfinite(lin.symmetric_rate)


def test_plateau_linear_noise_fixed_point():
    """Newton finds the noisy linear fixed point Q = 1 + eta sigma^2 / (2 - eta c^2), R = 1; its
    linearization has the closed-form rates eta c^2 and 2 eta c^2 - eta^2 c^4."""
    L, eta, sigma = 4, 1.5, 0.4
    c2 = (1 - 1 / L) ** (2 * L)
    s = no.setup(K=1, M=1, L=L, a_star=0.0)
    p = no.plateau(s, eta, [[1.3]], [[0.8]], np.zeros((L, 1, 1)), np.zeros((L, 1)), eta_theta=0.0, sigma=sigma,
                   n_nodes=41)
    assert p.converged
    assert_allclose(p.Q[0, 0], 1 + eta * sigma ** 2 / (2 - eta * c2), rtol=1e-9)
    assert_allclose(p.R[0, 0], 1.0, rtol=1e-9)
    assert_allclose(np.sort(p.lin.eigenvalues.real), np.sort([-eta * c2, -(2 * eta * c2 - eta ** 2 * c2 ** 2)]),
                    rtol=1e-6)


def test_save_load_roundtrip(tmp_path):
    s = no.setup(K=1, M=1, L=2)
    th = no.theory(s, 1.0, [0.0, 0.5])
    sim = no.simulate(20, s, 1.0, [0.0, 0.5], seeds=[0, 1])
    no.save_results(tmp_path / "x.npz", a=th, b=sim)
    back = no.load_results(tmp_path / "x.npz")
    assert_allclose(back["a"].eg, th.eg)
    assert_allclose(back["b"].eg_sem, sim.eg_sem)
    assert back["b"].N == 20


def test_bad_input():
    s = no.setup(K=1, M=1, L=2)
    with pytest.raises(ValueError, match="eta"):
        no.theory(s, -1.0, [0.0, 1.0])
    with pytest.raises(ValueError, match="t"):
        no.theory(s, 1.0, [1.0, 0.5])
    with pytest.raises(ValueError, match="sigma"):
        no.theory(s, 1.0, [0.0, 1.0], sigma=-0.1)
    with pytest.raises(ValueError, match="eta_theta"):
        no.theory(s, 1.0, [0.0, 1.0], eta_theta=-1.0)
    with pytest.raises(ValueError, match="K \\+ M"):
        no.setup(K=3, M=3)
    with pytest.raises(ValueError, match="A0"):
        no.setup(K=2, M=1, L=3, A0=np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="seeds"):
        no.simulate(50, s, 1.0, [0.0, 1.0], seeds=[0])
    with pytest.raises(ValueError, match="N"):
        no.simulate(1, s, 1.0, [0.0, 1.0], seeds=[0, 1])
    with pytest.raises(ValueError, match="sp_"):
        no.theory("setup", 1.0, [0.0, 1.0])
    with pytest.raises(ValueError, match="eta"):
        no.linear_closed_form(4, 50.0, [0.0, 1.0], 0.5, 0.0)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_raises():
    """A learning rate far beyond stability makes the ODE blow up: ValueError, never NaN."""
    s = no.setup(K=1, M=1, L=2, a_star=0.0)
    with pytest.raises(ValueError, match="finite"):
        no.theory(s, 60.0, np.linspace(0.0, 200.0, 3), eta_theta=0.0, dt=0.1)


def test_backward_pass_equals_dmftlib_control():
    """For shared controls the costate pass equals dmftlib.control.costate_gradient (discrete Pontryagin)."""
    rng = np.random.default_rng(5)
    L = 6
    s = no.setup(K=2, M=1, L=L, A0=0.7 * rng.standard_normal((L, 2, 2)), b0=0.2 * rng.standard_normal((L, 2)))
    h0, hs0 = rng.standard_normal((2, 9)), rng.standard_normal((1, 9))
    r = no.forward_backward(s, s.theta0, h0, hs0)
    y = r["err"] + s.v @ no._forward(no.system(2), s.theta0, h0)[-1]          # the labels
    targets = np.concatenate([y[None], np.ones((2, 9))])
    ref = control.costate_gradient(no.system(2), s.theta0, h0, targets)
    assert_allclose(r["g"], ref.lam[0], rtol=1e-12, atol=1e-14)
    assert_allclose(-r["dH"].mean(axis=-1) / L, ref.grad, rtol=1e-12, atol=1e-14)
    assert_allclose(r["loss"].mean(), ref.loss, rtol=1e-12)


@pytest.mark.slow
def test_matched_K2_theory_vs_simulation_two_N():
    """The chapter's matched case K = M = 2, L = 8, eta = 2 (controls learned) at N = 500 and 2000.

    Same error model as above, tol = 4 sem + 2 / N (seed fluctuations O(1/sqrt N), bias O(1/N)).
    Theory and the evaluation of eg use the same quadrature (21 trapezoidal nodes per dimension).
    """
    s = no.setup(K=2, M=2, L=8)
    t = np.linspace(0.0, 2.0, 5)
    th = no.theory(s, 2.0, t, n_nodes=21)
    for N in (500, 2000):
        sim = no.simulate(N, s, 2.0, t, seeds=range(8), n_nodes=21)
        assert np.all(np.abs(sim.eg - th.eg) <= 4 * sim.eg_sem + 2.0 / N), N
        assert np.all(np.abs(sim.R - th.R) <= 4 * sim.R_sem + 2.0 / N), N


def test_escape_times_exact_for_exponential_decay_and_bad_input():
    """Linear student and teacher, no noise: eps_g = eps_0 exp(-r t) with r = 2 eta c^2 - eta^2 c^4, so the
    time at which it crosses a threshold is ln(eps_0 / threshold) / r, which the log-linear interpolation of
    escape_times recovers from a coarse grid (up to the ODE's RK4 error)."""
    s = no.setup(K=1, M=1, L=8, a_star=0.0)
    eta, c2 = 1.0, (7.0 / 8.0) ** 16
    th = no.theory(s, eta, np.linspace(0.0, 6.0, 7), eta_theta=0.0)
    r = 2 * eta * c2 - eta ** 2 * c2 ** 2
    thr = th.eg[0] * np.exp(-r * 3.3)
    assert_allclose(no.escape_times(th, thr), [3.3], atol=1e-6)
    assert no.escape_times(th, 1e-12).tolist() == [np.inf]
    assert no.escape_times(th, 10.0).tolist() == [0.0]
    with pytest.raises(ValueError, match="threshold"):
        no.escape_times(th, float("nan"))
    with pytest.raises(ValueError, match="threshold"):
        no.escape_times(th, -1.0)
    with pytest.raises(ValueError, match="res"):
        no.escape_times("not a result", 0.1)


def test_stored_long_runs_plateau_and_escape_delays():
    """The chapter's long runs (N = 250, 32 seeds; N = 500, 16 seeds): on the plateau (20 <= t <= 80) the seed
    mean is within 4 sem + 2 eps_g / N of the ODE (fluctuations O(1/sqrt N), bias O(1/N)); through the escape
    (t >= 90) the ODE delayed by each run's own escape delay is within 3 sem of the mean of the escaped runs; the
    spread of the delays shrinks with N (expected N^-1/2)."""
    runs = no.load_results(ROOT / "book" / "data" / "neural_ode_runs.npz")
    th = runs["matched"]
    t_ode = no.escape_times(th, 1e-2)[0]
    spread = []
    for N in (250, 500):
        sim = runs[f"matched_N{N}"]
        ref = np.interp(sim.t, th.t, th.eg)
        m = (sim.t >= 20) & (sim.t <= 80)
        assert np.all(np.abs(sim.eg[m] - ref[m]) <= 4 * sim.eg_sem[m] + 2 * ref[m] / N)
        delay = no.escape_times(sim, 1e-2) - t_ode
        ok = np.isfinite(delay)
        assert ok.sum() >= sim.n_seeds - 1
        m = sim.t >= 90
        delayed = np.mean([np.interp(np.maximum(sim.t[m] - d, 20.0), th.t, th.eg) for d in delay[ok]], axis=0)
        mean, sem = no.mean_sem(sim.eg_seeds[ok][:, m], axis=0)
        assert np.all(np.abs(mean - delayed) <= 3 * sem)
        spread.append(np.std(delay[ok], ddof=1))
    assert spread[1] < spread[0]
