r"""The Martin-Siggia-Rose / Janssen / De Dominicis (MSR-JD) path integral, derived with SymPy.

On a grid of ``T`` Ito (forward Euler) steps of length $\Delta t$, the dynamics

.. math::

    x_i^{k+1} = x_i^k + \Delta t\Big(-x_i^k + \sum_j J_{ij}\phi(x_j^k) + h_i^k\Big),
    \qquad k = 0, \dots, T-1,

is enforced by $\prod_{i,k}\delta(\cdot) = \int\prod d\tilde x\,/(2\pi i)\; e^{S}$ with the
(discretized) MSR action

.. math::

    S = \sum_{i,k} \tilde x_i^k\Big[x_i^{k+1} - x_i^k - \Delta t\big(-x_i^k + \textstyle\sum_j J_{ij}\phi_j^k + h_i^k\big)\Big],

where $\tilde x = i\hat x$ runs along the imaginary axis and $\phi_j^k = \phi(x_j^k)$.
The couplings enter only through $-\sum_{ij} J_{ij} a_{ij}$ with
$a_{ij} = \Delta t\sum_k \tilde x_i^k\phi_j^k$; their Gaussian average (computed here by
``sympy.integrate``) is, with $\kappa = 0$ (i.i.d.) or $1$ (symmetric, GOE),

.. math::

    \ln\mathbb E_J\, e^{-\sum_{ij}J_{ij}a_{ij}} &= \frac{g^2}{2N}\sum_{ij}\big(a_{ij}^2 + \kappa\, a_{ij}a_{ji}\big)\\
    &= \frac{N g^2\Delta t^2}{2}\sum_{k,l}\big(Q_{kl}C_{kl} + \kappa K_{kl}K_{lk}\big),

with order parameters $Q_{kl} = \frac1N\sum_i\tilde x_i^k\tilde x_i^l$,
$C_{kl} = \frac1N\sum_i\phi_i^k\phi_i^l$, $K_{kl} = \frac1N\sum_i \tilde x_i^k\phi_i^l$.
Enforcing these definitions with conjugate fields $\hat Q, \hat C, \hat K$ and taking the
saddle point (``sympy.diff`` / ``sympy.solve``) gives the single-site action; at the physical
saddle $Q = 0$ and $K_{lk} = -R_\phi(t_k, t_l)$, so

.. math::

    S_1 &= \sum_k \tilde x^k\big[x^{k+1}-x^k-\Delta t(-x^k + h^k)\big]\\
    &\quad + \frac{g^2\Delta t^2}{2}\sum_{kl} C_{kl}\tilde x^k\tilde x^l
    - \kappa g^2\Delta t^2\sum_{kl} R_{kl}\,\tilde x^k\phi^l,

the MSR action of $x^{k+1} = x^k + \Delta t(-x^k + \eta^k + \kappa g^2\Delta t\sum_l R_{kl}\phi^l + h^k)$
with $\langle\eta^k\eta^l\rangle = g^2 C_{kl}$: the cavity single-site process.

Sign conventions: the response is $\partial\langle x^k\rangle/\partial h^l = \Delta t\,R(t_k,t_l)$
and $R(t_k, t_l) = -\langle x^k\tilde x^l\rangle$ (Ito: $R_{kl} = 0$ for $l \ge k$).

References: Martin, Siggia & Rose (1973); Janssen (1976); De Dominicis (1976); Sompolinsky &
Zippelius (1982); Crisanti & Sompolinsky (2018); Helias & Dahmen (2020).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from ..core import ConvergenceError, check_choice, check_int, check_real, damped_fixed_point, project_psd
from ..core import ReadOnlyArrays, check_public

__all__ = ["MSRDerivation", "gaussian_coupling_average", "derive", "kernel_functions", "discrete_linear_dmft",
           "DiscreteDMFT"]

g, dt, N_sym = sp.symbols("g Delta_t N", positive=True)
J, a = sp.symbols("J a", real=True)


@lru_cache(maxsize=4)
def gaussian_coupling_average(variance_factor: int = 1):
    r"""Return $\mathbb E_J[e^{-J a}]$ for $J\sim\mathcal N(0, c\,g^2/N)$, computed by ``sympy.integrate``.

    ``variance_factor`` is ``c`` (1 for off-diagonal couplings, 2 for the GOE diagonal).

    >>> gaussian_coupling_average()
    exp(a**2*g**2/(2*N))
    """
    c = check_int("variance_factor", variance_factor, low=1, high=2)
    var = c * g**2 / N_sym
    density = sp.exp(-J**2 / (2 * var)) / sp.sqrt(2 * sp.pi * var)
    return sp.simplify(sp.integrate(sp.exp(-J * a) * density, (J, -sp.oo, sp.oo), conds="none"))


def _cumulant(variance_factor: int, arg):
    """ln E exp(-J arg), from the SymPy Gaussian integral."""
    expo = sp.expand_log(sp.log(gaussian_coupling_average(variance_factor)), force=True)
    return expo.subs(a, arg)


@dataclass(frozen=True)
class MSRDerivation(ReadOnlyArrays):
    """Every step of the MSR-JD derivation on a grid of ``T`` steps for ``N`` units (SymPy objects).

    Attributes
    ----------
    T, N, symmetric, phi
        Grid size, number of units kept explicit, coupling type, ``"linear"`` or ``"generic"``.
    x, xt : sympy ImmutableMatrix (N, T+1), (N, T)
        Unit variables $x_i^k$ and response fields $\\tilde x_i^k$.
    action : sympy Expr
        The MSR action $S$ of the N units before the disorder average.
    coupling_term : sympy Expr
        Its part that contains $J$.
    pair_average : sympy Expr
        $\\mathbb E_J e^{-Ja}$ from ``sympy.integrate``.
    averaged_term : sympy Expr
        $\\ln \\mathbb E_J e^{\\rm coupling\\_term}$ in the unit variables.
    W : sympy Expr
        The same per unit, in order parameters: $\\frac{g^2\\Delta t^2}{2}\\sum(Q C + \\kappa K K^T)$.
    order_parameter_identity : bool
        True when SymPy verified ``averaged_term == N * W`` at the microscopic order parameters.
    Q, C, K, Qh, Ch, Kh, R : sympy ImmutableMatrix (T, T)
        Order parameters, their conjugate fields, and the (strictly causal) response symbols.
    saddle_equations : tuple of sympy Eq
        Stationarity of $W - \\sum(\\hat Q Q + \\hat C C + \\hat K K)$ in Q, C, K, solved for the hats.
    single_site_action : sympy Expr
        $S_1$ at the physical saddle ($Q = 0$, $K_{lk} = -R_{kl}$).
    noise_covariance : sympy ImmutableMatrix (T, T)
        $\\partial^2 S_1/\\partial\\tilde x^k\\partial\\tilde x^l / \\Delta t^2$ (the covariance of $\\eta$).
    memory_kernel : sympy ImmutableMatrix (T, T)
        $\\partial\\,\\mathrm{drift}^k/\\partial\\phi^l / \\Delta t$ (kernel of the memory term).
    equations_of_motion : tuple of sympy Eq
        $x^{k+1}$ read off $S_1$ (noise $\\eta^k$ reinstated).
    """

    T: int
    N: int
    symmetric: bool
    phi: str
    x: sp.Matrix
    xt: sp.Matrix
    action: sp.Expr
    coupling_term: sp.Expr
    pair_average: sp.Expr
    averaged_term: sp.Expr
    W: sp.Expr
    order_parameter_identity: bool
    Q: sp.Matrix
    C: sp.Matrix
    K: sp.Matrix
    Qh: sp.Matrix
    Ch: sp.Matrix
    Kh: sp.Matrix
    R: sp.Matrix
    saddle_equations: tuple
    single_site_action: sp.Expr
    noise_covariance: sp.Matrix
    memory_kernel: sp.Matrix
    equations_of_motion: tuple


def _mat(name, rows, cols, lower_strict=False):
    def entry(k, l):
        if lower_strict and l >= k:
            return sp.Integer(0)
        return sp.Symbol(f"{name}_{{{k}{l}}}", real=True)
    return sp.Matrix(rows, cols, entry)


@lru_cache(maxsize=8)
def derive(T: int = 2, N: int = 2, symmetric: bool = False, phi: str = "generic") -> MSRDerivation:
    r"""Carry out the MSR-JD derivation with SymPy for ``N`` explicit units and ``T`` time steps.

    The disorder average and the order-parameter identity are checked on the explicit units
    (exact for i.i.d. couplings and for GOE couplings whose diagonal has variance $2g^2/N$);
    the saddle point is then taken for the per-unit functional, whose form does not depend on N.

    Parameters
    ----------
    T : int in [1, 4]
    N : int in [1, 4]
    symmetric : bool
    phi : {"generic", "linear"}
        ``"generic"`` keeps $\phi$ an undefined SymPy function.

    Examples
    --------
    >>> d = derive(T=2, N=2, symmetric=True)
    >>> d.order_parameter_identity
    True
    >>> d.noise_covariance
    Matrix([
    [C_{00}*g**2, C_{01}*g**2],
    [C_{01}*g**2, C_{11}*g**2]])
    >>> d.memory_kernel
    Matrix([
    [          0, 0],
    [R_{10}*g**2, 0]])
    """
    T = check_int("T", T, low=1, high=4)
    N = check_int("N", N, low=1, high=4)
    if not isinstance(symmetric, (bool, np.bool_)):
        raise ValueError(f"symmetric must be True or False; got {symmetric!r}")
    phi = check_choice("phi", phi, ("generic", "linear"))
    kappa = 1 if symmetric else 0
    f = (lambda u: u) if phi == "linear" else sp.Function("phi")
    x = sp.Matrix(N, T + 1, lambda i, k: sp.Symbol(f"x_{{{i + 1}}}^{{{k}}}", real=True))
    xt = sp.Matrix(N, T, lambda i, k: sp.Symbol(f"\\tilde{{x}}_{{{i + 1}}}^{{{k}}}", real=True))
    h = sp.Matrix(N, T, lambda i, k: sp.Symbol(f"h_{{{i + 1}}}^{{{k}}}", real=True))
    Jm = sp.Matrix(N, N, lambda i, j: sp.Symbol(f"J_{{{i + 1}{j + 1}}}", real=True))
    if symmetric:
        Jm = sp.Matrix(N, N, lambda i, j: Jm[min(i, j), max(i, j)])
    ph = sp.Matrix(N, T, lambda i, k: f(x[i, k]))

    # 1. the MSR action of the N units
    local = sum(xt[i, k] * (x[i, k + 1] - x[i, k] - dt * (-x[i, k] + h[i, k])) for i in range(N) for k in range(T))
    coupling = -dt * sum(xt[i, k] * Jm[i, j] * ph[j, k] for i in range(N) for j in range(N) for k in range(T))
    action = local + coupling

    # 2. the disorder average, one independent Gaussian coupling at a time
    amat = sp.Matrix(N, N, lambda i, j: dt * sum(xt[i, k] * ph[j, k] for k in range(T)))
    if symmetric:
        averaged = sum(_cumulant(1, amat[i, j] + amat[j, i]) for i in range(N) for j in range(i + 1, N))
        averaged += sum(_cumulant(2, amat[i, i]) for i in range(N))
    else:
        averaged = sum(_cumulant(1, amat[i, j]) for i in range(N) for j in range(N))
    # sanity: the J-dependence of the action is exactly -sum J_ij a_ij
    assert sp.expand(coupling + sum(Jm[i, j] * amat[i, j] for i in range(N) for j in range(N))) == 0

    # 3. order parameters
    Q, C, K = _mat("Q", T, T), _mat("C", T, T), _mat("K", T, T)
    # C and Q are symmetric by definition
    Q = sp.Matrix(T, T, lambda k, l: Q[min(k, l), max(k, l)])
    C = sp.Matrix(T, T, lambda k, l: C[min(k, l), max(k, l)])
    W = g**2 * dt**2 / 2 * sum(Q[k, l] * C[k, l] + kappa * K[k, l] * K[l, k] for k in range(T) for l in range(T))
    micro = {}
    for k in range(T):
        for l in range(T):
            micro[Q[k, l]] = sum(xt[i, k] * xt[i, l] for i in range(N)) / N_sym
            micro[C[k, l]] = sum(ph[i, k] * ph[i, l] for i in range(N)) / N_sym
            micro[K[k, l]] = sum(xt[i, k] * ph[i, l] for i in range(N)) / N_sym
    identity = sp.expand(averaged - N_sym * W.xreplace(micro)) == 0

    # 4. saddle point of W - sum(Qh Q + Ch C + Kh K) in the order parameters
    Qh, Ch, Kh = _mat("\\hat{Q}", T, T), _mat("\\hat{C}", T, T), _mat("\\hat{K}", T, T)
    free = [(k, l) for k in range(T) for l in range(T) if l >= k]      # independent entries of Q, C
    Qh = sp.Matrix(T, T, lambda k, l: Qh[min(k, l), max(k, l)])
    Ch = sp.Matrix(T, T, lambda k, l: Ch[min(k, l), max(k, l)])
    Phi = W - sum(Qh[k, l] * Q[k, l] + Ch[k, l] * C[k, l] + Kh[k, l] * K[k, l] for k in range(T) for l in range(T))
    eqs, unknowns = [], []
    for (k, l) in free:
        eqs += [sp.diff(Phi, Q[k, l]), sp.diff(Phi, C[k, l])]
        unknowns += [Qh[k, l], Ch[k, l]]
    for k in range(T):
        for l in range(T):
            eqs.append(sp.diff(Phi, K[k, l]))
            unknowns.append(Kh[k, l])
    sol = sp.solve(eqs, unknowns, dict=True)[0]
    saddle = [sp.Eq(u, sol[u]) for u in unknowns]

    # 5. single-site action: S_0 + sum Qh xt xt + Ch phi phi + Kh xt phi at the physical saddle
    x1 = sp.Matrix(1, T + 1, lambda _, k: sp.Symbol(f"x^{{{k}}}", real=True))
    xt1 = sp.Matrix(1, T, lambda _, k: sp.Symbol(f"\\tilde{{x}}^{{{k}}}", real=True))
    h1 = sp.Matrix(1, T, lambda _, k: sp.Symbol(f"h^{{{k}}}", real=True))
    ph1 = [f(x1[0, k]) for k in range(T)]
    R = _mat("R", T, T, lower_strict=True)
    physical = {Q[k, l]: 0 for k in range(T) for l in range(T)}
    physical.update({K[l, k]: -R[k, l] for k in range(T) for l in range(T)})
    S0 = sum(xt1[0, k] * (x1[0, k + 1] - x1[0, k] - dt * (-x1[0, k] + h1[0, k])) for k in range(T))
    S1 = S0
    for k in range(T):
        for l in range(T):
            S1 += (Qh[k, l].xreplace(sol).xreplace(physical) * xt1[0, k] * xt1[0, l]
                   + Ch[k, l].xreplace(sol).xreplace(physical) * ph1[k] * ph1[l]
                   + Kh[k, l].xreplace(sol).xreplace(physical) * xt1[0, k] * ph1[l])
    S1 = sp.expand(S1)

    # 6. read off the process: noise covariance (quadratic in xt) and drift (linear in xt)
    xts = list(xt1)
    Sigma = sp.Matrix(T, T, lambda k, l: sp.simplify(sp.diff(S1, xts[k], xts[l]) / dt**2))
    at0 = {u: 0 for u in xts}
    phis = sp.symbols(f"varphi0:{T}", real=True)
    to_phi = {ph1[k]: phis[k] for k in range(T)} if phi == "generic" else {}
    drift = [sp.expand(-(sp.diff(S1, xts[k]).xreplace(at0) - (x1[0, k + 1] - x1[0, k])) / dt) for k in range(T)]
    if phi == "generic":
        drift_phi = [d.xreplace(to_phi) for d in drift]
        M = sp.Matrix(T, T, lambda k, l: sp.simplify(sp.diff(drift_phi[k], phis[l]) / dt))
    else:
        M = sp.Matrix(T, T, lambda k, l: sp.simplify(
            (sp.diff(drift[k], x1[0, l]) - (-1 if k == l else 0)) / dt))
    eta = [sp.Symbol(f"\\eta^{{{k}}}", real=True) for k in range(T)]
    eom = [sp.Eq(x1[0, k + 1], x1[0, k] + dt * (drift[k] + eta[k])) for k in range(T)]
    im = sp.ImmutableMatrix      # the result is cached (lru_cache): keep it immutable
    return MSRDerivation(T=T, N=N, symmetric=bool(symmetric), phi=phi, x=im(x), xt=im(xt), action=action,
                         coupling_term=coupling, pair_average=gaussian_coupling_average(1),
                         averaged_term=sp.expand(averaged), W=W, order_parameter_identity=bool(identity),
                         Q=im(Q), C=im(C), K=im(K), Qh=im(Qh), Ch=im(Ch), Kh=im(Kh), R=im(R),
                         saddle_equations=tuple(saddle), single_site_action=S1, noise_covariance=im(Sigma),
                         memory_kernel=im(M), equations_of_motion=tuple(eom))


def kernel_functions(d: MSRDerivation):
    r"""Lambdify the kernels SymPy derived: ``sigma(g, C)`` and ``memory(g, R)``, elementwise on arrays.

    SymPy's noise covariance and memory kernel are checked to be the same function of
    $C_{kl}$ (resp. $R_{kl}$) for every pair of grid times, then one entry is lambdified.

    >>> sigma, memory = kernel_functions(derive(T=2, N=2, symmetric=True))
    >>> float(sigma(0.5, 2.0)), float(memory(0.5, 2.0))
    (0.5, 0.5)
    """
    c, r = sp.symbols("c r", real=True)
    T = d.T
    sig_entries = {sp.simplify(d.noise_covariance[k, l].xreplace({d.C[k, l]: c})) for k in range(T) for l in range(T)}
    mem_entries = {sp.simplify(d.memory_kernel[k, l].xreplace({d.R[k, l]: r})) for k in range(T) for l in range(k)}
    if len(sig_entries) != 1 or len(mem_entries) > 1:
        raise ValueError("the derived kernels are not the same function of C_kl (R_kl) at every pair of times")
    sig = sig_entries.pop()
    mem = mem_entries.pop() if mem_entries else sp.Integer(0)
    return sp.lambdify((g, c), sig, "numpy"), sp.lambdify((g, r), mem, "numpy")


@dataclass(frozen=True)
class DiscreteDMFT(ReadOnlyArrays):
    """Self-consistent solution of the Ito-discretized single-site process on a grid (linear phi)."""

    t: np.ndarray
    C: np.ndarray
    R: np.ndarray
    residuals: np.ndarray
    n_iter: int
    converged: bool
    wall_time: float


def discrete_linear_dmft(sigma, memory, g_value, t_max=5.0, n_t=101, C0=1.0, tol=1e-11, max_iter=500) -> DiscreteDMFT:
    r"""Solve the single-site process read off the MSR saddle point, Ito-discretized, for linear $\phi$.

    With the lambdified kernels ``sigma`` (noise covariance as a function of $C$) and
    ``memory`` (memory kernel as a function of $R$) from :func:`kernel_functions`:

    .. math::

        &x^{k+1} = x^k + \Delta t\Big(-x^k + \Delta t\sum_{l<k} M_{kl}\,x^l + \eta^k + h^k\Big),\\
        &M = \mathrm{memory}(g, R),\ \langle\eta\eta\rangle = \mathrm{sigma}(g, C).

    ``R[k, l] = \partial\langle x^k\rangle/\partial(\Delta t\, h^l)`` (zero for ``l >= k``; the
    first nonzero entry ``R[l+1, l] = 1``) is found row by row; ``C`` by damped fixed-point
    iteration of $C = C_0 r r^\top + \Delta t^2 R\,\Sigma(C)\,R^\top$. Agreement with the
    continuous-time solution is $O(\Delta t)$ (Ito/Euler discretization).
    Memory: a few ``(n_t, n_t)`` arrays.

    >>> sigma, memory = kernel_functions(derive(T=2, N=2, symmetric=False))
    >>> res = discrete_linear_dmft(sigma, memory, 0.5, t_max=2.0, n_t=201)
    >>> round(float(res.R[100, 0]), 2)        # ~ exp(-1) for i.i.d. couplings
    0.37
    """
    for name, f in (("sigma", sigma), ("memory", memory)):
        if not callable(f):
            raise TypeError(f"{name} must be a callable (from kernel_functions); got {f!r}")
    g_value = check_real("g_value", g_value, low=0.0)
    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    n = check_int("n_t", n_t, low=2, high=4001)
    C0 = check_real("C0", C0, low=0.0)
    t = np.linspace(0.0, t_max, n)
    h = t_max / (n - 1)
    # response R[k, l] (k > l) and propagator from the initial condition r[k] = dx^k/dx^0
    R = np.zeros((n, n))
    r = np.zeros(n)
    r[0] = 1.0
    for k in range(n - 1):
        Mk = np.asarray(memory(g_value, R[k, :k]), dtype=np.float64) * np.ones(k)   # M[k, m] for m < k
        # R[k+1, l] = (1 - h) R[k, l] + h^2 sum_m M[k, m] R[m, l] ; R[k+1, k] = 1
        R[k + 1, :k] = (1 - h) * R[k, :k] + h**2 * (Mk @ R[:k, :k])
        R[k + 1, k] = 1.0
        r[k + 1] = (1 - h) * r[k] + h**2 * (Mk @ r[:k])
    if not np.all(np.isfinite(R)) or np.abs(R).max() > 1e8:
        raise ConvergenceError("the discrete response exceeds 1e8: unstable dynamics (symmetric couplings "
                               "need g < 1/2, i.i.d. linear g < 1)", [np.inf])
    base = C0 * np.outer(r, r)

    def F(C):
        S = np.asarray(sigma(g_value, C), dtype=np.float64) * np.ones_like(C)
        return project_psd(base + h**2 * (R @ S @ R.T))

    res = damped_fixed_point(F, base, damping=0.0, tol=tol, max_iter=max_iter, divergence=1e8)
    return DiscreteDMFT(t=t, C=res.x, R=R, residuals=res.residuals, n_iter=res.n_iter,
                        converged=res.converged, wall_time=res.wall_time)


check_public(globals())
