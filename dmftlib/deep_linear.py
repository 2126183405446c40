r"""Deep linear networks: exact mode dynamics (Saxe et al.) and feature learning on random data (DMFT).

Part 1: exact dynamics of one singular mode
-------------------------------------------
With whitened inputs and a balanced, aligned initialization, each singular mode of the end-to-end map of a
depth-$L$ linear network evolves alone (Saxe, McClelland and Ganguli, 2014). With unit learning rate per
layer on the loss $\frac12(s-a)^2$ its strength obeys

.. math:: \dot a = L\,a^{2-2/L}\,(s-a),\qquad a(0) = a_0\in(0, s),

logistic for $L = 2$: $a(t) = s e^{2st}/(e^{2st} - 1 + s/a_0)$. :func:`saxe_mode` solves it exactly
for every depth (a quadrature of the separable equation, inverted by Newton's method); :func:`saxe_time`
gives the time to reach a fraction of $s$.

Part 2: a two-layer linear network on random data (conventions of the whole module)
----------------------------------------------------------------------------------
Data $x_\mu\sim\mathcal N(0, I_D)$, $\mu = 1..P$, $\alpha = P/D$, teacher
$y = \beta^*\cdot x/\sqrt D + \sigma\varepsilon$, $\beta^*\sim\mathcal N(0, I_D)$. Student of width
$N$ with richness $\gamma_0$:

.. math::

    &f(x) = \frac{v^\top W x}{\gamma_0 N} = \frac{\beta\cdot x}{\sqrt D},\quad
    \beta = \frac{\sqrt D\,W^\top v}{\gamma_0 N},\\
    &L = \frac1{2P}\sum_\mu (y_\mu - f(x_\mu))^2,\qquad \frac{d\theta}{dt} = -\gamma_0^2 N\,\nabla_\theta L,

$W(0)$ with i.i.d. $\mathcal N(0,1)$ entries (``init="gaussian"``) or $\sqrt N$ times a matrix with
orthonormal columns (``init="orthogonal"``, needs $N\ge D$), and a zero readout $v(0) = 0$ (as in muP),
so $f(0) = 0$. With $g = \frac{\sqrt D}{P}X^\top(y - X\beta/\sqrt D) = \hat\Sigma(\beta^*-\beta) + \sigma n$
($\hat\Sigma = X^\top X/P$, $n = \sqrt D X^\top\varepsilon/P$), gradient flow gives
$\dot W = \gamma_0 v g^\top/\sqrt D$, $\dot v = \gamma_0 W g/\sqrt D$, hence the **exact closed system**

.. math::

    \dot\beta = (q I + G)\,g,\qquad \dot G = \frac{\gamma_0^2}{D}\bigl(g\beta^\top + \beta g^\top\bigr),\qquad
    \dot q = \frac{2\gamma_0^2}{D}\,\beta\cdot g,

for $G = W^\top W/N$ (the hidden weights' Gram matrix) and $q = |v|^2/N$ (readout $v$), with $\beta(0) = 0$,
$q(0) = 0$, $G(0) = W_0^\top W_0/N$. The width enters only through $G(0)$ (a Wishart matrix,
$\to I$ as $N\to\infty$); $WW^\top - vv^\top$ is conserved. When $G(0) = I$
($N\to\infty$, or ``init="orthogonal"``) this forces $G = I + q\hat\beta\hat\beta^\top$ with
$q + q^2 = \gamma_0^2|\beta|^2/D$: a rank-one spike along the learned function (tested). Lazy limit $\gamma_0\to 0$:
$\dot\beta = G(0)g$, i.e. for $N\to\infty$ the linear-regression flow of :mod:`dmftlib.linear`
(same clock). Errors: $E_g = |\beta-\beta^*|^2/D$ (no irreducible $\sigma^2$),
$E_t = \frac1P|y - X\beta/\sqrt D|^2$.

DMFT ($N\to\infty$ first, then $D, P\to\infty$ at fixed $\alpha$)
------------------------------------------------------------------------------------
In the eigenbasis of $\hat\Sigma$ each mode is $\beta_\lambda(t) = r_\lambda(t)u_\lambda$,
$u = \hat\Sigma\beta^* + \sigma n$, $\mathbb E u_\lambda^2 = w(\lambda) = \lambda^2 + \sigma^2\lambda/\alpha$,
and $G(t) = I + \frac{\gamma_0^2}{D}\operatorname{diag}(u)\,H(t)\operatorname{diag}(u)$ with a deterministic
kernel $H(t;\lambda,\lambda')$. With $e_\lambda = 1 - \lambda r_\lambda$ the closed equations are

.. math::

    \dot r_\lambda &= (1+q)\,e_\lambda + \gamma_0^2\!\int\!\rho(\lambda')w(\lambda')H(\lambda,\lambda')e_{\lambda'}d\lambda',\\
    \dot H(\lambda,\lambda') &= e_\lambda r_{\lambda'} + r_\lambda e_{\lambda'},\qquad
    \dot q = 2\gamma_0^2\!\int\!\rho\,w\,r_\lambda e_\lambda\,d\lambda,

($\rho$ = Marchenko-Pastur law); $H = \int_0^t ds\,[e(s)r(s)^\top + r(s)e(s)^\top]$ is a
two-time integral, so the memory is not a function of $t - t'$. The eigenvalues of
$G - I$ are those of the operator $\gamma_0^2\sqrt{\rho w}H\sqrt{\rho w}$: a few outliers (the
spike) above the bulk of $G$, whose top eigenvector overlaps the teacher. :func:`theory` integrates
these equations (RK4 on the Marchenko-Pastur quadrature of :func:`dmftlib.linear.mp_quadrature`);
:func:`simulate` integrates the exact finite-$(N, D)$ system (batched over seeds).

References: A. Saxe, J. McClelland and S. Ganguli (2014); B. Bordelon and C. Pehlevan, *Disordered dynamics
in high dimensions* (review, arXiv:2601.01010) and *Self-consistent dynamical field theory of kernel
evolution in wide neural networks* (2022); S. Arora, N. Cohen and E. Hazan (2018).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .core import (ConvergenceError, ReadOnlyArrays, check_budget, check_choice, check_int, check_real,
                   check_seeds, check_time_grid, mean_sem, symmetrize)
from . import linear
from .core import rmt

__all__ = ["saxe_mode", "saxe_time", "population_curve", "DeepLinearResult", "theory", "simulate",
           "response_kernel", "finite_width_spike", "plot_saxe_modes", "plot_learning_curves"]


# ----------------------------------------------------------------------------------------------
# Part 1: Saxe modes
# ----------------------------------------------------------------------------------------------
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)


def _check_saxe(s, a0, depth):
    s = check_real("s", s, low=0.0, low_open=True, high=1e6)
    a0 = check_real("a0", a0, low=0.0, low_open=True, high=s, high_open=True)
    depth = check_int("depth", depth, low=1, high=1000)
    return s, a0, depth


def _saxe_integrand(z, p):
    r"""$(1 + e^{-z})^{p-1}$ (the clock density in the logit variable), overflow-safe."""
    return np.exp((p - 1.0) * np.logaddexp(0.0, -z))


def _saxe_table(s, a0, depth, h=0.01):
    """Logit grid ``z`` from ``z0 = logit(a0/s)`` to 40 and the exact times ``T(z)`` (8-point Gauss per panel)."""
    p = 2.0 - 2.0 / depth
    rate = depth * s**p
    z0 = np.log(a0 / s) - np.log1p(-a0 / s)
    z1 = max(z0, 0.0) + 40.0
    n = int(np.ceil((z1 - z0) / h))
    check_budget("quadrature panels", n, limit=10**7)
    z = np.linspace(z0, z1, n + 1)
    mid, half = 0.5 * (z[1:] + z[:-1]), 0.5 * (z[1:] - z[:-1])
    nodes = mid[:, None] + half[:, None] * _GL_X[None, :]
    panel = half * (_saxe_integrand(nodes, p) @ _GL_W)
    T = np.concatenate([[0.0], np.cumsum(panel)]) / rate
    return z, T, p, rate


def saxe_mode(s: float, a0: float, t, depth: int = 2) -> np.ndarray:
    r"""Strength $a(t)$ of one singular mode of a depth-$L$ linear network (Saxe et al. 2014).

    Solves exactly $\dot a = L a^{2-2/L}(s-a)$, $a(0) = a_0$, $0 < a_0 < s$ (whitened
    inputs, balanced aligned initialization, unit learning rate per layer on $\frac12(s-a)^2$). In the
    logit variable $z = \log\frac{a}{s-a}$ the clock is
    $t(z) = \frac{1}{L s^{2-2/L}}\int_{z_0}^z (1+e^{-z'})^{1-2/L}dz'$: a smooth, positive integrand,
    integrated by Gauss-Legendre panels and inverted by Newton's method (relative error about
    $10^{-12}$). Closed forms: $L = 1$: $a = s + (a_0 - s)e^{-t}$;
    $L = 2$: $a = s e^{2st}/(e^{2st} - 1 + s/a_0)$.

    Parameters
    ----------
    s : float > 0
        Singular value of the target map (input-output correlation).
    a0 : float in (0, s)
        Initial strength of the mode.
    t : 1-D increasing array of times >= 0.
    depth : int >= 1
        Number of layers $L$.

    Returns
    -------
    a : numpy.ndarray of the shape of ``t``.

    Examples
    --------
    >>> a = saxe_mode(2.0, 0.01, [0.0, 1.0, 5.0], depth=2)
    >>> [round(float(x), 4) for x in a]
    [0.01, 0.4306, 2.0]
    """
    s, a0, depth = _check_saxe(s, a0, depth)
    t = check_time_grid("t", t)
    z, T, p, rate = _saxe_table(s, a0, depth)
    zt = np.empty_like(t)
    inside = t <= T[-1]
    # beyond the table a = s to double precision: dz/dt -> rate, the clock density -> 1
    zt[~inside] = z[-1] + rate * (t[~inside] - T[-1])
    ti = t[inside]
    k = np.clip(np.searchsorted(T, ti, side="right") - 1, 0, z.size - 2)
    # cubic Hermite start (dz/dt = rate / integrand), then Newton on the exact panel integral
    h = z[k + 1] - z[k]
    frac = (ti - T[k]) / np.where(T[k + 1] > T[k], T[k + 1] - T[k], 1.0)
    zi = z[k] + frac * h
    for _ in range(6):
        half = 0.5 * (zi - z[k])
        nodes = z[k][:, None] + half[:, None] * (_GL_X[None, :] + 1.0)
        Tz = T[k] + half * (_saxe_integrand(nodes, p) @ _GL_W) / rate
        zi = zi - (Tz - ti) * rate / _saxe_integrand(zi, p)
    zt[inside] = zi
    return s / (1.0 + np.exp(-zt))


def saxe_time(s: float, a0: float, depth: int = 2, fraction: float = 0.5) -> float:
    r"""Time at which a Saxe mode reaches ``fraction * s`` (see :func:`saxe_mode`).

    For $L = 2$: $t = \frac{1}{2s}\log\frac{f(s - a_0)}{(1-f)a_0}\approx\frac1{2s}\log\frac{s}{a_0}$
    at $f = 1/2$; for $L\ge3$ it grows like $a_0^{-(1-2/L)}$ (a power, not a log).

    Examples
    --------
    >>> round(saxe_time(1.0, 1e-3, depth=2), 4)
    3.4534
    """
    s, a0, depth = _check_saxe(s, a0, depth)
    fraction = check_real("fraction", fraction, low=a0 / s, high=1.0, low_open=False, high_open=True)
    p = 2.0 - 2.0 / depth
    z0 = np.log(a0 / s) - np.log1p(-a0 / s)
    z1 = np.log(fraction) - np.log1p(-fraction)
    n = max(1, int(np.ceil((z1 - z0) / 0.01)))
    z = np.linspace(z0, z1, n + 1)
    mid, half = 0.5 * (z[1:] + z[:-1]), 0.5 * (z[1:] - z[:-1])
    val = np.sum(half * (_saxe_integrand(mid[:, None] + half[:, None] * _GL_X[None, :], p) @ _GL_W))
    return float(val / (depth * s**p))


# ----------------------------------------------------------------------------------------------
# Part 2: population limit (alpha -> infinity, no noise): closed form
# ----------------------------------------------------------------------------------------------
def _population_clock(y, k):
    r"""Exact $t(b) = \int_0^b \frac{db'}{(1-b')\sqrt{1+k^2b'^2}}$ at $y = 1 - b$, $k = 2\gamma_0$."""
    c = 1.0 + k * k

    def F(y):
        Q = k * k * y * y - 2 * k * k * y + c
        return np.log((2 * c - 2 * k * k * y + 2 * np.sqrt(c) * np.sqrt(Q)) / y)

    return (F(y) - F(1.0)) / np.sqrt(c)


def population_curve(gamma0: float, t) -> np.ndarray:
    r"""Overlap $b(t) = \beta\cdot\beta^*/|\beta^*|^2$ in the population limit $\alpha\to\infty$, $\sigma = 0$.

    There $\hat\Sigma = I$, everything stays along $\beta^*$ and, with $N\to\infty$,
    $\dot b = (1 + q + c)(1-b)$, $\dot q = \dot c = 2\gamma_0^2 b(1-b)$
    ($c$ = spike of $G$ along $\beta^*$), so $q + q^2 = \gamma_0^2b^2$ and

    .. math:: &\dot b = \sqrt{1+4\gamma_0^2b^2}\,(1-b),\\
              &t(b) = \frac{1}{\sqrt{1+k^2}}\Bigl[\log\frac{n(y)}{y}\Bigr]_{y=1}^{y=1-b},\\
              &n(y) = 2(1+k^2) - 2k^2y + 2\sqrt{1+k^2}\sqrt{k^2y^2-2k^2y+1+k^2},

    $k = 2\gamma_0$. Lazy ($\gamma_0 = 0$): $b = 1 - e^{-t}$; very rich: the logistic
    Saxe curve $\dot b\approx 2\gamma_0 b(1-b)$ once $b\gg 1/\gamma_0$. Test error $(1-b)^2$,
    spike of $G$: $1 + 2q$.

    Examples
    --------
    >>> [round(float(x), 4) for x in population_curve(0.0, [0.0, 1.0])]
    [0.0, 0.6321]
    >>> [round(float(x), 4) for x in population_curve(1.0, [1.0, 5.0])]
    [0.7378, 1.0]
    """
    gamma0 = check_real("gamma0", gamma0, low=0.0, high=1e3)
    t = check_time_grid("t", t)
    k = 2.0 * gamma0
    # bisection on log(1 - b): the clock is monotone; 200 halvings of [-700, 0] reach machine precision
    lo = np.full(t.size, -700.0)              # log(1-b) lower bracket (b -> 1)
    hi = np.zeros(t.size)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        tm = _population_clock(np.exp(mid), k)
        big = tm > t
        lo = np.where(big, mid, lo)
        hi = np.where(big, hi, mid)
    return -np.expm1(0.5 * (lo + hi))


# ----------------------------------------------------------------------------------------------
# Part 2: results
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeepLinearResult(ReadOnlyArrays):
    """Learning curves of the two-layer linear network (theory or simulation: the same fields).

    Attributes
    ----------
    t : (n,) array of times.
    test_error, train_error : (n,) arrays
        $E_g(t) = |\\beta-\\beta^*|^2/D$, $E_t(t) = |y - X\\beta/\\sqrt D|^2/P$.
    overlap : (n,) array
        $m(t) = \\beta\\cdot\\beta^*/D$.
    q : (n,) array
        Readout norm $|v|^2/N$.
    spike : (n,) array
        Largest eigenvalue of $G = W^\\top W/N$ (theory: $1 + \\mu_1$, $\\mu_1$ the top
        eigenvalue of $G - I$, or 1 when $\\mu_1\\le 0$).
    spike_overlap : (n,) array
        $\\cos^2$ of the angle between the top eigenvector of $G$ and $\\beta^*$ (theory at
        $t = 0$: its limit $t\\to0^+$, $1/(1+(1+\\sigma^2)/\\alpha)$).
    outliers : (n, k) array
        The ``k`` largest eigenvalues of $G$ (theory: $1 + \\max(\\mu_j, 0)$).
    C : (n, n) array
        Error correlation $C(t,t') = (\\beta(t)-\\beta^*)\\cdot(\\beta(t')-\\beta^*)/D$.
    *_sem : standard errors over seeds (simulation; zeros for the theory).
    alpha, sigma2, gamma0 : parameters.
    N, D, P, n_seeds : sizes (``None`` / 0 for the theory).
    init : ``"gaussian"``, ``"orthogonal"`` (simulation) or ``"limit"`` (theory).
    dt : integration step. error_estimate : theory, max difference of $E_g$ against a run at ``2 dt``
    (RK4: the error at ``dt`` is about 1/16 of it); simulation, 0.
    converged : bool. wall_time : seconds.
    """

    t: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    overlap: np.ndarray
    q: np.ndarray
    spike: np.ndarray
    spike_overlap: np.ndarray
    outliers: np.ndarray
    C: np.ndarray
    test_error_sem: np.ndarray
    train_error_sem: np.ndarray
    overlap_sem: np.ndarray
    q_sem: np.ndarray
    spike_sem: np.ndarray
    spike_overlap_sem: np.ndarray
    alpha: float
    sigma2: float
    gamma0: float
    N: int | None
    D: int | None
    P: int | None
    n_seeds: int
    init: str
    dt: float
    error_estimate: float
    converged: bool
    wall_time: float


def _check_model(alpha, sigma2, gamma0):
    alpha = check_real("alpha", alpha, low=0.0, low_open=True, high=1e4)
    sigma2 = check_real("sigma2", sigma2, low=0.0, high=1e4)
    gamma0 = check_real("gamma0", gamma0, low=0.0, high=100.0)
    return alpha, sigma2, gamma0


def _substeps(t, dt):
    """Number of equal sub-steps (<= dt) between consecutive output times, starting from time 0."""
    edges = np.concatenate([[0.0], t])
    return np.maximum(np.ceil(np.diff(edges) / dt - 1e-9).astype(int), 0)


# ----------------------------------------------------------------------------------------------
# Part 2: theory
# ----------------------------------------------------------------------------------------------
def _theory_run(lam, w_rho, wu, t, gamma0, dt, n_out, spikes=True):
    """RK4 on (r, H, q); returns r at the output times, q, and the top eigen-pairs of G - I."""
    g2 = gamma0**2
    om = w_rho * wu                       # rho(lambda) w(lambda): weight of each mode in the averages
    n = lam.size
    r = np.zeros(n)
    H = np.zeros((n, n))
    q = 0.0
    sq = np.sqrt(om)
    rhist, qhist, mus, vecs = [], [], [], []
    steps = _substeps(t, dt)
    lam_max = float(lam.max())

    @np.errstate(over="ignore", invalid="ignore")
    def rhs(r, H, q):
        e = 1.0 - lam * r
        dr = (1.0 + q) * e + g2 * (H @ (om * e))
        er = np.outer(e, r)
        return dr, er + er.T, 2.0 * g2 * float(om @ (r * e))

    tcur = 0.0
    for k, tk in enumerate(t):
        if steps[k]:
            h = (tk - tcur) / steps[k]
            for _ in range(steps[k]):
                if not np.isfinite(q):
                    break
                k1 = rhs(r, H, q)
                k2 = rhs(r + 0.5 * h * k1[0], H + 0.5 * h * k1[1], q + 0.5 * h * k1[2])
                k3 = rhs(r + 0.5 * h * k2[0], H + 0.5 * h * k2[1], q + 0.5 * h * k2[2])
                k4 = rhs(r + h * k3[0], H + h * k3[1], q + h * k3[2])
                r = r + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
                H = H + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
                q = q + h / 6 * (k1[2] + 2 * k2[2] + 2 * k3[2] + k4[2])
            if not (np.all(np.isfinite(r)) and np.isfinite(q) and np.all(np.isfinite(H))):
                raise ConvergenceError(f"the DMFT integration diverged before t = {tk:g}; reduce dt",
                                       residuals=np.array([np.inf]))
        tcur = tk
        rhist.append(r.copy())
        qhist.append(q)
        if not spikes:
            if dt * lam_max * (1.0 + q + g2 * float(np.linalg.norm(sq[:, None] * H * sq[None, :]))) > 2.5:
                raise ConvergenceError(f"the step dt = {dt:g} may be too large for the rates reached at t = {tk:g} "
                                       "(RK4 stability); reduce dt", residuals=np.array([np.inf]))
            continue
        A = g2 * (sq[:, None] * H * sq[None, :])
        mu, V = np.linalg.eigh(A)
        # RK4 stability: the fastest rate is lam_max times the largest eigenvalue of the preconditioner
        if dt * lam_max * (1.0 + q + max(float(mu[-1]), 0.0)) > 2.5:
            raise ConvergenceError(f"the step dt = {dt:g} is too large for the rates reached at t = {tk:g} "
                                   "(RK4 stability); reduce dt", residuals=np.array([np.inf]))
        mus.append(mu[::-1][:n_out].copy())
        vecs.append(V[:, -1].copy())
    return np.array(rhist), np.array(qhist), np.array(mus), np.array(vecs)


def theory(alpha: float, sigma2: float, gamma0: float, t, n_outliers: int = 3, dt: float = 0.02,
           n_quad: int = 160, error_estimate: bool = True) -> DeepLinearResult:
    r"""The $N\to\infty$, then $D\to\infty$ (fixed $\alpha$) learning curves of the two-layer linear network.

    Integrates the DMFT of the module docstring (RK4, step ``<= dt``, landing exactly on each output time)
    on the Marchenko-Pastur quadrature :func:`dmftlib.linear.mp_quadrature` with ``n_quad`` bulk nodes
    (the atom at zero included). From $r_\lambda(t)$:

    .. math::

        E_g &= \int\!\rho\,\bigl[(1-\lambda r)^2 + \tfrac{\sigma^2}{\alpha}\lambda r^2\bigr],\qquad m = \int\!\rho\,\lambda r,\\
        E_t &= \int\!\rho\,\lambda\bigl[(1-\lambda r)^2 + \tfrac{\sigma^2}{\alpha}\lambda r^2\bigr]
              + \sigma^2\Bigl(1 - \tfrac2\alpha\int\!\rho\,\lambda r\Bigr),

    and the spike from the eigen-pairs $(\mu_j, y_j)$ of
    $\gamma_0^2\sqrt{\rho w}\,H\sqrt{\rho w}$ (an ``n_quad x n_quad`` matrix): top eigenvalue of
    $G$ = $1+\mu_1$, overlap $\cos^2 = \bigl(\sum_i\sqrt{\rho_i}\lambda_i y_{1,i}/\sqrt{w_i}\bigr)^2$.
    For ``gamma0 = 0`` it is :func:`dmftlib.linear.gradient_flow_theory` (lazy limit, same clock).

    Cost: $O(n_{quad}^2)$ per step and memory $O(n_{quad}^2 + n^2)$ for ``n`` output times; about
    0.1 s for ``t`` up to 20. With ``error_estimate`` the run is repeated at ``2 dt`` and the largest change
    of $E_g$ is reported (the RK4 error at ``dt`` is about 16 times smaller).

    Examples
    --------
    >>> th = theory(2.0, 0.0, 1.0, [0.0, 2.0, 10.0], dt=0.05)
    >>> [round(float(e), 3) for e in th.test_error], round(float(th.spike[-1]), 2)
    ([1.0, 0.083, 0.001], 1.61)
    """
    wall = time.perf_counter()
    alpha, sigma2, gamma0 = _check_model(alpha, sigma2, gamma0)
    t = check_time_grid("t", t)
    n_outliers = check_int("n_outliers", n_outliers, low=1, high=20)
    dt = check_real("dt", dt, low=1e-4, high=1.0)
    n_quad = check_int("n_quad", n_quad, low=16, high=2000)
    if not isinstance(error_estimate, (bool, np.bool_)):
        raise ValueError(f"error_estimate must be True or False; got {error_estimate!r}")
    nsteps = int(_substeps(t, dt).sum()) + t.size
    check_budget("time steps x quadrature nodes^2", 4.0 * nsteps * (n_quad + 1) ** 2)
    lam_all, w_all = linear.mp_quadrature(alpha, n_quad)
    wu_all = lam_all**2 + sigma2 * lam_all / alpha
    keep = (w_all > 0) & (wu_all > 0)        # modes that move (the atom at zero does not: u = 0 there)
    lam, w_rho, wu = lam_all[keep], w_all[keep], wu_all[keep]
    atom = float(w_all[~keep].sum())         # frozen modes: r irrelevant, (1 - lam r)^2 = 1 if lam = 0
    n_out = min(n_outliers, lam.size)

    def curves(r):
        e = 1.0 - lam[None, :] * r
        eg = (e**2 + (sigma2 / alpha) * lam * r**2) @ w_rho + atom
        et = (lam * (e**2 + (sigma2 / alpha) * lam * r**2)) @ w_rho + sigma2 * (1.0 - (2.0 / alpha) * ((lam * r) @ w_rho))
        return eg, et

    r, q, mu, V = _theory_run(lam, w_rho, wu, t, gamma0, dt, n_out)
    eg, et = curves(r)
    m = (lam * r) @ w_rho
    # error correlation C(t,t') = int rho [e(t)e(t') + sigma2/alpha lam r(t)r(t')]
    e = 1.0 - lam[None, :] * r
    C = symmetrize((e * w_rho) @ e.T + atom + (sigma2 / alpha) * (r * (lam * w_rho)) @ r.T)
    mu_pos = np.maximum(mu, 0.0)
    spike = 1.0 + mu_pos[:, 0]
    phi_coef = np.sqrt(w_rho) * lam / np.sqrt(wu)
    cos2 = (V @ phi_coef) ** 2
    cos2_0 = 1.0 / (1.0 + (1.0 + sigma2) / alpha)
    cos2 = np.where(mu[:, 0] > 1e-12, cos2, cos2_0)
    outliers = 1.0 + mu_pos
    if n_out < n_outliers:
        outliers = np.concatenate([outliers, np.ones((t.size, n_outliers - n_out))], axis=1)
    err = 0.0
    if error_estimate:
        r2, *_ = _theory_run(lam, w_rho, wu, t, gamma0, 2 * dt, 1, spikes=False)
        err = float(np.max(np.abs(curves(r2)[0] - eg)))
    z = np.zeros(t.size)
    return DeepLinearResult(t=t, test_error=eg, train_error=et, overlap=m, q=q, spike=spike, spike_overlap=cos2,
                            outliers=outliers, C=C, test_error_sem=z, train_error_sem=z, overlap_sem=z, q_sem=z,
                            spike_sem=z, spike_overlap_sem=z, alpha=alpha, sigma2=sigma2, gamma0=gamma0, N=None,
                            D=None, P=None, n_seeds=0, init="limit", dt=dt, error_estimate=err, converged=True,
                            wall_time=time.perf_counter() - wall)


# ----------------------------------------------------------------------------------------------
# Part 2: simulation
# ----------------------------------------------------------------------------------------------
def _draw(N, D, P, seeds, init):
    """Data, teacher, noise and G(0) = W0^T W0 / N for each seed (drawing only: one generator per seed).

    Order of the draws for seed ``s`` (``np.random.default_rng(s)``): X (P x D), beta* (D), eps (P), then
    W0 (N x D) when ``init == "gaussian"``.
    """
    S = len(seeds)
    X = np.empty((S, P, D))
    bstar = np.empty((S, D))
    eps = np.empty((S, P))
    G0 = np.empty((S, D, D))
    for i, s in enumerate(seeds):
        rng = np.random.default_rng(s)
        X[i] = rng.standard_normal((P, D))
        bstar[i] = rng.standard_normal(D)
        eps[i] = rng.standard_normal(P)
        if init == "gaussian":
            W0 = rng.standard_normal((N, D))
            G0[i] = W0.T @ W0 / N
        else:
            G0[i] = np.eye(D)
    return X, bstar, eps, G0


def simulate(N: int, D: int, alpha: float, sigma2: float, gamma0: float, t, seeds, n_outliers: int = 3,
             dt: float = 0.05, init: str = "gaussian") -> DeepLinearResult:
    r"""Gradient flow of the two-layer linear network at finite width $N$ and input dimension $D$.

    Integrates the exact closed system $(\beta, G, q)$ of the module docstring (it *is* gradient flow
    on $(W, v)$, reduced by $\beta = \sqrt D W^\top v/(\gamma_0 N)$, $G = W^\top W/N$,
    $q = |v|^2/N$; checked against the explicit $(W,v)$ flow in the tests) by RK4 with step
    ``<= dt``, in the eigenbasis of $\hat\Sigma$, batched over seeds ($G$ is updated by the
    rank-8 RK4 combination of the rank-2 stage increments). $P = \mathrm{round}(\alpha D)$.
    Draws: see :func:`_draw`. Memory $\approx 8\,n_{seeds}(P + 2D)D$ bytes (plus $N D$ for one seed's
    $W_0$); work $\approx 10\,n_{steps}n_{seeds}D^2$ plus an ``eigh`` of $G$ per output time.

    Parameters
    ----------
    N : int >= 1 (width), D : int >= 2 (input dimension).
    alpha, sigma2, gamma0 : model parameters (as :func:`theory`).
    t : 1-D increasing array of times >= 0.
    seeds : int n (``range(n)``) or a sequence of at least 2 distinct seeds.
    init : ``"gaussian"`` (i.i.d. $W_0$) or ``"orthogonal"`` ($W_0^\top W_0 = N I$, needs ``N >= D``).

    Examples
    --------
    >>> sim = simulate(400, 40, 2.0, 0.0, 1.0, [0.0, 2.0], seeds=4)
    >>> round(float(sim.test_error[0]), 2), sim.P, sim.n_seeds
    (0.84, 80, 4)
    """
    wall = time.perf_counter()
    N = check_int("N", N, low=1, high=10**7)
    D = check_int("D", D, low=2, high=5000)
    alpha, sigma2, gamma0 = _check_model(alpha, sigma2, gamma0)
    t = check_time_grid("t", t)
    seeds = check_seeds("seeds", seeds)
    if len(seeds) < 2:
        raise ValueError(f"seeds must hold at least 2 seeds (for a standard error); got {len(seeds)}")
    n_outliers = check_int("n_outliers", n_outliers, low=1, high=D)
    dt = check_real("dt", dt, low=1e-4, high=1.0)
    init = check_choice("init", init, ("gaussian", "orthogonal"))
    if init == "orthogonal" and N < D:
        raise ValueError(f"init='orthogonal' needs N >= D; got N = {N}, D = {D}")
    P = max(1, int(round(alpha * D)))
    S = len(seeds)
    check_budget("doubles (data and Gram matrices)", S * (P + 3 * D) * D + (N * D if init == "gaussian" else 0),
                 limit=2**27)
    nsteps = int(_substeps(t, dt).sum())
    check_budget("time steps x seeds x D^2", 6.0 * nsteps * S * D * D + (N * D * D * S if init == "gaussian" else 0))
    X, bstar, eps, G0 = _draw(N, D, P, seeds, init)
    # eigenbasis of Sigma_hat (batched)
    lam, U = np.linalg.eigh(np.swapaxes(X, 1, 2) @ X / P)
    lam = np.clip(lam, 0.0, None)
    Ut = np.swapaxes(U, 1, 2)
    bs = (Ut @ bstar[:, :, None])[:, :, 0]
    nvec = np.sqrt(D) / P * (np.swapaxes(X, 1, 2) @ eps[:, :, None])[:, :, 0]
    nt = (Ut @ nvec[:, :, None])[:, :, 0]
    eps2 = np.mean(eps**2, axis=1)
    del X
    G = Ut @ G0 @ U
    del G0
    sig = np.sqrt(sigma2)
    c = gamma0**2 / D
    beta = np.zeros((S, D))
    q = np.zeros(S)
    drive = lam * bs + sig * nt               # u = Sigma_hat beta* + sigma n (eigenbasis)

    def grad(b):
        return drive - lam * b

    def stage(b, q, Gg_base, corr):
        """(d beta, d q, g, beta) at a stage whose G = G_step + sum_j coef_j (g_j b_j^T + b_j g_j^T)."""
        g = grad(b)
        Gg = Gg_base(g)
        for coef, gj, bj in corr:
            Gg = Gg + coef * (gj * np.sum(bj * g, axis=1, keepdims=True) + bj * np.sum(gj * g, axis=1, keepdims=True))
        return q[:, None] * g + Gg, 2 * c * np.sum(b * g, axis=1), g, b

    def record(beta, q, G):
        v = beta - bs
        eg = np.mean(v**2, axis=1)
        et = sigma2 * eps2 - 2 * sig * np.mean(nt * v, axis=1) + np.mean(lam * v**2, axis=1)
        m = np.mean(beta * bs, axis=1)
        ev, evec = np.linalg.eigh(G)
        top = evec[:, :, -1]
        cos2 = np.sum(top * bs, axis=1) ** 2 / np.sum(bs**2, axis=1)
        return eg, et, m, q.copy(), ev[:, ::-1][:, :n_outliers].copy(), cos2, v

    out = []
    steps = _substeps(t, dt)
    tcur = 0.0
    lam_max = float(lam.max())
    for k, tk in enumerate(t):
        if steps[k]:
            h = (tk - tcur) / steps[k]
            for _ in range(steps[k]):
                Gg_base = (lambda g, G=G: (G @ g[:, :, None])[:, :, 0])
                d1, q1, g1, b1 = stage(beta, q, Gg_base, [])
                d2, q2, g2, b2 = stage(beta + 0.5 * h * d1, q + 0.5 * h * q1, Gg_base, [(0.5 * h * c, g1, b1)])
                d3, q3, g3, b3 = stage(beta + 0.5 * h * d2, q + 0.5 * h * q2, Gg_base, [(0.5 * h * c, g2, b2)])
                d4, q4, g4, b4 = stage(beta + h * d3, q + h * q3, Gg_base, [(h * c, g3, b3)])
                beta = beta + h / 6 * (d1 + 2 * d2 + 2 * d3 + d4)
                q = q + h / 6 * (q1 + 2 * q2 + 2 * q3 + q4)
                wts = np.array([1.0, 2.0, 2.0, 1.0]) * (h * c / 6)
                A = np.stack([g1, g2, g3, g4, b1, b2, b3, b4], axis=2)           # (S, D, 8)
                B = np.stack([b1, b2, b3, b4, g1, g2, g3, g4], axis=2) * np.concatenate([wts, wts])
                G = G + A @ np.swapaxes(B, 1, 2)
            if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(G))):
                raise ConvergenceError(f"the simulation diverged before t = {tk:g}; reduce dt",
                                       residuals=np.array([np.inf]))
        tcur = tk
        rec = record(beta, q, G)
        if dt * lam_max * float(np.max(rec[4][:, 0] + q)) > 2.5:
            raise ConvergenceError(f"the step dt = {dt:g} is too large for the rates reached at t = {tk:g} "
                                   "(RK4 stability); reduce dt", residuals=np.array([np.inf]))
        out.append(rec)
    eg, et, m, qq, outl, cos2, v = (np.stack([o[j] for o in out], axis=1) for j in range(7))
    C = np.mean(v @ np.swapaxes(v, 1, 2), axis=0) / D            # (n, n), mean over seeds
    stats = {}
    for name, arr in (("test_error", eg), ("train_error", et), ("overlap", m), ("q", qq), ("spike", outl[:, :, 0]),
                      ("spike_overlap", cos2)):
        stats[name], stats[name + "_sem"] = mean_sem(arr, axis=0)
    return DeepLinearResult(t=t, **stats, outliers=outl.mean(axis=0), C=symmetrize(C), alpha=alpha, sigma2=sigma2,
                            gamma0=gamma0, N=N, D=D, P=P, n_seeds=S, init=init, dt=dt, error_estimate=0.0,
                            converged=True, wall_time=time.perf_counter() - wall)


def response_kernel(alpha: float, sigma2: float, gamma0: float, t_max: float, n: int = 161, n_quad: int = 100):
    r"""The two-time kernel $K(t,t')$ of the DMFT: $\beta(t) = \int_0^t K(t,t')\,g(t')\,dt'$.

    Writing $(G(t)-I)g(t) = \gamma_0^2\int_0^t ds\,[g(s)C_{\beta g}(s,t) + \beta(s)C_{gg}(s,t)]$ with the
    self-averaging correlations $C_{\beta g}(s,t) = \beta(s)\cdot g(t)/D$,
    $C_{gg}(s,t) = g(s)\cdot g(t)/D$, the flow $\dot\beta = (qI+G)g$ becomes linear in
    $g$ with a *scalar* causal kernel:

    .. math::

        &K(t'^+, t') = 1 + q(t'),\\
        &\partial_t K(t,t') = \gamma_0^2\Bigl[C_{\beta g}(t',t) + \int_{t'}^t C_{gg}(s,t)K(s,t')\,ds\Bigr].

    Lazy limit: $K = 1$ (time-translation invariant). Rich: $K(t'+\tau, t')$ depends on
    $t'$. The correlations come from :func:`theory`'s mode functions on the uniform grid of ``n`` points
    on ``[0, t_max]``; the Volterra equation is stepped with the trapezoid rule (error $O(\Delta t^2)$,
    cost $O(n^3)$). Consistency: each mode obeys $r_\lambda(t) = \int_0^t K(t,t')(1-\lambda r_\lambda(t'))dt'$.

    Returns
    -------
    t : (n,) grid; K : (n, n) array, causal (zero above the diagonal, diagonal $1 + q(t)$).

    Examples
    --------
    >>> t, K = response_kernel(2.0, 0.0, 0.0, 2.0, n=21)
    >>> float(K[20, 0]), float(K[0, 20])
    (1.0, 0.0)
    """
    alpha, sigma2, gamma0 = _check_model(alpha, sigma2, gamma0)
    t_max = check_real("t_max", t_max, low=0.0, low_open=True, high=1e3)
    n = check_int("n", n, low=3, high=2000)
    n_quad = check_int("n_quad", n_quad, low=16, high=2000)
    t = np.linspace(0.0, t_max, n)
    h = t[1]
    lam_all, w_all = linear.mp_quadrature(alpha, n_quad)
    wu_all = lam_all**2 + sigma2 * lam_all / alpha
    keep = (w_all > 0) & (wu_all > 0)
    lam, w_rho, wu = lam_all[keep], w_all[keep], wu_all[keep]
    r, q, _, _ = _theory_run(lam, w_rho, wu, t, gamma0, min(h, 0.05), 1, spikes=False)
    om = w_rho * wu
    e = 1.0 - lam[None, :] * r
    Cbg = (r * om) @ e.T          # Cbg[s, t] = beta(s).g(t)/D
    Cgg = (e * om) @ e.T
    g2 = gamma0**2
    K = np.zeros((n, n))
    K[np.arange(n), np.arange(n)] = 1.0 + q
    F = np.zeros((n, n))          # F[i, j] = dK(t_i, t_j)/dt
    F[0, 0] = g2 * Cbg[0, 0]
    for i in range(1, n):
        j = np.arange(i + 1)
        # trapezoid over s in [t_j, t_i]: sum_k w_k Cgg[k, i] K[k, j], the end points with weight h/2
        M = (Cgg[:i + 1, i][:, None] * K[:i + 1, :i + 1])
        M = np.tril(M)
        S = h * M.sum(axis=0) - 0.5 * h * (M[j, j] + M[i, :i + 1])
        F[i, :i + 1] = g2 * (Cbg[:i + 1, i] + S)
        F[i, i] = g2 * Cbg[i, i]
        if i >= 1:
            jj = np.arange(i)
            # K[i, jj] = K[i-1, jj] + h/2 (F[i-1, jj] + F[i, jj]); F[i, jj] holds K[i, jj] with weight h/2 Cgg[i, i]
            a = g2 * 0.5 * h * Cgg[i, i]
            Fi_wo = F[i, jj] - g2 * 0.5 * h * Cgg[i, i] * K[i, jj]     # K[i, jj] is still 0 here
            K[i, jj] = (K[i - 1, jj] + 0.5 * h * (F[i - 1, jj] + Fi_wo)) / (1.0 - 0.5 * h * a)
            F[i, jj] = Fi_wo + a * K[i, jj]
    if not np.all(np.isfinite(K)):
        raise ConvergenceError("the kernel K(t, t') diverged; reduce t_max or increase n", residuals=np.array([np.inf]))
    return t, K


# ----------------------------------------------------------------------------------------------
# Finite width: the spike seen through the Wishart bulk (BBP)
# ----------------------------------------------------------------------------------------------
def finite_width_spike(result: DeepLinearResult, N: int, D: int):
    r"""The theory's spike as seen at finite width: a perturbation of the Wishart matrix $W_0^\top W_0/N$.

    At finite $N$ the Gram matrix is $G = G_0 + \Delta$ with $G_0$ Wishart (ratio
    $D/N$, Marchenko-Pastur law with $\alpha' = N/D$, edge $\lambda_+ = (1+\sqrt{D/N})^2$) and
    $\Delta$ the learned perturbation, whose top eigenvalue $\mu_1$ and teacher overlap the
    $N\to\infty$ theory gives. Treating $\Delta$ as a rank-one perturbation independent of
    $G_0$ (Baik-Ben Arous-Péché; Benaych-Georges and Nadakuditi), an outlier leaves the bulk when
    $\mu_1 > 1/g(\lambda_+)$, at $z$ solving $g(z) = 1/\mu_1$
    ($g(z) = \frac1D\operatorname{tr}(z - G_0)^{-1}$), and its eigenvector keeps the fraction
    $-g(z)^2/g'(z)$ of the overlap; below threshold the top eigenvalue sticks to $\lambda_+$ and
    the overlap vanishes. An approximation (it neglects the feedback of $G_0$ on the trajectory),
    correct to leading order in $D/N$.

    Returns
    -------
    spike, spike_overlap : (n,) arrays for the times of ``result`` (a :func:`theory` result).

    Examples
    --------
    >>> th = theory(2.0, 0.0, 2.0, [0.0, 5.0], dt=0.05, error_estimate=False)
    >>> z, c2 = finite_width_spike(th, 3200, 80)
    >>> round(float(z[0]), 3), round(float(z[1]), 2)
    (1.341, 2.54)
    """
    if not isinstance(result, DeepLinearResult):
        raise ValueError(f"result must be a DeepLinearResult; got {type(result).__name__}")
    N = check_int("N", N, low=1, high=10**9)
    D = check_int("D", D, low=1, high=10**9)
    ap = N / D
    _, lp = rmt.mp_edges(ap)

    def g(z):
        return rmt.marchenko_pastur_stieltjes(z, ap).real

    mu = np.asarray(result.spike) - 1.0
    g_edge = g(lp * (1 + 1e-12) + 1e-300)
    above = mu > 1.0 / g_edge
    z = np.full(mu.size, lp)
    frac = np.zeros(mu.size)
    if np.any(above):
        m = mu[above]
        lo = np.full(m.size, lp * (1 + 1e-12))
        hi = lp + 2.0 * m + 2.0            # g(z) < 1/(z - lp) <= 1/m there
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            big = g(mid) > 1.0 / m
            lo = np.where(big, mid, lo)
            hi = np.where(big, hi, mid)
        zz = 0.5 * (lo + hi)
        hstep = 1e-30 * np.maximum(zz, 1.0)
        gp = rmt.marchenko_pastur_stieltjes(zz + 1j * hstep, ap).imag / hstep    # complex step: g'(z)
        z[above] = zz
        frac[above] = -g(zz) ** 2 / gp
    return z, np.asarray(result.spike_overlap) * frac


# ----------------------------------------------------------------------------------------------
# Plots
# ----------------------------------------------------------------------------------------------
def plot_saxe_modes(depth: int = 2, a0: float = 1e-3, s_values=(1.0, 2.0, 3.0, 4.0), t_max: float = 6.0, ax=None):
    r"""Mode strengths $a(t)/s$ of :func:`saxe_mode` for several singular values (stage-like learning).

    Pure function of its parameters (used by the chapter's widget). Returns the axes.
    """
    from . import plotting

    depth = check_int("depth", depth, low=1, high=1000)
    t_max = check_real("t_max", t_max, low=0.01, high=1e6)
    a0 = check_real("a0", a0, low=0.0, low_open=True, high=1.0, high_open=True)
    if ax is None:
        _, ax = plotting.new_figure()
    t = np.linspace(0.0, t_max, 400)
    total = np.zeros_like(t)
    for s in s_values:
        a = saxe_mode(s, a0 * s, t, depth)    # a0 is relative: a(0) = a0 s
        total += (s - a) ** 2
        plotting.plot_theory(ax, t, a / s, label=f"s = {s:g}")
    ax.plot(t, 0.5 * total / np.sum(np.square(s_values)), "k--", lw=1.2, label="loss (normalised)")
    ax.set_xlabel("training time t")
    ax.set_ylabel("a(t) / s")
    ax.set_title(f"depth L = {depth}, a(0) = {a0:g} s")
    ax.set_ylim(-0.02, 1.05)
    ax.legend(loc="center right")
    return ax


def plot_learning_curves(alpha: float = 2.0, sigma: float = 0.5, gamma0: float = 1.0, t_max: float = 50.0, ax=None):
    r"""Theory of $E_g(t)$ and $E_t(t)$ at richness ``gamma0`` against the lazy curves (dashed), log time.

    Pure function of its parameters (used by the chapter's widget). Returns the axes.
    """
    from . import plotting

    alpha, _, gamma0 = _check_model(alpha, 0.0, gamma0)
    sigma = check_real("sigma", sigma, low=0.0, high=10.0)
    t_max = check_real("t_max", t_max, low=0.1, high=1e3)
    if ax is None:
        _, ax = plotting.new_figure()
    t = np.concatenate([[0.0], np.geomspace(0.05, t_max, 60)])
    dt = min(0.05, 1.0 / (1.0 + gamma0**2) / (1 + alpha**-0.5) ** 2)
    th = theory(alpha, sigma**2, gamma0, t, dt=dt, n_quad=80, error_estimate=False)
    lazy = linear.gradient_flow_theory(alpha, sigma**2, t, n_quad=400)
    line, = ax.plot(t[1:], th.test_error[1:], "-", label=f"test $E_g$, γ0 = {gamma0:g}")
    ax.plot(t[1:], th.train_error[1:], "-", color=line.get_color(), alpha=0.5, label="train $E_t$")
    ax.plot(t[1:], lazy.test_error[1:], "k--", lw=1.2, label="lazy (γ0 → 0): test")
    ax.plot(t[1:], lazy.train_error[1:], "k:", lw=1.2, label="lazy: train")
    ax.set_xscale("log")
    ax.set_xlabel("training time t")
    ax.set_ylabel("error")
    ax.set_title(f"α = {alpha:g}, σ = {sigma:g}")
    ax.set_ylim(0, max(1.05, 1.1 * float(np.max(th.train_error))))
    ax.legend()
    return ax
