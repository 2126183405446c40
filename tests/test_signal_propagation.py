"""Tests of dmftlib.signal_propagation: closed forms, fixed-point properties, theory vs wide networks."""
import math
import pathlib

import numpy as np
import pytest
from numpy.testing import assert_allclose

from dmftlib import ConvergenceError
from dmftlib import signal_propagation as sp
from dmftlib.core import expect, expect2

DATA = pathlib.Path(__file__).resolve().parents[1] / "book" / "data" / "signal_propagation_sims.npz"
SB = 0.05   # sigma_b^2 used in the chapter


# --------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("sw", [0.3, 0.7, 1.0])
def test_chi1_equals_sigma_w2_without_bias_tanh(sw):
    # sigma_b^2 = 0 and sigma_w^2 <= 1: q* = 0, so chi1 = sigma_w^2 tanh'(0)^2 = sigma_w^2 exactly.
    assert sp.q_star(sw, 0.0) == 0.0
    assert_allclose(sp.chi1(sw, 0.0, "tanh"), sw, rtol=1e-14)


def test_critical_points_closed_form():
    assert sp.critical_sigma_w2(0.0, "relu") == pytest.approx(2.0, abs=1e-12)
    assert sp.critical_sigma_w2(0.3, "relu") == pytest.approx(2.0, abs=1e-12)
    # tanh, erf at sigma_b^2 = 0: sigma_w^2 phi'(0)^2 = 1. chi1 - 1 is quadratic in the distance
    # to the critical point there, so bisection on chi1 locates it only to ~sqrt(eps) ~ 1e-8.
    assert sp.critical_sigma_w2(0.0, "tanh") == pytest.approx(1.0, abs=1e-6)
    assert sp.critical_sigma_w2(0.0, "erf") == pytest.approx(math.pi / 4, abs=1e-6)


def test_critical_line_has_chi1_one_and_is_increasing():
    sb = np.array([0.01, 0.05, 0.2, 0.5])
    crit = sp.critical_sigma_w2(sb, "tanh")
    assert_allclose(sp.chi1(crit, sb, "tanh"), 1.0, atol=1e-10)
    assert np.all(np.diff(crit) > 0)
    assert sp.chi1(0.99 * crit[1], sb[1]) < 1 < sp.chi1(1.01 * crit[1], sb[1])


def _erf_len(q, sw, sb):
    # Williams' arcsin kernel: E[erf(u)^2] = (2/pi) arcsin(2q / (1 + 2q))
    return sw * 2 / np.pi * np.arcsin(2 * q / (1 + 2 * q)) + sb


@pytest.mark.parametrize("sw,sb", [(0.5, 0.1), (2.0, 0.05), (4.0, 0.5)])
def test_erf_maps_match_arcsin_kernel(sw, sb):
    q = np.array([0.1, 1.0, 3.0])
    assert_allclose(sp.length_map(q, sw, sb, "erf"), _erf_len(q, sw, sb), rtol=1e-10)
    qs = sp.q_star(sw, sb, "erf")
    assert_allclose(_erf_len(qs, sw, sb), qs, rtol=1e-10)
    c = np.array([-0.5, 0.0, 0.3, 0.9])
    ref = (sw * 2 / np.pi * np.arcsin(2 * qs * c / (1 + 2 * qs)) + sb) / qs
    assert_allclose(sp.correlation_map(c, sw, sb, "erf"), ref, rtol=1e-9)
    # chi1 = sigma_w^2 E[erf'(u)^2] = sigma_w^2 (4/pi) / sqrt(1 + 4 q*)
    assert_allclose(sp.chi1(sw, sb, "erf"), sw * 4 / np.pi / np.sqrt(1 + 4 * qs), rtol=1e-10)


def test_relu_closed_forms():
    sw, sb = 1.5, 0.2
    assert_allclose(sp.q_star(sw, sb, "relu"), sb / (1 - sw / 2), rtol=1e-14)
    assert_allclose(sp.chi1(sw, sb, "relu"), sw / 2, rtol=1e-14)
    ds = sp.depth_scales(sw, sb, "relu")
    assert ds.c_star == 1.0
    assert_allclose(ds.xi_c, -1 / math.log(sw / 2), rtol=1e-12)


@pytest.mark.parametrize("c", [-0.6, 0.0, 0.5, 0.95])
def test_relu_arccos_kernel_against_gauss_hermite(c):
    # The library uses the exact arc-cosine kernel; Gauss-Hermite (core.expect2) converges to it
    # slowly (kink at 0: error ~ n^{-3/2}), so check the error is small and decreases with n.
    q, sw = 0.8, 1.0
    exact = sp.correlation_map(c, sw, 0.0, "relu", q=q) * q
    relu = lambda x: np.maximum(x, 0)
    err = [abs(float(expect2(relu, relu, q, q, q * c, n=n)) - exact) for n in (20, 80, 320)]
    assert err[2] < 1e-3 * q
    assert err[2] < err[0]


# --------------------------------------------------------------------------- fixed points, depth scales
@pytest.mark.parametrize("phi", ["tanh", "erf"])
@pytest.mark.parametrize("sw", [0.8, 1.5, 2.5, 4.0])
def test_fixed_points_are_fixed(phi, sw):
    qs = sp.q_star(sw, SB, phi)
    assert_allclose(sp.length_map(qs, sw, SB, phi), qs, rtol=1e-12)
    cs = sp.c_star(sw, SB, phi)
    assert_allclose(sp.correlation_map(cs, sw, SB, phi), cs, atol=1e-10)
    assert (cs < 1) == (sp.chi1(sw, SB, phi) > 1)   # c* < 1 exactly in the chaotic phase


@pytest.mark.parametrize("sw", [1.0, 3.0])
def test_xi_q_is_the_decay_rate_of_the_length_map(sw):
    # Linearize q^l - q* ~ (q^0 - q*) exp(-l / xi_q): compare with the iterated map.
    ds = sp.depth_scales(sw, SB)
    q = sp.iterate_length_map(ds.q_star * (1 + 1e-5), 6, sw, SB)
    ratio = (q[1:] - ds.q_star) / (q[:-1] - ds.q_star)
    assert_allclose(ratio[-1], math.exp(-1 / ds.xi_q), rtol=1e-4)


@pytest.mark.parametrize("sw", [1.0, 3.0])
def test_xi_c_is_the_decay_rate_of_the_correlation_map(sw):
    ds = sp.depth_scales(sw, SB)
    c0 = ds.c_star - 1e-5
    c = sp.iterate_correlation_map(c0, 6, sw, SB)
    ratio = (c[1:] - ds.c_star) / (c[:-1] - ds.c_star)
    assert_allclose(ratio[-1], math.exp(-1 / ds.xi_c), rtol=1e-3)
    if ds.c_star == 1.0:
        assert_allclose(ds.xi_c, -1 / math.log(ds.chi1), rtol=1e-9)   # ordered: xi_c = -1/log chi1


def test_xi_c_diverges_at_the_critical_line():
    crit = sp.critical_sigma_w2(SB)
    xi = sp.depth_scales(crit * np.array([0.9, 0.99, 0.999, 1.001, 1.01, 1.1]), SB).xi_c
    assert np.all(xi[2:4] > 1000) and np.all(xi[[0, 5]] < 50)
    assert xi[0] < xi[1] < xi[2] and xi[3] > xi[4] > xi[5]
    # ordered side: 1/xi_c = -log chi1 ~ (1 - chi1), linear in the distance to the critical line
    assert_allclose(xi[2] / xi[1], 10, rtol=0.05)


def test_theory_at_q_star_is_the_correlation_map_and_vectorizes():
    sw = np.array([1.0, 2.5])
    qs = sp.q_star(sw, SB)
    for k in range(2):
        th = sp.theory(8, sw[k], SB, q0=float(qs[k]), c0=0.3)
        assert_allclose(th.q, qs[k], rtol=1e-12)
        assert_allclose(th.c, sp.iterate_correlation_map(0.3, 8, sw[k], SB), atol=1e-12)
    th = sp.theory(5, sw, SB)
    assert th.q.shape == (2, 6)
    assert_allclose(th.c[1], sp.theory(5, 2.5, SB).c, rtol=1e-13)
    assert_allclose(sp.chi1(sw, SB), [sp.chi1(s, SB) for s in sw], rtol=1e-13)


# --------------------------------------------------------------------------- theory vs simulation
def _max_excess(sim, th, a):
    """max over layers and fields of |sim - theory| / (4 sem + a / N) (<= 1 means within tolerance)."""
    out = []
    for f in ("q", "c"):
        err = np.abs(getattr(sim, f) - getattr(th, f))[1:]
        tol = 4 * getattr(sim, f + "_sem")[1:] + a / sim.N
        out.append(np.max(err / tol))
    return max(out)


@pytest.mark.parametrize("sw", [1.0, 2.5])
def test_simulation_matches_theory_two_widths(sw):
    # Tolerance 4 sem + 1/N per layer: fluctuations of q^l, c^l across networks are O(1/sqrt(N))
    # (sem over 16 seeds ~ 1/sqrt(16 N)); the finite-N bias of these ratios is O(1/N) (we found
    # |bias| well below 1/N at these parameters). Depth 10, real weight matrices.
    L, n_seeds = 10, 16
    th = sp.theory(L, sw, SB, q0=1.0, c0=0.5)
    errs = {}
    for N in (250, 1000):
        sim = sp.simulate(N, L, sw, SB, q0=1.0, c0=0.5, seeds=range(N, N + n_seeds))
        assert _max_excess(sim, th, a=1.0) <= 1.0
        errs[N] = np.sqrt(np.mean((sim.c - th.c) ** 2 + (sim.q - th.q) ** 2))
    # The "gram" sampler (same law, O(N) per layer) reaches N = 16000: the error keeps shrinking.
    big = sp.simulate(16000, L, sw, SB, q0=1.0, c0=0.5, seeds=range(3, 3 + n_seeds), method="gram")
    assert _max_excess(big, th, a=1.0) <= 1.0
    err_big = np.sqrt(np.mean((big.c - th.c) ** 2 + (big.q - th.q) ** 2))
    assert err_big < errs[250]
    assert np.all(big.c_sem[1:] < 0.5 * np.max(sp.simulate(1000, L, sw, SB, seeds=range(1000, 1000 + n_seeds)).c_sem[1:]))


def test_gram_sampler_has_the_law_of_the_network():
    # Same distribution of (q^l, c^l): means agree within 4 combined standard errors.
    a = sp.simulate(300, 8, 1.76, SB, "erf", seeds=range(1, 25), method="network")
    b = sp.simulate(300, 8, 1.76, SB, "erf", seeds=range(25, 49), method="gram")
    for f in ("q", "c"):
        d = np.abs(getattr(a, f) - getattr(b, f))[1:]
        s = np.hypot(getattr(a, f + "_sem"), getattr(b, f + "_sem"))[1:]
        assert np.all(d <= 4 * s)
    # and the standard deviation across networks too (within 40%: 24 seeds)
    ra = a.c_samples[:, 1:].std(axis=0).mean() / b.c_samples[:, 1:].std(axis=0).mean()
    assert 0.6 < ra < 1.6


def test_decay_length_of_correlations_matches_xi_c():
    # Ordered phase, chi1 ~ 0.77 (xi_c ~ 3.8): 1 - c^l is measured down to 1e-10 with small
    # relative noise, so the fitted decay length of the mean is within 10% of xi_c.
    sw = 1.0
    ds = sp.depth_scales(sw, SB)
    sim = sp.simulate(2000, 40, sw, SB, q0=ds.q_star, c0=0.6, seeds=range(5, 13), method="gram")
    xi = sp.decay_length(sim.l, sim.c, 1.0, lmin=5, floor=np.maximum(3 * sim.c_sem, 1e-10))
    assert_allclose(xi, ds.xi_c, rtol=0.1)


# --------------------------------------------------------------------------- precomputed data
def test_precomputed_data_recreated():
    assert DATA.exists(), f"{DATA} is missing: run book/data/signal_propagation_make.py"
    d = np.load(DATA)
    # Part A: the first 6 layers of the N = 500, sigma_w2 = LAYERS_SW[0] run (same seeds, same streams).
    sim = sp.simulate(500, 5, float(d["layers_sw"][0]), float(d["sigma_b2"]), str(d["phi"]), q0=float(d["q0"]),
                      c0=float(d["c0"]), seeds=int(d["layers_n_seeds"]))
    assert_allclose(sim.q, d["layers_q"][0, 0, :6], rtol=1e-10)
    assert_allclose(sim.c, d["layers_c"][0, 0, :6], rtol=1e-10)
    # Part C: the first depth column of the trainability grid (its random stream comes first).
    kw = {k: int(d[f"train_{k}"]) for k in ("width", "n_steps", "batch", "n_seeds", "n_test", "seed")}
    r = sp.trainability(d["train_sw"], d["train_depths"][:1], sigma_b2=float(d["sigma_b2"]),
                        lr=float(d["train_lr"]), **kw)
    # Same seed, same stream: equal up to floating-point summation order of another BLAS, which
    # could flip the sign of an output within rounding of 0 (one test point = 1/512 of accuracy).
    assert_allclose(r.accuracy[:, 0], d["train_accuracy"][:, 0], atol=2.5 / kw["n_test"])
    assert_allclose(r.loss[:, 0], d["train_loss"][:, 0], rtol=1e-6)


def test_trainability_tiny_instance():
    # Depth 24 ~ 6 xi_c near the critical line but >> 6 xi_c deep in the ordered phase:
    # the near-critical network learns the linear teacher, the ordered one stays at chance.
    r = sp.trainability([0.5, 1.76], [24], width=32, n_steps=150, batch=32, lr=0.05, n_seeds=2, n_test=256)
    assert r.accuracy[1, 0] > 0.7
    assert r.accuracy[0, 0] < 0.6


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call", [
    lambda: sp.q_star(1.0, 0.1, phi="sigmoid"),
    lambda: sp.chi1(-1.0, 0.1),
    lambda: sp.chi1(0.0, 0.1),
    lambda: sp.q_star(1.0, -0.1),
    lambda: sp.critical_sigma_w2(-0.5),
    lambda: sp.depth_scales(np.array([1.0, -2.0]), 0.1),
    lambda: sp.theory(5, 1.0, 0.1, c0=1.5),
    lambda: sp.theory(-1, 1.0, 0.1),
    lambda: sp.simulate(1, 5, 1.0, 0.1),
    lambda: sp.simulate(100, 5, 1.0, 0.1, method="exact"),
    lambda: sp.simulate(100, 5, 1.0, 0.1, seeds=1),
    lambda: sp.correlation_map(0.5, 1.0, 0.0),   # q* = 0: correlation map undefined
    lambda: sp.trainability([1.0], [2.5]),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_convergence_errors():
    # ReLU with sigma_w^2 > 2: the length map q -> sigma_w^2 q / 2 + sigma_b^2 has no fixed point.
    with pytest.raises(ConvergenceError):
        sp.q_star(2.5, 0.1, "relu")
    with pytest.raises(ConvergenceError):
        sp.depth_scales(3.0, 0.1, "relu")
    # ... and the simulated pre-activations overflow: q^l ~ 1.5^l
    with pytest.raises(ConvergenceError):
        sp.simulate(50, 2000, 3.0, 0.1, "relu", seeds=2, method="gram")


# --------------------------------------------------------------------------- plots (smoke tests)
def test_plot_functions_draw_without_error():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    # the widget's corner cases: no q* (ReLU above 2), q* = 0 (no bias, ordered), chaotic erf
    for args in [(2.5, 0.05, "tanh"), (2.5, 0.05, "relu"), (1.0, 0.0, "relu"), (0.5, 0.0, "tanh"), (3.0, 0.5, "erf")]:
        axes = sp.plot_maps(*args)
        assert len(axes[0].lines) >= 2
    sp.plot_phase_diagram("relu", n=7)
    ax = sp.plot_phase_diagram("tanh", n=7, marker=(2.5, 0.05))
    assert len(ax.lines) == 2
    th = sp.theory(5, 2.5, SB)
    sim = sp.simulate(50, 5, 2.5, SB, seeds=2, method="gram")
    ax = sp.plot_layers(th, sim, "c")
    assert "N = 50, 2 seeds" in [t.get_text() for t in ax.legend().get_texts()][1]
    sp.plot_depth_scales(SB, n=20, measured=([1.0, 3.0], [3.6, 9.0], 1000, 8))
    sp.plot_trainability([1.0, 2.0, 3.0], [4, 8], np.full((3, 2), 0.8), SB)
    plt.close("all")
