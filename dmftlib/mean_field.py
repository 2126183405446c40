r"""Wide two-layer networks: the lazy (neural tangent kernel) limit and the mean-field limit.

**Lazy limit** (Jacot et al. 2018; Du et al. 2019). NTK parameterization, first layer trained,
second layer fixed, ReLU $\sigma(u) = \max(u, 0)$, inputs on the unit sphere of
$\mathbb R^d$:

.. math::

    f(x) = \frac{1}{\sqrt m}\sum_{k=1}^m a_k\,\sigma(w_k\cdot x),\qquad w_k\sim\mathcal N(0, I_d),
    \quad a_k = \pm 1,

trained by gradient descent with step $\eta$ on $L = \tfrac12\sum_{i=1}^n (u_i - y_i)^2$,
$u_i = f(x_i)$, time $t = \eta\times$ steps. The outputs obey
$du/dt = -H(t)(u - y)$ with the empirical NTK
$H_{ij}(t) = (x_i\cdot x_j)\,\frac1m\sum_k \mathbf 1[w_k\cdot x_i>0]\,\mathbf 1[w_k\cdot x_j>0]$,
which at $m\to\infty$ stays at its mean
$H^\infty_{ij} = (x_i\cdot x_j)\,(\pi - \arccos(x_i\cdot x_j))/(2\pi)$ (the arc-cosine kernel of
degree 0, Cho & Saul 2009, as in :mod:`dmftlib.signal_propagation`). The limit is kernel gradient
descent, $u_k = y + (I - \eta H^\infty)^k(u_0 - y)$ ($\to y + e^{-H^\infty t}(u_0 - y)$
as $\eta\to 0$), converging at the rate $\lambda_{\min}(H^\infty)$. Neurons come in
pairs $(w, a), (w, -a)$ so that $u_0 = 0$ exactly (the symmetric initialization).
Both $\|H(t) - H(0)\|_F$ and $\|W(t)-W(0)\|_F/\|W(0)\|_F$ are $O(m^{-1/2})$.

**Mean-field limit** (Mei, Montanari & Nguyen 2018; Chizat & Bach 2018; Rotskoff &
Vanden-Eijnden 2018). $f(x) = \frac1m\sum_k a_k\sigma(w_k\cdot x)$, both layers trained by
gradient flow on the population risk $R = \tfrac12\mathbb E(y - f)^2$, time scaled by m
($d\theta_k/dt = -m\nabla_{\theta_k}R$), inputs $x\sim\mathcal N(0, I_d)$, target
$y = |x|$ (radial), $a_k\sim\mathcal N(0,\sigma_a^2)$, $w_k\sim\mathcal N(0,\sigma_w^2 I_d)$.
As $m\to\infty$ the law $\rho_t$ of $(a, w)$ stays isotropic in w, the network is
$f = c_d M(t)|x|$ with $M = \int a|w|\,d\rho_t$ and
$c_d = \mathbb E[\sigma(\hat x_1)] = (2\pi)^{-1/2}/\mathbb E|x|$, and every neuron moves along
its own direction with $r = |w|$:

.. math::

    \frac{da}{dt} = s(t)\,r,\qquad \frac{dr}{dt} = s(t)\,a,\qquad s = d\,c_d\,(1 - c_d M),

so $a\pm r$ grow/decay like $e^{\pm\tau}$ with $\tau = \int_0^t s$, until r hits 0
(when $a_0 < -r_0$): such a neuron stays dead at $r = 0$, $a = -\sqrt{a_0^2 - r_0^2}$.
Hence the distributional dynamics reduces to one ODE, $d\tau/dt = d c_d(1 - c_d M(\tau))$, and
the risk is $R = \tfrac d2(1 - c_d M)^2$. Finite-m networks are trained on the exact
population risk (arc-cosine kernel of degree 1 and its gradient), so the only finite-size effect is m.

References: A. Jacot, F. Gabriel, C. Hongler, NeurIPS 2018; S. S. Du, X. Zhai, B. Poczos,
A. Singh, ICLR 2019; S. Mei, A. Montanari, P.-M. Nguyen, PNAS 115, E7665 (2018); L. Chizat,
F. Bach, NeurIPS 2018; G. M. Rotskoff, E. Vanden-Eijnden, NeurIPS 2018 / CPAM 2022;
Y. Cho, L. K. Saul, NeurIPS 2009.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import erfinv, gammaln, ndtr, roots_genlaguerre
from scipy.stats import chi

from .core import (ConvergenceError, ReadOnlyArrays, check_array, check_budget, check_int, check_real, check_seed,
                   check_seeds, check_time_grid, fit_power_law, mean_sem)
from .plotting import new_figure, plot_simulation, plot_theory
from .signal_propagation import _relu_dk  # arc-cosine kernel of degree 0

__all__ = ["sphere_data", "ntk_gram", "empirical_ntk", "LazyTheory", "lazy_theory", "LazySimulation",
           "lazy_simulate", "lazy_width_scan", "c_d", "MeanFieldTheory", "mean_field_theory",
           "MeanFieldSimulation", "mean_field_simulate", "mean_field_width_scan", "plot_lazy_vs_width",
           "plot_mean_field"]


# ============================================================================ lazy (NTK) limit
def sphere_data(n, d, seed=0):
    r"""n inputs uniform on the unit sphere of $\mathbb R^d$ and labels $y_i = \pm 1$ at random.

    >>> X, y = sphere_data(5, 3); X.shape, np.allclose((X**2).sum(1), 1), sorted(set(y.tolist()))
    ((5, 3), True, [-1.0, 1.0])
    """
    n = check_int("n", n, low=1, high=10**5)
    d = check_int("d", d, low=1, high=10**4)
    rng = np.random.default_rng(check_seed("seed", seed, allow_none=False))
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, rng.choice([-1.0, 1.0], size=n)


def _check_X(X, y=None):
    X = check_array("X", X, ndim=2)
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must have shape (n >= 1, d >= 1); got {X.shape}")
    if not np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-8):
        raise ValueError("X must have rows of unit norm (inputs on the unit sphere)")
    if y is None:
        return X
    y = check_array("y", y, ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have length n = {X.shape[0]}; got {y.shape[0]}")
    return X, y


def ntk_gram(X):
    r"""The infinite-width NTK Gram matrix $H^\infty_{ij} = (x_i\cdot x_j)(\pi - \arccos x_i\cdot x_j)/(2\pi)$.

    This is $(x_i\cdot x_j)\,\mathbb E_w[\sigma'(w\cdot x_i)\sigma'(w\cdot x_j)]$ for the first layer
    of a ReLU network (the arc-cosine kernel of degree 0); unit-norm rows.

    >>> ntk_gram(np.eye(2)).round(4).tolist()
    [[0.5, 0.0], [0.0, 0.5]]
    """
    X = _check_X(X)
    G = np.clip(X @ X.T, -1.0, 1.0)
    return G * _relu_dk(G)


def empirical_ntk(X, W):
    r"""Empirical NTK $H_{ij} = (x_i\cdot x_j)\frac1m\sum_k \mathbf 1[w_k\cdot x_i>0]\mathbf 1[w_k\cdot x_j>0]$.

    ``W`` has shape (m, d) or (S, m, d) (a batch of networks); returns (n, n) or (S, n, n).

    >>> X, _ = sphere_data(4, 3); W = np.random.default_rng(0).standard_normal((20000, 3))
    >>> bool(np.abs(empirical_ntk(X, W) - ntk_gram(X)).max() < 0.02)
    True
    """
    X = _check_X(X)
    W = check_array("W", W)
    if W.ndim not in (2, 3) or W.shape[-1] != X.shape[1] or W.shape[-2] < 1:
        raise ValueError(f"W must have shape (m, d) or (S, m, d) with d = {X.shape[1]}; got {W.shape}")
    return _ntk(X, W)


def _ntk(X, W):
    S = (W @ X.T > 0).astype(np.float64)          # (..., m, n)
    return (np.swapaxes(S, -1, -2) @ S) / W.shape[-2] * (X @ X.T)


@dataclass(frozen=True)
class LazyTheory(ReadOnlyArrays):
    """Kernel gradient descent with $H^\\infty$ (m -> infinity): outputs ``u`` (nt, n), ``loss`` (nt,)
    at times ``t``; ``H`` the Gram matrix, ``lambda_min`` its smallest eigenvalue (the linear rate of
    $\\|u - y\\|$); ``dH`` and ``dW`` (relative kernel and weight changes) are zero."""

    t: np.ndarray
    u: np.ndarray
    loss: np.ndarray
    dH: np.ndarray
    dW: np.ndarray
    H: np.ndarray
    lambda_min: float
    eta: float


def _check_lazy(X, y, t, eta):
    X, y = _check_X(X, y)
    eta = check_real("eta", eta, low=0.0, high=10.0, low_open=True)
    t = check_array("t", t, ndim=1, low=0.0, increasing=True)
    if t.size < 1 or t.size > 10**5:
        raise ValueError(f"t must hold between 1 and 100000 times; got {t.size}")
    steps = np.round(t / eta).astype(np.int64)
    if np.any(np.abs(steps * eta - t) > 1e-6 * np.maximum(1.0, t)) or np.any(np.diff(steps) <= 0):
        raise ValueError("t must be distinct multiples of eta (t = eta x number of steps)")
    return X, y, t, eta, steps


def lazy_theory(X, y, t, eta=0.1) -> LazyTheory:
    r"""Kernel gradient descent $u_k = y - (I - \eta H^\infty)^k y$ (from $u_0 = 0$) at $t = \eta k$.

    >>> X, y = sphere_data(10, 5); th = lazy_theory(X, y, [0.0, 10.0, 20.0])
    >>> th.loss.round(3).tolist(), round(th.lambda_min, 3)
    ([5.0, 0.034, 0.002], 0.096)
    """
    X, y, t, eta, steps = _check_lazy(X, y, t, eta)
    H = ntk_gram(X)
    lam, V = np.linalg.eigh(H)
    decay = (1.0 - eta * lam)[None, :] ** steps[:, None]           # (nt, n)
    u = y[None, :] - (decay * (V.T @ y)[None, :]) @ V.T
    loss = 0.5 * ((u - y) ** 2).sum(axis=1)
    return LazyTheory(t=t, u=u, loss=loss, dH=np.zeros(t.size), dW=np.zeros(t.size), H=H,
                      lambda_min=float(lam[0]), eta=eta)


@dataclass(frozen=True)
class LazySimulation(ReadOnlyArrays):
    """Gradient descent at width m (same field names as :class:`LazyTheory`), means over seeds.

    ``u`` (nt, n) and ``loss`` (nt,) with ``loss_sem``; ``dH`` = $\\|H(t)-H(0)\\|_F/\\|H(0)\\|_F$
    and ``dW`` = $\\|W(t)-W(0)\\|_F/\\|W(0)\\|_F$ (nt,) with standard errors; ``u_dev`` (n_seeds,)
    is each seed's $\\max_t \\|u(t) - u^\\infty(t)\\|/\\sqrt n$ against :func:`lazy_theory`; ``H0``
    (n_seeds, n, n) the empirical kernels at initialization."""

    t: np.ndarray
    u: np.ndarray
    loss: np.ndarray
    loss_sem: np.ndarray
    dH: np.ndarray
    dH_sem: np.ndarray
    dW: np.ndarray
    dW_sem: np.ndarray
    u_dev: np.ndarray
    H0: np.ndarray
    m: int
    n_seeds: int
    eta: float
    wall_time: float


def lazy_simulate(m, X, y, t, eta=0.1, seeds=4) -> LazySimulation:
    r"""Train the NTK-parameterized ReLU network of width m (first layer) by gradient descent, seeds batched.

    Symmetric initialization: $w_{k+m/2} = w_k$, $a_{k+m/2} = -a_k = -1$, so
    $u_0 = 0$; m must be even. Work $\sim 3\,n\,m\,d$ per step and seed.

    >>> X, y = sphere_data(10, 5); sim = lazy_simulate(2000, X, y, [0.0, 5.0], seeds=2)
    >>> sim.loss.round(2).tolist(), round(float(lazy_theory(X, y, [5.0]).loss[0]), 2)
    ([5.0, 0.29], 0.27)
    """
    t0 = time.perf_counter()
    X, y, t, eta, steps = _check_lazy(X, y, t, eta)
    m = check_int("m", m, low=2, high=10**7)
    if m % 2:
        raise ValueError(f"m must be even (neurons come in pairs with opposite a); got {m}")
    seeds = check_seeds("seeds", seeds)
    S, (n, d) = len(seeds), X.shape
    check_budget("neuron-sample updates (steps x seeds x m x n)", float(steps[-1]) * S * m * n)
    check_budget("doubles (seeds x m x max(n, d))", 3.0 * S * m * max(n, d), limit=2**27)
    half = np.stack([np.random.default_rng(s).standard_normal((m // 2, d)) for s in seeds])
    W = np.concatenate([half, half], axis=1)                       # (S, m, d)
    a = np.concatenate([np.ones(m // 2), -np.ones(m // 2)])
    W0, H0 = W.copy(), _ntk(X, W)
    th = lazy_theory(X, y, t, eta)
    nt = t.size
    u_all, dH, dW = np.zeros((S, nt, n)), np.zeros((S, nt)), np.zeros((S, nt))
    nH0, nW0 = np.linalg.norm(H0, axis=(1, 2)), np.linalg.norm(W0, axis=(1, 2))
    j = 0
    for step in range(int(steps[-1]) + 1):
        pre = W @ X.T                                              # (S, m, n)
        u = (a @ np.maximum(pre, 0.0)) / math.sqrt(m)              # (S, n)
        if step == steps[j]:
            if not np.all(np.isfinite(u)):
                raise FloatingPointError(f"outputs became non-finite at t = {step * eta:g}; reduce eta")
            u_all[:, j] = u
            dH[:, j] = np.linalg.norm(_ntk(X, W) - H0, axis=(1, 2)) / nH0
            dW[:, j] = np.linalg.norm(W - W0, axis=(1, 2)) / nW0
            j += 1
            if j == nt:
                break
        G = (pre > 0) * ((u - y)[:, None, :] * a[None, :, None])   # (S, m, n)
        W = W - (eta / math.sqrt(m)) * (G @ X)
    loss_seeds = 0.5 * ((u_all - y) ** 2).sum(axis=2)
    u_dev = np.sqrt(((u_all - th.u[None]) ** 2).mean(axis=2)).max(axis=1)
    ms = [mean_sem(v) if S > 1 else (v[0], np.zeros_like(v[0])) for v in (loss_seeds, dH, dW)]
    return LazySimulation(t=t, u=u_all.mean(axis=0), loss=ms[0][0], loss_sem=ms[0][1], dH=ms[1][0],
                          dH_sem=ms[1][1], dW=ms[2][0], dW_sem=ms[2][1], u_dev=u_dev, H0=H0, m=m, n_seeds=S,
                          eta=eta, wall_time=time.perf_counter() - t0)


def lazy_width_scan(widths=(64, 256, 1024, 4096), n=20, d=5, t_max=60.0, eta=0.1, n_times=61,
                    seeds=8, data_seed=0) -> dict:
    """Train at every width in ``widths`` (same data); a dict of arrays for a ``.npz`` file.

    Keys: ``widths``, ``t``, ``X``, ``y``, ``loss`` / ``loss_sem`` / ``dH`` / ``dH_sem`` / ``dW`` /
    ``dW_sem`` (n_widths, nt), ``u_dev`` (n_widths, n_seeds), ``lambda_min``, ``theory_loss`` (nt,)."""
    widths = [check_int("widths[i]", w, low=2) for w in np.atleast_1d(np.asarray(widths, dtype=object))]
    t_max = check_real("t_max", t_max, low=0.0, high=1e6, low_open=True)
    eta = check_real("eta", eta, low=0.0, high=10.0, low_open=True)
    n_times = check_int("n_times", n_times, low=2, high=10**5)
    seeds = check_seeds("seeds", seeds)
    X, y = sphere_data(n, d, data_seed)
    t = eta * np.round(np.linspace(0.0, t_max, n_times) / eta)
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"n_times = {n_times} gives times closer than one step eta = {eta:g} over t_max = {t_max:g}; "
                         f"n_times must be in [2, {int(t_max / eta) + 1}]")
    th = lazy_theory(X, y, t, eta)
    sims = [lazy_simulate(w, X, y, t, eta, seeds) for w in widths]
    out = {"widths": np.array(widths), "t": t, "X": X, "y": y, "lambda_min": np.array(th.lambda_min),
           "theory_loss": th.loss}
    for f in ("loss", "loss_sem", "dH", "dH_sem", "dW", "dW_sem", "u_dev"):
        out[f] = np.stack([getattr(s, f) for s in sims])
    return out


# ============================================================================ mean-field limit
def c_d(d):
    r"""$c_d = \mathbb E[\max(\hat x_1, 0)]$ for $\hat x$ uniform on the sphere $S^{d-1}$.

    >>> round(c_d(1), 4), round(c_d(3), 4)     # 1/2 and 1/4
    (0.5, 0.25)
    """
    d = check_int("d", d, low=1, high=10**6)
    mean_norm = math.sqrt(2.0) * math.exp(gammaln((d + 1) / 2) - gammaln(d / 2))
    return 1.0 / (math.sqrt(2 * math.pi) * mean_norm)


def _particles_at(tau, a0, r0):
    """(a, r) of reduced particles at 'time' tau (vectorized); dead when a0 < -r0 and tau >= artanh(r0/|a0|)."""
    ch, sh = np.cosh(tau), np.sinh(tau)
    a = a0 * ch + r0 * sh
    r = r0 * ch + a0 * sh
    dead = r <= 0.0
    return np.where(dead, -np.sqrt(np.clip(a0 * a0 - r0 * r0, 0.0, None)), a), np.where(dead, 0.0, r)


def _initial_quantiles(d, sigma_a, sigma_w, n_a, n_r):
    ua = (np.arange(n_a) + 0.5) / n_a
    ur = (np.arange(n_r) + 0.5) / n_r
    a0 = sigma_a * math.sqrt(2.0) * erfinv(2 * ua - 1)
    r0 = sigma_w * chi.ppf(ur, d)
    return np.repeat(a0, n_r), np.tile(r0, n_a)


@dataclass(frozen=True)
class MeanFieldTheory(ReadOnlyArrays):
    """Mean-field (m -> infinity) solution on the time grid ``t``: population ``risk``, the amplitude
    ``M`` (f = c_d M |x|), ``mean_r`` (mean |w|), ``dead_fraction`` (share of neurons at |w| = 0),
    ``dW`` (relative change of the first-layer weights), ``tau``; ``a`` and ``r`` (n_particles,) the
    reduced particles at the last time (equal weights, deterministic quantiles of the initial law)."""

    t: np.ndarray
    risk: np.ndarray
    M: np.ndarray
    mean_r: np.ndarray
    dead_fraction: np.ndarray
    dW: np.ndarray
    tau: np.ndarray
    a: np.ndarray
    r: np.ndarray
    d: int
    sigma_a: float
    sigma_w: float


def _check_mf(t, d, sigma_a, sigma_w):
    t = check_time_grid("t", t)
    if t[0] != 0.0:
        raise ValueError(f"t must start at 0; got t[0] = {t[0]:g}")
    d = check_int("d", d, low=1, high=300)     # Gauss-Laguerre weights overflow beyond d/2 ~ 170
    sigma_a = check_real("sigma_a", sigma_a, low=0.0, high=100.0, low_open=True)
    sigma_w = check_real("sigma_w", sigma_w, low=0.0, high=100.0, low_open=True)
    return t, d, sigma_a, sigma_w


def mean_field_theory(t, d=4, sigma_a=1.0, sigma_w=0.5, n_r=60, n_a=200, rtol=1e-10,
                      dead_threshold=0.0) -> MeanFieldTheory:
    r"""Solve the reduced mean-field dynamics $d\tau/dt = d\,c_d(1 - c_d M(\tau))$ (LSODA, ``rtol``).

    $M(\tau) = \int a r\,d\rho_\tau$ over the initial law ($a_0\sim\mathcal N(0,\sigma_a^2)$,
    $r_0 = \sigma_w\chi_d$) with every particle moved exactly by $\tau$: the integral over
    $a_0$ on the live set $a_0 > -r_0\coth\tau$ is done in closed form (truncated Gaussian
    moments), the one over $r_0$ by ``n_r``-point generalized Gauss-Laguerre quadrature;
    the ODE is stiff near its fixed point for large initial weights, hence an adaptive stiff/non-stiff solver
    (scipy's LSODA). ``a``, ``r`` are ``n_a x 50`` quantile particles (for plots).
    ``dead_fraction`` is the share of neurons with $|w| \le$ ``dead_threshold`` (0: exactly dead).

    >>> th = mean_field_theory(np.linspace(0.0, 6.0, 4))
    >>> th.risk.round(4).tolist(), round(float(th.dead_fraction[-1]), 3)
    ([2.0, 0.0913, 0.0001, 0.0], 0.144)
    """
    t, d, sigma_a, sigma_w = _check_mf(t, d, sigma_a, sigma_w)
    n_a = check_int("n_a", n_a, low=2, high=10**5)
    n_r = check_int("n_r", n_r, low=2, high=10**5)
    rtol = check_real("rtol", rtol, low=1e-13, high=1e-3)
    dead_threshold = check_real("dead_threshold", dead_threshold, low=0.0, high=1e3)
    check_budget("reduced particles", float(n_r) * t.size + n_a * n_r)
    cd = c_d(d)
    u, wu = roots_genlaguerre(n_r, d / 2 - 1)          # r0 = sigma_w sqrt(2 u), u ~ Gamma(d/2)
    r0, wr = sigma_w * np.sqrt(2 * u), wu / math.gamma(d / 2)

    def moments(tau):
        """E[a r], E[r], P(dead), E[(r - r0)^2]: a0 integrated in closed form over the live set a0 > -r0 coth tau."""
        tau = min(float(tau), 300.0)     # tau stays below tau* (where c_d M = 1); guard the solver's trial steps
        ch, sh = math.cosh(tau), math.sinh(tau)
        z = r0 * ch / (sigma_a * sh) if sh > 0 else np.full_like(r0, np.inf)
        Phi, phi = ndtr(z), np.where(np.isfinite(z), np.exp(-0.5 * np.minimum(z, 40.0) ** 2) / math.sqrt(2 * math.pi), 0.0)
        e1, e2 = sigma_a * phi, sigma_a ** 2 * (Phi - np.where(np.isfinite(z), z, 0.0) * phi)   # E[a0 1], E[a0^2 1]
        ar = r0 * e1 * math.cosh(2 * tau) + (e2 + r0 ** 2 * Phi) * math.sinh(2 * tau) / 2
        rr = r0 * ch * Phi + sh * e1
        dr2 = (ch - 1) ** 2 * r0 ** 2 * Phi + 2 * (ch - 1) * sh * r0 * e1 + sh ** 2 * e2 + r0 ** 2 * (1 - Phi)
        # P(r <= delta): a0 <= (delta - r0 cosh tau) / sinh tau
        small = 1 - ndtr((r0 * ch - dead_threshold) / (sigma_a * sh)) if sh > 0 else (r0 <= dead_threshold) * 1.0
        return wr @ ar, wr @ rr, wr @ small, wr @ dr2

    def rate(tau):
        return d * cd * (1.0 - cd * moments(tau)[0])

    sol = solve_ivp(lambda _, x: [rate(x[0])], (0.0, float(t[-1])), [0.0], method="LSODA", t_eval=t,
                    rtol=rtol, atol=rtol * 1e-2, jac=None)
    if not sol.success or not np.all(np.isfinite(sol.y)):
        raise ConvergenceError(f"the reduced mean-field ODE failed: {sol.message}")
    taus = sol.y[0]
    M, mean_r, dead, dr2 = np.array([moments(tau) for tau in taus]).T
    a0, q0 = _initial_quantiles(d, sigma_a, sigma_w, n_a, 50)
    a, r = _particles_at(taus[-1], a0, q0)
    return MeanFieldTheory(t=t, risk=0.5 * d * (1.0 - cd * M) ** 2, M=M, mean_r=mean_r, dead_fraction=dead,
                           dW=np.sqrt(dr2 / (d * sigma_w ** 2)), tau=taus, a=a, r=r, d=d, sigma_a=sigma_a,
                           sigma_w=sigma_w)


@dataclass(frozen=True)
class MeanFieldSimulation(ReadOnlyArrays):
    """Width-m networks (same field names as :class:`MeanFieldTheory`), means over seeds with ``*_sem``;
    ``risk_seeds`` (n_seeds, nt); ``a`` and ``r`` (m,) the neurons of the first seed at the last time.
    ``dead_fraction`` counts neurons with $|w| \\le$ ``dead_threshold``."""

    t: np.ndarray
    risk: np.ndarray
    risk_sem: np.ndarray
    risk_seeds: np.ndarray
    M: np.ndarray
    M_sem: np.ndarray
    mean_r: np.ndarray
    mean_r_sem: np.ndarray
    dead_fraction: np.ndarray
    dead_fraction_sem: np.ndarray
    dW: np.ndarray
    dW_sem: np.ndarray
    a: np.ndarray
    r: np.ndarray
    m: int
    n_seeds: int
    d: int
    dt: float
    dead_threshold: float
    wall_time: float


def _mf_grad(a, W, cd, d):
    """Population-risk velocities (da/dt, dW/dt) = -m grad R and the risk, for a batch (S, m), (S, m, d)."""
    m = a.shape[-1]
    r = np.linalg.norm(W, axis=-1)
    rs = np.maximum(r, 1e-300)
    G = W @ np.swapaxes(W, -1, -2)
    cos = np.clip(G / (rs[..., :, None] * rs[..., None, :]), -1.0, 1.0)
    theta = np.arccos(cos)
    sin = np.sqrt(1.0 - cos * cos)
    Kmat = (r[..., :, None] * r[..., None, :]) * (sin + (np.pi - theta) * cos) / (2 * np.pi)   # = _relu_k
    v = (Kmat @ a[..., None])[..., 0] / m
    da = d * cd * r - v
    what = W / rs[..., None]
    P = (np.pi - theta) * a[..., None, :]                            # sum_l a_l grad_w k(w_k, w_l)
    gk = ((P @ W) + what * (sin @ (a * r)[..., None])) / (2 * np.pi)
    dW = a[..., None] * (d * cd * what - gk / m)
    risk = 0.5 * d - d * cd * np.mean(a * r, axis=-1) + 0.5 * np.mean(a * v, axis=-1)
    return da, dW, risk


def mean_field_simulate(m, t, d=4, sigma_a=1.0, sigma_w=0.5, seeds=4, dt=0.01,
                        dead_threshold=0.05) -> MeanFieldSimulation:
    r"""Train width-m networks in the mean-field scaling by Heun steps of the population gradient flow.

    Exact population risk (arc-cosine kernel of degree 1 and its gradient
    $\nabla_w k(w, w') = [(\pi-\theta)w' + |w'|\sin\theta\,\hat w]/(2\pi)$), so the only finite-size
    parameter is m. Work $\sim 20 m^2$ per step and seed; memory a few $S m^2$ doubles.

    >>> sim = mean_field_simulate(64, np.linspace(0.0, 6.0, 4), seeds=2)
    >>> bool(np.abs(sim.risk - mean_field_theory(sim.t).risk).max() < 0.2)
    True
    """
    t0 = time.perf_counter()
    t, d, sigma_a, sigma_w = _check_mf(t, d, sigma_a, sigma_w)
    m = check_int("m", m, low=2, high=10**5)
    seeds = check_seeds("seeds", seeds)
    dt = check_real("dt", dt, low=1e-5, high=0.5)
    dead_threshold = check_real("dead_threshold", dead_threshold, low=0.0, high=1e3)
    steps = np.round(t / dt).astype(np.int64)
    if np.any(np.abs(steps * dt - t) > 1e-6 * np.maximum(1.0, t)) or np.any(np.diff(steps) <= 0):
        raise ValueError("t must be distinct multiples of dt")
    S = len(seeds)
    check_budget("doubles (seeds x m^2 x 8)", 8.0 * S * m * m, limit=2**27)
    check_budget("operations (steps x seeds x 40 m^2)", 40.0 * steps[-1] * S * m * m, limit=5e12)
    rngs = [np.random.default_rng(s) for s in seeds]
    a = np.stack([g.standard_normal(m) * sigma_a for g in rngs])
    W = np.stack([g.standard_normal((m, d)) * sigma_w for g in rngs])
    r0 = np.linalg.norm(W, axis=-1)
    nW0 = np.sqrt(np.mean(r0 ** 2, axis=-1))
    W0 = W.copy()
    cd = c_d(d)
    nt = t.size
    out = {k: np.zeros((S, nt)) for k in ("risk", "M", "mean_r", "dead_fraction", "dW")}
    j = 0
    for step in range(int(steps[-1]) + 1):
        da, dWv, risk = _mf_grad(a, W, cd, d)
        if step == steps[j]:
            if not np.all(np.isfinite(risk)):
                raise FloatingPointError(f"risk became non-finite at t = {step * dt:g}; reduce dt")
            r = np.linalg.norm(W, axis=-1)
            out["risk"][:, j] = risk
            out["M"][:, j] = np.mean(a * r, axis=-1)
            out["mean_r"][:, j] = np.mean(r, axis=-1)
            out["dead_fraction"][:, j] = np.mean(r <= dead_threshold, axis=-1)
            out["dW"][:, j] = np.linalg.norm(W - W0, axis=(1, 2)) / (nW0 * math.sqrt(m))
            j += 1
            if j == nt:
                break
        a1, W1 = a + dt * da, W + dt * dWv
        da1, dW1, _ = _mf_grad(a1, W1, cd, d)
        a, W = a + 0.5 * dt * (da + da1), W + 0.5 * dt * (dWv + dW1)
    stats = {}
    for k, v in out.items():
        stats[k], stats[k + "_sem"] = mean_sem(v) if S > 1 else (v[0], np.zeros(nt))
    return MeanFieldSimulation(t=t, risk_seeds=out["risk"], a=a[0], r=np.linalg.norm(W[0], axis=-1), m=m,
                               n_seeds=S, d=d, dt=dt, dead_threshold=dead_threshold,
                               wall_time=time.perf_counter() - t0, **stats)


def mean_field_width_scan(widths=(32, 64, 128, 256, 512, 1024), seeds_per_width=(32, 16, 16, 8, 8, 4), t_max=6.0,
                          n_times=31, d=4, sigma_a=1.0, sigma_w=0.5, dt=0.01) -> dict:
    """Train at every width ``widths[i]`` with the seeds ``seeds_per_width[i]``; a dict of arrays for a ``.npz``
    file.

    ``seeds_per_width`` holds one entry per width: an int ``n`` (meaning ``range(n)``) or a sequence of
    distinct seeds, as ``seeds`` everywhere in the library (fewer seeds at large widths keep the cost down).

    Keys: ``widths``, ``t``, per width ``m{m}_{field}`` for risk_seeds, M, M_sem, mean_r, mean_r_sem,
    dead_fraction, dead_fraction_sem, dW, dW_sem, a, r (neurons of the first seed at the end)."""
    widths = [check_int("widths[i]", w, low=2) for w in np.atleast_1d(np.asarray(widths, dtype=object))]
    if isinstance(seeds_per_width, (str, bytes)) or not hasattr(seeds_per_width, "__len__") \
            or len(seeds_per_width) != len(widths):
        raise ValueError(f"seeds_per_width must hold one entry (an int n or a sequence of seeds) per width "
                         f"({len(widths)}); got {seeds_per_width!r}")
    per_width = [check_seeds(f"seeds_per_width[{i}]", s) for i, s in enumerate(seeds_per_width)]
    t_max = check_real("t_max", t_max, low=0.0, high=1e6, low_open=True)
    dt = check_real("dt", dt, low=1e-5, high=0.5)
    n_times = check_int("n_times", n_times, low=2, high=10**5)
    t = dt * np.round(np.linspace(0.0, t_max, n_times) / dt)
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"n_times = {n_times} gives times closer than one step dt = {dt:g} over t_max = {t_max:g}; "
                         f"n_times must be in [2, {int(t_max / dt) + 1}]")
    out = {"widths": np.array(widths), "t": t}
    for m, s in zip(widths, per_width):
        sim = mean_field_simulate(m, t, d, sigma_a, sigma_w, seeds=s, dt=dt)
        for f in ("risk_seeds", "M", "M_sem", "mean_r", "mean_r_sem", "dead_fraction", "dead_fraction_sem",
                  "dW", "dW_sem", "a", "r"):
            out[f"m{m}_{f}"] = getattr(sim, f)
    return out


# ============================================================================ plots
def plot_lazy_vs_width(data, field="dH", ax=None):
    """Relative kernel change (``field="dH"``) or weight change (``"dW"``) at the last time against width m,
    markers with error bars and the fitted power law (dashed). ``data`` is a :func:`lazy_width_scan` dict."""
    if field not in ("dH", "dW"):
        raise ValueError(f"field must be 'dH' or 'dW'; got {field!r}")
    need = ("widths", field, field + "_sem", "u_dev")
    if not hasattr(data, "__getitem__") or isinstance(data, (str, bytes)) or any(k not in data for k in need):
        raise ValueError(f"data must be a lazy_width_scan result holding {', '.join(need)}")
    if ax is None:
        _, ax = new_figure()
    m = np.asarray(data["widths"], dtype=float)
    y, e = np.asarray(data[field])[:, -1], np.asarray(data[field + "_sem"])[:, -1]
    fit = fit_power_law(m, y)
    n_seeds = np.asarray(data["u_dev"]).shape[1]
    plot_simulation(ax, m, y, e, n_seeds=n_seeds, label=f"GD at width m, {n_seeds} seeds")
    ax.plot(m, fit(m), "--", label=f"fit: slope {fit.slope:.3f} ± {fit.slope_stderr:.2g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("width $m$")
    ax.set_ylabel({"dH": r"$\|\Theta(t)-\Theta(0)\|_F/\|\Theta(0)\|_F$", "dW": r"$\|W(t)-W(0)\|_F/\|W(0)\|_F$"}[field])
    ax.legend()
    return ax


def plot_mean_field(t_max=6.0, d=4, sigma_a=1.0, sigma_w=0.5, m=None, seeds=4, axes=None):
    """Mean-field theory: risk (log scale) and share of dead neurons against t; unless ``m`` is None, also
    ``seeds`` networks of width m (markers with error bars)."""
    t_max = check_real("t_max", t_max, low=0.0, high=100.0, low_open=True)
    m = None if m is None else check_int("m", m, low=2, high=4096)
    seeds = check_seeds("seeds", seeds)
    t = np.linspace(0.0, t_max, 31)
    th = mean_field_theory(t, d, sigma_a, sigma_w, dead_threshold=0.05)
    if axes is None:
        _, axes = new_figure(2)
    plot_theory(axes[0], t, th.risk, label="mean-field theory (m → ∞)")
    plot_theory(axes[1], t, th.dead_fraction, label="mean-field theory (m → ∞)")
    if m is not None:
        dt = 0.02
        sim = mean_field_simulate(m, dt * np.round(t / dt), d, sigma_a, sigma_w, seeds=seeds, dt=dt)
        plot_simulation(axes[0], t, sim.risk, sim.risk_sem, n_seeds=sim.n_seeds, label=f"network, m = {m}, "
                        f"{sim.n_seeds} seeds")
        plot_simulation(axes[1], t, sim.dead_fraction, sim.dead_fraction_sem, n_seeds=sim.n_seeds,
                        label=f"network, m = {m}, {sim.n_seeds} seeds")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("time $t$")
    axes[0].set_ylabel("population risk")
    axes[1].set_xlabel("time $t$")
    axes[1].set_ylabel(r"share of neurons with $|w| \leq 0.05$")
    for ax in axes:
        ax.legend()
    return axes
