r"""The MSR path integral of online-SGD *training*, and its saddle point, derived with SymPy.

The bridge from the path integral of Part II (:mod:`dmftlib.symbolic.msr`, where the dynamics is
the inference dynamics of a network) to the training dynamics of Part III: here the dynamical
variables are the weights, the "time" is the number of samples seen, and the dynamics is online
SGD. The model is the teacher-student neural ODE of :mod:`dmftlib.neural_ode`: unit-scale weights
$J = W/\sqrt N\in\mathbb R^{K\times N}$, a fixed teacher $J^*$, controls
$\theta$; one step on a fresh $x_k\sim\mathcal N(0, I_N)$ is

.. math::

    J_{k+1} = J_k + \frac{\eta}{N}\,g_k\,x_k^\top,\qquad
    \theta_{k+1} = \theta_k + \frac{\eta_\theta}{N}\,G_k ,

with $g = -\partial\ell/\partial h(0)$ and $G = \partial H/\partial\theta$ functions of
the projections $h = J_kx_k$, $h^* = J^*x_k$ and of $\theta_k$ only.

**1. The increments** (:func:`sgd_increments`). SymPy expands $J_{k+1}J_{k+1}^\top$ and
$J_{k+1}J^{*\top}$ componentwise: the order parameters $q = (Q, R, \theta)$ change by
$\Delta q_k = \psi(h, h^*, n; q_k)/N$ with $n = |x_k|^2/N$ and

.. math::

    \psi_Q = \eta\,(g h^\top + h g^\top) + \eta^2 n\, g g^\top,\qquad
    \psi_R = \eta\, g h^{*\top},\qquad \psi_\theta = \eta_\theta\, G .

**2. The action.** Enforce each update with a delta function,
$\delta(z) = \int_{-i\infty}^{i\infty}\frac{d\tilde q}{2\pi i}e^{\tilde q z}$. The weights
enter the averaged integrand only through $q$ (the law of $(h, h^*)$ given the past is
$\mathcal N(0, [[Q, R], [R^\top, T]])$: $x_k$ is fresh), so the path integral of
the weights collapses onto that of the order parameters, with one response field
$\tilde q_k = N p_k$ per step. With training time $t = k/N$,
$dt = 1/N$ (the limit $\eta/N\to\eta\,dt$):

.. math::

    &Z = \int\mathcal Dq\,\mathcal Dp\; e^{N S[q, p]},\qquad
    S = \int dt\,\Big[p\cdot\dot q + \Lambda\big(-p; q\big)\Big],\\
    &\Lambda(s; q) = \ln\mathbb E\,e^{s\cdot\psi},

$\Lambda$ the cumulant generating function of one step's increment (:func:`action`).
:func:`chi2_limit` shows that the factor $n$ may be set to one inside $\Lambda$.

**3. The saddle point** (:func:`saddle_point`). Because $S$ is multiplied by $N$, the
path integral concentrates on the stationary point; SymPy's Euler-Lagrange equations are
$\dot q = \partial_s\Lambda(-p; q)$ and $\dot p = \partial_q\Lambda(-p; q)$.
Normalization, $\Lambda(0; q) = 0$ for every $q$, makes $p\equiv0$ a solution of
the second (the physical, causal saddle, as $\hat Q = 0$ in Part II), and the first becomes

.. math:: \dot q = \partial_s\Lambda(0; q) = \mathbb E\,\psi(h, h^*, 1; q):

the order-parameter ODEs of the chapter. The second cumulant (the SGD noise) enters only at
$p\ne0$: it sets the Gaussian $O(1/\sqrt N)$ fluctuations around the saddle.

**4. Checks on reduced instances.** :func:`drift` builds $\psi$ for small ``K``, ``M``,
``L`` by composing the Euler ResNet symbolically and differentiating the loss with ``sympy.diff``
(no costate code), lambdified; :func:`linear_drift` computes $\mathbb E\psi$ exactly
(Gaussian moments by Wick's theorem, :mod:`dmftlib.symbolic.gaussian`) when the controls
$A$ of student and teacher vanish and only $b$ is present (fixed): linear networks.
Both are tested against :func:`dmftlib.neural_ode.rhs`.

Reference: the chapter ``book/part3/neural_ode_teacher_student.ipynb``; the MSR formalism as in
:mod:`dmftlib.symbolic.msr`; online-SGD order parameters after Saad & Solla (1995).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from ..core import check_int, check_real
from .gaussian import moment

__all__ = ["sgd_increments", "chi2_limit", "action", "saddle_point", "Drift", "drift", "linear_drift"]

eta, eta_theta, N_sym = sp.symbols("eta eta_theta N", positive=True)
t_sym = sp.Symbol("t", real=True)


def sgd_increments(K: int = 2, M: int = 1, N: int = 3):
    r"""SymPy check of the one-step increments of $Q = JJ^\top$ and $R = JJ^{*\top}$.

    Builds $J$ (K x N), $J^*$ (M x N), $x$, $g$ as symbols, applies
    $J\to J + (\eta/N_{\rm in})\,g\,x^\top$ with the symbol $N_{\rm in}$ (the input
    dimension, distinct from the number ``N`` of explicit components) and returns
    ``(dQ_exact - dQ_formula, dR_exact - dR_formula)``, both expanded: zero matrices, where the
    formula is that of the module docstring times $1/N_{\rm in}$, with $h = Jx$,
    $h^* = J^*x$, $n = |x|^2/N_{\rm in}$.

    >>> dQ, dR = sgd_increments()
    >>> dQ.is_zero_matrix, dR.is_zero_matrix
    (True, True)
    """
    K = check_int("K", K, low=1, high=4)
    M = check_int("M", M, low=1, high=4)
    N = check_int("N", N, low=1, high=6)
    J = sp.Matrix(K, N, lambda a, i: sp.Symbol(f"J_{a}{i}"))
    Js = sp.Matrix(M, N, lambda a, i: sp.Symbol(f"Js_{a}{i}"))
    x = sp.Matrix(N, 1, lambda i, _: sp.Symbol(f"x_{i}"))
    g = sp.Matrix(K, 1, lambda a, _: sp.Symbol(f"g_{a}"))
    J1 = J + eta / N_sym * g * x.T
    h, hs, n = J * x, Js * x, (x.T * x)[0, 0] / N_sym
    dQ = J1 * J1.T - J * J.T
    dR = J1 * Js.T - J * Js.T
    psiQ = eta * (g * h.T + h * g.T) + eta ** 2 * n * g * g.T
    psiR = eta * g * hs.T
    return (dQ - psiQ / N_sym).applyfunc(sp.expand), (dR - psiR / N_sym).applyfunc(sp.expand)


def chi2_limit():
    r"""The factor $n = |x|^2/N$ inside the cumulant generating function, as $N\to\infty$.

    $n\sim\chi^2_N/N$ has $\mathbb E\,e^{s a n} = (1 - 2sa/N)^{-N/2}$; SymPy's
    limit is $e^{sa}$, the value at $n = 1$ (corrections $O(1/N)$).

    >>> chi2_limit()
    exp(a*s)
    """
    s, a = sp.symbols("s a", real=True)
    return sp.limit((1 - 2 * s * a / N_sym) ** (-N_sym / 2), N_sym, sp.oo)


def action(n_fields: int = 1):
    r"""The training MSR action density $p\cdot\dot q + \Lambda(-p; q)$ for ``n_fields`` order parameters.

    $\Lambda(s; q)$ is written through its first two cumulants, with undefined functions
    $f_a(q)$ (the mean drift) and $D_{ab}(q)$ (the covariance of one step's
    increment, the SGD noise): $\Lambda(s) = s\cdot f + \tfrac12 s^\top D s + O(s^3)$.
    Returns ``(density, q, p, f, D)`` with ``q``, ``p`` lists of functions of ``t``.

    >>> dens, q, p, f, D = action(1)
    >>> dens
    D_00(q_0(t))*p_0(t)**2/2 - f_0(q_0(t))*p_0(t) + p_0(t)*Derivative(q_0(t), t)
    """
    n = check_int("n_fields", n_fields, low=1, high=4)
    q = [sp.Function(f"q_{a}")(t_sym) for a in range(n)]
    p = [sp.Function(f"p_{a}")(t_sym) for a in range(n)]
    f = [sp.Function(f"f_{a}")(*q) for a in range(n)]
    D = sp.Matrix(n, n, lambda a, b: sp.Function(f"D_{min(a, b)}{max(a, b)}")(*q))
    s = sp.Matrix([-pa for pa in p])
    Lam = (s.T * sp.Matrix(f))[0, 0] + sp.Rational(1, 2) * (s.T * D * s)[0, 0]
    dens = sum((p[a] * sp.diff(q[a], t_sym) for a in range(n)), sp.Integer(0)) + Lam
    return sp.expand(dens), q, p, f, D


def saddle_point(n_fields: int = 1):
    r"""Euler-Lagrange equations of :func:`action`, and their form on the physical branch $p = 0$.

    Returns ``(equations, on_physical)``: the list of ``sympy.Eq`` from
    ``sympy.calculus.euler.euler_equations`` (one per $p_a$, one per $q_a$) and the
    same with $p\equiv 0$ substituted, solved for $\dot q$: the drift ODEs
    $\dot q_a = f_a(q)$ (and ``True`` for the $q$ equations, satisfied identically).

    >>> eqs, phys = saddle_point(1)
    >>> phys
    [Eq(Derivative(q_0(t), t), f_0(q_0(t))), True]
    """
    from sympy.calculus.euler import euler_equations
    dens, q, p, f, D = action(n_fields)
    eqs = euler_equations(dens, p + q, t_sym)          # first the p equations, then the q equations
    zero = {pa: 0 for pa in p}
    qd = [sp.diff(qa, t_sym) for qa in q]
    phys = []
    for a, e in enumerate(eqs):
        e0 = e.subs(zero).doit()
        phys.append(sp.Eq(qd[a], sp.solve(e0, qd[a])[0]) if a < len(p) else e0)
    return eqs, phys


# ----------------------------------------------------------------------------------------------
# the per-sample increment of the neural-ODE teacher-student model, built symbolically
# ----------------------------------------------------------------------------------------------
def _resnet(h, A, b, L):
    """Euler ResNet of the tanh field, composed symbolically: h -> h + (1/L)(-h + A tanh(h) + b)."""
    for l in range(L):
        h = h + sp.Rational(1, L) * (-h + A[l] * h.applyfunc(sp.tanh) + b[l])
    return h


@dataclass(frozen=True)
class Drift:
    r"""The per-sample increment $\psi$ of one SGD step, symbolic and lambdified.

    ``psiQ`` (K x K), ``psiR`` (K x M), ``psiA`` (L blocks K x K), ``psib`` (L, K) are SymPy
    expressions in ``h`` (K), ``hs`` (M), the student controls ``A``, ``b``, and ``eta``,
    ``eta_theta`` (``n = 1``). ``fn(h, hs, A, b, eta, eta_theta)`` evaluates them on arrays of
    samples: ``h`` (K, n), ``hs`` (M, n), ``A`` (L, K, K), ``b`` (L, K); returns
    ``(psiQ (K, K, n), psiR (K, M, n), psiA (L, K, K, n), psib (L, K, n))``."""

    K: int
    M: int
    L: int
    L_teacher: int
    psiQ: sp.Matrix
    psiR: sp.Matrix
    psiA: tuple
    psib: tuple
    fn: object


def drift(K: int = 1, M: int = 1, L: int = 2, L_teacher: int | None = None, a_star: float = 1.0,
          c_star: float = 1.0) -> Drift:
    r"""The increment $\psi$ of the module docstring for the neural-ODE teacher-student model.

    The teacher (:func:`dmftlib.neural_ode.teacher_controls`, constant in depth, $b^* = 0$,
    read-outs one) and the student are composed as Euler ResNets with SymPy; the loss
    $\ell = \frac12(y - v\cdot h_L)^2$ is differentiated with ``sympy.diff``:
    $g = -\partial\ell/\partial h_0$ and $G_\ell = -L\,\partial\ell/\partial\theta_\ell$
    (the functional gradient, $\partial H/\partial\theta$), with no costate code. Cost: the
    expressions grow like $K^{2L}$; keep ``K * L <= 6``.

    >>> d = drift(1, 1, 1)                   # L = 1: h(1) = A tanh(h(0)) + b, teacher y = tanh(h*(0))
    >>> d.psiR
    Matrix([[A_0_00*eta*hs_0*(1 - tanh(h_0)**2)*(-A_0_00*tanh(h_0) - b_0_0 + tanh(hs_0))]])
    """
    K = check_int("K", K, low=1, high=3)
    M = check_int("M", M, low=1, high=3)
    L = check_int("L", L, low=1, high=4)
    Lt = L if L_teacher is None else check_int("L_teacher", L_teacher, low=1, high=4)
    if K * L > 6 or M * Lt > 6:
        raise ValueError(f"K * L and M * L_teacher must be at most 6 (expression swell); got {K * L}, {M * Lt}")
    return _drift(K, M, L, Lt, check_real("a_star", a_star), check_real("c_star", c_star))


@lru_cache(maxsize=8)
def _drift(K, M, L, Lt, a_star, c_star) -> Drift:
    from ..neural_ode import teacher_controls
    As_num, _ = teacher_controls(M, a_star, c_star)
    h = sp.Matrix([sp.Symbol(f"h_{i}") for i in range(K)])
    hs = sp.Matrix([sp.Symbol(f"hs_{i}") for i in range(M)])
    A = [sp.Matrix(K, K, lambda i, j, l=l: sp.Symbol(f"A_{l}_{i}{j}")) for l in range(L)]
    b = [sp.Matrix([sp.Symbol(f"b_{l}_{i}") for i in range(K)]) for l in range(L)]
    As = [sp.Matrix(As_num.tolist()).applyfunc(sp.nsimplify)] * Lt
    bs = [sp.zeros(M, 1)] * Lt
    y = sum(_resnet(hs, As, bs, Lt))
    loss = (y - sum(_resnet(h, A, b, L))) ** 2 / 2
    g = sp.Matrix([-sp.diff(loss, hi) for hi in h])
    psiQ = eta * (g * h.T + h * g.T) + eta ** 2 * g * g.T
    psiR = eta * g * hs.T
    psiA = tuple(sp.Matrix(K, K, lambda i, j, l=l: -eta_theta * L * sp.diff(loss, A[l][i, j])) for l in range(L))
    psib = tuple(sp.Matrix([-eta_theta * L * sp.diff(loss, b[l][i]) for i in range(K)]) for l in range(L))
    args = list(h) + list(hs) + [s for l in range(L) for s in A[l]] + [s for l in range(L) for s in b[l]] + [eta, eta_theta]
    exprs = [list(psiQ), list(psiR), [e for m in psiA for e in m], [e for m in psib for e in m]]
    raw = sp.lambdify(args, exprs, "numpy")

    def fn(hv, hsv, Av, bv, eta_v, eta_theta_v):
        hv, hsv, Av, bv = (np.asarray(a, dtype=np.float64) for a in (hv, hsv, Av, bv))
        shape = hv.shape[1:]
        out = raw(*hv, *hsv, *Av.reshape(-1), *bv.reshape(-1), eta_v, eta_theta_v)
        full = [np.array([np.broadcast_to(np.asarray(e, dtype=np.float64), shape) for e in part]) for part in out]
        return (full[0].reshape((K, K) + shape), full[1].reshape((K, M) + shape),
                full[2].reshape((L, K, K) + shape), full[3].reshape((L, K) + shape))

    return Drift(K, M, L, Lt, psiQ, psiR, psiA, psib, fn)


def _gauss_expect(poly, u, C):
    """Exact E[poly(u)] for u ~ N(0, C), monomial by monomial (Wick moments)."""
    total = sp.Integer(0)
    for powers, coeff in sp.Poly(sp.expand(poly), *u).terms():
        idx = tuple(i for i, p in enumerate(powers) for _ in range(p))
        total += coeff * (moment(idx, C) if idx else 1)
    return sp.expand(total)


def linear_drift(K: int = 2, M: int = 1, L: int = 2):
    r"""Exact drift $\mathbb E\psi$ of $(Q, R)$ for linear networks: $A = A^* = 0$, biases ``b`` fixed.

    With $A = 0$ the field is $-h + b$ and both ResNets are affine, so $\psi$
    is a polynomial in $(h, h^*)$; its Gaussian average with covariance
    $[[Q, R], [R^\top, T]]$ ($T = I_M$) is computed exactly by Wick's theorem. This is
    the saddle-point drift $\partial_s\Lambda(0; q)$ with nothing left to quadrature.
    Returns ``f(Q, R, b, eta) -> (dQ (K, K), dR (K, M))`` (``b`` of shape (L, K)).

    >>> f = linear_drift(1, 1, 1)
    >>> dQ, dR = f([[1.0]], [[0.0]], [[0.0]], 1.0)
    >>> float(dR[0, 0])          # L = 1, A = 0: h(1) = b = 0, so g = y = 0 and nothing moves
    0.0
    """
    return _linear_drift(check_int("K", K, low=1, high=3), check_int("M", M, low=1, high=3),
                         check_int("L", L, low=1, high=4))


@lru_cache(maxsize=4)
def _linear_drift(K, M, L):
    h = sp.Matrix([sp.Symbol(f"h_{i}") for i in range(K)])
    hs = sp.Matrix([sp.Symbol(f"hs_{i}") for i in range(M)])
    b = [sp.Matrix([sp.Symbol(f"b_{l}_{i}") for i in range(K)]) for l in range(L)]
    zero_K, zero_M = sp.zeros(K, K), sp.zeros(M, M)
    y = sum(_resnet(hs, [zero_M] * L, [sp.zeros(M, 1)] * L, L))
    loss = (y - sum(_resnet(h, [zero_K] * L, b, L))) ** 2 / 2
    g = sp.Matrix([-sp.diff(loss, hi) for hi in h])
    psiQ = eta * (g * h.T + h * g.T) + eta ** 2 * g * g.T
    psiR = eta * g * hs.T
    Q = sp.Matrix(K, K, lambda i, j: sp.Symbol(f"Q_{min(i, j)}{max(i, j)}"))
    R = sp.Matrix(K, M, lambda i, j: sp.Symbol(f"R_{i}{j}"))
    C = sp.Matrix(sp.BlockMatrix([[Q, R], [R.T, sp.eye(M)]]))
    u = list(h) + list(hs)
    EQ = psiQ.applyfunc(lambda e: _gauss_expect(e, u, C))
    ER = psiR.applyfunc(lambda e: _gauss_expect(e, u, C))
    qsyms = [Q[i, j] for i in range(K) for j in range(i, K)]
    args = qsyms + list(R) + [s for l in range(L) for s in b[l]] + [eta]
    raw = sp.lambdify(args, [list(EQ), list(ER)], "numpy")

    def f(Qv, Rv, bv, eta_v):
        Qv, Rv, bv = (np.asarray(a, dtype=np.float64) for a in (Qv, Rv, bv))
        qv = [Qv[i, j] for i in range(K) for j in range(i, K)]
        dQ, dR = raw(*qv, *Rv.reshape(-1), *bv.reshape(-1), eta_v)
        return np.array(dQ, dtype=np.float64).reshape(K, K), np.array(dR, dtype=np.float64).reshape(K, M)

    return f
