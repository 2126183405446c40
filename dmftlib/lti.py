r"""Linear time-invariant dynamics with a random matrix: the response is the resolvent.

The model is the linear stochastic system

.. math:: &\frac{dx}{dt} = -A\,x + \xi(t),\qquad \langle\xi_i(t)\xi_j(t')\rangle = 2T\,\delta_{ij}\,\delta(t-t'),\\
          &x_i(0)\ \text{i.i.d.},\ \mathbb E\,x_i(0)^2 = c_0,

with a random $N\times N$ matrix $A$ drawn from one of three stable ensembles
(conventions of :mod:`dmftlib.core.rmt`):

* ``"goe"``: $A = aI + J$, $J$ GOE with off-diagonal variance $\sigma^2/N$
  (semicircle of radius $2\sigma$); stable for $a > 2\sigma$.
* ``"wishart"``: $A = aI + X^\top X/P$, $X\in\mathbb R^{P\times N}$ with entries of
  variance $\sigma^2$, $\alpha = P/N$ (Marchenko-Pastur); stable when the lowest point
  of the spectrum, $a$ (if $\alpha\le 1$, atom at zero) or $a+\lambda_-$, is positive.
* ``"ginibre"``: $A = aI + J$, $J$ real Ginibre with entries of variance $\sigma^2/N$
  (circular law of radius $\sigma$); stable for $a > \sigma$. ``normal=True`` replaces
  $A$ by the *normal* matrix with the same eigenvalues.

Three self-averaging observables are computed, in the same time units as the equation above:

.. math::
    &R(\tau) = \tfrac1N\operatorname{tr} e^{-A\tau},\qquad
    C(t,t) = \tfrac1N\,\mathbb E\,\lVert x(t)\rVert^2,\\
    &C_{\rm st}(\tau) = \lim_{t\to\infty}\tfrac1N\,\mathbb E\, x(t+\tau)\cdot x(t).

The Laplace transform of the response is $\hat R(s) = \frac1N\operatorname{tr}(s+A)^{-1} = -G_A(-s)$,
with $G_A$ the Stieltjes transform of :mod:`dmftlib.core.rmt`.
``theory`` gives the $N\to\infty$ values from the limiting spectrum (Hermitian and normal
cases) or from the Bessel-function solution of the DMFT (Ginibre); ``simulate`` evaluates the
same traces exactly for sampled matrices (the average over $x(0)$ and the noise is done
analytically, only the disorder is sampled), batched over seeds; ``simulate_trajectories``
integrates single noisy runs and measures the same quantities on them. The DMFT equations themselves
are solved by ``dmft_response_laplace``, ``dmft_response`` and ``dmft_correlation_iid``.

After the review of Bordelon & Pehlevan, *Disordered dynamics in high dimensions: connections
to random matrices and machine learning* (2025).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numbers

import numpy as np
from scipy import integrate as _integrate
from scipy import special as _special

from .core import (ConvergenceError, causal_weights, check_array, check_choice, check_int, check_real,
                   damped_fixed_point, mean_sem, project_psd, rmt, symmetrize)
from .plotting import new_figure, plot_simulation, plot_theory, simulation_label
from .core import ReadOnlyArrays, check_budget, check_public, check_seed, check_seeds

__all__ = [
    "ENSEMBLES", "LTITheory", "LTISimulation", "TrajectorySimulation", "simulate_trajectories", "LaplaceResponse", "DMFTResponse", "DMFTCorrelation",
    "TransientGrowth", "stability_margin", "spectral_quadrature", "response_hat", "theory", "simulate",
    "response_from_contour", "dmft_response_laplace", "dmft_response", "dmft_correlation_iid",
    "transient_growth", "numerical_abscissa", "sample_matrices",
    "plot_spectrum", "plot_response", "plot_correlation", "plot_transient_growth", "plot_lti",
    "plot_theory_vs_simulations", "plot_normal_comparison",
]

ENSEMBLES = ("goe", "wishart", "ginibre")

# --------------------------------------------------------------------------- validation


def _check_model(ensemble, a, sigma, alpha, T, c0):
    ensemble = check_choice("ensemble", ensemble, ENSEMBLES)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    a = check_real("a", a)
    T = check_real("T", T, low=0.0)
    c0 = check_real("c0", c0, low=0.0)
    lowest = _lowest_real_part(ensemble, sigma, alpha)
    if a + lowest <= 0:
        raise ValueError(f"a must be a finite real number in ({-lowest:g}, inf) for a stable {ensemble} "
                         f"dynamics (sigma={sigma:g}, alpha={alpha:g}); got {a!r}")
    return ensemble, float(a), sigma, alpha, T, c0


def _lowest_real_part(ensemble, sigma, alpha):
    """Lowest real part of the limiting spectrum of ``A - a I``."""
    if ensemble == "goe":
        return -2.0 * sigma
    if ensemble == "ginibre":
        return -sigma
    return 0.0 if alpha <= 1.0 else rmt.mp_edges(alpha, sigma**2)[0]


def stability_margin(ensemble: str, a: float, sigma: float = 1.0, alpha: float = 2.0) -> float:
    r"""Smallest real part of the limiting spectrum of $A$ (positive iff the dynamics is stable).

    >>> stability_margin("goe", 3.0), stability_margin("ginibre", 1.5), stability_margin("wishart", 0.0, alpha=4.0)
    (1.0, 0.5, 0.25)
    """
    ensemble = check_choice("ensemble", ensemble, ENSEMBLES)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    a = check_real("a", a)
    return float(a + _lowest_real_part(ensemble, sigma, alpha))


def _check_times(name, t):
    return check_array(name, t, ndim=1, low=0.0)


# --------------------------------------------------------------------------- spectra


def _gauss_chebyshev_u(n):
    """Nodes and weights of $\\int_{-1}^1\\sqrt{1-u^2} f(u) du \\approx \\sum_k w_k f(u_k)$."""
    k = np.arange(1, n + 1)
    th = k * np.pi / (n + 1)
    return np.cos(th), np.pi / (n + 1) * np.sin(th) ** 2


def spectral_quadrature(ensemble: str, a: float, sigma: float = 1.0, alpha: float = 2.0, n_quad: int = 400):
    r"""Nodes $\lambda_k$ and weights $w_k$ with $\int\rho_A(\lambda) f(\lambda)\,d\lambda \approx \sum_k w_k f(\lambda_k)$.

    For ``"goe"`` and ``"wishart"`` this is the spectrum of the Hermitian $A$; for ``"ginibre"``
    it is the marginal density of $\operatorname{Re}\lambda$ on the circular-law disk (a
    semicircle of radius $\sigma$), enough for every function of $\operatorname{Re}\lambda$.
    Gauss-Chebyshev quadrature of the second kind absorbs the square-root edges, so smooth
    integrands converge exponentially in ``n_quad``; the Marchenko-Pastur atom (mass
    $1-\alpha$ at $\lambda = a$ when $\alpha<1$) is one extra node.

    >>> lam, w = spectral_quadrature("wishart", a=0.5, alpha=0.5)
    >>> round(float(w.sum()), 10), round(float(w @ lam), 10)      # mass 1, mean a + sigma^2
    (1.0, 1.5)
    """
    ensemble = check_choice("ensemble", ensemble, ENSEMBLES)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    a = check_real("a", a)
    n_quad = check_int("n_quad", n_quad, low=2)
    u, w = _gauss_chebyshev_u(n_quad)
    if ensemble == "goe":                       # rho du = (2/pi) sqrt(1-u^2) du, lambda = 2 sigma u
        return a + 2 * sigma * u, 2 / np.pi * w
    if ensemble == "ginibre":                   # marginal of Re z on the disk: semicircle of radius sigma
        return a + sigma * u, 2 / np.pi * w
    lm, lp = rmt.mp_edges(alpha, sigma**2)
    m, h = (lp + lm) / 2, (lp - lm) / 2
    x = m + h * u
    weights = w * h**2 / (2 * np.pi * sigma**2 / alpha * x)
    atom = rmt.marchenko_pastur_atom(alpha)
    if atom > 0:
        return np.append(a + x, a), np.append(weights, atom)
    return a + x, weights


def response_hat(s, ensemble: str, a: float, sigma: float = 1.0, alpha: float = 2.0):
    r"""Laplace transform of the response, $\hat R(s) = \frac1N\operatorname{tr}(s + A)^{-1} = -G_A(-s)$.

    Uses the Stieltjes transforms of :mod:`dmftlib.core.rmt` with $G_{aI+B}(z) = G_B(z-a)$; for
    the Ginibre ensemble $G_J(z) = 1/z$ outside the disk, so $\hat R(s) = 1/(s+a)$
    (valid for $|s+a|>\sigma$, which holds for real $s>-(a-\sigma)$).

    >>> round(float(response_hat(0.0, "goe", a=2.5).real), 6)    # G_sc(2.5) = (2.5 - 1.5)/2
    0.5
    """
    ensemble, a, sigma, alpha, _, _ = _check_model(ensemble, a, sigma, alpha, 0.0, 1.0)
    try:
        s = np.asarray(s, dtype=np.complex128)
    except (TypeError, ValueError):
        raise ValueError(f"s must be a number or an array of (complex) numbers; got {s!r}") from None
    if not np.all(np.isfinite(s)):
        raise ValueError("s must contain only finite values")
    z = -s - a                                           # G_A(-s) = G_B(-s - a)
    if ensemble == "goe":
        return -rmt.semicircle_stieltjes(z, sigma)
    if ensemble == "wishart":
        return -rmt.marchenko_pastur_stieltjes(z, alpha, sigma**2)
    return -1.0 / z


# --------------------------------------------------------------------------- theory


@dataclass(frozen=True)
class LTITheory(ReadOnlyArrays):
    r"""The $N\to\infty$ prediction.

    Attributes
    ----------
    t : times (also used as lags $\tau$), shape ``(n,)``.
    response : $R(\tau) = \lim \frac1N \operatorname{tr} e^{-A\tau}$.
    correlation : equal-time correlation $C(t,t) = \lim\frac1N\mathbb E\lVert x(t)\rVert^2$.
    stationary : stationary correlation $C_{\rm st}(\tau)$ (zero when ``T = 0``).
    ensemble, a, sigma, alpha, T, c0, normal : the parameters.
    method : how the values were obtained.
    """

    t: np.ndarray
    response: np.ndarray
    correlation: np.ndarray
    stationary: np.ndarray
    ensemble: str
    a: float
    sigma: float
    alpha: float
    T: float
    c0: float
    normal: bool
    method: str


def _normal_terms(x, w, t, T, c0):
    """Equal-time and stationary correlation of a normal matrix from a quadrature over Re(lambda)."""
    decay = np.exp(-2 * np.outer(t, x))                               # (n, q)
    growth = -np.expm1(-2 * np.outer(t, x)) / x                       # (1 - e^{-2 x t}) / x
    return decay @ w * c0 + T * (growth @ w)


def theory(ensemble: str, t, a: float, sigma: float = 1.0, alpha: float = 2.0, T: float = 0.0,
           c0: float = 1.0, normal: bool = False, n_quad: int = 400) -> LTITheory:
    r"""DMFT ($N\to\infty$) response and correlations of $\dot x = -Ax + \xi$.

    Hermitian ensembles (eigen-decomposition, $\rho$ the limiting density of $A$):

    .. math::
        R(\tau) &= \int\rho(\lambda)e^{-\lambda\tau}d\lambda,\\
        C(t,t) &= \int\rho(\lambda)\Bigl[c_0e^{-2\lambda t} + T\,\frac{1-e^{-2\lambda t}}{\lambda}\Bigr]d\lambda,\\
        C_{\rm st}(\tau) &= T\int\rho(\lambda)\frac{e^{-\lambda|\tau|}}{\lambda}d\lambda .

    Ginibre ($A = aI + J$, non-normal), from the DMFT with a vanishing self-energy:

    .. math::
        R(\tau) &= e^{-a\tau},\\
        C(t,t) &= c_0e^{-2at}I_0(2\sigma t) + 2T\!\int_0^t e^{-2au}I_0(2\sigma u)\,du,\\
        C_{\rm st}(\tau) &= 2T\!\int_0^\infty e^{-a(\tau+2u)}I_0\bigl(2\sigma\sqrt{u(u+\tau)}\bigr)du .

    With ``normal=True`` the Ginibre matrix is replaced by the normal matrix with the same
    (circular-law) eigenvalues: $R$ is unchanged, the correlations use the Hermitian-like
    formulas with $\lambda\to\operatorname{Re}\lambda$ (and a factor $e^{-i\operatorname{Im}\lambda\,\tau}$ in $C_{\rm st}$).

    Parameters
    ----------
    ensemble : ``"goe"``, ``"wishart"`` or ``"ginibre"``.
    t : 1-D array of non-negative times.
    a : shift; must make the spectrum lie in the right half-plane (``ValueError`` otherwise).
    sigma : scale of the random part (GOE/Ginibre ``sigma^2/N`` variance, Wishart entry variance ``sigma^2``).
    alpha : ``P/N`` for ``"wishart"`` (ignored otherwise).
    T : noise temperature (noise variance ``2T`` per unit time).
    c0 : variance of the initial condition.
    normal : Ginibre only: use the normal counterpart.
    n_quad : quadrature nodes over the spectrum.

    Examples
    --------
    >>> th = theory("goe", [0.0, 1.0], a=3.0, T=1.0)
    >>> np.round(th.response, 4).tolist(), round(float(th.stationary[0]), 4)   # C_st(0) = T G_sc(3)
    ([1.0, 0.0792], 0.382)
    """
    ensemble, a, sigma, alpha, T, c0 = _check_model(ensemble, a, sigma, alpha, T, c0)
    t = _check_times("t", t)
    n_quad = check_int("n_quad", n_quad, low=2)
    if normal and ensemble != "ginibre":
        normal = False                                  # Hermitian matrices are already normal
    x, w = spectral_quadrature(ensemble, a, sigma, alpha, n_quad)
    if ensemble in ("goe", "wishart"):
        response = np.exp(-np.outer(t, x)) @ w
        correlation = _normal_terms(x, w, t, T, c0)
        stationary = T * (np.exp(-np.outer(t, x)) @ (w / x))
        method = "spectral quadrature"
    elif normal:
        response = np.exp(-a * t)                        # mean-value property on the disk
        correlation = _normal_terms(x, w, t, T, c0)
        h = np.sqrt(np.clip(sigma**2 - (x - a) ** 2, 0, None))   # half-height of the disk at Re z = x
        # (1/pi sigma^2) int dy e^{-i y tau} over |y| < h = (2h/pi sigma^2) sinc; divide by the marginal 2h/pi sigma^2
        stationary = T * (np.exp(-np.outer(t, x)) * np.sinc(np.outer(t, h) / np.pi)) @ (w / x)
        method = "spectral quadrature (normal counterpart)"
    else:
        response = np.exp(-a * t)
        correlation = c0 * np.exp(-2 * (a - sigma) * t) * _special.i0e(2 * sigma * t)
        if T > 0:
            correlation = correlation + 2 * T * _cumulative_integral(
                lambda u: np.exp(-2 * (a - sigma) * u) * _special.i0e(2 * sigma * u), t)
            stationary = 2 * T * _integrate.quad_vec(lambda u: _ginibre_stationary_integrand(u, t, a, sigma),
                                                     0.0, np.inf, epsabs=1e-12, epsrel=1e-10)[0]
        else:
            stationary = np.zeros_like(t)
        method = "DMFT closed form (Bessel)"
    if T == 0:
        stationary = np.zeros_like(t)
    return LTITheory(t=t, response=np.real(response), correlation=np.real(correlation),
                     stationary=np.real(stationary), ensemble=ensemble, a=a, sigma=sigma, alpha=alpha,
                     T=T, c0=c0, normal=bool(normal), method=method)


def _ginibre_stationary_integrand(u, tau, a, sigma):
    r"""``exp(-a(tau+2u)) I_0(2 sigma sqrt(u(u+tau)))`` written with ``i0e`` to avoid overflow."""
    arg = 2 * sigma * np.sqrt(u * (u + tau))
    return np.exp(-a * (tau + 2 * u) + arg) * _special.i0e(arg)


def _panels(t, h_max: float = 0.5, order: int = 8):
    """Gauss-Legendre panels covering ``[0, t_max]`` whose edges include every ``t_k``.

    Returns the nodes ``u`` (panels x order), the weights (same shape) and, for every ``t_k``, the
    number of panels to its left (so a cumulative sum of panel integrals gives the integral up to ``t_k``).
    """
    t = np.asarray(t, dtype=np.float64)
    check_budget("quadrature panels (t_max / h_max)", (t.max() if t.size else 0.0) / h_max, limit=1e6)
    edges = np.unique(np.concatenate([[0.0], t, np.arange(0.0, t.max() if t.size else 0.0, h_max)]))
    nodes, weights = np.polynomial.legendre.leggauss(order)
    lo, hi = edges[:-1], edges[1:]
    u = (lo[:, None] + hi[:, None]) / 2 + (hi - lo)[:, None] / 2 * nodes[None, :]
    w = (hi - lo)[:, None] / 2 * weights[None, :]
    return u, w, np.searchsorted(edges, t)


def _cumulative_integral(f, t):
    r"""$\int_0^{t_k} f(u)\,du$ for every ``t_k`` (8-point Gauss-Legendre panels of width <= 0.5)."""
    u, w, k = _panels(t)
    cum = np.concatenate([[0.0], np.cumsum((f(u) * w).sum(axis=1))])
    return cum[k]


# --------------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class LTISimulation(ReadOnlyArrays):
    """Finite-N values averaged over sampled matrices (mean and standard error over seeds).

    Same fields as :class:`LTITheory` (``t``, ``response``, ``correlation``, ``stationary``, parameters)
    plus ``response_sem``, ``correlation_sem``, ``stationary_sem``, ``N``, ``n_seeds``,
    ``eigenvalues`` (those of the first seed) and ``wall_time``.
    """

    t: np.ndarray
    response: np.ndarray
    correlation: np.ndarray
    stationary: np.ndarray
    response_sem: np.ndarray
    correlation_sem: np.ndarray
    stationary_sem: np.ndarray
    N: int
    n_seeds: int
    eigenvalues: np.ndarray
    ensemble: str
    a: float
    sigma: float
    alpha: float
    T: float
    c0: float
    normal: bool
    wall_time: float


def sample_matrices(ensemble: str, N: int, seeds, a: float, sigma: float = 1.0, alpha: float = 2.0) -> np.ndarray:
    """One matrix ``A`` per seed, shape ``(n_seeds, N, N)``; seed ``s`` draws with ``default_rng(s)``.

    ``seeds``: an int ``n`` (meaning ``range(n)``) or a sequence of distinct ints.

    >>> A = sample_matrices("goe", 4, 3, a=3.0)
    >>> A.shape, bool(np.allclose(A, np.swapaxes(A, 1, 2)))
    ((3, 4, 4), True)
    """
    ensemble = check_choice("ensemble", ensemble, ENSEMBLES)
    N = check_int("N", N, low=1)
    seeds = check_seeds("seeds", seeds)
    a = check_real("a", a)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    return _sample_matrices(ensemble, N, [np.random.default_rng(s) for s in seeds], a, sigma, alpha)


def _sample_matrices(ensemble, N, rngs, a, sigma, alpha):
    """One matrix per generator (the generators advance: later draws are independent of the matrix)."""
    eye = a * np.eye(N)
    if ensemble == "wishart":
        P = max(1, int(round(alpha * N)))
        check_budget("doubles (seeds x P x N)", float(len(rngs)) * P * N)
        X = np.stack([r.standard_normal((P, N)) for r in rngs]) * sigma
        return np.swapaxes(X, 1, 2) @ X / P + eye
    check_budget("doubles (seeds x N x N)", float(len(rngs)) * N * N)
    G = np.stack([r.standard_normal((N, N)) for r in rngs]) * (sigma / np.sqrt(N))
    if ensemble == "goe":
        G = (G + np.swapaxes(G, 1, 2)) / np.sqrt(2.0)
    return G + eye


def _traces_normal(lam, t, T, c0):
    """Per-seed R, C(t,t), C_st for normal matrices with eigenvalues ``lam`` (shape ``(S, N)``)."""
    x = lam.real
    E = np.exp(-lam[:, None, :] * t[None, :, None])                         # (S, n, N)
    R = E.real.mean(-1) if np.isrealobj(lam) else E.mean(-1).real
    tx = t[None, :, None] * x[:, None, :]
    C = c0 * np.exp(-2 * tx).mean(-1) + T * (-np.expm1(-2 * tx) / x[:, None, :]).mean(-1)
    Cst = T * (E / x[:, None, :]).mean(-1).real
    return R, C, Cst


def _traces_nonnormal(A, t, T, c0):
    r"""Per-seed traces for a non-normal real ``A`` (``(S, N, N)``) from $A = V\Lambda V^{-1}$.

    With $M = V^{-1}V^{-\top}$ and $K = V^\top V$,
    $\frac1N\operatorname{tr} e^{-At}e^{-A^\top t'} = \frac1N\sum_{ij} e^{-\lambda_i t}W_{ij}e^{-\lambda_j t'}$,
    $W_{ij} = M_{ij}K_{ji}$.
    """
    N = A.shape[-1]
    lam, V = np.linalg.eig(A)
    Vinv = np.linalg.inv(V)
    W = (Vinv @ np.swapaxes(Vinv, 1, 2)) * np.swapaxes(np.swapaxes(V, 1, 2) @ V, 1, 2)
    del V, Vinv

    def frob(u):  # (1/N) ||e^{-A u}||_F^2 for an array of times u (any shape)
        E = np.exp(-lam[:, None, :] * np.ravel(u)[None, :, None])            # (S, m, N)
        F = np.einsum("smi,smi->sm", E @ W, E).real / N
        return F.reshape((lam.shape[0],) + np.shape(u))

    R = np.exp(-lam[:, None, :] * t[None, :, None]).mean(-1).real
    C = c0 * frob(t)
    if T > 0:
        u, w, k = _panels(t)
        pieces = (frob(u) * w).sum(-1)                                        # (S, panels)
        cum = np.concatenate([np.zeros((pieces.shape[0], 1)), np.cumsum(pieces, axis=-1)], axis=-1)
        C = C + 2 * T * cum[:, k]
        v = (W / (lam[:, :, None] + lam[:, None, :])).sum(-1)                 # (S, N)
        Cst = 2 * T * np.einsum("sni,si->sn", np.exp(-lam[:, None, :] * t[None, :, None]), v).real / N
    else:
        Cst = np.zeros_like(R)
    return R, C, Cst, lam


def simulate(N: int, ensemble: str, t, a: float, sigma: float = 1.0, alpha: float = 2.0, T: float = 0.0,
             c0: float = 1.0, normal: bool = False, seeds=8,
             max_chunk_entries: int = 2_000_000) -> LTISimulation:
    r"""Finite-$N$ response and correlations, averaged over sampled matrices (one per seed).

    ``seeds``: an int ``n`` (meaning ``range(n)``) or a sequence of at least 2 distinct ints; seed ``s``
    draws its matrix with ``numpy.random.default_rng(s)``.

    For each sampled $A$ the averages over $x(0)$ and the noise are done exactly,

    .. math::
        R(\tau) &= \tfrac1N\operatorname{tr}e^{-A\tau},\\
        C(t,t) &= \tfrac{c_0}N\lVert e^{-At}\rVert_F^2 + \tfrac{2T}N\int_0^t\lVert e^{-Au}\rVert_F^2du,\\
        C_{\rm st}(\tau) &= \tfrac1N\operatorname{tr}\bigl(e^{-A\tau}\Sigma_\infty\bigr),\ A\Sigma_\infty+\Sigma_\infty A^\top = 2T,

    through batched eigen-decompositions (``eigvalsh`` for Hermitian and normal cases, ``eig``
    plus the eigenvector overlap matrix for the non-normal Ginibre case), so the only
    randomness left is the disorder: fluctuations over seeds are those of linear spectral
    statistics, $O(1/N)$. Seeds are processed in chunks of at most ``max_chunk_entries``
    matrix entries (memory about ``6 * 16 * max_chunk_entries`` bytes in the non-normal case).

    Raises ``ValueError`` for bad parameters, and if a sampled matrix has an eigenvalue with a
    non-positive real part while ``T > 0`` (the stationary state does not exist).

    Examples
    --------
    >>> sim = simulate(200, "goe", [0.0, 1.0], a=3.0, seeds=4)
    >>> round(float(sim.response[1]), 2), sim.n_seeds
    (0.08, 4)
    """
    start = time.perf_counter()
    ensemble, a, sigma, alpha, T, c0 = _check_model(ensemble, a, sigma, alpha, T, c0)
    N = check_int("N", N, low=2)
    seeds = check_seeds("seeds", seeds, min_seeds=2)
    n_seeds = len(seeds)
    max_chunk_entries = check_int("max_chunk_entries", max_chunk_entries, low=1)
    t = _check_times("t", t)
    normal = bool(normal) and ensemble == "ginibre"
    chunk = max(1, max_chunk_entries // (N * N))
    Rs, Cs, Ss, first = [], [], [], None
    for start_seed in range(0, n_seeds, chunk):          # loop over memory chunks, vectorized inside
        A = sample_matrices(ensemble, N, seeds[start_seed:start_seed + chunk], a, sigma, alpha)
        if ensemble == "ginibre" and not normal:
            R, C, Cst, lam = _traces_nonnormal(A, t, T, c0)
        else:
            lam = np.linalg.eigvalsh(A) if ensemble != "ginibre" else np.linalg.eigvals(A)
            R, C, Cst = _traces_normal(lam, t, T, c0)
        if T > 0 and np.min(lam.real) <= 0:
            raise ValueError(f"a sampled matrix has an eigenvalue with real part {np.min(lam.real):.3g} <= 0: "
                             f"the stationary state does not exist; increase a (got {a:g}) or N")
        Rs.append(R), Cs.append(C), Ss.append(Cst)
        first = lam[0] if first is None else first
    (R, R_sem), (C, C_sem), (Cst, Cst_sem) = (mean_sem(np.concatenate(v, axis=0)) for v in (Rs, Cs, Ss))
    for name, arr in (("response", R), ("correlation", C), ("stationary", Cst)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"simulate produced a non-finite {name}; the sampled dynamics is too close to "
                             f"instability (a={a:g})")
    return LTISimulation(t=t, response=R, correlation=C, stationary=Cst, response_sem=R_sem,
                         correlation_sem=C_sem, stationary_sem=Cst_sem, N=N, n_seeds=n_seeds,
                         eigenvalues=np.sort_complex(first) if np.iscomplexobj(first) else np.sort(first),
                         ensemble=ensemble, a=a, sigma=sigma, alpha=alpha, T=T, c0=c0, normal=normal,
                         wall_time=time.perf_counter() - start)


@dataclass(frozen=True)
class TrajectorySimulation(ReadOnlyArrays):
    """Response and equal-time correlation measured on noisy trajectories (mean and s.e.m. over seeds).

    Fields ``t``, ``response``, ``correlation`` (and their ``_sem``), ``N``, ``n_seeds`` as in
    :class:`LTISimulation`; ``dt`` is the time step.
    """

    t: np.ndarray
    response: np.ndarray
    correlation: np.ndarray
    response_sem: np.ndarray
    correlation_sem: np.ndarray
    N: int
    n_seeds: int
    dt: float
    ensemble: str
    a: float
    sigma: float
    alpha: float
    T: float
    c0: float
    wall_time: float


def simulate_trajectories(N: int, ensemble: str, t_max: float, a: float, sigma: float = 1.0, alpha: float = 2.0,
                          T: float = 0.0, c0: float = 1.0, dt: float = 0.02, seeds=4) -> TrajectorySimulation:
    r"""Integrate $\dot x = -Ax + \xi$ for one noise realization per sampled matrix and *measure* $R$ and $C$.

    Unlike :func:`simulate`, nothing is averaged analytically: each seed ``s`` draws $A$, an initial
    condition $x(0)\sim\mathcal N(0, c_0 I)$ and the kick signs from ``default_rng(s)`` (the noise of
    the whole batch comes from ``default_rng(seeds)``), and

    * $C(t,t) = \lVert x(t)\rVert^2/N$ along the trajectory;
    * $R(\tau) = v\cdot\delta x(\tau)/N$, the response to a kick $h(t) = \epsilon v\,\delta(t)$ with random
      signs $v_i = \pm1$ (linear, so $\delta x(\tau) = e^{-A\tau}v$ exactly); this is Hutchinson's
      estimator of $\frac1N\operatorname{tr}e^{-A\tau}$.

    Both are self-averaging with fluctuations $O(1/\sqrt N)$ (one sample of $N$ units), in
    contrast with the $O(1/N)$ of the exact traces. Steps: $x \leftarrow e^{-A\Delta t}x + e^{-A\Delta t/2}\sqrt{2T\Delta t}\,\zeta$,
    exact for the drift and with a midpoint rule for the noise covariance (error $O(\Delta t^2)$).
    Cost: one batched eigen-decomposition and ``2 t_max / dt`` batched mat-vecs; memory about
    ``5 * 16 * n_seeds * N^2`` bytes.

    >>> sim = simulate_trajectories(400, "goe", 2.0, a=3.0, seeds=2)
    >>> bool(abs(sim.response[-1] - theory("goe", [2.0], a=3.0).response[0]) < 0.02)
    True
    """
    start = time.perf_counter()
    ensemble, a, sigma, alpha, T, c0 = _check_model(ensemble, a, sigma, alpha, T, c0)
    N = check_int("N", N, low=2)
    seeds = check_seeds("seeds", seeds, min_seeds=2)
    n_seeds = len(seeds)
    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    dt = check_real("dt", dt, low=0.0, high=t_max, low_open=True)
    check_budget("time steps x units^2 x seeds", t_max / dt * float(N) * N * n_seeds, limit=2e11)
    check_budget("time steps", t_max / dt, limit=1e6)
    n = int(round(t_max / dt))
    t = dt * np.arange(n + 1)
    rngs = [np.random.default_rng(s) for s in seeds]
    A = _sample_matrices(ensemble, N, rngs, a, sigma, alpha)        # then x(0) and v from the same streams
    if ensemble == "ginibre":
        lam, V = np.linalg.eig(A)
        Vinv = np.linalg.inv(V)
    else:
        lam, V = np.linalg.eigh(A)
        Vinv = np.swapaxes(V, 1, 2)
    P = ((V * np.exp(-lam * dt)[:, None, :]) @ Vinv).real
    Ph = ((V * np.exp(-lam * dt / 2)[:, None, :]) @ Vinv).real
    del V, Vinv, A
    x = np.stack([r.standard_normal((N, 1)) for r in rngs]) * np.sqrt(c0)
    v = np.stack([r.choice([-1.0, 1.0], size=(N, 1)) for r in rngs])
    rng = np.random.default_rng(list(seeds))           # the dynamical noise of the whole batch
    dx = v.copy()
    C = np.empty((n_seeds, n + 1))
    R = np.empty((n_seeds, n + 1))
    C[:, 0] = np.sum(x**2, axis=(1, 2)) / N
    R[:, 0] = 1.0
    noise = np.sqrt(2 * T * dt)
    for k in range(1, n + 1):                      # loop over time steps, vectorized over seeds and units
        x = P @ x + (Ph @ rng.standard_normal((n_seeds, N, 1))) * noise if T > 0 else P @ x
        dx = P @ dx
        C[:, k] = np.sum(x**2, axis=(1, 2)) / N
        R[:, k] = np.sum(v * dx, axis=(1, 2)) / N
    if not (np.all(np.isfinite(C)) and np.all(np.isfinite(R))):
        raise ValueError(f"the trajectories blew up; a={a:g} is too close to the edge of stability at N={N}")
    (Rm, Rs), (Cm, Cs) = mean_sem(R), mean_sem(C)
    return TrajectorySimulation(t=t, response=Rm, correlation=Cm, response_sem=Rs, correlation_sem=Cs, N=N,
                                n_seeds=n_seeds, dt=dt, ensemble=ensemble, a=a, sigma=sigma, alpha=alpha, T=T, c0=c0,
                                wall_time=time.perf_counter() - start)


# --------------------------------------------------------------------------- resolvent routes


def response_from_contour(G, tau, center: complex, radius: float, n_nodes: int = 256):
    r"""Response from a resolvent by the Cauchy integral $\frac1N\operatorname{tr} f(A) = \frac1{2\pi i}\oint f(z)G_A(z)dz$.

    .. math:: R(\tau) = \frac1{2\pi i}\oint_{|z-c|=r} e^{-z\tau}\,G_A(z)\,dz,

    on a circle enclosing the spectrum, evaluated by the trapezoid rule (exponentially accurate
    for a periodic analytic integrand). ``G`` is any vectorized Stieltjes transform
    $G_A(z) = \frac1N\operatorname{tr}(z-A)^{-1}$, limiting or empirical, Hermitian or not.

    >>> G = lambda z: rmt.semicircle_stieltjes(z - 3.0)             # A = 3 I + GOE
    >>> round(float(response_from_contour(G, [1.0], 3.0, 2.5)[0]), 4)
    0.0792
    """
    if not callable(G):
        raise TypeError(f"G must be a callable (a vectorized Stieltjes transform); got {G!r}")
    tau = _check_times("tau", tau)
    radius = check_real("radius", radius, low=0.0, low_open=True)
    n_nodes = check_int("n_nodes", n_nodes, low=8, high=10**6)
    if isinstance(center, (str, bytes, bool, np.bool_)) or not isinstance(center, numbers.Number) \
            or not np.isfinite(complex(center)):
        raise ValueError(f"center must be a finite (complex) number; got {center!r}")
    center = complex(center)
    theta = 2 * np.pi * np.arange(n_nodes) / n_nodes
    z = center + radius * np.exp(1j * theta)
    dz = 1j * radius * np.exp(1j * theta) * (2 * np.pi / n_nodes)
    vals = np.exp(-np.outer(tau, z)) * (np.asarray(G(z)) * dz)[None, :]
    return (vals.sum(-1) / (2j * np.pi)).real


@dataclass(frozen=True)
class LaplaceResponse(ReadOnlyArrays):
    r"""Solution of the Laplace-space DMFT equation $\hat R = 1/(s + a - \sigma^2\hat R)$."""

    s: np.ndarray
    response_hat: np.ndarray
    residuals: np.ndarray
    n_iter: int
    converged: bool
    wall_time: float


def dmft_response_laplace(s, a: float, sigma: float = 1.0, damping: float = 0.0, tol: float = 1e-12,
                          max_iter: int = 2000) -> LaplaceResponse:
    r"""Solve the DMFT equation of the symmetric coupling in Laplace space, for real ``s``.

    The cavity field of $A = aI + J$ with GOE $J$ feeds back through the response
    (the cavity chapter), which in Laplace space reads

    .. math:: \hat R(s) = \frac{1}{s + a - \sigma^2\hat R(s)} ,

    whose root with $\hat R\sim 1/s$ is the semicircle resolvent $\hat R(s) = G_{\rm sc}(s + a)$.
    Iterated from $\hat R = 0$ with :func:`dmftlib.core.damped_fixed_point`; the map is a
    contraction (rate $\sigma^2\hat R^2<1$) exactly when $s + a > 2\sigma$, i.e. to the right of
    the spectrum of $-A$. Elsewhere on the real axis there is no real solution and the
    iteration raises :class:`~dmftlib.core.ConvergenceError`.

    >>> res = dmft_response_laplace([0.0, 1.0], a=2.5)
    >>> np.round(res.response_hat, 6).tolist(), res.converged
    ([0.5, 0.313859], True)
    """
    s = check_array("s", s, ndim=1)
    a = check_real("a", a)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)

    def F(R):
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 / (s + a - sigma**2 * R)

    res = damped_fixed_point(F, np.zeros_like(s), damping=damping, tol=tol, max_iter=max_iter,
                             norm=lambda d: float(np.max(np.abs(d))) if d.size else 0.0)
    return LaplaceResponse(s=s, response_hat=res.x, residuals=res.residuals, n_iter=res.n_iter,
                           converged=res.converged, wall_time=res.wall_time)


@dataclass(frozen=True)
class DMFTResponse(ReadOnlyArrays):
    r"""Time-domain DMFT response $R(\tau)$ on a uniform grid, with iteration diagnostics."""

    t: np.ndarray
    response: np.ndarray
    residuals: np.ndarray
    n_iter: int
    converged: bool
    wall_time: float


def dmft_response(t_max: float, n: int, a: float, sigma: float = 1.0, coupling: str = "symmetric",
                  damping: float = 0.0, tol: float = 1e-10, max_iter: int = 500) -> DMFTResponse:
    r"""Solve the DMFT response equation in time on ``n`` points of ``[0, t_max]``.

    For $A = aI + J$, the cavity method gives $\partial_\tau R = -aR + \sigma^2\gamma\int_0^\tau R(\tau-u)R(u)du$,
    $R(0) = 1$, with $\gamma = 1$ for symmetric (GOE) couplings and $\gamma = 0$ for
    i.i.d. couplings ($\mathbb E J_{ij}J_{ji} = 0$). In integral form

    .. math:: R(\tau) = e^{-a\tau} + \gamma\sigma^2\int_0^\tau e^{-a(\tau-v)}\,(R*R)(v)\,dv ,

    solved by Picard iteration (a Volterra equation: the iteration converges on any finite grid,
    its $k$-th iterate being exact to order $(\sigma\tau)^{2k}$), with trapezoid convolutions
    (error $O(\Delta t^2)$). The exact solution is $e^{-a\tau}I_1(2\sigma\tau)/(\sigma\tau)$ (symmetric)
    and $e^{-a\tau}$ (i.i.d.). Memory: two ``(n, n)`` float64 arrays.

    >>> res = dmft_response(5.0, 501, a=2.5)
    >>> exact = np.exp(-2.5 * 5.0) * 2 * 10 ** -1 * float(_special.iv(1, 10.0))
    >>> bool(abs(res.response[-1] - exact) < 1e-5), res.converged
    (True, True)
    """
    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    n = check_int("n", n, low=2)
    a = check_real("a", a)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    coupling = check_choice("coupling", coupling, ("symmetric", "iid"))
    t = np.linspace(0.0, t_max, n)
    dt = t[1] - t[0]
    W = causal_weights(n, dt)
    lag = t[:, None] - t[None, :]
    K = np.where(lag >= 0, np.exp(-a * np.clip(lag, 0, None)), 0.0) * W     # e^{-a(t-v)} with trapezoid weights
    idx = np.clip(np.arange(n)[:, None] - np.arange(n)[None, :], 0, None)  # Toeplitz index t_k - t_l
    gamma = 1.0 if coupling == "symmetric" else 0.0
    base = np.exp(-a * t)

    def F(R):
        conv = (R[idx] * W) @ R                                            # (R*R)(t_k) by trapezoid
        return base + gamma * sigma**2 * (K @ conv)

    res = damped_fixed_point(F, base, damping=damping, tol=tol, max_iter=max_iter,
                             norm=lambda d: float(np.max(np.abs(d))))
    return DMFTResponse(t=t, response=res.x, residuals=res.residuals, n_iter=res.n_iter,
                        converged=res.converged, wall_time=res.wall_time)


@dataclass(frozen=True)
class DMFTCorrelation(ReadOnlyArrays):
    r"""Two-time DMFT correlation $C(t,t')$ of the i.i.d. (Ginibre) case, with diagnostics."""

    t: np.ndarray
    correlation: np.ndarray
    residuals: np.ndarray
    n_iter: int
    converged: bool
    wall_time: float


def dmft_correlation_iid(t_max: float, n: int, a: float, sigma: float = 1.0, T: float = 0.0, c0: float = 1.0,
                         damping: float = 0.0, tol: float = 1e-10, max_iter: int = 500) -> DMFTCorrelation:
    r"""Solve the two-time DMFT equation for the correlation of $\dot x = -(aI + J)x + \xi$, $J$ i.i.d.

    The cavity field $\eta_i = \sum_j J_{ij}x_j$ is Gaussian with covariance $\sigma^2C(t,t')$ and
    no response term ($\mathbb E J_{ij}J_{ji} = 0$), so the single-site process
    $\dot x = -ax + \eta + \xi$ gives the two-dimensional Volterra equation

    .. math:: C(t,t') &= c_0e^{-a(t+t')} + \tfrac{T}{a}\bigl(e^{-a|t-t'|}-e^{-a(t+t')}\bigr)\\
              &\quad + \sigma^2\!\int_0^t\!\!\int_0^{t'} e^{-a(t-s)}e^{-a(t'-s')}C(s,s')\,ds\,ds' .

    Solved by Picard iteration $C\leftarrow B + \sigma^2 KCK^\top$ (trapezoid weights, error
    $O(\Delta t^2)$), keeping $C$ symmetric and PSD (``project_psd``); converges on any finite
    grid. For ``T = 0`` the solution is $c_0e^{-a(t+t')}I_0(2\sigma\sqrt{tt'})$. Memory: a few
    ``(n, n)`` float64 arrays.

    >>> res = dmft_correlation_iid(4.0, 201, a=1.2)
    >>> exact = np.exp(-2 * 1.2 * 4.0) * float(_special.i0(8.0))
    >>> bool(abs(res.correlation[-1, -1] - exact) < 1e-4), res.converged
    (True, True)
    """
    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    n = check_int("n", n, low=2)
    a = check_real("a", a, low=0.0, low_open=True)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    T = check_real("T", T, low=0.0)
    c0 = check_real("c0", c0, low=0.0)
    t = np.linspace(0.0, t_max, n)
    W = causal_weights(n, t[1] - t[0])
    lag = t[:, None] - t[None, :]
    K = np.where(lag >= 0, np.exp(-a * np.clip(lag, 0, None)), 0.0) * W
    plus = t[:, None] + t[None, :]
    B = c0 * np.exp(-a * plus) + T / a * (np.exp(-a * np.abs(lag)) - np.exp(-a * plus))

    def F(C):
        return project_psd(symmetrize(B + sigma**2 * K @ C @ K.T))

    res = damped_fixed_point(F, B, damping=damping, tol=tol, max_iter=max_iter,
                             norm=lambda d: float(np.max(np.abs(d))))
    return DMFTCorrelation(t=t, correlation=res.x, residuals=res.residuals, n_iter=res.n_iter,
                           converged=res.converged, wall_time=res.wall_time)


# --------------------------------------------------------------------------- transient growth


def numerical_abscissa(ensemble: str, a: float, sigma: float = 1.0, alpha: float = 2.0) -> float:
    r"""Initial growth rate $\omega = \frac{d}{dt}\lVert e^{-At}\rVert_2\big|_{t=0} = -\lambda_{\min}\bigl(\tfrac{A+A^\top}2\bigr)$ for $N\to\infty$.

    For Ginibre $J$, $(J+J^\top)/2$ is a GOE matrix with off-diagonal variance $\sigma^2/(2N)$,
    a semicircle of radius $\sqrt2\sigma$: $\omega = \sqrt2\sigma - a$, positive (transient growth)
    for $\sigma < a < \sqrt2\sigma$ although every eigenvalue decays. Hermitian ensembles have
    $\omega = -\min\operatorname{spec}A < 0$.

    >>> round(numerical_abscissa("ginibre", 1.2), 4), numerical_abscissa("goe", 3.0)
    (0.2142, -1.0)
    """
    ensemble = check_choice("ensemble", ensemble, ENSEMBLES)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    a = check_real("a", a)
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    if ensemble == "ginibre":
        return float(np.sqrt(2.0) * sigma - a)
    return -stability_margin(ensemble, a, sigma, alpha)


@dataclass(frozen=True)
class TransientGrowth(ReadOnlyArrays):
    r"""Operator norm of the propagator, $\lVert e^{-At}\rVert_2 = \max_{x(0)}\lVert x(t)\rVert/\lVert x(0)\rVert$.

    ``norm`` for the sampled matrices and ``norm_normal`` for the normal matrices with the same
    eigenvalues ($\max_i|e^{-\lambda_it}|$), mean and standard error over seeds.
    ``trajectory`` is $\lVert x(t)\rVert/\lVert x(0)\rVert$ of the first seed started from the
    initial condition that is amplified most at ``t_peak`` (the top right singular vector of
    $e^{-At_{\rm peak}}$).
    """

    t: np.ndarray
    norm: np.ndarray
    norm_sem: np.ndarray
    norm_normal: np.ndarray
    norm_normal_sem: np.ndarray
    trajectory: np.ndarray
    t_peak: float
    N: int
    n_seeds: int
    ensemble: str
    a: float
    sigma: float


def transient_growth(N: int, t, a: float, sigma: float = 1.0, ensemble: str = "ginibre", alpha: float = 2.0,
                     seeds=4) -> TransientGrowth:
    r"""Transient growth $\lVert e^{-At}\rVert_2$ of sampled matrices and of their normal counterparts.

    $e^{-At} = Ve^{-\Lambda t}V^{-1}$ for all times at once (batched over seeds and times), the
    2-norm by batched singular values. Cost $O(n_{\rm seeds}\,n_t\,N^3)$, memory
    $16\,n_{\rm seeds}n_tN^2$ bytes: keep $N\lesssim 300$.

    >>> g = transient_growth(100, [0.0, 0.5], a=1.1, seeds=2)
    >>> bool(g.norm[1] > 1.0 > g.norm_normal[1])
    True
    """
    ensemble = check_choice("ensemble", ensemble, ENSEMBLES)
    ensemble, a, sigma, alpha, _, _ = _check_model(ensemble, a, sigma, alpha, 0.0, 1.0)
    N = check_int("N", N, low=2)
    seeds = check_seeds("seeds", seeds, min_seeds=2)
    n_seeds = len(seeds)
    t = _check_times("t", t)
    A = sample_matrices(ensemble, N, seeds, a, sigma, alpha)
    lam, V = np.linalg.eig(A)
    Vinv = np.linalg.inv(V)
    E = np.exp(-lam[:, None, :] * t[None, :, None])                            # (S, n, N)
    P = (V[:, None, :, :] * E[:, :, None, :]) @ Vinv[:, None, :, :]            # (S, n, N, N)
    norms = np.linalg.norm(P.real, ord=2, axis=(-2, -1))
    normal = np.abs(E).max(-1)
    m, s = mean_sem(norms)
    mn, sn = mean_sem(normal)
    k = int(np.argmax(norms[0]))
    _, _, vh = np.linalg.svd(P[0, k].real)
    x0 = vh[0]
    traj = np.linalg.norm(np.einsum("nij,j->ni", P[0].real, x0), axis=-1)
    return TransientGrowth(t=t, norm=m, norm_sem=s, norm_normal=mn, norm_normal_sem=sn, trajectory=traj,
                           t_peak=float(t[k]), N=N, n_seeds=n_seeds, ensemble=ensemble, a=a, sigma=sigma)


# --------------------------------------------------------------------------- plots


_LABELS = {"goe": "GOE", "wishart": "Wishart", "ginibre": "Ginibre"}


def plot_spectrum(ensemble: str, N: int, a: float, sigma: float = 1.0, alpha: float = 2.0, seed=0, ax=None):
    """Eigenvalues of one sampled ``A`` against the limiting law (histogram + density, or disk)."""
    ensemble, a, sigma, alpha, _, _ = _check_model(ensemble, a, sigma, alpha, 0.0, 1.0)
    if ax is None:
        _, ax = new_figure()
    A = sample_matrices(ensemble, N, [check_seed("seed", seed, allow_none=False)], a, sigma, alpha)[0]
    if ensemble == "ginibre":
        lam = np.linalg.eigvals(A)
        ax.plot(lam.real, lam.imag, ".", ms=3, label=f"eigenvalues, N = {N}")
        th = np.linspace(0, 2 * np.pi, 200)
        ax.plot(a + sigma * np.cos(th), sigma * np.sin(th), "-", label="circular law edge")
        ax.axvline(0.0, color="k", lw=0.8)
        ax.set_aspect("equal")
        ax.set_ylim(-1.15 * sigma, 1.75 * sigma)             # room for the legend above the disk
        ax.set_xlabel(r"Re $\lambda$")
        ax.set_ylabel(r"Im $\lambda$")
    else:
        lam = np.linalg.eigvalsh(A)
        ax.hist(lam, bins=40, density=True, alpha=0.4, label=f"eigenvalues, N = {N}")
        x = np.linspace(lam.min() - 0.2, lam.max() + 0.2, 400)
        rho = (rmt.semicircle_density(x - a, sigma) if ensemble == "goe"
               else rmt.marchenko_pastur_density(x - a, alpha, sigma**2))
        plot_theory(ax, x, rho, label="limiting density")
        ax.set_xlabel(r"$\lambda$")
        ax.set_ylabel(r"$\rho(\lambda)$")
    ax.set_title(f"{_LABELS[ensemble]}, a = {a:g}")
    ax.legend()
    return ax


def _sim_vs_theory(ax, quantity, th, sims, log, what=None):
    ylabel = {"response": r"$R(\tau)$", "correlation": r"$C(t,t)$", "stationary": r"$C_{\rm st}(\tau)$"}
    line = plot_theory(ax, th.t, getattr(th, quantity)).lines[-1]
    colors = ["C1", "C2", "C3", "C4"]
    for k, sim in enumerate(sims):
        every = max(1, sim.t.size // 25)
        plot_simulation(ax, sim.t, getattr(sim, quantity), getattr(sim, quantity + "_sem"), every=every,
                        label=simulation_label(sim.N, sim.n_seeds, what or "simulation"), color=colors[k % 4])
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(r"$\tau$" if quantity != "correlation" else r"$t$")
    ax.set_ylabel(ylabel[quantity])
    ax.legend()
    del line
    return ax


def _check_sims(name, sims, quantity):
    """``sims``: a sequence of simulation results that carry ``quantity`` and its standard error."""
    if isinstance(sims, (str, bytes)) or not hasattr(sims, "__len__"):
        raise ValueError(f"{name} must be a sequence of LTISimulation or TrajectorySimulation results; got {sims!r}")
    for k, sim in enumerate(sims):
        if not isinstance(sim, (LTISimulation, TrajectorySimulation)) or not hasattr(sim, quantity):
            raise ValueError(f"{name}[{k}] must be an LTISimulation or TrajectorySimulation with a field "
                             f"{quantity!r}; got {type(sim).__name__}")
    return list(sims)


_QUANTITIES = ("response", "correlation", "stationary")


def plot_theory_vs_simulations(th: LTITheory, sims, quantity: str = "response", log: bool = True,
                               what: str | None = None, ax=None):
    r"""Draw a computed theory (line) and computed simulations (markers, one colour per N) of ``quantity``.

    The plotting half of :func:`plot_response` / :func:`plot_correlation`, for results computed
    in advance: ``th`` from :func:`theory`, ``sims`` a sequence of :func:`simulate` or
    :func:`simulate_trajectories` results (legend: N and the number of seeds, after ``what``);
    ``quantity`` is ``"response"`` ($R(\tau)$), ``"correlation"`` ($C(t,t)$) or ``"stationary"``
    ($C_{\rm st}(\tau)$).
    """
    quantity = check_choice("quantity", quantity, _QUANTITIES)
    sims = _check_sims("sims", sims, quantity)
    if ax is None:
        _, ax = new_figure()
    _sim_vs_theory(ax, quantity, th, sims, log, what)
    return ax


def plot_normal_comparison(th: LTITheory, th_normal: LTITheory, sim: LTISimulation, sim_normal: LTISimulation,
                           quantity: str = "correlation", log: bool = True, ax=None):
    r"""A non-normal matrix against its normal counterpart (same eigenvalues): theories and simulations.

    Non-normal in ``C1`` (solid line, circles), normal in ``C0`` (dashed line, squares), for
    ``quantity`` ``"correlation"`` ($C(t,t)$) or ``"stationary"`` ($C_{\rm st}(\tau)$).
    """
    quantity = check_choice("quantity", quantity, ("correlation", "stationary"))
    if ax is None:
        _, ax = new_figure()
    plot_theory(ax, th.t, getattr(th, quantity), label="non-normal, theory", color="C1")
    ax.plot(th_normal.t, getattr(th_normal, quantity), "--", label="normal counterpart, theory", color="C0")
    for s, color, fmt, name in ((sim, "C1", "o", "non-normal"), (sim_normal, "C0", "s", "normal")):
        plot_simulation(ax, s.t, getattr(s, quantity), getattr(s, quantity + "_sem"), every=max(1, s.t.size // 25),
                        color=color, fmt=fmt, label=f"{name}, N = {s.N}, {s.n_seeds} seeds")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(r"$\tau$" if quantity == "stationary" else "$t$")
    ax.set_ylabel(r"$C_{\rm st}(\tau)$" if quantity == "stationary" else "$C(t,t)$")
    ax.legend()
    return ax


def plot_response(ensemble: str, a: float, sigma: float = 1.0, alpha: float = 2.0, t_max: float = 6.0,
                  Ns=(250, 1000), seeds=4, log: bool = True, ax=None):
    """Theory line and finite-N simulations of $R(\\tau)$ for each ``N`` in ``Ns``."""
    return _plot_quantity("response", ensemble, a, sigma, alpha, 0.0, 1.0, False, t_max, Ns, seeds, log, ax)


def plot_correlation(ensemble: str, a: float, sigma: float = 1.0, alpha: float = 2.0, T: float = 0.0,
                     c0: float = 1.0, normal: bool = False, t_max: float = 6.0, Ns=(250, 1000), seeds=4,
                     quantity: str = "correlation", log: bool = True, ax=None):
    """Theory line and simulations of $C(t,t)$ (``quantity="correlation"``) or $C_{\\rm st}(\\tau)$ (``"stationary"``)."""
    quantity = check_choice("quantity", quantity, ("correlation", "stationary"))
    return _plot_quantity(quantity, ensemble, a, sigma, alpha, T, c0, normal, t_max, Ns, seeds, log, ax)


def _check_Ns(Ns):
    """``Ns``: a non-empty sequence of system sizes (integers >= 2)."""
    if isinstance(Ns, (str, bytes)) or np.ndim(Ns) != 1 or len(Ns) == 0:
        raise ValueError(f"Ns must be a non-empty sequence of integers in [2, inf); got {Ns!r}")
    return tuple(check_int("Ns[i]", N, low=2) for N in Ns)


def _plot_quantity(quantity, ensemble, a, sigma, alpha, T, c0, normal, t_max, Ns, seeds, log, ax):
    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    Ns = _check_Ns(Ns)
    if ax is None:
        _, ax = new_figure()
    t = np.linspace(0.0, t_max, 101)
    th = theory(ensemble, t, a, sigma, alpha, T, c0, normal)
    sims = [simulate(N, ensemble, t, a, sigma, alpha, T, c0, normal, seeds=seeds) for N in Ns]
    _sim_vs_theory(ax, quantity, th, sims, log)
    ax.set_title(f"{_LABELS[th.ensemble]}{' (normal)' if th.normal else ''}, a = {a:g}, σ = {sigma:g}")
    return ax


def plot_transient_growth(N: int = 200, a: float = 1.1, sigma: float = 1.0, t_max: float = 6.0, n_t: int = 25,
                          seeds=4, ax=None):
    r"""$\lVert e^{-At}\rVert_2$ for shifted Ginibre $A$ and for its normal counterpart."""
    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    n_t = check_int("n_t", n_t, low=2)
    if ax is None:
        _, ax = new_figure()
    t = np.linspace(0.0, t_max, n_t)
    g = transient_growth(N, t, a, sigma, "ginibre", seeds=seeds)
    n_seeds = g.n_seeds
    plot_simulation(ax, t, g.norm, g.norm_sem, label=simulation_label(N, n_seeds, r"non-normal $A$"), color="C1")
    plot_simulation(ax, t, g.norm_normal, g.norm_normal_sem, fmt="s",
                    label=simulation_label(N, n_seeds, "normal, same eigenvalues"), color="C0")
    tt = np.linspace(0, t_max, 200)
    ax.plot(tt, np.exp(-(a - sigma) * tt), "--", color="C0", label=r"$e^{-(a-\sigma)t}$ (spectral abscissa)")
    omega = numerical_abscissa("ginibre", a, sigma)
    ax.plot(tt[tt < 1.5], np.exp(omega * tt[tt < 1.5]), ":", color="C1",
            label=rf"$e^{{\omega t}}$, $\omega = \sqrt{{2}}\sigma - a = {omega:.2f}$")
    ax.set_xlabel("$t$")
    ax.set_ylabel(r"$\|e^{-At}\|_2$")
    ax.set_title(f"Ginibre, a = {a:g}, σ = {sigma:g}")
    ax.set_ylim(0.0, max(1.0, float(np.max(g.norm + g.norm_sem))) * 1.45)
    ax.legend(loc="upper right")
    return ax


def plot_lti(ensemble: str = "ginibre", margin: float = 0.5, sigma: float = 1.0, alpha: float = 2.0, T: float = 0.0,
             c0: float = 1.0, t_max: float = 8.0, N: int | None = 200, seeds=4, axes=None):
    r"""Two panels: $R(\tau)$ and $C(t,t)$ in theory (line) and, if ``N`` is given, at finite N.

    The shift is set by the stability ``margin`` (the distance of the limiting spectrum from the
    imaginary axis): $a = \text{margin} - \min\operatorname{Re}\operatorname{spec}(A - aI)$, so
    every ``margin > 0`` is stable whatever the ensemble. For the Ginibre ensemble the correlation
    of the normal counterpart (same eigenvalues) is drawn dashed: equal responses, different
    correlations.
    """
    ensemble = check_choice("ensemble", ensemble, ENSEMBLES)
    margin = check_real("margin", margin, low=0.0, low_open=True)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    a = margin - _lowest_real_part(ensemble, sigma, alpha)
    ensemble, a, sigma, alpha, T, c0 = _check_model(ensemble, a, sigma, alpha, T, c0)
    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    if axes is None:
        _, axes = new_figure(ncols=2)
    t = np.linspace(0.0, t_max, 81)
    th = theory(ensemble, t, a, sigma, alpha, T, c0)
    sims = [] if N is None else [simulate(N, ensemble, t, a, sigma, alpha, T, c0, seeds=seeds)]
    _sim_vs_theory(axes[0], "response", th, sims, True)
    _sim_vs_theory(axes[1], "correlation", th, sims, True)
    if ensemble == "ginibre":
        nrm = theory(ensemble, t, a, sigma, alpha, T, c0, normal=True)
        axes[1].plot(t, nrm.correlation, "--", color="C0", label="normal counterpart")
        axes[1].legend()
    axes[0].set_title(f"{_LABELS[ensemble]}, a = {a:.3g}: response")
    axes[1].set_title(f"{_LABELS[ensemble]}, a = {a:.3g}: correlation")
    return axes


check_public(globals())
