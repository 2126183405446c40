r"""Damped fixed-point iteration for self-consistent equations.

Solves $x = F(x)$ by

.. math:: x_{k+1} = \beta\, x_k + (1-\beta)\, F(x_k),

with damping $\beta\in[0,1)$. The step taken is $(1-\beta)\,r_k$ with
$r_k = \lVert F(x_k) - x_k\rVert$; heavy damping makes steps small even far from the
solution, so the stopping rule is on the *undamped* residual $r_k$ (the step divided
by $1-\beta$), never on the step itself: the tolerance is scaled to the damping.

``x`` may be an array or a tuple of arrays (for instance ``(C, R)``); the residual is the
root-mean-square over all entries, unless a ``norm`` is given.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .errors import ConvergenceError
from .validation import check_public
from .validation import check_bool, check_callable, check_int, check_real
from .validation import ReadOnlyArrays

__all__ = ["FixedPointResult", "damped_fixed_point", "rms"]


@dataclass(frozen=True)
class FixedPointResult(ReadOnlyArrays):
    """Solution of a fixed-point problem with its diagnostics.

    Attributes
    ----------
    x : array or tuple of arrays
        The solution (same structure as the initial guess).
    residuals : numpy.ndarray
        Undamped residual $\\lVert F(x_k)-x_k\\rVert$ at every iteration.
    n_iter : int
        Number of evaluations of ``F``.
    converged : bool
    wall_time : float
        Seconds spent.
    """

    x: Any
    residuals: np.ndarray
    n_iter: int
    converged: bool
    wall_time: float


def rms(d) -> float:
    """Root-mean-square of an array, or of all the arrays of a tuple (``ValueError`` on NaN/inf).

    >>> rms([3.0, -3.0])
    3.0
    """
    out = _rms(d)
    if not np.isfinite(out):
        raise ValueError("d must contain only finite values")
    return out


def _rms(d) -> float:
    if isinstance(d, (tuple, list)):
        sq = sum(float(np.sum(np.square(a))) for a in d)
        n = sum(np.size(a) for a in d)
        return float(np.sqrt(sq / max(n, 1)))
    return float(np.sqrt(np.mean(np.square(d))))


def _combine(x, fx, beta):
    if isinstance(x, (tuple, list)):
        return type(x)(beta * a + (1 - beta) * b for a, b in zip(x, fx))
    return beta * x + (1 - beta) * fx


def _diff(fx, x):
    if isinstance(x, (tuple, list)):
        return type(x)(np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64) for a, b in zip(x, fx))
    return np.asarray(fx, dtype=np.float64) - np.asarray(x, dtype=np.float64)


def _as_float(x):
    if isinstance(x, (tuple, list)):
        return type(x)(np.array(a, dtype=np.float64) for a in x)
    return np.array(x, dtype=np.float64)


def damped_fixed_point(
    F: Callable,
    x0,
    damping: float = 0.5,
    tol: float = 1e-10,
    max_iter: int = 1000,
    norm: Callable | None = None,
    divergence: float = 1e8,
    raise_on_failure: bool = True,
) -> FixedPointResult:
    """Iterate ``x <- damping * x + (1 - damping) * F(x)`` until ``norm(F(x) - x) < tol``.

    Parameters
    ----------
    F : callable
        The map; takes and returns an array (or a tuple of arrays of fixed shapes).
    x0 : array or tuple of arrays
        Initial guess.
    damping : float in [0, 1)
        Fraction of the old iterate kept at each step.
    tol : float > 0
        Tolerance on the undamped residual (see the module docstring).
    max_iter : int >= 1
    norm : callable, optional
        Residual norm of ``F(x) - x``; root-mean-square by default.
    divergence : float > 0
        Raise as soon as the residual exceeds this or is not finite (divergence guard).
    raise_on_failure : bool
        If False, return the last iterate with ``converged=False`` instead of raising.

    Raises
    ------
    ConvergenceError
        If the residual diverges, becomes NaN, or ``max_iter`` is reached; carries ``residuals``.

    Examples
    --------
    >>> res = damped_fixed_point(np.cos, 1.0, damping=0.3, tol=1e-12)
    >>> round(float(res.x), 9), res.converged
    (0.739085133, True)
    """
    beta = check_real("damping", damping, low=0.0, high=1.0, high_open=True)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    divergence = check_real("divergence", divergence, low=0.0, low_open=True)
    check_callable("F", F)
    if norm is not None:
        check_callable("norm", norm)
    raise_on_failure = check_bool("raise_on_failure", raise_on_failure)
    norm = _rms if norm is None else norm
    start = time.perf_counter()
    try:
        x = _as_float(x0)
    except (TypeError, ValueError):
        raise ValueError(f"x0 must be an array of reals or a tuple of arrays; got {x0!r}") from None
    if _rms(x) != _rms(x) or not np.isfinite(_rms(x)):
        raise ValueError("x0 must contain only finite values")
    history = []
    for k in range(1, max_iter + 1):
        fx = F(x)
        r = float(norm(_diff(fx, x)))
        history.append(r)
        if not np.isfinite(r) or r > divergence:
            raise ConvergenceError(
                f"fixed-point iteration diverged at iteration {k} (residual {r:.3g} > divergence={divergence:g}); "
                "increase damping or check the parameters", history)
        if r < tol:
            return FixedPointResult(_as_float(fx), np.array(history), k, True, time.perf_counter() - start)
        x = _combine(x, fx, beta)
    if raise_on_failure:
        raise ConvergenceError(
            f"fixed-point iteration did not reach tol={tol:g} in max_iter={max_iter} iterations "
            f"(damping={beta:g})", history)
    return FixedPointResult(x, np.array(history), max_iter, False, time.perf_counter() - start)


check_public(globals())
