r"""Random-matrix laws used throughout the book, with samplers to check them.

Conventions (fixed for the whole book):

* **Wishart / Marchenko-Pastur.** $X\in\mathbb R^{P\times N}$ with i.i.d. entries of variance
  $\sigma^2$, $\hat\Sigma = X^\top X / P$ (``N x N``), $\alpha = P/N$, $q = 1/\alpha$.
  The spectrum fills $[\lambda_-, \lambda_+]$, $\lambda_\pm = \sigma^2 (1\pm\sqrt q)^2$, plus an atom of
  mass $\max(0, 1-\alpha)$ at zero when $P < N$.
* **GOE / semicircle.** Symmetric $J$ with off-diagonal entries of variance $\sigma^2/N$
  (diagonal $2\sigma^2/N$); spectrum on $[-2\sigma, 2\sigma]$.
* **Ginibre / circular law.** Entries i.i.d. of variance $\sigma^2/N$; eigenvalues uniform on the
  disk of radius $\sigma$.
* **Stieltjes transform (resolvent).** $G(z) = \frac1N \operatorname{tr}(z - A)^{-1} = \int \frac{\rho(\lambda)}{z-\lambda}d\lambda$,
  $G(z)\sim 1/z$ at infinity. The DMFT response of $\dot x = -A x$ in Laplace space is
  $\hat R(s) = G_A(-s)\cdot(-1) = \frac1N\operatorname{tr}(s + A)^{-1}$.
"""
from __future__ import annotations

import numpy as np

from .validation import check_public
from .validation import check_array, check_budget, check_int, check_real, check_seed

__all__ = [
    "mp_edges", "marchenko_pastur_density", "marchenko_pastur_atom", "marchenko_pastur_stieltjes",
    "marchenko_pastur_expect",
    "semicircle_density", "semicircle_stieltjes", "circular_law_density",
    "sample_wishart", "sample_goe", "sample_ginibre", "empirical_stieltjes",
]


def _sqrt_branch(z, a, b):
    """sqrt((z-a)(z-b)) with its cut on [a, b] and ~ z at infinity."""
    return np.sqrt(z - a + 0j) * np.sqrt(z - b + 0j)


def mp_edges(alpha: float, sigma2: float = 1.0):
    """Edges ``(lambda_minus, lambda_plus)`` of the Marchenko-Pastur bulk.

    >>> mp_edges(4.0)
    (0.25, 2.25)
    """
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    sigma2 = check_real("sigma2", sigma2, low=0.0, low_open=True)
    q = 1.0 / alpha
    return float(sigma2 * (1 - np.sqrt(q)) ** 2), float(sigma2 * (1 + np.sqrt(q)) ** 2)


def marchenko_pastur_density(x, alpha: float, sigma2: float = 1.0):
    r"""Continuous part of the Marchenko-Pastur density of $X^\top X/P$ (it integrates to $\min(1, \alpha)$).

    .. math:: \rho(\lambda) = \frac{\sqrt{(\lambda_+-\lambda)(\lambda-\lambda_-)}}{2\pi\sigma^2 q\,\lambda},\quad q = 1/\alpha.
    """
    lm, lp = mp_edges(alpha, sigma2)
    q = 1.0 / alpha
    x = check_array("x", x)
    inside = (x > lm) & (x < lp)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.sqrt(np.clip((lp - x) * (x - lm), 0, None)) / (2 * np.pi * sigma2 * q * x)
    return np.where(inside, rho, 0.0)


def marchenko_pastur_atom(alpha: float) -> float:
    """Mass of the atom at zero, ``max(0, 1 - alpha)``."""
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    return max(0.0, 1.0 - alpha)


def marchenko_pastur_stieltjes(z, alpha: float, sigma2: float = 1.0):
    r"""$G(z) = \frac1N\operatorname{tr}(z-\hat\Sigma)^{-1}$ in the limit, atom included.

    .. math:: G(z) = \frac{z - \sigma^2(1-q) - \sqrt{(z-\lambda_+)(z-\lambda_-)}}{2 q \sigma^2 z}

    At $z = 0$ (outside the bulk when $\alpha \ne 1$) it returns the finite limit
    $-1/(\sigma^2(1-q))$ for $\alpha > 1$; for $\alpha \le 1$ the atom at zero makes
    $G$ diverge there, and a ``ValueError`` says so.

    >>> g = marchenko_pastur_stieltjes(-1.0, alpha=2.0)   # real and negative left of the spectrum
    >>> bool(abs(g.imag) < 1e-14 and g.real < 0)
    True
    >>> complex(marchenko_pastur_stieltjes(0.0, alpha=2.0))   # -1 / (1 - 1/alpha)
    (-2+0j)
    """
    lm, lp = mp_edges(alpha, sigma2)
    q = 1.0 / alpha
    z = _check_z(z)
    zero = z == 0
    if np.any(zero) and alpha <= 1.0:
        raise ValueError(f"z = 0 is a pole of G (atom of mass {1 - alpha:g} at zero) for alpha = {alpha:g} <= 1; "
                         "z must avoid 0")
    zs = np.where(zero, 1.0, z)
    G = (zs - sigma2 * (1 - q) - _sqrt_branch(zs, lp, lm)) / (2 * q * sigma2 * zs)
    return np.where(zero, -1.0 / (sigma2 * (1 - q)) + 0j, G) if np.any(zero) else G


def marchenko_pastur_expect(f, alpha: float, sigma2: float = 1.0, n: int = 256):
    r"""Spectral average $\int f(\lambda)\,\rho_{MP}(\lambda)\,d\lambda$, atom at zero included.

    With $\lambda = c + r\cos\theta$ ($c, r$ the centre and half-width of the bulk) the
    square-root edges become $\sin^2\theta$, and the integral over $\theta\in[0,\pi]$ is
    computed by Gauss-Legendre quadrature with ``n`` nodes: spectrally accurate for smooth ``f``.
    ``f`` must accept an array of eigenvalues; extra dimensions of its output are kept
    (e.g. ``f = lambda lam: np.exp(-np.outer(t, lam))`` averages for every ``t`` at once).

    Examples
    --------
    >>> round(float(marchenko_pastur_expect(lambda l: l**2, alpha=2.0)), 10)   # 1 + 1/alpha
    1.5
    >>> round(float(marchenko_pastur_expect(lambda l: np.ones_like(l), alpha=0.5)), 10)
    1.0
    """
    if not callable(f):
        raise TypeError(f"f must be a callable; got {f!r}")
    lm, lp = mp_edges(alpha, sigma2)
    n = check_int("n", n, low=2, high=100_000)
    q = 1.0 / alpha
    c, r = 0.5 * (lp + lm), 0.5 * (lp - lm)
    x, w = np.polynomial.legendre.leggauss(n)
    theta = 0.5 * np.pi * (x + 1.0)
    lam = c + r * np.cos(theta)
    weight = 0.5 * np.pi * w * (r * np.sin(theta)) ** 2 / (2 * np.pi * sigma2 * q * lam)
    bulk = np.asarray(f(lam), dtype=np.float64) @ weight
    atom = marchenko_pastur_atom(alpha)
    if atom > 0:
        bulk = bulk + atom * np.asarray(f(np.zeros(1)), dtype=np.float64)[..., 0]
    return bulk


def semicircle_density(x, sigma: float = 1.0):
    r"""Wigner semicircle $\rho(x) = \sqrt{4\sigma^2 - x^2}/(2\pi\sigma^2)$ on $[-2\sigma, 2\sigma]$."""
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    x = check_array("x", x)
    return np.sqrt(np.clip(4 * sigma**2 - x**2, 0, None)) / (2 * np.pi * sigma**2)


def semicircle_stieltjes(z, sigma: float = 1.0):
    r"""$G(z) = \bigl(z - \sqrt{z^2 - 4\sigma^2}\bigr)/(2\sigma^2)$ (branch with $G\sim 1/z$)."""
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    z = _check_z(z)
    return (z - _sqrt_branch(z, 2 * sigma, -2 * sigma)) / (2 * sigma**2)


def circular_law_density(x, y, sigma: float = 1.0):
    r"""Uniform density $1/(\pi\sigma^2)$ on the disk $|x + iy| < \sigma$."""
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    r2 = check_array("x", x) ** 2 + check_array("y", y) ** 2
    return np.where(r2 < sigma**2, 1.0 / (np.pi * sigma**2), 0.0)


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(check_seed("seed", seed))


def _check_z(z):
    try:
        z = np.asarray(z, dtype=np.complex128)
    except (TypeError, ValueError):
        raise ValueError(f"z must be an array of complex numbers; got {z!r}") from None
    if not np.all(np.isfinite(z)):
        raise ValueError("z must contain only finite values")
    return z


def sample_wishart(N: int, alpha: float, seed=None, sigma2: float = 1.0) -> np.ndarray:
    r"""Sample $\hat\Sigma = X^\top X / P$, $X\in\mathbb R^{P\times N}$, $P = \mathrm{round}(\alpha N)$."""
    N = check_int("N", N, low=1)
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    sigma2 = check_real("sigma2", sigma2, low=0.0, low_open=True)
    P = max(1, int(round(alpha * N)))
    check_budget("matrix entries (P x N)", float(P) * N, limit=2**27)
    X = _rng(seed).standard_normal((P, N)) * np.sqrt(sigma2)
    return X.T @ X / P


def sample_goe(N: int, sigma: float = 1.0, seed=None) -> np.ndarray:
    """Symmetric Gaussian matrix, off-diagonal variance ``sigma^2 / N`` (semicircle of radius ``2 sigma``)."""
    N = check_int("N", N, low=1, high=16384)
    sigma = check_real("sigma", sigma, low=0.0)
    A = _rng(seed).standard_normal((N, N)) * sigma / np.sqrt(N)
    return (A + A.T) / np.sqrt(2.0)


def sample_ginibre(N: int, sigma: float = 1.0, seed=None) -> np.ndarray:
    """Real Ginibre matrix, i.i.d. entries of variance ``sigma^2 / N`` (circular law of radius ``sigma``)."""
    N = check_int("N", N, low=1, high=16384)
    sigma = check_real("sigma", sigma, low=0.0)
    return _rng(seed).standard_normal((N, N)) * sigma / np.sqrt(N)


def empirical_stieltjes(z, eigenvalues):
    r"""Stieltjes transform $\frac1N\sum_i (z-\lambda_i)^{-1}$ of sampled eigenvalues, vectorized over ``z``."""
    lam = _check_z(eigenvalues) if np.iscomplexobj(eigenvalues) else check_array("eigenvalues", eigenvalues)
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError(f"eigenvalues must be a non-empty 1-D array (real or complex); got shape {lam.shape}")
    z = _check_z(z)
    if np.any(np.isin(z, lam)):
        raise ValueError("z must avoid the eigenvalues (the transform has a pole there)")
    check_budget("entries (z x eigenvalues)", float(z.size) * lam.size, limit=2**27)
    return np.mean(1.0 / (z[..., None] - lam), axis=-1)


check_public(globals())
