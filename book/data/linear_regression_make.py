"""Precompute the finite-size scan of the linear-regression chapter (N up to 2000).

Writes linear_regression_scaling.npz. Run from the repository root:
    OMP_NUM_THREADS=1 .venv/bin/python book/data/linear_regression_make.py
Cost: about two minutes on one core (the N = 2000 runs diagonalise 2000 x 2000 matrices, four
seeds at a time, ~400 MB). tests/test_linear.py re-creates a small instance with
dmftlib.linear.finite_size_scan.
"""
from pathlib import Path

import numpy as np

from dmftlib.linear import finite_size_scan

NS = (250, 500, 1000, 2000)
ALPHA, SIGMA2 = 2.0, 0.25
TIMES = (0.5, 2.0, 10.0, 100.0)


def main(path=Path(__file__).with_name("linear_regression_scaling.npz"), Ns=NS, n_seeds=16):
    sc = finite_size_scan(Ns, ALPHA, SIGMA2, TIMES, seeds=n_seeds, seeds_per_batch=4)
    out = {"N": sc.N, "t": sc.t, "theory": sc.theory, "mean": sc.mean, "std": sc.std, "sem": sc.sem,
           "n_seeds": n_seeds, "alpha": ALPHA, "sigma2": SIGMA2}
    np.savez(path, **out)
    return out


if __name__ == "__main__":
    main()
