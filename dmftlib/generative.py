r"""A generative flow in the teacher-student setup: flow matching on a teacher's controlled ODE.

The same rank-one linear field as :mod:`dmftlib.autoregressive` (the neural-ODE family of
:mod:`dmftlib.neural_ode` with one direction and a linear vector field, :cite:t:`urbani2026theory`),
now used as the velocity of a flow in inference time $\tau\in[0,1]$.

**Teacher distribution.** Push a standard Gaussian $z(0)\sim\mathcal N(0, I_N)$ through the
teacher's ODE

.. math::

    \frac{dz}{d\tau} = V^*(z) = \frac{b^*}{N}\,w^*\,(w^*\cdot z),\qquad |w^*|^2 = N,

so $z(\tau) = z(0) + (e^{b^*\tau} - 1)\,w^*\lambda^*_0/\sqrt N$ with
$\lambda^*_0 = w^*\cdot z(0)/\sqrt N$, and $z(1)\sim\mathcal N(0, \Sigma^*)$,
$\Sigma^* = I_N + (e^{2b^*} - 1)\,w^*w^{*\top}/N$: a spiked Gaussian.

**Student flow** $V(z) = u\,(w\cdot z)/N$; it generates $\mathcal N(0, \Sigma)$ with
$\Sigma = EE^\top$, $E = e^{uw^\top/N} = I_N + \gamma(S)\,uw^\top/N$,
$\gamma(S) = (e^S - 1)/S$, $S = u\cdot w/N$.

**Training: flow matching on the teacher's velocity** (regression of the student's field on the
teacher's along the teacher's paths, :cite:t:`lipman2023flow`, :cite:t:`albergo2023building`). One
step draws $\tau\sim U[0,1]$, $z(0)\sim\mathcal N(0, I_N)$ and descends
$\ell = \tfrac12|V(z(\tau)) - V^*(z(\tau))|^2$; with $r = V^* - V$,
$\lambda = w\cdot z/\sqrt N$, $g = u\cdot r/\sqrt N$:
$w\leftarrow w + \eta\,g\,z/\sqrt N$, $u\leftarrow u + \eta\,\lambda\,r/\sqrt N$.
The inputs $z(\tau)$ are spiked along $w^*$ by $\kappa = e^{b^*\tau} - 1$, so the
order parameters $(Q_w, R_w, Q_u, R_u, S)$ obey the ODEs of :mod:`dmftlib.autoregressive`
averaged over $\tau$ (Gauss-Legendre quadrature), with no noise term.

**Distances** (closed forms in the overlaps, computed in the three-dimensional span of
$w^*, w, u$, where both covariances differ from the identity):
the squared 2-Wasserstein distance
$W_2^2 = \operatorname{tr}\Sigma + \operatorname{tr}\Sigma^* - 2\operatorname{tr}(\Sigma^{*1/2}\Sigma\Sigma^{*1/2})^{1/2}$
(field ``w2``, the distance $W_2$ itself), the second-moment error
$\|\Sigma - \Sigma^*\|_F$ (``cov_err``), and the population flow-matching loss (``loss``).

Examples
--------
>>> th = theory(b_star=0.5, eta=0.5, t=[0.0, 10.0, 40.0])
>>> th.w2.round(4).tolist()
[0.9415, 0.1141, 0.0003]
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from .autoregressive import STATE, _check_grid, _check_stored, _gram, _integrate_rank_one, _rank_one_sgd, initial_gram
from .core import ReadOnlyArrays, check_array, check_budget, check_int, check_real, check_seeds, mean_sem
from .core.validation import check_public

__all__ = ["GenTheory", "GenSimulation", "distances", "theory", "simulate", "summarize", "plot_distance", "plot_widget"]


def _psd_sqrt(A):
    w, V = np.linalg.eigh(0.5 * (A + np.swapaxes(A, -1, -2)))
    return (V * np.sqrt(np.clip(w, 0.0, None))[..., None, :]) @ np.swapaxes(V, -1, -2)


def _tau_nodes(b_star, n_tau):
    x, wts = np.polynomial.legendre.leggauss(n_tau)
    tau = 0.5 * (x + 1.0)
    return np.expm1(b_star * tau), 0.5 * wts


def _distances(y, b_star, n_tau=16):
    """(W2, ||Sigma - Sigma*||_F, flow-matching loss) for states (..., 5)."""
    G = _gram(y)
    w, V = np.linalg.eigh(G)
    F = V * np.sqrt(np.clip(w, 0.0, None))[..., None, :]             # rows: coordinates of w*, w, u
    fs, fw, fu = F[..., 0, :], F[..., 1, :], F[..., 2, :]
    S = y[..., 4]
    with np.errstate(over="ignore", invalid="ignore"):
        gam = np.where(np.abs(S) < 1e-8, 1.0 + S / 2, np.expm1(S) / np.where(S == 0, 1.0, S))
        I3 = np.eye(3)
        E = I3 + gam[..., None, None] * fu[..., :, None] * fw[..., None, :]
        Sig = E @ np.swapaxes(E, -1, -2)
        Sig_s = I3 + np.expm1(2 * b_star) * fs[..., :, None] * fs[..., None, :]
        r = _psd_sqrt(Sig_s)
        cross = np.linalg.eigvalsh(r @ Sig @ r)
        w2sq = np.trace(Sig, axis1=-2, axis2=-1) + np.trace(Sig_s, axis1=-2, axis2=-1) \
            - 2 * np.sqrt(np.clip(cross, 0.0, None)).sum(-1)
        cov = np.sqrt(((Sig - Sig_s) ** 2).sum((-2, -1)))
        kap, wts = _tau_nodes(b_star, n_tau)
        Qw, Rw, Qu, Ru = (y[..., i, None] for i in range(4))
        s = 1.0 + kap
        # E(lambda*^2), E(lambda*0 s lambda), E(lambda^2) at z(tau), lambda = lambda0 + kappa Rw lambda*0
        ess = s ** 2
        esl = s * (Rw + kap * Rw)
        ell = Qw + 2 * kap * Rw ** 2 + kap ** 2 * Rw ** 2
        loss = 0.5 * ((b_star ** 2 * ess - 2 * b_star * Ru * esl + Qu * ell) @ wts)
    out = np.sqrt(np.clip(w2sq, 0.0, None)), cov, np.clip(loss, 0.0, None)
    if not all(np.all(np.isfinite(o)) for o in out):
        raise ValueError("the distances overflow: the overlaps are too large (reduce eta or b_star)")
    return out


def distances(Qw, Rw, Qu, Ru, S, b_star: float = 0.5, n_tau: int = 16):
    r"""2-Wasserstein distance, second-moment error and flow-matching loss from the overlaps.

    Overlaps may be arrays (broadcast together); returns ``(w2, cov_err, loss)``. Equal to the
    same quantities computed from the full $N\times N$ covariances (checked in the tests).

    >>> [round(float(v), 6) for v in distances(1.0, 1.0, 0.25, 0.5, 0.5, b_star=0.5)]
    [0.0, 0.0, 0.0]
    """
    b_star = check_real("b_star", b_star, low=-5.0, high=5.0)
    n_tau = check_int("n_tau", n_tau, low=2, high=200)
    arrs = np.broadcast_arrays(*[check_array(n, v, low=-1e6, high=1e6) for n, v in zip(STATE, (Qw, Rw, Qu, Ru, S))])
    return _distances(np.stack(arrs, -1), b_star, n_tau)


@dataclass(frozen=True)
class GenTheory(ReadOnlyArrays):
    r"""Order-parameter ODE solution ($N\to\infty$): ``t``; ``w2`` the 2-Wasserstein distance
    between generated and teacher distributions; ``cov_err`` $\|\Sigma - \Sigma^*\|_F$;
    ``loss`` the population flow-matching loss; overlaps ``Qw``, ``Rw``, ``Qu``, ``Ru``, ``S``."""

    t: np.ndarray
    w2: np.ndarray
    cov_err: np.ndarray
    loss: np.ndarray
    Qw: np.ndarray
    Rw: np.ndarray
    Qu: np.ndarray
    Ru: np.ndarray
    S: np.ndarray
    b_star: float
    eta: float


@dataclass(frozen=True)
class GenSimulation(ReadOnlyArrays):
    """Flow-matching SGD at finite ``N``: the fields of :class:`GenTheory` as means over seeds, with
    standard errors ``*_sem``, every run in ``w2_seeds`` and ``cov_err_seeds`` (n_seeds, nt), and the
    overlaps' standard errors ``overlaps_sem`` (nt, 5) and every run's overlaps ``overlaps_seeds`` (n_seeds, nt, 5)."""

    t: np.ndarray
    w2: np.ndarray
    w2_sem: np.ndarray
    w2_seeds: np.ndarray
    cov_err: np.ndarray
    cov_err_sem: np.ndarray
    cov_err_seeds: np.ndarray
    loss: np.ndarray
    loss_sem: np.ndarray
    Qw: np.ndarray
    Rw: np.ndarray
    Qu: np.ndarray
    Ru: np.ndarray
    S: np.ndarray
    overlaps_sem: np.ndarray
    overlaps_seeds: np.ndarray
    b_star: float
    eta: float
    N: int
    n_seeds: int
    seeds: tuple
    wall_time: float


def _check(b_star, eta, q0, r0, c0, t):
    b_star = check_real("b_star", b_star, low=-2.0, high=2.0)
    eta = check_real("eta", eta, low=0.0, low_open=True, high=100.0)
    t = np.linspace(0.0, 40.0, 41) if t is None else _check_grid(t)
    return b_star, eta, initial_gram(q0, r0, c0), t


def theory(b_star: float = 0.5, eta: float = 0.5, t=None, q0: float = 1.0, r0: float = 0.2, c0: float = 0.0,
           n_tau: int = 16, dt: float = 0.05) -> GenTheory:
    r"""Distances between generated and teacher distributions over training, $N\to\infty$.

    Teacher strength ``b_star`` (spike variance $e^{2b^*}$), learning rate ``eta``, times ``t``
    (default ``linspace(0, 40, 41)``), initial overlaps :func:`dmftlib.autoregressive.initial_gram`,
    ``n_tau`` Gauss-Legendre nodes for the average over $\tau$ (16 give machine precision), RK4
    steps of at most ``dt / max(1, eta, eta |b_star|)``.

    >>> th = theory(t=[0.0, 20.0])
    >>> th.cov_err.round(4).tolist(), th.loss.round(4).tolist()
    ([2.3537, 0.0399], [0.6948, 0.0002])
    """
    b_star, eta, G0, t = _check(b_star, eta, q0, r0, c0, t)
    n_tau = check_int("n_tau", n_tau, low=2, high=200)
    kap, wts = _tau_nodes(b_star, n_tau)
    dt = check_real("dt", dt, low=0.0, low_open=True, high=0.5)
    Y = _integrate_rank_one(G0, b_star, eta, 0.0, kap, wts, t, dt)
    w2, cov, loss = _distances(Y, b_star, n_tau)
    return GenTheory(t, w2, cov, loss, *Y.T, b_star, eta)


def simulate(N: int, b_star: float = 0.5, eta: float = 0.5, t=None, seeds=8, q0: float = 1.0, r0: float = 0.2,
             c0: float = 0.0, init_seed: int = 0, chunk: int = 256) -> GenSimulation:
    r"""Flow-matching SGD at dimension ``N`` (same parameters as :func:`theory`), seeds batched.

    Per step and seed: $z(0)\sim\mathcal N(0, I_N)$ and $\tau = \Phi(n)$ from one more
    standard normal $n$ ($\Phi$ the normal CDF, so $\tau\sim U[0,1]$), the teacher's
    $z(\tau)$ and velocity in closed form, one SGD step. Overlaps realized exactly at the start
    (frame from ``init_seed``); distances from each run's overlaps by :func:`distances`.

    >>> sim = simulate(50, t=[0.0, 1.0], seeds=2)
    >>> sim.w2.round(4).tolist()
    [0.9415, 0.699]
    """
    start = time.perf_counter()
    N = check_int("N", N, low=3, high=10**6)
    b_star, eta, G0, t = _check(b_star, eta, q0, r0, c0, t)
    seeds = check_seeds("seeds", seeds)
    if len(seeds) < 2:
        raise ValueError(f"seeds must hold at least 2 seeds (for a standard error); got {len(seeds)}")
    init_seed = check_int("init_seed", init_seed, low=0)
    chunk = check_int("chunk", chunk, low=1, high=10**5)
    check_budget("SGD steps x N x seeds", float(t[-1]) * N * N * len(seeds))
    Y = np.moveaxis(_rank_one_sgd(N, seeds, t, G0, b_star, eta, 0.0, init_seed,
                                  lambda n: np.expm1(b_star * ndtr(n)), chunk), 1, 0)        # (S, nt, 5)
    return _summarize(Y, t, b_star, eta, N, seeds, time.perf_counter() - start)


def _summarize(Y, t, b_star, eta, N, seeds, wall_time):
    w2, cov, loss = _distances(Y, b_star)
    m_w2, s_w2 = mean_sem(w2)
    m_c, s_c = mean_sem(cov)
    m_l, s_l = mean_sem(loss)
    mY, sY = mean_sem(Y)
    return GenSimulation(t, m_w2, s_w2, w2, m_c, s_c, cov, m_l, s_l, *mY.T, sY, Y, b_star, eta, N, len(seeds),
                         tuple(seeds), wall_time)


def summarize(overlaps, t, N: int, b_star: float = 0.5, eta: float = 0.5, seeds=None) -> GenSimulation:
    r"""A :class:`GenSimulation` from stored per-seed overlaps (n_seeds, nt, 5) in the order
    $(Q_w, R_w, Q_u, R_u, S)$ (to reload precomputed runs). ``seeds`` defaults to ``range(n_seeds)``.

    >>> Y = np.array([[[1.0, 0.2, 1.0, 0.2, 0.0]], [[1.0, 1.0, 0.25, 0.5, 0.5]]])
    >>> summarize(Y, [0.0], 50).w2.round(4).tolist()
    [0.4708]
    """
    Y, t, N, seeds = _check_stored(overlaps, t, N, seeds)
    b_star, eta, _, _ = _check(b_star, eta, 1.0, 0.0, 0.0, t)
    return _summarize(Y, t, b_star, eta, N, seeds, 0.0)


def plot_distance(th: GenTheory, sims=(), ax=None, field: str = "w2", every: int = 1):
    """A distance over training: theory (line) and simulations (markers with error bars)."""
    from .core import check_choice
    from .plotting import new_figure, plot_simulation, plot_theory
    field = check_choice("field", field, ("w2", "cov_err", "loss"))
    if ax is None:
        _, ax = new_figure()
    if isinstance(sims, GenSimulation):
        sims = [sims]
    if not isinstance(sims, (list, tuple)) or not all(isinstance(s, GenSimulation) for s in sims):
        raise ValueError(f"sims must be a GenSimulation or a list of them; got {sims!r:.60}")
    plot_theory(ax, th.t, getattr(th, field), color="k")
    for m, sim in enumerate(sims):
        plot_simulation(ax, sim.t, getattr(sim, field), getattr(sim, field + "_sem"), N=sim.N, n_seeds=sim.n_seeds,
                        every=every, fmt="osD^v"[m % 5])
    ax.set_yscale("log")
    ax.set_xlabel("training time $t = \\mu/N$")
    ax.set_ylabel({"w2": "$W_2$(generated, teacher)", "cov_err": "$\\|\\Sigma - \\Sigma^*\\|_F$",
                   "loss": "flow-matching loss"}[field])
    ax.legend(fontsize=8)
    return ax


def plot_widget(b_star: float = 0.5, eta: float = 0.5, r0: float = 0.2, t_max: float = 40.0, ax=None):
    """Widget: the three distances of the ODE solution over training, for teacher strength, learning rate and initial overlap."""
    from .plotting import new_figure, plot_theory
    t_max = check_real("t_max", t_max, low=0.0, low_open=True, high=500.0)
    if ax is None:
        _, ax = new_figure()
    th = theory(b_star=b_star, eta=eta, r0=r0, t=np.linspace(0.0, t_max, 81))
    plot_theory(ax, th.t, th.w2, label="$W_2$", color="C0")
    plot_theory(ax, th.t, th.cov_err, label="$\\|\\Sigma - \\Sigma^*\\|_F$", color="C1")
    plot_theory(ax, th.t, th.loss, label="flow-matching loss", color="C2")
    ax.set_yscale("log")
    ax.set_xlabel("training time $t = \\mu/N$")
    ax.set_title(f"$b^*$ = {b_star:g} (spike variance {np.exp(2 * b_star):.2f}), η = {eta:g}", fontsize=10)
    ax.legend(fontsize=8)
    return ax


check_public(globals())
