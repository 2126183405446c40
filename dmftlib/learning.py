r"""Learning as a dynamical system: the two dynamics of learning, and self-averaging.

The first chapter of the book rests on three numerical facts, each computed here.

* **Inference dynamics.** A residual network $h_{\ell+1} = h_\ell + \frac1L f(h_\ell, \theta(\ell/L))$
  is the Euler scheme of the neural ODE $dh/d\tau = f(h, \theta(\tau))$, $\tau\in[0,1]$;
  its output converges to the ODE solution with a global error $O(1/L)$
  (:func:`random_vector_field`, :func:`resnet`, :func:`neural_ode`, :func:`resnet_vs_ode`).
* **Training dynamics.** Gradient descent with step $\eta$ converges to gradient flow with a
  global error $O(\eta)$, here on teacher-student linear regression
  (:func:`sample_teacher_student`, :func:`gradient_descent`, :func:`gradient_flow`, :func:`gd_vs_gf`).
* **Self-averaging.** The test error of gradient flow at a fixed time fluctuates across datasets
  by $O(N^{-1/2})$ around a deterministic curve, given by the Marchenko-Pastur law
  (:func:`theory`, :func:`simulate`, :func:`self_averaging`).

Conventions (those of the book's notation page). Teacher $y = w^*\cdot x/\sqrt N + \sigma\epsilon$,
$x\sim\mathcal N(0, I_N)$, $w^*\sim\mathcal N(0, I_N)$, $\epsilon\sim\mathcal N(0,1)$;
student $f(x) = w\cdot x/\sqrt N$, $w(0) = 0$; $P = \mathrm{round}(\alpha N)$ samples stacked in
$X\in\mathbb R^{P\times N}$; loss $\mathcal L = \frac1{2P}\sum_\mu (y_\mu - f(x^\mu))^2$; gradient flow
$dw/dt = -N\,\partial\mathcal L/\partial w$ so that, with $v = w - w^*$ and $\hat\Sigma = X^\top X/P$,

.. math:: \frac{dv}{dt} = -\hat\Sigma v + b,\qquad b = \frac{\sigma\sqrt N}{P} X^\top\epsilon,

and the test error is $E_g = |w - w^*|^2/N$. Time $t$ is measured in these units (one unit
of $t$ is $1/\eta$ steps of gradient descent). Seeds sit on the first array axis.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.ticker import NullFormatter

from .core import check_array, check_choice, check_int, check_real, fit_power_law, integrate, mean_sem
from .core import rmt
from .plotting import new_figure, plot_power_law_fit, plot_simulation, plot_theory
from .core import ReadOnlyArrays, check_seed, check_seeds, check_budget, check_public

__all__ = [
    "RandomVectorField", "random_vector_field", "resnet", "neural_ode", "EulerConvergence", "resnet_vs_ode",
    "TeacherStudentData", "sample_teacher_student", "gradient_flow", "gradient_descent", "test_error",
    "GDConvergence", "gd_vs_gf", "stability_limit",
    "TestErrorCurve", "theory", "simulate", "SelfAveraging", "self_averaging", "save_self_averaging",
    "load_self_averaging",
    "plot_resnet_trajectories", "plot_euler_error", "plot_gd_vs_gf", "plot_gd_error",
    "plot_test_error", "plot_self_averaging", "plot_test_error_histogram",
]


def _rngs(seeds):
    """One generator per seed, ``default_rng(s)`` (results do not depend on how seeds are batched)."""
    return [np.random.default_rng(s) for s in check_seeds("seeds", seeds)]


def _sem_or_zero(x, axis=0):
    x = np.asarray(x, dtype=np.float64)
    if x.shape[axis] < 2:
        return x.mean(axis=axis), np.zeros(np.delete(x.shape, axis))
    return mean_sem(x, axis=axis)


# ---------------------------------------------------------------------------------------------
# Inference dynamics: ResNet = Euler scheme of a neural ODE
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RandomVectorField(ReadOnlyArrays):
    r"""A random, smooth, time-dependent vector field on $\mathbb R^N$, one per seed.

    .. math::
        &f(h, \tau) = W(\tau)\tanh(h) + \beta(\tau),\\
        &W(\tau) = \frac{g}{\sqrt N}\bigl(A\cos\omega\tau + B\sin\omega\tau\bigr),\quad
        \beta(\tau) = b_0\cos\omega\tau + b_1\sin\omega\tau,

    with $A, B$ of i.i.d. standard Gaussian entries (so that $W(\tau) h$ is $O(1)$
    per coordinate) and $b_0, b_1 \sim\mathcal N(0, \beta^2 I_N)$. The controls
    $\theta(\tau) = (W(\tau), \beta(\tau))$ are smooth in $\tau$. Arrays carry the seeds first:
    ``A, B`` have shape ``(n_seeds, N, N)``, ``b0, b1`` and ``h0`` shape ``(n_seeds, N)``.
    """

    A: np.ndarray
    B: np.ndarray
    b0: np.ndarray
    b1: np.ndarray
    h0: np.ndarray
    g: float
    omega: float

    @property
    def N(self) -> int:
        return self.A.shape[-1]

    @property
    def n_seeds(self) -> int:
        return self.A.shape[0]

    def __call__(self, tau, h):
        """Evaluate $f(h, \\tau)$ for a state ``h`` of shape ``(n_seeds, N)``."""
        c, s = np.cos(self.omega * tau), np.sin(self.omega * tau)
        phi = np.tanh(h)[..., None]
        Wphi = (c * (self.A @ phi) + s * (self.B @ phi))[..., 0] * (self.g / np.sqrt(self.N))
        return Wphi + c * self.b0 + s * self.b1


def random_vector_field(N: int, seeds=4, g: float = 1.5, omega: float = 2 * np.pi,
                        beta: float = 0.5) -> RandomVectorField:
    """Sample :class:`RandomVectorField` (and an input ``h0 ~ N(0, I_N)``), one per seed.

    ``seeds``: an int ``n`` (meaning ``range(n)``) or a sequence of distinct ints; seed ``s`` draws
    with ``numpy.random.default_rng(s)``.

    Examples
    --------
    >>> F = random_vector_field(50, seeds=[1, 2])
    >>> F(0.0, F.h0).shape
    (2, 50)
    """
    N = check_int("N", N, low=1)
    seeds = check_seeds("seeds", seeds)
    g = check_real("g", g, low=0.0)
    omega = check_real("omega", omega)
    beta = check_real("beta", beta, low=0.0)
    check_budget("doubles (seeds x 2 N^2)", 2.0 * len(seeds) * N * N, limit=2**27)
    draws = [(r.standard_normal((N, N)), r.standard_normal((N, N)), r.standard_normal((3, N)))
             for r in _rngs(seeds)]
    A = np.stack([d[0] for d in draws])
    B = np.stack([d[1] for d in draws])
    V = np.stack([d[2] for d in draws])
    return RandomVectorField(A=A, B=B, b0=beta * V[:, 0], b1=beta * V[:, 1], h0=V[:, 2], g=g, omega=omega)


def resnet(field: RandomVectorField, L: int, h0=None) -> np.ndarray:
    r"""Forward pass of the depth-``L`` residual network $h_{\ell+1} = h_\ell + \frac1L f(h_\ell, \theta(\ell/L))$.

    Returns every layer, shape ``(L + 1, n_seeds, N)`` (layer $\ell$ sits at depth $\tau = \ell/L$).

    >>> F = random_vector_field(20, seeds=2)
    >>> resnet(F, 8).shape
    (9, 2, 20)
    """
    L = check_int("L", L, low=1)
    h = np.array(field.h0 if h0 is None else h0, dtype=np.float64)
    return integrate(field, h, np.linspace(0.0, 1.0, L + 1), method="euler")


def neural_ode(field: RandomVectorField, tau=None, substeps: int = 64, h0=None) -> np.ndarray:
    r"""The neural ODE $dh/d\tau = f(h, \theta(\tau))$ integrated by RK4 (``substeps`` steps per output interval).

    ``tau`` defaults to ``[0, 1]``; returns ``h`` at every ``tau``, shape ``(len(tau), n_seeds, N)``.
    With 64 RK4 steps over $[0,1]$ the error is about $10^{-9}$, far below any ResNet's.
    """
    tau = np.array([0.0, 1.0]) if tau is None else check_array("tau", tau, ndim=1, low=0.0, increasing=True)
    substeps = check_int("substeps", substeps, low=1)
    h = np.array(field.h0 if h0 is None else h0, dtype=np.float64)
    return integrate(field, h, tau, method="rk4", substeps=substeps)


@dataclass(frozen=True)
class EulerConvergence(ReadOnlyArrays):
    """Distance between a ResNet's output and the neural ODE's, against depth ``L``.

    ``error[k]`` is the mean over seeds of $|h_L - h(1)|/\\sqrt N$ at ``L[k]`` (``error_sem`` its
    standard error); ``slope`` and ``slope_stderr`` are the fitted exponent of ``error ~ L^slope``.
    """

    L: np.ndarray
    error: np.ndarray
    error_sem: np.ndarray
    slope: float
    slope_stderr: float
    prefactor: float
    N: int
    n_seeds: int


def resnet_vs_ode(N: int = 100, L_values=(4, 8, 16, 32, 64, 128, 256), seeds=4, g: float = 1.5,
                  ref_substeps: int = 1024) -> EulerConvergence:
    r"""Global error of the ResNet (Euler) against the accurately integrated neural ODE.

    .. math:: e_L = \frac{|h_L - h(\tau=1)|}{\sqrt N} = O(1/L)

    ``h(1)`` comes from RK4 with ``ref_substeps`` steps.

    >>> r = resnet_vs_ode(N=40, L_values=(8, 16, 32, 64), seeds=2)
    >>> round(r.slope, 1)
    -1.0
    """
    L_values = check_array("L_values", L_values, ndim=1, low=1, increasing=True)
    if np.any(L_values != np.round(L_values)) or L_values.size < 2:
        raise ValueError("L_values must be at least two increasing integers >= 1")
    ref_substeps = check_int("ref_substeps", ref_substeps, low=1)
    F = random_vector_field(N, seeds=seeds, g=g)
    h_ref = neural_ode(F, substeps=ref_substeps)[-1]
    errs = np.stack([np.sqrt(np.mean((resnet(F, int(L))[-1] - h_ref) ** 2, axis=-1)) for L in L_values], axis=1)
    err, sem = _sem_or_zero(errs, axis=0)
    fit = fit_power_law(L_values, err)
    return EulerConvergence(L=L_values.astype(int), error=err, error_sem=sem, slope=fit.slope,
                            slope_stderr=fit.slope_stderr, prefactor=fit.prefactor, N=F.N, n_seeds=F.n_seeds)


# ---------------------------------------------------------------------------------------------
# Training dynamics: teacher-student linear regression
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TeacherStudentData(ReadOnlyArrays):
    r"""One teacher-student dataset per seed: ``X`` ``(n_seeds, P, N)``, ``y`` and ``eps`` ``(n_seeds, P)``,
    ``w_star`` ``(n_seeds, N)``, with $y = X w^*/\sqrt N + \sigma\epsilon$."""

    X: np.ndarray
    y: np.ndarray
    w_star: np.ndarray
    eps: np.ndarray
    sigma2: float

    @property
    def n_seeds(self) -> int:
        return self.X.shape[0]

    @property
    def P(self) -> int:
        return self.X.shape[1]

    @property
    def N(self) -> int:
        return self.X.shape[2]

    @property
    def alpha(self) -> float:
        return self.P / self.N

    def sigma_hat_matvec(self, v):
        r"""$\hat\Sigma v = X^\top(Xv)/P$ for ``v`` of shape ``(n_seeds, N)`` or ``(n_seeds, N, m)``."""
        v = np.asarray(v)
        vec = v.ndim == 2
        V = v[..., None] if vec else v
        out = np.swapaxes(self.X, -1, -2) @ (self.X @ V) / self.P
        return out[..., 0] if vec else out

    @property
    def b(self) -> np.ndarray:
        r"""The noise drive $b = \sigma\sqrt N X^\top\epsilon/P$ of $dv/dt = -\hat\Sigma v + b$."""
        return np.sqrt(self.sigma2 * self.N) * (np.swapaxes(self.X, -1, -2) @ self.eps[..., None])[..., 0] / self.P


def _n_samples(N, alpha):
    return max(1, int(round(alpha * N)))


def sample_teacher_student(N: int, alpha: float = 2.0, sigma2: float = 0.0, seeds=4) -> TeacherStudentData:
    """Draw independent datasets of ``P = round(alpha N)`` samples, one per seed.

    ``seeds``: an int ``n`` (meaning ``range(n)``) or a sequence of distinct ints; seed ``s`` draws
    ``X`` (P x N), then ``w*`` (N), then the label noise (P) with ``numpy.random.default_rng(s)``.

    >>> d = sample_teacher_student(50, alpha=2.0, seeds=3)
    >>> d.X.shape, d.alpha
    ((3, 100, 50), 2.0)
    """
    N = check_int("N", N, low=1)
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    seeds = check_seeds("seeds", seeds)
    P = _n_samples(N, alpha)
    check_budget("doubles (n_seeds x P x N data)", float(len(seeds)) * P * N, limit=2**26)
    X, w, e = [], [], []
    for r in _rngs(seeds):
        X.append(r.standard_normal((P, N)))
        w.append(r.standard_normal(N))
        e.append(r.standard_normal(P))
    X, w_star, eps = np.stack(X), np.stack(w), np.stack(e)
    y = (X @ w_star[..., None])[..., 0] / np.sqrt(N) + np.sqrt(sigma2) * eps
    return TeacherStudentData(X=X, y=y, w_star=w_star, eps=eps, sigma2=sigma2)


def test_error(data: TeacherStudentData, w) -> np.ndarray:
    r"""Test error $E_g = |w - w^*|^2/N$ (the excess risk over the label noise), per seed.

    ``w`` may carry leading axes (e.g. times): shape ``(..., n_seeds, N)``.
    """
    w = check_array("w", w)
    if w.shape[-1:] != data.w_star.shape[-1:]:
        raise ValueError(f"w must end with the dimension N = {data.w_star.shape[-1]}; got shape {w.shape}")
    return _test_error(data, w)


def _test_error(data, w):
    return np.mean((w - data.w_star) ** 2, axis=-1)


test_error.__test__ = False  # not a pytest test despite its name


def stability_limit(data: TeacherStudentData) -> np.ndarray:
    r"""Largest stable step of gradient descent, $\eta_c = 2/\lambda_{\max}(\hat\Sigma)$, per seed."""
    lam = np.linalg.eigvalsh(np.swapaxes(data.X, -1, -2) @ data.X / data.P)[..., -1]
    return 2.0 / lam


def gradient_descent(data: TeacherStudentData, eta: float, n_steps: int) -> np.ndarray:
    r"""Gradient descent $w_{k+1} = w_k - \eta N\,\partial\mathcal L/\partial w$, from $w_0 = 0$.

    In $v = w - w^*$: $v_{k+1} = v_k - \eta(\hat\Sigma v_k - b)$; step ``k`` sits at time $t = k\eta$.
    Returns $w_k$ for ``k = 0..n_steps``, shape ``(n_steps + 1, n_seeds, N)`` (matrix-vector products only).
    Raises ``ValueError`` if the iterates overflow (a step far above the stability limit).
    """
    eta = check_real("eta", eta, low=0.0, low_open=True)
    n_steps = check_int("n_steps", n_steps, low=1)
    check_budget("steps x seeds x P x N", float(n_steps) * data.X.size)
    with np.errstate(over="ignore", invalid="ignore"):
        w = _gd_unchecked(data, eta, n_steps)
    if not np.all(np.isfinite(w)):
        raise ValueError(f"gradient descent overflowed with eta = {eta:g}; the stability limit is 2/lambda_max")
    return w


def _cheb_coefficients(fun, t, lam_max, n_nodes):
    """Chebyshev coefficients of ``lam -> fun(lam, t)`` on ``[0, lam_max]``, one row per time: shape (n_t, n_nodes)."""
    j = np.arange(n_nodes)
    theta = np.pi * (j + 0.5) / n_nodes
    lam = lam_max * (np.cos(theta) + 1.0) / 2.0
    vals = fun(lam[None, :], np.asarray(t, dtype=np.float64)[:, None])
    c = (2.0 / n_nodes) * vals @ np.cos(np.outer(theta, j))
    c[:, 0] /= 2.0
    return c


def _decay(lam, t):
    return np.exp(-lam * t)


def _phi(lam, t):
    """(1 - exp(-lam t)) / lam, continuous at lam = 0 (value t)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.expm1(-lam * t) / lam
    return np.where(lam > 0, out, t + 0.0 * lam)


def gradient_flow(data: TeacherStudentData, t, method: str = "chebyshev", tol: float = 1e-13) -> np.ndarray:
    r"""Exact gradient-flow weights $w(t)$ at the times ``t``, shape ``(len(t), n_seeds, N)``.

    .. math:: v(t) = e^{-\hat\Sigma t} v(0) + \hat\Sigma^{-1}\bigl(1 - e^{-\hat\Sigma t}\bigr) b,\qquad v(0) = -w^*.

    ``method="eigh"`` diagonalizes $\hat\Sigma$ (batched ``numpy.linalg.eigh``, cost $O(N^3)$
    per seed: the reference). ``method="chebyshev"`` expands both matrix functions in Chebyshev
    polynomials of $\hat\Sigma$ on $[0, \lambda_b]$ and needs only matrix-vector products
    (cost $O(kPN)$, $k\approx t\lambda_b/2 + O(\sqrt{t\lambda_b})$); the degree is chosen so that the
    discarded coefficients are below ``tol`` (relative). The bound
    $\lambda_b = (\sqrt P + \sqrt N + 8)^2/P$ holds for Gaussian data except with probability
    $e^{-32}$ (Davidson-Szarek), and the method checks it with a few power iterations.
    """
    t = check_array("t", t, ndim=1, low=0.0)
    if t.size == 0:
        raise ValueError("t must hold at least one time; got an empty array")
    check_choice("method", method, ("chebyshev", "eigh"))
    tol = check_real("tol", tol, low=0.0, low_open=True)
    b = data.b
    v0 = -data.w_star
    if method == "eigh":
        lam, U = np.linalg.eigh(np.swapaxes(data.X, -1, -2) @ data.X / data.P)
        lam = np.clip(lam, 0.0, None)
        U_T = np.swapaxes(U, -1, -2)
        a0 = (U_T @ v0[..., None])[..., 0]            # (s, N) coordinates in the eigenbasis
        ab = (U_T @ b[..., None])[..., 0]
        coords = _decay(lam[None], t[:, None, None]) * a0 + _phi(lam[None], t[:, None, None]) * ab
        v = np.einsum("sij,tsj->tsi", U, coords)
        return v + data.w_star
    P, N = data.P, data.N
    lam_b = (np.sqrt(P) + np.sqrt(N) + 8.0) ** 2 / P
    # Power-iteration check that the spectrum lies inside [0, lam_b].
    x = np.random.default_rng(0).standard_normal((data.n_seeds, N))
    for _ in range(30):
        x = data.sigma_hat_matvec(x)
        x /= np.linalg.norm(x, axis=-1, keepdims=True)
    if np.any(np.sum(x * data.sigma_hat_matvec(x), axis=-1) > lam_b):  # pragma: no cover - probability e^-32
        raise ValueError("the spectrum of Sigma_hat exceeds the Chebyshev interval; use method='eigh'")
    n_nodes = int(np.ceil(t.max() * lam_b)) + 48
    cE = _cheb_coefficients(_decay, t, lam_b, n_nodes)
    cF = _cheb_coefficients(_phi, t, lam_b, n_nodes)
    scale = np.max(np.abs(cE)) + np.max(np.abs(cF))
    big = np.nonzero(np.max(np.abs(cE) + np.abs(cF), axis=0) > tol * scale)[0]
    deg = int(big[-1]) + 1 if big.size else 1
    # Three-term recurrence T_{k+1}(S) = 2 S T_k(S) - T_{k-1}(S) with S = (2 Sigma_hat - lam_b) / lam_b.
    V = np.stack([v0, b], axis=-1)                    # (s, N, 2)

    def S(Y):
        return (2.0 * data.sigma_hat_matvec(Y) - lam_b * Y) / lam_b

    out = np.einsum("t,sn->tsn", cE[:, 0], V[..., 0]) + np.einsum("t,sn->tsn", cF[:, 0], V[..., 1])
    T_prev, T_cur = V, S(V)
    for k in range(1, deg):
        out += np.einsum("t,sn->tsn", cE[:, k], T_cur[..., 0]) + np.einsum("t,sn->tsn", cF[:, k], T_cur[..., 1])
        T_prev, T_cur = T_cur, 2.0 * S(T_cur) - T_prev
    return out + data.w_star


@dataclass(frozen=True)
class GDConvergence(ReadOnlyArrays):
    """Global error of gradient descent against gradient flow at a fixed time ``T``, against ``eta``.

    ``error[k]`` is the mean over seeds of $|w_{\\mathrm{GD}}(T) - w_{\\mathrm{GF}}(T)|/\\sqrt N$ at step ``eta[k]``.
    """

    eta: np.ndarray
    error: np.ndarray
    error_sem: np.ndarray
    slope: float
    slope_stderr: float
    prefactor: float
    T: float
    eta_c: float
    N: int
    n_seeds: int


def gd_vs_gf(N: int = 100, alpha: float = 2.0, sigma2: float = 0.25, etas=(0.4, 0.2, 0.1, 0.05, 0.025, 0.0125),
             T: float = 4.0, seeds=4) -> GDConvergence:
    r"""Distance at time ``T`` between gradient descent (``T/eta`` steps) and exact gradient flow.

    Each eigenmode of $\hat\Sigma$ decays as $(1-\eta\lambda)^{T/\eta} = e^{-\lambda T}(1 - \eta\lambda^2 T/2 + O(\eta^2))$,
    so the error is $O(\eta)$ for $\eta$ below the stability limit $2/\lambda_{\max}$
    (``eta_c``, the smallest over seeds). ``T/eta`` must be an integer for every ``eta``.

    >>> r = gd_vs_gf(N=40, etas=(0.2, 0.1, 0.05), seeds=2)
    >>> round(r.slope, 1)
    1.0
    """
    etas = check_array("etas", etas, ndim=1, low=0.0)
    if etas.size < 2 or np.any(etas <= 0):
        raise ValueError("etas must hold at least two positive steps")
    T = check_real("T", T, low=0.0, low_open=True)
    steps = T / etas
    seeds = check_seeds("seeds", seeds)
    N = check_int("N", N, low=1)
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    check_budget("gradient-descent steps x seeds x P x N",
                 float(steps.sum()) * len(seeds) * _n_samples(N, alpha) * N)
    if np.any(np.abs(steps - np.round(steps)) > 1e-9 * steps) or np.any(np.round(steps) < 1):
        raise ValueError(f"T / eta must be a positive integer for every eta; got T = {T:g}, etas = {etas.tolist()}")
    data = sample_teacher_student(N, alpha, sigma2, seeds)
    eta_c = float(stability_limit(data).min())
    if etas.max() >= eta_c:
        raise ValueError(f"every eta must be below the stability limit 2/lambda_max = {eta_c:.4f}; got {etas.max():g}")
    w_gf = gradient_flow(data, np.array([T]), method="eigh")[0]
    errs = np.stack([np.sqrt(np.mean((gradient_descent(data, e, int(round(s)))[-1] - w_gf) ** 2, axis=-1))
                     for e, s in zip(etas, steps)], axis=1)
    err, sem = _sem_or_zero(errs, axis=0)
    fit = fit_power_law(etas, err)
    return GDConvergence(eta=etas, error=err, error_sem=sem, slope=fit.slope, slope_stderr=fit.slope_stderr,
                         prefactor=fit.prefactor, T=T, eta_c=eta_c, N=data.N, n_seeds=data.n_seeds)


# ---------------------------------------------------------------------------------------------
# Two views of one model: the N -> infinity test error and its finite-N simulation
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TestErrorCurve(ReadOnlyArrays):
    """Test error of gradient flow against time; the same fields for theory and simulation.

    ``eg`` is the mean over seeds (the theory for ``N = None``), ``eg_sem`` its standard error and
    ``eg_std`` the standard deviation across seeds (zeros for the theory); ``samples`` holds each
    seed's curve, shape ``(n_seeds, len(t))`` (empty for the theory).
    """

    __test__ = False  # not a pytest test class despite its name

    t: np.ndarray
    eg: np.ndarray
    eg_sem: np.ndarray
    eg_std: np.ndarray
    samples: np.ndarray
    alpha: float
    sigma2: float
    N: int | None
    n_seeds: int


def _mp_quadrature(alpha, n=400):
    """Nodes and weights for integrals against the continuous part of Marchenko-Pastur (spectrally accurate)."""
    lm, lp = rmt.mp_edges(alpha)
    c, r = (lp + lm) / 2.0, (lp - lm) / 2.0
    theta = np.pi * (np.arange(n) + 0.5) / n
    lam = c + r * np.cos(theta)
    # rho(lam) dlam = sqrt((lp-lam)(lam-lm)) / (2 pi q lam) dlam = r^2 sin^2(theta) / (2 pi q lam) dtheta
    w = (np.pi / n) * r**2 * np.sin(theta) ** 2 / (2 * np.pi * (1.0 / alpha) * lam)
    return lam, w


def theory(t, alpha: float = 2.0, sigma2: float = 0.0) -> TestErrorCurve:
    r"""Test error of gradient flow in the limit $N, P\to\infty$ at fixed $\alpha = P/N$.

    .. math::
        E_g(t) = \int \rho_{\mathrm{MP}}(\lambda)\Bigl[e^{-2\lambda t}
        + \frac{\sigma^2}{\alpha}\frac{(1 - e^{-\lambda t})^2}{\lambda}\Bigr]d\lambda,

    where $\rho_{\mathrm{MP}}$ is the Marchenko-Pastur law of $\hat\Sigma$, including its atom
    $(1-\alpha)\delta(\lambda)$ when $\alpha<1$ (those directions are never learned and contribute
    $1-\alpha$). Seung, Sompolinsky & Tishby (1992); Advani & Saxe (2020); Bordelon & Pehlevan's review.

    >>> round(float(theory([0.0], alpha=2.0).eg[0]), 10)  # E_g(0) = |w*|^2/N = 1
    1.0
    >>> round(float(theory([1e4], alpha=0.5).eg[0]), 4)  # the unlearnable fraction 1 - alpha
    0.5
    """
    t = check_array("t", t, ndim=1, low=0.0)
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    lam, w = _mp_quadrature(alpha)
    T = t[:, None]
    bulk = np.exp(-2 * lam * T) + (sigma2 / alpha) * (-np.expm1(-lam * T)) ** 2 / lam
    eg = bulk @ w + rmt.marchenko_pastur_atom(alpha)
    z = np.zeros_like(eg)
    return TestErrorCurve(t=t, eg=eg, eg_sem=z, eg_std=z.copy(), samples=np.zeros((0, t.size)), alpha=alpha,
                          sigma2=sigma2, N=None, n_seeds=0)


def simulate(N: int, t, alpha: float = 2.0, sigma2: float = 0.0, seeds=8,
             method: str = "chebyshev", batch: int | None = None) -> TestErrorCurve:
    r"""Test error $E_g(t) = |w(t) - w^*|^2/N$ of exact gradient flow on finite datasets, one per seed.

    ``seeds``: an int ``n`` (meaning ``range(n)``) or a sequence of at least 2 distinct ints (the
    draws of seed ``s`` are those of :func:`sample_teacher_student`).

    Seeds are processed in batches of ``batch`` datasets (default: about 64 MB of data per batch);
    each seed has its own generator, so results do not depend on ``batch``. See :func:`gradient_flow`
    for ``method``.

    >>> s = simulate(100, [0.0, 1.0], alpha=2.0, seeds=4)
    >>> s.samples.shape, s.N, s.n_seeds
    ((4, 2), 100, 4)
    """
    N = check_int("N", N, low=1)
    t = check_array("t", t, ndim=1, low=0.0)
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    seeds = check_seeds("seeds", seeds, min_seeds=2)
    n_seeds = len(seeds)
    check_choice("method", method, ("chebyshev", "eigh"))
    P = _n_samples(N, alpha)
    if batch is None:
        batch = max(1, int(8e6 // (P * N)))
    batch = check_int("batch", batch, low=1)
    samples = np.empty((n_seeds, t.size))
    for start in range(0, n_seeds, batch):  # loop over memory-sized batches; the maths is batched over seeds
        data = sample_teacher_student(N, alpha, sigma2, seeds[start:start + batch])
        samples[start:start + data.n_seeds] = test_error(data, gradient_flow(data, t, method=method)).T
    eg, sem = mean_sem(samples, axis=0)
    return TestErrorCurve(t=t, eg=eg, eg_sem=sem, eg_std=samples.std(axis=0, ddof=1), samples=samples,
                          alpha=alpha, sigma2=sigma2, N=N, n_seeds=n_seeds)


@dataclass(frozen=True)
class SelfAveraging(ReadOnlyArrays):
    r"""Spread of the test error at time ``t`` across datasets, against ``N``.

    ``std[k]`` is the standard deviation across seeds of $E_g(t)$ at ``N[k]`` and ``std_err`` its
    standard error (Gaussian approximation $\mathrm{std}/\sqrt{2(n-1)}$); ``mean``/``mean_sem`` the mean over
    seeds; ``samples[k]`` the ``n_seeds[k]`` values themselves. ``slope`` is the fitted exponent of
    ``std ~ N^slope`` (:func:`dmftlib.core.fit_power_law`, unweighted in log-log), ``slope_stderr`` its standard
    error from the fit residuals, and ``slope_stderr_seeds`` the standard error propagated from ``std_err``
    (the statistical error expected from the number of seeds). ``theory`` is $E_g^\infty(t)$ and
    ``std_theory`` the leading-order spread $\sqrt{2E_g^\infty(2t)/N}$ (exact at $\sigma = 0$, see :func:`self_averaging`).
    """

    N: np.ndarray
    std: np.ndarray
    std_err: np.ndarray
    mean: np.ndarray
    mean_sem: np.ndarray
    n_seeds: np.ndarray
    samples: tuple
    slope: float
    slope_stderr: float
    slope_stderr_seeds: float
    prefactor: float
    t: float
    alpha: float
    sigma2: float
    theory: float
    std_theory: np.ndarray


def _assemble_self_averaging(N_values, samples, t, alpha, sigma2) -> SelfAveraging:
    N_values = np.asarray(N_values, dtype=int)
    seeds = np.array([s.size for s in samples])
    std = np.array([s.std(ddof=1) for s in samples])
    std_err = std / np.sqrt(2 * (seeds - 1))
    fit = fit_power_law(N_values, std)
    x = np.log(N_values) - np.log(N_values).mean()
    stderr_seeds = float(np.sqrt(np.sum(x**2 * (std_err / std) ** 2)) / np.sum(x**2))
    eg = theory([t, 2 * t], alpha, sigma2).eg
    return SelfAveraging(N=N_values, std=std, std_err=std_err, mean=np.array([s.mean() for s in samples]),
                         mean_sem=std / np.sqrt(seeds), n_seeds=seeds, samples=tuple(samples), slope=fit.slope,
                         slope_stderr=fit.slope_stderr, slope_stderr_seeds=stderr_seeds, prefactor=fit.prefactor,
                         t=t, alpha=alpha, sigma2=sigma2, theory=float(eg[0]),
                         std_theory=np.sqrt(2 * eg[1] / N_values))


def self_averaging(N_values=(100, 200, 400, 800, 1600, 3200), t: float = 1.0, alpha: float = 0.5,
                   sigma2: float = 0.0, seeds=24, seeds_per_N=None) -> SelfAveraging:
    r"""Standard deviation across datasets of $E_g(t)$ for each ``N``, and its power-law fit.

    At $\sigma = 0$, $E_g(t) = \frac1N\sum_i z_i^2 e^{-2\lambda_i t}$ with $z_i$ the (Gaussian, independent
    of the spectrum) coordinates of $w^*$ on the eigenvectors of $\hat\Sigma$; the $z_i^2$ give a
    variance $\frac2{N^2}\sum_i e^{-4\lambda_i t}$ and the spectrum only $O(N^{-2})$ (linear eigenvalue
    statistics have $O(1)$ fluctuations, Bai & Silverstein 2004), hence

    .. math:: \operatorname{std} E_g(t) = \sqrt{2 E_g^\infty(2t)/N}\,\bigl(1 + O(N^{-1})\bigr).

    ``seeds`` (an int ``n``, meaning ``range(n)``, or a sequence of ints) serve every ``N``; or
    ``seeds_per_N`` gives one such entry per ``N`` (fewer seeds at large ``N`` keep the cost down; disjoint
    ranges make the ``N`` independent).

    >>> r = self_averaging((50, 100, 200), seeds=16)
    >>> r.std.shape, r.n_seeds.tolist()
    ((3,), [16, 16, 16])
    """
    N_values = check_array("N_values", N_values, ndim=1, low=1, increasing=True)
    if N_values.size < 2 or np.any(N_values != np.round(N_values)):
        raise ValueError("N_values must hold at least two increasing integers")
    t = check_real("t", t, low=0.0, low_open=True)
    if seeds_per_N is None:
        per_N = [check_seeds("seeds", seeds, min_seeds=3)] * N_values.size
    else:
        if isinstance(seeds_per_N, (str, bytes)) or not hasattr(seeds_per_N, "__len__") \
                or len(seeds_per_N) != N_values.size:
            raise ValueError(f"seeds_per_N must hold one entry (an int n or a sequence of seeds) per N "
                             f"({N_values.size}); got {seeds_per_N!r}")
        per_N = [check_seeds(f"seeds_per_N[{k}]", s, min_seeds=3) for k, s in enumerate(seeds_per_N)]
    samples = [simulate(int(N), [t], alpha, sigma2, s).samples[:, 0] for N, s in zip(N_values, per_N)]
    return _assemble_self_averaging(N_values, samples, t, alpha, sigma2)


def save_self_averaging(result: SelfAveraging, path) -> None:
    """Store a :class:`SelfAveraging` result (its raw samples and parameters) in a ``.npz`` file."""
    np.savez(path, N=result.N, samples=np.concatenate(result.samples), n_seeds=result.n_seeds,
             params=np.array([result.t, result.alpha, result.sigma2]))


def load_self_averaging(path) -> SelfAveraging:
    """Rebuild a :class:`SelfAveraging` result from :func:`save_self_averaging`'s file."""
    with np.load(path) as f:
        N, flat, seeds, (t, alpha, sigma2) = f["N"], f["samples"], f["n_seeds"], f["params"]
    samples = np.split(flat, np.cumsum(seeds)[:-1])
    return _assemble_self_averaging(N, samples, float(t), float(alpha), float(sigma2))


# ---------------------------------------------------------------------------------------------
# Pure plot functions (the chapter calls them once, and its widgets call them again)
# ---------------------------------------------------------------------------------------------

def plot_resnet_trajectories(L: int = 8, N: int = 100, n_units: int = 3, seed: int = 0, ax=None):
    """A few coordinates of the neural ODE (lines) and of a depth-``L`` ResNet (markers) against depth."""
    L = check_int("L", L, low=1)
    N = check_int("N", N, low=1)
    n_units = check_int("n_units", n_units, low=1, high=N)
    F = random_vector_field(N, seeds=[check_seed("seed", seed, allow_none=False)])
    tau = np.linspace(0, 1, 101)
    h_ode = neural_ode(F, tau, substeps=8)[:, 0]
    h_res = resnet(F, L)[:, 0]
    if ax is None:
        _, ax = new_figure()
    for i in range(n_units):
        line, = ax.plot(tau, h_ode[:, i], "-", label="neural ODE" if i == 0 else None)
        ax.plot(np.linspace(0, 1, L + 1), h_res[:, i], "o--", color=line.get_color(), ms=4, mfc="none", lw=0.8,
                label=f"ResNet, L = {L}" if i == 0 else None)
    ax.set_xlabel(r"depth $\tau = \ell / L$")
    ax.set_ylabel(r"$h_i(\tau)$")
    ax.set_title(f"three units of one network, N = {N}")
    ax.legend()
    return ax


def plot_euler_error(result: EulerConvergence, ax=None):
    """ResNet-to-ODE error against depth on log-log axes, with the fitted power law."""
    if ax is None:
        _, ax = new_figure()
    plot_power_law_fit(ax, result.L, result.error, result.error_sem, result, N=result.N, n_seeds=result.n_seeds)
    ax.set_xlabel("depth L")
    ax.set_ylabel(r"$|h_L - h(1)|/\sqrt{N}$")
    ax.legend()
    return ax


def plot_gd_error(result: GDConvergence, ax=None):
    """Gradient-descent-to-gradient-flow error against the step, with the fitted power law."""
    if ax is None:
        _, ax = new_figure()
    plot_power_law_fit(ax, result.eta, result.error, result.error_sem, result, N=result.N, n_seeds=result.n_seeds)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(result.eta, [f"{e:g}" for e in result.eta])
    ax.set_xlabel(r"learning rate $\eta$")
    ax.set_ylabel(rf"$|w_{{GD}}(T) - w_{{GF}}(T)|/\sqrt{{N}}$, T = {result.T:g}")
    ax.legend()
    return ax


def plot_gd_vs_gf(eta: float = 0.2, N: int = 100, alpha: float = 2.0, sigma2: float = 0.25, T: float = 10.0,
                  seeds=4, ax=None):
    r"""Test error of gradient descent with step ``eta`` (markers) and of gradient flow (line) against $t = k\eta$.

    Above the stability limit $\eta_c = 2/\lambda_{\max}$ (printed in the title) the descent diverges.
    """
    eta = check_real("eta", eta, low=0.0, low_open=True)
    T = check_real("T", T, low=0.0, low_open=True)
    data = sample_teacher_student(N, alpha, sigma2, seeds)
    n_seeds = data.n_seeds
    eta_c = float(stability_limit(data).min())
    check_budget("gradient-descent steps", T / eta, limit=1e6)
    n_steps = max(1, int(round(T / eta)))
    with np.errstate(over="ignore", invalid="ignore"):
        w = _gd_unchecked(data, eta, n_steps)
    eg_gd = _test_error(data, w)            # may be inf above the stability limit: plotted up to there
    t_gf = np.linspace(0, T, 121)
    eg_gf = test_error(data, gradient_flow(data, t_gf, method="eigh"))
    th = theory(t_gf, alpha, sigma2)
    if ax is None:
        _, ax = new_figure()
    m_gf, _ = _sem_or_zero(eg_gf.T, axis=0)
    plot_theory(ax, t_gf, th.eg, color="k", lw=1.0, label="theory (N → ∞)")
    plot_theory(ax, t_gf, m_gf, label=f"gradient flow, N = {N}, {n_seeds} seeds")
    m, s = _sem_or_zero(eg_gd.T, axis=0)
    keep = np.isfinite(m) & (m < 1e3)
    every = max(1, n_steps // 40)
    tk = eta * np.arange(n_steps + 1)
    plot_simulation(ax, tk[keep], m[keep], s[keep], every=every,
                    label=f"gradient descent, η = {eta:g}, N = {N}, {n_seeds} seeds")
    ax.set_yscale("log")
    ax.set_ylim(min(th.eg.min(), m_gf.min()) * 0.7, 1.5 if eta < eta_c else 20)
    ax.set_xlabel(r"time $t = k\eta$")
    ax.set_ylabel(r"test error $E_g$")
    rel, state = ("<", "stable") if eta < eta_c else (">", "unstable")
    ax.set_title(f"η = {eta:g} {rel} 2/λmax = {eta_c:.3f}: {state}", fontsize=11)
    ax.legend()
    return ax


def _gd_unchecked(data, eta, n_steps):
    """Gradient descent without the overflow check (the widget shows divergence)."""
    b = data.b
    v = -data.w_star.copy()
    out = np.empty((n_steps + 1,) + v.shape)
    out[0] = v
    for k in range(n_steps):
        v = v - eta * (data.sigma_hat_matvec(v) - b)
        if not np.all(np.isfinite(v)):
            out[k + 1:] = np.inf
            break
        out[k + 1] = v
    return out + data.w_star


def plot_test_error(curves, theory_curve: TestErrorCurve | None = None, ax=None, every: int = 1):
    """Mean test error of simulations (markers, one per ``N``) against the theory curve (line).

    ``curves``: a sequence of :class:`TestErrorCurve` (a theory curve among them, ``N = None``, is drawn
    as a line)."""
    if isinstance(curves, TestErrorCurve):
        curves = [curves]
    if isinstance(curves, (str, bytes)) or not all(isinstance(c, TestErrorCurve) for c in curves):
        raise TypeError(f"curves must be a sequence of TestErrorCurve; got {curves!r:.80}")
    if theory_curve is not None and not isinstance(theory_curve, TestErrorCurve):
        raise TypeError(f"theory_curve must be a TestErrorCurve or None; got {type(theory_curve).__name__}")
    every = check_int("every", every, low=1)
    if ax is None:
        _, ax = new_figure()
    if theory_curve is not None:
        plot_theory(ax, theory_curve.t, theory_curve.eg, color="k")
    for c in curves:
        if c.N is None:
            plot_theory(ax, c.t, c.eg)
        else:
            plot_simulation(ax, c.t, c.eg, c.eg_sem, N=c.N, n_seeds=c.n_seeds, every=every)
    ax.set_xlabel("training time t")
    ax.set_ylabel(r"test error $E_g(t)$")
    ax.legend()
    return ax


def plot_self_averaging(result: SelfAveraging, ax=None):
    """Standard deviation of $E_g(t)$ across datasets against ``N``, with its fitted power law."""
    if ax is None:
        _, ax = new_figure()
    label = f"simulation, {result.n_seeds.min()}-{result.n_seeds.max()} seeds per N"
    Nf = result.N.astype(float)
    plot_theory(ax, Nf, result.std_theory, color="k", label=r"theory $\sqrt{2E_g^\infty(2t)/N}$")
    plot_simulation(ax, result.N, result.std, result.std_err, label=label)
    ax.plot(Nf, result.prefactor * Nf**result.slope, "--",
            label=f"fit: slope {result.slope:.3f} ± {result.slope_stderr_seeds:.2g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel(rf"std of $E_g(t={result.t:g})$ across datasets")
    ax.legend()
    return ax


def plot_test_error_histogram(result: SelfAveraging, N: int | None = None, ax=None):
    r"""Histogram across datasets of $E_g(t)$ at one size ``N`` of ``result`` (default: the smallest),
    with the $N\to\infty$ value and the predicted width $\pm\sqrt{2E_g^\infty(2t)/N}$."""
    N = int(result.N[0]) if N is None else int(N)
    if N not in result.N:
        raise ValueError(f"N must be one of {result.N.tolist()}; got {N}")
    k = int(np.nonzero(result.N == N)[0][0])
    x = result.samples[k]
    half = 4 * result.std_theory[0]          # the same horizontal range for every N
    if ax is None:
        _, ax = new_figure()
    ax.hist(x, bins=np.arange(result.theory - half, result.theory + half, result.std_theory[k] / 2), density=True,
            alpha=0.6, label=f"simulation, N = {N}, {x.size} seeds")
    ax.axvline(result.theory, color="k", lw=1.5, label="theory (N → ∞)")
    for sgn in (-1, 1):
        ax.axvline(result.theory + sgn * result.std_theory[k], color="k", ls=":", lw=1.2,
                   label=r"$\pm\sqrt{2E_g^\infty(2t)/N}$" if sgn < 0 else None)
    ax.set_xlim(result.theory - half, result.theory + half)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.45)
    ax.set_xlabel(rf"test error $E_g(t = {result.t:g})$")
    ax.set_ylabel("density")
    ax.set_title(f"N = {N}: std {result.std[k]:.4f} (predicted {result.std_theory[k]:.4f})", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    return ax


check_public(globals())
