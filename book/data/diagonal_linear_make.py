"""Precompute the large-d runs of the chapter *Diagonal linear networks* (book/part3/diagonal_linear.ipynb).

Usage (from the repository root, PYTHONPATH=.):
    python book/data/diagonal_linear_make.py            # everything, then writes diagonal_linear_runs.npz
    python book/data/diagonal_linear_make.py TASK ...    # only these tasks (parts kept in /tmp/diaglinear_parts)
    python book/data/diagonal_linear_make.py --merge     # merge the parts into the .npz

Every number comes from dmftlib.diagonal_linear (theory, simulate, implicit_bias) with fixed seeds;
`small=True` runs a miniature of each task through the same code (used by the tests).
"""
from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

from dmftlib import diagonal_linear as dl

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "diagonal_linear_runs.npz")
PARTS = "/tmp/diaglinear_parts"

ALPHA, RHO = 0.5, 0.1
T_MAX = 40.0


def out_times(a, n=25, t_max=T_MAX, alpha=ALPHA):
    """Output times: the theory grid's law (uniform in log(1 + t/tau)) with n points."""
    lam_plus = (1 + math.sqrt(alpha)) ** 2 / alpha
    return dl.time_grid(t_max, n, 1.0 / ((8 * a * a + 1) * lam_plus))


def task_main(a, small=False):
    """Theory (two independent samplings) and simulations at four d, sigma = 0."""
    t = out_times(a, 8 if small else 20)
    th_kw = dict(n_grid=40, n_samples=400, n_response=20) if small else dict(n_grid=60, n_samples=1500,
                                                                           n_response=60)
    ths = [dl.theory(ALPHA, RHO, 0.0, a, t, seed=s, **th_kw) for s in range(2)]
    out = {"t": t, "theory": np.array([th.test_error for th in ths]),
           "theory_sem": np.array([th.test_error_sem for th in ths]),
           "theory_grid": ths[0].grid, "theory_grid_eg": np.array([th.grid_test_error for th in ths]),
           "theory_paths": ths[0].beta_paths, "theory_time": sum(th.wall_time for th in ths)}
    ds, seeds = ([40, 80], [3, 3]) if small else ([250, 500, 1000, 2000], [16, 8, 4, 4])
    for d, B in zip(ds, seeds):
        sim = dl.simulate(d, ALPHA, RHO, 0.0, a, t, seeds=B)
        out[f"sim_{d}"] = sim.per_seed
        if d == ds[-1]:
            out["sim_paths"] = sim.beta_paths
    out["ds"] = np.array(ds)
    return out


def task_noise(a, small=False, sigma2=0.5):
    """Label noise: theory and one simulation."""
    t = out_times(a, 8 if small else 20)
    th_kw = dict(n_grid=40, n_samples=400, n_response=20) if small else dict(n_grid=60, n_samples=1500,
                                                                           n_response=60)
    th = dl.theory(ALPHA, RHO, sigma2, a, t, **th_kw)
    sim = dl.simulate(60 if small else 500, ALPHA, RHO, sigma2, a, t, seeds=3 if small else 8)
    return {"t": t, "theory": th.test_error, "theory_sem": th.test_error_sem, "sim": sim.per_seed,
            "sigma2": sigma2, "d": sim.d}


SCALING_DS = (125, 250, 500, 1000, 2000)
SCALING_SEEDS = (128, 64, 32, 16, 16)  # d = 2000: seeds 0-3 are main_*/sim_2000, scal_*_2000 adds seeds 4-15


def task_scaling(a, ds, small=False, sigma2=0.0):
    """Many seeds at each d (per-seed E_g stored): the d-dependence of the spread and of the mean's bias."""
    t = out_times(a, 20)
    if small:
        t = out_times(a, 8)
    out = {"t": t, "ds": np.array(ds)}
    for d in ds:
        B = dict(zip(SCALING_DS, SCALING_SEEDS))[d] if not small else 3
        first = 4 if (d == 2000 and not small) else 0                 # seeds 0-3 of d = 2000 are in main_*
        chunks = [range(k, min(k + 8, B)) for k in range(first, B, 8)]   # batches of 8 seeds (memory)
        eg = [dl.simulate(d, ALPHA, RHO, sigma2, a, t, seeds=list(c)).per_seed for c in chunks]
        out[f"sim_{d}"] = np.concatenate(eg)
    return out


THEORY_KW = dict(n_grid=80, n_samples=6000, n_response=600)


def task_theory_seeds(a, sigma2, k, small=False):
    """``k`` independent samplings of the DMFT (seeds 0..k-1): their mean and its sem are the theory and its band."""
    t = out_times(a, 8 if small else 20)
    kw = dict(n_grid=40, n_samples=400, n_response=40) if small else THEORY_KW
    ths = [dl.theory(ALPHA, RHO, sigma2, a, t, seed=s, **kw) for s in range(2 if small else k)]
    return {"t": t, "theory": np.array([th.test_error for th in ths]),
            "theory_sem": np.array([th.test_error_sem for th in ths]),
            "theory_grid": ths[0].grid, "theory_grid_eg": np.array([th.grid_test_error for th in ths]),
            "sigma2": sigma2}


def task_noise_resolution(small=False):
    """Label noise at a = 0.1: the DMFT at the old resolution's grid (60 points) and a doubled one (120), both with
    4x the sites and 10x the tangent paths of ``noise_0.1`` (seed 0): how far the theory moves with its resolution."""
    t = out_times(0.1, 8 if small else 20)
    out = {"t": t}
    for ng in ((20, 40) if small else (60, 120)):
        kw = dict(n_samples=400, n_response=40) if small else dict(n_samples=6000, n_response=600)
        th = dl.theory(ALPHA, RHO, 0.5, 0.1, t, n_grid=ng, seed=0, **kw)
        out[f"eg_{ng}"], out[f"sem_{ng}"] = th.test_error, th.test_error_sem
    return out


A_SMALL = (0.1, 0.03, 0.01, 0.003, 0.001)


def task_small_a(small=False):
    """Timescales in the rich regime: the DMFT (two solver seeds) and simulations at d = 500 for a -> 0, on one
    output grid, to measure t_1/2 against log(1/a) and the collapse of E_g in the time t / log(1/a)."""
    t = np.concatenate([[0.0], np.geomspace(0.01, T_MAX, 12 if small else 40)])
    kw = dict(n_grid=40, n_samples=400, n_response=40) if small else THEORY_KW
    a_list = (0.1, 0.01) if small else A_SMALL
    out = {"t": t, "a": np.array(a_list)}
    for a in a_list:
        ths = [dl.theory(ALPHA, RHO, 0.0, a, t, seed=s, **kw) for s in range(2)]
        out[f"theory_{a:g}"] = np.array([th.test_error for th in ths])
        out[f"theory_sem_{a:g}"] = np.array([th.test_error_sem for th in ths])
        out[f"sim_{a:g}"] = dl.simulate(60 if small else 500, ALPHA, RHO, 0.0, a, t, seeds=3 if small else 16).per_seed
    return out


TASKS = {
    "main_0.1": lambda small: task_main(0.1, small),
    "main_1": lambda small: task_main(1.0, small),
    "main_10": lambda small: task_main(10.0, small),
    "noise_0.1": lambda small: task_noise(0.1, small),
    "noise_10": lambda small: task_noise(10.0, small),
    "th_0.1": lambda small: task_theory_seeds(0.1, 0.0, 4, small),
    "noise_res_0.1": task_noise_resolution,
    "scal_0.1_small": lambda small: task_scaling(0.1, (40, 80) if small else (125, 250, 500), small),
    "scal_0.1_1000": lambda small: task_scaling(0.1, (40,) if small else (1000,), small),
    "scal_10_small": lambda small: task_scaling(10.0, (40, 80) if small else (125, 250, 500), small),
    "scal_10_1000": lambda small: task_scaling(10.0, (40,) if small else (1000,), small),
    "scal_0.1_2000": lambda small: task_scaling(0.1, (40,) if small else (2000,), small),
    "scal_10_2000": lambda small: task_scaling(10.0, (40,) if small else (2000,), small),
    "small_a": task_small_a,
}


def run(names, small=False):
    """Run tasks; returns a flat dict ``{task/key: array}``."""
    out = {}
    for name in names:
        start = time.process_time()
        res = TASKS[name](small)
        for k, v in res.items():
            out[f"{name}/{k}"] = np.asarray(v)
        out[f"{name}/cpu_seconds"] = np.asarray(time.process_time() - start)
    return out


def main(argv):
    if argv == ["--merge"]:
        data = {}
        for name in TASKS:
            part = os.path.join(PARTS, name + ".npz")
            if not os.path.exists(part):
                print("missing part", name)
                continue
            with np.load(part) as f:
                data.update({k: f[k] for k in f.files})
        np.savez_compressed(OUT, **data)
        print("wrote", OUT)
        return
    names = argv or list(TASKS)
    os.makedirs(PARTS, exist_ok=True)
    for name in names:
        res = run([name])
        np.savez_compressed(os.path.join(PARTS, name + ".npz"), **res)
        print(name, "done", float(res[f"{name}/cpu_seconds"]), "s CPU", flush=True)
    if not argv:
        main(["--merge"])


if __name__ == "__main__":
    main(sys.argv[1:])
