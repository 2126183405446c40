"""Gradient flow, Langevin dynamics and aging in the spherical p-spin model.

The model (Cugliandolo & Kurchan 1993): spins :math:`s\\in\\mathbb R^N` on the sphere
:math:`|s|^2 = N`, a Gaussian Hamiltonian with covariance

.. math:: \\mathbb E[H(s)H(s')] = N\\,\\xi(s\\cdot s'/N),\\qquad \\xi(q) = q^p/2,

and the Langevin dynamics :math:`\\dot s = -\\nabla H - \\mu(t)s + \\eta`,
:math:`\\langle\\eta_i(t)\\eta_j(t')\\rangle = 2T\\delta_{ij}\\delta(t-t')` (gradient flow at
:math:`T=0`), with the Lagrange multiplier :math:`\\mu(t)` keeping :math:`|s|^2 = N`.
"""
from __future__ import annotations

import numpy as np

from ..core import check_int, check_real

__all__ = ["xi", "xi_prime", "xi_second"]


def _check_p(p):
    return check_int("p", p, low=2, high=12)


def xi(q, p: int):
    """Covariance kernel of the pure p-spin, :math:`\\xi(q) = q^p/2`.

    ``E[H(s) H(s')] = N xi(s.s'/N)``; ``q`` may be a scalar or an array (entries in [-1, 1]).

    >>> float(xi(0.5, 3))
    0.0625
    """
    p = _check_p(p)
    return 0.5 * np.asarray(q, dtype=np.float64) ** p


def xi_prime(q, p: int):
    """First derivative :math:`\\xi'(q) = p q^{p-1}/2`.

    >>> float(xi_prime(1.0, 3))
    1.5
    """
    p = _check_p(p)
    return 0.5 * p * np.asarray(q, dtype=np.float64) ** (p - 1)


def xi_second(q, p: int):
    """Second derivative :math:`\\xi''(q) = p(p-1) q^{p-2}/2`.

    >>> float(xi_second(1.0, 3))
    3.0
    """
    p = _check_p(p)
    return 0.5 * p * (p - 1) * np.asarray(q, dtype=np.float64) ** (p - 2)
