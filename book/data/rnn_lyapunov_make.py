"""Precompute the Lyapunov exponents of finite random networks (chapter "Chaos in random recurrent networks").

Writes ``book/data/rnn_lyapunov.npz``: ``rnn.lyapunov_simulate`` (tangent dynamics, RK4, dt = 0.1,
burn-in 50, measured over 100 time units) on a grid of g for N = 100 (16 seeds) and N = 300
(6 seeds), and at g = 2 for N = 1000 (2 seeds). Run from the repository root:

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python book/data/rnn_lyapunov_make.py

About 2 minutes of CPU. ``tests/test_rnn.py`` re-creates a small instance with ``sweep``.
"""
from pathlib import Path

import numpy as np

from dmftlib import rnn

G_GRID = [0.6, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.5, 2.0, 2.5, 3.0]
SIZES = {100: 16, 300: 6}
COMMON = dict(t_burn=50.0, t_run=100.0, dt=0.1)


def sweep(N, n_seeds, g_grid=G_GRID, **kw):
    """Lyapunov exponents per seed, shape (len(g_grid), n_seeds), and Delta0 per seed."""
    sims = [rnn.lyapunov_simulate(N, g, seeds=n_seeds, **{**COMMON, **kw}) for g in g_grid]
    return np.array([s.lyap_seeds for s in sims]), np.array([s.delta0_seeds for s in sims])


def main(out=Path(__file__).with_name("rnn_lyapunov.npz")):
    data = {"g_grid": np.array(G_GRID), "sizes": np.array(list(SIZES))}
    for N, n in SIZES.items():
        data[f"lyap_{N}"], data[f"delta0_{N}"] = sweep(N, n)
        print(N, data[f"lyap_{N}"].mean(1).round(3), flush=True)
    big = rnn.lyapunov_simulate(1000, 2.0, seeds=2, **COMMON)
    data["lyap_1000_g2"] = big.lyap_seeds
    np.savez_compressed(out, **data)


if __name__ == "__main__":
    main()
