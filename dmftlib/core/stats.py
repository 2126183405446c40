"""Statistics over seeds: means, standard errors, power-law fits."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import check_public
from .validation import check_array, check_int
from .validation import ReadOnlyArrays

__all__ = ["mean_sem", "PowerLawFit", "fit_power_law"]


def mean_sem(samples, axis: int = 0):
    """Mean and standard error of the mean along ``axis`` (ddof = 1).

    >>> m, s = mean_sem([[1.0, 2.0], [3.0, 4.0]])
    >>> m.tolist(), s.round(6).tolist()
    ([2.0, 3.0], [1.0, 1.0])
    """
    x = check_array("samples", samples)
    axis = check_int("axis", axis, low=-x.ndim if x.ndim else 0, high=max(x.ndim - 1, 0))
    if x.ndim == 0:
        raise ValueError("samples must be an array with at least one axis (the seeds)")
    n = x.shape[axis]
    if n < 2:
        raise ValueError(f"samples must hold at least 2 seeds along axis {axis} for a standard error; got {n}")
    return x.mean(axis=axis), x.std(axis=axis, ddof=1) / np.sqrt(n)


@dataclass(frozen=True)
class PowerLawFit(ReadOnlyArrays):
    """Least-squares fit of ``log y = log a + slope * log x``."""

    slope: float
    slope_stderr: float
    prefactor: float

    def __call__(self, x):
        return self.prefactor * np.asarray(x, dtype=np.float64) ** self.slope


def fit_power_law(x, y) -> PowerLawFit:
    """Fit ``y = a x^slope`` on log-log axes; returns the slope with its standard error.

    >>> fit = fit_power_law([100, 400, 1600], [0.1, 0.05, 0.025])
    >>> round(fit.slope, 6), round(fit.prefactor, 6)
    (-0.5, 1.0)
    """
    x = check_array("x", x, ndim=1, low=0.0)
    y = check_array("y", y, ndim=1, low=0.0)
    if x.size != y.size or x.size < 2:
        raise ValueError(f"x and y must have the same length >= 2; got {x.size} and {y.size}")
    if np.any(x == 0) or np.any(y == 0):
        raise ValueError("x and y must be strictly positive for a power-law fit")
    lx, ly = np.log(x), np.log(y)
    A = np.stack([np.ones_like(lx), lx], axis=1)
    coef, *_ = np.linalg.lstsq(A, ly, rcond=None)
    resid = ly - A @ coef
    dof = max(x.size - 2, 1)
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.inv(A.T @ A)
    return PowerLawFit(slope=float(coef[1]), slope_stderr=float(np.sqrt(cov[1, 1])), prefactor=float(np.exp(coef[0])))


check_public(globals())
