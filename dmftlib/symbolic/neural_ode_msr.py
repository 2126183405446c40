r"""The two-replica MSR path integral of the reservoir neural ODE, derived with SymPy.

Two copies of the Euler-discretized depth dynamics (student $a=1$, teacher $a=2$)
share the input $x$ and the couplings $J$, and differ in their controls:

.. math::

    &h_{a,i}^{k+1} = h_{a,i}^k + \Delta\Big(-h_{a,i}^k + g_a^k\sum_j J_{ij}\phi(h_{a,j}^k) + u_a^k x_i\Big),\\
    &h_{a,i}^0 = x_i,\qquad k = 0..T-1.

The MSR action is
$S = \sum_{a,i,k}\hat h_{a,i}^k[h_{a,i}^{k+1}-h_{a,i}^k-\Delta(-h_{a,i}^k+u_a^kx_i)] - \sum_{ij}J_{ij}A_{ij}$
with $A_{ij} = \Delta\sum_{a,k}g_a^k\hat h_{a,i}^k\phi(h_{a,j}^k)$. The Gaussian average over
i.i.d. $J_{ij}\sim\mathcal N(0,1/N)$ (``sympy.integrate``, via
:func:`dmftlib.symbolic.msr.gaussian_coupling_average`) gives
$\sum_{ij}A_{ij}^2/(2N) = N W$ with

.. math::

    &W = \frac{\Delta^2}{2}\sum_{ab,kl} g_a^k g_b^l\, Q^{ab}_{kl} C^{ab}_{\phi,kl},\\
    &Q^{ab}_{kl} = \frac1N\sum_i\hat h_{a,i}^k\hat h_{b,i}^l,\quad
    C^{ab}_{\phi,kl} = \frac1N\sum_j\phi(h_{a,j}^k)\phi(h_{b,j}^l).

The saddle point ($Q = 0$ at the physical solution, so no memory term: the couplings are
not symmetric) leaves one site with Gaussian fields whose covariance is read off the quadratic
part of the single-site action: $\langle g_a^k\zeta_a^k\,g_b^l\zeta_b^l\rangle = g_a^kg_b^lC^{ab}_{\phi,kl}$.
For linear $\phi$ the closure is then solved symbolically (:func:`linear_output_covariance`)
and tested against :func:`dmftlib.neural_ode_dmft.closure`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from ..core import check_int
from .msr import a as _a_sym, g as _g_sym, N_sym, gaussian_coupling_average

__all__ = ["TwoReplicaMSR", "derive", "noise_kernel", "linear_output_covariance"]

dt = sp.Symbol("Delta", positive=True)


@dataclass(frozen=True)
class TwoReplicaMSR:
    """Every step of the two-replica derivation (SymPy objects).

    ``action`` (the N-unit MSR action), ``averaged_term`` (ln E_J of its coupling part),
    ``W`` (per unit, in order parameters), ``order_parameter_identity`` (SymPy verified
    ``averaged_term == N W`` at the microscopic order parameters), ``saddle_equations``,
    ``single_site_action``, ``noise_covariance`` ((2T, 2T), index ``a*T + k``), ``drift``
    (the deterministic part of $(h^{k+1}_a-h^k_a)/\\Delta$), and the symbols
    ``gains``, ``inputs`` (2, T), ``Cphi`` (2T, 2T).
    """

    T: int
    N: int
    action: sp.Expr
    averaged_term: sp.Expr
    W: sp.Expr
    order_parameter_identity: bool
    saddle_equations: tuple
    single_site_action: sp.Expr
    noise_covariance: sp.Matrix
    drift: tuple
    gains: sp.Matrix
    inputs: sp.Matrix
    Cphi: sp.Matrix


@lru_cache(maxsize=4)
def derive(T: int = 2, N: int = 2) -> TwoReplicaMSR:
    r"""Carry out the two-replica MSR derivation for ``N`` explicit units and ``T`` depth steps.

    >>> d = derive(T=1, N=2)
    >>> d.order_parameter_identity
    True
    >>> d.noise_covariance
    Matrix([
    [       C_{00}*g_{1}^{0}**2, C_{01}*g_{1}^{0}*g_{2}^{0}],
    [C_{01}*g_{1}^{0}*g_{2}^{0},        C_{11}*g_{2}^{0}**2]])
    """
    T = check_int("T", T, low=1, high=3)
    N = check_int("N", N, low=1, high=3)
    P = 2 * T                                     # combined index alpha = a*T + k
    phi = sp.Function("phi")
    gam = sp.Matrix(2, T, lambda a, k: sp.Symbol(f"g_{{{a + 1}}}^{{{k}}}", real=True))
    uu = sp.Matrix(2, T, lambda a, k: sp.Symbol(f"u_{{{a + 1}}}^{{{k}}}", real=True))
    x = [sp.Symbol(f"x_{{{i + 1}}}", real=True) for i in range(N)]
    h = [[[x[i]] + [sp.Symbol(f"h_{{{a + 1},{i + 1}}}^{{{k}}}", real=True) for k in range(1, T + 1)]
          for i in range(N)] for a in range(2)]
    hh = [[[sp.Symbol(f"\\hat{{h}}_{{{a + 1},{i + 1}}}^{{{k}}}", real=True) for k in range(T)] for i in range(N)]
          for a in range(2)]
    Jm = sp.Matrix(N, N, lambda i, j: sp.Symbol(f"J_{{{i + 1}{j + 1}}}", real=True))
    # 1. the action of 2 replicas x N units
    local = sum(hh[a][i][k] * (h[a][i][k + 1] - h[a][i][k] - dt * (-h[a][i][k] + uu[a, k] * x[i]))
                for a in range(2) for i in range(N) for k in range(T))
    A = sp.Matrix(N, N, lambda i, j: dt * sum(gam[a, k] * hh[a][i][k] * phi(h[a][j][k])
                                              for a in range(2) for k in range(T)))
    action = local - sum(Jm[i, j] * A[i, j] for i in range(N) for j in range(N))
    # 2. disorder average, one coupling at a time (g = 1: variance 1/N)
    cum = sp.expand_log(sp.log(gaussian_coupling_average(1)), force=True).subs(_g_sym, 1)
    averaged = sp.expand(sum(cum.subs(_a_sym, A[i, j]) for i in range(N) for j in range(N)))
    # 3. order parameters over the combined index
    Q = sp.Matrix(P, P, lambda p, q: sp.Symbol(f"Q_{{{min(p, q)}{max(p, q)}}}", real=True))
    C = sp.Matrix(P, P, lambda p, q: sp.Symbol(f"C_{{{min(p, q)}{max(p, q)}}}", real=True))
    gv = [gam[p // T, p % T] for p in range(P)]
    W = dt**2 / 2 * sum(gv[p] * gv[q] * Q[p, q] * C[p, q] for p in range(P) for q in range(P))
    micro = {}
    for p in range(P):
        for q in range(p, P):
            (a, k), (b, l) = divmod(p, T), divmod(q, T)
            micro[Q[p, q]] = sum(hh[a][i][k] * hh[b][i][l] for i in range(N)) / N_sym
            micro[C[p, q]] = sum(phi(h[a][j][k]) * phi(h[b][j][l]) for j in range(N)) / N_sym
    identity = sp.expand(averaged.subs(N_sym, N) - N * W.xreplace(micro).subs(N_sym, N)) == 0
    # 4. saddle point of W - sum(Qh Q + Ch C) in Q and C
    Qh = sp.Matrix(P, P, lambda p, q: sp.Symbol(f"\\hat{{Q}}_{{{min(p, q)}{max(p, q)}}}", real=True))
    Ch = sp.Matrix(P, P, lambda p, q: sp.Symbol(f"\\hat{{C}}_{{{min(p, q)}{max(p, q)}}}", real=True))
    pairs = [(p, q) for p in range(P) for q in range(p, P)]
    Phi = W - sum(Qh[p, q] * Q[p, q] + Ch[p, q] * C[p, q] for p in range(P) for q in range(P))
    eqs = [sp.diff(Phi, Q[p, q]) for p, q in pairs] + [sp.diff(Phi, C[p, q]) for p, q in pairs]
    unknowns = [Qh[p, q] for p, q in pairs] + [Ch[p, q] for p, q in pairs]
    sol = sp.solve(eqs, unknowns, dict=True)[0]
    saddle = tuple(sp.Eq(v, sol[v]) for v in unknowns)
    physical = {Q[p, q]: 0 for p, q in pairs}
    # 5. single site: S_0 + sum Qh hh hh + Ch phi phi at the physical saddle
    xs = sp.Symbol("x", real=True)
    h1 = [[xs] + [sp.Symbol(f"h_{{{a + 1}}}^{{{k}}}", real=True) for k in range(1, T + 1)] for a in range(2)]
    hh1 = [sp.Symbol(f"\\hat{{h}}_{{{p // T + 1}}}^{{{p % T}}}", real=True) for p in range(P)]
    ph1 = [phi(h1[p // T][p % T]) for p in range(P)]
    S1 = sum(hh1[a * T + k] * (h1[a][k + 1] - h1[a][k] - dt * (-h1[a][k] + uu[a, k] * xs))
             for a in range(2) for k in range(T))
    S1 += sum(Qh[p, q].xreplace(sol).xreplace(physical) * hh1[p] * hh1[q]
              + Ch[p, q].xreplace(sol).xreplace(physical) * ph1[p] * ph1[q] for p in range(P) for q in range(P))
    S1 = sp.expand(S1)
    Sigma = sp.Matrix(P, P, lambda p, q: sp.factor(sp.diff(S1, hh1[p], hh1[q]) / dt**2))
    at0 = {v: 0 for v in hh1}
    drift = tuple(sp.expand(-(sp.diff(S1, hh1[a * T + k]).xreplace(at0) - (h1[a][k + 1] - h1[a][k])) / dt)
                  for a in range(2) for k in range(T))
    return TwoReplicaMSR(T=T, N=N, action=action, averaged_term=averaged, W=W, order_parameter_identity=bool(identity),
                         saddle_equations=saddle, single_site_action=S1, noise_covariance=sp.ImmutableMatrix(Sigma),
                         drift=drift, gains=sp.ImmutableMatrix(gam), inputs=sp.ImmutableMatrix(uu),
                         Cphi=sp.ImmutableMatrix(C))


def noise_kernel(d: TwoReplicaMSR):
    r"""Lambdify the derived noise covariance as a function ``f(g_a, g_b, c)`` of one entry.

    SymPy checks that every entry of ``d.noise_covariance`` is the same function of its gains and
    $C_{\phi}$ entry before one is lambdified.

    >>> f = noise_kernel(derive(T=1, N=1))
    >>> float(f(2.0, 3.0, 0.5))
    3.0
    """
    if not isinstance(d, TwoReplicaMSR):
        raise ValueError(f"d must be a TwoReplicaMSR (from derive); got {type(d).__name__}")
    ga, gb, c = sp.symbols("g_a g_b c", real=True)
    T = d.T
    forms = set()
    for p in range(2 * T):
        for q in range(2 * T):
            rep = {d.gains[p // T, p % T]: ga, d.Cphi[p, q]: c}
            rep2 = {d.gains[q // T, q % T]: gb}
            e = d.noise_covariance[p, q]
            e = e.xreplace(rep2).xreplace(rep) if p != q else e.xreplace(rep) / ga * gb
            forms.add(sp.simplify(e))
    if len(forms) != 1:
        raise ValueError(f"the derived noise covariance is not one function of (g_a, g_b, C): {forms}")
    return sp.lambdify((ga, gb, c), forms.pop(), "numpy")


@lru_cache(maxsize=4)
def linear_output_covariance(T: int = 2):
    r"""For linear $\phi$, solve the single-site process of :func:`derive` symbolically.

    The process $h_a^{k+1} = h_a^k + \Delta(\mathrm{drift}_a^k + \xi_a^k)$, with the noise
    covariance $\langle\xi_a^k\xi_b^l\rangle$ read off the single-site action (``noise_covariance``)
    and $C_\phi = C$ (linear $\phi$), is
    marched in depth with SymPy; returns the matrix ``C`` ((T+1), 2, 2 nested as a SymPy Matrix of
    shape (2(T+1), 2(T+1)), index ``a*(T+1) + k``) as polynomials in the gains, inputs and
    $\Delta$, with the symbols ``(gains, inputs)``.

    >>> C, gains, inputs = linear_output_covariance(1)     # C^{12}(1, 1) minus the input part
    >>> u1, u2 = inputs[0, 0], inputs[1, 0]
    >>> sp.factor(C[1, 3] - (1 - dt + dt * u1) * (1 - dt + dt * u2))
    Delta**2*g_{1}^{0}*g_{2}^{0}
    """
    T = check_int("T", T, low=1, high=3)
    d = derive(T=T, N=1)
    P = 2 * T
    xs = sp.Symbol("x", real=True)
    # represent every variable as a linear combination of (x, eta_0..eta_{P-1})
    eta = sp.symbols(f"eta0:{P}", real=True)
    base = (xs,) + eta
    hs = [[xs] for _ in range(2)]
    drift_fns = []
    for a in range(2):
        for k in range(T):
            drift_fns.append(d.drift[a * T + k])
    hsym = [[xs] + [sp.Symbol(f"h_{{{a + 1}}}^{{{k}}}", real=True) for k in range(1, T + 1)] for a in range(2)]
    cov_eta = {}

    def cov(e1, e2):
        c1 = [sp.expand(e1).coeff(v) for v in base]
        c2 = [sp.expand(e2).coeff(v) for v in base]
        out = c1[0] * c2[0]
        for p in range(P):
            for q in range(P):
                if c1[p + 1] != 0 and c2[q + 1] != 0:
                    out += c1[p + 1] * c2[q + 1] * cov_eta[(p, q)]
        return sp.expand(out)

    for k in range(T):
        # covariances of the fields at step k with all earlier steps (linear phi: Cphi = C)
        for a in range(2):
            for b in range(2):
                for l in range(k + 1):
                    p, q = a * T + k, b * T + l
                    c = d.noise_covariance[p, q].xreplace({d.Cphi[p, q]: cov(hs[a][k], hs[b][l])})
                    cov_eta[(p, q)] = c
                    cov_eta[(q, p)] = c
        for a in range(2):
            dr = drift_fns[a * T + k].xreplace({hsym[a][k]: hs[a][k]})
            hs[a].append(sp.expand(hs[a][k] + dt * (dr + eta[a * T + k])))
    M = T + 1
    C = sp.zeros(2 * M, 2 * M)
    for a in range(2):
        for b in range(2):
            for k in range(M):
                for l in range(M):
                    C[a * M + k, b * M + l] = cov(hs[a][k], hs[b][l])
    return sp.ImmutableMatrix(C), d.gains, d.inputs
