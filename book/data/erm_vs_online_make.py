"""Precompute the runs of the chapter *ERM vs online SGD*: book/data/erm_vs_online_runs.npz.

Run from the repository root:
    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python book/data/erm_vs_online_make.py
(about a minute of CPU). ``scan`` is also called on a small instance by
tests/test_multipass.py::test_make_script_small_instance (same code path).

Contents: multi-pass GD at N = 100, 200, 400, 800 for alpha = 0.5 and 2 (finite-size scan), and
multi-pass GD at N = 400 for several alpha at the chapter's horizon (the sample-budget figure).
"""
import pathlib

import numpy as np

from dmftlib import multipass

PARAMS = dict(sigma=0.5, eta=0.2, eta_theta=1.0, L=8, a0=0.0, a_star=1.0)
T_MAX = 20.0
NS = (100, 200, 400, 800)
SEEDS = (64, 48, 32, 24)
ALPHAS = (0.5, 2.0)
BUDGET_N, BUDGET_SEEDS, BUDGET_T = 400, 16, 40.0
BUDGET_ALPHAS = (0.25, 0.5, 0.75, 1.5, 2.0, 3.0, 4.0)


def scan(Ns, seeds, alphas, t_max, seed0=1000, every=5, **params):
    """Simulate every (alpha, N); return a dict of arrays: curves, sems and deviations from the DMFT."""
    out = {"N": np.array(Ns), "n_seeds": np.array(seeds), "alpha": np.array(alphas, float)}
    curves = {}
    for ia, al in enumerate(alphas):
        th = multipass.theory(al, t_max=t_max, **params)
        for iN, (N, S) in enumerate(zip(Ns, seeds)):
            sim = multipass.simulate(N, al, t_max=t_max, seeds=range(seed0, seed0 + S), every=every, **params)
            ref = th.test_error[::every]
            msd = np.mean((sim.test_error_seeds - ref) ** 2, axis=1)      # per seed, over the run
            rms = np.sqrt(msd.mean())
            curves[(ia, iN)] = dict(test=sim.test_error, test_sem=sim.test_error_sem, train=sim.train_error,
                                    train_sem=sim.train_error_sem, gain=sim.gain, gain_sem=sim.gain_sem,
                                    rms=rms, rms_sem=msd.std(ddof=1) / np.sqrt(msd.size) / (2 * rms),
                                    bias=np.max(np.abs(sim.test_error - ref) / np.maximum(sim.test_error_sem, 1e-300)))
        out["t"] = sim.t
    for key in ("test", "test_sem", "train", "train_sem", "gain", "gain_sem"):
        out[key] = np.array([[curves[(ia, iN)][key] for iN in range(len(Ns))] for ia in range(len(alphas))])
    for key in ("rms", "rms_sem"):
        out[key] = np.array([[curves[(ia, iN)][key] for iN in range(len(Ns))] for ia in range(len(alphas))])
    out["bias_in_sem"] = np.array([[curves[(ia, iN)]["bias"] for iN in range(len(Ns))] for ia in range(len(alphas))])
    return out


def budget(N, n_seeds, alphas, t_max, seed0=2000, **params):
    """Final test and train errors of multi-pass GD at each alpha (mean, sem)."""
    rows = []
    for al in alphas:
        sim = multipass.simulate(N, al, t_max=t_max, seeds=range(seed0, seed0 + n_seeds), every=int(t_max / params["eta"]),
                                 **params)
        rows.append([sim.test_error[-1], sim.test_error_sem[-1], sim.train_error[-1], sim.train_error_sem[-1]])
    return np.array(rows)


if __name__ == "__main__":
    data = scan(NS, SEEDS, ALPHAS, T_MAX, **PARAMS)
    data["budget_alpha"] = np.array(BUDGET_ALPHAS)
    data["budget"] = budget(BUDGET_N, BUDGET_SEEDS, BUDGET_ALPHAS, BUDGET_T, **PARAMS)
    data["budget_N"], data["budget_seeds"], data["budget_t"] = BUDGET_N, BUDGET_SEEDS, BUDGET_T
    out = pathlib.Path(__file__).with_name("erm_vs_online_runs.npz")
    np.savez_compressed(out, **data)
    for ia, al in enumerate(ALPHAS):
        for iN, N in enumerate(NS):
            print(f"alpha = {al}, N = {N}: rms deviation of a run {data['rms'][ia, iN]:.4f} +- {data['rms_sem'][ia, iN]:.4f}, "
                  f"max |mean - theory| = {data['bias_in_sem'][ia, iN]:.1f} sem")
