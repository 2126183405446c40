r"""Learning a controlled dynamical system: online SGD in a neural-ODE teacher-student model.

Our simplified model, in the spirit of :cite:t:`urbani2026theory` (who develops the general
theory of learning high-dimensional controlled non-linear dynamical systems). A neural ODE has
two dynamics: **inference**, the ODE that carries an input forward in depth
:math:`\tau\in[0,1]`, and **training**, online SGD on its parameters. In the limit
:math:`N\to\infty` the training dynamics closes on a few order parameters.

**Inference.** An input :math:`x\sim\mathcal N(0, I_N)` is read by ``K`` trainable directions,
:math:`h(0) = Wx/\sqrt N\in\mathbb R^K` (rows of :math:`W` of norm :math:`O(\sqrt N)`); the state
then follows the controlled ODE

.. math::

    \frac{dh}{d\tau} = F(h, \theta(\tau)) = -h + A(\tau)\tanh(h) + b(\tau),
    \qquad \hat y = v\cdot h(1),

discretized by ``L`` Euler steps with one control :math:`\theta_\ell = (A_\ell, b_\ell)` per step
(a ResNet; :math:`L\to\infty` is the neural ODE). The read-out :math:`v` is fixed (ones). The
teacher has the same form with ``M`` directions :math:`W^*`, controls :math:`\theta^*` on
``L_teacher`` steps, read-out :math:`v^*`; labels :math:`y = v^*\cdot h^*(1) + \sigma\zeta`.

**Training.** Loss :math:`\ell = \tfrac12(y-\hat y)^2`, one fresh sample per step
:math:`\mu`. The gradient comes from the costate of the Lagrangian
:math:`\ell(h(1)) + \int_0^1\lambda\cdot(\dot h - F)\,d\tau` (derived symbolically by
:mod:`dmftlib.symbolic.pontryagin`; discrete version = back-propagation):
:math:`\lambda_L = (y - \hat y)\,v`,
:math:`\lambda_\ell = \lambda_{\ell+1} + \Delta\tau\,(\partial F/\partial h)^\top\lambda_{\ell+1}`,
and :math:`g \equiv \lambda_0 = -\partial\ell/\partial h(0)`. The updates are

.. math::

    W \leftarrow W + \frac{\eta}{\sqrt N}\,g\,x^\top, \qquad
    \theta_\ell \leftarrow \theta_\ell + \frac{\eta_\theta}{N}\,
        \frac{\partial H}{\partial\theta}(h_\ell, \lambda_{\ell+1}, \theta_\ell),
    \qquad H = \lambda\cdot F ,

i.e. SGD with step :math:`\eta/N` on the unit-scale weights :math:`W/\sqrt N` (Saad-Solla) and
step :math:`\eta_\theta L/N` on :math:`\theta_\ell` (whose gradient is
:math:`-\Delta\tau\,\partial H/\partial\theta`: the functional gradient
:math:`\delta\ell/\delta\theta(\tau) = -\partial H/\partial\theta` of the neural ODE, so
the limit :math:`L\to\infty` is well defined). With training time :math:`t = \mu/N` both the
overlaps and the controls move by :math:`O(1)` per unit time.

**Order-parameter ODEs** (:math:`N\to\infty`): with :math:`Q = WW^\top/N`,
:math:`R = WW^{*\top}/N`, :math:`T = W^*W^{*\top}/N` and averages over
:math:`(h(0), h^*(0))\sim\mathcal N(0, [[Q, R], [R^\top, T]])`,

.. math::

    \frac{dQ}{dt} = \eta\,\big(\langle g h^\top\rangle + \langle h g^\top\rangle\big)
        + \eta^2\langle g g^\top\rangle,\qquad
    \frac{dR}{dt} = \eta\,\langle g h^{*\top}\rangle,\qquad
    \frac{d\theta_\ell}{dt} = \eta_\theta\,\Big\langle\frac{\partial H}{\partial\theta}
        (h_\ell,\lambda_{\ell+1},\theta_\ell)\Big\rangle ,

(label noise adds :math:`\eta^2\sigma^2\langle uu^\top\rangle` to :math:`dQ/dt`, with :math:`u` the
costate started from :math:`\lambda_L = v`). The averages are computed by Gauss-Hermite
quadrature on a tensor grid in :math:`K+M\le5` dimensions. The generalization error is
:math:`\epsilon_g = \tfrac12\langle(v^*\cdot h^*(1) - v\cdot h(1))^2\rangle`.

Examples
--------
>>> s = setup(K=1, M=1, L=4)
>>> th = theory(s, eta=1.0, t=np.linspace(0, 4, 3))
>>> [round(float(e), 4) for e in th.eg]
[0.2764, 0.1919, 0.121]
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .core import check_array, check_int, check_real, check_time_grid, gauss_hermite, integrate, mean_sem
from .symbolic.pontryagin import derive_pontryagin, parameter_block, state_symbols
from .core import ReadOnlyArrays

__all__ = ["system", "Setup", "setup", "teacher_controls", "NeuralODETheory", "NeuralODESimulation",
           "forward_backward", "theory", "simulate", "linear_closed_form", "generalization_error", "save_results",
           "load_results", "plot_learning_curve", "plot_controls", "plot_widget", "simulation_label_once"]

_MAX_DIM = 5
_DEFAULT_NODES = {2: 24, 3: 14, 4: 10, 5: 6}


# ----------------------------------------------------------------------------------------------
# the symbolic system
# ----------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def system(K: int):
    r"""The Pontryagin system of the model: :math:`F = -h + A\tanh(h) + b`, loss :math:`\tfrac12(y - v\cdot h)^2`.

    Built with :func:`dmftlib.symbolic.pontryagin.derive_pontryagin` (cached per ``K``). The
    targets are ``(y, v_0, ..., v_{K-1})``: the label and the read-out, so that the same system
    serves any :math:`v`. The terminal costate is
    :math:`\lambda(1) = -\partial\ell/\partial h(1) = (y - v\cdot h(1))\,v`.

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
    r"""The default teacher: :math:`A^* = a I_M + c\,S` with :math:`S_{ij} = \operatorname{sign}(j - i)`
    (a rotation-like coupling), :math:`b^* = 0`, constant in depth. Returns ``(A_star, b_star)`` of one step."""
    M = check_int("M", M, low=1, high=_MAX_DIM)
    i, j = np.indices((M, M))
    return a * np.eye(M) + c * np.sign(j - i), np.zeros(M)


def setup(K: int = 2, M: int = 2, L: int = 8, L_teacher: int | None = None, a_star: float = 1.0,
          c_star: float = 1.0, q0: float = 0.5, r0: float = 0.2, A0=None, b0=None, seed: int = 0) -> Setup:
    r"""The default problem: teacher of :func:`teacher_controls`, :math:`T = I_M`, :math:`v = v^* = 1`.

    The student starts from :math:`Q = q_0 I_K`, :math:`R_{km} = r_0 z_{km}` (:math:`z\sim\mathcal N(0,1)`
    from ``seed``: a small random overlap that breaks the permutation symmetry of the student
    directions) and controls :math:`A = 0`, :math:`b = 0` unless ``A0`` (shape (K, K) or
    (L, K, K)) and ``b0`` are given; with :math:`A = b = 0` the student is linear,
    :math:`h(1) = (1 - 1/L)^L h(0)`.

    >>> s = setup()
    >>> s.K, s.M, s.L, s.A_star[0].tolist()
    (2, 2, 8, [[1.0, 1.0], [-1.0, 1.0]])
    """
    K = check_int("K", K, low=1, high=_MAX_DIM)
    M = check_int("M", M, low=1, high=_MAX_DIM)
    if K + M > _MAX_DIM:
        raise ValueError(f"K + M must be at most {_MAX_DIM} (quadrature on a tensor grid); got {K + M}")
    L = check_int("L", L, low=1)
    L_teacher = L if L_teacher is None else check_int("L_teacher", L_teacher, low=1)
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


def forward_backward(sp_: Setup, theta, h0, hs0, noise=None):
    r"""One forward and backward pass of student and teacher, vectorized over samples.

    Parameters
    ----------
    sp_ : Setup
    theta : array (L, P) or (L, P, n) -- student controls (per sample if 3-D).
    h0 : array (K, n) -- student pre-activations :math:`Wx/\sqrt N`.
    hs0 : array (M, n) -- teacher pre-activations :math:`W^*x/\sqrt N`.
    noise : array (n,) or None -- label noise :math:`\sigma\zeta` added to the teacher output.

    Returns
    -------
    dict with ``err`` (n,) :math:`y - \hat y`, ``g`` (K, n) :math:`= \lambda_0 = -\partial\ell/\partial h(0)`,
    ``dH`` (L, P, n) :math:`\partial H/\partial\theta_\ell` (so :math:`\partial\ell/\partial\theta_\ell = -\Delta\tau\,{\rm dH}`),
    ``loss`` (n,).
    """
    K, M = sp_.K, sp_.M
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
@functools.lru_cache(maxsize=16)
def _grid(d: int, n: int):
    z, w = gauss_hermite(n)
    Z = np.stack(np.meshgrid(*([z] * d), indexing="ij")).reshape(d, -1)
    W = functools.reduce(np.multiply.outer, [w] * d).ravel()
    Z.setflags(write=False)
    W.setflags(write=False)
    return Z, W


def _averages(sp_: Setup, Q, R, theta, n_nodes, sigma=0.0, want_rhs=True):
    """Quadrature averages over (h(0), h*(0)) ~ N(0, [[Q, R], [R^T, T]])."""
    K = sp_.K
    Z, w = _grid(K + sp_.M, n_nodes)
    u = _factor(_omega(Q, R, sp_.T)) @ Z
    h0, hs0 = u[:K], u[K:]
    sysK, sysM = system(K), system(sp_.M)
    hsT = _forward(sysM, sp_.theta_star, hs0)
    y = sp_.v_star @ hsT[-1]
    hsS = _forward(sysK, theta, h0)
    err = y - sp_.v @ hsS[-1]
    eg = 0.5 * (err ** 2) @ w
    if not want_rhs:
        return eg
    lamL = sp_.v[:, None] * err
    g, G = _backward(sysK, theta, hsS, lamL)
    gw = g * w
    out = {"eg": eg, "gh": gw @ h0.T, "ghs": gw @ hs0.T, "gg": gw @ g.T, "dH": G @ w}
    if sigma > 0:
        uu, _ = _backward(sysK, theta, hsS, np.broadcast_to(sp_.v[:, None], g.shape), want_grad=False)
        out["gg"] = out["gg"] + sigma ** 2 * (uu * w) @ uu.T
    return out


def generalization_error(sp_: Setup, Q, R, A, b, n_nodes: int | None = None) -> float:
    r""":math:`\epsilon_g = \tfrac12\langle(v^*\cdot h^*(1) - v\cdot h(1))^2\rangle` for overlaps ``Q``, ``R`` and controls ``A`` (L, K, K), ``b`` (L, K).

    >>> s = setup(K=1, M=1, L=4)
    >>> round(generalization_error(s, s.T, s.T, s.A_star, s.b_star), 10)    # student = teacher
    0.0
    """
    n = _DEFAULT_NODES[sp_.K + sp_.M] if n_nodes is None else check_int("n_nodes", n_nodes, low=2, high=200)
    theta = system(sp_.K).pack({"A": np.asarray(A, float), "b": np.asarray(b, float)})
    return float(_averages(sp_, np.asarray(Q, float), np.asarray(R, float), theta, n, want_rhs=False))


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
    if not isinstance(sp_, Setup):
        raise ValueError(f"sp_ must be a Setup (see dmftlib.neural_ode.setup); got {type(sp_).__name__}")
    eta = check_real("eta", eta, low=0.0, low_open=True)
    t = check_time_grid("t", t)
    eta_theta = eta if eta_theta is None else check_real("eta_theta", eta_theta, low=0.0)
    sigma = check_real("sigma", sigma, low=0.0)
    return eta, t, eta_theta, sigma


def theory(sp_: Setup, eta: float, t, eta_theta: float | None = None, sigma: float = 0.0,
           n_nodes: int | None = None, dt: float | None = None) -> NeuralODETheory:
    r"""Integrate the order-parameter ODEs (module docstring) for the problem ``sp_``.

    Parameters
    ----------
    sp_ : Setup (see :func:`setup`).
    eta : float > 0 -- learning rate of the directions :math:`W` (step :math:`\eta/N` on :math:`W/\sqrt N`).
    t : increasing times (training time :math:`t = \mu/N`).
    eta_theta : float >= 0 -- learning rate of the controls (default ``eta``; 0 keeps them fixed).
    sigma : float >= 0 -- label-noise standard deviation.
    n_nodes : Gauss-Hermite nodes per dimension of the ``K + M``-dimensional grid (default
        24, 14, 10, 6 for ``K + M`` = 2, 3, 4, 5).
    dt : largest RK4 step (default :math:`0.2/\max(1, \eta, \eta_\theta)`).

    Returns
    -------
    NeuralODETheory

    Cost: ``n_nodes**(K+M)`` samples times ``L`` steps forward and backward per right-hand side,
    four per RK4 step.
    """
    start = time.perf_counter()
    eta, t, eta_theta, sigma = _check_common(sp_, eta, t, eta_theta, sigma)
    d = sp_.K + sp_.M
    n = _DEFAULT_NODES[d] if n_nodes is None else check_int("n_nodes", n_nodes, low=2, high=200)
    dt = 0.2 / max(1.0, eta, eta_theta) if dt is None else check_real("dt", dt, low=0.0, low_open=True)
    if (t[-1] - t[0]) / dt > 2e6:
        raise ValueError(f"this call needs {(t[-1] - t[0]) / dt:.3g} RK4 steps (dt = 0.2 / eta), more than the limit 2e+06; "
                         "reduce eta or the duration")
    K, M, L = sp_.K, sp_.M, sp_.L
    P = K * K + K
    nQ, nR = K * K, K * M

    def unpack(y):
        return y[:nQ].reshape(K, K), y[nQ:nQ + nR].reshape(K, M), y[nQ + nR:].reshape(L, P)

    def f(_, y):
        Q, R, theta = unpack(y)
        a = _averages(sp_, Q, R, theta, n, sigma)
        dQ = eta * (a["gh"] + a["gh"].T) + eta ** 2 * a["gg"]
        dR = eta * a["ghs"]
        return np.concatenate([dQ.ravel(), dR.ravel(), (eta_theta * a["dH"]).ravel()])

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


def linear_closed_form(L: int, eta: float, t, q0: float, r0: float, sigma: float = 0.0):
    r"""Exact learning curve of the linear case ``K = M = 1``, :math:`A = b = 0` fixed (:math:`\eta_\theta = 0`).

    Both networks are linear, :math:`h(1) = c\,h(0)` with :math:`c = (1 - 1/L)^L` (:math:`e^{-1}`
    for the ODE); with :math:`a = c v = c`, :math:`T = 1`, :math:`D = Q - 2R + T`:

    .. math::

        R(t) = 1 - (1 - r_0)e^{-\eta a^2 t},\qquad
        D(t) = D_\infty + (D_0 - D_\infty)\,e^{-(2\eta a^2 - \eta^2a^4)t},\qquad
        D_\infty = \frac{\eta\sigma^2}{2 - \eta a^2},\qquad \epsilon_g = \tfrac12 a^2 D .

    Returns ``(eg, Q, R)`` arrays over ``t``.

    >>> eg, Q, R = linear_closed_form(4, 1.0, [0.0, 4.0], 0.25, 0.0)
    >>> round(float(eg[0]), 4), round(float(eg[1]), 4)
    (0.0626, 0.0292)
    """
    L = check_int("L", L, low=1)
    eta = check_real("eta", eta, low=0.0, low_open=True)
    t = check_array("t", t, ndim=1, low=0.0)
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


def simulate(N: int, sp_: Setup, eta: float, t, seeds, eta_theta: float | None = None, sigma: float = 0.0,
             init_seed: int = 0, chunk: int = 256, n_nodes: int | None = None) -> NeuralODESimulation:
    r"""Online SGD of the full model at input dimension ``N``, vectorized over seeds.

    State ``W`` (n_seeds, K, N) and controls (L, P, n_seeds); one fresh sample
    :math:`x\sim\mathcal N(0, I_N)` per step and seed; ``round(t * N)`` steps. The forward and
    backward passes are those of :func:`forward_backward`, with the seeds as the samples axis of
    the lambdified Pontryagin functions. Teacher and initial student are realized with exactly
    the overlaps of ``sp_`` (frame from ``init_seed``); seeds differ in their sample streams.

    >>> s = setup(K=1, M=1, L=4)
    >>> sim = simulate(50, s, eta=1.0, t=[0.0, 1.0], seeds=[0, 1])
    >>> sim.eg.shape, sim.n_seeds, round(float(sim.eg[0]), 4)
    ((2,), 2, 0.2764)
    """
    start = time.perf_counter()
    eta, t, eta_theta, sigma = _check_common(sp_, eta, t, eta_theta, sigma)
    K, M, L = sp_.K, sp_.M, sp_.L
    N = check_int("N", N, low=K + M)
    seeds = [check_int("seeds", s, low=0) for s in np.atleast_1d(np.asarray(seeds, dtype=object)).tolist()]
    if len(seeds) < 2:
        raise ValueError(f"seeds must hold at least 2 seeds (for a standard error); got {len(seeds)}")
    chunk = check_int("chunk", chunk, low=1)
    n = _DEFAULT_NODES[K + M] if n_nodes is None else check_int("n_nodes", n_nodes, low=2, high=200)
    W0, Ws = _realize(sp_, N, check_int("init_seed", init_seed, low=0))
    S = len(seeds)
    steps = np.rint(t * N).astype(np.int64)
    if np.any(np.diff(steps) <= 0):
        raise ValueError(f"t must be spaced by at least 1/N = {1.0 / N:g} so that record steps are distinct")
    W = np.broadcast_to(W0, (S, K, N)).copy()
    theta = np.broadcast_to(sp_.theta0[:, :, None], sp_.theta0.shape + (S,)).copy()   # (L, P, S)
    rngs = [np.random.default_rng(s) for s in seeds]
    sqN = np.sqrt(N)
    nt = t.size
    Qs = np.empty((nt, S, K, K))
    Rs = np.empty((nt, S, K, M))
    ths = np.empty((nt, S) + sp_.theta0.shape)

    def record(j):
        Qs[j] = np.einsum("skn,sln->skl", W, W) / N
        Rs[j] = np.einsum("skn,mn->skm", W, Ws) / N
        ths[j] = np.moveaxis(theta, -1, 0)

    j = 0
    if steps[0] == 0:
        record(0)
        j = 1
    mu, total = 0, int(steps[-1])
    while mu < total:
        nb = min(chunk, total - mu)
        Z = np.stack([r.standard_normal((nb, N + 1)) for r in rngs], axis=1)   # (nb, S, N + 1)
        for k in range(nb):
            x = Z[k, :, :N]
            h0 = np.einsum("skn,sn->ks", W, x) / sqN
            hs0 = Ws @ x.T / sqN
            r = forward_backward(sp_, theta, h0, hs0, noise=sigma * Z[k, :, N] if sigma > 0 else None)
            W += (eta / sqN) * r["g"].T[:, :, None] * x[:, None, :]
            if eta_theta > 0:
                theta += (eta_theta / N) * r["dH"]
            mu += 1
            if j < nt and mu == steps[j]:
                record(j)
                j += 1
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(theta))):
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
    r"""The depth average :math:`\bar A_{ij}(t) = \frac1L\sum_\ell A_{\ell,ij}(t)` of the controls (lines), and of a simulation (markers)."""
    from .plotting import new_figure, plot_simulation
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
    return simulation_label(sim.N, sim.n_seeds) if first else "_nolegend_"


def plot_widget(eta: float = 1.0, K: int = 2, sigma: float = 0.0, learn_controls: bool = True,
                t_max: float = 10.0, ax=None):
    """Learning curve of the ODEs for the widget: eta, student width K (teacher M = 2) and label noise sigma."""
    from .plotting import new_figure, plot_theory
    if ax is None:
        _, ax = new_figure()
    K = check_int("K", K, low=1, high=3)
    s = setup(K=K, M=2, L=4)
    t = np.linspace(0.0, t_max, 21)
    th = theory(s, eta, t, eta_theta=eta if learn_controls else 0.0, sigma=sigma, n_nodes=6 if K + 2 > 3 else 10,
                dt=0.25)
    plot_theory(ax, t, th.eg, label=f"ODE, K = {K}, M = 2, η = {eta:g}, σ = {sigma:g}", color="k")
    ax.set_yscale("log")
    ax.set_xlabel("training time $t = \\mu/N$")
    ax.set_ylabel("$\\epsilon_g$")
    ax.legend(loc="upper right")
    return ax
