r"""Uniform time grids and two-time arrays.

Two-time functions $C(t, t')$ and $R(t, t')$ are stored as ``(n, n)`` arrays on a
uniform grid $t_k = k\,\Delta t$, ``k = 0 .. n-1``; row index = first time argument.
A response function is *causal*: $R(t, t') = 0$ for $t' > t$ (lower triangular).
Memory: every helper here works on ``(n, n)`` float64 arrays (8 n^2 bytes each).

Integrals over an intermediate time use the trapezoid rule restricted to the causal range,
which is second-order accurate for smooth integrands.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import check_public
from .validation import check_array, check_bool, check_budget, check_choice, check_int, check_real
from .validation import ReadOnlyArrays

__all__ = [
    "TimeGrid", "uniform_grid", "causal_weights", "causal_integral",
    "symmetrize", "causal_part", "is_causal", "project_psd", "is_psd",
]


@dataclass(frozen=True)
class TimeGrid(ReadOnlyArrays):
    """A uniform grid ``t = [0, dt, ..., (n-1) dt]``."""

    t: np.ndarray
    dt: float

    @property
    def n(self) -> int:
        return self.t.size

    @property
    def t_max(self) -> float:
        return float(self.t[-1])


def uniform_grid(t_max: float, n: int) -> TimeGrid:
    """Uniform grid of ``n`` points from 0 to ``t_max`` inclusive.

    >>> g = uniform_grid(1.0, 5)
    >>> g.t.tolist(), g.dt
    ([0.0, 0.25, 0.5, 0.75, 1.0], 0.25)
    """
    t_max = check_real("t_max", t_max, low=0, low_open=True)
    n = check_int("n", n, low=2)
    check_budget("grid points", n, limit=2**26)
    t = np.linspace(0.0, t_max, n)
    t.setflags(write=False)
    return TimeGrid(t=t, dt=t_max / (n - 1))


def causal_weights(n: int, dt: float) -> np.ndarray:
    r"""Matrix ``W`` with $\sum_s W_{ts} f(s) \approx \int_0^{t} f(s)\,ds$ (trapezoid rule).

    Row ``k`` has weights ``dt/2, dt, ..., dt, dt/2`` on columns ``0..k`` and zeros after;
    row 0 is zero.

    >>> causal_weights(3, 1.0).tolist()
    [[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 1.0, 0.5]]
    """
    n = check_int("n", n, low=1)
    dt = check_real("dt", dt, low=0, low_open=True)
    check_budget("matrix entries (n x n)", float(n) * n, limit=2**27)
    W = np.tril(np.full((n, n), dt))
    W[:, 0] = dt / 2
    W[np.diag_indices(n)] = dt / 2
    W[0, 0] = 0.0
    return W


def causal_integral(A, B, dt: float, upto: str = "row") -> np.ndarray:
    r"""Trapezoid-rule two-time integrals over an intermediate time.

    ``upto="row"``:    $I(t, t') = \int_0^{t}  A(t, s)\,B(s, t')\,ds$
    ``upto="column"``: $I(t, t') = \int_0^{t'} A(t, s)\,B(s, t')\,ds$
    ``upto="min"``:    $I(t, t') = \int_0^{\min(t, t')} A(t, s)\,B(s, t')\,ds$
    ``upto="between"``: $I(t, t') = \int_{t'}^{t} A(t, s)\,B(s, t')\,ds$ for causal ``A``, ``B``
    (zero above the diagonal), the composition of two response functions; zero for ``t' > t``.

    Each is one or two matrix products (vectorized over the whole grid). Integrate only
    over the range where both factors are smooth: a causal factor that jumps to zero at
    ``s = t'`` inside the range makes the trapezoid rule first-order, so use ``"min"`` for
    $\int R(t,s) R(t',s)\,ds$-type terms.

    Examples
    --------
    Ornstein-Uhlenbeck: $C = 2D\int_0^{\min} R(t,s)R(t',s)ds$ with $R = e^{-(t-s)}$.

    >>> g = uniform_grid(2.0, 401)
    >>> R = np.tril(np.exp(-(g.t[:, None] - g.t[None, :])))
    >>> C = causal_integral(R, R.T, g.dt, upto="min")          # D = 1/2
    >>> exact = 0.5 * (np.exp(-abs(g.t[:, None] - g.t[None, :])) - np.exp(-(g.t[:, None] + g.t[None, :])))
    >>> bool(np.max(abs(C - exact)) < 1e-5)     # O(dt^2)
    True
    """
    check_choice("upto", upto, ("row", "column", "min", "between"))
    A = check_array("A", A)
    B = check_array("B", B)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape != B.shape:
        raise ValueError(f"A and B must be square (n, n) arrays of the same shape; got {A.shape} and {B.shape}")
    W = causal_weights(A.shape[0], dt)
    if upto == "row":
        return (A * W) @ B
    if upto == "column":
        return A @ (W.T * B)
    if upto == "min":
        lower = np.tri(A.shape[0], dtype=bool)  # t >= t'
        return np.where(lower, A @ (W.T * B), (A * W) @ B)
    if upto == "between":
        A, B = np.tril(A), np.tril(B)
        full = dt * (A @ B)            # sum over t' <= s <= t with weight dt
        ends = 0.5 * dt * (A * np.diag(B)[None, :] + np.diag(A)[:, None] * B)
        return full - ends             # trapezoid: half weight at s = t' and s = t
    raise ValueError(f"upto must be one of 'row', 'column', 'min', 'between'; got {upto!r}")


def _square(name, A):
    A = check_array(name, A, ndim=2)
    if A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square (n, n) array; got shape {A.shape}")
    return A


def symmetrize(C) -> np.ndarray:
    """Return ``(C + C.T) / 2``."""
    C = _square("C", C)
    return 0.5 * (C + C.T)


def causal_part(R, strict: bool = True) -> np.ndarray:
    """Zero the acausal part: ``tril(R, -1)`` if ``strict`` else ``tril(R)``.

    With the book-wide response convention (``R[i, i]`` the equal-time limit) use ``strict=False``.
    """
    strict = check_bool("strict", strict)
    return np.tril(_square("R", R), -1 if strict else 0)


def is_causal(R, strict: bool = True, atol: float = 0.0) -> bool:
    """True if ``R(t, t') = 0`` for ``t' > t`` (and on the diagonal when ``strict``)."""
    strict = check_bool("strict", strict)
    atol = check_real("atol", atol, low=0.0)
    R = _square("R", R)
    upper = np.triu(R, 0 if strict else 1)
    return bool(np.all(np.abs(upper) <= atol))


def project_psd(C, floor: float = 0.0) -> np.ndarray:
    """Nearest symmetric matrix with eigenvalues ``>= floor`` (eigenvalues clipped)."""
    floor = check_real("floor", floor)
    C = symmetrize(C)
    lam, V = np.linalg.eigh(C)
    if lam.min() >= floor:
        return C
    return symmetrize((V * np.clip(lam, floor, None)) @ V.T)


def is_psd(C, tol: float = 1e-10) -> bool:
    """True if ``C`` is symmetric and its smallest eigenvalue is ``>= -tol * max(1, |C|_max)``."""
    tol = check_real("tol", tol, low=0.0)
    C = _square("C", C)
    if not np.allclose(C, C.T, atol=tol * max(1.0, np.abs(C).max())):
        return False
    return bool(np.linalg.eigvalsh(symmetrize(C)).min() >= -tol * max(1.0, np.abs(C).max()))


check_public(globals())
