r"""Gaussian expectations by Gauss-Hermite quadrature.

Almost every mean-field equation in the book is an average over a Gaussian field:
the length map $q \mapsto \sigma_w^2\,\mathbb E[\phi(\sqrt q z)^2] + \sigma_b^2$,
the correlation map, the DMFT kernel $C_\phi(t,t') = \mathbb E[\phi(u)\phi(v)]$
for a pair $(u, v)$ of jointly Gaussian variables. These functions compute such
averages on a tensor grid of probabilists' Gauss-Hermite nodes, vectorized over arrays
of variances and covariances (NumPy broadcasting).

The rule with ``n`` nodes is exact for polynomials of degree ``2n - 1``; for smooth
non-linearities (tanh, erf) the error decays faster than any power of ``n``, for ReLU
(a kink) only like ``1/n`` (measured in the appendix on Gaussian integrals): use closed
forms for ReLU where accuracy matters.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .validation import check_public
from .validation import check_array, check_callable, check_int

__all__ = ["gauss_hermite", "expect", "expect2", "expect_joint"]


@lru_cache(maxsize=32)
def _nodes(n: int):
    z, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / np.sqrt(2.0 * np.pi)
    z.setflags(write=False)
    w.setflags(write=False)
    return z, w


def gauss_hermite(n: int = 80):
    r"""Nodes ``z`` and weights ``w`` with $\sum_k w_k f(z_k) \approx \mathbb E[f(Z)]$, $Z\sim\mathcal N(0,1)$.

    >>> z, w = gauss_hermite(10)
    >>> round(float(w.sum()), 12), round(float((w * z**2).sum()), 12)
    (1.0, 1.0)
    """
    n = check_int("n", n, low=1, high=350)   # numpy's rule overflows beyond ~360 nodes
    return _nodes(n)


def _check_var(name, v):
    v = check_array(name, v, finite=False)
    if np.any(~np.isfinite(v)) or np.any(v < 0):
        bad = v[~(np.isfinite(v) & (v >= 0))].ravel()[0]
        raise ValueError(f"{name} must be finite and in [0, inf); got {bad:g}")
    return v


def expect(f, var=1.0, mean=0.0, n: int = 80):
    r"""Compute $\mathbb E[f(m + \sqrt{v}\,Z)]$, $Z\sim\mathcal N(0,1)$, broadcasting over ``var`` and ``mean``.

    Parameters
    ----------
    f : callable
        A vectorized function of one array.
    var, mean : array_like
        Variances (>= 0) and means; the result has their broadcast shape.
    n : int
        Number of quadrature nodes.

    Examples
    --------
    >>> round(float(expect(lambda x: x**4, var=2.0)), 10)   # 3 v^2
    12.0
    >>> expect(np.tanh, var=[0.0, 1.0]).round(12).tolist()
    [0.0, 0.0]
    """
    check_callable("f", f)
    var = _check_var("var", var)
    mean = check_array("mean", mean)
    z, w = gauss_hermite(n)
    x = mean[..., None] + np.sqrt(var)[..., None] * z
    return np.asarray(f(x)) @ w


def _factor(var_u, var_v, cov):
    """Cholesky factor of [[var_u, cov], [cov, var_v]], safe where var_u = 0 or the matrix is singular."""
    var_u = _check_var("var_u", var_u)
    var_v = _check_var("var_v", var_v)
    cov = check_array("cov", cov)
    bound = np.sqrt(var_u * var_v)
    if np.any(np.abs(cov) > bound * (1 + 1e-9) + 1e-300):
        raise ValueError("cov must satisfy cov^2 <= var_u * var_v (a valid covariance matrix)")
    su = np.sqrt(var_u)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(su > 0, cov / np.where(su > 0, su, 1.0), 0.0)
    b = np.sqrt(np.clip(var_v - a**2, 0.0, None))
    return su, a, b


def expect2(f, g, var_u, var_v, cov, n: int = 60):
    r"""Compute $\mathbb E[f(u)\,g(v)]$ for $(u, v)$ centred Gaussian with the given second moments.

    Uses $u = \sqrt{v_u} z_1$, $v = (c/\sqrt{v_u}) z_1 + \sqrt{v_v - c^2/v_u}\, z_2$
    on an ``n x n`` Gauss-Hermite grid, broadcasting over ``var_u``, ``var_v`` and ``cov``.

    Examples
    --------
    >>> round(float(expect2(lambda u: u, lambda v: v, 2.0, 3.0, 1.5)), 10)  # E[uv] = cov
    1.5
    >>> round(float(expect2(np.square, np.square, 1.0, 2.0, 0.5)), 10)  # v_u v_v + 2 c^2
    2.5
    """
    check_callable("f", f)
    check_callable("g", g)
    return expect_joint(lambda u, v: np.asarray(f(u)) * np.asarray(g(v)), var_u, var_v, cov, n=n)


def expect_joint(h, var_u, var_v, cov, n: int = 60):
    r"""Compute $\mathbb E[h(u, v)]$ for a function of both variables (same grid as :func:`expect2`).

    >>> round(float(expect_joint(lambda u, v: (u - v)**2, 1.0, 1.0, 0.25)), 10)  # 2 - 2c
    1.5
    """
    check_callable("h", h)
    z, w = gauss_hermite(n)
    su, a, b = _factor(var_u, var_v, cov)
    z1 = z[:, None]
    z2 = z[None, :]
    u = su[..., None, None] * z1
    v = a[..., None, None] * z1 + b[..., None, None] * z2
    vals = np.asarray(h(u, v))
    return np.einsum("...ij,i,j->...", np.broadcast_to(vals, np.broadcast_shapes(vals.shape, u.shape, v.shape)), w, w)


check_public(globals())
