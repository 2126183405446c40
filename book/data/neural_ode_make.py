"""Precompute the theory curves and online-SGD simulations of the neural-ODE teacher-student chapter.

Run from the repository root (about 3-5 min of one core):

    OMP_NUM_THREADS=1 .venv/bin/python book/data/neural_ode_make.py

Writes ``book/data/neural_ode_runs.npz`` (read with ``dmftlib.neural_ode.load_results``).
``tests/test_neural_ode.py`` re-creates a small instance of it (``make(small=True)``).
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dmftlib import neural_ode as no  # noqa: E402

ETA = 2.0
T_MAX = 8.0
NODES = 13      # Gauss-Hermite nodes per dimension for K + M = 4 (the default 10 errs by ~0.5%)


def make(small: bool = False) -> dict:
    """All results of the chapter; ``small=True`` is a quick instance for the tests."""
    Ns = (200, 400) if small else (500, 1000, 2000, 4000)
    seeds = range(4) if small else range(8)
    t_max = 1.0 if small else T_MAX
    t_sim = np.linspace(0.0, t_max, 5 if small else 17)
    t_th = np.linspace(0.0, t_max, 11 if small else 81)
    L = 4 if small else 8
    out = {}
    s = no.setup(K=2, M=2, L=L)
    nq = 6 if small else NODES
    out["matched"] = no.theory(s, ETA, t_th, n_nodes=nq)
    for N in Ns:
        out[f"matched_N{N}"] = no.simulate(N, s, ETA, t_sim, seeds, n_nodes=nq)
    # controls kept fixed at A = b = 0 (the student is then a linear network)
    out["fixed"] = no.theory(s, ETA, t_th, eta_theta=0.0, n_nodes=nq)
    out["fixed_N1000"] = no.simulate(Ns[1], s, ETA, t_sim, seeds, eta_theta=0.0, n_nodes=nq)
    if small:
        return out
    # a student with more directions than the teacher (M = 1)
    for K in (1, 2, 3):
        out[f"width_K{K}"] = no.theory(no.setup(K=K, M=1, L=L), ETA, t_th, n_nodes=NODES if K == 3 else None)
    out["width_K3_N1000"] = no.simulate(1000, no.setup(K=3, M=1, L=L), ETA, t_sim, seeds, n_nodes=NODES)
    # depth: students with L = 1 ... 32 Euler steps, teacher = the neural ODE (32 steps); default quadrature
    for Ld in (1, 2, 4, 8, 16, 32):
        out[f"depth_L{Ld}"] = no.theory(no.setup(K=2, M=2, L=Ld, L_teacher=32), ETA, t_th)
    out["depth_L2_N1000"] = no.simulate(1000, no.setup(K=2, M=2, L=2, L_teacher=32), ETA, t_sim, seeds)
    return out


if __name__ == "__main__":
    res = make()
    no.save_results(ROOT / "book" / "data" / "neural_ode_runs.npz", **res)
    for k, r in res.items():
        print(f"{k}: eg(end) = {r.eg[-1]:.4f}, wall time {r.wall_time:.1f} s")
