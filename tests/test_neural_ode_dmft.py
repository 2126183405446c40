"""Tests of dmftlib.neural_ode_dmft and dmftlib.symbolic.neural_ode_msr: closed forms, the SymPy
derivation against the closure, exact gradients, theory vs simulations of the N-dimensional system."""
import pathlib
import sys

import numpy as np
import pytest
import sympy as sp
from numpy.testing import assert_allclose
from scipy.special import i0

from dmftlib import neural_ode_dmft as nd
from dmftlib.symbolic import neural_ode_msr as sm

ROOT = pathlib.Path(__file__).resolve().parents[1]
D = nd.DEFAULTS


def _GU(ga, ua, gb, ub, K):
    G = np.stack([nd._per_step(np.asarray(ga, float), K), nd._per_step(np.asarray(gb, float), K)])
    U = np.stack([nd._per_step(np.asarray(ua, float), K), nd._per_step(np.asarray(ub, float), K)])
    return G, U


def test_linear_closure_equals_moment_route_and_bessel_limit():
    """Linear phi: the Euler closure equals the Ginibre power-series route on the same grid (round-off),
    and converges to the continuous-depth route at rate O(Delta); constant gains give e^-2 I0(2 sqrt(ga gb))."""
    ga, ua, gb, ub = [0.3, 1.2], [0.5, -0.2], [1.1, 0.4], [0.0, 0.3]
    for K in (4, 20):
        G, U = _GU(ga, ua, gb, ub, K)
        C, _ = nd.closure(G, U, 2.0 / K, "linear")
        ref = nd.linear_closed_form(ga, ua, gb, ub, 2.0, n_depth=K)
        assert_allclose([C[0, 0, K, K], C[0, 1, K, K], C[1, 1, K, K]], ref, rtol=1e-12)
    cont = nd.linear_closed_form(ga, ua, gb, ub, 2.0)
    errs = []
    for K in (40, 80):
        G, U = _GU(ga, ua, gb, ub, K)
        errs.append(abs(nd.closure(G, U, 2.0 / K, "linear")[0][0, 1, K, K] - cont[1]))
    assert 1.8 < errs[0] / errs[1] < 2.2          # first order in Delta
    assert_allclose(nd.linear_closed_form([0.7], [0.0], [1.3], [0.0])[1], np.exp(-2) * i0(2 * np.sqrt(0.91)),
                    rtol=1e-12)


def test_closure_is_a_covariance():
    """C is symmetric and PSD as the covariance of (h_s(tau_k), h_*(tau_k)) over all depths; C(0,0) = 1."""
    G, U = _GU(D["g_init"], D["u_init"], D["g_teacher"], D["u_teacher"], 20)
    C, Cp = nd.closure(G, U, 0.1, "erf")
    big = np.block([[C[0, 0], C[0, 1]], [C[1, 0], C[1, 1]]])
    assert_allclose(big, big.T, atol=1e-14)
    assert np.linalg.eigvalsh(big).min() > -1e-12
    assert_allclose(C[:, :, 0, 0], 1.0)
    assert np.all(np.abs(Cp) <= 1.0)


def test_realizable_target_and_exact_gradient():
    """theta = theta* gives zero loss and gradient; the complex-step gradient equals central differences."""
    e, dg, du, _ = nd.loss_and_gradient(np.array(D["g_teacher"]), np.array(D["u_teacher"]), D["g_teacher"],
                                        D["u_teacher"], 2.0, 20)
    assert abs(e) < 1e-14 and np.abs(dg).max() < 1e-13 and np.abs(du).max() < 1e-13
    g, u = np.array([0.5, 0.8, 1.2, 0.9]), np.array([0.1, 0.0, -0.2, 0.3])
    e, dg, du, _ = nd.loss_and_gradient(g, u, D["g_teacher"], D["u_teacher"], 2.0, 20)
    h = 1e-6
    for p in range(4):
        for arr, grad in ((g, dg), (u, du)):
            ap, am = arr.copy(), arr.copy()
            ap[p] += h
            am[p] -= h
            args = (lambda a: (a, u)) if arr is g else (lambda a: (g, a))
            fp = nd.loss_and_gradient(*args(ap), D["g_teacher"], D["u_teacher"], 2.0, 20)[0]
            fm = nd.loss_and_gradient(*args(am), D["g_teacher"], D["u_teacher"], 2.0, 20)[0]
            assert_allclose(grad[p], (fp - fm) / (2 * h), rtol=1e-6, atol=1e-10)


def test_sympy_derivation_identity_and_kernel():
    """SymPy: E_J of the two-replica action = N W(order parameters); the saddle-point noise covariance,
    lambdified, equals g_a g_b C_phi^{ab} as used by the numerical closure."""
    d = sm.derive(T=2, N=2)
    assert d.order_parameter_identity
    f = sm.noise_kernel(d)
    G, U = _GU(D["g_init"], D["u_init"], D["g_teacher"], D["u_teacher"], 20)
    C, Cp = nd.closure(G, U, 0.1, "erf")
    ga = G[:, None, :, None]
    gb = G[None, :, None, :]
    sig = f(ga, gb, Cp)
    # the closure's output is the covariance of h^K = alpha x + sum_k (1 - dt)^(K-1-k) dt xi^k
    K, dt = 20, 0.1
    w = dt * (1 - dt) ** (K - 1 - np.arange(K))
    alpha = np.ones(2)
    for k in range(K):
        alpha = (1 - dt) * alpha + dt * U[:, k]
    pred = np.outer(alpha, alpha) + np.einsum("k,abkl,l->ab", w, sig, w)
    assert_allclose(pred, C[:, :, K, K], rtol=1e-12)


def test_sympy_linear_closure_matches_numerics():
    """The single-site process read off the SymPy saddle point, solved symbolically (linear phi, T = 2),
    equals the numerical closure at the same grid for random controls."""
    Cs, G, U = sm.linear_output_covariance(2)
    fn = sp.lambdify((list(G), list(U), sm.dt), Cs, "numpy")
    rng = np.random.default_rng(0)
    for _ in range(3):
        gv, uv, dt = rng.normal(size=(2, 2)), rng.normal(size=(2, 2)), float(rng.uniform(0.1, 0.6))
        sym = np.array(fn(list(gv.ravel()), list(uv.ravel()), dt), dtype=float).reshape(2, 3, 2, 3)
        num, _ = nd.closure(gv, uv, dt, "linear")
        assert_allclose(sym.transpose(0, 2, 1, 3), num, atol=1e-13)


def test_backprop_gradient_matches_closure_gradient():
    """Sample-averaged backprop gradients of the N-dim system approach the closure gradient:
    |mean - theory| <= 4 sem + c / N (finite-N bias O(1/N); seed spread O(1/sqrt N))."""
    e, dg, du, _ = nd.loss_and_gradient(np.array(D["g_init"]), np.array(D["u_init"]), D["g_teacher"],
                                        D["u_teacher"], 2.0, 20)
    for N in (100, 400):
        loss, gg, gu = nd.sample_gradient(N, seeds=6, n_samples=32)
        for est, ref in ((loss, e), (gg, dg), (gu, du)):
            m = est.mean(axis=0)
            sem = est.std(axis=0, ddof=1) / np.sqrt(est.shape[0])
            assert np.all(np.abs(m - ref) <= 4 * sem + 0.3 / N), (N, m, ref, sem)


def test_theory_vs_simulation_two_sizes():
    """Online SGD at N = 100 and 400 (8 seeds) follows the closure's gradient descent:
    |seed mean - theory| <= 4 sem + c / N at every recorded time (bias O(1/N))."""
    t = [0.0, 2.5, 5.0]
    th = nd.theory(t=t)
    for N in (100, 400):
        sim = nd.simulate(N, t=t, seeds=8)
        dev = np.abs(sim.test_error - th.test_error)
        assert np.all(dev <= 4 * sim.test_error_sem + 0.3 / N), (N, dev, sim.test_error_sem)
        assert np.all(np.abs(sim.g - th.g) <= 4 * sim.g_sem + 3.0 / N)
        assert np.all(np.abs(sim.C_diag - th.C_diag) <= 4 * sim.C_diag_sem + 3.0 / N)
    assert not sim.diverged and sim.C_final.shape == th.C_final.shape


def test_stored_runs_agree_with_tolerance_shrinking_with_N():
    """The chapter's runs (N = 200 ... 1600, N x seeds = 12800): the seed mean is within 4 sem + 0.3 / N of
    the theory at every time (bias O(1/N)), and the spread of one run at t = 2, where the gradient is
    large, falls as N^(-1/2) (sqrt(N) x spread constant within a factor 1.5)."""
    runs = nd.load_results(ROOT / "book" / "data" / "neural_ode_dmft_runs.npz")
    th = nd.theory()
    scaled = []
    for N in (200, 400, 800, 1600):
        sim = runs[f"N{N}"]
        assert_allclose(sim.t, th.t)
        dev = np.abs(sim.test_error - th.test_error)
        assert np.all(dev <= 4 * sim.test_error_sem + 0.3 / N), (N, dev, sim.test_error_sem)
        scaled.append(np.sqrt(N) * np.std(sim.test_error_seeds[:, 1], ddof=1))
    assert 1 / 1.5 < scaled[-1] / scaled[0] < 1.5, scaled


def test_stored_bias_scan_small_N():
    """The bias scan (512 seeds at N = 50, 256 at N = 100): the relative bias d of the seed mean is below
    0.6 % of E_g, within 3 sem + 0.5 / N of zero (bias O(1/N), |c| <= 0.5 as fitted over N = 50...1600), and
    the spread of one run is larger at N = 50 than at N = 100 (O(N^-1/2) to O(N^-1))."""
    bias = nd.load_results(ROOT / "book" / "data" / "neural_ode_dmft_bias.npz")
    th = nd.theory()
    dev = nd.finite_size_deviation(th, [bias["N50_c0"], bias["N100_c0"]])
    assert dev.n_seeds.tolist() == [512, 256]
    assert np.all(np.abs(dev.bias) < 0.006), dev.bias
    assert np.all(np.abs(dev.bias) <= 3 * dev.bias_sem + 0.5 / dev.N), (dev.bias, dev.bias_sem)
    assert dev.spread[0] > dev.spread[1]


def test_divergence_flag():
    """Gradient descent with a huge step on linear dynamics leaves the finite range: flagged, not silent."""
    th = nd.theory(t=[0.0, 10.0, 20.0], eta=10.0, phi="linear", g_teacher=(5.0,) * 4, tau_max=4.0)
    assert th.diverged and np.isnan(th.test_error[-1])


@pytest.mark.parametrize("kw", [
    dict(eta=np.nan), dict(eta=-1.0), dict(eta="0.5"), dict(tau_max=0.0), dict(tau_max=np.inf),
    dict(n_depth=0), dict(n_depth=2.5), dict(n_depth=30), dict(batch=0), dict(phi="tanhh"),
    dict(t=[]), dict(t=[1.0, 0.5]), dict(t=[0.0, 0.3]), dict(t=[0.0, np.nan]), dict(g_teacher=()),
    dict(g_teacher=(1.0, 2.0)), dict(u_init=[[0.0] * 4]), dict(g_init=(np.inf,) * 4), dict(g_teacher="abc"),
    dict(t=[0.0, 1e9]),
])
def test_bad_input_theory(kw):
    with pytest.raises(ValueError):
        nd.theory(**kw)


@pytest.mark.parametrize("kw", [
    dict(N=0), dict(N=-5), dict(N=2.0), dict(N=10**9), dict(seeds=-1), dict(seeds=[1, 1]), dict(seeds="3"),
    dict(seeds=None), dict(seeds=[0, -2]), dict(n_test=0), dict(N=10000, seeds=64, t=np.arange(0.0, 2001.0, 0.5)),
])
def test_bad_input_simulate(kw):
    kw.setdefault("N", 20)
    with pytest.raises(ValueError):
        nd.simulate(**kw)


def test_bad_input_closure_and_kernels():
    G, U = np.full((2, 4), 0.5), np.zeros((2, 4))
    for bad in (dict(G=np.full((3, 4), 0.5)), dict(G=np.full((2, 4), np.nan)), dict(G="abc"), dict(U=np.zeros((2, 3))),
                dict(dt=0.0), dict(dt=np.inf), dict(dt=2.0), dict(phi="relu"), dict(G=np.full((2, 4), 1e9))):
        kw = dict(G=G, U=U, dt=0.25, phi="erf")
        kw.update(bad)
        with pytest.raises(ValueError):
            nd.closure(**kw)
    for args in ((np.nan, 1.0, 0.5), (-1.0, 1.0, 0.5), (1.0, 1.0, 2.0), ([1.0, 1.0], [1.0, 1.0, 1.0], 0.0)):
        with pytest.raises(ValueError):
            nd.phi_kernel(*args)
    with pytest.raises(ValueError):
        nd.phi_fn(np.inf)
    with pytest.raises(ValueError):
        nd.phi_fn(1.0, phi="tanh")
    with pytest.raises(ValueError):
        nd.loss_and_gradient([0.5], [0.0], [1.0, 2.0], [0.0], 1.0, 10)
    with pytest.raises(ValueError):
        nd.loss_and_gradient([0.5], [0.0], [1.0], [0.0], -1.0, 10)
    with pytest.raises(ValueError):
        nd.save_results("/tmp/never.npz", th="not a result")
    with pytest.raises(ValueError):
        nd.plot_learning_curve("not a result")
    with pytest.raises(ValueError):
        nd.finite_size_deviation(nd.theory(t=[0.0, 1.0]), [])


def test_bad_input_others():
    with pytest.raises(ValueError):
        nd.linear_closed_form([1.0], [0.0], [1.0, 2.0], [0.0])
    with pytest.raises(ValueError):
        nd.linear_closed_form([1.0], [0.0], [1.0], [0.0], tau_max=-1.0)
    with pytest.raises(ValueError):
        nd.sample_gradient(0)
    with pytest.raises(ValueError):
        nd.plot_widget(g_star=np.nan)
    with pytest.raises(ValueError):
        sm.derive(T=0)
    with pytest.raises(ValueError):
        sm.noise_kernel("not a derivation")


def test_data_script_small_instance_and_roundtrip(tmp_path):
    """The chapter's data script (small instance) through the same code path, saved and loaded back."""
    sys.path.insert(0, str(ROOT / "book" / "data"))
    import neural_ode_dmft_make as mk
    res = mk.make(small=True)
    nd.save_results(tmp_path / "x.npz", **res)
    back = nd.load_results(tmp_path / "x.npz")
    assert set(back) == {"N40", "N80"}
    assert_allclose(back["N80"].test_error, res["N80"].test_error)
    assert back["N80"].N == 80 and back["N80"].n_seeds == 2
    th = nd.theory(t=res["N40"].t)
    dev = nd.finite_size_deviation(th, [back["N40"], back["N80"]])
    assert dev.N.tolist() == [40, 80] and np.all(dev.spread > 0)
    bias = mk.make_bias(small=True)            # the bias scan: seeds from BIAS_SEED0 on, chunks N<N>_c<k>
    assert set(bias) == {"N20_c0", "N40_c0"} and bias["N20_c0"].n_seeds == 4
    assert not np.any(np.isin(np.arange(mk.BIAS_SEED0, mk.BIAS_SEED0 + max(mk.BIAS_RUNS.values())),
                              np.arange(max(mk.RUNS.values()))))


def test_plots_run():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    th = nd.theory(t=[0.0, 1.0, 2.0])
    sim = nd.simulate(30, t=[0.0, 1.0, 2.0], seeds=2)
    nd.plot_learning_curve(th, [sim])
    nd.plot_depth_overlap(th, sim)
    nd.plot_widget(g_star=1.2, t_max=2.0)
    plt.close("all")


def test_hessian_at_teacher_is_psd_and_matches_gradient_differences():
    """At the teacher the closure loss is minimal: Hessian symmetric PSD, and H @ d ~ grad(theta* + d) for small d."""
    gT, uT = np.array(D["g_teacher"]), np.array(D["u_teacher"])
    H = nd.hessian(gT, uT)
    assert np.linalg.eigvalsh(H).min() > -1e-8
    d = 1e-4 * np.random.default_rng(1).standard_normal(8)
    _, dg, du, _ = nd.loss_and_gradient(gT + d[:4], uT + d[4:], gT, uT, 2.0, 20)
    assert_allclose(np.concatenate([dg, du]), H @ d, rtol=1e-3, atol=1e-10)
    with pytest.raises(ValueError):
        nd.hessian(gT, uT, h=0.0)
    with pytest.raises(ValueError):
        nd.hessian(gT[:3], uT)
