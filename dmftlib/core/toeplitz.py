r"""Causal (lower-triangular) Toeplitz quadrature operators and a fast Stein solver.

A time-translation-invariant kernel $K(t-s)$ integrated with the trapezoid rule on a uniform
grid, $(\mathcal K f)(t_i) = \int_0^{t_i}K(t_i-s)f(s)\,ds$, is the ``(n, n)`` matrix
``K * causal_weights(n, dt)``: lower Toeplitz except for its column 0 (the half weight of the
end point $s = 0$). :class:`CausalToeplitz` stores such a matrix as two vectors,

    ``X[i, j] = c[i - j]`` for ``1 <= j <= i``,  ``X[i, 0] = u[i]``,  ``X[i, j] = 0`` for ``j > i``,

and the set is closed under products (``(X Y)`` has Toeplitz part ``c_X * c_Y`` truncated and
column 0 ``X u_Y``). Applying ``X`` to ``m`` vectors costs $O(m\,n\log n)$ by FFT convolution
(zero-padded to at least ``2n``, so no wrap-around), a product of two operators $O(n\log n)$,
instead of $O(m n^2)$ and $O(n^3)$ for dense matrices. FFT round-off is relative to the largest
entries (an absolute error of order $10^{-16}\,\|c\|_1\max|f|$), like a dense product.

:func:`stein_factored` sums the series $C = \sum_{k\ge0}A^kS(A^\top)^k$ of the Stein equation
$C = S + ACA^\top$ for a low-rank $S = GG^\top$ and a :class:`CausalToeplitz` ``A`` with the same
doubling schedule and stopping rule as :func:`dmftlib.linear.stein_doubling` (so the same terms
are summed), but keeps $C = FF^\top$ in factored form, ``F = [G, AG, A^2G, ...]``, as long as the
rank stays below ``max_rank``; then it continues with doubling steps $C\leftarrow C+BCB^\top$,
$B\leftarrow B^2$ whose two-sided products are FFT convolutions ($O(n^2\log n)$).
"""
from __future__ import annotations

import numpy as np
import scipy.fft as sfft

from .errors import ConvergenceError
from .validation import check_array, check_int, check_public, check_real

__all__ = ["CausalToeplitz", "stein_factored"]


class CausalToeplitz:
    """Lower-triangular Toeplitz matrix with a free column 0 (see the module docstring).

    Parameters
    ----------
    c : (n,) array, the Toeplitz part (``c[0]`` on the diagonal of columns ``1..n-1``).
    u : (n,) array, column 0 (``u[0]`` is the corner entry); default ``c`` (a plain Toeplitz matrix).

    Examples
    --------
    >>> X = CausalToeplitz.from_kernel(np.exp(-np.arange(4) * 0.5), 0.5)
    >>> W = np.tril(np.full((4, 4), 0.5)); W[:, 0] = W[np.diag_indices(4)] = 0.25; W[0, 0] = 0
    >>> K = np.tril(np.exp(-0.5 * np.abs(np.subtract.outer(np.arange(4), np.arange(4)))))
    >>> bool(np.allclose(X.dense(), K * W)), bool(np.allclose((X @ X).dense(), (K * W) @ (K * W)))
    (True, True)
    """

    __slots__ = ("c", "u", "n", "_L", "_cf")

    def __init__(self, c, u=None):
        c = check_array("c", c, ndim=1)
        u = c if u is None else check_array("u", u, ndim=1)
        if c.size < 1 or u.shape != c.shape:
            raise ValueError(f"c and u must be non-empty 1-D arrays of the same length; got {c.shape}, {u.shape}")
        self.c, self.u, self.n = c, u, c.size
        self._L = sfft.next_fast_len(2 * self.n, real=True)
        self._cf = None

    @classmethod
    def from_kernel(cls, k, dt, identity: float = 0.0):
        r"""``identity * I + K * causal_weights(n, dt)`` for the kernel values ``k[m] = K(m dt)``."""
        k = check_array("k", k, ndim=1)
        dt = check_real("dt", dt, low=0.0, low_open=True)
        identity = check_real("identity", identity)
        c = dt * k
        c[0] = 0.5 * dt * k[0] + identity
        u = 0.5 * dt * k
        u[0] = identity
        return cls(c, u)

    def dense(self) -> np.ndarray:
        """The ``(n, n)`` matrix."""
        n = self.n
        idx = np.arange(n)[:, None] - np.arange(n)[None, :]
        X = np.where(idx >= 0, self.c[np.clip(idx, 0, None)], 0.0)
        X[:, 0] = self.u
        return X

    def _spectrum(self):
        if self._cf is None:
            self._cf = sfft.rfft(self.c, self._L)
        return self._cf

    def apply(self, X, axis: int = 0) -> np.ndarray:
        """``self @ X`` along ``axis`` of ``X`` (``axis=1`` gives ``X @ self.T``); ``X.shape[axis] == n``."""
        X = np.asarray(X, dtype=np.float64)
        if X.shape[axis] != self.n:
            raise ValueError(f"X must have length {self.n} along axis {axis}; got shape {X.shape}")
        Xm = np.moveaxis(X, axis, 0)
        shape = (self.n,) + (1,) * (Xm.ndim - 1)
        Y = sfft.irfft(self._spectrum().reshape((-1,) + shape[1:]) * sfft.rfft(Xm, self._L, axis=0),
                       self._L, axis=0)[:self.n]
        Y += (self.u - self.c).reshape(shape) * Xm[:1]
        return np.moveaxis(Y, 0, axis)

    def congruence(self, X) -> np.ndarray:
        """``self @ X @ self.T`` for an ``(n, n)`` array ``X``."""
        return self.apply(self.apply(X, axis=0), axis=1)

    def __matmul__(self, other: "CausalToeplitz") -> "CausalToeplitz":
        if not isinstance(other, CausalToeplitz) or other.n != self.n:
            return NotImplemented
        c = sfft.irfft(self._spectrum() * other._spectrum(), self._L)[:self.n]
        return CausalToeplitz(c, self.apply(other.u))

    def scaled(self, a: float) -> "CausalToeplitz":
        """``a * self``."""
        return CausalToeplitz(a * self.c, a * self.u)


def stein_factored(A: CausalToeplitz, G, tol: float = 1e-12, max_doublings: int = 40,
                   divergence: float = 1e10, max_rank: int | None = None):
    r"""Solve $C = GG^\top + ACA^\top$ for a causal Toeplitz ``A`` (see the module docstring).

    The terms are summed in the chunks of the doubling iteration: step ``k`` adds the terms
    $2^{k-1}\le j<2^k$ (step 1 adds $j = 1$), and the iteration stops when the added chunk is
    below ``tol * max|C|`` (both measured on the diagonal, which holds the largest entry of a
    PSD matrix), exactly as :func:`dmftlib.linear.stein_doubling`.

    Returns
    -------
    C : (n, n) array (symmetric, PSD up to round-off)
    residuals : list of float, relative size of the chunk added at each step
    n_iter : int, number of doubling steps
    F : (n, r) array with ``C = F @ F.T``, or None if the rank exceeded ``max_rank``

    Raises
    ------
    ConvergenceError
        No convergence within ``max_doublings`` steps, or divergence.

    Examples
    --------
    >>> A = CausalToeplitz(np.array([0.5, 0.3, 0.1]))
    >>> C, res, k, F = stein_factored(A, np.eye(3)[:, :1])
    >>> Ad = A.dense(); bool(np.allclose(C, np.outer([1, 0, 0], [1, 0, 0]) + Ad @ C @ Ad.T)), k
    (True, 6)
    """
    if not isinstance(A, CausalToeplitz):
        raise ValueError(f"A must be a CausalToeplitz operator; got {type(A).__name__}")
    G = check_array("G", G, ndim=2)
    n = A.n
    if G.shape[0] != n or G.shape[1] < 1:
        raise ValueError(f"G must have shape ({n}, r) with r >= 1; got {G.shape}")
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_doublings = check_int("max_doublings", max_doublings, low=1)
    divergence = check_real("divergence", divergence, low=0.0, low_open=True)
    max_rank = max(256, n // 2) if max_rank is None else check_int("max_rank", max_rank, low=1)
    r = G.shape[1]
    blocks = [G]
    diag = np.einsum("ij,ij->i", G, G)
    residuals = []
    C = None
    B = A                       # A^(2^(k-1)) at step k
    for k in range(1, max_doublings + 1):
        scale = max(diag.max(), 1e-300)
        if C is None and (2 ** k) * r <= max_rank:
            # chunk j = 2^(k-1) .. 2^k - 1: A^(2^(k-1)) [G, AG, ..., A^(2^(k-1)-1) G]
            V = B.apply(np.hstack(blocks))
            d_add = np.einsum("ij,ij->i", V, V)
            blocks.append(V)
            diag = diag + d_add
            add = float(d_add.max())
        else:
            if C is None:
                F = np.hstack(blocks)
                C = F @ F.T
            term = B.congruence(C)
            add = float(np.abs(term).max())
            C = C + term
            diag = np.diag(C).copy()
        res = add / scale
        residuals.append(res)
        if not np.all(np.isfinite(diag)) or np.abs(diag).max() > divergence:
            raise ConvergenceError(f"Stein series diverged at doubling {k} "
                                   f"(max |C| > divergence={divergence:g})", residuals)
        if res < tol:
            if C is None:
                F = np.hstack(blocks)
                C = F @ F.T
                if not np.all(np.isfinite(C)) or np.abs(C).max() > divergence:
                    raise ConvergenceError(f"Stein series diverged at doubling {k} "
                                           f"(max |C| > divergence={divergence:g})", residuals)
                return C, residuals, k, F
            return C, residuals, k, None
        B = B @ B
    raise ConvergenceError(f"Stein series did not reach tol={tol:g} in "
                           f"max_doublings={max_doublings} (sum of 2^{max_doublings} terms)", residuals)


check_public(globals())
