r"""Kuramoto oscillators on dense random graphs drawn from a graphon, and their mean-field limit.

$N$ phase oscillators at positions $x_i = (i - 1/2)/N$ in $[0, 1]$,

.. math::

    &\frac{d\theta_i}{dt} = \omega_i + \frac{K}{N}\sum_{j=1}^N A_{ij}\,\sin(\theta_j - \theta_i),\\
    &A_{ij} = A_{ji}\sim\mathrm{Bernoulli}\big(W(x_i, x_j)\big),\ A_{ii} = 0,

with natural frequencies $\omega_i$ drawn from a symmetric unimodal density $g$
(``"gaussian"`` with standard deviation ``width``, or ``"lorentzian"`` with half-width ``width``).
Here $K$ is the coupling strength (a local symbol: elsewhere in the book $K$ is a
width or a kernel). Graphons: ``"constant"`` $W = p$ (Erdos-Renyi), ``"min"``
$W(x, y) = \min(x, y)$, and ``"1-max"`` $W(x, y) = 1 - \max(x, y)$.

As $N\to\infty$ (graph limit; Medvedev 2014, Chiba & Medvedev 2019) the oscillators at
position $x$ feel the local field $K R(x) e^{i\psi}$ with
$R(x) = \int_0^1 W(x, y)\,r(y)\,dy$, where $r(x)$ is the local order parameter. In a
stationary state (common phase $\psi$, symmetric $g$) the locked oscillators
($|\omega| < K R(x)$) sit at $\sin(\theta-\psi) = \omega/(K R(x))$ and the drifting ones
do not contribute, which gives the self-consistency (Kuramoto 1975; Strogatz 2000)

.. math::

    r(x) = F\big(K R(x)\big),\qquad
    F(a) = a\int_{-\pi/2}^{\pi/2}\cos^2 s\; g(a\sin s)\,ds .

For $W = p$ this is $r = F(K p r)$: $r = 0$ for $K \le K_c$ and a
nonzero branch above $K_c = 2/(\pi g(0) p)$; for the Lorentzian $r = \sqrt{1 - 2\gamma/(Kp)}$
exactly. For a general graphon the transition is at $K_c = 2/(\pi g(0)\lambda_{\max})$, with
$\lambda_{\max}$ the top eigenvalue of the integral operator of $W$
($4/\pi^2$ for ``"min"`` and ``"1-max"``).

References: Y. Kuramoto, Lecture Notes in Physics 39 (1975); S. H. Strogatz, Physica D 143, 1 (2000);
G. S. Medvedev, SIAM J. Math. Anal. 46, 2743 (2014); H. Chiba and G. S. Medvedev, Discrete Contin.
Dyn. Syst. A 39, 131 (2019).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import erfinv

from .core import (ConvergenceError, ReadOnlyArrays, check_array, check_budget, check_choice,
                   check_int, check_real, check_seeds, mean_sem)
from .plotting import new_figure, plot_simulation, plot_theory

__all__ = ["DISTRIBUTIONS", "GRAPHONS", "frequency_density", "frequency_quantiles", "graphon",
           "locked_fraction_map", "stationary_order_parameter", "critical_coupling",
           "KuramotoTheory", "theory", "KuramotoSimulation", "simulate", "sample_graph",
           "plot_order_parameter"]

DISTRIBUTIONS = ("gaussian", "lorentzian")
GRAPHONS = ("constant", "min", "1-max")
_NS = 256                     # Gauss-Legendre nodes in s for F(a)
_S, _WS = np.polynomial.legendre.leggauss(_NS)
_S, _WS = _S * (math.pi / 2), _WS * (math.pi / 2)
_COS2 = np.cos(_S) ** 2
_U, _WU = np.polynomial.legendre.leggauss(_NS)
_SIN = np.sin(_S)


def _check_dist(width, distribution):
    check_choice("distribution", distribution, DISTRIBUTIONS)
    return check_real("width", width, low=1e-6, high=1e6)


def _g(omega, width, distribution):
    if distribution == "gaussian":
        return np.exp(-0.5 * (omega / width) ** 2) / (width * math.sqrt(2 * math.pi))
    return width / (math.pi * (omega ** 2 + width ** 2))


def frequency_density(omega, width, distribution="gaussian"):
    r"""The density $g(\omega)$: Gaussian (standard deviation ``width``) or Lorentzian (half-width ``width``).

    >>> round(float(frequency_density(0.0, 1.0, "lorentzian")), 6)   # 1 / pi
    0.31831
    """
    width = _check_dist(width, distribution)
    return _g(check_array("omega", omega), width, distribution)


def frequency_quantiles(N, width, distribution="gaussian"):
    r"""Deterministic frequencies $\omega_i = G^{-1}((i - 1/2)/N)$, $i = 1..N$ ($G$ the CDF of g).

    Quantiles instead of random draws remove the $O(N^{-1/2})$ sample-to-sample spread of the
    empirical frequency law (the finite-N noise left is that of the graph and of the dynamics).

    >>> frequency_quantiles(4, 1.0, "lorentzian").round(3).tolist()
    [-2.414, -0.414, 0.414, 2.414]
    """
    N = check_int("N", N, low=1, high=10**8)
    width = _check_dist(width, distribution)
    u = (np.arange(N) + 0.5) / N
    if distribution == "gaussian":
        return width * math.sqrt(2.0) * erfinv(2 * u - 1)
    return width * np.tan(math.pi * (u - 0.5))


def graphon(x, y, kind="constant", p=1.0):
    r"""The graphon $W(x, y)$: ``"constant"`` (p), ``"min"`` (min(x, y)) or ``"1-max"`` (1 - max(x, y)).

    >>> float(graphon(0.25, 0.5, "min")), float(graphon(0.25, 0.5, "1-max"))
    (0.25, 0.5)
    """
    check_choice("graphon", kind, GRAPHONS)
    p = check_real("p", p, low=0.0, high=1.0, low_open=True)
    x = check_array("x", x, low=0.0, high=1.0)
    y = check_array("y", y, low=0.0, high=1.0)
    return _W(x, y, kind, p)


def _W(x, y, kind, p):
    if kind == "constant":
        return np.full(np.broadcast(x, y).shape, p)
    if kind == "min":
        return np.minimum(x, y)
    return 1.0 - np.maximum(x, y)


def _F(a, width, distribution):
    """F(a) = a int cos^2 s g(a sin s) ds for an array a >= 0 (real or complex for a complex-step derivative).

    Lorentzian: the closed form (sqrt(a^2 + gamma^2) - gamma) / a. Gaussian: Gauss-Legendre in s while
    the peak of g(a sin s) (width sigma/a in s) is resolved (a <= 12 sigma), else Gauss-Legendre in
    omega = a sin s over |omega| <= 12 sigma, F = int sqrt(1 - omega^2/a^2) g(omega) d omega."""
    a = np.asarray(a)
    if distribution == "lorentzian":
        safe = np.where(a == 0, 1.0, a)
        return np.where(a == 0, 0.0, (np.sqrt(safe * safe + width * width) - width) / safe)
    small = np.real(a) <= 12.0 * width
    a_s = np.where(small, a, 12.0 * width)
    a_l = np.where(small, 12.0 * width, a)
    f_s = a_s * (_g(a_s[..., None] * _SIN, width, distribution) @ (_WS * _COS2))
    om = 12.0 * width * _U
    f_l = np.sqrt(1.0 - (om / a_l[..., None]) ** 2) @ (_WU * 12.0 * width * _g(om, width, distribution))
    return np.where(small, f_s, f_l)


def locked_fraction_map(a, width, distribution="gaussian"):
    r"""The self-consistency map $F(a) = a\int_{-\pi/2}^{\pi/2}\cos^2 s\,g(a\sin s)\,ds$.

    $F(a)$ is the order parameter that oscillators with frequency law g produce in a field of
    strength $a$ ($F(a)\approx \pi g(0) a / 2$ for small a, $F\to 1$ as $a\to\infty$).

    >>> locked_fraction_map([0.0, 100.0], 1.0).round(4).tolist()
    [0.0, 0.9999]
    """
    width = _check_dist(width, distribution)
    a = check_array("a", a, low=0.0, high=1e8)
    return _F(a, width, distribution)


def _g0(width, distribution):
    return float(_g(0.0, width, distribution))


def _top_eigenvalue(kind, p):
    return p if kind == "constant" else 4.0 / math.pi ** 2


def critical_coupling(width, distribution="gaussian", p=1.0, graphon="constant"):
    r"""The onset of synchrony $K_c = 2/(\pi g(0)\lambda_{\max})$ ($\lambda_{\max} = p$ for W = p).

    >>> round(critical_coupling(1.0, "gaussian"), 4)      # 2 sqrt(2 pi) / pi
    1.5958
    >>> round(critical_coupling(0.5, "lorentzian", p=0.5), 4)   # 2 gamma / p
    2.0
    """
    width = _check_dist(width, distribution)
    check_choice("graphon", graphon, GRAPHONS)
    p = check_real("p", p, low=0.0, high=1.0, low_open=True)
    return 2.0 / (math.pi * _g0(width, distribution) * _top_eigenvalue(graphon, p))


def stationary_order_parameter(K, width, distribution="gaussian", p=1.0):
    r"""Stationary order parameter r of the Kuramoto model on the constant graphon p (N -> infinity).

    Solves $r = K p r\int_{-\pi/2}^{\pi/2}\cos^2 s\,g(K p r\sin s)\,ds$ for its nonzero root
    (Brent's method in r on (0, 1], Gauss-Legendre in s); returns 0 for $K\le K_c$. The
    Lorentzian uses the closed form $r = \sqrt{1 - 2\gamma/(Kp)}$.

    Parameters
    ----------
    K : float or array of floats >= 0
        Coupling strength (vectorized).
    width : float > 0
        Standard deviation of the Gaussian, or half-width gamma of the Lorentzian.
    distribution : {"gaussian", "lorentzian"}
    p : float in (0, 1]
        Edge probability of the Erdos-Renyi graph.

    >>> round(stationary_order_parameter(4.0, 1.0, "lorentzian"), 6)   # sqrt(1 - 2/4)
    0.707107
    >>> round(stationary_order_parameter(3.0, 1.0), 4), stationary_order_parameter(1.0, 1.0)
    (0.9252, 0.0)
    """
    width = _check_dist(width, distribution)
    p = check_real("p", p, low=0.0, high=1.0, low_open=True)
    scalar = np.ndim(K) == 0
    if scalar:
        K = check_real("K", K, low=0.0, high=1e8)
    Ka = check_array("K", K, low=0.0, high=1e8)
    out = np.array([_r_constant(float(k) * p, width, distribution) for k in Ka.ravel()]).reshape(Ka.shape)
    return float(out) if scalar else out


def _r_constant(Kp, width, distribution):
    if Kp * math.pi * _g0(width, distribution) / 2.0 <= 1.0:
        return 0.0
    if distribution == "lorentzian":
        return math.sqrt(1.0 - 2.0 * width / Kp)

    def phi(r):   # F(K p r) / r - 1, decreasing in r, positive at 0+ above K_c, negative at r = 1
        return float(_F(Kp * r, width, distribution)) / r - 1.0

    if phi(1.0) >= 0.0:   # K p >> width: r = 1 - O((width / K p)^2) is 1 to machine precision
        return 1.0
    return brentq(phi, 1e-300, 1.0, xtol=1e-14, rtol=1e-13)


@dataclass(frozen=True)
class KuramotoTheory(ReadOnlyArrays):
    """Graph-limit stationary state. ``r`` (n_K,) the global order parameter $\\int_0^1 r(x)dx$;
    ``r_x`` (n_K, n_x) the local order parameter at the nodes ``x``; ``K_c`` the critical coupling;
    ``n_iter`` the fixed-point iterations per K and ``residual`` the last sup-norm change per K."""

    K: np.ndarray
    r: np.ndarray
    r_x: np.ndarray
    x: np.ndarray
    K_c: float
    n_iter: np.ndarray
    residual: np.ndarray
    converged: bool
    width: float
    distribution: str
    graphon: str
    p: float


def _check_model(K, width, distribution, graphon, p):
    width = _check_dist(width, distribution)
    check_choice("graphon", graphon, GRAPHONS)
    p = check_real("p", p, low=0.0, high=1.0, low_open=True)
    K = np.atleast_1d(check_array("K", K, low=0.0, high=1e6))
    if K.ndim != 1 or K.size == 0:
        raise ValueError(f"K must be a number or a non-empty 1-D array; got shape {K.shape}")
    return K, width, p


def theory(K, width, distribution="gaussian", graphon="constant", p=1.0, n_x: int = 200,
           tol: float = 1e-11, max_iter: int = 300) -> KuramotoTheory:
    r"""The graph-limit self-consistency $r(x) = F(K\int_0^1 W(x,y)r(y)dy)$ on Gauss-Legendre nodes.

    Iterates $r \leftarrow F(K\,\mathcal W r)$ from $r \equiv 1$ (100 steps; since F and
    $\mathcal W$ are monotone this decreases towards the largest solution, the synchronized
    branch), then polishes with Newton's method (F' by complex step), which stays fast near
    $K_c$; r = 0 below $K_c$. A K that has not converged in ``max_iter`` iterations raises
    :class:`dmftlib.ConvergenceError` with the residual history.
    For ``graphon="constant"`` the result equals :func:`stationary_order_parameter` (r(x) = r).

    >>> th = theory([1.0, 6.0], 1.0, graphon="min")
    >>> th.r.round(4).tolist(), round(th.K_c, 4)
    ([0.0, 0.6867], 3.9374)
    """
    K, width, p = _check_model(K, width, distribution, graphon, p)
    n_x = check_int("n_x", n_x, low=2, high=4000)
    tol = check_real("tol", tol, low=1e-15, high=1e-2)
    max_iter = check_int("max_iter", max_iter, low=1, high=10**6)
    z, wz = np.polynomial.legendre.leggauss(n_x)
    x, wx = (z + 1) / 2, wz / 2
    Wq = _W(x[:, None], x[None, :], graphon, p) * wx[None, :]
    Kc = 2.0 / (math.pi * _g0(width, distribution) * _top_eigenvalue(graphon, p))
    r_x = np.zeros((K.size, n_x))
    n_iter = np.zeros(K.size, dtype=int)
    res = np.zeros(K.size)
    hist = []
    for i, k in enumerate(K):
        if k <= Kc:       # below threshold the only solution is r = 0
            continue
        r, hist = np.ones(n_x), []
        for it in range(1, max_iter + 1):
            if it <= 100:   # monotone iteration from above: stays on the synchronized branch
                new = _F(k * (Wq @ r), width, distribution)
            else:           # then Newton on G(r) = F(K W r) - r (complex-step F'), fast near K_c
                a = k * (Wq @ r)
                J = (_F(a + 1e-30j, width, distribution).imag / 1e-30)[:, None] * k * Wq - np.eye(n_x)
                new = np.clip(r - np.linalg.solve(J, _F(a, width, distribution) - r), 0.0, 1.0)
            hist.append(float(np.max(np.abs(new - r))))
            r = new
            if hist[-1] < tol:
                break
        else:
            raise ConvergenceError(f"graphon self-consistency at K = {k:g} did not converge in {max_iter} "
                                   f"iterations; K is probably too close to K_c = {Kc:.4g}", residuals=hist)
        r_x[i], n_iter[i], res[i] = r, it, hist[-1]
    return KuramotoTheory(K=K, r=r_x @ wx, r_x=r_x, x=x, K_c=Kc, n_iter=n_iter, residual=res, converged=True,
                          width=width, distribution=distribution, graphon=graphon, p=p)


@dataclass(frozen=True)
class KuramotoSimulation(ReadOnlyArrays):
    """Finite-N runs, same field names as :class:`KuramotoTheory`.

    ``r`` (n_K,) the time average of $|N^{-1}\\sum_j e^{i\\theta_j}|$ over ``[t_burn, t_max]``,
    mean over seeds, ``r_sem`` its standard error, ``r_seeds`` (n_seeds, n_K); ``r_x`` (n_K, n_bins)
    the time-averaged local order parameter (projection of each bin's mean phasor on the global
    phase) at bin centres ``x``, with ``r_x_sem``; ``r_t`` (n_seeds, n_K, n_saved) the order
    parameter at the times ``t``."""

    K: np.ndarray
    r: np.ndarray
    r_sem: np.ndarray
    r_seeds: np.ndarray
    r_x: np.ndarray
    r_x_sem: np.ndarray
    x: np.ndarray
    t: np.ndarray
    r_t: np.ndarray
    N: int
    n_seeds: int
    width: float
    distribution: str
    graphon: str
    p: float
    dt: float
    t_burn: float
    t_max: float
    wall_time: float


def sample_graph(N, graphon="constant", p=1.0, seed=0):
    r"""A symmetric adjacency matrix with $A_{ij}\sim\mathrm{Bernoulli}(W(x_i, x_j))$ for i < j, zero diagonal.

    >>> A = sample_graph(400, "constant", 0.5, seed=1); bool((A == A.T).all()), round(float(A.mean()), 2)
    (True, 0.5)
    """
    N = check_int("N", N, low=1, high=40000)
    check_choice("graphon", graphon, GRAPHONS)
    p = check_real("p", p, low=0.0, high=1.0, low_open=True)
    check_budget("doubles for the adjacency matrix", 2.0 * N * N, limit=2**28)
    seed = check_seeds("seed", [seed])[0]
    return _sample_graph(np.random.default_rng(seed), N, graphon, p)


def _positions(N):
    return (np.arange(N) + 0.5) / N


def _sample_graph(rng, N, graphon, p):
    x = _positions(N)
    A = np.triu(rng.random((N, N)) < _W(x[:, None], x[None, :], graphon, p), 1).astype(np.float64)
    return A + A.T


def simulate(N, K, width, distribution="gaussian", graphon="constant", p=1.0, seeds=4, t_max=150.0,
             t_burn=50.0, dt=0.1, n_bins=10, save_every=10) -> KuramotoSimulation:
    r"""Integrate N oscillators on a sampled graph (Heun's method, step ``dt``), vectorized over K.

    For every seed: a graph $A_{ij}\sim\mathrm{Bernoulli}(W(x_i,x_j))$ at positions
    $x_i=(i-1/2)/N$, the deterministic frequency quantiles (:func:`frequency_quantiles`) in
    an order drawn at random (so that frequencies are independent of position), and
    $\theta_i(0)=0$. The coupling sum of all K values is one product
    ``A @ [cos(theta), sin(theta)]`` of shape (N, 2 n_K). Work: $2 N^2 n_K$ per stage,
    ``t_max/dt`` steps of two stages, per seed; memory $N^2$ doubles.

    >>> sim = simulate(200, [0.5, 4.0], 0.5, "lorentzian", seeds=2, t_max=40.0, t_burn=20.0)
    >>> sim.r.round(1).tolist()
    [0.0, 0.9]
    """
    t0 = time.perf_counter()
    N = check_int("N", N, low=2, high=20000)
    K, width, p = _check_model(K, width, distribution, graphon, p)
    seeds = check_seeds("seeds", seeds)
    t_max = check_real("t_max", t_max, low=0.0, high=1e6, low_open=True)
    t_burn = check_real("t_burn", t_burn, low=0.0, high=t_max, high_open=True)
    dt = check_real("dt", dt, low=1e-4, high=1.0)
    n_bins = check_int("n_bins", n_bins, low=1, high=N)
    save_every = check_int("save_every", save_every, low=1)
    n_steps = int(round(t_max / dt))
    if n_steps < 1:
        raise ValueError(f"t_max / dt must be at least 1; got {t_max / dt:g}")
    check_budget("doubles for the adjacency matrix", 2.0 * N * N, limit=2**28)
    check_budget("multiply-adds (steps x N^2 x 2 n_K x seeds)", 4.0 * n_steps * N * N * K.size * len(seeds),
                 limit=2e13)
    omega_q = frequency_quantiles(N, width, distribution)
    bins = np.minimum((_positions(N) * n_bins).astype(int), n_bins - 1)
    onehot = np.zeros((N, n_bins))
    onehot[np.arange(N), bins] = 1.0 / np.bincount(bins, minlength=n_bins)[bins]
    burn = int(round(t_burn / dt))
    S, nK = len(seeds), K.size
    r_seeds = np.zeros((S, nK))
    rx_seeds = np.zeros((S, nK, n_bins))
    saved = list(range(0, n_steps + 1, save_every))
    r_t = np.zeros((S, nK, len(saved)))
    for s, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        A = _sample_graph(rng, N, graphon, p)
        omega = rng.permutation(omega_q)[:, None]
        theta = np.zeros((N, nK))

        def rhs(th):
            c, sn = np.cos(th), np.sin(th)
            M = A @ np.concatenate([c, sn], axis=1)
            return omega + (K / N) * (c * M[:, nK:] - sn * M[:, :nK])

        acc_r = np.zeros(nK)
        acc_rx = np.zeros((nK, n_bins))
        j = 0
        for step in range(n_steps + 1):
            if step > 0:
                k1 = rhs(theta)
                k2 = rhs(theta + dt * k1)
                theta = theta + 0.5 * dt * (k1 + k2)
            if step >= burn or step % save_every == 0:
                z = np.exp(1j * theta)
                Z = z.mean(axis=0)
                r_now = np.abs(Z)
                if step % save_every == 0:
                    r_t[s, :, j] = r_now
                    j += 1
                if step >= burn:
                    if not np.all(np.isfinite(theta)):
                        raise FloatingPointError(f"phases became non-finite at t = {step * dt:g}")
                    acc_r += r_now
                    phase = np.conj(Z) / np.maximum(r_now, 1e-300)
                    acc_rx += np.real((onehot.T @ z) * phase[None, :]).T
        n_avg = n_steps + 1 - burn
        r_seeds[s], rx_seeds[s] = acc_r / n_avg, acc_rx / n_avg
    if S >= 2:
        r, r_sem = mean_sem(r_seeds)
        rx, rx_sem = mean_sem(rx_seeds)
    else:
        r, r_sem, rx, rx_sem = r_seeds[0], np.zeros(nK), rx_seeds[0], np.zeros((nK, n_bins))
    return KuramotoSimulation(K=K, r=r, r_sem=r_sem, r_seeds=r_seeds, r_x=rx, r_x_sem=rx_sem,
                              x=(np.arange(n_bins) + 0.5) / n_bins, t=np.array(saved) * dt, r_t=r_t, N=N,
                              n_seeds=S, width=width, distribution=distribution, graphon=graphon, p=p, dt=dt,
                              t_burn=t_burn, t_max=t_max, wall_time=time.perf_counter() - t0)


def plot_order_parameter(width=1.0, distribution="gaussian", graphon="constant", p=1.0, K_max=8.0,
                         sims=(), ax=None):
    """Theory r(K) (line; for a non-constant graphon also the global integral of r(x)) with K_c marked,
    and any :class:`KuramotoSimulation` results as markers with error bars."""
    width = _check_dist(width, distribution)
    K_max = check_real("K_max", K_max, low=0.0, high=1e3, low_open=True)
    if isinstance(sims, KuramotoSimulation) or not all(isinstance(s, KuramotoSimulation) for s in sims):
        raise ValueError("sims must be a sequence of KuramotoSimulation results")
    if ax is None:
        _, ax = new_figure()
    Ks = np.linspace(0.0, K_max, 161)
    th = theory(Ks, width, distribution, graphon, p, n_x=64, tol=1e-9)
    plot_theory(ax, Ks, th.r, label=f"theory (N → ∞), {distribution}, W = {graphon}")
    ax.axvline(th.K_c, color="gray", ls=":", lw=1, label=f"$g_c$ = {th.K_c:.3f}")
    for sim in sims:
        plot_simulation(ax, sim.K, sim.r, sim.r_sem, N=sim.N, n_seeds=sim.n_seeds)
    ax.set_xlabel("coupling $g$")
    ax.set_ylabel("order parameter $r$")
    ax.set_ylim(-0.02, 1.02)
    ax.legend()
    return ax
