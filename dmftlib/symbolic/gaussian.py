r"""Gaussian integrals derived with SymPy: Wick's theorem, Price's theorem, Stein's lemma.

The centred Gaussian vector $x\in\mathbb R^k$ with covariance $C$ has the moment
generating function

.. math:: M(j) = \mathbb E\, e^{j^\top x} = \exp\big(\tfrac12 j^\top C j\big),

so every moment is a derivative at $j = 0$,
$\mathbb E[x_{a_1}\cdots x_{a_m}] = \partial_{j_{a_1}}\cdots\partial_{j_{a_m}} M\,|_{j=0}$.
:func:`moment` performs these derivatives with ``sympy.diff``; :func:`wick_sum` writes the sum
over pairings; Wick's (Isserlis') theorem is their equality, checked by :func:`wick_theorem_holds`.

:func:`heat_equation_identity` checks with SymPy that the bivariate density
$p_c(u, v)$ (unit variances, covariance $c$) obeys
$\partial_c p_c = \partial_u\partial_v p_c$; integrating by parts twice gives Price's
theorem $\frac{d}{dc}\mathbb E[f(u)g(v)] = \mathbb E[f'(u)g'(v)]$. :func:`stein_identity`
checks $z\,\varphi(z) = -\varphi'(z)$ for the standard normal density $\varphi$, the
one-line proof of Stein's lemma $\mathbb E[z f(z)] = \mathbb E[f'(z)]$.
:func:`hubbard_stratonovich` evaluates $\int \frac{dz}{\sqrt{2\pi}}e^{-z^2/2 + a z} = e^{a^2/2}$.

The numerical closed forms :func:`arcsine_kernel` (erf, Williams 1997) and :func:`arccos_kernel`
(ReLU, Cho & Saul 2009) are the bivariate kernels of the book, written here once so the
appendix can compare them with Gauss-Hermite quadrature (``dmftlib.core.expect2``).

References: Isserlis (1918); Wick (1950); Price (1958); Stein (1981); Novikov (1965).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from ..core import check_public

from ..core import check_array, check_int

__all__ = ["covariance_symbols", "mgf", "moment", "pairings", "wick_sum", "wick_theorem_holds",
           "moment_function", "heat_equation_identity", "price_derivative", "stein_identity",
           "hubbard_stratonovich", "arcsine_kernel", "arccos_kernel"]


def covariance_symbols(k: int):
    r"""Symmetric ``k x k`` SymPy matrix of covariance symbols ``c_ab`` (``c_ab = c_ba``).

    >>> covariance_symbols(2)
    Matrix([
    [c11, c12],
    [c12, c22]])
    """
    k = check_int("k", k, low=1, high=9)
    return sp.Matrix(k, k, lambda a, b: sp.Symbol(f"c{min(a, b) + 1}{max(a, b) + 1}"))


def mgf(C):
    r"""Moment generating function $\exp(\frac12 j^\top C j)$ and the source symbols ``j``.

    >>> M, j = mgf(covariance_symbols(1))
    >>> M
    exp(c11*j1**2/2)
    """
    C = sp.Matrix(C)
    if C.shape[0] != C.shape[1]:
        raise ValueError(f"C must be square; got shape {C.shape}")
    j = sp.Matrix(sp.symbols(f"j1:{C.shape[0] + 1}"))
    return sp.exp(sp.expand((j.T * C * j)[0, 0] / 2)), list(j)


def _check_indices(indices, k):
    indices = tuple(int(i) for i in indices)
    if any(i < 0 or i >= k for i in indices):
        raise ValueError(f"indices must lie in [0, {k - 1}]; got {indices}")
    return indices


def moment(indices, C=None):
    r"""Gaussian moment $\mathbb E[x_{a_1}\cdots x_{a_m}]$ by differentiating the MGF.

    Parameters
    ----------
    indices : sequence of int
        Zero-based indices $a_1, \dots, a_m$ (repetitions allowed).
    C : SymPy matrix, optional
        Covariance; default symbolic, :func:`covariance_symbols` of size ``max(indices) + 1``.

    Examples
    --------
    >>> moment((0, 1, 2, 3))
    c12*c34 + c13*c24 + c14*c23
    >>> moment((0, 0, 0, 0))
    3*c11**2
    """
    indices = tuple(indices)
    if len(indices) == 0:
        return sp.Integer(1)
    if C is None:
        C = covariance_symbols(max(int(i) for i in indices) + 1)
    C = sp.Matrix(C)
    indices = _check_indices(indices, C.shape[0])
    M, j = mgf(C)
    expr = M
    for a in indices:
        expr = sp.diff(expr, j[a])
    return sp.expand(expr.subs({s: 0 for s in j}))


def pairings(items):
    """All perfect matchings (pair partitions) of a sequence; ``(m-1)!!`` of them for even ``m``.

    >>> len(pairings(range(6)))
    15
    >>> pairings((0, 1, 2, 3))
    [((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))]
    """
    items = list(items)
    if len(items) % 2:
        return []
    if not items:
        return [()]
    first, rest = items[0], items[1:]
    out = []
    for i, other in enumerate(rest):
        for p in pairings(rest[:i] + rest[i + 1:]):
            out.append(((first, other),) + p)
    return out


def wick_sum(indices, C=None):
    r"""The Wick sum $\sum_{\text{pairings}}\prod_{(a,b)} C_{ab}$ (zero for an odd number of factors).

    >>> wick_sum((0, 1, 2, 3))
    c12*c34 + c13*c24 + c14*c23
    """
    indices = tuple(indices)
    if C is None:
        C = covariance_symbols(max(int(i) for i in indices) + 1 if indices else 1)
    C = sp.Matrix(C)
    indices = _check_indices(indices, C.shape[0])
    total = sp.Integer(0)
    for p in pairings(range(len(indices))):
        term = sp.Integer(1)
        for a, b in p:
            term *= C[indices[a], indices[b]]
        total += term
    return sp.expand(total) if indices else sp.Integer(1)


def wick_theorem_holds(indices, C=None) -> bool:
    """True if the MGF derivative equals the Wick sum (SymPy simplifies their difference to 0).

    >>> all(wick_theorem_holds(ix) for ix in [(0, 1), (0, 1, 2), (0, 1, 2, 3), (0, 0, 1, 1, 2, 2)])
    True
    """
    return sp.simplify(moment(indices, C) - wick_sum(indices, C)) == 0


@lru_cache(maxsize=16)
def _lambdified(indices, k):
    C = covariance_symbols(k)
    syms = sorted(C.free_symbols, key=lambda s: s.name)
    return sp.lambdify(syms, moment(indices, C), "numpy"), tuple(s.name for s in syms)


def moment_function(indices):
    r"""Numerical function ``f(C)`` of a covariance array ``(..., k, k)`` giving the lambdified moment.

    >>> f = moment_function((0, 1, 2, 3))
    >>> C = np.array([[1.0, 0.5, 0.2, 0.1], [0.5, 1.0, 0.3, 0.0], [0.2, 0.3, 1.0, 0.4], [0.1, 0.0, 0.4, 1.0]])
    >>> round(float(f(C)), 10)      # 0.5*0.4 + 0.2*0 + 0.1*0.3
    0.23
    """
    indices = tuple(int(i) for i in indices)
    if not indices:
        raise ValueError("indices must be non-empty")
    k = max(indices) + 1
    fn, names = _lambdified(indices, k)

    def f(C):
        C = np.asarray(C, dtype=np.float64)
        if C.shape[-2:] != (C.shape[-1], C.shape[-1]) or C.shape[-1] < k:
            raise ValueError(f"C must have shape (..., m, m) with m >= {k}; got {C.shape}")
        args = [C[..., int(n[1]) - 1, int(n[2]) - 1] for n in names]
        return np.asarray(fn(*args), dtype=np.float64)
    return f


def _bivariate_density():
    u, v, c = sp.symbols("u v c", real=True)
    p = sp.exp(-(u**2 - 2 * c * u * v + v**2) / (2 * (1 - c**2))) / (2 * sp.pi * sp.sqrt(1 - c**2))
    return p, u, v, c


def heat_equation_identity() -> bool:
    r"""True if SymPy finds $\partial_c p_c(u,v) - \partial_u\partial_v p_c(u,v) = 0$ for the bivariate normal.

    >>> heat_equation_identity()
    True
    """
    p, u, v, c = _bivariate_density()
    return sp.simplify((sp.diff(p, c) - sp.diff(p, u, v)) / p) == 0


def price_derivative(f, g, var_u=1, var_v=1):
    r"""Check Price's theorem symbolically for polynomial ``f``, ``g`` (SymPy expressions in one symbol ``x``).

    Returns ``(lhs, rhs)``: $\frac{d}{dc}\mathbb E[f(u)g(v)]$ and $\mathbb E[f'(u)g'(v)]$ as
    polynomials in the covariance ``c``, both computed exactly by Wick's theorem.

    >>> x = sp.Symbol("x")
    >>> lhs, rhs = price_derivative(x**3, x**3)
    >>> lhs, sp.expand(lhs - rhs)
    (18*c**2 + 9, 0)
    """
    x, c = sp.Symbol("x"), sp.Symbol("c")
    C = sp.Matrix([[var_u, c], [c, var_v]])

    def E(p_u, p_v):
        pu, pv = sp.Poly(sp.expand(p_u), x), sp.Poly(sp.expand(p_v), x)
        total = sp.Integer(0)
        for (m,), a in pu.terms():
            for (n,), b in pv.terms():
                total += a * b * moment((0,) * m + (1,) * n, C)
        return sp.expand(total)

    lhs = sp.expand(sp.diff(E(f, g), c))
    rhs = E(sp.diff(f, x), sp.diff(g, x))
    return lhs, rhs


def stein_identity() -> bool:
    r"""True if $z\varphi(z) + \varphi'(z) = 0$ for $\varphi(z) = e^{-z^2/2}/\sqrt{2\pi}$.

    Integrating $f'(z)\varphi(z)$ by parts then gives $\mathbb E[f'(z)] = \mathbb E[z f(z)]$.

    >>> stein_identity()
    True
    """
    z = sp.Symbol("z", real=True)
    phi = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    return sp.simplify(z * phi + sp.diff(phi, z)) == 0


def hubbard_stratonovich():
    r"""SymPy's value of $\int_{-\infty}^{\infty}\frac{dz}{\sqrt{2\pi}}\,e^{-z^2/2 + a z}$ (``a`` real).

    >>> hubbard_stratonovich()
    exp(a**2/2)
    """
    z, a = sp.Symbol("z", real=True), sp.Symbol("a", real=True)
    return sp.simplify(sp.integrate(sp.exp(-z**2 / 2 + a * z), (z, -sp.oo, sp.oo)) / sp.sqrt(2 * sp.pi))


def _check_cov(var_u, var_v, cov):
    var_u, var_v, cov = (check_array(k, a) for k, a in (("var_u", var_u), ("var_v", var_v), ("cov", cov)))
    if np.any(var_u <= 0) or np.any(var_v <= 0):
        raise ValueError("var_u and var_v must be finite and in (0, inf)")
    if np.any(~np.isfinite(cov)) or np.any(cov**2 > var_u * var_v * (1 + 1e-12)):
        raise ValueError("cov must satisfy cov^2 <= var_u * var_v")
    return var_u, var_v, cov


def arcsine_kernel(var_u, var_v, cov):
    r"""Williams' kernel $\mathbb E[\mathrm{erf}(u)\,\mathrm{erf}(v)] = \frac2\pi\arcsin\frac{2c}{\sqrt{(1+2v_u)(1+2v_v)}}$.

    >>> round(float(arcsine_kernel(1.0, 1.0, 1.0)), 10)    # (2/pi) arcsin(2/3)
    0.4645590544
    """
    var_u, var_v, cov = _check_cov(var_u, var_v, cov)
    return 2.0 / np.pi * np.arcsin(2.0 * cov / np.sqrt((1.0 + 2.0 * var_u) * (1.0 + 2.0 * var_v)))


def arccos_kernel(var_u, var_v, cov, order: int = 1):
    r"""Cho-Saul arc-cosine kernels for ReLU: ``order=1`` gives $\mathbb E[\mathrm{relu}(u)\mathrm{relu}(v)]$,
    ``order=0`` gives $\mathbb E[\Theta(u)\Theta(v)]$.

    .. math::

        &\mathbb E[\mathrm{relu}(u)\,\mathrm{relu}(v)] = \frac{\sqrt{v_u v_v}}{2\pi}\big(\sin\theta + (\pi-\theta)\cos\theta\big),\\
        &\mathbb E[\Theta(u)\Theta(v)] = \frac{\pi-\theta}{2\pi},\qquad \cos\theta = \frac{c}{\sqrt{v_u v_v}}.

    >>> round(float(arccos_kernel(1.0, 1.0, 1.0)), 10)    # E[relu(z)^2] = 1/2
    0.5
    """
    var_u, var_v, cov = _check_cov(var_u, var_v, cov)
    order = check_int("order", order, low=0, high=1)
    theta = np.arccos(np.clip(cov / np.sqrt(var_u * var_v), -1.0, 1.0))
    if order == 0:
        return (np.pi - theta) / (2 * np.pi)
    return np.sqrt(var_u * var_v) / (2 * np.pi) * (np.sin(theta) + (np.pi - theta) * np.cos(theta))


check_public(globals())
