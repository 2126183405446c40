"""Precompute the finite-size scan of the deep-linear chapter (two-layer linear network, D up to 200).

Writes deep_linear_scan.npz. Run from the repository root:
    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python book/data/deep_linear_make.py
Sizes: input dimension D in DS, width N = D^2 / 2 (so that the data correction O(1/D) and the width
correction O(D/N) shrink together), P = alpha D samples; seeds batched in pairs (the D = 200 draws of W0 and W0^T W0 / N stay within
the library's work budget per call).
Cost: about 40 s of CPU on one core (96 seeds per size; the D = 200 runs dominate).
tests/test_deep_linear.py re-creates a small instance through make().
"""
from pathlib import Path

import numpy as np

from dmftlib.deep_linear import simulate

DS = (25, 50, 100, 200)
ALPHA, SIGMA2, GAMMA0 = 2.0, 0.25, 2.0
TIMES = np.array([0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0])
FIELDS = ("test_error", "train_error", "overlap", "q", "spike", "spike_overlap")


def width(D):
    """N = D^2 / 2."""
    return D * D // 2


def make(Ds=DS, n_seeds=96, t=TIMES, batch=2):
    """Seed means and standard errors of every field at each D (N = width(D)); seeds 0..n_seeds-1."""
    out = {f: [] for f in FIELDS}
    out.update({f + "_sem": [] for f in FIELDS})
    for D in Ds:
        per = {f: [] for f in FIELDS}
        for k in range(0, n_seeds, batch):
            seeds = list(range(k, min(n_seeds, k + batch)))
            if len(seeds) < 2:
                seeds = [seeds[0] - 1, seeds[0]]
            sim = simulate(width(D), D, ALPHA, SIGMA2, GAMMA0, t, seeds=seeds)
            for f in FIELDS:   # recover the per-seed spread from each batch's mean and sem
                per[f].append((getattr(sim, f), getattr(sim, f + "_sem"), len(seeds)))
        for f in FIELDS:
            n = np.array([p[2] for p in per[f]], dtype=float)
            m = np.array([p[0] for p in per[f]])
            v = np.array([p[1] ** 2 * p[2] for p in per[f]])       # within-batch variance (ddof = 1)
            mean = (n[:, None] * m).sum(0) / n.sum()
            ss = ((n[:, None] - 1) * v).sum(0) + (n[:, None] * (m - mean) ** 2).sum(0)
            out[f].append(mean)
            out[f + "_sem"].append(np.sqrt(ss / (n.sum() - 1) / n.sum()))
    res = {k: np.array(v) for k, v in out.items()}
    res.update(D=np.array(Ds), N=np.array([width(D) for D in Ds]), t=np.asarray(t), n_seeds=n_seeds,
               alpha=ALPHA, sigma2=SIGMA2, gamma0=GAMMA0)
    return res


def main(path=Path(__file__).with_name("deep_linear_scan.npz")):
    res = make()
    np.savez(path, **res)
    return res


if __name__ == "__main__":
    main()
