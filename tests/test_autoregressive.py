"""Tests of dmftlib.autoregressive: closed forms, the ODE drift against one SGD step, the stationary
state, theory vs simulation at two N, and the stored data of the chapter."""
import os
import sys

import numpy as np
import pytest

from dmftlib import autoregressive as ar

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "book", "data")


def _vectors(N, seed=1):
    rng = np.random.default_rng(seed)
    ws, w, u = rng.standard_normal((3, N))
    ws *= np.sqrt(N) / np.linalg.norm(ws)
    return ws, w, u


@pytest.mark.parametrize("a, b_star", [(0.5, 0.7), (0.5, 0.4), (0.0, 1.1), (-0.3, 0.2)])
def test_rollout_errors_equal_matrix_powers(a, b_star):
    """eps_k = 1/2 ||G^k - G*^k||_F^2 = 1/2 E|G^k x - G*^k x|^2 exactly (finite N, no limit involved)."""
    N = 30
    ws, w, u = _vectors(N)
    G = a * np.eye(N) + np.outer(u, w) / N
    Gs = a * np.eye(N) + b_star * np.outer(ws, ws) / N
    ks = [1, 2, 3, 7]
    exact = [0.5 * np.sum((np.linalg.matrix_power(G, k) - np.linalg.matrix_power(Gs, k)) ** 2) for k in ks]
    np.testing.assert_allclose(ar.rollout_errors(*ar.overlaps(ws, w, u), a=a, b_star=b_star, ks=ks), exact,
                               rtol=1e-10, atol=1e-12)


def test_rhs_matches_one_sgd_step():
    """The ODE drift is N times the mean increment of the overlaps in one SGD step (Monte Carlo over
    8000 fresh contexts from one state at N = 400): agreement within 4 sem + 3/N (O(1/N) terms dropped)."""
    N, M, eta, b, sigma = 400, 8000, 0.5, 0.7, 0.3
    ws, w, u = _vectors(N, seed=3)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((M, N))
    xi = rng.standard_normal((M, N))
    lam, ls = x @ w / np.sqrt(N), x @ ws / np.sqrt(N)
    r = (b * ls[:, None] * ws - lam[:, None] * u) / np.sqrt(N) + sigma * xi
    g = r @ u / np.sqrt(N)
    W = w + eta / np.sqrt(N) * g[:, None] * x
    U = u + eta / np.sqrt(N) * lam[:, None] * r
    y0 = ar.overlaps(ws, w, u)
    Y = np.stack([np.einsum("mn,mn->m", W, W), W @ ws, np.einsum("mn,mn->m", U, U), U @ ws,
                  np.einsum("mn,mn->m", U, W)], -1) / N
    inc = N * (Y - y0)
    mean, sem = inc.mean(0), inc.std(0, ddof=1) / np.sqrt(M)
    drift = ar.rhs(*y0, b_star=b, eta=eta, sigma=sigma)
    assert np.all(np.abs(mean - drift) < 4 * sem + 3.0 / N), (mean, drift, sem)


def test_stationary_closed_form_matches_long_ode():
    for b, sigma in [(0.7, 0.3), (0.4, 0.5), (-0.6, 0.4)]:
        st = ar.stationary(a=0.5, b_star=b, eta=0.5, sigma=sigma)
        th = ar.theory(a=0.5, b_star=b, eta=0.5, sigma=sigma, t=[0.0, 1000.0], ks=[1], dt=0.2)
        # (w, u) -> (-w, -u) is a symmetry: compare |R_w| and the product R_w R_u
        got = [th.Qw[-1], abs(th.Rw[-1]), th.Qu[-1], th.Rw[-1] * th.Ru[-1], th.S[-1], th.eps_1[-1]]
        want = [st.Qw, abs(st.Rw), st.Qu, st.Rw * st.Ru, st.S, st.eps_1]
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
        assert st.rho < 0.5 + b if b > 0 else st.rho > 0.5 + b      # noise pulls the eigenvalue inward


def test_noise_free_student_learns_teacher():
    th = ar.theory(a=0.5, b_star=0.7, eta=0.5, t=[0.0, 80.0], ks=[1, 10], dt=0.2)
    assert th.eps_k[-1].max() < 1e-8
    assert abs(th.rho[-1] - 1.2) < 1e-6


def test_initial_gram_refuses_impossible_overlaps():
    with pytest.raises(ValueError, match="q0, r0, c0"):
        ar.initial_gram(q0=0.1, r0=0.9)


@pytest.mark.parametrize("N, seeds", [(100, 24), (400, 24)])
def test_theory_vs_simulation(N, seeds):
    """|mean - theory| <= 4 sem + c / N on the whole curve, for the one-step and a rollout error and the
    learned eigenvalue (fluctuations ~ 1/sqrt(N) are in the sem; the bias of the mean is O(1/N), measured
    N * bias <= 0.15 for eps_1 in the chapter's data)."""
    t = np.linspace(0.0, 10.0, 11)
    kw = dict(a=0.5, b_star=0.7, eta=0.5, sigma=0.3, t=t, ks=[1, 5])
    th, sim = ar.theory(**kw), ar.simulate(N, seeds=seeds, **kw)
    assert np.all(np.abs(sim.eps_k - th.eps_k) <= 4 * sim.eps_k_sem + np.array([0.3, 3.0]) / N)
    assert np.all(np.abs(sim.rho - th.rho) <= 4 * sim.rho_sem + 0.5 / N)
    assert sim.eps_1[0] == pytest.approx(th.eps_1[0], abs=1e-10)      # exact initial overlaps


def test_simulation_fluctuations_shrink_like_inverse_sqrt_N():
    """Single-run spread of the learned eigenvalue at t = 4: std(N=100) / std(N=400) ~ 2."""
    t = np.linspace(0.0, 4.0, 3)
    sd = [ar.simulate(N, b_star=0.7, sigma=0.3, t=t, ks=[1], seeds=32).rho_seeds[:, -1].std(ddof=1) for N in (100, 400)]
    assert 1.4 < sd[0] / sd[1] < 2.9


def test_summarize_reproduces_simulate():
    sim = ar.simulate(40, t=[0.0, 1.0, 2.0], ks=[1, 4], seeds=3)
    again = ar.summarize(sim.overlaps_seeds, sim.t, 40, ks=[1, 4])
    np.testing.assert_array_equal(again.eps_k, sim.eps_k)


def test_stream_does_not_depend_on_chunk():
    a = ar.simulate(30, t=[0.0, 1.0], seeds=2, sigma=0.3, chunk=7)
    b = ar.simulate(30, t=[0.0, 1.0], seeds=2, sigma=0.3, chunk=256)
    np.testing.assert_allclose(a.overlaps_seeds, b.overlaps_seeds, rtol=0, atol=1e-12)


def test_chapter_data_recreated_through_make_script(tmp_path):
    """A small instance through the make script's code path equals the stored file's first seeds and times."""
    path = os.path.join(DATA, "autoregressive_generative_runs.npz")
    if not os.path.exists(path):
        pytest.skip("data not generated")
    sys.path.insert(0, DATA)
    try:
        import autoregressive_generative_make as mk
    finally:
        sys.path.remove(DATA)
    stored = np.load(path)
    out = mk.main(str(tmp_path / "small.npz"), Ns=(100,), n_seeds=2, t_ar=stored["t_ar"][:3],
                  t_gen=stored["t_gen"][:3], bias=((25, 2),), t_bias=stored["t_bias"][:3])
    for key in ("ar_contract_N100", "ar_expand_N100", "gen_N100"):
        np.testing.assert_allclose(out[key], stored[key][:2, :3], rtol=0, atol=1e-10)
