"""Tests of dmftlib.committee: closed-form integrals, the ODEs, their fixed points, simulations."""
import os
import sys

# literals printed on one machine: another BLAS kernel or NumPy version moves them by round-off
# accumulated over the steps (measured 3.9e-12 relative under OPENBLAS_CORETYPE=Sandybridge)
_PORTABLE = 1e-10

import numpy as np
import pytest
from numpy.testing import assert_allclose

from dmftlib import committee as cm
from dmftlib.core import ConvergenceError, gauss_hermite

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _random_cov(L, seed):
    A = np.random.default_rng(seed).standard_normal((L, L)) * 0.5
    return A @ A.T + 0.3 * np.eye(L)


def _gh_expect(f, O, n):
    """E f(h) for h ~ N(0, O) by a tensor Gauss-Hermite rule (exact up to quadrature error)."""
    z, w = gauss_hermite(n)
    L = O.shape[0]
    grids = np.meshgrid(*([z] * L), indexing="ij")
    Z = np.stack([gr.ravel() for gr in grids], axis=1)
    W = np.prod(np.meshgrid(*([w] * L), indexing="ij"), axis=0).ravel()
    H = Z @ np.linalg.cholesky(O).T
    return np.einsum("p,p...->...", W, f(H))


# ------------------------------------------------------------------ closed-form integrals
def test_integrals_match_quadrature():
    # every entry of I2, I3, I4, J2 against a 3- or 4-dimensional Gauss-Hermite integral
    O = _random_cov(3, 1)
    g, gp = cm.g, cm.g_prime
    assert_allclose(cm.I2(O)[0, 1], _gh_expect(lambda H: g(H[:, 0]) * g(H[:, 1]), O[:2, :2], 40), atol=1e-7)
    i3 = cm.I3(O)
    for a, b, c in [(0, 1, 2), (0, 0, 2), (0, 2, 0), (1, 2, 1), (2, 0, 1)]:
        ref = _gh_expect(lambda H: gp(H[:, a]) * H[:, b] * g(H[:, c]), O, 30)
        assert_allclose(i3[a, b, c], ref, atol=1e-6)
    O4 = _random_cov(4, 2)
    i4 = cm.I4(O4, K=2)
    for a, b, c, d in [(0, 1, 2, 3), (0, 0, 2, 3), (0, 1, 1, 3), (1, 1, 1, 1), (0, 1, 3, 3)]:
        ref = _gh_expect(lambda H: gp(H[:, a]) * gp(H[:, b]) * g(H[:, c]) * g(H[:, d]), O4, 24)
        assert_allclose(i4[a, b, c, d], ref, atol=1e-5)
    assert_allclose(cm.J2(O, K=2)[0, 1], _gh_expect(lambda H: gp(H[:, 0]) * gp(H[:, 1]), O[:2, :2], 40), atol=1e-7)


def test_generalization_error_invariants():
    T = np.eye(3)
    assert abs(float(cm.generalization_error(T, T, T))) < 1e-14          # student = teacher
    # zero student: eg = (1/2) sum_m <g(nu_m)^2> = M/6
    assert_allclose(cm.generalization_error(np.zeros((2, 2)), np.zeros((2, 3)), T), 3 / 6, rtol=1e-12)
    # permuting the student units leaves eg unchanged; vectorized over a leading axis
    ov = cm.initial_overlaps(3, 3, seed=4, r0=0.2)
    P = np.eye(3)[[2, 0, 1]]
    e1 = cm.generalization_error(ov.Q, ov.R, ov.T)
    e2 = cm.generalization_error(P @ ov.Q @ P.T, P @ ov.R, ov.T)
    both = cm.generalization_error(np.stack([ov.Q, ov.Q]), np.stack([ov.R, ov.R]), ov.T)
    assert_allclose([e1, e1], [e2, both[0]], rtol=1e-13)


def test_rhs_properties():
    ov = cm.initial_overlaps(3, 2, seed=1, q0=0.5, r0=0.2)
    v = np.array([0.3, 0.8, -0.4])
    dQ, dR, dv = cm.rhs(ov.Q, ov.R, ov.T, v, ov.v_star, eta=0.7, sigma=0.2, eta_v=0.5)
    assert_allclose(dQ, dQ.T, atol=1e-14)
    assert dR.shape == (3, 2) and dv.shape == (3,)
    # at the teacher (K = M, W = B) without noise nothing moves, at any learning rate
    T = np.eye(2)
    for d in cm.rhs(T, T, T, np.ones(2), np.ones(2), eta=3.0, eta_v=1.0):
        assert np.abs(d).max() < 1e-13


# ------------------------------------------------------------------ K = M = 1: closed forms
def _scalar_rhs(Q, R, eta):
    """Hand-reduced ODE of a single student unit learning a single teacher unit (T = 1, v = v* = 1)."""
    a = np.sqrt(2 * (1 + Q) - R ** 2)
    b = np.sqrt(1 + 2 * Q)
    dR = 2 * eta / np.pi / (1 + Q) * ((1 + Q - R ** 2) / a - R / b)
    dQ1 = 4 * eta / np.pi / (1 + Q) * (R / a - Q / b)
    i4_nn = np.arcsin(((1 + 2 * Q) - 2 * R ** 2) / ((1 + 2 * Q) * 2 - 2 * R ** 2))
    i4_ln = np.arcsin(R / np.sqrt((1 + 3 * Q) * (2 * (1 + 2 * Q) - 2 * R ** 2)))
    i4_ll = np.arcsin(Q / (1 + 3 * Q))
    dQ2 = eta ** 2 * 4 / np.pi ** 2 / b * (i4_nn - 2 * i4_ln + i4_ll)
    return dQ1 + dQ2, dR


@pytest.mark.parametrize("Q,R", [(0.3, 0.1), (1.0, 0.6), (2.0, -0.5), (0.8, 0.85)])
def test_single_unit_rhs_matches_hand_reduction(Q, R):
    dQ, dR, _ = cm.rhs(np.array([[Q]]), np.array([[R]]), np.eye(1), np.ones(1), np.ones(1), eta=0.9)
    dQ_ref, dR_ref = _scalar_rhs(Q, R, 0.9)
    assert_allclose([dQ[0, 0], dR[0, 0]], [dQ_ref, dR_ref], rtol=1e-12, atol=1e-14)


def test_single_unit_fixed_point_and_rate():
    # Q = R = 1 is a fixed point; its slowest linear rate is -2 eta / (3 sqrt(3) pi) (the eta^2
    # term is quadratic in the error and drops out of the Jacobian), the other -4 eta / (sqrt(3) pi).
    for eta in (0.3, 1.0, 2.0):
        p = cm.plateau(1, eta)
        assert (p.Q, p.R) == (1.0, 1.0) and abs(p.eg) < 1e-15
        assert_allclose(p.escape_rate, -2 * eta / (3 * np.sqrt(3) * np.pi), rtol=1e-6)
    # the ODE's approach to it: eg is quadratic in the deviation, so eg ~ exp(-2 kappa t)
    eta = 1.0
    t = np.linspace(0.0, 120.0, 121)
    th = cm.ode(1, 1, eta, t, init={"Q": [[0.2]], "R": [[0.1]]})
    late = t >= 60
    slope = np.polyfit(t[late], np.log(th.eg[late]), 1)[0]
    assert_allclose(slope, -4 * eta / (3 * np.sqrt(3) * np.pi), rtol=0.02)


# ------------------------------------------------------------------ the symmetric plateau
@pytest.mark.parametrize("K", [2, 3])
def test_plateau_small_eta_closed_form(K):
    Q, C, R, eg0 = cm.plateau_small_eta(K)
    # the closed form is a zero of the O(eta) part of the ODE (divide the rhs by a tiny eta)
    Qm = C * np.ones((K, K)) + (Q - C) * np.eye(K)
    dQ, dR, _ = cm.rhs(Qm, R * np.ones((K, K)), np.eye(K), np.ones(K), np.ones(K), eta=1e-9)
    assert max(np.abs(dQ).max(), np.abs(dR).max()) / 1e-9 < 1e-6
    assert_allclose(eg0, cm.generalization_error(Qm, R * np.ones((K, K)), np.eye(K)), rtol=1e-12)
    # the finite-eta plateau tends to it linearly in eta: eg(eta) = eg0 + c eta + O(eta^2)
    e1 = cm.plateau(K, 0.005).eg - eg0
    e2 = cm.plateau(K, 0.01).eg - eg0
    assert 0 < e1 < 0.05 * 0.005
    assert_allclose(e2 / e1, 2.0, rtol=0.02)


def test_plateau_is_where_the_ode_sits():
    # K = M = 2, eta = 1 from a tiny asymmetry: the ODE lingers at the symmetric plateau and
    # approaches it along a slow (rate ~ 0.02 eta^3) direction inside the symmetric subspace
    th = cm.ode(2, 2, 1.0, np.linspace(0.0, 80.0, 9), init=cm.initial_overlaps(2, 2, seed=0, r0=1e-4))
    p = cm.plateau(2, 1.0)
    assert_allclose(th.eg[-1], p.eg, rtol=0.005)
    assert_allclose(th.Q[-1, 0, 0], p.Q, rtol=0.05)
    assert p.Q > p.C and p.escape_rate > 0


# ------------------------------------------------------------------ theory vs simulation
def _deviation(N, case):
    t = np.linspace(0.0, 10.0, 21)
    if case == "plain":
        K, M, kw = 2, 2, {}
        init = cm.initial_overlaps(2, 2, seed=3, q0=0.5, r0=0.15)
    else:   # both layers trained, unequal second-layer weights, label noise: the I3 index order matters
        K, M, kw = 3, 2, {"train_second_layer": True, "sigma": 0.3}
        b = cm.initial_overlaps(3, 2, seed=3, q0=0.5, r0=0.15)
        init = {"Q": b.Q, "R": b.R, "v": [0.3, 0.8, -0.4], "v_star": [1.0, 0.6]}
    th = cm.ode(K, M, 1.0, t, init=init, **kw)
    sim = cm.simulate(N, K, M, 1.0, t, seeds=range(8), init=init, **kw)
    return th, sim


@pytest.mark.parametrize("case", ["plain", "second_layer_noise"])
def test_ode_matches_simulation_at_two_N(case):
    # Fluctuations across seeds are O(1/sqrt(N)) and measured by the sem; the finite-size bias of
    # the mean is O(1/N). Tolerance per time: 4 sem + c / N with c = 0.5 for eg and c = 2 for the
    # overlaps (whose O(1/N) corrections are O(eta^2) = O(1) per unit time).
    tols = []
    for N in (250, 1000):
        th, sim = _deviation(N, case)
        tol = 4 * sim.eg_sem + 0.5 / N
        assert np.all(np.abs(sim.eg - th.eg) <= tol + 1e-12), (N, np.abs(sim.eg - th.eg).max())
        assert np.all(np.abs(sim.Q - th.Q) <= 4 * sim.Q_sem + 2.0 / N + 1e-12)
        assert np.all(np.abs(sim.R - th.R) <= 4 * sim.R_sem + 2.0 / N + 1e-12)
        if case != "plain":
            assert np.all(np.abs(sim.v - th.v) <= 4 * sim.v_sem + 2.0 / N + 1e-12)
        tols.append(tol[1:].mean())
    assert tols[1] < 0.7 * tols[0]          # the tolerance shrinks like 1/sqrt(N)


def test_realize_and_overlaps_roundtrip():
    ov = cm.initial_overlaps(3, 2, seed=5, r0=0.1)
    W, B = cm.realize(ov, N=300, seed=1)
    back = cm.overlaps_of(W, B)
    for a, b in [(back.Q, ov.Q), (back.R, ov.R), (back.T, ov.T)]:
        assert_allclose(a, b, atol=1e-12)


def test_simulation_seed_streams_are_independent():
    t = [0.0, 0.5, 1.0]
    a = cm.simulate(60, 2, 1, 0.8, t, seeds=[0, 1])
    b = cm.simulate(60, 2, 1, 0.8, t, seeds=[0, 7])
    assert_allclose(a.eg_seeds[0], b.eg_seeds[0], rtol=0, atol=0)
    assert a.eg_seeds.shape == (2, 3) and a.n_seeds == 2 and a.N == 60


def test_precomputed_data_is_reproducible(tmp_path):
    # re-create a small instance of every stored run: the first recorded times of a fresh
    # simulation with the same parameters and seeds coincide with the stored file
    sys.path.insert(0, os.path.join(ROOT, "book", "data"))
    import committee_make
    stored = cm.load_simulations(os.path.join(ROOT, "book", "data", "committee_runs.npz"))
    for name, kw in committee_make.runs().items():
        if kw["N"] > 1000:
            continue
        kw = dict(kw, t=kw["t"][:3], seeds=kw["seeds"][:2])
        fresh = cm.simulate(**kw)
        assert_allclose(fresh.eg_seeds, stored[name].eg_seeds[:2, :3], rtol=1e-12)
    cm.save_simulations(tmp_path / "x.npz", small=fresh)
    again = cm.load_simulations(tmp_path / "x.npz")["small"]
    assert_allclose(again.eg, fresh.eg) and again.N == fresh.N


def test_plot_functions_return_axes():
    import matplotlib
    matplotlib.use("Agg")
    th = cm.ode(2, 2, 0.5, np.linspace(0, 5, 6))
    assert cm.plot_learning_curve(th) is not None
    assert cm.plot_widget(eta=0.5, K=3, sigma=0.1, t_max=20.0) is not None


# ------------------------------------------------------------------ bad input, non-convergence
@pytest.mark.parametrize("kwargs", [
    dict(K=0), dict(M=1.5), dict(eta=-0.1), dict(eta=0.0), dict(t=[0.0, 2.0, 1.0]), dict(sigma=-1.0),
    dict(train_second_layer="yes"), dict(init={"Q": np.eye(3), "R": np.zeros((2, 2))}),
    dict(init={"Q": 0.01 * np.eye(2), "R": np.ones((2, 2))}), dict(init={"Q": np.eye(2)}), dict(eta_v=-1.0),
])
def test_ode_rejects_bad_input(kwargs):
    args = dict(K=2, M=2, eta=0.5, t=[0.0, 1.0], train_second_layer=True) | kwargs
    with pytest.raises(ValueError):
        cm.ode(**args)


@pytest.mark.parametrize("kwargs", [dict(N=3), dict(seeds=[0]), dict(t=[0.0, 0.001]), dict(seeds=[-1, 2])])
def test_simulate_rejects_bad_input(kwargs):
    args = dict(N=50, K=2, M=2, eta=0.5, t=[0.0, 1.0], seeds=[0, 1]) | kwargs
    with pytest.raises(ValueError):
        cm.simulate(**args)


def test_plateau_convergence_errors():
    with pytest.raises(ConvergenceError):
        cm.plateau(2, 0.5, max_iter=1)
    with pytest.raises(ConvergenceError):          # eta too large: Newton leaves the PSD region
        cm.plateau(4, 1.0)
    with pytest.raises(ValueError):
        cm.plateau(0, 0.5)


def test_output_noise_term_scales_with_sigma_squared():
    """The label-noise term of dQ/dt is eta^2 v v^T sigma^2 J2 (Saad & Solla): quadratic in sigma, exactly.

    A sigma -> sigma^2 slip would make the increment ratio 2 instead of 4, and the absolute value is checked
    against a Gauss-Hermite quadrature of J2 = E[g'(h_i) g'(h_k)]."""
    ov = cm.initial_overlaps(2, 2, seed=3, q0=0.4, r0=0.05)
    v = np.array([0.7, -0.4])
    d0, d1, d2 = (cm.rhs(ov.Q, ov.R, ov.T, v, ov.v_star, eta=0.6, sigma=s)[0] for s in (0.0, 0.25, 0.5))
    assert_allclose(d2 - d0, 4.0 * (d1 - d0), rtol=1e-12, atol=1e-15)
    O = cm._omega(ov.Q, ov.R, ov.T)
    def j2(i, k):
        if i == k:
            return _gh_expect(lambda H: cm.g_prime(H[:, 0]) ** 2, O[np.ix_([i], [i])], 80)
        return _gh_expect(lambda H: cm.g_prime(H[:, 0]) * cm.g_prime(H[:, 1]), O[np.ix_([i, k], [i, k])], 40)
    J = np.array([[j2(i, k) for k in range(2)] for i in range(2)])
    assert_allclose(d1 - d0, 0.6**2 * 0.25**2 * np.outer(v, v) * J, rtol=1e-6)


# ------------------------------------------------------------------ issue 17: faster simulations
# The simulation was rewritten (batched matmul instead of einsum, labels of a chunk of steps at once, fewer calls per step); the random
# streams are unchanged, so the results equal those of the previous implementation to round-off.
# The literals below were printed by the previous implementation (git cc61746) at these small sizes.
_PREV_CM = {
    "first layer": [
        0.45854650580330475, 0.18441442997962199, 0.05532298733608296, 0.45854650580330475,
        0.20885607617763619, 0.04832834280571509, 0.45854650580330475, 0.20128764215521, 0.04766087644855742,
    ],
    "both layers": ([
        0.5233416073718549, 0.14310142880131432, 0.047523450166805564, 0.5233416073718549,
        0.29124902442516654, 0.07367614173079845,
    ], [
        1.0, 1.0, 1.0, 0.9314577427744968, 0.9328776954165052, 0.9234407323973238, 0.8516835096478259,
        0.8344705649125561, 0.8676551904759926,
    ]),
}


def test_simulate_equals_previous_implementation():
    a = cm.simulate(60, 2, 2, 0.8, [0.0, 1.0, 3.0], seeds=[0, 1, 2], sigma=0.1, chunk=50)
    b = cm.simulate(60, 3, 2, 0.8, [0.0, 1.0, 3.0], seeds=[3, 1], sigma=0.3, train_second_layer=True)
    assert_allclose(a.eg_seeds.ravel(), _PREV_CM["first layer"], rtol=_PORTABLE)
    assert_allclose(b.eg_seeds.ravel(), _PREV_CM["both layers"][0], rtol=_PORTABLE)
    assert_allclose(b.v.ravel(), _PREV_CM["both layers"][1], rtol=_PORTABLE)


def test_simulate_equals_naive_per_seed_loop():
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    import naive
    t = [0.0, 0.5, 2.0]
    sim = cm.simulate(50, 2, 1, 0.7, t, seeds=[2, 5], sigma=0.2, chunk=30)
    ref = naive.committee(50, 2, 1, 0.7, t, [2, 5], sigma=0.2, chunk=30)
    assert_allclose(sim.eg_seeds, ref, rtol=1e-12)


def test_fast_rhs_matches_generic_rhs():
    """_FastRHS (used by ode) contracts the closed forms differently from _rhs: equal to round-off, K != M, noise,
    second layer, v != 1."""
    rng = np.random.default_rng(5)
    for K, M in ((1, 1), (2, 2), (3, 2), (4, 5)):
        W, B = rng.standard_normal((K, 40)), rng.standard_normal((M, 40))
        Q, R, T = W @ W.T / 40, W @ B.T / 40, B @ B.T / 40
        v, vs = rng.uniform(0.5, 1.5, K), rng.uniform(0.5, 1.5, M)
        for sigma, eta_v in ((0.0, 0.0), (0.3, 0.2)):
            a = cm._rhs(Q, R, T, v, vs, 0.4, sigma, eta_v)
            b = cm._FastRHS(K, M, T, vs, 0.4, sigma, eta_v)(Q, R, v)
            for x, y in zip(a, b):
                assert np.abs(x - y).max() < 1e-13


def test_adaptive_ode_matches_rk4_and_plateau_escape_to_1e_4():
    t = np.linspace(0, 20, 41)
    a = cm.ode(2, 2, 0.5, t, method="adaptive", train_second_layer=True, sigma=0.1)
    b = cm.ode(2, 2, 0.5, t, dt=0.02, train_second_layer=True, sigma=0.1)
    assert np.abs(a.eg - b.eg).max() < 1e-7 and np.abs(a.Q - b.Q).max() < 1e-7
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from _committee_metrics import plateau_and_escape
    t = np.linspace(0, 1500, 1501)          # eta = 0.1: a long plateau, escape near t = 1070
    p, e = plateau_and_escape(t, cm.ode(2, 2, 0.1, t, method="adaptive").eg)
    p0, e0 = plateau_and_escape(t, cm.ode(2, 2, 0.1, t, method="adaptive", rtol=1e-12, atol=1e-14).eg)
    assert e0 is not None and abs(p / p0 - 1) < 1e-4 and abs(e / e0 - 1) < 1e-4
    with pytest.raises(ValueError, match="method"):
        cm.ode(2, 2, 0.5, t, method="euler")
