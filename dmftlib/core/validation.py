"""Argument checks that raise ``ValueError`` naming the argument and its allowed range."""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_real", "check_int", "check_choice", "check_array", "check_time_grid"]


def _fmt_interval(low, high, low_open, high_open) -> str:
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"


def check_real(name: str, value, low=None, high=None, *, low_open=False, high_open=False) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` if it is not a finite real in the interval.

    >>> check_real("g", 1.5, low=0, low_open=True)
    1.5
    >>> check_real("g", -1, low=0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: g must be a finite real number in (0, inf); got -1
    """
    interval = _fmt_interval(low, high, low_open, high_open)
    msg = f"{name} must be a finite real number in {interval}; got {value!r}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(msg)
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(msg)
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(msg)
    if high is not None and (v > high or (high_open and v == high)):
        raise ValueError(msg)
    return v


def check_int(name: str, value, low=None, high=None) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` if it is not an integer in ``[low, high]``.

    >>> check_int("N", 0, low=1)
    Traceback (most recent call last):
    ...
    ValueError: N must be an integer in [1, inf); got 0
    """
    lo = "-inf" if low is None else str(low)
    hi = "inf)" if high is None else f"{high}]"
    msg = f"{name} must be an integer in [{lo}, {hi}; got {value!r}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(msg)
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(msg)
    return v


def check_choice(name: str, value, choices) -> str:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``.

    >>> check_choice("phi", "relu", ("tanh", "relu"))
    'relu'
    """
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_array(name: str, value, *, ndim=None, low=None, high=None, increasing=False, finite=True) -> np.ndarray:
    """Return ``value`` as a float64 array after checking its dimension, range and order."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of real numbers; got {value!r}") from None
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-dimensional array; got shape {a.shape}")
    if finite and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must contain only finite values")
    if low is not None and np.any(a < low):
        raise ValueError(f"{name} must have every entry in [{low:g}, inf); its minimum is {a.min():g}")
    if high is not None and np.any(a > high):
        raise ValueError(f"{name} must have every entry in (-inf, {high:g}]; its maximum is {a.max():g}")
    if increasing and a.size > 1 and np.any(np.diff(a) <= 0):
        raise ValueError(f"{name} must be strictly increasing")
    return a


def check_time_grid(name: str, t) -> np.ndarray:
    """A 1-D, strictly increasing, non-negative array of times starting anywhere >= 0."""
    t = check_array(name, t, ndim=1, low=0.0, increasing=True)
    if t.size < 2:
        raise ValueError(f"{name} must hold at least 2 times; got {t.size}")
    return t
