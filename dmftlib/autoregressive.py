r"""Autoregressive next-token prediction: online learning of a low-rank linear recurrence, and its rollouts.

A member of the neural-ODE family of :mod:`dmftlib.neural_ode` (a low-dimensional state driven by a
high-dimensional random projection of the input, :cite:t:`urbani2026theory`), cut down to the case
with a closed-form theory: one direction (``K = 1``) and a linear field.

**The sequences.** Tokens $x_j\in\mathbb R^N$. The teacher's next-token map reads the context
through one projection $h^*_j = w^*\cdot x_j/\sqrt N$ ($|w^*|^2 = N$) and writes back
along the same direction,

.. math::

    x_{j+1} = a\,x_j + \frac{b^*}{\sqrt N}\,w^*\,h^*_j + \sigma\xi_j
            = G^*x_j + \sigma\xi_j,\qquad G^* = a I_N + \frac{b^*}{N}\,w^*w^{*\top},

with $\xi_j\sim\mathcal N(0, I_N)$. $G^*$ has the eigenvalue $\varrho^* = a + b^*$
along $w^*$ and $a$ on the bulk: the teacher is contracting if $|\varrho^*| < 1$,
expanding if $|\varrho^*| > 1$.

**The student** $\hat x_{j+1} = G x_j$, $G = aI_N + u w^\top/N$, learns a read-in
$w$ and a write-out $u$ (the leak $a$ is shared) by online SGD on
$\ell = \tfrac12|x_{j+1} - Gx_j|^2$, one fresh context $x\sim\mathcal N(0, I_N)$ per step
(teacher forcing on i.i.d. contexts):

.. math::

    &w \leftarrow w + \frac{\eta}{\sqrt N}\,g\,x,\qquad u \leftarrow u + \frac{\eta}{\sqrt N}\,\lambda\,r,\\
    &r = x_{j+1} - Gx,\quad \lambda = \frac{w\cdot x}{\sqrt N},\quad g = \frac{u\cdot r}{\sqrt N}.

**Order parameters** $Q_w = |w|^2/N$, $Q_u = |u|^2/N$, $R_w = w\cdot w^*/N$,
$R_u = u\cdot w^*/N$, $S = u\cdot w/N$; in training time $t = \mu/N$ they obey, as
$N\to\infty$, the closed polynomial ODEs (derived in the chapter)

.. math::

    \dot Q_w &= 2\eta(b^*R_uR_w - Q_uQ_w)\\
    &\quad + \eta^2\big[(b^*R_u)^2 - 2b^*R_uQ_uR_w + Q_u^2Q_w + \sigma^2Q_u\big],\\
    \dot Q_u &= 2\eta(b^*R_uR_w - Q_uQ_w) + \eta^2\sigma^2Q_w,\\
    \dot R_w &= \eta(b^*R_u - Q_uR_w),\qquad
    \dot R_u = \eta(b^*R_w - R_uQ_w),\\
    \dot S &= \eta(b^*R_u^2 - Q_uS) + \eta(b^*R_w^2 - SQ_w).

**Rollout errors.** The $k$-step-ahead prediction from a context $x$ is $G^kx$, to be
compared with the teacher's mean $G^{*k}x$. Since $G^k = a^kI + \beta_k uw^\top/N$ with
$\beta_k = \sum_{i<k}\varrho^i a^{k-1-i}$, $\varrho = a + S$ (and $\beta^*_k$ with
$\varrho^*$, times $b^*$),

.. math::

    \epsilon_k = \tfrac12\,\mathbb E\,|G^kx - G^{*k}x|^2
               = \tfrac12\big[\beta_k^2Q_uQ_w - 2\beta_k\beta^*_kR_uR_w + \beta^{*2}_k\big],

with $\beta^*_k = b^*\sum_{i<k}\varrho^{*i}a^{k-1-i}$; $\epsilon_1$ is the one-step
(next-token) error, the loss without its noise part $N\sigma^2/2$.

Examples
--------
>>> th = theory(a=0.5, b_star=0.7, eta=0.5, t=[0.0, 5.0, 20.0], ks=[1, 5])
>>> th.eps_1.round(4).tolist(), th.rho.round(4).tolist()
([0.717, 0.1762, 0.0001], [0.5, 0.6572, 1.1993])
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .core import ReadOnlyArrays, check_array, check_budget, check_int, check_real, check_seeds, integrate, mean_sem
from .core.validation import check_public
from .neural_ode import _factor

__all__ = ["ARTheory", "ARSimulation", "initial_gram", "realize", "overlaps", "rollout_errors", "rhs", "ARStationary", "stationary", "theory", "simulate", "summarize",
           "plot_learning_curves", "plot_rollout", "plot_widget"]

#: order of the state vector of the ODEs
STATE = ("Qw", "Rw", "Qu", "Ru", "S")


# ----------------------------------------------------------------------------------------------
# shared engine (also used by dmftlib.generative): a rank-one linear field u w^T / N regressing
# b* w* w*^T / N on inputs z = z0 + kappa w* (w*.z0) / N, z0 ~ N(0, I_N)
# ----------------------------------------------------------------------------------------------
def initial_gram(q0: float = 1.0, r0: float = 0.2, c0: float = 0.0) -> np.ndarray:
    r"""Gram matrix of $(w^*, w, u)/\sqrt N$ at the start: $Q_w = Q_u = q_0$, $R_w = R_u = r_0$, $S = c_0$.

    >>> initial_gram(1.0, 0.2, 0.0).tolist()
    [[1.0, 0.2, 0.2], [0.2, 1.0, 0.0], [0.2, 0.0, 1.0]]
    """
    q0 = check_real("q0", q0, low=0.0, low_open=True, high=1e6)
    r0 = check_real("r0", r0, low=-1e3, high=1e3)
    c0 = check_real("c0", c0, low=-1e6, high=1e6)
    G = np.array([[1.0, r0, r0], [r0, q0, c0], [r0, c0, q0]])
    if np.linalg.eigvalsh(G).min() < -1e-12:
        raise ValueError(f"q0, r0, c0 = {q0:g}, {r0:g}, {c0:g} are not overlaps of three vectors "
                         "(the Gram matrix is not positive semi-definite): take |r0| and |c0| smaller than q0")
    return G


def _gram(y):
    """Gram matrices of (w*, w, u) from states (..., 5) = (Qw, Rw, Qu, Ru, S)."""
    Qw, Rw, Qu, Ru, S = np.moveaxis(y, -1, 0)
    one = np.ones_like(Qw)
    return np.stack([np.stack([one, Rw, Ru], -1), np.stack([Rw, Qw, S], -1), np.stack([Ru, S, Qu], -1)], -2)


def _state(G):
    """State (Qw, Rw, Qu, Ru, S) from a Gram matrix of (w*, w, u)."""
    return np.array([G[1, 1], G[0, 1], G[2, 2], G[0, 2], G[1, 2]])


def _rank_one_rhs(y, b_star, eta, sigma, kappa, weights):
    r"""Drift of (Qw, Rw, Qu, Ru, S) for the rank-one field, averaged over input spikes ``kappa`` (with ``weights``).

    Fields at the input $z = z_0 + \kappa w^*\lambda^*_0/\sqrt N$ are linear in
    $\zeta = (\lambda^*_0, \lambda_0, \nu_0)\sim\mathcal N(0, G)$; every average is a quadratic form
    $\langle(a\cdot\zeta)(c\cdot\zeta)\rangle = a^\top Gc$.
    """
    Qw, Rw, Qu, Ru, S = y
    G = _gram(y)
    k = np.asarray(kappa, float)
    z, o = np.zeros_like(k), np.ones_like(k)
    e_s = np.stack([1.0 + k, z, z], -1)              # teacher field  w*.z / sqrt N
    e_l = np.stack([k * Rw, o, z], -1)               # student read-in  w.z / sqrt N
    e_n = np.stack([k * Ru, z, o], -1)               # u.z / sqrt N
    gam = b_star * Ru * e_s - Qu * e_l               # g = u.r / sqrt N (signal part)
    r_s = b_star * e_s - Ru * e_l                    # w*.r / sqrt N
    r_w = b_star * Rw * e_s - S * e_l                # w.r / sqrt N

    def avg(p, q):
        return float(weights @ np.einsum("ni,ij,nj->n", p, G, q))

    gl = avg(gam, e_l)
    return np.array([2 * eta * gl + eta ** 2 * (avg(gam, gam) + sigma ** 2 * Qu),
                     eta * avg(gam, e_s),
                     2 * eta * gl + eta ** 2 * sigma ** 2 * avg(e_l, e_l),
                     eta * avg(e_l, r_s),
                     eta * avg(gam, e_n) + eta * avg(e_l, r_w)])


def _integrate_rank_one(G0, b_star, eta, sigma, kappa, weights, t, dt=0.05):
    """RK4 solution of the rank-one ODEs on the grid t (steps of at most dt / max(1, eta, eta |b*|))."""
    y0 = _state(G0)
    t0 = np.concatenate([[0.0], t]) if t[0] > 0 else t
    h = np.diff(t0).max()
    sub = int(np.ceil(h * max(1.0, eta, eta * abs(b_star)) / dt))
    check_budget("ODE steps (reduce t[-1] or eta)", (t0.size - 1) * sub, limit=2e5)
    try:
        Y = integrate(lambda _, y: _rank_one_rhs(y, b_star, eta, sigma, kappa, weights), y0, t0, substeps=sub)
    except ValueError as err:
        raise ValueError(f"the order-parameter ODEs diverged (eta = {eta:g} too large?): {err}") from None
    if np.abs(Y).max() > 1e8:
        raise ValueError(f"the order-parameter ODEs diverged (|overlaps| > 1e8); reduce eta = {eta:g}")
    return Y[1:] if t[0] > 0 else Y


def _realize_three(G0, N, init_seed):
    """Vectors w* (N,), w (N,), u (N,) with exactly the Gram matrix G0 (x N), in a random orthonormal frame."""
    U, _ = np.linalg.qr(np.random.default_rng(init_seed).standard_normal((N, 3)))
    X = _factor(G0) @ U.T * np.sqrt(N)
    return X[0], X[1], X[2]


def realize(N: int, q0: float = 1.0, r0: float = 0.2, c0: float = 0.0, init_seed: int = 0):
    r"""Teacher $w^*$ and student $(w, u)$ in $\mathbb R^N$ with exactly the overlaps of
    :func:`initial_gram` (the frame :func:`simulate` starts from, drawn from ``init_seed``).

    >>> ws, w, u = realize(50, q0=1.0, r0=0.2, c0=0.1)
    >>> [round(float(v), 6) for v in (ws @ ws / 50, w @ ws / 50, u @ w / 50)]
    [1.0, 0.2, 0.1]
    """
    N = check_int("N", N, low=3, high=10**7)
    return _realize_three(initial_gram(q0, r0, c0), N, check_int("init_seed", init_seed, low=0))


def _rank_one_sgd(N, seeds, t, G0, b_star, eta, sigma, init_seed, spike, chunk=256):
    r"""Online SGD of the rank-one field with the seeds on a leading axis.

    ``spike(tau_normal)`` maps one extra standard normal per step and seed to the input spike
    $\kappa$ (``None``: $\kappa = 0$, no extra draw). Per step and seed the stream draws
    ``N`` normals for $z_0$, then ``N`` for the noise $\xi$ if ``sigma > 0``, then one for
    $\kappa$ if ``spike`` is given (``chunk`` steps at a time; the numbers do not depend on ``chunk``).
    Returns the overlaps (nt, S, 5).
    """
    S = len(seeds)
    steps = np.rint(t * N).astype(np.int64)
    if np.any(np.diff(steps) <= 0):
        raise ValueError(f"t must be spaced by at least 1/N = {1.0 / N:g} so that record steps are distinct")
    ws, w0, u0 = _realize_three(G0, N, init_seed)
    W = np.broadcast_to(w0, (S, N)).copy()
    U = np.broadcast_to(u0, (S, N)).copy()
    rngs = [np.random.default_rng(s) for s in seeds]
    sq = np.sqrt(N)
    width = N + (N if sigma > 0 else 0) + (1 if spike is not None else 0)
    out = np.empty((t.size, S, 5))

    def record(j):
        out[j] = np.stack([np.einsum("sn,sn->s", W, W) / N, W @ ws / N, np.einsum("sn,sn->s", U, U) / N,
                           U @ ws / N, np.einsum("sn,sn->s", U, W) / N], -1)

    j = 0
    while j < t.size and steps[j] == 0:
        record(j)
        j += 1
    mu, total = 0, int(steps[-1])
    chunk = max(1, min(chunk, 2 ** 24 // (S * width)))       # at most 2^24 doubles (128 MB) of samples at once
    while mu < total:
        nb = min(chunk, total - mu)
        Z = np.stack([r.standard_normal((nb, width)) for r in rngs], axis=1)        # (nb, S, width)
        for i in range(nb):
            z = Z[i, :, :N]
            ls0 = z @ ws / sq                                                        # teacher field (S,)
            if spike is not None:
                kap = spike(Z[i, :, -1])
                z = z + (kap * ls0)[:, None] * ws / sq
                ls = (1.0 + kap) * ls0
            else:
                ls = ls0
            lam = np.einsum("sn,sn->s", W, z) / sq
            r = ((b_star * ls)[:, None] * ws - lam[:, None] * U) / sq
            if sigma > 0:
                r += sigma * Z[i, :, N:2 * N]
            g = np.einsum("sn,sn->s", U, r) / sq
            W += (eta / sq) * g[:, None] * z
            U += (eta / sq) * lam[:, None] * r
            mu += 1
            if j < t.size and mu == steps[j]:
                record(j)
                j += 1
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(U))) or np.abs(W).max() > 1e6:
            raise ValueError(f"the simulation diverged before t = {mu / N:g}; reduce eta = {eta:g}")
    return out


def _check_stored(overlaps, t, N, seeds):
    """Checks of stored per-seed overlaps (n_seeds, nt, 5), their times, N and seeds (for ``summarize``)."""
    Y = check_array("overlaps", overlaps, ndim=3, low=-1e6, high=1e6)
    if Y.shape[-1] != 5 or Y.shape[0] < 2:
        raise ValueError(f"overlaps must have shape (n_seeds >= 2, nt, 5); got {Y.shape}")
    t = _check_grid(t)
    if t.size != Y.shape[1]:
        raise ValueError(f"t must have one time per row of overlaps ({Y.shape[1]}); got {t.size}")
    N = check_int("N", N, low=3, high=10**6)
    seeds = tuple(range(Y.shape[0])) if seeds is None else check_seeds("seeds", seeds)
    if len(seeds) != Y.shape[0]:
        raise ValueError(f"seeds must name one seed per run ({Y.shape[0]}); got {len(seeds)}")
    return Y, t, N, seeds


def overlaps(w_star, w, u):
    r"""The order parameters $(Q_w, R_w, Q_u, R_u, S)$ of vectors ``w_star``, ``w``, ``u`` (last axis $N$).

    >>> ws, w, u = realize(40, q0=0.8, r0=0.3, c0=0.1)
    >>> overlaps(ws, w, u).round(6).tolist()
    [0.8, 0.3, 0.8, 0.3, 0.1]
    """
    ws, w, u = (check_array(n, v) for n, v in (("w_star", w_star), ("w", w), ("u", u)))
    if not (ws.shape[-1] == w.shape[-1] == u.shape[-1]) or ws.ndim < 1:
        raise ValueError(f"w_star, w, u must be vectors of one length N; got shapes {ws.shape}, {w.shape}, {u.shape}")
    N = ws.shape[-1]
    return np.stack([(w * w).sum(-1), (w * ws).sum(-1), (u * u).sum(-1), (u * ws).sum(-1), (u * w).sum(-1)], -1) / N


def _check_grid(t):
    t = check_array("t", t, ndim=1, low=0.0, increasing=True)
    if t.size < 1:
        raise ValueError("t must hold at least one time")
    if t[-1] > 1e4:
        raise ValueError(f"t must end before 1e4 (training time in units of N samples); got {t[-1]:g}")
    return t


def _check_ks(ks):
    ks = check_array("ks", ks, ndim=1, low=1.0, high=1000.0)
    if ks.size < 1 or np.any(ks != np.round(ks)):
        raise ValueError(f"ks must be a non-empty list of integer rollout horizons in [1, 1000]; got {ks!r}")
    return ks.astype(int)


# ----------------------------------------------------------------------------------------------
# errors, results
# ----------------------------------------------------------------------------------------------
def _beta(rho, a, ks):
    """beta_k = sum_{i<k} rho^i a^(k-1-i), shape rho.shape + (len(ks),)."""
    rho = np.asarray(rho, float)[..., None]
    out = np.empty(rho.shape[:-1] + (ks.size,))
    for n, k in enumerate(ks):
        i = np.arange(k)
        out[..., n] = (rho ** i * float(a) ** (k - 1 - i)).sum(-1)
    return out


def _errors(y, a, b_star, ks):
    """eps_k for states (..., 5), shape (..., len(ks))."""
    Qw, Rw, Qu, Ru, S = (y[..., i, None] for i in range(5))
    beta = _beta(a + y[..., 4], a, ks)
    beta_s = b_star * _beta(np.asarray(a + b_star), a, ks)
    with np.errstate(over="ignore", invalid="ignore"):
        e = 0.5 * (beta ** 2 * Qu * Qw - 2 * beta * beta_s * Ru * Rw + beta_s ** 2)
    if not np.all(np.isfinite(e)):
        raise ValueError("the rollout error overflows: reduce the largest horizon in ks or |a + b_star|")
    return np.maximum(e, 0.0)


def rollout_errors(Qw, Rw, Qu, Ru, S, a: float, b_star: float, ks=(1,)):
    r"""Rollout errors $\epsilon_k = \tfrac12[\beta_k^2Q_uQ_w - 2\beta_k\beta^*_kR_uR_w + \beta^{*2}_k]$ from the overlaps.

    Overlaps may be arrays (broadcast together); returns shape ``broadcast + (len(ks),)``. Equal to
    $\tfrac12\|G^k - G^{*k}\|_F^2$ exactly (checked in the tests against the matrix powers).

    >>> rollout_errors(1.0, 1.0, 0.49, 0.7, 0.7, a=0.5, b_star=0.7, ks=[1, 3]).round(12).tolist()
    [0.0, 0.0]
    >>> rollout_errors(1.0, 0.9, 0.5, 0.6, 0.6, a=0.5, b_star=0.7, ks=[1, 3]).round(4).tolist()
    [0.117, 0.5549]
    """
    a = check_real("a", a, low=-10.0, high=10.0)
    b_star = check_real("b_star", b_star, low=-10.0, high=10.0)
    ks = _check_ks(ks)
    arrs = np.broadcast_arrays(*[check_array(n, v) for n, v in zip(STATE, (Qw, Rw, Qu, Ru, S))])
    return _errors(np.stack(arrs, -1), a, b_star, ks)


@dataclass(frozen=True)
class ARTheory(ReadOnlyArrays):
    r"""Order-parameter ODE solution ($N\to\infty$).

    ``t`` (nt,); ``ks`` rollout horizons; ``eps_1`` (nt,) one-step error; ``eps_k`` (nt, len(ks))
    rollout errors; overlaps ``Qw``, ``Rw``, ``Qu``, ``Ru``, ``S`` (nt,); learned eigenvalue
    ``rho`` $= a + S$ (nt,); teacher eigenvalue ``rho_star`` $= a + b^*$."""

    t: np.ndarray
    ks: np.ndarray
    eps_1: np.ndarray
    eps_k: np.ndarray
    Qw: np.ndarray
    Rw: np.ndarray
    Qu: np.ndarray
    Ru: np.ndarray
    S: np.ndarray
    rho: np.ndarray
    rho_star: float
    a: float
    b_star: float
    eta: float
    sigma: float


@dataclass(frozen=True)
class ARSimulation(ReadOnlyArrays):
    """Online SGD at finite ``N``: the fields of :class:`ARTheory` as means over seeds, with standard
    errors ``*_sem`` and every run in ``eps_1_seeds`` (n_seeds, nt), ``eps_k_seeds`` (n_seeds, nt, len(ks)),
    ``rho_seeds`` (n_seeds, nt), and the overlaps of every run in ``overlaps_seeds`` (n_seeds, nt, 5). Errors of a run are computed from its overlaps by :func:`rollout_errors`."""

    t: np.ndarray
    ks: np.ndarray
    eps_1: np.ndarray
    eps_1_sem: np.ndarray
    eps_1_seeds: np.ndarray
    eps_k: np.ndarray
    eps_k_sem: np.ndarray
    eps_k_seeds: np.ndarray
    Qw: np.ndarray
    Rw: np.ndarray
    Qu: np.ndarray
    Ru: np.ndarray
    S: np.ndarray
    overlaps_sem: np.ndarray
    rho: np.ndarray
    rho_sem: np.ndarray
    rho_seeds: np.ndarray
    overlaps_seeds: np.ndarray
    rho_star: float
    a: float
    b_star: float
    eta: float
    sigma: float
    N: int
    n_seeds: int
    seeds: tuple
    wall_time: float


def _check_params(a, b_star, eta, sigma, q0, r0, c0):
    a = check_real("a", a, low=-10.0, high=10.0)
    b_star = check_real("b_star", b_star, low=-10.0, high=10.0)
    eta = check_real("eta", eta, low=0.0, low_open=True, high=100.0)
    sigma = check_real("sigma", sigma, low=0.0, high=100.0)
    return a, b_star, eta, sigma, initial_gram(q0, r0, c0)


def rhs(Qw: float, Rw: float, Qu: float, Ru: float, S: float, b_star: float = 0.7, eta: float = 0.5,
        sigma: float = 0.0):
    r"""Right-hand side $(\dot Q_w, \dot R_w, \dot Q_u, \dot R_u, \dot S)$ of the ODEs at one point.

    >>> rhs(1.0, 0.2, 1.0, 0.2, 0.0, b_star=0.7, eta=0.5).round(4).tolist()
    [-0.7311, -0.03, -0.972, -0.03, 0.028]
    """
    b_star = check_real("b_star", b_star, low=-10.0, high=10.0)
    eta = check_real("eta", eta, low=0.0, high=100.0)
    sigma = check_real("sigma", sigma, low=0.0, high=100.0)
    y = np.array([check_real(n, v, low=-1e6, high=1e6) for n, v in zip(STATE, (Qw, Rw, Qu, Ru, S))])
    return _rank_one_rhs(y, b_star, eta, sigma, np.zeros(1), np.ones(1))


def theory(a: float = 0.5, b_star: float = 0.7, eta: float = 0.5, t=None, ks=(1, 5, 10), sigma: float = 0.0,
           q0: float = 1.0, r0: float = 0.2, c0: float = 0.0, dt: float = 0.05) -> ARTheory:
    r"""Learning curves of the one-step and rollout errors for $N\to\infty$ (RK4 on the ODEs).

    Parameters: leak ``a`` (bulk eigenvalue), teacher strength ``b_star`` (teacher eigenvalue
    $\varrho^* = a + b^*$), learning rate ``eta``, times ``t`` (default ``linspace(0, 20, 41)``),
    rollout horizons ``ks``, next-token noise ``sigma``; initial overlaps :func:`initial_gram`
    ``(q0, r0, c0)``; RK4 steps of at most ``dt / max(1, eta, eta |b_star|)`` (relative error of the
    errors about 1e-7 at the default 0.05; 0.2 is enough for long runs to the stationary state).

    >>> th = theory(t=[0.0, 10.0], ks=[1, 10])
    >>> th.eps_k.round(4).tolist()
    [[0.717, 19.1581], [0.0226, 8.8302]]
    """
    a, b_star, eta, sigma, G0 = _check_params(a, b_star, eta, sigma, q0, r0, c0)
    t = np.linspace(0.0, 20.0, 41) if t is None else _check_grid(t)
    ks = _check_ks(ks)
    dt = check_real("dt", dt, low=0.0, low_open=True, high=0.5)
    Y = _integrate_rank_one(G0, b_star, eta, sigma, np.zeros(1), np.ones(1), t, dt)
    e = _errors(Y, a, b_star, np.union1d([1], ks))
    idx = np.searchsorted(np.union1d([1], ks), ks)
    return ARTheory(t, ks, e[:, 0], e[:, idx], *Y.T, a + Y[:, 4], a + b_star, a, b_star, eta, sigma)


def simulate(N: int, a: float = 0.5, b_star: float = 0.7, eta: float = 0.5, t=None, ks=(1, 5, 10),
             seeds=8, sigma: float = 0.0, q0: float = 1.0, r0: float = 0.2, c0: float = 0.0,
             init_seed: int = 0, chunk: int = 256) -> ARSimulation:
    r"""Online SGD of the student at dimension ``N`` (same parameters as :func:`theory`), seeds batched.

    Teacher $w^*$ and initial student $(w, u)$ are realized with exactly the overlaps of
    :func:`initial_gram` (frame from ``init_seed``); the seeds (an int n means ``range(n)``) differ in
    their streams of contexts and noise. ``round(t * N)`` steps of ``O(n_seeds N)`` work each.

    >>> sim = simulate(50, t=[0.0, 1.0], ks=[1], seeds=2)
    >>> sim.eps_1.round(4).tolist(), sim.n_seeds
    ([0.717, 0.368], 2)
    """
    start = time.perf_counter()
    N = check_int("N", N, low=3, high=10**6)
    a, b_star, eta, sigma, G0 = _check_params(a, b_star, eta, sigma, q0, r0, c0)
    t = np.linspace(0.0, 20.0, 41) if t is None else _check_grid(t)
    ks = _check_ks(ks)
    seeds = check_seeds("seeds", seeds)
    if len(seeds) < 2:
        raise ValueError(f"seeds must hold at least 2 seeds (for a standard error); got {len(seeds)}")
    init_seed = check_int("init_seed", init_seed, low=0)
    chunk = check_int("chunk", chunk, low=1, high=10**5)
    check_budget("SGD steps x N x seeds", float(t[-1]) * N * N * len(seeds))
    Y = np.moveaxis(_rank_one_sgd(N, seeds, t, G0, b_star, eta, sigma, init_seed, None, chunk), 1, 0)
    return _summarize(Y, t, ks, a, b_star, eta, sigma, N, seeds, time.perf_counter() - start)


def _summarize(Y, t, ks, a, b_star, eta, sigma, N, seeds, wall_time):
    kk = np.union1d([1], ks)
    e = _errors(Y, a, b_star, kk)
    idx = np.searchsorted(kk, ks)
    e1, ek = e[..., 0], e[..., idx]
    m1, s1 = mean_sem(e1)
    mk, sk = mean_sem(ek)
    mY, sY = mean_sem(Y)
    rho_seeds = a + Y[..., 4]
    mr, sr = mean_sem(rho_seeds)
    return ARSimulation(t, ks, m1, s1, e1, mk, sk, ek, *mY.T, sY, mr, sr, rho_seeds, Y, a + b_star, a, b_star, eta,
                        sigma, N, len(seeds), tuple(seeds), wall_time)


def summarize(overlaps, t, N: int, a: float = 0.5, b_star: float = 0.7, eta: float = 0.5, sigma: float = 0.0,
              ks=(1, 5, 10), seeds=None) -> ARSimulation:
    r"""An :class:`ARSimulation` from stored per-seed overlaps ``overlaps`` (n_seeds, nt, 5) in the order
    $(Q_w, R_w, Q_u, R_u, S)$ (what :func:`simulate` computes before averaging; used to reload
    precomputed runs with other rollout horizons ``ks``). ``seeds`` defaults to ``range(n_seeds)``.

    >>> sim = simulate(50, t=[0.0, 1.0], ks=[1], seeds=2)
    >>> Y = np.stack([sim.Qw, sim.Rw, sim.Qu, sim.Ru, sim.S], -1)[None].repeat(2, 0)
    >>> summarize(Y, sim.t, 50, ks=[1, 3]).eps_k.round(4).tolist()
    [[0.717, 1.518], [0.3679, 1.3312]]
    """
    Y, t, N, seeds = _check_stored(overlaps, t, N, seeds)
    a, b_star, eta, sigma, _ = _check_params(a, b_star, eta, sigma, 1.0, 0.0, 0.0)
    ks = _check_ks(ks)
    return _summarize(Y, t, ks, a, b_star, eta, sigma, N, seeds, 0.0)


@dataclass(frozen=True)
class ARStationary(ReadOnlyArrays):
    """The stationary state of the ODEs with next-token noise (closed form): overlaps, the learned
    eigenvalue ``rho`` and the one-step error floor ``eps_1``."""

    Qw: float
    Rw: float
    Qu: float
    Ru: float
    S: float
    rho: float
    eps_1: float


def stationary(a: float = 0.5, b_star: float = 0.7, eta: float = 0.5, sigma: float = 0.3) -> ARStationary:
    r"""Closed-form fixed point of the ODEs for $\sigma > 0$ (derived in the chapter):

    .. math::

        &Q_w = \frac{\eta b^{*2}}{4} + \sqrt{\frac{\eta^2b^{*4}}{16} + b^{*2}},\quad Q_u = \frac{b^{*2}}{Q_w},\\
        &S = b^* - \frac{\eta\sigma^2Q_w}{2b^*},\quad \epsilon_1 = \frac{\eta\sigma^2Q_w}{2},\\
        &R_w^2 = \frac{Q_w S}{b^*},\quad R_u = \frac{Q_uR_w}{b^*}.

    The learned eigenvalue $\varrho = a + S$ is smaller than the teacher's by
    $\eta\sigma^2Q_w/(2b^*)$: SGD noise makes the learned recurrence more contracting. Exists
    while $\eta\sigma^2Q_w < 2b^{*2}$; beyond, the student forgets the teacher ($R = 0$).

    >>> st = stationary(a=0.5, b_star=0.7, eta=0.5, sigma=0.3)
    >>> round(st.rho, 5), round(st.eps_1, 5)
    (1.17545, 0.01719)
    """
    a = check_real("a", a, low=-10.0, high=10.0)
    b_star = check_real("b_star", b_star, low=-10.0, high=10.0)
    eta = check_real("eta", eta, low=0.0, low_open=True, high=100.0)
    sigma = check_real("sigma", sigma, low=0.0, low_open=True, high=100.0)
    if b_star == 0:
        raise ValueError("b_star must be non-zero for a learnable teacher")
    b2 = b_star ** 2
    Qw = eta * b2 / 4 + np.sqrt(eta ** 2 * b2 ** 2 / 16 + b2)
    Qu = b2 / Qw
    S = b_star - eta * sigma ** 2 * Qw / (2 * b_star)
    if S * b_star <= 0:
        raise ValueError(f"eta sigma^2 = {eta * sigma ** 2:g} is too large: no learning fixed point "
                         f"(needs eta sigma^2 Q_w < 2 b_star^2)")
    Rw = np.sign(b_star) * np.sqrt(Qw * S / b_star)
    Ru = Qu * Rw / b_star
    return ARStationary(float(Qw), float(Rw), float(Qu), float(Ru), float(S), float(a + S),
                        float(eta * sigma ** 2 * Qw / 2))


# ----------------------------------------------------------------------------------------------
# plots
# ----------------------------------------------------------------------------------------------
def plot_learning_curves(th: ARTheory, sims=(), ax=None, every: int = 1):
    """One-step and rollout errors over training: theory (lines) and simulations (markers, one colour per k)."""
    from .plotting import new_figure, plot_simulation, plot_theory
    if ax is None:
        _, ax = new_figure()
    if isinstance(sims, ARSimulation):
        sims = [sims]
    if not isinstance(sims, (list, tuple)) or not all(isinstance(s, ARSimulation) for s in sims):
        raise ValueError(f"sims must be an ARSimulation or a list of them; got {sims!r:.60}")
    markers = "osD^v"
    for n, k in enumerate(th.ks):
        line = plot_theory(ax, th.t, th.eps_k[:, n], label=f"$\\epsilon_{{{k}}}$, theory").lines[-1]
        for m, sim in enumerate(sims):
            if k in sim.ks:
                i = int(np.flatnonzero(sim.ks == k)[0])
                plot_simulation(ax, sim.t, sim.eps_k[:, i], sim.eps_k_sem[:, i], N=sim.N, n_seeds=sim.n_seeds,
                                every=every, color=line.get_color(), fmt=markers[m % len(markers)],
                                label=(f"N = {sim.N}, {sim.n_seeds} seeds" if n == 0 else "_nolegend_"))
    ax.set_yscale("log")
    ax.set_xlabel("training time $t = \\mu/N$")
    ax.set_ylabel("rollout error $\\epsilon_k$")
    ax.legend(fontsize=8, ncols=2)
    return ax


def plot_rollout(ths, time_index: int = -1, ax=None, labels=None):
    r"""Rollout error against the horizon $k$ at one training time, for one or several theories (log scale)."""
    from .plotting import new_figure
    if ax is None:
        _, ax = new_figure()
    if isinstance(ths, ARTheory):
        ths = [ths]
    if not isinstance(ths, (list, tuple)) or not ths or not all(isinstance(th, ARTheory) for th in ths):
        raise ValueError(f"ths must be an ARTheory or a non-empty list of them; got {ths!r:.60}")
    for n, th in enumerate(ths):
        lab = (f"$\\varrho^* = {th.rho_star:g}$, $\\varrho = {th.rho[time_index]:.3f}$" if labels is None
               else labels[n])
        ax.plot(th.ks, th.eps_k[time_index], "o-", ms=3, label=lab)
    ax.set_yscale("log")
    ax.set_xlabel("rollout horizon $k$")
    ax.set_ylabel("$\\epsilon_k$")
    ax.legend(fontsize=8)
    return ax


def plot_widget(rho_star: float = 1.1, eta: float = 0.5, t_train: float = 10.0, a: float = 0.5, ax=None):
    r"""Widget: rollout error against the horizon after training time ``t_train``, for a teacher eigenvalue ``rho_star``.

    Draws $\epsilon_k$ for $k = 1..30$ (line) and the teacher's own signal
    $\tfrac12\beta^{*2}_k$ (dashed), whose ratio is the relative error of the rollout.
    """
    from .plotting import new_figure
    rho_star = check_real("rho_star", rho_star, low=0.0, high=2.0)
    t_train = check_real("t_train", t_train, low=0.0, high=200.0)
    if ax is None:
        _, ax = new_figure()
    ks = np.arange(1, 31)
    th = theory(a=a, b_star=rho_star - a, eta=eta, t=[0.0, t_train] if t_train > 0 else [0.0], ks=ks)
    ax.plot(ks, th.eps_k[-1], "o-", ms=3, color="C0",
            label=f"error $\\epsilon_k$ after t = {t_train:g} (learned $\\varrho$ = {th.rho[-1]:.3f})")
    sig = 0.5 * (th.b_star * _beta(np.asarray(th.rho_star), a, ks)) ** 2
    ax.plot(ks, sig, "k--", lw=1, label=f"teacher signal $\\beta_k^{{*2}}/2$, $\\varrho^*$ = {rho_star:g}")
    ax.set_yscale("log")
    ax.set_xlabel("rollout horizon $k$")
    ax.set_ylabel("$\\epsilon_k$")
    ax.legend(fontsize=8)
    return ax


check_public(globals())
