r"""Fixed-step integration of ODE systems on a given time grid (vectorized state).

For the deterministic order-parameter ODEs of the book (signal propagation in depth,
online-SGD order parameters, neural ODEs) a classical fourth-order Runge-Kutta step on a
user-given grid is enough and keeps results on the grid the simulations use. The state
may be an array of any shape; the right-hand side acts on the whole array at once.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .validation import check_public
from .validation import check_array, check_budget, check_callable, check_choice, check_int

__all__ = ["integrate"]


def integrate(f: Callable, y0, t, method: str = "rk4", substeps: int = 1) -> np.ndarray:
    r"""Integrate $dy/dt = f(t, y)$ and return ``y`` at every time of ``t`` (shape ``(len(t),) + y0.shape``).

    Parameters
    ----------
    f : callable ``f(t, y) -> array`` of the shape of ``y``.
    y0 : array_like, the state at ``t[0]``.
    t : increasing 1-D array of times.
    method : ``"rk4"`` (4th order) or ``"euler"`` (1st order; a ResNet is this scheme).
    substeps : int >= 1, steps taken between consecutive output times.

    Raises
    ------
    ValueError
        If the state stops being finite (the ODE blew up), naming the time.

    Examples
    --------
    >>> t = np.linspace(0, 1, 11)
    >>> y = integrate(lambda t, y: -y, 1.0, t)
    >>> bool(abs(y[-1] - np.exp(-1)) < 1e-6)
    True
    """
    check_callable("f", f)
    t = check_array("t", t, ndim=1, increasing=True)
    if t.size < 2:
        raise ValueError(f"t must hold at least 2 times; got {t.size}")
    check_choice("method", method, ("rk4", "euler"))
    substeps = check_int("substeps", substeps, low=1)
    y = check_array("y0", y0)
    check_budget("time steps x state entries", (t.size - 1) * substeps * max(y.size, 1))
    out = np.empty((t.size,) + y.shape)
    out[0] = y
    for k in range(t.size - 1):
        h = (t[k + 1] - t[k]) / substeps
        s = t[k]
        for _ in range(substeps):
            if method == "euler":
                y = y + h * np.asarray(f(s, y))
            else:
                k1 = np.asarray(f(s, y))
                k2 = np.asarray(f(s + h / 2, y + h / 2 * k1))
                k3 = np.asarray(f(s + h / 2, y + h / 2 * k2))
                k4 = np.asarray(f(s + h, y + h * k3))
                y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            s = s + h
        if not np.all(np.isfinite(y)):
            raise ValueError(f"the solution stopped being finite at t = {t[k + 1]:g}; reduce the step or check parameters")
        out[k + 1] = y
    return out


check_public(globals())
