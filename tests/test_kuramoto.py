"""Tests of dmftlib.kuramoto: closed forms, two routes to the self-consistency, graphon invariants,
finite-N simulations against the graph-limit theory, and the precompute code path of the chapter."""
import math
import os
import sys

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq

from dmftlib import kuramoto as ku

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "book", "data"))


def _g_gauss(w, s=1.0):
    return np.exp(-0.5 * (w / s) ** 2) / (s * math.sqrt(2 * math.pi))


def test_lorentzian_closed_form_matches_the_integral():
    # F(a) for the Lorentzian (closed form in the library) against the defining integral by quad
    for gamma in (0.3, 1.0):
        for a in (0.05, 0.7, 3.0, 40.0):
            ref = quad(lambda s: a * math.cos(s) ** 2 * gamma / (math.pi * ((a * math.sin(s)) ** 2 + gamma ** 2)),
                       -math.pi / 2, math.pi / 2, limit=200)[0]
            assert abs(float(ku.locked_fraction_map(a, gamma, "lorentzian")) - ref) < 1e-10


@pytest.mark.parametrize("gamma,p", [(0.5, 1.0), (1.0, 0.3)])
def test_lorentzian_r(gamma, p):
    for K in (0.5 * 2 * gamma / p, 1.5 * 2 * gamma / p, 5.0 * 2 * gamma / p):
        r = ku.stationary_order_parameter(K, gamma, "lorentzian", p=p)
        assert r == pytest.approx(math.sqrt(max(0.0, 1 - 2 * gamma / (K * p))), abs=1e-14)


@pytest.mark.parametrize("width,p,K", [(1.0, 1.0, 2.0), (1.0, 0.5, 7.0), (0.3, 1.0, 30.0), (2.0, 0.8, 4.2)])
def test_gaussian_r_against_quad_and_brentq(width, p, K):
    # an independent route: adaptive quad in omega, sqrt(1 - omega^2/a^2) form, and brentq
    def phi(r):
        a = K * p * r
        return quad(lambda w: math.sqrt(max(0.0, 1 - (w / a) ** 2)) * _g_gauss(w, width), -a, a,
                    limit=400, points=[0.0])[0] / r - 1.0
    ref = brentq(phi, 1e-6, 1.0, xtol=1e-13)
    assert ku.stationary_order_parameter(K, width, p=p) == pytest.approx(ref, abs=1e-8)


def test_critical_coupling_and_square_root_onset():
    Kc = ku.critical_coupling(1.0)
    assert Kc == pytest.approx(2 / (math.pi * _g_gauss(0.0)))
    assert ku.stationary_order_parameter(Kc * (1 - 1e-9), 1.0) == 0.0
    # Kuramoto's normal form: r^2 = 16 mu / (pi Kc^3 (-g''(0))), mu = (K - Kc)/Kc; the O(mu) correction
    # of r / r_normal_form shrinks linearly with mu
    gpp = -_g_gauss(0.0)
    errs = []
    for mu in (1e-2, 1e-3):
        r = ku.stationary_order_parameter(Kc * (1 + mu), 1.0)
        errs.append(abs(r / math.sqrt(16 * mu / (math.pi * Kc ** 3 * (-gpp))) - 1))
    assert errs[0] < 0.05 and errs[1] < errs[0] / 5


def test_vectorized_K_and_frequency_quantiles():
    Ks = np.array([0.5, 2.0, 4.0])
    r = ku.stationary_order_parameter(Ks, 1.0)
    assert r.shape == (3,) and r[0] == 0.0
    assert np.allclose(r, [ku.stationary_order_parameter(float(k), 1.0) for k in Ks])
    om = ku.frequency_quantiles(10001, 1.3)
    assert abs(om.mean()) < 1e-12 and om.std() == pytest.approx(1.3, rel=2e-3)


def test_graphon_theory_constant_equals_scalar_solution():
    Ks = [1.0, 4.0, 6.0, 9.0]
    th = ku.theory(Ks, 1.0, graphon="constant", p=0.5)
    assert np.allclose(th.r, ku.stationary_order_parameter(np.array(Ks), 1.0, p=0.5), atol=1e-9)
    assert np.allclose(th.r_x, th.r[:, None], atol=1e-9)


def test_min_and_one_minus_max_are_mirror_images_and_Kc_is_top_eigenvalue():
    th1 = ku.theory([6.0], 1.0, graphon="min")
    th2 = ku.theory([6.0], 1.0, graphon="1-max")
    assert th1.r[0] == pytest.approx(th2.r[0], abs=1e-9)
    assert np.allclose(th1.r_x[0], th2.r_x[0][::-1], atol=1e-9)   # Gauss-Legendre nodes are symmetric
    # top eigenvalue of the min kernel by power iteration on a Nystrom discretization: 4 / pi^2
    z, w = np.polynomial.legendre.leggauss(200)
    x, w = (z + 1) / 2, w / 2
    Ws = np.sqrt(w)[:, None] * np.minimum(x[:, None], x[None, :]) * np.sqrt(w)[None, :]
    assert np.linalg.eigvalsh(Ws)[-1] == pytest.approx(4 / math.pi ** 2, rel=2e-5)  # Nystrom error, kink
    Kc = ku.critical_coupling(1.0, graphon="min")
    assert ku.theory([Kc * 0.999], 1.0, graphon="min").r[0] == 0.0
    assert ku.theory([Kc * 1.01], 1.0, graphon="min").r[0] > 0.0
    # near K_c the profile is proportional to the top eigenfunction sin(pi x / 2)
    prof = ku.theory([Kc * 1.0001], 1.0, graphon="min", n_x=60)
    shape = prof.r_x[0] / prof.r_x[0].max()
    assert np.abs(shape - np.sin(math.pi * prof.x / 2) / np.sin(math.pi * prof.x.max() / 2)).max() < 1e-3


def test_simulation_matches_theory_with_shrinking_error():
    # Erdos-Renyi p = 0.5, Gaussian width 1, K = 6 (K p = 3 > K_c p = 1.6). Finite-N deviations of the
    # time-averaged r: graph and dynamical fluctuations, expected O(1/N) in the mean (quantile frequencies).
    K, model = [6.0], dict(width=1.0, distribution="gaussian", graphon="constant", p=0.5)
    r_inf = ku.stationary_order_parameter(6.0, 1.0, p=0.5)
    for N in (150, 600):
        sim = ku.simulate(N, K, seeds=4, t_max=50.0, t_burn=20.0, **model)
        dev = abs(sim.r[0] - r_inf)
        assert dev < 3 * sim.r_sem[0] + 1.0 / N, (N, dev, sim.r_sem[0])
    assert sim.r_seeds.shape == (4, 1) and sim.r_t.shape[0] == 4


def test_simulation_local_profile_min_graphon():
    th = ku.theory([8.0], 1.0, graphon="min", n_x=400)
    sim = ku.simulate(600, [8.0], 1.0, graphon="min", seeds=3, t_max=50.0, t_burn=20.0, n_bins=5)
    ref = np.interp(sim.x, th.x, th.r_x[0])   # bin centre value; the bin average differs by O(bin^2)
    assert np.abs(sim.r_x[0] - ref).max() < 4 * sim.r_x_sem[0].max() + 0.03


def test_below_threshold_r_is_finite_size_noise():
    sim = ku.simulate(400, [1.0], 1.0, p=0.5, seeds=3, t_max=40.0, t_burn=20.0)
    assert sim.r[0] < 3.0 / math.sqrt(400)   # incoherent state: |Z| = O(N^{-1/2})


def test_chapter_precompute_code_path():
    import wide_networks_make as wm
    scen = {"er_gauss": wm.KURAMOTO["er_gauss"]}
    small = wm.kuramoto_runs(Ns={80: 2}, scenarios=scen, large={}, time=dict(t_max=10.0, t_burn=5.0, dt=0.1, n_bins=4,
                                                                    save_every=10))
    model, K = scen["er_gauss"]
    direct = ku.simulate(80, K, seeds=2, t_max=10.0, t_burn=5.0, dt=0.1, n_bins=4, save_every=10, **model)
    assert np.array_equal(small["er_gauss_N80_r_seeds"], direct.r_seeds)
    data = np.load(os.path.join(os.path.dirname(wm.__file__), "wide_networks_kuramoto.npz"))
    for N in wm.KURAMOTO_N:
        for name in wm.KURAMOTO:
            assert data[f"{name}_N{N}_r_seeds"].shape == (wm.KURAMOTO_N[N], len(wm.KURAMOTO[name][1]))


@pytest.mark.parametrize("call", [
    lambda: ku.stationary_order_parameter(float("nan"), 1.0),
    lambda: ku.stationary_order_parameter(-1.0, 1.0),
    lambda: ku.stationary_order_parameter(2.0, 0.0),
    lambda: ku.stationary_order_parameter(2.0, 1.0, "cauchy"),
    lambda: ku.stationary_order_parameter(2.0, 1.0, p=1.5),
    lambda: ku.stationary_order_parameter("2", 1.0),
    lambda: ku.theory([], 1.0),
    lambda: ku.theory([2.0], 1.0, graphon="sbm"),
    lambda: ku.simulate(0, [2.0], 1.0),
    lambda: ku.simulate(10, [2.0], 1.0, seeds=-1),
    lambda: ku.simulate(10, [2.0], 1.0, t_burn=200.0),
    lambda: ku.simulate(10**5, [2.0], 1.0),
    lambda: ku.sample_graph(10, seed=None),
    lambda: ku.frequency_quantiles(0, 1.0),
])
def test_bad_input(call):
    with pytest.raises(ValueError):
        call()
