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

from scipy.linalg import solve_triangular

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
    error_estimate : with ``target_error``, the estimated relative standard error of the late
        diagonal $C(t, t)$, $t \\ge t_{\\max}/2$ (from independent chains, see
        :func:`solve_sampling_dmft`); else ``None``. n_average : passes averaged (0 without it).
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
    error_estimate: float | None = None
    n_average: int = 0


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


def _gaussian_filter(n, dt, c):
    """``B[l, j] = (1 - c dt)**(l - 1 - j)`` for ``j < l``: ``y = dt B eta`` solves ``y_{k+1} = (1 - c dt) y_k + dt eta_k``, ``y_0 = 0``."""
    e = np.arange(n)[:, None] - 1 - np.arange(n)[None, :]
    return np.where(e >= 0, (1.0 - c * dt) ** np.clip(e, 0, None), 0.0)


def _sqrt_cov(cov):
    """A square root ``L`` with ``L L^T = cov``: Cholesky, or clipped eigendecomposition if not positive definite."""
    try:   # a smooth field's covariance is numerically singular: a jitter of 1e-12 of its scale
        return np.linalg.cholesky(cov + (1e-12 * max(np.abs(np.diag(cov)).max(), 1e-300)) * np.eye(cov.shape[0]))
    except np.linalg.LinAlgError:
        lam, V = np.linalg.eigh(cov)
        return V * np.sqrt(np.clip(lam, 0.0, None))


def _run_time_major(drift, drift_dx, psi, dpsi, K, M, noise_cov, x0, quenched, t, dt, S, rng, want_R, n_response, B,
                    want_C=True, moment_matching=False):
    r"""One pass in the time-major layout: ``x`` has shape ``(n, S)`` (a time slice is a contiguous row).

    Returns ``(x, R, ok, C_cv, cv_sem)``: with the Gaussian filter ``B`` (control variate) ``C_cv`` is
    $\hat C_x - \hat C_y + C_y$ (``y = dt B eta``, $C_y = \Delta t^2 B\,\mathrm{cov}\,B^\top$ exact) and
    ``cv_sem`` its Monte Carlo standard error; else the plain estimate and its standard error.
    """
    n = t.size
    cov = K if noise_cov is None else K + noise_cov
    cov = 0.5 * (cov + cov.T)
    Z = rng.standard_normal((n, S))
    L = _sqrt_cov(cov)
    if moment_matching and S > n + 1:     # whiten: the sample covariance of G^{-1} Z is exactly the identity
        Z -= Z.mean(axis=1, keepdims=True)
        G = np.linalg.cholesky(Z @ Z.T / S)
        L = solve_triangular(G, L.T, lower=True, trans="T", check_finite=False).T     # L G^{-1}
    eta = L @ Z
    z = None if quenched is None else np.asarray(quenched(rng, S), dtype=np.float64)
    x = np.empty((n, S))
    x[0] = np.broadcast_to(np.asarray(x0(rng, S) if callable(x0) else x0, dtype=np.float64), (S,))
    has_mem = M is not None
    psi_hist = np.empty((n, S)) if has_mem else None
    R = None
    if want_R:
        R = np.zeros((n, n))
        if has_mem:
            b = min(S, n_response)
            D = np.zeros((b, n, n))
            dpsi_hist = np.empty((b, n))
        else:
            r = np.zeros((n, S))             # r[s, a]: tangent of sample a to a kick at time s
    for k in range(n - 1):
        xk = x[k]
        rhs = drift(t[k], xk, z) + eta[k]
        if has_mem:
            psi_hist[k] = psi(xk)
            if k > 0:
                rhs = rhs + dt * (M[k, 1:k + 1] @ psi_hist[:k])
        x[k + 1] = xk + dt * rhs
        if want_R:
            a = np.broadcast_to(np.asarray(drift_dx(t[k], xk, z), dtype=np.float64), (S,))
            if has_mem:
                dpsi_hist[:, k] = dpsi(xk[:b])
                D[:, k, k] = 1.0
                R[k] = D[:, k, :].mean(axis=0)
                Dk = D[:, k, :] * (1.0 + dt * a[:b])[:, None]
                if k > 0:
                    w = (dt * dt) * M[k, 1:k + 1][None, :] * dpsi_hist[:, :k]
                    Dk = Dk + np.einsum("bu,bus->bs", w, D[:, :k, :])
                D[:, k + 1, :] = Dk
            else:
                r[k] = 1.0
                R[k, :k + 1] = r[:k + 1].mean(axis=1)
                r[:k + 1] *= 1.0 + dt * a
        if k % 16 == 15 and not np.all(np.isfinite(x[k + 1])):
            return x, R, False, None, None
    if not np.all(np.isfinite(x[-1])):
        return x, R, False, None, None
    if want_R:
        if has_mem:
            D[:, n - 1, n - 1] = 1.0
            R[n - 1] = D[:, n - 1, :].mean(axis=0)
        else:
            r[n - 1] = 1.0
            R[n - 1] = r.mean(axis=1)
    if not want_C:
        return x, R, True, None, None
    C = x @ x.T / S
    if B is None:
        sem = np.sqrt(np.clip((x * x) @ (x * x).T / S - C**2, 0, None) / S) if want_C == "sem" else None
        return x, R, True, 0.5 * (C + C.T), sem
    y = dt * (B @ eta)
    Cy = (dt * dt) * (B @ cov @ B.T)
    d = C - y @ y.T / S
    sem = None
    if want_C == "sem":
        sec = (x * x) @ (x * x).T - 2.0 * (x * y) @ (x * y).T + (y * y) @ (y * y).T
        sem = np.sqrt(np.clip(sec / S - d**2, 0, None) / S)
    C = d + Cy
    return x, R, True, 0.5 * (C + C.T), sem


def _late_error(Cs):
    """Estimated relative standard error of the chain average over the diagonal at t >= t_max / 2.

    The chains are independent: per diagonal entry the variance of their mean is the sample variance
    over chains divided by their number; its average over the late window, over the mean diagonal.
    """
    n = Cs[0].shape[0]
    d = np.array([np.diag(C)[n // 2:] for C in Cs])
    var = d.var(axis=0, ddof=1) / len(Cs)
    return float(np.sqrt(np.mean(var)) / max(np.mean(np.abs(d.mean(axis=0))), 1e-300))


def _solve_fast(drift, kernel_map, drift_dx, psi, dpsi, noise_cov, x0, quenched, t, dt, K, M, uses_response,
                response, n_samples, n_start, ramp, n_response, damping, tol, max_iter, min_iter, divergence,
                rng, n_keep, raise_on_failure, kernel_is_mean, control_decay, target_error, start,
                moment_matching, n_chains, min_average):
    """The fast path of :func:`solve_sampling_dmft` (time-major layout; options documented there)."""
    n = t.size
    B = None if control_decay is None else _gaussian_filter(n, dt, control_decay)
    n_ch = 1 if target_error is None else n_chains
    rngs = [rng] if n_ch == 1 else rng.spawn(n_ch)
    Ks, Ms = [K] * n_ch, [M] * n_ch
    residuals, tols, counts = [], [], []
    acc_C, acc_K, acc_M, acc_mean = [0.0] * n_ch, [0.0] * n_ch, [0.0] * n_ch, [0.0] * n_ch
    last_x = None
    n_avg, err, converged, averaging = 0, None, False, False
    S = n_start
    for it in range(1, max_iter + 1):
        Sc = max(2, S // n_ch)
        r_it, tol_it = 0.0, 0.0
        for c in range(n_ch):
            x, R, ok, Ccv, _ = _run_time_major(drift, drift_dx, psi, dpsi, Ks[c], Ms[c], noise_cov, x0, quenched, t,
                                               dt, Sc, rngs[c], uses_response, n_response, B, averaging,
                                               moment_matching)
            if not ok:
                raise ConvergenceError(f"sampling DMFT diverged at iteration {it}: the single-site trajectories "
                                       "stopped being finite; increase damping or check the parameters", residuals)
            xs = x.T
            need_halves = tol is None
            if kernel_is_mean and need_halves:
                h = Sc // 2
                Ka, Ma = _as_kernels(kernel_map(xs[:h], R), n)
                Kb, Mb = _as_kernels(kernel_map(xs[h:], R), n)
                K_new = (h * Ka + (Sc - h) * Kb) / Sc
                M_new = None if Ma is None else (h * Ma + (Sc - h) * Mb) / Sc
            else:
                K_new, M_new = _as_kernels(kernel_map(xs, R), n)
                if need_halves:
                    h = Sc // 2
                    Ka, Ma = _as_kernels(kernel_map(xs[:h], R), n)
                    Kb, Mb = _as_kernels(kernel_map(xs[h:2 * h], R), n)
            diff = [K_new - Ks[c]] + ([] if M_new is None else [M_new - (0 if Ms[c] is None else Ms[c])])
            r = rms(diff)
            if not np.isfinite(r) or r > divergence:
                raise ConvergenceError(f"sampling DMFT diverged at iteration {it} (residual {r:.3g} > "
                                       f"divergence={divergence:g})", residuals + [r])
            if need_halves:
                sig = 0.5 * rms([Ka - Kb] + ([] if Ma is None else [Ma - Mb]))
                tc = 1.5 * sig * np.sqrt(2.0 / (1.0 + damping)) + 1e-12 * max(1.0, rms(K_new))
            else:
                tc = tol
            r_it, tol_it = max(r_it, r), max(tol_it, tc)
            Ks[c] = damping * Ks[c] + (1 - damping) * K_new
            if M_new is not None:
                Ms[c] = M_new if Ms[c] is None else damping * Ms[c] + (1 - damping) * M_new
            if averaging:
                acc_C[c] = acc_C[c] + Ccv
                acc_mean[c] = acc_mean[c] + x.mean(axis=1)
                if c == 0:
                    last_x = x[:, :n_keep]
                acc_K[c] = acc_K[c] + Ks[c]
                if Ms[c] is not None:
                    acc_M[c] = acc_M[c] + Ms[c]
        residuals.append(r_it)
        tols.append(tol_it)
        counts.append(Sc * n_ch)
        if averaging:
            n_avg += 1
            err = _late_error([a / n_avg for a in acc_C])
            if n_avg >= min_average and err < target_error:
                converged = True
                break
        elif S == n_samples and r_it < tol_it and it >= min_iter:
            if target_error is None:
                converged = True
                break
            averaging = True
        S = min(n_samples, int(np.ceil(S * ramp)))
    if not converged and raise_on_failure:
        what = ("the estimated error stayed above target_error" if averaging else "the residual stayed above tol")
        raise ConvergenceError(f"sampling DMFT did not converge in max_iter={max_iter} iterations ({what}; "
                               f"damping={damping:g}, n_samples={n_samples})", residuals)
    if n_avg:
        Ks = [a / n_avg for a in acc_K]
        Ms = [None if m is None else a / n_avg for a, m in zip(acc_M, Ms)]
    outs = []
    want_final = n_avg == 0 or response
    Sc = max(2, n_samples // n_ch)
    for c in range(n_ch):
        if want_final:
            x, R, ok, Ccv, sem = _run_time_major(drift, drift_dx, psi, dpsi, Ks[c], Ms[c], noise_cov, x0, quenched,
                                                 t, dt, Sc, rngs[c], response, n_response, B, "sem",
                                                 moment_matching)
            if not ok:
                raise ConvergenceError("final pass of the sampling DMFT diverged", residuals)
            outs.append((x, R, Ccv, sem))
    if n_avg:
        Cs = np.array([a / n_avg for a in acc_C])
        C, C_sem = Cs.mean(axis=0), Cs.std(axis=0, ddof=1) / np.sqrt(n_ch)
    else:      # no averaged passes: the final pass of every chain
        C = np.mean([o[2] for o in outs], axis=0)
        C_sem = np.sqrt(np.mean([o[3] ** 2 for o in outs], axis=0) / len(outs))
    Rs = [o[1] for o in outs if o[1] is not None]
    R = np.tril(np.mean(Rs, axis=0)) if Rs else None
    x = outs[0][0] if outs else last_x
    mean = (np.mean([o[0].mean(axis=1) for o in outs], axis=0) if outs
            else np.mean([a / n_avg for a in acc_mean], axis=0))
    K_out = np.mean(Ks, axis=0)
    M_out = None if Ms[0] is None else np.mean(Ms, axis=0)
    return SamplingDMFTResult(
        t=t, C=C, R=R, mean=mean, C_sem=C_sem, K=K_out, M=M_out,
        x=x[:, :n_keep].T.copy(),
        residuals=np.array(residuals), tolerances=np.array(tols), n_samples_history=np.array(counts),
        n_iter=len(residuals), converged=converged, wall_time=time.perf_counter() - start,
        n_samples=Sc * n_ch, error_estimate=err, n_average=n_avg)


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
    time_major: bool = False,
    kernel_is_mean: bool = False,
    control_decay: float | None = None,
    target_error: float | None = None,
    moment_matching: bool = False,
    n_chains: int = 4,
    min_average: int = 4,
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
    time_major : bool
        Fast path (opt-in; the default reproduces earlier outputs bit for bit): trajectories
        stored time-major, ``(n, S)``, so that every Euler step works on contiguous rows
        (``kernel_map`` still receives an ``(S, n)`` array, a transposed view). Same
        algorithm, results equal in law; the random numbers are used differently, so single
        runs differ from the default path. The options below need it.
    kernel_is_mean : bool
        Declare that ``kernel_map`` is a sample mean (as $g^2\langle\phi\phi\rangle$): the
        automatic tolerance then evaluates it on the two halves of the samples and averages them,
        one kernel map per iteration instead of three.
    control_decay : float, optional
        Control variate from the Gaussian part: the filtered field
        $y_{k+1} = (1 - c\,\Delta t)\,y_k + \Delta t\,\eta_k$, $y_0 = 0$, whose covariance
        $C_y = \Delta t^2 B\,(K + \Sigma_{\rm noise})B^\top$ is known exactly, gives the
        estimate $\hat C_x - \hat C_y + C_y$ of ``C`` (unbiased for any ``c``). For a linear
        drift $-c\,x$ without memory the sampling noise of ``C`` given ``K`` cancels except for
        the initial condition (e.g. ``c = 1`` for the random network); otherwise it reduces the
        variance as far as ``x`` is correlated with ``y``.
    target_error : float, optional
        Stopping rule on the estimated error. The samples are split into ``n_chains`` independent
        chains (``n_samples // n_chains`` each, own random streams, own kernels, from iteration 1);
        after the residual test passes, iterations continue and the per-pass estimates of ``C``
        (and ``K``, ``M``) are averaged in every chain. The relative standard error of the late
        diagonal ($t \ge t_{\max}/2$) is estimated from the scatter between chains (variance of
        the chain means over ``n_chains``, averaged over the window, square root, over the mean
        diagonal), and the iteration stops once it is below ``target_error`` with at least
        ``min_average`` passes averaged. Averaging over passes is needed because the fixed point
        amplifies the noise of one pass by $(1 - J)^{-1}$ ($J$ the Jacobian of the map, close
        to 1 on the slow mode of the chaotic network). ``C`` is the mean of the chains, ``C_sem``
        their standard error; ``error_estimate`` and ``n_average`` report the rule; ``max_iter``
        counts all iterations.
    moment_matching : bool
        Whiten the standard normals of every pass (subtract the sample mean and make the sample
        covariance exactly the identity, a Cholesky solve), so that the sampled field has exactly
        the covariance ``K``: the part of the noise of the kernels that is linear in the field's
        sample covariance disappears. Bias $O(1/S)$.
    n_chains, min_average : ints used by ``target_error`` (defaults 4 and 4).

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
    time_major = check_bool("time_major", time_major)
    kernel_is_mean = check_bool("kernel_is_mean", kernel_is_mean)
    if control_decay is not None:
        control_decay = check_real("control_decay", control_decay, low=-1e6, high=1e6)
    if target_error is not None:
        target_error = check_real("target_error", target_error, low=0.0, low_open=True, high=1.0)
    if not time_major and (kernel_is_mean or control_decay is not None or target_error is not None):
        raise ValueError("kernel_is_mean, control_decay, target_error and moment_matching need time_major=True")
    moment_matching = check_bool("moment_matching", moment_matching)
    if moment_matching and not time_major:
        raise ValueError("moment_matching needs time_major=True")
    n_chains = check_int("n_chains", n_chains, low=2, high=64)
    min_average = check_int("min_average", min_average, low=2, high=10**6)
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
    if time_major:
        if control_decay is not None and abs(1.0 - control_decay * dt) ** (n - 1) > 1e12:
            raise ValueError(f"control_decay={control_decay:g} makes the Gaussian filter grow by more than 1e12 "
                             f"over the grid; use a value near minus the drift's slope")
        return _solve_fast(drift, kernel_map, drift_dx, psi, dpsi, noise_cov, x0, quenched, t, dt, K, M,
                           uses_response, response, n_samples, n_start, ramp, n_response, damping, tol, max_iter,
                           min_iter, divergence, rng, n_keep, raise_on_failure, kernel_is_mean, control_decay,
                           target_error, start, moment_matching, n_chains, min_average)

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
