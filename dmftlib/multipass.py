r"""Empirical risk minimization vs online SGD for the linear-field neural-ODE teacher-student model.

The model (the linear-field member of :mod:`dmftlib.neural_ode`, ``K = M = 1``)
------------------------------------------------------------------------------
An input $x\in\mathbb R^N$ is read by one trainable direction, $h(0) = w\cdot x/\sqrt N$,
and carried in depth $\tau\in[0,1]$ by the *linear* controlled field
$dh/d\tau = -h + a(\tau)\,h$, discretised by ``L`` Euler steps with one control
$a_\ell$ per step, so that

.. math::

    \hat y = v\,h(1) = c(a)\,\frac{w\cdot x}{\sqrt N},\qquad
    c(a) = \prod_{\ell=1}^{L}\rho_\ell,\quad \rho_\ell = 1 - \Delta\tau\,(1 - a_\ell),\quad v = 1 .

The controls are initialised equal in depth (``a0``) and then stay equal (their gradients are),
so $c = \rho^L$ with one $\rho$. The teacher is the same network with controls
``a_star`` and a fixed direction $w^*$ ($|w^*|^2 = N$), labels
$y = c^*\,w^*\cdot x/\sqrt N + \sigma\varepsilon$. The student starts from
$|w|^2/N = q_0$, $w\cdot w^*/N = r_0$ (default $w = 0$).

Training (both on the loss $\ell = \tfrac12 (y - \hat y)^2$; gradients by the costate
$\lambda_\ell = \rho_\ell\lambda_{\ell+1}$, $\lambda_L = r = y - \hat y$, as in
:mod:`dmftlib.neural_ode`: $g = \lambda_0 = c\,r$, $\partial H/\partial a_\ell = \lambda_{\ell+1}h_\ell = c\,r\,h(0)/\rho_\ell$):

* **multi-pass** (empirical risk minimisation): full-batch gradient descent on
  $P = \alpha N$ fixed samples, step $\eta$, time $t = k\eta$,

  .. math::

      w \leftarrow w + \eta\,\frac{\sqrt N}{P}\sum_\mu c\,r_\mu x_\mu,\qquad
      a_\ell \leftarrow a_\ell + \eta\,\eta_\theta\,\frac1P\sum_\mu \frac{c\,r_\mu h_\mu(0)}{\rho_\ell} ;

* **online** SGD: one fresh sample per step, $w \leftarrow w + (\eta/\sqrt N)\,c\,r\,x$,
  $a_\ell \leftarrow a_\ell + (\eta_\theta/N)\,c\,r\,h(0)/\rho_\ell$, time $t = \mu/N$
  (so after time $t$ online SGD has used $tN$ samples: its sample budget is $\alpha = t$).

Errors (both views): the population risk $E_{\rm test} = \tfrac12\mathbb E(y - \hat y)^2 =
\tfrac12(c^2Q - 2cc^*R + c^{*2} + \sigma^2)$ (with $Q = |w|^2/N$, $R = w\cdot w^*/N$; the
label noise included, so that it is the expectation of the training loss on a fresh sample) and
the training error $E_{\rm train} = \frac1{2P}\sum_\mu r_\mu^2$.

Three routes to the $N\to\infty$ limit
--------------------------------------------
* :func:`theory`: the two-time DMFT in training time (correlations and responses of the single-site
  processes on the N side and the P side; the gain $c(t)$ is a deterministic order parameter
  fed back from the P side). The discrete-time equations are exact for gradient descent at step
  $\eta$ (no time-discretisation error); solved causally (``method="causal"``, row by row
  in time) or as the textbook damped fixed point of the whole paths (``method="fixed_point"``).
* :func:`spectral_theory`: the same limit by the resolvent route: second moments of $w$ in the
  eigenbasis of $\hat\Sigma = X^\top X/P$, averaged over the Marchenko-Pastur law.
* :func:`online_theory`: the order-parameter ODEs of online SGD ($Q, R, a$).

Simulations: :func:`simulate` (multi-pass GD) and :func:`simulate_online`, batched over seeds.

References: P. Urbani (arXiv:2606.07247) for the controlled-dynamical-system framework;
F. Mignacco, F. Krzakala, P. Urbani, L. Zdeborova (NeurIPS 2020) for the DMFT of multi-pass
(S)GD; M. Celentano, C. Cheng, A. Montanari (2021) for its rigorous version; B. Bordelon and
C. Pehlevan (review) for the linear-model DMFT and its resolvent form.

Examples
--------
>>> th = theory(2.0, sigma=0.5, eta=0.2, t_max=4.0)
>>> [round(float(x), 4) for x in (th.test_error[-1], th.train_error[-1], th.gain[-1])]
[0.2477, 0.1031, 0.7058]
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .core import (ConvergenceError, ReadOnlyArrays, check_budget, check_choice, check_int, check_public,
                   check_real, check_seeds, damped_fixed_point, integrate, mean_sem, project_psd, symmetrize)
from .linear import mp_quadrature
from .plotting import new_figure, plot_theory

__all__ = ["MultipassTheory", "MultipassSimulation", "OnlineTheory", "gain", "theory", "spectral_theory",
           "online_theory", "simulate", "simulate_online", "asymptotic_errors", "plot_learning_curves",
           "plot_budget"]

_CAP = 1e8          # divergence guard on the errors


# ----------------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MultipassTheory(ReadOnlyArrays):
    r"""The $N\to\infty$ limit of multi-pass gradient descent on $t = k\eta$, ``k = 0..n``.

    ``test_error``, ``train_error`` (n+1,); ``gain`` $c(t)$; ``a`` the control; ``m`` the
    control drive $\frac1P\sum_\mu r_\mu h_\mu(0)$; ``Q``, ``R`` the overlaps. Two-time fields
    (``None`` for :func:`spectral_theory`): ``C`` $C(t,t') = \frac1N\sum_i w_i(t)w_i(t')$
    (symmetric PSD), ``C_r`` $\frac1P\sum_\mu r_\mu(t)r_\mu(t')$, ``R_w`` the N-side response
    (causal, diagonal 1 = $R(t^+,t)$), ``R_r`` the regular part of the P-side response
    (causal, diagonal its equal-time limit $-c(t)^2/\alpha$). Diagnostics: ``residuals``,
    ``n_iter``, ``converged``, ``diverged``, ``min_eigenvalue`` (of ``C`` before projection; 0 for
    :func:`spectral_theory`), ``wall_time``.
    """

    t: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    gain: np.ndarray
    a: np.ndarray
    m: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    C: np.ndarray | None
    C_r: np.ndarray | None
    R_w: np.ndarray | None
    R_r: np.ndarray | None
    alpha: float
    sigma: float
    eta: float
    eta_theta: float
    residuals: np.ndarray
    n_iter: int
    converged: bool
    diverged: bool
    min_eigenvalue: float
    wall_time: float


@dataclass(frozen=True)
class OnlineTheory(ReadOnlyArrays):
    r"""Online SGD as $N\to\infty$: ``t`` (= samples / N), ``test_error`` (= ``train_error``, the
    expected loss on the next fresh sample), ``gain``, ``a``, ``Q``, ``R``."""

    t: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    gain: np.ndarray
    a: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    sigma: float
    eta: float
    eta_theta: float


@dataclass(frozen=True)
class MultipassSimulation(ReadOnlyArrays):
    r"""Finite-N runs, means over seeds with standard errors (``*_sem``); per-seed curves in
    ``test_error_seeds``, ``train_error_seeds`` (n_seeds, nt). ``P`` is the number of samples
    (0 for online SGD, where ``train_error`` is the loss on the fresh sample averaged over each
    recording window)."""

    t: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    gain: np.ndarray
    test_error_sem: np.ndarray
    train_error_sem: np.ndarray
    gain_sem: np.ndarray
    test_error_seeds: np.ndarray
    train_error_seeds: np.ndarray
    N: int
    P: int
    n_seeds: int
    alpha: float
    sigma: float
    eta: float
    eta_theta: float
    wall_time: float


# ----------------------------------------------------------------------------------------------
# checks and the gain
# ----------------------------------------------------------------------------------------------
def gain(a, L: int = 8):
    r"""The input-output gain $c = (1 - (1 - a)/L)^L$ of the linear field with control ``a`` on ``L`` Euler steps.

    $L\to\infty$ gives $e^{a - 1}$; the default teacher ``a_star = 1`` has $c^* = 1$.

    >>> round(float(gain(0.0, 8)), 4), round(float(gain(1.0, 8)), 4)
    (0.3436, 1.0)
    """
    L = check_int("L", L, low=1, high=10_000)
    a = np.asarray(a, dtype=float)
    if not np.all(np.isfinite(a)):
        raise ValueError("a must be finite")
    rho = 1.0 - (1.0 - a) / L
    if np.any(rho <= 0):
        raise ValueError(f"a must exceed 1 - L = {1 - L}: the Euler factor 1 - (1 - a)/L must stay positive")
    return rho ** L


def _check_model(sigma, eta, eta_theta, L, a0, a_star, q0, r0):
    sigma = check_real("sigma", sigma, low=0.0, high=1e3)
    eta = check_real("eta", eta, low=0.0, high=10.0, low_open=True)
    eta_theta = check_real("eta_theta", eta_theta, low=0.0, high=1e3)
    L = check_int("L", L, low=1, high=10_000)
    a0 = check_real("a0", a0, low=1.0 - L, high=10.0, low_open=True)
    a_star = check_real("a_star", a_star, low=1.0 - L, high=10.0, low_open=True)
    q0 = check_real("q0", q0, low=0.0, high=1e3)
    r0 = check_real("r0", r0, low=-1e3, high=1e3)
    if r0 * r0 > q0 * (1.0 + 1e-12):
        raise ValueError(f"r0 must satisfy r0^2 <= q0 (|w . w*| <= |w||w*|); got r0 = {r0:g}, q0 = {q0:g}")
    return sigma, eta, eta_theta, L, a0, a_star, q0, r0


def _n_steps(t_max, eta, limit=20_000):
    t_max = check_real("t_max", t_max, low=0.0, high=1e6, low_open=True)
    n = int(math.ceil(t_max / eta - 1e-9))
    if n > limit:
        raise ValueError(f"t_max / eta must be at most {limit} steps; got {n} (t_max = {t_max:g}, eta = {eta:g})")
    return t_max, max(n, 1)


def _control_step(a, c, m, eta, eta_theta, L):
    """One gradient step of the (depth-constant) control: a += eta eta_theta c m / rho."""
    rho = 1.0 - (1.0 - a) / L
    a_new = a + eta * eta_theta * c * m / rho
    rho_new = 1.0 - (1.0 - a_new) / L
    if np.any(rho_new <= 0) or not np.all(np.isfinite(a_new)):
        return a_new, np.full(np.shape(a_new), np.inf)
    return a_new, rho_new ** L


# ----------------------------------------------------------------------------------------------
# the two-time DMFT (discrete time, exact for GD at step eta)
# ----------------------------------------------------------------------------------------------
def _dmft_causal(alpha, sigma, eta, eta_theta, L, a0, a_star, q0, r0, n):
    r"""Row-by-row (causal) solution of the DMFT; returns the dict of paths and two-time arrays.

    Operators on the grid k = 0..n: N-side w_{k+1} = w_k + eta c_k [xi_k/alpha - (R_r D w)_k + c* (R_r 1)_k w*] + eta h_k,
    P-side r = R_r (sigma eps 1 - beta), R_r = (I + D G D / alpha)^{-1}, G[k, j] = dw_k/dh_j.
    """
    cs, s2, T = gain(a_star, L), sigma ** 2, 1.0
    n1 = n + 1
    G = np.zeros((n1, n1))        # dw_k / dh_j (h added to the increment, times eta)
    Rr = np.eye(n1)               # P-side response operator (identity = the delta part)
    Cw = np.zeros((n1, n1))       # <w_k w_l>
    Cr = np.zeros((n1, n1))       # <r_k r_l>
    Cb = np.zeros((n1, n1))       # <beta_k beta_l> + sigma^2
    m0, m1 = np.zeros(n1), np.zeros(n1)
    c, a, m = np.empty(n1), np.empty(n1), np.full(n1, np.nan)
    Cws, ry = np.zeros(n1), np.zeros(n1)
    a[0], c[0] = a0, gain(a0, L)
    m0[0] = 1.0
    diverged = False
    for k in range(n1):
        if k > 0:   # N side: row k from rows < k
            j = k - 1
            back = (Rr[j, :k] * c[:k])           # (R_r D)_{j, l}, l <= j
            G[k, :k] = G[j, :k] - eta * c[j] * (back @ G[:k, :k])
            G[k, j] += eta
            m0[k] = m0[j] - eta * c[j] * (back @ m0[:k])
            m1[k] = m1[j] - eta * c[j] * (back @ m1[:k]) + eta * c[j] * cs * Rr[j, :k].sum()
            # P side: R_r[k, :] = delta - (1/alpha) c_k sum_{l<k} G[k, l] c_l R_r[l, :]
            Rr[k, :k] = -(c[k] / alpha) * ((G[k, :k] * c[:k]) @ Rr[:k, :k])
        Cws[k] = r0 * m0[k] + T * m1[k]
        # N-side correlation: mean parts + (1/alpha) (G D C_r D G^T)
        GD = G[k, :k] * c[:k]
        noise = (GD @ Cr[:k, :k]) @ (G[:k + 1, :k] * c[:k]).T / alpha if k > 0 else np.zeros(1)
        Cw[k, :k + 1] = (q0 * m0[k] * m0[:k + 1] + r0 * (m0[k] * m1[:k + 1] + m1[k] * m0[:k + 1])
                         + T * m1[k] * m1[:k + 1] + noise)
        Cw[:k + 1, k] = Cw[k, :k + 1]
        # <beta_k beta_l> + sigma^2, beta = x.(c w - c* w*)/sqrt(N)
        Cb[k, :k + 1] = (c[k] * c[:k + 1] * Cw[k, :k + 1] - cs * c[k] * Cws[k] - cs * c[:k + 1] * Cws[:k + 1]
                         + cs * cs * T + s2)
        Cb[:k + 1, k] = Cb[k, :k + 1]
        v = Rr[k, :k + 1] @ Cb[:k + 1, :k + 1]
        Cr[k, :k + 1] = v @ Rr[:k + 1, :k + 1].T
        Cr[:k + 1, k] = Cr[k, :k + 1]
        # <r_k y>, y = c* h* + sigma eps: <beta_l y> = c*(c_l <w w*>_l - c* T)
        ry[k] = Rr[k, :k + 1] @ (s2 - cs * (c[:k + 1] * Cws[:k + 1] - cs * T))
        m[k] = (ry[k] - Cr[k, k]) / c[k]
        if not (np.isfinite(Cr[k, k]) and Cr[k, k] < _CAP and Cb[k, k] < _CAP and np.isfinite(m[k])):
            diverged = True
            break
        if k < n:
            a[k + 1], c[k + 1] = _control_step(a[k], c[k], m[k], eta, eta_theta, L)
            if not np.isfinite(c[k + 1]):
                diverged = True
                break
    return dict(c=c, a=a, m=m, G=G, Rr=Rr, Cw=Cw, Cr=Cr, Cb=Cb, Cws=Cws, diverged=diverged, k_last=k)


def _dmft_fixed_point(alpha, sigma, eta, eta_theta, L, a0, a_star, q0, r0, n, tol, damping, max_iter):
    r"""The textbook DMFT loop: guess the gain path, R_r and C_r; solve the single-site processes; update; damp."""
    cs, s2, T = gain(a_star, L), sigma ** 2, 1.0
    n1 = n + 1
    E = eta * np.tri(n1, k=-1)            # w_k = w_0 + eta sum_{j<k} (increment)_j
    one = np.ones(n1)

    def single_site(c, Rr, Cr):
        D = np.diag(c)
        Minv = np.eye(n1) + E @ D @ Rr @ D
        G = np.linalg.solve(Minv, E)                                   # N-side response operator
        m0 = np.linalg.solve(Minv, one)
        m1 = cs * (G @ (c * (Rr @ one)))
        Cw = (q0 * np.outer(m0, m0) + r0 * (np.outer(m0, m1) + np.outer(m1, m0)) + T * np.outer(m1, m1)
              + (G * c) @ Cr @ (G * c).T / alpha)
        Cws = r0 * m0 + T * m1
        Cb = c[:, None] * c[None, :] * Cw - cs * np.add.outer(c * Cws, c * Cws) + cs * cs * T + s2
        Rr_new = np.linalg.inv(np.eye(n1) + (c[:, None] * G * c[None, :]) / alpha)
        Cr_new = Rr_new @ Cb @ Rr_new.T
        ry = Rr_new @ (s2 - cs * (c * Cws - cs * T))
        m = (ry - np.diag(Cr_new)) / c
        a, c_new = np.empty(n1), np.empty(n1)
        a[0], c_new[0] = a0, gain(a0, L)
        for k in range(n):
            a[k + 1], c_new[k + 1] = _control_step(a[k], c_new[k], m[k], eta, eta_theta, L)
        return dict(c=c_new, a=a, m=m, G=G, Rr=Rr_new, Cw=Cw, Cr=Cr_new, Cb=Cb, Cws=Cws)

    def F(x):
        c, Rr, Cr = x
        out = single_site(c, Rr, Cr)
        return out["c"], out["Rr"], symmetrize(out["Cr"])

    c0 = np.full(n1, gain(a0, L))
    scale = 1.0 + cs * cs + s2
    res = damped_fixed_point(F, (c0, np.eye(n1), np.full((n1, n1), scale)), damping=damping,
                             tol=tol * (1.0 - damping), max_iter=max_iter, divergence=_CAP)
    c, Rr, Cr = res.x
    out = single_site(c, Rr, Cr)
    out.update(residuals=np.asarray(res.residuals), n_iter=res.n_iter, diverged=False, k_last=n)
    return out


def theory(alpha: float, sigma: float = 0.5, eta: float = 0.2, t_max: float = 20.0, eta_theta: float = 1.0,
           L: int = 8, a0: float = 0.0, a_star: float = 1.0, q0: float = 0.0, r0: float = 0.0,
           method: str = "causal", tol: float = 1e-10, damping: float = 0.3, max_iter: int = 2000) -> MultipassTheory:
    r"""Two-time DMFT of multi-pass gradient descent (module docstring), on $t = k\eta$, ``k = 0..n``.

    Single-site processes ($D = \mathrm{diag}\,c(t_k)$; operators are lower-triangular matrices
    on the grid, $E_{kj} = \eta$ for $j<k$):

    .. math::

        w &= \mathbf 1 w_0 + E D\bigl[\xi/\alpha - R_r D w + c^*(R_r\mathbf 1)w^*\bigr],
             \quad \langle\xi\xi^\top\rangle = \alpha C_r,\\
        r &= R_r(\sigma\varepsilon\mathbf 1 - \beta),\quad
             \langle\beta\beta^\top\rangle = D C D - c^*(D C_{w^*}\mathbf 1^\top + \mathbf 1 C_{w^*}^\top D) + c^{*2},\\
        R_r &= (I + D G D/\alpha)^{-1},\quad G = (I + E D R_r D)^{-1}E,\\
        a_{k+1} &= a_k + \eta\eta_\theta\,c_k m_k/\rho_k,\quad
             m_k = (\langle r_k y\rangle - C_r(t_k,t_k))/c_k .

    ``method="causal"`` fills row $k$ of every array from rows $<k$ (exact, one pass,
    $O(n^3)$); ``method="fixed_point"`` iterates the whole paths $(c, R_r, C_r)$ with
    :func:`dmftlib.core.damped_fixed_point` (damping ``damping``, tolerance ``tol`` on the
    undamped residual, scaled by ``1 - damping``), raising :class:`dmftlib.ConvergenceError` when it
    fails. Memory: about ten $(n+1)^2$ float64 arrays ($n = t_{max}/\eta \le 2000$); the causal
    solver takes about 3 s for $n = 1000$.

    Returns
    -------
    MultipassTheory

    Examples
    --------
    >>> th = theory(0.5, sigma=0.5, eta=0.2, t_max=2.0, method="fixed_point")
    >>> round(float(th.test_error[-1]), 4), th.converged
    (0.4642, True)
    """
    start = time.perf_counter()
    alpha = check_real("alpha", alpha, low=0.0, high=1e4, low_open=True)
    sigma, eta, eta_theta, L, a0, a_star, q0, r0 = _check_model(sigma, eta, eta_theta, L, a0, a_star, q0, r0)
    t_max, n = _n_steps(t_max, eta, limit=2000)
    method = check_choice("method", method, ("causal", "fixed_point"))
    tol = check_real("tol", tol, low=1e-15, high=1.0)
    damping = check_real("damping", damping, low=0.0, high=1.0, high_open=True)
    max_iter = check_int("max_iter", max_iter, low=1, high=100_000)
    if method == "fixed_point":   # each iteration costs a few (n+1)^3 flops
        check_budget("flops ((t_max/eta)^3 x max_iter of the fixed-point loop)", float(n + 1) ** 3 * max_iter,
                     limit=2e10)
    if method == "fixed_point" and n > 400:
        raise ValueError(f"method='fixed_point' is limited to t_max / eta <= 400 steps; got {n} (use 'causal')")
    args = (alpha, sigma, eta, eta_theta, L, a0, a_star, q0, r0, n)
    if method == "causal":
        out = _dmft_causal(*args)
        residuals, n_iter = np.zeros(1), 1
    else:
        out = _dmft_fixed_point(*args, tol, damping, max_iter)
        residuals, n_iter = out["residuals"], out["n_iter"]
    c = out["c"]
    Cw = symmetrize(out["Cw"])
    Cr = symmetrize(out["Cr"])
    diverged = bool(out["diverged"])
    lam_min = float(np.linalg.eigvalsh(Cw).min()) if not diverged else float("nan")
    if not diverged and lam_min < -1e-10 * np.abs(Cw).max():
        Cw = project_psd(Cw)
    test = 0.5 * np.diag(out["Cb"]).copy()
    train = 0.5 * np.diag(Cr).copy()
    Rw = out["G"] / eta
    Rw[np.diag_indices_from(Rw)] = 1.0
    Rr = (out["Rr"] - np.eye(n + 1)) / eta
    Rr[np.diag_indices_from(Rr)] = -c ** 2 / alpha if not diverged else 0.0
    a, m = out["a"].copy(), out["m"].copy()
    Q, R = np.diag(Cw).copy(), out["Cws"].copy()
    if diverged:
        k = out["k_last"]
        for arr in (test, train, c, a, m, Q, R):
            arr[k:] = np.inf
        Cw, Cr, Rw, Rr = (np.where(np.isfinite(x), x, np.inf) for x in (Cw, Cr, Rw, Rr))
    t = eta * np.arange(n + 1)
    return MultipassTheory(t=t, test_error=test, train_error=train, gain=c.copy(), a=a, m=m, Q=Q, R=R,
                           C=Cw, C_r=Cr, R_w=Rw, R_r=Rr, alpha=alpha, sigma=sigma, eta=eta, eta_theta=eta_theta,
                           residuals=np.asarray(residuals, float), n_iter=int(n_iter), converged=not diverged,
                           diverged=diverged, min_eigenvalue=lam_min, wall_time=time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
# the resolvent (spectral) route
# ----------------------------------------------------------------------------------------------
def spectral_theory(alpha: float, sigma: float = 0.5, eta: float = 0.2, t_max: float = 20.0, eta_theta: float = 1.0,
                    L: int = 8, a0: float = 0.0, a_star: float = 1.0, q0: float = 0.0, r0: float = 0.0,
                    n_quad: int = 400, b: float = 1.0) -> MultipassTheory:
    r"""The same limit as :func:`theory` by the resolvent route (a one-time closure over eigenmodes).

    Along an eigenvector of $\hat\Sigma = X^\top X/P$ with eigenvalue $\lambda$, with
    $w^*_\lambda$ and the noise projection $n_\lambda$ (variance $\lambda/\alpha$),
    $w_\lambda\leftarrow(1 - \eta c^2\lambda)w_\lambda + \eta c\,(c^*\lambda w^*_\lambda + \sigma n_\lambda)$.
    The second moments $A = \langle w_\lambda^2\rangle$, $B = \langle w_\lambda w^*_\lambda\rangle$,
    $S = \langle w_\lambda n_\lambda\rangle$ obey closed recursions; every order parameter is
    an integral against the Marchenko-Pastur law (:func:`dmftlib.linear.mp_quadrature`), e.g.
    $m = \int\rho\,(c^*\lambda B + \sigma S - c\lambda A)$. Two-time fields are ``None``.

    ``b < 1``: multi-pass SGD with Bernoulli batches (each sample in the batch with probability
    $b$, gradient divided by $b$, as :func:`dmftlib.sgd.theory`); the batch noise adds
    $\eta^2c^2(1/b - 1)(\lambda/\alpha)\,2E_{\rm train}$ to $A$ at each step (the one-time
    reduction of the SGD DMFT of Mignacco et al. 2020, as in :mod:`dmftlib.sgd`); the control drive
    stays deterministic (its batch fluctuations are $O(P^{-1/2})$).

    >>> sp = spectral_theory(2.0, sigma=0.5, eta=0.2, t_max=4.0)
    >>> round(float(sp.test_error[-1]), 4)
    0.2477
    """
    start = time.perf_counter()
    alpha = check_real("alpha", alpha, low=0.0, high=1e4, low_open=True)
    sigma, eta, eta_theta, L, a0, a_star, q0, r0 = _check_model(sigma, eta, eta_theta, L, a0, a_star, q0, r0)
    t_max, n = _n_steps(t_max, eta)
    n_quad = check_int("n_quad", n_quad, low=8, high=100_000)
    b = check_real("b", b, low=0.0, high=1.0, low_open=True)
    lam, wq = mp_quadrature(alpha, n_quad)
    cs, s2 = gain(a_star, L), sigma ** 2
    A, B, S = np.full_like(lam, q0), np.full_like(lam, r0), np.zeros_like(lam)
    out = {k: np.full(n + 1, np.inf) for k in ("test", "train", "c", "a", "m", "Q", "R")}
    a, c = a0, float(gain(a0, L))
    diverged = False
    for k in range(n + 1):
        Q, R = wq @ A, wq @ B
        yf = wq @ (cs * lam * B + sigma * S)          # (1/P) y . f
        ff = wq @ (lam * A)                          # (1/P) |f|^2, f = X w / sqrt(N)
        vals = dict(test=0.5 * (c * c * Q - 2 * c * cs * R + cs * cs + s2),
                    train=0.5 * (cs * cs + s2 - 2 * c * yf + c * c * ff), c=c, a=a, m=yf - c * ff, Q=Q, R=R)
        if not (abs(vals["test"]) < _CAP and abs(vals["train"]) < _CAP):
            diverged = True
            break
        for key, val in vals.items():
            out[key][k] = val
        if k == n:
            break
        p = 1.0 - eta * c * c * lam
        ws = eta * c * (cs * lam * B + sigma * S)
        ss = (eta * c) ** 2 * (cs * cs * lam ** 2 + s2 * lam / alpha + (1.0 / b - 1.0) * lam / alpha * 2 * vals["train"])
        A, B, S = (p * p * A + 2 * p * ws + ss, p * B + eta * c * cs * lam, p * S + eta * c * sigma * lam / alpha)
        a, c = _control_step(a, c, vals["m"], eta, eta_theta, L)
        if not np.isfinite(c):
            diverged = True
            break
    t = eta * np.arange(n + 1)
    return MultipassTheory(t=t, test_error=out["test"], train_error=out["train"], gain=out["c"], a=out["a"],
                           m=out["m"], Q=out["Q"], R=out["R"], C=None, C_r=None, R_w=None, R_r=None, alpha=alpha,
                           sigma=sigma, eta=eta, eta_theta=eta_theta, residuals=np.zeros(1), n_iter=1,
                           converged=not diverged, diverged=diverged, min_eigenvalue=0.0,
                           wall_time=time.perf_counter() - start)


def asymptotic_errors(alpha: float, sigma: float = 0.5):
    r"""Long-time limit of multi-pass training for $\alpha > 1$ (least squares, any gain path that converges).

    .. math::

        E_{\rm test}(\infty) = \frac{\sigma^2}2\,\frac{\alpha}{\alpha - 1},\qquad
        E_{\rm train}(\infty) = \frac{\sigma^2}2\,\Bigl(1 - \frac1\alpha\Bigr).

    Returns ``(test, train)``.

    >>> asymptotic_errors(2.0, 0.5)
    (0.25, 0.0625)
    """
    alpha = check_real("alpha", alpha, low=1.0, high=1e6, low_open=True)
    sigma = check_real("sigma", sigma, low=0.0, high=1e3)
    s2 = sigma ** 2
    return 0.5 * s2 * alpha / (alpha - 1.0), 0.5 * s2 * (1.0 - 1.0 / alpha)


# ----------------------------------------------------------------------------------------------
# online SGD: order-parameter ODEs
# ----------------------------------------------------------------------------------------------
def online_theory(sigma: float = 0.5, eta: float = 0.2, t_max: float = 20.0, eta_theta: float = 1.0, L: int = 8,
                  a0: float = 0.0, a_star: float = 1.0, q0: float = 0.0, r0: float = 0.0,
                  n_t: int = 201) -> OnlineTheory:
    r"""Online SGD as $N\to\infty$ (training time $t = \mu/N$ = samples used / N).

    With $r = c^*h^* + \sigma\zeta - c\,h$, $\langle rh\rangle = c^*R - cQ$,
    $\langle rh^*\rangle = c^* - cR$, $2E = \langle r^2\rangle = c^2Q - 2cc^*R + c^{*2} + \sigma^2$:

    .. math::

        \dot Q = 2\eta c\langle rh\rangle + \eta^2c^2\langle r^2\rangle,\qquad
        \dot R = \eta c\langle rh^*\rangle,\qquad \dot a = \eta_\theta\,c\,\langle rh\rangle/\rho .

    Integrated by RK4 (:func:`dmftlib.core.integrate`) on ``n_t`` points.

    >>> on = online_theory(sigma=0.5, eta=0.2, t_max=4.0, n_t=5)
    >>> round(float(on.test_error[-1]), 4)
    0.5114
    """
    sigma, eta, eta_theta, L, a0, a_star, q0, r0 = _check_model(sigma, eta, eta_theta, L, a0, a_star, q0, r0)
    t_max = check_real("t_max", t_max, low=0.0, high=1e4, low_open=True)
    n_t = check_int("n_t", n_t, low=2, high=100_000)
    cs, s2 = float(gain(a_star, L)), sigma ** 2

    def f(_, y):
        Q, R, a = y
        rho = 1.0 - (1.0 - a) / L
        if rho <= 0:
            return np.full(3, np.nan)
        c = rho ** L
        rh = cs * R - c * Q
        rr = c * c * Q - 2 * c * cs * R + cs * cs + s2
        return np.array([2 * eta * c * rh + eta ** 2 * c * c * rr, eta * c * (cs - c * R), eta_theta * c * rh / rho])

    t = np.linspace(0.0, t_max, n_t)
    substeps = max(1, int(math.ceil((t[1] - t[0]) / 0.02)))
    check_budget("RK4 steps", float(n_t) * substeps, limit=5e6)
    try:
        y = integrate(f, np.array([q0, r0, a0]), t, method="rk4", substeps=substeps)
    except ValueError as err:
        raise ConvergenceError(f"the online order-parameter ODEs blew up ({err}); reduce eta", [np.inf]) from None
    Q, R, a = y[:, 0], y[:, 1], y[:, 2]
    c = gain(a, L)
    test = 0.5 * (c * c * Q - 2 * c * cs * R + cs * cs + s2)
    return OnlineTheory(t=t, test_error=test, train_error=test.copy(), gain=c, a=a, Q=Q, R=R, sigma=sigma, eta=eta,
                        eta_theta=eta_theta)


# ----------------------------------------------------------------------------------------------
# simulations (seeds batched as the leading dimension)
# ----------------------------------------------------------------------------------------------
def _teacher_student(N, seeds, q0, r0, extra=None):
    """w* with |w*|^2 = N and w0 with the overlaps (q0, r0) exactly, per seed (drawing only loops)."""
    S = len(seeds)
    ws, w0 = np.empty((S, N)), np.empty((S, N))
    extras = []
    for i, s in enumerate(seeds):                 # drawing only: one generator per seed
        rng = np.random.default_rng([int(s), 0xE5])
        z = rng.standard_normal((2, N))
        u = z[0] / np.linalg.norm(z[0])
        v = z[1] - (z[1] @ u) * u
        v /= np.linalg.norm(v)
        ws[i] = math.sqrt(N) * u
        w0[i] = math.sqrt(N) * (r0 * u + math.sqrt(max(q0 - r0 * r0, 0.0)) * v)
        if extra is not None:
            extras.append(extra(rng))
    return ws, w0, extras


def _result(t, test, train, c, N, P, alpha, sigma, eta, eta_theta, start):
    if not (np.all(np.isfinite(test)) and np.all(np.isfinite(train)) and np.all(np.isfinite(c))):
        raise FloatingPointError("the simulation overflowed (step size beyond the stability limit?); reduce eta or t_max")
    te, te_s = mean_sem(test, axis=0)
    tr, tr_s = mean_sem(train, axis=0)
    cm, c_s = mean_sem(c, axis=0)
    return MultipassSimulation(t=t, test_error=te, train_error=tr, gain=cm, test_error_sem=te_s,
                               train_error_sem=tr_s, gain_sem=c_s, test_error_seeds=test, train_error_seeds=train,
                               N=N, P=P, n_seeds=test.shape[0], alpha=alpha, sigma=sigma, eta=eta,
                               eta_theta=eta_theta, wall_time=time.perf_counter() - start)


def simulate(N: int, alpha: float, sigma: float = 0.5, eta: float = 0.2, t_max: float = 20.0, seeds=4,
             eta_theta: float = 1.0, L: int = 8, a0: float = 0.0, a_star: float = 1.0, q0: float = 0.0,
             r0: float = 0.0, every: int = 1, max_bytes: float = 1.5e8, b: float = 1.0) -> MultipassSimulation:
    r"""Multi-pass gradient descent at finite $N$ on $P = \mathrm{round}(\alpha N)$ samples, seeds batched.

    Per seed: $X\in\mathbb R^{P\times N}$ Gaussian, $\varepsilon\sim\mathcal N(0, I_P)$,
    $w^*$ ($|w^*|^2 = N$), $w_0$ (overlaps ``q0``, ``r0``). Then, with the seeds as
    the leading axis (``matmul``),

    .. math::

        &f = Xw/\sqrt N,\quad r = y - c f,\\
        &w \leftarrow w + \eta c\,\frac{\sqrt N}{P}X^\top r,\quad
        a \leftarrow a + \eta\eta_\theta\,c\,\overline{rf}/\rho .

    The test error is the exact population risk of the current weights (module docstring), the
    train error $\overline{r^2}/2$; both recorded every ``every`` steps (times $k\eta$).
    ``b < 1``: multi-pass SGD, each sample in the step's batch with probability ``b`` (independently
    across samples, steps and seeds) and $r$ replaced by $s\odot r/b$ in both updates.
    Memory $8\,n_{seeds}PN$ bytes, in groups of seeds below ``max_bytes``.

    >>> sim = simulate(100, 2.0, t_max=1.0, seeds=3)
    >>> sim.P, sim.n_seeds, round(float(sim.test_error[0]), 3)
    (200, 3, 0.625)
    """
    start = time.perf_counter()
    N = check_int("N", N, low=2, high=100_000)
    alpha = check_real("alpha", alpha, low=0.0, high=1e3, low_open=True)
    sigma, eta, eta_theta, L, a0, a_star, q0, r0 = _check_model(sigma, eta, eta_theta, L, a0, a_star, q0, r0)
    t_max, n = _n_steps(t_max, eta)
    seeds = check_seeds("seeds", seeds, max_seeds=10_000)
    every = check_int("every", every, low=1, high=100_000)
    max_bytes = check_real("max_bytes", max_bytes, low=1e5, high=1e10)
    b = check_real("b", b, low=0.0, high=1.0, low_open=True)
    P = max(1, int(round(alpha * N)))
    check_budget("flops (steps x seeds x P x N)", 4.0 * (n + 1) * len(seeds) * P * N, limit=2e11)
    check_budget("doubles (one seed's data)", float(P) * N, limit=max_bytes / 8.0)
    cs, s2, sqN = float(gain(a_star, L)), sigma ** 2, math.sqrt(N)
    rec = np.arange(0, n + 1, every)
    group = max(1, int(max_bytes // (8.0 * P * N)))
    tests, trains, gains = [], [], []
    for g0 in range(0, len(seeds), group):        # memory groups; each one vectorised over seeds
        sg = seeds[g0:g0 + group]
        ws, w, data = _teacher_student(N, sg, q0, r0,
                                       extra=lambda rng: (rng.standard_normal((P, N)), rng.standard_normal(P)))
        X = np.stack([d[0] for d in data])
        y = cs * (X @ ws[:, :, None])[..., 0] / sqN + sigma * np.stack([d[1] for d in data])
        Xt = np.swapaxes(X, 1, 2)
        S = len(sg)
        a, c = np.full(S, a0), np.full(S, float(gain(a0, L)))
        te, tr, cc = (np.empty((S, rec.size)) for _ in range(3))
        sel_rng = np.random.default_rng([*sg, 0x5D])   # batch selection of the whole group
        j = 0
        for k in range(n + 1):
            f = (X @ w[:, :, None])[..., 0] / sqN
            r = y - c[:, None] * f
            if k % every == 0:
                Q = np.sum(w * w, axis=1) / N
                R = np.sum(w * ws, axis=1) / N
                te[:, j] = 0.5 * (c * c * Q - 2 * c * cs * R + cs * cs + s2)
                tr[:, j] = 0.5 * np.mean(r * r, axis=1)
                cc[:, j] = c
                j += 1
            if k == n:
                break
            if b < 1.0:
                r = r * (sel_rng.random((S, P)) < b) / b
            m = np.mean(r * f, axis=1)
            w = w + (eta * c * sqN / P)[:, None] * (Xt @ r[:, :, None])[..., 0]
            a, c = _control_step(a, c, m, eta, eta_theta, L)
            if not np.all(np.isfinite(c)) or not np.all(np.isfinite(w)):
                raise FloatingPointError("the simulation overflowed (step size beyond the stability limit?); "
                                         "reduce eta or t_max")
        tests.append(te)
        trains.append(tr)
        gains.append(cc)
    return _result(eta * rec, np.concatenate(tests), np.concatenate(trains), np.concatenate(gains), N, P, alpha,
                   sigma, eta, eta_theta, start)


def simulate_online(N: int, sigma: float = 0.5, eta: float = 0.2, t_max: float = 20.0, seeds=4,
                    eta_theta: float = 1.0, L: int = 8, a0: float = 0.0, a_star: float = 1.0, q0: float = 0.0,
                    r0: float = 0.0, n_t: int = 41) -> MultipassSimulation:
    r"""Online SGD at finite $N$: $\mathrm{round}(t_{max}N)$ fresh samples, one per step, seeds batched.

    $w\leftarrow w + (\eta/\sqrt N)\,c\,r\,x$, $a\leftarrow a + (\eta_\theta/N)\,c\,r\,h(0)/\rho$.
    ``test_error`` is the exact population risk at ``n_t`` equally spaced times; ``train_error`` is
    the loss on the fresh samples averaged over the preceding window (equal to it in expectation).

    >>> sim = simulate_online(100, t_max=1.0, seeds=3, n_t=3)
    >>> sim.P, round(float(sim.test_error[0]), 3)
    (0, 0.625)
    """
    start = time.perf_counter()
    N = check_int("N", N, low=2, high=1_000_000)
    sigma, eta, eta_theta, L, a0, a_star, q0, r0 = _check_model(sigma, eta, eta_theta, L, a0, a_star, q0, r0)
    t_max = check_real("t_max", t_max, low=0.0, high=1e4, low_open=True)
    seeds = check_seeds("seeds", seeds, max_seeds=10_000)
    n_t = check_int("n_t", n_t, low=2, high=100_000)
    n = max(1, int(round(t_max * N)))
    check_budget("flops (samples x seeds x N)", 6.0 * n * len(seeds) * N, limit=2e10)
    rec = np.unique(np.round(np.linspace(0, n, n_t)).astype(int))
    S = len(seeds)
    ws, w, _ = _teacher_student(N, seeds, q0, r0)
    rng = np.random.default_rng([*seeds, 0x0E])      # the fresh samples of all seeds
    cs, s2, sqN = float(gain(a_star, L)), sigma ** 2, math.sqrt(N)
    a, c = np.full(S, a0), np.full(S, float(gain(a0, L)))
    te, tr, cc = (np.empty((S, rec.size)) for _ in range(3))
    loss_sum, count, j = np.zeros(S), 0, 0
    for k in range(n + 1):
        if k == rec[j]:
            Q = np.sum(w * w, axis=1) / N
            R = np.sum(w * ws, axis=1) / N
            te[:, j] = 0.5 * (c * c * Q - 2 * c * cs * R + cs * cs + s2)
            tr[:, j] = loss_sum / count if count else te[:, j]
            cc[:, j] = c
            loss_sum, count, j = np.zeros(S), 0, j + 1
            if j == rec.size:
                break
        x = rng.standard_normal((S, N))
        h = np.sum(x * w, axis=1) / sqN
        r = cs * np.sum(x * ws, axis=1) / sqN + sigma * rng.standard_normal(S) - c * h
        loss_sum += 0.5 * r * r
        count += 1
        w = w + (eta * c * r / sqN)[:, None] * x
        rho = 1.0 - (1.0 - a) / L
        a = a + eta_theta * c * r * h / (N * rho)
        rho = 1.0 - (1.0 - a) / L
        if np.any(rho <= 0) or not np.all(np.isfinite(w)):
            raise FloatingPointError("online SGD diverged (the Euler factor of the controls or the weights blew up); "
                                     "reduce eta or eta_theta")
        c = rho ** L
    return _result(rec / N, te, tr, cc, N, 0, float("inf"), sigma, eta, eta_theta, start)


# ----------------------------------------------------------------------------------------------
# plots
# ----------------------------------------------------------------------------------------------
def plot_learning_curves(alpha: float = 2.0, sigma: float = 0.5, eta: float = 0.2, t_max: float = 30.0,
                         eta_theta: float = 1.0, online_eta: float = 0.5, ax=None):
    r"""Multi-pass train and test errors against training time (log axis), with online SGD at the same
    sample budget: online SGD has used $\alpha N$ samples at $t = \alpha$ (marked)."""
    alpha = check_real("alpha", alpha, low=0.05, high=20.0)
    online_eta = check_real("online_eta", online_eta, low=0.0, high=5.0, low_open=True)
    th = theory(alpha, sigma, eta, t_max, eta_theta)
    on = online_theory(sigma, online_eta, alpha, eta_theta, n_t=101)
    if ax is None:
        _, ax = new_figure()
    plot_theory(ax, th.t[1:], th.test_error[1:], label=f"multi-pass test, α = {alpha:g}")
    ax.plot(th.t[1:], th.train_error[1:], "--", color="C1", lw=1.8, label="multi-pass train")
    ax.plot(on.t[1:], on.test_error[1:], ":", color="k", lw=1.5, label=f"online SGD (η = {online_eta:g}), t = samples / N")
    ax.plot([alpha], [on.test_error[-1]], "k*", ms=11, label="online, budget αN used up")
    ax.set_xscale("log")
    ax.set_xlabel("training time t")
    ax.set_ylabel("error (half mean square)")
    ax.legend(fontsize=8)
    return ax


def plot_budget(alphas, sigma: float = 0.5, eta: float = 0.2, t_max: float = 40.0, etas=(0.5, 1.5),
                eta_theta: float = 1.0, ax=None):
    r"""Test error against the sample budget $\alpha = P/N$ (theory lines): multi-pass GD at
    ``t_max`` and at its best (early-stopped) time (:func:`spectral_theory`), and online SGD after
    $\alpha N$ samples for each learning rate in ``etas`` (:func:`online_theory`)."""
    from .core import check_array
    alphas = check_array("alphas", alphas, ndim=1, low=0.05, high=20.0)
    etas = check_array("etas", etas, ndim=1, low=1e-3, high=5.0)
    if alphas.size == 0 or etas.size == 0 or etas.size > 8:
        raise ValueError("alphas must not be empty and etas must hold 1 to 8 learning rates")
    final, best = [], []
    for al in alphas:
        th = spectral_theory(float(al), sigma, eta, t_max, eta_theta)
        final.append(th.test_error[-1])
        best.append(th.test_error.min())
    if ax is None:
        _, ax = new_figure()
    plot_theory(ax, alphas, final, label=f"multi-pass GD, t = {t_max:g}", color="C0")
    ax.plot(alphas, best, "--", color="C0", lw=1.8, label="multi-pass GD, early stopped")
    for i, eo in enumerate(etas):
        on = online_theory(sigma, float(eo), float(alphas.max()), eta_theta, n_t=401)
        ax.plot(on.t[1:], on.test_error[1:], ":", color=f"C{i + 2}", lw=1.8, label=f"online SGD, η = {eo:g}")
    ax.axhline(0.5 * sigma ** 2, color="0.6", lw=0.8, label="noise floor σ²/2")
    ax.set_xlabel("samples / N  (α)")
    ax.set_ylabel("test error")
    ax.legend(fontsize=8)
    return ax


check_public(globals())
