r"""Gradient flow on random-feature models: learning curves, bias/variance, ensembles.

The model (conventions of the whole module)
-------------------------------------------
Inputs $x\sim\mathcal N(0, I_N)$, $P$ training samples, $\alpha = P/N$; a *linear*
teacher $y = w^*\cdot x/\sqrt N + \sigma\varepsilon$ with $w^*\sim\mathcal N(0, I_N)$,
$\varepsilon\sim\mathcal N(0,1)$. A random projection $F\in\mathbb R^{M\times N}$ with i.i.d.
$\mathcal N(0,1)$ entries (fixed, never trained), $\nu = M/N$, and the student

.. math::

    &f(x) = \frac{a\cdot\varphi(Fx/\sqrt N)}{\sqrt M},\qquad
    L(a) = \frac1{2P}\sum_{\mu=1}^P\bigl(y_\mu - f(x_\mu)\bigr)^2,\\
    &\frac{da}{dt} = -N\,\nabla_a L,\quad a(0) = 0 .

Time unit: with this rate the function-space kernel is
$\frac NP\,\Phi\Phi^\top/M\to XX^\top/P$ as $M\to\infty$ (linear $\varphi$), so that for
$M\to\infty$ the dynamics *is* the gradient flow of :mod:`dmftlib.linear` with the same clock.
With $\Phi = \varphi(XF^\top/\sqrt N)\in\mathbb R^{P\times M}$ and $K = \Phi^\top\Phi/P$,

.. math::

    &\frac{da}{dt} = \frac1\nu\bigl(b - K a\bigr),\qquad b = \frac{\sqrt M}{P}\Phi^\top y,\\
    &a(t) = \chi_t(K)\,b,\quad \chi_t(\lambda) = \frac{1 - e^{-\lambda t/\nu}}{\lambda} .

Errors: $E_g(t) = \mathbb E_x\bigl(f(x) - w^*\cdot x/\sqrt N\bigr)^2$ (without the irreducible
$\sigma^2$), $E_t(t) = \frac1P\sum_\mu (y_\mu - f(x_\mu))^2$.

Activations (``phi``): ``"linear"`` ($\varphi(z) = z$), ``"tanh"``, ``"relu"`` (centred:
$\max(z,0) - 1/\sqrt{2\pi}$, so $\mu_0 = 0$). Nonlinear features are described in the theory by
the Gaussian equivalent $\varphi(z)\to\mu_1 z + \mu_*\xi$ (:func:`activation_coefficients`).

Two views
---------
* :func:`theory`: the $N\to\infty$ prediction. For **linear features it is exact**
  (:func:`exact_theory`: test and train error with label noise, the infinite ensembles over features and over
  data, the bias and the Hermitian comparison, from first- and second-order deterministic equivalents of the
  resolvent of $A = W\hat\Sigma$ and a fixed-Talbot inversion of their Laplace transforms). For nonlinear
  $\varphi$ it is :func:`large_n_theory`, a **numerical evaluation at a large** ``N_theory``: the
  teacher, the label noise and the test point are averaged analytically (traces), the random matrices
  $X, F$ are sampled once or twice, nonlinear features enter through the Gaussian-equivalent features
  $\mu_1XF^\top/\sqrt N + \mu_*\Xi$; its error is $O(1/N_{theory})$ (linear spectral statistics).
* :func:`simulate`: finite $N$, the actual activation, explicit teacher / noise draws, exact in
  time (eigendecomposition of $K$), batched over seeds.
* Further exact $N\to\infty$ curves: :func:`nonnormal_theory` (the noiseless test error alone),
  :func:`hermitian_theory` (the Hermitian drive with the same spectrum, from the free product
  :func:`product_wishart_density`) and :func:`long_time_error_underparametrized`.

:func:`large_n_theory` and :func:`simulate` evaluate the same 2 x 2 design per draw: two feature matrices $F_1, F_2$ and two data sets
$(X_1,\varepsilon_1), (X_2,\varepsilon_2)$ (same teacher), i.e. four models. Averages of products of
the errors of two models that share the data but not the features (resp. the features, resp. nothing)
give the infinite ensembles over features (resp. data) and the bias; see :class:`RandomFeaturesResult`.

References: B. Bordelon and C. Pehlevan, *Disordered dynamics in high dimensions* (review);
A. Rahimi and B. Recht (2007); S. Mei and A. Montanari (2022); B. Adlam and J. Pennington (2020);
S. d'Ascoli, M. Refinetti, G. Biroli and F. Krzakala (2020); B. Bordelon, A. Atanasov and
C. Pehlevan (2024); S. Goldt et al. (2022); H. Hu and Y. M. Lu (2022).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .core import ConvergenceError, check_array, check_choice, check_int, check_real, check_time_grid, expect
from .core import mean_sem
from .core import rmt
from .core import ReadOnlyArrays, check_seed, check_public
from .core import check_budget, check_finite, damped_fixed_point
from .core.timegrid import causal_weights, project_psd, uniform_grid

__all__ = [
    "ACTIVATIONS", "activation_coefficients", "RandomFeaturesResult", "EnsembleResult",
    "theory", "exact_theory", "large_n_theory", "simulate", "simulate_ensemble", "ensemble_error", "long_time_error_underparametrized",
    "product_wishart_density", "hermitian_theory", "sample_drive_spectrum", "nonnormal_theory",
    "RandomFeaturesDMFTResult", "dmft_theory",
    "plot_learning_curves", "plot_bias_variance", "plot_explorer",
]

ACTIVATIONS = ("linear", "tanh", "relu")
_RELU_MEAN = 1.0 / math.sqrt(2.0 * math.pi)


def _phi(name, z):
    if name == "linear":
        return z
    if name == "tanh":
        return np.tanh(z)
    return np.maximum(z, 0.0) - _RELU_MEAN


def activation_coefficients(phi: str):
    r"""Gaussian-equivalence coefficients $(\mu_0, \mu_1, \mu_*)$ of an activation.

    .. math::

        \mu_0 = \mathbb E\varphi(z),\quad \mu_1 = \mathbb E[z\varphi(z)],\quad
        \mu_*^2 = \mathbb E\varphi(z)^2 - \mu_0^2 - \mu_1^2,\qquad z\sim\mathcal N(0,1).

    Examples
    --------
    >>> [round(c, 4) for c in activation_coefficients("relu")]
    [0.0, 0.5, 0.3014]
    >>> [round(c, 4) for c in activation_coefficients("tanh")]
    [0.0, 0.6057, 0.1656]
    """
    phi = check_choice("phi", phi, ACTIVATIONS)
    if phi == "linear":
        return 0.0, 1.0, 0.0
    if phi == "relu":  # closed forms (Gauss-Hermite converges slowly on the kink)
        return 0.0, 0.5, math.sqrt(0.25 - 1.0 / (2.0 * math.pi))
    f = lambda z: _phi(phi, z)  # noqa: E731
    mu0 = float(expect(f, n=200))
    mu1 = float(expect(lambda z: z * f(z), n=200))
    m2 = float(expect(lambda z: f(z) ** 2, n=200))
    mus = math.sqrt(max(m2 - mu0**2 - mu1**2, 0.0))
    return (0.0 if abs(mu0) < 1e-12 else mu0), mu1, mus


# ----------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RandomFeaturesResult(ReadOnlyArrays):
    r"""Learning curves and their bias/variance parts (theory or simulation: same fields).

    With $e_{fd}(t)$ the test error function of the model trained with features $f$ on data
    $d$, and $\langle\cdot,\cdot\rangle$ the test average:

    * ``test_error`` $E_g = \langle e_{fd}, e_{fd}\rangle$, ``train_error`` $E_t$;
    * ``ens_features`` $=\langle e_{1d}, e_{2d}\rangle$: error of the infinite ensemble over features
      (same data); ``ens_data`` $=\langle e_{f1}, e_{f2}\rangle$: infinite ensemble over data sets
      (same features); ``bias`` $=\langle e_{11}, e_{22}\rangle$ (the mean predictor's error);
    * ``var_features = ens_data - bias``, ``var_data = ens_features - bias`` (label noise counts as data),
      ``var_interaction = test_error - ens_features - ens_data + bias``, so that
      ``test_error = bias + var_features + var_data + var_interaction``;
    * ``hermitian_error``: $1 - \frac1N\sum_k(1 - e^{-2\lambda_k t/\nu})$ over the eigenvalues of
      $K$, the test error of the Hermitian (normal) drive with the same spectrum (meaningful for
      ``phi="linear"``, ``sigma2=0``);
    * ``*_sem``: standard errors over draws; ``N`` (``N_theory`` for :func:`large_n_theory`, 0 for the exact
      :func:`exact_theory`, whose standard errors are zero), ``M``, ``P``, ``n_seeds``;
      ``kind`` is ``"theory"`` or ``"simulation"``.
    """

    t: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    ens_features: np.ndarray
    ens_data: np.ndarray
    bias: np.ndarray
    var_features: np.ndarray
    var_data: np.ndarray
    var_interaction: np.ndarray
    hermitian_error: np.ndarray
    test_error_sem: np.ndarray
    train_error_sem: np.ndarray
    ens_features_sem: np.ndarray
    ens_data_sem: np.ndarray
    bias_sem: np.ndarray
    hermitian_error_sem: np.ndarray
    alpha: float
    nu: float
    sigma2: float
    phi: str
    N: int
    M: int
    P: int
    n_seeds: int
    kind: str


@dataclass(frozen=True)
class EnsembleResult(ReadOnlyArrays):
    """Test error of ensembles of ``k`` simulated models, ``test_error[i, j]`` for ``ks[i]`` and ``t[j]``."""

    t: np.ndarray
    ks: np.ndarray
    test_error: np.ndarray
    test_error_sem: np.ndarray
    over: str
    alpha: float
    nu: float
    sigma2: float
    phi: str
    N: int
    n_seeds: int


# ----------------------------------------------------------------------------------------------
# Validation and shared numerics
# ----------------------------------------------------------------------------------------------
def _check_params(alpha, nu, sigma2, phi):
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    nu = check_real("nu", nu, low=0.0, low_open=True)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    phi = check_choice("phi", phi, ACTIVATIONS)
    return alpha, nu, sigma2, phi


def _check_t(t, allow_inf=False):
    if allow_inf:
        arr = np.asarray(t, dtype=np.float64)
        if arr.ndim == 1 and arr.size >= 1 and np.isinf(arr[-1]) and arr[-1] > 0:
            head = arr[:-1]
            if head.size:
                check_array("t", head, ndim=1, low=0.0, increasing=True)
            return arr
    return check_time_grid("t", t)


def _sizes(N, alpha, nu):
    P = max(2, int(round(alpha * N)))
    M = max(2, int(round(nu * N)))
    return P, M


def _time_functions(lam, t, nu):
    r"""``e = exp(-lam t/nu)`` and ``g = (1 - e)/lam`` of shape ``lam.shape[:-1] + (T, M)``.

    Null directions (``lam`` below a relative threshold) get ``e = 1`` and ``g = 0``: they carry no
    signal (``b`` lies in the range of ``K``), so their coefficient stays zero. ``t = inf`` is allowed.
    """
    thr = 1e-10 * np.maximum(lam.max(axis=-1, keepdims=True), 1e-300)
    pos = lam > thr
    lamp = np.where(pos, lam, 1.0)[..., None, :]
    x = lamp * (t[:, None] / nu)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.where(np.isinf(x), 0.0, np.exp(-np.where(np.isinf(x), 0.0, x)))
        g = np.where(np.isinf(x), 1.0 / lamp, -np.expm1(-np.where(np.isinf(x), 0.0, x)) / lamp)
    posb = pos[..., None, :]
    return np.where(posb, e, 1.0), np.where(posb, g, 0.0)


def _draw(N, P, M, S, rng_seeds, n_test=0, xi=True):
    """Gaussian draws per seed: ``X (S,2,P,N)``, ``eps (S,2,P)``, ``F (S,2,M,N)``, ``w (S,N)``, ``Xi (S,2,2,P,M)``.

    ``xi=False`` (allowed only with ``n_test=0``: ``Xi`` is the last draw then) skips ``Xi`` and returns None
    in its place; the other draws are unchanged.
    """
    if not xi and n_test:
        raise ValueError("Xi can be skipped only when nothing is drawn after it (n_test = 0)")
    X = np.empty((S, 2, P, N))
    eps = np.empty((S, 2, P))
    F = np.empty((S, 2, M, N))
    w = np.empty((S, N))
    Xi = np.empty((S, 2, 2, P, M)) if xi else None
    Xt = np.empty((S, n_test, N))
    for i, s in enumerate(rng_seeds):  # drawing only: one generator per seed, reproducible seed by seed
        rng = np.random.default_rng(s)
        X[i] = rng.standard_normal((2, P, N))
        eps[i] = rng.standard_normal((2, P))
        F[i] = rng.standard_normal((2, M, N))
        w[i] = rng.standard_normal(N)
        if xi:
            Xi[i] = rng.standard_normal((2, 2, P, M))
            Xt[i] = rng.standard_normal((n_test, N))
    return X, eps, F, w, Xi, Xt


def _eig_models(Phi):
    """Batched ``eigh`` of ``K = Phi^T Phi / P``; returns ``lam (..., M)``, ``U``, ``Z = Phi U / sqrt(P)``."""
    P = Phi.shape[-2]
    K = np.matmul(np.swapaxes(Phi, -1, -2), Phi) / P
    lam, U = np.linalg.eigh(K)
    lam = np.clip(lam, 0.0, None)
    Z = np.matmul(Phi, U) / np.sqrt(P)
    return lam, U, Z


_PAIRS = {"features": (((0, 0), (1, 0)), ((0, 1), (1, 1))),
          "data": (((0, 0), (0, 1)), ((1, 0), (1, 1))),
          "bias": (((0, 0), (1, 1)), ((1, 0), (0, 1)))}


def _design(N, alpha, nu, sigma2, t, seeds, phi, mode, n_test=0):
    """Per-draw curves of the 2 x 2 design; each array has shape ``(n_draws, T)``.

    ``mode="theory"``: Gaussian-equivalent features, analytic averages over ``w*``, ``eps`` and the test
    point. ``mode="simulate"``: the actual activation and explicit draws; the test error is exact for a
    linear activation and estimated on ``n_test`` fresh inputs otherwise.
    """
    P, M = _sizes(N, alpha, nu)
    S = len(seeds)
    mu0, mu1, mus = activation_coefficients(phi)
    use_test_set = (mode == "simulate" and phi != "linear")
    # Xi (the Gaussian-equivalent noise) is used by the theory only; a simulation without a test set skips it
    X, eps, F, w, Xi, Xt = _draw(N, P, M, S, seeds, n_test if use_test_set else 0,
                                 xi=(mode == "theory" or use_test_set))
    sq = math.sqrt(N)
    pre = np.matmul(X[:, None], np.swapaxes(F, -1, -2)[:, :, None]) / sq   # (S, f, d, P, M)
    if mode == "theory":
        Phi = mu1 * pre + (mus * Xi if mus > 0 else 0.0)
    else:
        Phi = _phi(phi, pre)
    del pre
    lam, U, Z = _eig_models(Phi)                                 # (S,2,2,M), (S,2,2,M,M), (S,2,2,P,M)
    e, g = _time_functions(lam, t, nu)                           # (S,2,2,T,M)
    sqrtP = math.sqrt(P)
    out = {}
    # Hermitian comparison: eigenvalues of K
    out["herm"] = 1.0 - np.mean(np.sum(1.0 - e**2, axis=-1), axis=(1, 2)) / N

    if mode == "simulate":
        # batched BLAS products, seeds (and models) as leading dimensions
        y = np.matmul(X, w[:, None, :, None])[..., 0] / sq + math.sqrt(sigma2) * eps  # (S,2,P)
        c = np.matmul(y[:, None, :, None, :], Z)[..., 0, :] / sqrtP              # (S,2,2,M)
        et = (np.sum(y**2, axis=-1)[:, None, :, None] / P
              - np.matmul(np.where(lam[..., None, :] > 0, (1 - e**2), 0.0)
                          / np.where(lam[..., None, :] > 0, lam[..., None, :], 1.0), (c**2)[..., None])[..., 0])
        coef = g * c[..., None, :]                                              # a(t)/sqrt(M) = U coef
        if phi == "linear":
            GU = np.matmul(np.swapaxes(F, -1, -2)[:, :, None], U)               # F^T U  (S,2,2,N,M)
            err = np.matmul(coef, np.swapaxes(GU, -1, -2)) - w[:, None, None, None, :]
            norm = N
        else:
            feats = _phi(phi, np.matmul(Xt[:, None], np.swapaxes(F, -1, -2)) / sq)  # (S,2,n_test,M)
            fU = np.matmul(feats[:, :, None], U)                                 # (S,2,2,n_test,M)
            f_test = np.matmul(coef, np.swapaxes(fU, -1, -2))                    # (S,2,2,T,n_test)
            err = f_test - (np.matmul(Xt, w[:, :, None])[..., 0] / sq)[:, None, None, None, :]
            norm = n_test

        def cross(i, j):
            (fi, di), (fj, dj) = i, j
            return np.sum(err[:, fi, di] * err[:, fj, dj], axis=-1) / norm
    else:
        # analytic averages: E[y_d y_d'^T] = X_d X_d'^T/N + sigma2 delta, E[y_d w*^T] = X_d/sqrt(N)
        ZX = np.matmul(np.swapaxes(Z, -1, -2), X[:, None]) / sq                 # Z_{fd}^T X_d/sqrt(N)
        FU = np.matmul(np.swapaxes(F, -1, -2)[:, :, None], U)                   # F_f^T U_{fd}
        et_terms = np.einsum("sfdmn,sfdmn->sfdm", ZX, ZX)                     # diag Z^T X X^T Z / N
        ZZdiag = np.einsum("sfdpm,sfdpm->sfdm", Z, Z)                            # = lam
        Gam_diag = (et_terms + sigma2 * ZZdiag) / P
        trCy = (np.einsum("sdpn,sdpn->sd", X, X) / N + sigma2 * P) / P           # (S,2)
        with np.errstate(invalid="ignore", divide="ignore"):
            wgt = np.where(lam[..., None, :] > 0, (1 - e**2) / np.where(lam[..., None, :] > 0,
                                                                        lam[..., None, :], 1.0), 0.0)
        et = trCy[:, None, :, None] - np.einsum("sfdtm,sfdm->sfdt", wgt, Gam_diag)
        # linear term: E[(F^T U (g o c)) . w*]/N = sum_k g_k (Z^T X F^T U)_kk /(N sqrt(P))
        lin = np.einsum("sfdmn,sfdnm->sfdm", ZX, FU) / (N * sqrtP)              # (S,2,2,M)

        def cross(i, j):
            (fi, di), (fj, dj) = i, j
            # Gamma_ij = Z_i^T (X_di X_dj^T / N + sigma2 delta) Z_j / P
            Gam = np.matmul(ZX[:, fi, di], np.swapaxes(ZX[:, fj, dj], -1, -2))
            if di == dj:
                Gam = Gam + sigma2 * np.matmul(np.swapaxes(Z[:, fi, di], -1, -2), Z[:, fj, dj])
            Gam = Gam / P
            Q = (mu1**2 / N) * np.matmul(np.swapaxes(FU[:, fi, di], -1, -2), FU[:, fj, dj])
            if fi == fj and mus > 0:
                Q = Q + mus**2 * np.matmul(np.swapaxes(U[:, fi, di], -1, -2), U[:, fj, dj])
            Q = Q * Gam
            quad = np.sum(np.matmul(g[:, fi, di], Q) * g[:, fj, dj], axis=-1)
            lin_i = np.einsum("stm,sm->st", g[:, fi, di], lin[:, fi, di])
            lin_j = np.einsum("stm,sm->st", g[:, fj, dj], lin[:, fj, dj])
            return 1.0 + quad - mu1 * (lin_i + lin_j)

    out["eg"] = np.mean([cross((f, d), (f, d)) for f in (0, 1) for d in (0, 1)], axis=0)
    out["et"] = et.mean(axis=(1, 2))
    for key, pairs in _PAIRS.items():
        out[key] = np.mean([cross(i, j) for i, j in pairs], axis=0)
    return out, P, M


def _result(out, t, alpha, nu, sigma2, phi, N, P, M, kind):
    vals = {}
    for name, key in (("test_error", "eg"), ("train_error", "et"), ("ens_features", "features"),
                      ("ens_data", "data"), ("bias", "bias"), ("hermitian_error", "herm")):
        if out[key].shape[0] >= 2:
            m, s = mean_sem(out[key], axis=0)
        else:
            m, s = out[key][0], np.zeros_like(out[key][0])
        vals[name], vals[name + "_sem"] = m, s
    var_features = vals["ens_data"] - vals["bias"]
    var_data = vals["ens_features"] - vals["bias"]
    var_int = vals["test_error"] - vals["ens_features"] - vals["ens_data"] + vals["bias"]
    arrays = [t, var_features, var_data, var_int] + list(vals.values())
    for a in arrays:
        a.setflags(write=False)
    return RandomFeaturesResult(
        t=t, test_error=vals["test_error"], train_error=vals["train_error"], ens_features=vals["ens_features"],
        ens_data=vals["ens_data"], bias=vals["bias"], var_features=var_features, var_data=var_data,
        var_interaction=var_int, hermitian_error=vals["hermitian_error"], test_error_sem=vals["test_error_sem"],
        train_error_sem=vals["train_error_sem"], ens_features_sem=vals["ens_features_sem"],
        ens_data_sem=vals["ens_data_sem"], bias_sem=vals["bias_sem"],
        hermitian_error_sem=vals["hermitian_error_sem"], alpha=alpha, nu=nu, sigma2=sigma2,
        phi=phi, N=N, M=M, P=P, n_seeds=out["eg"].shape[0], kind=kind)


# ----------------------------------------------------------------------------------------------
# Public views
# ----------------------------------------------------------------------------------------------
def theory(alpha: float, nu: float, sigma2: float, t, phi: str = "linear", N_theory: int = 600,
           n_draws: int = 2, seed: int = 12345, n_talbot: int = 16) -> RandomFeaturesResult:
    r"""The $N\to\infty$ learning curves: exact for linear features, a large-N evaluation otherwise.

    ``phi="linear"``: :func:`exact_theory` (``N_theory``, ``n_draws``, ``seed`` are not used; the result has
    ``N = M = P = n_seeds = 0`` and zero standard errors). Nonlinear ``phi``: :func:`large_n_theory` (Gaussian
    equivalence, evaluated at ``N_theory``; ``n_talbot`` is not used). Same fields in both cases.

    Examples
    --------
    >>> res = theory(2.0, 1.0, 0.0, [0.0, 1.0, 10.0])
    >>> [round(float(x), 2) for x in res.test_error]
    [1.0, 0.5, 0.25]
    """
    alpha, nu, sigma2, phi = _check_params(alpha, nu, sigma2, phi)
    check_int("N_theory", N_theory, low=50)
    check_int("n_draws", n_draws, low=1)
    check_seed("seed", seed)
    if phi == "linear":
        return exact_theory(alpha, nu, sigma2, t, n_talbot=n_talbot)
    return large_n_theory(alpha, nu, sigma2, t, phi=phi, N_theory=N_theory, n_draws=n_draws, seed=seed)


def large_n_theory(alpha: float, nu: float, sigma2: float, t, phi: str = "linear", N_theory: int = 600,
                   n_draws: int = 2, seed: int = 12345) -> RandomFeaturesResult:
    r"""The $N\to\infty$ learning curves, **evaluated numerically** at a large ``N_theory``.

    For each draw of $X_{1,2}, F_{1,2}$ the four models of the 2 x 2 design are solved exactly,
    $a(t) = \chi_t(K)b$, and every error is averaged **analytically** over the teacher, the label noise and
    the test input. With $K = U\Lambda U^\top$, $Z = \Phi U/\sqrt P$, $Y = F^\top U$, the
    overlap of models $i, j$ is

    .. math::

        \langle e_i, e_j\rangle &= 1 + \chi_i^\top\Bigl[\Bigl(\frac{\mu_1^2}{N}Y_i^\top Y_j
        + \mu_*^2\delta_{F_iF_j}U_i^\top U_j\Bigr)\circ\Omega_{ij}\Bigr]\chi_j\\
        &\quad - \frac{\mu_1}{N\sqrt P}\sum_{k}\bigl[\chi_{i,k}(Z_i^\top X_iY_i)_{kk} + (i\leftrightarrow j)\bigr],

    $\Omega_{ij} = Z_i^\top\bigl(X_iX_j^\top/N + \sigma^2\delta_{X_iX_j}\bigr)Z_j/P$, and
    $E_t = \frac1P\operatorname{tr}C_y - \sum_k\frac{1 - e^{-2\lambda_kt/\nu}}{\lambda_k}\Omega_{ii,kk}$.
    These are normalized traces (linear spectral statistics): their draw-to-draw fluctuations and their
    bias are $O(1/N_{theory})$. Nonlinear ``phi`` use Gaussian-equivalent features
    $\mu_1XF^\top/\sqrt N + \mu_*\Xi$ (:func:`activation_coefficients`).

    :func:`theory` uses it for nonlinear ``phi``; for linear features :func:`exact_theory` is the exact limit, and
    this evaluation serves as an independent check of it (the chapter and the tests measure the $O(1/N)$
    convergence).

    Cost: batched ``eigh`` of four $M\times M$ matrices per draw and $O(TM^2)$ per pair;
    memory about $4(PM + M^2 + MN)$ floats per draw, $M = \nu N_{theory}$, $P = \alpha N_{theory}$.

    Parameters
    ----------
    alpha, nu : float > 0
        $P/N$ and $M/N$.
    sigma2 : float >= 0
        Label-noise variance.
    t : 1-D increasing array of times >= 0; the last entry may be ``np.inf`` (the ridgeless limit).
    phi : ``"linear"``, ``"tanh"`` or ``"relu"``.
    N_theory : int >= 50, n_draws : int >= 1, seed : int >= 0.

    Examples
    --------
    >>> res = large_n_theory(2.0, 1.0, 0.0, [0.0, 1.0, 10.0], N_theory=200, n_draws=1)
    >>> [round(float(x), 2) for x in res.test_error]
    [1.0, 0.5, 0.25]
    """
    alpha, nu, sigma2, phi = _check_params(alpha, nu, sigma2, phi)
    t = _check_t(t, allow_inf=True)
    N_theory = check_int("N_theory", N_theory, low=50)
    n_draws = check_int("n_draws", n_draws, low=1)
    seed = check_seed("seed", seed)
    out, P, M = _design(N_theory, alpha, nu, sigma2, t, [seed + i for i in range(n_draws)], phi, "theory")
    return _result(out, t, alpha, nu, sigma2, phi, N_theory, P, M, "theory")


def simulate(N: int, alpha: float, nu: float, sigma2: float, t, seeds, phi: str = "linear",
             n_test: int = 2000) -> RandomFeaturesResult:
    r"""Gradient flow at finite $N$ with the actual activation, vectorized over seeds.

    Seed ``s`` draws (with ``np.random.default_rng(s)``) the teacher, two data sets, two feature
    matrices, and for nonlinear ``phi`` a test set of ``n_test`` inputs; the four models are solved
    exactly in time. For ``phi="linear"`` the test error is exact,
    $|F^\top a/\sqrt M - w^*|^2/N$; otherwise it is the mean over the test set. The fields are those of
    :func:`theory`, with means and standard errors over seeds.

    Memory: $n_{seeds}\,(4PM + 4M^2 + 2PN + 2MN + 4TM)$ floats (plus $4\,T\,N$ for linear
    $\varphi$, $4\,T\,n_{test}$ otherwise).

    Parameters
    ----------
    N : int >= 10
    alpha, nu, sigma2, t, phi : as in :func:`theory` (``t`` may end with ``np.inf``).
    seeds : sequence of at least 2 ints >= 0.
    n_test : int >= 10 (nonlinear ``phi`` only).

    Examples
    --------
    >>> sim = simulate(60, 2.0, 1.0, 0.0, [0.0, 1.0], seeds=range(3))
    >>> round(float(sim.test_error[0]), 2), sim.n_seeds, sim.P, sim.M
    (0.88, 3, 120, 60)
    """
    N = check_int("N", N, low=10)
    alpha, nu, sigma2, phi = _check_params(alpha, nu, sigma2, phi)
    t = _check_t(t, allow_inf=True)
    seeds = [check_int("seeds[i]", s, low=0) for s in seeds]
    if len(seeds) < 2:
        raise ValueError(f"seeds must hold at least 2 seeds (for a standard error); got {len(seeds)}")
    n_test = check_int("n_test", n_test, low=10)
    out, P, M = _design(N, alpha, nu, sigma2, t, seeds, phi, "simulate", n_test=n_test)
    return _result(out, t, alpha, nu, sigma2, phi, N, P, M, "simulation")


def ensemble_error(result: RandomFeaturesResult, k, over: str = "features") -> np.ndarray:
    r"""Test error of an ensemble of ``k`` models: $E_k = E_\infty + (E_g - E_\infty)/k$.

    ``over="features"`` (independent $F$, same data: $E_\infty$ = ``ens_features``) or
    ``"data"`` (same $F$, independent data sets: $E_\infty$ = ``ens_data``). This is exact for
    any ``k``: the ensemble error is the mean of the $k^2$ pairwise overlaps.

    Returns an array of shape ``(len(k), len(t))``.

    Examples
    --------
    >>> res = theory(2.0, 0.5, 0.0, [0.0, 5.0], N_theory=100, n_draws=1)
    >>> bool(np.allclose(ensemble_error(res, [1], "data")[0], res.test_error))
    True
    """
    over = check_choice("over", over, ("features", "data"))
    ks = check_array("k", np.atleast_1d(k), ndim=1, low=1.0)
    if ks.size == 0 or np.any(ks != np.round(ks)):
        raise ValueError(f"k must be an integer in [1, inf) or a non-empty array of them; got {k!r}")
    inf = result.ens_features if over == "features" else result.ens_data
    return inf[None, :] + (result.test_error - inf)[None, :] / ks[:, None]


def simulate_ensemble(N: int, alpha: float, nu: float, sigma2: float, t, ks, seeds, over: str = "features",
                      phi: str = "linear", n_test: int = 2000) -> EnsembleResult:
    r"""Simulated ensembles: the mean predictor of ``k`` models, ``k`` in ``ks``.

    ``over="features"``: ``max(ks)`` models with independent $F$ trained on the same data;
    ``over="data"``: the same $F$, independent data sets (and label noise), same teacher. The
    ensemble of size ``k`` averages the first ``k`` models. Test error exact for linear ``phi``.

    Examples
    --------
    >>> ens = simulate_ensemble(40, 2.0, 1.0, 0.0, [0.0, 1.0], [1, 2], seeds=range(2))
    >>> ens.test_error.shape
    (2, 2)
    """
    N = check_int("N", N, low=10)
    alpha, nu, sigma2, phi = _check_params(alpha, nu, sigma2, phi)
    t = _check_t(t, allow_inf=True)
    ks = np.array([check_int("ks[i]", k, low=1) for k in ks])
    if ks.size < 1:
        raise ValueError("ks must hold at least one ensemble size")
    over = check_choice("over", over, ("features", "data"))
    seeds = [check_int("seeds[i]", s, low=0) for s in seeds]
    if len(seeds) < 2:
        raise ValueError(f"seeds must hold at least 2 seeds (for a standard error); got {len(seeds)}")
    n_test = check_int("n_test", n_test, low=10)
    P, M = _sizes(N, alpha, nu)
    K = int(ks.max())
    S = len(seeds)
    nf, nd = (K, 1) if over == "features" else (1, K)
    X = np.empty((S, nd, P, N))
    eps = np.empty((S, nd, P))
    F = np.empty((S, nf, M, N))
    w = np.empty((S, N))
    nt = 0 if phi == "linear" else n_test
    Xt = np.empty((S, nt, N))
    for i, s in enumerate(seeds):  # drawing only
        rng = np.random.default_rng(s)
        X[i] = rng.standard_normal((nd, P, N))
        eps[i] = rng.standard_normal((nd, P))
        F[i] = rng.standard_normal((nf, M, N))
        w[i] = rng.standard_normal(N)
        Xt[i] = rng.standard_normal((nt, N))
    sq = math.sqrt(N)
    # batched BLAS products: seeds and models are leading dimensions
    Phi = _phi(phi, np.matmul(X[:, None], np.swapaxes(F, -1, -2)[:, :, None]) / sq).reshape(S, K, P, M)
    lam, U, Z = _eig_models(Phi)
    _, g = _time_functions(lam, t, nu)
    y = np.matmul(X, w[:, None, :, None])[..., 0] / sq + math.sqrt(sigma2) * eps       # (S, nd, P)
    yk = np.broadcast_to(y[:, None], (S, nf, nd, P)).reshape(S, K, P)
    c = np.matmul(yk[:, :, None, :], Z)[:, :, 0, :] / math.sqrt(P)
    coef = g * c[:, :, None, :]                                                       # (S,K,T,M)
    Fk = np.broadcast_to(F[:, :, None], (S, nf, nd, M, N)).reshape(S, K, M, N)
    coefU = np.matmul(coef, np.swapaxes(U, -1, -2))                                   # (U coef)^T, (S,K,T,M)
    if phi == "linear":
        pred = np.matmul(coefU, Fk)                                                   # F^T a/sqrt(M)
        target, norm = w[:, None, None, :], N
    else:
        feats = _phi(phi, np.matmul(Xt[:, None], np.swapaxes(Fk, -1, -2)) / sq)
        pred = np.matmul(coefU, np.swapaxes(feats, -1, -2))
        target, norm = (np.matmul(Xt, w[:, :, None])[..., 0] / sq)[:, None, None, :], n_test
    csum = np.cumsum(pred, axis=1)[:, ks - 1] / ks[None, :, None, None]             # (S, n_k, T, .)
    err = np.sum((csum - target) ** 2, axis=-1) / norm
    m, s = mean_sem(err, axis=0)
    for a in (t, m, s):
        a.setflags(write=False)
    return EnsembleResult(t=t, ks=ks, test_error=m, test_error_sem=s, over=over, alpha=alpha, nu=nu,
                          sigma2=sigma2, phi=phi, N=N, n_seeds=S)


def long_time_error_underparametrized(alpha: float, nu: float, sigma2: float) -> float:
    r"""Ridgeless limit $E_g(\infty)$ of linear random features when $\nu < 1$ and $\alpha>\nu$.

    The features span an $M$-dimensional subspace of the inputs; the part of the teacher outside it,
    of variance $1-\nu$, acts as extra label noise, and least squares in $M$ dimensions from
    $P>M$ samples gives (ordinary least squares with Gaussian design)

    .. math:: E_g(\infty) = (1-\nu) + (1 - \nu + \sigma^2)\,\frac{\nu}{\alpha-\nu} .

    Examples
    --------
    >>> round(long_time_error_underparametrized(2.0, 0.5, 0.0), 4)
    0.6667
    """
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    nu = check_real("nu", nu, low=0.0, high=1.0, low_open=True, high_open=True)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    if not alpha > nu:
        raise ValueError(f"alpha must be in ({nu:g}, inf) (more samples than features); got {alpha:g}")
    return (1.0 - nu) + (1.0 - nu + sigma2) * nu / (alpha - nu)


# ----------------------------------------------------------------------------------------------
# Exact N -> infinity spectrum: the Hermitian comparison
# ----------------------------------------------------------------------------------------------
def product_wishart_density(x, alpha: float, nu: float, eta: float = 1e-8):
    r"""Density of the continuous part of the spectrum of $A = \frac{F^\top F}{M}\,\frac{X^\top X}{P}$ ($N\to\infty$).

    The two Wishart factors are asymptotically free, so the S-transforms multiply,
    $S_A(z) = \frac{1}{(1+z/\alpha)(1+z/\nu)}$, and the moment generating function
    $\psi(u) = \int\frac{\lambda u}{1-\lambda u}\rho(\lambda)d\lambda$ solves the cubic

    .. math:: u\,(1+\psi)\Bigl(1+\frac\psi\alpha\Bigr)\Bigl(1+\frac\psi\nu\Bigr) = \psi,\qquad u = 1/z,

    with $G(z) = (1+\psi)/z$ and $\rho(x) = -\frac1\pi\operatorname{Im}G(x+i0)$, evaluated at
    $z = x(1 + i\eta)$. The three roots
    are the eigenvalues of a batch of companion matrices (vectorized over ``x``); the physical one has the
    most negative $\operatorname{Im}G$. The atom at zero has weight $1-\min(1,\alpha,\nu)$.

    Examples
    --------
    >>> x = np.linspace(1e-3, 12, 20001)
    >>> rho = product_wishart_density(x, 1.0, 0.5)    # atom 1/2 at zero, bulk mass 1/2, mean 1
    >>> round(float(np.trapezoid(rho, x)), 3), round(float(np.trapezoid(x * rho, x)), 3)
    (0.5, 1.0)
    """
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    nu = check_real("nu", nu, low=0.0, low_open=True)
    eta = check_real("eta", eta, low=0.0, low_open=True, high=1.0)
    x = check_array("x", np.atleast_1d(x), ndim=1, low=0.0)
    z = x * (1.0 + 1j * eta)       # relative broadening: the atom at zero leaks no mass into the bulk
    u = 1.0 / z
    # u (1+p)(1+p/a)(1+p/n) - p = 0  ->  coefficients of p^3, p^2, p, 1
    a, n = alpha, nu
    c3 = u / (a * n)
    c2 = u * (1 / a + 1 / n + 1 / (a * n))
    c1 = u * (1 + 1 / a + 1 / n) - 1
    c0 = u
    comp = np.zeros((x.size, 3, 3), dtype=complex)
    comp[:, 0, :] = -np.stack([c2 / c3, c1 / c3, c0 / c3], axis=1)
    comp[:, 1, 0] = 1.0
    comp[:, 2, 1] = 1.0
    roots = np.linalg.eigvals(comp)
    G = (1.0 + roots) / z[:, None]
    best = np.argmin(G.imag, axis=1)
    Gp = G[np.arange(x.size), best]
    return np.clip(-Gp.imag / np.pi, 0.0, None)


def hermitian_theory(alpha: float, nu: float, t, n_grid: int = 4000):
    r"""$E_H(t) = \int\rho_A(\lambda)e^{-2\lambda t}d\lambda$ exactly at $N\to\infty$ (atom included).

    The test error of the Hermitian drive $\dot v = -Sv$, $S = \hat\Sigma^{1/2}W\hat\Sigma^{1/2}$,
    which has the spectrum of the non-normal $A = W\hat\Sigma$ of linear random features
    (:func:`product_wishart_density`). The bulk is integrated on the grid $\lambda = \lambda_{max}s^2$
    (trapezoid; the substitution $\lambda = \lambda_{max}s^3$ tames the integrable
    $\lambda^{-1/2}$ or $\lambda^{-2/3}$ singularity at zero when $\alpha$ or $\nu$ equals one).

    Examples
    --------
    >>> [round(float(e), 3) for e in hermitian_theory(1.0, 0.5, [0.0, 1.0, 1e3])]
    [1.0, 0.614, 0.5]
    """
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    nu = check_real("nu", nu, low=0.0, low_open=True)
    t = check_array("t", np.atleast_1d(t), ndim=1, low=0.0)
    n_grid = check_int("n_grid", n_grid, low=100)
    lmax = (1 + 1 / math.sqrt(alpha)) ** 2 * (1 + 1 / math.sqrt(nu)) ** 2 * 1.05
    s = np.linspace(0.0, 1.0, n_grid + 1)[1:]
    lam = lmax * s**3
    rho = product_wishart_density(lam, alpha, nu) * 3 * lmax * s**2       # density in s
    s = np.concatenate([[0.0], s])
    rho = np.concatenate([[0.0], rho])
    lam = np.concatenate([[0.0], lam])
    atom = 1.0 - min(1.0, alpha, nu)
    mass = np.trapezoid(rho, s)
    rho = rho * (1.0 - atom) / mass                                          # fix the O(grid) mass error
    return atom + np.trapezoid(rho[None, :] * np.exp(-2.0 * lam[None, :] * t[:, None]), s, axis=1)


def sample_drive_spectrum(N: int, alpha: float, nu: float, seed: int = 0) -> np.ndarray:
    r"""Eigenvalues of the input-space drive $A = \frac{F^\top F}{M}\frac{X^\top X}{P}$ for one draw (``N`` values).

    Computed from the symmetric $M\times M$ matrix $F\hat\Sigma F^\top/M = K/\nu$, which has the same
    non-zero eigenvalues; the remaining $N - M$ (if $M<N$) are zero. Sorted increasingly.

    Examples
    --------
    >>> lam = sample_drive_spectrum(200, 1.0, 0.5, seed=1)
    >>> lam.shape, round(float(lam.mean()), 1), int(np.sum(lam < 1e-10))
    ((200,), 1.0, 100)
    """
    N = check_int("N", N, low=2)
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    nu = check_real("nu", nu, low=0.0, low_open=True)
    seed = check_seed("seed", seed)
    P, M = _sizes(N, alpha, nu)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((P, N))
    F = rng.standard_normal((M, N))
    Phi = X @ F.T / math.sqrt(N)
    lam = np.clip(np.linalg.eigvalsh(Phi.T @ Phi / P), 0.0, None) / nu
    lam = np.sort(lam)[-min(M, N):]
    return np.concatenate([np.zeros(N - lam.size), lam])


def _wishart_resolvent(kap, nu):
    r"""$\int d\mu_W(w)/(w+\kappa)$ for the Marchenko-Pastur law of ``W = F^T F/M`` (atom included)."""
    return -rmt.marchenko_pastur_stieltjes(-kap, alpha=nu)


def _kappa_path(s, alpha, nu, tol=1e-10, max_iter=100):
    r"""Solve $s = \kappa - \frac\kappa\alpha\bigl(1 - \kappa G_W(\kappa)\bigr)$ along a contour (continuation).

    Newton with a finite-difference derivative, started at $s_0 + 1/\alpha$ and then from the previous
    node, so that the physical branch ($\kappa\approx s$ for large $|s|$) is followed. Iterates to
    machine precision (the Talbot weights amplify errors in $\kappa$); raises ``ConvergenceError`` if the
    relative residual is above ``tol`` after ``max_iter`` steps.
    """
    out = np.empty(s.size, dtype=complex)
    k = s[0] + 1.0 / alpha

    def F(k, si):
        return k - (k / alpha) * (1.0 - k * _wishart_resolvent(k, nu)) - si

    for i, si in enumerate(s):
        res = []
        for _ in range(max_iter):
            f = F(k, si)
            res.append(abs(f) / (1.0 + abs(si)))
            h = 1e-7 * (1.0 + abs(k))
            step = f / ((F(k + h, si) - f) / h)
            k = k - step
            if abs(step) <= 4e-16 * (1.0 + abs(k)):
                break
        res.append(abs(F(k, si)) / (1.0 + abs(si)))
        if not res[-1] <= tol:
            raise ConvergenceError(f"kappa(s) did not converge at s = {si:.4g}", res)
        out[i] = k
    return out


def _talbot(t, n):
    """Fixed-Talbot nodes and weights: ``f(t) = Re sum_k c_k F(s_k)`` (Abate and Valko 2004)."""
    r = 2.0 * n / (5.0 * t)
    th = np.arange(1, n) * np.pi / n
    cot = 1.0 / np.tan(th)
    s = r * th * (cot + 1j)
    sig = th + (th * cot - 1.0) * cot
    c = (r / n) * np.exp(t * s) * (1.0 + 1j * sig)
    return np.concatenate([[r + 0j], s]), np.concatenate([[0.5 * (r / n) * np.exp(r * t)], c])


def nonnormal_theory(alpha: float, nu: float, t, n_talbot: int = 16, max_iter: int = 100) -> np.ndarray:
    r"""Exact $N\to\infty$ test error of linear random features without label noise.

    $E_g(t) = \frac1N\operatorname{tr}e^{-A^\top t}e^{-At}$ with $A = W\hat\Sigma$. Its double
    Laplace transform $\hat C(s_1,s_2) = \frac1N\operatorname{tr}(s_1 + A^\top)^{-1}(s_2 + A)^{-1}$ follows from
    the two-point deterministic equivalent of the resolvent of the sample covariance
    $T = W^{1/2}\hat\Sigma W^{1/2}$ (population covariance $W$, $P$ samples), averaged over the
    Marchenko-Pastur law $\mu_W$ of $W$:

    .. math::

        &\hat C(s_1,s_2) = \frac{\kappa_1\kappa_2}{s_1s_2}\,\frac{D_{12}}{1-\Gamma_{12}},\quad
        D_{12} = \int\!\frac{d\mu_W(w)}{(w+\kappa_1)(w+\kappa_2)},\\
        &\Gamma_{12} = \frac1\alpha\int\!\frac{w^2\,d\mu_W(w)}{(w+\kappa_1)(w+\kappa_2)},

    with $s = \kappa\bigl(1 - \frac1\alpha\int\frac{w\,d\mu_W}{w+\kappa}\bigr)$. The transform is inverted on the
    diagonal $t_1 = t_2 = t$ by the fixed-Talbot rule in both variables (``n_talbot`` nodes each); the
    resolvent of $\mu_W$ is the closed-form Marchenko-Pastur Stieltjes transform, and $\kappa(s)$ is
    found by Newton continuation along the contour (``ConvergenceError`` if it fails).

    Parameters
    ----------
    alpha, nu : float > 0
    t : 1-D array of times >= 0 (finite).
    n_talbot : int in [8, 32]
        Nodes per variable. The weights grow like $e^{2n/5}$ per variable, so round-off is amplified by
        about $e^{4n/5}$ in two dimensions: 16 nodes give about five correct digits.

    Examples
    --------
    >>> [round(float(e), 4) for e in nonnormal_theory(1.0, 0.5, [0.0, 1.0, 100.0])]
    [1.0, 0.7703, 0.9999]
    """
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    nu = check_real("nu", nu, low=0.0, low_open=True)
    t = check_array("t", np.atleast_1d(t), ndim=1, low=0.0)
    n_talbot = check_int("n_talbot", n_talbot, low=8, high=32)
    max_iter = check_int("max_iter", max_iter, low=1)
    out = np.ones(t.size)
    for i, tt in enumerate(t):  # loop over times (each needs its own contour)
        if tt == 0.0:
            continue
        s, c = _talbot(tt, n_talbot)
        k = _kappa_path(s, alpha, nu, max_iter=max_iter)
        S = np.concatenate([s, np.conj(s[1:])])
        K = np.concatenate([k, np.conj(k[1:])])
        Cw = np.concatenate([c[:1], 0.5 * c[1:], 0.5 * np.conj(c[1:])])
        k1, k2 = K[:, None], K[None, :]
        G1, G2 = _wishart_resolvent(k1, nu), _wishart_resolvent(k2, nu)
        dk = k1 - k2
        same = np.abs(dk) < 1e-9 * (1.0 + np.abs(k1))
        h = 1e-5 * (1.0 + np.abs(k1))                       # central differences on the diagonal, O(h^2)
        Gp, Gm = _wishart_resolvent(k1 + h, nu), _wishart_resolvent(k1 - h, nu)
        with np.errstate(invalid="ignore", divide="ignore"):
            D = np.where(same, -(Gp - Gm) / (2 * h), (G2 - G1) / np.where(same, 1.0, dk))
            E = np.where(same, ((k1 + h) * Gp - (k1 - h) * Gm) / (2 * h),
                         (k1 * G1 - k2 * G2) / np.where(same, 1.0, dk))
        gam = (1.0 - (k1 + k2) * E - k1 * k2 * D) / alpha
        Chat = k1 * k2 / (S[:, None] * S[None, :]) * D / (1.0 - gam)
        out[i] = float(np.real(Cw @ Chat @ Cw))
    if not np.all(np.isfinite(out)):
        raise ConvergenceError("the Talbot inversion produced non-finite values", [])
    return out


# ----------------------------------------------------------------------------------------------
# Exact N -> infinity theory of linear features: label noise, train error, ensembles, bias
# ----------------------------------------------------------------------------------------------
def _two_point(K, ratio):
    r"""$D_{12} = \int\frac{d\mu}{(x+\kappa_1)(x+\kappa_2)}$, $E_{12} = \int\frac{x\,d\mu}{(x+\kappa_1)(x+\kappa_2)}$
    on the grid ``K x K`` for the Marchenko-Pastur law of aspect ratio ``ratio`` (divided differences, central
    differences on the diagonal)."""
    k1, k2 = K[:, None], K[None, :]
    G1, G2 = _wishart_resolvent(k1, ratio), _wishart_resolvent(k2, ratio)
    dk = k1 - k2
    same = np.abs(dk) < 1e-9 * (1.0 + np.abs(k1))
    h = 1e-5 * (1.0 + np.abs(k1))
    Gp, Gm = _wishart_resolvent(k1 + h, ratio), _wishart_resolvent(k1 - h, ratio)
    with np.errstate(invalid="ignore", divide="ignore"):
        D = np.where(same, -(Gp - Gm) / (2 * h), (G2 - G1) / np.where(same, 1.0, dk))
        E = np.where(same, ((k1 + h) * Gp - (k1 - h) * Gm) / (2 * h),
                     (k1 * G1 - k2 * G2) / np.where(same, 1.0, dk))
    return D, E


def _exact_transforms(s, alpha, nu, sigma2, max_iter):
    r"""The Laplace transforms of :func:`exact_theory` on the grid ``s x s`` (one-point ones on ``s``)."""
    s1, s2 = s[:, None], s[None, :]
    # data side: average over X at fixed W (kappa of the Wishart W = F^T F / M)
    k = _kappa_path(s, alpha, nu, max_iter=max_iter)
    D, E = _two_point(k, nu)
    k1, k2 = k[:, None], k[None, :]
    gam = (1.0 - (k1 + k2) * E - k1 * k2 * D) / alpha                 # (1/alpha) int w^2 dmu/((w+k1)(w+k2))
    sig = k1 * k2 * D / (s1 * s2)
    out = {"eg": (sig + sigma2 * gam / (s1 * s2)) / (1.0 - gam), "data": sig, "et": D / (1.0 - gam),
           "one": k * _wishart_resolvent(k, nu) / s}                   # (1/N) tr (s + A)^{-1}
    # feature side: average over F at fixed data (kappa of the sample covariance X^T X / P)
    kf = _kappa_path(s, nu, alpha, max_iter=max_iter)
    Df, Ef = _two_point(kf, alpha)
    f1, f2 = kf[:, None], kf[None, :]
    out["features"] = (f1 * f2 * Df + (sigma2 / alpha) * Ef) / (s1 * s2)
    return out


def _kappa0(ratio_samples, ratio_law):
    r"""Root $\kappa_0\ge0$ of $1 = \frac1{r_s}\int\frac{x\,d\mu}{x+\kappa}$ (law: MP of ratio ``ratio_law``).

    Zero when $\min(1, r_{law})\le r_s$ (the ridgeless limit interpolates nothing: no implicit ridge)."""
    from scipy.optimize import brentq
    m = min(1.0, ratio_law)
    if m <= ratio_samples:
        return 0.0
    g = lambda k: ratio_samples - (1.0 - k * float(np.real(_wishart_resolvent(k, ratio_law))))  # noqa: E731
    hi = 1.0
    while g(hi) < 0:
        hi *= 2.0
    return brentq(g, 1e-300, hi, xtol=1e-15, rtol=1e-13)


def _side_limit(r_s, r_law):
    r"""``(kappa0^2 D00, E00, atom-or-kappa0 G)`` limits of one side (``s -> 0``), and ``(1 - m/r_s)``.

    With $\kappa_0>0$ the integrals are taken at $\kappa_0$; with $\kappa_0 = 0$ one has
    $\kappa\simeq s/(1 - m/r_s)$, $m = \min(1, r_{law})$, and $\kappa^2D\to$ the atom of the law."""
    k0 = _kappa0(r_s, r_law)
    if k0 > 0:
        kD = float(rmt.marchenko_pastur_expect(lambda x: k0**2 / (x + k0) ** 2, r_law))
        E = float(rmt.marchenko_pastur_expect(lambda x: x / (x + k0) ** 2, r_law))
        g = float(rmt.marchenko_pastur_expect(lambda x: x**2 / (x + k0) ** 2, r_law)) / r_s
        return k0, kD, E, g, 0.0
    m = min(1.0, r_law)
    atom = 1.0 - m
    if r_law == 1.0:
        E = math.inf
    else:   # int_{x>0} dmu/x for MP of ratio r: r/(r-1) if r > 1, r^2/(1-r) if r < 1
        E = r_law / (r_law - 1.0) if r_law > 1.0 else r_law**2 / (1.0 - r_law)
    return 0.0, atom, E, m / r_s, (1.0 - m / r_s) * atom


def _exact_limit(alpha, nu, sigma2):
    r"""``t -> inf`` limits $\lim_{s\to0}s_1s_2\hat F$ of the transforms of :func:`exact_theory`."""
    k0, kD, _, gam, et_sig = _side_limit(alpha, nu)
    with np.errstate(divide="ignore"):
        eg = (kD + sigma2 * gam) / (1.0 - gam) if gam < 1.0 else math.inf
    kf0, kDf, Ef, _, _ = _side_limit(nu, alpha)
    feat = kDf + (sigma2 / alpha) * Ef if sigma2 > 0 else kDf
    # c(inf) = kappa0 G_W(kappa0) = 1 - alpha if kappa0 > 0, else the atom of W
    c_inf = (1.0 - alpha) if k0 > 0 else kD
    return {"eg": eg, "data": kD, "features": feat, "et": et_sig}, c_inf


def exact_theory(alpha: float, nu: float, sigma2: float, t, n_talbot: int = 16,
                 max_iter: int = 100) -> RandomFeaturesResult:
    r"""Exact $N\to\infty$ learning curves of linear random features, with label noise and ensembles.

    With $A = W\hat\Sigma$ ($W = F^\top F/M$, $\hat\Sigma = X^\top X/P$), $\kappa(s)$ from
    $s = \kappa\bigl(1 - \frac1\alpha\int\frac{w\,d\mu_W}{w+\kappa}\bigr)$ and
    $\kappa_F(s)$ from $s = \kappa_F\bigl(1 - \frac1\nu\int\frac{x\,d\mu_\Sigma}{x+\kappa_F}\bigr)$
    (Marchenko-Pastur laws of aspect ratios $\nu$ and $\alpha$), the double Laplace transforms are

    .. math::

        &\hat E_g = \frac{\kappa_1\kappa_2D_{12} + \sigma^2\Gamma_{12}}{s_1s_2(1-\Gamma_{12})},\quad
        \hat E_{data} = \frac{\kappa_1\kappa_2D_{12}}{s_1s_2},\\
        &\hat E_{feat} = \frac{\kappa_{F1}\kappa_{F2}D^\Sigma_{12} + \frac{\sigma^2}{\alpha}E^\Sigma_{12}}{s_1s_2},\quad
        \hat E_t^{signal} = \frac{D_{12}}{1-\Gamma_{12}},

    with $D_{12} = \int\frac{d\mu_W}{(w+\kappa_1)(w+\kappa_2)}$,
    $\Gamma_{12} = \frac1\alpha\int\frac{w^2d\mu_W}{(w+\kappa_1)(w+\kappa_2)}$ and $D^\Sigma, E^\Sigma$
    the integrals of $1$ and $x$ against $d\mu_\Sigma/((x+\kappa_{F1})(x+\kappa_{F2}))$. The
    one-point function $c(t) = \frac1N\operatorname{tr}e^{-At}$, transform $\kappa G_W(\kappa)/s$, gives
    the bias $c(t)^2$, the Hermitian curve $c(2t)$ and the noise part of the train error,
    $E_t = E_t^{signal} + \sigma^2\bigl(1 - \frac1\alpha + \frac{c(2t)}\alpha\bigr)$. Derivation: the chapter
    (equations ``rf-noise`` to ``rf-bias-exact``). Double (single) fixed-Talbot inversion on the diagonal
    $t_1 = t_2 = t$; the last time may be ``np.inf`` (limits $s\to0$).

    Returns a :class:`RandomFeaturesResult` with ``N = M = P = n_seeds = 0`` and zero standard errors.

    Examples
    --------
    >>> th = exact_theory(1.0, 0.5, 0.25, [0.0, 1.0, 10.0])
    >>> [round(float(x), 4) for x in th.test_error], round(float(th.train_error[0]), 4)
    ([1.0, 0.8398, 1.1205], 1.25)
    """
    alpha, nu, sigma2, _ = _check_params(alpha, nu, sigma2, "linear")
    t = _check_t(t, allow_inf=True)
    n_talbot = check_int("n_talbot", n_talbot, low=8, high=32)
    max_iter = check_int("max_iter", max_iter, low=1)
    T = t.size
    eg, data, feat, ets, herm, bias = (np.ones(T) for _ in range(6))
    for i, tt in enumerate(t):  # loop over times (each needs its own contour)
        if tt == 0.0:
            continue
        if np.isinf(tt):
            lim, c_inf = _exact_limit(alpha, nu, sigma2)
            eg[i], data[i], feat[i], ets[i] = lim["eg"], lim["data"], lim["features"], lim["et"]
            herm[i], bias[i] = c_inf, c_inf**2
            continue
        s, c = _talbot(tt, n_talbot)
        S = np.concatenate([s, np.conj(s[1:])])
        Cw = np.concatenate([c[:1], 0.5 * c[1:], 0.5 * np.conj(c[1:])])
        tr = _exact_transforms(S, alpha, nu, sigma2, max_iter)
        inv2 = {key: float(np.real(Cw @ tr[key] @ Cw)) for key in ("eg", "data", "features", "et")}
        eg[i], data[i], feat[i], ets[i] = inv2["eg"], inv2["data"], inv2["features"], inv2["et"]
        bias[i] = float(np.real(Cw @ tr["one"])) ** 2
        s2t, c2t = _talbot(2.0 * tt, n_talbot)
        k2t = _kappa_path(s2t, alpha, nu, max_iter=max_iter)
        herm[i] = float(np.real(np.sum(c2t * k2t * _wishart_resolvent(k2t, nu) / s2t)))
    et = ets + sigma2 * (1.0 - 1.0 / alpha + herm / alpha)
    arrays = [eg, et, feat, data, bias, herm]
    if any(np.any(np.isnan(a)) or np.any(np.isinf(a[:-1])) for a in arrays):
        raise ConvergenceError("the Talbot inversion produced non-finite values", [])
    zero = np.zeros(T)
    var_features, var_data = data - bias, feat - bias
    var_int = eg - feat - data + bias
    for a in arrays + [t, zero, var_features, var_data, var_int]:
        a.setflags(write=False)
    return RandomFeaturesResult(
        t=t, test_error=eg, train_error=et, ens_features=feat, ens_data=data, bias=bias,
        var_features=var_features, var_data=var_data, var_interaction=var_int, hermitian_error=herm,
        test_error_sem=zero, train_error_sem=zero, ens_features_sem=zero, ens_data_sem=zero, bias_sem=zero,
        hermitian_error_sem=zero, alpha=alpha, nu=nu, sigma2=sigma2, phi="linear", N=0, M=0, P=0, n_seeds=0,
        kind="theory")


# ----------------------------------------------------------------------------------------------
# The two-field DMFT of linear random features, solved on a time grid
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RandomFeaturesDMFTResult(ReadOnlyArrays):
    r"""Solution of the two-field DMFT of linear random features (:func:`dmft_theory`).

    ``t`` (uniform grid), the diagonals ``test_error`` $C_v(t,t)$, ``train_error``
    $C_q(t,t)$, ``ens_features`` and ``ens_data`` (the same closure with the feature field, resp. the data
    field, dropped) and ``bias`` $c(t)^2$; ``C_test`` the two-time $C_v(t,t')$; ``response``
    $c(t)$, the response of $v$ to its initial condition; the three fixed-point diagnostics
    (``residuals`` of the last solve, ``n_iter`` summed over the four solves, ``converged``).
    """

    t: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    ens_features: np.ndarray
    ens_data: np.ndarray
    bias: np.ndarray
    C_test: np.ndarray
    response: np.ndarray
    residuals: np.ndarray
    n_iter: int
    converged: bool
    alpha: float
    nu: float
    sigma2: float


def dmft_theory(alpha: float, nu: float, sigma2: float, t_max: float, n_t: int = 201, tol: float = 1e-11,
                max_iter: int = 500) -> RandomFeaturesDMFTResult:
    r"""Solve the DMFT of linear random features with one Gaussian field per quenched matrix.

    Input space ($N$ sites) carries $v$ ($v(0) = -w^*\sim\mathcal N(0,1)$), the data
    field $u_y$ (from $X$, covariance $\alpha C_q$) and the feature field $u_p$ (from
    $F$, covariance $\nu C_m$):

    .. math::

        &\dot v = -\frac{u_p}{\nu} - R_m * \Bigl(\frac{u_y}{\alpha} + R_q * v\Bigr),\\
        &q = R_q * (u_z - \sigma\varepsilon),\qquad m = R_m * u_m ,

    on the $P$ sample sites ($u_z$ of covariance $C_v$) and $M$ feature sites
    ($u_m$ of covariance $C_r$, $r = u_y/\alpha + R_q * v$). The responses close through
    $R_q = (1 - R_v)^{-1}$, $R_m = (1 - R_r)^{-1}$ (operator inverses, identity included),
    $R_v = \delta v/\delta y$, $R_r = \delta r/\delta p$ at the input site. The errors are
    $E_g = C_v(t,t)$ and $E_t = C_q(t,t)$; dropping the feature field ($u_p$) gives the
    infinite ensemble over features, dropping the data field ($u_y$ and the label noise) the ensemble over
    data, dropping both the bias $c(t)^2$. Derivation: the random-features chapter; the construction
    (one Gaussian field per quenched matrix) is that of B. Bordelon and C. Pehlevan, *Disordered dynamics in
    high dimensions*, and Bordelon, Atanasov and Pehlevan (2024).

    Numerics: causal operators are lower-triangular $n_t\times n_t$ matrices on a uniform grid
    (trapezoid weights), responses and then correlations by fixed-point iteration
    (:func:`dmftlib.core.damped_fixed_point`; both maps are Volterra, so plain iteration converges). The error is
    $O(\Delta t^2)$; memory about $12\,n_t^2$ doubles. Time unit as in :func:`theory`.

    Examples
    --------
    >>> d = dmft_theory(1.0, 0.5, 0.0, 4.0, n_t=81)
    >>> round(float(d.test_error[-1]), 3), round(float(d.bias[-1]), 3), d.converged
    (0.838, 0.318, True)
    """
    alpha = check_real("alpha", alpha, low=0.0, low_open=True)
    nu = check_real("nu", nu, low=0.0, low_open=True)
    sigma2 = check_real("sigma2", sigma2, low=0.0)
    t_max = check_real("t_max", t_max, low=0.0, low_open=True, high=1e4)
    n_t = check_int("n_t", n_t, low=3, high=4000)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1, high=100_000)
    check_budget("DMFT grid work (n_t^3 per matrix product)", float(n_t) ** 3)
    grid = uniform_grid(t_max, n_t)
    J = causal_weights(n_t, grid.dt)
    eye = np.eye(n_t)
    one = np.ones(n_t)

    def green(Rq, Rm):
        return np.linalg.solve(eye + J @ Rm @ Rq, eye)

    def responses(x):
        Rq, Rm = x
        G = green(Rq, Rm)
        Kv = -(G @ J @ Rm) / alpha            # response of v to a kick of the data field y
        Kr = -(Rq @ G @ J) / nu               # response of r to a kick of the feature field p
        return np.linalg.solve(eye - Kv, eye), np.linalg.solve(eye - Kr, eye)

    fp = damped_fixed_point(responses, (eye, eye), damping=0.0, tol=tol, max_iter=max_iter)
    Rq, Rm = fp.x
    n_iter = fp.n_iter
    G = green(Rq, Rm)
    a = G @ one                               # c(t): response to the initial condition
    Bp = -(G @ J) / nu                        # v <- u_p
    By = -(G @ J @ Rm) / alpha                # v <- u_y
    RqA, RqBp = Rq @ a, Rq @ Bp
    Ly = eye / alpha + Rq @ By                # r <- u_y
    noise = sigma2 * np.outer(one, one)
    A0, A1 = np.outer(a, a), np.outer(RqA, RqA)

    def correlations(use_y, use_p, sig):
        def F(x):
            Cv, Cr = x
            Cq = Rq @ (Cv + sig * noise) @ Rq.T
            Cm = Rm @ Cr @ Rm.T
            Cv_new, Cr_new = A0.copy(), A1.copy()
            if use_p:
                Cv_new += nu * (Bp @ Cm @ Bp.T)
                Cr_new += nu * (RqBp @ Cm @ RqBp.T)
            if use_y:
                Cv_new += alpha * (By @ Cq @ By.T)
                Cr_new += alpha * (Ly @ Cq @ Ly.T)
            return 0.5 * (Cv_new + Cv_new.T), 0.5 * (Cr_new + Cr_new.T)
        return damped_fixed_point(F, (A0, A1), damping=0.0, tol=tol, max_iter=max_iter)

    full = correlations(True, True, 1.0)
    feat = correlations(True, False, 1.0)     # share X and the noise, independent F
    data = correlations(False, True, 0.0)     # share F, independent X and noise
    n_iter += full.n_iter + feat.n_iter + data.n_iter
    Cv = project_psd(full.x[0])
    Cq = Rq @ (full.x[0] + noise) @ Rq.T
    out = [np.diag(Cv).copy(), np.diag(Cq).copy(), np.diag(feat.x[0]).copy(), np.diag(data.x[0]).copy(), a ** 2]
    for arr in out + [Cv, a]:
        check_finite("the DMFT solution", arr)
    return RandomFeaturesDMFTResult(
        t=np.array(grid.t), test_error=out[0], train_error=out[1], ens_features=out[2], ens_data=out[3],
        bias=out[4], C_test=Cv, response=a, residuals=np.asarray(full.residuals), n_iter=int(n_iter),
        converged=bool(fp.converged and full.converged and feat.converged and data.converged),
        alpha=alpha, nu=nu, sigma2=sigma2)


# ----------------------------------------------------------------------------------------------
# Plots (pure: they draw on ``ax`` and return it)
# ----------------------------------------------------------------------------------------------
def plot_learning_curves(theory_result, simulations=(), ax=None, hermitian=False, color=None, label=None,
                         every=1):
    """Test error of ``theory_result`` (line) with simulations (markers, legend names N and seeds).

    ``hermitian=True`` adds the Hermitian drive with the same spectrum (dashed). Time axis logarithmic
    (the point ``t = 0`` is dropped there).
    """
    from .plotting import new_figure, plot_simulation
    if not isinstance(theory_result, RandomFeaturesResult):
        raise TypeError(f"theory_result must be a RandomFeaturesResult; got {type(theory_result).__name__}")
    if ax is None:
        _, ax = new_figure()
    th = theory_result
    keep = (th.t > 0) & np.isfinite(th.t)
    lab = label if label is not None else f"theory, ν = {th.nu:g}"
    line, = ax.plot(th.t[keep], th.test_error[keep], "-", color=color, label=lab)
    c = line.get_color()
    if hermitian:
        ax.plot(th.t[keep], th.hermitian_error[keep], "--", color=c, label="Hermitian drive, same spectrum")
    markers = ("o", "s", "^", "D")
    for i, sim in enumerate(simulations):
        ks = (sim.t > 0) & np.isfinite(sim.t)
        plot_simulation(ax, sim.t[ks], sim.test_error[ks], sim.test_error_sem[ks], N=sim.N, n_seeds=sim.n_seeds,
                        color=c, fmt=markers[i % 4], every=every)
    ax.set_xscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel(r"$E_g(t)$")
    return ax


def plot_bias_variance(x, results, xlabel=r"$\nu = M/N$", ax=None, time_index=-1):
    """Stacked decomposition ``bias + var_features + var_data + var_interaction`` against a parameter.

    ``results`` is a sequence of :class:`RandomFeaturesResult` (one per value of ``x``); the parts are taken
    at ``t[time_index]``.
    """
    from .plotting import new_figure
    x = check_array("x", x, ndim=1)
    needed = ("bias", "var_features", "var_data", "var_interaction", "test_error")
    if isinstance(results, (str, bytes)) or not all(all(hasattr(r, n) for n in needed) for r in results):
        raise TypeError("results must be a sequence of RandomFeaturesResult (or objects with the fields "
                        f"{', '.join(needed)})")
    if len(results) != x.size or x.size == 0:
        raise ValueError(f"x must hold one value per result ({len(results)}), at least one; got {x.size}")
    if ax is None:
        _, ax = new_figure()
    parts = [np.array([getattr(r, name)[time_index] for r in results])
             for name in ("bias", "var_features", "var_data", "var_interaction")]
    labels = ("bias$^2$", "variance: features", "variance: data", "variance: interaction")
    ax.stackplot(x, *[np.clip(p, 0, None) for p in parts], labels=labels, alpha=0.6)
    ax.plot(x, [r.test_error[time_index] for r in results], "k-", lw=1.5, label="total $E_g$")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test error")
    ax.legend(loc="upper right")
    return ax


def plot_explorer(alpha: float = 0.5, nu: float = 0.5, sigma: float = 0.0, phi: str = "linear", t_max: float = 1e3,
                  N_theory: int = 120, ax=None):
    """Widget view: theory learning curves (single model, infinite ensembles, bias, Hermitian drive).

    Exact for linear features; for nonlinear ones evaluated at a small ``N_theory`` so that it is interactive
    (error O(1/N_theory)).
    """
    from .plotting import new_figure
    sigma = check_real("sigma", sigma, low=0.0)
    t_max = check_real("t_max", t_max, low=0.0, low_open=True, high=1e6)   # a widget: log grid up to 1e6
    if ax is None:
        _, ax = new_figure()
    t = np.geomspace(1e-2, t_max, 60 if phi == "linear" else 40)
    th = theory(alpha, nu, sigma**2, t, phi=phi, N_theory=N_theory, n_draws=1, n_talbot=12)
    ax.plot(t, th.test_error, "-", label="single model $E_g$")
    ax.plot(t, th.ens_features, "-", label="∞ ensemble over features")
    ax.plot(t, th.ens_data, "-", label="∞ ensemble over data")
    ax.plot(t, th.bias, "-", label="bias$^2$")
    if phi == "linear":
        ax.plot(t, th.hermitian_error, "k--", lw=1.2, label="Hermitian drive, same spectrum")
    ax.set_xscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("test error")
    how = "exact N → ∞" if phi == "linear" else f"large-N evaluation, N = {N_theory}"
    ax.set_title(f"α = {alpha:g}, ν = {nu:g}, σ = {sigma:g}, φ = {phi}  ({how})", fontsize=10)
    ax.legend(fontsize=8)
    return ax


check_public(globals())
