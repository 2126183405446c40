r"""The spiked matrix-tensor model: gradient descent, heavy-ball momentum and Nesterov acceleration.

Model (p = 3 by default). A planted signal $x^*$ with $|x^*|^2 = N$ (here
$x^* = (1,\dots,1)$; the problem is rotation invariant), a student $x$ on the sphere
$|x|^2 = N$, the planted overlap $m = x\cdot x^*/N$, and the loss

.. math::

    H(x) = -\sum_{i,j} G_{ij} x_i x_j - \sum_{i,j,k} J_{ijk} x_i x_j x_k - N\,Q(m),
    \qquad Q(q) = \frac{q^2}{2\Delta_2} + \frac{q^p}{p\,\Delta_p},

with i.i.d. $G_{ij}\sim\mathcal N(0, 1/(2\Delta_2 N))$ and
$J_{ijk}\sim\mathcal N(0, 1/(p\Delta_p N^{p-1}))$. The noise part is the Gaussian field of
covariance $\mathbb E\,H(x)H(y) = N\,Q(x\cdot y/N)$, so the signal energy and the noise
covariance are the same function $Q$. Up to $O(1/N)$ diagonal terms this is the model of
Sarao Mannelli et al. (2019) written with sums over $i<j$ and $i<j<k$:
$Y = x^*x^{*\top}/\sqrt N + \xi$, $\xi_{ij}\sim\mathcal N(0,\Delta_2)$, and the
$\Delta_p$ tensor channel.

Algorithms, all with learning rate $\alpha$, the force $F = -\nabla H$ and a projection
back on the sphere, $x_{n+1} = \sqrt N\,\tilde x_{n+1}/|\tilde x_{n+1}|$:

.. math::

    z_n = x_n + \kappa\beta_n (x_n - x_{n-1}),\qquad
    \tilde x_{n+1} = x_n + \beta_n (x_n - x_{n-1}) + \alpha F(z_n),

gradient descent (``'gd'``: $\beta_n = 0$), heavy ball (``'heavy_ball'``: $\beta_n = \beta$,
$\kappa = 0$), Nesterov (``'nesterov'``: $\beta_n = n/(n+3)$, $\kappa = 1$), started
at rest ($x_{-1} = x_0$). Time is $t = n\alpha$ for all three (gradient steps times the
learning rate), so curves at equal $t$ compare equal numbers of gradient evaluations. For
$\alpha\to0$ they become the second-order dynamics $M\ddot x + \gamma\dot x = F - \mu x$
(gradient flow $M = 0, \gamma = 1$; heavy ball $M = \alpha(1+\beta)/2$, $\gamma = 1-\beta$;
Nesterov $\ddot x + (3/\tau)\dot x = F - \mu x$ in $\tau = n\sqrt\alpha$).

The DMFT (Sarao Mannelli & Urbani 2021, here for the discrete iteration itself, so that it is
exact at any $\alpha$) closes on $C_{nk} = x_n\cdot x_k/N$, $m_n$, and the
response $R_{nk} = \partial x_n/\partial h_k$ to a field added to the force at step
$k$; see :func:`spiked_dmft`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..core import (ReadOnlyArrays, check_array, check_budget, check_choice, check_int, check_real, check_seeds,
                    mean_sem)

__all__ = ["SPIKED_METHODS", "SPIKED_LABELS", "SpikedResult", "spiked_Q", "spiked_threshold", "spiked_betas",
           "spiked_dmft", "spiked_simulate", "spiked_simulate_methods", "spiked_escape_time",
           "spiked_load_runs", "plot_spiked_overlap", "plot_spiked_vs_simulation"]

#: The three iterations, in the order the chapter plots them.
SPIKED_METHODS = ("gd", "heavy_ball", "nesterov")
#: Names of the methods in figure legends.
SPIKED_LABELS = {"gd": "gradient descent", "heavy_ball": "heavy ball", "nesterov": "Nesterov"}
_LABELS = SPIKED_LABELS


# ----------------------------------------------------------------------------------------------
# the function Q and the threshold
# ----------------------------------------------------------------------------------------------
def spiked_Q(q, delta2: float, deltap: float, p: int = 3, derivative: int = 0):
    r"""The function $Q(q) = q^2/(2\Delta_2) + q^p/(p\Delta_p)$ and its first two derivatives.

    It is at once the signal energy per unit ($H_{\rm signal} = -N Q(m)$) and the covariance
    of the noise energy ($\mathbb E H(x)H(y) = N Q(x\cdot y/N)$).

    >>> [round(float(spiked_Q(0.5, 1.0, 1.0, derivative=d)), 4) for d in (0, 1, 2)]
    [0.1667, 0.75, 2.0]
    """
    delta2 = check_real("delta2", delta2, low=0.0, low_open=True)
    deltap = check_real("deltap", deltap, low=0.0, low_open=True)
    p = check_int("p", p, low=3, high=8)
    derivative = check_int("derivative", derivative, low=0, high=2)
    q = check_array("q", q, low=-1e3, high=1e3)
    return _Q(q, 1.0 / delta2, 1.0 / deltap, p, derivative)


def _Q(q, a2, ap, p, d):
    if d == 0:
        return 0.5 * a2 * q * q + ap * q ** p / p
    if d == 1:
        return a2 * q + ap * q ** (p - 1)
    return a2 + (p - 1) * ap * q ** (p - 2)


def spiked_threshold(deltap, p: int = 3):
    r"""Algorithmic threshold of gradient flow: the value of $1/\Delta_2$ above which it finds the signal.

    .. math::

        \frac{1}{\Delta_2^{\rm GF}} = \frac{1 + \sqrt{1 + 4(p-1)/\Delta_p}}{2},

    the root of $1/\Delta_2 = \sqrt{Q''(1)} = \sqrt{1/\Delta_2 + (p-1)/\Delta_p}$: the rank-one
    signal $x^*x^{*\top}/(N\Delta_2)$ in the Hessian pushes an eigenvalue out of the semicircle
    (radius $2\sqrt{Q''(1)}$) of the marginal states reached at $m = 0$ (a BBP transition,
    Sarao Mannelli et al. 2019). Vectorized over ``deltap``.

    >>> round(float(spiked_threshold(1.0)), 6)
    2.0
    """
    p = check_int("p", p, low=3, high=8)
    dp = check_array("deltap", deltap, low=1e-6, high=1e6)
    return 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * (p - 1) / dp))


def spiked_betas(method: str, n_steps: int, beta: float = 0.9) -> np.ndarray:
    r"""Momentum coefficients $\beta_n$, n = 0..n_steps-1 (gd: 0; heavy ball: $\beta$; Nesterov: n/(n+3)).

    >>> spiked_betas("nesterov", 4).round(3).tolist()
    [0.0, 0.25, 0.4, 0.5]
    """
    method = check_choice("method", method, SPIKED_METHODS)
    n_steps = check_int("n_steps", n_steps, low=1, high=10**7)
    beta = check_real("beta", beta, low=0.0, high=1.0, high_open=True)
    n = np.arange(n_steps, dtype=np.float64)
    if method == "gd":
        return np.zeros(n_steps)
    if method == "heavy_ball":
        return np.full(n_steps, beta)
    return n / (n + 3.0)


# ----------------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SpikedResult(ReadOnlyArrays):
    """Overlap and energy along the iteration, the same fields for theory and simulation.

    ``t`` (nt,): times $t = n\\alpha$ of the recorded steps; ``m``, ``energy`` (nt,): the
    planted overlap and the energy per unit $H/N$ (theory: the DMFT values; simulation: means
    over seeds, with standard errors ``m_sem``, ``energy_sem`` and every run in ``m_seeds``,
    ``energy_seeds`` of shape (n_seeds, nt)); ``mu`` (nt,): the Lagrange multiplier of the
    spherical constraint read from the projection, $\\mu_n = (r_{n+1}-1)/\\alpha$ with
    $r_{n+1} = |\\tilde x_{n+1}|/\\sqrt N$ (at the last step, that of the step that would follow); ``C``, ``R`` (theory only, else empty): the
    two-time functions on the recorded steps (``R[i, k]`` per unit time, i.e. the response divided
    by $\\alpha$; ``R[i, i] = 1``, ``R[i, k] = 0`` for k > i). ``N`` is ``None`` for the theory.
    """

    t: np.ndarray
    m: np.ndarray
    energy: np.ndarray
    mu: np.ndarray
    m_sem: np.ndarray
    energy_sem: np.ndarray
    m_seeds: np.ndarray
    energy_seeds: np.ndarray
    C: np.ndarray
    R: np.ndarray
    method: str
    delta2: float
    deltap: float
    p: int
    alpha: float
    beta: float
    m0: float
    N: int | None
    n_seeds: int
    n_steps: int
    diverged: bool
    wall_time: float


def _check_common(delta2, deltap, method, alpha, beta, m0, t_max, p):
    delta2 = check_real("delta2", delta2, low=1e-3, high=1e3)
    deltap = check_real("deltap", deltap, low=1e-3, high=1e3)
    method = check_choice("method", method, SPIKED_METHODS)
    alpha = check_real("alpha", alpha, low=0.0, high=1.0, low_open=True)
    beta = check_real("beta", beta, low=0.0, high=1.0, high_open=True)
    m0 = check_real("m0", m0, low=-1.0, high=1.0, low_open=True, high_open=True)
    t_max = check_real("t_max", t_max, low=0.0, low_open=True)
    p = check_int("p", p, low=3, high=8)
    n_steps = int(np.ceil(t_max / alpha - 1e-9))
    if n_steps < 1:
        raise ValueError(f"t_max = {t_max:g} must be at least one step alpha = {alpha:g}")
    return delta2, deltap, method, alpha, beta, m0, t_max, p, n_steps


# ----------------------------------------------------------------------------------------------
# DMFT
# ----------------------------------------------------------------------------------------------
def spiked_dmft(delta2: float, deltap: float, method: str = "gd", alpha: float = 0.05, beta: float = 0.9,
                m0: float = 0.1, t_max: float = 20.0, p: int = 3, every: int = 1,
                stop_at: float | None = None) -> SpikedResult:
    r"""DMFT (N -> infinity) of gradient descent, heavy ball or Nesterov on the spiked matrix-tensor model.

    The effective single-unit process of the iteration (see the module docstring) is

    .. math::

        \tilde x_{n+1} &= x_n + \beta_n(x_n - x_{n-1})\\
        &\quad + \alpha\Big[Q'(m^z_n)\,x^* + \eta_n
        + \sum_{k<n} Q''(C^z_{nk})\,R^z_{nk}\,z_k\Big],\\
        x_{n+1} & = \tilde x_{n+1}/r_{n+1},

    with Gaussian $\eta$ of covariance $\langle\eta_n\eta_k\rangle = Q'(C^z_{nk})$,
    $C^z_{nk} = z_n\cdot z_k/N$, $m^z_n = z_n\cdot x^*/N$, $R^z_{nk} = \partial z_n/\partial h_k$,
    and the normalization $r_{n+1}^2 = \langle\tilde x_{n+1}^2\rangle$ (the spherical constraint;
    $\mu_n = (r_{n+1}-1)/\alpha$ is its Lagrange multiplier). The process is linear, so the
    averages close on $C, R, m$ (Novikov's theorem for $\langle\eta_n x_j\rangle$):

    .. math::

        \langle\tilde x_{n+1}x_j\rangle &= (1+\beta_n)C_{nj} - \beta_n C_{n-1,j}\\
        &\quad + \alpha\Big[Q'(m^z_n)m_j + \sum_{k<j}Q'(C^z_{nk})R_{jk} + \sum_{k<n}Q''(C^z_{nk})R^z_{nk}C^{zx}_{kj}\Big],

    and similarly for $m_{n+1}$, $R_{n+1,k}$ and $r_{n+1}$. The energy per unit is
    $e_n = -Q(m_n) - \sum_{k<n} Q'(C^{xz}_{nk}) R_{nk}$. In the limit $\alpha\to0$ these
    are the continuous DMFT equations with the massive operator $M\partial_t^2 + \gamma\partial_t + \mu(t)$.

    Each step costs three matrix-vector products over the history (no loop over it): memory
    $2 n^2$ doubles for gd and heavy ball and $5 n^2$ for Nesterov (which also keeps
    $\langle z_k x_j\rangle$, $C^z$, $R^z$), plus the copies returned; time $O(n^3)$.

    Parameters
    ----------
    delta2, deltap : float in [1e-3, 1e3]
        Noise variances of the matrix and tensor channels (signal-to-noise $1/\Delta_2$, $1/\Delta_p$).
    method : 'gd', 'heavy_ball' or 'nesterov'
    alpha : float in (0, 1]
        Learning rate; time $t = n\alpha$.
    beta : float in [0, 1)
        Heavy-ball momentum (ignored by the other methods).
    m0 : float in (-1, 1)
        Initial overlap $m(0)$ (the simulations are started at exactly this overlap).
    t_max : float > 0
        Final time; ``ceil(t_max / alpha)`` steps.
    p : int in [3, 8]
        Order of the tensor channel.
    every : int >= 1
        Record every ``every``-th step in the result (``C`` and ``R`` on those steps).
    stop_at : float in (0, 1) or None
        Stop as soon as $m$ exceeds it (for escape-time scans).

    Examples
    --------
    >>> th = spiked_dmft(1 / 3, 1.0, "gd", alpha=0.1, m0=0.1, t_max=10.0, every=25)
    >>> th.t.round(1).tolist(), th.m.round(3).tolist()
    ([0.0, 2.5, 5.0, 7.5, 10.0], [0.1, 0.739, 0.852, 0.855, 0.855])
    """
    start = time.perf_counter()
    delta2, deltap, method, alpha, beta, m0, t_max, p, n_steps = _check_common(
        delta2, deltap, method, alpha, beta, m0, t_max, p)
    every = check_int("every", every, low=1)
    if stop_at is not None:
        stop_at = check_real("stop_at", stop_at, low=0.0, high=1.0, low_open=True, high_open=True)
    K = n_steps + 1
    nest = method == "nesterov"
    check_budget("doubles (history arrays)", (8 if nest else 5) * float(K) ** 2, limit=2**28)
    a2, ap = 1.0 / delta2, 1.0 / deltap
    bet = spiked_betas(method, K, beta)                              # beta_n, n = 0..K-1
    kap = bet if nest else np.zeros(K)                               # look-ahead coefficients b_n

    C = np.zeros((K, K))
    Rd = np.zeros((K, K))            # discrete response dx_n/dh_k (includes the factor alpha)
    m = np.zeros(K)
    mu = np.full(K, np.nan)
    e = np.zeros(K)
    C[0, 0], m[0] = 1.0, m0
    if nest:
        Czx = np.zeros((K, K))       # <z_k x_j>
        Cz = np.zeros((K, K))        # <z_n z_k>
        Rz = np.zeros((K, K))
        mz = np.zeros(K)
        Czx[0, 0] = Cz[0, 0] = 1.0
        mz[0] = m0
    else:
        Czx, Cz, Rz, mz = C, C, Rd, m
    diverged = False
    n_last = n_steps
    for n in range(K):
        b = bet[n]
        # energy at step n: -Q(m_n) - sum_{k<n} Q'(<x_n z_k>) R_nk
        e[n] = -_Q(m[n], a2, ap, p, 0) - _Q(Czx[:n, n], a2, ap, p, 1) @ Rd[n, :n]
        w1 = _Q(Cz[n, :n + 1], a2, ap, p, 1)                      # noise covariance Q'(C^z_nk)
        a = _Q(Cz[n, :n], a2, ap, p, 2) * Rz[n, :n]                 # memory kernel Q''(C^z) R^z
        Q1m = _Q(mz[n], a2, ap, p, 1)
        nm1 = max(n - 1, 0)
        u = (1 + b) * C[n, :n + 1] - b * C[nm1, :n + 1] + alpha * (
            Q1m * m[:n + 1] + Rd[:n + 1, :n + 1] @ w1 + a @ Czx[:n, :n + 1])
        mt = (1 + b) * m[n] - b * m[nm1] + alpha * (Q1m + a @ mz[:n])
        Rt = (1 + b) * Rd[n, :n + 1] - b * Rd[nm1, :n + 1] + alpha * (a @ Rz[:n, :n + 1])
        Rt[n] += alpha
        if nest:
            bk = kap[:n + 1]
            uz = (1 + bk) * u - bk * np.concatenate(([u[0]], u[:n]))
        else:
            uz = u
        r2 = (1 + b) * u[n] - b * u[nm1] + alpha * (Q1m * mt + a @ uz[:n] + w1 @ Rt)
        if not np.isfinite(r2) or r2 <= 0 or not np.all(np.isfinite(u)):
            diverged, n_last = True, n
            break
        r = np.sqrt(r2)
        mu[n] = (r - 1.0) / alpha
        if n == n_steps or (stop_at is not None and m[n] > stop_at):
            n_last = n
            break
        n1 = n + 1
        C[n1, :n1] = C[:n1, n1] = u / r
        C[n1, n1] = 1.0
        m[n1] = mt / r
        Rd[n1, :n1] = Rt / r
        if nest:
            bn = kap[n1]
            mz[n1] = (1 + bn) * m[n1] - bn * m[n]
            Rz[n1, :n1] = (1 + bn) * Rd[n1, :n1] - bn * Rd[n, :n1]
            bk = kap[:n1 + 1]
            colC = C[:n1 + 1, n1]
            Czx[:n1 + 1, n1] = (1 + bk) * colC - bk * np.concatenate(([colC[0]], colC[:n1]))
            Czx[n1, :n1 + 1] = (1 + bn) * C[n1, :n1 + 1] - bn * C[n, :n1 + 1]
            Cz[n1, :n1 + 1] = (1 + bn) * Czx[:n1 + 1, n1] - bn * Czx[:n1 + 1, n]
            Cz[:n1 + 1, n1] = Cz[n1, :n1 + 1]
    idx = np.arange(0, n_last + 1, every)
    if idx[-1] != n_last:
        idx = np.append(idx, n_last)
    Rc = Rd[np.ix_(idx, idx)] / alpha
    Rc[np.arange(idx.size), np.arange(idx.size)] = 1.0
    empty = np.zeros((0, idx.size))
    return SpikedResult(idx * alpha, m[idx].copy(), e[idx].copy(), mu[idx].copy(), np.zeros(idx.size),
                        np.zeros(idx.size), empty, empty, C[np.ix_(idx, idx)].copy(), Rc, method, delta2,
                        deltap, p, alpha, beta, m0, None, 0, n_last, diverged,
                        time.perf_counter() - start)


def spiked_escape_time(result: SpikedResult, level: float = 0.5) -> float:
    r"""First time $t$ at which $m(t) >$ ``level`` (linear interpolation between records); ``inf`` if never.

    For a simulation result the mean overlap is used.

    >>> th = spiked_dmft(1 / 3, 1.0, "gd", alpha=0.1, t_max=10.0)
    >>> round(spiked_escape_time(th), 2)
    1.43
    """
    if not isinstance(result, SpikedResult):
        raise ValueError(f"result must be a SpikedResult; got {type(result).__name__}")
    level = check_real("level", level, low=-1.0, high=1.0, low_open=True, high_open=True)
    m, t = result.m, result.t
    above = np.nonzero(m > level)[0]
    if above.size == 0:
        return float("inf")
    i = int(above[0])
    if i == 0:
        return float(t[0])
    return float(t[i - 1] + (level - m[i - 1]) * (t[i] - t[i - 1]) / (m[i] - m[i - 1]))


# ----------------------------------------------------------------------------------------------
# simulation
# ----------------------------------------------------------------------------------------------
def _disorder(N, delta2, deltap, p, seed, dtype):
    """Matrix G + G^T and the symmetrized tensor (flattened to (N, N^(p-1))) of one seed."""
    if p != 3:
        raise ValueError(f"p must be 3 for the simulation (dense tensor); got {p}")
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((N, N)) * np.sqrt(1.0 / (2.0 * delta2 * N))
    A = G + G.T
    J = rng.standard_normal((N, N, N), dtype=np.float32 if dtype == np.float32 else np.float64)
    J *= np.sqrt(1.0 / (3.0 * deltap * N * N))
    Js = J.copy()
    for perm in ((0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)):
        Js += J.transpose(perm)
    del J
    Js *= 3.0 / 6.0                       # gradient of sum J x x x = 3 * Js(x, x), Js the symmetrized J
    xi = rng.standard_normal(N)
    return A, Js.reshape(N, N * N), xi


def _tensor_force(Js, Z):
    """3 Js(z, z) for a batch Z of shape (B, N): one matrix product with the (N, N^2) tensor."""
    B, N = Z.shape
    ZZ = (Z[:, :, None] * Z[:, None, :]).reshape(B, N * N)
    return (Js @ ZZ.T.astype(Js.dtype, copy=False)).T.astype(np.float64)


def _run_one_disorder(N, delta2, deltap, p, methods, alpha, beta, m0, n_steps, every, seed, dtype):
    """All ``methods`` on one disorder (one seed): overlaps and energies at the recorded steps."""
    A, Js, xi = _disorder(N, delta2, deltap, p, seed, dtype)
    a2, ap = 1.0 / delta2, 1.0 / deltap
    xs = np.ones(N)
    xi -= xi.mean()                                   # orthogonal to x* = (1, ..., 1)
    x0 = m0 * xs + np.sqrt(1.0 - m0 * m0) * xi * np.sqrt(N) / np.linalg.norm(xi)
    B = len(methods)
    bets = np.stack([spiked_betas(mt, n_steps + 1, beta) for mt in methods])   # (B, K)
    kap = np.stack([bets[i] if mt == "nesterov" else np.zeros(n_steps + 1) for i, mt in enumerate(methods)])
    X = np.tile(x0, (B, 1))
    Xp = X.copy()
    rec = np.arange(0, n_steps + 1, every)
    ms = np.empty((B, rec.size))
    es = np.empty((B, rec.size))
    mus = np.full((B, rec.size), np.nan)
    j = 0
    sqN = np.sqrt(N)
    for n in range(n_steps + 1):
        record = j < rec.size and rec[j] == n
        Z = X + kap[:, n, None] * (X - Xp)
        AZ = Z @ A
        TZ = _tensor_force(Js, Z)                      # 3 Js(z, z)
        if record:
            m = X @ xs / N
            ms[:, j] = m
            AX, TX = AZ.copy(), TZ.copy()
            off = np.nonzero(np.any(Z != X, axis=1))[0]   # Nesterov's look-ahead point differs from x_n
            if off.size:
                AX[off], TX[off] = X[off] @ A, _tensor_force(Js, X[off])
            # H/N = -(x.A x)/(2N) - x.(3 Js(x,x))/(3N) - Q(m)
            es[:, j] = -(0.5 * np.einsum("bi,bi->b", X, AX) + np.einsum("bi,bi->b", X, TX) / 3.0) / N \
                - _Q(m, a2, ap, p, 0)
        mz = Z @ xs / N
        F = AZ + TZ + _Q(mz, a2, ap, p, 1)[:, None] * xs
        Xt = X + bets[:, n, None] * (X - Xp) + alpha * F
        r = np.linalg.norm(Xt, axis=1) / sqN
        if record:
            mus[:, j] = (r - 1.0) / alpha
            j += 1
        if n == n_steps:
            break
        Xp = X
        X = Xt / r[:, None]
        if not np.all(np.isfinite(X)):
            raise FloatingPointError(f"simulation diverged at step {n} (seed {seed}); reduce alpha")
    return rec * alpha, ms, es, mus


def spiked_simulate_methods(N: int, delta2: float, deltap: float, methods=SPIKED_METHODS, alpha: float = 0.05,
                            beta: float = 0.9, m0: float = 0.1, t_max: float = 20.0, seeds=4, p: int = 3,
                            every: int = 1) -> dict:
    r"""Run several iterations on the same disorders (one per seed): a dict method -> :class:`SpikedResult`.

    Sharing the disorder costs nothing extra (one product with the tensor serves all methods) and
    makes the comparison between methods paired. See :func:`spiked_simulate`.

    >>> sims = spiked_simulate_methods(32, 1 / 3, 1.0, ("gd", "heavy_ball"), alpha=0.1, t_max=1.0, seeds=2, every=5)
    >>> sorted(sims), sims["gd"].m.shape
    (['gd', 'heavy_ball'], (3,))
    """
    start = time.perf_counter()
    if isinstance(methods, str):
        methods = (methods,)
    try:
        methods = tuple(check_choice("methods", mt, SPIKED_METHODS) for mt in methods)
    except TypeError:
        raise ValueError(f"methods must be a sequence of names from {SPIKED_METHODS}; got {methods!r}") from None
    if not methods or len(set(methods)) != len(methods):
        raise ValueError(f"methods must be a non-empty sequence of distinct names from {SPIKED_METHODS}")
    delta2, deltap, _, alpha, beta, m0, t_max, p, n_steps = _check_common(
        delta2, deltap, methods[0], alpha, beta, m0, t_max, p)
    N = check_int("N", N, low=4, high=512)
    if p != 3:
        raise ValueError(f"p must be 3 for the simulation (dense tensor); got {p}")
    seeds = check_seeds("seeds", seeds)
    every = check_int("every", every, low=1)
    check_budget("tensor entries x steps x seeds", float(N) ** 3 * n_steps * len(seeds), limit=5e13)
    check_budget("tensor entries held at once (tensor and its symmetrized copy)", 2.0 * float(N) ** 3, limit=2**28)
    dtype = np.float64 if N <= 128 else np.float32
    out = [_run_one_disorder(N, delta2, deltap, p, methods, alpha, beta, m0, n_steps, every, s, dtype)
           for s in seeds]
    t = out[0][0]
    res = {}
    for i, mt in enumerate(methods):
        ms = np.stack([o[1][i] for o in out])
        es = np.stack([o[2][i] for o in out])
        mus = np.stack([o[3][i] for o in out])
        m, msem = mean_sem(ms, axis=0) if len(seeds) > 1 else (ms[0], np.zeros(t.size))
        e, esem = mean_sem(es, axis=0) if len(seeds) > 1 else (es[0], np.zeros(t.size))
        res[mt] = SpikedResult(t, m, e, mus.mean(axis=0), msem, esem, ms, es, np.zeros((0, 0)), np.zeros((0, 0)),
                               mt, delta2, deltap, p, alpha, beta, m0, N, len(seeds), n_steps, False,
                               time.perf_counter() - start)
    return res


def spiked_simulate(N: int, delta2: float, deltap: float, method: str = "gd", alpha: float = 0.05,
                    beta: float = 0.9, m0: float = 0.1, t_max: float = 20.0, seeds=4, p: int = 3,
                    every: int = 1) -> SpikedResult:
    r"""The iteration at finite N with the dense p = 3 tensor, averaged over seeds.

    Each seed draws its own disorder $(G, J)$ and initial point
    $x_0 = m_0 x^* + \sqrt{1-m_0^2}\,x_\perp$ ($x_\perp\perp x^*$ uniform on its sphere), so
    the initial overlap is exactly the theory's ``m0``. The tensor is stored symmetrized as an
    $N\times N^2$ matrix (float64 up to N = 128, float32 above: $N^3$ entries) and each
    step costs one product with it. Same parameters and fields as :func:`spiked_dmft`.

    >>> sim = spiked_simulate(32, 1 / 3, 1.0, "gd", alpha=0.1, t_max=1.0, seeds=2, every=5)
    >>> sim.m.round(3).tolist()[0], sim.n_seeds
    (0.1, 2)
    """
    method = check_choice("method", method, SPIKED_METHODS)
    return spiked_simulate_methods(N, delta2, deltap, (method,), alpha, beta, m0, t_max, seeds, p, every)[method]


def spiked_load_runs(path) -> dict:
    """Read the file written by ``book/data/spiked_make.py``.

    Returns ``{"theory": {method: SpikedResult}, "sim": {N: {method: SpikedResult}}, "scan": {...},
    "phase": {deltap: {"inv_delta2": ..., method: t_escape}}}``
    with the parameters in ``"params"`` (delta2, deltap, alpha, beta, m0, scan_alpha, scan_m0).
    """
    import os
    if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
        raise ValueError(f"path must name an existing .npz file written by book/data/spiked_make.py; got {path!r}")
    d = np.load(path)
    delta2, deltap, alpha, beta, m0, scan_alpha, scan_m0 = (float(v) for v in d["params"])
    params = dict(delta2=delta2, deltap=deltap, alpha=alpha, beta=beta, m0=m0, scan_alpha=scan_alpha,
                  scan_m0=scan_m0)
    empty = np.zeros((0, 0))
    out = {"params": params, "theory": {}, "sim": {}, "scan": {"inv_delta2": d["scan/inv_delta2"]}}
    for method in SPIKED_METHODS:
        t = d[f"theory/{method}/t"]
        z = np.zeros(t.size)
        out["theory"][method] = SpikedResult(t, d[f"theory/{method}/m"], d[f"theory/{method}/energy"],
                                             d[f"theory/{method}/mu"], z, z, empty, empty, empty, empty,
                                             method, delta2, deltap, 3, alpha, beta, m0, None, 0,
                                             int(round(t[-1] / alpha)), False, 0.0)
        if f"scan/{method}/t_escape" in d:
            out["scan"][method] = d[f"scan/{method}/t_escape"]
    out["phase"] = {}
    for dp in sorted({float(k.split("/")[1]) for k in d.files if k.startswith("phase/")}):
        key = f"phase/{dp:g}"
        out["phase"][dp] = {"inv_delta2": d[f"{key}/inv_delta2"]}
        for method in SPIKED_METHODS:
            out["phase"][dp][method] = d[f"{key}/{method}/t_escape"]
    sizes = sorted({int(k.split("/")[1]) for k in d.files if k.startswith("sim/")})
    for N in sizes:
        out["sim"][N] = {}
        for method in SPIKED_METHODS:
            ms, es = d[f"sim/{N}/{method}/m_seeds"], d[f"sim/{N}/{method}/energy_seeds"]
            m, msem = mean_sem(ms, axis=0)
            e, esem = mean_sem(es, axis=0)
            t = d[f"sim/{N}/{method}/t"]
            out["sim"][N][method] = SpikedResult(t, m, e, d[f"sim/{N}/{method}/mu"], msem, esem, ms, es, empty,
                                                 empty, method, delta2, deltap, 3, alpha, beta, m0, N,
                                                 ms.shape[0], int(round(t[-1] / alpha)), False, 0.0)
    return out


# ----------------------------------------------------------------------------------------------
# plots
# ----------------------------------------------------------------------------------------------
def plot_spiked_overlap(inv_delta2: float = 3.0, deltap: float = 1.0, alpha: float = 0.1, beta: float = 0.9,
                        m0: float = 0.01, t_max: float = 30.0, ax=None):
    r"""DMFT overlap $m(t)$ of the three iterations at $(1/\Delta_2, \Delta_p)$ (the chapter's widget).

    The dashed line marks $m$ = 0.5; the title gives the threshold $1/\Delta_2^{\rm GF}$.
    Pure function of its arguments; returns the axes.

    >>> ax = plot_spiked_overlap(3.0, 1.0, t_max=2.0)
    >>> len(ax.get_lines())
    4
    """
    from ..plotting import new_figure
    inv_delta2 = check_real("inv_delta2", inv_delta2, low=1e-3, high=1e3)
    if ax is None:
        _, ax = new_figure()
    for method in SPIKED_METHODS:
        th = spiked_dmft(1.0 / inv_delta2, deltap, method, alpha=alpha, beta=beta, m0=m0, t_max=t_max)
        ax.plot(th.t, th.m, label=_LABELS[method] + (f" (β = {beta:g})" if method == "heavy_ball" else ""))
    ax.axhline(0.5, color="0.5", ls="--", lw=1)
    ax.set_xlabel(r"$t = n\alpha$")
    ax.set_ylabel(r"overlap $m(t)$")
    thr = float(spiked_threshold(deltap))
    ax.set_title(rf"$1/\Delta_2$ = {inv_delta2:g}, $\Delta_p$ = {deltap:g} (threshold {thr:.3g}), $m_0$ = {m0:g}",
                 fontsize=10)
    ax.legend()
    return ax


def plot_spiked_vs_simulation(theories: dict, sims: dict, field: str = "m", ax=None, every: int = 1):
    """Theory lines and simulation markers (error bars: one sem) of ``field`` for each method, one colour per method.

    ``theories``: method -> :class:`SpikedResult` (DMFT); ``sims``: method -> :class:`SpikedResult`
    (simulation) on the same parameters. Returns the axes.
    """
    from ..plotting import new_figure, plot_simulation, simulation_label
    field = check_choice("field", field, ("m", "energy", "mu"))
    for name, group in (("theories", theories), ("sims", sims)):
        if not isinstance(group, dict) or not all(isinstance(v, SpikedResult) for v in group.values()):
            raise ValueError(f"{name} must be a dict method -> SpikedResult; got {type(group).__name__}")
        if not set(group) <= set(SPIKED_METHODS):
            raise ValueError(f"{name} keys must be among {SPIKED_METHODS}; got {sorted(group)!r}")
    every = check_int("every", every, low=1)
    if ax is None:
        _, ax = new_figure()
    for method, th in theories.items():
        line, = ax.plot(th.t, getattr(th, field), "-", label=f"{_LABELS[method]}: DMFT")
        if method in sims:
            sim = sims[method]
            sem = getattr(sim, field + "_sem") if field != "mu" else None
            plot_simulation(ax, sim.t, getattr(sim, field), sem, every=every, color=line.get_color(),
                            label=simulation_label(sim.N, sim.n_seeds, prefix=_LABELS[method] + ": sim."))
    ax.set_xlabel(r"$t = n\alpha$")
    ax.set_ylabel({"m": r"overlap $m(t)$", "energy": r"energy $H/N$", "mu": r"$\mu(t)$"}[field])
    ax.legend(fontsize=8)
    return ax
