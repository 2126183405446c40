r"""Learning a controlled dynamical system: online SGD in a neural-ODE teacher-student model.

Our simplified model, in the spirit of :cite:t:`urbani2026theory` (who develops the general
theory of learning high-dimensional controlled non-linear dynamical systems). A neural ODE has
two dynamics: **inference**, the ODE that carries an input forward in depth
$\tau\in[0,1]$, and **training**, online SGD on its parameters. In the limit
$N\to\infty$ the training dynamics closes on a few order parameters.

**Inference.** An input $x\sim\mathcal N(0, I_N)$ is read by ``K`` trainable directions,
$h(0) = Wx/\sqrt N\in\mathbb R^K$ (rows of $W$ of norm $O(\sqrt N)$); the state
then follows the controlled ODE

.. math::

    \frac{dh}{d\tau} = F(h, \theta(\tau)) = -h + A(\tau)\tanh(h) + b(\tau),
    \qquad \hat y = v\cdot h(1),

discretized by ``L`` Euler steps with one control $\theta_\ell = (A_\ell, b_\ell)$ per step
(a ResNet; $L\to\infty$ is the neural ODE). The read-out $v$ is fixed (ones). The
teacher has the same form with ``M`` directions $W^*$, controls $\theta^*$ on
``L_teacher`` steps, read-out $v^*$; labels $y = v^*\cdot h^*(1) + \sigma\zeta$.

**Training.** Loss $\ell = \tfrac12(y-\hat y)^2$, one fresh sample per step
$\mu$. The gradient comes from the costate of the Lagrangian
$\ell(h(1)) + \int_0^1\lambda\cdot(\dot h - F)\,d\tau$ (derived symbolically by
:mod:`dmftlib.symbolic.pontryagin`; discrete version = back-propagation):
$\lambda_L = (y - \hat y)\,v$,
$\lambda_\ell = \lambda_{\ell+1} + \Delta\tau\,(\partial F/\partial h)^\top\lambda_{\ell+1}$,
and $g \equiv \lambda_0 = -\partial\ell/\partial h(0)$. The updates are

.. math::

    W \leftarrow W + \frac{\eta}{\sqrt N}\,g\,x^\top, \qquad
    \theta_\ell \leftarrow \theta_\ell + \frac{\eta_\theta}{N}\,
        \frac{\partial H}{\partial\theta}(h_\ell, \lambda_{\ell+1}, \theta_\ell),
    \qquad H = \lambda\cdot F ,

i.e. SGD with step $\eta/N$ on the unit-scale weights $W/\sqrt N$ (Saad-Solla) and
step $\eta_\theta L/N$ on $\theta_\ell$ (whose gradient is
$-\Delta\tau\,\partial H/\partial\theta$: the functional gradient
$\delta\ell/\delta\theta(\tau) = -\partial H/\partial\theta$ of the neural ODE, so
the limit $L\to\infty$ is well defined). With training time $t = \mu/N$ both the
overlaps and the controls move by $O(1)$ per unit time.

**Order-parameter ODEs** ($N\to\infty$): with $Q = WW^\top/N$,
$R = WW^{*\top}/N$, $T = W^*W^{*\top}/N$ and averages over
$(h(0), h^*(0))\sim\mathcal N(0, [[Q, R], [R^\top, T]])$,

.. math::

    &\frac{dQ}{dt} = \eta\,\big(\langle g h^\top\rangle + \langle h g^\top\rangle\big)
        + \eta^2\langle g g^\top\rangle,\qquad
    \frac{dR}{dt} = \eta\,\langle g h^{*\top}\rangle,\\
    &\frac{d\theta_\ell}{dt} = \eta_\theta\,\Big\langle\frac{\partial H}{\partial\theta}
        (h_\ell,\lambda_{\ell+1},\theta_\ell)\Big\rangle ,

(label noise adds $\eta^2\sigma^2\langle uu^\top\rangle$ to $dQ/dt$, with $u$ the
costate started from $\lambda_L = v$). The averages are computed by
quadrature (trapezoidal rule; the student's pass on its own $K$ dimensions, the
teacher averaged conditionally on it, :func:`_averages`), $K+M\le5$. The generalization error is
$\epsilon_g = \tfrac12\langle(v^*\cdot h^*(1) - v\cdot h(1))^2\rangle$.

**Plateau and escape.** :func:`rhs` is the right-hand side at one point (the drift that the saddle
point of the training MSR action reproduces, :mod:`dmftlib.symbolic.training_msr`);
:func:`linearization` its Jacobian by central differences, split by parity under the exchange of
two student units (:func:`swap_students`, :func:`asymmetry`); :func:`plateau` Newton's method for a
fixed point, as :func:`dmftlib.committee.plateau`.

Examples
--------
>>> s = setup(K=1, M=1, L=4)
>>> th = theory(s, eta=1.0, t=np.linspace(0, 4, 3))
>>> [round(float(e), 4) for e in th.eg]
[0.2763, 0.1919, 0.121]
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .core import (check_array, check_bool, check_budget, check_int, check_real, check_seeds, check_time_grid,
                   damped_fixed_point, integrate, mean_sem)
from .symbolic.pontryagin import derive_pontryagin, parameter_block, state_symbols
from .core import ReadOnlyArrays

__all__ = ["system", "Setup", "setup", "teacher_controls", "NeuralODETheory", "NeuralODESimulation", "escape_times",
           "forward_backward", "rhs", "theory", "Linearization", "Plateau", "linearization", "plateau",
           "swap_students", "asymmetry", "realize", "simulate", "linear_closed_form", "generalization_error", "save_results",
           "load_results", "plot_learning_curve", "plot_controls", "plot_widget", "simulation_label_once"]

_MAX_DIM = 5
_DEFAULT_NODES = {2: 61, 3: 41, 4: 31, 5: 17}     # student nodes per dimension, by K + M
_MAX_NODES = {1: 401, 2: 121, 3: 41, 4: 17, 5: 11}   # a bound on the work of one average
_MAX_L = 4096                                        # Euler steps in depth


# ----------------------------------------------------------------------------------------------
# the symbolic system
# ----------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def system(K: int):
    r"""The Pontryagin system of the model: $F = -h + A\tanh(h) + b$, loss $\tfrac12(y - v\cdot h)^2$.

    Built with :func:`dmftlib.symbolic.pontryagin.derive_pontryagin` (cached per ``K``). The
    targets are ``(y, v_0, ..., v_{K-1})``: the label and the read-out, so that the same system
    serves any $v$. The terminal costate is
    $\lambda(1) = -\partial\ell/\partial h(1) = (y - v\cdot h(1))\,v$.

    >>> s = system(1)
    >>> s.loss
    (-h_0*v_0 + y)**2/2
    >>> s.terminal_costate
    (v_0*(-h_0*v_0 + y),)
    """
    K = check_int("K", K, low=1, high=_MAX_DIM)
    h = state_symbols(K)
    A = parameter_block("A", (K, K))
    b = parameter_block("b", (K,))
    y = sp.Symbol("y")
    v = [sp.Symbol(f"v_{i}") for i in range(K)]
    F = -h + A * h.applyfunc(sp.tanh) + b
    loss = sp.Rational(1, 2) * (y - sum((v[i] * h[i] for i in range(K)), sp.Integer(0))) ** 2
    return derive_pontryagin(F, h, {"A": (A, (K, K)), "b": b}, loss, [y] + v,
                             describe="lambda . (-h + A tanh(h) + b)")


# ----------------------------------------------------------------------------------------------
# the setup: teacher, initial student
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setup(ReadOnlyArrays):
    r"""One teacher-student problem (the same for theory and simulations).

    ``K``, ``M`` directions of student and teacher; ``L``, ``L_teacher`` Euler steps;
    read-outs ``v`` (K,), ``v_star`` (M,); teacher controls ``A_star`` (L_teacher, M, M),
    ``b_star`` (L_teacher, M); ``T`` (M, M); initial student ``Q0`` (K, K), ``R0`` (K, M),
    ``A0`` (L, K, K), ``b0`` (L, K).
    """

    K: int
    M: int
    L: int
    L_teacher: int
    v: np.ndarray
    v_star: np.ndarray
    A_star: np.ndarray
    b_star: np.ndarray
    T: np.ndarray
    Q0: np.ndarray
    R0: np.ndarray
    A0: np.ndarray
    b0: np.ndarray

    @property
    def theta_star(self) -> np.ndarray:
        """Teacher controls packed, shape (L_teacher, M*M + M)."""
        return system(self.M).pack({"A": self.A_star, "b": self.b_star})

    @property
    def theta0(self) -> np.ndarray:
        """Initial student controls packed, shape (L, K*K + K)."""
        return system(self.K).pack({"A": self.A0, "b": self.b0})


def teacher_controls(M: int, a: float = 1.0, c: float = 1.0):
    r"""The default teacher: $A^* = a I_M + c\,S$ with $S_{ij} = \operatorname{sign}(j - i)$
    (a rotation-like coupling), $b^* = 0$, constant in depth. Returns ``(A_star, b_star)`` of one step."""
    M = check_int("M", M, low=1, high=_MAX_DIM)
    a = check_real("a", a)
    c = check_real("c", c)
    i, j = np.indices((M, M))
    return a * np.eye(M) + c * np.sign(j - i), np.zeros(M)


def setup(K: int = 2, M: int = 2, L: int = 8, L_teacher: int | None = None, a_star: float = 1.0,
          c_star: float = 1.0, q0: float = 0.5, r0: float = 0.2, A0=None, b0=None, seed: int = 0) -> Setup:
    r"""The default problem: teacher of :func:`teacher_controls`, $T = I_M$, $v = v^* = 1$.

    The student starts from $Q = q_0 I_K$, $R_{km} = r_0 z_{km}$ ($z\sim\mathcal N(0,1)$
    from ``seed``: a small random overlap that breaks the permutation symmetry of the student
    directions) and controls $A = 0$, $b = 0$ unless ``A0`` (shape (K, K) or
    (L, K, K)) and ``b0`` are given; with $A = b = 0$ the student is linear,
    $h(1) = (1 - 1/L)^L h(0)$.

    >>> s = setup()
    >>> s.K, s.M, s.L, s.A_star[0].tolist()
    (2, 2, 8, [[1.0, 1.0], [-1.0, 1.0]])
    """
    K = check_int("K", K, low=1, high=_MAX_DIM)
    M = check_int("M", M, low=1, high=_MAX_DIM)
    if K + M > _MAX_DIM:
        raise ValueError(f"K + M must be at most {_MAX_DIM} (quadrature on a tensor grid); got {K + M}")
    L = check_int("L", L, low=1, high=_MAX_L)
    L_teacher = L if L_teacher is None else check_int("L_teacher", L_teacher, low=1, high=_MAX_L)
    a_star = check_real("a_star", a_star)
    c_star = check_real("c_star", c_star)
    q0 = check_real("q0", q0, low=0.0, low_open=True)
    r0 = check_real("r0", r0, low=0.0)
    seed = check_int("seed", seed, low=0)
    As, bs = teacher_controls(M, a_star, c_star)
    A0 = np.zeros((L, K, K)) if A0 is None else check_array("A0", A0)
    b0 = np.zeros((L, K)) if b0 is None else check_array("b0", b0)
    if A0.shape == (K, K):
        A0 = np.broadcast_to(A0, (L, K, K)).copy()
    if b0.shape == (K,):
        b0 = np.broadcast_to(b0, (L, K)).copy()
    if A0.shape != (L, K, K) or b0.shape != (L, K):
        raise ValueError(f"A0 must have shape {(K, K)} or {(L, K, K)} and b0 {(K,)} or {(L, K)}; got {A0.shape}, {b0.shape}")
    R0 = r0 * np.random.default_rng(seed).standard_normal((K, M))
    Q0, T = q0 * np.eye(K), np.eye(M)
    if np.linalg.eigvalsh(_omega(Q0, R0, T)).min() < -1e-12:
        raise ValueError("r0 is too large: the initial overlap matrix is not positive semi-definite")
    return Setup(K, M, L, L_teacher, np.ones(K), np.ones(M), np.broadcast_to(As, (L_teacher, M, M)).copy(),
                 np.broadcast_to(bs, (L_teacher, M)).copy(), T, Q0, R0, A0, b0)


def _check_setup(sp_, name="sp_"):
    if not isinstance(sp_, Setup):
        raise ValueError(f"{name} must be a Setup (see dmftlib.neural_ode.setup); got {type(sp_).__name__}")
    return sp_


def _omega(Q, R, T):
    return np.block([[Q, R], [R.T, T]])


def _factor(O):
    """A factor F with F F^T = O (eigen-decomposition, negative eigenvalues clipped)."""
    w, V = np.linalg.eigh(0.5 * (O + O.T))
    return V * np.sqrt(np.clip(w, 0.0, None))


# ----------------------------------------------------------------------------------------------
# forward and backward passes (vectorized over samples; controls may differ per sample)
# ----------------------------------------------------------------------------------------------
def _forward(sys, theta, h0):
    """Euler ResNet: states (L + 1, K, *batch). ``theta`` (L, P) or (L, P, *batch)."""
    L = theta.shape[0]
    dt = 1.0 / L
    hs = np.empty((L + 1,) + h0.shape)
    hs[0] = h0
    for l in range(L):
        hs[l + 1] = hs[l] + dt * sys.f(hs[l], theta[l])
    return hs


def _backward(sys, theta, hs, lamL, want_grad=True):
    """Discrete costate: lambda_0 (K, *batch) and dH/dtheta at each step (L, P, *batch)."""
    L = theta.shape[0]
    dt = 1.0 / L
    lam = lamL
    G = np.empty((L, sys.P) + lamL.shape[1:]) if want_grad else None
    for l in range(L - 1, -1, -1):
        if want_grad:
            G[l] = sys.grad_h(hs[l], lam, theta[l])
        lam = lam - dt * sys.costate_f(hs[l], lam, theta[l])
    return lam, G


def _student_pass(A, b, h0, y, v):
    r"""Forward and backward pass of the tanh field with the seeds as a batch axis (used by :func:`simulate`).

    ``A`` (L, S, K, K), ``b`` (L, S, K), ``h0`` (S, K), labels ``y`` (S,). Returns
    $g = \lambda_0$ (S, K) and $\partial H/\partial A_\ell$ (L, S, K, K),
    $\partial H/\partial b_\ell$ (L, S, K): the same numbers as :func:`forward_backward`
    (checked in the tests), with one matmul per layer instead of the scalar lambdified functions.
    """
    L = A.shape[0]
    dt = 1.0 / L
    th = np.empty(b.shape)
    h = h0
    for l in range(L):
        th[l] = np.tanh(h)
        h = (1.0 - dt) * h + dt * ((A[l] @ th[l][..., None])[..., 0] + b[l])
    lam = (y - h @ v)[:, None] * v
    lams = np.empty(b.shape)
    for l in range(L - 1, -1, -1):
        lams[l] = lam
        # lambda_l = lambda_{l+1} + dtau (dF/dh)^T lambda_{l+1}, dF/dh = -I + A diag(1 - tanh^2)
        lam = (1.0 - dt) * lam + dt * (1.0 - th[l] ** 2) * (lam[..., None, :] @ A[l])[..., 0, :]
    return lam, lams[..., :, None] * th[..., None, :], lams


def forward_backward(sp_: Setup, theta, h0, hs0, noise=None):
    r"""One forward and backward pass of student and teacher, vectorized over samples.

    Parameters
    ----------
    sp_ : Setup
    theta : array (L, P) or (L, P, n) -- student controls (per sample if 3-D).
    h0 : array (K, n) -- student pre-activations $Wx/\sqrt N$.
    hs0 : array (M, n) -- teacher pre-activations $W^*x/\sqrt N$.
    noise : array (n,) or None -- label noise $\sigma\zeta$ added to the teacher output.

    Returns
    -------
    dict with ``err`` (n,) $y - \hat y$, ``g`` (K, n) $= \lambda_0 = -\partial\ell/\partial h(0)$,
    ``dH`` (L, P, n) $\partial H/\partial\theta_\ell$ (so $\partial\ell/\partial\theta_\ell = -\Delta\tau\,{\rm dH}$),
    ``loss`` (n,).
    """
    _check_setup(sp_)
    K, M, L = sp_.K, sp_.M, sp_.L
    h0 = check_array("h0", h0)
    if h0.ndim < 1 or h0.shape[0] != K:
        raise ValueError(f"h0 must have shape (K, ...) = ({K}, ...); got {h0.shape}")
    hs0 = check_array("hs0", hs0)
    if hs0.shape != (M,) + h0.shape[1:]:
        raise ValueError(f"hs0 must have shape {(M,) + h0.shape[1:]}; got {hs0.shape}")
    theta = check_array("theta", theta)
    P = K * K + K
    if theta.shape not in ((L, P), (L, P) + h0.shape[1:]):
        raise ValueError(f"theta must have shape {(L, P)} or {(L, P) + h0.shape[1:]}; got {theta.shape}")
    check_budget("depth steps x samples", float(max(L, sp_.L_teacher)) * max(h0.size, 1))
    if noise is not None:
        noise = check_array("noise", noise)
        if noise.shape != h0.shape[1:]:
            raise ValueError(f"noise must have shape {h0.shape[1:]}; got {noise.shape}")
    sysK, sysM = system(K), system(M)
    hsT = _forward(sysM, sp_.theta_star, hs0)
    y = np.einsum("m,m...->...", sp_.v_star, hsT[-1])
    if noise is not None:
        y = y + noise
    hsS = _forward(sysK, theta, h0)
    targets = np.concatenate([y[None], np.broadcast_to(sp_.v.reshape((K,) + (1,) * y.ndim), (K,) + y.shape)])
    lamL = sysK.terminal_fn(hsS[-1], targets)
    g, G = _backward(sysK, theta, hsS, lamL)
    err = y - np.einsum("k,k...->...", sp_.v, hsS[-1])
    return {"err": err, "g": g, "dH": G, "loss": 0.5 * err ** 2}


# ----------------------------------------------------------------------------------------------
# Gaussian averages
# ----------------------------------------------------------------------------------------------
def _z_max(n: int) -> float:
    r"""Half-width of the trapezoidal grid of ``n`` nodes: balances the truncation error
    $e^{-z_{\max}^2/2}$ against the discretization error $e^{-2\pi d/h}$ of a
    strip of analyticity of half-width $d\approx 2$, $h = 2z_{\max}/(n-1)$."""
    return float((4.0 * np.pi * (n - 1)) ** (1.0 / 3.0))


@functools.lru_cache(maxsize=16)
def _grid(d: int, n: int):
    r"""Trapezoidal rule for $\mathcal N(0, I_d)$ on ``n`` equally spaced nodes per dimension
    in $[-z_{\max}, z_{\max}]$ (nodes outside the ball of radius $z_{\max}$ dropped).

    For integrands analytic in a strip around the real axis (``tanh`` has poles at
    $\pm i\pi/2$) its error falls exponentially with ``n``, where Gauss-Hermite converges
    only as $e^{-c\sqrt n}$: with 10 Gauss-Hermite nodes per dimension the drift of the
    plateau was wrong by up to 50%."""
    zm = _z_max(n)
    z = np.linspace(-zm, zm, n)
    Z = np.stack(np.meshgrid(*([z] * d), indexing="ij")).reshape(d, -1)
    keep = (Z ** 2).sum(axis=0) <= zm ** 2 * (1 + 1e-12)
    Z = Z[:, keep]
    W = np.exp(-0.5 * (Z ** 2).sum(axis=0))
    W = W / W.sum()
    Z.setflags(write=False)
    W.setflags(write=False)
    return Z, W


def _teacher_nodes(n: int) -> int:
    """Nodes per dimension of the teacher's conditional average (its output is smoother)."""
    return max(3, int(round(0.6 * n)) | 1)


def _nodes(sp_, n_nodes):
    """The student's nodes per dimension: ``n_nodes`` checked, or the default for ``K + M``."""
    if n_nodes is None:
        return _DEFAULT_NODES[sp_.K + sp_.M]
    return check_int("n_nodes", n_nodes, low=3, high=_MAX_NODES[sp_.K])


def _teacher_output(sp_, hs0):
    r"""The teacher's read-out $v^*\cdot h^*(1)$ of the tanh field, at points ``hs0`` (M, ...).

    Written out per component of the ``M <= 4``-dimensional state (elementwise operations on the
    points, no small matmuls): this is the costly part of :func:`_averages`."""
    L, M = sp_.L_teacher, sp_.M
    dt = 1.0 / L
    x = [np.array(hs0[m], dtype=float) for m in range(M)]
    for l in range(L):
        th = [np.tanh(xm) for xm in x]
        A, b = sp_.A_star[l], sp_.b_star[l]
        for m in range(M):
            x[m] *= 1.0 - dt
            for k in range(M):
                if A[m, k] != 0.0:
                    x[m] += (dt * A[m, k]) * th[k]
            if b[m] != 0.0:
                x[m] += dt * b[m]
    out = sp_.v_star[0] * x[0]
    for m in range(1, M):
        out += sp_.v_star[m] * x[m]
    return out


def _split_factor(Q, R, T, rel_tol=1e-12):
    r"""A block-triangular factor of $\Omega = [[Q, R], [R^\top, T]]$: $h = F_q\zeta$,
    $h^* = B\zeta + F_c\xi$ with $\zeta, \xi$ standard normal.

    $F_q F_q^\top = Q$ (eigen-decomposition; directions of $Q$ with eigenvalue below
    ``rel_tol`` times the largest are dropped), $B = R^\top V w^{-1/2}$ and
    $F_cF_c^\top = T - BB^\top$ (the conditional covariance of $h^*$ given $h$,
    negative eigenvalues clipped)."""
    w, V = np.linalg.eigh(0.5 * (Q + Q.T))
    keep = w > rel_tol * max(float(w.max()), 1e-300)
    s = np.where(keep, np.sqrt(np.clip(w, 0.0, None)), 0.0)
    Fq = V * s
    B = (R.T @ V) * np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    return Fq, B, _factor(T - B @ B.T)


def _averages(sp_: Setup, Q, R, theta, n_nodes, sigma=0.0, want_rhs=True):
    r"""Quadrature averages over $(h(0), h^*(0))\sim\mathcal N(0, [[Q, R], [R^\top, T]])$.

    The student pass is linear in its terminal costate, $\lambda_L = (y - v\cdot h(1))\,v$,
    so $g = e\,u(h)$ and $\partial H/\partial\theta_\ell = e\,D_\ell(h)$ with
    $u, D$ the costate pass started from $v$. Writing $h = F_q\zeta$,
    $h^* = B\zeta + F_c\xi$ (:func:`_split_factor`), the student pass runs on the
    ``n_nodes**K`` trapezoidal nodes of $\zeta$ only (:func:`_grid`), and the teacher's output is averaged
    over $\xi$ (:func:`_teacher_nodes` per dimension) at each of them: the conditional moments
    $E[e\,|\,h]$, $E[e^2\,|\,h]$, $E[e\,h^*\,|\,h]$. Same integral as
    a tensor grid in ``K + M`` dimensions, at the cost of about ``n_nodes**K * (0.6 n_nodes)**M`` teacher forward
    passes and ``n_nodes**K`` student passes."""
    K, M = sp_.K, sp_.M
    Zs, ws = _grid(K, n_nodes)
    Zt, wt = _grid(M, _teacher_nodes(n_nodes))
    Fq, B, Fc = _split_factor(Q, R, sp_.T)
    h0 = Fq @ Zs                                                # (K, ns)
    hs0 = (B @ Zs)[:, :, None] + (Fc @ Zt)[:, None, :]          # (M, ns, nt)
    y = _teacher_output(sp_, hs0)                               # (ns, nt)
    sysK = system(K)
    hsS = _forward(sysK, theta, h0)
    out_s = sp_.v @ hsS[-1]                                     # v . h(1), (ns,)
    Ey, Ey2 = y @ wt, (y * y) @ wt
    e1 = Ey - out_s                                             # E[e | h]
    e2 = Ey2 - 2.0 * Ey * out_s + out_s ** 2                    # E[e^2 | h]
    eg = 0.5 * e2 @ ws
    if not want_rhs:
        return eg
    u, D = _backward(sysK, theta, hsS, np.broadcast_to(sp_.v[:, None], h0.shape))
    Ehs_e = (hs0 * y) @ wt - (B @ Zs) * out_s                   # E[e h* | h], (M, ns)
    uw = u * ws
    out = {"eg": eg, "gh": (uw * e1) @ h0.T, "ghs": uw @ Ehs_e.T, "gg": (uw * (e2 + sigma ** 2)) @ u.T,
           "dH": D @ (e1 * ws)}
    return out


def generalization_error(sp_: Setup, Q, R, A, b, n_nodes: int | None = None) -> float:
    r"""$\epsilon_g = \tfrac12\langle(v^*\cdot h^*(1) - v\cdot h(1))^2\rangle$ for overlaps ``Q``, ``R`` and controls ``A`` (L, K, K), ``b`` (L, K).

    >>> s = setup(K=1, M=1, L=4)
    >>> round(generalization_error(s, s.T, s.T, s.A_star, s.b_star), 10)    # student = teacher
    0.0
    """
    _check_setup(sp_)
    n = _nodes(sp_, n_nodes)
    Q, R, A, b = _check_state(sp_, Q, R, A, b)
    theta = system(sp_.K).pack({"A": A, "b": b})
    return float(_averages(sp_, Q, R, theta, n, want_rhs=False))


# ----------------------------------------------------------------------------------------------
# the theory
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NeuralODETheory(ReadOnlyArrays):
    """The order-parameter ODEs integrated on ``t``: ``eg`` (nt,), ``Q`` (nt, K, K), ``R`` (nt, K, M),
    controls ``A`` (nt, L, K, K) and ``b`` (nt, L, K); ``T``; parameters; ``n_nodes`` (quadrature
    nodes per dimension), ``dt`` (RK4 step), ``wall_time``."""

    t: np.ndarray
    eg: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    A: np.ndarray
    b: np.ndarray
    T: np.ndarray
    K: int
    M: int
    L: int
    eta: float
    eta_theta: float
    sigma: float
    n_nodes: int
    dt: float
    wall_time: float


def _check_common(sp_, eta, t, eta_theta, sigma):
    _check_setup(sp_)
    eta = check_real("eta", eta, low=0.0, low_open=True)
    t = check_time_grid("t", t)
    eta_theta = eta if eta_theta is None else check_real("eta_theta", eta_theta, low=0.0)
    sigma = check_real("sigma", sigma, low=0.0)
    return eta, t, eta_theta, sigma


def _work(sp_, n):
    """Quadrature points times depth steps of one right-hand side."""
    return float(n) ** sp_.K * float(_teacher_nodes(n)) ** sp_.M * max(sp_.L, sp_.L_teacher)


def _n_state(sp_):
    K = sp_.K
    return K * (K + 1) // 2 + K * sp_.M + sp_.L * (K * K + K)


def _shaped(name, value, shape):
    a = check_array(name, value)
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {a.shape}")
    return a


def _rhs(sp_, Q, R, theta, eta, eta_theta, sigma, n):
    a = _averages(sp_, Q, R, theta, n, sigma)
    dQ = eta * (a["gh"] + a["gh"].T) + eta ** 2 * a["gg"]
    return dQ, eta * a["ghs"], eta_theta * a["dH"]


def rhs(sp_: Setup, Q, R, theta, eta: float, eta_theta: float | None = None, sigma: float = 0.0,
        n_nodes: int | None = None):
    r"""The right-hand sides $(dQ/dt, dR/dt, d\theta/dt)$ of the order-parameter ODEs at one point.

    ``Q`` (K, K), ``R`` (K, M), ``theta`` (L, P) packed controls (``system(K).pack``); the other
    arguments as in :func:`theory`. Returns three arrays of the same shapes. This is the drift
    that the saddle point of the training MSR action reproduces
    (:mod:`dmftlib.symbolic.training_msr`).

    >>> s = setup(K=1, M=1, L=2, a_star=0.0)
    >>> dQ, dR, dth = rhs(s, [[1.0]], [[0.5]], s.theta0, eta=1.0, eta_theta=0.0)
    >>> round(float(dR[0, 0]), 6) == round(0.25 ** 2 * 0.5, 6)     # c^2 (T - R), c = 1/4
    True
    """
    _check_setup(sp_)
    eta = check_real("eta", eta, low=0.0, low_open=True)
    eta_theta = eta if eta_theta is None else check_real("eta_theta", eta_theta, low=0.0)
    sigma = check_real("sigma", sigma, low=0.0)
    K, M, L = sp_.K, sp_.M, sp_.L
    Q = _shaped("Q", Q, (K, K))
    R = _shaped("R", R, (K, M))
    theta = _shaped("theta", theta, (L, K * K + K))
    n = _nodes(sp_, n_nodes)
    return _rhs(sp_, Q, R, theta, eta, eta_theta, sigma, n)


def theory(sp_: Setup, eta: float, t, eta_theta: float | None = None, sigma: float = 0.0,
           n_nodes: int | None = None, dt: float | None = None) -> NeuralODETheory:
    r"""Integrate the order-parameter ODEs (module docstring) for the problem ``sp_``.

    Parameters
    ----------
    sp_ : Setup (see :func:`setup`).
    eta : float > 0 -- learning rate of the directions $W$ (step $\eta/N$ on $W/\sqrt N$).
    t : increasing times (training time $t = \mu/N$).
    eta_theta : float >= 0 -- learning rate of the controls (default ``eta``; 0 keeps them fixed).
    sigma : float >= 0 -- label-noise standard deviation.
    n_nodes : trapezoidal nodes per dimension of the student's ``K``-dimensional grid (the teacher's
        conditional average uses about 0.6 times as many; :func:`_averages`); default 61, 41, 31, 17
        for ``K + M`` = 2, 3, 4, 5 (``eg`` within about 0.2% of the converged value on the plateau).
    dt : largest RK4 step (default $0.2/\max(1, \eta, \eta_\theta)$).

    Returns
    -------
    NeuralODETheory

    Cost: ``n_nodes**(K+M)`` samples times ``L`` steps forward and backward per right-hand side,
    four per RK4 step.
    """
    start = time.perf_counter()
    eta, t, eta_theta, sigma = _check_common(sp_, eta, t, eta_theta, sigma)
    d = sp_.K + sp_.M
    n = _nodes(sp_, n_nodes)
    dt = 0.2 / max(1.0, eta, eta_theta) if dt is None else check_real("dt", dt, low=0.0, low_open=True)
    if (t[-1] - t[0]) / dt > 2e6:
        raise ValueError(f"this call needs {(t[-1] - t[0]) / dt:.3g} RK4 steps (dt = 0.2 / eta), more than the limit 2e+06; "
                         "reduce eta or the duration")
    K, M, L = sp_.K, sp_.M, sp_.L
    check_budget("RK4 steps x quadrature points x depth steps", 4.0 * (t[-1] - t[0]) / dt * _work(sp_, n), limit=1e12)
    P = K * K + K
    nQ, nR = K * K, K * M

    def unpack(y):
        return y[:nQ].reshape(K, K), y[nQ:nQ + nR].reshape(K, M), y[nQ + nR:].reshape(L, P)

    def f(_, y):
        Q, R, theta = unpack(y)
        dQ, dR, dth = _rhs(sp_, Q, R, theta, eta, eta_theta, sigma, n)
        return np.concatenate([dQ.ravel(), dR.ravel(), dth.ravel()])

    y0 = np.concatenate([sp_.Q0.ravel(), sp_.R0.ravel(), sp_.theta0.ravel()])
    substeps = max(1, int(np.ceil(np.max(np.diff(t)) / dt - 1e-9)))
    ys = integrate(f, y0, t, method="rk4", substeps=substeps)
    Q = ys[:, :nQ].reshape(-1, K, K)
    R = ys[:, nQ:nQ + nR].reshape(-1, K, M)
    theta = ys[:, nQ + nR:].reshape(-1, L, P)
    eg = np.array([_averages(sp_, Q[i], R[i], theta[i], n, want_rhs=False) for i in range(t.size)])
    cp = system(K).unpack(theta.reshape(-1, P))
    A = cp["A"].reshape(-1, L, K, K)
    b = cp["b"].reshape(-1, L, K)
    return NeuralODETheory(t, eg, Q, R, A, b, sp_.T, K, M, L, eta, eta_theta, sigma, n,
                           float(np.max(np.diff(t)) / substeps), time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
# the plateau: a fixed point of the ODEs and the escape rate from its linearization
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Linearization(ReadOnlyArrays):
    r"""The Jacobian of the order-parameter ODEs at one state: its ``eigenvalues`` (largest real parts
    first), ``escape_rate`` (the largest real part), and for ``K = 2`` ``symmetric_rate`` /
    ``antisymmetric_rate``: the largest real part among eigenvectors even / odd under the exchange of
    the two student units (:func:`swap_students`; ``None`` for other ``K``). At an exchange-symmetric
    state the Jacobian is block diagonal in this parity, and ``antisymmetric_rate`` is the rate at
    which an asymmetry between the two students grows."""

    eigenvalues: np.ndarray
    escape_rate: float
    symmetric_rate: float | None
    antisymmetric_rate: float | None
    jacobian: np.ndarray


@dataclass(frozen=True)
class Plateau(ReadOnlyArrays):
    r"""A fixed point of the order-parameter ODEs: overlaps ``Q``, ``R``, controls ``A`` (L, K, K),
    ``b`` (L, K), its ``eg``, its :class:`Linearization` ``lin``; Newton diagnostics ``residuals``,
    ``n_iter``, ``converged``, ``wall_time``."""

    Q: np.ndarray
    R: np.ndarray
    A: np.ndarray
    b: np.ndarray
    eg: float
    lin: Linearization
    residuals: np.ndarray
    n_iter: int
    converged: bool
    wall_time: float


def _flat_state(Q, R, theta):
    iu = np.triu_indices(Q.shape[0])
    return np.concatenate([Q[iu], R.ravel(), theta.ravel()])


def _unflat_state(y, K, M, L):
    iu = np.triu_indices(K)
    nq = iu[0].size
    Q = np.zeros((K, K))
    Q[iu] = y[:nq]
    Q = Q + np.triu(Q, 1).T
    return Q, y[nq:nq + K * M].reshape(K, M), y[nq + K * M:].reshape(L, K * K + K)


def swap_students(K: int, M: int, L: int) -> np.ndarray:
    r"""The exchange of student units 1 and 2 as a matrix on the flat state (upper $Q$, $R$, controls).

    The ODEs are invariant under the permutation $P$ of the two units ($v = (1, 1)$):
    $Q\to PQP$, $R\to PR$, $A_\ell\to PA_\ell P$, $b_\ell\to Pb_\ell$.

    >>> S = swap_students(2, 2, 1)
    >>> S.shape, bool(np.allclose(S @ S, np.eye(S.shape[0])))
    ((13, 13), True)
    """
    K = check_int("K", K, low=2, high=_MAX_DIM)
    M = check_int("M", M, low=1, high=_MAX_DIM)
    L = check_int("L", L, low=1, high=_MAX_L)
    P = np.eye(K)[[1, 0] + list(range(2, K))]
    n = _flat_state(np.zeros((K, K)), np.zeros((K, M)), np.zeros((L, K * K + K))).size
    S = np.empty((n, n))
    for i, e in enumerate(np.eye(n)):
        Q, R, th = _unflat_state(e, K, M, L)
        A, b = th[:, :K * K].reshape(L, K, K), th[:, K * K:]
        th2 = np.concatenate([(P @ A @ P).reshape(L, K * K), b @ P.T], axis=1)
        S[:, i] = _flat_state(P @ Q @ P, P @ R, th2)
    return S


def _check_state(sp_, Q, R, A, b):
    K, M, L = sp_.K, sp_.M, sp_.L
    return _shaped("Q", Q, (K, K)), _shaped("R", R, (K, M)), _shaped("A", A, (L, K, K)), _shaped("b", b, (L, K))


def _field(sp_, eta, eta_theta, sigma, n, y_full=None):
    """The flat right-hand side; with ``y_full``, a function of the first (Q, R) entries only (frozen controls)."""
    K, M, L = sp_.K, sp_.M, sp_.L

    def F(y):
        if y_full is not None:
            y = np.concatenate([y, y_full[y.size:]])
        Qy, Ry, th = _unflat_state(y, K, M, L)
        out = _flat_state(*_rhs(sp_, Qy, Ry, th, eta, eta_theta, sigma, n))
        return out if y_full is None else out[:-th.size]
    return F


def _jacobian(F, y, eps):
    return np.stack([(F(y + e) - F(y - e)) / (2 * eps) for e in np.eye(y.size) * eps], axis=1)


def _setup_state(sp_, eta, eta_theta, sigma, n, Q, R, A, b):
    """Flat state and field; with frozen controls (eta_theta = 0) only (Q, R) are variables."""
    y = _flat_state(Q, R, system(sp_.K).pack({"A": A, "b": b}))
    if eta_theta == 0.0:
        n_qr = y.size - A.size - b.size
        return y[:n_qr], _field(sp_, eta, eta_theta, sigma, n, y), y
    return y, _field(sp_, eta, eta_theta, sigma, n), y


def _linearize(sp_, Jm):
    w, V = np.linalg.eig(Jm)
    order = np.argsort(-w.real)
    w, V = w[order], V[:, order]
    sym = anti = None
    if not np.all(np.isfinite(Jm)):
        raise ValueError("the Jacobian is not finite at this state (outside the physical region?)")
    if sp_.K == 2:
        S = swap_students(2, sp_.M, sp_.L)[:Jm.shape[0], :Jm.shape[0]]
        odd = np.linalg.norm(S @ V + V, axis=0) < np.linalg.norm(S @ V - V, axis=0)
        anti = float(w[odd].real.max()) if odd.any() else None
        sym = float(w[~odd].real.max()) if (~odd).any() else None
    return Linearization(w, float(w[0].real), sym, anti, Jm)


def asymmetry(res) -> np.ndarray:
    r"""Size of the exchange-antisymmetric part of the state of a ``K = 2`` result, at each recorded time.

    $\|y - Sy\|/2$ for the flat state $y = (Q_{11}, Q_{12}, Q_{22}, R, A, b)$ and the swap
    $S$ of :func:`swap_students`: zero on the exchange-symmetric subspace (the two students
    alike up to their exchange), of order one once they have specialized. Near a symmetric state it
    grows as $e^{\int\lambda_{\rm anti}\,dt}$ (:func:`linearization`).

    >>> s = setup()
    >>> th = theory(s, 2.0, [0.0, 1.0], n_nodes=9)
    >>> np.round(asymmetry(th), 3).tolist()
    [0.08, 0.123]
    """
    if not isinstance(res, (NeuralODETheory, NeuralODESimulation)) or res.K != 2:
        raise ValueError("res must be a NeuralODETheory or NeuralODESimulation with K = 2")
    sysK = system(2)
    S = swap_students(2, res.M, res.L)
    Y = np.array([_flat_state(res.Q[i], res.R[i], sysK.pack({"A": res.A[i], "b": res.b[i]}))
                  for i in range(res.t.size)])
    return 0.5 * np.linalg.norm(Y - Y @ S.T, axis=1)


def escape_times(res, threshold: float = 1e-2) -> np.ndarray:
    r"""The first time at which $\epsilon_g$ falls below ``threshold``: one entry per run.

    For a :class:`NeuralODESimulation` one time per seed (from ``eg_seeds``), for a
    :class:`NeuralODETheory` an array of one. The crossing is located between the two recorded
    times that bracket it by linear interpolation of $\ln\epsilon_g$ (exact for an exponential
    decay between them). A run that never goes below ``threshold`` gets ``np.inf``; a run already
    below it at the first recorded time gets that time.

    >>> s = setup(K=1, M=1, L=2)
    >>> th = theory(s, 2.0, [0.0, 1.0, 2.0], n_nodes=9)
    >>> np.round(th.eg, 4).tolist()
    [0.1868, 0.1673, 0.1435]
    >>> np.round(escape_times(th, 0.15), 3).tolist(), escape_times(th, 1e-9).tolist()
    ([1.712], [inf])
    """
    if not isinstance(res, (NeuralODETheory, NeuralODESimulation)):
        raise ValueError(f"res must be a NeuralODETheory or NeuralODESimulation; got {type(res).__name__}")
    threshold = check_real("threshold", threshold, low=0.0, low_open=True)
    E = np.atleast_2d(res.eg_seeds if isinstance(res, NeuralODESimulation) else res.eg)
    t = np.asarray(res.t, float)
    below = E < threshold
    j = np.argmax(below, axis=1)                      # first recorded time below, per run
    i = np.arange(E.shape[0])
    jm = np.maximum(j - 1, 0)
    l0, l1, lc = np.log(E[i, jm]), np.log(E[i, j]), np.log(threshold)
    frac = np.divide(l0 - lc, l0 - l1, out=np.zeros_like(l0), where=j > 0)
    out = np.where(j > 0, t[jm] + (t[j] - t[jm]) * frac, t[0])
    return np.where(below.any(axis=1), out, np.inf)


def linearization(sp_: Setup, eta: float, Q, R, A, b, eta_theta: float | None = None, sigma: float = 0.0,
                  n_nodes: int | None = None, eps: float = 1e-6) -> Linearization:
    r"""The Jacobian of the ODEs (:func:`rhs`, central differences of step ``eps``) at the state ``(Q, R, A, b)``.

    At a fixed point its eigenvalues are the rates of the linearized dynamics. Along the
    exchange-symmetric subspace (invariant for ``K = 2``, :func:`swap_students`) the Jacobian is
    block diagonal and ``antisymmetric_rate`` is the instantaneous growth rate of an asymmetry
    between the two students: the escape rate from the plateau. Cost: ``2 n`` right-hand sides,
    ``n = K(K+1)/2 + KM + L(K^2+K)`` (with ``eta_theta = 0`` the frozen controls are left out).
    The state must be inside the physical region (covariance $[[Q, R], [R^\top, T]]$
    positive definite): on its boundary the differences are one-sided.

    >>> s = setup(K=1, M=1, L=2, a_star=0.0)          # linear: c = 1/4, rates eta c^2 and 2 eta c^2 - eta^2 c^4
    >>> lin = linearization(s, 1.0, [[1.0]], [[0.5]], np.zeros((2, 1, 1)), np.zeros((2, 1)), eta_theta=0.0)
    >>> np.round(lin.eigenvalues.real, 6).tolist()
    [-0.0625, -0.121094]
    """
    _check_setup(sp_)
    eta, _, eta_theta, sigma = _check_common(sp_, eta, [0.0, 1.0], eta_theta, sigma)
    n = _nodes(sp_, n_nodes)
    Q, R, A, b = _check_state(sp_, Q, R, A, b)
    eps = check_real("eps", eps, low=0.0, low_open=True, high=1e-2)
    check_budget("right-hand sides x quadrature points x depth steps", 2.0 * _n_state(sp_) * _work(sp_, n), limit=1e11)
    y, F, _ = _setup_state(sp_, eta, eta_theta, sigma, n, Q, R, A, b)
    return _linearize(sp_, _jacobian(F, y, eps))


def plateau(sp_: Setup, eta: float, Q, R, A, b, eta_theta: float | None = None, sigma: float = 0.0,
            n_nodes: int | None = None, tol: float = 1e-10, max_iter: int = 30, eps: float = 1e-6) -> Plateau:
    r"""Newton's method for a fixed point of the ODEs near ``(Q, R, A, b)``, and its :func:`linearization`.

    The approach of :func:`dmftlib.committee.plateau`: the Newton map
    $y\mapsto y - J^{-1}F(y)$ on the flat state (upper triangle of $Q$, $R$, the
    $L(K^2+K)$ controls), $F$ = :func:`rhs`, $J$ by central differences, iterated
    by :func:`dmftlib.core.damped_fixed_point` (raises ``ConvergenceError``, for instance where
    $J$ is singular: a continuum of fixed points). Cost: ``2 n + 1`` right-hand sides per
    iteration.

    >>> s = setup(K=1, M=1, L=2, a_star=0.0)          # linear, label noise: Q = 1 + eta sigma^2 / (2 - eta c^2)
    >>> p = plateau(s, 1.0, [[1.2]], [[0.9]], np.zeros((2, 1, 1)), np.zeros((2, 1)), eta_theta=0.0, sigma=0.5)
    >>> round(float(p.Q[0, 0]), 6), round(float(p.R[0, 0]), 6), round(p.lin.escape_rate, 6)
    (1.129032, 1.0, -0.0625)
    """
    start = time.perf_counter()
    _check_setup(sp_)
    eta, _, eta_theta, sigma = _check_common(sp_, eta, [0.0, 1.0], eta_theta, sigma)
    n = _nodes(sp_, n_nodes)
    Q, R, A, b = _check_state(sp_, Q, R, A, b)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1, high=1000)
    eps = check_real("eps", eps, low=0.0, low_open=True, high=1e-2)
    K, M, L = sp_.K, sp_.M, sp_.L
    check_budget("Newton steps x quadrature points x depth steps", max_iter * (2.0 * _n_state(sp_) + 1) * _work(sp_, n),
                 limit=1e12)
    sysK = system(K)
    y0, F, y_full = _setup_state(sp_, eta, eta_theta, sigma, n, Q, R, A, b)
    res = damped_fixed_point(lambda y: y - np.linalg.solve(_jacobian(F, y, eps), F(y)), y0, damping=0.0,
                             tol=tol, max_iter=max_iter)
    lin = _linearize(sp_, _jacobian(F, res.x, eps))
    Qf, Rf, th = _unflat_state(np.concatenate([res.x, y_full[res.x.size:]]), K, M, L)
    cp = sysK.unpack(th)
    eg = float(_averages(sp_, Qf, Rf, th, n, want_rhs=False))
    return Plateau(Qf, Rf, cp["A"], cp["b"], eg, lin, res.residuals, res.n_iter, res.converged,
                   time.perf_counter() - start)


def linear_closed_form(L: int, eta: float, t, q0: float, r0: float, sigma: float = 0.0):
    r"""Exact learning curve of the linear case ``K = M = 1``, $A = b = 0$ fixed ($\eta_\theta = 0$).

    Both networks are linear, $h(1) = c\,h(0)$ with $c = (1 - 1/L)^L$ ($e^{-1}$
    for the ODE); with $a = c v = c$, $T = 1$, $D = Q - 2R + T$:

    .. math::

        &R(t) = 1 - (1 - r_0)e^{-\eta a^2 t},\qquad
        D(t) = D_\infty + (D_0 - D_\infty)\,e^{-(2\eta a^2 - \eta^2a^4)t},\\
        &D_\infty = \frac{\eta\sigma^2}{2 - \eta a^2},\qquad \epsilon_g = \tfrac12 a^2 D .

    Returns ``(eg, Q, R)`` arrays over ``t``.

    >>> eg, Q, R = linear_closed_form(4, 1.0, [0.0, 4.0], 0.25, 0.0)
    >>> round(float(eg[0]), 4), round(float(eg[1]), 4)
    (0.0626, 0.0292)
    """
    L = check_int("L", L, low=1)
    eta = check_real("eta", eta, low=0.0, low_open=True)
    t = check_array("t", t, ndim=1, low=0.0)
    if t.size == 0:
        raise ValueError("t must hold at least one time")
    q0 = check_real("q0", q0, low=0.0)
    r0 = check_real("r0", r0)
    sigma = check_real("sigma", sigma, low=0.0)
    a2 = (1.0 - 1.0 / L) ** (2 * L)
    if eta * a2 >= 2.0:
        raise ValueError(f"eta must be below 2 / c^2 = {2.0 / a2:g} for the linear dynamics to converge; got {eta:g}")
    R = 1.0 - (1.0 - r0) * np.exp(-eta * a2 * t)
    Dinf = eta * sigma ** 2 / (2.0 - eta * a2)
    D = Dinf + (q0 - 2 * r0 + 1.0 - Dinf) * np.exp(-(2 * eta * a2 - eta ** 2 * a2 ** 2) * t)
    Q = D + 2 * R - 1.0
    return 0.5 * a2 * D, Q, R


# ----------------------------------------------------------------------------------------------
# the simulation
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NeuralODESimulation(ReadOnlyArrays):
    """Online SGD at finite N, averaged over seeds (same field names as :class:`NeuralODETheory`).

    ``eg``, ``Q``, ``R``, ``A``, ``b`` are means over seeds with standard errors ``*_sem``;
    ``eg_seeds`` (n_seeds, nt) keeps every run. ``eg`` of a run is evaluated by quadrature from
    its overlaps and controls (no test set)."""

    t: np.ndarray
    eg: np.ndarray
    eg_sem: np.ndarray
    eg_seeds: np.ndarray
    Q: np.ndarray
    Q_sem: np.ndarray
    R: np.ndarray
    R_sem: np.ndarray
    A: np.ndarray
    A_sem: np.ndarray
    b: np.ndarray
    b_sem: np.ndarray
    T: np.ndarray
    N: int
    n_seeds: int
    K: int
    M: int
    L: int
    eta: float
    eta_theta: float
    sigma: float
    wall_time: float


def _realize(sp_: Setup, N: int, seed: int):
    """W (K, N), W* (M, N) with exactly the overlaps Q0, R0, T (random orthonormal frame)."""
    O = _omega(sp_.Q0, sp_.R0, sp_.T)
    Fm = _factor(O)
    U, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((N, sp_.K + sp_.M)))
    X = Fm @ U.T * np.sqrt(N)
    return X[:sp_.K], X[sp_.K:]


def realize(sp_: Setup, N: int, init_seed: int = 0):
    r"""Student ``W`` (K, N) and teacher ``W*`` (M, N) with exactly the overlaps ``Q0``, ``R0``, ``T`` of ``sp_``.

    The frame :func:`simulate` starts from (a random orthonormal frame drawn from ``init_seed``).

    >>> W, Ws = realize(setup(K=1, M=1), 50)
    >>> round(float(W[0] @ W[0] / 50), 6), round(float(Ws[0] @ Ws[0] / 50), 6)
    (0.5, 1.0)
    """
    _check_setup(sp_)
    N = check_int("N", N, low=sp_.K + sp_.M)
    check_budget("doubles (N x (K + M))", float(N) * (sp_.K + sp_.M) * 2)
    return _realize(sp_, N, check_int("init_seed", init_seed, low=0))


def simulate(N: int, sp_: Setup, eta: float, t, seeds, eta_theta: float | None = None, sigma: float = 0.0,
             init_seed: int = 0, chunk: int = 256, n_nodes: int | None = None) -> NeuralODESimulation:
    r"""Online SGD of the full model at input dimension ``N``, vectorized over seeds.

    State ``W`` (n_seeds, K, N) and controls (L, P, n_seeds); one fresh sample
    $x\sim\mathcal N(0, I_N)$ per step and seed; ``round(t * N)`` steps. The forward and
    backward passes give the same numbers as :func:`forward_backward`, computed with the seeds as
    a batch axis and one matmul per layer (the teacher's outputs are computed once per chunk of
    ``chunk`` samples). Cost: about ``t[-1] * N`` steps of ``O(L)`` small array operations plus
    ``O(n_seeds K N)`` flops each; the seeds come almost for free. Teacher and initial student are realized with exactly
    the overlaps of ``sp_`` (frame from ``init_seed``); seeds differ in their sample streams.

    >>> s = setup(K=1, M=1, L=4)
    >>> sim = simulate(50, s, eta=1.0, t=[0.0, 1.0], seeds=[0, 1])
    >>> sim.eg.shape, sim.n_seeds, round(float(sim.eg[0]), 4)
    ((2,), 2, 0.2763)
    """
    start = time.perf_counter()
    eta, t, eta_theta, sigma = _check_common(sp_, eta, t, eta_theta, sigma)
    K, M, L = sp_.K, sp_.M, sp_.L
    N = check_int("N", N, low=K + M)
    seeds = list(check_seeds("seeds", seeds))
    if len(seeds) < 2:
        raise ValueError(f"seeds must hold at least 2 seeds (for a standard error); got {len(seeds)}")
    chunk = check_int("chunk", chunk, low=1)
    n = _nodes(sp_, n_nodes)
    check_budget("doubles (seeds x (K + M + chunk) x N)", float(len(seeds)) * (K + M + min(chunk, t[-1] * N + 1)) * N)
    check_budget("SGD steps x depth steps x seeds", float(t[-1]) * N * max(L, sp_.L_teacher) * len(seeds))
    check_budget("SGD steps x seeds x N", float(t[-1]) * N * len(seeds) * N, limit=1e13)
    W0, Ws = _realize(sp_, N, check_int("init_seed", init_seed, low=0))
    S = len(seeds)
    steps = np.rint(t * N).astype(np.int64)
    if np.any(np.diff(steps) <= 0):
        raise ValueError(f"t must be spaced by at least 1/N = {1.0 / N:g} so that record steps are distinct")
    W = np.broadcast_to(W0, (S, K, N)).copy()
    A = np.broadcast_to(sp_.A0[:, None], (L, S, K, K)).copy()       # controls, seeds second
    b = np.broadcast_to(sp_.b0[:, None], (L, S, K)).copy()
    rngs = [np.random.default_rng(s) for s in seeds]
    sqN = np.sqrt(N)
    nt = t.size
    Qs = np.empty((nt, S, K, K))
    Rs = np.empty((nt, S, K, M))
    ths = np.empty((nt, S) + sp_.theta0.shape)
    sysM = system(M)

    def record(j):
        Qs[j] = W @ np.swapaxes(W, 1, 2) / N
        Rs[j] = W @ Ws.T / N
        ths[j, :, :, :K * K] = np.moveaxis(A, 1, 0).reshape(S, L, K * K)
        ths[j, :, :, K * K:] = np.moveaxis(b, 1, 0)

    j = 0
    if steps[0] == 0:
        record(0)
        j = 1
    mu, total = 0, int(steps[-1])
    while mu < total:
        nb = min(chunk, total - mu)
        Z = np.stack([r.standard_normal((nb, N + 1)) for r in rngs], axis=1)   # (nb, S, N + 1)
        # the teacher does not learn: its outputs for the whole chunk in one pass
        hs0 = np.moveaxis(Z[:, :, :N] @ Ws.T / sqN, -1, 0).reshape(M, nb * S)
        y = (sp_.v_star @ _forward(sysM, sp_.theta_star, hs0)[-1]).reshape(nb, S)
        if sigma > 0:
            y = y + sigma * Z[:, :, N]
        for k in range(nb):
            x = Z[k, :, :N]
            h0 = (W @ x[:, :, None])[:, :, 0] / sqN                            # (S, K)
            g, gA, gb = _student_pass(A, b, h0, y[k], sp_.v)
            W += (eta / sqN) * g[:, :, None] * x[:, None, :]
            if eta_theta > 0:
                A += (eta_theta / N) * gA
                b += (eta_theta / N) * gb
            mu += 1
            if j < nt and mu == steps[j]:
                record(j)
                j += 1
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(A)) and np.all(np.isfinite(b))):
            raise ValueError(f"the simulation diverged before t = {mu / N:g}; reduce eta or eta_theta")
    sysK = system(K)
    egs = np.array([[_averages(sp_, Qs[i, s], Rs[i, s], ths[i, s], n, want_rhs=False) for i in range(nt)]
                    for s in range(S)])
    eg, eg_sem = mean_sem(egs, axis=0)
    Q, Q_sem = mean_sem(Qs, axis=1)
    R, R_sem = mean_sem(Rs, axis=1)
    cp = sysK.unpack(ths.reshape(-1, sysK.P))
    As = cp["A"].reshape(nt, S, L, K, K)
    bs = cp["b"].reshape(nt, S, L, K)
    A, A_sem = mean_sem(As, axis=1)
    b, b_sem = mean_sem(bs, axis=1)
    return NeuralODESimulation(t, eg, eg_sem, egs, Q, Q_sem, R, R_sem, A, A_sem, b, b_sem, sp_.T, N, S, K, M, L,
                               eta, eta_theta, sigma, time.perf_counter() - start)


def save_results(path, **results) -> None:
    """Save named :class:`NeuralODETheory` / :class:`NeuralODESimulation` results to one ``.npz``."""
    from dataclasses import fields
    out = {}
    for name, r in results.items():
        if not isinstance(r, (NeuralODETheory, NeuralODESimulation)):
            raise ValueError(f"{name} must be a NeuralODETheory or NeuralODESimulation; got {type(r).__name__}")
        out[f"{name}/_kind"] = np.asarray(type(r).__name__)
        for f in fields(r):
            out[f"{name}/{f.name}"] = np.asarray(getattr(r, f.name))
    np.savez_compressed(path, **out)


def load_results(path) -> dict:
    """Read a file written by :func:`save_results`: a dict name -> result."""
    from dataclasses import fields
    kinds = {"NeuralODETheory": NeuralODETheory, "NeuralODESimulation": NeuralODESimulation}
    with np.load(path) as z:
        names = sorted({k.split("/")[0] for k in z.files})
        res = {}
        for nm in names:
            cls = kinds[str(z[f"{nm}/_kind"])]
            kw = {}
            for f in fields(cls):
                a = z[f"{nm}/{f.name}"]
                kw[f.name] = a.item() if a.ndim == 0 else a
            res[nm] = cls(**kw)
    return res


# ----------------------------------------------------------------------------------------------
# plots
# ----------------------------------------------------------------------------------------------
def plot_learning_curve(theories, sims=(), ax=None, labels=None, logy: bool = True, every: int = 1):
    """Generalization error of ODE solutions (lines) and simulations (markers with error bars)."""
    from .plotting import new_figure, plot_simulation, plot_theory
    if ax is None:
        _, ax = new_figure()
    if isinstance(theories, NeuralODETheory):
        theories = [theories]
    for i, th in enumerate(theories):
        lab = "theory (N → ∞)" if labels is None else labels[i]
        plot_theory(ax, th.t, th.eg, label=lab, color="k" if len(theories) == 1 else None)
    for sim in sims:
        plot_simulation(ax, sim.t, sim.eg, sim.eg_sem, N=sim.N, n_seeds=sim.n_seeds, every=every)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("training time $t = \\mu/N$")
    ax.set_ylabel("generalization error $\\epsilon_g$")
    ax.legend()
    return ax


def plot_controls(th: NeuralODETheory, sim: NeuralODESimulation | None = None, ax=None, every: int = 1):
    r"""The depth average $\bar A_{ij}(t) = \frac1L\sum_\ell A_{\ell,ij}(t)$ of the controls (lines), and of a simulation (markers)."""
    from .plotting import new_figure, plot_simulation
    if not isinstance(th, NeuralODETheory):
        raise ValueError(f"th must be a NeuralODETheory; got {type(th).__name__}")
    if sim is not None and not isinstance(sim, NeuralODESimulation):
        raise ValueError(f"sim must be a NeuralODESimulation or None; got {type(sim).__name__}")
    if ax is None:
        _, ax = new_figure()
    K = th.K
    Abar = th.A.mean(axis=1)
    for i in range(K):
        for j in range(K):
            line, = ax.plot(th.t, Abar[:, i, j], "-", label=f"$\\bar A_{{{i + 1}{j + 1}}}$")
            if sim is not None:
                m = sim.A.mean(axis=1)[:, i, j]
                e = sim.A_sem.mean(axis=1)[:, i, j]
                plot_simulation(ax, sim.t, m, e, N=sim.N, n_seeds=sim.n_seeds, every=every, color=line.get_color(),
                                label=simulation_label_once(sim, i == 0 and j == 0))
    ax.set_xlabel("training time $t = \\mu/N$")
    ax.set_ylabel("depth-averaged control $\\bar A_{ij}$")
    ax.legend(ncols=2)
    return ax


def simulation_label_once(sim, first: bool):
    """The simulation legend entry for the first curve only (``'_nolegend_'`` otherwise)."""
    from .plotting import simulation_label
    if not isinstance(sim, NeuralODESimulation):
        raise ValueError(f"sim must be a NeuralODESimulation; got {type(sim).__name__}")
    return simulation_label(sim.N, sim.n_seeds) if check_bool("first", first) else "_nolegend_"


def plot_widget(eta: float = 1.0, K: int = 2, sigma: float = 0.0, learn_controls: bool = True,
                t_max: float = 10.0, ax=None):
    """Learning curve of the ODEs for the widget: eta, student width K (teacher M = 2) and label noise sigma."""
    from .plotting import new_figure, plot_theory
    eta = check_real("eta", eta, low=0.0, low_open=True, high=10.0)
    K = check_int("K", K, low=1, high=3)
    sigma = check_real("sigma", sigma, low=0.0, high=10.0)
    learn_controls = check_bool("learn_controls", learn_controls)
    t_max = check_real("t_max", t_max, low=0.0, low_open=True, high=100.0)
    if ax is None:
        _, ax = new_figure()
    s = setup(K=K, M=2, L=4)
    t = np.linspace(0.0, t_max, 21)
    th = theory(s, eta, t, eta_theta=eta if learn_controls else 0.0, sigma=sigma, n_nodes=11 if K == 3 else 21,
                dt=0.25)
    plot_theory(ax, t, th.eg, label=f"ODE, K = {K}, M = 2, η = {eta:g}, σ = {sigma:g}", color="k")
    ax.set_yscale("log")
    ax.set_xlabel("training time $t = \\mu/N$")
    ax.set_ylabel("$\\epsilon_g$")
    ax.legend(loc="upper right")
    return ax
