r"""Gradient flow on high-dimensional linear regression: theory, DMFT and simulation.

The model (conventions of the whole module)
------------------------------------------
Inputs $x_\mu\in\mathbb R^N$, $\mu = 1..P$, i.i.d. $\mathcal N(0, \Sigma)$ with
$\operatorname{tr}\Sigma/N = 1$ (isotropic case $\Sigma = I_N$), $\alpha = P/N$.
Teacher $y_\mu = w^*\cdot x_\mu/\sqrt N + \sigma\varepsilon_\mu$ with $w^*\sim\mathcal N(0, I_N)$,
$\varepsilon_\mu\sim\mathcal N(0,1)$; student $f_\mu = w\cdot x_\mu/\sqrt N$, $w(0) = 0$.
Loss and gradient flow (time in units where the mean eigenvalue of $\hat\Sigma$ is one):

.. math::

    L(w) = \frac1{2P}\sum_\mu (y_\mu - f_\mu)^2 + \frac{\gamma}{2}\frac{|w|^2}{N},\qquad
    \frac{dw}{dt} = -N\,\nabla_w L .

With $\hat\Sigma = X^\top X/P$ the error $v = w - w^*$ obeys
$\dot v = -\hat\Sigma v + \sigma\frac{\sqrt N}{P}X^\top\varepsilon - \gamma w$.
Test error $E_g(t) = v^\top\Sigma v/N$ ($= |w - w^*|^2/N$ when $\Sigma = I$; the irreducible
$\sigma^2$ is not included), train error $E_t(t) = \frac1P\sum_\mu (y_\mu - f_\mu)^2$.
The ridge $\gamma$ is called ``ridge`` in code ($\lambda$ denotes eigenvalues).

Three views of the same model
-----------------------------
* :func:`gradient_flow_theory`: the $N\to\infty$ closed form, an integral over the
  Marchenko-Pastur density (isotropic data).
* :func:`gradient_flow_dmft`: the two-time DMFT (correlations $C(t,t')$, responses
  $R(t,t')$ of the two coupled single-site processes) solved on a time grid.
* :func:`simulate_gradient_flow`: finite $N$, exact in time (eigendecomposition of
  $\hat\Sigma$, batched over seeds).

Structured (power-law) covariances: :func:`power_law_spectrum`, :func:`gradient_flow_theory_spectrum`
(deterministic equivalent of the resolvent + numerical Laplace inversion) and
``simulate_gradient_flow(..., spectrum=...)``.

References: B. Bordelon and C. Pehlevan, *Disordered dynamics in high dimensions: connections to
random matrices and machine learning* (review); M. Advani, A. Saxe and H. Sompolinsky (2020);
A. Krogh and J. Hertz (1992); T. Hastie, A. Montanari, S. Rosset and R. Tibshirani (2022);
V. Marchenko and L. Pastur (1967).
"""
from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import numpy as np

from .core import (ConvergenceError, causal_weights, check_array, check_choice, check_int, check_real,
                   check_time_grid, is_psd, mean_sem, project_psd, symmetrize)
from .core.toeplitz import CausalToeplitz, stein_factored
from .core import rmt
from .core import ReadOnlyArrays, check_budget, check_public, check_seed, check_seeds

__all__ = [
    "GradientFlowResult", "GradientFlowSimulation", "GradientFlowDMFT", "ResponseFunctions",
    "gradient_flow_theory", "correlation_theory", "long_time_errors", "optimal_stopping", "mp_quadrature",
    "response_functions", "stein_doubling", "gradient_flow_dmft", "simulate_gradient_flow",
    "power_law_spectrum", "gradient_flow_theory_spectrum", "FiniteSizeScan", "finite_size_scan",
    "plot_learning_curves", "plot_long_time_error",
]


# ----------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GradientFlowResult(ReadOnlyArrays):
    """The $N\\to\\infty$ learning curves.

    Attributes
    ----------
    t, test_error, train_error : numpy.ndarray
        Times and the errors $E_g(t)$, $E_t(t)$ (conventions in the module docstring).
    alpha, sigma2, ridge : float
        The parameters.
    """

    t: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    alpha: float
    sigma2: float
    ridge: float


@dataclass(frozen=True)
class GradientFlowSimulation(ReadOnlyArrays):
    """Finite-N learning curves, mean over seeds with standard errors.

    Same fields as :class:`GradientFlowResult`, plus ``test_error_sem``, ``train_error_sem``
    (standard error of the mean over seeds), ``N``, ``P`` and ``n_seeds``.
    """

    t: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    test_error_sem: np.ndarray
    train_error_sem: np.ndarray
    alpha: float
    sigma2: float
    ridge: float
    N: int
    P: int
    n_seeds: int


@dataclass(frozen=True)
class ResponseFunctions(ReadOnlyArrays):
    """Time-translation-invariant responses of the DMFT, on ``tau = t - t_0``.

    Attributes
    ----------
    tau : numpy.ndarray
    R : numpy.ndarray
        N-side response $R(\\tau)$, $R(0^+) = 1$.
    R_r : numpy.ndarray
        Regular part $\\tilde R_r(\\tau)$ of the P-side (residual) response
        $R_r(\\tau) = \\delta(\\tau) + \\tilde R_r(\\tau)$; $\\tilde R_r(0) = -1/\\alpha$.
    """

    tau: np.ndarray
    R: np.ndarray
    R_r: np.ndarray


@dataclass(frozen=True)
class GradientFlowDMFT(ReadOnlyArrays):
    """Solution of the two-time DMFT on a uniform grid ``t`` of ``n`` points.

    Attributes
    ----------
    t : (n,) array
    C : (n, n) array
        N-side correlation $C(t,t') = \\frac1N\\sum_i v_i(t)v_i(t')$, symmetric PSD.
    C_r : (n, n) array
        P-side correlation of the residuals $C_r(t,t') = \\frac1P\\sum_\\mu r_\\mu(t)r_\\mu(t')$.
    R : (n, n) array
        N-side response $R(t,t')$, zero above the diagonal (causal); the diagonal holds the
        limit $R(t^+,t) = 1$.
    R_r : (n, n) array
        Regular part of the P-side response, causal, diagonal $\\tilde R_r(t^+,t) = -1/\\alpha$.
    test_error, train_error : (n,) arrays
        $E_g = C(t,t)$, $E_t = C_r(t,t)$.
    residuals : numpy.ndarray
        Relative size of the term added at each doubling step of the correlation solve.
    n_iter : int
        Number of doubling steps (the series has $2^{n\\_iter}$ terms).
    converged : bool
    min_eigenvalue : float
        Smallest eigenvalue of ``C`` before any PSD projection (round-off size if PSD).
    wall_time : float
        Seconds.
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
    wall_time: float


# ----------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------
def _check_nquad(n_quad):
    return check_int("n_quad", n_quad, low=8, high=200_000)


def _check_params(alpha, sigma2, ridge):
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    ridge = check_real("ridge", ridge, low=0.0)
    return alpha, sigma2, ridge


def _readonly(*arrays):
    for a in arrays:
        a.setflags(write=False)


# ----------------------------------------------------------------------------------------------
# Closed form (isotropic data, Marchenko-Pastur)
# ----------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=16)
def _leggauss(n):
    x, w = np.polynomial.legendre.leggauss(n)
    _readonly(x, w)
    return x, w


def mp_quadrature(alpha: float, n: int = 2000):
    r"""Nodes and weights integrating against the Marchenko-Pastur law of $\hat\Sigma = X^\top X/P$.

    The bulk is parametrised by $\lambda = c + h\cos\theta$, $c = (\lambda_++\lambda_-)/2$,
    $h = (\lambda_+-\lambda_-)/2$, which turns $\rho(\lambda)d\lambda$ into the smooth
    $\frac{h^2\sin^2\theta}{2\pi q\lambda}d\theta$ ($q = 1/\alpha$); Gauss-Legendre in
    $\theta$ then converges fast. The atom $\max(0, 1-\alpha)$ at zero is returned as an
    extra node ``0`` with that weight (weight 0 when $\alpha \ge 1$).

    Returns
    -------
    lam, weights : (n + 1,) arrays with ``sum(weights) == 1`` and ``sum(weights * lam) == 1``.

    Examples
    --------
    >>> lam, w = mp_quadrature(0.5)
    >>> round(float(w.sum()), 10), round(float(w @ lam), 10), round(float(w @ lam**2), 10)
    (1.0, 1.0, 3.0)
    """
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    n = check_int("n", n, low=8, high=200_000)
    lm, lp = rmt.mp_edges(alpha)
    c, h = 0.5 * (lp + lm), 0.5 * (lp - lm)
    x, wx = _leggauss(n)
    theta = 0.5 * np.pi * (x + 1.0)
    lam = c + h * np.cos(theta)
    # h^2 sin^2(theta) / lam, written without 0/0 at alpha = 1 (lam_- = 0, lam -> 0 at theta = pi)
    with np.errstate(divide="ignore", invalid="ignore"):
        dens = np.where(lam > 0, h**2 * np.sin(theta) ** 2 / lam, h * (1 - np.cos(theta)))
    w = 0.5 * np.pi * wx * dens * alpha / (2 * np.pi)
    atom = rmt.marchenko_pastur_atom(alpha)
    return np.append(lam, 0.0), np.append(w, atom)


def _bias_noise_factors(lam, t, ridge):
    r"""``B = (lam e^{-(lam+ridge)t} + ridge)/(lam+ridge)`` and ``Phi = (1 - e^{-(lam+ridge)t})/(lam+ridge)``.

    Broadcast over ``t[:, None]`` and ``lam[None, :]``; ``Phi -> t`` when ``lam + ridge = 0``.
    """
    a = lam[None, :] + ridge
    at = a * t[:, None]
    e = np.exp(-at)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(a > 0, -np.expm1(-at) / np.where(a > 0, a, 1.0), t[:, None] + 0 * a)
    B = 1.0 - lam[None, :] * phi
    return B, phi, e


def gradient_flow_theory(alpha: float, sigma2: float, t, ridge: float = 0.0, n_quad: int = 2000) -> GradientFlowResult:
    r"""Learning curves of gradient flow in the limit $N\to\infty$ (isotropic data).

    With $\rho$ the Marchenko-Pastur law of $\hat\Sigma$ (atom included),
    $B(\lambda,t) = \frac{\lambda e^{-(\lambda+\gamma)t} + \gamma}{\lambda+\gamma}$ and
    $\Phi(\lambda,t) = \frac{1-e^{-(\lambda+\gamma)t}}{\lambda+\gamma}$ ($\gamma$ = ``ridge``):

    .. math::

        E_g(t) &= \int\!\rho(\lambda)\Bigl[B^2 + \frac{\sigma^2}{\alpha}\lambda\,\Phi^2\Bigr]d\lambda,\\
        E_t(t) &= \int\!\rho(\lambda)\,\lambda B^2 d\lambda
        + \sigma^2\Bigl[1 + \frac1\alpha\Bigl(\int\!\rho(\lambda) B^2 d\lambda - 1\Bigr)\Bigr].

    Parameters
    ----------
    alpha : float > 0
        $P/N$.
    sigma2 : float >= 0
        Label-noise variance $\sigma^2$.
    t : 1-D increasing array of times >= 0.
    ridge : float >= 0
    n_quad : int
        Gauss-Legendre nodes on the bulk (see :func:`mp_quadrature`).

    Examples
    --------
    >>> res = gradient_flow_theory(2.0, 0.25, [0.0, 1.0, 1e4])
    >>> [round(float(e), 4) for e in res.test_error]    # E_g(0) = 1, E_g(inf) = sigma2/(alpha-1)
    [1.0, 0.3079, 0.25]
    """
    alpha, sigma2, ridge = _check_params(alpha, sigma2, ridge)
    t = check_time_grid("t", t)
    lam, w = mp_quadrature(alpha, _check_nquad(n_quad))
    B, phi, _ = _bias_noise_factors(lam, t, ridge)
    B2 = B**2
    eg = B2 @ w + (sigma2 / alpha) * ((lam * phi**2) @ w)
    et = (lam * B2) @ w + sigma2 * (1.0 + (B2 @ w - 1.0) / alpha)
    et = np.maximum(et, 0.0)     # a sum of squares: round-off below zero (-1e-16 at small alpha) is clipped
    _readonly(t, eg, et)
    return GradientFlowResult(t=t, test_error=eg, train_error=et, alpha=alpha, sigma2=sigma2, ridge=ridge)


def correlation_theory(alpha: float, sigma2: float, t, ridge: float = 0.0, n_quad: int = 2000):
    r"""Two-time correlations $C(t,t')$ and $C_r(t,t')$ of the $N\to\infty$ theory (isotropic data).

    The closed form that the DMFT correlations (:func:`gradient_flow_dmft`) must reproduce:

    .. math::

        C(t,t') &= \int\!\rho\,\Bigl[B(\lambda,t)B(\lambda,t')\\
        &\qquad + \frac{\sigma^2}{\alpha}\lambda\,\Phi(\lambda,t)\Phi(\lambda,t')\Bigr]d\lambda,

        C_r(t,t') &= \int\!\rho\,\lambda B(\lambda,t)B(\lambda,t')\,d\lambda\\
        &\quad + \sigma^2\Bigl[1 + \frac1\alpha\Bigl(\int\!\rho\,B(\lambda,t)B(\lambda,t')\,d\lambda - 1\Bigr)\Bigr],

    whose diagonals are $E_g$ and $E_t$ of :func:`gradient_flow_theory`.
    Memory: two ``(n, n)`` arrays plus ``(n, n_quad)`` work arrays.

    Returns
    -------
    C, C_r : (n, n) arrays for the times ``t`` (any increasing grid).

    Examples
    --------
    >>> C, Cr = correlation_theory(2.0, 0.25, [0.0, 1.0, 2.0])
    >>> round(float(C[0, 0]), 4), round(float(Cr[0, 0]), 4), bool(np.allclose(C, C.T))
    (1.0, 1.25, True)
    """
    alpha, sigma2, ridge = _check_params(alpha, sigma2, ridge)
    t = check_time_grid("t", t)
    lam, w = mp_quadrature(alpha, _check_nquad(n_quad))
    B, phi, _ = _bias_noise_factors(lam, t, ridge)
    BB = (B * w) @ B.T
    C = BB + (sigma2 / alpha) * (phi * (lam * w)) @ phi.T
    Cr = (B * (lam * w)) @ B.T + sigma2 * (1.0 + (BB - 1.0) / alpha)
    C, Cr = symmetrize(C), symmetrize(Cr)
    _readonly(C, Cr)
    return C, Cr


def long_time_errors(alpha: float, sigma2: float, ridge: float = 0.0, n_quad: int = 2000):
    r"""Limits $E_g(\infty)$, $E_t(\infty)$ of gradient flow (isotropic data).

    Without ridge (the minimum-norm interpolator when $\alpha<1$):

    .. math::

        E_g(\infty) = \begin{cases} 1-\alpha + \sigma^2\dfrac{\alpha}{1-\alpha}, & \alpha<1,\\[4pt]
        \dfrac{\sigma^2}{\alpha-1}, & \alpha>1,\end{cases}\qquad
        E_t(\infty) = \sigma^2\max\Bigl(0, 1-\frac1\alpha\Bigr),

    with $E_g(\infty) = \infty$ at $\alpha = 1$ when $\sigma^2>0$ (the double-descent peak).
    With ridge, the ridge estimator's errors, by quadrature over the Marchenko-Pastur law.

    Returns
    -------
    (test_error, train_error) : tuple of floats

    Examples
    --------
    >>> [round(x, 4) for x in long_time_errors(2.0, 0.5)]
    [0.5, 0.25]
    >>> [round(x, 4) for x in long_time_errors(0.5, 0.5)]
    [1.0, 0.0]
    """
    alpha, sigma2, ridge = _check_params(alpha, sigma2, ridge)
    n_quad = _check_nquad(n_quad)
    if ridge == 0.0:
        et = sigma2 * max(0.0, 1.0 - 1.0 / alpha)
        if alpha == 1.0:
            return (math.inf if sigma2 > 0 else 0.0), 0.0
        if alpha < 1.0:
            return 1.0 - alpha + sigma2 * alpha / (1.0 - alpha), et
        return sigma2 / (alpha - 1.0), et
    lam, w = mp_quadrature(alpha, n_quad)
    B = ridge / (lam + ridge)
    eg = float(w @ (B**2 + (sigma2 / alpha) * lam / (lam + ridge) ** 2))
    et = float(w @ (lam * B**2) + sigma2 * (1.0 + (w @ B**2 - 1.0) / alpha))
    return eg, et


def optimal_stopping(alpha: float, sigma2: float, ridge: float = 0.0, t_max: float = 1e3):
    r"""Early-stopping time $t^* = \arg\min_t E_g(t)$ on $(0, t_{\max}]$ and $E_g(t^*)$.

    Minimises the closed form of :func:`gradient_flow_theory` (bounded scalar minimisation in
    $\log t$ after a coarse logarithmic scan). Returns ``t_max`` when the curve is still
    decreasing there (no benefit from stopping early, e.g. without noise).

    Examples
    --------
    >>> t_opt, e_opt = optimal_stopping(1.0, 0.5)
    >>> round(t_opt, 2), round(e_opt, 4)
    (1.27, 0.5094)
    """
    from scipy.optimize import minimize_scalar

    alpha, sigma2, ridge = _check_params(alpha, sigma2, ridge)
    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    grid = np.geomspace(1e-3 * min(1.0, t_max), t_max, 200)
    eg = gradient_flow_theory(alpha, sigma2, grid, ridge).test_error
    k = int(np.argmin(eg))
    if k == grid.size - 1:
        return float(t_max), float(eg[-1])
    lo, hi = np.log(grid[max(k - 1, 0)]), np.log(grid[min(k + 1, grid.size - 1)])
    lam, w = mp_quadrature(alpha)

    def f(u):
        B, phi, _ = _bias_noise_factors(lam, np.array([np.exp(u)]), ridge)
        return float(((B**2 + (sigma2 / alpha) * lam * phi**2) @ w)[0])

    opt = minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-8})
    return float(np.exp(opt.x)), float(opt.fun)


# ----------------------------------------------------------------------------------------------
# DMFT
# ----------------------------------------------------------------------------------------------
def _check_uniform_grid(t):
    t = check_time_grid("t", t)
    if t[0] != 0.0:
        raise ValueError(f"t must start at 0 for the DMFT solver; got t[0] = {t[0]:g}")
    dt = float(t[1] - t[0])
    if not np.allclose(np.diff(t), dt, rtol=1e-9, atol=0.0):
        raise ValueError("t must be a uniform grid (constant step) for the DMFT solver")
    return t, dt


def response_functions(alpha: float, t, ridge: float = 0.0) -> ResponseFunctions:
    r"""The time-translation-invariant DMFT responses, stepped forward on a uniform grid.

    .. math::

        \partial_\tau R(\tau) = -(1+\gamma)R(\tau) - \int_0^\tau \tilde R_r(\tau-u)R(u)\,du,\quad R(0) = 1,

        \tilde R_r(\tau) = -\frac1\alpha R(\tau) - \frac1\alpha\int_0^\tau R(\tau-u)\tilde R_r(u)\,du .

    In Laplace space $\hat R(s) = 1/(s + \gamma + \alpha/(\alpha + \hat R(s)))$: the resolvent
    $\frac1N\operatorname{tr}(s+\gamma+\hat\Sigma)^{-1}$ of the Marchenko-Pastur law, i.e.
    $R(\tau) = \int\rho(\lambda)e^{-(\lambda+\gamma)\tau}d\lambda$. Trapezoid rule for both the
    memory integrals and the time step (each step solves a 2 x 2 linear system): error
    $O(\Delta t^2)$. Cost $O(n^2)$, memory $O(n)$.

    Examples
    --------
    >>> rf = response_functions(2.0, np.linspace(0, 2, 201))
    >>> round(float(rf.R[-1]), 5), round(float(rf.R_r[0]), 5)
    (0.26759, -0.5)
    """
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    ridge = check_real("ridge", ridge, low=0.0)
    t, dt = _check_uniform_grid(t)
    n = t.size
    R = np.zeros(n)
    Q = np.zeros(n)  # regular part of R_r
    R[0], Q[0] = 1.0, -1.0 / alpha
    h = 0.5 * dt
    a = 1.0 + ridge

    def F(k):  # right-hand side of dR/dtau at step k (trapezoid memory)
        if k == 0:
            return -a * R[0]
        mem = h * (Q[k] * R[0] + Q[0] * R[k]) + dt * np.dot(Q[k - 1:0:-1], R[1:k])
        return -a * R[k] - mem

    f_prev = F(0)
    for k in range(n - 1):
        m = k + 1
        # Q[m] = c1 * R[m] + c0 (trapezoid for the Q equation, unknown R[m] and Q[m])
        known_q = dt * np.dot(R[m - 1:0:-1], Q[1:m])
        c1 = -(1.0 + h * Q[0]) / alpha / (1.0 + h / alpha)
        c0 = -known_q / alpha / (1.0 + h / alpha)
        # F(m) = -a R[m] - h (Q[m] R0 + Q0 R[m]) - known_f
        known_f = dt * np.dot(Q[m - 1:0:-1], R[1:m])
        # R[m] = R[k] + h (f_prev + F(m))
        coef = 1.0 + h * (a + h * c1 + h * Q[0])
        R[m] = (R[k] + h * f_prev - h * (h * c0 + known_f)) / coef
        Q[m] = c1 * R[m] + c0
        f_prev = F(m)
    _readonly(t, R, Q)
    return ResponseFunctions(tau=t, R=R, R_r=Q)


def _toeplitz_lower(f):
    """``M[i, j] = f[i - j]`` for ``i >= j``, 0 above the diagonal."""
    n = f.size
    idx = np.arange(n)[:, None] - np.arange(n)[None, :]
    return np.where(idx >= 0, f[np.clip(idx, 0, None)], 0.0)


def stein_doubling(A, S, tol: float = 1e-12, max_doublings: int = 40, divergence: float = 1e10):
    r"""Solve the Stein equation $C = S + A\,C\,A^\top$ by doubling summation of its series.

    $C = \sum_{k\ge0}A^kS(A^\top)^k$ is summed as $C\leftarrow C + ACA^\top$, $A\leftarrow A^2$
    (after $j$ steps, $2^j$ terms). With $S$ symmetric PSD every term is PSD, so the
    partial sums increase monotonically and stay PSD: no damping is needed. This is how two-time DMFT
    correlations of linear(ised) dynamics are obtained once the responses are known (``A`` holds the
    response kernels times quadrature weights, lower triangular for causal kernels).

    Parameters
    ----------
    A, S : (n, n) arrays.
    tol : stop when the last added term is below ``tol * max|C|``.
    max_doublings : int >= 1.
    divergence : raise when ``max|C|`` exceeds this or is not finite.

    Returns
    -------
    C : (n, n) array
    residuals : list of float, relative size of each added term
    n_iter : int, number of doubling steps

    Raises
    ------
    ConvergenceError
        No convergence within ``max_doublings`` steps, or divergence (spectral radius of ``A`` >= 1).

    Examples
    --------
    >>> A = np.array([[0.5, 0.0], [0.3, 0.2]]); S = np.eye(2)
    >>> C, res, k = stein_doubling(A, S)
    >>> bool(np.allclose(C, S + A @ C @ A.T)), k
    (True, 6)
    """
    A = check_array("A", A, ndim=2)
    C = check_array("S", S, ndim=2)
    if A.shape != C.shape or A.shape[0] != A.shape[1]:
        raise ValueError(f"A and S must be square arrays of the same shape; got {A.shape} and {C.shape}")
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_doublings = check_int("max_doublings", max_doublings, low=1)
    divergence = check_real("divergence", divergence, low=0.0, low_open=True)
    residuals = []
    for k in range(1, max_doublings + 1):
        term = A @ C @ A.T
        scale = max(np.abs(C).max(), 1e-300)
        r = float(np.abs(term).max() / scale)
        residuals.append(r)
        C = C + term
        if not np.all(np.isfinite(C)) or np.abs(C).max() > divergence:
            raise ConvergenceError(f"Stein series diverged at doubling {k} "
                                   f"(max |C| > divergence={divergence:g})", residuals)
        if r < tol:
            return C, residuals, k
        A = A @ A
    raise ConvergenceError(f"Stein series did not reach tol={tol:g} in "
                           f"max_doublings={max_doublings} (sum of 2^{max_doublings} terms)", residuals)


def gradient_flow_dmft(alpha: float, sigma2: float, t, ridge: float = 0.0, tol: float = 1e-12,
                       max_doublings: int = 40, divergence: float = 1e10, method: str = "fft") -> GradientFlowDMFT:
    r"""Solve the two-time DMFT of gradient flow on linear regression (isotropic data).

    Two single-site processes (derivation in the chapter *Gradient flow on linear regression*):
    on the N side $\dot v = -(1+\gamma)v - \int_0^t\tilde R_r(t,s)v(s)ds - \gamma w^* + \xi/\alpha$,
    $v(0) = -w^*$, $\langle\xi\xi\rangle = \alpha C_r$; on the P side
    $r = R_r\ast(\sigma\varepsilon - \beta)$, $\langle\beta\beta\rangle = C$. The responses
    (:func:`response_functions`) close by themselves; the correlations then solve

    .. math::

        C &= m\,m^\top + \frac1\alpha\,R\,(I+\tilde R_r)\bigl(\sigma^2\mathbf 1\mathbf 1^\top + C\bigr)(I+\tilde R_r)^\top R^\top,\\
        C_r & = (I+\tilde R_r)\bigl(\sigma^2\mathbf 1\mathbf 1^\top + C\bigr)(I+\tilde R_r)^\top,

    with $m(t) = R(t,0) + \gamma\int_0^t R(t,s)ds$ and time integrals as trapezoid-weighted
    matrix products. The linear equation for $C$ has the form $C = S + A C A^\top$; it is
    solved by the doubling iteration $C \leftarrow C + A C A^\top$, $A\leftarrow A^2$
    (every term is PSD, so $C$ stays symmetric PSD), stopped when the added term is below
    ``tol`` relative to $\max|C|$ (no damping is needed: the series is monotone).
    Discretisation error $O(\Delta t^2)$.

    Parameters
    ----------
    alpha, sigma2, ridge : model parameters (see the module docstring).
    t : uniform grid starting at 0, ``n`` points.
    tol : relative size of the last doubling term at which to stop.
    max_doublings : int, the series is summed up to $2^{\text{max\_doublings}}$ terms.
    divergence : raise if the iterate exceeds this (divergence guard).
    method : {"fft", "dense"}
        Two routes that sum the same terms of the series with the same stopping rule, so they
        agree to round-off (about ``1e-15 * max|C|``, checked in the tests).
        ``"fft"`` (default): the kernels are time-translation invariant, so ``A`` and
        $I+\tilde R_r$ are lower Toeplitz up to their column 0
        (``dmftlib.core.toeplitz.CausalToeplitz``); the series is kept in factored form
        $C = FF^\top$, ``F = [G, AG, A^2G, ...]`` with $GG^\top$ the rank-2 source, each
        application of ``A`` an FFT convolution, and $C_r = HH^\top$ with
        ``H = (I + R_r)[sigma 1, F]`` (``dmftlib.core.toeplitz.stein_factored``). Cost
        $O(r n\log n + r n^2)$ for ``r = 2^(n_iter+1)`` columns (``n_iter`` = 6 to 8 in the
        book's cases), so $O(n^2)$ in practice. If the rank would exceed ``max(256, n/2)``, the
        remaining doubling steps are FFT congruences, $O(n^2\log n)$ each. ``C`` is then PSD
        by construction and ``min_eigenvalue`` is that of the factored form ($0$ when the rank
        is below ``n``; computed with ``eigvalsh`` otherwise). Memory: about four ``(n, n)``
        arrays (``C``, ``C_r`` and the returned ``R``, ``R_r``).
        ``"dense"``: dense matrices, three $O(n^3)$ products per doubling and ``eigvalsh`` of
        ``C``; memory about ten ``(n, n)`` float64 arrays (80 MB for n = 1000).

    Raises
    ------
    ConvergenceError
        If the series has not converged after ``max_doublings`` steps, or diverges.

    Examples
    --------
    >>> sol = gradient_flow_dmft(2.0, 0.25, np.linspace(0, 4, 201))
    >>> round(float(sol.test_error[-1]), 4), sol.converged
    (0.1821, True)
    >>> old = gradient_flow_dmft(2.0, 0.25, np.linspace(0, 4, 201), method="dense")
    >>> bool(np.abs(sol.C - old.C).max() < 1e-13), sol.n_iter == old.n_iter
    (True, True)
    """
    alpha, sigma2, ridge = _check_params(alpha, sigma2, ridge)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_doublings = check_int("max_doublings", max_doublings, low=1)
    divergence = check_real("divergence", divergence, low=0.0, low_open=True)
    method = check_choice("method", method, ("fft", "dense"))
    start = time.perf_counter()
    t, dt = _check_uniform_grid(t)
    n = t.size
    if method == "fft":
        return _gradient_flow_dmft_fft(alpha, sigma2, t, dt, ridge, tol, max_doublings, divergence, start)
    rf = response_functions(alpha, t, ridge)
    R = _toeplitz_lower(np.asarray(rf.R))
    Rr = _toeplitz_lower(np.asarray(rf.R_r))
    W = causal_weights(n, dt)
    Rw = R * W
    M = np.eye(n) + Rr * W                      # (I + R_r) as a quadrature operator
    # m(t) = R(t, 0) + ridge * int_0^t R(t, s) ds
    m = R[:, 0] + ridge * Rw.sum(axis=1)
    A = (Rw @ M) / np.sqrt(alpha)
    a1 = A.sum(axis=1)
    C = np.outer(m, m) + sigma2 * np.outer(a1, a1)
    C, residuals, k = stein_doubling(A, C, tol=tol, max_doublings=max_doublings, divergence=divergence)
    converged = True
    C = symmetrize(C)
    lam_min = float(np.linalg.eigvalsh(C).min())
    if lam_min < -1e-10 * np.abs(C).max():
        C = project_psd(C)
    Cr = symmetrize(M @ (sigma2 + C) @ M.T)
    eg, et = np.diag(C).copy(), np.diag(Cr).copy()
    _readonly(t, C, Cr, R, Rr, eg, et)
    return GradientFlowDMFT(t=t, C=C, C_r=Cr, R=R, R_r=Rr, test_error=eg, train_error=et,
                            residuals=np.array(residuals), n_iter=k, converged=converged,
                            min_eigenvalue=lam_min, wall_time=time.perf_counter() - start)


def _gradient_flow_dmft_fft(alpha, sigma2, t, dt, ridge, tol, max_doublings, divergence, start):
    """The ``method="fft"`` route of :func:`gradient_flow_dmft` (arguments already checked)."""
    n = t.size
    check_budget("doubles (n x n arrays)", 4.0 * n * n, limit=2**28)
    rf = response_functions(alpha, t, ridge)
    Rv, Rrv = np.asarray(rf.R), np.asarray(rf.R_r)
    Rw = CausalToeplitz.from_kernel(Rv, dt)                     # R * W
    M = CausalToeplitz.from_kernel(Rrv, dt, identity=1.0)      # I + R_r * W
    A = (Rw @ M).scaled(1.0 / np.sqrt(alpha))
    ones = np.ones(n)
    m = Rv + ridge * Rw.apply(ones)
    G = np.stack([m, np.sqrt(sigma2) * A.apply(ones)], axis=1)
    C, residuals, k, F = stein_factored(A, G, tol=tol, max_doublings=max_doublings, divergence=divergence)
    C = symmetrize(C)
    if F is not None:
        H = M.apply(np.hstack([np.full((n, 1), np.sqrt(sigma2)), F]))
        Cr = symmetrize(H @ H.T)
        lam_min = 0.0 if F.shape[1] < n else float(np.linalg.eigvalsh(C).min())
    else:
        M1 = M.apply(ones)
        Cr = symmetrize(M.congruence(C) + sigma2 * np.outer(M1, M1))
        lam_min = float(np.linalg.eigvalsh(C).min())
    if lam_min < -1e-10 * np.abs(C).max():
        C = project_psd(C)
    R = _toeplitz_lower(Rv)
    Rr = _toeplitz_lower(Rrv)
    eg, et = np.diag(C).copy(), np.diag(Cr).copy()
    _readonly(t, C, Cr, R, Rr, eg, et)
    return GradientFlowDMFT(t=t, C=C, C_r=Cr, R=R, R_r=Rr, test_error=eg, train_error=et,
                            residuals=np.array(residuals), n_iter=k, converged=True,
                            min_eigenvalue=lam_min, wall_time=time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
# Structured covariances: power-law spectrum
# ----------------------------------------------------------------------------------------------
def power_law_spectrum(N: int, b: float) -> np.ndarray:
    r"""Eigenvalues $\lambda_k = c\,\bigl(\frac{k-1/2}{N}\bigr)^{-b}$, $k = 1..N$, with $\frac1N\sum_k\lambda_k = 1$.

    A power law in the index, $\lambda_k\propto k^{-b}$, whose empirical distribution has a
    limit as $N\to\infty$ (a Pareto law of index $1/b$) when $0\le b<1$, which is what
    the proportional limit $P, N\to\infty$ at fixed $\alpha$ needs (for $b\ge1$ the top
    eigenvalues would carry a finite fraction of the trace). Sorted in decreasing order.

    Examples
    --------
    >>> lam = power_law_spectrum(1000, 0.5)
    >>> round(float(lam.mean()), 12), round(float(lam[0] / lam[1]), 4)
    (1.0, 1.7321)
    """
    N = check_int("N", N, low=1)
    b = check_real("b", b, low=0.0, high=1.0, high_open=True)
    u = (np.arange(1, N + 1) - 0.5) / N
    lam = u ** (-b)
    return lam / lam.mean()


def _kappa(s, alpha, spec, n_newton=60):
    r"""Solve $\kappa(1 - \mathrm{df}_1(\kappa)/\alpha) = s$ for real $s>0$ on the physical branch.

    $\mathrm{df}_1(\kappa) = \frac1N\sum_k\lambda_k/(\lambda_k+\kappa)$. The left side is convex and
    increasing on the branch, so Newton from $\kappa_0 = s + \bar\lambda/\alpha$ (right of the
    root) converges monotonically. Vectorised over ``s``.
    """
    kap = s + spec.mean() / alpha
    for _ in range(n_newton):
        q = spec[None, :] / (spec[None, :] + kap[:, None])
        df1 = q.mean(axis=1)
        ddf1 = -(q / (spec[None, :] + kap[:, None])).mean(axis=1)
        phi = kap * (1 - df1 / alpha) - s
        dphi = 1 - (df1 + kap * ddf1) / alpha
        step = phi / dphi
        kap = kap - step
        if np.all(np.abs(step) <= 1e-15 * np.abs(kap)):
            break
    return kap


def _stehfest_coefficients(n):
    V = np.zeros(2 * n)
    for k in range(1, 2 * n + 1):
        acc = 0.0
        for j in range((k + 1) // 2, min(k, n) + 1):
            acc += (j**n * math.factorial(2 * j)) / (math.factorial(n - j) * math.factorial(j) * math.factorial(j - 1)
                                                    * math.factorial(k - j) * math.factorial(2 * j - k))
        V[k - 1] = (-1) ** (n + k) * acc
    return V


def _spectral_time_functions(tau, alpha, spec, n_stehfest=7):
    r"""``H, I, K, K1`` at times ``tau > 0`` by Gaver-Stehfest inversion of their Laplace transforms.

    $H(\tau) = \frac1N\operatorname{tr}\Sigma e^{-\hat\Sigma\tau}$, $I = \int_0^\tau H$,
    $K = \frac1N\operatorname{tr}e^{-\hat\Sigma\tau}$, $K_1 = \frac1N\operatorname{tr}\hat\Sigma e^{-\hat\Sigma\tau}$,
    with the deterministic equivalents $\hat H = \frac{\kappa}{s}\mathrm{df}_1(\kappa)$,
    $\hat K = \frac{\kappa}{s}\frac1N\sum_k\frac1{\lambda_k+\kappa}$, $\hat K_1 = \mathrm{df}_1(\kappa)$.
    """
    V = _stehfest_coefficients(n_stehfest)
    ln2 = math.log(2.0)
    s = (np.arange(1, 2 * n_stehfest + 1)[None, :] * ln2 / tau[:, None]).ravel()
    kap = _kappa(s, alpha, spec)
    inv = 1.0 / (spec[None, :] + kap[:, None])
    df1 = (spec[None, :] * inv).mean(axis=1)
    Hs = kap / s * df1
    Ks = kap / s * inv.mean(axis=1)
    out = []
    for F in (Hs, Hs / s, Ks, df1):
        out.append((ln2 / tau) * (F.reshape(tau.size, -1) @ V))
    return out


def gradient_flow_theory_spectrum(alpha: float, sigma2: float, t, spectrum, n_stehfest: int = 7) -> GradientFlowResult:
    r"""Learning curves for data with covariance spectrum ``spectrum`` (no ridge), $N\to\infty$.

    With $H(\tau) = \frac1N\operatorname{tr}\Sigma e^{-\hat\Sigma\tau}$, $I(\tau) = \int_0^\tau H$,
    $K(\tau) = \frac1N\operatorname{tr}e^{-\hat\Sigma\tau}$, $K_1 = -K'$:

    .. math::

        E_g(t) &= H(2t) + \frac{\sigma^2}{\alpha}\bigl[2I(t) - I(2t)\bigr],\\
        E_t(t) &= K_1(2t) + \sigma^2\Bigl[1 + \frac{K(2t)-1}{\alpha}\Bigr].

    Their Laplace transforms follow from the deterministic equivalent
    $s(s+\hat\Sigma)^{-1}\simeq\kappa(\Sigma+\kappa)^{-1}$, $\kappa - s = \frac\kappa\alpha\frac1N\operatorname{tr}\Sigma(\Sigma+\kappa)^{-1}$
    (the generalized Marchenko-Pastur equation), solved for real $s>0$, and are inverted by the
    Gaver-Stehfest formula (``2 * n_stehfest`` real nodes). The functions are completely monotone,
    the case where Stehfest works well; in double precision the relative error is about
    $10^{-5}$-$10^{-6}$ for ``n_stehfest = 7`` (checked against :func:`gradient_flow_theory`
    for $\Sigma = I$ in the tests).

    Parameters
    ----------
    spectrum : 1-D array of the population eigenvalues of $\Sigma$ (positive, mean 1), e.g.
        :func:`power_law_spectrum`. Its length sets the quadrature of the limiting spectrum.

    Examples
    --------
    >>> res = gradient_flow_theory_spectrum(2.0, 0.0, [0.0, 1.0], np.ones(10))
    >>> round(float(res.test_error[1]), 5)
    0.26759
    """
    alpha, sigma2, _ = _check_params(alpha, sigma2, 0.0)
    t = check_time_grid("t", t)
    spec = check_array("spectrum", spectrum, ndim=1, low=0.0)
    if spec.size < 1 or np.any(spec <= 0):
        raise ValueError("spectrum must hold at least one eigenvalue, all > 0")
    if not abs(spec.mean() - 1.0) < 1e-8:
        raise ValueError(f"spectrum must be normalised to mean 1 (tr Sigma / N = 1); its mean is {spec.mean():g}")
    n_stehfest = check_int("n_stehfest", n_stehfest, low=2, high=10)
    pos = t > 0
    tp = t[pos]
    tau = np.concatenate([tp, 2 * tp])
    eg = np.ones(t.size)
    et = np.full(t.size, 1.0 + sigma2)
    if tp.size:
        H, I, K, K1 = _spectral_time_functions(tau, alpha, spec, n_stehfest)
        m = tp.size
        eg[pos] = H[m:] + (sigma2 / alpha) * (2 * I[:m] - I[m:])
        et[pos] = K1[m:] + sigma2 * (1.0 + (K[m:] - 1.0) / alpha)
    _readonly(t, eg, et)
    return GradientFlowResult(t=t, test_error=eg, train_error=et, alpha=alpha, sigma2=sigma2, ridge=0.0)


# ----------------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------------
def _simulate_per_seed(N, alpha, sigma2, t, seeds, ridge=0.0, spectrum=None, min_seeds=2):
    """Per-seed errors ``(eg, et)`` of shape ``(n_seeds, len(t))`` and ``P``; see :func:`simulate_gradient_flow`."""
    N = check_int("N", N, low=2)
    alpha, sigma2, ridge = _check_params(alpha, sigma2, ridge)
    t = check_time_grid("t", t)
    seeds = list(check_seeds("seeds", seeds))
    if len(seeds) < min_seeds:
        raise ValueError(f"seeds must hold at least {min_seeds} seeds (for a standard error); got {len(seeds)}")
    P = max(1, int(round(alpha * N)))
    check_budget("doubles (data and eigenvectors, all seeds)", float(len(seeds)) * (P + 2 * N) * N, limit=2**27)
    check_budget("doubles (errors, all seeds)", float(len(seeds)) * len(t) * (P + N), limit=2**27)
    if spectrum is None:
        sqrt_spec = None
    else:
        spec = check_array("spectrum", spectrum, ndim=1, low=0.0)
        if spec.size != N:
            raise ValueError(f"spectrum must have N = {N} entries; got {spec.size}")
        sqrt_spec = np.sqrt(spec)
    S = len(seeds)
    X = np.empty((S, P, N))
    wstar = np.empty((S, N))
    eps = np.empty((S, P))
    for i, s in enumerate(seeds):  # drawing only: one generator per seed, reproducible seed by seed
        rng = np.random.default_rng(s)
        X[i] = rng.standard_normal((P, N))
        wstar[i] = rng.standard_normal(N)
        eps[i] = rng.standard_normal(P)
    if sqrt_spec is not None:
        X *= sqrt_spec[None, None, :]
    # batched BLAS products (seeds lead); Xt is a view: X^T of each seed
    Xt = np.swapaxes(X, 1, 2)
    Sig = np.matmul(Xt, X) / P
    lam, U = np.linalg.eigh(Sig)
    lam = np.clip(lam, 0.0, None)
    del Sig
    Ut = np.swapaxes(U, 1, 2)
    a = np.matmul(Ut, wstar[:, :, None])[:, :, 0]                          # U^T w*
    nvec = np.sqrt(N) / P * np.matmul(Xt, eps[:, :, None])[:, :, 0]       # sqrt(N)/P X^T eps
    c = np.matmul(Ut, nvec[:, :, None])[:, :, 0]
    # coefficients of v in the eigenbasis, shape (S, T, N)
    a_t = lam[:, None, :] + ridge
    at = a_t * t[None, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(a_t > 0, -np.expm1(-at) / np.where(a_t > 0, a_t, 1.0), t[None, :, None] + 0 * a_t)
    B = 1.0 - lam[:, None, :] * phi
    vt = -B * a[:, None, :] + np.sqrt(sigma2) * phi * c[:, None, :]
    v = np.matmul(vt, Ut)                                         # back to the input basis, (S, T, N)
    if sqrt_spec is None:
        eg = np.mean(v**2, axis=2)
    else:
        eg = np.mean(spec[None, None, :] * v**2, axis=2)
    resid = np.sqrt(sigma2) * eps[:, None, :] - np.matmul(v, Xt) / np.sqrt(N)
    et = np.mean(resid**2, axis=2)
    return t, eg, et, P, alpha, sigma2, ridge, N


def simulate_gradient_flow(N: int, alpha: float, sigma2: float, t, seeds, ridge: float = 0.0,
                           spectrum=None) -> GradientFlowSimulation:
    r"""Gradient flow at finite $N$, exact in time, vectorised over seeds.

    For each seed draw $X\in\mathbb R^{P\times N}$ (rows $\mathcal N(0,\Sigma)$), $w^*$,
    $\varepsilon$; diagonalise $\hat\Sigma = U\operatorname{diag}(\lambda)U^\top$ (batched
    ``eigh`` over seeds) and evaluate

    .. math:: v(t) = U\bigl[-B(\lambda,t)\,U^\top w^* + \sigma\Phi(\lambda,t)\,U^\top n\bigr],\qquad n = \frac{\sqrt N}{P}X^\top\varepsilon,

    the exact solution of $\dot v = -\hat\Sigma v + \sigma n - \gamma(v + w^*)$, $v(0) = -w^*$
    ($B$, $\Phi$ as in :func:`gradient_flow_theory`). $P = \mathrm{round}(\alpha N)$.

    Parameters
    ----------
    N : int >= 2
    alpha, sigma2, ridge : model parameters.
    t : 1-D increasing array of times >= 0 (any spacing: the solution is exact).
    seeds : sequence of at least 2 ints; seed ``s`` draws everything with ``np.random.default_rng(s)``.
    spectrum : optional (N,) array of the eigenvalues of $\Sigma$ (mean 1); isotropic if None.

    Memory: $n_{seeds}(P + 2N)N$ floats for the data and eigenvectors.

    Examples
    --------
    >>> sim = simulate_gradient_flow(50, 2.0, 0.25, [0.0, 1.0], seeds=range(4))
    >>> round(float(sim.test_error[0]), 2), sim.n_seeds, sim.P
    (0.87, 4, 100)
    """
    t, eg, et, P, alpha, sigma2, ridge, N = _simulate_per_seed(N, alpha, sigma2, t, seeds, ridge, spectrum)
    S = eg.shape[0]
    eg_m, eg_s = mean_sem(eg, axis=0)
    et_m, et_s = mean_sem(et, axis=0)
    _readonly(t, eg_m, eg_s, et_m, et_s)
    return GradientFlowSimulation(t=t, test_error=eg_m, train_error=et_m, test_error_sem=eg_s,
                                  train_error_sem=et_s, alpha=alpha, sigma2=sigma2, ridge=ridge,
                                  N=N, P=P, n_seeds=S)


@dataclass(frozen=True)
class FiniteSizeScan(ReadOnlyArrays):
    """Simulated test error against the $N\\to\\infty$ theory for several N.

    Attributes
    ----------
    N : (n_N,) int array
    t : (n_t,) array
    theory : (n_t,) array, $E_g(t)$ of :func:`gradient_flow_theory`
    mean, std, sem : (n_N, n_t) arrays, mean over seeds, standard deviation across seeds (ddof = 1)
        and standard error of the mean
    n_seeds : int
    alpha, sigma2, ridge : float
    """

    N: np.ndarray
    t: np.ndarray
    theory: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    sem: np.ndarray
    n_seeds: int
    alpha: float
    sigma2: float
    ridge: float


def finite_size_scan(Ns, alpha: float, sigma2: float, t, seeds, ridge: float = 0.0,
                     seeds_per_batch: int = 4) -> FiniteSizeScan:
    r"""Test error at several N, with its sample-to-sample spread, against the theory.

    Expected scaling: the spread across seeds ``std`` is $O(N^{-1/2})$ (it comes from $w^*$
    and $\varepsilon$), the bias ``|mean - theory|`` is $O(1/N)$ and is hidden below the
    standard error ``sem = std / sqrt(n_seeds)`` unless ``n_seeds`` is large. ``seeds``: an int ``n``
    (meaning ``range(n)``) or a sequence of at least 2 distinct ints, the same at every N. Seeds are
    simulated in batches of ``seeds_per_batch`` (vectorised within a batch) to bound memory at
    $\approx 8\,b\,(P+2N)N$ bytes.

    Examples
    --------
    >>> sc = finite_size_scan([20, 40], 2.0, 0.25, [1.0, 2.0], seeds=4)
    >>> sc.mean.shape, sc.n_seeds
    ((2, 2), 4)
    """
    if isinstance(Ns, (str, bytes)) or np.ndim(Ns) != 1 or len(Ns) == 0:
        raise ValueError(f"Ns must be a non-empty sequence of integers in [2, inf); got {Ns!r}")
    Ns = [check_int("Ns[i]", n, low=2) for n in Ns]
    seeds = np.array(check_seeds("seeds", seeds, min_seeds=2))
    n_seeds = seeds.size
    seeds_per_batch = check_int("seeds_per_batch", seeds_per_batch, low=1)
    th = gradient_flow_theory(alpha, sigma2, t, ridge)
    mean, std = [], []
    for N in Ns:
        eg = np.concatenate([_simulate_per_seed(N, alpha, sigma2, th.t, seeds[k:k + seeds_per_batch], ridge,
                                                min_seeds=1)[1]
                             for k in range(0, n_seeds, seeds_per_batch)])
        mean.append(eg.mean(axis=0))
        std.append(eg.std(axis=0, ddof=1))
    mean, std = np.array(mean), np.array(std)
    sem = std / np.sqrt(n_seeds)
    N_arr = np.array(Ns)
    _readonly(mean, std, sem, N_arr)
    return FiniteSizeScan(N=N_arr, t=th.t, theory=th.test_error, mean=mean, std=std, sem=sem, n_seeds=n_seeds,
                          alpha=th.alpha, sigma2=th.sigma2, ridge=th.ridge)


# ----------------------------------------------------------------------------------------------
# Plots
# ----------------------------------------------------------------------------------------------
def plot_learning_curves(alpha: float = 2.0, sigma: float = 0.5, ridge: float = 0.0, t_max: float = 100.0,
                         ax=None):
    r"""Theory of $E_g(t)$ and $E_t(t)$ (log time axis) with $E_g(\infty)$ and the early-stopping point.

    Pure function of its parameters (used by the chapter's widget). Returns the axes.
    """
    from . import plotting

    alpha, _, ridge = _check_params(alpha, 0.0, ridge)
    sigma = check_real("sigma", sigma, low=0.0)
    t_max = check_real("t_max", t_max, low=0.01, low_open=False)
    if ax is None:
        _, ax = plotting.new_figure()
    t = np.concatenate([[0.0], np.geomspace(1e-2, t_max, 300)])
    th = gradient_flow_theory(alpha, sigma**2, t, ridge, n_quad=800)
    plotting.plot_theory(ax, t[1:], th.test_error[1:], label=r"test $E_g(t)$")
    ax.plot(t[1:], th.train_error[1:], "--", label=r"train $E_t(t)$")
    eg_inf, _ = long_time_errors(alpha, sigma**2, ridge)
    if np.isfinite(eg_inf):
        ax.axhline(eg_inf, color="gray", lw=1, ls=":", label=r"$E_g(\infty)$")
    k = int(np.argmin(th.test_error))
    if 0 < k < t.size - 1:
        ax.plot(t[k], th.test_error[k], "k*", ms=9, label=f"early stopping, t* ≈ {t[k]:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("training time t")
    ax.set_ylabel("error")
    ax.set_title(f"α = {alpha:g}, σ = {sigma:g}, ridge = {ridge:g}")
    top = max(1.05, 1.1 * float(th.test_error.max()))
    ax.set_ylim(0, min(top, 5.0))
    ax.legend()
    return ax


def plot_long_time_error(sigma: float = 0.5, ridges=(0.0, 0.05, 0.2), alphas=None, ax=None):
    r"""$E_g(\infty)$ against $\alpha$ for several ridges (double descent at $\alpha = 1$)."""
    from . import plotting

    sigma = check_real("sigma", sigma, low=0.0)
    if alphas is None:
        alphas = np.concatenate([np.linspace(0.05, 0.97, 60), np.linspace(1.03, 4.0, 60)])
    alphas = check_array("alphas", alphas, ndim=1, low=0.0)
    if ax is None:
        _, ax = plotting.new_figure()
    for r in ridges:
        r = check_real("ridge", r, low=0.0)
        eg = np.array([long_time_errors(a, sigma**2, r, n_quad=400)[0] for a in alphas])
        plotting.plot_theory(ax, alphas, eg, label=f"ridge = {r:g}")
    ax.axvline(1.0, color="gray", lw=0.8, ls=":")
    ax.set_xlabel(r"$\alpha = P/N$")
    ax.set_ylabel(r"$E_g(\infty)$")
    ax.set_ylim(0, 3)
    ax.legend()
    return ax


check_public(globals())
