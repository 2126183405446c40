r"""A generic DMFT solver that samples the single-site process (Eissfeller-Opper iteration).

Dynamical mean-field theory replaces an ``N``-body system by one *effective* degree of freedom
driven by a Gaussian field whose covariance, and a memory kernel, are themselves averages over
that effective process. This module solves such equations by Monte Carlo, following
Eissfeller & Opper (1992) and Roy, Biroli, Bunin & Cammarota (2019): sample many paths of the
field from the current covariance, integrate the single-site process for all of them at once,
measure new kernels from the trajectories, update with damping, repeat.

The effective process
---------------------
On the uniform grid $t_k = k\,\Delta t$, ``k = 0 .. n-1``, every sample ``a`` obeys the
Euler scheme

.. math::

    x_{k+1} = x_k + \Delta t\Big[f(t_k, x_k, z) + m_k + \eta_k\Big],\qquad
    m_k = \Delta t \sum_{s<k} M(t_k, t_{s+1})\,\psi(x_s),

    \langle \eta_k\,\eta_l\rangle = K(t_k, t_l) + \Sigma_{\rm noise}(t_k, t_l),

where ``f`` is the local drift (``drift``), $M$ an optional memory kernel (stored like
the response, see below: ``M[k, s]`` weighs the state whose Euler step produced $x_s$, so
``M = g**2 * R`` is the exact memory of the Euler-discretized linear network), $\psi$
the function of the past state it acts on (identity by default), $K$ the self-consistent
field covariance, $\Sigma_{\rm noise}$ an optional fixed covariance (for instance
$2T\,\delta_{kl}/\Delta t$ for white noise of temperature ``T``), ``z`` optional quenched
per-sample variables and $x_0$ the initial condition (independent of the field).
The self-consistency closes through the user's ``kernel_map``, which receives the sampled
trajectories (and, if asked, the measured response) and returns the new $K$ (and $M$):

.. math:: (K, M) \leftarrow \beta\,(K, M) + (1-\beta)\,\mathcal F[\{x^{(a)}\}, R].

Example kernel maps: the random recurrent network $\dot x_i = -x_i + \sum_j J_{ij}\phi(x_j)$
with i.i.d. $J_{ij}\sim\mathcal N(0, g^2/N)$ has $K = g^2 C_\phi$, $M = 0$;
the linear system with a symmetric (GOE) coupling matrix has $K = g^2 C$,
$M = g^2 R$.

Because the scheme is Euler with a left Riemann sum for the memory, it is the *exact* DMFT of
the Euler-discretized ``N``-body dynamics with the same ``dt``; compared with the continuous-time
equations its error is $O(\Delta t)$.

The response
------------
$R(t, s) = \langle \delta x(t) / \delta h(s)\rangle$ (a field $h$ added to
$\eta$, kernels held fixed) is measured by *linearized perturbation propagated alongside
the samples* (tangent dynamics), not by a Novikov-type estimator, which would need
$K^{-1}$ (ill-conditioned for smooth fields). With $a_k = \partial_x f(t_k, x_k, z)$,

.. math::

    R_{s, s} = 1,\qquad R_{k+1, s} = (1 + \Delta t\, a_k)\,R_{k, s}
      + \Delta t^2 \sum_{u<k} M_{k u}\,\psi'(x_u)\,R_{u, s}\quad (k \ge s),

averaged over samples: ``R[k, s]`` is the response of $x_k$ to a kick of the state
$x_s \to x_s + \epsilon$ (a field $h = \epsilon\,\delta(t - t_s)$). This is the
book-wide convention: ``R[k, s] = 0`` for ``s > k`` and the diagonal holds the equal-time limit
$R(t_s^+, t_s) = 1$. (Until issue 9 the diagonal was zero and ``R[s+1, s] = 1``; the old
array is the new one shifted by a column: ``R_old[k, s] = R_new[k, s + 1]``.) Without memory the tangent needs only the
current row, for every sample; with memory it needs its own history, so it is propagated on a
sub-batch of ``n_response`` samples.

Cost and memory
---------------
Per iteration with ``S`` samples and ``n`` times: an ``(n, n)`` eigendecomposition, ``O(S n^2)``
flops for the fields, the kernel map (typically ``O(S n^2)``), and for the response
``O(S n^2)`` (no memory) or ``O(n_response n^3)`` (memory). Memory: about
``8 (3 S n + 6 n^2)`` bytes, plus ``8 n_response n^2`` bytes with a memory kernel. Example:
``S = 4000``, ``n = 400`` takes about 40 MB.

Convergence
-----------
Sample counts are ramped from ``n_samples_start`` by a factor ``ramp`` per iteration up to
``n_samples``; the iteration stops, at full sample count, when the undamped residual
$r = \mathrm{rms}(\mathcal F - K)$ (the damped step divided by $1-\beta$, so the
tolerance is scaled to the damping) is below ``tol``. With ``tol=None`` the tolerance is set
from the Monte Carlo noise: the kernels of two halves of the samples give the noise level
$\sigma$ of one estimate, and the residual of a converged damped iteration fluctuates at
$\sigma\sqrt{2/(1+\beta)}$; we stop below ``1.5`` times that. A residual above
``divergence`` or a non-finite trajectory raises :class:`ConvergenceError` at once; so does
reaching ``max_iter``. The last pass is run at the converged kernels and provides ``C``, ``R``.

References
----------
Eissfeller & Opper, PRL 68, 2094 (1992); Roy, Biroli, Bunin & Cammarota, J. Phys. A 52,
484001 (2019).

Examples
--------
Ornstein-Uhlenbeck process $\dot x = -x + \xi$ with white noise of temperature
$T = 1/2$ (no self-consistency: the kernel map returns zero), started at 0; the
stationary variance is $T$:

>>> import numpy as np
>>> n, dt = 201, 0.05
>>> res = solve_sampling_dmft(
...     drift=lambda t, x, z: -x, drift_dx=lambda t, x, z: -np.ones_like(x),
...     kernel_map=lambda x, R: np.zeros((x.shape[1], x.shape[1])),
...     t_max=dt * (n - 1), n_t=n, x0=0.0, noise_cov=np.eye(n) / dt * 1.0,  # 2T/dt with T=1/2
...     n_samples=4000, seed=1)
>>> res.converged, round(float(res.C[-1, -1]), 1), float(res.R[1, 1])
(True, 0.5, 1.0)

The self-consistent random network $K = g^2 C_\phi$ is solved in
:func:`dmftlib.rnn.sampling_dmft`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import ConvergenceError
from .fixed_point import rms
from .validation import check_public
from .validation import check_array, check_bool, check_budget, check_int, check_real, check_seed
from .validation import ReadOnlyArrays

__all__ = ["SamplingDMFTResult", "solve_sampling_dmft", "sample_gaussian_paths"]


@dataclass(frozen=True)
class SamplingDMFTResult(ReadOnlyArrays):
    """Result of :func:`solve_sampling_dmft`.

    Attributes
    ----------
    t : (n,) time grid.
    C : (n, n) correlation $\\langle x(t) x(t')\\rangle$ of the single-site process
        (last pass, at the converged kernels; symmetric and PSD by construction).
    R : (n, n) response, strictly lower triangular; ``None`` if ``response=False``.
    mean : (n,) $\\langle x(t)\\rangle$.
    C_sem : (n, n) Monte Carlo standard error of ``C``.
    K, M : converged field covariance and memory kernel (``M`` is ``None`` without memory).
    x : (n_keep, n) a few sampled trajectories of the last pass (for plots).
    residuals : undamped residual at every iteration; ``tolerances``: the tolerance used at each.
    n_samples_history : sample count at every iteration.
    n_iter, converged, wall_time, n_samples (final count).
    """

    t: np.ndarray
    C: np.ndarray
    R: np.ndarray | None
    mean: np.ndarray
    C_sem: np.ndarray
    K: np.ndarray
    M: np.ndarray | None
    x: np.ndarray
    residuals: np.ndarray
    tolerances: np.ndarray
    n_samples_history: np.ndarray
    n_iter: int
    converged: bool
    wall_time: float
    n_samples: int


def sample_gaussian_paths(cov, n_samples: int, rng) -> np.ndarray:
    r"""Draw ``n_samples`` centred Gaussian paths with covariance ``cov`` (shape ``(n_samples, n)``).

    Uses the eigendecomposition $\mathrm{cov} = V\Lambda V^\top$ with negative eigenvalues
    (round-off or Monte Carlo noise) clipped to zero: $\eta = Z\,(V\Lambda_+^{1/2})^\top$.

    >>> rng = np.random.default_rng(0)
    >>> eta = sample_gaussian_paths([[1.0, 0.5], [0.5, 1.0]], 100000, rng)
    >>> bool(np.allclose(eta.T @ eta / 100000, [[1.0, 0.5], [0.5, 1.0]], atol=0.02))   # 5 standard errors
    True
    """
    cov = check_array("cov", cov, ndim=2)
    if cov.shape[0] != cov.shape[1]:
        raise ValueError(f"cov must be a square (n, n) array; got shape {cov.shape}")
    n_samples = check_int("n_samples", n_samples, low=1)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    check_budget("samples x times", float(n_samples) * cov.shape[0], limit=2**27)
    lam, V = np.linalg.eigh(0.5 * (cov + cov.T))
    L = V * np.sqrt(np.clip(lam, 0.0, None))
    return rng.standard_normal((n_samples, cov.shape[0])) @ L.T


def _as_kernels(out, n):
    if isinstance(out, tuple):
        if len(out) != 2:
            raise ValueError("kernel_map must return K or a tuple (K, M)")
        K, M = out
    else:
        K, M = out, None
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (n, n):
        raise ValueError(f"kernel_map must return K of shape {(n, n)}; got {K.shape}")
    if M is not None:
        M = np.asarray(M, dtype=np.float64)
        if M.shape != (n, n):
            raise ValueError(f"kernel_map must return M of shape {(n, n)}; got {M.shape}")
    return K, M


def _fd_derivative(drift):
    def d(t, x, z):
        h = 1e-6 * (1.0 + np.abs(x))
        return (drift(t, x + h, z) - drift(t, x - h, z)) / (2 * h)
    return d


def _run(drift, drift_dx, psi, dpsi, K, M, noise_cov, x0, quenched, t, dt, S, rng, want_R, n_response):
    """One pass: sample fields, integrate all samples; return trajectories and (optionally) R."""
    n = t.size
    cov = K if noise_cov is None else K + noise_cov
    eta = sample_gaussian_paths(cov, S, rng)
    z = None if quenched is None else np.asarray(quenched(rng, S), dtype=np.float64)
    x = np.empty((S, n))
    x[:, 0] = (np.broadcast_to(np.asarray(x0(rng, S) if callable(x0) else x0, dtype=np.float64), (S,)))
    has_mem = M is not None
    if has_mem:
        psi_hist = np.empty((S, n))
    R = None
    if want_R:
        R = np.zeros((n, n))
        if has_mem:
            b = min(S, n_response)
            D = np.zeros((b, n, n))      # tangent history R^{(a)}[k, s] on a sub-batch
            dpsi_hist = np.empty((b, n))
        else:
            r = np.zeros((S, n))         # current tangent row R^{(a)}[k, :]
    for k in range(n - 1):
        xk = x[:, k]
        rhs = drift(t[k], xk, z) + eta[:, k]
        if has_mem:
            psi_hist[:, k] = psi(xk)
            if k > 0:
                rhs = rhs + dt * (psi_hist[:, :k] @ M[k, 1:k + 1])
        x[:, k + 1] = xk + dt * rhs
        if want_R:
            a = drift_dx(t[k], xk, z)
            a = np.broadcast_to(np.asarray(a, dtype=np.float64), (S,))
            if has_mem:
                dpsi_hist[:, k] = dpsi(xk[:b])
                D[:, k, k] = 1.0                 # the kick x_k -> x_k + eps
                R[k] = D[:, k, :].mean(axis=0)
                Dk = D[:, k, :] * (1.0 + dt * a[:b])[:, None]
                if k > 0:
                    w = (dt * dt) * M[k, 1:k + 1][None, :] * dpsi_hist[:, :k]     # (b, k)
                    Dk = Dk + np.einsum("bu,bus->bs", w, D[:, :k, :])
                D[:, k + 1, :] = Dk
            else:
                r[:, k] = 1.0                    # the kick x_k -> x_k + eps
                R[k] = r.mean(axis=0)
                r *= (1.0 + dt * a)[:, None]
        if not np.all(np.isfinite(x[:, k + 1])):
            return x, R, False
    if want_R:
        if has_mem:
            D[:, n - 1, n - 1] = 1.0
            R[n - 1] = D[:, n - 1, :].mean(axis=0)
        else:
            r[:, n - 1] = 1.0
            R[n - 1] = r.mean(axis=0)
    return x, R, bool(np.all(np.isfinite(x)))


def solve_sampling_dmft(
    drift: Callable,
    kernel_map: Callable,
    t_max: float,
    n_t: int,
    x0=0.0,
    K0=None,
    M0=None,
    drift_dx: Callable | None = None,
    psi: Callable | None = None,
    dpsi: Callable | None = None,
    noise_cov=None,
    quenched: Callable | None = None,
    uses_response: bool = False,
    response: bool = True,
    n_samples: int = 2000,
    n_samples_start: int | None = None,
    ramp: float = 2.0,
    n_response: int = 256,
    damping: float = 0.3,
    tol: float | None = None,
    max_iter: int = 50,
    min_iter: int = 1,
    divergence: float = 1e8,
    seed: int | None = 0,
    n_keep: int = 20,
    raise_on_failure: bool = True,
) -> SamplingDMFTResult:
    r"""Solve a DMFT by iterating the sampled single-site process (see the module docstring).

    Parameters
    ----------
    drift : callable ``drift(t, x, z) -> array``
        Local drift $f(t, x, z)$, vectorized over the ``(S,)`` array ``x`` of samples
        (``z``: quenched variables or ``None``).
    kernel_map : callable ``kernel_map(x, R) -> K`` or ``(K, M)``
        New kernels from the ``(S, n)`` trajectories ``x`` and, if ``uses_response``, the
        measured ``(n, n)`` response ``R`` (else ``R`` is ``None``).
    t_max, n_t : grid $t_k = k\,t_{\max}/(n_t-1)$.
    x0 : float, ``(S,)`` array, or callable ``x0(rng, S)``; the initial condition.
    K0, M0 : initial kernels (default zero field covariance, no memory).
    drift_dx : callable, optional
        $\partial_x f(t, x, z)$ for the response; central finite differences if omitted.
    psi, dpsi : callables, optional
        The function of the past state the memory acts on and its derivative (default identity).
    noise_cov : (n, n) array, optional
        Fixed covariance added to ``K`` (external noise).
    quenched : callable ``quenched(rng, S)``, optional
        Per-sample quenched variables ``z`` passed to ``drift``.
    uses_response : bool
        Measure ``R`` at every iteration and pass it to ``kernel_map`` (needed for memory kernels).
    response : bool
        Measure ``R`` in the final pass.
    n_samples, n_samples_start, ramp : final sample count, first count (default
        ``n_samples // 8``) and growth factor per iteration.
    n_response : samples on which the tangent is propagated when there is a memory kernel.
    damping : float in [0, 1); tol : float > 0 or None (automatic, from Monte Carlo noise).
    max_iter, divergence : iteration cap and divergence guard on the residual.
    min_iter : int
        Iterations before stopping is allowed. The residual cannot see a slow systematic drift
        hidden below the Monte Carlo noise (the chaotic network's correlation tail builds up over
        tens of iterations), so solvers with a slow mode should set it.
    seed : seed of ``numpy.random.default_rng``.
    n_keep : number of sample trajectories stored in the result.
    raise_on_failure : bool
        If False, reaching ``max_iter`` returns the last iterate with ``converged=False``
        (divergence still raises).

    Returns
    -------
    SamplingDMFTResult

    Raises
    ------
    ConvergenceError
        Divergence (non-finite trajectories, residual above ``divergence``) or ``max_iter`` reached.
    ValueError
        Bad arguments.
    """
    start = time.perf_counter()
    t_max = check_real("t_max", t_max, low=0, low_open=True)
    n = check_int("n_t", n_t, low=2)
    n_samples = check_int("n_samples", n_samples, low=4)
    n_start = n_samples // 8 if n_samples_start is None else n_samples_start
    n_start = check_int("n_samples_start", max(4, n_start) if n_samples_start is None else n_start, low=4, high=n_samples)
    ramp = check_real("ramp", ramp, low=1.0)
    n_response = check_int("n_response", n_response, low=1)
    damping = check_real("damping", damping, low=0.0, high=1.0, high_open=True)
    if tol is not None:
        tol = check_real("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    min_iter = check_int("min_iter", min_iter, low=1, high=max_iter)
    divergence = check_real("divergence", divergence, low=0.0, low_open=True)
    n_keep = check_int("n_keep", n_keep, low=0)
    for name, f in (("drift", drift), ("kernel_map", kernel_map), ("drift_dx", drift_dx), ("psi", psi),
                    ("dpsi", dpsi), ("quenched", quenched)):
        if f is not None and not callable(f):
            raise TypeError(f"{name} must be a callable; got {f!r}")
    uses_response = check_bool("uses_response", uses_response)
    response = check_bool("response", response)
    raise_on_failure = check_bool("raise_on_failure", raise_on_failure)
    seed = check_seed("seed", seed)
    check_budget("samples x time steps x iterations", float(n_samples) * n * max_iter)
    check_budget("doubles (trajectories and tangents)", 3.0 * n_samples * n + n_response * n * n, limit=2**28)
    if not callable(x0):
        x0 = check_array("x0", x0)
    t = np.linspace(0.0, t_max, n)
    dt = t_max / (n - 1)
    K = np.zeros((n, n)) if K0 is None else check_array("K0", K0, ndim=2)
    M = None if M0 is None else check_array("M0", M0, ndim=2)
    if K.shape != (n, n) or (M is not None and M.shape != (n, n)):
        raise ValueError(f"K0 and M0 must have shape {(n, n)}")
    if noise_cov is not None:
        noise_cov = check_array("noise_cov", noise_cov, ndim=2)
        if noise_cov.shape != (n, n):
            raise ValueError(f"noise_cov must have shape {(n, n)}; got {noise_cov.shape}")
    drift_dx = _fd_derivative(drift) if drift_dx is None else drift_dx
    psi = (lambda x: x) if psi is None else psi
    dpsi = (lambda x: np.ones_like(x)) if dpsi is None else dpsi
    rng = np.random.default_rng(seed)

    residuals, tols, counts = [], [], []
    S = n_start
    converged = False
    for it in range(1, max_iter + 1):
        x, R, ok = _run(drift, drift_dx, psi, dpsi, K, M, noise_cov, x0, quenched, t, dt, S, rng,
                        uses_response, n_response)
        if not ok:
            raise ConvergenceError(f"sampling DMFT diverged at iteration {it}: the single-site trajectories "
                                   "stopped being finite; increase damping or check the parameters", residuals)
        K_new, M_new = _as_kernels(kernel_map(x, R), n)
        diff = [K_new - K] + ([] if M_new is None else [M_new - (0 if M is None else M)])
        r = rms(diff)
        residuals.append(r)
        counts.append(S)
        if not np.isfinite(r) or r > divergence:
            raise ConvergenceError(f"sampling DMFT diverged at iteration {it} (residual {r:.3g} > "
                                   f"divergence={divergence:g})", residuals)
        if tol is None:  # Monte Carlo noise of one estimate, from two halves of the samples
            h = S // 2
            Ka, Ma = _as_kernels(kernel_map(x[:h], R), n)
            Kb, Mb = _as_kernels(kernel_map(x[h:2 * h], R), n)
            sig = 0.5 * rms([Ka - Kb] + ([] if Ma is None else [Ma - Mb]))
            tol_it = 1.5 * sig * np.sqrt(2.0 / (1.0 + damping)) + 1e-12 * max(1.0, rms(K_new))
        else:
            tol_it = tol
        tols.append(tol_it)
        K = damping * K + (1 - damping) * K_new
        if M_new is not None:
            M = M_new if M is None else damping * M + (1 - damping) * M_new
        if S == n_samples and r < tol_it and it >= min_iter:
            converged = True
            break
        S = min(n_samples, int(np.ceil(S * ramp)))
    if not converged and raise_on_failure:
        raise ConvergenceError(f"sampling DMFT did not converge in max_iter={max_iter} iterations "
                               f"(damping={damping:g}, n_samples={n_samples})", residuals)
    x, R, ok = _run(drift, drift_dx, psi, dpsi, K, M, noise_cov, x0, quenched, t, dt, n_samples, rng,
                    response, n_response)
    if not ok:
        raise ConvergenceError("final pass of the sampling DMFT diverged", residuals)
    C = x.T @ x / n_samples
    C = 0.5 * (C + C.T)
    C_sem = np.sqrt(np.clip((x**2).T @ (x**2) / n_samples - C**2, 0, None) / n_samples)
    if R is not None:
        R = np.tril(R)
    return SamplingDMFTResult(
        t=t, C=C, R=R, mean=x.mean(axis=0), C_sem=C_sem, K=K, M=M, x=x[:n_keep].copy(),
        residuals=np.array(residuals), tolerances=np.array(tols), n_samples_history=np.array(counts),
        n_iter=len(residuals), converged=converged, wall_time=time.perf_counter() - start, n_samples=n_samples)


check_public(globals())
