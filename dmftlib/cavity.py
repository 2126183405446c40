r"""The cavity method for randomly coupled units: N coupled units -> one unit in a Gaussian field.

The model (time in units of the leak time constant) is

.. math::

    \frac{dx_i}{dt} = -x_i + \sum_{j=1}^N J_{ij}\,\phi(x_j) + h_i(t), \qquad
    \mathbb E[J_{ij}] = 0,\quad \mathbb E[J_{ij}^2] = g^2/N,

with initial conditions $x_i(0)\sim\mathcal N(0, C_0)$ independent of $J$, and
either i.i.d. couplings (``symmetric=False``) or symmetric couplings $J_{ij}=J_{ji}$
(``symmetric=True``, a GOE matrix whose diagonal has variance $2g^2/N$).
The order parameters are

.. math::

    C(t,t') = \frac1N\sum_i \langle x_i(t)x_i(t')\rangle,\qquad
    R(t,t') = \frac1N\sum_i \frac{\partial\langle x_i(t)\rangle}{\partial h_i(t')},

and as $N\to\infty$ each unit obeys the single-site process (the cavity result)

.. math::

    &\frac{dx}{dt} = -x + \eta(t) + \kappa\, g^2\!\int_0^t R_\phi(t,s)\,\phi(x(s))\,ds + h(t),\\
    &\langle\eta(t)\eta(t')\rangle = g^2 C_\phi(t,t'),

with $\kappa = 1$ for symmetric and $\kappa = 0$ for i.i.d. couplings.

What is solved here (:func:`theory`):

* ``phi="linear"`` (both coupling types): the equations close exactly on $(C, R)$:

  .. math::

      \partial_t R(t,t') = -R(t,t') + \kappa g^2\!\int_{t'}^{t} R(t,s)R(s,t')\,ds,\quad R(t'^+,t') = 1,

      C(t,t') = C_0 R(t,0)R(t',0) + g^2\!\int_0^t\!\!\int_0^{t'} R(t,s)\,C(s,s')\,R(t',s')\,ds\,ds'.

* ``phi="tanh"`` with i.i.d. couplings: $R(t,t') = e^{-(t-t')}$ and $x$ is a Gaussian
  process whose covariance solves
  $C(t,t') = C_0 e^{-t-t'} + g^2\int_0^t\!\int_0^{t'} e^{-(t-s)-(t'-s')} C_\phi(s,s')\,ds\,ds'$,
  with $C_\phi(s,s') = \mathbb E[\tanh u\,\tanh v]$, $(u,v)$ centred Gaussian of
  covariance $\begin{pmatrix}C(s,s)&C(s,s')\\C(s,s')&C(s',s')\end{pmatrix}$.

* ``phi="tanh"`` with symmetric couplings: the process is not Gaussian (the memory term is a
  nonlinear functional of the path), with
  $R_\phi(t,s) = \langle\phi'(x(t))\,\delta x(t)/\delta h(s)\rangle$; :func:`theory_sampling`
  samples it with :func:`dmftlib.core.solve_sampling_dmft` (field covariance $g^2 C_\phi$,
  memory kernel $g^2 R_\phi$), Monte Carlo error $O(n_{\rm samples}^{-1/2})$, Euler
  error $O(\Delta t)$.

Grid conventions: a uniform grid $t_k = k\,\Delta t$; ``C`` is an ``(n, n)`` symmetric
PSD array; ``R[k, l]`` is $R(t_k, t_l)$ for ``l < k``, zero for ``l > k``, and the diagonal
stores the limit $R(t_k^+, t_k) = 1$ (so ``R`` is causal in the non-strict sense). Both
are found by damped Picard iteration on the whole two-time arrays (trapezoid rule, error
$O(\Delta t^2)$; memory about ten ``(n, n)`` float64 arrays), or, for large grids
(``method="fft"``, the default above ``n_t = 512``), through the time-translation invariance of
$R$: FFT convolutions and a factored Stein series, $O(n^2)$ in practice (see :func:`theory`).

References: Mezard, Parisi & Virasoro (1987) for the cavity method; Sompolinsky & Zippelius
(1982) and Crisanti & Sompolinsky (2018) for the dynamics; Bordelon & Pehlevan's review
for the linear symmetric/asymmetric cases and their random-matrix meaning.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .core import (ConvergenceError, causal_weights, solve_sampling_dmft, check_array, check_choice, check_int, check_real,
                   damped_fixed_point, expect2, mean_sem, project_psd, rms, symmetrize, uniform_grid)
from .core import ReadOnlyArrays, check_time_grid, check_bool, check_budget, check_public, check_seed, check_seeds
from .core.toeplitz import CausalToeplitz, stein_factored

__all__ = ["CavityResult", "theory", "theory_sampling", "simulate", "response_closed_form", "kick_indices",
           "FiniteSizeScan", "finite_size_scan", "plot_correlation", "plot_response", "plot_cavity",
           "plot_finite_size", "sample_partial_symmetric", "response_partial_symmetric", "NoisyStationary",
           "stationary_linear_noise", "simulate_linear_noise", "plot_fdt"]

PHIS = ("linear", "tanh")


@dataclass(frozen=True)
class CavityResult(ReadOnlyArrays):
    """Order parameters on a uniform time grid (theory or finite-N simulation).

    Attributes
    ----------
    t : (n,) array
        Time grid.
    C : (n, n) array
        Correlation $C(t,t')$ (for a simulation: mean over seeds).
    C_sem : (n, n) array or None
        Standard error over seeds (simulation only).
    kick_times : (k,) array
        Times $t'_j$ at which the response is reported.
    R_kick : (k, n) array
        $R(t, t'_j)$ as a function of ``t`` (zero for ``t < t'_j``, 1 at ``t = t'_j``).
    R_kick_sem : (k, n) array or None
        Standard error over seeds (simulation only).
    R : (n, n) array or None
        Full response (theory only; a simulation measures only the kicked columns).
    N, n_seeds : int or None
        System size and number of seeds (simulation only).
    residuals, n_iter, converged, wall_time
        Solver diagnostics (a simulation has ``n_iter = 0`` and empty residuals).
    """

    t: np.ndarray
    C: np.ndarray
    C_sem: np.ndarray | None
    kick_times: np.ndarray
    R_kick: np.ndarray
    R_kick_sem: np.ndarray | None
    R: np.ndarray | None
    N: int | None
    n_seeds: int | None
    residuals: np.ndarray
    n_iter: int
    converged: bool
    wall_time: float


# ----------------------------------------------------------------------------- checks

#: work limit of one simulation (multiply-adds)
MAX_WORK_CAVITY = 2e11


def _check_common(g, symmetric, phi, t_max, n_t, C0, kick_times):
    g = check_real("g", g, low=0.0)
    symmetric = check_bool("symmetric", symmetric)
    phi = check_choice("phi", phi, PHIS)
    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    n_t = check_int("n_t", n_t, low=2, high=4001)
    C0 = check_real("C0", C0, low=0.0)
    grid = uniform_grid(t_max, n_t)
    kicks = check_array("kick_times", kick_times, ndim=1, low=0.0, high=t_max)
    if kicks.size == 0:
        raise ValueError("kick_times must hold at least one time (the response is measured from kicks)")
    idx = kick_indices(grid.t, kicks)
    return g, bool(symmetric), phi, grid, C0, kicks, idx


def kick_indices(t, kick_times) -> np.ndarray:
    """Grid indices of ``kick_times``; each must lie on the grid (within 1e-9 of a grid point).

    >>> kick_indices(np.linspace(0, 1, 11), [0.0, 0.5]).tolist()
    [0, 5]
    """
    t = np.asarray(t, dtype=np.float64)
    t = check_time_grid("t", t)
    kick_times = np.atleast_1d(check_array("kick_times", kick_times, low=0.0))
    if kick_times.size == 0:
        raise ValueError("kick_times must hold at least one time")
    if kick_times.ndim != 1 or np.any(np.diff(kick_times) <= 0):
        raise ValueError(f"kick_times must be a strictly increasing 1-D array; got {kick_times.tolist()}")
    idx = np.rint(kick_times / (t[1] - t[0])).astype(int)
    if np.any(idx < 0) or np.any(idx >= t.size) or np.any(np.abs(t[np.clip(idx, 0, t.size - 1)] - kick_times) > 1e-9):
        raise ValueError(f"kick_times must be points of the time grid t = 0, {t[1] - t[0]:g}, ..., {t[-1]:g}; "
                         f"got {kick_times.tolist()}")
    return idx


# ----------------------------------------------------------------------------- theory


def _interval_conv(A, B, dt):
    r"""Trapezoid rule for $\int_{t'}^{t} A(t,s)B(s,t')\,ds$ with causal ``A``, ``B`` (diagonals = limits)."""
    dA = np.diag(A)[:, None]
    dB = np.diag(B)[None, :]
    out = dt * (A @ B) - 0.5 * dt * (dA * B + A * dB)
    return np.tril(out)


def response_closed_form(tau, g, symmetric):
    r"""Exact $R(\tau)$ for linear $\phi$: $e^{-\tau}$ (i.i.d.) or $e^{-\tau} I_1(2g\tau)/(g\tau)$ (symmetric).

    For symmetric couplings $R(\tau) = \int \rho_{\rm sc}(\lambda)\,e^{(\lambda-1)\tau}d\lambda$,
    the semicircle law of radius $2g$ (time-translation invariant).

    >>> response_closed_form([0.0, 1.0], 0.4, True).round(6).tolist()
    [1.0, 0.398105]
    """
    from scipy.special import iv
    tau = check_array("tau", tau, low=0.0)
    g = check_real("g", g, low=0.0)
    symmetric = check_bool("symmetric", symmetric)
    if not symmetric or g == 0.0:
        return np.exp(-tau)
    x = 2.0 * g * tau
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(x > 0, 2.0 * iv(1, x) / np.where(x > 0, x, 1.0), 1.0)
    return np.exp(-tau) * ratio


def _tanh_kernel(C, n_quad, block=2**22):
    r"""$C_\phi(s,s') = \mathbb E[\tanh u\tanh v]$ for all pairs, in blocks of rows.

    The Gauss-Hermite expectation builds ``(rows, n, n_quad, n_quad)`` temporaries; the rows are
    taken in blocks of at most ``block / (n * n_quad**2)`` (at least one), so the temporaries stay
    near ``block`` doubles (32 MB) each whatever ``n``. Entry by entry the same arithmetic as one
    call on the whole array.
    """
    n = C.shape[0]
    d = np.clip(np.diag(C), 0.0, None)
    out = np.empty_like(C)
    rows = max(1, block // (n * n_quad * n_quad))
    for a in range(0, n, rows):
        b = min(n, a + rows)
        # |C(s,s')| <= sqrt(C(s,s) C(s',s')) holds for a PSD C; clip round-off
        bound = np.sqrt(d[a:b, None] * d[None, :])
        out[a:b] = expect2(np.tanh, np.tanh, d[a:b, None], d[None, :], np.clip(C[a:b], -bound, bound), n=n_quad)
    return out


def _interval_conv_1d(a, b, dt):
    """:func:`_interval_conv` of two causal Toeplitz kernels given by their first columns."""
    return dt * CausalToeplitz(a).apply(b) - 0.5 * dt * (a[0] * b + a * b[0])


def _theory_fft(g, symmetric, phi, t, dt, C0, damping, tol, max_iter, max_growth, n_quad):
    """``method="fft"`` route of :func:`theory` (arguments checked); returns ``(C, R, residuals, n_iter)``."""
    n = t.size
    e = np.exp(-t)
    unstable = ('symmetric linear: stable only for g < 1/2' if symmetric
                else 'i.i.d. linear: stable only for g < 1')
    if symmetric:
        hist_r = []

        def F_r(r):
            if not np.all(np.isfinite(r)) or np.abs(r).max() > max_growth:
                raise ConvergenceError(
                    f"the solution exceeds max_growth={max_growth:g} after {len(hist_r)} iterations: the dynamics "
                    f"is unstable for g={g:g} ({unstable})", hist_r)
            return e + g**2 * _interval_conv_1d(e, _interval_conv_1d(r, r, dt), dt)

        def norm_r(v):
            hist_r.append(rms(v))
            return hist_r[-1]

        res_r = damped_fixed_point(F_r, e.copy(), damping=damping, tol=min(tol, 1e-12), max_iter=max_iter,
                                   divergence=max_growth, norm=norm_r)
        r = res_r.x
        if np.abs(r).max() > max_growth:
            raise ConvergenceError(f"the solution exceeds max_growth={max_growth:g}: unstable dynamics "
                                   f"for g={g:g} ({unstable})", res_r.residuals)
    else:
        r = e
    A = CausalToeplitz.from_kernel(r, dt).scaled(g)     # g * (R * W)
    if phi == "linear":
        try:
            C, residuals, k, _ = stein_factored(A, np.sqrt(C0) * r[:, None], tol=tol, max_doublings=60,
                                                divergence=max_growth)
        except ConvergenceError as err:
            raise ConvergenceError(f"{str(err).split(' (last')[0]}: the dynamics is unstable for g={g:g} "
                                   f"({unstable})", err.residuals) from None
        return symmetrize(C), r, np.array(residuals), k
    # tanh, i.i.d.: the same Picard iteration as the dense route, products by FFT
    S = C0 * np.outer(r, r)
    history = []

    def F(C):
        if not np.all(np.isfinite(C)) or np.abs(C).max() > max_growth:
            raise ConvergenceError(f"the solution exceeds max_growth={max_growth:g} after {len(history)} "
                                   f"iterations: the dynamics is unstable for g={g:g}", history)
        return project_psd(S + A.congruence(_tanh_kernel(C, n_quad)))

    def norm(dC):                   # the dense route's rms over (C, R), whose R part is 0
        history.append(rms(dC) / np.sqrt(2.0))
        return history[-1]

    res = damped_fixed_point(F, S.copy(), damping=damping, tol=tol, max_iter=max_iter, divergence=max_growth,
                             norm=norm)
    return symmetrize(res.x), r, res.residuals, res.n_iter


def theory(g, symmetric=False, phi="linear", t_max=10.0, n_t=101, C0=1.0, kick_times=(0.0,),
           damping=0.0, tol=1e-10, max_iter=500, max_growth=1e6, n_quad=24, sampling=None,
           method="auto") -> CavityResult:
    r"""Solve the single-site (N -> infinity) equations for $C(t,t')$ and $R(t,t')$.

    Parameters
    ----------
    g : float >= 0
        Coupling strength (variance $g^2/N$).
    symmetric : bool
        Symmetric couplings $J_{ij} = J_{ji}$ (memory term, $\kappa=1$) or i.i.d. ($\kappa=0$).
    phi : {"linear", "tanh"}
        Transfer function. For ``"tanh"`` with symmetric couplings the single-site process is not
        Gaussian and :func:`theory_sampling` is used (Monte Carlo; ``damping``, ``tol``, ``max_iter``,
        ``max_growth`` and ``n_quad`` do not apply: its options are passed as the dict ``sampling``).
    t_max, n_t : float, int
        Grid ``[0, t_max]`` with ``n_t`` points.
    C0 : float >= 0
        Variance of the initial condition.
    kick_times : sequence of grid times
        Columns $t'$ of $R$ reported in ``R_kick``.
    damping, tol, max_iter
        Passed to :func:`dmftlib.core.damped_fixed_point` (Picard iteration is damping 0).
    max_growth : float > 0
        Divergence guard: raise ``ConvergenceError`` if $|C|$ or $|R|$ exceeds it
        (an unstable dynamics: $g > 1$ i.i.d. linear, $g > 1/2$ symmetric linear).
    n_quad : int
        Gauss-Hermite nodes per dimension for $C_\phi$ (tanh only).
    sampling : dict, optional
        Keyword arguments of :func:`theory_sampling` (symmetric tanh only), e.g. ``n_samples``, ``seed``.
    method : {"auto", "fft", "dense"}
        ``"dense"``: damped Picard iteration on the whole ``(n, n)`` arrays ``(C, R)``, dense
        products and a PSD projection (``eigh``) at every iteration, $O(n^3)$ per iteration.
        ``"fft"``: the response is time-translation invariant, $R(t,t') = R(t-t')$ (exactly
        $e^{-(t-t')}$ for i.i.d. couplings), so it is found by the same Picard iteration on
        its first column, with FFT convolutions ($O(n\log n)$ per iteration), and the
        integral operator $A = R\,W$ is lower Toeplitz up to its column 0
        (``dmftlib.core.toeplitz.CausalToeplitz``). For linear $\phi$ the equation for
        $C$ is the Stein equation $C = C_0 rr^\top + g^2ACA^\top$, summed by
        ``dmftlib.core.toeplitz.stein_factored`` ($C = FF^\top$, $O(n^2)$ in practice;
        ``tol`` is then the relative size of the last doubling chunk, ``residuals`` and
        ``n_iter`` are those of the doubling steps). It solves the same discrete equations
        as the dense route more accurately (the dense Picard iteration stops at an rms
        residual ``tol``): they agree to about ``tol``. For tanh (i.i.d.) it runs the dense
        route's Picard iteration with the products $ACA^\top$ by FFT, agreeing to round-off
        (same ``n_iter``); its cost is dominated by the Gauss-Hermite expectations,
        $O(n^2 n_{quad}^2)$ per iteration, and the PSD projection. ``"auto"`` (default) is
        ``"dense"`` for ``n_t <= 512`` (the route the book's chapters were computed with;
        under 1 s of CPU for linear $\phi$) and ``"fft"`` above. Both routes evaluate
        $C_\phi$ in blocks of rows, so the Gauss-Hermite temporaries stay near 32 MB each
        (peak memory under 2 GB at ``n_t = 1000``).

    Returns
    -------
    CavityResult

    Examples
    --------
    >>> res = theory(0.4, symmetric=True, t_max=4.0, n_t=81, kick_times=[0.0])
    >>> exact = response_closed_form(res.t, 0.4, True)
    >>> bool(np.max(abs(res.R_kick[0] - exact)) < 1e-4), res.converged
    (True, True)
    >>> round(float(res.C[-1, -1]), 4)
    0.0093
    >>> fast = theory(0.4, symmetric=True, t_max=4.0, n_t=81, kick_times=[0.0], method="fft")
    >>> bool(np.abs(fast.C - res.C).max() < 1e-9), bool(np.abs(fast.R - res.R).max() < 1e-9)
    (True, True)
    """
    g, symmetric, phi, grid, C0, kicks, idx = _check_common(g, symmetric, phi, t_max, n_t, C0, kick_times)
    max_growth = check_real("max_growth", max_growth, low=0.0, low_open=True)
    n_quad = check_int("n_quad", n_quad, low=4, high=200)
    method = check_choice("method", method, ("auto", "fft", "dense"))
    if phi == "tanh" and symmetric:
        return theory_sampling(g, True, phi, t_max=t_max, n_t=n_t, C0=C0, kick_times=kick_times,
                               **(sampling or {}))
    t, dt, n = grid.t, grid.dt, grid.n
    start = time.perf_counter()
    if method == "fft" or (method == "auto" and n > 512):
        C, r, residuals, n_iter = _theory_fft(g, symmetric, phi, t, dt, C0, damping, tol, max_iter, max_growth,
                                              n_quad)
        R = CausalToeplitz(r).dense()
        if max(np.abs(C).max(), np.abs(R).max()) > max_growth:
            raise ConvergenceError(f"the solution exceeds max_growth={max_growth:g}: unstable dynamics", residuals)
        return CavityResult(t=t, C=C, C_sem=None, kick_times=kicks, R_kick=R[:, idx].T.copy(), R_kick_sem=None,
                            R=R, N=None, n_seeds=None, residuals=np.asarray(residuals), n_iter=n_iter,
                            converged=True, wall_time=time.perf_counter() - start)
    E = np.tril(np.exp(-(t[:, None] - t[None, :])))
    W = causal_weights(n, dt)
    kappa = 1.0 if symmetric else 0.0

    def F_R(R):
        if kappa == 0.0:
            return E
        return E + kappa * g**2 * _interval_conv(E, _interval_conv(R, R, dt), dt)

    def C_phi(C):
        if phi == "linear":
            return C
        return _tanh_kernel(C, n_quad)

    def F_C(C, R):
        A = R * W                       # (A f)(t) = int_0^t R(t,s) f(s) ds
        r = R[:, 0]
        return project_psd(C0 * np.outer(r, r) + g**2 * (A @ C_phi(C) @ A.T))

    history = []

    def norm(d):
        r = rms(d)
        history.append(r)
        return r

    def F(x):
        C, R = x
        if not (np.all(np.isfinite(C)) and np.all(np.isfinite(R))) or max(np.abs(C).max(), np.abs(R).max()) > max_growth:
            raise ConvergenceError(
                f"the solution exceeds max_growth={max_growth:g} after {len(history)} iterations: the dynamics is "
                f"unstable for g={g:g} "
                f"({'symmetric linear: stable only for g < 1/2' if symmetric else 'i.i.d. linear: stable only for g < 1'})",
                history)
        return (F_C(C, R), F_R(R))

    x0 = (C0 * np.outer(E[:, 0], E[:, 0]), E.copy())
    res = damped_fixed_point(F, x0, damping=damping, tol=tol, max_iter=max_iter, divergence=max_growth, norm=norm)
    C, R = res.x
    C = symmetrize(C)
    R = np.tril(R)
    if max(np.abs(C).max(), np.abs(R).max()) > max_growth:
        raise ConvergenceError(f"the solution exceeds max_growth={max_growth:g}: unstable dynamics", res.residuals)
    R_kick = R[:, idx].T.copy()
    return CavityResult(t=t, C=C, C_sem=None, kick_times=kicks, R_kick=R_kick, R_kick_sem=None, R=R,
                        N=None, n_seeds=None, residuals=res.residuals, n_iter=res.n_iter,
                        converged=res.converged, wall_time=time.perf_counter() - start)


def _tangent(x, M, dt, dphi):
    r"""Tangent dynamics of the Euler single-site process on the samples ``x`` (shape ``(b, n)``).

    $D_{k+1,s} = (1-\Delta t)D_{k,s} + \Delta t^2\sum_{u<k} M_{ku}\phi'(x_u)D_{u,s} + \delta_{ks}$
    (the scheme of :func:`dmftlib.core.solve_sampling_dmft`); returns ``D`` of shape ``(b, n, n)``.
    """
    b, n = x.shape
    dp = dphi(x)
    D = np.zeros((b, n, n))
    for k in range(n - 1):
        Dk = D[:, k, :] * (1.0 - dt)
        if k > 0:
            w = (dt * dt) * M[k, :k][None, :] * dp[:, :k]
            Dk += np.einsum("bu,bus->bs", w, D[:, :k, :])
        Dk[:, k] += 1.0
        D[:, k + 1] = Dk
    return D


def theory_sampling(g, symmetric=True, phi="tanh", t_max=5.0, n_t=51, C0=1.0, kick_times=(0.0,), refine=2,
                    n_samples=16000, n_response=256, damping=0.0, max_iter=60, min_iter=8, seed=0) -> CavityResult:
    r"""Solve the single-site process by Monte Carlo sampling (any $\phi$, both coupling types).

    The single-site process ($\kappa = 1$ symmetric, $0$ i.i.d.)

    .. math::

        &\frac{dx}{dt} = -x + \eta(t) + \kappa g^2\!\int_0^t R_\phi(t,s)\,\phi(x(s))\,ds,\quad
        \langle\eta(t)\eta(t')\rangle = g^2 C_\phi(t,t'),\\
        &R_\phi(t,s) = \Big\langle \frac{\delta\phi(x(t))}{\delta h(s)}\Big\rangle
        = \langle \phi'(x(t))\,\frac{\delta x(t)}{\delta h(s)}\rangle,

    is not Gaussian for nonlinear $\phi$, so it is solved with
    :func:`dmftlib.core.solve_sampling_dmft`: field covariance $K = g^2 C_\phi$, memory kernel
    $M = \kappa g^2 R_\phi$ acting on $\psi = \phi$. The solver measures only
    $R = \langle\delta x/\delta h\rangle$; $R_\phi$ needs the per-sample tangent weighted
    by $\phi'(x(t))$, so the kernel map propagates the tangent itself (:func:`_tangent`) on
    ``n_response`` samples, with the memory kernel of the pass that produced them. The solver calls the
    kernel map three times per iteration (all samples, then two halves for its automatic noise-level
    tolerance); the memory kernel of the next pass is the damped update of the one returned by the
    first call.

    The solver is Euler (error $O(\Delta t)$), run on a grid ``refine`` times finer than the
    output grid and extended by one step; the response is reported as
    $R(t_k, t_l) \approx D_{k+1, l}$ (a kick in step ``l`` acts from $t_{l+1}$), so that
    ``R[k, k] = 1`` as in :func:`theory`. Monte Carlo errors: ``C_sem`` is the standard error of the
    final pass ($\propto 1/\sqrt{n_{\rm samples}}$), ``R_kick_sem`` that of the response over the
    ``n_response`` tangent samples; the converged kernels carry an error of the same order.
    Memory: ``8 n_response n_f^2`` bytes for the tangent (``n_f = refine (n_t - 1) + 2``) plus
    ``8 n_samples n_f`` bytes per pass.

    Examples
    --------
    >>> res = theory_sampling(0.8, t_max=2.0, n_t=11, n_samples=2000, n_response=64)
    >>> res.converged, res.C.shape, float(res.R_kick[0, 0])
    (True, (11, 11), 1.0)
    >>> bool(abs(res.C[-1, -1] - 0.19) < 0.02)      # simulation, N = 2000: 0.191 +- 0.003
    True
    """
    g, symmetric, phi, grid, C0, kicks, idx = _check_common(g, symmetric, phi, t_max, n_t, C0, kick_times)
    refine = check_int("refine", refine, low=1, high=16)
    n_samples = check_int("n_samples", n_samples, low=16)
    n_response = check_int("n_response", n_response, low=2)
    damping = check_real("damping", damping, low=0.0, high=1.0, high_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    min_iter = check_int("min_iter", min_iter, low=1)
    seed = check_seed("seed", seed)
    if grid.dt / refine > 0.5:
        raise ValueError(f"the integration step t_max / ((n_t - 1) refine) = {grid.dt / refine:g} must be at most 0.5 "
                         f"(explicit Euler scheme); increase n_t or refine, or reduce t_max = {t_max:g}")
    start = time.perf_counter()
    kappa = 1.0 if symmetric else 0.0
    if phi == "linear":
        f, df = (lambda x: x), (lambda x: np.ones_like(x))
    else:
        f, df = np.tanh, (lambda x: 1.0 - np.tanh(x) ** 2)
    dt = grid.dt / refine
    n = refine * (grid.n - 1) + 2
    state = {"calls": 0, "M_pass": np.zeros((n, n)), "R_sd": np.zeros((n, n)), "b": 1}

    def kernel_map(x, R):
        first = state["calls"] % 3 == 0          # full sample set; the next two calls are its halves
        state["calls"] += 1
        p = f(x)
        K = g**2 * (p.T @ p) / x.shape[0]
        if kappa == 0.0:
            return K, np.zeros((n, n))
        b = min(x.shape[0], n_response)
        D = _tangent(x[:b], state["M_pass"], dt, df)
        Rphi = np.einsum("bk,bks->ks", df(x[:b]), D) / b
        M = kappa * g**2 * Rphi
        if first:
            state["R_sd"], state["b"] = D.std(axis=0), b
            state["M_next"] = damping * state["M_pass"] + (1.0 - damping) * M
        if state["calls"] % 3 == 0:               # both halves done: the solver now uses M_next
            state["M_pass"] = state["M_next"]
        return K, _to_solver_memory(M)

    def _to_solver_memory(M):
        """The solver's M[k, s] weighs the state before the kick at t_s: one column later than here."""
        out = np.zeros_like(M)
        out[:, 1:] = M[:, :-1]
        return out

    res = solve_sampling_dmft(
        drift=lambda t, x, z: -x, drift_dx=lambda t, x, z: -np.ones_like(x), kernel_map=kernel_map,
        t_max=dt * (n - 1), n_t=n, x0=lambda rng, S: np.sqrt(C0) * rng.standard_normal(S), M0=np.zeros((n, n)),
        psi=f, dpsi=df, n_samples=n_samples, n_response=n_response, damping=damping, tol=None,
        max_iter=max_iter, min_iter=min(min_iter, max_iter), seed=seed)
    if not (np.all(np.isfinite(res.C)) and np.all(np.isfinite(res.R))):
        raise ValueError("the sampling DMFT stopped being finite; reduce t_max or the step t_max / ((n_t - 1) refine)")
    sub = slice(0, refine * (grid.n - 1) + 1, refine)
    C = symmetrize(res.C[sub, sub])
    C_sem = res.C_sem[sub, sub]
    R = res.R[1:, 1:][sub, sub] + 0.0     # solver R[k, s]: kick on x_s; here the kick enters x_{s+1}
    R_sem = (state["R_sd"] / np.sqrt(state["b"]))[1:, :-1][sub, sub]
    return CavityResult(t=grid.t, C=C, C_sem=C_sem, kick_times=kicks, R_kick=R[:, idx].T.copy(),
                        R_kick_sem=R_sem[:, idx].T.copy(), R=np.tril(R), N=None, n_seeds=None,
                        residuals=res.residuals, n_iter=res.n_iter, converged=res.converged,
                        wall_time=time.perf_counter() - start)


# ----------------------------------------------------------------------------- simulation

def _couplings(rngs, N, g, symmetric):
    Z = np.stack([r.standard_normal((N, N)) for r in rngs])
    if symmetric:
        J = Z + Z.transpose(0, 2, 1)
        J *= g / np.sqrt(2.0 * N)      # off-diagonal variance g^2/N, diagonal 2 g^2/N (GOE)
        return J
    Z *= g / np.sqrt(N)
    return Z


#: largest Runge-Kutta step of :func:`simulate` (the output spacing is split into substeps above it)
MAX_STEP = 0.1


def simulate(N, g, symmetric=False, phi="linear", t_max=10.0, n_t=101, C0=1.0, kick_times=(0.0,),
             delta=1e-3, seeds=4, substeps=None) -> CavityResult:
    r"""Simulate N coupled units for independent draws of $J$ and $x(0)$, one per seed.

    ``seeds``: an int ``n`` (meaning ``range(n)``) or a sequence of at least 2 distinct ints; seed ``s``
    draws $J$ and then $x(0)$ from ``numpy.random.default_rng(s)``.

    Integrates $\dot x = -x + J\phi(x)$ with the classical Runge-Kutta scheme (step
    $\Delta t/\mathrm{substeps}$, error $O(\Delta t^4)$; by default ``substeps`` is the
    smallest integer making the step at most ``MAX_STEP = 0.1``, whatever the output spacing), vectorized over seeds and
    over the perturbed copies: state of shape ``(n_seeds, 1 + n_kicks, N)``, one batched
    matrix product per stage. The response is measured by a kick: copy ``j`` receives
    $x_i \to x_i + \delta$ for every ``i`` at time $t'_j$ (i.e.
    $h_i(t) = \delta\,\delta(t-t'_j)$), and
    $R(t,t'_j) \approx \frac1N\sum_i [x^{(j)}_i(t) - x_i(t)]/\delta$.

    Finite-N errors: fluctuations $O(1/\sqrt{N\,n_{\rm seeds}})$ (reported as ``*_sem``),
    bias $O(1/N)$. Memory: ``n_seeds * N^2`` float64 for the couplings plus
    ``n_seeds * n_t * N`` for the trajectories.

    Examples
    --------
    >>> sim = simulate(200, 0.5, t_max=2.0, n_t=21, kick_times=[0.0], seeds=3)
    >>> sim.C.shape, sim.R_kick.shape, sim.N, sim.n_seeds
    ((21, 21), (1, 21), 200, 3)
    >>> round(float(sim.R_kick[0, 0]), 6)
    1.0
    """
    g, symmetric, phi, grid, C0, kicks, idx = _check_common(g, symmetric, phi, t_max, n_t, C0, kick_times)
    N = check_int("N", N, low=2, high=20000)
    seeds = check_seeds("seeds", seeds, min_seeds=2)
    n_seeds = len(seeds)
    if substeps is None:
        substeps = max(1, int(np.ceil(grid.dt / MAX_STEP - 1e-9)))
    substeps = check_int("substeps", substeps, low=1)
    delta = check_real("delta", delta, low=0.0, low_open=True)
    check_budget("RK4 stages x units^2 x copies x seeds",
                 4.0 * substeps * (grid.n - 1) * N * N * (1 + kicks.size) * n_seeds, limit=MAX_WORK_CAVITY)
    start = time.perf_counter()
    rngs = [np.random.default_rng(s) for s in seeds]
    J = _couplings(rngs, N, g, symmetric)
    JT = J.transpose(0, 2, 1)
    f_phi = (lambda x: x) if phi == "linear" else np.tanh
    K = idx.size
    X = np.repeat(np.sqrt(C0) * np.stack([r.standard_normal((1, N)) for r in rngs]), 1 + K, axis=1)
    h = grid.dt / substeps

    def f(X):
        return -X + np.matmul(f_phi(X), JT)

    xs = np.empty((n_seeds, grid.n, N))
    Rk = np.zeros((n_seeds, K, grid.n))

    def record(k):
        for j in np.nonzero(idx == k)[0]:
            X[:, 1 + j] += delta
        xs[:, k] = X[:, 0]
        if K:
            Rk[:, :, k] = (X[:, 1:] - X[:, :1]).mean(axis=2) / delta

    record(0)
    for k in range(1, grid.n):
        for _ in range(substeps):
            k1 = f(X)
            k2 = f(X + 0.5 * h * k1)
            k3 = f(X + 0.5 * h * k2)
            k4 = f(X + h * k3)
            X = X + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
        if not np.all(np.isfinite(X)):
            raise ValueError(f"the state stopped being finite at t = {grid.t[k]:g}: the dynamics is unstable "
                             f"for g = {g:g}, phi = {phi!r} (reduce g or t_max)")
        record(k)
    C_seeds = np.einsum("snk,smk->snm", xs, xs) / N
    C, C_sem = mean_sem(C_seeds)
    if K:
        R_kick, R_sem = mean_sem(Rk)
    else:
        R_kick, R_sem = np.zeros((0, grid.n)), np.zeros((0, grid.n))
    return CavityResult(t=grid.t, C=C, C_sem=C_sem, kick_times=kicks, R_kick=R_kick, R_kick_sem=R_sem, R=None,
                        N=N, n_seeds=n_seeds, residuals=np.zeros(0), n_iter=0, converged=True,
                        wall_time=time.perf_counter() - start)


# ----------------------------------------------------------------------------- finite-size scan

@dataclass(frozen=True)
class FiniteSizeScan(ReadOnlyArrays):
    """Root-mean-square (over the grid) deviation of simulation from theory, at each N.

    ``err_C[m] = rms(C_sim - C_th)``, ``sem_C[m] = rms(C_sem)`` (idem for the kicked responses).
    """

    N: np.ndarray
    err_C: np.ndarray
    sem_C: np.ndarray
    err_R: np.ndarray
    sem_R: np.ndarray
    n_seeds: int


def finite_size_scan(g, symmetric=False, phi="linear", Ns=(250, 500, 1000), seeds=4, t_max=6.0, n_t=61,
                     kick_times=(0.0, 2.0)) -> FiniteSizeScan:
    r"""Deviation of the N-unit simulation from the single-site theory as N grows.

    Expected: the deviation is dominated by seed-to-seed fluctuations of size
    $O(1/\sqrt{N\,n_{\rm seeds}})$, on top of a bias $O(1/N)$. The same ``seeds`` serve every N (the draws differ with N).

    >>> scan = finite_size_scan(0.4, True, Ns=(50, 200), seeds=3, t_max=2.0, n_t=21)
    >>> scan.N.tolist(), bool(scan.sem_C[1] < scan.sem_C[0])
    ([50, 200], True)
    """
    Ns = check_array("Ns", Ns, ndim=1, low=2, high=20000, increasing=True)
    if Ns.size == 0 or np.any(Ns != np.round(Ns)):
        raise ValueError(f"Ns must be a non-empty increasing sequence of integers in [2, 20000]; got {Ns.tolist()}")
    Ns = Ns.astype(int)
    seeds = check_seeds("seeds", seeds)
    th = theory(g, symmetric, phi, t_max=t_max, n_t=n_t, kick_times=kick_times)
    rms = lambda a: float(np.sqrt(np.mean(np.square(a))))  # noqa: E731
    out = {k: [] for k in ("err_C", "sem_C", "err_R", "sem_R")}
    for N in Ns:
        sim = simulate(int(N), g, symmetric, phi, t_max=t_max, n_t=n_t, kick_times=kick_times,
                       seeds=seeds)
        out["err_C"].append(rms(sim.C - th.C))
        out["sem_C"].append(rms(sim.C_sem))
        out["err_R"].append(rms(sim.R_kick - th.R_kick))
        out["sem_R"].append(rms(sim.R_kick_sem))
    return FiniteSizeScan(N=Ns, n_seeds=len(seeds), **{k: np.array(v) for k, v in out.items()})


# ----------------------------------------------------------------------------- plots

def plot_finite_size(scans: dict, ax=None):
    r"""Deviation (rms over the grid) of $C$ versus N, with the rms standard error and an $N^{-1/2}$ guide.

    ``scans`` maps a label to a :class:`FiniteSizeScan`: circles are the deviation of the seed average
    from the theory, squares joined by a line the standard error of that average.
    """
    from . import plotting as P
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter
    if ax is None:
        _, ax = P.new_figure(width=7.6)
    Nmin, Nmax, top = np.inf, 0, 0.0
    for label, sc in scans.items():
        line, = ax.plot(sc.N, sc.sem_C, "-", marker="s", ms=4, lw=1, label=f"{label} ({sc.n_seeds} seeds)")
        ax.plot(sc.N, sc.err_C, "o", ms=6, color=line.get_color(), label="_nolegend_")
        Nmin, Nmax, top = min(Nmin, sc.N.min()), max(Nmax, sc.N.max()), max(top, sc.sem_C[0])
    Ng = np.array([Nmin, Nmax], dtype=float)
    ax.plot(Ng, 1.3 * top * np.sqrt(Nmin / Ng), "k--", lw=1, label="∝ N^(-1/2)")
    ax.plot([], [], "ks-", ms=4, lw=1, label="standard error of the mean")
    ax.plot([], [], "ko", ms=6, label="deviation from theory")
    ax.set_xscale("log")
    ax.set_yscale("log")
    Ns = np.unique(np.concatenate([sc.N for sc in scans.values()]))
    ax.xaxis.set_major_locator(FixedLocator(Ns))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("N")
    ax.set_ylabel("rms over the grid")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return ax


def _label(symmetric):
    return "symmetric J" if symmetric else "i.i.d. J"


def plot_correlation(th: CavityResult, sim: CavityResult | None = None, t_refs=None, ax=None, every: int = 5):
    r"""Plot $C(t,t)$ and $C(t, t_{\rm ref})$ versus ``t``: theory lines, simulation markers."""
    from . import plotting as P
    if ax is None:
        _, ax = P.new_figure()
    t = th.t
    rows = [None] + list(np.atleast_1d(t_refs) if t_refs is not None else [])
    for ref in rows:
        if ref is None:
            y, lab = np.diag(th.C), "C(t, t)"
        else:
            k = kick_indices(t, [ref])[0]
            y, lab = th.C[:, k], f"C(t, {t[k]:g})"
        line, = ax.plot(t, y, "-", label=f"theory {lab}")
        if sim is not None:
            if ref is None:
                m, s = np.diag(sim.C), np.diag(sim.C_sem)
            else:
                m, s = sim.C[:, k], sim.C_sem[:, k]
            P.plot_simulation(ax, sim.t, m, s, N=sim.N, n_seeds=sim.n_seeds, color=line.get_color(), every=every,
                              label=P.simulation_label(sim.N, sim.n_seeds) if ref is None else "_nolegend_")
    ax.set_xlabel("t")
    ax.set_ylabel("correlation")
    ax.legend()
    return ax


def plot_response(th: CavityResult, sim: CavityResult | None = None, ax=None, every: int = 5, closed_form=None):
    r"""Plot $R(t, t'_j)$ versus ``t`` for each kick time: theory lines, simulation markers."""
    from . import plotting as P
    if ax is None:
        _, ax = P.new_figure()
    for j, tk in enumerate(th.kick_times):
        after = th.t >= tk - 1e-12
        line, = ax.plot(th.t[after], th.R_kick[j][after], "-", label=f"theory R(t, {tk:g})")
        if sim is not None:
            k0 = int(np.argmax(sim.t >= tk - 1e-12))
            P.plot_simulation(ax, sim.t[k0:], sim.R_kick[j][k0:], sim.R_kick_sem[j][k0:], N=sim.N,
                              n_seeds=sim.n_seeds, color=line.get_color(), every=every,
                              label=P.simulation_label(sim.N, sim.n_seeds) if j == 0 else "_nolegend_")
    if closed_form is not None:
        ax.plot(th.t, closed_form, "k:", lw=1.2, label="closed form")
    ax.set_xlabel("t")
    ax.set_ylabel("response")
    ax.legend()
    return ax


def plot_cavity(g=0.4, symmetric=False, N=300, seeds=(1, 2, 3, 4), t_max=8.0, ax=None):
    r"""Widget figure: theory and a small simulation for linear $\phi$ at coupling ``g``.

    Left: $C(t,t)$; right: $R(t, 0)$ with the closed form. Unstable settings
    ($g \ge 1$ i.i.d., $g \ge 1/2$ symmetric) are reported in the title instead.
    """
    from . import plotting as P
    if ax is None:
        _, ax = P.new_figure(ncols=2)
    g = check_real("g", g, low=0.0)
    symmetric = check_bool("symmetric", symmetric)
    t_max = check_real("t_max", t_max, low=0.0, low_open=True, high=400.0)
    limit = 0.5 if symmetric else 1.0
    n_t = int(round(t_max / 0.1)) + 1
    sim = simulate(N, g, symmetric, t_max=t_max, n_t=n_t, kick_times=[0.0], seeds=seeds)
    try:
        th = theory(g, symmetric, t_max=t_max, n_t=n_t, kick_times=[0.0])
    except ConvergenceError:
        th = None
    ax[0].set_title(f"{_label(symmetric)}, g = {g:g}" + ("" if g < limit else f" (unstable: g ≥ {limit:g})"))
    if th is not None:
        P.plot_theory(ax[0], th.t, np.diag(th.C))
        P.plot_theory(ax[1], th.t, th.R_kick[0])
    P.plot_simulation(ax[0], sim.t, np.diag(sim.C), np.diag(sim.C_sem), N=N, n_seeds=sim.n_seeds, every=4)
    P.plot_simulation(ax[1], sim.t, sim.R_kick[0], sim.R_kick_sem[0], N=N, n_seeds=sim.n_seeds, every=4)
    ax[0].set_xlabel("t")
    ax[0].set_ylabel("C(t, t)")
    ax[1].set_xlabel("t")
    ax[1].set_ylabel("R(t, 0)")
    ax[1].set_yscale("log")
    ax[0].legend()
    return ax


# --------------------------------------------------- partial symmetry, noise and the FDT (linear phi)

def sample_partial_symmetric(N: int, g: float, kappa: float, seed=0) -> np.ndarray:
    r"""One coupling matrix with $\mathbb E J_{ij}^2 = g^2/N$ and $\mathbb E J_{ij}J_{ji} = \kappa g^2/N$.

    $J = \frac{g}{\sqrt N}\big(\sqrt{\tfrac{1+\kappa}2}\,S + \sqrt{\tfrac{1-\kappa}2}\,A\big)$ with
    $S = (X + X^\top)/\sqrt2$, $A = (Y - Y^\top)/\sqrt2$, $X, Y$ i.i.d. standard
    Gaussian (Crisanti & Sompolinsky 1987's $\eta$ is our $\kappa$): $\kappa = 0$
    i.i.d., $\kappa = 1$ symmetric (GOE), $\kappa = -1$ antisymmetric. Its spectrum fills
    the ellipse with semi-axes $g(1+\kappa)$ and $g(1-\kappa)$ (elliptic law).
    ``seed`` drives ``numpy.random.default_rng(seed)`` (X first, then Y).

    >>> J = sample_partial_symmetric(400, 1.0, 0.5, seed=1)
    >>> round(float(np.mean(J * J.T) * 400), 1)
    0.5
    """
    N = check_int("N", N, low=1, high=20000)
    g = check_real("g", g, low=0.0, high=1e3)
    kappa = check_real("kappa", kappa, low=-1.0, high=1.0)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, N))
    Y = rng.standard_normal((N, N))
    S = (X + X.T) / np.sqrt(2.0)
    A = (Y - Y.T) / np.sqrt(2.0)
    return (g / np.sqrt(N)) * (np.sqrt((1 + kappa) / 2) * S + np.sqrt((1 - kappa) / 2) * A)


def response_partial_symmetric(tau, g: float, kappa: float):
    r"""Exact $R(\tau) = \lim_N\frac1N\operatorname{tr}e^{(J-1)\tau}$ for couplings of symmetry $\kappa$.

    The single-site response obeys $\partial_\tau R = -R + \kappa g^2 R\star R$, so
    $\hat R(s) = [(1+s) - \sqrt{(1+s)^2 - 4\kappa g^2}]/(2\kappa g^2)$: the semicircle of radius
    $2g\sqrt\kappa$ (the holomorphic moments of the elliptic law), hence
    $R(\tau) = e^{-\tau}I_1(2g\sqrt\kappa\,\tau)/(g\sqrt\kappa\,\tau)$ for $\kappa>0$,
    $e^{-\tau}$ for $\kappa = 0$ and $e^{-\tau}J_1(2g\sqrt{-\kappa}\,\tau)/(g\sqrt{-\kappa}\,\tau)$
    for $\kappa < 0$.

    >>> response_partial_symmetric([1.0], 0.4, 1.0).round(6).tolist()     # = the symmetric case
    [0.398105]
    """
    from scipy.special import iv, jv
    tau = check_array("tau", tau, low=0.0)
    g = check_real("g", g, low=0.0, high=1e3)
    kappa = check_real("kappa", kappa, low=-1.0, high=1.0)
    a = 2.0 * g * np.sqrt(abs(kappa)) * tau
    safe = np.where(a > 0, a, 1.0)
    with np.errstate(over="ignore"):
        ratio = 2.0 * (iv(1, safe) if kappa > 0 else jv(1, safe)) / safe
    return np.exp(-tau) * np.where(a > 0, ratio, 1.0)


@dataclass(frozen=True)
class NoisyStationary(ReadOnlyArrays):
    r"""Stationary statistics of the linear network with white noise of temperature ``T``.

    ``tau``; ``C`` ($C(\tau)$), ``R`` ($R(\tau)$), ``chi`` ($\int_0^\tau R$),
    with standard errors ``C_sem``, ``R_sem``, ``chi_sem`` over seeds for simulations (zeros for
    the theory); ``g``, ``kappa``, ``T``, ``N`` (0 for the theory), ``seeds``.
    """

    g: float
    kappa: float
    T: float
    N: int
    seeds: tuple
    tau: np.ndarray
    C: np.ndarray
    R: np.ndarray
    chi: np.ndarray
    C_sem: np.ndarray
    R_sem: np.ndarray
    chi_sem: np.ndarray


def _check_noise(g, kappa, T):
    g = check_real("g", g, low=0.0, high=1e3)
    kappa = check_real("kappa", kappa, low=-1.0, high=1.0)
    T = check_real("T", T, low=0.0, low_open=True, high=1e6)
    if g * (1 + max(kappa, 0.0)) >= 1.0 or g >= 1.0:
        raise ValueError(f"g (1 + max(kappa, 0)) and g must be < 1 for a stationary state; got g = {g:g}, "
                         f"kappa = {kappa:g}")
    return g, kappa, T


def stationary_linear_noise(tau, g: float, kappa: float, T: float = 1.0, n_omega: int = 2**16) -> NoisyStationary:
    r"""Stationary $C(\tau)$, $R(\tau)$ of $\dot x_i = -x_i + \sum_j J_{ij}x_j + \xi_i$ for $N\to\infty$.

    $\langle\xi_i(t)\xi_j(t')\rangle = 2T\delta_{ij}\delta(t-t')$, couplings of symmetry $\kappa$
    (:func:`sample_partial_symmetric`). The single-site process $x = R\ast(\eta + \xi)$ gives, in
    frequency, $C(\omega) = |R(\omega)|^2\,[g^2C(\omega) + 2T]$, i.e.

    .. math:: C(\omega) = \frac{2T\,|R(\omega)|^2}{1 - g^2|R(\omega)|^2},\qquad
              \frac1{R(\omega)} = 1 - i\omega - \kappa g^2 R(\omega),

    transformed back on a grid of ``n_omega`` frequencies (spacing $2\pi/(n_\omega\,\delta)$ with
    $\delta = 0.01$). The fluctuation-dissipation theorem $TR(\tau) = -\dot C(\tau)$, i.e.
    $T\chi(\tau) = C(0) - C(\tau)$, holds iff $\kappa = 1$. For $\kappa = 0$,
    $C(\tau) = Te^{-\sqrt{1-g^2}\,\tau}/\sqrt{1-g^2}$ and $R = e^{-\tau}$.

    >>> th = stationary_linear_noise([0.0, 1.0], 0.4, 0.0)
    >>> th.C.round(4).tolist()           # T exp(-sqrt(1 - g^2) tau) / sqrt(1 - g^2)
    [1.0911, 0.4363]
    """
    tau = check_array("tau", tau, low=0.0, high=1e4)
    g, kappa, T = _check_noise(g, kappa, T)
    n_omega = check_int("n_omega", n_omega, low=256, high=2**22)
    d = 0.01
    omega = 2 * np.pi * np.fft.fftfreq(n_omega, d=d)
    s = 1.0 - 1j * omega
    if kappa == 0.0:
        Rw = 1.0 / s
    else:
        root = np.sqrt(s**2 - 4 * kappa * g**2)
        root = np.where(np.real(root * np.conj(s)) < 0, -root, root)      # the branch with R ~ 1/s
        Rw = (s - root) / (2 * kappa * g**2)
    Cw = 2 * T * np.abs(Rw) ** 2 / (1 - g**2 * np.abs(Rw) ** 2)
    # C(tau) = (1/2pi) int C(w) e^{-i w tau} dw; C(w) is even and real: a cosine transform
    dw = omega[1] - omega[0]
    C = np.array([np.sum(Cw * np.cos(omega * tk)) * dw / (2 * np.pi) for tk in tau])
    # the tail of C(w) ~ 2T / w^2 is truncated at |w| = pi / d: add its integral 2T d / pi^2 at tau = 0 only
    C += np.where(tau == 0, 2 * T * d / np.pi**2, 0.0)
    R = response_partial_symmetric(tau, g, kappa)
    from scipy.integrate import cumulative_simpson
    fine = np.linspace(0.0, max(float(tau.max()), 1e-3), 2001)
    chi = np.interp(tau, fine, cumulative_simpson(response_partial_symmetric(fine, g, kappa), x=fine, initial=0.0))
    z = np.zeros_like(tau)
    return NoisyStationary(g, kappa, T, 0, (), tau, C, R, chi, z, z, z)


def simulate_linear_noise(N: int, g: float, kappa: float, T: float = 1.0, seeds=4, t_burn: float = 20.0,
                          t_record: float = 200.0, dt: float = 0.05, tau_max: float = 6.0, n_tau: int = 31):
    r"""Stationary $C(\tau)$ and $R(\tau)$ of $N$ noisy linear units (implicit midpoint rule).

    With $A = J - 1$, $(1 - \tfrac{\Delta t}2A)x_{k+1} = (1 + \tfrac{\Delta t}2A)x_k + \sqrt{2T\Delta t}\,\xi_k$:
    its stationary covariance solves the continuous Lyapunov equation $A\Sigma + \Sigma A^\top = -2T$
    exactly (so $C(0)$ has no step-size bias), and $C(\tau > 0)$ has an $O(\Delta t^2)$ error.
    Seeds on a leading axis,
    $x(0) = 0$; $C(\tau)$ is the time average over the record of
    $\frac1N\sum_i x_i(t)x_i(t+\tau)$; $R(\tau) = \frac1N\operatorname{tr}e^{(J-1)\tau}$ is
    computed exactly from the eigenvalues of each $J$. Seed ``s`` drives
    ``numpy.random.default_rng(s)``: ``J = sample_partial_symmetric(N, g, kappa, seed=s)`` uses it
    first, then the noise. Memory: ``8 len(seeds) N (3 N + n_lag)`` bytes.

    >>> sim = simulate_linear_noise(50, 0.4, 1.0, seeds=2, t_burn=5.0, t_record=20.0, tau_max=1.0, n_tau=3)
    >>> sim.C.shape, sim.N
    ((3,), 50)
    """
    N = check_int("N", N, low=2, high=5000)
    g, kappa, T = _check_noise(g, kappa, T)
    seeds = check_seeds("seeds", seeds)
    t_burn = check_real("t_burn", t_burn, low=0.0, high=1e5)
    t_record = check_real("t_record", t_record, low=0.0, low_open=True, high=1e5)
    dt = check_real("dt", dt, low=0.0, low_open=True, high=0.1)
    tau_max = check_real("tau_max", tau_max, low=0.0, high=t_record, high_open=True)
    n_tau = check_int("n_tau", n_tau, low=2, high=10**4)
    n_burn, n_rec = int(round(t_burn / dt)), int(round(t_record / dt))
    if int(round(tau_max / dt)) >= n_rec:
        raise ValueError(f"tau_max must be below t_record by at least one step dt = {dt:g}; got tau_max = "
                         f"{tau_max:g}, t_record = {t_record:g}")
    check_budget("steps x units^2 x seeds", 2.0 * (n_burn + n_rec) * float(N) * N * len(seeds), limit=2e11)
    lag_steps = np.unique(np.round(np.linspace(0.0, tau_max, n_tau) / dt).astype(int))
    tau = lag_steps * dt
    rngs = [np.random.default_rng(s) for s in seeds]
    J = np.stack([sample_partial_symmetric(N, g, kappa, seed=r) for r in rngs])
    A = J - np.eye(N)
    eye = np.eye(N)
    Minv = np.linalg.inv(eye - 0.5 * dt * A)                        # (seeds, N, N)
    P = Minv @ (eye + 0.5 * dt * A)
    Bn = Minv * np.sqrt(2 * T * dt)
    x = np.zeros((len(seeds), N))
    n_lag = int(lag_steps[-1]) + 1
    ring = np.zeros((n_lag, len(seeds), N))
    acc = np.zeros((len(seeds), lag_steps.size))
    count = 0
    for k in range(n_burn + n_rec):
        noise = np.stack([r.standard_normal(N) for r in rngs])
        x = np.matmul(P, x[..., None])[..., 0] + np.matmul(Bn, noise[..., None])[..., 0]
        if k >= n_burn:
            j = k - n_burn
            ring[j % n_lag] = x
            if j >= n_lag - 1:
                past = ring[(j - lag_steps) % n_lag]                 # (n_lags, seeds, N)
                acc += np.einsum("lsn,sn->sl", past, x) / N
                count += 1
        if not np.all(np.isfinite(x)):
            raise ValueError("the state stopped being finite; reduce dt")
    C_seeds = acc / count
    lam = np.linalg.eigvals(A)                                      # (seeds, N)
    R_seeds = np.real(np.mean(np.exp(lam[:, None, :] * tau[None, :, None]), axis=2))
    from scipy.integrate import cumulative_trapezoid
    fine = np.linspace(0.0, tau[-1], 8 * tau.size)
    chi_fine = cumulative_trapezoid(np.real(np.mean(np.exp(lam[:, None, :] * fine[None, :, None]), axis=2)),
                                    fine, initial=0.0, axis=1)
    chi_seeds = np.stack([np.interp(tau, fine, c) for c in chi_fine])
    (C, Cs), (R, Rs), (chi, chis) = mean_sem(C_seeds), mean_sem(R_seeds), mean_sem(chi_seeds)
    return NoisyStationary(g, kappa, T, N, tuple(seeds), tau, C, R, chi, Cs, Rs, chis)


def plot_fdt(theories, sims=(), ax=None):
    r"""Fluctuation-dissipation plot: $T\chi(\tau)$ against $C(0) - C(\tau)$ (slope 1 iff FDT).

    ``theories`` and ``sims`` are sequences of :class:`NoisyStationary` (lines and markers).
    """
    from . import plotting as P
    if ax is None:
        _, ax = P.new_figure()
    top = 0.0
    for i, th in enumerate(theories):
        x = th.C[0] - th.C
        ax.plot(x, th.T * th.chi, "-", color=f"C{i}", label=f"theory, κ = {th.kappa:g}")
        top = max(top, float(np.nanmax(x)))
    for i, sim in enumerate(sims):
        x = sim.C[0] - sim.C
        P.plot_simulation(ax, x, sim.T * sim.chi, sim.T * sim.chi_sem, N=sim.N, n_seeds=len(sim.seeds),
                                  color=f"C{i}", label=f"N = {sim.N}, {len(sim.seeds)} seeds, κ = {sim.kappa:g}")
    ax.plot([0, top], [0, top], "k:", lw=1, label="FDT: slope 1")
    ax.set_xlabel("C(0) − C(τ)")
    ax.set_ylabel("T χ(τ)")
    ax.legend(fontsize=8)
    return ax


check_public(globals())
