r"""Deterministic reference for the sampling DMFT of the random tanh network (Euler scheme, no sampling).

The sampling solver (``dmftlib.rnn.sampling_dmft``) integrates $x_{k+1} = (1-\Delta t)x_k + \Delta t\,\eta_k$
with $\langle\eta_k\eta_l\rangle = K_{kl} = g^2\,\mathbb E[\tanh x_k \tanh x_l]$ and $x_0\sim\mathcal N(0, q_0)$:
its exact $N\to\infty$ answer, without Monte Carlo noise and without the $O(\Delta t)$ difference from the
continuous-time equations (``dmftlib.cavity.theory``), is the Gaussian process marched row by row:

.. math::

    Z_{k,0} = 0,\quad Z_{k,l+1} = (1-\Delta t)Z_{k,l} + \Delta t\,K_{kl}\ \ (Z_{kl} = \langle\eta_k x_l\rangle),\qquad
    C_{k+1,l} = (1-\Delta t)C_{kl} + \Delta t\,Z_{kl},

    C_{k+1,k+1} = (1-\Delta t)^2 C_{kk} + 2\Delta t(1-\Delta t)Z_{kk} + \Delta t^2 K_{kk},

with $K_{kl}$ from $C_{kk}, C_{ll}, C_{kl}$ by Gauss-Hermite quadrature (``dmftlib.core.expect2``, 60 nodes per
axis: $C(20, 20)$ changes by $4\cdot10^{-8}$ relative from 60 to 100 nodes). One pass, $O(n^2)$ quadratures.
"""
import numpy as np

from dmftlib.core import expect2


def euler_reference(g=2.0, t_max=20.0, n_t=201, q0=1.0, n_quad=60):
    """The exact two-time ``C`` (``(n_t, n_t)``) of the Euler-discretized DMFT of the random tanh network."""
    n, dt = n_t, t_max / (n_t - 1)
    a = 1.0 - dt
    C = np.zeros((n, n))
    C[0, 0] = q0
    e = np.arange(n)[:, None] - 1 - np.arange(n)[None, :]
    B = np.where(e >= 0, a ** np.clip(e, 0, None), 0.0)
    for k in range(n - 1):
        d = np.diag(C)[:k + 1]
        bound = np.sqrt(d[k] * d)
        Kr = g**2 * expect2(np.tanh, np.tanh, np.full(k + 1, d[k]), d, np.clip(C[k, :k + 1], -bound, bound), n=n_quad)
        Z = dt * (B[:k + 2, :k + 1] @ Kr)
        row = a * C[k, :k + 1] + dt * Z[:k + 1]
        C[k + 1, :k + 1] = row
        C[:k + 1, k + 1] = row
        C[k + 1, k + 1] = a * a * C[k, k] + 2 * dt * a * Z[k] + dt * dt * Kr[k]
    return C
