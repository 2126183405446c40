"""Precompute the long finite-N records of the chapter "Chaos in random recurrent networks".

Writes ``book/data/rnn_sim.npz``: ``rnn.simulate`` at g = 2 for N = 250 and 500 with 16
networks each (seeds 0..15: seed s draws J and x(0) from numpy.random.default_rng([s, N])), RK4 with
dt = 0.1, 50 time units of burn-in and a record of 1000 time units, Delta(tau) up to tau = 15.
Run from the repository root:

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python book/data/rnn_make.py

About 3 minutes of CPU (memory: 0.7 GB for the N = 500 record). ``tests/test_rnn.py`` re-creates a small instance with the same function.
"""
from pathlib import Path

import numpy as np

from dmftlib import rnn

G_MAIN = 2.0
SIZES = [(250, 16), (500, 16)]
COMMON = dict(t_burn=50.0, t_record=1000.0, dt=0.1, tau_max=15.0)


def main(out=Path(__file__).with_name("rnn_sim.npz")):
    data = {"g_main": G_MAIN, "sizes": np.array([n for n, _ in SIZES]), "n_seeds": np.array([s for _, s in SIZES]),
            "t_burn": COMMON["t_burn"], "t_record": COMMON["t_record"]}
    for N, n_seeds in SIZES:
        sim = rnn.simulate(N, G_MAIN, seeds=n_seeds, **COMMON)
        data[f"delta0_seeds_{N}"] = sim.delta0_seeds
        data[f"delta_{N}"], data[f"delta_sem_{N}"] = sim.delta, sim.delta_sem
        data["tau"] = sim.tau
        if N == SIZES[-1][0]:
            keep = sim.t_trace <= sim.t_trace[0] + 100.0
            data["t_trace"], data["x_trace"] = sim.t_trace[keep], sim.x_trace[keep]
        print(N, sim.delta0, sim.delta0_sem, f"wall time: {sim.wall_time:.1f} s", flush=True)
    np.savez_compressed(out, **data)


if __name__ == "__main__":
    main()
