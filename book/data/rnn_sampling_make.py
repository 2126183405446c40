"""Precompute the sampling-DMFT checks of the chapter "Chaos in random recurrent networks".

Writes ``book/data/rnn_sampling.npz``: the deterministic two-time solution of the same DMFT
(``dmftlib.cavity.theory(g, symmetric=False, phi="tanh")``, the reference over the same window),
and the stationary parts (window t >= 15) of ``rnn.sampling_dmft`` runs for several solver seeds at
two sample counts. Run from the repository root:

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python book/data/rnn_sampling_make.py

About 3 minutes of CPU. ``tests/test_rnn.py`` re-creates a small instance with ``run``.
"""
from pathlib import Path

import numpy as np

from dmftlib import cavity, rnn

G, T_MAX, T_START = 2.0, 30.0, 15.0
RUNS = {1500: [1, 2, 3, 4, 5, 6], 6000: [1, 2, 3]}


def run(g=G, t_max=T_MAX, t_start=T_START, n_t=601, n_t_ref=301, runs=RUNS, min_iter=40):
    """Reference (deterministic two-time DMFT) and sampled stationary parts, as a dict of arrays."""
    ref = cavity.theory(g, symmetric=False, phi="tanh", t_max=t_max, n_t=n_t_ref)
    tau_ref, delta_ref = rnn.stationary_part(ref.C, ref.t, t_start)
    out = {"g": g, "t_max": t_max, "t_start": t_start, "tau_ref": tau_ref, "delta_ref": delta_ref,
           "C_diag_ref": np.diag(ref.C), "t_ref": ref.t}
    for S, seeds in runs.items():
        rows = []
        for s in seeds:
            dm = rnn.sampling_dmft(g, t_max=t_max, n_t=n_t, n_samples=S, seed=s, min_iter=min_iter)
            tau, delta = rnn.stationary_part(dm.C, dm.t, t_start)
            rows.append(delta)
        out[f"delta_S{S}"] = np.array(rows)
        out[f"seeds_S{S}"] = np.array(seeds)
        out["tau"] = tau
    return out


def main(out=Path(__file__).with_name("rnn_sampling.npz")):
    data = run()
    np.savez_compressed(out, **data)


if __name__ == "__main__":
    main()
