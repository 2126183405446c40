"""Precompute the finite-size scan of the SGD chapter: book/data/sgd_scan.npz.

Run from the repository root:  OMP_NUM_THREADS=1 .venv/bin/python book/data/sgd_make.py
(about a minute on one core; the largest N = 2000 holds 2 x 64 MB of data at a time).
A small instance is re-created by tests/test_sgd.py::test_finite_size_scan_small_instance.
"""
import pathlib

import numpy as np

from dmftlib import sgd

PARAMS = dict(alpha=2.0, sigma2=0.25, eta=0.2, b=0.1, t_max=20.0)
NS = [250, 500, 1000, 2000]
SEEDS = [100, 60, 40, 30]
WINDOW = (5.0, 20.0)

if __name__ == "__main__":
    sc = sgd.finite_size_scan(NS, [range(1000, 1000 + s) for s in SEEDS], window=WINDOW, **PARAMS)
    out = pathlib.Path(__file__).with_name("sgd_scan.npz")
    np.savez_compressed(out, N=sc.N, n_seeds=sc.n_seeds, t=sc.t, test_error=sc.test_error,
                        train_error=sc.train_error, sim_test_error=sc.sim_test_error,
                        sim_test_error_sem=sc.sim_test_error_sem, sim_train_error=sc.sim_train_error,
                        sim_train_error_sem=sc.sim_train_error_sem, window=np.array(sc.window),
                        dev_test=sc.dev_test, dev_test_sem=sc.dev_test_sem, dev_train=sc.dev_train,
                        dev_train_sem=sc.dev_train_sem, std_test=sc.std_test,
                        params=np.array([PARAMS[k] for k in ("alpha", "sigma2", "eta", "b", "t_max")]))
    for i, N in enumerate(sc.N):
        print(f"N = {N:5d}: dev E_g = {sc.dev_test[i]:+.4f} +- {sc.dev_test_sem[i]:.4f}, "
              f"dev E_t = {sc.dev_train[i]:+.4f} +- {sc.dev_train_sem[i]:.4f}, std E_g = {sc.std_test[i]:.4f}")
