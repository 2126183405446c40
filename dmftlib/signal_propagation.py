r"""Signal propagation in wide random networks at initialization: order, chaos, depth scales.

A fully connected network of width $N$ and depth $L$,

.. math::

    h^{\ell} = W^{\ell}\,\phi(h^{\ell-1}) + b^{\ell}, \qquad
    W^{\ell}_{ij}\sim\mathcal N(0, \sigma_w^2/N), \quad b^{\ell}_i\sim\mathcal N(0,\sigma_b^2),

is fed two inputs whose layer-0 pre-activations $h^0_a, h^0_b\in\mathbb R^N$ have
$|h^0_a|^2/N = |h^0_b|^2/N = q^0$ and $h^0_a\cdot h^0_b/N = q^0 c^0$ (we treat the
input as the pre-activation of layer 0). As $N\to\infty$ the length
$q^\ell = |h^\ell|^2/N$ and the correlation $c^\ell = h_a^\ell\cdot h_b^\ell/(N q^\ell)$
follow deterministic maps (Poole et al. 2016; Schoenholz et al. 2017):

.. math::

    q^{\ell} = \sigma_w^2\,\mathbb E_z\big[\phi(\sqrt{q^{\ell-1}}z)^2\big] + \sigma_b^2, \qquad
    c^{\ell} = \frac{\sigma_w^2\,\mathbb E[\phi(u_a)\phi(u_b)] + \sigma_b^2}{q^{\ell}},

with $(u_a,u_b)$ centred Gaussian, variances $q^{\ell-1}$ and covariance
$q^{\ell-1}c^{\ell-1}$. At the fixed point $q^*$ the slope of the correlation map at
$c=1$ is $\chi_1 = \sigma_w^2\,\mathbb E[\phi'(\sqrt{q^*}z)^2]$: $\chi_1<1$ is the
ordered phase ($c^\ell\to1$), $\chi_1>1$ the chaotic phase ($c^\ell\to c^*<1$).
The depth scales are $\xi_q^{-1} = -\log\chi_q$ and $\xi_c^{-1} = -\log\chi_c$, with
$\chi_q = \sigma_w^2\,\mathbb E[\phi'^2+\phi\phi'']$ and
$\chi_c = \sigma_w^2\,\mathbb E[\phi'(u_a)\phi'(u_b)]$ at $(q^*, c^*)$.

Activations: ``"tanh"``, ``"relu"`` (with $\phi'(0)=1/2$) and ``"erf"`` (plain
$\operatorname{erf}(x)$, slope $2/\sqrt\pi$ at 0). The Gaussian averages of tanh
and erf are Gauss-Hermite sums from :mod:`dmftlib.core` (exponentially accurate for smooth
functions; the erf closed form, Williams' arcsin kernel, is the reference in the tests). For
ReLU, whose kink makes Gauss-Hermite converge only like $n^{-3/2}$, the library uses the
exact arc-cosine kernel (Cho & Saul 2009), and the tests check it against ``expect2``.

References: B. Poole, S. Lahiri, M. Raghu, J. Sohl-Dickstein, S. Ganguli, *Exponential
expressivity in deep neural networks through transient chaos*, NeurIPS 2016;
S. S. Schoenholz, J. Gilmer, S. Ganguli, J. Sohl-Dickstein, *Deep information propagation*,
ICLR 2017.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from scipy.special import erf as _erf

from .core import (ConvergenceError, ReadOnlyArrays, check_array, check_budget, check_choice, check_int,
                   check_public, check_real, check_seed, check_seeds, expect, expect2, mean_sem)
from .core.validation import MAX_DOUBLES

__all__ = [
    "ACTIVATIONS", "activation", "length_map", "correlation_map", "q_star", "c_star", "chi1",
    "critical_sigma_w2", "DepthScales", "depth_scales", "SignalPropagation", "theory",
    "iterate_length_map", "iterate_correlation_map", "SignalPropagationSimulation", "simulate",
    "decay_length", "phase_diagram", "TrainabilityResult", "trainability",
    "plot_maps", "plot_phase_diagram", "plot_layers", "plot_depth_scales", "plot_trainability",
    "Kernels", "kernels_theory", "empirical_kernels",
]

ACTIVATIONS = ("tanh", "relu", "erf")
_SQPI = math.sqrt(math.pi)
_N_GH = 240       # Gauss-Hermite nodes for one-dimensional averages (q up to ~10 at 1e-7)
_N_GH2 = 100      # per dimension for two-dimensional averages
_BISECT = 200     # bisection steps (stops early once the bracket is at machine precision)


# ----------------------------------------------------------------------------- activations
def _tanh_d(x):
    return 1.0 - np.tanh(x) ** 2


def _tanh_pp(x):  # phi * phi''
    t = np.tanh(x)
    return -2.0 * t * t * (1.0 - t * t)


def _relu(x):
    return np.maximum(x, 0.0)


def _relu_d(x):
    return np.heaviside(x, 0.5)


def _relu_pp(x):  # phi'' is a delta at 0 where phi = 0
    return np.zeros_like(x)


def _erf_d(x):
    return (2.0 / _SQPI) * np.exp(-x * x)


def _erf_pp(x):
    return _erf(x) * (-4.0 / _SQPI) * x * np.exp(-x * x)


_ACT = {
    # name: (phi, phi', phi*phi'', phi'(0)^2, sup phi^2 (None if unbounded))
    "tanh": (np.tanh, _tanh_d, _tanh_pp, 1.0, 1.0),
    "relu": (_relu, _relu_d, _relu_pp, 0.25, None),
    "erf": (_erf, _erf_d, _erf_pp, 4.0 / math.pi, 1.0),
}


def activation(phi: str = "tanh"):
    """The activation ``phi`` and its derivative as vectorized functions.

    >>> f, df = activation("erf")
    >>> round(float(f(1.0)), 6), round(float(df(0.0)), 6)
    (0.842701, 1.128379)
    """
    check_choice("phi", phi, ACTIVATIONS)
    return _ACT[phi][0], _ACT[phi][1]


# ----------------------------------------------------------------------------- validation
def _is_scalar(x) -> bool:
    return isinstance(x, numbers.Real) or (isinstance(x, np.ndarray) and x.ndim == 0)


def _params(sigma_w2, sigma_b2, phi):
    """Validate (sigma_w2 > 0, sigma_b2 >= 0, phi); return broadcast float arrays and a scalar flag."""
    check_choice("phi", phi, ACTIVATIONS)
    scalar = _is_scalar(sigma_w2) and _is_scalar(sigma_b2)
    if _is_scalar(sigma_w2):
        sw = np.asarray(check_real("sigma_w2", float(sigma_w2) if isinstance(sigma_w2, np.ndarray) else sigma_w2,
                                   low=0.0, low_open=True))
    else:
        sw = check_array("sigma_w2", sigma_w2, low=0.0)
        if np.any(sw == 0):
            raise ValueError("sigma_w2 must have every entry in (0, inf)")
    if _is_scalar(sigma_b2):
        sb = np.asarray(check_real("sigma_b2", float(sigma_b2) if isinstance(sigma_b2, np.ndarray) else sigma_b2,
                                   low=0.0))
    else:
        sb = check_array("sigma_b2", sigma_b2, low=0.0)
    sw, sb = np.broadcast_arrays(sw, sb)
    return sw.astype(np.float64), sb.astype(np.float64), scalar


def _out(x, scalar):
    return float(x) if scalar else x


# ----------------------------------------------------------------------------- the maps
def _relu_k(q, c):
    """Arc-cosine kernel: E[relu(u_a) relu(u_b)] for variances q and correlation c (Cho & Saul 2009)."""
    return q / (2 * math.pi) * (np.sqrt(np.clip(1.0 - c * c, 0.0, None)) + (math.pi - np.arccos(c)) * c)


def _relu_dk(c):
    """E[relu'(u_a) relu'(u_b)] = (pi - arccos c) / (2 pi)."""
    return (math.pi - np.arccos(c)) / (2 * math.pi)


def _F(q, sw, sb, phi):
    """Length map sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2 (arrays, no checks)."""
    q = np.clip(q, 0.0, None)
    if phi == "relu":
        return sw * 0.5 * q + sb
    f = _ACT[phi][0]
    return sw * expect(lambda x: f(x) ** 2, var=q, n=_N_GH) + sb


def _cov_map(q, c, sw, sb, phi):
    """sigma_w^2 E[phi(u_a) phi(u_b)] + sigma_b^2 for equal variances q and correlation c."""
    q = np.clip(q, 0.0, None)
    c = np.clip(c, -1.0, 1.0)
    if phi == "relu":
        return sw * _relu_k(q, c) + sb
    f = _ACT[phi][0]
    return sw * expect2(f, f, q, q, q * c, n=_N_GH2) + sb


def _dkernel(q, c, phi):
    """E[phi'(u_a) phi'(u_b)] for equal variances q and correlation c."""
    if phi == "relu":
        return _relu_dk(np.clip(c, -1.0, 1.0)) * np.ones_like(q)
    d = _ACT[phi][1]
    q = np.clip(q, 0.0, None)
    return expect2(d, d, q, q, q * np.clip(c, -1.0, 1.0), n=_N_GH2)


def length_map(q, sigma_w2, sigma_b2, phi: str = "tanh"):
    r"""One step of the length map, $q \mapsto \sigma_w^2\,\mathbb E[\phi(\sqrt q z)^2] + \sigma_b^2$.

    Vectorized over ``q``, ``sigma_w2`` and ``sigma_b2`` (broadcasting).

    >>> round(length_map(1.0, 2.0, 0.0, "relu"), 4)   # sigma_w^2 q / 2
    1.0
    """
    sw, sb, scalar = _params(sigma_w2, sigma_b2, phi)
    qa = check_array("q", q, low=0.0)
    return _out(_F(qa, sw, sb, phi), scalar and qa.ndim == 0)


def correlation_map(c, sigma_w2, sigma_b2, phi: str = "tanh", q=None):
    r"""One step of the correlation map at fixed length $q$ (default $q^*$).

    .. math:: c \mapsto \frac{\sigma_w^2\,\mathbb E[\phi(u_a)\phi(u_b)] + \sigma_b^2}{q^*},
        \quad \operatorname{Var} u_{a,b} = q^*,\ \operatorname{Cov}(u_a,u_b) = q^* c.

    Vectorized over ``c`` and the parameters. Requires $q^*>0$.

    >>> round(correlation_map(1.0, 1.5, 0.05, "tanh"), 10)   # c = 1 is always a fixed point
    1.0
    """
    sw, sb, scalar = _params(sigma_w2, sigma_b2, phi)
    ca = check_array("c", c, low=-1.0, high=1.0)
    qq = q_star(sw, sb, phi) if q is None else check_array("q", q, low=0.0)
    if np.any(qq <= 0):
        raise ValueError("the correlation map needs q > 0 (q* = 0 when sigma_b2 = 0 in the ordered phase)")
    return _out(_cov_map(qq, ca, sw, sb, phi) / qq, scalar and ca.ndim == 0)


def _bisect(g, lo, hi):
    """Vectorized bisection for g(lo) > 0 >= g(hi) (arrays); returns the midpoint of the final bracket."""
    lo = np.array(lo, dtype=np.float64)
    hi = np.array(hi, dtype=np.float64)
    for _ in range(_BISECT):
        mid = 0.5 * (lo + hi)
        pos = g(mid) > 0
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
        if np.all(hi - lo <= 4 * np.finfo(float).eps * np.maximum(np.abs(hi), 1e-300)):
            break
    return 0.5 * (lo + hi)


def _q_star(sw, sb, phi):
    """Stable fixed point of the length map (arrays, no argument checks)."""
    if phi == "relu":
        s = 0.5 * sw
        bad = (s >= 1.0) & ~((sb == 0) & (s < 1.0))
        if np.any(bad):
            raise ConvergenceError(
                "the length map of phi='relu' has no stable fixed point for sigma_w2 >= 2: "
                "q^l = (sigma_w2/2)^l q^0 + ... grows without bound (or is conserved at sigma_w2 = 2, sigma_b2 = 0)")
        return sb / (1.0 - s)
    slope0, sup2 = _ACT[phi][3], _ACT[phi][4]
    hi = sw * sup2 + sb + 1.0                      # F(q) <= sigma_w^2 sup phi^2 + sigma_b^2 < hi
    zero_bias = sb == 0
    trivial = zero_bias & (sw * slope0 <= 1.0)     # q* = 0 is the only fixed point
    lo = np.where(zero_bias, 1e-200, 0.0)
    root = _bisect(lambda q: _F(q, sw, sb, phi) - q, lo, hi)
    return np.where(trivial, 0.0, root)


def q_star(sigma_w2, sigma_b2, phi: str = "tanh"):
    r"""Stable fixed point $q^*$ of the length map, $q^* = \sigma_w^2\,\mathbb E[\phi(\sqrt{q^*}z)^2]+\sigma_b^2$.

    Solved by vectorized bisection (tanh, erf: the root in $(0, \sigma_w^2+\sigma_b^2]$;
    at $\sigma_b^2=0$ the non-zero root if $\sigma_w^2\phi'(0)^2>1$, else 0) or in
    closed form (ReLU, $q^* = \sigma_b^2/(1-\sigma_w^2/2)$).

    Raises
    ------
    ConvergenceError
        For ReLU with $\sigma_w^2\ge 2$: the length map has no stable fixed point.

    >>> round(q_star(2.0, 0.1, "tanh"), 6), round(q_star(1.0, 0.5, "relu"), 6)
    (0.814644, 1.0)
    """
    sw, sb, scalar = _params(sigma_w2, sigma_b2, phi)
    return _out(_q_star(sw, sb, phi), scalar)


def _chi1(sw, sb, phi):
    d = _ACT[phi][1]
    if phi == "relu":   # homogeneous: E[phi'(sqrt(q) z)^2] = 1/2 whatever q
        return 0.5 * sw
    q = _q_star(sw, sb, phi)
    return sw * expect(lambda x: d(x) ** 2, var=q, n=_N_GH)


def chi1(sigma_w2, sigma_b2, phi: str = "tanh"):
    r"""Slope of the correlation map at $c=1$: $\chi_1 = \sigma_w^2\,\mathbb E[\phi'(\sqrt{q^*}z)^2]$.

    $\chi_1<1$: ordered phase; $\chi_1>1$: chaotic phase. For ReLU,
    $\chi_1=\sigma_w^2/2$ whatever $q^*$. Vectorized over the parameters.

    >>> round(chi1(0.7, 0.0, "tanh"), 10), round(chi1(3.0, 0.3, "relu"), 10)
    (0.7, 1.5)
    """
    sw, sb, scalar = _params(sigma_w2, sigma_b2, phi)
    return _out(_chi1(sw, sb, phi), scalar)


def _c_star(sw, sb, phi, q, x1):
    """Stable fixed point of the correlation map: 1 in the ordered phase, the root in [0, 1) otherwise."""
    chaotic = x1 > 1.0
    if not np.any(chaotic):
        return np.ones_like(sw)
    qs = np.where(q > 0, q, 1.0)
    root = _bisect(lambda c: _cov_map(qs, c, sw, sb, phi) / qs - c, np.zeros_like(sw), np.ones_like(sw))
    return np.where(chaotic, root, 1.0)


def c_star(sigma_w2, sigma_b2, phi: str = "tanh"):
    r"""Stable fixed point $c^*$ of the correlation map (1 in the ordered phase).

    In the chaotic phase the map is convex on $[0,1]$ with slope $\chi_1>1$ at the
    fixed point $c=1$, so it has exactly one other fixed point $c^*\in[0,1)$, found
    by bisection (for odd $\phi$ and $\sigma_b^2=0$, $c^*=0$).

    >>> round(c_star(1.5, 0.05), 4), round(c_star(4.0, 0.05), 4)
    (1.0, 0.1651)
    """
    sw, sb, scalar = _params(sigma_w2, sigma_b2, phi)
    x1 = _chi1(sw, sb, phi)
    q = _q_star(sw, sb, phi) if phi != "relu" or np.all(x1 <= 1) else None
    if q is None:   # relu: never chaotic where q* exists
        return _out(np.ones_like(sw), scalar)
    return _out(_c_star(sw, sb, phi, q, x1), scalar)


def critical_sigma_w2(sigma_b2, phi: str = "tanh"):
    r"""The $\sigma_w^2$ on the critical line $\chi_1(\sigma_w^2,\sigma_b^2)=1$, by bisection.

    For tanh at $\sigma_b^2=0$ it is 1; for erf, $\pi/4$; for ReLU, 2 for every
    $\sigma_b^2$ (with $\sigma_b^2>0$ the point is reached only as $q^*\to\infty$).
    Vectorized over ``sigma_b2``. At $\sigma_b^2=0$ (tanh, erf), $\chi_1-1$ is only
    quadratic in the distance to the critical point, so the root is accurate to ~1e-8 there.

    >>> round(critical_sigma_w2(0.0), 6), round(critical_sigma_w2(0.0, "relu"), 6)
    (1.0, 2.0)
    >>> round(critical_sigma_w2(0.05), 4)
    1.761
    """
    check_choice("phi", phi, ACTIVATIONS)
    scalar = _is_scalar(sigma_b2)
    sb = np.asarray(check_real("sigma_b2", sigma_b2, low=0.0) if scalar else check_array("sigma_b2", sigma_b2, low=0.0))
    sb = sb.astype(np.float64)
    lo = np.full(sb.shape, 1e-6)
    hi = np.full(sb.shape, 4.0)
    for _ in range(60):   # grow the bracket until chi1(hi) > 1
        up = _chi1(hi, sb, phi) <= 1.0
        if not np.any(up):
            break
        hi = np.where(up, 4.0 * hi, hi)
    else:
        raise ConvergenceError("critical_sigma_w2: chi1 stays below 1 for sigma_w2 up to 1e36")
    root = _bisect(lambda s: 1.0 - _chi1(s, sb, phi), lo, hi)
    return _out(root, scalar)


@dataclass(frozen=True)
class DepthScales(ReadOnlyArrays):
    """Depth scales at (sigma_w2, sigma_b2): ``xi_q``, ``xi_c`` and the quantities they come from.

    Attributes
    ----------
    xi_q, xi_c : float or ndarray
        $\\xi_q = -1/\\log\\chi_q$, $\\xi_c = -1/\\log\\chi_c$ (``inf`` on the critical
        line, and where the correlation map is marginal because $q^*=0$).
    q_star, c_star, chi1, chi_q, chi_c : float or ndarray
    """

    xi_q: object
    xi_c: object
    q_star: object
    c_star: object
    chi1: object
    chi_q: object
    chi_c: object


def _xi(chi):
    with np.errstate(divide="ignore"):
        return np.where(chi >= 1.0 - 1e-15, np.inf, -1.0 / np.log(np.clip(chi, 1e-300, 1.0 - 1e-15)))


def depth_scales(sigma_w2, sigma_b2, phi: str = "tanh") -> DepthScales:
    r"""Depth scales of the length and correlation maps (Schoenholz et al. 2017).

    .. math::

        \xi_q^{-1} &= -\log\Big(\sigma_w^2\,\mathbb E\big[\phi'(\sqrt{q^*}z)^2
                     + \phi(\sqrt{q^*}z)\phi''(\sqrt{q^*}z)\big]\Big),\\
        \xi_c^{-1} &= -\log\Big(\sigma_w^2\,\mathbb E\big[\phi'(u_a)\phi'(u_b)\big]\Big),

    the second at $(q^*, c^*)$; in the ordered phase $\xi_c = -1/\log\chi_1$.
    $|q^\ell-q^*|\sim e^{-\ell/\xi_q}$ and $|c^\ell-c^*|\sim e^{-\ell/\xi_c}$.
    Where $q^*=0$ ($\sigma_b^2=0$, ordered) the network is linear at depth and
    the correlation map is marginal: ``xi_c = inf``. Vectorized over the parameters.

    >>> ds = depth_scales(1.5, 0.05)
    >>> round(ds.xi_q, 3), round(ds.xi_c, 3), round(ds.chi1, 4)
    (1.683, 15.791, 0.9386)
    """
    sw, sb, scalar = _params(sigma_w2, sigma_b2, phi)
    _, d, pp, slope0, _ = _ACT[phi]
    x1 = _chi1(sw, sb, phi)
    if phi == "relu":
        q = np.where(sb == 0, 0.0, 1.0)
        if np.any(sb > 0):
            q = np.where(sb > 0, _q_star(np.where(sb > 0, sw, 1.0), sb, phi), 0.0)
        chi_q = x1.copy()                      # E[phi phi''] = 0 and E[phi'^2] = 1/2
        c = np.ones_like(sw)
        chi_c = np.where(sb == 0, 1.0, x1)     # sigma_b2 = 0: c-map independent of q, slope 1 at c = 1
    else:
        q = _q_star(sw, sb, phi)
        chi_q = sw * expect(lambda x: d(x) ** 2 + pp(x), var=q, n=_N_GH)
        c = _c_star(sw, sb, phi, q, x1)
        chi_c = sw * _dkernel(q, c, phi)
        chi_c = np.where(q == 0, 1.0, chi_c)
    res = DepthScales(xi_q=_xi(chi_q), xi_c=_xi(chi_c), q_star=q, c_star=c, chi1=x1, chi_q=chi_q, chi_c=chi_c)
    if scalar:
        res = DepthScales(**{k: float(v) for k, v in res.__dict__.items()})
    return res


def phase_diagram(sigma_w2, sigma_b2, phi: str = "tanh"):
    """$\\chi_1$ on the grid ``sigma_b2[:, None] x sigma_w2[None, :]`` (1-D arrays in, 2-D out).

    >>> phase_diagram([0.5, 2.0], [0.0, 0.1], "relu").round(6).tolist()
    [[0.25, 1.0], [0.25, 1.0]]
    """
    sw = check_array("sigma_w2", sigma_w2, ndim=1, low=0.0)
    sb = check_array("sigma_b2", sigma_b2, ndim=1, low=0.0)
    return chi1(sw[None, :], sb[:, None], phi)


# ----------------------------------------------------------------------------- theory view
@dataclass(frozen=True)
class SignalPropagation(ReadOnlyArrays):
    """Layer-by-layer length and correlation, N -> infinity (theory).

    Attributes
    ----------
    l : ndarray of int, shape (L+1,)
        Layer index 0..L (layer 0 is the input).
    q, c : ndarray, shape (..., L+1)
        $q^\\ell$ and $c^\\ell$ (leading axes: those of broadcast parameters).
    sigma_w2, sigma_b2, phi, q0, c0 : the parameters.
    """

    l: np.ndarray
    q: np.ndarray
    c: np.ndarray
    sigma_w2: object
    sigma_b2: object
    phi: str
    q0: float
    c0: float


def _check_q0_c0(q0, c0):
    q0 = check_real("q0", q0, low=0.0, low_open=True)
    c0 = check_real("c0", c0, low=-1.0, high=1.0)
    return q0, c0


def theory(L: int, sigma_w2, sigma_b2, phi: str = "tanh", q0: float = 1.0, c0: float = 0.5) -> SignalPropagation:
    r"""Iterate the length and correlation maps jointly from $(q^0, c^0)$ for ``L`` layers.

    .. math::

        q^{\ell} = \sigma_w^2\,\mathbb E[\phi(u_a)^2] + \sigma_b^2, \qquad
        c^{\ell} = \big(\sigma_w^2\,\mathbb E[\phi(u_a)\phi(u_b)] + \sigma_b^2\big)/q^{\ell},

    $(u_a,u_b)\sim\mathcal N(0, q^{\ell-1}[[1, c^{\ell-1}],[c^{\ell-1}, 1]])$. Unlike
    :func:`iterate_correlation_map`, the length is not held at $q^*$, so the transient of
    $q^\ell$ is included. Vectorized over the parameters (layer axis last).

    >>> th = theory(3, 1.5, 0.05, "tanh", q0=1.0, c0=0.5)
    >>> th.q.round(4).tolist(), th.c.round(4).tolist()
    ([1.0, 0.6414, 0.5231, 0.4716], [0.5, 0.5137, 0.5436, 0.5785])
    """
    L = check_int("L", L, low=1, high=100000)
    sw, sb, scalar = _params(sigma_w2, sigma_b2, phi)
    q0, c0 = _check_q0_c0(q0, c0)
    q = [np.full(sw.shape, q0)]
    c = [np.full(sw.shape, c0)]
    for _ in range(L):
        qn = _F(q[-1], sw, sb, phi)
        cn = _cov_map(q[-1], c[-1], sw, sb, phi) / qn
        q.append(qn)
        c.append(np.clip(cn, -1.0, 1.0))
    q = np.stack(q, axis=-1)
    c = np.stack(c, axis=-1)
    return SignalPropagation(np.arange(L + 1), q, c, _out(sw, scalar), _out(sb, scalar), phi, q0, c0)


def iterate_length_map(q0, L: int, sigma_w2, sigma_b2, phi: str = "tanh"):
    """$q^0, q^1, \\dots, q^L$ under the length map (array of length L+1; ``q0`` may be an array, axis last).

    >>> iterate_length_map(1.0, 2, 2.0, 0.0, "relu").round(6).tolist()
    [1.0, 1.0, 1.0]
    """
    L = check_int("L", L, low=1, high=100000)
    sw, sb, _ = _params(sigma_w2, sigma_b2, phi)
    q = [check_array("q0", q0, low=0.0)]
    for _ in range(L):
        q.append(_F(q[-1], sw, sb, phi))
    return np.stack(np.broadcast_arrays(*q), axis=-1)


def iterate_correlation_map(c0, L: int, sigma_w2, sigma_b2, phi: str = "tanh"):
    """$c^0, \\dots, c^L$ under the correlation map at fixed $q=q^*$ (Poole et al.'s c-map).

    >>> iterate_correlation_map(0.0, 3, 1.0, 0.3, "relu").round(4).tolist()
    [0.0, 0.6592, 0.86, 0.9379]
    """
    L = check_int("L", L, low=1, high=100000)
    sw, sb, _ = _params(sigma_w2, sigma_b2, phi)
    q = _q_star(sw, sb, phi)
    if np.any(q <= 0):
        raise ValueError("iterate_correlation_map needs q* > 0 (sigma_b2 > 0, or the chaotic phase)")
    c = [check_array("c0", c0, low=-1.0, high=1.0)]
    for _ in range(L):
        c.append(np.clip(_cov_map(q, c[-1], sw, sb, phi) / q, -1.0, 1.0))
    return np.stack(np.broadcast_arrays(*c), axis=-1)


# ----------------------------------------------------------------------------- simulation view
@dataclass(frozen=True)
class SignalPropagationSimulation(ReadOnlyArrays):
    """Measured $q^\\ell$, $c^\\ell$ in random networks of width N, mean and sem over seeds.

    Attributes
    ----------
    l : ndarray of int, shape (L+1,)
    q, q_sem : ndarray, shape (L+1,)
        $q^\\ell = (|h^\\ell_a|^2+|h^\\ell_b|^2)/(2N)$, mean over networks and its standard error.
    c, c_sem : ndarray, shape (L+1,)
        $c^\\ell = h^\\ell_a\\cdot h^\\ell_b/(|h^\\ell_a||h^\\ell_b|)$, mean and standard error.
    q_samples, c_samples : ndarray, shape (n_seeds, L+1)
        One row per network.
    N, n_seeds, sigma_w2, sigma_b2, phi, q0, c0, method : the parameters.
    """

    l: np.ndarray
    q: np.ndarray
    c: np.ndarray
    q_sem: np.ndarray
    c_sem: np.ndarray
    q_samples: np.ndarray
    c_samples: np.ndarray
    N: int
    n_seeds: int
    sigma_w2: float
    sigma_b2: float
    phi: str
    q0: float
    c0: float
    method: str


def _inputs(rngs, N, q0, c0):
    """Two inputs per seed with exactly |h_a|^2/N = |h_b|^2/N = q0 and h_a.h_b/N = q0 c0; shape (n_seeds, N, 2)."""
    return _inputs_from(np.stack([r.standard_normal((N, 2)) for r in rngs]), N, q0, c0)


def _inputs_from(g, N, q0, c0):
    """The inputs of :func:`_inputs` built from Gaussian draws ``g`` of shape (n_seeds, N, 2)."""
    u1 = g[..., 0] / np.linalg.norm(g[..., 0], axis=1, keepdims=True)
    v = g[..., 1] - np.sum(g[..., 1] * u1, axis=1, keepdims=True) * u1
    u2 = v / np.linalg.norm(v, axis=1, keepdims=True)
    s = math.sqrt(N * q0)
    return np.stack([s * u1, s * (c0 * u1 + math.sqrt(max(1.0 - c0 * c0, 0.0)) * u2)], axis=-1)


def _measure(h):
    """(q, c) of the state h of shape (n_seeds, N, 2)."""
    N = h.shape[1]
    G = np.einsum("sia,sib->sab", h, h) / N
    q = 0.5 * (G[:, 0, 0] + G[:, 1, 1])
    c = G[:, 0, 1] / np.sqrt(G[:, 0, 0] * G[:, 1, 1])
    return q, c


def simulate(N: int, L: int, sigma_w2: float, sigma_b2: float, phi: str = "tanh", q0: float = 1.0,
             c0: float = 0.5, seeds=8, method: str = "network") -> SignalPropagationSimulation:
    r"""Propagate two inputs through random networks of width ``N`` and depth ``L``, one per seed.

    ``seeds``: an int ``n`` (meaning ``range(n)``) or a sequence of at least 2 distinct ints; network
    ``s`` draws its inputs, then layer by layer its bias and weights, from ``numpy.random.default_rng(s)``.

    ``method="network"`` draws every weight matrix: one batched matmul of shape
    ``(n_seeds, N, N) @ (n_seeds, N, 2)`` per layer (seeds on the leading axis, looping over
    layers only; seeds are processed in chunks of at most ~32 MB of weights). Memory
    $O(\text{chunk}\cdot N^2)$, time $O(n_\text{seeds} L N^2)$.

    ``method="gram"`` samples the same random variables in $O(N)$ per layer: given layer
    $\ell-1$, the rows of a fresh $W^\ell$ are independent, so the pairs
    $(h^\ell_{a,i}, h^\ell_{b,i})$ are i.i.d. Gaussian with covariance
    $\sigma_w^2 G^{\ell-1}+\sigma_b^2$ ($G$ the 2x2 Gram matrix of
    $\phi(h^{\ell-1})/\sqrt N$). It has the same law as ``"network"`` for these two inputs.

    Weights $W_{ij}\sim\mathcal N(0,\sigma_w^2/N)$, biases $\mathcal N(0,\sigma_b^2)$,
    the same for both inputs; float64.

    >>> sim = simulate(200, 2, 1.5, 0.05, seeds=[1, 2, 3, 4])
    >>> sim.q.shape, round(float(sim.c[0]), 6)
    ((3,), 0.5)
    """
    N = check_int("N", N, low=2, high=100000)
    L = check_int("L", L, low=1, high=100000)
    seeds = check_seeds("seeds", seeds, min_seeds=2)
    n_seeds = len(seeds)
    sw = check_real("sigma_w2", sigma_w2, low=0.0, low_open=True)
    sb = check_real("sigma_b2", sigma_b2, low=0.0)
    check_choice("phi", phi, ACTIVATIONS)
    check_choice("method", method, ("network", "gram"))
    q0, c0 = _check_q0_c0(q0, c0)
    f = _ACT[phi][0]
    check_budget("layers x seeds x N^2 (network)" if method == "network" else "layers x seeds x N (gram)",
                 float(L) * n_seeds * N * (N if method == "network" else 1), limit=4e10)
    rngs = [np.random.default_rng(s) for s in seeds]
    h = _inputs(rngs, N, q0, c0)
    qs, cs = [], []
    q, c = _measure(h)
    qs.append(q)
    cs.append(c)
    chunk = max(1, min(n_seeds, (32 * 2**20) // (8 * N * N)))
    sw_sqrt, sb_sqrt = math.sqrt(sw / N), math.sqrt(sb)
    with np.errstate(over="ignore", invalid="ignore"):   # overflow is reported as ConvergenceError below
        for _ in range(L):
            x = f(h)
            b = sb_sqrt * np.stack([r.standard_normal((N, 1)) for r in rngs])
            if method == "network":
                out = np.empty_like(h)
                for s0 in range(0, n_seeds, chunk):   # memory only: each chunk is one batched matmul
                    W = np.stack([r.standard_normal((N, N)) for r in rngs[s0:s0 + chunk]])
                    np.matmul(W, x[s0:s0 + chunk], out=out[s0:s0 + chunk])
                h = sw_sqrt * out + b
            else:
                G = sw * np.einsum("sia,sib->sab", x, x) / N
                l11 = np.sqrt(G[:, 0, 0])
                l21 = np.where(l11 > 0, G[:, 0, 1] / np.where(l11 > 0, l11, 1.0), 0.0)
                l22 = np.sqrt(np.clip(G[:, 1, 1] - l21**2, 0.0, None))
                z = np.stack([r.standard_normal((N, 2)) for r in rngs])
                h = np.stack([l11[:, None] * z[..., 0], l21[:, None] * z[..., 0] + l22[:, None] * z[..., 1]], axis=-1) + b
            q, c = _measure(h)
            qs.append(q)
            cs.append(c)
    q_samples = np.stack(qs, axis=1)
    c_samples = np.stack(cs, axis=1)
    if not (np.all(np.isfinite(q_samples)) and np.all(np.isfinite(c_samples))):
        raise ConvergenceError("simulate: the pre-activations overflowed (q^l grew without bound)")
    qm, qe = mean_sem(q_samples)
    cm, ce = mean_sem(c_samples)
    return SignalPropagationSimulation(np.arange(L + 1), qm, cm, qe, ce, q_samples, c_samples, N, n_seeds,
                                       sw, sb, phi, q0, c0, method)


def decay_length(l, y, y_star, lmin: int = 1, floor: float = 0.0) -> float:
    r"""Fit $|y^\ell - y^*| \propto e^{-\ell/\xi}$ by least squares on $\log|y^\ell-y^*|$.

    Uses the layers from ``lmin`` on, up to the first one where $|y^\ell-y^*|$ falls to
    ``floor`` (a number or one per layer, e.g. a few standard errors: the finite-N noise
    level). Returns $\xi$.

    >>> l = np.arange(10)
    >>> round(decay_length(l, 1 - 0.5 * np.exp(-l / 3.0), 1.0), 6)
    3.0
    """
    l = check_array("l", l, ndim=1)
    y = check_array("y", y, ndim=1)
    if l.size != y.size:
        raise ValueError(f"l and y must have the same length; got {l.size} and {y.size}")
    floor = np.broadcast_to(check_array("floor", floor, low=0.0), y.shape)
    y_star = check_array("y_star", y_star)
    if y_star.ndim > 1 or y_star.size not in (1, y.size):
        raise ValueError(f"y_star must be a number or one value per layer ({y.size}); got shape {y_star.shape}")
    d = np.abs(y - y_star)
    above = (d > floor) & (d > 0)
    keep = (l >= lmin) & (np.cumprod(above | (l < lmin)) > 0)   # up to the first layer at the floor
    if keep.sum() < 2:
        raise ValueError("decay_length needs at least 2 layers above the floor")
    slope = np.polyfit(l[keep], np.log(d[keep]), 1)[0]
    if slope >= 0:
        raise ValueError("|y - y_star| does not decay over the layers used")
    return float(-1.0 / slope)


# ----------------------------------------------------------------------------- trainability
@dataclass(frozen=True)
class TrainabilityResult(ReadOnlyArrays):
    """Accuracy of deep MLPs after a few SGD steps, on a grid of sigma_w2 (rows) and depth (columns).

    Attributes
    ----------
    sigma_w2, depths : ndarray
    accuracy, accuracy_sem : ndarray, shape (len(sigma_w2), len(depths))
        Test accuracy after ``n_steps`` steps, mean and sem over ``n_seeds`` networks
        (a run whose loss became non-finite counts as chance, 0.5).
    loss : ndarray, same shape
        Final test mean-squared error (mean over seeds; ``inf`` if a run diverged).
    width, n_steps, batch, lr, sigma_b2, phi, n_seeds, d_teacher : the parameters.
    """

    sigma_w2: np.ndarray
    depths: np.ndarray
    accuracy: np.ndarray
    accuracy_sem: np.ndarray
    loss: np.ndarray
    width: int
    n_steps: int
    batch: int
    lr: float
    sigma_b2: float
    phi: str
    n_seeds: int


def _train_depth(sw, sb, phi, L, width, n_steps, batch, lr, n_seeds, rng, x_test, y_test, w_teacher):
    """Train K = len(sw) * n_seeds networks of depth L at once (batched matmuls); return accuracy, loss (K,)."""
    f, d = _ACT[phi][0], _ACT[phi][1]
    N = width
    K = sw.size * n_seeds
    sig = np.repeat(np.sqrt(sw / N), n_seeds)[:, None, None]
    W = [sig * rng.standard_normal((K, N, N)) for _ in range(L)]
    b = [math.sqrt(sb) * rng.standard_normal((K, N, 1)) for _ in range(L)]
    a = rng.standard_normal((K, N)) / math.sqrt(N)
    ok = np.ones(K, dtype=bool)

    def forward(x):
        hs, xs = [], [x]
        for l in range(L):
            h = np.matmul(W[l], xs[-1]) + b[l]
            hs.append(h)
            xs.append(f(h))
        return hs, xs, np.einsum("kn,knb->kb", a, xs[-1])

    with np.errstate(all="ignore"):
        for _ in range(n_steps):
            x = rng.standard_normal((N, batch))
            y = np.sign(w_teacher @ x)
            hs, xs, out = forward(np.broadcast_to(x, (K, N, batch)))
            g = (out - y) / batch                                   # d(loss)/d(out), loss = mean (out-y)^2 / 2
            ga = np.einsum("knb,kb->kn", xs[-1], g)
            delta = a[:, :, None] * g[:, None, :] * d(hs[-1])
            for l in range(L - 1, -1, -1):
                gW = np.matmul(delta, np.swapaxes(xs[l], 1, 2))
                gb = delta.sum(axis=2, keepdims=True)
                if l > 0:
                    delta_prev = np.matmul(np.swapaxes(W[l], 1, 2), delta) * d(hs[l - 1])
                W[l] -= lr * gW
                b[l] -= lr * gb
                if l > 0:
                    delta = delta_prev
            a -= lr * ga
            ok &= np.isfinite(a).all(axis=1)
            a = np.where(ok[:, None], a, 0.0)                       # freeze diverged runs (counted as chance)
            for l in range(L):
                W[l] = np.where(ok[:, None, None], W[l], 0.0)
                b[l] = np.where(ok[:, None, None], b[l], 0.0)
        _, _, out = forward(np.broadcast_to(x_test, (K,) + x_test.shape))
    acc = np.where(ok, np.mean(np.sign(out) == y_test, axis=1), 0.5)
    loss = np.where(ok, 0.5 * np.mean((out - y_test) ** 2, axis=1), np.inf)
    return acc.reshape(sw.size, n_seeds), loss.reshape(sw.size, n_seeds)


def trainability(sigma_w2, depths, sigma_b2: float = 0.05, phi: str = "tanh", width: int = 64,
                 n_steps: int = 200, batch: int = 32, lr: float = 0.05, n_seeds: int = 2, n_test: int = 512,
                 seed: int = 0) -> TrainabilityResult:
    r"""Train deep MLPs with plain SGD on a small synthetic task, over a grid of $\sigma_w^2$ and depth.

    Task (our own small stand-in for MNIST in Schoenholz et al. 2017): inputs
    $x\sim\mathcal N(0, I_N)$ of dimension ``width``, labels $y=\operatorname{sign}(w^*\cdot x)$
    of a fixed random linear teacher. Network: ``L`` layers
    $h^\ell = W^\ell\phi(h^{\ell-1})+b^\ell$ ($h^0 = x$, no activation on the input),
    initialized as in :func:`simulate`, then a linear readout $f = a\cdot\phi(h^L)$,
    $a_i\sim\mathcal N(0,1/N)$. Loss $\tfrac12(f-y)^2$, online SGD (a fresh batch
    per step), hand-written backpropagation. All $\sigma_w^2$ and seeds of a depth are
    trained at once with batched matmuls; memory $O(\text{len(sigma\_w2)}\cdot n_\text{seeds}\cdot L\cdot N^2)$.

    >>> r = trainability([1.0, 1.8], [2], width=16, n_steps=20, batch=16, n_seeds=2, n_test=64)
    >>> r.accuracy.shape
    (2, 1)
    """
    sw = check_array("sigma_w2", sigma_w2, ndim=1, low=0.0)
    if np.any(sw == 0):
        raise ValueError("sigma_w2 must have every entry in (0, inf)")
    dep = check_array("depths", depths, ndim=1, low=1.0)
    if sw.size == 0 or dep.size == 0:
        raise ValueError("sigma_w2 and depths must each hold at least one value")
    if np.any(dep != np.round(dep)):
        raise ValueError("depths must be integers >= 1")
    dep = dep.astype(int)
    sb = check_real("sigma_b2", sigma_b2, low=0.0)
    check_choice("phi", phi, ACTIVATIONS)
    width = check_int("width", width, low=2, high=4096)
    n_steps = check_int("n_steps", n_steps, low=1)
    batch = check_int("batch", batch, low=1)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    n_seeds = check_int("n_seeds", n_seeds, low=2)
    n_test = check_int("n_test", n_test, low=1)
    seed = check_seed("seed", seed)
    rng = np.random.default_rng(seed)
    w_teacher = rng.standard_normal(width)
    x_test = rng.standard_normal((width, n_test))
    y_test = np.sign(w_teacher @ x_test)
    acc = np.empty((sw.size, dep.size))
    sem = np.empty_like(acc)
    loss = np.empty_like(acc)
    for j, L in enumerate(dep):
        a, lo = _train_depth(sw, sb, phi, int(L), width, n_steps, batch, lr, n_seeds, rng, x_test, y_test, w_teacher)
        acc[:, j], sem[:, j] = mean_sem(a, axis=1)
        loss[:, j] = lo.mean(axis=1)
    return TrainabilityResult(sw, dep, acc, sem, loss, width, n_steps, batch, lr, sb, phi, n_seeds)


# ----------------------------------------------------------------------------- plots
def plot_maps(sigma_w2: float = 1.5, sigma_b2: float = 0.05, phi: str = "tanh", axes=None):
    """The length map with its fixed point (left) and the correlation map with c* and chi_1 (right).

    Returns the two axes. Pure: draws only on ``axes`` (or a new figure).
    """
    from .plotting import new_figure
    sw = check_real("sigma_w2", sigma_w2, low=0.0, low_open=True)
    sb = check_real("sigma_b2", sigma_b2, low=0.0)
    check_choice("phi", phi, ACTIVATIONS)
    if axes is None:
        _, axes = new_figure(ncols=2)
    ax_q, ax_c = axes
    try:
        qs = q_star(sw, sb, phi)
    except ConvergenceError:
        qs = None
    qmax = max(3.0, 1.5 * qs if qs is not None else 3.0)
    q = np.linspace(0.0, qmax, 200)
    ax_q.plot(q, length_map(q, sw, sb, phi), label=r"$\mathcal{V}(q)$")
    ax_q.plot(q, q, "k--", lw=1, label="diagonal")
    if qs is not None:
        ax_q.plot([qs], [qs], "o", color="C1", label=rf"$q^* = {qs:.3f}$")
    ax_q.set_xlabel(r"$q^{\ell-1}$")
    ax_q.set_ylabel(r"$q^{\ell}$")
    ax_q.set_title(f"length map ({phi})")
    ax_q.legend(loc="upper left")
    if qs is not None and qs > 0:
        ds = depth_scales(sw, sb, phi)
        c = np.linspace(-1.0, 1.0, 101)
        ax_c.plot(c, correlation_map(c, sw, sb, phi, q=qs), label=r"$\mathcal{C}(c)$ at $q^*$")
        ax_c.plot(c, c, "k--", lw=1, label="diagonal")
        ax_c.plot([ds.c_star], [ds.c_star], "o", color="C1", label=rf"$c^* = {ds.c_star:.3f}$")
        phase = "ordered" if ds.chi1 < 1 else "chaotic"
        ax_c.set_title(rf"$\chi_1 = {ds.chi1:.3f}$ ({phase}), $\xi_c = {ds.xi_c:.1f}$")
        ax_c.legend(loc="upper left")
    else:
        ax_c.text(0.5, 0.5, "no positive q*:\nthe correlation map\nis not defined", ha="center", va="center",
                  transform=ax_c.transAxes)
        ax_c.set_title(f"correlation map ({phi})")
    ax_c.set_xlabel(r"$c^{\ell-1}$")
    ax_c.set_ylabel(r"$c^{\ell}$")
    return axes


def plot_phase_diagram(phi: str = "tanh", sigma_w2_max: float = 4.0, sigma_b2_max: float = 0.5, n: int = 61,
                       ax=None, marker=None):
    r"""Heat map of $\log\chi_1$ over $(\sigma_w^2,\sigma_b^2)$ with the critical line $\chi_1=1$.

    ``marker`` = (sigma_w2, sigma_b2) draws a point. Returns the axis.
    """
    from .plotting import new_figure
    check_choice("phi", phi, ACTIVATIONS)
    n = check_int("n", n, low=3, high=400)
    if ax is None:
        _, ax = new_figure()
    sw = np.linspace(sigma_w2_max / n, sigma_w2_max, n)
    sb = np.linspace(0.0, sigma_b2_max, n)
    if phi == "relu":
        sw_ok = sw[sw < 2.0]
        x1 = phase_diagram(sw_ok, sb, phi)
        x1 = np.concatenate([x1, np.full((sb.size, sw.size - sw_ok.size), np.nan)], axis=1)
    else:
        x1 = phase_diagram(sw, sb, phi)
    from matplotlib.colors import TwoSlopeNorm
    logx = np.log(x1)
    lo, hi = np.nanmin(logx), np.nanmax(logx)
    # Two slopes: the ordered (blue) and chaotic (red) sides each use the whole colour range.
    # The colour scale stops at -1.5 on the ordered side (deeper order looks the same).
    vmin, vmax = min(max(lo, -1.5), -1e-3), max(hi, 1e-3)
    norm = TwoSlopeNorm(vcenter=0.0, vmin=vmin, vmax=vmax)
    im = ax.pcolormesh(sw, sb, logx, cmap="RdBu_r", norm=norm, shading="auto")
    cb = ax.figure.colorbar(im, ax=ax, label=r"$\log\chi_1$", extend="min" if lo < vmin else "neither")
    cb.set_ticks([vmin, vmin / 2, 0.0, vmax / 2, vmax])
    cb.ax.set_yticklabels([f"{t:.2f}" for t in (vmin, vmin / 2, 0.0, vmax / 2, vmax)])
    # The critical line on a geometric grid in sigma_b^2 (plus 0): it bends sharply near sigma_b^2 = 0.
    sb_line = np.concatenate([[0.0], np.geomspace(sigma_b2_max * 1e-5, sigma_b2_max, 200)])
    crit = critical_sigma_w2(sb_line, phi)
    ax.plot(crit, sb_line, "k-", lw=2)
    box = dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85)
    i = int(np.argmin(np.abs(sb_line - 0.6 * sigma_b2_max)))
    ax.annotate(r"$\chi_1 = 1$", (crit[i], sb_line[i]), xytext=(6, 0), textcoords="offset points",
                va="center", bbox=box)
    if marker is not None:
        ax.plot([marker[0]], [marker[1]], "*", color="gold", ms=14, mec="k")
        ax.annotate("simulated", (marker[0], marker[1]), xytext=(0, 10), textcoords="offset points",
                    ha="center", va="bottom", bbox=box)
    ax.text(0.04, 0.92, "ordered", transform=ax.transAxes, bbox=box)
    ax.text(0.70, 0.92, "chaotic" if phi != "relu" else "q diverges", transform=ax.transAxes, bbox=box)
    ax.set_xlabel(r"$\sigma_w^2$")
    ax.set_ylabel(r"$\sigma_b^2$")
    ax.set_xlim(0, sigma_w2_max)
    return ax


def plot_layers(th: SignalPropagation, sim: SignalPropagationSimulation | None = None, field: str = "c",
                ax=None, label: str | None = None, color=None, sim_label: bool = True, every: int = 1):
    """Theory (line) and optionally simulation (markers with error bars) of ``q`` or ``c`` against the layer.

    The simulation's legend entry names N and the number of seeds (``sim_label=False`` hides it,
    e.g. for all but the first of several curves).
    """
    from .plotting import new_figure, plot_simulation
    check_choice("field", field, ("q", "c"))
    if ax is None:
        _, ax = new_figure()
    y = getattr(th, field)
    line, = ax.plot(th.l, y, "-", color=color,
                    label=label if label is not None else rf"theory, $\sigma_w^2 = {th.sigma_w2:g}$")
    if sim is not None:
        plot_simulation(ax, sim.l, getattr(sim, field), getattr(sim, field + "_sem"), N=sim.N,
                        n_seeds=sim.n_seeds, color=line.get_color(), every=every,
                        **({} if sim_label else {"label": "_nolegend_"}))
    ax.set_xlabel(r"layer $\ell$")
    ax.set_ylabel(rf"${field}^\ell$")
    return ax


def plot_depth_scales(sigma_b2: float = 0.05, phi: str = "tanh", sigma_w2_max: float = 4.0, n: int = 200,
                      ax=None, measured=None):
    r"""Theory of $\xi_q$ and $\xi_c$ against $\sigma_w^2$ (log scale), the critical point
    as a dashed line, and optionally ``measured = (sigma_w2, xi_c, N, n_seeds)`` as markers."""
    from .plotting import new_figure, plot_simulation
    sb = check_real("sigma_b2", sigma_b2, low=0.0)
    check_choice("phi", phi, ACTIVATIONS)
    sigma_w2_max = check_real("sigma_w2_max", sigma_w2_max, low=0.0, low_open=True, high=1e4)
    n = check_int("n", n, low=2, high=10**5)
    if ax is None:
        _, ax = new_figure(width=8.5)
    sw = np.linspace(sigma_w2_max / n, sigma_w2_max, n)
    crit = critical_sigma_w2(sb, phi)
    sw = np.sort(np.concatenate([sw, crit * (1 + np.array([-1e-3, -1e-2, 1e-2, 1e-3]))]))
    ds = depth_scales(sw, sb, phi)
    ax.semilogy(sw, ds.xi_c, "-", label=r"$\xi_c$ (theory)")
    ax.semilogy(sw, ds.xi_q, "-", label=r"$\xi_q$ (theory)")
    ax.axvline(crit, color="k", ls="--", lw=1, label=rf"critical $\sigma_w^2 = {crit:.3f}$")
    if measured is not None:
        msw, mxi, N, n_seeds = measured
        plot_simulation(ax, msw, mxi, None, N=N, n_seeds=n_seeds, color="C0",
                        label=rf"$\xi_c$ fitted to simulation, N = {N}, {n_seeds} seeds")
    ax.set_ylim(0.3, 300)
    ax.set_xlabel(r"$\sigma_w^2$")
    ax.set_ylabel("depth scale (layers)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return ax


def plot_trainability(sigma_w2, depths, accuracy, sigma_b2: float = 0.05, phi: str = "tanh", ax=None,
                      factor: float = 6.0):
    r"""Heat map of accuracy over $(\sigma_w^2, L)$ with the curve $L =$ ``factor`` $\xi_c(\sigma_w^2)$."""
    from .plotting import new_figure
    sw = check_array("sigma_w2", sigma_w2, ndim=1, low=0.0)
    dep = check_array("depths", depths, ndim=1, low=1.0)
    acc = check_array("accuracy", accuracy, ndim=2, low=0.0, high=1.0)
    if sw.size == 0 or dep.size == 0 or acc.shape != (sw.size, dep.size):
        raise ValueError(f"sigma_w2 and depths must be non-empty and accuracy of shape (len(sigma_w2), len(depths)) "
                         f"= ({sw.size}, {dep.size}); got {acc.shape}")
    if ax is None:
        _, ax = new_figure()
    im = ax.pcolormesh(sw, dep, acc.T, cmap="viridis", vmin=0.5, vmax=1.0, shading="nearest")
    ax.figure.colorbar(im, ax=ax, label="test accuracy")
    grid = np.linspace(sw.min(), sw.max(), 300)
    xi = depth_scales(grid, sigma_b2, phi).xi_c
    ax.plot(grid, np.minimum(factor * xi, 1e4), "w-", lw=2, label=rf"$L = {factor:g}\,\xi_c$")
    ax.set_ylim(dep.min() - 2, dep.max() + 4)
    ax.set_xlabel(r"$\sigma_w^2$")
    ax.set_ylabel(r"depth $L$")
    ax.legend(loc="upper right", labelcolor="w")
    return ax


# ----------------------------------------------------------------------------- NNGP and NTK
@dataclass(frozen=True)
class Kernels(ReadOnlyArrays):
    r"""NNGP and NTK of two inputs, layer by layer (``l = 0..L``; layer 0 is the input, where both are 0 for
    the NTK). ``K_aa``, ``K_ab``: $K^\ell(x_a, x_a)$ and $K^\ell(x_a, x_b)$ (the NNGP, i.e.
    $q^\ell$ and $q^\ell c^\ell$); ``Theta_aa``, ``Theta_ab``: the NTK. For simulations these are
    means over networks, with ``*_sem`` their standard errors (zero for the theory) and ``N``, ``n_seeds``."""

    l: np.ndarray
    K_aa: np.ndarray
    K_ab: np.ndarray
    Theta_aa: np.ndarray
    Theta_ab: np.ndarray
    K_aa_sem: np.ndarray
    K_ab_sem: np.ndarray
    Theta_aa_sem: np.ndarray
    Theta_ab_sem: np.ndarray
    N: float
    n_seeds: int


def kernels_theory(L: int, sigma_w2: float, sigma_b2: float, phi: str = "tanh", q0: float = 1.0,
                   c0: float = 0.5) -> Kernels:
    r"""The NNGP and NTK recursions of a deep network in the NTK parameterization.

    The NNGP is the covariance map of :func:`theory`, $K^{\ell} = \sigma_w^2\,\mathbb E[\phi(u)\phi(v)]
    + \sigma_b^2$ with $(u, v)\sim\mathcal N(0, K^{\ell-1})$. The NTK of
    $h^\ell = \sigma_w W^\ell\phi(h^{\ell-1})/\sqrt N + \sigma_b b^\ell$ (standard normal $W, b$,
    all trained) obeys (Jacot, Gabriel and Hongler 2018)

    .. math:: \Theta^{\ell} = K^{\ell} + \sigma_w^2\,\mathbb E[\phi'(u)\phi'(v)]\,\Theta^{\ell-1},\qquad \Theta^0 = 0,

    so on the diagonal, at the fixed point $q^*$, $\Theta^\ell = q^* + \chi_1\Theta^{\ell-1}$: the
    NTK saturates (ordered, $\chi_1 < 1$), grows linearly (critical) or exponentially (chaotic).

    >>> k = kernels_theory(3, 2.0, 0.0, "relu")          # ReLU at criticality: K = q0, Theta = l q0
    >>> k.K_aa.round(6).tolist(), k.Theta_aa.round(6).tolist()
    ([1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 2.0, 3.0])
    """
    th = theory(L, sigma_w2, sigma_b2, phi, q0, c0)
    if np.ndim(th.q) != 1:
        raise ValueError("kernels_theory takes scalar sigma_w2 and sigma_b2")
    sw = float(sigma_w2)
    q, c = th.q, th.c
    d_aa = sw * _dkernel(q[:-1], np.ones(L), phi)
    d_ab = sw * _dkernel(q[:-1], c[:-1], phi)
    T_aa, T_ab = np.zeros(L + 1), np.zeros(L + 1)
    for l in range(1, L + 1):
        T_aa[l] = q[l] + d_aa[l - 1] * T_aa[l - 1]
        T_ab[l] = q[l] * c[l] + d_ab[l - 1] * T_ab[l - 1]
    z = np.zeros(L + 1)
    return Kernels(l=np.arange(L + 1), K_aa=q, K_ab=q * c, Theta_aa=T_aa, Theta_ab=T_ab, K_aa_sem=z, K_ab_sem=z,
                   Theta_aa_sem=z, Theta_ab_sem=z, N=math.inf, n_seeds=0)


def empirical_kernels(N: int, L: int, sigma_w2: float, sigma_b2: float, phi: str = "tanh", q0: float = 1.0,
                      c0: float = 0.5, seeds=8) -> Kernels:
    r"""Empirical NNGP and NTK of random networks of width ``N`` (all seeds at once).

    NNGP: $\hat K^\ell_{ab} = h^\ell(x_a)\cdot h^\ell(x_b)/N$. NTK: of the scalar readout
    $f = r\cdot h^\ell/\sqrt N$ (fixed random $r$), by back-propagation,
    $\hat\Theta^\ell_{ab} = \sum_{k\le\ell}(\delta^k_a\cdot\delta^k_b)\,(\sigma_w^2\,\phi(h^{k-1}_a)\cdot
    \phi(h^{k-1}_b)/N + \sigma_b^2)$ with $\delta^k = \partial f/\partial h^k$. Both converge to
    :func:`kernels_theory` with $O(N^{-1/2})$ fluctuations. The weights of each layer are drawn twice
    from the same per-layer stream (forward and backward pass), so memory is one layer of weights per seed.

    >>> k = empirical_kernels(200, 2, 1.5, 0.05, seeds=4)
    >>> k.Theta_aa.shape, k.n_seeds
    ((3,), 4)
    """
    N = check_int("N", N, low=2, high=20000)
    L = check_int("L", L, low=1, high=1000)
    sw = check_real("sigma_w2", sigma_w2, low=0.0, low_open=True, high=100.0)
    sb = check_real("sigma_b2", sigma_b2, low=0.0, high=100.0)
    check_choice("phi", phi, ACTIVATIONS)
    q0, c0 = _check_q0_c0(q0, c0)
    seeds = check_seeds("seeds", seeds)
    S = len(seeds)
    check_budget("weights drawn (2 x seeds x layers x N^2)", 2.0 * S * L * N * N)
    check_budget("doubles in one layer of weights", float(S) * N * N, limit=MAX_DOUBLES)
    f, fp = _ACT[phi][0], _ACT[phi][1]
    h0 = _inputs_from(np.random.default_rng([*seeds, 0xC0]).standard_normal((S, N, 2)), N, q0, c0)   # (S, N, 2)

    def layer_weights(l):
        return np.stack([np.random.default_rng([s, l]).standard_normal((N, N)) for s in seeds])

    hs = [h0]
    rng_b = np.random.default_rng([*seeds, 0xB1])
    with np.errstate(over="ignore", invalid="ignore"):
        for l in range(1, L + 1):
            b = rng_b.standard_normal((S, N, 1))
            hs.append(math.sqrt(sw / N) * (layer_weights(l) @ f(hs[-1])) + math.sqrt(sb) * b)
        K = np.stack([np.einsum("sia,sib->sab", h, h) / N for h in hs], axis=1)          # (S, L+1, 2, 2)
        Theta = np.zeros((S, L + 1, 2, 2))
        r = np.random.default_rng([*seeds, 0x0F]).standard_normal((S, N, 1))
        # one backward sweep for the readouts at every depth: at layer k the active columns are the
        # back-propagated errors of the readouts at layers top >= k, stacked so that W^k is drawn once
        delta = np.zeros((S, N, 0))
        for k in range(L, 0, -1):
            delta = np.concatenate([np.broadcast_to(r / math.sqrt(N), (S, N, 2)), delta], axis=2)
            a = f(hs[k - 1])
            feat = sw * np.einsum("sia,sib->sab", a, a) / N + sb
            for j, top in enumerate(range(k, L + 1)):
                d = delta[..., 2 * j:2 * j + 2]
                Theta[:, top] += np.einsum("sia,sib->sab", d, d) * feat
            if k > 1:
                delta = np.tile(fp(hs[k - 1]), (1, 1, L - k + 1)) * (
                    math.sqrt(sw / N) * (np.swapaxes(layer_weights(k), 1, 2) @ delta))
    if not (np.all(np.isfinite(K)) and np.all(np.isfinite(Theta))):
        raise ConvergenceError("empirical_kernels: the network overflowed (chaotic phase too deep?)")
    Km, Ks = mean_sem(K, axis=0)
    Tm, Ts = mean_sem(Theta, axis=0)
    return Kernels(l=np.arange(L + 1), K_aa=0.5 * (Km[:, 0, 0] + Km[:, 1, 1]), K_ab=Km[:, 0, 1],
                   Theta_aa=0.5 * (Tm[:, 0, 0] + Tm[:, 1, 1]), Theta_ab=Tm[:, 0, 1],
                   K_aa_sem=0.5 * (Ks[:, 0, 0] + Ks[:, 1, 1]), K_ab_sem=Ks[:, 0, 1],
                   Theta_aa_sem=0.5 * (Ts[:, 0, 0] + Ts[:, 1, 1]), Theta_ab_sem=Ts[:, 0, 1], N=float(N), n_seeds=S)


check_public(globals())
