"""Errors raised by dmftlib solvers."""
from __future__ import annotations

import numpy as np

__all__ = ["ConvergenceError"]


class ConvergenceError(RuntimeError):
    """A self-consistent solver did not converge.

    Attributes
    ----------
    residuals : numpy.ndarray
        The residual history up to the failure, so the caller can see whether the
        iteration stalled, oscillated or diverged.
    """

    def __init__(self, message: str, residuals=()):
        self.residuals = np.asarray(residuals, dtype=float)
        tail = ""
        if self.residuals.size:
            last = ", ".join(f"{r:.3g}" for r in self.residuals[-5:])
            tail = f" (last residuals: {last}; {self.residuals.size} iterations)"
        super().__init__(message + tail)
