r"""Dynamic programming and Pontryagin's principle for control problems, derived with SymPy.

* :func:`riccati_two_ways`: the LQR problem $\dot x = Ax + Bu$, running cost
  $\tfrac12(x^\top Qx + u^\top Ru)$, with general symbolic matrices. Route 1 (HJB): insert
  $V = \tfrac12 x^\top P(t)x$ in $-\partial_t V = \min_u[\ell + \nabla V\cdot(Ax + Bu)]$, minimise
  over $u$ by solving $\partial_u(\cdot) = 0$, and read $\dot P$ off the Hessian in
  $x$. Route 2 (Pontryagin): the Lagrangian $\ell + \lambda\cdot(\dot x - Ax - Bu)$ gives
  $u = R^{-1}B^\top\lambda$ and $\dot\lambda = Qx - A^\top\lambda$; the ansatz
  $\lambda = -Px$ and the chain rule give $\dot P$ again. Both are returned, with their difference.
* :func:`schedule_hamiltonian`: the online-SGD learning-rate problem of
  :mod:`dmftlib.optimal_control`, $\dot E = -2gE + g^2(E + \sigma^2)$: SymPy minimises the Hamiltonian
  over $g$ and returns $g^*(E)$ and the optimal dynamics, lambdified.

The lambdified right-hand sides are tested against :func:`dmftlib.optimal_control.riccati_rhs` and
:func:`dmftlib.optimal_control.optimal_schedule`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..core import check_int

__all__ = ["RiccatiDerivation", "riccati_two_ways", "ScheduleDerivation", "schedule_hamiltonian"]


@dataclass(frozen=True)
class RiccatiDerivation:
    """``Pdot_hjb`` and ``Pdot_pmp`` (SymPy matrices), ``difference`` (their simplified difference, the zero
    matrix when the routes agree), ``u_hjb`` (the minimising control as a function of ``x``), the symbol
    matrices ``A, B, Q, R, P``, and ``rhs`` (a NumPy function ``rhs(P, A, B, Q, R)`` lambdified from the HJB route)."""

    Pdot_hjb: sp.Matrix
    Pdot_pmp: sp.Matrix
    difference: sp.Matrix
    u_hjb: sp.Matrix
    A: sp.Matrix
    B: sp.Matrix
    Q: sp.Matrix
    R: sp.Matrix
    P: sp.Matrix
    rhs: object


def _sym(name, n):
    """A symmetric n x n matrix of symbols."""
    return sp.Matrix(n, n, lambda i, j: sp.Symbol(f"{name}{min(i, j)}{max(i, j)}", real=True))


def riccati_two_ways(n: int = 2, m: int = 1) -> RiccatiDerivation:
    r"""Derive the Riccati equation from HJB and from Pontryagin for an ``n``-state, ``m``-input LQR.

    Examples
    --------
    >>> d = riccati_two_ways(2, 1)
    >>> d.difference == sp.zeros(2, 2)
    True
    """
    n = check_int("n", n, low=1, high=3)
    m = check_int("m", m, low=1, high=2)
    A = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"a{i}{j}", real=True))
    B = sp.Matrix(n, m, lambda i, j: sp.Symbol(f"b{i}{j}", real=True))
    Q, R, P = _sym("q", n), _sym("r", m), _sym("p", n)
    x = sp.Matrix(n, 1, lambda i, j: sp.Symbol(f"x{i}", real=True))
    u = sp.Matrix(m, 1, lambda i, j: sp.Symbol(f"u{i}", real=True))
    # Route 1: HJB with V = x^T P x / 2, so grad V = P x
    ell = (x.T * Q * x)[0] / 2 + (u.T * R * u)[0] / 2
    inner = ell + ((P * x).T * (A * x + B * u))[0]
    u_star = sp.solve(list(sp.Matrix([inner]).jacobian(u)), list(u), dict=True)[0]
    u_hjb = u.subs(u_star)
    min_inner = sp.expand(inner.subs(u_star))
    # -dV/dt = -x^T Pdot x / 2 = min_u[...]  =>  Pdot = -Hessian_x(min_u[...])
    Pdot_hjb = -sp.hessian(min_inner, list(x))
    # Route 2: Pontryagin, lambda = -P x
    lam = -P * x
    u_pmp = R.inv() * B.T * lam
    xdot = A * x + B * u_pmp
    lamdot = Q * x - A.T * lam
    # d/dt(-P x) = -Pdot x - P xdot = lamdot  =>  Pdot x = -lamdot - P xdot (linear in x)
    Pdot_pmp = (-lamdot - P * xdot).jacobian(list(x))
    diff = (Pdot_hjb - Pdot_pmp).applyfunc(sp.simplify)
    mats = (P, A, B, Q, R)
    args = [sorted(M.free_symbols, key=str) for M in mats]          # unique symbols of each matrix
    fn = sp.lambdify([s for a in args for s in a], Pdot_hjb, "numpy")

    def rhs_sym(*values):
        subs = []
        for M, a, v in zip(mats, args, values):
            where = {M[i, j]: (i, j) for i in range(M.rows) for j in range(M.cols)}
            subs += [float(v[where[s]]) for s in a]
        return np.array(fn(*subs), dtype=float)
    return RiccatiDerivation(Pdot_hjb=Pdot_hjb, Pdot_pmp=Pdot_pmp, difference=diff, u_hjb=u_hjb,
                             A=A, B=B, Q=Q, R=R, P=P, rhs=rhs_sym)


@dataclass(frozen=True)
class ScheduleDerivation:
    """``g_star`` (SymPy expression of ``E`` and ``sigma2``), ``Edot`` (the optimal dynamics), and their
    lambdified NumPy versions ``g_star_fn(E, sigma2)``, ``Edot_fn(E, sigma2)``."""

    g_star: sp.Expr
    Edot: sp.Expr
    g_star_fn: object
    Edot_fn: object


def schedule_hamiltonian() -> ScheduleDerivation:
    r"""Minimise the Hamiltonian of the schedule problem over $g$.

    With $H = \lambda f(E, g)$, $f = -2gE + g^2(E + \sigma^2)$ and $\lambda < 0$ (the
    costate of the terminal cost $E(T)$, $\lambda(T) = -1$), Pontryagin's principle maximises
    $H$, i.e. minimises $f$ over $g$.

    Examples
    --------
    >>> d = schedule_hamiltonian()
    >>> d.g_star
    E/(E + sigma2)
    """
    E, s2, g = sp.symbols("E sigma2 g", positive=True)
    f = -2 * g * E + g**2 * (E + s2)
    g_star = sp.solve(sp.diff(f, g), g)[0]
    assert sp.simplify(sp.diff(f, g, 2).subs(g, g_star)).is_positive
    Edot = sp.simplify(f.subs(g, g_star))
    return ScheduleDerivation(g_star=g_star, Edot=Edot, g_star_fn=sp.lambdify((E, s2), g_star, "numpy"),
                              Edot_fn=sp.lambdify((E, s2), Edot, "numpy"))
