"""Tests of dmftlib.deep_linear.

Error model of the theory-vs-simulation tolerances: the theory is the limit N -> infinity first (width), then
D, P -> infinity at fixed alpha (data). A simulation at finite (N, D) differs from it by (i) the sample
fluctuation of each seed, O(D^{-1/2}), measured by the standard error over seeds, (ii) an O(1/D) bias from the
data and (iii) an O(D/N) bias from the Wishart initial Gram matrix G(0) = W0^T W0 / N (its first-order effect
averages out). Tolerance: ``4 sem + c (1/D + D/N)``. The top eigenvalue of G at finite width is compared with
the Baik-Ben Arous-Peche correction of the theory (``finite_width_spike``), whose error is O((D/N)^{1/2}).
"""
import numpy as np
import pytest
import sympy as sp
from numpy.testing import assert_allclose

from dmftlib import ConvergenceError, linear
from dmftlib import deep_linear as dl


# ---------------------------------------------------------------- Saxe modes
def _chain_flow(S_target, a0, depth, T, dt, D=4, seed=0):
    """Gradient flow (RK4) of a depth-L matrix chain W_L...W_1 on (1/2)|Sigma_yx - W_L...W_1|_F^2 (whitened
    inputs), from a balanced initialization aligned with the target's singular vectors; returns the
    singular values of the product at the times 0, dt, ..., T."""
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((D, D)))[0]
    V = np.linalg.qr(rng.standard_normal((D, D)))[0]
    R = [np.linalg.qr(rng.standard_normal((D, D)))[0] for _ in range(depth - 1)]
    Y = U @ np.diag(S_target) @ V.T
    d = np.diag(np.full(D, a0 ** (1.0 / depth)))
    bases = [V] + R + [U]                       # W_l = bases[l] d bases[l-1]^T (balanced)
    Ws = [bases[l + 1] @ d @ bases[l].T for l in range(depth)]

    def prod(Ws, lo, hi):
        out = np.eye(D)
        for W in Ws[lo:hi]:
            out = W @ out
        return out

    def rhs(Ws):
        E = Y - prod(Ws, 0, depth)
        return [prod(Ws, l + 1, depth).T @ E @ prod(Ws, 0, l).T for l in range(depth)]

    out = [np.sort(np.linalg.svd(prod(Ws, 0, depth), compute_uv=False))[::-1]]
    for _ in range(int(round(T / dt))):
        k1 = rhs(Ws)
        k2 = rhs([W + 0.5 * dt * k for W, k in zip(Ws, k1)])
        k3 = rhs([W + 0.5 * dt * k for W, k in zip(Ws, k2)])
        k4 = rhs([W + dt * k for W, k in zip(Ws, k3)])
        Ws = [W + dt / 6 * (a + 2 * b + 2 * c + e) for W, a, b, c, e in zip(Ws, k1, k2, k3, k4)]
        out.append(np.sort(np.linalg.svd(prod(Ws, 0, depth), compute_uv=False))[::-1])
    return np.array(out)


def test_saxe_closed_forms():
    t = np.linspace(0, 6, 61)
    s, a0 = 2.5, 1e-3
    assert_allclose(dl.saxe_mode(s, a0, t, depth=1), s + (a0 - s) * np.exp(-t), rtol=1e-12)
    assert_allclose(dl.saxe_mode(s, a0, t, depth=2), s * np.exp(2 * s * t) / (np.exp(2 * s * t) - 1 + s / a0),
                    rtol=1e-12)
    # time to half-learn for L = 2: (1/2s) log((s - a0)/a0)
    assert_allclose(dl.saxe_time(s, a0, depth=2), np.log((s - a0) / a0) / (2 * s), rtol=1e-12)


@pytest.mark.parametrize("depth", [3, 4])
def test_saxe_mode_matches_matrix_chain(depth):
    S = np.array([3.0, 2.0, 1.0, 0.5])
    a0, dt, T = 0.02, 0.002, 4.0
    sv = _chain_flow(S, a0, depth, T, dt)
    t = np.arange(sv.shape[0]) * dt
    for k, s in enumerate(S):
        # RK4 at dt = 0.002 is exact to ~1e-9 here; the ODE solution is exact to ~1e-12
        assert_allclose(sv[:, k], dl.saxe_mode(s, a0, t, depth), rtol=1e-7, atol=1e-9)


def test_saxe_depth_sharpens_and_slows():
    # deeper networks: later, sharper transitions (time to half-learn grows with depth at small a0)
    times = [dl.saxe_time(1.0, 1e-3, depth=L) for L in (1, 2, 3, 4)]
    assert np.all(np.diff(times) > 0)
    # 10% -> 90% rise time relative to the half time shrinks with depth
    rel = [(dl.saxe_time(1.0, 1e-3, L, 0.9) - dl.saxe_time(1.0, 1e-3, L, 0.1)) / dl.saxe_time(1.0, 1e-3, L)
           for L in (2, 3, 4)]
    assert np.all(np.diff(rel) < 0)
    # L = 2: learning time ~ (1/s) log(s/a0) / 2: stronger modes first
    assert dl.saxe_time(3.0, 1e-3) < dl.saxe_time(1.0, 1e-3)


# ---------------------------------------------------------------- population limit (closed form, SymPy)
def test_population_clock_sympy():
    b, k = sp.symbols("b k", positive=True)
    y = 1 - b
    c = 1 + k**2
    F = sp.log((2 * c - 2 * k**2 * y + 2 * sp.sqrt(c) * sp.sqrt(k**2 * y**2 - 2 * k**2 * y + c)) / y) / sp.sqrt(c)
    clock = F - F.subs(b, 0)
    integrand = 1 / ((1 - b) * sp.sqrt(1 + k**2 * b**2))
    resid = sp.lambdify((b, k), sp.diff(clock, b) - integrand, "numpy")
    bb, kk = np.meshgrid(np.linspace(0.01, 0.99, 9), [0.0, 0.7, 2.0, 5.0])
    assert np.max(np.abs(resid(bb, kk))) < 1e-10
    assert sp.simplify(clock.subs(b, 0)) == 0
    # and the library's clock is the same function
    lam_clock = sp.lambdify((b, k), clock, "numpy")
    for kv in (0.0, 2.0):
        bv = np.array([0.1, 0.5, 0.9])
        assert_allclose(dl._population_clock(1 - bv, kv), lam_clock(bv, kv), rtol=1e-12)


def test_population_curve_solves_its_ode():
    t = np.linspace(0, 5, 501)
    for g0 in (0.0, 0.5, 2.0):
        b, q = 0.0, 0.0
        bs = [b]
        h = t[1] - t[0]

        def f(b, q):   # the (b, q) system before using the conservation law q + q^2 = g0^2 b^2
            return (1 + 2 * q) * (1 - b), 2 * g0**2 * b * (1 - b)
        for _ in range(t.size - 1):
            k1 = f(b, q); k2 = f(b + h / 2 * k1[0], q + h / 2 * k1[1])
            k3 = f(b + h / 2 * k2[0], q + h / 2 * k2[1]); k4 = f(b + h * k3[0], q + h * k3[1])
            b += h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
            q += h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
            bs.append(b)
        assert_allclose(dl.population_curve(g0, t), bs, atol=1e-9)


def test_theory_large_alpha_tends_to_population():
    t = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    th = dl.theory(1e4, 0.0, 1.5, t, dt=0.02, n_quad=40, error_estimate=False)
    b = dl.population_curve(1.5, t)
    # Marchenko-Pastur width ~ 2 alpha^{-1/2} = 0.02: deviations of that order
    assert_allclose(th.overlap, b, atol=0.02)
    assert_allclose(th.q, (-1 + np.sqrt(1 + 4 * 1.5**2 * b**2)) / 2, atol=0.03)


# ---------------------------------------------------------------- theory: limits and invariants
@pytest.fixture(scope="module")
def rich():
    t = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0])
    return dl.theory(2.0, 0.25, 1.0, t, dt=0.05)


def test_lazy_limit_is_linear_regression():
    t = np.array([0.0, 0.3, 1.0, 3.0, 10.0])
    for alpha, sigma2 in ((0.5, 0.3), (2.0, 0.25)):
        th = dl.theory(alpha, sigma2, 0.0, t, dt=0.02, n_quad=200, error_estimate=False)
        lin = linear.gradient_flow_theory(alpha, sigma2, t, n_quad=200)
        C, _ = linear.correlation_theory(alpha, sigma2, t, n_quad=200)
        assert_allclose(th.test_error, lin.test_error, atol=1e-7)   # RK4 error ~ (lam_max dt)^4 at dt = 0.02
        assert_allclose(th.train_error, lin.train_error, atol=1e-7)
        assert_allclose(th.C, C, atol=1e-7)
        assert np.all(th.q == 0) and np.all(th.spike == 1.0)


def test_theory_invariants(rich):
    assert_allclose(rich.test_error[0], 1.0, atol=1e-12)
    assert_allclose(rich.train_error[0], 1.25, atol=1e-12)
    assert_allclose(np.diag(rich.C), rich.test_error, rtol=1e-12)
    assert np.allclose(rich.C, rich.C.T) and np.linalg.eigvalsh(rich.C).min() > -1e-12
    assert np.all(np.diff(rich.q) > 0) and np.all(np.diff(rich.train_error) < 0)
    assert np.all(rich.spike >= 1.0) and np.all((rich.spike_overlap >= 0) & (rich.spike_overlap <= 1))
    assert np.all(np.diff(rich.outliers, axis=1) <= 0)
    assert rich.error_estimate < 1e-4
    # the spike's overlap with the teacher tends to 1/(1 + (1 + sigma2)/alpha) as t -> 0+
    th = dl.theory(2.0, 0.25, 1.0, [0.0, 1e-3], dt=1e-4, n_quad=80, error_estimate=False)
    assert_allclose(th.spike_overlap, 1 / (1 + 1.25 / 2), atol=1e-3)
    assert not rich.test_error.flags.writeable


def test_long_time_limit_is_least_squares():
    # alpha > 1: the preconditioner stays positive definite, so every richness reaches least squares
    for g0 in (0.0, 1.0, 2.0):
        th = dl.theory(4.0, 0.5, g0, [0.0, 80.0], dt=0.05, n_quad=60, error_estimate=False)
        assert_allclose(th.test_error[-1], 0.5 / 3.0, rtol=1e-5)


def test_feature_learning_speeds_up_learning():
    t = np.array([0.0, 1.0, 2.0])
    eg = [dl.theory(2.0, 0.0, g0, t, dt=0.05, n_quad=60, error_estimate=False).test_error[1] for g0 in (0, 1, 2)]
    assert eg[0] > eg[1] > eg[2]


def test_dt_guard():
    with pytest.raises(ConvergenceError, match="dt"):
        dl.theory(2.0, 0.0, 5.0, [0.0, 5.0], dt=0.5, n_quad=40, error_estimate=False)


# ---------------------------------------------------------------- simulation: exactness of the reduction
def _network_flow(N, D, alpha, sigma2, gamma0, T, dt, seed):
    """Gradient flow (RK4) on the network's own weights (W, v): f(x) = v^T W x / (gamma0 N) (v is called a here)."""
    P = int(round(alpha * D))
    rng = np.random.default_rng(seed)            # same draw order as deep_linear._draw
    X = rng.standard_normal((P, D)); bstar = rng.standard_normal(D); eps = rng.standard_normal(P)
    W = rng.standard_normal((N, D)); a = np.zeros(N)
    y = X @ bstar / np.sqrt(D) + np.sqrt(sigma2) * eps

    def rhs(W, a):
        r = y - X @ (W.T @ a) / (gamma0 * N)                # residuals
        g = np.sqrt(D) / P * X.T @ r
        return gamma0 * np.outer(a, g) / np.sqrt(D), gamma0 * W @ g / np.sqrt(D)

    C0 = W @ W.T - np.outer(a, a)
    for _ in range(int(round(T / dt))):
        k1 = rhs(W, a); k2 = rhs(W + dt / 2 * k1[0], a + dt / 2 * k1[1])
        k3 = rhs(W + dt / 2 * k2[0], a + dt / 2 * k2[1]); k4 = rhs(W + dt * k3[0], a + dt * k3[1])
        W = W + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        a = a + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    beta = np.sqrt(D) * W.T @ a / (gamma0 * N)
    return np.mean((beta - bstar) ** 2), a @ a / N, np.linalg.eigvalsh(W.T @ W / N)[-1], \
        np.abs(W @ W.T - np.outer(a, a) - C0).max()


def test_simulate_is_the_network_gradient_flow():
    N, D, alpha, sigma2, g0, T = 30, 12, 1.5, 0.2, 1.3, 3.0
    sim = dl.simulate(N, D, alpha, sigma2, g0, [0.0, T], seeds=[5, 9], dt=0.01)
    ref = [_network_flow(N, D, alpha, sigma2, g0, T, 0.01, s) for s in (5, 9)]
    assert_allclose(sim.test_error[-1], np.mean([r[0] for r in ref]), rtol=1e-8)
    assert_allclose(sim.q[-1], np.mean([r[1] for r in ref]), rtol=1e-8)
    assert_allclose(sim.spike[-1], np.mean([r[2] for r in ref]), rtol=1e-8)
    assert max(r[3] for r in ref) < 1e-7   # W W^T - a a^T is conserved (RK4 keeps it to O(dt^4))


def test_simulate_lazy_orthogonal_is_linear_simulation():
    t = np.array([0.0, 0.5, 2.0, 6.0])
    sim = dl.simulate(60, 60, 1.5, 0.3, 0.0, t, seeds=3, dt=0.02, init="orthogonal")
    lin = linear.simulate_gradient_flow(60, 1.5, 0.3, t, seeds=range(3))
    assert_allclose(sim.test_error, lin.test_error, rtol=1e-7)     # RK4 at dt = 0.02 against the exact solution
    assert_allclose(sim.train_error, lin.train_error, rtol=1e-7)


def test_orthogonal_init_removes_the_width():
    t = np.array([0.0, 1.0, 3.0])
    a = dl.simulate(20, 20, 2.0, 0.1, 1.0, t, seeds=2, init="orthogonal")
    b = dl.simulate(500, 20, 2.0, 0.1, 1.0, t, seeds=2, init="orthogonal")
    assert_allclose(a.test_error, b.test_error, rtol=1e-13)
    assert_allclose(a.spike, b.spike, rtol=1e-13)


# ---------------------------------------------------------------- theory vs simulation
T_CMP = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0])


@pytest.fixture(scope="module")
def cmp_theory():
    return dl.theory(2.0, 0.25, 2.0, T_CMP, dt=0.05, n_quad=100)


@pytest.mark.parametrize("N,D,seeds", [(800, 40, 12), (3200, 80, 8)])
def test_theory_vs_simulation(cmp_theory, N, D, seeds):
    th = cmp_theory
    sim = dl.simulate(N, D, 2.0, 0.25, 2.0, T_CMP, seeds=seeds)
    bias = 1.0 / D + D / N                         # expected O(1/D + D/N) bias
    for f in ("test_error", "train_error", "overlap", "q"):
        dev = np.abs(getattr(sim, f) - getattr(th, f))
        assert np.all(dev <= 4 * getattr(sim, f + "_sem") + 2.0 * bias), f
    # the spike: N -> infinity theory seen through the Wishart bulk; error O((D/N)^{1/2})
    z, c2 = dl.finite_width_spike(th, N, D)
    late = th.t >= 1.0
    assert np.all(np.abs(sim.spike - z)[late] <= 4 * sim.spike_sem[late] + np.sqrt(D / N))
    assert np.all(np.abs(sim.spike_overlap - c2)[late] <= 4 * sim.spike_overlap_sem[late] + np.sqrt(D / N))


def test_make_script_small_instance():
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[1] / "book" / "data" / "deep_linear_make.py"
    spec = importlib.util.spec_from_file_location("deep_linear_make", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.make(Ds=(16, 24), n_seeds=3, t=np.array([0.0, 1.0, 2.0]))
    assert out["test_error"].shape == (2, 3) and np.all(np.isfinite(out["test_error"]))
    assert np.all(out["test_error_sem"] > 0)


# ---------------------------------------------------------------- bad input
def test_bad_input():
    with pytest.raises(ValueError, match="a0"):
        dl.saxe_mode(1.0, 2.0, [0.0, 1.0])
    with pytest.raises(ValueError, match="depth"):
        dl.saxe_mode(1.0, 0.1, [0.0, 1.0], depth=0)
    with pytest.raises(ValueError, match="t"):
        dl.saxe_mode(1.0, 0.1, [1.0, 0.5])
    with pytest.raises(ValueError, match="alpha"):
        dl.theory(0.0, 0.1, 1.0, [0.0, 1.0])
    with pytest.raises(ValueError, match="gamma0"):
        dl.theory(1.0, 0.1, np.nan, [0.0, 1.0])
    with pytest.raises(ValueError, match="sigma2"):
        dl.simulate(10, 10, 1.0, -1.0, 1.0, [0.0, 1.0], seeds=2)
    with pytest.raises(ValueError, match="seeds"):
        dl.simulate(10, 10, 1.0, 0.0, 1.0, [0.0, 1.0], seeds=[1, 1])
    with pytest.raises(ValueError, match="init"):
        dl.simulate(10, 10, 1.0, 0.0, 1.0, [0.0, 1.0], seeds=2, init="xavier")
    with pytest.raises(ValueError, match="N >= D"):
        dl.simulate(5, 10, 1.0, 0.0, 1.0, [0.0, 1.0], seeds=2, init="orthogonal")
    with pytest.raises(ValueError, match="limit"):
        dl.simulate(10**6, 4000, 1.0, 0.0, 1.0, [0.0, 100.0], seeds=50)
    with pytest.raises(ValueError, match="result"):
        dl.finite_width_spike("theory", 10, 10)
    with pytest.raises(ValueError, match="error_estimate"):
        dl.theory(1.0, 0.1, 1.0, [0.0, 1.0], error_estimate="False")


# ---------------------------------------------------------------- the two-time kernel
def test_response_kernel_lazy_and_consistency():
    t, K = dl.response_kernel(2.0, 0.25, 0.0, 4.0, n=41)
    assert_allclose(np.tril(K), np.tril(np.ones_like(K)), atol=1e-12)      # lazy: K = 1, TTI
    assert np.all(np.triu(K, 1) == 0)
    # rich: every mode obeys r(t) = int_0^t K(t,t') (1 - lam r(t')) dt' (trapezoid, error O(dt^2))
    errs = []
    for n in (41, 81):
        t, K = dl.response_kernel(2.0, 0.25, 1.5, 4.0, n=n, n_quad=60)
        lam, w = linear.mp_quadrature(2.0, 60)
        keep = (w > 0) & (lam > 0)
        r, q, _, _ = dl._theory_run(lam[keep], w[keep], lam[keep] ** 2 + 0.125 * lam[keep], t, 1.5, 0.01, 1,
                                    spikes=False)
        h = t[1]
        Wt = np.tril(np.full((n, n), h)); Wt[np.arange(n), np.arange(n)] = h / 2; Wt[:, 0] = h / 2; Wt[0, 0] = 0
        errs.append(np.abs((K * Wt) @ (1 - lam[keep] * r) - r).max())
        assert_allclose(np.diag(K), 1 + q, rtol=1e-5)    # q from a run at dt = 0.01 against 0.1 (RK4)
    assert errs[1] < errs[0] / 3.5 and errs[1] < 2e-3                      # second order in dt
    # time-translation invariance is lost: K(t' + tau, t') grows with t'
    k = n // 4
    assert K[2 * k, k] > K[k, 0] + 0.1


# ---------------------------------------------------------------- the rank-one spike (conservation law)
def test_spike_is_rank_one_along_beta():
    # G(0) = I and a(0) = 0: W W^T - a a^T = W0 W0^T is N x a projector, so G = I + q beta beta^T/|beta|^2 and
    # q + q^2 = gamma0^2 |beta|^2 / D; the theory (which does not use this) must reproduce it
    t = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    th = dl.theory(2.0, 0.25, 2.0, t, dt=0.02, n_quad=80, error_estimate=False)
    b2 = th.test_error - 1 + 2 * th.overlap                    # |beta|^2 / D
    assert_allclose(th.spike, 1 + th.q, atol=1e-6)             # RK4 error
    assert_allclose(th.q + th.q**2, 4.0 * b2, atol=1e-6)
    assert_allclose(th.spike_overlap[1:], th.overlap[1:] ** 2 / b2[1:], atol=1e-6)
    assert np.all(np.abs(th.outliers[:, 1:] - 1.0) < 1e-6)       # the other eigenvalues of G stay at 1
    sim = dl.simulate(120, 40, 2.0, 0.25, 2.0, t, seeds=2, dt=0.02, init="orthogonal")
    assert_allclose(sim.spike[1:], 1 + sim.q[1:], atol=1e-6)


def test_local_closure_is_a_second_route():
    # the DMFT closes on equal-time quantities: dr/dt = (1+q)(1 - lam r) + q r c/Q, Q = <w r^2>, c = <w r (1 - lam r)>
    lam, w = linear.mp_quadrature(2.0, 80)
    keep = w > 0
    lam, w = lam[keep], w[keep]
    om = w * (lam**2 + 0.125 * lam)
    atom = 0.0
    r, h, ts = np.zeros(lam.size), 0.01, [1.0, 3.0]

    def f(r):
        Q = om @ r**2
        c = om @ (r * (1 - lam * r))
        q = (-1 + np.sqrt(1 + 4 * 1.5**2 * Q)) / 2
        return (1 + q) * (1 - lam * r) + (q * c / Q * r if Q > 0 else 0.0)
    out = []
    for k in range(1, 301):
        k1 = f(r); k2 = f(r + h / 2 * k1); k3 = f(r + h / 2 * k2); k4 = f(r + h * k3)
        r = r + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if k in (100, 300):
            out.append(((1 - lam * r) ** 2 + 0.125 * lam * r**2) @ w + atom)
    th = dl.theory(2.0, 0.25, 1.5, [0.0] + ts, dt=0.01, n_quad=80, error_estimate=False)
    assert_allclose(th.test_error[1:], out, atol=1e-8)


def test_plot_functions_and_more_bad_input():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ax = dl.plot_saxe_modes(depth=3, a0=1e-3, t_max=4.0)
    assert len(ax.lines) == 5
    ax = dl.plot_learning_curves(alpha=1.0, sigma=0.3, gamma0=1.0, t_max=10.0)
    assert len(ax.lines) == 4
    plt.close("all")
    with pytest.raises(ValueError, match="gamma0"):
        dl.population_curve(np.inf, [0.0, 1.0])
    with pytest.raises(ValueError, match="t_max"):
        dl.response_kernel(2.0, 0.0, 1.0, -1.0)
    with pytest.raises(ValueError, match="fraction"):
        dl.saxe_time(1.0, 0.1, 2, fraction=1.0)
    with pytest.raises(ValueError, match="limit"):
        dl.theory(2.0, 0.0, 1.0, [0.0, 1e6])
