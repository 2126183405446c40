"""Precompute the finite-size scan of the cavity chapter (N up to 2000): writes cavity_scaling.npz.

Run from the repository root:  OMP_NUM_THREADS=1 .venv/bin/python book/data/cavity_scaling_make.py
Cost: about four minutes on one core (the N = 2000 runs hold n_seeds * N^2 couplings, ~800 MB).
tests/test_cavity.py re-creates a small instance with dmftlib.cavity.finite_size_scan.
"""
from pathlib import Path

import numpy as np

from dmftlib.cavity import finite_size_scan

NS = (250, 500, 1000, 2000)
CASES = {"iid": dict(g=0.8, symmetric=False, phi="linear", first_seed=100),
         "sym": dict(g=0.4, symmetric=True, phi="linear", first_seed=200),
         "tanh": dict(g=1.5, symmetric=False, phi="tanh", first_seed=300)}


def main(path=Path(__file__).with_name("cavity_scaling.npz"), Ns=NS, n_seeds=24):
    out = {"N": np.asarray(Ns), "n_seeds": n_seeds}
    for name, case in CASES.items():
        kw = {k: v for k, v in case.items() if k != "first_seed"}
        seeds = range(case["first_seed"], case["first_seed"] + n_seeds)
        sc = finite_size_scan(Ns=Ns, seeds=seeds, t_max=6.0, n_t=61, kick_times=(0.0, 2.0), **kw)
        for field in ("err_C", "sem_C", "err_R", "sem_R"):
            out[f"{name}_{field}"] = getattr(sc, field)
    np.savez(path, **out)
    return out


if __name__ == "__main__":
    main()
