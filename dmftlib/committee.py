r"""Online SGD in soft committee machines: the order-parameter ODEs and finite-N simulations.

The teacher-student setting of Saad & Solla (1995) and Goldt et al. (2019). Inputs
$x\sim\mathcal N(0, I_N)$, one fresh sample per SGD step. Local fields
$\lambda_k = w_k\cdot x/\sqrt N$ (student, $k=1..K$) and
$\nu_m = B_m\cdot x/\sqrt N$ (teacher, $m=1..M$); weights have norm
$O(\sqrt N)$. Activation $g(u)=\operatorname{erf}(u/\sqrt2)$.

.. math::

    \phi(x) = \sum_{k=1}^K v_k\, g(\lambda_k),\qquad
    y = \sum_{m=1}^M v^*_m\, g(\nu_m) + \sigma\zeta,\qquad \zeta\sim\mathcal N(0,1).

Loss $\ell = \tfrac12(\phi - y)^2$. One SGD step $\mu\to\mu+1$ (Goldt et al. 2019)

.. math::

    w_k \leftarrow w_k - \eta\,\frac{\partial\ell}{\partial w_k}
        = w_k + \frac{\eta}{\sqrt N}\,\delta_k\, x,\qquad
    \delta_k = v_k\, g'(\lambda_k)\,(y-\phi),

equivalently $J_k \leftarrow J_k + (\eta/N)\,\delta_k x$ for the unit-scale weights
$J_k = w_k/\sqrt N$ of Saad & Solla (1995),
and, when the second layer is trained, $v_k \leftarrow v_k + \frac{\eta_v}{N}\,g(\lambda_k)(y-\phi)$.
Training time is $t = \mu/N$; with it the order parameters
$Q = WW^\top/N$, $R = WB^\top/N$, $T = BB^\top/N$ (fixed) and $v$ obey
ODEs with $O(1)$ right-hand sides whose learning rate is $\eta$ (and $\eta_v$):

.. math::

    \frac{dR_{in}}{dt} &= \eta\, v_i \sum_c s_c\, I_3(i, n, c),\\
    \frac{dQ_{ik}}{dt} &= \eta\, v_i \sum_c s_c\, I_3(i,k,c) + \eta\, v_k \sum_c s_c\, I_3(k,i,c)\\
        &\quad + \eta^2 v_i v_k\Big[\sum_{c,d} s_c s_d\, I_4(i,k,c,d) + \sigma^2 J_2(i,k)\Big],\\
    \frac{dv_i}{dt} &= \eta_v \sum_c s_c\, I_2(i,c),

where $c, d$ run over all $K+M$ fields $h = (\lambda, \nu)$, with signs
$s = (-v, v^*)$ so that $y - \phi = \sum_c s_c g(h_c) + \sigma\zeta$, and
$I_2(a,b)=\langle g(h_a)g(h_b)\rangle$, $I_3(a,b,c)=\langle g'(h_a)h_b g(h_c)\rangle$,
$I_4(a,b,c,d)=\langle g'(h_a)g'(h_b)g(h_c)g(h_d)\rangle$, $J_2(a,b)=\langle g'(h_a)g'(h_b)\rangle$
are Gaussian averages with covariance $\Omega = \begin{pmatrix}Q & R\\ R^\top & T\end{pmatrix}$,
all in closed form for this $g$ (Saad & Solla 1995). In $I_3(i,k,c)$ the derivative
sits on student $i$, the *linear* factor on $h_k$ and $g$ on $h_c$; this
order was checked against simulations (``tests/test_committee.py``).

The generalization error (on noiseless labels) is
$\epsilon_g = \tfrac12\langle(\phi - y|_{\sigma=0})^2\rangle = \tfrac12\sum_{c,d}s_c s_d I_2(c,d)$.

References: D. Saad and S. A. Solla, Phys. Rev. Lett. 74, 4337 (1995) and Phys. Rev. E 52,
4225 (1995); M. Biehl and H. Schwarze, J. Phys. A 28, 643 (1995); P. Riegler and M. Biehl,
J. Phys. A 28, L507 (1995); S. Goldt, M. Advani, A. Saxe, F. Krzakala, L. Zdeborová, NeurIPS
2019; A. Engel and C. Van den Broeck, *Statistical Mechanics of Learning* (2001).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .core import (ConvergenceError, check_array, check_choice, check_int, check_real, check_time_grid,
                   damped_fixed_point, integrate, mean_sem)
from .core import ReadOnlyArrays, check_seed, check_budget, check_public

__all__ = ["Overlaps", "CommitteeTheory", "CommitteeSimulation", "Plateau",
           "g", "g_prime", "I2", "I3", "I4", "J2", "generalization_error",
           "initial_overlaps", "overlaps_of", "realize", "rhs", "ode", "simulate",
           "save_simulations", "load_simulations",
           "plateau", "plateau_small_eta", "plot_learning_curve", "plot_widget"]

_SQ2 = np.sqrt(2.0)
_C2 = 2.0 / np.pi


# ----------------------------------------------------------------------------------------------
# activation and the closed-form Gaussian integrals
# ----------------------------------------------------------------------------------------------
def g(u):
    r"""The activation $g(u) = \operatorname{erf}(u/\sqrt 2)$."""
    from scipy.special import erf
    return erf(check_array("u", u) / _SQ2)


def g_prime(u):
    r"""$g'(u) = \sqrt{2/\pi}\,e^{-u^2/2}$."""
    u = check_array("u", u)
    return np.sqrt(_C2) * np.exp(-0.5 * u * u)


def _diag(O):
    return np.diagonal(O, axis1=-2, axis2=-1)


def I2(O):
    r"""All $I_2(a,b) = \langle g(h_a) g(h_b)\rangle$ for fields of covariance ``O``.

    .. math:: I_2 = \frac{2}{\pi}\arcsin\frac{C_{ab}}{\sqrt{(1+C_{aa})(1+C_{bb})}}

    ``O`` has shape ``(..., L, L)``; returns ``(..., L, L)``.

    >>> round(float(I2(np.eye(1))[0, 0]), 6)   # <g(u)^2> = (2/pi) arcsin(1/2) = 1/3
    0.333333
    """
    O = _check_O(O)
    d = 1.0 + _diag(O)
    return _C2 * np.arcsin(O / np.sqrt(d[..., :, None] * d[..., None, :]))


def I3(O, K=None):
    r"""$I_3(a,b,c) = \langle g'(h_a)\, h_b\, g(h_c)\rangle$ for ``a < K`` and all ``b, c``.

    .. math::

        &I_3 = \frac{2}{\pi}\frac{1}{\sqrt{\Lambda_3}}\,\frac{C_{bc}(1+C_{aa}) - C_{ab}C_{ac}}{1+C_{aa}},\\
        &\Lambda_3 = (1+C_{aa})(1+C_{cc}) - C_{ac}^2 .

    ``O`` has shape ``(..., L, L)``; returns ``(..., K, L, L)`` indexed ``[a, b, c]`` (``K = L`` if omitted).
    """
    O = _check_O(O)
    L = O.shape[-1]
    K = L if K is None else check_int("K", K, low=1, high=L)
    d = _diag(O)
    Oa = O[..., :K, :]                              # (..., K, L): C_a x
    C11 = 1.0 + d[..., :K, None, None]               # (..., K, 1, 1)
    C12 = Oa[..., :, :, None]                        # (..., K, L, 1)  C_ab
    C13 = Oa[..., :, None, :]                        # (..., K, 1, L)  C_ac
    C23 = O[..., None, :, :]                         # (..., 1, L, L)  C_bc
    C33 = 1.0 + d[..., None, None, :]                # (..., 1, 1, L)
    lam3 = C11 * C33 - C13 ** 2
    return _C2 / np.sqrt(lam3) * (C23 * C11 - C12 * C13) / C11


def I4(O, K=None):
    r"""$I_4(a,b,c,d) = \langle g'(h_a) g'(h_b) g(h_c) g(h_d)\rangle$ for ``a, b < K``, all ``c, d``.

    .. math::

        I_4 = \frac{4}{\pi^2}\frac{1}{\sqrt{\Lambda_4}}\arcsin\frac{\Lambda_0}{\sqrt{\Lambda_1\Lambda_2}}

    with $\Lambda_4=(1+C_{aa})(1+C_{bb})-C_{ab}^2$ and $\Lambda_{0,1,2}$ as in
    Saad & Solla (1995). Returns shape ``(..., K, K, L, L)``.
    """
    O = _check_O(O)
    L = O.shape[-1]
    K = L if K is None else check_int("K", K, low=1, high=L)
    d = 1.0 + _diag(O)
    S = O[..., :K, :]                                   # (..., K, L)
    C11 = d[..., :K, None, None, None]
    C22 = d[..., None, :K, None, None]
    C12 = O[..., :K, :K, None, None]
    C13 = S[..., :, None, :, None]
    C14 = S[..., :, None, None, :]
    C23 = S[..., None, :, :, None]
    C24 = S[..., None, :, None, :]
    C33 = d[..., None, None, :, None]
    C44 = d[..., None, None, None, :]
    C34 = O[..., None, None, :, :]
    lam4 = C11 * C22 - C12 ** 2
    lam0 = lam4 * C34 - C23 * C24 * C11 - C13 * C14 * C22 + C12 * C13 * C24 + C12 * C14 * C23
    lam1 = lam4 * C33 - C23 ** 2 * C11 - C13 ** 2 * C22 + 2.0 * C12 * C13 * C23
    lam2 = lam4 * C44 - C24 ** 2 * C11 - C14 ** 2 * C22 + 2.0 * C12 * C14 * C24
    arg = np.clip(lam0 / np.sqrt(lam1 * lam2), -1.0, 1.0)
    return (4.0 / np.pi ** 2) / np.sqrt(lam4) * np.arcsin(arg)


def J2(O, K=None):
    r"""$J_2(a,b) = \langle g'(h_a) g'(h_b)\rangle = \frac{2}{\pi}\big[(1+C_{aa})(1+C_{bb}) - C_{ab}^2\big]^{-1/2}$, shape ``(..., K, K)``."""
    O = _check_O(O)
    K = O.shape[-1] if K is None else check_int("K", K, low=1, high=O.shape[-1])
    d = 1.0 + _diag(O)[..., :K]
    return _C2 / np.sqrt(d[..., :, None] * d[..., None, :] - O[..., :K, :K] ** 2)


def _omega(Q, R, T):
    top = np.concatenate([Q, R], axis=-1)
    bottom = np.concatenate([np.swapaxes(R, -1, -2), np.broadcast_to(T, R.shape[:-2] + T.shape)], axis=-1)
    return np.concatenate([top, bottom], axis=-2)


def generalization_error(Q, R, T, v=None, v_star=None):
    r"""Closed-form $\epsilon_g = \tfrac12\sum_{c,d}s_c s_d I_2(c,d)$, $s=(-v, v^*)$.

    Vectorized over leading axes of ``Q`` (``(..., K, K)``) and ``R`` (``(..., K, M)``);
    ``v`` defaults to ones (soft committee machine), ``v_star`` too.

    Examples
    --------
    >>> T = np.eye(2)
    >>> round(float(generalization_error(T, T, T)), 6)      # student = teacher
    0.0
    >>> round(float(generalization_error(np.zeros((2, 2)), np.zeros((2, 2)), T)), 6)   # 2 <g^2>/2
    0.333333
    """
    Q, R, T = check_array("Q", Q), check_array("R", R), check_array("T", T)
    if Q.ndim < 2 or R.ndim < 2 or T.ndim != 2 or 0 in R.shape[-2:]:
        raise ValueError(f"Q (..., K, K), R (..., K, M), T (M, M) expected; got {Q.shape}, {R.shape}, {T.shape}")
    K, M = R.shape[-2:]
    if Q.shape[-2:] != (K, K) or T.shape != (M, M):
        raise ValueError(f"Q (..., K, K), R (..., K, M), T (M, M) expected; got {Q.shape}, {R.shape}, {T.shape}")
    v = np.ones(Q.shape[:-1]) if v is None else check_array("v", v)
    v_star = np.ones(M) if v_star is None else check_array("v_star", v_star)
    s = np.concatenate([-v, np.broadcast_to(v_star, v.shape[:-1] + (M,))], axis=-1)
    return 0.5 * np.einsum("...c,...cd,...d->...", s, I2(_omega(Q, R, T)), s)


# ----------------------------------------------------------------------------------------------
# initial conditions
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Overlaps(ReadOnlyArrays):
    """Initial order parameters: ``Q`` (K, K), ``R`` (K, M), ``T`` (M, M), second layers ``v`` (K,), ``v_star`` (M,)."""

    Q: np.ndarray
    R: np.ndarray
    T: np.ndarray
    v: np.ndarray
    v_star: np.ndarray

    @property
    def K(self) -> int:
        return self.R.shape[0]

    @property
    def M(self) -> int:
        return self.R.shape[1]

    @property
    def eg(self) -> float:
        return float(generalization_error(self.Q, self.R, self.T, self.v, self.v_star))


def _as_overlaps(init, K, M) -> Overlaps:
    """Validate an ``Overlaps`` or a dict with keys ``Q``, ``R`` (optional ``T``, ``v``, ``v_star``)."""
    if init is None:
        return initial_overlaps(K, M)
    if isinstance(init, Overlaps):
        d = {"Q": init.Q, "R": init.R, "T": init.T, "v": init.v, "v_star": init.v_star}
    elif isinstance(init, dict):
        unknown = set(init) - {"Q", "R", "T", "v", "v_star"}
        if unknown or "Q" not in init or "R" not in init:
            raise ValueError(f"init must be an Overlaps or a dict with keys Q, R (optional T, v, v_star); got keys {sorted(init)}")
        d = dict(init)
    else:
        raise ValueError(f"init must be None, an Overlaps or a dict; got {type(init).__name__}")
    Q = check_array("init['Q']", d["Q"], ndim=2)
    R = check_array("init['R']", d["R"], ndim=2)
    T = check_array("init['T']", d.get("T", np.eye(M)), ndim=2)
    v = check_array("init['v']", d.get("v", np.ones(K)), ndim=1)
    v_star = check_array("init['v_star']", d.get("v_star", np.ones(M)), ndim=1)
    if Q.shape != (K, K) or R.shape != (K, M) or T.shape != (M, M) or v.shape != (K,) or v_star.shape != (M,):
        raise ValueError(f"init shapes must be Q {(K, K)}, R {(K, M)}, T {(M, M)}, v {(K,)}, v_star {(M,)}; "
                         f"got {Q.shape}, {R.shape}, {T.shape}, {v.shape}, {v_star.shape}")
    O = _omega(Q, R, T)
    if not np.allclose(O, O.T, atol=1e-12) or np.linalg.eigvalsh(0.5 * (O + O.T)).min() < -1e-10:
        raise ValueError("init: the overlap matrix [[Q, R], [R^T, T]] must be symmetric positive semi-definite")
    return Overlaps(0.5 * (Q + Q.T), R, 0.5 * (T + T.T), v, v_star)


def initial_overlaps(K: int, M: int, seed: int = 0, q0: float = 0.25, r0: float = 0.01,
                     v0: float = 1.0, v_star=None, T=None) -> Overlaps:
    r"""The default small random initial condition (the same for theory and simulations).

    $Q = q_0 I_K$, $R_{in} = r_0 z_{in}$ with $z_{in}\sim\mathcal N(0,1)$
    drawn from ``seed``, $T = I_M$ (orthonormal teacher) unless given, $v = v_0$,
    $v^* = 1$. These are the statistics of Gaussian student weights of variance
    $q_0$ in dimension $N_{\rm eq} = q_0/r_0^2$ (625 for the defaults): the small
    random $R$ breaks the student-permutation symmetry and sets the plateau length.

    >>> ov = initial_overlaps(2, 2, seed=0)
    >>> ov.Q.tolist(), round(ov.eg, 4)
    ([[0.25, 0.0], [0.0, 0.25]], 0.4585)
    """
    K = check_int("K", K, low=1)
    M = check_int("M", M, low=1)
    check_seed("seed", seed)
    q0 = check_real("q0", q0, low=0.0, low_open=True)
    r0 = check_real("r0", r0, low=0.0)
    v0 = check_real("v0", v0)
    z = np.random.default_rng(seed).standard_normal((K, M))
    init = {"Q": q0 * np.eye(K), "R": r0 * z, "T": np.eye(M) if T is None else T,
            "v": np.full(K, v0), "v_star": np.ones(M) if v_star is None else v_star}
    return _as_overlaps(init, K, M)


def overlaps_of(W, B, v=None, v_star=None) -> Overlaps:
    """The order parameters of given weights ``W`` (K, N), ``B`` (M, N) (norms O(sqrt N))."""
    W = check_array("W", W, ndim=2)
    B = check_array("B", B, ndim=2)
    if W.shape[1] != B.shape[1]:
        raise ValueError(f"W and B must have the same input dimension; got {W.shape} and {B.shape}")
    N = W.shape[1]
    K, M = W.shape[0], B.shape[0]
    return _as_overlaps({"Q": W @ W.T / N, "R": W @ B.T / N, "T": B @ B.T / N,
                         "v": np.ones(K) if v is None else v, "v_star": np.ones(M) if v_star is None else v_star}, K, M)


def realize(init: Overlaps, N: int, seed: int = 0):
    r"""Weights ``W`` (K, N), ``B`` (M, N) whose overlaps are *exactly* those of ``init``.

    Stacks $\Omega^{1/2}$-factor times a random orthonormal frame $U$ ($UU^\top = N I$).
    Since the inputs are isotropic, the law of the SGD dynamics of the overlaps depends on
    the initial weights only through their overlaps: any frame is as good as any other.

    >>> W, B = realize(initial_overlaps(2, 1), N=50)
    >>> bool(np.allclose(W @ B.T / 50, initial_overlaps(2, 1).R))
    True
    """
    if not isinstance(init, Overlaps):
        raise ValueError(f"init must be an Overlaps; got {type(init).__name__}")
    K, M = init.K, init.M
    N = check_int("N", N, low=K + M)
    O = _omega(init.Q, init.R, init.T)
    w, V = np.linalg.eigh(O)
    F = V * np.sqrt(np.clip(w, 0.0, None))           # O = F F^T
    G = np.random.default_rng(seed).standard_normal((N, K + M))
    U, _ = np.linalg.qr(G)                           # (N, L), orthonormal columns
    X = F @ U.T * np.sqrt(N)                         # (L, N): X X^T / N = O
    return X[:K], X[K:]


# ----------------------------------------------------------------------------------------------
# the ODEs
# ----------------------------------------------------------------------------------------------
def _check_O(O):
    O = check_array("O", O)
    if O.ndim < 2 or O.shape[-1] != O.shape[-2] or O.shape[-1] == 0:
        raise ValueError(f"O must be a non-empty square covariance (..., L, L); got shape {O.shape}")
    return O


def rhs(Q, R, T, v, v_star, eta, sigma=0.0, eta_v=0.0):
    r"""Right-hand sides ``(dQ/dt, dR/dt, dv/dt)`` of the order-parameter ODEs (module docstring).

    All index combinations at once: $I_3$ of shape (K, L, L) and $I_4$ of shape
    (K, K, L, L) contracted with $s = (-v, v^*)$ by ``einsum``; ``L = K + M``.
    """
    Q, R, T = check_array("Q", Q, ndim=2), check_array("R", R, ndim=2), check_array("T", T, ndim=2)
    v, v_star = check_array("v", v, ndim=1), check_array("v_star", v_star, ndim=1)
    K, M = R.shape
    if Q.shape != (K, K) or T.shape != (M, M) or v.shape != (K,) or v_star.shape != (M,) or K == 0 or M == 0:
        raise ValueError(f"Q, R, T, v, v_star must have shapes (K, K), (K, M), (M, M), (K,), (M,); got "
                         f"{Q.shape}, {R.shape}, {T.shape}, {v.shape}, {v_star.shape}")
    eta = check_real("eta", eta, low=0.0)
    sigma = check_real("sigma", sigma, low=0.0)
    eta_v = check_real("eta_v", eta_v, low=0.0)
    return _rhs(Q, R, T, v, v_star, eta, sigma, eta_v)


class _FastRHS:
    r"""The right-hand side of :func:`_rhs` for fixed ``(K, M, T, v_star, eta, sigma, eta_v)``, with fewer temporaries.

    Contracts the closed forms with the signs $s$ as they are built instead of forming the
    ``(K, L, L)`` and ``(K, K, L, L)`` arrays of :func:`I3`, :func:`I4` (no argument checks,
    preallocated $\Omega$):

    .. math::

        \sum_c s_c I_3(a,b,c) = d_a\,(W\Omega)_{ab} - \Omega_{ab}\sum_c W_{ac}\Omega_{ac},\qquad
        W_{ac} = \frac{2}{\pi}\frac{s_c}{d_a\sqrt{d_a d_c - \Omega_{ac}^2}},\quad d = 1 + \mathrm{diag}\,\Omega,

    and $\sum_{cd}s_cs_dI_4(a,b,c,d)$ with $\Lambda_1^{-1/2}$ computed once per ``(a, b, c)``.
    Agrees with :func:`_rhs` to round-off (``tests/test_committee.py``); at K = M = 2 it costs
    about a third of it.
    """

    def __init__(self, K, M, T, v_star, eta, sigma=0.0, eta_v=0.0):
        self.K, self.M, self.L = K, M, K + M
        self.O = np.empty((K + M, K + M))
        self.O[K:, K:] = T
        self.v_star = np.asarray(v_star, dtype=np.float64)
        self.eta, self.sigma, self.eta_v = eta, sigma, eta_v
        self.iK = np.arange(K)

    def __call__(self, Q, R, v):
        K, O = self.K, self.O
        O[:K, :K] = Q
        O[:K, K:] = R
        O[K:, :K] = R.T
        s = np.concatenate([-v, self.v_star])
        d = 1.0 + np.diagonal(O)
        A = O[:K]                                              # (K, L)
        da = d[:K]
        # I3 contracted with s over c
        W = (_C2 * s) / (da[:, None] * np.sqrt(da[:, None] * d[None, :] - A * A))
        i3 = da[:, None] * (W @ O) - A * np.sum(W * A, axis=1)[:, None]     # (K, L)
        # I4 contracted with s s over c, d
        Aa = A[:, None, :]                                     # C_ac   (K, 1, L)
        Ab = A[None, :, :]                                     # C_bc   (1, K, L)
        C12 = A[:, :K][:, :, None]                             # C_ab   (K, K, 1)
        d1 = da[:, None, None]
        d2 = da[None, :, None]
        lam4 = d1 * d2 - C12 * C12                             # (K, K, 1)
        lam1 = lam4 * d[None, None, :] - Ab * Ab * d1 - Aa * Aa * d2 + 2.0 * C12 * Aa * Ab   # (K, K, L)
        r1 = 1.0 / np.sqrt(lam1)
        P = Ab * d1 - C12 * Aa                                 # (K, K, L): C_bc C_aa - C_ab C_ac
        Pa = Aa * d2 - C12 * Ab                                # (K, K, L): C_ac C_bb - C_ab C_bc
        # lam0 = lam4 C_cd - C_bd P_abc - C_ad Pa_abc  (the five terms of Saad & Solla)
        lam0 = lam4[..., None] * O[None, None] - P[..., :, None] * Ab[..., None, :] - Pa[..., :, None] * Aa[..., None, :]
        arg = np.clip(lam0 * r1[..., :, None] * r1[..., None, :], -1.0, 1.0)
        i4 = (np.arcsin(arg) @ s) @ s * ((4.0 / np.pi ** 2) / np.sqrt(lam4[..., 0]))
        v = np.asarray(v)
        eta = self.eta
        dR = eta * v[:, None] * i3[:, K:]
        Ai = v[:, None] * i3[:, :K]
        extra = i4
        if self.sigma:
            extra = i4 + self.sigma ** 2 * _C2 / np.sqrt(lam4[..., 0])
        dQ = eta * (Ai + Ai.T) + eta ** 2 * np.outer(v, v) * extra
        dv = self.eta_v * (I2(O)[:K] @ s) if self.eta_v else np.zeros_like(v)
        return dQ, dR, dv


def _rhs(Q, R, T, v, v_star, eta, sigma=0.0, eta_v=0.0):
    K = Q.shape[0]
    O = _omega(Q, R, T)
    s = np.concatenate([-v, v_star])
    i3 = np.einsum("abc,c->ab", I3(O, K), s)          # sum_c s_c I3(a, b, c), shape (K, L)
    i4 = np.einsum("abcd,c,d->ab", I4(O, K), s, s)    # (K, K)
    dR = eta * v[:, None] * i3[:, K:]
    A = v[:, None] * i3[:, :K]                        # A[i, k] = v_i sum_c s_c I3(i, k, c)
    dQ = eta * (A + A.T) + eta ** 2 * np.outer(v, v) * (i4 + sigma ** 2 * J2(O, K))
    dv = eta_v * (I2(O)[:K] @ s) if eta_v else np.zeros_like(v)
    return dQ, dR, dv


@dataclass(frozen=True)
class CommitteeTheory(ReadOnlyArrays):
    """ODE solution (N -> infinity). Arrays over the time grid ``t``: ``eg`` (nt,), ``Q`` (nt, K, K),
    ``R`` (nt, K, M), ``v`` (nt, K); ``T`` (M, M) and ``v_star`` (M,) are fixed."""

    t: np.ndarray
    eg: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    T: np.ndarray
    v: np.ndarray
    v_star: np.ndarray
    K: int
    M: int
    eta: float
    eta_v: float
    sigma: float
    train_second_layer: bool
    wall_time: float


def _check_common(K, M, eta, t, sigma, train_second_layer, eta_v):
    K = check_int("K", K, low=1)
    M = check_int("M", M, low=1)
    eta = check_real("eta", eta, low=0.0, low_open=True)
    t = check_time_grid("t", t)
    sigma = check_real("sigma", sigma, low=0.0)
    if not isinstance(train_second_layer, (bool, np.bool_)):
        raise ValueError(f"train_second_layer must be True or False; got {train_second_layer!r}")
    eta_v = eta if eta_v is None else check_real("eta_v", eta_v, low=0.0, low_open=True)
    return K, M, eta, t, sigma, bool(train_second_layer), (eta_v if train_second_layer else 0.0)


def ode(K: int, M: int, eta: float, t, sigma: float = 0.0, train_second_layer: bool = False,
        init=None, eta_v: float | None = None, dt: float | None = None, method: str = "rk4",
        rtol: float = 1e-9, atol: float = 1e-12) -> CommitteeTheory:
    r"""Integrate the Saad-Solla / Goldt ODEs for $(Q, R, v)$ with RK4 (or adaptive steps) on the grid ``t``.

    Parameters
    ----------
    K, M : int >= 1
        Student and teacher hidden units.
    eta : float > 0
        Learning rate of the first layer: $w_k \mathrel{+}= (\eta/\sqrt N)\,\delta_k x$, i.e.
        plain SGD $w_k \mathrel{-}= \eta\,\partial\ell/\partial w_k$ on weights of norm $O(\sqrt N)$.
    t : increasing 1-D array of training times $t=\mu/N$ (``t[0]`` is the initial time).
    sigma : float >= 0
        Standard deviation of the label noise.
    train_second_layer : bool
        If True, $v$ follows $dv_i/dt = \eta_v\langle g(\lambda_i)(y-\phi)\rangle$.
    init : ``Overlaps``, dict with ``Q``, ``R`` (optional ``T``, ``v``, ``v_star``), or None
        Initial overlaps; None uses :func:`initial_overlaps` ``(K, M, seed=0)``.
    eta_v : float > 0, optional
        Second-layer learning rate (Goldt et al. 2019: $v_k \mathrel{+}= (\eta_v/N) g(\lambda_k)(y-\phi)$); defaults to ``eta``.
    dt : float > 0, optional
        Largest RK4 step (the output grid is subdivided accordingly); default
        $0.2/\max(1, \eta, \eta_v)$, which keeps the relative error of ``eg`` below
        about $10^{-4}$ (checked against ``dt = 0.02``). Only for ``method="rk4"``.
    method : ``"rk4"`` (default: fixed steps) or ``"adaptive"``
        ``"adaptive"`` uses ``scipy.integrate.solve_ivp`` (``DOP853``, an embedded Runge-Kutta
        pair of order 8(5,3) with step-size control) with tolerances ``rtol``, ``atol``; the
        output grid is interpolated by its dense output. It takes long steps on the plateau,
        where the solution barely moves, and short ones at the escape. At ``K = M = 2``,
        $\eta = 0.1$, $t = 3000$ it reproduces the plateau and escape time of a reference run
        to better than $10^{-5}$ relative with the default tolerances, about 20 times faster than
        ``"rk4"`` (``benchmarks/bench_committee.py``). It evaluates the right-hand side with
        ``_FastRHS`` (same closed forms, fewer temporaries, equal to round-off); ``"rk4"`` keeps the
        generic one, whose round-off the stored outputs of the chapters were computed with (a fit of
        ``log eg`` down to $10^{-13}$ in the committee chapter moves in its 4th digit).
    rtol, atol : float > 0
        Tolerances of ``"adaptive"`` (relative, absolute; per component of $(Q, R, v)$).

    Examples
    --------
    >>> th = ode(2, 2, eta=0.5, t=np.linspace(0, 20, 5))
    >>> [round(float(e), 4) for e in th.eg]
    [0.4585, 0.0293, 0.016, 0.0153, 0.0152]
    """
    start = time.perf_counter()
    K, M, eta, t, sigma, train, eta_v = _check_common(K, M, eta, t, sigma, train_second_layer, eta_v)
    dt = 0.2 / max(1.0, eta, eta_v) if dt is None else check_real("dt", dt, low=0.0, low_open=True)
    method = check_choice("method", method, ("rk4", "adaptive"))
    rtol = check_real("rtol", rtol, low=1e-14, high=1e-2)
    atol = check_real("atol", atol, low=1e-16, high=1e-2)
    ov = _as_overlaps(init, K, M)
    T, v_star = ov.T, ov.v_star
    nQ, nR = K * K, K * M
    if method == "adaptive":
        rhs_fn = _FastRHS(K, M, T, v_star, eta, sigma, eta_v)
    else:   # the generic right-hand side: "rk4" reproduces the stored outputs of the chapters digit for digit
        def rhs_fn(Q, R, v):
            return _rhs(Q, R, T, v, v_star, eta, sigma, eta_v)

    def f(_, y):
        dQ, dR, dv = rhs_fn(y[:nQ].reshape(K, K), y[nQ:nQ + nR].reshape(K, M), y[nQ + nR:])
        return np.concatenate([dQ.ravel(), dR.ravel(), dv])

    y0 = np.concatenate([ov.Q.ravel(), ov.R.ravel(), ov.v])
    if method == "adaptive":
        ys = _integrate_adaptive(f, y0, t, rtol, atol, K + M)
    else:
        substeps = max(1, int(np.ceil(np.max(np.diff(t)) / dt - 1e-9)))
        check_budget("RK4 steps (about 0.2 / eta per unit time)", float(substeps) * (t.size - 1), limit=2e6)
        ys = integrate(f, y0, t, method="rk4", substeps=substeps)
    Q = ys[:, :nQ].reshape(-1, K, K)
    R = ys[:, nQ:nQ + nR].reshape(-1, K, M)
    v = ys[:, nQ + nR:]
    eg = generalization_error(Q, R, T, v, v_star)
    return CommitteeTheory(t, eg, Q, R, T, v, v_star, K, M, eta, eta_v, sigma, train, time.perf_counter() - start)


def _integrate_adaptive(f, y0, t, rtol, atol, L):
    """``solve_ivp`` (DOP853) on ``[t[0], t[-1]]`` with output on ``t``; refuses runs that cannot finish."""
    from scipy.integrate import solve_ivp
    # the step is at least ~ 1e-3 / eta on the plateau; budget on the number of right-hand sides of size L^4
    check_budget("time span x (K + M)^4", float(t[-1] - t[0]) * L ** 4, limit=1e10)
    sol = solve_ivp(f, (float(t[0]), float(t[-1])), y0, method="DOP853", t_eval=t, rtol=rtol, atol=atol)
    if sol.status != 0 or not np.all(np.isfinite(sol.y)) or sol.y.shape[1] != t.size:
        raise ValueError(f"the adaptive integration failed ({sol.message}); the solution stopped being finite "
                         f"or the step became too small: check the parameters")
    return sol.y.T


# ----------------------------------------------------------------------------------------------
# simulation
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CommitteeSimulation(ReadOnlyArrays):
    """Online SGD at finite N, averaged over seeds (same field names as :class:`CommitteeTheory`).

    ``eg``, ``Q``, ``R``, ``v`` are means over seeds with standard errors ``*_sem``; ``eg_seeds``
    (n_seeds, nt) keeps every run. All seeds start from the same weights (overlaps ``init``)
    and differ in their stream of samples."""

    t: np.ndarray
    eg: np.ndarray
    eg_sem: np.ndarray
    eg_seeds: np.ndarray
    Q: np.ndarray
    Q_sem: np.ndarray
    R: np.ndarray
    R_sem: np.ndarray
    T: np.ndarray
    v: np.ndarray
    v_sem: np.ndarray
    v_star: np.ndarray
    N: int
    n_seeds: int
    K: int
    M: int
    eta: float
    eta_v: float
    sigma: float
    train_second_layer: bool
    init: Any
    wall_time: float


def simulate(N: int, K: int, M: int, eta: float, t, seeds, sigma: float = 0.0,
             train_second_layer: bool = False, init=None, eta_v: float | None = None,
             init_seed: int = 0, chunk: int = 256) -> CommitteeSimulation:
    r"""Online SGD of a soft committee machine at input dimension ``N``, vectorized over seeds.

    State ``W`` of shape (n_seeds, K, N); one fresh Gaussian sample per step and seed;
    ``round(t * N)`` steps (``t`` = training time, multiples of $1/N$). The teacher and the
    initial student are realized with exactly the overlaps ``init`` (see :func:`realize`,
    frame drawn from ``init_seed``), so the ODE started at ``init`` is the matching theory.
    The generalization error is evaluated in closed form from the weights' overlaps (no test set).
    Each seed has its own random stream (``numpy.random.default_rng(seed)``).

    Examples
    --------
    >>> sim = simulate(100, 2, 2, eta=0.5, t=[0.0, 1.0], seeds=[0, 1])
    >>> sim.eg.shape, sim.n_seeds, round(float(sim.eg[0]), 4)
    ((2,), 2, 0.4585)
    """
    start = time.perf_counter()
    K, M, eta, t, sigma, train, eta_v = _check_common(K, M, eta, t, sigma, train_second_layer, eta_v)
    N = check_int("N", N, low=K + M)
    seeds = [check_int("seeds", s, low=0) for s in np.atleast_1d(np.asarray(seeds, dtype=object)).tolist()]
    if len(seeds) < 2:
        raise ValueError(f"seeds must hold at least 2 seeds (for a standard error); got {len(seeds)}")
    chunk = check_int("chunk", chunk, low=1)
    ov = _as_overlaps(init, K, M)
    W0, B = realize(ov, N, seed=check_seed("init_seed", init_seed))
    S = len(seeds)
    steps = np.rint(t * N).astype(np.int64)
    if np.any(np.diff(steps) <= 0):
        raise ValueError(f"t must be spaced by at least 1/N = {1.0 / N:g} so that record steps are distinct")
    W = np.broadcast_to(W0, (S, K, N)).copy()
    v = np.broadcast_to(ov.v, (S, K)).copy()
    v_star = ov.v_star
    rngs = [np.random.default_rng(s) for s in seeds]
    sqN = np.sqrt(N)
    nt = t.size
    Qs = np.empty((nt, S, K, K))
    Rs = np.empty((nt, S, K, M))
    vs = np.empty((nt, S, K))

    def record(j):
        Qs[j] = np.einsum("skn,sln->skl", W, W) / N
        Rs[j] = np.einsum("skn,mn->skm", W, B) / N
        vs[j] = v

    from scipy.special import erf
    mu, j = 0, 0
    while steps[j] < mu:          # record times before the start (t[0] < 0 impossible; kept for clarity)
        j += 1
    if steps[0] == 0:
        record(0)
        j = 1
    total = int(steps[-1])
    gp_c, inv_sq2 = np.sqrt(_C2), 1.0 / _SQ2
    buf = np.empty((S, K, N))
    while mu < total:
        n = min(chunk, total - mu)
        # per-seed streams: (n, S, N + 1); last column is the label noise
        Z = np.stack([r.standard_normal((n, N + 1)) for r in rngs], axis=1)
        # everything that does not depend on the student, for the whole chunk at once (one BLAS call):
        # the inputs x / sqrt(N) and the teacher's labels y = g(B x / sqrt(N)) . v* + sigma z
        xs = Z[:, :, :N] / sqN                                                  # (n, S, N)
        y = erf(np.matmul(xs, B.T) * inv_sq2) @ v_star + sigma * Z[:, :, N]     # (n, S)
        for b in range(n):        # the step itself: few calls on (S, K) arrays (Python overhead bound)
            x = xs[b]
            lam = np.matmul(W, x[:, :, None])[:, :, 0]                          # (S, K)
            gl = erf(lam * inv_sq2)
            err = y[b] - (v * gl).sum(axis=1)                                   # y - phi
            delta = (gp_c * eta) * v * np.exp(-0.5 * lam * lam) * err[:, None]  # eta g'(lam) v err
            np.multiply(delta[:, :, None], x[:, None, :], out=buf)
            W += buf
            if train:
                v += (eta_v / N) * gl * err[:, None]
            mu += 1
            if j < nt and mu == steps[j]:
                record(j)
                j += 1
    T = ov.T
    egs = generalization_error(Qs, Rs, T, vs, v_star).T          # (S, nt)
    eg, eg_sem = mean_sem(egs, axis=0)
    Q, Q_sem = mean_sem(Qs, axis=1)
    R, R_sem = mean_sem(Rs, axis=1)
    vm, v_sem = mean_sem(vs, axis=1)
    return CommitteeSimulation(t, eg, eg_sem, egs, Q, Q_sem, R, R_sem, T, vm, v_sem, v_star, N, S, K, M,
                               eta, eta_v, sigma, train, ov, time.perf_counter() - start)


_ARRAYS = ("t", "eg", "eg_sem", "eg_seeds", "Q", "Q_sem", "R", "R_sem", "T", "v", "v_sem", "v_star")
_SCALARS = ("N", "n_seeds", "K", "M", "eta", "eta_v", "sigma", "train_second_layer")


def save_simulations(path, **sims) -> None:
    """Save named :class:`CommitteeSimulation` results (and their initial overlaps) to one ``.npz``."""
    out = {}
    for name, sim in sims.items():
        if not isinstance(sim, CommitteeSimulation):
            raise ValueError(f"{name} must be a CommitteeSimulation; got {type(sim).__name__}")
        for f in _ARRAYS + _SCALARS:
            out[f"{name}/{f}"] = np.asarray(getattr(sim, f))
        for f in ("Q", "R", "T", "v", "v_star"):
            out[f"{name}/init_{f}"] = getattr(sim.init, f)
        out[f"{name}/wall_time"] = np.asarray(sim.wall_time)
    np.savez_compressed(path, **out)


def load_simulations(path) -> dict:
    """Read a file written by :func:`save_simulations`: a dict name -> :class:`CommitteeSimulation`."""
    with np.load(path) as z:
        names = sorted({k.split("/")[0] for k in z.files})
        res = {}
        for n in names:
            kw = {f: z[f"{n}/{f}"] for f in _ARRAYS}
            for f in _SCALARS:
                kw[f] = z[f"{n}/{f}"].item()
            kw["init"] = Overlaps(*(z[f"{n}/init_{f}"] for f in ("Q", "R", "T", "v", "v_star")))
            kw["wall_time"] = float(z[f"{n}/wall_time"])
            res[n] = CommitteeSimulation(**kw)
    return res


# ----------------------------------------------------------------------------------------------
# the symmetric plateau
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plateau(ReadOnlyArrays):
    r"""The symmetric (unspecialized) fixed point for $K=M$, $T=I$, $v=v^*=1$:
    $Q_{ii}=Q$, $Q_{i\neq k}=C$, $R_{in}=R$; its ``eg`` and the ``escape_rate``
    (largest real part of the eigenvalues of the full ODE's Jacobian there: perturbations that
    break the symmetry grow as $e^{\text{rate}\, t}$)."""

    K: int
    eta: float
    Q: float
    C: float
    R: float
    eg: float
    escape_rate: float
    residuals: np.ndarray
    n_iter: int
    converged: bool
    wall_time: float


def plateau_small_eta(K: int):
    r"""Closed form of the plateau for $\eta\to0$ (Saad & Solla 1995), $K = M$, $T = I$:

    .. math:: &Q = C = \frac{1}{2K-1},\quad R = \frac{1}{\sqrt{K(2K-1)}},\\
              &\epsilon_g^{\rm pl} = \frac{K}{\pi}\Big[\frac{\pi}{6} - K\arcsin\frac{1}{2K}\Big].

    Returns ``(Q, C, R, eg)``.

    >>> [round(x, 6) for x in plateau_small_eta(2)]
    [0.333333, 0.333333, 0.408248, 0.011611]
    """
    K = check_int("K", K, low=1)
    Q = 1.0 / (2 * K - 1)
    return Q, Q, float(np.sqrt(1.0 / (K * (2 * K - 1)))), float(K / np.pi * (np.pi / 6 - K * np.arcsin(1.0 / (2 * K))))


def _sym_mats(x, K):
    Q, C, R = x
    return C * np.ones((K, K)) + (Q - C) * np.eye(K), R * np.ones((K, K))


def plateau(K: int, eta: float, sigma: float = 0.0, tol: float = 1e-12, max_iter: int = 100,
            damping: float = 0.0) -> Plateau:
    r"""Find the symmetric plateau fixed point of the ODEs (K = M, T = I, v = v* = 1) at learning rate ``eta``.

    Solves $F(Q, C, R) = 0$ for the right-hand sides restricted to the symmetric subspace
    with the Newton map $x\mapsto x - J^{-1}F(x)$ (Jacobian $J$ by central
    differences) iterated by :func:`dmftlib.core.damped_fixed_point`. The symmetric subspace
    holds two fixed points at $\eta > 0$: one on the invariant line $Q = C$ (all
    students identical), unstable at finite $\eta$ because SGD noise diversifies the
    students, and the plateau the dynamics reaches, with $Q > C$; both merge into the
    closed form :func:`plateau_small_eta` as $\eta\to0$. Newton is started at the
    diversified point $(Q_0+0.1,\ C_0-0.05,\ R_0)$ and finds the latter for moderate
    $\eta$. Raises ``ConvergenceError`` if the Newton step does not fall below ``tol`` in
    ``max_iter`` iterations or lands outside the physical (PSD) region.

    >>> p = plateau(2, eta=0.01)
    >>> round(p.eg, 5), round(p.Q, 4), round(p.escape_rate, 5)
    (0.01166, 0.3339, 0.00066)
    """
    start = time.perf_counter()
    K = check_int("K", K, low=1)
    eta = check_real("eta", eta, low=0.0, low_open=True)
    sigma = check_real("sigma", sigma, low=0.0)
    T, ones = np.eye(K), np.ones(K)

    def Fsym(x):
        Q, R = _sym_mats(x, K)
        dQ, dR, _ = _rhs(Q, R, T, ones, ones, eta, sigma)
        return np.array([dQ[0, 0], dQ[0, 1] if K > 1 else 0.0, dR[0, 0]])

    def newton(x, eps=1e-7):
        f0 = Fsym(x)
        J = np.stack([(Fsym(x + e) - Fsym(x - e)) / (2 * eps) for e in np.eye(3) * eps], axis=1)
        if K == 1:                      # no C for a single unit: keep it equal to Q
            J[1] = [-1.0, 1.0, 0.0]
            f0[1] = x[1] - x[0]
        return x - np.linalg.solve(J, f0)

    q, c, r, _ = plateau_small_eta(K)
    x0 = np.array([q + 0.1, c - 0.05, r]) if K > 1 else np.array([q, c, r])
    res = damped_fixed_point(newton, x0, damping=damping, tol=tol, max_iter=max_iter)
    Q, C, R = (float(a) for a in res.x)
    Qm, Rm = _sym_mats(res.x, K)
    if np.linalg.eigvalsh(_omega(Qm, Rm, T)).min() < -1e-10:
        raise ConvergenceError(f"plateau: Newton converged to a non-physical point (Q, C, R) = ({Q:.4g}, {C:.4g}, {R:.4g}) "
                               f"whose overlap matrix is not positive semi-definite; eta = {eta:g} is too large", res.residuals)
    rate = _escape_rate(Qm, Rm, eta, sigma)
    eg = float(generalization_error(Qm, Rm, T))
    return Plateau(K, eta, Q, C, R, eg, rate, res.residuals, res.n_iter, res.converged, time.perf_counter() - start)


def _escape_rate(Q, R, eta, sigma, eps=1e-6):
    """Largest real part of the eigenvalues of the (Q, R) ODE Jacobian (finite differences)."""
    K, M = R.shape
    T, ones_k, ones_m = np.eye(M), np.ones(K), np.ones(M)
    iu = np.triu_indices(K)

    def f(y):
        Qm = np.zeros((K, K))
        Qm[iu] = y[:iu[0].size]
        Qm = Qm + np.triu(Qm, 1).T
        dQ, dR, _ = _rhs(Qm, y[iu[0].size:].reshape(K, M), T, ones_k, ones_m, eta, sigma)
        return np.concatenate([dQ[iu], dR.ravel()])

    y0 = np.concatenate([Q[iu], R.ravel()])
    E = np.eye(y0.size) * eps
    Jac = np.stack([(f(y0 + e) - f(y0 - e)) / (2 * eps) for e in E], axis=1)
    return float(np.linalg.eigvals(Jac).real.max())


# ----------------------------------------------------------------------------------------------
# plots
# ----------------------------------------------------------------------------------------------
def plot_learning_curve(theory, sims=(), ax=None, every: int = 1, logy: bool = True):
    """Generalization error of an ODE solution (line) and of simulations (markers with error bars)."""
    from .plotting import new_figure, plot_simulation, plot_theory
    for name, r in [("theory", theory)] + [(f"sims[{i}]", s) for i, s in enumerate(sims)]:
        if not (hasattr(r, "t") and hasattr(r, "eg")):
            raise TypeError(f"{name} must be a CommitteeTheory or CommitteeSimulation (with fields t, eg); "
                            f"got {type(r).__name__}")
    if ax is None:
        _, ax = new_figure()
    plot_theory(ax, theory.t, theory.eg, color="k")
    for sim in sims:
        plot_simulation(ax, sim.t, sim.eg, sim.eg_sem, N=sim.N, n_seeds=sim.n_seeds, every=every)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("training time $t = \\mu/N$")
    ax.set_ylabel("generalization error $\\epsilon_g$")
    ax.legend()
    return ax


def plot_widget(eta: float = 0.5, K: int = 2, sigma: float = 0.0, M: int = 2, t_max: float = 300.0,
                train_second_layer: bool = False, ax=None):
    """Learning curve of the ODE for the widget: eta, K (vs M = 2) and label noise sigma.

    The plateau of the noiseless small-eta K = M theory is drawn as a dotted line for scale.
    """
    from .plotting import new_figure, plot_theory
    t_max = check_real("t_max", t_max, low=0.0, low_open=True, high=1e4)
    if ax is None:
        _, ax = new_figure()
    t = np.linspace(0.0, t_max, 301)
    th = ode(K, M, eta, t, sigma=sigma, train_second_layer=train_second_layer, dt=0.1)
    plot_theory(ax, t, th.eg, label=f"ODE, K = {K}, M = {M}, η = {eta:g}, σ = {sigma:g}", color="k")
    ax.axhline(plateau_small_eta(M)[3], ls=":", color="gray", label="K = M plateau, η → 0")
    ax.set_yscale("log")
    ax.set_ylim(1e-5, 1.0)
    ax.set_xlabel("training time $t = \\mu/N$")
    ax.set_ylabel("$\\epsilon_g$")
    ax.legend(loc="upper right")
    return ax


check_public(globals())
