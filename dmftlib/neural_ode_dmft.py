r"""DMFT of online learning in a high-dimensional controlled neural ODE (a "reservoir neural ODE").

The model (Urbani 2026's programme with an $N$-dimensional state). A state
$h(\tau)\in\mathbb R^N$ flows through depth $\tau\in[0,\tau_{\max}]$,

.. math::

    \frac{dh}{d\tau} = -h + g(\tau)\,J\,\phi(h) + u(\tau)\,x,\qquad h(0) = x,\qquad
    x\sim\mathcal N(0, I_N),

with quenched couplings $J_{ij}\sim\mathcal N(0, 1/N)$ i.i.d. (asymmetric) shared by teacher
and student, and trained controls $\theta = (g_m, u_m)_{m=1..n_b}$, piecewise constant on
$n_b$ equal blocks of depth (gains of the recurrent drive and re-injection scales of the
input). The depth ODE is discretized by ``n_depth`` = $L$ forward-Euler steps of length
$\Delta = \tau_{\max}/L$ (a ResNet); theory and simulation use the same grid. The teacher is
the same model with controls $\theta^*$; the loss of one sample is
$\ell = |h_s(\tau_{\max}) - h_*(\tau_{\max})|^2/(2N)$. Online SGD: one fresh batch of
``batch`` inputs per step, $\theta\leftarrow\theta - \eta\nabla_\theta\hat\ell$, training time
$t = \eta\times\text{step}$. The activation is $\phi(h) = \operatorname{erf}(\sqrt\pi h/2)$
(slope 1 at 0, like tanh, with a closed-form Gaussian kernel) or linear.

DMFT (N -> infinity). Averaging the two-replica MSR path integral over $J$ gives, at the
saddle point, one site driven by Gaussian local fields $\zeta_a(\tau)$ (replicas
$a\in\{s,*\}$), independent of $x$, without memory term (i.i.d. couplings):

.. math::

    &\frac{dh_a}{d\tau} = -h_a + g_a(\tau)\zeta_a(\tau) + u_a(\tau)x,\\
    &\langle\zeta_a(\tau)\zeta_b(\tau')\rangle = C_\phi^{ab}(\tau,\tau')
    = \langle\phi(h_a(\tau))\phi(h_b(\tau'))\rangle,

so $(x, h_s, h_*)$ is jointly Gaussian, with covariances
$C^{ab}(\tau,\tau') = \lim\frac1N\sum_i h^a_i(\tau)h^b_i(\tau')$ obtained by marching in depth
(causal: no fixed-point iteration). The test error is

.. math::

    E_g(\theta) = \tfrac12\big[C^{ss}(\tau_{\max},\tau_{\max}) - 2C^{s*}(\tau_{\max},\tau_{\max})
    + C^{**}(\tau_{\max},\tau_{\max})\big].

At N -> infinity the per-sample gradient concentrates (fluctuations $O(1/\sqrt{N\,\mathrm{batch}})$),
so online SGD becomes gradient descent on $E_g(\theta)$ with the same step
$\eta$; the kernels $C^{ab}(\tau,\tau';t)$ evolve in training time through
$\theta(t)$. The gradient of the closure is exact (complex-step differentiation of the
discretized closure, one batched evaluation for all $2L$ controls); the simulation's
gradient is backpropagation through the Euler steps (the costate of :mod:`dmftlib.control`).

Finite N: at given $\theta$ the loss has an $O(1/N)$ bias and fluctuations across
$J$; SGD adds $O(\sqrt{\eta/(N\,\mathrm{batch})})$ noise on $\theta$. The
seed-mean learning curve deviates from the theory by $O(1/N)$, one run by $O(1/\sqrt N)$.

Linear $\phi$, continuous depth: $h(\tau)=f_\tau(J)x$ with a power series
$f_\tau(z)=\sum_n c_n(\tau)z^n$, and for Ginibre $J$,
$\frac1N\mathrm{tr}\,J^n J^{\top m}\to\delta_{nm}$, so
$C^{ab}(\tau,\tau)=\sum_n c^a_n(\tau)c^b_n(\tau)$ (:func:`linear_closed_form`); with constant
gains and no re-injection $C^{ab}(1,1)=e^{-2}I_0(2\sqrt{g_ag_b})$.

Reference: P. Urbani, "Theory of learning of high-dimensional controlled non-linear dynamical
systems (I)", arXiv:2606.07247 (2026); H. Sompolinsky, A. Crisanti, H.-J. Sommers, PRL 61, 259 (1988);
C. K. I. Williams, NIPS 1996 (the erf kernel).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .core import (ReadOnlyArrays, check_array, check_bool, check_budget, check_choice, check_int, check_real,
                   check_seeds, check_time_grid, mean_sem)

__all__ = ["PHIS", "DEFAULTS", "NeuralODEDMFTResult", "phi_fn", "phi_kernel", "closure", "loss_and_gradient",
           "theory", "simulate", "sample_gradient", "hessian", "linear_closed_form", "save_results", "load_results",
           "FiniteSizeDeviation", "finite_size_deviation", "plot_learning_curve",
           "plot_depth_overlap", "plot_widget"]

PHIS = ("erf", "linear")
_A = np.pi / 2.0          # phi(h) = erf(sqrt(A/2) h): E[phi(u)phi(v)] = (2/pi) arcsin(A c12 / sqrt((1+A c11)(1+A c22)))
_CS = 1e-30               # complex-step size

#: The chapter's main setting (every argument of :func:`theory` and :func:`simulate` defaults to it).
DEFAULTS = dict(g_teacher=(1.8, 0.6, 1.4, 1.0), u_teacher=(0.5, -0.4, 0.3, 0.0),
                g_init=(0.5, 0.5, 0.5, 0.5), u_init=(0.0, 0.0, 0.0, 0.0),
                tau_max=2.0, n_depth=20, eta=0.5, batch=4, phi="erf")
_T_DEFAULT = np.linspace(0.0, 40.0, 21)


def phi_fn(h, phi: str = "erf"):
    r"""The activation: $\operatorname{erf}(\sqrt\pi h/2)$ (``"erf"``) or the identity (``"linear"``).

    >>> round(float(phi_fn(1.0)), 4)
    0.7899
    """
    phi = check_choice("phi", phi, PHIS)
    return _phi(check_array("h", h), phi)


def _phi(h, phi):
    if phi == "linear":
        return h
    from scipy.special import erf
    return erf(np.sqrt(_A / 2.0) * h)


def _dphi(h, phi):
    if phi == "linear":
        return np.ones_like(h)
    return np.exp(-_A / 2.0 * h * h)


def phi_kernel(c11, c22, c12, phi: str = "erf"):
    r"""$\langle\phi(u)\phi(v)\rangle$ for centred Gaussian $(u,v)$ with covariance
    $\begin{pmatrix}c_{11}&c_{12}\\c_{12}&c_{22}\end{pmatrix}$ (closed form; complex-analytic).

    For $\phi(h)=\operatorname{erf}(\sqrt\pi h/2)$:
    $\frac2\pi\arcsin\frac{\pi c_{12}/2}{\sqrt{(1+\pi c_{11}/2)(1+\pi c_{22}/2)}}$.

    >>> round(float(phi_kernel(1.0, 1.0, 0.5)), 4)
    0.1977
    """
    phi = check_choice("phi", phi, PHIS)
    c11 = check_array("c11", c11, low=0.0)
    c22 = check_array("c22", c22, low=0.0)
    c12 = check_array("c12", c12)
    try:
        np.broadcast(c11, c22, c12)
    except ValueError:
        raise ValueError(f"c11, c22, c12 must broadcast together; got shapes {c11.shape}, {c22.shape}, "
                         f"{c12.shape}") from None
    if np.any(c12 ** 2 > c11 * c22 * (1 + 1e-12) + 1e-300):
        raise ValueError("c12 must satisfy c12^2 <= c11 c22 (a covariance matrix)")
    return _kernel(c11, c22, c12, phi)


def _kernel(c11, c22, c12, phi):
    if phi == "linear":
        return c12
    return (2.0 / np.pi) * np.arcsin(_A * c12 / np.sqrt((1.0 + _A * c11) * (1.0 + _A * c22)))


def _check_controls(name, v):
    try:
        a = np.asarray(v)
    except Exception:  # pragma: no cover
        raise ValueError(f"{name} must be an array of numbers") from None
    if a.dtype.kind not in "iufc" or a.ndim < 2 or a.shape[-2] != 2 or a.shape[-1] < 1:
        raise ValueError(f"{name} must be a numeric array of shape (..., 2, K) with K >= 1; got "
                         f"{a.dtype} {a.shape}")
    if not np.all(np.isfinite(a)) or np.max(np.abs(a)) > 20.0:
        raise ValueError(f"{name} must hold finite controls of modulus at most 20")
    return a


def closure(G, U, dt: float, phi: str = "erf"):
    r"""March the two-replica DMFT closure through depth on the Euler grid.

    ``G``, ``U`` have shape ``(..., 2, K)``: the per-step gains and re-injection scales of the two
    replicas (student, teacher), with any leading batch axes (real or complex). Returns
    ``C`` (..., 2, 2, K+1, K+1) with ``C[a, b, k, l]`` $= C^{ab}(\tau_k,\tau_l)$ and
    ``Cphi`` (..., 2, 2, K, K) $= C_\phi^{ab}(\tau_k,\tau_l)$. Recursions (exact for the
    Euler scheme $h^{k+1}=(1-\Delta)h^k+\Delta(g^k\eta^k+u^kx)$):

    .. math::

        C^{ab}_{k+1,l} &= (1-\Delta)C^{ab}_{k,l} + \Delta u_a^k\,\alpha_b^l + \Delta g_a^k D^{ab}_{k,l},\\
        D^{ab}_{k,l} &= \langle\zeta_a^k h_b^l\rangle = \Delta\sum_{n<l}(1-\Delta)^{l-1-n}g_b^n C^{ab}_{\phi,kn},

    with $\alpha_b^l=\langle x h_b^l\rangle$. Memory: ``8 (K+1)^2`` numbers per batch entry.

    >>> C, _ = closure(np.full((2, 4), 0.5), np.zeros((2, 4)), 0.25, "linear")
    >>> round(float(C[0, 1, 4, 4]), 4)
    0.1474
    """
    G = _check_controls("G", G)
    U = _check_controls("U", U)
    if G.shape != U.shape:
        raise ValueError(f"G and U must have the same shape; got {G.shape} and {U.shape}")
    dt = check_real("dt", dt, low=0.0, high=1.0, low_open=True)
    phi = check_choice("phi", phi, PHIS)
    K = G.shape[-1]
    check_budget("doubles", 10.0 * G.size / (2 * K) * (K + 1) ** 2 * (2 if G.dtype.kind == "c" else 1), limit=2**28)
    return _closure(G, U, dt, phi)


def _closure(G, U, dt, phi):
    G = np.asarray(G)
    U = np.asarray(U)
    K = G.shape[-1]
    bs = G.shape[:-2]
    dtype = np.result_type(G, U, np.float64)
    C = np.zeros(bs + (2, 2, K + 1, K + 1), dtype)
    Cp = np.zeros(bs + (2, 2, K, K), dtype)
    al = np.zeros(bs + (2, K + 1), dtype)
    al[..., 0] = 1.0
    for k in range(K):
        al[..., k + 1] = (1.0 - dt) * al[..., k] + dt * U[..., k]
    ll = np.arange(K + 1)[:, None]
    nn = np.arange(K)[None, :]
    prop = np.where(nn < ll, (1.0 - dt) ** np.maximum(ll - 1 - nn, 0), 0.0)       # (K+1, K)
    beta = dt * G[..., None, :] * prop                                             # (..., 2, K+1, K)
    C[..., :, :, 0, 0] = 1.0
    i2 = np.arange(2)
    var = np.ones(bs + (2, K + 1), dtype)                                          # C^{aa}_{kk}
    for k in range(K):
        c11 = var[..., :, None, k:k + 1]                                           # (..., 2, 1, 1)
        c22 = var[..., None, :, :k + 1]                                            # (..., 1, 2, k+1)
        row = _kernel(c11, c22, C[..., :, :, k, :k + 1], phi)                   # (..., 2, 2, k+1)
        Cp[..., :, :, k, :k + 1] = row
        Cp[..., :, :, :k + 1, k] = np.swapaxes(row, -3, -2)
        # D[a, b, l] = sum_{n <= k} beta[b, l, n] Cp[a, b, k, n] for l <= k + 1
        D = np.matmul(beta[..., None, :, :k + 2, :k + 1], row[..., :, :, :, None])[..., 0]   # (..., 2, 2, k+2)
        new = ((1.0 - dt) * C[..., :, :, k, :k + 1] + dt * U[..., :, None, k, None] * al[..., None, :, :k + 1]
               + dt * G[..., :, None, k, None] * D[..., :k + 1])
        C[..., :, :, k + 1, :k + 1] = new
        C[..., :, :, :k + 1, k + 1] = np.swapaxes(new, -3, -2)
        C[..., :, :, k + 1, k + 1] = ((1.0 - dt) * C[..., :, :, k, k + 1] + dt * U[..., :, None, k] * al[..., None, :, k + 1]
                                      + dt * G[..., :, None, k] * D[..., k + 1])
        var[..., :, k + 1] = C[..., i2, i2, k + 1, k + 1]
    return C, Cp


def _per_step(v, K):
    """Block controls (..., L) -> per-step controls (..., K)."""
    L = v.shape[-1]
    return np.repeat(v, K // L, axis=-1)


def loss_and_gradient(g, u, g_teacher, u_teacher, tau_max: float, n_depth: int, phi: str = "erf"):
    r"""Closure test error $E_g(\theta)$ and its exact gradient in the student's block controls.

    Complex-step differentiation: the closure is complex-analytic in the controls, so one batched
    evaluation at $\theta + i\,10^{-30}e_p$ ($p = 1..2L$) gives
    $\partial_pE_g = \mathrm{Im}\,E_g/10^{-30}$ to round-off. Returns
    ``(eps, grad_g, grad_u, C)`` with ``C`` (2, 2, K+1, K+1) the real kernels at $\theta$.

    >>> e, gg, gu, _ = loss_and_gradient([0.5], [0.0], [1.0], [0.0], 1.0, 10)
    >>> round(float(e), 4), round(float(gg[0]), 4)
    (0.0145, -0.0539)
    """
    _, _, gT, uT, g0, u0, tau_max, K, _, _, phi = _check_params(
        [0.0, 1.0], g_teacher, u_teacher, g, u, tau_max, n_depth, 1.0, 1, phi)
    with np.errstate(over="ignore", invalid="ignore"):
        return _loss_and_gradient(g0, u0, gT, uT, tau_max, K, phi)


def _loss_and_gradient(g, u, g_teacher, u_teacher, tau_max, n_depth, phi):
    L = g.shape[-1]
    K = int(n_depth)
    P = 2 * L
    th = np.concatenate([g, u])
    ths = th[None, :] + 1j * _CS * np.eye(P)
    ths = np.concatenate([th[None, :].astype(complex), ths])                   # (P+1, 2L)
    Gs = _per_step(ths[:, :L], K)
    Us = _per_step(ths[:, L:], K)
    Gt = np.broadcast_to(_per_step(np.asarray(g_teacher, dtype=np.float64), K), Gs.shape)
    Ut = np.broadcast_to(_per_step(np.asarray(u_teacher, dtype=np.float64), K), Us.shape)
    G = np.stack([Gs, Gt], axis=-2)
    U = np.stack([Us, Ut], axis=-2)
    C, _ = _closure(G, U, tau_max / K, phi)
    e = 0.5 * (C[:, 0, 0, K, K] - 2.0 * C[:, 0, 1, K, K] + C[:, 1, 1, K, K])
    grad = e[1:].imag / _CS
    return float(e[0].real), grad[:L], grad[L:], C[0].real


def hessian(g, u, g_teacher=DEFAULTS["g_teacher"], u_teacher=DEFAULTS["u_teacher"], tau_max=DEFAULTS["tau_max"],
            n_depth=DEFAULTS["n_depth"], phi=DEFAULTS["phi"], h: float = 1e-5) -> np.ndarray:
    r"""Hessian of the closure test error in the student's controls $(g_1..g_{n_b}, u_1..u_{n_b})$,
    by central differences (step ``h``) of the exact gradient; symmetrized. Near a minimum, gradient
    descent contracts the eigendirection of eigenvalue $\lambda$ by $1-\eta\lambda$ per step.

    >>> H = hessian(DEFAULTS["g_teacher"], DEFAULTS["u_teacher"])
    >>> H.shape, bool(np.linalg.eigvalsh(H).min() > -1e-8)
    ((8, 8), True)
    """
    _, _, gT, uT, g0, u0, tau_max, K, _, _, phi = _check_params(
        [0.0, 1.0], g_teacher, u_teacher, g, u, tau_max, n_depth, 1.0, 1, phi)
    h = check_real("h", h, low=1e-8, high=1e-2)
    L = gT.size
    theta = np.concatenate([g0, u0])
    H = np.empty((2 * L, 2 * L))
    for p in range(2 * L):
        gr = []
        for sgn in (1.0, -1.0):
            q = theta.copy()
            q[p] += sgn * h
            _, dg, du, _ = _loss_and_gradient(q[:L], q[L:], gT, uT, tau_max, K, phi)
            gr.append(np.concatenate([dg, du]))
        H[:, p] = (gr[0] - gr[1]) / (2 * h)
    return 0.5 * (H + H.T)


@dataclass(frozen=True)
class NeuralODEDMFTResult(ReadOnlyArrays):
    """Learning curve and depth kernels of the reservoir neural ODE (theory or simulation).

    Fields (``n_t`` training times, ``L`` blocks, ``K`` depth steps):
    ``t`` (n_t,) training times; ``test_error`` (n_t,); ``g``, ``u`` (n_t, L) student controls;
    ``tau`` (K+1,) depth grid; ``C_diag`` (n_t, 3, K+1) the equal-depth overlaps
    $C^{ss}(\\tau,\\tau), C^{s*}(\\tau,\\tau), C^{**}(\\tau,\\tau)$; ``C_final`` (3, K+1, K+1) the
    two-depth kernels at the last time. For a simulation these are means over seeds and the
    ``*_sem`` fields their standard errors (zeros for the theory); ``test_error_seeds`` (n_seeds, n_t)
    keeps every run (one row for the theory). ``N`` is 0 for the theory. ``diverged`` flags a
    run stopped because the controls or the loss left the finite range (its later entries are NaN).
    """

    t: np.ndarray
    test_error: np.ndarray
    test_error_sem: np.ndarray
    test_error_seeds: np.ndarray
    g: np.ndarray
    g_sem: np.ndarray
    u: np.ndarray
    u_sem: np.ndarray
    tau: np.ndarray
    C_diag: np.ndarray
    C_diag_sem: np.ndarray
    C_final: np.ndarray
    N: int
    n_seeds: int
    eta: float
    batch: int
    phi: str
    diverged: bool
    wall_time: float


def _check_params(t, g_teacher, u_teacher, g_init, u_init, tau_max, n_depth, eta, batch, phi):
    t = check_time_grid("t", t)
    phi = check_choice("phi", phi, PHIS)
    tau_max = check_real("tau_max", tau_max, low=0.0, high=20.0, low_open=True)
    K = check_int("n_depth", n_depth, low=1, high=400)
    eta = check_real("eta", eta, low=0.0, high=10.0, low_open=True)
    batch = check_int("batch", batch, low=1, high=4096)
    arrs = {}
    for name, v in (("g_teacher", g_teacher), ("u_teacher", u_teacher), ("g_init", g_init), ("u_init", u_init)):
        a = check_array(name, v, ndim=1, low=-20.0, high=20.0)
        if a.size < 1:
            raise ValueError(f"{name} must hold at least one control (one per depth block); got none")
        arrs[name] = a
    L = arrs["g_teacher"].size
    for name, a in arrs.items():
        if a.size != L:
            raise ValueError(f"{name} must have the same length L = {L} as g_teacher; got {a.size}")
    if K % L:
        raise ValueError(f"n_depth must be a multiple of the number of blocks L = {L}; got {K}")
    if tau_max / K > 1.0:
        raise ValueError(f"the Euler step tau_max / n_depth must be at most 1; got {tau_max / K:g}")
    steps = np.rint(t / eta).astype(np.int64)
    if np.any(np.abs(steps * eta - t) > 1e-9 * np.maximum(1.0, t)):
        raise ValueError(f"t must hold multiples of eta = {eta:g} (training time = eta x step)")
    if steps[-1] > 10**6:
        raise ValueError(f"t / eta must be at most 1e6 SGD steps; got {steps[-1]}")
    return (t, steps, arrs["g_teacher"], arrs["u_teacher"], arrs["g_init"], arrs["u_init"], tau_max, K, eta,
            batch, phi)


_DIAG = ((0, 0), (0, 1), (1, 1))


def theory(t=_T_DEFAULT, g_teacher=DEFAULTS["g_teacher"], u_teacher=DEFAULTS["u_teacher"],
           g_init=DEFAULTS["g_init"], u_init=DEFAULTS["u_init"], tau_max=DEFAULTS["tau_max"],
           n_depth=DEFAULTS["n_depth"], eta=DEFAULTS["eta"], batch=DEFAULTS["batch"],
           phi=DEFAULTS["phi"]) -> NeuralODEDMFTResult:
    r"""N -> infinity learning curve: gradient descent on the DMFT closure loss, with step ``eta``.

    $\theta_{n+1} = \theta_n - \eta\nablaE_g(\theta_n)$, $t = n\eta$, the kernels
    $C^{ab}(\tau,\tau';t)$ recomputed by :func:`closure` at every step. ``batch`` does not
    enter (the batch gradient concentrates); it is accepted so that the two views share parameters.
    ``t`` must hold multiples of ``eta``. Cost: one batched closure (2L+1 complex entries,
    $O(K^2)$ each) per step.

    >>> th = theory(t=[0.0, 5.0, 10.0])
    >>> np.round(th.test_error, 3).tolist()
    [0.054, 0.034, 0.021]
    """
    start = time.perf_counter()
    t, steps, gT, uT, g0, u0, tau_max, K, eta, batch, phi = _check_params(
        t, g_teacher, u_teacher, g_init, u_init, tau_max, n_depth, eta, batch, phi)
    check_budget("closure cells (steps x controls x depth^2)", float(steps[-1] + 1) * (2 * gT.size + 1) * K * K * 8)
    nt, L = t.size, gT.size
    eps = np.full(nt, np.nan)
    gs = np.full((nt, L), np.nan)
    us = np.full((nt, L), np.nan)
    Cd = np.full((nt, 3, K + 1), np.nan)
    g, u = g0.copy(), u0.copy()
    j, n, diverged = 0, 0, False
    C = None
    while j < nt:
        with np.errstate(over="ignore", invalid="ignore"):
            e, dg, du, C = _loss_and_gradient(g, u, gT, uT, tau_max, K, phi)
        if not (np.isfinite(e) and np.all(np.isfinite(dg)) and np.all(np.isfinite(du)) and e < 1e8):
            diverged = True
            break
        while j < nt and steps[j] == n:
            eps[j], gs[j], us[j] = e, g, u
            Cd[j] = [np.diagonal(C[a, b]) for a, b in _DIAG]
            j += 1
        g = g - eta * dg
        u = u - eta * du
        n += 1
    Cf = np.stack([C[a, b] for a, b in _DIAG]) if C is not None else np.full((3, K + 1, K + 1), np.nan)
    return NeuralODEDMFTResult(
        t=t, test_error=eps, test_error_sem=np.zeros(nt), test_error_seeds=eps[None, :], g=gs, g_sem=np.zeros_like(gs),
        u=us, u_sem=np.zeros_like(us), tau=np.linspace(0.0, tau_max, K + 1), C_diag=Cd, C_diag_sem=np.zeros_like(Cd),
        C_final=Cf, N=0, n_seeds=1, eta=eta, batch=batch, phi=phi, diverged=diverged,
        wall_time=time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
# the N-dimensional system
# ----------------------------------------------------------------------------------------------
def _forward(J, X, gs, us, gt, ut, dt, phi, keep=False):
    """Euler forward pass of student (per-seed controls ``gs``, ``us`` (S, K)) and teacher (K,)
    from h(0) = X (S, N, B). Returns final states and, if ``keep``, the student's h^k and J phi(h^k)."""
    B = X.shape[-1]
    hs, ht = X, X
    Hs, Zs, diag = [], [], []
    for k in range(gs.shape[1]):
        Z = np.matmul(J, _phi(np.concatenate([hs, ht], axis=-1), phi))
        if keep:
            Hs.append(hs)
            Zs.append(Z[..., :B])
        hs = hs + dt * (-hs + gs[:, k, None, None] * Z[..., :B] + us[:, k, None, None] * X)
        ht = ht + dt * (-ht + gt[k] * Z[..., B:] + ut[k] * X)
    return hs, ht, Hs, Zs


def _overlaps(J, X, gs, us, gt, ut, dt, phi):
    """Two-depth overlaps (S, 3, K+1, K+1) [ss, s*, **] and the test error (S,) on the batch X."""
    N, B = X.shape[1], X.shape[2]
    hs, ht = X, X
    Hs, Ht = [hs], [ht]
    for k in range(gs.shape[1]):
        Z = np.matmul(J, _phi(np.concatenate([hs, ht], axis=-1), phi))
        hs = hs + dt * (-hs + gs[:, k, None, None] * Z[..., :B] + us[:, k, None, None] * X)
        ht = ht + dt * (-ht + gt[k] * Z[..., B:] + ut[k] * X)
        Hs.append(hs)
        Ht.append(ht)
    S = X.shape[0]
    Hs = np.stack(Hs, axis=1).reshape(S, -1, N * B)      # (S, K+1, N B)
    Ht = np.stack(Ht, axis=1).reshape(S, -1, N * B)
    C = np.stack([np.matmul(Hs, np.swapaxes(Hs, 1, 2)), np.matmul(Hs, np.swapaxes(Ht, 1, 2)),
                  np.matmul(Ht, np.swapaxes(Ht, 1, 2))], axis=1) / (N * B)
    err = np.sum((hs - ht) ** 2, axis=(1, 2)) / (2 * N * B)
    return C, err


def _backward(J, X, hs, ht, Hs, Zs, gs, dt, phi):
    """Backpropagation through the Euler steps (the discrete costate). Gradients (S, K) of the batch loss."""
    N, B = X.shape[1], X.shape[2]
    K = gs.shape[1]
    lam = (hs - ht) / (N * B)                     # costate at the output: d loss / d h^K
    dG = np.empty((X.shape[0], K))
    dU = np.empty((X.shape[0], K))
    JT = np.swapaxes(J, 1, 2)
    for k in range(K - 1, -1, -1):
        dG[:, k] = dt * np.sum(lam * Zs[k], axis=(1, 2))
        dU[:, k] = dt * np.sum(lam * X, axis=(1, 2))
        lam = (1.0 - dt) * lam + dt * gs[:, k, None, None] * _dphi(Hs[k], phi) * np.matmul(JT, lam)
    return dG, dU


def _one_blas_thread():
    """Matrix-vector products of this size run fastest on one BLAS thread (and a shared machine
    stays usable); a no-op context when threadpoolctl is absent."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        from contextlib import nullcontext
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _couplings(seeds, N):
    rngs = [np.random.default_rng(s) for s in seeds]
    J = np.stack([r.standard_normal((N, N)) for r in rngs]) / np.sqrt(N)
    return J, rngs


def sample_gradient(N: int, g=DEFAULTS["g_init"], u=DEFAULTS["u_init"], seeds=4, n_samples: int = 64,
                    g_teacher=DEFAULTS["g_teacher"], u_teacher=DEFAULTS["u_teacher"],
                    tau_max=DEFAULTS["tau_max"], n_depth=DEFAULTS["n_depth"], phi=DEFAULTS["phi"]):
    r"""Backpropagated gradient of the loss of the N-dimensional system at fixed controls, averaged over
    ``n_samples`` inputs, one row per seed (coupling matrix). Returns ``(loss, grad_g, grad_u)`` with
    shapes (S,), (S, L), (S, L): compare with :func:`loss_and_gradient` (agreement $O(1/\sqrt N)$).

    >>> l, gg, gu = sample_gradient(100, seeds=2, n_samples=8)
    >>> gg.shape
    (2, 4)
    """
    N = check_int("N", N, low=2, high=20000)
    seeds = check_seeds("seeds", seeds)
    n_samples = check_int("n_samples", n_samples, low=1, high=10**5)
    t, _, gT, uT, g0, u0, tau_max, K, _, _, phi = _check_params(
        [0.0, 1.0], g_teacher, u_teacher, g, u, tau_max, n_depth, 1.0, 1, phi)
    S, L = len(seeds), gT.size
    check_budget("doubles", float(S) * (N * N + 2 * K * N * n_samples))
    check_budget("depth steps x units x samples x seeds", float(S) * K * N * n_samples)
    J, rngs = _couplings(seeds, N)
    X = np.stack([r.standard_normal((N, n_samples)) for r in rngs])
    gs = np.broadcast_to(_per_step(g0, K), (S, K))
    us = np.broadcast_to(_per_step(u0, K), (S, K))
    dt = tau_max / K
    with _one_blas_thread():
        hs, ht, Hs, Zs = _forward(J, X, gs, us, _per_step(gT, K), _per_step(uT, K), dt, phi, keep=True)
        dG, dU = _backward(J, X, hs, ht, Hs, Zs, gs, dt, phi)
    loss = np.sum((hs - ht) ** 2, axis=(1, 2)) / (2 * N * n_samples)
    return loss, dG.reshape(S, L, K // L).sum(-1), dU.reshape(S, L, K // L).sum(-1)


def simulate(N: int = 200, t=_T_DEFAULT, seeds=8, g_teacher=DEFAULTS["g_teacher"],
             u_teacher=DEFAULTS["u_teacher"], g_init=DEFAULTS["g_init"], u_init=DEFAULTS["u_init"],
             tau_max=DEFAULTS["tau_max"], n_depth=DEFAULTS["n_depth"], eta=DEFAULTS["eta"],
             batch=DEFAULTS["batch"], phi=DEFAULTS["phi"], n_test: int = 16) -> NeuralODEDMFTResult:
    r"""Online SGD of the N-dimensional reservoir neural ODE, seeds batched (leading axis).

    Each seed draws its couplings $J$ (shared by its teacher and student) and its input stream
    from ``numpy.random.default_rng(seed)``; the test error and the overlaps are measured at the
    recorded times on ``n_test`` fresh inputs from ``default_rng([seed, 1])``. One step: forward
    pass of student and teacher on ``batch`` fresh inputs, backpropagation through the Euler
    steps (costate $\lambda^k = (1-\Delta)\lambda^{k+1} + \Delta g^k\phi'(h^k)\odot J^\top\lambda^{k+1}$),
    update of the block controls. Cost: about ``3 n_depth batch N^2`` multiply-adds per step and seed.

    >>> sim = simulate(N=100, t=[0.0, 1.0], seeds=2)
    >>> sim.test_error.shape, sim.n_seeds
    ((2,), 2)
    """
    start = time.perf_counter()
    N = check_int("N", N, low=2, high=20000)
    seeds = check_seeds("seeds", seeds)
    n_test = check_int("n_test", n_test, low=1, high=10**5)
    t, steps, gT, uT, g0, u0, tau_max, K, eta, batch, phi = _check_params(
        t, g_teacher, u_teacher, g_init, u_init, tau_max, n_depth, eta, batch, phi)
    S, L, nt = len(seeds), gT.size, t.size
    check_budget("doubles", float(S) * (N * N + 3 * K * N * max(batch, n_test)))
    check_budget("SGD steps x depth steps x units x samples x seeds",
                 float(S) * K * N * (3.0 * batch * steps[-1] + 2.0 * n_test * nt))
    with _one_blas_thread(), np.errstate(over="ignore", invalid="ignore"):
        return _simulate(N, t, steps, seeds, gT, uT, g0, u0, tau_max, K, eta, batch, phi, n_test, start)


def _simulate(N, t, steps, seeds, gT, uT, g0, u0, tau_max, K, eta, batch, phi, n_test, start):
    S, L, nt = len(seeds), gT.size, t.size
    J, rngs = _couplings(seeds, N)
    trngs = [np.random.default_rng([s, 1]) for s in seeds]
    gt, ut = _per_step(gT, K), _per_step(uT, K)
    dt = tau_max / K
    g = np.broadcast_to(g0, (S, L)).copy()
    u = np.broadcast_to(u0, (S, L)).copy()
    eps = np.full((S, nt), np.nan)
    gs = np.full((nt, S, L), np.nan)
    us = np.full((nt, S, L), np.nan)
    Cd = np.full((nt, S, 3, K + 1), np.nan)
    Cf = np.full((3, K + 1, K + 1), np.nan)
    j, n, diverged = 0, 0, False
    while j < nt:
        if steps[j] == n:
            X = np.stack([r.standard_normal((N, n_test)) for r in trngs])
            Cfull, eps[:, j] = _overlaps(J, X, _per_step(g, K), _per_step(u, K), gt, ut, dt, phi)
            if not np.all(np.isfinite(Cfull)):
                diverged = True
                break
            Cd[j] = np.diagonal(Cfull, axis1=-2, axis2=-1)
            Cf = Cfull.mean(axis=0)
            gs[j], us[j] = g, u
            j += 1
            continue
        X = np.stack([r.standard_normal((N, batch)) for r in rngs])
        gk, uk = _per_step(g, K), _per_step(u, K)
        hs, ht, Hs, Zs = _forward(J, X, gk, uk, gt, ut, dt, phi, keep=True)
        dG, dU = _backward(J, X, hs, ht, Hs, Zs, gk, dt, phi)
        g = g - eta * dG.reshape(S, L, K // L).sum(-1)
        u = u - eta * dU.reshape(S, L, K // L).sum(-1)
        n += 1
        if not (np.all(np.isfinite(dG)) and np.all(np.isfinite(dU)) and np.all(np.isfinite(g)) and np.all(np.isfinite(u)) and np.max(np.abs(g)) < 1e4
                and np.max(np.abs(u)) < 1e4):
            diverged = True
            break
    e_mean, e_sem = mean_sem(eps, axis=0) if S > 1 else (eps[0], np.zeros(nt))
    g_mean, g_sem = mean_sem(gs, axis=1) if S > 1 else (gs[:, 0], np.zeros((nt, L)))
    u_mean, u_sem = mean_sem(us, axis=1) if S > 1 else (us[:, 0], np.zeros((nt, L)))
    C_mean, C_sem = mean_sem(Cd, axis=1) if S > 1 else (Cd[:, 0], np.zeros((nt, 3, K + 1)))
    return NeuralODEDMFTResult(
        t=t, test_error=e_mean, test_error_sem=e_sem, test_error_seeds=eps, g=g_mean, g_sem=g_sem, u=u_mean,
        u_sem=u_sem, tau=np.linspace(0.0, tau_max, K + 1), C_diag=C_mean, C_diag_sem=C_sem, C_final=Cf, N=N,
        n_seeds=S, eta=eta, batch=batch, phi=phi, diverged=diverged, wall_time=time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
# storage and the finite-N scan
# ----------------------------------------------------------------------------------------------
def save_results(path, **results) -> None:
    """Save named :class:`NeuralODEDMFTResult` objects to one ``.npz`` (keys ``name/field``)."""
    from dataclasses import fields
    flat = {}
    for name, r in results.items():
        if not isinstance(r, NeuralODEDMFTResult):
            raise ValueError(f"results must be NeuralODEDMFTResult objects; {name!r} is {type(r).__name__}")
        for f in fields(r):
            flat[f"{name}/{f.name}"] = np.asarray(getattr(r, f.name))
    np.savez_compressed(path, **flat)


def load_results(path) -> dict:
    """Inverse of :func:`save_results`: a dict name -> :class:`NeuralODEDMFTResult`."""
    from dataclasses import fields
    with np.load(path) as z:
        names = sorted({k.split("/")[0] for k in z.files})
        out = {}
        for name in names:
            kw = {}
            for f in fields(NeuralODEDMFTResult):
                v = z[f"{name}/{f.name}"]
                kw[f.name] = v.item() if v.ndim == 0 else v
            kw["N"], kw["n_seeds"], kw["batch"] = int(kw["N"]), int(kw["n_seeds"]), int(kw["batch"])
            kw["eta"], kw["wall_time"], kw["phi"] = float(kw["eta"]), float(kw["wall_time"]), str(kw["phi"])
            kw["diverged"] = bool(kw["diverged"])
            out[name] = NeuralODEDMFTResult(**kw)
    return out


@dataclass(frozen=True)
class FiniteSizeDeviation(ReadOnlyArrays):
    r"""Deviation of simulations from the theory, one entry per N.

    With $d = \overline{E_{\rm sim}(t)-E_{\rm th}(t)}/\overline{E_{\rm th}(t)}$ the relative deviation
    of one run averaged over the recorded times: ``bias`` (mean of ``d`` over seeds, expected
    $O(1/N)$) with its standard error ``bias_sem``; ``spread`` (standard deviation of ``d`` over
    seeds, expected $O(N^{-1/2})$) with ``spread_sem`` ($\approx$ spread $/\sqrt{2(S-1)}$);
    ``control_spread``, the root mean square over the $2n_b$ controls of their standard deviation
    over seeds at the last time (expected $O(N^{-1/2})$); and the power-law fits
    (:class:`dmftlib.core.PowerLawFit`) ``spread_fit``, ``control_fit`` against N.
    """

    N: np.ndarray
    n_seeds: np.ndarray
    bias: np.ndarray
    bias_sem: np.ndarray
    spread: np.ndarray
    spread_sem: np.ndarray
    control_spread: np.ndarray
    spread_fit: object
    control_fit: object


def finite_size_deviation(th: NeuralODEDMFTResult, sims) -> FiniteSizeDeviation:
    """Measure :class:`FiniteSizeDeviation` of the simulations ``sims`` (a sequence, same times) from ``th``."""
    from .core import fit_power_law
    if not isinstance(th, NeuralODEDMFTResult):
        raise ValueError(f"th must be a NeuralODEDMFTResult; got {type(th).__name__}")
    sims = list(sims)
    if len(sims) < 2 or not all(isinstance(s, NeuralODEDMFTResult) and s.N > 0 and s.n_seeds > 1 for s in sims):
        raise ValueError("sims must hold at least two simulations (NeuralODEDMFTResult with N > 0, >= 2 seeds)")
    Ns, S, b, bs, sp, cs = [], [], [], [], [], []
    for s in sims:
        if s.t.shape != th.t.shape or not np.allclose(s.t, th.t):
            raise ValueError("every simulation must be recorded at the theory's times t")
        d = np.mean(s.test_error_seeds - th.test_error[None, :], axis=1) / np.mean(th.test_error)
        m, e = mean_sem(d)
        Ns.append(s.N)
        S.append(s.n_seeds)
        b.append(m)
        bs.append(e)
        sp.append(np.std(d, ddof=1))
        ctrl_sd = np.concatenate([s.g_sem[-1], s.u_sem[-1]]) * np.sqrt(s.n_seeds)
        cs.append(np.sqrt(np.mean(ctrl_sd ** 2)))
    S = np.array(S)
    sp = np.array(sp)
    return FiniteSizeDeviation(N=np.array(Ns), n_seeds=S, bias=np.array(b), bias_sem=np.array(bs), spread=sp,
                               spread_sem=sp / np.sqrt(2.0 * (S - 1)), control_spread=np.array(cs),
                               spread_fit=fit_power_law(Ns, sp), control_fit=fit_power_law(Ns, cs))


# ----------------------------------------------------------------------------------------------
# linear phi: the independent route (power series in J, Ginibre traces)
# ----------------------------------------------------------------------------------------------
def linear_closed_form(g_a, u_a, g_b, u_b, tau_max: float = 1.0, n_depth: int | None = None,
                       n_max: int = 80) -> np.ndarray:
    r"""Output overlaps $(C^{aa}, C^{ab}, C^{bb})(\tau_{\max},\tau_{\max})$ for linear $\phi$, from
    the power series $h(\tau) = \sum_n c_n(\tau)J^n x$ and $\frac1N\mathrm{tr}J^nJ^{\top m}\to\delta_{nm}$.

    The coefficients obey $\dot c_n = -c_n + g(\tau)c_{n-1} + u(\tau)\delta_{n0}$, $c_n(0)=\delta_{n0}$
    (block controls ``g_*``, ``u_*`` of equal length L), solved exactly per block by a matrix
    exponential (``n_depth=None``, continuous depth) or stepped with the Euler scheme of
    :func:`closure` (``n_depth=K``). Then $C^{ab}=\sum_n c^a_nc^b_n$. Independent of the
    DMFT closure: random-matrix moments instead of the single-site process.

    >>> from scipy.special import i0
    >>> c = linear_closed_form([0.7], [0.0], [1.3], [0.0])
    >>> bool(abs(c[1] - np.exp(-2) * i0(2 * np.sqrt(0.7 * 1.3))) < 1e-12)
    True
    """
    arrs = [check_array(nm, v, ndim=1, low=-20.0, high=20.0) for nm, v in
            (("g_a", g_a), ("u_a", u_a), ("g_b", g_b), ("u_b", u_b))]
    L = arrs[0].size
    if L < 1 or any(a.size != L for a in arrs):
        raise ValueError(f"g_a, u_a, g_b, u_b must be non-empty and of equal length; got {[a.size for a in arrs]}")
    tau_max = check_real("tau_max", tau_max, low=0.0, high=20.0, low_open=True)
    n_max = check_int("n_max", n_max, low=1, high=2000)
    M = n_max + 1
    coefs = []
    for gv, uv in ((arrs[0], arrs[1]), (arrs[2], arrs[3])):
        c = np.zeros(M)
        c[0] = 1.0
        if n_depth is None:
            from scipy.linalg import expm
            for gl, ul in zip(gv, uv):
                A = np.zeros((M + 1, M + 1))            # affine generator on (c, 1)
                A[:M, :M] = -np.eye(M) + gl * np.eye(M, k=-1)
                A[0, M] = ul
                c = (expm(A * tau_max / L) @ np.append(c, 1.0))[:M]
        else:
            K = check_int("n_depth", n_depth, low=1, high=10**5)
            if K % L:
                raise ValueError(f"n_depth must be a multiple of the number of blocks L = {L}; got {K}")
            d = tau_max / K
            for k in range(K):
                gl, ul = gv[k * L // K], uv[k * L // K]
                c = (1.0 - d) * c + d * gl * np.concatenate([[0.0], c[:-1]])
                c[0] += d * ul
        coefs.append(c)
    ca, cb = coefs
    return np.array([ca @ ca, ca @ cb, cb @ cb])


# ----------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------
def _axes(ax, n, **fig_kw):
    """``ax`` as a flat array of ``n`` matplotlib Axes (a new figure when None); ValueError otherwise."""
    from matplotlib.axes import Axes
    from .plotting import new_figure
    if ax is None:
        _, ax = new_figure(ncols=n, **fig_kw)
    arr = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
    if arr.size != n or not all(isinstance(a, Axes) for a in arr):
        raise ValueError(f"ax must be None or {n} matplotlib Axes; got {ax!r}")
    return arr


def plot_learning_curve(th: NeuralODEDMFTResult, sims=(), ax=None, log: bool = True):
    """Test error against training time: the theory as a line, each simulation as markers with error bars."""
    from .plotting import plot_simulation, plot_theory
    log = check_bool("log", log)
    if isinstance(sims, NeuralODEDMFTResult):
        sims = [sims]
    if not isinstance(th, NeuralODEDMFTResult) or not all(isinstance(x, NeuralODEDMFTResult) for x in sims):
        raise ValueError("th and sims must be NeuralODEDMFTResult objects")
    ax = _axes(ax, 1)[0]
    plot_theory(ax, th.t, th.test_error, color="k")
    for s in sims:
        plot_simulation(ax, s.t, s.test_error, s.test_error_sem, N=s.N, n_seeds=s.n_seeds)
    ax.set_xlabel("training time $t = \\eta\\times$step")
    ax.set_ylabel("test error $E_g$")
    if log:
        ax.set_yscale("log")
    ax.legend()
    return ax


def plot_depth_overlap(th: NeuralODEDMFTResult, sim: NeuralODEDMFTResult | None = None, times=None, ax=None):
    r"""Left: student-teacher overlap $C^{s*}(\tau,\tau)$ through depth at several training times
    (theory lines, simulation markers), with the teacher's $C^{**}(\tau,\tau)$ dashed. Right: the
    depth-resolved distance $\frac12[C^{ss}-2C^{s*}+C^{**}](\tau,\tau)$ of the theory (log scale),
    whose value at $\tau_{\max}$ is the test error. ``ax``: two axes, or None."""
    if not isinstance(th, NeuralODEDMFTResult) or not (sim is None or isinstance(sim, NeuralODEDMFTResult)):
        raise ValueError("th and sim must be NeuralODEDMFTResult objects (sim may be None)")
    ax = _axes(ax, 2, width=10.0, height=3.8)
    want = th.t[[0, th.t.size // 8, th.t.size // 3, -1]] if times is None else np.asarray(times, dtype=float)
    idx = np.unique([int(np.argmin(np.abs(th.t - w))) for w in np.atleast_1d(want)])
    cols = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
    for c, i in zip(cols, idx):
        ax[0].plot(th.tau, th.C_diag[i, 1], "-", color=c, label=f"$t = {th.t[i]:g}$")
        dist = 0.5 * (th.C_diag[i, 0] - 2 * th.C_diag[i, 1] + th.C_diag[i, 2])
        ax[1].plot(th.tau[1:], dist[1:], "-", color=c, label=f"$t = {th.t[i]:g}$")
        if sim is not None:
            js = int(np.argmin(np.abs(sim.t - th.t[i])))
            ax[0].errorbar(sim.tau[::2], sim.C_diag[js, 1, ::2], sim.C_diag_sem[js, 1, ::2], fmt="o", ms=4,
                           mfc="none", color=c)
    ax[0].plot(th.tau, th.C_diag[0, 2], "k--", label="teacher $C^{**}(\\tau,\\tau)$")
    if sim is not None:
        ax[0].plot([], [], "o", mfc="none", color="gray", label=f"simulation, N = {sim.N}, {sim.n_seeds} seeds")
    ax[0].set_ylabel("$C^{s*}(\\tau,\\tau)$")
    ax[1].set_yscale("log")
    ax[1].set_ylabel("$\\frac{1}{2}[C^{ss}-2C^{s*}+C^{**}](\\tau,\\tau)$ (theory)")
    for a in ax:
        a.set_xlabel("depth $\\tau$")
        a.legend(fontsize=8)
    return ax


def plot_widget(g_star: float = 1.5, eta: float = 0.5, t_max: float = 40.0, ax=None):
    """Theory learning curves for a teacher with constant gain ``g_star`` (no re-injection), the
    student starting at gain 0.5: the pure function behind the chapter's slider."""
    from .plotting import plot_theory
    g_star = check_real("g_star", g_star, low=0.0, high=5.0)
    eta = check_real("eta", eta, low=0.0, high=2.0, low_open=True)
    t_max = check_real("t_max", t_max, low=0.0, high=400.0, low_open=True)
    n = max(1, int(round(t_max / eta)))
    t = eta * np.arange(n + 1)
    ax = _axes(ax, 2, width=9.5)
    th = theory(t=t, g_teacher=(g_star,) * 4, u_teacher=(0.0,) * 4, eta=eta)
    plot_theory(ax[0], th.t, th.test_error, color="k")
    ax[0].set_yscale("log")
    ax[0].set_xlabel("training time $t$")
    ax[0].set_ylabel("test error $E_g$")
    ax[0].set_title(f"teacher gain $g^* = {g_star:g}$")
    for l in range(th.g.shape[1]):
        ax[1].plot(th.t, th.g[:, l], label=f"$g_{l + 1}$")
    ax[1].axhline(g_star, color="k", ls="--", lw=1)
    ax[1].set_xlabel("training time $t$")
    ax[1].set_ylabel("student gains")
    ax[1].legend()
    return ax
