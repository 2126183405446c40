r"""Neural ODEs, ResNets and optimal control: forward passes, costates, adjoints, training.

A ResNet with ``L`` residual blocks is the explicit Euler scheme of a neural ODE
(:cite:t:`e2017proposal`, :cite:t:`chen2018neural`):

.. math::

    &h_{\ell+1} = h_\ell + \Delta\tau\,F(h_\ell, \theta_\ell),\qquad \Delta\tau = 1/L,\\
    &\xrightarrow{L\to\infty}\qquad \frac{dh}{d\tau} = F(h, \theta(\tau)),\ \tau\in[0,1].

Training minimises $J = \frac1n\sum_{\mu=1}^n\Phi(h^\mu(1), y^\mu)$ over the controls
$\theta$. The gradient is computed from Pontryagin's costate
(:mod:`dmftlib.symbolic.pontryagin` derives the equations and supplies the NumPy functions):

* **discrete** (the ResNet): $\lambda_L = -\nabla\Phi(h_L)$,
  $\lambda_\ell = \lambda_{\ell+1} + \Delta\tau\,(\partial F/\partial h)^\top\lambda_{\ell+1}$,
  $\partial J/\partial\theta_\ell = -\Delta\tau\,\partial H/\partial\theta(h_\ell,
  \lambda_{\ell+1}, \theta_\ell)$; this is back-propagation ($-\lambda_\ell$ is the
  back-propagated error $\partial J/\partial h_\ell$), see :func:`costate_gradient`;
* **continuous** (the ODE): $\dot\lambda = -(\partial F/\partial h)^\top\lambda$,
  $\lambda(1) = -\nabla\Phi(h(1))$,
  $\delta J/\delta\theta(\tau) = -\partial H/\partial\theta$, integrated backwards in
  time together with $h$ (the adjoint method of :cite:t:`chen2018neural`), see
  :func:`adjoint_gradient`.

Conventions: ``H = lambda . F``; the costate $\lambda$ is Pontryagin's $p$
(:cite:t:`li2018maximum`), equal to minus the adjoint $a = \partial J/\partial h$ of
Chen et al. Depth is the time $\tau\in[0,1]$. Arrays: states ``h`` of shape ``(K, n)``
(``K`` components, ``n`` samples; computations are vectorised over samples), trajectories
``(n_steps + 1, K, n)``. The controls ``theta`` are either time-independent, shape ``(P,)``
(the neural ODE of Chen et al.), or piecewise constant on ``n_pieces`` equal intervals of
``[0, 1]``, shape ``(n_pieces, P)`` (a ResNet with one parameter set per block when
``n_steps = n_pieces``); ``n_steps`` must be a multiple of ``n_pieces``. Gradients have the
shape of ``theta``.

Also: a neural *delay* equation $\dot h = F(h(\tau), h(\tau - d))$
(:cite:t:`zhu2021neural`), :func:`delay_euler`.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .core import ConvergenceError, check_array, check_choice, check_int, check_real
from .plotting import new_figure
from .core import ReadOnlyArrays, check_public

__all__ = ["Trajectory", "GradientResult", "BackpropResult", "TrainingResult", "DelayTrajectory",
           "solve_forward", "total_loss", "costate_gradient", "adjoint_gradient",
           "finite_difference_gradient", "backprop_tanh_resnet", "euler_error_coefficient",
           "train", "delay_euler", "random_tanh_controls", "plot_trajectories",
           "plot_depth_convergence"]


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Trajectory(ReadOnlyArrays):
    """States on the depth grid: ``tau`` (``n_steps + 1``), ``h`` (``n_steps + 1, K, n``)."""

    tau: np.ndarray
    h: np.ndarray
    method: str


@dataclass(frozen=True)
class GradientResult(ReadOnlyArrays):
    r"""Loss and its gradient from a costate computation.

    Fields: ``loss`` ($J$, mean over samples), ``grad`` (shape of ``theta``), ``tau``
    (grid), ``h`` and ``lam`` (state and costate on the grid, ``(n_steps + 1, K, n)``; the
    costate is per sample, $\lambda^\mu = -\partial\Phi^\mu/\partial h^\mu$
    propagated back), ``method`` (``"discrete costate"`` or ``"continuous adjoint"``).
    """

    loss: float
    grad: np.ndarray
    tau: np.ndarray
    h: np.ndarray
    lam: np.ndarray
    method: str


@dataclass(frozen=True)
class BackpropResult(ReadOnlyArrays):
    """Hand-written back-propagation through the tanh ResNet: ``loss``, ``grad_A``, ``grad_b``
    (shapes of ``A`` and ``b``) and the back-propagated errors ``delta`` = dJ/dh_l of shape
    ``(L + 1, K, n)`` (per sample, i.e. not divided by ``n``)."""

    loss: float
    grad_A: np.ndarray
    grad_b: np.ndarray
    delta: np.ndarray


@dataclass(frozen=True)
class TrainingResult(ReadOnlyArrays):
    """Gradient descent on the controls: final ``theta``, ``loss`` and ``grad_norm`` per
    iteration (``n_iter + 1`` entries; the last is at the final ``theta``), ``lr``, ``n_iter``."""

    theta: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    lr: float
    n_iter: int


@dataclass(frozen=True)
class DelayTrajectory(ReadOnlyArrays):
    """A neural delay equation on ``[0, T]``: ``tau`` (``n_steps + 1``), ``h`` (``n_steps + 1, n``), delay ``d``."""

    tau: np.ndarray
    h: np.ndarray
    d: float


# ----------------------------------------------------------------------------- checks
def _check_system(system):
    for attr in ("f", "costate_f", "grad_h", "loss_fn", "terminal_fn", "K", "P"):
        if not hasattr(system, attr):
            raise ValueError("system must be a PontryaginSystem (dmftlib.symbolic.pontryagin.derive_pontryagin)")
    return system


def _schedule(system, theta, n_steps):
    """Validate ``theta`` and return (theta, per-step parameters (n_steps, P), n_steps)."""
    theta = check_array("theta", theta)
    P = system.P
    if theta.ndim == 1:
        if theta.shape != (P,):
            raise ValueError(f"theta must have shape ({P},) or (n_pieces, {P}); got {theta.shape}")
        if n_steps is None:
            raise ValueError("n_steps must be given for time-independent theta of shape (P,)")
        n_steps = check_int("n_steps", n_steps, low=1)
        rows = np.broadcast_to(theta, (n_steps, P))
    elif theta.ndim == 2 and theta.shape[1] == P:
        n_pieces = theta.shape[0]
        n_steps = n_pieces if n_steps is None else check_int("n_steps", n_steps, low=1)
        if n_steps % n_pieces:
            raise ValueError(f"n_steps must be a multiple of n_pieces = {n_pieces}; got {n_steps}")
        rows = np.repeat(theta, n_steps // n_pieces, axis=0)
    else:
        raise ValueError(f"theta must have shape ({P},) or (n_pieces, {P}); got {theta.shape}")
    return theta, rows, n_steps


def _per_step_to_theta(theta, g_steps):
    """Sum per-step gradients (n_steps, P) into the shape of ``theta``."""
    if theta.ndim == 1:
        return g_steps.sum(axis=0)
    n_pieces = theta.shape[0]
    return g_steps.reshape(n_pieces, -1, theta.shape[1]).sum(axis=1)


def _check_states(name, a, K):
    a = check_array(name, a)
    if a.ndim == 1 and K == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[0] != K:
        raise ValueError(f"{name} must have shape ({K}, n_samples); got {a.shape}")
    return a


def _check_targets(system, y, n):
    ny = len(system.y)
    y = check_array("y", y)
    if y.ndim == 1 and ny == 1:
        y = y[None, :]
    if y.shape != (ny, n):
        raise ValueError(f"y must have shape ({ny}, {n}); got {y.shape}")
    return y


# ----------------------------------------------------------------------------- forward
def _rk4_step(f, h, p, dt):
    k1 = f(h, p)
    k2 = f(h + 0.5 * dt * k1, p)
    k3 = f(h + 0.5 * dt * k2, p)
    k4 = f(h + dt * k3, p)
    return h + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)


def solve_forward(system, theta, h0, n_steps=None, method: str = "euler") -> Trajectory:
    r"""Integrate $\dot h = F(h, \theta(\tau))$ on ``[0, 1]`` with ``n_steps`` steps.

    ``method="euler"`` is the ResNet $h_{\ell+1} = h_\ell + \Delta\tau F(h_\ell,\theta_\ell)$;
    ``method="rk4"`` (classical Runge-Kutta, parameters constant within a step) is the accurate
    reference for the ODE. Raises ``ValueError`` if the state stops being finite.

    >>> from dmftlib.symbolic.pontryagin import tanh_system
    >>> sys = tanh_system(1)
    >>> theta = sys.pack({"A": [[0.0]], "b": [0.0]})       # dh/dtau = -h
    >>> tr = solve_forward(sys, theta, [[1.0]], n_steps=10, method="rk4")
    >>> round(float(tr.h[-1, 0, 0]), 6), round(float(np.exp(-1)), 6)
    (0.36788, 0.367879)
    """
    _check_system(system)
    check_choice("method", method, ("euler", "rk4"))
    theta, rows, n_steps = _schedule(system, theta, n_steps)
    h = _check_states("h0", h0, system.K)
    dt = 1.0 / n_steps
    out = np.empty((n_steps + 1,) + h.shape)
    out[0] = h
    for l in range(n_steps):
        if method == "euler":
            h = h + dt * system.f(h, rows[l])
        else:
            h = _rk4_step(system.f, h, rows[l], dt)
        if not np.all(np.isfinite(h)):
            raise ValueError(f"the state stopped being finite at tau = {(l + 1) * dt:g}; reduce theta or increase n_steps")
        out[l + 1] = h
    return Trajectory(tau=np.linspace(0.0, 1.0, n_steps + 1), h=out, method=method)


def total_loss(system, theta, h0, y, n_steps=None, method: str = "euler") -> float:
    r"""$J = \frac1n\sum_\mu\Phi(h^\mu(1), y^\mu)$ after :func:`solve_forward`."""
    tr = solve_forward(system, theta, h0, n_steps, method)
    y = _check_targets(system, y, tr.h.shape[-1])
    return float(np.mean(system.loss_fn(tr.h[-1], y)))


# ----------------------------------------------------------------------------- gradients
def costate_gradient(system, theta, h0, y, n_steps=None) -> GradientResult:
    r"""Gradient of the ResNet loss from the discrete costate recursion (= back-propagation).

    .. math::

        &\lambda_L = -\nabla_h\Phi(h_L, y),\qquad
        \lambda_\ell = \lambda_{\ell+1} + \Delta\tau\,\frac{\partial H}{\partial h}(h_\ell,
        \lambda_{\ell+1}, \theta_\ell),\\
        &\frac{\partial J}{\partial\theta_\ell} = -\frac{\Delta\tau}{n}\sum_\mu
        \frac{\partial H}{\partial\theta}(h^\mu_\ell, \lambda^\mu_{\ell+1}, \theta_\ell),

    the stationarity conditions of the discrete Lagrangian
    $\Phi(h_L) + \sum_\ell\lambda_{\ell+1}\cdot(h_{\ell+1} - h_\ell - \Delta\tau F(h_\ell,\theta_\ell))$
    (:func:`dmftlib.symbolic.pontryagin.discrete_costate_equations`). Exact for the Euler
    network (to rounding), vectorised over samples; memory ``O(n_steps K n)``.

    >>> from dmftlib.symbolic.pontryagin import tanh_system
    >>> sys = tanh_system(1)
    >>> theta = sys.pack({"A": [[0.0]], "b": [0.0]})
    >>> r = costate_gradient(sys, theta, [[1.0]], [[0.0]], n_steps=1)   # h_1 = h_0 - h_0 = 0
    >>> round(r.loss, 6), r.grad.round(6).tolist()
    (0.0, [0.0, 0.0])
    """
    _check_system(system)
    theta, rows, n_steps = _schedule(system, theta, n_steps)
    tr = solve_forward(system, theta, h0, n_steps, "euler")
    h = tr.h
    n = h.shape[-1]
    y = _check_targets(system, y, n)
    dt = 1.0 / n_steps
    lam = np.empty_like(h)
    lam[-1] = system.terminal_fn(h[-1], y)
    g_steps = np.empty((n_steps, system.P))
    for l in range(n_steps - 1, -1, -1):
        g_steps[l] = -dt * system.grad_h(h[l], lam[l + 1], rows[l]).mean(axis=-1)
        # lambda_l = lambda_{l+1} + dt * dH/dh = lambda_{l+1} - dt * costate_f
        lam[l] = lam[l + 1] - dt * system.costate_f(h[l], lam[l + 1], rows[l])
    loss = float(np.mean(system.loss_fn(h[-1], y)))
    return GradientResult(loss=loss, grad=_per_step_to_theta(theta, g_steps), tau=tr.tau, h=h, lam=lam,
                          method="discrete costate")


def adjoint_gradient(system, theta, h0, y, n_steps=None) -> GradientResult:
    r"""Gradient of the ODE loss from the continuous adjoint (costate) equation, RK4.

    Forward: $h(1)$ by RK4. Backward, from $\tau = 1$ to 0, the joint system
    (:cite:t:`chen2018neural`: the state is re-integrated backwards, nothing is stored)

    .. math::

        &\dot h = F,\qquad \dot\lambda = -\frac{\partial H}{\partial h},\qquad
        \dot g = \frac{\partial H}{\partial\theta},\\
        &h(1),\ \lambda(1) = -\nabla\Phi(h(1)),\ g(1) = 0,

    so that $\partial J/\partial\theta_{\rm piece} = \frac1n\sum_\mu g^\mu$ accumulated over
    each piece, i.e. $-\frac1n\sum_\mu\int_{\rm piece}\partial H/\partial\theta\,d\tau$.
    The error is $O(n\_steps^{-4})$. The returned ``h`` is the backward re-integration.
    """
    _check_system(system)
    theta, rows, n_steps = _schedule(system, theta, n_steps)
    fwd = solve_forward(system, theta, h0, n_steps, "rk4")
    n = fwd.h.shape[-1]
    y = _check_targets(system, y, n)
    dt = 1.0 / n_steps
    K = system.K

    def rhs(z, p):  # z = (h, lambda) stacked on axis 0 -> (d h, d lambda, d g)
        hh, ll = z[:K], z[K:]
        return np.concatenate([system.f(hh, p), system.costate_f(hh, ll, p)]), system.grad_h(hh, ll, p).mean(axis=-1)

    hs = np.empty_like(fwd.h)
    lams = np.empty_like(fwd.h)
    hs[-1] = fwd.h[-1]
    lams[-1] = system.terminal_fn(fwd.h[-1], y)
    z = np.concatenate([hs[-1], lams[-1]])
    g_steps = np.empty((n_steps, system.P))
    for l in range(n_steps - 1, -1, -1):
        p = rows[l]
        s = -dt  # backwards in tau
        k1, q1 = rhs(z, p)
        k2, q2 = rhs(z + 0.5 * s * k1, p)
        k3, q3 = rhs(z + 0.5 * s * k2, p)
        k4, q4 = rhs(z + s * k3, p)
        z = z + s / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        # g(tau_l) - g(tau_{l+1}) = -int dH/dtheta over the step
        g_steps[l] = s / 6.0 * (q1 + 2 * q2 + 2 * q3 + q4)
        if not np.all(np.isfinite(z)):
            raise ValueError(f"the adjoint stopped being finite at tau = {l * dt:g}")
        hs[l], lams[l] = z[:K], z[K:]
    loss = float(np.mean(system.loss_fn(fwd.h[-1], y)))
    return GradientResult(loss=loss, grad=_per_step_to_theta(theta, g_steps), tau=fwd.tau, h=hs, lam=lams,
                          method="continuous adjoint")


def finite_difference_gradient(fun: Callable, theta, eps: float = 1e-6) -> np.ndarray:
    r"""Central finite differences $[J(\theta + \epsilon e_j) - J(\theta - \epsilon e_j)]/2\epsilon$.

    ``fun(theta) -> float``; one pair of evaluations per parameter (error
    $O(\epsilon^2)$ plus rounding $O(10^{-16}/\epsilon)$).

    >>> finite_difference_gradient(lambda t: float(np.sum(t ** 3)), np.array([1.0, 2.0])).round(6).tolist()
    [3.0, 12.0]
    """
    if not callable(fun):
        raise ValueError("fun must be callable: fun(theta) -> float")
    theta = check_array("theta", theta)
    eps = check_real("eps", eps, low=0, low_open=True)
    g = np.empty(theta.shape)
    flat = theta.reshape(-1)
    gf = g.reshape(-1)
    for j in range(flat.size):
        e = np.zeros_like(flat)
        e[j] = eps
        gf[j] = (fun((flat + e).reshape(theta.shape)) - fun((flat - e).reshape(theta.shape))) / (2 * eps)
    return g


def backprop_tanh_resnet(A, b, h0, y) -> BackpropResult:
    r"""Back-propagation written by hand (chain rule, no SymPy) for $F = -h + A\tanh h + b$.

    ``A`` of shape ``(L, K, K)``, ``b`` of shape ``(L, K)`` (one block per layer,
    $\Delta\tau = 1/L$), ``h0`` and ``y`` of shape ``(K, n)``, loss
    $J = \frac1{2n}\sum_\mu|h^\mu_L - y^\mu|^2$. Reverse mode:
    $\delta_L = h_L - y$, $\delta_\ell = \delta_{\ell+1} + \Delta\tau\,
    [-\delta_{\ell+1} + (1 - \tanh^2 h_\ell)\odot A_\ell^\top\delta_{\ell+1}]$,
    $\partial J/\partial A_\ell = \frac{\Delta\tau}{n}\sum_\mu\delta^\mu_{\ell+1}\tanh(h^\mu_\ell)^\top$.
    Used to check that back-propagation *is* the discrete costate recursion ($\delta = -\lambda$).
    """
    A = check_array("A", A, ndim=3)
    L, K, K2 = A.shape
    if K != K2:
        raise ValueError(f"A must have shape (L, K, K); got {A.shape}")
    b = check_array("b", b, ndim=2)
    if b.shape != (L, K):
        raise ValueError(f"b must have shape ({L}, {K}); got {b.shape}")
    h = _check_states("h0", h0, K)
    y = _check_states("y", y, K)
    if y.shape != h.shape:
        raise ValueError(f"y must have the shape of h0 {h.shape}; got {y.shape}")
    n = h.shape[1]
    dt = 1.0 / L
    hs = np.empty((L + 1, K, n))
    hs[0] = h
    for l in range(L):
        hs[l + 1] = hs[l] + dt * (-hs[l] + A[l] @ np.tanh(hs[l]) + b[l][:, None])
    delta = np.empty_like(hs)
    delta[L] = hs[L] - y
    gA, gb = np.empty_like(A), np.empty_like(b)
    for l in range(L - 1, -1, -1):
        t = np.tanh(hs[l])
        d = delta[l + 1]
        gA[l] = dt * (d @ t.T) / n
        gb[l] = dt * d.mean(axis=1)
        delta[l] = d + dt * (-d + (1 - t ** 2) * (A[l].T @ d))
    loss = 0.5 * float(np.mean(np.sum((hs[L] - y) ** 2, axis=0)))
    return BackpropResult(loss=loss, grad_A=gA, grad_b=gb, delta=delta)


def euler_error_coefficient(system, theta, h0, n_steps: int = 200) -> np.ndarray:
    r"""Leading coefficient $e(1)$ of the ResNet-vs-ODE error $h_L - h(1) = e(1)/L + O(L^{-2})$.

    The global error of the Euler scheme with step $\Delta\tau$ is
    $\Delta\tau\,e(\tau) + O(\Delta\tau^2)$ with ($J_F = \partial F/\partial h$)

    .. math::

        \dot e = J_F\,e - \tfrac12\ddot h = J_F\,e - \tfrac12 J_F F,\qquad e(0) = 0,

    within each piece where $\theta$ is constant ($e$ is continuous at the jumps
    of a piecewise-constant control because the Euler grid contains them). Integrated with RK4
    together with $h$; returns ``e(1)`` of shape ``(K, n)``. Valid when ``L`` is a multiple of
    ``n_pieces``.
    """
    _check_system(system)
    theta, rows, n_steps = _schedule(system, theta, n_steps)
    h = _check_states("h0", h0, system.K)
    K = system.K

    def rhs(z, p):
        hh, e = z[:K], z[K:]
        Fh = system.f(hh, p)
        Jf = system.jacobian(hh, p)
        return np.concatenate([Fh, np.einsum("ij...,j...->i...", Jf, e - 0.5 * Fh)])

    z = np.concatenate([h, np.zeros_like(h)])
    dt = 1.0 / n_steps
    for l in range(n_steps):
        z = _rk4_step(rhs, z, rows[l], dt)
    return z[K:]


# ----------------------------------------------------------------------------- training
def train(system, theta0, h0, y, n_steps=None, lr: float = 0.1, n_iter: int = 100) -> TrainingResult:
    r"""Plain gradient descent $\theta \leftarrow \theta - \eta\,\nabla_\theta J$ on the ResNet loss.

    The gradient is :func:`costate_gradient` (exact for the Euler network); ``n_iter`` steps
    with learning rate ``lr``. Raises :class:`~dmftlib.core.ConvergenceError` (with the loss
    history as ``residuals``) if the iteration diverges: the state or the loss stops being
    finite, or the loss exceeds ``1e6`` times its initial value.
    """
    _check_system(system)
    lr = check_real("lr", lr, low=0, low_open=True)
    n_iter = check_int("n_iter", n_iter, low=0)
    theta = check_array("theta0", theta0).copy()
    _schedule(system, theta, n_steps)
    losses = np.empty(n_iter + 1)
    norms = np.empty(n_iter + 1)
    for it in range(n_iter + 1):
        try:
            r = costate_gradient(system, theta, h0, y, n_steps)
            ok = np.isfinite(r.loss) and np.all(np.isfinite(r.grad)) and (it == 0 or r.loss <= 1e6 * losses[0])
        except ValueError:
            if it == 0:
                raise
            ok = False
        if not ok:
            raise ConvergenceError(f"gradient descent diverged at iteration {it}; reduce lr", residuals=losses[:it])
        losses[it] = r.loss
        norms[it] = float(np.linalg.norm(r.grad))
        if it < n_iter:
            theta = theta - lr * r.grad
    return TrainingResult(theta=theta, loss=losses, grad_norm=norms, lr=lr, n_iter=n_iter)


# ----------------------------------------------------------------------------- delay equations
def delay_euler(F: Callable, x, d: float, n_steps: int = 100, T: float = 1.0) -> DelayTrajectory:
    r"""Euler scheme for the neural delay equation $\dot h = F(h(\tau), h(\tau - d))$ on ``[0, T]``.

    Scalar state per sample, constant initial history $h(s) = x$ for $s\le 0$
    (:cite:t:`zhu2021neural`); ``F(h, h_delayed)`` acts on arrays of shape ``(n,)``.
    The delay is rounded to a whole number of steps ``round(d / dtau)`` (``d = 0`` is an ODE).

    For $F = -k\,h(\tau - d)$ and $d \ge T = 1$ the exact solution is
    $h(1) = (1 - k)x$; ``k = 2`` reverses the line, $x\mapsto -x$, which no 1-D
    ODE can do. Euler is exact here (the right-hand side is constant on ``[0, d]``):

    >>> tr = delay_euler(lambda h, hd: -2.0 * hd, np.array([-1.0, 0.5]), d=1.0, n_steps=10)
    >>> tr.h[-1].round(6).tolist()
    [1.0, -0.5]
    """
    if not callable(F):
        raise ValueError("F must be callable: F(h, h_delayed) -> array")
    x = check_array("x", x, ndim=1)
    d = check_real("d", d, low=0)
    n_steps = check_int("n_steps", n_steps, low=1)
    T = check_real("T", T, low=0, low_open=True)
    dt = T / n_steps
    lag = int(round(d / dt))
    h = np.empty((n_steps + 1, x.size))
    h[0] = x
    for l in range(n_steps):
        hd = h[l - lag] if l - lag >= 0 else x
        h[l + 1] = h[l] + dt * np.asarray(F(h[l], hd), dtype=np.float64)
        if not np.all(np.isfinite(h[l + 1])):
            raise ValueError(f"the state stopped being finite at tau = {(l + 1) * dt:g}")
    return DelayTrajectory(tau=np.linspace(0.0, T, n_steps + 1), h=h, d=lag * dt)


# ----------------------------------------------------------------------------- examples, plots
def random_tanh_controls(K: int, n_pieces: int, g: float = 1.5, b_scale: float = 0.5, seed: int = 0) -> dict:
    r"""Random piecewise-constant controls for $F = -h + A(\tau)\tanh h + b(\tau)$.

    $A_{ij}\sim\mathcal N(0, g^2/K)$, $b_i\sim\mathcal N(0, b_{\rm scale}^2)$,
    independently on each of ``n_pieces`` pieces; returns ``{"A": (n_pieces, K, K), "b": (n_pieces, K)}``.
    """
    K = check_int("K", K, low=1)
    n_pieces = check_int("n_pieces", n_pieces, low=1)
    g = check_real("g", g, low=0)
    b_scale = check_real("b_scale", b_scale, low=0)
    rng = np.random.default_rng(seed)
    return {"A": g / np.sqrt(K) * rng.standard_normal((n_pieces, K, K)),
            "b": b_scale * rng.standard_normal((n_pieces, K))}


def plot_trajectories(traj: Trajectory, component: int = 0, ax=None, cmap: str = "coolwarm", title: str | None = None):
    """Lines $h_{component}(\\tau)$ of every sample, coloured by the initial value."""
    if ax is None:
        _, ax = new_figure()
    h = traj.h[:, component, :]
    order = np.argsort(h[0])
    colors = getattr(__import__("matplotlib").cm, cmap)(np.linspace(0, 1, h.shape[1]))
    for c, i in zip(colors, order):
        ax.plot(traj.tau, h[:, i], color=c, lw=1.0)
    ax.set_xlabel(r"depth $\tau$")
    ax.set_ylabel(rf"$h_{component}(\tau)$")
    if title:
        ax.set_title(title)
    return ax


@functools.lru_cache(maxsize=4)
def _tanh_system_cached(K):
    from .symbolic.pontryagin import tanh_system
    return tanh_system(K)


def plot_depth_convergence(L: int = 8, g: float = 1.5, n_pieces: int = 4, n: int = 12, seed: int = 0, ax=None):
    r"""ResNet with ``L`` layers (markers) against the neural ODE (lines), $K = 2$.

    Random controls :func:`random_tanh_controls` on ``n_pieces`` pieces (``L`` is rounded up to a
    multiple of ``n_pieces``), ``n`` initial states on a circle of radius 1.5; the ODE is RK4 with
    400 steps. The title gives the mean distance $|h_L - h(1)|$ and the prediction
    $|e(1)|/L$ of :func:`euler_error_coefficient`.
    """
    L = check_int("L", L, low=1)
    n_pieces = check_int("n_pieces", n_pieces, low=1)
    n = check_int("n", n, low=1)
    L = int(np.ceil(L / n_pieces) * n_pieces)
    sys = _tanh_system_cached(2)
    theta = sys.pack(random_tanh_controls(2, n_pieces, g=g, seed=seed))
    phi = 2 * np.pi * np.arange(n) / n
    h0 = 1.5 * np.stack([np.cos(phi), np.sin(phi)])
    ode = solve_forward(sys, theta, h0, 400, "rk4")
    res = solve_forward(sys, theta, h0, L, "euler")
    e1 = euler_error_coefficient(sys, theta, h0, 400)
    if ax is None:
        _, ax = new_figure()
    # One sequential colour per input, by its angle on the circle (a colour bar, not a legend of n entries).
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    cmap, norm = matplotlib.colormaps["viridis"], Normalize(0.0, 2 * np.pi)
    for i in range(n):
        col = cmap(norm(phi[i]))
        ax.plot(ode.h[:, 0, i], ode.h[:, 1, i], "-", lw=1.0, color=col)
        ax.plot(res.h[:, 0, i], res.h[:, 1, i], "o-", ms=3, lw=0.6, color=col, alpha=0.8)
    cb = ax.figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.046, pad=0.04)
    cb.set_label(r"angle of the input on the circle")
    cb.set_ticks([0, np.pi, 2 * np.pi])
    cb.ax.set_yticklabels(["0", "π", "2π"])
    ax.plot([], [], "k-", lw=1.0, label="neural ODE (RK4, 400 steps)")
    ax.plot([], [], "ko-", ms=3, lw=0.6, label=f"ResNet, L = {L}")
    err = np.linalg.norm(res.h[-1] - ode.h[-1], axis=0).mean()
    pred = np.linalg.norm(e1, axis=0).mean() / L
    ax.set_title(f"mean |h_L - h(1)| = {err:.3f}  (first-order theory {pred:.3f})", fontsize=10)
    ax.set_xlabel("$h_0$")
    ax.set_ylabel("$h_1$")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="upper left", fontsize=8)
    return ax


check_public(globals())
