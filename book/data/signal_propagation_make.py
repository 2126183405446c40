"""Precompute the wide-network simulations and the trainability grid of the chapter
"Signal propagation at initialization" (book/part1/signal_propagation.ipynb).

Writes ``book/data/signal_propagation_sims.npz`` (a few hundred kB). Run from the repository root:

    OMP_NUM_THREADS=1 .venv/bin/python book/data/signal_propagation_make.py [A] [B] [C]

(all parts by default; naming parts recomputes only those and keeps the others from the
existing file). About 7 minutes of one core in all. Every random draw is seeded, so the file
is reproducible on the same NumPy version.
tests/test_signal_propagation.py re-creates a tiny instance of each part.
"""
from __future__ import annotations

import pathlib
import time

import numpy as np

from dmftlib import signal_propagation as sp

OUT = pathlib.Path(__file__).with_name("signal_propagation_sims.npz")
PHI = "tanh"
SIGMA_B2 = 0.05

# Part A: q^l and c^l through depth-100 networks at three widths.
LAYERS_SW = (1.0, 1.76, 2.5, 4.0)
LAYERS_N = (500, 1000, 2000)
LAYERS_L = 100
LAYERS_SEEDS = 8
Q0, C0 = 1.0, 0.5

# Part B: decay length of correlations against sigma_w2. The fit needs a low noise floor, so
# these runs use the O(N)-per-layer sampler (method="gram", the same law as the full network for
# two inputs; tested in tests/test_signal_propagation.py) at a larger width and more seeds.
XI_SW = (0.7, 1.0, 1.3, 1.5, 1.65, 1.9, 2.1, 2.5, 3.0, 4.0)
XI_N = 4000
XI_L = 60
XI_SEEDS = 64
XI_METHOD = "gram"

# Part C: trainability after a few SGD steps, on a grid of sigma_w2 and depth.
TR_SW = np.linspace(0.5, 4.0, 15)
TR_DEPTHS = (4, 8, 12, 16, 24, 32, 48, 64)
TR = dict(width=64, n_steps=500, batch=32, lr=0.02, n_seeds=2, n_test=512, seed=0)


def xi_c_start(sw):
    """Starting correlation of the decay-length runs: 0.6 when ordered, c* - 0.2 when chaotic."""
    cs = sp.c_star(sw, SIGMA_B2, PHI)
    return 0.6 if cs >= 1.0 else cs - 0.2


def measure_xi_c(sim, c_star):
    """Decay length of |c^l - c*| in a simulation: fit from layer 2 down to 3 standard errors (and 1e-10)."""
    floor = np.maximum(3.0 * sim.c_sem, 1e-10)
    return sp.decay_length(sim.l, sim.c, c_star, lmin=2, floor=floor)


def main(parts=("A", "B", "C")):
    t0 = time.process_time()
    data = dict(np.load(OUT)) if OUT.exists() else {}
    data.pop("cpu_seconds", None)
    data.update({"phi": np.array(PHI), "sigma_b2": SIGMA_B2, "q0": Q0, "c0": C0})
    if "A" in parts:
        part_a(data, t0)
    if "B" in parts:
        part_b(data, t0)
    if "C" in parts:
        part_c(data, t0)
    data[f"cpu_seconds_{''.join(parts)}"] = time.process_time() - t0
    np.savez_compressed(OUT, **data)
    print(f"wrote {OUT} ({time.process_time() - t0:.0f} s of CPU)")


def part_a(data, t0):
    data["layers_sw"] = np.array(LAYERS_SW)
    data["layers_N"] = np.array(LAYERS_N)
    data["layers_n_seeds"] = LAYERS_SEEDS
    for name in ("q", "q_sem", "c", "c_sem"):
        data[f"layers_{name}"] = np.empty((len(LAYERS_N), len(LAYERS_SW), LAYERS_L + 1))
    for i, N in enumerate(LAYERS_N):
        for j, sw in enumerate(LAYERS_SW):
            k = len(LAYERS_SW) * i + j              # disjoint seeds: run k uses k * LAYERS_SEEDS, ...
            sim = sp.simulate(N, LAYERS_L, sw, SIGMA_B2, PHI, q0=Q0, c0=C0,
                              seeds=range(k * LAYERS_SEEDS, (k + 1) * LAYERS_SEEDS))
            for name in ("q", "q_sem", "c", "c_sem"):
                data[f"layers_{name}"][i, j] = getattr(sim, name)
            print(f"layers: N = {N}, sigma_w2 = {sw}: done ({time.process_time() - t0:.0f} s)", flush=True)



def part_b(data, t0):
    data["xi_sw"] = np.array(XI_SW)
    data["xi_N"] = XI_N
    data["xi_n_seeds"] = XI_SEEDS
    xi_sim, xi_fit_theory, c0s = [], [], []
    for j, sw in enumerate(XI_SW):
        cs = sp.c_star(sw, SIGMA_B2, PHI)
        c0 = xi_c_start(sw)
        sim = sp.simulate(XI_N, XI_L, sw, SIGMA_B2, PHI, q0=sp.q_star(sw, SIGMA_B2, PHI), c0=c0,
                          seeds=range(1000 + j * XI_SEEDS, 1000 + (j + 1) * XI_SEEDS), method=XI_METHOD)
        th = sp.theory(XI_L, sw, SIGMA_B2, PHI, q0=sp.q_star(sw, SIGMA_B2, PHI), c0=c0)
        xi_sim.append(measure_xi_c(sim, cs))
        xi_fit_theory.append(sp.decay_length(th.l, th.c, cs, lmin=2, floor=np.maximum(3.0 * sim.c_sem, 1e-10)))
        c0s.append(c0)
        print(f"xi_c: sigma_w2 = {sw}: measured {xi_sim[-1]:.2f} ({time.process_time() - t0:.0f} s)", flush=True)
    data["xi_c_sim"] = np.array(xi_sim)
    data["xi_c_fit_theory"] = np.array(xi_fit_theory)
    data["xi_c0"] = np.array(c0s)
    data["xi_method"] = np.array(XI_METHOD)


def part_c(data, t0):
    r = sp.trainability(TR_SW, TR_DEPTHS, sigma_b2=SIGMA_B2, phi=PHI, **TR)
    data["train_sw"] = r.sigma_w2
    data["train_depths"] = r.depths
    data["train_accuracy"] = r.accuracy
    data["train_accuracy_sem"] = r.accuracy_sem
    data["train_loss"] = r.loss
    for k, v in TR.items():
        data[f"train_{k}"] = v
    print(f"trainability: done ({time.process_time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    import sys
    main(tuple(sys.argv[1:]) or ("A", "B", "C"))
