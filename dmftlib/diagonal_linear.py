r"""Diagonal linear networks: implicit bias and the DMFT of gradient flow.

The model (conventions of the whole module, binding for the chapter)
-------------------------------------------------------------------
Inputs $x_\mu\in\mathbb R^d$, $x_\mu\sim\mathcal N(0, I_d)$, $\mu = 1..n$,
$n = \mathrm{round}(\alpha d)$. Teacher $\beta^*$ with exactly $\mathrm{round}(\rho d)$ nonzero
entries, each $\pm1/\sqrt\rho$ (random signs and positions), so $|\beta^*|^2/d\simeq1$; labels
$y_\mu = \beta^*\cdot x_\mu/\sqrt d + \sigma\xi_\mu$. Student $f(x) = \beta\cdot x/\sqrt d$ with
$\beta = u\odot u - v\odot v$, $u(0) = v(0) = a\mathbf 1$ ($a$ = ``init_scale``). Loss and flow

.. math::

    L = \frac1{2n}\sum_\mu (y_\mu - f(x_\mu))^2,\qquad \dot u = -d\,\partial_u L,\qquad \dot v = -d\,\partial_v L .

With the field $F = \frac{\sqrt d}{n}X^\top r$ ($r = y - X\beta/\sqrt d$ the residuals),
$\dot u_i = 2u_iF_i$, $\dot v_i = -2v_iF_i$, hence the *mirror flow*

.. math::

    \beta_i(t) = 2a^2\sinh\bigl(4\varphi_i(t)\bigr),\qquad \dot\varphi_i = F_i,\qquad \varphi_i(0) = 0,

equivalently $\dot\beta_i = 4\sqrt{\beta_i^2 + 4a^4}\,F_i$. For $a\to\infty$ this is linear regression
gradient flow (:mod:`dmftlib.linear`) with time rescaled by $8a^2$. Excess test error
$E_g(t) = |\beta(t) - \beta^*|^2/d$.

Three views
-----------
* :func:`implicit_bias`: the limit of the flow for $\sigma = 0$, $\alpha<1$: the minimiser of the
  hyperbolic entropy $Q_a(\beta) = \sum_i a^2 q(\beta_i/a^2)$,
  $q(z) = 2 - \sqrt{4 + z^2} + z\,\mathrm{asinh}(z/2)$, on $X\beta/\sqrt d = y$ (Woodworth et al. 2020),
  by Newton's method on the smooth dual.
* :func:`theory`: the $d\to\infty$ DMFT, a single-site mirror flow driven by a Gaussian field and a memory
  kernel built from the data side, solved by sampling on a geometric time grid (the exact DMFT of the
  second-order BDF discretisation of the flow on that grid).
* :func:`simulate`: finite $d$, seeds batched, explicit Runge-Kutta with a step set by the current
  stiffness.

References: Woodworth et al., COLT 2020; Pesme & Flammarion, NeurIPS 2023 (saddle-to-saddle);
Nishiyama & Imaizumi, arXiv:2510.01930 (DMFT of diagonal linear networks); Celentano, Cheng & Montanari (2021)
and Bordelon & Pehlevan (DMFT of first-order methods on Gaussian data); Donoho & Tanner (2009) and
Donoho, Maleki & Montanari (2009) (the sparse-recovery phase transition).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.linalg import solve_triangular
from scipy.optimize import minimize_scalar
from scipy.special import ndtr

from .core import (ConvergenceError, ReadOnlyArrays, check_array, check_budget, check_int, check_real, check_seed,
                   check_seeds, check_time_grid, mean_sem, symmetrize)

__all__ = [
    "ImplicitBiasResult", "DiagonalLinearTheory", "DiagonalLinearSimulation",
    "hyperbolic_entropy", "implicit_bias", "teacher", "make_data", "theory", "simulate", "time_grid",
    "donoho_tanner", "StaticLimit", "prox_entropy", "static_limit", "phase_diagram", "sim_seeds", "plot_learning_curves", "plot_implicit_bias",
]


# ----------------------------------------------------------------------------------------------
# Checks and data
# ----------------------------------------------------------------------------------------------
def _check_params(alpha, rho, sigma2, init_scale):
    alpha = check_real("alpha", alpha, low=0.0, high=100.0, low_open=True)
    rho = check_real("rho", rho, low=0.0, high=1.0, low_open=True)
    sigma2 = check_real("sigma2", sigma2, low=0.0, high=1e4)
    init_scale = check_real("init_scale", init_scale, low=1e-4, high=100.0)
    return alpha, rho, sigma2, init_scale


def hyperbolic_entropy(beta, init_scale: float) -> float:
    r"""The potential $Q_a(\beta) = \sum_i a^2 q(\beta_i/a^2)$, $q(z) = 2 - \sqrt{4+z^2} + z\,\mathrm{asinh}(z/2)$.

    $q'(z) = \mathrm{asinh}(z/2)$, so $\nabla Q_a(\beta) = \mathrm{asinh}(\beta/2a^2) = 4\varphi$: the mirror
    map of the flow. $Q_a\approx|\beta|^2/(4a^2)$ for $a\to\infty$ and
    $Q_a\approx|\beta|_1\log(1/a^2)$ for $a\to0$.

    >>> round(hyperbolic_entropy([1.0, -2.0], 10.0) * 400, 4)     # ~ |beta|^2 for large a
    5.0
    """
    beta = check_array("beta", beta)
    a = check_real("init_scale", init_scale, low=0.0, low_open=True)
    z = beta / a**2
    return float(a**2 * np.sum(2.0 - np.sqrt(4.0 + z**2) + z * np.arcsinh(z / 2.0)))


def teacher(d: int, rho: float, rng) -> np.ndarray:
    """The sparse teacher: exactly ``round(rho d)`` (at least 1) entries ``+-1/sqrt(rho)`` at random positions.

    >>> b = teacher(10, 0.3, np.random.default_rng(0))
    >>> int(np.count_nonzero(b)), round(float(np.abs(b).max()**2), 4)
    (3, 3.3333)
    """
    d = check_int("d", d, low=1, high=10**7)
    rho = check_real("rho", rho, low=0.0, high=1.0, low_open=True)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    k = max(1, int(round(rho * d)))
    beta = np.zeros(d)
    idx = rng.permutation(d)[:k]
    beta[idx] = rng.choice([-1.0, 1.0], size=k) / math.sqrt(rho)
    return beta


def make_data(d: int, alpha: float, rho: float, sigma2: float, seed: int):
    r"""One draw of ``(X, y, beta_star)``: ``X`` is ``(n, d)`` with i.i.d. N(0,1) entries, ``n = round(alpha d)``.

    Seed ``s`` draws, in this order, ``X``, the teacher (:func:`teacher`) and the noise, with
    ``numpy.random.default_rng(s)``; :func:`simulate` uses the same draws.

    >>> X, y, b = make_data(20, 0.5, 0.2, 0.0, seed=1)
    >>> X.shape, int(np.count_nonzero(b)), bool(np.allclose(y, X @ b / np.sqrt(20)))
    ((10, 20), 4, True)
    """
    d = check_int("d", d, low=2, high=20000)
    alpha, rho, sigma2, _ = _check_params(alpha, rho, sigma2, 1.0)
    seed = check_seed("seed", seed, allow_none=False)
    n = max(1, int(round(alpha * d)))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    bstar = teacher(d, rho, rng)
    y = X @ bstar / math.sqrt(d) + math.sqrt(sigma2) * rng.standard_normal(n)
    return X, y, bstar


# ----------------------------------------------------------------------------------------------
# Implicit bias
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImplicitBiasResult(ReadOnlyArrays):
    """Minimiser of the hyperbolic entropy on the interpolation constraint.

    Attributes
    ----------
    beta : (d,) array, the minimiser.
    nu : (n,) array, the dual variable: ``beta = 2 a^2 sinh(X^T nu / sqrt(d))``.
    constraint_residual : float, ``max |X beta / sqrt(d) - y|``.
    n_iter : int, Newton steps; converged : bool.
    """

    beta: np.ndarray
    nu: np.ndarray
    constraint_residual: float
    n_iter: int
    converged: bool


def implicit_bias(X, y, init_scale: float, tol: float = 1e-10, max_iter: int = 200) -> np.ndarray:
    r"""The limit of gradient flow for interpolating data: $\arg\min Q_a(\beta)$ s.t. $X\beta/\sqrt d = y$.

    Convex duality: the minimiser is $\beta(\nu) = 2a^2\sinh(s)$, $s = X^\top\nu/\sqrt d$, where
    $\nu\in\mathbb R^n$ minimises the smooth, strictly convex dual

    .. math:: &D(\nu) = \sum_i 2a^2(\cosh s_i - 1) - \nu\cdot y,\qquad
              \nabla D = X\beta(\nu)/\sqrt d - y,\\
              &\nabla^2 D = \tfrac1d X\,\mathrm{diag}(4a^2\cosh s)X^\top,

    solved by Newton's method with backtracking (Armijo) from $\nu = 0$ (the flow's initial point
    $\beta = 0$ is the dual's too). Stops when $\max|\nabla D| < \mathrm{tol}\cdot(1 + \max|y|)$.
    Requires full row rank ($n \le d$, generic Gaussian ``X``).

    Parameters
    ----------
    X : (n, d) array; y : (n,) array; init_scale : a > 0.

    Returns
    -------
    beta : (d,) array (raises :class:`dmftlib.ConvergenceError` if Newton fails).

    Examples
    --------
    >>> X, y, b = make_data(200, 0.5, 0.05, 0.0, seed=0)
    >>> beta = implicit_bias(X, y, 1e-3)                 # sparse regime: recovers the teacher
    >>> float(np.max(np.abs(X @ beta / np.sqrt(200) - y))) < 1e-9, round(float(np.sum((beta - b)**2) / 200), 4)
    (True, 0.0)
    """
    return _implicit_bias(X, y, init_scale, tol, max_iter).beta


def _implicit_bias(X, y, init_scale, tol=1e-10, max_iter=200) -> ImplicitBiasResult:
    X = check_array("X", X, ndim=2)
    y = check_array("y", y, ndim=1)
    n, d = X.shape
    if n < 1 or d < 1 or y.size != n:
        raise ValueError(f"X must be (n, d) with n, d >= 1 and y of length n; got X {X.shape}, y {y.shape}")
    if n > d:
        raise ValueError(f"implicit_bias needs n <= d (an interpolating problem); got n = {n} > d = {d}")
    a2 = check_real("init_scale", init_scale, low=1e-4, high=1e3) ** 2
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    check_budget("Newton flops (max_iter * n^2 d)", float(max_iter) * n * n * d, limit=1e13)
    A = X / math.sqrt(d)
    nu = np.zeros(n)
    ymax = 1.0 + float(np.abs(y).max())

    def dual(nu):
        s = A.T @ nu
        if np.abs(s).max() > 700:
            return np.inf, s
        return float(4 * a2 * np.sum(np.sinh(s / 2) ** 2) - nu @ y), s

    D, s = dual(nu)
    for it in range(1, max_iter + 1):
        beta = 2 * a2 * np.sinh(s)
        grad = A @ beta - y
        res = float(np.abs(grad).max())
        if res < tol * ymax:
            return ImplicitBiasResult(beta=beta, nu=nu, constraint_residual=res, n_iter=it - 1, converged=True)
        H = (A * (2 * a2 * np.cosh(s))) @ A.T
        H[np.diag_indices(n)] *= 1.0 + 1e-14
        try:
            L = np.linalg.cholesky(H)
            step = -solve_triangular(L.T, solve_triangular(L, grad, lower=True), lower=False)
        except np.linalg.LinAlgError:
            step = -np.linalg.lstsq(H, grad, rcond=None)[0]
        slope = float(grad @ step)
        lam = 1.0
        gnorm = float(grad @ grad)
        while True:
            D_new, s_new = dual(nu + lam * step)
            if D_new <= D + 1e-4 * lam * slope:
                break
            if np.isfinite(D_new) and D_new <= D + 1e-13 * (1.0 + abs(D)):
                # near the optimum the decrease is below round-off: accept if the gradient shrinks
                g_new = A @ (2 * a2 * np.sinh(s_new)) - y
                if float(g_new @ g_new) < gnorm:
                    break
            lam *= 0.5
            if lam < 1e-12:
                break
        if lam < 1e-12:
            break
        nu, D, s = nu + lam * step, D_new, s_new
    beta = 2 * a2 * np.sinh(s)
    raise ConvergenceError(f"implicit_bias: Newton did not reach tol={tol:g} in max_iter={max_iter} steps "
                           f"(residual {float(np.abs(A @ beta - y).max()):.3g}); is X of full row rank?", [])


def donoho_tanner(rho) -> np.ndarray:
    r"""The sparse-recovery threshold $\alpha_c(\rho)$ of $\ell_1$ minimisation (signed signals).

    Basis pursuit recovers a $\rho d$-sparse teacher from $n = \alpha d$ noiseless Gaussian measurements
    (for $d\to\infty$) iff $\alpha > \alpha_c(\rho)$, with (Donoho & Tanner 2009; Donoho, Maleki &
    Montanari 2009, the minimax soft-threshold risk)

    .. math:: \alpha_c(\rho) = \min_{\tau\ge0}\Bigl\{\rho(1+\tau^2) + 2(1-\rho)\bigl[(1+\tau^2)\Phi(-\tau) - \tau\phi(\tau)\bigr]\Bigr\}.

    This is the $a\to0$ limit of the flow's implicit bias.

    >>> [round(float(x), 4) for x in donoho_tanner([0.05, 0.1, 0.2])]
    [0.2039, 0.3288, 0.5111]
    """
    rho = np.atleast_1d(check_array("rho", rho, low=0.0, high=1.0))
    out = np.empty(rho.size)
    for k, r in enumerate(rho):  # scalar minimisations, one per rho
        def f(tau, r=r):
            phi = math.exp(-tau * tau / 2) / math.sqrt(2 * math.pi)
            return r * (1 + tau**2) + 2 * (1 - r) * ((1 + tau**2) * ndtr(-tau) - tau * phi)
        out[k] = minimize_scalar(f, bounds=(0.0, 10.0), method="bounded", options={"xatol": 1e-10}).fun if r < 1 else 1.0
    return out


# ----------------------------------------------------------------------------------------------
# The end point of the flow: the static (t -> infinity) limit of the DMFT
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StaticLimit(ReadOnlyArrays):
    r"""The $t\to\infty$ limit of the DMFT (:func:`static_limit`).

    Attributes
    ----------
    test_error : float, $E_g(\infty) = \mathbb E[(\mathcal P - \beta^*)^2]$.
    sigma_eff : float, the effective noise $\sigma_{\rm eff}$ of the Gaussian observation $\beta^* + \sigma_{\rm eff}z$.
    penalty : float, $1/\chi$ ($\chi$ the integrated response): the weight of $Q_a$ in the proximal map
        (0 at exact recovery, where $\chi\to\infty$).
    active_fraction : float, $\mathbb E[\mathcal P'] = \alpha$ at the solution (a check).
    residual : float, $|\alpha\sigma_{\rm eff}^2 - \sigma^2 - E_g|$ at the solution.
    alpha, rho, sigma2, init_scale : float.
    """

    test_error: float
    sigma_eff: float
    penalty: float
    active_fraction: float
    residual: float
    alpha: float
    rho: float
    sigma2: float
    init_scale: float


_Z_STATIC = np.linspace(-9.0, 9.0, 3601)                       # quadrature in z (smooth integrands)
_W_STATIC = np.exp(-_Z_STATIC**2 / 2) / math.sqrt(2 * math.pi) * (_Z_STATIC[1] - _Z_STATIC[0])
_W_STATIC[[0, -1]] /= 2


def prox_entropy(x, lam: float, init_scale: float):
    r"""The proximal map of $Q_a/\chi$ and its derivative: $\mathcal P(x) = \arg\min_b\,(b-x)^2/2 + a^2q(b/a^2)/\chi$.

    ``lam`` is the penalty weight $1/\chi$. $\mathcal P$ solves $b + \chi^{-1}\mathrm{asinh}(b/2a^2) = x$ (Newton in
    $u = \mathrm{asinh}(b/2a^2)$, started above the root, where the convex residual makes Newton monotone);
    $\mathcal P'(x) = 2a^2\cosh u/(2a^2\cosh u + \chi^{-1})$.
    ``init_scale = 0`` is the $\ell_1$ limit: soft thresholding at ``lam``.

    >>> b, db = prox_entropy(np.array([-3.0, 0.5, 3.0]), 1.0, 0.0)
    >>> b.tolist(), db.tolist()
    ([-2.0, 0.0, 2.0], [1.0, 0.0, 1.0])
    """
    x = check_array("x", x)
    lam = check_real("lam", lam, low=0.0)
    a = check_real("init_scale", init_scale, low=0.0, high=100.0)
    ax = np.abs(x)
    if a == 0.0:
        b = np.maximum(ax - lam, 0.0)
        return np.sign(x) * b, (ax > lam).astype(float)
    a2 = 2.0 * a * a
    if lam == 0.0:
        return x.copy(), np.ones_like(x)
    u = np.minimum(ax / lam, np.arcsinh(ax / a2))                # both one-term roots lie above the root
    for _ in range(200):
        f = a2 * np.sinh(u) + lam * u - ax
        step = f / (a2 * np.cosh(u) + lam)
        u = u - step
        if np.all(np.abs(step) <= 1e-13 * (1.0 + np.abs(u))):
            break
    cosh = a2 * np.cosh(u)
    return np.sign(x) * a2 * np.sinh(u), cosh / (cosh + lam)


def _static_moments(tau, lam, rho, a):
    """E[P'] and E[(P - beta*)^2] over beta* (strata) and z, for x = beta* + sigma_eff z (tau here)."""
    bs = 1.0 / math.sqrt(rho)
    x = np.concatenate([_Z_STATIC * tau, bs + _Z_STATIC * tau])
    b, db = prox_entropy(x, lam, a)
    m = _Z_STATIC.size
    w0, w1 = (1.0 - rho) * _W_STATIC, rho * _W_STATIC
    act = float(w0 @ db[:m] + w1 @ db[m:])
    err = float(w0 @ b[:m] ** 2 + w1 @ (b[m:] - bs) ** 2)
    return act, err


def static_limit(alpha: float, rho: float, sigma2: float, init_scale: float, tol: float = 1e-10) -> StaticLimit:
    r"""The end point of gradient flow for $d\to\infty$: the $t\to\infty$ limit of the DMFT (:func:`theory`).

    For $\alpha<1$ the flow interpolates and stops at $\arg\min Q_a$ on $X\beta/\sqrt d = y$
    (:func:`implicit_bias`). In the limit, each coordinate is the proximal map of a scalar problem,
    $\beta_i = \mathcal P(\beta_i^* + \sigma_{\rm eff} z_i)$, $\mathcal P = \mathrm{prox}_{Q_a/\chi}$ (:func:`prox_entropy`
    with ``lam`` $= 1/\chi$), $z_i\sim\mathcal N(0,1)$, with $(\sigma_{\rm eff},\chi)$ fixed by

    .. math::

        &\mathbb E[\mathcal P'(\beta^*+\sigma_{\rm eff} z)] = \alpha,\\
        &\alpha\sigma_{\rm eff}^2 = \sigma^2 + \mathbb E[(\mathcal P(\beta^*+\sigma_{\rm eff} z) - \beta^*)^2],\\
        &E_g(\infty) = \alpha\sigma_{\rm eff}^2 - \sigma^2

    (Donoho, Maleki & Montanari 2009 for $\ell_1$; Thrampoulidis, Abbasi & Hassibi 2018 for separable
    penalties). $a\to\infty$ gives the minimum-norm interpolator, $E_g = 1-\alpha+\alpha\sigma^2/(1-\alpha)$;
    ``init_scale = 0`` is $\ell_1$ minimisation (basis pursuit), whose $E_g$ vanishes for $\sigma = 0$ and
    $\alpha > \alpha_c(\rho)$ (:func:`donoho_tanner`).

    The expectations are quadratures on a uniform grid of 3601 points in $z\in[-9, 9]$; the inner
    equation is solved for $\log\chi$ at each $\sigma_{\rm eff}$, then the outer one for $\log\sigma_{\rm eff}^2$ (Brent).

    Parameters
    ----------
    alpha : in (0, 1) (for $\alpha\ge1$ the flow converges to least squares).
    rho : in (0, 1]; sigma2 : >= 0; init_scale : $a\in[0, 100]$ (0: the $\ell_1$ limit).
    tol : relative tolerance of the root finders.

    Examples
    --------
    >>> round(static_limit(0.5, 0.1, 0.0, 100.0).test_error, 4)       # min-norm: 1 - alpha
    0.5
    >>> round(static_limit(0.5, 0.1, 0.0, 0.0).test_error, 6)         # l1 above alpha_c(0.1) = 0.329
    0.0
    """
    from scipy.optimize import brentq

    alpha = check_real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    rho = check_real("rho", rho, low=0.0, high=1.0, low_open=True)
    sigma2 = check_real("sigma2", sigma2, low=0.0, high=1e4)
    a = check_real("init_scale", init_scale, low=0.0, high=100.0)
    tol = check_real("tol", tol, low=1e-15, high=1e-2)

    def lam_of(tau):
        # E[P'] decreases from 1 (lam = 0) to 0 (lam -> infinity): bracket log(lam), then Brent
        f = lambda ll: _static_moments(tau, math.exp(ll), rho, a)[0] - alpha
        lo, hi = math.log(tau) - 8.0, math.log(tau) + 8.0
        while f(lo) < 0:
            lo -= 8.0
        while f(hi) > 0:
            hi += 8.0
        return math.exp(brentq(f, lo, hi, xtol=tol, rtol=tol))

    def g(ls):                       # (sigma^2 + E_g) / alpha - tau^2, relative
        tau = math.exp(ls / 2)
        err = _static_moments(tau, lam_of(tau), rho, a)[1]
        return (sigma2 + err) / (alpha * tau * tau) - 1.0

    hi = math.log((sigma2 + 1.0) / alpha) + 1.0
    while g(hi) > 0:
        hi += 2.0
    lo = hi - 4.0
    floor = math.log(1e-24)
    while lo > floor and g(lo) < 0:
        lo -= 4.0
    if lo <= floor:                  # exact recovery (sigma = 0, l1 above the transition): tau -> 0
        tau = 0.0
        lam, err = 0.0, 0.0
        act = alpha
    else:
        ls = brentq(g, lo, hi, xtol=tol, rtol=tol)
        tau = math.exp(ls / 2)
        lam = lam_of(tau)
        act, err = _static_moments(tau, lam, rho, a)
    res = abs(alpha * tau * tau - sigma2 - err)
    if not np.isfinite(err):
        raise ConvergenceError("static_limit: non-finite moments", [res])
    return StaticLimit(test_error=float(err), sigma_eff=float(tau), penalty=float(lam),
                       active_fraction=float(act),
                       residual=float(res), alpha=alpha, rho=rho, sigma2=sigma2, init_scale=a)


def phase_diagram(alphas, rhos, sigma2: float, init_scale: float) -> np.ndarray:
    r"""$E_g(\infty)$ of :func:`static_limit` on a grid: array ``(len(rhos), len(alphas))``.

    One scalar root-finding problem per point (about 0.1 s each). With ``sigma2 = 0`` and
    ``init_scale = 0`` the zero set is the recovery region $\alpha > \alpha_c(\rho)$ (:func:`donoho_tanner`).

    >>> phase_diagram([0.2, 0.6], [0.1], 0.0, 0.0).round(3).tolist()
    [[0.904, 0.0]]
    """
    alphas = check_array("alphas", alphas, low=0.0, high=1.0)
    rhos = check_array("rhos", rhos, low=0.0, high=1.0)
    if alphas.ndim != 1 or rhos.ndim != 1 or alphas.size == 0 or rhos.size == 0:
        raise ValueError("alphas and rhos must be non-empty one-dimensional arrays")
    if alphas.min() <= 0 or alphas.max() >= 1 or rhos.min() <= 0:
        raise ValueError("alphas must lie in (0, 1) and rhos in (0, 1]")
    check_budget("static solves (len(alphas) len(rhos))", float(alphas.size * rhos.size), limit=5e3)
    out = np.empty((rhos.size, alphas.size))
    for i, r in enumerate(rhos):          # scalar root-finding problems, one per grid point
        for j, al in enumerate(alphas):
            out[i, j] = static_limit(float(al), float(r), sigma2, init_scale).test_error
    return out


# ----------------------------------------------------------------------------------------------
# DMFT
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiagonalLinearTheory(ReadOnlyArrays):
    r"""The $d\to\infty$ DMFT of the flow.

    Attributes
    ----------
    t, test_error : (m,) arrays
        The requested times and $E_g(t)$ (interpolated in $\log t$ from the solver's grid).
    test_error_sem : (m,) array, Monte Carlo standard error of ``test_error`` over the sampled sites.
    grid : (n,) array, the solver's grid (:func:`time_grid`).
    grid_test_error : (n,) array, $E_g$ on the grid.
    C : (n, n) array, $C_e(t,t') = \langle e(t)e(t')\rangle$, $e = \beta - \beta^*$ (sites averaged).
    R : (n, n) array, discrete response $R(t_k, t_l) = \langle\partial e(t_k)/\partial F(t_l)\rangle$, causal.
    R_r : (n, n) array, data-side response $(I + R/\alpha)^{-1}$.
    C_r : (n, n) array, residual correlation $R_r(\sigma^2 + C_e)R_r^\top$; ``train_error`` its diagonal.
    beta_paths : (k, n) array, a few site trajectories $\beta(t)$ of the last pass: the first half with
        $\beta^* = +1/\sqrt\rho$, the rest with $\beta^* = 0$.
    residuals : (n_iter,) array, relative change of ``(C, R)`` at each iteration.
    n_iter, converged, n_samples, n_response, wall_time.
    alpha, rho, sigma2, init_scale : float.
    """

    t: np.ndarray
    test_error: np.ndarray
    test_error_sem: np.ndarray
    train_error: np.ndarray
    grid: np.ndarray
    grid_test_error: np.ndarray
    C: np.ndarray
    R: np.ndarray
    R_r: np.ndarray
    C_r: np.ndarray
    beta_paths: np.ndarray
    residuals: np.ndarray
    n_iter: int
    converged: bool
    n_samples: int
    n_response: int
    wall_time: float
    alpha: float
    rho: float
    sigma2: float
    init_scale: float


def time_grid(t_max: float, n: int, tau: float) -> np.ndarray:
    r"""The solver's grid: ``n`` points uniform in $u = \log(1 + t/\tau)$ from 0 to ``t_max``.

    Uniform (step $\approx\tau\,\Delta u$) for $t\ll\tau$, geometric (ratio $e^{\Delta u}$) for
    $t\gg\tau$: ``tau`` is the first time scale to resolve.

    >>> time_grid(10.0, 4, 10.0 / 7.0).round(3).tolist()
    [0.0, 1.429, 4.286, 10.0]
    """
    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    n = check_int("n", n, low=3, high=5000)
    tau = check_real("tau", tau, low=0.0, low_open=True)
    u = np.linspace(0.0, math.log1p(t_max / tau), n)
    grid = tau * np.expm1(u)
    grid[-1] = t_max
    return grid


def _bdf2_coefficients(grid):
    """Variable-step BDF2: ``phi[k] = A1 phi[k-1] - A0 phi[k-2] + B h F[k]`` (implicit Euler for k = 1)."""
    h = np.diff(grid)
    A1, A0, Bh = np.ones(grid.size), np.zeros(grid.size), np.zeros(grid.size)
    Bh[1] = h[0]
    w = h[1:] / h[:-1]
    A1[2:] = (1 + w) ** 2 / (1 + 2 * w)
    A0[2:] = w**2 / (1 + 2 * w)
    Bh[2:] = h[1:] * (1 + w) / (1 + 2 * w)
    return A1, A0, Bh


def _solve_site_step(rhs, c, a2, bstar, phi0):
    """Solve ``phi + c (2 a^2 sinh(4 phi) - bstar) = rhs`` (increasing in phi) by safeguarded Newton."""
    phi = phi0.copy()
    for _ in range(100):
        sh = np.sinh(4 * phi)
        f = phi + c * (2 * a2 * sh - bstar) - rhs
        fp = 1.0 + c * 8 * a2 * np.cosh(4 * phi)
        step = np.clip(f / fp, -0.5, 0.5)
        phi -= step
        if np.all(np.abs(step) <= 1e-13 * (1.0 + np.abs(phi))):
            break
    return phi


def _sqrt_psd(C):
    lam, V = np.linalg.eigh(symmetrize(C))
    return (V * np.sqrt(np.clip(lam, 0.0, None))) @ V.T


def _dmft_pass(Ce, R, Z, bstar, wts, idx_resp, wts_resp, grid, coef, alpha, sigma2, a2, want_paths=False):
    """One pass of the sampled single site at fixed kernels; returns new ``(Ce, R)`` and diagnostics."""
    n = grid.size
    A1, A0, Bh = coef
    I = np.eye(n)
    Rr = solve_triangular(I + R / alpha, I, lower=True)
    Cr = symmetrize(Rr @ (sigma2 + Ce) @ Rr.T)
    zeta = _sqrt_psd(Cr / alpha) @ Z              # the field eta/alpha, covariance C_r/alpha (fixed Z), (n, S)
    S = Z.shape[1]
    phi = np.zeros((n, S))                         # time-major: rows are times
    e = np.empty((n, S))
    e[0] = -bstar
    b = idx_resp.size
    D = np.zeros((b, n, n))                       # tangents d phi[k] / d kick[s] on the sub-batch
    g = np.empty((b, n))
    g[:, 0] = 8 * a2
    Rnew = np.zeros((n, n))
    for k in range(1, n):
        mem = Rr[k, 1:k] @ e[1:k] if k > 1 else 0.0
        prev2 = phi[k - 2] if k > 1 else 0.0
        rhs = A1[k] * phi[k - 1] - A0[k] * prev2 + Bh[k] * (zeta[k] - mem)
        c = Bh[k] * Rr[k, k]
        phi[k] = _solve_site_step(rhs, c, a2, bstar, phi[k - 1])
        if not np.all(np.isfinite(phi[k])):
            raise ConvergenceError(f"DMFT site integration stopped being finite at t = {grid[k]:g}", [])
        beta_k = 2 * a2 * np.sinh(4 * phi[k])
        e[k] = beta_k - bstar
        # tangent rows
        gk = 4 * np.sqrt(beta_k[idx_resp] ** 2 + 4 * a2 * a2)
        g[:, k] = gk
        Dk = A1[k] * D[:, k - 1, :]
        if k > 1:
            Dk -= A0[k] * D[:, k - 2, :]
            w = (g[:, 1:k] * Rr[k, 1:k][None, :])[:, None, :]           # (b, 1, k-1)
            Dk -= Bh[k] * np.matmul(w, D[:, 1:k, :])[:, 0, :]
        Dk[:, k] += Bh[k]
        Dk /= (1.0 + c * gk)[:, None]
        D[:, k, :] = Dk
        Rnew[k] = wts_resp @ (gk[:, None] * Dk)
    Ce_new = symmetrize((e * wts[None, :]) @ e.T)
    Rnew = np.tril(Rnew)
    paths = None
    if want_paths:
        paths = ((e**2).T, (2 * a2 * np.sinh(4 * phi)).T)
    return Ce_new, Rnew, Rr, Cr, paths


def _whiten(Z, bstar):
    r"""Moment matching: within each stratum, make the normal draws exactly centred and white (``Z Z^T / m = I``).

    The sampled field then has exactly the covariance it is built for; without this, the sample
    covariance of ``m`` draws of an ``n``-point path is off by $O(\sqrt{n/m})$ in its extreme
    directions, and the self-consistent solution inherits that error."""
    Z = Z.copy()
    for v in np.unique(bstar):
        cols = np.flatnonzero(bstar == v)
        Zc = Z[:, cols] - Z[:, cols].mean(axis=1, keepdims=True)     # zero mean: no spurious field-teacher term
        q, _ = np.linalg.qr(Zc.T)
        Z[:, cols] = math.sqrt(cols.size) * q.T
    return Z


def _strata(S_st, b_st, S0, S1, rho):
    """Sub-sample ``S_st`` of the ``S0 + S1`` stratified sites (half per stratum), with weights and tangent batch."""
    m1 = S_st if rho == 1.0 else S_st // 2
    m0 = S_st - m1
    sel = np.concatenate([np.arange(m0), S0 + np.arange(m1)])
    wts = np.concatenate([np.full(m0, (1 - rho) / max(m0, 1)), np.full(m1, rho / m1)])
    c1 = b_st if rho == 1.0 else b_st // 2
    c0 = b_st - c1
    idx = np.concatenate([np.arange(c0), m0 + np.arange(c1)])
    wr = np.concatenate([np.full(c0, (1 - rho) / max(c0, 1)), np.full(c1, rho / c1)])
    return sel, wts, idx, wr


def theory(alpha: float, rho: float, sigma2: float, init_scale: float, t, n_grid: int = 160,
           tau: float | None = None, n_samples: int = 8000, n_response: int = 400, damping: float = 0.3,
           tol: float = 1e-4, max_iter: int = 300, seed: int = 0) -> DiagonalLinearTheory:
    r"""The $d\to\infty$ DMFT of the diagonal network's gradient flow (conventions in the module docstring).

    The single site (one coordinate $i$, quenched $\beta^*\in\{0,\pm1/\sqrt\rho\}$) is the mirror flow

    .. math::

        &\dot\varphi(t) = \zeta(t) - \int_0^t R_r(t,s)\,e(s)\,ds,\\
        &e = 2a^2\sinh(4\varphi) - \beta^*,\qquad
        \varphi(0) = 0,

    with a Gaussian field $\zeta$ of covariance $C_r/\alpha$ and the data-side kernels

    .. math::

        &R_r = (I + R/\alpha)^{-1},\qquad C_r = R_r\,(\sigma^2\mathbf 1\mathbf 1^\top + C_e)\,R_r^\top,\\
        &C_e(t,t') = \langle e(t)e(t')\rangle,\quad R(t,t') = \Bigl\langle\frac{\partial e(t)}{\partial \zeta(t')}\Bigr\rangle,

    ($R_r = \delta + \tilde R_r$ contains the instantaneous term $-e(t)$). $E_g = C_e(t,t)$,
    $E_{\rm train} = C_r(t,t)$.

    Numerics. Time is discretised on a grid (:func:`time_grid`: uniform, then geometric, up to ``max(t)``) by the variable-step BDF2 scheme (implicit, second order, stable for the stiff lazy regime);
    the equations above are then the *exact* DMFT of that discrete dynamics, with kernels as matrices
    (no quadrature of kernels across coarse steps). Sites are sampled with stratification over
    $\beta^*$ (half the samples active; the sign symmetry $\beta^*\to-\beta^*$ is used), the field
    from a fixed set of normal draws (so the map of the kernels is deterministic), the response from tangent
    dynamics on ``n_response`` samples. The kernels $(C_e, R)$ are iterated to a damped fixed point.

    Parameters
    ----------
    alpha, rho, sigma2, init_scale : the model ($\alpha\in(0, 100]$, $\rho\in(0,1]$,
        $\sigma^2\ge0$, $a\in[10^{-4}, 100]$).
    t : increasing times >= 0 at which to report $E_g$ (at most ``max(t)`` sets the horizon).
    n_grid : grid points (cost $O(S n^2 + b n^3)$ per iteration, memory $8(2Sn + bn^2)$ bytes).
    tau : time scale of the grid (:func:`time_grid`; default $1/((8a^2+1)\lambda_+)$,
        $\lambda_+ = (1+\sqrt\alpha)^2/\alpha$ the top of the data spectrum).
    n_samples (S), n_response (b) : sampled sites and the sub-batch carrying tangents.
    damping, tol, max_iter : damped iteration, stopped when the relative change of ``(C_e, R)`` is below ``tol``.
    seed : seed of the normal draws.

    Raises
    ------
    ConvergenceError if the iteration does not converge or diverges.

    Examples
    --------
    Lazy regime ($a = 10$): the error falls to $1-\alpha$ by $t\approx10^{-3}$.

    >>> th = theory(0.5, 0.1, 0.0, 10.0, [0.0, 0.001, 40.0], n_grid=30, n_samples=400, n_response=20)
    >>> [round(float(x), 2) for x in th.test_error], th.converged
    ([1.0, 0.58, 0.5], True)
    """
    start = time.perf_counter()
    alpha, rho, sigma2, a = _check_params(alpha, rho, sigma2, init_scale)
    t = check_time_grid("t", t)
    n = check_int("n_grid", n_grid, low=8, high=2000)
    S = check_int("n_samples", n_samples, low=20, high=10**6)
    b = check_int("n_response", n_response, low=4, high=S)
    damping = check_real("damping", damping, low=0.0, high=1.0, high_open=True)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1, high=10**4)
    seed = check_seed("seed", seed, allow_none=False)
    t_max = float(t[-1])
    if t_max <= 0:
        raise ValueError("t must contain a positive time")
    lam_plus = (1 + math.sqrt(alpha)) ** 2 / alpha
    if tau is None:
        tau = 1.0 / ((8 * a * a + 1.0) * lam_plus)
    tau = check_real("tau", tau, low=0.0, low_open=True)
    S_first = min(S, max(400, S // 8))
    if (S_first // 2 if rho < 1 else S_first) < n:
        raise ValueError(f"n_samples must be at least 2 n_grid (each stratum whitened on the grid); "
                         f"got n_samples = {S}, n_grid = {n}")
    check_budget("flops per iteration (S n^2 + b n^3)", float(S) * n * n + float(b) * n**3, limit=2e11)
    check_budget("doubles (S n + b n^2)", 4.0 * S * n + float(b) * n * n, limit=2**28)
    grid = time_grid(t_max, n, tau)
    coef = _bdf2_coefficients(grid)
    a2 = a * a
    # strata: beta* = 0 (weight 1 - rho) and beta* = +1/sqrt(rho) (weight rho); half the samples each
    S1 = S if rho == 1.0 else S // 2
    S0 = S - S1
    bstar = np.concatenate([np.zeros(S0), np.full(S1, 1 / math.sqrt(rho))])
    sel, wts, idx_resp, wts_resp = _strata(S, b, S0, S1, rho)
    Z = np.random.default_rng(seed).standard_normal((n, S))
    Ce = np.ones((n, n))
    R = np.zeros((n, n))
    residuals = []
    converged = False
    # two stages: a cheap run (S/8 sites, b/4 tangents) carries the causal front through the grid,
    # then the full sample refines the fixed point from there
    stages = [(min(S, max(400, S // 8)), min(b, max(40, b // 4)), max(tol, 1e-2)), (S, b, tol)]
    it = 0
    for S_st, b_st, tol_st in stages:
        sel, wts_st, idx_st, wts_resp_st = _strata(S_st, b_st, S0, S1, rho)
        Z_st, bstar_st = _whiten(Z[:, sel], bstar[sel]), bstar[sel]
        while True:
            it += 1
            Ce_new, R_new, _, _, _ = _dmft_pass(Ce, R, Z_st, bstar_st, wts_st, idx_st, wts_resp_st, grid, coef,
                                                alpha, sigma2, a2)
            r = (float(np.abs(Ce_new - Ce).max() / max(np.abs(Ce_new).max(), 1e-300))
                 + float(np.abs(R_new - R).max() / max(np.abs(R_new).max(), 1e-300)))
            residuals.append(r)
            if not np.isfinite(r) or np.abs(Ce_new).max() > 1e8:
                raise ConvergenceError(f"DMFT iteration diverged at iteration {it} (residual {r:.3g})", residuals)
            Ce = damping * Ce + (1 - damping) * Ce_new
            R = damping * R + (1 - damping) * R_new
            if r < tol_st or it >= max_iter:
                break
        if r >= tol_st:
            break
    converged = r < tol
    if not converged:
        raise ConvergenceError(f"DMFT did not reach tol={tol:g} in max_iter={max_iter} iterations "
                               f"(damping={damping:g}); last residual {residuals[-1]:.3g}", residuals)
    Z = _whiten(Z, bstar)
    Ce, R, Rr, Cr, (e2, beta) = _dmft_pass(Ce, R, Z, bstar, wts, idx_resp, wts_resp, grid, coef, alpha, sigma2, a2,
                                            want_paths=True)
    eg_grid = np.diag(Ce).copy()
    # Monte Carlo standard error of E_g (stratified)
    var = np.zeros(n)
    for sl, wsum, cnt in ((slice(0, S0), 1 - rho, S0), (slice(S0, S), rho, S1)):
        if cnt > 1:
            var += wsum**2 * e2[sl].var(axis=0, ddof=1) / cnt
    sem_grid = np.sqrt(var)
    eg = _interp_grid(t, grid, eg_grid, tau)
    sem = _interp_grid(t, grid, sem_grid, tau)
    et = _interp_grid(t, grid, np.diag(Cr), tau)
    k = 4
    paths = np.concatenate([beta[S0:S0 + k], beta[:min(k, S0)]])
    return DiagonalLinearTheory(t=t, test_error=eg, test_error_sem=sem, train_error=et, grid=grid,
                                grid_test_error=eg_grid, C=Ce, R=R, R_r=Rr, C_r=Cr, beta_paths=paths,
                                residuals=np.array(residuals), n_iter=len(residuals), converged=converged,
                                n_samples=S, n_response=b, wall_time=time.perf_counter() - start,
                                alpha=alpha, rho=rho, sigma2=sigma2, init_scale=a)


def _interp_grid(t, grid, f, tau):
    r"""Interpolate ``f`` given on ``grid`` at ``t``: monotone cubic (PCHIP) in $u = \log(1 + t/\tau)$, the grid's variable."""
    return PchipInterpolator(np.log1p(grid / tau), f)(np.log1p(t / tau))


# ----------------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiagonalLinearSimulation(ReadOnlyArrays):
    """Finite-d gradient flow, mean over seeds.

    Attributes
    ----------
    t, test_error, test_error_sem, train_error : (m,) arrays (mean and standard error over seeds).
    per_seed : (n_seeds, m) array of $E_g$ per seed.
    beta : (n_seeds, d) array, $\\beta$ at the last time.
    beta_paths : (k, m) array, a few coordinates $\\beta_i(t)$ of the first seed (active ones first).
    n_steps : int, Runge-Kutta steps taken; d, n, n_seeds : int.
    alpha, rho, sigma2, init_scale : float.
    """

    t: np.ndarray
    test_error: np.ndarray
    test_error_sem: np.ndarray
    train_error: np.ndarray
    per_seed: np.ndarray
    beta: np.ndarray
    beta_paths: np.ndarray
    n_steps: int
    d: int
    n: int
    n_seeds: int
    alpha: float
    rho: float
    sigma2: float
    init_scale: float


def simulate(d: int, alpha: float, rho: float, sigma2: float, init_scale: float, t, seeds,
             step_factor: float = 1.0, freeze_tol: float = 1e-10) -> DiagonalLinearSimulation:
    r"""Gradient flow of the diagonal network at finite $d$, seeds batched on a leading axis.

    Integrates the mirror form $\dot\varphi = \frac1\alpha A^\top(y - A\beta)$, $A = X/\sqrt d$,
    $\beta = 2a^2\sinh(4\varphi)$ (identical to the $(u, v)$ flow) with classical RK4. The step is
    ``step_factor`` over the current stiffness $\lambda_{\max}(A^\top A\,\mathrm{diag}(g))/\alpha$,
    $g = 4\sqrt{\beta^2+4a^4}$ (estimated by power iteration, with a 30 % margin; RK4 is stable up to
    2.78), at most 0.25 and never past the next output time. When the remaining motion is negligible,
    $\max|\dot\beta|\,(t_{\rm end} - t) <$ ``freeze_tol``, the state is held (a converged flow).

    Parameters
    ----------
    d : int >= 2; alpha, rho, sigma2, init_scale : the model; t : increasing output times >= 0.
    seeds : int n (range(n)) or distinct ints; seed ``s`` draws the data as :func:`make_data`.

    Memory: $8\,n_{seeds}\,n\,d$ bytes for the data. Cost: two batched matrix-vector products per stage.

    Examples
    --------
    >>> sim = simulate(100, 0.5, 0.1, 0.0, 1.0, [0.0, 1.0, 4.0], seeds=4)
    >>> [round(float(x), 2) for x in sim.test_error], sim.n_seeds
    ([1.0, 0.48, 0.48], 4)
    """
    d = check_int("d", d, low=2, high=20000)
    alpha, rho, sigma2, a = _check_params(alpha, rho, sigma2, init_scale)
    t = check_time_grid("t", t)
    seeds = check_seeds("seeds", seeds)
    if len(seeds) < 2:
        raise ValueError(f"seeds must hold at least 2 seeds (for a standard error); got {len(seeds)}")
    step_factor = check_real("step_factor", step_factor, low=0.0, high=2.0, low_open=True)
    freeze_tol = check_real("freeze_tol", freeze_tol, low=0.0, low_open=True)
    n = max(1, int(round(alpha * d)))
    B = len(seeds)
    check_budget("doubles (seeds x n x d)", float(B) * n * d, limit=2**28)
    lam_plus = (1 + math.sqrt(alpha)) ** 2 / alpha
    g_max0 = 4 * math.sqrt(1 / rho + 4 * a**4)
    est_steps = t[-1] * lam_plus * max(g_max0, 8 * a * a) * 1.3 / step_factor
    check_budget("seed x step x n x d work", float(B) * n * d * min(est_steps, 1e6), limit=5e13)
    X = np.empty((B, n, d))
    y = np.empty((B, n))
    bstar = np.empty((B, d))
    for i, s in enumerate(seeds):  # drawing only: one generator per seed
        X[i], y[i], bstar[i] = make_data(d, alpha, rho, sigma2, s)
    X /= math.sqrt(d)
    a2 = a * a

    def field(phi):
        beta = 2 * a2 * np.sinh(4 * phi)
        r = y - np.matmul(X, beta[:, :, None])[:, :, 0]
        return np.matmul(r[:, None, :], X)[:, 0, :] / alpha, beta, r

    rng = np.random.default_rng(12345)
    v = rng.standard_normal((B, d))
    phi = np.zeros((B, d))
    m = t.size
    eg = np.empty((B, m))
    et = np.empty((B, m))
    order = np.argsort(-np.abs(bstar[0]), kind="stable")
    track = np.concatenate([order[:4], order[-4:]])
    paths = np.empty((track.size, m))
    tc = 0.0
    n_steps = 0
    lam_est = None
    frozen = False
    F, beta, r = field(phi)
    for j, tout in enumerate(t):
        while tc < tout and not frozen:
            g = 4 * np.sqrt(beta**2 + 4 * a2 * a2)
            gsq = np.sqrt(g)
            if lam_est is None or n_steps % 10 == 0:
                g_ref = g
                for _ in range(6 if lam_est is None else 2):   # power iteration on diag(sqrt g) A^T A diag(sqrt g)
                    w = np.matmul(X, (gsq * v)[:, :, None])
                    v = gsq * np.matmul(np.transpose(X, (0, 2, 1)), w)[:, :, 0]
                    v /= np.linalg.norm(v, axis=1, keepdims=True)
                w = np.matmul(X, (gsq * v)[:, :, None])[:, :, 0]
                lam_est = float(np.max(np.sum(w * w, axis=1))) / alpha
            # spectral radius <= lam_est * max(g / g_ref): a bound between power iterations
            lam_now = lam_est * max(1.0, float(np.max(g / g_ref)))
            vel = float(np.max(np.abs(F) * g))
            h = min(0.25, step_factor / (1.3 * lam_now), 0.25 / (4 * float(np.max(np.abs(F))) + 1e-300), tout - tc)
            if vel * (t[-1] - tc) < freeze_tol:
                frozen = True
                break
            k1 = F
            k2 = field(phi + 0.5 * h * k1)[0]
            k3 = field(phi + 0.5 * h * k2)[0]
            k4 = field(phi + h * k3)[0]
            phi = phi + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            tc = tout if tout - tc <= h * (1 + 1e-12) else tc + h
            n_steps += 1
            F, beta, r = field(phi)
            if not np.all(np.isfinite(phi)):
                raise ValueError(f"simulate: the flow stopped being finite at t = {tc:g}; reduce step_factor")
        eg[:, j] = np.mean((beta - bstar) ** 2, axis=1)
        et[:, j] = np.mean(r**2, axis=1)
        paths[:, j] = beta[0, track]
    eg_m, eg_s = mean_sem(eg, axis=0)
    return DiagonalLinearSimulation(t=t, test_error=eg_m, test_error_sem=eg_s, train_error=et.mean(axis=0),
                                    per_seed=eg, beta=beta, beta_paths=paths, n_steps=n_steps, d=d, n=n, n_seeds=B,
                                    alpha=alpha, rho=rho, sigma2=sigma2, init_scale=a)


# ----------------------------------------------------------------------------------------------
# Plots
# ----------------------------------------------------------------------------------------------
def plot_learning_curves(alpha: float = 0.5, rho: float = 0.1, sigma: float = 0.0, init_scale: float = 0.1,
                         d: int = 100, seeds: int = 4, t_max: float = 40.0, ax=None):
    r"""Simulated $E_g(t)$ (log time) with two references: the lazy limit and the implicit-bias limit.

    The lazy reference is linear-regression gradient flow at time $8a^2t$
    (:func:`dmftlib.linear.gradient_flow_theory`); the implicit-bias line is $E_g$ of the entropy
    minimiser (:func:`implicit_bias`) on the same data (drawn when $\sigma = 0$, $\alpha<1$).
    Pure function of its parameters (the chapter's widget). Returns the axes.
    """
    from . import linear, plotting

    alpha, rho, _, a = _check_params(alpha, rho, 0.0, init_scale)
    sigma = check_real("sigma", sigma, low=0.0, high=100.0)
    t_max = check_real("t_max", t_max, low=0.01, high=1e3)
    if ax is None:
        _, ax = plotting.new_figure()
    lam_plus = (1 + math.sqrt(alpha)) ** 2 / alpha
    t = time_grid(t_max, 25, 1.0 / ((8 * a * a + 1) * lam_plus))
    sim = simulate(d, alpha, rho, sigma**2, a, t, seeds=seeds)
    plotting.plot_simulation(ax, t[1:], sim.test_error[1:], sim.test_error_sem[1:], N=d, n_seeds=sim.n_seeds,
                             label=plotting.simulation_label(d, sim.n_seeds).replace("N =", "d ="))
    lin = linear.gradient_flow_theory(alpha, sigma**2, 8 * a * a * t)
    ax.plot(t[1:], lin.test_error[1:], "--", color="gray", label=r"lazy limit: linear regression at $8a^2t$")
    if sigma == 0.0 and alpha < 1.0:
        eg = []
        for s in sim_seeds(seeds):
            X, y, b = make_data(d, alpha, rho, 0.0, s)
            eg.append(np.mean((implicit_bias(X, y, a) - b) ** 2))
        ax.axhline(float(np.mean(eg)), color="k", lw=1, ls=":", label=r"$E_g$ of the implicit bias $\arg\min Q_a$")
    ax.set_xscale("log")
    ax.set_xlabel("training time t")
    ax.set_ylabel(r"test error $E_g(t)$")
    ax.set_title(f"α = {alpha:g}, ρ = {rho:g}, σ = {sigma:g}, a = {a:g}")
    ax.set_ylim(0, max(1.05, 1.05 * float(np.max(sim.test_error))))
    ax.legend()
    return ax


def sim_seeds(seeds):
    """The tuple of seeds meant by ``seeds`` (:func:`dmftlib.core.check_seeds`)."""
    return check_seeds("seeds", seeds)


def plot_implicit_bias(alpha: float = 0.5, rho: float = 0.1, d: int = 150, seeds: int = 4, ax=None):
    r"""$E_g$ of the implicit bias against the initialisation scale $a$ (log axis), with :func:`static_limit`.

    Kernel regime ($a\to\infty$): the minimum-norm interpolator, $E_g\to1-\alpha$. Rich regime
    ($a\to0$): $\ell_1$ minimisation, exact recovery when $\alpha > \alpha_c(\rho)$
    (:func:`donoho_tanner`). Pure function of its parameters. Returns the axes.
    """
    from . import plotting

    alpha, rho, _, _ = _check_params(alpha, rho, 0.0, 1.0)
    if alpha >= 1:
        raise ValueError(f"alpha must be < 1 for an interpolation problem; got {alpha}")
    if ax is None:
        _, ax = plotting.new_figure()
    a_list = np.geomspace(1e-3, 30.0, 10)
    data = [make_data(d, alpha, rho, 0.0, s) for s in sim_seeds(seeds)]
    eg = np.array([[np.mean((implicit_bias(X, y, a) - b) ** 2) for (X, y, b) in data] for a in a_list])
    m, sem = mean_sem(eg, axis=1)
    a_fine = np.geomspace(1e-3, 30.0, 25)
    plotting.plot_theory(ax, a_fine, [static_limit(alpha, rho, 0.0, a).test_error for a in a_fine],
                         label=r"$d\to\infty$ (static limit of the DMFT)")
    plotting.plot_simulation(ax, a_list, m, sem, N=d, n_seeds=len(data),
                             label=f"implicit bias, d = {d}, {len(data)} seeds")
    ax.axhline(1 - alpha, color="gray", ls="--", lw=1, label=r"min-norm limit $1-\alpha$")
    ax.set_xscale("log")
    ax.set_xlabel("initialisation scale a")
    ax.set_ylabel(r"$E_g$ of $\arg\min Q_a$")
    ac = float(donoho_tanner([rho])[0])
    ax.set_title(f"α = {alpha:g}, ρ = {rho:g}   (ℓ1 recovery needs α > α_c(ρ) = {ac:.3f})")
    ax.set_ylim(bottom=0)
    ax.legend()
    return ax
