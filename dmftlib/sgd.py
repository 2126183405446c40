r"""Stochastic gradient descent on high-dimensional linear regression: learning curves and stability.

The model (same conventions as :mod:`dmftlib.linear`)
----------------------------------------------------
Inputs $x_\mu\sim\mathcal N(0, I_N)$, $\mu = 1..P$, $\alpha = P/N$; teacher
$y_\mu = w^*\cdot x_\mu/\sqrt N + \sigma\varepsilon_\mu$ ($w^*\sim\mathcal N(0, I_N)$,
$\varepsilon_\mu\sim\mathcal N(0,1)$); student $f_\mu = w\cdot x_\mu/\sqrt N$, $w_0 = 0$.
Residuals $r_\mu = y_\mu - f_\mu$, weight error $v = w - w^*$, test error
$E_g = |v|^2/N$, train error $E_t = \frac1P\sum_\mu r_\mu^2$.

Multi-pass mini-batch SGD with *Bernoulli batches* (Mignacco et al. 2020): at step $k$ each
sample enters the batch independently with probability $b = B/P$ (selection variables
$s_\mu(k)\in\{0,1\}$, mean batch size $B$), and

.. math::

    w_{k+1} = w_k + \eta\,\frac{N}{bP}\sum_\mu s_\mu(k)\,r_\mu(k)\,\frac{x_\mu}{\sqrt N}
            = w_k - \eta\,\frac{N}{B}\sum_{\mu\in\text{batch}}\nabla_w\tfrac12 r_\mu^2 .

Time is $t = k\eta$: since $\mathbb E[s_\mu]/b = 1$ the mean step is the gradient-flow step
$-\eta N\nabla L$, and $\eta\to0$ at fixed $b$ gives the gradient flow of
:mod:`dmftlib.linear`; $b = 1$ is full-batch gradient descent.

Views
-----
* :func:`theory`: the $N\to\infty$ mean learning curves, a recursion over steps for the second
  moments of the weight error in the eigenbasis of $\hat\Sigma = X^\top X/P$, averaged over the
  Marchenko-Pastur law; the batch noise enters through a term $\eta^2(1/b-1)(\lambda/\alpha)E_t$
  per step (the one-time reduction of the DMFT of Mignacco et al.; the Volterra equation of
  Paquette et al. 2021 in the continuum).
* :func:`simulate`: finite $N$, vectorised over seeds.
* :func:`stability_threshold`: the step size where the theory's learning curves blow up.
* Online SGD (fresh samples at each step): :func:`online_theory` (closed ODE),
  :func:`online_recursion` (exact finite-$N$ mean), :func:`simulate_online`.

References: F. Mignacco, F. Krzakala, P. Urbani, L. Zdeborova (NeurIPS 2020); B. Bordelon and
C. Pehlevan (review, and NeurIPS 2021 "Learning curves for SGD on structured features");
C. Paquette, K. Lee, F. Pedregosa, E. Paquette (COLT 2021); D. Saad and S. Solla (1995).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .core import check_int, check_real, mean_sem
from .core import rmt
from .linear import mp_quadrature
from .core import ReadOnlyArrays, check_seed, check_seeds, check_public

__all__ = [
    "SGDResult", "SGDSimulation", "theory", "simulate", "stability_threshold", "stationary_errors",
    "SGDDMFT", "dmft", "FiniteSizeScan", "finite_size_scan", "online_theory", "online_recursion", "simulate_online",
    "plot_learning_curves", "plot_stability", "plot_online",
]

_CAP = 1e8   # divergence guard: a learning curve above this value is declared divergent


# ----------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SGDResult(ReadOnlyArrays):
    """Mean learning curves in the limit $N\\to\\infty$.

    Attributes
    ----------
    t, test_error, train_error : numpy.ndarray
        Times $t = k\\eta$ and $E_g$, $E_t$ there. After a divergence (``diverged``)
        the errors are ``inf``.
    alpha, sigma2, eta, b : float
        Parameters (``alpha = inf`` for online SGD, where ``b`` is ``B/N``).
    diverged : bool
        True if the curve exceeded ``1e8`` (step size beyond the stability limit).
    """

    t: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    alpha: float
    sigma2: float
    eta: float
    b: float
    diverged: bool


@dataclass(frozen=True)
class SGDSimulation(ReadOnlyArrays):
    """Finite-N learning curves: mean over seeds and standard error (``*_sem``), with ``N``, ``P``, ``B``, ``n_seeds``.

    ``B`` is the mean batch size $bP$ (multi-pass) or the batch size (online, ``P = 0``).
    """

    t: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    test_error_sem: np.ndarray
    train_error_sem: np.ndarray
    alpha: float
    sigma2: float
    eta: float
    b: float
    N: int
    P: int
    B: float
    n_seeds: int


def _readonly(*arrays):
    for a in arrays:
        a.setflags(write=False)


def _check(alpha, sigma2, eta, b, t_max):
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    eta = check_real("eta", eta, low=0.0, low_open=True)
    b = check_real("b", b, low=0.0, high=1.0, low_open=True)
    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    return alpha, sigma2, eta, b, t_max


def _n_steps(t_max, eta):
    n = int(math.ceil(t_max / eta - 1e-9))
    if n > 200_000:
        raise ValueError(f"t_max / eta must be at most 200000 steps; got {n}")
    return max(n, 1)


# ----------------------------------------------------------------------------------------------
# Multi-pass SGD: theory
# ----------------------------------------------------------------------------------------------
def theory(alpha: float, sigma2: float, eta: float, b: float, t_max: float, n_quad: int = 600) -> SGDResult:
    r"""Mean learning curves of multi-pass Bernoulli-batch SGD as $N\to\infty$.

    For each eigenvalue $\lambda$ of $\hat\Sigma$ (Marchenko-Pastur law $\rho$, atom
    included) let $a_k(\lambda)$ be the mean square of the weight error along the eigenvector
    and $d_k(\lambda)$ its correlation with the label-noise drive, $a_0 = 1$, $d_0 = 0$:

    .. math::

        a_{k+1} &= (1-\eta\lambda)^2a_k + 2\eta(1-\eta\lambda)d_k
                  + \eta^2\frac{\lambda}{\alpha}\Bigl[\sigma^2 + \Bigl(\frac1b-1\Bigr)E_t(k)\Bigr],\\
        d_{k+1} &= (1-\eta\lambda)d_k + \eta\sigma^2\frac{\lambda}{\alpha},\\
        E_g(k) &= \int\!\rho\,a_k,\qquad E_t(k) = \sigma^2 - 2\!\int\!\rho\,d_k + \int\!\rho\,\lambda a_k .

    The term $(1/b-1)E_t$ is the batch noise; $b = 1$ is exact gradient descent and
    $\eta\to0$ gives :func:`dmftlib.linear.gradient_flow_theory` at $t = k\eta$.
    Cost $O(n_{steps}\,n_{quad})$, memory $O(n_{steps} + n_{quad})$.

    Parameters
    ----------
    alpha : float > 0
    sigma2 : float >= 0
    eta : float > 0
        Step size (time step of $t = k\eta$).
    b : float in (0, 1]
        Batch fraction $B/P$.
    t_max : float > 0
        Final time; ``ceil(t_max / eta)`` steps.
    n_quad : int
        Quadrature nodes on the Marchenko-Pastur bulk.

    Examples
    --------
    >>> th = theory(2.0, 0.25, eta=0.2, b=0.1, t_max=20.0)
    >>> round(float(th.test_error[0]), 4), round(float(th.test_error[-1]), 4), th.diverged
    (1.0, 0.374, False)
    """
    alpha, sigma2, eta, b, t_max = _check(alpha, sigma2, eta, b, t_max)
    n_quad = check_int("n_quad", n_quad, low=8)
    lam, w = mp_quadrature(alpha, check_int("n_quad", n_quad, low=8, high=200_000))
    n = _n_steps(t_max, eta)
    q = lam / alpha
    damp = 1.0 - eta * lam
    noise = (1.0 / b - 1.0)
    a = np.ones_like(lam)
    d = np.zeros_like(lam)
    eg = np.full(n + 1, np.inf)
    et = np.full(n + 1, np.inf)
    diverged = False
    for k in range(n + 1):
        eg[k] = w @ a
        et[k] = sigma2 - 2.0 * (w @ d) + w @ (lam * a)
        if not (eg[k] < _CAP and et[k] < _CAP):
            eg[k:] = np.inf
            et[k:] = np.inf
            diverged = True
            break
        if k == n:
            break
        a = damp**2 * a + 2.0 * eta * damp * d + eta**2 * q * (sigma2 + noise * et[k])
        d = damp * d + eta * sigma2 * q
    t = eta * np.arange(n + 1)
    _readonly(t, eg, et)
    return SGDResult(t=t, test_error=eg, train_error=et, alpha=alpha, sigma2=sigma2, eta=eta, b=b,
                     diverged=diverged)


def stability_threshold(alpha: float, b: float, n_quad: int = 2000) -> float:
    r"""Largest step size $\eta_c$ for which the mean learning curves of :func:`theory` stay bounded.

    A bounded solution of the recursion needs $|1-\eta\lambda_+|<1$ (the GD limit
    $\eta<2/\lambda_+$) and a feedback gain of the batch noise below one:

    .. math::

        \frac{\eta}{\alpha}\Bigl(\frac1b-1\Bigr)\int\!\rho(\lambda)\,\frac{\lambda}{2-\eta\lambda}\,d\lambda = 1 .

    For $\eta\lambda_+\ll 2$ this gives $\eta_c\simeq 2\alpha b/(1-b) = 2B/(N(1-b))$,
    the $2B/N$ of the GD-stability chapter; whichever of the two limits
    is smaller binds (:func:`dmftlib.stability.sgd_threshold_theory`).

    Examples
    --------
    >>> round(stability_threshold(2.0, 0.1), 4), round(stability_threshold(2.0, 1.0), 4)
    (0.3273, 0.6863)
    """
    from scipy.optimize import brentq

    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    b = check_real("b", b, low=0.0, high=1.0, low_open=True)
    lam, w = mp_quadrature(alpha, check_int("n_quad", n_quad, low=8, high=200_000))
    eta_gd = 2.0 / rmt.mp_edges(alpha)[1]
    if b == 1.0:
        return float(eta_gd)
    c = (1.0 / b - 1.0) / alpha
    gain = lambda eta: c * eta * float(w @ (lam / (2.0 - eta * lam))) - 1.0
    hi = eta_gd * (1.0 - 1e-12)
    if gain(hi) < 0:   # weak batch noise: the gain stays below one up to the GD limit, which binds
        return float(eta_gd)
    return float(brentq(gain, 1e-12, hi, xtol=1e-12))


def stationary_errors(alpha: float, sigma2: float, eta: float, b: float, n_quad: int = 2000):
    r"""Long-time limits $(E_g(\infty), E_t(\infty))$ of :func:`theory` for $\eta<\eta_c$ ($\alpha\neq1$).

    The fixed point of the recursion is $d_\infty = \sigma^2/\alpha$ and
    $a_\infty(\lambda) = \frac{\sigma^2}{\alpha\lambda} + \frac{\eta(1/b-1)E_t(\infty)}{\alpha(2-\eta\lambda)}$ on the bulk
    ($a = 1$ on the atom at zero), so that, with the gain
    $G = \frac{\eta}{\alpha}(\frac1b-1)\int\rho\frac{\lambda}{2-\eta\lambda}$ of :func:`stability_threshold`,

    .. math::

        E_t(\infty) &= \frac{E_t^{GF}(\infty)}{1-G},\\
        E_g(\infty) &= E_g^{GF}(\infty) + \frac{\eta}{\alpha}\Bigl(\frac1b-1\Bigr)E_t(\infty)\int_{\lambda>0}\!\rho\,\frac{d\lambda}{2-\eta\lambda},

    where $E^{GF}(\infty)$ are the gradient-flow limits (:func:`dmftlib.linear.long_time_errors`).
    For $\alpha<1$, $E_t^{GF}(\infty) = 0$: the batch noise switches off at interpolation.

    Examples
    --------
    >>> [round(x, 4) for x in stationary_errors(2.0, 0.25, 0.2, 0.1)]
    [0.3848, 0.2677]
    """
    from .linear import long_time_errors

    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    eta = check_real("eta", eta, low=0.0, low_open=True)
    b = check_real("b", b, low=0.0, high=1.0, low_open=True)
    if alpha == 1.0:
        raise ValueError("alpha must differ from 1 (the gradient-flow limit diverges there); got 1")
    eta_c = stability_threshold(alpha, b, n_quad)
    if eta >= eta_c:
        raise ValueError(f"eta must be below the stability limit eta_c = {eta_c:.6g}; got {eta:g}")
    lam, w = mp_quadrature(alpha, check_int("n_quad", n_quad, low=8, high=200_000))
    bulk = lam > 0
    c = eta * (1.0 / b - 1.0) / alpha
    G = c * float(w[bulk] @ (lam[bulk] / (2.0 - eta * lam[bulk])))
    eg_gf, et_gf = long_time_errors(alpha, sigma2)
    et = et_gf / (1.0 - G)
    eg = eg_gf + c * et * float(w[bulk] @ (1.0 / (2.0 - eta * lam[bulk])))
    return float(eg), float(et)


# ----------------------------------------------------------------------------------------------
# Multi-pass SGD: the two-time DMFT with selection variables
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SGDDMFT(ReadOnlyArrays):
    r"""Solution of the discrete-time DMFT of multi-pass SGD on the grid $t_k = k\eta$, ``k = 0..n``.

    Attributes
    ----------
    t : (n+1,) array
    C : (n+1, n+1) array
        Weight correlation $C(k,k') = \langle v(k)v(k')\rangle$, symmetric PSD; $E_g = \operatorname{diag} C$.
    C_r : (n+1, n+1) array
        Residual correlation $\langle r(k)r(k')\rangle$; $E_t = \operatorname{diag} C_r$.
    R : (n+1, n+1) array
        Weight response $R(k,j) = \partial v(k)/\partial v(j)$, lower triangular, unit diagonal (causal).
    R_r : (n+1, n+1) array
        Selection-averaged residual response $\bar\rho(k,j)$, lower triangular, unit diagonal.
    test_error, train_error : (n+1,) arrays
    residuals : array
        Undamped residual of the fixed-point iteration at each iteration.
    n_iter : int
    converged : bool
    min_eigenvalue : float
        Smallest eigenvalue of ``C`` before the PSD projection.
    n_paths : int
        Number of sampled selection paths.
    wall_time : float
    """

    t: np.ndarray
    C: np.ndarray
    C_r: np.ndarray
    R: np.ndarray
    R_r: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    residuals: np.ndarray
    n_iter: int
    converged: bool
    min_eigenvalue: float
    n_paths: int
    wall_time: float


def _weight_response(rho, eta):
    """``R(j,j) = 1``, ``R(k+1,j) = (1-eta) R(k,j) - eta sum_{j<=k'<k} rho(k,k') R(k',j)`` (loop over k, vectorised over j)."""
    n1 = rho.shape[0]
    R = np.zeros((n1, n1))
    R[0, 0] = 1.0
    for k in range(n1 - 1):
        R[k + 1, :k + 1] = (1.0 - eta) * R[k, :k + 1] - eta * (rho[k, :k] @ R[:k, :k + 1])
        R[k + 1, k + 1] = 1.0
    return R


def _sample_resolvents(R, sel, eta, alpha):
    r"""``M_s = (I + (eta/alpha) K_s)^{-1}`` with ``K_s(k,k') = R(k,k'+1) s(k')/b`` (k' < k), for every path.

    Forward substitution (unit lower-triangular systems), loop over rows, vectorised over paths.
    """
    n1 = R.shape[0]
    Rshift = np.zeros_like(R)
    Rshift[:, :-1] = R[:, 1:]
    Rshift = np.tril(Rshift, -1)
    K = (eta / alpha) * Rshift[None, :, :] * sel[:, None, :]
    M = np.zeros((sel.shape[0], n1, n1))
    for k in range(n1):
        M[:, k, :] = -np.einsum("pk,pkj->pj", K[:, k, :k], M[:, :k, :])
        M[:, k, k] += 1.0
    return M, Rshift


def dmft(alpha: float, sigma2: float, eta: float, b: float, t_max: float, n_paths: int = 400, seed: int = 0,
         damping: float = 0.0, tol: float = 1e-10, max_iter: int = 300) -> SGDDMFT:
    r"""The two-time DMFT of multi-pass Bernoulli-batch SGD, solved on the step grid by iteration.

    Weight process and sample process (Mignacco et al. 2020, here for the square loss and in discrete time),
    with $\hat s(k) = s(k)/b$, $s(k)\sim\mathrm{Bernoulli}(b)$:

    .. math::

        v(k+1) &= (1-\eta)v(k) - \eta\sum_{k'<k}\bar\rho(k,k')v(k') + \frac\eta\alpha\,\xi(k),\qquad v(0) = -w^*,\\
        r(k) &= \sigma\varepsilon - \beta(k) - \frac\eta\alpha\sum_{k'<k}R(k,k'+1)\,\hat s(k')\,r(k'),\\
        \langle\beta\beta\rangle &= C,\qquad
        \langle\xi(k)\xi(k')\rangle = \alpha\,\langle\hat s(k)\hat s(k')\,r(k)r(k')\rangle ,

    $R$ the response of $v$, $\bar\rho = \langle\partial r/\partial r\rangle_s$ that of the residual.
    Given $R$, the residual is $r = M_s(\sigma\varepsilon - \beta)$ with
    $M_s = (I + \frac\eta\alpha K_s)^{-1}$; the average over selection paths is a Monte Carlo average over
    ``n_paths`` paths drawn once (``seed``), so the map iterated is deterministic. The later selection of an
    off-diagonal pair and the equal-time $\hat s^2$ are averaged exactly (factors 1 and $1/b$).
    Iterates $(C, \bar\rho)$ with :func:`dmftlib.core.damped_fixed_point` (causal: converges in at most
    n + 1 iterations up to round-off); ``C`` is symmetrised and projected on PSD matrices.
    Memory: about ``3 n_paths (n+1)^2`` floats; cost per iteration $O(n_{paths}n^3)$.
    Monte Carlo error of the selection average: $O(n_{paths}^{-1/2})$.

    Examples
    --------
    >>> res = dmft(2.0, 0.25, 0.2, 1.0, 2.0, n_paths=4)     # b = 1: exact gradient descent
    >>> th = theory(2.0, 0.25, 0.2, 1.0, 2.0)
    >>> bool(np.allclose(res.test_error, th.test_error, atol=1e-8)), res.converged
    (True, True)
    """
    from .core import ConvergenceError, damped_fixed_point, project_psd, symmetrize  # noqa: F401

    alpha, sigma2, eta, b, t_max = _check(alpha, sigma2, eta, b, t_max)
    n_paths = check_int("n_paths", n_paths, low=2)
    seed = check_seed("seed", seed)
    n = _n_steps(t_max, eta)
    if n > 400:
        raise ValueError(f"t_max / eta must be at most 400 steps for the two-time solver; got {n}")
    start = time.perf_counter()
    n1 = n + 1
    rng = np.random.default_rng(seed)
    sel = (rng.random((n_paths, n1)) < b) / b
    lower = np.tril(np.ones((n1, n1)), -1).astype(bool)

    def F(x):
        C, rho = x
        R = _weight_response(rho, eta)
        M, Rshift = _sample_resolvents(R, sel, eta, alpha)
        rho_new = M.mean(axis=0)
        Q = sigma2 + C
        Y = M @ Q @ np.swapaxes(M, 1, 2)                               # per-path <r r'> given s
        smin = np.where(lower[None], sel[:, None, :], sel[:, :, None])  # s(min(k, k')) / b
        W = np.einsum("pkl,pkl->kl", Y, smin) / n_paths
        np.fill_diagonal(W, np.einsum("pkk->k", Y) / (n_paths * b))
        C_new = np.outer(R[:, 0], R[:, 0]) + (eta**2 / alpha) * Rshift @ W @ Rshift.T
        return symmetrize(C_new), rho_new

    x0 = (np.eye(n1), np.eye(n1))
    res = damped_fixed_point(F, x0, damping=damping, tol=tol, max_iter=max_iter)
    C, rho = res.x
    R = _weight_response(rho, eta)
    M, _ = _sample_resolvents(R, sel, eta, alpha)
    Cr = symmetrize(np.mean(M @ (sigma2 + C) @ np.swapaxes(M, 1, 2), axis=0))
    min_eig = float(np.linalg.eigvalsh(C).min())
    C = project_psd(C)
    eg, et = np.diag(C).copy(), np.diag(Cr).copy()
    t = eta * np.arange(n1)
    _readonly(t, C, Cr, R, rho, eg, et)
    return SGDDMFT(t=t, C=C, C_r=Cr, R=R, R_r=rho, test_error=eg, train_error=et, residuals=res.residuals,
                   n_iter=res.n_iter, converged=res.converged, min_eigenvalue=min_eig, n_paths=n_paths,
                   wall_time=time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
# Multi-pass SGD: simulation
# ----------------------------------------------------------------------------------------------
def _seeds(seeds, min_seeds=2):
    seeds = [check_int("seeds[i]", s, low=0) for s in seeds]
    if len(seeds) < min_seeds:
        raise ValueError(f"seeds must hold at least {min_seeds} seeds (for a standard error); got {len(seeds)}")
    return seeds


def simulate(N: int, alpha: float, sigma2: float, eta: float, b: float, t_max: float, seeds,
             max_bytes: float = 1.5e8) -> SGDSimulation:
    r"""Multi-pass Bernoulli-batch SGD at finite $N$, all seeds at once.

    For each seed draw $X\in\mathbb R^{P\times N}$, $w^*$, $\varepsilon$
    (``np.random.default_rng(seed)``, $P = \mathrm{round}(\alpha N)$), then iterate, batched over
    seeds (state $v$ of shape ``(n_seeds, N)``),

    .. math:: r = \sigma\varepsilon - Xv/\sqrt N,\qquad v \leftarrow v + \frac{\eta\sqrt N}{bP}X^\top(s\odot r),

    with $s_\mu\sim\mathrm{Bernoulli}(b)$ independent across samples, steps and seeds. Errors are
    recorded before each step, at $t = k\eta$. Memory: $8\,n_{seeds}PN$ bytes; if that exceeds
    ``max_bytes`` the seeds are processed in groups (each group vectorised).

    Examples
    --------
    >>> sim = simulate(100, 2.0, 0.25, eta=0.2, b=0.1, t_max=2.0, seeds=range(4))
    >>> round(float(sim.test_error[0]), 2), sim.n_seeds, sim.P, sim.B
    (0.98, 4, 200, 20.0)
    """
    t, eg, et, P, (alpha, sigma2, eta, b) = _runs(N, alpha, sigma2, eta, b, t_max, seeds, max_bytes)
    eg_m, eg_s = mean_sem(eg, axis=0)
    et_m, et_s = mean_sem(et, axis=0)
    _readonly(t, eg_m, eg_s, et_m, et_s)
    return SGDSimulation(t=t, test_error=eg_m, train_error=et_m, test_error_sem=eg_s, train_error_sem=et_s,
                         alpha=alpha, sigma2=sigma2, eta=eta, b=b, N=int(N), P=P, B=b * P, n_seeds=eg.shape[0])


_CACHE_BYTES = 2**20          # data of a seed group reused step after step (seed-major order in _runs): half an L2
_SEL_BYTES = 2**24            # selection variables drawn at once (a chunk of steps) in _runs


def _runs(N, alpha, sigma2, eta, b, t_max, seeds, max_bytes=1.5e8):
    """Per-seed errors ``(t, eg, et, P, params)``, ``eg`` and ``et`` of shape ``(n_seeds, n_steps + 1)``; see :func:`simulate`."""
    N = check_int("N", N, low=2)
    alpha, sigma2, eta, b, t_max = _check(alpha, sigma2, eta, b, t_max)
    seeds = _seeds(seeds)
    max_bytes = check_real("max_bytes", max_bytes, low=1e6)
    P = max(1, int(round(alpha * N)))
    n = _n_steps(t_max, eta)
    group = max(1, int(max_bytes // (8.0 * P * N)))
    sigma = math.sqrt(sigma2)
    eg_all, et_all = [], []
    for g0 in range(0, len(seeds), group):          # memory groups; each one is vectorised over seeds
        sg = seeds[g0:g0 + group]
        S = len(sg)
        X = np.empty((S, P, N))
        v = np.empty((S, N))
        eps = np.empty((S, P))
        for i, s in enumerate(sg):                   # drawing only: one generator per seed
            rng = np.random.default_rng(s)
            X[i] = rng.standard_normal((P, N))
            v[i] = -rng.standard_normal(N)
            eps[i] = rng.standard_normal(P)
        rng = np.random.default_rng([*sg, 0x5D])     # selection variables of the whole group
        eg = np.empty((S, n + 1))
        et = np.empty((S, n + 1))
        scale = eta * math.sqrt(N) / (b * P)
        # Seed-major order: the step is memory-bound (two passes over X), and X is read from cache only if it
        # is reused before other data evict it. So the seeds run in cache groups (X of a group below
        # _CACHE_BYTES), each group through a chunk of steps, batched within the group; the selection
        # variables of a chunk of steps are drawn at once, in the order of the per-step draws.
        cg = max(1, int(_CACHE_BYTES // (8.0 * P * N)))
        m = max(1, int(_SEL_BYTES // (S * P)))             # steps per chunk: selections of at most 16 MB
        for k0 in range(0, n, m):
            k1 = min(n, k0 + m)
            sel = rng.random((k1 - k0, S, P)) < b          # = the draws rng.random((S, P)) of steps k0..k1-1
            for c0 in range(0, S, cg):
                c = slice(c0, c0 + cg)
                Xc, vc, ec = X[c], v[c], eps[c]
                for k in range(k0, k1):
                    r = sigma * ec - np.matmul(Xc, vc[:, :, None])[:, :, 0] / math.sqrt(N)
                    eg[c, k] = np.einsum("sn,sn->s", vc, vc) / N
                    et[c, k] = np.einsum("sp,sp->s", r, r) / P
                    vc = vc + scale * np.matmul((sel[k - k0, c] * r)[:, None, :], Xc)[:, 0, :]
                v[c] = vc
        r = sigma * eps - np.matmul(X, v[:, :, None])[:, :, 0] / math.sqrt(N)       # the last record, t = n eta
        eg[:, n] = np.einsum("sn,sn->s", v, v) / N
        et[:, n] = np.einsum("sp,sp->s", r, r) / P
        eg_all.append(eg)
        et_all.append(et)
    eg = np.concatenate(eg_all)
    et = np.concatenate(et_all)
    if not (np.all(np.isfinite(eg)) and np.all(np.isfinite(et))):
        raise FloatingPointError("the simulation overflowed (step size beyond the stability limit?); "
                                 "reduce eta or t_max")
    return eta * np.arange(n + 1), eg, et, P, (alpha, sigma2, eta, b)


@dataclass(frozen=True)
class FiniteSizeScan(ReadOnlyArrays):
    r"""Deviation of the simulated learning curves from :func:`theory` at several N.

    Attributes
    ----------
    N, n_seeds : (n_N,) int arrays
    t : (n_t,) array
    test_error, train_error : (n_t,) arrays of the theory
    sim_test_error, sim_test_error_sem, sim_train_error, sim_train_error_sem : (n_N, n_t) arrays
    window : (float, float)
        Time window of the averages below.
    dev_test, dev_test_sem, dev_train, dev_train_sem : (n_N,) arrays
        Mean over seeds (and its standard error) of the window-averaged simulated error minus the
        window-averaged theory: a finite-size bias estimate.
    std_test : (n_N,) array
        Seed-to-seed standard deviation of the window-averaged test error ($O(1/\sqrt N)$).
    """

    N: np.ndarray
    n_seeds: np.ndarray
    t: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    sim_test_error: np.ndarray
    sim_test_error_sem: np.ndarray
    sim_train_error: np.ndarray
    sim_train_error_sem: np.ndarray
    window: tuple
    dev_test: np.ndarray
    dev_test_sem: np.ndarray
    dev_train: np.ndarray
    dev_train_sem: np.ndarray
    std_test: np.ndarray


def finite_size_scan(Ns, seeds_per_N, alpha: float, sigma2: float, eta: float, b: float, t_max: float,
                     window=None) -> FiniteSizeScan:
    r"""Simulate at each ``N`` with the seeds ``seeds_per_N[i]`` and compare with :func:`theory`.

    ``seeds_per_N`` holds one entry per ``N``: an int ``n`` (meaning ``range(n)``) or a sequence of at
    least 2 distinct ints (the seeds of :func:`simulate`).

    ``window`` defaults to the second half of the run. Cost: that of :func:`simulate` at each N.

    Examples
    --------
    >>> sc = finite_size_scan([50, 100], [4, 4], 2.0, 0.25, 0.2, 0.1, 4.0)
    >>> sc.N.tolist(), sc.dev_test.shape, sc.window
    ([50, 100], (2,), (2.0, 4.0))
    """
    if isinstance(Ns, (str, bytes)) or np.ndim(Ns) != 1 or len(Ns) == 0:
        raise ValueError(f"Ns must be a non-empty sequence of integers in [2, inf); got {Ns!r}")
    Ns = [check_int("Ns[i]", n, low=2) for n in Ns]
    if isinstance(seeds_per_N, (str, bytes)) or not hasattr(seeds_per_N, "__len__") or len(seeds_per_N) != len(Ns):
        raise ValueError(f"seeds_per_N must have one entry per N ({len(Ns)}); got {seeds_per_N!r}")
    seeds_per_N = [check_seeds(f"seeds_per_N[{i}]", s, min_seeds=2) for i, s in enumerate(seeds_per_N)]
    n_seeds = [len(s) for s in seeds_per_N]
    th = theory(alpha, sigma2, eta, b, t_max)
    if window is None:
        window = (0.5 * float(th.t[-1]), float(th.t[-1]))
    lo, hi = (check_real("window[0]", window[0], low=0.0), check_real("window[1]", window[1], low=0.0))
    win = (th.t >= lo) & (th.t <= hi)
    if not win.any():
        raise ValueError(f"window must contain at least one time of the grid; got {window}")
    rows = {k: [] for k in ("m_eg", "s_eg", "m_et", "s_et", "d_eg", "ds_eg", "d_et", "ds_et", "std")}
    for N, seeds in zip(Ns, seeds_per_N):          # loop over system sizes; seeds are vectorised inside
        _, eg, et, _, _ = _runs(N, alpha, sigma2, eta, b, t_max, seeds)
        for key, runs in (("eg", eg), ("et", et)):
            m, s = mean_sem(runs, axis=0)
            rows["m_" + key].append(m)
            rows["s_" + key].append(s)
            ref = (th.test_error if key == "eg" else th.train_error)[win].mean()
            avg = runs[:, win].mean(axis=1) - ref
            dm, ds = mean_sem(avg)
            rows["d_" + key].append(dm)
            rows["ds_" + key].append(ds)
            if key == "eg":
                rows["std"].append(avg.std(ddof=1))
    arr = {k: np.array(v) for k, v in rows.items()}
    _readonly(*arr.values())
    return FiniteSizeScan(N=np.array(Ns), n_seeds=np.array(n_seeds), t=th.t, test_error=th.test_error,
                          train_error=th.train_error, sim_test_error=arr["m_eg"], sim_test_error_sem=arr["s_eg"],
                          sim_train_error=arr["m_et"], sim_train_error_sem=arr["s_et"], window=(lo, hi),
                          dev_test=arr["d_eg"], dev_test_sem=arr["ds_eg"], dev_train=arr["d_et"],
                          dev_train_sem=arr["ds_et"], std_test=arr["std"])


# ----------------------------------------------------------------------------------------------
# Online SGD
# ----------------------------------------------------------------------------------------------
def _check_online(sigma2, g, t_max):
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    g = check_real("g", g, low=0.0, low_open=True)
    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    return sigma2, g, t_max


def online_theory(sigma2: float, g: float, t) -> SGDResult:
    r"""Online SGD as $N\to\infty$ with $g = \eta N/B$ fixed: the closed ODE and its solution.

    With fresh samples at every step, $t = k\eta$ and $g = \eta N/B$,

    .. math::

        &\frac{dE_g}{dt} = -(2-g)E_g + g\sigma^2,\\
        &E_g(t) = E_\infty + (1-E_\infty)e^{-(2-g)t},\quad E_\infty = \frac{g\sigma^2}{2-g},

    stable for $g<2$, i.e. $\eta<2B/N$. In units of samples per dimension, $\tau = kB/N
    = t/g$, this is the classical $dE_g/d\tau = -2gE_g + g^2(E_g+\sigma^2)$. The train error is the
    loss on the fresh batch, $E_t = E_g + \sigma^2$.

    Examples
    --------
    >>> th = online_theory(0.25, 0.5, [0.0, 1.0, 50.0])
    >>> [round(float(e), 4) for e in th.test_error]
    [1.0, 0.2879, 0.0833]
    """
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    g = check_real("g", g, low=0.0, low_open=True)
    t = np.array(t, dtype=np.float64)
    if t.ndim != 1 or t.size < 1 or np.any(t < 0):
        raise ValueError("t must be a 1-D array of times >= 0")
    rate = 2.0 - g
    if rate > 0:
        einf = g * sigma2 / rate
        eg = einf + (1.0 - einf) * np.exp(-rate * t)
    elif rate == 0:
        eg = 1.0 + g * sigma2 * t
    else:
        einf = g * sigma2 / rate
        with np.errstate(over="ignore"):
            eg = einf + (1.0 - einf) * np.exp(-rate * t)
    diverged = bool(rate <= 0)
    eg = np.where(eg < _CAP, eg, np.inf)
    et = eg + sigma2
    _readonly(t, eg, et)
    return SGDResult(t=t, test_error=eg, train_error=et, alpha=math.inf, sigma2=sigma2, eta=0.0, b=0.0,
                     diverged=diverged)


def online_recursion(N: int, B: int, eta: float, sigma2: float, n_steps: int) -> np.ndarray:
    r"""Exact mean test error of online SGD at finite $N$ (Gaussian inputs), steps ``0..n_steps``.

    .. math:: E_g(k+1) = \Bigl[(1-\eta)^2 + \eta^2\frac{N+1}{B}\Bigr]E_g(k) + \eta^2\frac NB\sigma^2,\qquad E_g(0) = 1,

    from $\mathbb E[(x\cdot v)^2|x|^2] = (N+2)|v|^2$. With $\eta = gB/N$ and $t = k\eta$ it
    tends to :func:`online_theory` with $O(1/N)$ corrections.

    Examples
    --------
    >>> [round(float(e), 4) for e in online_recursion(100, 10, 0.05, 0.25, 2)]
    [1.0, 0.934, 0.8728]
    """
    N = check_int("N", N, low=1)
    B = check_int("B", B, low=1)
    eta = check_real("eta", eta, low=0.0, low_open=True)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    n_steps = check_int("n_steps", n_steps, low=1)
    m = (1.0 - eta) ** 2 + eta**2 * (N + 1) / B
    c = eta**2 * N / B * sigma2
    k = np.arange(n_steps + 1, dtype=np.float64)
    if m == 1.0:
        return 1.0 + c * k
    einf = c / (1.0 - m)
    return einf + (1.0 - einf) * m**k


def simulate_online(N: int, B: int, sigma2: float, g: float, t_max: float, seeds) -> SGDSimulation:
    r"""Online SGD at finite $N$: a fresh batch of $B$ Gaussian samples at every step.

    $\eta = gB/N$, $t = k\eta$; update $w\leftarrow w + \frac{\eta\sqrt N}{B}\sum_{j}r_jx_j$
    (the multi-pass update with $b = 1$ on the batch). ``train_error`` is the batch loss
    $\frac1B\sum_j r_j^2$ before the step. All seeds at once (state ``(n_seeds, N)``); the
    teacher is drawn from ``default_rng(seed)``.

    Examples
    --------
    >>> sim = simulate_online(200, 10, 0.25, g=0.5, t_max=1.0, seeds=range(4))
    >>> sim.n_seeds, round(sim.eta, 4), len(sim.t)
    (4, 0.025, 41)
    """
    N = check_int("N", N, low=2)
    B = check_int("B", B, low=1)
    sigma2, g, t_max = _check_online(sigma2, g, t_max)
    seeds = _seeds(seeds)
    eta = g * B / N
    n = _n_steps(t_max, eta)
    S = len(seeds)
    v = -np.stack([np.random.default_rng(s).standard_normal(N) for s in seeds])   # drawing only
    rng = np.random.default_rng([*seeds, 0x0A])
    sigma = math.sqrt(sigma2)
    eg = np.empty((S, n + 1))
    et = np.empty((S, n + 1))
    for k in range(n + 1):
        eg[:, k] = np.einsum("sn,sn->s", v, v) / N
        x = rng.standard_normal((S, B, N))
        r = sigma * rng.standard_normal((S, B)) - np.matmul(x, v[:, :, None])[:, :, 0] / math.sqrt(N)
        et[:, k] = np.mean(r**2, axis=1)
        if k == n:
            break
        v = v + (eta * math.sqrt(N) / B) * np.matmul(r[:, None, :], x)[:, 0, :]
    if not np.all(np.isfinite(eg)):
        raise FloatingPointError("the simulation overflowed (g >= 2?); reduce g or t_max")
    eg_m, eg_s = mean_sem(eg, axis=0)
    et_m, et_s = mean_sem(et, axis=0)
    t = eta * np.arange(n + 1)
    _readonly(t, eg_m, eg_s, et_m, et_s)
    return SGDSimulation(t=t, test_error=eg_m, train_error=et_m, test_error_sem=eg_s, train_error_sem=et_s,
                         alpha=math.inf, sigma2=sigma2, eta=eta, b=B / N, N=N, P=0, B=float(B), n_seeds=S)


# ----------------------------------------------------------------------------------------------
# Plots
# ----------------------------------------------------------------------------------------------
def plot_learning_curves(alpha: float = 2.0, sigma: float = 0.5, eta: float = 0.2, B_over_N: float = 0.2,
                         t_max: float = 20.0, ax=None):
    r"""Theory of $E_g(t)$ (solid) and $E_t(t)$ (dashed) for SGD against gradient flow (grey).

    ``B_over_N`` is the mean batch size per dimension, so $b = (B/N)/\alpha$ (clipped to 1).
    Pure function of its parameters (the chapter's widget). Returns the axes.
    """
    from . import plotting
    from .linear import gradient_flow_theory

    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    sigma = check_real("sigma", sigma, low=0.0)
    B_over_N = check_real("B_over_N", B_over_N, low=0.0, low_open=True)
    b = min(1.0, B_over_N / alpha)
    if ax is None:
        _, ax = plotting.new_figure()
    th = theory(alpha, sigma**2, eta, b, t_max, n_quad=300)
    gf = gradient_flow_theory(alpha, sigma**2, np.linspace(0, t_max, 200), n_quad=300)
    ax.plot(gf.t, gf.test_error, color="0.6", lw=1.2, label="gradient flow, test")
    plotting.plot_theory(ax, th.t, th.test_error, label="SGD, test $E_g$", color="C0")
    ax.plot(th.t, th.train_error, "--", color="C1", label="SGD, train $E_t$")
    eta_c = stability_threshold(alpha, b, n_quad=300)
    ax.set_title(f"α = {alpha:g}, σ = {sigma:g}, η = {eta:g}, b = B/P = {b:.3g}  (η_c = {eta_c:.3g})", fontsize=9)
    ax.set_xlabel("time t = kη")
    ax.set_ylabel("error")
    finite = np.concatenate([th.test_error[np.isfinite(th.test_error)], th.train_error[np.isfinite(th.train_error)]])
    ax.set_ylim(0, min(3.0, 1.1 * max(1.0, float(finite.max()) if finite.size else 1.0)))
    if th.diverged:
        ax.text(0.5, 0.5, "diverges: η > η_c", transform=ax.transAxes, ha="center", color="C3")
    ax.legend()
    return ax


def plot_stability(alpha: float = 2.0, sigma: float = 0.5, b: float = 0.1, ratios=(0.5, 0.9, 0.98, 1.02),
                   t_max: float = 30.0, ax=None):
    r"""Theory of $E_g(t)$ (log scale) for step sizes $\eta = r\,\eta_c$ around the stability limit."""
    from . import plotting

    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    sigma = check_real("sigma", sigma, low=0.0)
    if ax is None:
        _, ax = plotting.new_figure()
    eta_c = stability_threshold(alpha, b)
    for r in ratios:
        r = check_real("ratios[i]", r, low=0.0, low_open=True)
        th = theory(alpha, sigma**2, r * eta_c, b, t_max, n_quad=400)
        ok = np.isfinite(th.test_error)
        plotting.plot_theory(ax, th.t[ok], th.test_error[ok], label=f"η = {r:g} η_c")
    ax.set_yscale("log")
    ax.set_xlabel("time t = kη")
    ax.set_ylabel("test error $E_g$")
    ax.set_title(f"α = {alpha:g}, σ = {sigma:g}, b = {b:g}: η_c = {eta_c:.4f}", fontsize=10)
    ax.legend()
    return ax


def plot_online(sigma: float = 0.5, gs=(0.25, 0.5, 1.0, 1.5), t_max: float = 6.0, ax=None):
    r"""Online SGD: the closed-form $E_g(t)$ for several $g = \eta N/B$ and the floors $g\sigma^2/(2-g)$."""
    from . import plotting

    sigma = check_real("sigma", sigma, low=0.0)
    t_max = check_real("t_max", t_max, low=0.0, low_open=True, high=1e6)
    if ax is None:
        _, ax = plotting.new_figure()
    t = np.linspace(0.0, t_max, 300)
    for g in gs:
        th = online_theory(sigma**2, g, t)
        line = plotting.plot_theory(ax, t, th.test_error, label=f"g = ηN/B = {g:g}").lines[-1]
        if g < 2:
            ax.axhline(g * sigma**2 / (2 - g), color=line.get_color(), lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("time t = kη")
    ax.set_ylabel("test error $E_g$")
    ax.legend()
    return ax


check_public(globals())
