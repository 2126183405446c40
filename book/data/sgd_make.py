"""Precompute the data of the SGD chapter.

* ``sgd_scan.npz``: finite-size scans of simulation against the recursion, at the running example
  (eta = 0.2, well below eta_c) and close to the stability limit (eta = 0.9 eta_c), where the
  self-averaging closure is stressed most (its noise is amplified by 1/(1 - G)).
* ``sgd_dmft_paths.npz``: the two-time DMFT solved with n_paths selection paths, re-drawn with
  several seeds, to measure the Monte Carlo error of the selection average against n_paths.

Run from the repository root:  OMP_NUM_THREADS=1 .venv/bin/python book/data/sgd_make.py [scan|paths]
(a few minutes on one core; the largest N = 2000 holds 2 x 64 MB of data at a time).
Small instances are re-created by tests/test_sgd.py.
"""
import pathlib
import sys

import numpy as np

from dmftlib import sgd

HERE = pathlib.Path(__file__).parent
PARAMS = dict(alpha=2.0, sigma2=0.25, eta=0.2, b=0.1, t_max=20.0)
NS = [250, 500, 1000, 2000]
SEEDS = [100, 60, 40, 30]
WINDOW = (5.0, 20.0)
# near the stability limit: eta = 0.9 eta_c, longer run, window on the plateau
NEAR_NS = [125, 250, 500, 1000]
NEAR_SEEDS = [128, 64, 32, 16]
NEAR_WINDOW = (15.0, 30.0)
# Monte Carlo error of the DMFT selection average
PATHS = [100, 200, 400, 800, 1600]
PATH_SEEDS = 8
DMFT_T = 10.0


def scan(Ns, n_seeds, window, seed0, **params):
    """``sgd.finite_size_scan`` with seeds ``seed0, seed0 + 1, ...`` at each N, as arrays to store."""
    sc = sgd.finite_size_scan(Ns, [range(seed0, seed0 + S) for S in n_seeds], window=window, **params)
    return dict(N=sc.N, n_seeds=sc.n_seeds, t=sc.t, test_error=sc.test_error, train_error=sc.train_error,
                sim_test_error=sc.sim_test_error, sim_test_error_sem=sc.sim_test_error_sem,
                sim_train_error=sc.sim_train_error, sim_train_error_sem=sc.sim_train_error_sem,
                window=np.array(sc.window), dev_test=sc.dev_test, dev_test_sem=sc.dev_test_sem,
                dev_train=sc.dev_train, dev_train_sem=sc.dev_train_sem, std_test=sc.std_test)


def make_scan(Ns=NS, seeds=SEEDS, near_Ns=NEAR_NS, near_seeds=NEAR_SEEDS):
    out = scan(Ns, seeds, WINDOW, 1000, **PARAMS)
    out["params"] = np.array([PARAMS[k] for k in ("alpha", "sigma2", "eta", "b", "t_max")])
    near = dict(PARAMS, eta=0.9 * sgd.stability_threshold(PARAMS["alpha"], PARAMS["b"]), t_max=30.0)
    for key, val in scan(near_Ns, near_seeds, NEAR_WINDOW, 2000, **near).items():
        out["near_" + key] = val
    out["near_params"] = np.array([near[k] for k in ("alpha", "sigma2", "eta", "b", "t_max")])
    return out


def make_paths(paths=PATHS, n_seeds=PATH_SEEDS, t_max=DMFT_T):
    p = PARAMS
    th = sgd.theory(p["alpha"], p["sigma2"], p["eta"], p["b"], t_max)
    eg = np.empty((len(paths), n_seeds, th.t.size))
    et = np.empty_like(eg)
    for i, n in enumerate(paths):             # loop over sizes and re-draws of the selection paths
        for s in range(n_seeds):
            d = sgd.dmft(p["alpha"], p["sigma2"], p["eta"], p["b"], t_max, n_paths=n, seed=s)
            eg[i, s], et[i, s] = d.test_error, d.train_error
    return dict(n_paths=np.array(paths), t=th.t, test_error=eg, train_error=et,
                theory_test_error=th.test_error, theory_train_error=th.train_error)


if __name__ == "__main__":
    what = sys.argv[1:] or ["scan", "paths"]
    if "paths" in what:
        np.savez_compressed(HERE / "sgd_dmft_paths.npz", **make_paths())
        print("wrote sgd_dmft_paths.npz")
    if "scan" in what:
        out = make_scan()
        np.savez_compressed(HERE / "sgd_scan.npz", **out)
        for pre in ("", "near_"):
            for i, N in enumerate(out[pre + "N"]):
                print(f"{pre}N = {N:5d}: dev E_g = {out[pre + 'dev_test'][i]:+.4f} +- {out[pre + 'dev_test_sem'][i]:.4f}, "
                      f"dev E_t = {out[pre + 'dev_train'][i]:+.4f} +- {out[pre + 'dev_train_sem'][i]:.4f}")
