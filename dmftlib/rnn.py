r"""Chaos in random recurrent networks (Sompolinsky, Crisanti & Sommers 1988).

The model
---------
$N$ rate units with i.i.d. Gaussian couplings, $J_{ij}\sim\mathcal N(0, g^2/N)$
(no symmetry, self-couplings included), time in units of the single-unit time constant:

.. math:: \dot x_i = -x_i + \sum_{j} J_{ij}\,\phi(x_j), \qquad \phi = \tanh \ (\text{or } \phi(x) = \operatorname{erf}(\sqrt\pi x/2)).

DMFT: each unit is $\dot x = -x + \eta$, with $\eta$ Gaussian of covariance
$g^2 C_\phi(t, t')$. In the stationary state $\Delta(\tau) = \langle x(t)x(t+\tau)\rangle$
obeys Newton's equation for a particle in a potential,

.. math::

    \ddot\Delta = \Delta - g^2 C_\phi(\Delta; \Delta_0) = -\partial_\Delta V,\qquad
    V(\Delta;\Delta_0) = -\tfrac12\Delta^2 + g^2 C_\Phi(\Delta; \Delta_0),

with $C_f(\Delta;\Delta_0) = \mathbb E[f(u)f(v)]$ for centred Gaussians of variance
$\Delta_0$ and covariance $\Delta$, and $\Phi' = \phi$ ($\Phi = \log\cosh$
for tanh). The particle starts at $\Delta_0$ at rest and reaches $\Delta = 0$ as
$\tau\to\infty$; energy conservation gives $V(\Delta_0;\Delta_0) = V(0;\Delta_0)$, i.e.

.. math:: \tfrac12 \Delta_0^2 = g^2\big(\mathbb E[\Phi(\sqrt{\Delta_0}z)^2] - \mathbb E[\Phi(\sqrt{\Delta_0}z)]^2\big),

which has a positive root only for $g > 1$ (chaos); $\Delta_0 = 0$ for
$g \le 1$. Near the transition $\Delta_0 = (g-1) + \tfrac76 (g-1)^2 + O((g-1)^3)$
for tanh (derived in the chapter).

The module gives the stationary theory (:func:`stationary_dmft`), the two-time DMFT solved by
sampling (:func:`sampling_dmft`, built on :func:`dmftlib.core.solve_sampling_dmft`) and the
finite-``N`` network (:func:`simulate`), with the same field names ``delta0``, ``tau``, ``delta``;
and the largest Lyapunov exponent, from the tangent DMFT (:func:`lyapunov_theory`, a Schrodinger
problem in the well :func:`schrodinger_potential`) and from the tangent dynamics of finite networks
(:func:`lyapunov_simulate`).

References: Sompolinsky, Crisanti & Sommers, PRL 61, 259 (1988); Crisanti & Sompolinsky,
PRE 98, 062120 (2018).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.integrate import cumulative_simpson
from scipy.interpolate import CubicSpline
from scipy.optimize import brentq
from scipy.special import erf

from .core import (ConvergenceError, check_choice, check_int, check_real, expect, expect2, mean_sem,
                   solve_sampling_dmft)
from . import plotting as _plotting
from .core import ReadOnlyArrays, check_array, check_bool, check_seed, check_seeds, check_budget, check_public

__all__ = ["PHIS", "phi_functions", "potential", "delta0_theory", "StationaryResult", "stationary_dmft",
           "sampling_dmft", "stationary_part", "SimulationResult", "simulate",
           "plot_potential", "plot_stationary", "schrodinger_potential", "lyapunov_theory",
           "LyapunovSimulation", "lyapunov_simulate", "plot_lyapunov", "plot_delta0_spread"]

PHIS = ("tanh", "erf")
_C = np.sqrt(np.pi) / 2


def phi_functions(phi: str = "tanh"):
    r"""Return ``(phi, dphi, Phi)``: the non-linearity, its derivative and its primitive with $\Phi(0)=0$.

    >>> f, df, F = phi_functions("tanh")
    >>> round(float(F(1.0)), 6), round(float(df(0.0)), 6)
    (0.433781, 1.0)
    """
    check_choice("phi", phi, PHIS)
    if phi == "tanh":
        return (np.tanh, lambda x: 1.0 / np.cosh(x) ** 2,
                lambda x: np.abs(x) + np.log1p(np.exp(-2 * np.abs(x))) - np.log(2.0))
    return (lambda x: erf(_C * x), lambda x: np.exp(-np.pi * x**2 / 4),
            lambda x: x * erf(_C * x) + (2 / np.pi) * np.expm1(-np.pi * x**2 / 4))


def potential(delta, delta0: float, g: float, phi: str = "tanh", n: int = 80):
    r"""The potential $V(\Delta;\Delta_0) = -\Delta^2/2 + g^2\,\mathbb E[\Phi(u)\Phi(v)]$ (vectorized over ``delta``).

    >>> round(float(potential(1.0, 1.0, 2.0) - potential(0.0, 1.0, 2.0)), 4)   # > 0: Delta0 = 1 is not the root
    0.2591
    """
    delta0 = check_real("delta0", delta0, low=0.0)
    g = check_real("g", g, low=0.0)
    _, _, Phi = phi_functions(phi)
    d = np.clip(check_array("delta", delta), -delta0, delta0)
    return -0.5 * d**2 + g**2 * expect2(Phi, Phi, delta0, delta0, d, n=n)


def _expect1(f, var):
    """E[f(sqrt(var) Z)] accurate for integrands with structure on the scale 1 in x (not in z).

    Gauss-Hermite with a fixed number of nodes resolves f(sqrt(var) z) only while sqrt(var) is
    small (sech^2(sqrt(5.45) z) needs ~200 nodes); the trapezoid rule in x = sqrt(var) z, with a
    step below the width of f and of the Gaussian, converges exponentially for analytic f.
    """
    var = float(var)
    if var < 1e-2:
        return float(expect(f, var, n=80))
    s = np.sqrt(var)
    h = min(0.02, s / 40)
    y = np.arange(-12 * s, 12 * s + h / 2, h)
    w = np.exp(-y**2 / (2 * var)) * (h / np.sqrt(2 * np.pi * var))
    return float(np.sum(f(y) * w))


def _energy_gap(delta0, g, phi, n=80):
    """V(Delta0; Delta0) - V(0; Delta0) = g^2 Var Phi(sqrt(Delta0) z) - Delta0^2 / 2 (zero at the root)."""
    _, _, Phi = phi_functions(phi)
    return g**2 * (_expect1(lambda y: Phi(y) ** 2, delta0) - _expect1(Phi, delta0) ** 2) - 0.5 * delta0**2


def _delta0(g, phi, xtol=1e-14):
    if g <= 1.0:
        return 0.0, 0
    # gap(D) = g^2 Var Phi - D^2/2 ~ (g^2 - 1) D^2 / 2 > 0 for small D when g > 1, < 0 for large D
    hi = 1.0
    while _energy_gap(hi, g, phi) > 0:
        hi *= 2.0
        if hi > 1e8:
            raise ConvergenceError(f"no root Delta0 found for g = {g:g}")
    lo = hi / 2
    while _energy_gap(lo, g, phi) <= 0:
        lo /= 2
        if lo < 1e-12:
            raise ConvergenceError(f"no bracket for Delta0 at g = {g:g}; g is too close to 1")
    d0, info = brentq(lambda D: _energy_gap(D, g, phi), lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps,
                      full_output=True)
    return float(d0), int(info.iterations)


def delta0_theory(g, phi: str = "tanh"):
    r"""Stationary variance $\Delta_0(g)$ (vectorized over ``g``); zero for $g \le 1$.

    >>> delta0_theory([0.5, 1.0, 2.0]).round(4).tolist()
    [0.0, 0.0, 1.9248]
    """
    check_choice("phi", phi, PHIS)
    g_arr = np.asarray(g, dtype=np.float64)
    if np.any(~np.isfinite(g_arr)) or np.any(g_arr < 0):
        raise ValueError(f"g must be finite reals in [0, inf); got {g!r}")
    out = np.array([_delta0(float(gi), phi)[0] for gi in g_arr.ravel()]).reshape(g_arr.shape)
    return out


@dataclass(frozen=True)
class StationaryResult(ReadOnlyArrays):
    """Stationary DMFT solution of the random network.

    Attributes: ``g``, ``phi``, ``delta0`` ($\\Delta_0$), ``tau`` and ``delta``
    ($\\Delta(\\tau)$), ``decay_rate`` ($\\kappa$, with
    $\\Delta\\sim e^{-\\kappa\\tau}$ at large $\\tau$), ``energy_residual``
    ($V(\\Delta_0)-V(0)$ at the root), ``n_iter`` (root-finder iterations), ``converged``,
    ``wall_time``.
    """

    g: float
    phi: str
    delta0: float
    tau: np.ndarray
    delta: np.ndarray
    decay_rate: float
    energy_residual: float
    n_iter: int
    converged: bool
    wall_time: float


def stationary_dmft(g: float, phi: str = "tanh", tau_max: float = 20.0, n_tau: int = 401) -> StationaryResult:
    r"""Solve the stationary DMFT: $\Delta_0$ by root-finding, then $\Delta(\tau)$.

    $\Delta_0$ solves $V(\Delta_0;\Delta_0) = V(0;\Delta_0)$ (bracketing + Brent, to
    ``1e-14``). $\Delta(\tau)$ integrates the first-order energy equation
    $\dot\Delta = -\sqrt{2[V(\Delta_0) - V(\Delta)]}$ in the form
    $\tau(\Delta) = \int_\Delta^{\Delta_0} d\Delta'/\sqrt{2[V(\Delta_0)-V(\Delta')]}$, with the
    substitution $\Delta = \Delta_0 e^{-u^2}$ that removes the square-root singularity at the
    start (the particle starts at rest) and the logarithmic one at $\Delta\to 0$; below
    $10^{-5}\Delta_0$ the exact exponential tail $e^{-\kappa\tau}$ is used. Gaussian integrals by Gauss-Hermite quadrature (``dmftlib.core.expect2``).

    Parameters
    ----------
    g : float >= 0, coupling strength.
    phi : ``"tanh"`` or ``"erf"``.
    tau_max, n_tau : output grid $\tau\in[0, \tau_{\max}]$.

    Examples
    --------
    >>> res = stationary_dmft(2.0)
    >>> round(res.delta0, 4), round(res.decay_rate, 4), res.converged
    (1.9248, 0.2281, True)
    >>> stationary_dmft(0.8).delta0
    0.0
    """
    start = time.perf_counter()
    g = check_real("g", g, low=0.0)
    check_choice("phi", phi, PHIS)
    tau_max = check_real("tau_max", tau_max, low=0.0, low_open=True)
    n_tau = check_int("n_tau", n_tau, low=2)
    tau = np.linspace(0.0, tau_max, n_tau)
    f, df, Phi = phi_functions(phi)
    d0, n_iter = _delta0(g, phi)
    if d0 == 0.0:
        kappa = float(np.sqrt(max(1.0 - g**2, 0.0)))
        return StationaryResult(g, phi, 0.0, tau, np.zeros_like(tau), kappa, 0.0, 0, True,
                                time.perf_counter() - start)
    # Gauss-Hermite nodes adapted to Delta0: Phi(sqrt(Delta0) z) has its kink region on the scale
    # 1/sqrt(Delta0) in z (80 nodes make E - V(Delta) negative near Delta = 0 at g = 3)
    nq = int(min(340, max(80, 80 * np.sqrt(d0))))
    E = float(potential(d0, d0, g, phi, n=nq))
    force0 = d0 - g**2 * float(expect2(f, f, d0, d0, d0, n=nq))   # -V'(Delta0) < 0
    # tau(Delta) = int_Delta^Delta0 dD / sqrt(2 (E - V(D))), with Delta = Delta0 exp(-u^2)
    u = np.linspace(0.0, np.sqrt(np.log(1e5)), 1201)
    D = d0 * np.exp(-u**2)
    gapE = np.clip(E - potential(D, d0, g, phi, n=nq), 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        integrand = 2 * u * D / np.sqrt(2 * gapE)
    # E - V is lost in round-off near the start (E - V ~ |V'(Delta0)| Delta0 u^2: use the limit of the
    # integrand) and near Delta = 0 (E - V ~ kappa^2 Delta^2 / 2: stop, the tail is exponential)
    thr = 1e-11 * max(abs(E), d0**2)
    start_zone = (D >= 0.5 * d0) & (gapE <= 1e3 * thr)
    integrand[start_zone] = np.sqrt(2 * d0 / abs(force0))
    bad = np.nonzero((gapE <= thr) & (D < 0.5 * d0))[0]
    m = u.size if bad.size == 0 else int(bad[0])
    if m < 50:
        raise ConvergenceError(f"the energy equation has a turning point before Delta = 0 (g = {g:g})")
    u, D, integrand = u[:m], D[:m], integrand[:m]
    tau_u = cumulative_simpson(integrand, x=u, initial=0.0)
    kappa = float(np.sqrt(max(1.0 - g**2 * _expect1(df, d0) ** 2, 0.0)))   # quadrature adaptive to Delta0
    spline = CubicSpline(tau_u, np.log(D))
    logD = np.where(tau <= tau_u[-1], spline(np.minimum(tau, tau_u[-1])), np.log(D[-1]) - kappa * (tau - tau_u[-1]))
    delta = np.exp(logD)
    return StationaryResult(g, phi, d0, tau, delta, kappa, _energy_gap(d0, g, phi), n_iter, True,
                            time.perf_counter() - start)


def sampling_dmft(g: float, phi: str = "tanh", t_max: float = 30.0, n_t: int = 301, q0: float = 1.0,
                  n_samples: int = 2000, damping: float = 0.0, tol: float | None = None, max_iter: int = 80,
                  min_iter: int = 40,
                  seed: int = 0, response: bool = True, raise_on_failure: bool = True, fast: bool = False,
                  target_error: float | None = None):
    r"""Two-time DMFT of the random network, solved by sampling the single-site process.

    $\dot x = -x + \eta$, $\langle\eta(t)\eta(t')\rangle = g^2 C_\phi(t,t')$,
    $x(0)\sim\mathcal N(0, q_0)$; Euler steps of $t_{\max}/(n_t-1)$. Returns the
    :class:`dmftlib.core.SamplingDMFTResult` of :func:`dmftlib.core.solve_sampling_dmft`
    (``C`` is $\langle x(t)x(t')\rangle$, ``K`` is $g^2 C_\phi$). The iteration starts
    from $K_0(t,t') = g^2\,\mathbb E[\phi(\sqrt{q_0}z)^2]\,e^{-|t-t'|/2}$. Memory: see
    :func:`dmftlib.core.solve_sampling_dmft` (about 30 MB for the defaults).

    The chaotic solution is approached slowly (each iteration extends the range over which the
    field has decorrelated), so at least ``min_iter`` iterations are made; ``damping = 0`` is
    stable here because the map is contracting on the short-time part.

    ``fast=True`` (opt-in; the default reproduces the chapter's stored outputs) uses the fast path of
    :func:`dmftlib.core.solve_sampling_dmft`: time-major layout, one kernel map per iteration
    (``kernel_is_mean``), and the control variate of the Gaussian part with ``control_decay = 1``,
    which for this linear drift removes the sampling noise of ``C`` given ``K``. ``target_error``
    (needs ``fast``) adds the stopping rule on the estimated relative error of the late
    $C(t, t)$: two independent chains of ``n_samples // 2`` samples, averaged over iterations
    after convergence until the error estimate is below ``target_error``. At $g = 2$,
    $t_{\max} = 20$, $\Delta t = 0.1$, ``n_samples = 2000``, ``target_error = 0.003`` reaches 1% on
    $C(t_{\max}, t_{\max})$ over seeds (``benchmarks/bench_sampling.py``).

    >>> res = sampling_dmft(2.0, t_max=10.0, n_t=101, n_samples=800, min_iter=10)
    >>> res.converged, bool(res.C[-1, -1] > 1.0)        # chaotic: O(1) variance at late times
    (True, True)
    >>> fast = sampling_dmft(2.0, t_max=10.0, n_t=101, n_samples=800, min_iter=10, fast=True, target_error=0.01)
    >>> fast.converged, bool(fast.error_estimate < 0.01)
    (True, True)
    """
    g = check_real("g", g, low=0.0)
    check_choice("phi", phi, PHIS)
    q0 = check_real("q0", q0, low=0.0)
    f, _, _ = phi_functions(phi)
    fast = check_bool("fast", fast)
    if target_error is not None and not fast:
        raise ValueError("target_error needs fast=True")
    opts = dict(time_major=True, kernel_is_mean=True, control_decay=1.0, target_error=target_error,
                moment_matching=True) if fast else {}

    def kernel_map(x, R):
        p = f(x)
        return g**2 * (p.T @ p) / x.shape[0]

    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    n_t = check_int("n_t", n_t, low=2)
    if t_max / (n_t - 1) > 0.5:
        raise ValueError(f"the Euler step t_max / (n_t - 1) = {t_max / (n_t - 1):g} must be at most 0.5; "
                         f"increase n_t or reduce t_max = {t_max:g}")
    t = np.linspace(0.0, t_max, n_t)
    # initial guess: the variance of the field at the start, with an O(1) correlation time (PSD)
    K0 = g**2 * float(expect(lambda x: f(x) ** 2, q0)) * np.exp(-0.5 * np.abs(t[:, None] - t[None, :]))
    return solve_sampling_dmft(
        drift=lambda t, x, z: -x, K0=K0, drift_dx=lambda t, x, z: -np.ones_like(x), kernel_map=kernel_map,
        t_max=t_max, n_t=n_t, x0=lambda rng, S: np.sqrt(q0) * rng.standard_normal(S),
        n_samples=n_samples, damping=damping, tol=tol, max_iter=max_iter, min_iter=min_iter, seed=seed, response=response,
        raise_on_failure=raise_on_failure, **opts)


def stationary_part(C, t, t_start: float):
    r"""Time-translation-invariant part of a two-time ``C``: $\Delta(\tau)$ averaged over $t \ge t_{\rm start}$.

    Returns ``tau, delta`` with ``tau = t[:m] - t[0]`` for the ``m`` grid points after ``t_start``;
    $\Delta(\tau_j)$ is the mean of ``C[k, k - j]`` over ``t_k - \tau_j \ge t_start``.
    """
    C = check_array("C", C, ndim=2)
    t = check_array("t", t, ndim=1)
    k0 = int(np.searchsorted(t, check_real("t_start", t_start, low=0.0)))
    m = t.size - k0
    if m < 2:
        raise ValueError("t_start must leave at least two grid points")
    sub = C[k0:, k0:]
    delta = np.array([np.mean(np.diagonal(sub, -j)) for j in range(m)])
    return t[:m] - t[0], delta


@dataclass(frozen=True)
class SimulationResult(ReadOnlyArrays):
    """Finite-``N`` network: stationary statistics, mean over seeds and standard errors.

    ``delta0`` is $\\frac1N\\sum_i x_i^2$ averaged over the recording window, ``delta`` the
    autocorrelation $\\frac1N\\sum_i x_i(t)x_i(t+\\tau)$ averaged over the window; ``x_trace``
    holds a few units of seed 0 on the times ``t_trace``.
    """

    g: float
    phi: str
    N: int
    n_seeds: int
    delta0: float
    delta0_sem: float
    delta0_seeds: np.ndarray
    tau: np.ndarray
    delta: np.ndarray
    delta_sem: np.ndarray
    t_trace: np.ndarray
    x_trace: np.ndarray
    wall_time: float


def simulate(N: int, g: float, phi: str = "tanh", seeds=4, t_burn: float = 30.0,
             t_record: float = 40.0, dt: float = 0.1, tau_max: float = 20.0, q0: float = 1.0,
             max_bytes: float = 3e8) -> SimulationResult:
    r"""Simulate $\dot x_i = -x_i + \sum_j J_{ij}\phi(x_j)$ with seeds on an array axis (RK4).

    ``seeds``: an int ``n`` (meaning ``range(n)``) or a sequence of at least 2 distinct ints; seed ``s``
    draws ``J`` and then ``x(0)`` from ``numpy.random.default_rng([s, N])`` (so a seed gives
    independent networks at different N). ``J`` has shape ``(n_seeds, N, N)``, $J_{ij}\sim\mathcal N(0, g^2/N)$; seeds are processed
    in chunks so that ``J`` stays below ``max_bytes`` (one ``4000 x 4000`` matrix is 128 MB).
    $x_i(0)\sim\mathcal N(0, q_0)$; statistics over $t\in[t_{\rm burn}, t_{\rm burn}+t_{\rm record}]$,
    recorded every ``dt``. Memory: ``8 (n_chunk N^2 + n_rec n_chunk N)`` bytes. Fluctuations across
    seeds are $O(1/\sqrt{N})$.

    >>> sim = simulate(200, 2.0, seeds=2, t_burn=10.0, t_record=10.0, tau_max=5.0)
    >>> sim.N, sim.n_seeds, abs(sim.delta0 - 1.92) < 0.4
    (200, 2, True)
    """
    start = time.perf_counter()
    N = check_int("N", N, low=2)
    g = check_real("g", g, low=0.0)
    check_choice("phi", phi, PHIS)
    seeds = check_seeds("seeds", seeds, min_seeds=2)
    n_seeds = len(seeds)
    t_burn = check_real("t_burn", t_burn, low=0.0)
    t_record = check_real("t_record", t_record, low=0.0, low_open=True)
    dt = check_real("dt", dt, low=0.0, low_open=True, high=0.5)
    tau_max = check_real("tau_max", tau_max, low=0.0, high=t_record)
    q0 = check_real("q0", q0, low=0.0)
    f, _, _ = phi_functions(phi)
    check_budget("Euler steps x units^2 x seeds", (t_burn + t_record) / dt * float(N) * N * n_seeds, limit=2e11)
    check_budget("Euler steps", (t_burn + t_record) / dt, limit=1e6)
    n_burn = int(round(t_burn / dt))
    n_rec = int(round(t_record / dt)) + 1
    n_lag = int(round(tau_max / dt)) + 1
    chunk = int(max(1, min(n_seeds, max_bytes // (8.0 * N * N))))
    d0_all, dl_all, trace = [], [], None
    for c0 in range(0, n_seeds, chunk):
        rngs = [np.random.default_rng([s, N]) for s in seeds[c0:c0 + chunk]]
        J = np.stack([r.standard_normal((N, N)) for r in rngs]) * (g / np.sqrt(N))
        x = np.stack([r.standard_normal(N) for r in rngs]) * np.sqrt(q0)

        def rhs(y):
            return -y + np.matmul(J, f(y)[..., None])[..., 0]

        rec = np.empty((n_rec, x.shape[0], N))
        for k in range(n_burn + n_rec):
            if k >= n_burn:
                rec[k - n_burn] = x
            if k == n_burn + n_rec - 1:
                break
            k1 = rhs(x)
            k2 = rhs(x + 0.5 * dt * k1)
            k3 = rhs(x + 0.5 * dt * k2)
            k4 = rhs(x + dt * k3)
            x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            if not np.all(np.isfinite(x)):
                raise ValueError("the network state stopped being finite; reduce dt")
        d0_all.append(np.mean(rec**2, axis=(0, 2)))
        dl_all.append(np.stack([np.mean(rec[j:] * rec[:n_rec - j], axis=(0, 2)) for j in range(n_lag)], axis=1))
        if trace is None:
            trace = rec[:, 0, :5].copy()
    d0 = np.concatenate(d0_all)
    dl = np.concatenate(dl_all, axis=0)
    m0, s0 = mean_sem(d0)
    ml, sl = mean_sem(dl)
    return SimulationResult(g, phi, N, n_seeds, float(m0), float(s0), d0, np.arange(n_lag) * dt, ml, sl,
                            t_burn + np.arange(n_rec) * dt, trace, time.perf_counter() - start)


def plot_potential(g: float, phi: str = "tanh", ax=None):
    r"""The potential $V(\Delta;\Delta_0)$ at the self-consistent $\Delta_0$ (pure plotting function)."""
    g = check_real("g", g, low=0.0, high=10.0)
    if ax is None:
        _, ax = _plotting.new_figure()
    d0 = float(delta0_theory(g, phi))
    if d0 == 0.0:
        # no self-consistent Delta0 > 0: with a trial Delta0 the particle's energy is below the hill at 0
        trial = 0.5
        D = np.linspace(-trial, trial, 201)
        ax.plot(D, potential(D, trial, g, phi), label=f"V(Δ; Δ0 = {trial:g}), g = {g:g}: trial Δ0")
        ax.axhline(float(potential(trial, trial, g, phi)), color="gray", ls="--", lw=1,
                   label="energy V(Δ0) < V(0): no chaotic solution, Δ0 = 0")
        ax.plot([trial], [float(potential(trial, trial, g, phi))], "o", color="C1")
    else:
        D = np.linspace(-d0, d0, 201)
        V = potential(D, d0, g, phi)
        ax.plot(D, V, label=f"V(Δ; Δ0), g = {g:g}")
        ax.axhline(float(potential(d0, d0, g, phi)), color="gray", ls="--", lw=1, label="energy V(Δ0) = V(0)")
        ax.plot([d0], [float(potential(d0, d0, g, phi))], "o", color="C1", label=f"start Δ0 = {d0:.3f}")
    ax.set_xlabel("Δ")
    ax.set_ylabel("V(Δ; Δ0)")
    ax.legend()
    return ax


def plot_stationary(g: float, phi: str = "tanh", axes=None, tau_max: float = 20.0):
    """Two panels: the potential and the autocorrelation $\\Delta(\\tau)$ of the stationary theory."""
    g = check_real("g", g, low=0.0, high=10.0)
    if axes is None:
        _, axes = _plotting.new_figure(ncols=2)
    plot_potential(g, phi, ax=axes[0])
    res = stationary_dmft(g, phi, tau_max=tau_max, n_tau=201)
    _plotting.plot_theory(axes[1], res.tau, res.delta, label=f"theory, g = {g:g}")
    axes[1].set_xlabel("τ")
    axes[1].set_ylabel("Δ(τ)")
    axes[1].set_ylim(bottom=-0.05 * max(res.delta0, 0.1), top=max(1.1 * res.delta0, 0.1))
    axes[1].legend()
    return axes


# --- The largest Lyapunov exponent: tangent DMFT (theory) and tangent dynamics (simulation) ---------

def schrodinger_potential(g: float, phi: str = "tanh", tau_max: float = 40.0, n_tau: int = 801):
    r"""The well $-g^2 C_{\phi'}(\tau)$ of the tangent DMFT, on $\tau\in[0, \tau_{\max}]$.

    $C_{\phi'}(\tau) = \mathbb E[\phi'(u)\phi'(v)]$ with $(u, v)$ centred Gaussian of
    variances $\Delta_0$ and covariance $\Delta(\tau)$ of the stationary solution. Returns
    ``(tau, q)`` with ``q`` $= g^2 C_{\phi'}(\Delta(\tau);\Delta_0)$ (the well is ``-q``). The
    Gaussian integral is computed on 41 Chebyshev nodes in $\Delta\in[0,\Delta_0]$ with 300
    Gauss-Hermite nodes per axis (100 when $\Delta_0 \le 0.5$) and interpolated (it is analytic in $\Delta$).

    >>> tau, q = schrodinger_potential(2.0, tau_max=10.0, n_tau=3)
    >>> q.round(4).tolist()          # q(0) = g^2 E[phi'^2] > 1 > q(inf) = 1 - 1/tau_c^2
    [1.4214, 1.0313, 0.9565]
    """
    g = check_real("g", g, low=0.0, high=10.0)
    tau_max = check_real("tau_max", tau_max, low=0.0, low_open=True, high=1e5)
    n_tau = check_int("n_tau", n_tau, low=2, high=10**6)
    _, df, _ = phi_functions(phi)
    st = stationary_dmft(g, phi, tau_max=tau_max, n_tau=n_tau)
    if st.delta0 == 0.0:
        return st.tau, np.full(n_tau, g**2 * float(df(0.0)) ** 2)
    d0 = st.delta0
    nodes = 0.5 * d0 * (1 - np.cos(np.pi * np.arange(41) / 40))          # Chebyshev points in [0, d0]
    vals = expect2(df, df, d0, d0, nodes, n=300 if d0 > 0.5 else 100)
    cheb = np.polynomial.chebyshev.Chebyshev.fit(nodes, vals, 40, domain=[0.0, d0])
    return st.tau, g**2 * cheb(np.clip(st.delta, 0.0, d0))


def lyapunov_theory(g, phi: str = "tanh", h: float = 0.05):
    r"""Largest Lyapunov exponent of the random network for $N\to\infty$ (vectorized over ``g``).

    Two replicas of the network with the same couplings, separated by $\delta x$, obey the
    tangent dynamics $\dot{\delta x}_i = -\delta x_i + \sum_j J_{ij}\phi'(x_j)\delta x_j$. Its
    DMFT (same argument as for $C$) closes on $D(t,t') = \langle\delta x(t)\delta x(t')\rangle$:

    .. math:: (\partial_t + 1)(\partial_{t'} + 1) D = g^2 C_{\phi'}(t - t')\,D .

    With $T = t + t'$, $\tau = t - t'$ and $D = e^{\lambda T}\psi(\tau)$ this is the
    Schrodinger problem $[-\partial_\tau^2 - g^2 C_{\phi'}(\tau)]\psi = E\psi$ with
    $E = -(1+\lambda)^2$, so $\lambda = \sqrt{-E_0} - 1$ from the ground state
    $E_0$ (Sompolinsky, Crisanti & Sommers 1988). Solved by second-order finite differences
    with step ``h`` on $[-L, L]$, $L$ a few decay lengths of the bound state (error
    $O(h^2)$). For $g \le 1$, $\lambda = g\phi'(0) - 1 = g - 1$ (the fixed point
    $x = 0$, the edge of the circular law).

    >>> lyapunov_theory([0.5, 2.0]).round(4).tolist()
    [-0.5, 0.1125]
    """
    from scipy.linalg import eigh_tridiagonal
    check_choice("phi", phi, PHIS)
    h = check_real("h", h, low=1e-3, high=0.2)
    g_arr = np.asarray(g, dtype=np.float64)
    if g_arr.size == 0 or np.any(~np.isfinite(g_arr)) or np.any(g_arr < 0) or np.any(g_arr > 10):
        raise ValueError(f"g must be finite reals in [0, 10]; got {g!r}")
    out = np.empty(g_arr.size)
    for i, gi in enumerate(g_arr.ravel()):
        if gi <= 1.0:
            out[i] = gi - 1.0
            continue
        kappa = stationary_dmft(gi, phi, tau_max=1.0, n_tau=2).decay_rate
        L = min(30.0 / kappa, 4000.0)           # the bound state decays at least like e^{-kappa tau}
        m = int(np.ceil(L / h))
        tau, q = schrodinger_potential(gi, phi, tau_max=m * h, n_tau=m + 1)
        qq = np.concatenate([q[:0:-1], q])      # tau in [-L, L]
        diag = 2.0 / h**2 - qq
        off = np.full(qq.size - 1, -1.0 / h**2)
        E0 = eigh_tridiagonal(diag, off, eigvals_only=True, select="i", select_range=(0, 0))[0]
        out[i] = np.sqrt(max(-E0, 0.0)) - 1.0
    return out.reshape(g_arr.shape) if g_arr.ndim else float(out[0])


@dataclass(frozen=True)
class LyapunovSimulation(ReadOnlyArrays):
    """Largest Lyapunov exponent of finite networks, one value per seed (``lyap_seeds``), mean and sem.

    ``delta0_seeds`` is $\\frac1N\\sum_i x_i^2$ averaged over the measuring window, per seed.
    """

    g: float
    phi: str
    N: int
    seeds: tuple
    lyap: float
    lyap_sem: float
    lyap_seeds: np.ndarray
    delta0_seeds: np.ndarray
    wall_time: float


def lyapunov_simulate(N: int, g: float, phi: str = "tanh", seeds=4, t_burn: float = 50.0,
                      t_run: float = 200.0, dt: float = 0.1, q0: float = 1.0) -> LyapunovSimulation:
    r"""Largest Lyapunov exponent of $\dot x_i = -x_i + \sum_j J_{ij}\phi(x_j)$ by tangent dynamics.

    The state $x$ and a tangent vector $v$ are integrated together (RK4, step ``dt``),

    .. math:: \dot x = -x + J\phi(x),\qquad \dot v = -v + J\,[\phi'(x)\odot v],

    both as one product ``J @ [phi(x), phi'(x) v]`` with the seeds on a leading axis; ``v`` is
    renormalized after every step and $\lambda = \frac{1}{t_{\rm run}}\sum\log\lvert v\rvert$
    after a burn-in of ``t_burn`` (which also aligns ``v`` with the most unstable direction). Seed
    ``s`` drives ``numpy.random.default_rng(s)``: $J_{ij}\sim\mathcal N(0, g^2/N)$, then
    $x(0)\sim\mathcal N(0, q_0)$, then $v(0)$. Memory: ``8 len(seeds) N^2`` bytes.
    Equivalent to following two trajectories at distance $\to 0$; the finite-time estimate
    fluctuates by $O(t_{\rm run}^{-1/2})$ per seed.

    >>> sim = lyapunov_simulate(100, 0.5, seeds=2, t_burn=10.0, t_run=20.0)
    >>> bool(sim.lyap < 0)           # below g = 1 the fixed point x = 0 is stable
    True
    """
    start = time.perf_counter()
    N = check_int("N", N, low=2, high=20000)
    g = check_real("g", g, low=0.0, high=10.0)
    check_choice("phi", phi, PHIS)
    seeds = check_seeds("seeds", seeds)
    t_burn = check_real("t_burn", t_burn, low=0.0, high=1e6)
    t_run = check_real("t_run", t_run, low=0.0, low_open=True, high=1e6)
    dt = check_real("dt", dt, low=0.0, low_open=True, high=0.5)
    q0 = check_real("q0", q0, low=0.0, high=1e6)
    n_burn, n_run = int(round(t_burn / dt)), max(1, int(round(t_run / dt)))
    check_budget("RK4 steps x units^2 x seeds", 4.0 * (n_burn + n_run) * float(N) * N * len(seeds), limit=4e12)
    check_budget("doubles allocated for J", float(len(seeds)) * N * N, limit=6e8)
    f, df, _ = phi_functions(phi)
    rngs = [np.random.default_rng(s) for s in seeds]
    J = np.stack([r.standard_normal((N, N)) for r in rngs]) * (g / np.sqrt(N))
    x = np.stack([r.standard_normal(N) for r in rngs]) * np.sqrt(q0)
    v = np.stack([r.standard_normal(N) for r in rngs])
    v /= np.linalg.norm(v, axis=1, keepdims=True)

    def rhs(y, w):
        out = np.matmul(J, np.stack([f(y), df(y) * w], axis=-1))
        return -y + out[..., 0], -w + out[..., 1]

    log_growth = np.zeros(len(seeds))
    d0 = np.zeros(len(seeds))
    for k in range(n_burn + n_run):
        k1 = rhs(x, v)
        k2 = rhs(x + 0.5 * dt * k1[0], v + 0.5 * dt * k1[1])
        k3 = rhs(x + 0.5 * dt * k2[0], v + 0.5 * dt * k2[1])
        k4 = rhs(x + dt * k3[0], v + dt * k3[1])
        x = x + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        v = v + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        norm = np.linalg.norm(v, axis=1)
        if not (np.all(np.isfinite(x)) and np.all(norm > 0) and np.all(np.isfinite(norm))):
            raise ValueError("the network state stopped being finite; reduce dt")
        v /= norm[:, None]
        if k >= n_burn:
            log_growth += np.log(norm)
            d0 += np.mean(x**2, axis=1)
    lyap = log_growth / (n_run * dt)
    m, s = mean_sem(lyap) if len(seeds) > 1 else (lyap[0], np.nan)
    return LyapunovSimulation(g, phi, N, tuple(seeds), float(m), float(s), lyap, d0 / n_run,
                              time.perf_counter() - start)


def plot_lyapunov(g_theory, sims=(), ax=None):
    r"""Largest Lyapunov exponent against $g$: theory (line) and finite-``N`` simulations.

    ``sims`` is a sequence of ``(N, g_values, lyap_per_seed)`` with ``lyap_per_seed`` of shape
    ``(n_g, n_seeds)`` (markers with one standard error over seeds).
    """
    g_theory = check_array("g_theory", g_theory, ndim=1, low=0.0, high=10.0)
    if ax is None:
        _, ax = _plotting.new_figure()
    _plotting.plot_theory(ax, g_theory, lyapunov_theory(g_theory), label="DMFT (N → ∞)")
    for i, (N, gs, ly) in enumerate(sims):
        ly = np.asarray(ly, dtype=float)
        m, s = mean_sem(ly, axis=1)
        _plotting.plot_simulation(ax, np.asarray(gs), m, s, N=int(N), n_seeds=ly.shape[1], color=f"C{i + 1}")
    ax.axhline(0.0, color="gray", lw=0.8)
    ax.axvline(1.0, color="gray", lw=0.8, ls=":")
    ax.set_xlabel("g")
    ax.set_ylabel("largest Lyapunov exponent λ_L")
    ax.legend()
    return ax


def plot_delta0_spread(delta0: float, Ns, samples, ax=None):
    r"""$\Delta_0$ of every simulated network, their mean (one standard error) and the DMFT value, per size $N$.

    ``samples[i]`` holds the time-averaged $\Delta_0$ of each network of size ``Ns[i]`` (one value per
    seed). Each network is a small dot (spread sideways so that the dots do not overlap), the mean a
    marker with its standard error, the DMFT value ``delta0`` a horizontal line: the plot shows both
    the deviation of the mean and the network-to-network spread that limits its resolution.
    """
    delta0 = check_real("delta0", delta0, low=0.0, low_open=True)
    Ns = check_array("Ns", Ns, ndim=1, low=1.0)
    if Ns.size == 0:
        raise ValueError("Ns must be a non-empty sequence of system sizes (>= 1); got []")
    if isinstance(samples, (str, bytes)) or not hasattr(samples, "__len__") or len(samples) != Ns.size:
        raise ValueError(f"samples must be a sequence of {Ns.size} arrays (one per N); got {samples!r}")
    samples = [check_array(f"samples[{i}]", x, ndim=1, low=0.0) for i, x in enumerate(samples)]
    if any(x.size < 2 for x in samples):
        raise ValueError("samples[i] must hold at least 2 networks (for a standard error)")
    if ax is None:
        _, ax = _plotting.new_figure()
    pos = np.arange(Ns.size, dtype=float)
    for i, x in enumerate(samples):
        offsets = np.linspace(-0.16, 0.16, 5)[np.argsort(np.argsort(x)) % 5]        # neighbours in value side by side
        ax.plot(pos[i] + offsets, x, ".", color="0.55", ms=5, label="one network" if i == 0 else None)
    m, s = np.array([mean_sem(x)[0] for x in samples]), np.array([mean_sem(x)[1] for x in samples])
    n_seeds = {x.size for x in samples}
    label = ("mean ± sem, " + (f"{samples[0].size} networks" if len(n_seeds) == 1 else "networks per N"))
    _plotting.plot_simulation(ax, pos, m, s, label=label, color="C1", ms=7, zorder=3)
    ax.axhline(delta0, color="k", lw=1.5, label=f"DMFT Δ0 = {delta0:.3f}")
    ax.set_xticks(pos, labels=[f"N = {int(N)}" for N in Ns])
    ax.set_xlim(-0.6, Ns.size - 0.4)
    lo, hi = min(x.min() for x in samples), max(x.max() for x in samples)
    ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.45 * (hi - lo))          # room for the legend above the dots
    ax.set_ylabel("Δ0 (time average of one network)")
    ax.legend(loc="upper center", ncol=2, fontsize=8)
    return ax


check_public(globals())
