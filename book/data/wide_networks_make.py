"""Precompute the larger runs of the chapter "Wide networks: lazy and mean-field limits; Kuramoto on graphs".

Run from the repository root:  python book/data/wide_networks_make.py [kuramoto] [lazy] [mean_field]
(no argument: all three). Writes book/data/wide_networks_<part>.npz (small). Kuramoto: about
5 minutes of CPU on one core (N up to 2000); lazy and mean-field: a few minutes each.
``tests/test_kuramoto.py`` and ``tests/test_mean_field.py`` re-create a small instance of each
through the same functions (``kuramoto_runs``, ``lazy_runs``, ``mean_field_runs``).
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from dmftlib import kuramoto as ku  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# Kuramoto scenarios: name -> (model keywords, K values)
KURAMOTO = {
    "er_gauss": (dict(width=1.0, distribution="gaussian", graphon="constant", p=0.5),
                 [2.0, 4.0, 5.0, 6.0, 8.0]),
    "er_lorentz": (dict(width=0.5, distribution="lorentzian", graphon="constant", p=0.5),
                   [1.0, 3.0, 4.0, 6.0, 8.0]),
    "min_gauss": (dict(width=1.0, distribution="gaussian", graphon="min", p=1.0),
                  [2.0, 5.0, 6.0, 8.0, 10.0]),
}
KURAMOTO_N = {250: 8, 500: 8, 1000: 8}   # N -> number of seeds
KURAMOTO_LARGE = {2000: 4}                  # for er_gauss only
KURAMOTO_TIME = dict(t_max=100.0, t_burn=30.0, dt=0.1, n_bins=10, save_every=10)


def kuramoto_runs(Ns=KURAMOTO_N, scenarios=KURAMOTO, time=KURAMOTO_TIME, large=KURAMOTO_LARGE):
    """``{f"{name}_N{N}_{field}": array}`` for every scenario and N (fields r_seeds, r_x, r_x_sem, r_t, t)."""
    out = {}
    for name, (model, K) in scenarios.items():
        sizes = {**Ns, **(large if name == "er_gauss" else {})}
        for N, n_seeds in sizes.items():
            sim = ku.simulate(N, K, seeds=n_seeds, **model, **time)
            key = f"{name}_N{N}"
            out[f"{key}_K"] = sim.K
            out[f"{key}_r_seeds"] = sim.r_seeds
            out[f"{key}_r_x"] = sim.r_x
            out[f"{key}_r_x_sem"] = sim.r_x_sem
            out[f"{key}_r_t"] = sim.r_t
            out[f"{key}_t"] = sim.t
    return out


def main(parts):
    if "kuramoto" in parts:
        np.savez_compressed(os.path.join(HERE, "wide_networks_kuramoto.npz"), **kuramoto_runs())
    if "lazy" in parts or "mean_field" in parts:
        from dmftlib import mean_field as mf
        if "lazy" in parts:
            np.savez_compressed(os.path.join(HERE, "wide_networks_lazy.npz"), **mf.lazy_width_scan(**LAZY))
        if "mean_field" in parts:
            np.savez_compressed(os.path.join(HERE, "wide_networks_mean_field.npz"), **mf.mean_field_width_scan(**MF))


LAZY = dict(widths=(64, 256, 1024, 4096), n=20, d=5, t_max=60.0, eta=0.1, n_times=61, seeds=8)
MF = dict(widths=(32, 64, 128, 256), seeds_per_width=(16, 16, 16, 8), t_max=4.0, n_times=21, d=4,
          sigma_a=1.0, sigma_w=0.5, dt=0.01)

if __name__ == "__main__":
    main(sys.argv[1:] or ["kuramoto", "lazy", "mean_field"])
