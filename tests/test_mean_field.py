"""Tests of dmftlib.mean_field: kernels (closed form vs sampling), kernel gradient descent, the exact
population gradient of the mean-field network, the reduced mean-field theory (two routes), finite-width
networks against both limits, and the precompute code path of the chapter."""
import math
import os
import sys

import numpy as np
import pytest

from dmftlib import mean_field as mf
from dmftlib.core import expect2
from dmftlib.signal_propagation import _relu_k

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "book", "data"))


def test_ntk_gram_against_gaussian_expectation_and_sampling():
    X, _ = mf.sphere_data(6, 4, seed=3)
    H = mf.ntk_gram(X)
    c = X[0] @ X[1]
    step = lambda u: (u > 0).astype(float)  # noqa: E731
    assert H[0, 1] == pytest.approx(c * expect2(step, step, 1.0, 1.0, c, n=300), abs=1e-2)  # GH on a step: O(1/n)
    W = np.random.default_rng(0).standard_normal((4, 50000, 4))
    dev = np.abs(mf.empirical_ntk(X, W) - H).max()
    assert dev < 5 * math.sqrt(0.25 / 50000) * 2          # Monte Carlo, O(m^-1/2)
    assert np.allclose(H, H.T) and np.linalg.eigvalsh(H)[0] > 0


def test_lazy_theory_small_step_is_the_exponential():
    X, y = mf.sphere_data(8, 3, seed=1)
    t = np.array([0.0, 1.0, 5.0])
    th = mf.lazy_theory(X, y, t, eta=1e-4)
    lam, V = np.linalg.eigh(mf.ntk_gram(X))
    u_exp = y - (np.exp(-lam[None, :] * t[:, None]) * (V.T @ y)) @ V.T
    assert np.abs(th.u - u_exp).max() < 1e-3                  # O(eta) difference
    assert np.all(np.diff(th.loss) < 0) and th.loss[0] == pytest.approx(0.5 * (y @ y))


def test_lazy_network_approaches_kernel_regime_with_width():
    # deviation of the output trajectory from kernel gradient descent: O(m^-1/2)
    X, y = mf.sphere_data(10, 5, seed=0)
    t = np.arange(0.0, 20.01, 2.0)
    dev, dH = [], []
    for m in (128, 2048):
        sim = mf.lazy_simulate(m, X, y, t, eta=0.1, seeds=4)
        assert np.all(np.abs(sim.u[0]) < 1e-12)               # symmetric initialization: u0 = 0
        dev.append(sim.u_dev.mean())
        dH.append(sim.dH[-1])
    ratio = math.sqrt(2048 / 128)                             # = 4 if the deviation is O(m^-1/2)
    assert ratio / 2 < dev[0] / dev[1] < 2 * ratio
    assert ratio / 2 < dH[0] / dH[1] < 2 * ratio


def test_population_gradient_is_minus_m_times_the_gradient_of_the_risk():
    rng = np.random.default_rng(2)
    m, d = 7, 3
    a, W = rng.standard_normal((1, m)), rng.standard_normal((1, m, d)) * 0.7
    cd = mf.c_d(d)
    da, dW, R = mf._mf_grad(a, W, cd, d)
    eps = 1e-6
    for k in range(m):
        e = np.zeros_like(a)
        e[0, k] = eps
        num = (mf._mf_grad(a + e, W, cd, d)[2] - mf._mf_grad(a - e, W, cd, d)[2]) / (2 * eps)
        assert -m * num[0] == pytest.approx(da[0, k], rel=1e-6, abs=1e-8)
        for i in range(d):
            E = np.zeros_like(W)
            E[0, k, i] = eps
            num = (mf._mf_grad(a, W + E, cd, d)[2] - mf._mf_grad(a, W - E, cd, d)[2]) / (2 * eps)
            assert -m * num[0] == pytest.approx(dW[0, k, i], rel=1e-5, abs=1e-8)


def test_population_risk_against_monte_carlo():
    rng = np.random.default_rng(4)
    m, d = 5, 4
    a, W = rng.standard_normal((1, m)), rng.standard_normal((1, m, d))
    R = mf._mf_grad(a, W, mf.c_d(d), d)[2][0]
    x = rng.standard_normal((400000, d))
    f = np.maximum(x @ W[0].T, 0) @ a[0] / m
    loss = 0.5 * (np.linalg.norm(x, axis=1) - f) ** 2
    assert abs(loss.mean() - R) < 4 * loss.std() / math.sqrt(x.shape[0])
    # the inlined degree-1 arc-cosine kernel equals the one of signal_propagation
    r = np.linalg.norm(W[0], axis=1)
    c = np.clip((W[0] @ W[0].T) / np.outer(r, r), -1, 1)
    assert np.allclose(_relu_k(np.outer(r, r), c), np.outer(r, r) * (np.sqrt(1 - c * c) + (np.pi - np.arccos(c)) * c)
                       / (2 * np.pi))


def test_c_d_and_reduced_theory_two_routes():
    assert mf.c_d(1) == pytest.approx(0.5) and mf.c_d(3) == pytest.approx(0.25)
    t = np.linspace(0.0, 3.0, 7)
    th = mf.mean_field_theory(t)
    assert th.risk[0] == pytest.approx(0.5 * 4, abs=1e-12)     # M = E[a0] E[r0] = 0 at t = 0
    assert np.all(np.diff(th.risk) < 0) and np.all(np.diff(th.tau) > 0)
    # second route: quantile particles moved by tau (no closed-form a0 integral), 1000 x 400 particles
    a0, r0 = mf._initial_quantiles(4, 1.0, 0.5, 1000, 400)
    for i in (2, 6):
        a, r = mf._particles_at(th.tau[i], a0, r0)
        assert np.mean(a * r) == pytest.approx(th.M[i], rel=2e-3)
        assert np.mean(r == 0) == pytest.approx(th.dead_fraction[i], abs=2e-3)
        assert np.allclose(a * a - r * r, np.where(r == 0, a * a, a0 * a0 - r0 * r0))  # a^2 - r^2 conserved
    # quadrature converged
    th2 = mf.mean_field_theory(t, n_r=150, rtol=1e-12)
    assert np.abs(th2.risk / th.risk - 1).max() < 1e-5


def test_mean_field_networks_approach_theory():
    # population risk for t <= 1.5: the seed mean deviates by O(1/m) (the seed-to-seed spread O(m^-1/2)
    # averages out); the precomputed scan (m = 32...256) measures a deviation of about 6/m at t = 1,
    # so the tolerance is 3 sem + 8/m.
    t = np.linspace(0.0, 1.5, 4)
    th = mf.mean_field_theory(t)
    for m, s in ((32, 12), (128, 6)):
        sim = mf.mean_field_simulate(m, t, seeds=s, dt=0.01)
        dev = np.abs(sim.risk - th.risk)
        assert np.all(dev < 3 * sim.risk_sem + 8.0 / m), (m, dev, sim.risk_sem)
        assert np.all(np.abs(sim.dead_fraction - th.dead_fraction) < 3 * sim.dead_fraction_sem + 4.0 / m)


@pytest.mark.parametrize("call", [
    lambda: mf.sphere_data(0, 3),
    lambda: mf.ntk_gram(np.ones((3, 2))),
    lambda: mf.lazy_theory(*mf.sphere_data(3, 2), [0.0, 0.15], eta=0.1),
    lambda: mf.lazy_simulate(3, *mf.sphere_data(3, 2), [0.0, 0.1]),
    lambda: mf.lazy_simulate(4, *mf.sphere_data(3, 2), [0.0, 0.1], seeds=0),
    lambda: mf.lazy_simulate(10**7, *mf.sphere_data(30, 20), [0.0, 100.0]),
    lambda: mf.mean_field_theory([0.0, float("nan")]),
    lambda: mf.mean_field_theory([1.0, 2.0]),
    lambda: mf.mean_field_simulate(8, [0.0, 1.0], sigma_a=-1.0),
    lambda: mf.mean_field_simulate(8, [0.0, 0.015], dt=0.01),
    lambda: mf.mean_field_simulate(10**5, [0.0, 1.0]),
    lambda: mf.c_d(0),
    lambda: mf.plot_lazy_vs_width({}, field="u"),
])
def test_bad_input(call):
    with pytest.raises(ValueError):
        call()


def test_chapter_precompute_code_path():
    import wide_networks_make as wm
    small = mf.lazy_width_scan(widths=(16,), n=5, d=3, t_max=1.0, n_times=3, seeds=2)
    direct = mf.lazy_simulate(16, small["X"], small["y"], small["t"], 0.1, 2)
    assert np.array_equal(small["loss"][0], direct.loss)
    smf = mf.mean_field_width_scan(widths=(8,), seeds_per_width=(2,), t_max=0.2, n_times=3)
    assert np.array_equal(smf["m8_risk_seeds"], mf.mean_field_simulate(8, smf["t"], seeds=2).risk_seeds)
    here = os.path.dirname(wm.__file__)
    lazy = np.load(os.path.join(here, "wide_networks_lazy.npz"))
    assert lazy["loss"].shape == (len(wm.LAZY["widths"]), wm.LAZY["n_times"])
    mfd = np.load(os.path.join(here, "wide_networks_mean_field.npz"))
    assert mfd[f"m{wm.MF['widths'][-1]}_risk_seeds"].shape == (wm.MF["seeds_per_width"][-1], wm.MF["n_times"])
