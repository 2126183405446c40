"""Precompute the finite-N random-network simulations of the chapter "Chaos in random recurrent networks".

Writes ``book/data/rnn_sim.npz``. Run from the repository root:

    OMP_NUM_THREADS=1 .venv/bin/python book/data/rnn_make.py

About 5 minutes on one core. ``tests/test_rnn.py`` re-creates a small instance with the same function.
"""
from pathlib import Path

import numpy as np

from dmftlib import rnn

G_MAIN = 2.0
SIZES = [(500, 8), (1000, 4), (2000, 4), (4000, 2)]
G_SWEEP = [0.6, 0.9, 1.1, 1.3, 1.5, 2.0, 2.5, 3.0]
N_SWEEP, SEEDS_SWEEP = 1000, 4
COMMON = dict(t_burn=40.0, t_record=60.0, dt=0.1, tau_max=15.0)


def main(out=Path(__file__).with_name("rnn_sim.npz")):
    data = {"g_main": G_MAIN, "sizes": np.array([n for n, _ in SIZES]), "n_seeds": np.array([s for _, s in SIZES])}
    for N, n_seeds in SIZES:
        sim = rnn.simulate(N, G_MAIN, seeds=n_seeds, **COMMON)
        data[f"delta0_seeds_{N}"] = sim.delta0_seeds
        data[f"delta_{N}"] = sim.delta
        data[f"delta_sem_{N}"] = sim.delta_sem
        data["tau"] = sim.tau
        if N == 1000:
            data["t_trace"], data["x_trace"] = sim.t_trace, sim.x_trace
        print(N, sim.delta0, sim.delta0_sem, f"wall time: {sim.wall_time:.1f} s", flush=True)
    d0 = np.empty((len(G_SWEEP), SEEDS_SWEEP))
    for i, g in enumerate(G_SWEEP):
        d0[i] = rnn.simulate(N_SWEEP, g, seeds=SEEDS_SWEEP, **{**COMMON, "t_record": 40.0}).delta0_seeds
        print(g, d0[i].mean(), flush=True)
    data.update(g_sweep=np.array(G_SWEEP), delta0_sweep=d0, N_sweep=N_SWEEP)
    np.savez_compressed(out, **data)


if __name__ == "__main__":
    main()
