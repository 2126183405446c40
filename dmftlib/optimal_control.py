r"""Training as optimal control: dynamic programming (HJB), Pontryagin, MSA and learning-rate schedules.

Three problems, each solved by two routes that must agree (or, where they do not, for a reason):

* **Linear-quadratic regulator (LQR).** $\dot x = Ax + Bu$, cost
  $J = \tfrac12 x(T)^\top F x(T) + \tfrac12\int_0^T (x^\top Qx + u^\top Ru)\,dt$.
  Dynamic programming: the value function is $V(x, t) = \tfrac12 x^\top P(t) x$ with the Riccati
  equation $-\dot P = Q + A^\top P + PA - PBR^{-1}B^\top P$, $P(T) = F$ (:func:`riccati`).
  Pontryagin: the state-costate system is linear, $\dot x = Ax + BR^{-1}B^\top\lambda$,
  $\dot\lambda = Qx - A^\top\lambda$, $\lambda(T) = -Fx(T)$, solved exactly by the matrix
  exponential of the Hamiltonian matrix (:func:`lqr`); the two agree through $\lambda = -\nabla_x V = -Px$.
* **A one-dimensional non-convex problem.** $\dot x = u$, cost $\Phi(x(T)) + \int u^2/2$, with a
  double-well $\Phi$. The HJB equation $\partial_t V = \tfrac12(\partial_x V)^2$ has the exact
  Hopf-Lax solution (:func:`hopf_lax_value`) and is solved on a grid by a semi-Lagrangian dynamic-programming
  scheme (:func:`dp_solve_1d`); Pontryagin's extremals (:func:`pmp_extremals`) are the straight lines ending
  at the roots of $y + T\Phi'(y) = x_0$: several where the problem is non-convex, and only the cheapest
  is optimal.
* **Learning-rate schedules as controls.** Online SGD on high-dimensional linear regression (the model of
  :mod:`dmftlib.sgd`): in the time $\tau = kB/N$ (samples per dimension) and with $g = \eta N/B$,
  the test error obeys $dE/d\tau = -2gE + g^2(E + \sigma^2)$ as $N\to\infty$. Minimising
  $E(T)$ over the schedule $g(\tau)$ gives $g^* = E/(E + \sigma^2)$ and a closed form through
  Lambert's $W$ (:func:`optimal_schedule`); :func:`schedule_theory` evaluates any schedule,
  :func:`schedule_finite_n` the exact finite-$N$ mean, :func:`simulate_schedule` the SGD runs.

Also the method of successive approximations (MSA, Li, Chen, Tai and E 2018) on a tanh ResNet with
box-constrained controls (:func:`msa_train`), against projected gradient descent (:func:`projected_gd_train`).

Sign conventions follow :mod:`dmftlib.control`: $\mathcal L = \Phi + \int[c + \lambda\cdot(\dot x - f)]$,
so $\lambda(T) = -\nabla\Phi$ and $\lambda = -\nabla_x V$ along optimal paths.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.integrate import simpson
from scipy.linalg import expm
from scipy.optimize import brentq, minimize_scalar
from scipy.special import lambertw

from .control import backprop_tanh_resnet
from .core import check_public
from .core import (ReadOnlyArrays, check_array, check_budget, check_int, check_real, check_seeds,
                   check_time_grid, integrate, mean_sem)
from .plotting import new_figure, plot_simulation, plot_theory

__all__ = ["LQRSolution", "DPResult", "Extremals", "ScheduleResult", "ScheduleSimulation", "MSAResult",
           "riccati_rhs", "riccati", "lqr", "dp_solve_1d", "hopf_lax_value", "double_well", "pmp_extremals",
           "schedule_theory", "optimal_schedule", "optimal_constant_schedule", "inverse_time_schedule",
           "schedule_pontryagin", "schedule_finite_n", "simulate_schedule", "msa_train", "projected_gd_train",
           "plot_schedules"]


# ----------------------------------------------------------------------------- LQR
@dataclass(frozen=True)
class LQRSolution(ReadOnlyArrays):
    r"""An LQR problem solved twice. ``t`` (grid), ``P`` (Riccati, ``(n_t, n, n)``), ``x`` and ``lam``
    (Pontryagin's optimal state and costate, ``(n_t, n)``), ``u`` (optimal control ``(n_t, m)``),
    ``cost_dp`` ($x_0^\top P(0)x_0/2$) and ``cost_pmp`` (the cost of the Pontryagin path by quadrature),
    ``costate_gap`` ($\max_t|\lambda(t) + P(t)x(t)|$)."""

    t: np.ndarray
    P: np.ndarray
    x: np.ndarray
    lam: np.ndarray
    u: np.ndarray
    cost_dp: float
    cost_pmp: float
    costate_gap: float


def _check_lqr(A, B, Q, R, F):
    A = check_array("A", A, ndim=2)
    n = A.shape[0]
    if A.shape != (n, n) or n < 1:
        raise ValueError(f"A must be a square (n, n) matrix; got shape {A.shape}")
    B = check_array("B", B, ndim=2)
    if B.shape[0] != n or B.shape[1] < 1:
        raise ValueError(f"B must have shape ({n}, m) with m >= 1; got {B.shape}")
    m = B.shape[1]
    Q = check_array("Q", Q, ndim=2)
    R = check_array("R", R, ndim=2)
    F = check_array("F", F, ndim=2)
    for name, M, k in (("Q", Q, n), ("F", F, n), ("R", R, m)):
        if M.shape != (k, k):
            raise ValueError(f"{name} must have shape ({k}, {k}); got {M.shape}")
        if not np.allclose(M, M.T):
            raise ValueError(f"{name} must be symmetric")
    if np.linalg.eigvalsh(Q).min() < -1e-12 or np.linalg.eigvalsh(F).min() < -1e-12:
        raise ValueError("Q and F must be positive semi-definite")
    if np.linalg.eigvalsh(R).min() <= 0:
        raise ValueError("R must be positive definite")
    return A, B, Q, R, F


def riccati_rhs(P, A, B, Q, R):
    r"""$dP/dt = -(Q + A^\top P + PA - PBR^{-1}B^\top P)$, the Riccati right-hand side (forward time)."""
    A, B, Q, R, _ = _check_lqr(A, B, Q, R, Q)
    P = check_array("P", P, ndim=2)
    if P.shape != A.shape:
        raise ValueError(f"P must have the shape of A, {A.shape}; got {P.shape}")
    return _riccati_rhs(P, A, B, Q, R)


def _riccati_rhs(P, A, B, Q, R):
    S = B @ np.linalg.solve(R, B.T)
    return -(Q + A.T @ P + P @ A - P @ S @ P)


def riccati(A, B, Q, R, F, T: float, n_t: int = 201):
    r"""Solve the Riccati equation backwards from $P(T) = F$; return ``(t, P)`` with ``P`` of shape
    ``(n_t, n, n)`` on the uniform grid ``t`` of ``[0, T]`` (RK4 with 4 substeps per interval).

    Examples
    --------
    >>> t, P = riccati([[0.0]], [[1.0]], [[1.0]], [[1.0]], [[0.0]], T=10.0)
    >>> round(float(P[0, 0, 0]), 6)        # tanh(T) for the scalar problem, -> 1 as T -> infinity
    1.0
    """
    A, B, Q, R, F = _check_lqr(A, B, Q, R, F)
    T = check_real("T", T, low=0.0, low_open=True, high=1e4)
    n_t = check_int("n_t", n_t, low=2, high=10**6)
    t = np.linspace(0.0, T, n_t)
    s = T - t[::-1]                                       # s = T - t runs forward from 0
    Ps = integrate(lambda s_, P: -_riccati_rhs(P, A, B, Q, R), F, s, substeps=4)
    return t, Ps[::-1].copy()


def lqr(A, B, Q, R, F, x0, T: float, n_t: int = 201) -> LQRSolution:
    r"""Solve an LQR problem by dynamic programming (Riccati) and by Pontryagin's principle (the linear
    two-point boundary-value problem through the exponential of the Hamiltonian matrix).

    Examples
    --------
    >>> sol = lqr([[0.0, 1.0], [0.0, 0.0]], [[0.0], [1.0]], np.eye(2), [[1.0]], np.eye(2), [1.0, 0.0], T=2.0)
    >>> bool(abs(sol.cost_dp - sol.cost_pmp) < 1e-6), bool(sol.costate_gap < 1e-6)
    (True, True)
    """
    A, B, Q, R, F = _check_lqr(A, B, Q, R, F)
    n, m = B.shape
    x0 = check_array("x0", x0, ndim=1)
    if x0.shape != (n,):
        raise ValueError(f"x0 must have shape ({n},); got {x0.shape}")
    T = check_real("T", T, low=0.0, low_open=True, high=50.0)
    t, P = riccati(A, B, Q, R, F, T, n_t)
    Rinv_Bt = np.linalg.solve(R, B.T)
    M = np.block([[A, B @ Rinv_Bt], [Q, -A.T]])
    E = expm(M * T)
    E11, E12, E21, E22 = E[:n, :n], E[:n, n:], E[n:, :n], E[n:, n:]
    lam0 = np.linalg.solve(E22 + F @ E12, -(E21 + F @ E11) @ x0)
    z = expm(M[None] * t[:, None, None]) @ np.concatenate([x0, lam0])
    x, lam = z[:, :n], z[:, n:]
    if not np.all(np.isfinite(z)):
        raise ValueError("the Hamiltonian boundary-value problem overflowed; reduce T")
    u = lam @ Rinv_Bt.T
    running = 0.5 * (np.einsum("ti,ij,tj->t", x, Q, x) + np.einsum("ti,ij,tj->t", u, R, u))
    cost_pmp = float(0.5 * x[-1] @ F @ x[-1] + simpson(running, x=t))
    cost_dp = float(0.5 * x0 @ P[0] @ x0)
    gap = float(np.abs(lam + np.einsum("tij,tj->ti", P, x)).max())
    return LQRSolution(t=t, P=P, x=x, lam=lam, u=u, cost_dp=cost_dp, cost_pmp=cost_pmp, costate_gap=gap)


# ----------------------------------------------------------------------------- HJB on a grid (1-D)
@dataclass(frozen=True)
class DPResult(ReadOnlyArrays):
    """Dynamic programming on a grid: ``t`` (``n_t``), ``x`` (``n_x``), value ``V`` (``n_t, n_x``) and the
    minimising control ``u`` (``n_t - 1, n_x``) at each grid point and time."""

    t: np.ndarray
    x: np.ndarray
    V: np.ndarray
    u: np.ndarray


def dp_solve_1d(f: Callable, cost: Callable, phi: Callable, x, u, T: float, n_t: int = 201) -> DPResult:
    r"""Backward dynamic programming for $\dot x = f(x, u)$, cost $\Phi(x(T)) + \int c(x, u)dt$ (running cost ``cost``).

    The semi-Lagrangian scheme $V_k(x) = \min_{u}\,[c(x, u)\,\Delta t + V_{k+1}(x + f(x, u)\Delta t)]$
    with linear interpolation in ``x`` (the state is clamped to the grid: keep the grid wide enough) and a
    minimum over the control grid ``u``; all grid points and controls at once. It converges to the viscosity
    solution of the HJB equation $-\partial_t V = \min_u[c + \partial_x V\,f]$ as the grids refine.

    Examples
    --------
    >>> x = np.linspace(-3, 3, 241); u = np.linspace(-3, 3, 241)
    >>> dp = dp_solve_1d(lambda x, u: u, lambda x, u: 0.5 * u**2, lambda x: 0.5 * x**2, x, u, T=1.0, n_t=51)
    >>> round(float(np.interp(1.0, x, dp.V[0])), 2)      # exact x^2 / (2 (1 + T)) = 0.25
    0.25
    """
    x = check_array("x", x, ndim=1, increasing=True)
    u = check_array("u", u, ndim=1)
    if x.size < 3 or u.size < 1:
        raise ValueError("x must have at least 3 points and u at least 1")
    T = check_real("T", T, low=0.0, low_open=True, high=1e4)
    n_t = check_int("n_t", n_t, low=2)
    check_budget("grid points x controls x time steps", float(x.size) * u.size * n_t, limit=5e8)
    t = np.linspace(0.0, T, n_t)
    dt = t[1] - t[0]
    X, U = x[:, None], u[None, :]
    step = np.broadcast_to(X + dt * np.asarray(f(X, U), dtype=float), (x.size, u.size))
    run = np.broadcast_to(dt * np.asarray(cost(X, U), dtype=float), (x.size, u.size))
    V = np.empty((n_t, x.size))
    V[-1] = np.asarray(phi(x), dtype=float)
    arg = np.empty((n_t - 1, x.size), dtype=int)
    tgt = np.clip(step, x[0], x[-1]).ravel()
    for k in range(n_t - 2, -1, -1):
        cand = run + np.interp(tgt, x, V[k + 1]).reshape(step.shape)
        arg[k] = np.argmin(cand, axis=1)
        V[k] = cand[np.arange(x.size), arg[k]]
    if not np.all(np.isfinite(V)):
        raise ValueError("the value function is not finite; check f, cost and phi on the grid")
    return DPResult(t=t, x=x, V=V, u=u[arg])


def double_well(x, a: float = 1.0, tilt: float = 0.0):
    r"""The terminal cost $\Phi(x) = a(x^2 - 1)^2 + \text{tilt}\cdot x$ and its derivative, ``(Phi, dPhi)``."""
    x = check_array("x", x)
    a = check_real("a", a, low=0.0)
    tilt = check_real("tilt", tilt)
    return a * (x**2 - 1) ** 2 + tilt * x, 4 * a * x * (x**2 - 1) + tilt


def hopf_lax_value(phi: Callable, x, tau: float, y=None):
    r"""Exact value of $\dot x = u$, cost $\Phi(x(T)) + \int u^2/2$, at time-to-go $\tau$:
    $V(x) = \min_y[\Phi(y) + (y - x)^2/(2\tau)]$ (Hopf-Lax), the minimum over a fine grid ``y``.

    Examples
    --------
    >>> round(float(hopf_lax_value(lambda y: 0.5 * y**2, [1.0], 1.0)[0]), 4)
    0.25
    """
    x = check_array("x", x, ndim=1)
    tau = check_real("tau", tau, low=0.0, low_open=True)
    y = np.linspace(x.min() - 4.0, x.max() + 4.0, 8001) if y is None else check_array("y", y, ndim=1)
    vals = np.asarray(phi(y), dtype=float)[None, :] + (y[None, :] - x[:, None]) ** 2 / (2 * tau)
    return vals.min(axis=1)


@dataclass(frozen=True)
class Extremals(ReadOnlyArrays):
    """Pontryagin's extremals from ``x0``: end points ``y``, controls ``u`` (constant along each), costs
    ``cost``; ``best`` is the index of the cheapest (the optimal path)."""

    x0: float
    y: np.ndarray
    u: np.ndarray
    cost: np.ndarray
    best: int


def pmp_extremals(x0: float, T: float, a: float = 1.0, tilt: float = 0.0) -> Extremals:
    r"""All Pontryagin extremals of $\dot x = u$, cost $\Phi(x(T)) + \int u^2/2$ with the double
    well :func:`double_well`. The costate is constant, $\lambda = -\Phi'(y)$, the control
    $u = \lambda$, so extremals are straight lines to the roots $y$ of $y + T\Phi'(y) = x_0$.

    Examples
    --------
    >>> e = pmp_extremals(0.2, T=1.0)             # 4y^3 - 3y = 0.2: three roots (cos of thirds)
    >>> len(e.y), round(float(e.y[e.best]), 4)
    (3, 0.8976)
    """
    x0 = check_real("x0", x0, low=-100, high=100)
    T = check_real("T", T, low=0.0, low_open=True, high=1e3)
    a = check_real("a", a, low=0.0)
    tilt = check_real("tilt", tilt, low=-100, high=100)
    g = lambda y: y + T * double_well(y, a, tilt)[1] - x0
    grid = np.linspace(-abs(x0) - 3.0, abs(x0) + 3.0, 4001)
    vals = g(grid)
    idx = np.flatnonzero(np.sign(vals[:-1]) * np.sign(vals[1:]) <= 0)
    roots = np.unique(np.round([brentq(g, grid[i], grid[i + 1]) if vals[i] != vals[i + 1] else grid[i]
                                for i in idx], 12))
    u = (roots - x0) / T
    cost = double_well(roots, a, tilt)[0] + 0.5 * u**2 * T
    return Extremals(x0=x0, y=roots, u=u, cost=cost, best=int(np.argmin(cost)))


# ----------------------------------------------------------------------------- schedules
@dataclass(frozen=True)
class ScheduleResult(ReadOnlyArrays):
    r"""A learning-rate schedule and its learning curve: ``tau`` (samples per dimension), ``g``
    ($\eta N/B$ on each grid point), ``test_error`` ($E_g$), ``name``."""

    tau: np.ndarray
    g: np.ndarray
    test_error: np.ndarray
    name: str


def _check_schedule(g, tau):
    tau = check_time_grid("tau", tau)
    g = np.broadcast_to(check_array("g", g, low=0.0), tau.shape).astype(float)
    if np.any(g >= 2.0):
        raise ValueError("g = eta N / B must be in [0, 2) (online SGD diverges at g >= 2)")
    return g, tau


def schedule_theory(g, tau, sigma2: float, E0: float = 1.0, name: str = "schedule",
                    max_substep: float = 2e-3) -> ScheduleResult:
    r"""The $N\to\infty$ test error of online SGD under the schedule ``g``, given on the grid ``tau``
    and interpolated linearly in between (the same schedule the simulations use):
    $dE/d\tau = -(2g - g^2)E + g^2\sigma^2$, integrated exactly on substeps of at most ``max_substep``
    with $g$ frozen at each substep's midpoint (second order in the substep).

    Examples
    --------
    >>> th = schedule_theory(0.5, [0.0, 1.0, 50.0], 0.25)
    >>> [round(float(e), 4) for e in th.test_error]      # constant g: the ODE of sgd.online_theory in tau = t/g
    [1.0, 0.5163, 0.0833]
    """
    g, tau = _check_schedule(g, tau)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    E0 = check_real("E0", E0, low=0.0, low_open=True)
    max_substep = check_real("max_substep", max_substep, low=1e-6, high=1.0)
    n_sub = np.ceil(np.diff(tau) / max_substep).astype(int)
    check_budget("substeps", float(n_sub.sum()), limit=1e7)
    edges = np.concatenate([np.linspace(tau[k], tau[k + 1], n_sub[k] + 1)[:-1] for k in range(tau.size - 1)]
                           + [tau[-1:]])
    d = np.diff(edges)
    gm = np.interp(0.5 * (edges[:-1] + edges[1:]), tau, g)
    a = 2 * gm - gm**2
    decay = np.exp(-a * d)
    small = a < 1e-12
    push = np.where(small, gm**2 * sigma2 * d, gm**2 * sigma2 * (1 - decay) / np.where(small, 1.0, a))
    E_fine = np.empty(edges.size)
    E_fine[0] = E0
    for k in range(d.size):
        E_fine[k + 1] = decay[k] * E_fine[k] + push[k]
    E = E_fine[np.concatenate([[0], np.cumsum(n_sub)])]
    return ScheduleResult(tau=tau, g=g, test_error=E, name=name)


def optimal_schedule(tau, sigma2: float, E0: float = 1.0) -> ScheduleResult:
    r"""The optimal schedule in closed form. Pontryagin (or HJB) gives the pointwise minimiser
    $g^* = E/(E + \sigma^2)$; then $dE/d\tau = -E^2/(E + \sigma^2)$, whose solution is
    $E = \sigma^2/w$ with $w = W\bigl((\sigma^2/E_0)\,e^{\sigma^2/E_0 + \tau}\bigr)$ (Lambert's
    $W$), and $g^* = 1/(1 + w)\sim 1/\tau$: the $1/t$ schedule, with its prefactor.

    Examples
    --------
    >>> opt = optimal_schedule([0.0, 10.0, 100.0], 0.25)
    >>> [round(float(e), 4) for e in opt.test_error], [round(float(g), 4) for g in opt.g]
    ([1.0, 0.0361, 0.0027], [0.8, 0.1261, 0.0105])
    """
    tau = check_time_grid("tau", tau)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    E0 = check_real("E0", E0, low=0.0, low_open=True)
    if sigma2 == 0.0:
        E = E0 * np.exp(-tau)
        return ScheduleResult(tau=tau, g=np.ones_like(tau), test_error=E, name="optimal")
    r = sigma2 / E0
    z = np.log(r) + r + tau                        # w e^w = e^z, i.e. w + ln w = z
    w = lambertw(np.exp(np.minimum(z, 700.0))).real
    big = z > 700.0                                # beyond exp's range: Newton on w + ln w = z
    if np.any(big):
        wb = z[big] - np.log(z[big])
        for _ in range(8):
            wb = wb - (wb + np.log(wb) - z[big]) / (1 + 1 / wb)
        w[big] = wb
    E = sigma2 / w
    return ScheduleResult(tau=tau, g=1.0 / (1.0 + w), test_error=E, name="optimal")


def optimal_constant_schedule(tau, sigma2: float, E0: float = 1.0) -> ScheduleResult:
    r"""The best constant $g$ for the horizon $\tau_{\max}$ (a scalar minimisation of
    $E(\tau_{\max})$), and its learning curve."""
    tau = check_time_grid("tau", tau)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    T = tau[-1] - tau[0]

    def end(g):
        a = 2 * g - g**2
        einf = g**2 * sigma2 / a
        return einf + (E0 - einf) * np.exp(-a * T)

    g = minimize_scalar(end, bounds=(1e-6, 1.0), method="bounded", options={"xatol": 1e-10}).x
    return schedule_theory(g, tau, sigma2, E0, name="best constant")


def inverse_time_schedule(tau, sigma2: float, g0: float = 1.0, tau0: float = 1.0, E0: float = 1.0) -> ScheduleResult:
    r"""The schedule $g(\tau) = g_0/(1 + \tau/\tau_0)$ and its learning curve."""
    tau = check_time_grid("tau", tau)
    g0 = check_real("g0", g0, low=0.0, low_open=True, high=2.0, high_open=True)
    tau0 = check_real("tau0", tau0, low=0.0, low_open=True)
    return schedule_theory(g0 / (1 + tau / tau0), tau, sigma2, E0, name="eta_bar0/(1 + tau/tau0)")


def schedule_pontryagin(tau, sigma2: float, n_iter: int = 200, lr: float = 2.0, g_init: float = 0.5,
                        E0: float = 1.0):
    r"""Gradient descent on a discretised schedule with the gradient from Pontryagin's costate.

    Forward Euler on the grid, $E_{k+1} = E_k + \Delta\tau f(E_k, g_k)$ with
    $f = -2gE + g^2(E+\sigma^2)$; costate $\lambda_K = -1$,
    $\lambda_k = \lambda_{k+1}(1 + \Delta\tau\,\partial_E f)$; gradient
    $\partial E_K/\partial g_k = -\Delta\tau\,\lambda_{k+1}\partial_g f$. Returns
    ``(ScheduleResult, loss_history)``; the schedule converges to :func:`optimal_schedule`.
    """
    tau = check_time_grid("tau", tau)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    n_iter = check_int("n_iter", n_iter, low=1, high=10**6)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    g_init = check_real("g_init", g_init, low=0.0, high=1.0)
    check_budget("iterations x grid points", float(n_iter) * tau.size)
    d = np.diff(tau)
    g = np.full(tau.size - 1, g_init)
    hist = np.empty(n_iter + 1)
    for it in range(n_iter + 1):
        E = np.empty(tau.size)
        E[0] = E0
        for k in range(tau.size - 1):
            E[k + 1] = E[k] + d[k] * (-2 * g[k] * E[k] + g[k] ** 2 * (E[k] + sigma2))
        hist[it] = E[-1]
        if it == n_iter:
            break
        lam = np.empty(tau.size)
        lam[-1] = -1.0
        for k in range(tau.size - 2, -1, -1):
            lam[k] = lam[k + 1] * (1 + d[k] * (-2 * g[k] + g[k] ** 2))
        grad = -d * lam[1:] * (-2 * E[:-1] + 2 * g * (E[:-1] + sigma2))
        g = np.clip(g - lr * grad / d, 0.0, 1.5)          # a step per unit of tau
    if not np.all(np.isfinite(hist)):
        raise ValueError("the schedule iteration diverged; reduce lr")
    return ScheduleResult(tau=tau, g=np.append(g, g[-1]), test_error=E, name="Pontryagin (numerical)"), hist


def _eta_steps(g, tau, N, B):
    """Per-step learning rates eta_k = g(tau_k) B / N on the SGD step grid tau_k = k B / N."""
    n = int(round(tau[-1] * N / B))
    k_tau = np.arange(n) * B / N
    return np.interp(k_tau, tau, g) * B / N, n


def schedule_finite_n(result: ScheduleResult, N: int, B: int = 1, sigma2: float = 0.25, E0: float = 1.0):
    r"""The exact mean test error of online SGD at finite $N$ under ``result.g``:
    $E_{k+1} = [(1-\eta_k)^2 + \eta_k^2(N+1)/B]E_k + \eta_k^2(N/B)\sigma^2$ (Gaussian inputs), returned
    at the times ``result.tau``. Differs from the $N\to\infty$ curve by $O(1/N)$."""
    N = check_int("N", N, low=2, high=10**7)
    B = check_int("B", B, low=1, high=N)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    check_budget("SGD steps", result.tau[-1] * N / B, limit=1e8)
    eta, n = _eta_steps(result.g, result.tau, N, B)
    E = np.empty(n + 1)
    E[0] = E0
    m = (1 - eta) ** 2 + eta**2 * (N + 1) / B
    c = eta**2 * N / B * sigma2
    for k in range(n):
        E[k + 1] = m[k] * E[k] + c[k]
    return np.interp(result.tau, np.arange(n + 1) * B / N, E)


@dataclass(frozen=True)
class ScheduleSimulation(ReadOnlyArrays):
    """Online SGD under a schedule at finite ``N``: ``tau``, ``test_error`` and ``test_error_sem``
    (mean and standard error over ``n_seeds`` runs), ``N``, ``B``, ``n_seeds``."""

    tau: np.ndarray
    test_error: np.ndarray
    test_error_sem: np.ndarray
    N: int
    B: int
    n_seeds: int


def simulate_schedule(N: int, result: ScheduleResult, seeds, B: int = 1, sigma2: float = 0.25) -> ScheduleSimulation:
    r"""Online SGD on linear regression at finite $N$ under the schedule ``result.g``: at step
    $k$ a fresh batch of $B$ Gaussian inputs, $w \leftarrow w + (\eta_k\sqrt N/B)\sum_j r_jx_j$
    with $\eta_k = g(\tau_k)B/N$ (the update of :func:`dmftlib.sgd.simulate_online`); all seeds at once;
    test error $|w - w^*|^2/N$ recorded at the times ``result.tau``.

    Examples
    --------
    >>> opt = optimal_schedule(np.linspace(0, 2, 5), 0.25)
    >>> sim = simulate_schedule(100, opt, seeds=4)
    >>> sim.n_seeds, sim.test_error.shape
    (4, (5,))
    """
    N = check_int("N", N, low=2, high=10**5)
    B = check_int("B", B, low=1, high=N)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    seeds = check_seeds("seeds", seeds)
    S = len(seeds)
    eta, n = _eta_steps(result.g, result.tau, N, B)
    check_budget("steps x batch x dimension x seeds", float(n) * B * N * S)
    rec = np.round(result.tau * N / B).astype(int)
    v = -np.stack([np.random.default_rng(s).standard_normal(N) for s in seeds])   # w - w*, w(0) = 0
    rng = np.random.default_rng([*seeds, 0x5C])
    sigma = np.sqrt(sigma2)
    eg = np.empty((S, n + 1))
    for k in range(n + 1):
        eg[:, k] = np.sum(v * v, axis=1) / N
        if k == n:
            break
        x = rng.standard_normal((S, B, N))
        r = sigma * rng.standard_normal((S, B)) - (x @ v[:, :, None])[:, :, 0] / np.sqrt(N)
        v = v + (eta[k] * np.sqrt(N) / B) * (r[:, None, :] @ x)[:, 0, :]
    if not np.all(np.isfinite(eg)):
        raise ValueError("the simulation overflowed; the schedule must keep g < 2")
    m, s = mean_sem(eg[:, rec], axis=0)
    return ScheduleSimulation(tau=result.tau, test_error=m, test_error_sem=s, N=N, B=B, n_seeds=S)


# ----------------------------------------------------------------------------- MSA
@dataclass(frozen=True)
class MSAResult(ReadOnlyArrays):
    """Training history: ``loss`` per iteration (``n_iter + 1``), final controls ``A``, ``b``, ``method``,
    and ``passes`` (forward + backward passes used so far, per iteration: the cost axis)."""

    loss: np.ndarray
    passes: np.ndarray
    A: np.ndarray
    b: np.ndarray
    method: str


def _check_box(A0, b0, bound):
    bound = check_real("bound", bound, low=0.0, low_open=True)
    A0 = check_array("A0", A0, ndim=3, low=-bound, high=bound)
    b0 = check_array("b0", b0, ndim=2, low=-bound, high=bound)
    return A0, b0, bound


def msa_train(A0, b0, h0, y, n_iter: int = 30, bound: float = 1.0, relax: float = 1.0) -> MSAResult:
    r"""The method of successive approximations on the tanh ResNet $F = -h + A\tanh h + b$ with
    controls in the box $|\theta|\le$ ``bound``. Each iteration: a forward pass (states), a backward
    pass (costates $\lambda = -\delta$), then the Hamiltonian is maximised layer by layer over the box.
    $H_\ell$ is linear in $\theta_\ell$, so the maximiser is bang-bang:
    $\theta^\sharp_\ell = -\text{bound}\cdot\operatorname{sign}(\partial J/\partial\theta_\ell)$.
    Basic MSA (``relax = 1``) jumps there; relaxed MSA moves $\theta \leftarrow \theta +
    \text{relax}\,(\theta^\sharp - \theta)$ (a conditional-gradient step).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> h0, y = rng.standard_normal((2, 2, 20))
    >>> r = msa_train(np.zeros((4, 2, 2)), np.zeros((4, 2)), h0, y, n_iter=3, relax=0.5)
    >>> r.loss.shape, int(r.passes[-1])
    ((4,), 4)
    """
    A0, b0, bound = _check_box(A0, b0, bound)
    n_iter = check_int("n_iter", n_iter, low=1, high=10**5)
    relax = check_real("relax", relax, low=0.0, low_open=True, high=1.0)
    step = lambda theta, grad: theta + relax * (-bound * np.sign(grad) - theta)   # towards the maximiser of H
    return _train_box(A0, b0, h0, y, n_iter, step, "MSA" if relax == 1.0 else f"relaxed MSA ({relax:g})")


def _train_box(A0, b0, h0, y, n_iter, step, method):
    """One forward and one backward pass per iteration, then ``theta <- step(theta, dJ/dtheta)`` on A and b."""
    A, b = A0.copy(), b0.copy()
    loss = np.empty(n_iter + 1)
    for it in range(n_iter + 1):
        bp = backprop_tanh_resnet(A, b, h0, y)
        loss[it] = bp.loss
        if it == n_iter:
            break
        A, b = step(A, bp.grad_A), step(b, bp.grad_b)
    if not np.all(np.isfinite(loss)):
        raise ValueError(f"{method} diverged; reduce the step")
    return MSAResult(loss=loss, passes=np.arange(1, n_iter + 2), A=A, b=b, method=method)


def projected_gd_train(A0, b0, h0, y, n_iter: int = 30, bound: float = 1.0, lr: float = 1.0) -> MSAResult:
    r"""Projected gradient descent on the same problem: $\theta\leftarrow\Pi_{\rm box}(\theta - \text{lr}\,
    \partial J/\partial\theta)$, one forward and one backward pass per iteration, like MSA."""
    A0, b0, bound = _check_box(A0, b0, bound)
    n_iter = check_int("n_iter", n_iter, low=1, high=10**5)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    step = lambda theta, grad: np.clip(theta - lr * grad, -bound, bound)
    return _train_box(A0, b0, h0, y, n_iter, step, f"projected GD (lr = {lr:g})")


# ----------------------------------------------------------------------------- plots
def plot_schedules(sigma2: float = 0.25, T: float = 50.0, N: int | None = None, seeds=8, ax=None):
    r"""Learning curves of online SGD under the optimal, best-constant and $1/(1+\tau)$ schedules
    (lines, $N\to\infty$), with simulations at ``N`` (markers, one run per seed of ``seeds``) unless
    ``N`` is None; right: the schedules."""
    sigma2 = check_real("sigma2", sigma2, low=0.0, low_open=True, high=10.0)
    T = check_real("T", T, low=1.0, high=500.0)
    N = None if N is None else check_int("N", N, low=1, high=4000)
    if ax is None:
        _, ax = new_figure(ncols=2, width=9.5, height=3.6)
    tau = np.linspace(0.0, T, 201)
    curves = [optimal_schedule(tau, sigma2), optimal_constant_schedule(tau, sigma2),
              inverse_time_schedule(tau, sigma2)]
    for res, c in zip(curves, ["C0", "C1", "C2"]):
        plot_theory(ax[0], res.tau, res.test_error, color=c, label=f"{res.name}: E(T) = {res.test_error[-1]:.4f}")
        ax[1].plot(res.tau, res.g, color=c)
        if N is not None:
            sim = simulate_schedule(N, res, seeds=seeds, sigma2=sigma2)
            plot_simulation(ax[0], sim.tau, sim.test_error, sim.test_error_sem, color=c, every=20, N=N,
                            n_seeds=sim.n_seeds)
    ax[0].set(xscale="log", yscale="log", xlabel=r"samples per dimension $\tau$", ylabel=r"$E_g$")
    ax[1].set(xscale="log", yscale="log", xlabel=r"$\tau$", ylabel=r"$\bar\eta = \eta N/B$")
    ax[0].legend(fontsize=7)
    return ax


check_public(globals())
