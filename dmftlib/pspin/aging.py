r"""Gradient flow, Langevin dynamics and aging in the spherical p-spin model.

The model (Cugliandolo & Kurchan 1993): spins $s\in\mathbb R^N$ on the sphere
$|s|^2 = N$, a Gaussian Hamiltonian with covariance

.. math:: \mathbb E[H(s)H(s')] = N\,\xi(s\cdot s'/N),\qquad \xi(q) = q^p/2,

(for $p=3$: $H = -\sum_{i<j<k}J_{ijk}s_is_js_k$, $\operatorname{Var}J = p!/(2N^{p-1})$),
and the Langevin dynamics at temperature $T$ (gradient flow at $T=0$)

.. math:: \dot s_i = -\partial_i H - \mu(t)\,s_i + \eta_i,\qquad
          \langle\eta_i(t)\eta_j(t')\rangle = 2T\delta_{ij}\delta(t-t'),

from a uniformly random start, with the Lagrange multiplier $\mu(t)$ keeping $|s|^2=N$.
For $N\to\infty$ the correlation $C(t,t')=s(t)\cdot s(t')/N$, the response
$R(t,t')$ and $\mu(t)$ obey the Cugliandolo-Kurchan (CK) equations ($t>t'$)

.. math::

    \partial_t C(t,t') &= -\mu(t)C(t,t') + \int_0^{t'}\!ds\,\xi'(C(t,s))R(t',s)\\
        &\quad + \int_0^{t}\!ds\,\xi''(C(t,s))R(t,s)C(s,t'),\\
    \partial_t R(t,t') &= -\mu(t)R(t,t') + \int_{t'}^{t}\!ds\,\xi''(C(t,s))R(t,s)R(s,t'),\\
    \mu(t) &= T + \int_0^t\!ds\,\big[\xi'(C(t,s)) + \xi''(C(t,s))C(t,s)\big]R(t,s),

with $C(t,t)=1$, $R(t^+,t)=1$; the energy per spin is
$e(t) = H/N = -\int_0^t ds\,\xi'(C(t,s))R(t,s)$, so that $\mu = T - p\,e$ (Euler's
theorem for the homogeneous $H$).

Numerics. The solvers integrate $C$ and the integrated response
$\chi(t,t') = \int_{t'}^t R(t,s)\,ds$ (and $R$ as an output), writing every memory
integral as a Stieltjes sum $\int g(s)R(t,s)ds = \sum_k \bar g_k\,[\chi(t,t_k)-\chi(t,t_{k+1})]$
with $\bar g_k$ the trapezoid mean of the slowly varying factor: the fast, near-diagonal
part of $R$ then enters only through its exact integral over each step. Each new row
$t_{n+1}$ is found by the implicit trapezoid rule (Crank-Nicolson), solved by fixed-point
iteration with Anderson acceleration. :func:`gradient_flow_dmft` uses a fixed grid of step
``dt`` (memory $3(n+1)^2$ doubles for $n$ steps, work $O(n^3)$);
:func:`gradient_flow_dmft_adaptive` keeps ``n_window + 1`` grid points and, whenever the grid is
full, drops every second point and doubles the step (Kim & Latz 2001), so that memory is
bounded ($3(n_w+1)^2$ doubles) and the work grows only like
$n_w^3\log(t_{\max}/\Delta t_0)$.

Time units: one unit of $t$ is one unit of the Langevin time above; energies are per spin.

References: L. F. Cugliandolo and J. Kurchan, Phys. Rev. Lett. 71, 173 (1993);
A. Crisanti and H.-J. Sommers, Z. Phys. B 87, 341 (1992); A. Crisanti, H. Horner and
H.-J. Sommers, Z. Phys. B 92, 257 (1993); B. Kim and A. Latz, Europhys. Lett. 53, 660 (2001);
T. Castellani and A. Cavagna, J. Stat. Mech. P05012 (2005).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..core import (ConvergenceError, ReadOnlyArrays, check_array, check_budget, check_int,
                    check_real, check_seeds, mean_sem)
from ..core.validation import MAX_DOUBLES

__all__ = ["xi", "xi_prime", "xi_second", "threshold_energy", "dynamical_temperature",
           "ground_state_energy", "paramagnetic_energy", "aging_state", "spherical_sk_exact",
           "CKResult", "AdaptiveCKResult", "gradient_flow_dmft", "gradient_flow_dmft_adaptive",
           "PSpinSimulation", "simulate", "aging_curves", "plot_aging"]


# ----------------------------------------------------------------------------------------------
# The covariance kernel
# ----------------------------------------------------------------------------------------------
def _check_p(p, low=2):
    return check_int("p", p, low=low, high=12)


def _q(q):
    return check_array("q", q, low=-1.0, high=1.0)


def xi(q, p: int):
    r"""Covariance kernel of the pure p-spin, $\xi(q) = q^p/2$.

    ``E[H(s) H(s')] = N xi(s.s'/N)``; ``q`` is a scalar or an array with entries in [-1, 1].

    >>> float(xi(0.5, 3))
    0.0625
    """
    p = _check_p(p)
    return 0.5 * _q(q) ** p


def xi_prime(q, p: int):
    r"""First derivative $\xi'(q) = p\,q^{p-1}/2$.

    >>> float(xi_prime(1.0, 3))
    1.5
    """
    p = _check_p(p)
    return 0.5 * p * _q(q) ** (p - 1)


def xi_second(q, p: int):
    r"""Second derivative $\xi''(q) = p(p-1)\,q^{p-2}/2$.

    >>> float(xi_second(1.0, 3))
    3.0
    """
    p = _check_p(p)
    return 0.5 * p * (p - 1) * _q(q) ** (p - 2)


# ----------------------------------------------------------------------------------------------
# Closed forms
# ----------------------------------------------------------------------------------------------
def threshold_energy(p: int) -> float:
    r"""Threshold energy per spin at $T=0$, $e_{\rm th} = -2\sqrt{\xi''(1)}/p = -\sqrt{2(p-1)/p}$.

    The energy at which the Hessian on the sphere, a GOE matrix of semicircle radius
    $2\sqrt{\xi''(1)}$ shifted by $\mu = -p\,e$, becomes marginal; gradient flow from a
    random start approaches it (Cugliandolo & Kurchan 1993). For ``p = 2`` it is the ground state -1.

    >>> round(threshold_energy(3), 6)
    -1.154701
    """
    p = _check_p(p)
    return -float(np.sqrt(2.0 * (p - 1) / p))


def dynamical_temperature(p: int):
    r"""Dynamical transition $T_d$ and the plateau $q_d$ at $T_d$ (``p >= 3``).

    Below $T_d$ the equilibrium (FDT, time-translation invariant) CK equations have a
    non-decaying solution: its plateau $q$ solves $T^2 q = \xi'(q)(1-q)$, i.e.
    $T^2 = \tfrac p2 q^{p-2}(1-q)$, whose largest $T$ is at $q_d=(p-2)/(p-1)$:

    .. math:: T_d = \sqrt{\frac{p\,(p-2)^{p-2}}{2\,(p-1)^{p-1}}}.

    >>> Td, qd = dynamical_temperature(3); round(Td, 6), qd
    (0.612372, 0.5)
    """
    p = _check_p(p, low=3)
    Td = float(np.sqrt(p * (p - 2.0) ** (p - 2) / (2.0 * (p - 1.0) ** (p - 1))))
    return Td, (p - 2.0) / (p - 1.0)


def aging_state(p: int, T: float):
    r"""The Cugliandolo-Kurchan long-time (aging) solution below $T_d$ (``p >= 3``, ``0 < T < T_d``).

    Returns ``(q, x, e)``: the Edwards-Anderson plateau $q$ (largest root of the marginality
    condition $\beta^2\xi''(q)(1-q)^2 = 1$), the fluctuation-dissipation ratio
    $x = (p-2)(1-q)/q$ of the aging regime, and the asymptotic energy

    .. math:: e_\infty(T) = -\beta\,[\xi(1) - (1-x)\,\xi(q)] = -\frac{1}{2T}\,[1 - (1-x)\,q^p],

    which tends to :func:`threshold_energy` as $T\to0$ (Cugliandolo & Kurchan 1993).

    >>> q, x, e = aging_state(3, 0.5); round(q, 4), round(x, 4), round(e, 4)
    (0.6388, 0.5654, -0.8867)
    """
    p = _check_p(p, low=3)
    Td, qd = dynamical_temperature(p)
    T = check_real("T", T, low=0.0, high=Td, low_open=True, high_open=True)
    from scipy.optimize import brentq
    f = lambda q: 0.5 * p * (p - 1) * q ** (p - 2) * (1 - q) ** 2 - T * T  # noqa: E731
    q_top = (p - 2.0) / p  # maximum of q^{p-2}(1-q)^2
    q = brentq(f, q_top, 1.0, xtol=1e-15)
    x = (p - 2) * (1 - q) / q
    e = -(1.0 - (1 - x) * q ** p) / (2 * T)
    return float(q), float(x), float(e)


def paramagnetic_energy(T: float) -> float:
    r"""Equilibrium energy per spin of the paramagnet, $e = -\xi(1)/T = -1/(2T)$ ($T > T_d$).

    >>> paramagnetic_energy(1.0)
    -0.5
    """
    T = check_real("T", T, low=0.0, low_open=True)
    return -0.5 / T


def ground_state_energy(p: int) -> float:
    r"""Ground-state energy per spin of the pure spherical p-spin (``p >= 3``), from the zero-temperature
    one-step replica-symmetry-breaking solution (Crisanti & Sommers 1992).

    With $\chi = \beta(1-q)$ and $y = \beta m$ finite as $T\to 0$,
    $e_0 = -\tfrac12\big[\xi'(1)\chi + y\,\xi(1) + y^{-1}\ln(1+y/\chi)\big]$ at the
    stationary point in $(\chi, y)$.

    >>> round(ground_state_energy(3), 4)
    -1.1717
    """
    p = _check_p(p, low=3)
    from scipy.optimize import brentq
    x1, x0 = 0.5 * p, 0.5

    # stationarity in chi: xi'(1) = 1/(chi (chi + y))  ->  chi(y) = (-y + sqrt(y^2 + 4/xi'(1)))/2
    def chi_of(y):
        return 0.5 * (-y + np.sqrt(y * y + 4.0 / x1))

    def dy(y):  # derivative of the functional in y at chi(y)
        c = chi_of(y)
        return x0 - np.log1p(y / c) / y ** 2 + 1.0 / (y * (c + y))

    y = brentq(dy, 1e-3, 1e3, xtol=1e-14)
    c = chi_of(y)
    return -0.5 * float(x1 * c + y * x0 + np.log1p(y / c) / y)


def _log_Z(t):
    """log of Z(t) = int rho_sc(l) e^{l t} dl = I_1(2t)/t (semicircle on [-2, 2]), Z(0) = 1."""
    from scipy.special import ive
    t = np.asarray(t, dtype=np.float64)
    safe = np.where(t > 0, t, 1.0)
    return np.where(t > 0, np.log(ive(1, 2 * safe)) + 2 * safe - np.log(safe), 0.0)


def spherical_sk_exact(t):
    r"""Closed-form gradient flow ($T=0$) of the spherical SK model (``p = 2``).

    For $\xi = q^2/2$, $H = -\tfrac12 s^\top J s$ with $J$ a GOE matrix (semicircle
    on [-2, 2]), and $s(t)\propto e^{Jt}s(0)$. With $Z(t) = \int\rho(\lambda)e^{\lambda t}d\lambda
    = I_1(2t)/t$:

    .. math::

        &C(t,t') = \frac{Z(t+t')}{\sqrt{Z(2t)Z(2t')}},\quad R(t,t') = Z(t-t')\sqrt{\frac{Z(2t')}{Z(2t)}},\\
        &e(t) = -\frac{Z'(2t)}{2Z(2t)},\quad \mu(t) = -2e(t).

    Returns ``(C, R, e, mu)`` on the grid ``t`` (``R[i, j] = 0`` for ``j > i``, ``R[i, i] = 1``).

    >>> C, R, e, mu = spherical_sk_exact([0.0, 1.0, 2.0]); round(float(e[-1]), 4)
    -0.8192
    """
    from scipy.special import ive
    t = check_array("t", t, ndim=1, low=0.0, increasing=True)
    if t.size < 1:
        raise ValueError("t must hold at least one time")
    t1, t2 = np.meshgrid(t, t, indexing="ij")
    lz2 = _log_Z(2 * t)
    C = np.exp(_log_Z(t1 + t2) - 0.5 * lz2[:, None] - 0.5 * lz2[None, :])
    R = np.where(t1 >= t2, np.exp(_log_Z(np.abs(t1 - t2)) + 0.5 * lz2[None, :] - 0.5 * lz2[:, None]), 0.0)
    # Z'(u)/Z(u) = I_1'(2u)*2/I_1(2u) - 1/u = (I_0(2u) + I_2(2u))/I_1(2u) - 1/u ; at u = 0 it is 0
    u = 2 * t
    su = np.where(u > 0, u, 1.0)
    ratio = np.where(u > 0, (ive(0, 2 * su) + ive(2, 2 * su)) / ive(1, 2 * su) - 1.0 / su, 0.0)
    e = -0.5 * ratio
    return C, R, e, -2.0 * e


# ----------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CKResult(ReadOnlyArrays):
    """Solution of the CK equations on a fixed grid.

    Attributes
    ----------
    t : (n+1,) array
        The grid ``k * dt``.
    energy, mu : (n+1,) arrays
        Energy per spin $e(t)$ and Lagrange multiplier $\\mu(t)$.
    C, R, chi : (n+1, n+1) arrays
        ``C[i, j] = C(t_i, t_j)`` (symmetric, ``C[i, i] = 1``); ``R[i, j] = R(t_i, t_j)`` for
        ``i > j``, ``R[i, i] = 1`` (the limit $R(t^+, t)$), 0 above the diagonal;
        ``chi[i, j] = \\int_{t_j}^{t_i} R(t_i, s) ds`` for ``i >= j`` (0 above).
    p, T, dt : parameters.
    n_iter : (n,) int array
        Iterations of the implicit step at each step; ``converged`` is True if all met ``tol``.
    """

    t: np.ndarray
    energy: np.ndarray
    mu: np.ndarray
    C: np.ndarray
    R: np.ndarray
    chi: np.ndarray
    p: int
    T: float
    dt: float
    n_iter: np.ndarray
    converged: bool


@dataclass(frozen=True)
class AdaptiveCKResult(ReadOnlyArrays):
    """Solution of the CK equations on the Kim-Latz grid (step doubled, history halved).

    Attributes
    ----------
    t_steps, energy, mu : 1-D arrays
        Every time reached by a step, with $e(t)$ and $\\mu(t)$ there.
    t : (n_stored,) array
        The grid kept at the end (uniform, step ``dt_final``).
    C, R, chi : (n_stored, n_stored) arrays
        Two-time functions on ``t`` (conventions of :class:`CKResult`). ``R`` on a coarse grid
        samples the response at the grid points only: use ``chi`` for integrated responses.
    n_stored : int
        Points stored (``n_window + 1`` at most): the memory is ``3 * n_window_max**2`` doubles.
    n_halvings : int
        How many times the history was halved (``dt_final = dt0 * 2**n_halvings``).
    p, T, dt0, dt_final : parameters; ``n_iter``, ``converged`` as in :class:`CKResult`.
    """

    t_steps: np.ndarray
    energy: np.ndarray
    mu: np.ndarray
    t: np.ndarray
    C: np.ndarray
    R: np.ndarray
    chi: np.ndarray
    n_stored: int
    n_halvings: int
    p: int
    T: float
    dt0: float
    dt_final: float
    n_iter: np.ndarray
    converged: bool


# ----------------------------------------------------------------------------------------------
# The solver
# ----------------------------------------------------------------------------------------------
def _row_derivative(p, T, C, X, R, r, need_R=False):
    """Right-hand sides of row ``r`` (rows 0..r of C, X, R filled) for columns 0..r.

    Returns dC, dX, (dR), mu, e, kappa, where kappa is the coefficient with which row r's own
    values enter the memory sums (it is treated implicitly with mu).
    """
    crow = C[r, :r + 1]
    xrow = X[r, :r + 1]
    a = 0.5 * p * crow ** (p - 1)
    g = 0.5 * p * (p - 1) * crow ** (p - 2)
    f = a + g * crow
    dX = xrow[:-1] - xrow[1:]                                  # int_{t_k}^{t_k+1} R(t_r, s) ds
    mu = T + dX @ (0.5 * (f[:-1] + f[1:]))
    e = -(dX @ (0.5 * (a[:-1] + a[1:])))
    cB = np.zeros(r + 1)                                       # Stieltjes weights on the grid points
    cB[:-1] += 0.5 * dX
    cB[1:] += 0.5 * dX
    cB *= g
    Cm = C[:r + 1, :r + 1]
    Xm = X[:r + 1, :r + 1]
    B = cB @ Cm                                                # int_0^t xi''(C) R(t,s) C(s,t') ds
    XM = cB @ Xm                                               # int_t'^t xi''(C) R(t,s) chi(s,t') ds
    if r > 0:
        d = np.empty(r)
        d[0] = 0.5 * (a[0] + a[1])
        d[1:] = 0.5 * (a[2:r + 1] - a[0:r - 1])
        A = Xm[:, :r] @ d                                      # int_0^t' xi'(C(t,s)) R(t',s) ds
    else:
        A = np.zeros(1)
    dC = -mu * crow + A + B
    dXr = 1.0 - mu * xrow + XM
    out = [dC, dXr]
    if need_R:
        RM = cB @ R[:r + 1, :r + 1]
        RM[1:] -= 0.5 * g[1:] * dX * np.diagonal(R)[1:r + 1]   # drop the interval below t'
        out.append(-mu * R[r, :r + 1] + RM)
    kappa = cB[-1]
    return (*out, mu, e, kappa)


def _ck_solve(p, T, t_max, dt0, n_window, halve, tol, maxit, n_anderson=6):
    M = n_window
    C = np.zeros((M + 1, M + 1))
    X = np.zeros((M + 1, M + 1))
    R = np.zeros((M + 1, M + 1))
    C[0, 0] = R[0, 0] = 1.0
    h, n, t_now, halvings = dt0, 0, 0.0, 0
    ts, es, mus, iters = [0.0], [0.0], [T], []
    converged = True
    dC0, dX0, dR0, mu0, e0, k0 = _row_derivative(p, T, C, X, R, 0, need_R=True)
    while t_now < t_max - 1e-9 * h:
        if n == M:
            if not halve:
                break
            keep = M // 2 + 1
            for A_ in (C, X, R):
                A_[:keep, :keep] = A_[::2, ::2].copy()
                A_[keep:, :] = 0.0
                A_[:, keep:] = 0.0
            n, h, halvings = M // 2, 2 * h, halvings + 1
            dC0, dX0, dR0, mu0, e0, k0 = _row_derivative(p, T, C, X, R, n, need_R=True)
        m1 = n + 1
        c_old, x_old, r_old = C[n, :m1].copy(), X[n, :m1].copy(), R[n, :m1].copy()
        z = np.concatenate([c_old + h * dC0, x_old + h * dX0])
        C[m1, m1] = R[m1, m1] = 1.0
        X[m1, m1] = 0.0
        Gs, Fs = [], []
        err = np.inf
        for it in range(maxit):
            C[m1, :m1] = z[:m1]
            C[:m1, m1] = z[:m1]
            X[m1, :m1] = z[m1:]
            dC1, dX1, mu1, e1, k1 = _row_derivative(p, T, C, X, R, m1)
            den = 1.0 + 0.5 * h * (mu1 - k1)
            cn = (c_old + 0.5 * h * dC0 + 0.5 * h * (dC1[:m1] + (mu1 - k1) * z[:m1])) / den
            xn = (x_old + 0.5 * h * dX0 + 0.5 * h * (dX1[:m1] + (mu1 - k1) * z[m1:])) / den
            gz = np.concatenate([cn, xn])
            fz = gz - z
            err = float(np.max(np.abs(fz)))
            if not np.isfinite(err):
                raise ConvergenceError(f"the CK step diverged at t = {t_now:.4g} (dt = {h:.3g})", residuals=[err])
            if err < tol:
                z = gz
                break
            Gs.append(gz)
            Fs.append(fz)
            if len(Fs) > 1:  # Anderson acceleration of the fixed-point map
                dF = np.stack([Fs[k + 1] - Fs[k] for k in range(len(Fs) - 1)], axis=1)
                dG = np.stack([Gs[k + 1] - Gs[k] for k in range(len(Gs) - 1)], axis=1)
                gam = np.linalg.lstsq(dF, fz, rcond=None)[0]
                z = gz - dG @ gam
                if len(Fs) > n_anderson:
                    Gs.pop(0)
                    Fs.pop(0)
            else:
                z = gz
        else:
            converged = False
        iters.append(it + 1)
        C[m1, :m1] = z[:m1]
        C[:m1, m1] = z[:m1]
        X[m1, :m1] = z[m1:]
        C[m1, :m1 + 1] = np.clip(C[m1, :m1 + 1], -1.0, 1.0)
        C[:m1 + 1, m1] = C[m1, :m1 + 1]
        # the response row (an output: it does not feed back), implicit in its own diagonal term
        R[m1, :m1] = 0.0
        dC1, dX1, dR1, mu1, e1, k1 = _row_derivative(p, T, C, X, R, m1, need_R=True)
        den = 1.0 + 0.5 * h * (mu1 - k1)
        R[m1, :m1] = (r_old + 0.5 * h * dR0 + 0.5 * h * dR1[:m1]) / den
        dC0, dX0, dR0, mu0, e0, k0 = _row_derivative(p, T, C, X, R, m1, need_R=True)
        n, t_now = m1, t_now + h
        if not (np.isfinite(e0) and np.all(np.isfinite(R[m1, :m1 + 1]))):
            raise ConvergenceError(f"the CK solution diverged at t = {t_now:.4g} (dt = {h:.3g})")
        ts.append(t_now)
        es.append(e0)
        mus.append(mu0)
    grid = np.arange(n + 1) * h
    return dict(t_steps=np.array(ts), energy=np.array(es), mu=np.array(mus), t=grid,
                C=C[:n + 1, :n + 1].copy(), R=R[:n + 1, :n + 1].copy(), chi=X[:n + 1, :n + 1].copy(),
                n_iter=np.array(iters, dtype=int), converged=converged, h=h, halvings=halvings)



def _check_T(T):
    return check_real("T", T, low=0.0, high=100.0)


def gradient_flow_dmft(p: int, t_max: float, dt: float, T: float = 0.0, tol: float = 1e-10,
                       maxit: int = 200) -> CKResult:
    r"""Solve the CK equations (module docstring) on the fixed grid ``t_k = k dt``, ``k <= t_max/dt``.

    Langevin dynamics at temperature ``T`` (gradient flow for ``T = 0``) of the spherical p-spin
    with $\xi(q) = q^p/2$, from a uniformly random start ($C(t,t)=1$, $C(t,0)\to0$).
    Memory: three $(n+1)^2$ arrays for $n = t_{\max}/dt$ steps; work $O(n^3)$
    (2000 steps take a few seconds). The scheme (implicit trapezoid on $C$ and
    $\chi$, Stieltjes sums for the memory) is second order in ``dt``.

    Parameters
    ----------
    p : int in [2, 12]
    t_max : float > 0
    dt : float in (0, 1]
    T : float in [0, 100]
    tol, maxit : tolerance (max-norm) and iteration cap of each implicit step.

    Returns
    -------
    CKResult with fields ``t``, ``energy``, ``C``, ``R``, ``mu`` (and ``chi``, diagnostics).

    Examples
    --------
    >>> r = gradient_flow_dmft(3, t_max=2.0, dt=0.05)
    >>> round(float(r.energy[-1]), 3), round(float(r.mu[-1] + 3 * r.energy[-1]), 9)
    (-0.926, 0.0)
    """
    p = _check_p(p)
    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    dt = check_real("dt", dt, low=0.0, high=1.0, low_open=True)
    T = _check_T(T)
    tol = check_real("tol", tol, low=1e-15, high=1e-3)
    maxit = check_int("maxit", maxit, low=1, high=10_000)
    n = int(round(t_max / dt))
    if n < 1:
        raise ValueError(f"t_max / dt must be at least 1; got t_max = {t_max}, dt = {dt}")
    check_budget("doubles (three (n+1) x (n+1) arrays)", 3.0 * (n + 1) ** 2, MAX_DOUBLES // 4)
    check_budget("lower-triangle cells x steps", float(n) ** 3 / 6.0)
    out = _ck_solve(p, T, n * dt, dt, n, False, tol, maxit)
    return CKResult(t=out["t"], energy=out["energy"], mu=out["mu"], C=out["C"], R=out["R"],
                    chi=out["chi"], p=p, T=T, dt=dt, n_iter=out["n_iter"], converged=out["converged"])


def gradient_flow_dmft_adaptive(p: int, t_max: float, T: float = 0.0, n_window: int = 256,
                                dt0: float = 0.025, tol: float = 1e-10, maxit: int = 200) -> AdaptiveCKResult:
    r"""Solve the CK equations on the Kim-Latz grid: ``n_window + 1`` stored points, step doubled
    (and every second point dropped) whenever the grid is full (Kim & Latz 2001).

    Memory is bounded: three $(n_w+1)^2$ arrays whatever ``t_max``. The step reached is
    about $2t_{\max}/n_w$; the scheme stays accurate while the slowly varying factors
    ($C$, at $T=0$ on the aging scale $t$) are resolved, so it is meant for
    gradient flow (``T = 0``) and for $T>0$ only while ``dt`` is below the fast
    (equilibrium) relaxation time. Accuracy is checked against :func:`gradient_flow_dmft` on
    the overlapping times (``tests/test_pspin_aging.py``).

    Parameters
    ----------
    p : int in [2, 12]
    t_max : float in (0, 1e6]
    T : float in [0, 100]
    n_window : even int in [16, 4096]
    dt0 : first step, in (0, 1]
    tol, maxit : as in :func:`gradient_flow_dmft`.

    Examples
    --------
    >>> r = gradient_flow_dmft_adaptive(3, t_max=20.0, n_window=32, dt0=0.05)
    >>> r.n_stored <= 33, r.n_halvings, round(float(r.energy[-1]), 2)
    (True, 4, -1.11)
    """
    p = _check_p(p)
    t_max = check_real("t_max", t_max, low=0.0, high=1e6, low_open=True)
    T = _check_T(T)
    n_window = check_int("n_window", n_window, low=16, high=4096)
    if n_window % 2:
        raise ValueError(f"n_window must be an even integer in [16, 4096]; got {n_window}")
    dt0 = check_real("dt0", dt0, low=0.0, high=1.0, low_open=True)
    tol = check_real("tol", tol, low=1e-15, high=1e-3)
    maxit = check_int("maxit", maxit, low=1, high=10_000)
    levels = max(1.0, np.log2(max(t_max / (dt0 * n_window), 1.0)) + 1)
    check_budget("grid cells x steps", levels * float(n_window) ** 3)
    out = _ck_solve(p, T, t_max, dt0, n_window, True, tol, maxit)
    return AdaptiveCKResult(t_steps=out["t_steps"], energy=out["energy"], mu=out["mu"], t=out["t"],
                            C=out["C"], R=out["R"], chi=out["chi"], n_stored=int(out["t"].size),
                            n_halvings=int(out["halvings"]), p=p, T=T, dt0=dt0, dt_final=float(out["h"]),
                            n_iter=out["n_iter"], converged=out["converged"])


# ----------------------------------------------------------------------------------------------
# Finite-N simulation
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PSpinSimulation(ReadOnlyArrays):
    """Finite-N Langevin / gradient-flow runs of the spherical p-spin, means and sems over seeds.

    Attributes
    ----------
    t : (n_t,) array
        Recorded times.
    energy, energy_sem : (n_t,) arrays
        $e(t) = H/N$, mean and standard error over seeds.
    mu, mu_sem : (n_t,) arrays
        $\\mu(t) = T - p\\,e(t)$ in the $dt\\to0$ limit; measured as ``-s.grad H/N + T``.
    t_w : (n_w,) array
        Waiting times (grid times) at which $C(t, t_w)$ is recorded.
    C, C_sem : (n_w, n_t) arrays
        $C(t, t_w) = s(t)\\cdot s(t_w)/N$ for ``t >= t_w`` (NaN-free: 0 before ``t_w``).
    chi, chi_sem : (n_t,) arrays
        Integrated response $\\chi(t, t_r) = \\int_{t_r}^t R(t,s)ds$ to a field switched on at
        ``t_response`` (zeros if none was asked).
    energies : (n_seeds, n_t) array
        Per-seed energies (for error analyses).
    N, p, T, dt, n_seeds, t_response : parameters.
    """

    t: np.ndarray
    energy: np.ndarray
    energy_sem: np.ndarray
    mu: np.ndarray
    mu_sem: np.ndarray
    t_w: np.ndarray
    C: np.ndarray
    C_sem: np.ndarray
    chi: np.ndarray
    chi_sem: np.ndarray
    energies: np.ndarray
    N: int
    p: int
    T: float
    dt: float
    n_seeds: int
    t_response: float


def _coupling_tensor(rng, N, p):
    """Symmetric S with H(s) = -(1/p!) S[s, ..., s], built from i.i.d. W ~ N(0, 1/(2 N^{p-1})):
    H = -sum W_{i1..ip} s_i1 ... s_ip, whose covariance is exactly N (s.s'/N)^p / 2. Returned as
    an (N, N^{p-1}) matrix so that grad H = -S @ (s x ... x s) / (p-1)!."""
    W = rng.standard_normal((N,) * p) * np.sqrt(0.5 / N ** (p - 1))
    if p == 2:
        S = W + W.T
    else:  # p == 3: the six permutations
        S = W + W.transpose(0, 2, 1) + W.transpose(1, 0, 2) + W.transpose(1, 2, 0) \
            + W.transpose(2, 0, 1) + W.transpose(2, 1, 0)
    return S.reshape(N, -1)


def _grad_H(S, s, p):
    """Batched gradient -(1/(p-1)!) S[., s, .., s] for S (B, N, N^{p-1}) and s (B, N)."""
    if p == 2:
        v = s
    else:
        v = (s[:, :, None] * s[:, None, :]).reshape(s.shape[0], -1)
    return -(S @ v[:, :, None])[:, :, 0] / (1.0 if p == 2 else 2.0)


def simulate(N: int, p: int, t_max: float, dt: float, T: float = 0.0, seeds=8, t_w=(),
             t_response=None, epsilon: float = 1e-6, record_every: int = 1,
             chunk_doubles: int = 2 ** 25) -> PSpinSimulation:
    r"""Simulate the N-spin spherical p-spin (``p`` = 2 or 3, couplings stored densely).

    $H(s) = -\sum W_{i_1\dots i_p}s_{i_1}\cdots s_{i_p}$ with i.i.d.
    $W\sim\mathcal N(0, 1/(2N^{p-1}))$: a Gaussian field with exactly the covariance
    $N\xi(q)$ (it differs from the $i<j<k$ form only by the $O(1/N)$ terms of
    repeated indices). Euler-Maruyama on the sphere: the force $-\nabla H$ projected on the
    tangent plane, plus noise $\sqrt{2T\,dt}\,z$, then renormalization to $|s|^2=N$
    (which realizes $\mu(t)$). Start: uniform on the sphere. Seeds are batched (couplings
    of all seeds of a chunk of at most ``chunk_doubles`` doubles are held at once).

    The integrated response $\chi(t, t_r)$ is measured, at $T>0$, without any field by
    the noise (Novikov) estimator $\chi = s(t)\cdot\sum_{t_r\le t_k<t}\sqrt{2T\,dt}\,z_k/(2TN)$,
    unbiased at any N; at $T=0$, on a copy of each system driven for $t > t_r$ by a field
    $\epsilon\,\sigma$ (random signs $\sigma_i$): $\chi = \sigma\cdot(s^\epsilon - s)/(N\epsilon)$.
    The copy leaves the linear regime once the unstable directions of the Hessian have amplified the
    perturbation, so keep $\epsilon$ small (default 1e-6) and read it at moderate $t - t_r$.

    Examples
    --------
    >>> sim = simulate(32, 3, t_max=1.0, dt=0.05, seeds=3, t_w=[0.5])
    >>> sim.energy.shape, round(float(sim.C[0, -1]), 1)
    ((21,), 1.0)
    """
    N = check_int("N", N, low=2, high=4096)
    p = check_int("p", p, low=2, high=3)
    t_max = check_real("t_max", t_max, low=0.0, high=1e5, low_open=True)
    dt = check_real("dt", dt, low=0.0, high=0.5, low_open=True)
    T = _check_T(T)
    seeds = check_seeds("seeds", seeds, max_seeds=10_000)
    if len(seeds) < 2:
        raise ValueError("seeds must hold at least 2 seeds (standard errors); got 1")
    epsilon = check_real("epsilon", epsilon, low=1e-8, high=1.0)
    record_every = check_int("record_every", record_every, low=1, high=10**6)
    chunk_doubles = check_int("chunk_doubles", chunk_doubles, low=1, high=MAX_DOUBLES)
    n_steps = int(round(t_max / dt))
    if n_steps < 1:
        raise ValueError(f"t_max / dt must be at least 1; got t_max = {t_max}, dt = {dt}")
    t_w = check_array("t_w", np.atleast_1d(np.asarray(t_w, dtype=np.float64)) if np.size(t_w) else
                      np.zeros(0), ndim=1, low=0.0, high=t_max, increasing=True)
    iw = np.rint(t_w / dt).astype(int)
    ir = None
    if t_response is not None:
        t_response = check_real("t_response", t_response, low=0.0, high=t_max)
        ir = int(round(t_response / dt))
    per_seed = float(N) ** p
    check_budget("doubles of couplings for one seed", per_seed, MAX_DOUBLES)
    check_budget("steps x couplings x seeds", n_steps * per_seed * len(seeds) * (2 if ir is not None else 1) / 50)
    rec = np.arange(0, n_steps + 1, record_every)
    if rec[-1] != n_steps:
        rec = np.append(rec, n_steps)
    is_rec = np.zeros(n_steps + 1, dtype=bool)
    is_rec[rec] = True
    n_t = rec.size
    S_all = len(seeds)
    E = np.zeros((S_all, n_t))
    MU = np.zeros((S_all, n_t))
    Cw = np.zeros((S_all, iw.size, n_t))
    CH = np.zeros((S_all, n_t))
    chunk = max(1, int(chunk_doubles // per_seed))
    for c0 in range(0, S_all, chunk):
        cs = seeds[c0:c0 + chunk]
        B = len(cs)
        rngs = [np.random.default_rng([int(sd), 5501]) for sd in cs]
        S = np.stack([_coupling_tensor(r, N, p) for r in rngs])
        s = np.stack([r.standard_normal(N) for r in rngs])
        s *= np.sqrt(N) / np.linalg.norm(s, axis=1, keepdims=True)
        sigma = np.stack([r.choice([-1.0, 1.0], size=N) for r in rngs])
        sw = np.zeros((B, iw.size, N))
        sp = None
        k_rec = 0
        for k in range(n_steps + 1):
            grad = _grad_H(S, s, p)
            for m in np.nonzero(iw == k)[0]:
                sw[:, m] = s
            if ir is not None and k == ir:
                sp = s.copy() if T == 0 else np.zeros_like(s)   # T > 0: sp accumulates the noise
            if is_rec[k]:
                sdg = np.einsum("bi,bi->b", s, grad) / N
                E[c0:c0 + B, k_rec] = sdg / p          # H = s.grad H / p (homogeneity)
                MU[c0:c0 + B, k_rec] = T - sdg
                Cw[c0:c0 + B, :, k_rec] = np.einsum("bmi,bi->bm", sw, s) / N * (iw <= k)[None, :]
                if sp is not None and T == 0:
                    CH[c0:c0 + B, k_rec] = np.einsum("bi,bi->b", sigma, sp - s) / (N * epsilon)
                elif sp is not None:
                    CH[c0:c0 + B, k_rec] = np.einsum("bi,bi->b", s, sp) / (2 * T * N)
                k_rec += 1
            if k == n_steps:
                break
            noise = np.sqrt(2.0 * T * dt) * np.stack([r.standard_normal(N) for r in rngs]) if T > 0 else 0.0
            force = -grad
            force -= (np.einsum("bi,bi->b", force, s) / N)[:, None] * s
            s = s + dt * force + noise
            s *= np.sqrt(N) / np.linalg.norm(s, axis=1, keepdims=True)
            if sp is not None and T > 0:
                sp = sp + noise
            elif sp is not None:
                fp = -_grad_H(S, sp, p) + epsilon * sigma
                fp -= (np.einsum("bi,bi->b", fp, sp) / N)[:, None] * sp
                sp = sp + dt * fp + noise
                sp *= np.sqrt(N) / np.linalg.norm(sp, axis=1, keepdims=True)
            if not np.all(np.isfinite(s)):
                raise FloatingPointError(f"the simulation diverged at step {k}; reduce dt")
        del S
    e_m, e_s = mean_sem(E)
    mu_m, mu_s = mean_sem(MU)
    C_m, C_s = mean_sem(Cw) if iw.size else (np.zeros((0, n_t)), np.zeros((0, n_t)))
    ch_m, ch_s = mean_sem(CH)
    return PSpinSimulation(t=rec * dt, energy=e_m, energy_sem=e_s, mu=mu_m, mu_sem=mu_s, t_w=iw * dt,
                           C=C_m, C_sem=C_s, chi=ch_m, chi_sem=ch_s, energies=E, N=N, p=p, T=T, dt=dt,
                           n_seeds=S_all, t_response=float(ir * dt) if ir is not None else -1.0)


# ----------------------------------------------------------------------------------------------
# Aging curves and plots
# ----------------------------------------------------------------------------------------------
def aging_curves(result, t_w):
    r"""Cut a CK solution along $t = t_w + \tau$: returns ``(tau, C, chi)`` lists, one array per
    waiting time, with $C(t_w+\tau, t_w)$ and $\chi(t_w+\tau, t_w)$ on the grid of ``result``
    (a :class:`CKResult` or :class:`AdaptiveCKResult`); ``t_w`` is rounded to the nearest grid time.

    >>> r = gradient_flow_dmft(3, t_max=2.0, dt=0.1)
    >>> tau, C, chi = aging_curves(r, [1.0]); round(float(C[0][-1]), 3)
    0.935
    """
    if not isinstance(result, (CKResult, AdaptiveCKResult)):
        raise TypeError(f"result must be a CKResult or AdaptiveCKResult; got {type(result).__name__}")
    t = np.asarray(result.t)
    t_w = check_array("t_w", np.atleast_1d(t_w), ndim=1, low=0.0, high=float(t[-1]))
    taus, Cs, chis = [], [], []
    for tw in t_w:
        j = int(np.argmin(np.abs(t - tw)))
        taus.append(t[j:] - t[j])
        Cs.append(np.asarray(result.C)[j:, j])
        chis.append(np.asarray(result.chi)[j:, j])
    return taus, Cs, chis


def plot_aging(T: float = 0.0, t_max: float = 40.0, p: int = 3, t_w=(2.0, 5.0, 10.0, 20.0), dt: float = 0.1,
               ax=None):
    r"""Aging: $C(t_w+\tau, t_w)$ against $\tau$ (log axis) for several $t_w$, from
    :func:`gradient_flow_dmft` at temperature ``T``. Above $T_d$ the curves collapse
    (equilibrium, time-translation invariance); below, they slow down with the age $t_w$.
    Returns the axes.
    """
    from ..plotting import new_figure, plot_theory
    T = _check_T(T)
    t_max = check_real("t_max", t_max, low=1.0, high=200.0)
    t_w = check_array("t_w", np.atleast_1d(t_w), ndim=1, low=0.0, high=t_max, increasing=True)
    r = gradient_flow_dmft(p, t_max, dt, T=T)
    if ax is None:
        _, ax = new_figure()
    taus, Cs, _ = aging_curves(r, t_w)
    for tw, tau, C in zip(t_w, taus, Cs):
        plot_theory(ax, tau[1:], C[1:], label=f"$t_w$ = {tw:g}")
    ax.set_xscale("log")
    ax.set_xlabel(r"$\tau = t - t_w$")
    ax.set_ylabel(r"$C(t_w+\tau,\, t_w)$")
    Td = dynamical_temperature(p)[0] if p >= 3 else 1.0
    ax.set_title(f"p = {p}, T = {T:g} ({'above' if T > Td else 'below'} $T_d$ = {Td:.3f})")
    ax.set_ylim(0, 1.02)
    ax.legend()
    return ax
