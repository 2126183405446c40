"""Tests of dmftlib.generative: distances against the full N x N covariances, the flow-matching loss and
the ODE drift against Monte Carlo, convergence to the teacher, theory vs simulation at two N."""
import numpy as np
import pytest
import scipy.linalg as sl

from dmftlib import autoregressive as ar
from dmftlib import generative as gen


def _vectors(N, seed):
    """Teacher and student with generic overlaps (Q_u != Q_w, R_u != R_w)."""
    ws, w, u = ar.realize(N, q0=0.9, r0=0.3, c0=0.2, init_seed=seed)
    return ws, w, 1.3 * u - 0.2 * ws

@pytest.mark.parametrize("b_star, seed", [(0.5, 0), (1.0, 1), (-0.4, 2)])
def test_distances_equal_full_covariances(b_star, seed):
    """W2 and ||Sigma - Sigma*||_F from the overlaps equal those of the N x N push-forward covariances."""
    N = 20
    ws, w, u = _vectors(N, seed)
    E = sl.expm(np.outer(u, w) / N)
    Es = sl.expm(b_star * np.outer(ws, ws) / N)
    Sig, Sig_s = E @ E.T, Es @ Es.T
    r = sl.sqrtm(Sig_s).real
    w2 = np.sqrt(np.trace(Sig) + np.trace(Sig_s) - 2 * np.trace(sl.sqrtm(r @ Sig @ r)).real)
    got = gen.distances(*ar.overlaps(ws, w, u), b_star=b_star)
    np.testing.assert_allclose(got[:2], [w2, np.linalg.norm(Sig - Sig_s)], rtol=1e-7)


def test_loss_and_drift_match_monte_carlo():
    """Population loss and ODE drift against 8000 samples (tau ~ U[0,1], z(0) ~ N(0, I)) at N = 400:
    within 4 sem + 3/N."""
    N, M, b, eta = 400, 8000, 0.5, 0.5
    ws, w, u = _vectors(N, 5)
    rng = np.random.default_rng(6)
    z0 = rng.standard_normal((M, N))
    kap = np.expm1(b * rng.random(M))
    ls0 = z0 @ ws / np.sqrt(N)
    z = z0 + (kap * ls0)[:, None] * ws / np.sqrt(N)
    lam = z @ w / np.sqrt(N)
    r = (b * ((1 + kap) * ls0)[:, None] * ws - lam[:, None] * u) / np.sqrt(N)
    loss = 0.5 * np.einsum("mn,mn->m", r, r)
    y0 = ar.overlaps(ws, w, u)
    assert abs(loss.mean() - gen.distances(*y0, b_star=b)[2]) < 4 * loss.std() / np.sqrt(M)
    g = r @ u / np.sqrt(N)
    W = w + eta / np.sqrt(N) * g[:, None] * z
    U = u + eta / np.sqrt(N) * lam[:, None] * r
    Y = np.stack([np.einsum("mn,mn->m", W, W), W @ ws, np.einsum("mn,mn->m", U, U), U @ ws,
                  np.einsum("mn,mn->m", U, W)], -1) / N
    inc = N * (Y - y0)
    kappa, wts = gen._tau_nodes(b, 16)
    drift = ar._rank_one_rhs(y0, b, eta, 0.0, kappa, wts)
    assert np.all(np.abs(inc.mean(0) - drift) < 4 * inc.std(0, ddof=1) / np.sqrt(M) + 3.0 / N)


def test_student_flow_reaches_teacher_distribution():
    th = gen.theory(b_star=0.5, eta=0.5, t=[0.0, 150.0], dt=0.2)
    assert th.w2[-1] < 1e-6 and th.cov_err[-1] < 1e-6 and th.loss[-1] < 1e-10
    assert abs(th.S[-1] - 0.5) < 1e-6                   # learned flow's exponent = teacher's b*


def test_tau_quadrature_converged():
    a = gen.theory(t=[0.0, 5.0, 10.0], n_tau=16)
    b = gen.theory(t=[0.0, 5.0, 10.0], n_tau=40)
    np.testing.assert_allclose(a.w2, b.w2, rtol=1e-12)


@pytest.mark.parametrize("N, seeds", [(100, 24), (400, 24)])
def test_theory_vs_simulation(N, seeds):
    """|mean - theory| <= 4 sem + c / N for W2 and the second-moment error (bias of the mean O(1/N):
    N * bias ~ 0.25 for W2 and ~ 0.75 for ||Sigma - Sigma*||_F at their peak, measured in the chapter)."""
    t = np.linspace(0.0, 12.0, 13)
    th, sim = gen.theory(t=t), gen.simulate(N, t=t, seeds=seeds)
    assert np.all(np.abs(sim.w2 - th.w2) <= 4 * sim.w2_sem + 0.5 / N)
    assert np.all(np.abs(sim.cov_err - th.cov_err) <= 4 * sim.cov_err_sem + 1.5 / N)


def test_summarize_reproduces_simulate():
    sim = gen.simulate(40, t=[0.0, 1.0], seeds=3)
    np.testing.assert_array_equal(gen.summarize(sim.overlaps_seeds, sim.t, 40).w2, sim.w2)
