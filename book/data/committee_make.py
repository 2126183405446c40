"""Precompute the simulations of the chapter "Online SGD and order parameters: committee machines".

Run from the repository root:  python book/data/committee_make.py
Writes book/data/committee_runs.npz (a few hundred kB; about 3 minutes of CPU on one core).
``tests/test_committee.py`` re-creates the first recorded times of every run with a fresh
``simulate`` call and checks that they agree exactly with the stored file.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from dmftlib import committee as cm  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "committee_runs.npz")

# name -> keyword arguments of ``cm.simulate``; every run of one scenario starts from the same overlaps
PLATEAU = dict(K=2, M=2, eta=1.0, t=np.arange(0.0, 101.0, 1.0), seeds=list(range(8)), init_seed=0)
GOLDT = dict(K=3, M=2, eta=1.0, t=np.arange(0.0, 101.0, 2.0), seeds=list(range(6)), sigma=0.3,
             train_second_layer=True, init_seed=0)


def runs():
    """The runs of the chapter: ``{name: kwargs}`` including ``N`` and ``init``."""
    ov_plateau = cm.initial_overlaps(2, 2, seed=2, q0=0.25, r0=0.1)
    ov_goldt = cm.initial_overlaps(3, 2, seed=0, q0=0.25, r0=0.1)
    out = {f"plateau_N{N}": dict(PLATEAU, N=N, init=ov_plateau) for N in (500, 1000, 2000)}
    out["goldt_N1000"] = dict(GOLDT, N=1000, init=ov_goldt)
    return out


def main(path=OUT):
    sims = {name: cm.simulate(**kw) for name, kw in runs().items()}
    cm.save_simulations(path, **sims)
    return sims


if __name__ == "__main__":
    main()
