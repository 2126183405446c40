r"""Gradient descent as a dynamical system: stability of GD and SGD, and the edge of stability.

Three models, each with its theory and its simulation:

1. **GD on a random quadratic.** $L(x) = \tfrac{1}{2N} x^\top \hat\Sigma x$ with the Wishart Hessian
   $\hat\Sigma = X^\top X/P$ ($X\in\mathbb R^{P\times N}$ Gaussian, $\alpha = P/N$), GD
   $x_{k+1} = (I - \eta\hat\Sigma)\,x_k$ from $x_0\sim\mathcal N(0, I_N)$. As $N\to\infty$

   .. math:: \mathcal L_k = \tfrac12 \int \rho_{MP}(\lambda)\,\lambda\,(1-\eta\lambda)^{2k}\,d\lambda ,

   stable iff $\eta < 2/\lambda_+$, $\lambda_+ = (1+\alpha^{-1/2})^2$; gradient flow is
   $\eta\to0$ at fixed $t = k\eta$.
2. **Edge of stability** (Cohen et al. 2021). Full-batch GD on a small tanh network; the sharpness
   (top Hessian eigenvalue, by power iteration on Hessian-vector products) rises to about
   $2/\eta$ and hovers there while the loss keeps decreasing, non-monotonically.
3. **SGD at an interpolating minimum.** Least squares with $P < N$ samples, the book's scaling
   (step $\eta\,\hat\Sigma_B$ with $\hat\Sigma_B = \frac1B\sum_{\mu\in B} x_\mu x_\mu^\top$, batches
   drawn with replacement). Near the minimum the error obeys $v_{k+1} = (I - \eta\hat\Sigma_{B_k})v_k$,
   a product of random Jacobians: its top Lyapunov exponent decides almost-sure stability; the
   second moment obeys an exact linear recursion $M_{k+1} = \mathcal T(M_k)$ whose spectral
   radius decides mean-square stability.

References: Cohen, Kaur, Li, Kolter, Talwalkar (2021), "Gradient descent on neural networks typically
occurs at the edge of stability"; Wu, Ma, E (2018), "How SGD selects the global minima in
over-parameterized learning"; Ma & Ying (2021), "On linear stability of SGD and input-smoothness of
neural networks".
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .core import ConvergenceError, check_choice, check_int, check_real, mean_sem, rmt
from .plotting import new_figure, plot_simulation, plot_theory
from .core import ReadOnlyArrays, check_array, check_budget, check_public, check_seeds

__all__ = [
    "QuadraticGD", "gd_threshold", "quadratic_gd_theory", "quadratic_gd_simulate", "gradient_flow_loss",
    "sample_thresholds",
    "MLP", "eos_dataset", "mlp_init", "mlp_loss_grad", "hessian_vector_product", "sharpness",
    "EoSRun", "train_gd",
    "SGDStability", "interpolation_data", "sgd_lyapunov", "mean_square_operator", "mean_square_rate",
    "sgd_second_moment", "sgd_threshold_theory", "lyapunov_crossing", "plot_quadratic_gd", "plot_eos",
    "UVRun", "uv_sharpness", "uv_gd", "uv_theory", "plot_uv", "mean_square_threshold",
]


# ----------------------------------------------------------------------------------------------
# 1. GD on a random quadratic
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuadraticGD(ReadOnlyArrays):
    """Loss of GD on the Wishart quadratic, per step ``k``; theory has ``loss_sem = None``, ``N = None``."""

    steps: np.ndarray
    loss: np.ndarray
    loss_sem: np.ndarray | None
    eta: float
    alpha: float
    N: int | None
    n_seeds: int


def gd_threshold(alpha: float) -> float:
    r"""Largest stable step of GD on the Wishart quadratic as $N\to\infty$: $2/\lambda_+$.

    >>> round(gd_threshold(4.0), 6)     # lambda_+ = (1 + 1/2)^2 = 2.25
    0.888889
    """
    return 2.0 / rmt.mp_edges(alpha)[1]


def _check_steps(steps):
    steps = np.asarray(steps)
    if steps.ndim != 1 or steps.size == 0 or not np.issubdtype(steps.dtype, np.integer) or np.any(steps < 0) \
            or np.any(np.diff(steps) <= 0):
        raise ValueError("steps must be a 1-D increasing array of non-negative integers")
    return steps


def quadratic_gd_theory(alpha: float, eta: float, steps) -> QuadraticGD:
    r"""Loss $\mathcal L_k = \frac12\int\rho_{MP}(\lambda)\lambda(1-\eta\lambda)^{2k}d\lambda$ at the given steps.

    >>> res = quadratic_gd_theory(alpha=2.0, eta=0.2, steps=np.arange(3))
    >>> res.loss.round(4).tolist()      # L_1 = (E l - 0.4 E l^2 + 0.04 E l^3)/2 = 0.255
    [0.5, 0.255, 0.1498]
    """
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    eta = check_real("eta", eta, low=0.0, low_open=True)
    steps = _check_steps(steps)
    loss = 0.5 * rmt.marchenko_pastur_expect(lambda lam: lam * (1 - eta * lam) ** (2 * steps[:, None]), alpha)
    return QuadraticGD(steps, loss, None, eta, alpha, None, 0)


def gradient_flow_loss(alpha: float, t) -> np.ndarray:
    r"""Gradient-flow loss $\frac12\int\rho_{MP}(\lambda)\lambda e^{-2\lambda t}d\lambda$, the $\eta\to0$ limit."""
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    t = np.asarray(t, dtype=np.float64)
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError("t must hold finite times in [0, inf)")
    return 0.5 * rmt.marchenko_pastur_expect(lambda lam: lam * np.exp(-2 * np.multiply.outer(t, lam)), alpha)


def _wishart_batch(N, alpha, seeds):
    P = max(1, int(round(alpha * N)))
    X = np.stack([np.random.default_rng(s).standard_normal((P, N)) for s in seeds])   # (S, P, N)
    return X


def quadratic_gd_simulate(N: int, alpha: float, eta: float, steps, seeds) -> QuadraticGD:
    """GD on sampled Wishart quadratics, all seeds at once (state of shape ``(n_seeds, N)``).

    Memory: ``n_seeds * N * (P + N)`` floats for the data and Hessians.
    """
    N = check_int("N", N, low=2)
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    eta = check_real("eta", eta, low=0.0, low_open=True)
    steps = _check_steps(steps)
    seeds = list(seeds)
    if len(seeds) < 2:
        raise ValueError("seeds must hold at least 2 seeds (the result carries a standard error)")
    X = _wishart_batch(N, alpha, seeds)
    H = np.matmul(X.transpose(0, 2, 1), X) / X.shape[1]
    x = np.stack([np.random.default_rng([s, 1]).standard_normal(N) for s in seeds])
    out = np.empty((len(seeds), steps.size))
    j = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps[-1] + 1):
            if k == steps[j]:
                out[:, j] = 0.5 * np.einsum("si,si->s", x, np.einsum("sij,sj->si", H, x)) / N
                j += 1
                if j == steps.size:
                    break
            x = x - eta * np.matmul(H, x[:, :, None])[:, :, 0]
    if not np.all(np.isfinite(out)):
        raise ValueError("the loss overflowed: eta is far above the stability threshold for these steps; "
                         "use fewer steps")
    m, s = mean_sem(out)
    return QuadraticGD(steps, m, s, eta, alpha, N, len(seeds))


def sample_thresholds(N: int, alpha: float, seeds) -> np.ndarray:
    r"""Finite-$N$ stability thresholds $2/\lambda_{\max}(\hat\Sigma)$, one per seed (same data as the simulation)."""
    N = check_int("N", N, low=2)
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    X = _wishart_batch(N, alpha, list(seeds))
    lam_max = np.linalg.eigvalsh(np.matmul(X.transpose(0, 2, 1), X) / X.shape[1])[:, -1]
    return 2.0 / lam_max


def plot_quadratic_gd(alpha=2.0, eta=0.5, N=200, seeds=8, steps=60, ax=None):
    """Theory and simulation of GD on the Wishart quadratic, with the threshold in the title."""
    if ax is None:
        _, ax = new_figure()
    seeds = check_seeds("seeds", seeds, max_seeds=10**4, min_seeds=2)
    n_seeds = len(seeds)
    steps = check_int("steps", steps, low=1, high=10**5)
    k = np.arange(steps + 1)
    th = quadratic_gd_theory(alpha, eta, k)
    sim = quadratic_gd_simulate(N, alpha, eta, k, seeds=seeds)
    plot_theory(ax, k, th.loss)
    plot_simulation(ax, k, sim.loss, sim.loss_sem, N=N, n_seeds=n_seeds, every=max(1, steps // 20))
    ax.set_yscale("log")
    ax.set_xlabel("step k")
    ax.set_ylabel(r"loss $\mathcal{L}_k$")
    ax.set_title(f"α = {alpha:g}, η = {eta:g}   (threshold 2/λ₊ = {gd_threshold(alpha):.3f})")
    ax.legend()
    return ax


# ----------------------------------------------------------------------------------------------
# 2. A small tanh network and the edge of stability
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MLP:
    r"""A fully connected tanh network $f(x) = W_L \tanh(\cdots\tanh(W_1 x/\sqrt{n_0})\cdots)/\sqrt{n_{L-1}}$.

    ``widths = (n_0, n_1, ..., n_L)`` with ``n_L = 1``; the parameters are one flat vector
    (the matrices ``W_l`` of shape ``(n_l, n_{l-1})`` in order); each layer divides by the square root
    of its fan-in, so weights are initialized as standard Gaussians.
    """

    widths: tuple

    def __post_init__(self):
        w = tuple(int(check_int("widths[i]", n, low=1)) for n in self.widths)
        if len(w) < 2 or w[-1] != 1:
            raise ValueError("widths must hold at least 2 entries and end with 1 (a scalar output)")
        object.__setattr__(self, "widths", w)

    @property
    def n_params(self) -> int:
        return sum(a * b for a, b in zip(self.widths[:-1], self.widths[1:]))

    def unflatten(self, theta):
        out, i = [], 0
        for a, b in zip(self.widths[:-1], self.widths[1:]):
            out.append(theta[i:i + a * b].reshape(b, a))
            i += a * b
        return out


def mlp_init(mlp: MLP, seed=0) -> np.ndarray:
    """Standard Gaussian parameters (the 1/sqrt(fan-in) is in the forward pass)."""
    return np.random.default_rng(seed).standard_normal(mlp.n_params)


def eos_dataset(n: int = 200, d: int = 20, seed: int = 0, teacher_width: int = 50):
    r"""Inputs $x\sim\mathcal N(0, I_d)$ and labels $y = \mathrm{sign}(\text{random tanh teacher})\in\{\pm1\}$."""
    n = check_int("n", n, low=2, high=10**6)
    d = check_int("d", d, low=1, high=10**4)
    teacher_width = check_int("teacher_width", teacher_width, low=1, high=10**4)
    check_budget("doubles (inputs)", float(n) * d, limit=2**26)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((teacher_width, d))
    a = rng.standard_normal(teacher_width)
    y = np.sign(np.tanh(X @ W.T / np.sqrt(d)) @ a)
    y[y == 0] = 1.0
    return X, y


def _check_mlp_args(mlp, theta, X, y):
    if not isinstance(mlp, MLP):
        raise TypeError(f"mlp must be an MLP; got {type(mlp).__name__}")
    theta = check_array("theta", theta, ndim=1)
    if theta.size != mlp.n_params:
        raise ValueError(f"theta must hold mlp.n_params = {mlp.n_params} values; got {theta.size}")
    X = check_array("X", X, ndim=2)
    y = check_array("y", y, ndim=1)
    if X.shape[1] != mlp.widths[0] or X.shape[0] != y.size or y.size == 0:
        raise ValueError(f"X must have shape (n, {mlp.widths[0]}) and y shape (n,) with n >= 1; got {X.shape}, {y.shape}")
    return theta, X, y


def mlp_loss_grad(mlp: MLP, theta, X, y):
    r"""Mean squared loss $\frac1{2n}\sum_i (f(x_i)-y_i)^2$ and its gradient (backpropagation)."""
    theta, X, y = _check_mlp_args(mlp, theta, X, y)
    Ws = mlp.unflatten(theta)
    hs = [X]
    h = X
    for l, W in enumerate(Ws):
        z = h @ W.T / np.sqrt(W.shape[1])
        h = np.tanh(z) if l < len(Ws) - 1 else z
        hs.append(h)
    r = h[:, 0] - y
    n = X.shape[0]
    loss = 0.5 * float(r @ r) / n
    g = (r / n)[:, None]
    grads = [None] * len(Ws)
    for l in range(len(Ws) - 1, -1, -1):
        s = np.sqrt(Ws[l].shape[1])
        grads[l] = g.T @ hs[l] / s
        if l > 0:
            g = (g @ Ws[l] / s) * (1 - hs[l] ** 2)
    return loss, np.concatenate([G.ravel() for G in grads])


def hessian_vector_product(mlp: MLP, theta, v, X, y, eps: float = 1e-4):
    r"""Hessian-vector product by central differences of the exact gradient, error $O(\epsilon^2)$."""
    theta, X, y = _check_mlp_args(mlp, theta, X, y)
    v = check_array("v", v, ndim=1)
    if v.shape != theta.shape:
        raise ValueError(f"v must have the shape of theta {theta.shape}; got {v.shape}")
    eps = check_real("eps", eps, low=0.0, low_open=True)
    gp = mlp_loss_grad(mlp, theta + eps * v, X, y)[1]
    gm = mlp_loss_grad(mlp, theta - eps * v, X, y)[1]
    return (gp - gm) / (2 * eps)


def sharpness(mlp: MLP, theta, X, y, v0=None, iters: int = 20, tol: float = 1e-6):
    r"""Top Hessian eigenvalue by power iteration on Hessian-vector products.

    Returns ``(lam, v)`` (the eigenvector, to warm-start the next call). Power iteration finds the
    eigenvalue of largest modulus; near a minimum of a squared loss that is the sharpness.
    """
    iters = check_int("iters", iters, low=1, high=10**5)
    tol = check_real("tol", tol, low=0.0)
    theta, X, y = _check_mlp_args(mlp, theta, X, y)
    if v0 is not None:
        v0 = check_array("v0", v0, ndim=1)
    v = np.random.default_rng(0).standard_normal(theta.size) if v0 is None else np.array(v0, dtype=np.float64)
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(iters):
        hv = hessian_vector_product(mlp, theta, v, X, y)
        new = float(v @ hv)
        nrm = np.linalg.norm(hv)
        if nrm == 0:
            return 0.0, v
        v = hv / nrm
        if abs(new - lam) <= tol * max(abs(new), 1e-12):
            lam = new
            break
        lam = new
    return lam, v


@dataclass(frozen=True)
class EoSRun(ReadOnlyArrays):
    """Full-batch GD on an MLP: loss at every step, sharpness every ``sharpness_every`` steps."""

    eta: float
    steps: np.ndarray
    loss: np.ndarray
    sharpness_steps: np.ndarray
    sharpness: np.ndarray
    wall_time: float


def train_gd(mlp: MLP, X, y, eta: float, n_steps: int, seed: int = 0, sharpness_every: int = 20,
             power_iters: int = 8) -> EoSRun:
    """Full-batch GD from a seeded initialization, tracking the loss and the sharpness."""
    eta = check_real("eta", eta, low=0.0, low_open=True)
    n_steps = check_int("n_steps", n_steps, low=1)
    sharpness_every = check_int("sharpness_every", sharpness_every, low=1)
    power_iters = check_int("power_iters", power_iters, low=1, high=10**5)
    start = time.perf_counter()
    theta = mlp_init(mlp, seed)
    v = None
    losses, s_steps, s_vals = np.empty(n_steps), [], []
    for k in range(n_steps):
        loss, g = mlp_loss_grad(mlp, theta, X, y)
        if not np.isfinite(loss) or loss > 1e6:
            raise ConvergenceError(f"GD diverged at step {k} (loss {loss:.3g}); eta={eta:g} is too large", losses[:k])
        losses[k] = loss
        if k % sharpness_every == 0:
            lam, v = sharpness(mlp, theta, X, y, v0=v, iters=power_iters if v is not None else 30)
            s_steps.append(k)
            s_vals.append(lam)
        theta = theta - eta * g
    return EoSRun(eta, np.arange(n_steps), losses, np.array(s_steps), np.array(s_vals), time.perf_counter() - start)


def plot_eos(runs, axes=None):
    """Loss (top) and sharpness with the 2/eta lines (bottom) for a list of :class:`EoSRun`."""
    if axes is None:
        _, axes = new_figure(ncols=2)
    for run in runs:
        line, = axes[0].plot(run.steps, run.loss, lw=1.2, label=f"η = {run.eta:g}")
        axes[1].plot(run.sharpness_steps, run.sharpness, "o", ms=3, color=line.get_color(), label=f"η = {run.eta:g}")
        axes[1].axhline(2 / run.eta, ls="--", color=line.get_color(), lw=1)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("training loss")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("sharpness (top Hessian eigenvalue)")
    axes[1].set_title("dashed: 2/η")
    axes[0].legend()
    return axes


# ----------------------------------------------------------------------------------------------
# 2b. A solvable toy model of the edge of stability: L(u, v) = (uv - 1)^2 / 2
# ----------------------------------------------------------------------------------------------

def uv_sharpness(u, v):
    r"""Top eigenvalue of the Hessian of $L(u, v) = \tfrac12(uv-1)^2$ at $(u, v)$ (elementwise).

    $\nabla^2 L = \begin{pmatrix} v^2 & 2uv-1\\ 2uv-1 & u^2\end{pmatrix}$; on the minimum manifold
    $uv = 1$ its eigenvalues are $0$ and $u^2+v^2$.

    >>> float(uv_sharpness(2.0, 0.5))       # on uv = 1: u^2 + v^2
    4.25
    """
    u = check_array("u", u, low=-1e100, high=1e100)       # bounded so that u^2 + v^2 stays finite
    v = check_array("v", v, low=-1e100, high=1e100)
    a, c, b = v * v, u * u, 2 * u * v - 1
    return 0.5 * (a + c) + np.sqrt(0.25 * (a - c) ** 2 + b * b)


@dataclass(frozen=True)
class UVRun(ReadOnlyArrays):
    """GD on $L(u,v) = (uv-1)^2/2$, one row per step size: iterates, loss and sharpness per step.

    Rows of a run that diverged (``|u| + |v| > 1e6``) hold NaN after the step where it did, and
    ``diverged`` is True for them.
    """

    eta: np.ndarray
    u: np.ndarray
    v: np.ndarray
    loss: np.ndarray
    sharpness: np.ndarray
    diverged: np.ndarray


def uv_gd(u0: float, v0: float, etas, n_steps: int) -> UVRun:
    r"""GD $u' = u - \eta r v$, $v' = v - \eta r u$, $r = uv - 1$, for several step sizes at once.

    The imbalance $D = u^2 - v^2$ obeys exactly $D_{k+1} = (1-\eta^2 r_k^2)\,D_k$: gradient flow
    conserves it, GD shrinks it, and the minimum reached has sharpness $\sqrt{D_\infty^2+4}$.

    >>> run = uv_gd(2.0, 0.05, [0.05], 4000)
    >>> round(float(run.sharpness[0, -1]), 3), bool(run.diverged[0])
    (4.45, False)
    """
    u0 = check_real("u0", u0, low=-1e3, high=1e3)
    v0 = check_real("v0", v0, low=-1e3, high=1e3)
    etas = check_array("etas", etas, ndim=1, low=0.0)
    if etas.size == 0 or np.any(etas <= 0):
        raise ValueError("etas must be a non-empty 1-D array of step sizes > 0")
    n_steps = check_int("n_steps", n_steps, low=1)
    check_budget("GD steps x step sizes", float(n_steps) * etas.size, limit=10**8)
    u = np.full((etas.size, n_steps + 1), np.nan)
    v = np.full_like(u, np.nan)
    u[:, 0], v[:, 0] = u0, v0
    alive = np.ones(etas.size, dtype=bool)
    uk, vk = u[:, 0].copy(), v[:, 0].copy()
    for k in range(n_steps):
        r = uk * vk - 1
        uk, vk = uk - etas * r * vk, vk - etas * r * uk
        alive &= np.abs(uk) + np.abs(vk) <= 1e6
        uk[~alive] = np.nan
        vk[~alive] = np.nan
        u[:, k + 1], v[:, k + 1] = uk, vk
    with np.errstate(invalid="ignore"):
        loss = 0.5 * (u * v - 1) ** 2
        sharp = uv_sharpness(np.nan_to_num(u), np.nan_to_num(v))
    sharp[np.isnan(u)] = np.nan
    return UVRun(etas.copy(), u, v, loss, sharp, ~alive)


def uv_theory(u0: float, v0: float, etas):
    r"""Sharpness of the minimum reached by gradient flow, and by GD to first order in $\eta$.

    Gradient flow conserves $D = u^2 - v^2$ and ends on $uv = 1$ with sharpness
    $S_{\rm GF} = \sqrt{D_0^2+4}$. GD multiplies $D$ by $1-\eta^2r_k^2$ at each step, so
    $\log D_\infty = -\eta\int_0^\infty r(t)^2\,dt + O(\eta^2)$ with the integral along gradient flow,

    .. math:: I = \int_{s_0}^{1}\frac{(1-s)\,ds}{\sqrt{D_0^2+4s^2}}
              = \Big[\tfrac12\operatorname{asinh}\tfrac{2s}{D_0} - \tfrac14\sqrt{D_0^2+4s^2}\Big]_{s_0}^{1},
              \quad s_0 = u_0v_0 < 1,

    (from $\dot s = -(s-1)\sqrt{D^2+4s^2}$ for $s = uv$), hence
    $S_1(\eta) = \sqrt{D_0^2 e^{-2\eta I} + 4}$. Returns ``(S_GF, S_1, I)``.

    >>> S_gf, S1, I = uv_theory(2.0, 0.05, [0.1])
    >>> round(S_gf, 4), round(I, 4)
    (4.4699, 0.0989)
    """
    u0 = check_real("u0", u0, low=-1e3, high=1e3)
    v0 = check_real("v0", v0, low=-1e3, high=1e3)
    etas = check_array("etas", etas, ndim=1, low=0.0)
    if etas.size == 0 or np.any(etas <= 0):
        raise ValueError("etas must be a non-empty 1-D array of step sizes > 0")
    s0, D = u0 * v0, u0 * u0 - v0 * v0
    if s0 >= 1:
        raise ValueError(f"u0 * v0 must be < 1 (start below the minimum manifold); got {s0:g}")
    if D == 0:
        return 2.0, np.full(etas.shape, 2.0), 0.0
    D = abs(D)
    F = lambda s: 0.5 * np.arcsinh(2 * s / D) - 0.25 * np.sqrt(D * D + 4 * s * s)
    I = float(F(1.0) - F(s0))
    return float(np.sqrt(D * D + 4)), np.sqrt(D * D * np.exp(-2 * etas * I) + 4), I


def plot_uv(u0=2.0, v0=0.05, etas=(0.05, 0.4, 0.5), eta_grid=None, n_steps=3000, axes=None):
    """Left: sharpness along GD for a few step sizes, with 2/eta dashed; right: sharpness of the
    minimum reached against eta (GD markers) with gradient flow, the first-order theory and 2/eta."""
    if axes is None:
        _, axes = new_figure(ncols=2)
    etas = check_array("etas", etas, ndim=1, low=0.0)
    eta_grid = np.linspace(0.02, 1.2, 60) if eta_grid is None else check_array("eta_grid", eta_grid, ndim=1, low=0.0)
    run = uv_gd(u0, v0, etas, n_steps)
    k = np.arange(n_steps + 1)
    for i, e in enumerate(etas):
        line, = axes[0].plot(k + 1, run.sharpness[i], lw=1.2, label=f"GD, η = {e:g}")
        axes[0].axhline(2 / e, ls="--", lw=1, color=line.get_color())
    axes[0].set_xscale("log")
    axes[0].set_ylim(0, 1.3 * uv_theory(u0, v0, etas)[0])
    axes[0].set_xlabel("step k + 1")
    axes[0].set_ylabel("sharpness $S_k$")
    axes[0].set_title("dashed: 2/η")
    axes[0].legend(fontsize=8)
    sweep = uv_gd(u0, v0, eta_grid, n_steps)
    S_gf, S1, _ = uv_theory(u0, v0, eta_grid)
    ok = ~sweep.diverged & (sweep.loss[:, -1] < 1e-10)
    axes[1].plot(eta_grid[ok], sweep.sharpness[ok, -1], "o", ms=4, mfc="none", label="GD, converged")
    osc = ~sweep.diverged & ~ok
    if np.any(osc):
        axes[1].plot(eta_grid[osc], np.nanmedian(sweep.sharpness[osc, -200:], axis=1), "x", ms=4,
                     label="GD, not converged (median, last 200 steps)")
    axes[1].axhline(S_gf, color="gray", ls=":", lw=1, label="gradient flow $S_{GF}$")
    axes[1].plot(eta_grid, S1, "-", label="first order in η")
    axes[1].plot(eta_grid, 2 / eta_grid, "--", color="k", lw=1, label="2/η")
    axes[1].axhline(2.0, color="gray", lw=0.8, ls="-.", label="flattest minimum u = v = 1")
    axes[1].set_ylim(0, 1.25 * S_gf)
    axes[1].set_xlabel("η")
    axes[1].set_ylabel("sharpness at the end of GD")
    axes[1].legend(fontsize=8)
    return axes


# ----------------------------------------------------------------------------------------------
# 3. SGD at an interpolating minimum
# ----------------------------------------------------------------------------------------------

def interpolation_data(N: int, alpha: float, seed=0) -> np.ndarray:
    """Inputs ``X`` of shape ``(P, N)``, ``P = round(alpha N) < N`` (so zero training loss is reachable)."""
    N = check_int("N", N, low=2)
    alpha = check_real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    P = max(1, int(round(alpha * N)))
    return np.random.default_rng(seed).standard_normal((P, N))


@dataclass(frozen=True)
class SGDStability(ReadOnlyArrays):
    """Lyapunov exponent per step of the SGD Jacobian product, mean and sem over ``n_seeds`` runs."""

    eta: float
    B: int
    lyapunov: float
    lyapunov_sem: float
    n_seeds: int
    n_steps: int


def _batch_step(X, v, idx, eta):
    """``v - eta * Sigma_B v`` with ``Sigma_B = (1/B) sum_{mu in batch} x_mu x_mu^T``, for all runs at once."""
    xb = X[idx]                                   # (S, B, N)
    proj = np.einsum("sbn,sn->sb", xb, v)
    return v - eta * np.einsum("sbn,sb->sn", xb, proj) / idx.shape[1]


def sgd_lyapunov(X, eta: float, B: int, seeds, n_steps: int = 400, burn_in: int = 50) -> SGDStability:
    r"""Top Lyapunov exponent of $\prod_k (I - \eta\hat\Sigma_{B_k})$ restricted to the span of the data.

    $\gamma = \lim \frac1k\log\lVert v_k\rVert$, estimated from independent runs (one per seed, all
    vectorized), each renormalized at every step; ``gamma < 0``: the minimum is stable for SGD (almost surely).
    """
    X = check_array("X", X, ndim=2)
    P, N = X.shape
    eta = check_real("eta", eta, low=0.0, low_open=True)
    B = check_int("B", B, low=1, high=P)
    n_steps = check_int("n_steps", n_steps, low=1)
    burn_in = check_int("burn_in", burn_in, low=0)
    seeds = list(seeds)
    if len(seeds) < 2:
        raise ValueError("seeds must hold at least 2 seeds")
    rng = np.random.default_rng(seeds)
    v = rng.standard_normal((len(seeds), P)) @ X        # start in the span of the data
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    logs = np.zeros(len(seeds))
    for k in range(burn_in + n_steps):
        v = _batch_step(X, v, rng.integers(0, P, size=(len(seeds), B)), eta)
        nrm = np.linalg.norm(v, axis=1)
        if k >= burn_in:
            logs += np.log(nrm)
        v /= nrm[:, None]
    m, s = mean_sem(logs / n_steps)
    return SGDStability(eta, B, float(m), float(s), len(seeds), n_steps)


def mean_square_operator(X, eta: float, B: int):
    r"""The exact second-moment map $M\mapsto\mathbb E_B[(I-\eta\hat\Sigma_B)M(I-\eta\hat\Sigma_B)]$.

    With batches of ``B`` indices drawn uniformly with replacement,

    .. math:: \mathcal T(M) &= M - \eta(\hat\Sigma M + M\hat\Sigma)\\
              &\quad + \eta^2\Big[(1-\tfrac1B)\hat\Sigma M\hat\Sigma
              + \tfrac1{BP}\sum_\mu (x_\mu^\top M x_\mu)\,x_\mu x_\mu^\top\Big].
    """
    X = check_array("X", X, ndim=2)
    P = X.shape[0]
    eta = check_real("eta", eta, low=0.0, low_open=True)
    B = check_int("B", B, low=1, high=P)
    S = X.T @ X / P

    def T(M):
        q = np.einsum("pi,ij,pj->p", X, M, X)
        return (M - eta * (S @ M + M @ S) + eta**2 * ((1 - 1 / B) * S @ M @ S + (X.T * q) @ X / (B * P)))
    return T


def _span_coordinates(X):
    """Coordinates of the data in an orthonormal basis of its row space (the directions SGD moves)."""
    Q, _ = np.linalg.qr(X.T)          # (N, P), orthonormal columns spanning the rows of X
    return X @ Q


def mean_square_rate(X, eta: float, B: int, tol: float = 1e-10) -> float:
    r"""Growth rate $\tfrac12\log\rho(\mathcal T)$ of $\sqrt{\mathbb E\lVert v_k\rVert^2}$ per step.

    $\mathcal T$ is restricted to the span of the data (outside it SGD does not move, and
    $\mathcal T$ is the identity there); it is self-adjoint for the Frobenius product, so its top
    eigenvalue is computed by Lanczos (``scipy.sparse.linalg.eigsh``). Mean-square stable iff the
    rate is negative; the rate bounds the Lyapunov exponent from above (Jensen's inequality).
    Raises ``ConvergenceError`` if Lanczos does not converge.
    """
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    Xs = _span_coordinates(check_array("X", X, ndim=2))
    P = Xs.shape[0]
    T = mean_square_operator(Xs, eta, B)
    op = LinearOperator((P * P, P * P), matvec=lambda m: T(m.reshape(P, P)).ravel(), dtype=np.float64)
    v0 = (Xs.T @ Xs / P).ravel()
    try:
        rho = eigsh(op, k=1, which="LA", v0=v0, tol=tol, return_eigenvectors=False)[0]
    except ArpackNoConvergence as exc:  # pragma: no cover - reported to the caller
        raise ConvergenceError("Lanczos on the mean-square operator did not converge",
                               getattr(exc, "eigenvalues", [])) from None
    if rho <= 0:
        raise ConvergenceError(f"mean-square operator has a non-positive top eigenvalue {rho:.3g}", [rho])
    return 0.5 * float(np.log(rho))


def sgd_second_moment(X, eta: float, B: int, n_steps: int, seeds):
    r"""Exact $\mathbb E\lVert v_k\rVert^2$ (iterating $\mathcal T$) and its Monte Carlo estimate over runs.

    Returns ``(exact, mc_mean, mc_sem)``, arrays over ``k = 0..n_steps``, from
    $v_0 = \hat\Sigma\,u/\lVert\hat\Sigma u\rVert$ with a fixed ``u`` (so $M_0 = v_0 v_0^\top$).
    """
    X = check_array("X", X, ndim=2)
    P, N = X.shape
    n_steps = check_int("n_steps", n_steps, low=1)
    seeds = list(seeds)
    if len(seeds) < 2:
        raise ValueError("seeds must hold at least 2 seeds")
    u = np.random.default_rng(12345).standard_normal(N)
    v0 = X.T @ (X @ u)
    v0 /= np.linalg.norm(v0)
    T = mean_square_operator(X, eta, B)
    M = np.outer(v0, v0)
    exact = np.empty(n_steps + 1)
    exact[0] = 1.0
    for k in range(n_steps):
        M = T(M)
        exact[k + 1] = np.trace(M)
    rng = np.random.default_rng(seeds)
    v = np.repeat(v0[None, :], len(seeds), axis=0)
    sq = np.empty((len(seeds), n_steps + 1))
    sq[:, 0] = 1.0
    for k in range(n_steps):
        v = _batch_step(X, v, rng.integers(0, P, size=(len(seeds), B)), eta)
        sq[:, k + 1] = np.einsum("sn,sn->s", v, v)
    m, s = mean_sem(sq)
    return exact, m, s


def sgd_threshold_theory(alpha: float, B: int, N: int) -> float:
    r"""High-dimensional mean-square stability threshold of SGD at the interpolating minimum.

    Treating $x_\mu^\top M x_\mu$ as self-averaging over samples, $\mathcal T$ becomes diagonal
    plus rank one in the eigenbasis of $\hat\Sigma$, and $\rho(\mathcal T) = 1$ at

    .. math:: 1 = \frac{\eta N}{B}\int\rho_{MP}(\lambda)\,\frac{\lambda\,d\lambda}{2-\eta\lambda(1-1/B)} ,

    so that $\eta_c = 2B/N$ for a batch of size one and $\eta_c\to 2B/N$ whenever $B\ll N$:
    SGD needs a step $O(B/N)$, far below the GD threshold $2/\lambda_+$.
    Finite-$N$ corrections are $O(1/N)$.

    >>> round(sgd_threshold_theory(alpha=0.5, B=1, N=100), 6)
    0.02
    """
    from scipy.optimize import brentq

    alpha = check_real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    N = check_int("N", N, low=2)
    B = check_int("B", B, low=1, high=max(1, int(round(alpha * N))))
    c = 1.0 - 1.0 / B
    mean_lam = rmt.marchenko_pastur_expect(lambda lam: lam, alpha)   # = 1 (atom contributes 0)
    if c == 0.0:
        return float(2.0 * B / (N * mean_lam))
    f = lambda eta: (eta * N / B) * rmt.marchenko_pastur_expect(lambda lam: lam / (2 - eta * lam * c), alpha) - 1
    upper = 2.0 / (rmt.mp_edges(alpha)[1] * c)
    return float(brentq(f, 1e-12, upper * (1 - 1e-12), xtol=1e-12))


def mean_square_threshold(X, B: int, eta_lo: float, eta_hi: float, xtol: float = 1e-7) -> float:
    r"""Exact finite-$N$ mean-square stability threshold of SGD on the data ``X``.

    The root in ``(eta_lo, eta_hi)`` of ``mean_square_rate(X, eta, B) = 0``, i.e. of
    $\rho(\mathcal T) = 1$ with $\mathcal T$ restricted to the span of the data (no closure, no
    $N\to\infty$); by Brent's method. Raises ``ValueError`` if the bracket holds no sign change.
    """
    from scipy.optimize import brentq

    eta_lo = check_real("eta_lo", eta_lo, low=0.0, low_open=True)
    eta_hi = check_real("eta_hi", eta_hi, low=eta_lo, low_open=True)
    xtol = check_real("xtol", xtol, low=0.0, low_open=True)
    f = lambda e: mean_square_rate(X, e, B)
    lo, hi = f(eta_lo), f(eta_hi)
    if not (lo < 0 < hi):
        raise ValueError(f"the mean-square rate must change sign on [eta_lo, eta_hi]; got {lo:.3g}, {hi:.3g}")
    return float(brentq(f, eta_lo, eta_hi, xtol=xtol))


def lyapunov_crossing(X, B: int, etas, seeds, n_steps: int = 2000, burn_in: int = 200):
    r"""Step size where the simulated Lyapunov exponent changes sign (linear interpolation on ``etas``).

    Returns ``(eta_cross, eta_cross_err, exponents, sems)``, the error propagated from the standard
    errors of the two bracketing exponents through the local slope; raises ``ValueError`` if the
    exponent does not change sign on the grid.
    """
    etas = check_array("etas", etas, ndim=1, low=0.0)
    if etas.ndim != 1 or etas.size < 2 or np.any(np.diff(etas) <= 0):
        raise ValueError("etas must be an increasing 1-D array of at least 2 step sizes")
    res = [sgd_lyapunov(X, e, B, seeds, n_steps=n_steps, burn_in=burn_in) for e in etas]
    g = np.array([r.lyapunov for r in res])
    s = np.array([r.lyapunov_sem for r in res])
    k = np.flatnonzero((g[:-1] < 0) & (g[1:] >= 0))
    if k.size == 0:
        raise ValueError("the Lyapunov exponent does not change sign on the etas grid; widen it")
    k = k[0]
    slope = (g[k + 1] - g[k]) / (etas[k + 1] - etas[k])
    cross = etas[k] - g[k] / slope
    return float(cross), float(max(s[k], s[k + 1]) / slope), g, s


check_public(globals())
