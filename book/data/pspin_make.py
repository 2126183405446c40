"""Precompute the long runs of the chapter "Gradient flow and aging in the spherical p-spin".

Run from the repository root:  python book/data/pspin_make.py
Writes book/data/pspin_runs.npz (about 1 MB). Cost: about 6 minutes of CPU on one core
(most of it the N = 256 dense tensors and the n_window = 512 adaptive solution).
``tests/test_pspin_aging.py`` re-creates a small instance of every run through ``runs()`` and
``compute()`` and checks it against a fresh library call.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from dmftlib import pspin  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pspin_runs.npz")
T_W = (2.0, 5.0, 10.0, 20.0)


def runs(small=False):
    """The runs of the chapter: ``{name: (function name, kwargs)}``. ``small`` shrinks them for tests."""
    if small:
        return {"sim_T0_N32": ("simulate", dict(N=32, p=3, t_max=2.0, dt=0.1, seeds=3, t_w=(1.0,), t_response=1.0)),
                "adaptive": ("gradient_flow_dmft_adaptive", dict(p=3, t_max=10.0, n_window=32, dt0=0.05))}
    out = {}
    for N, n_seeds in ((64, 48), (128, 24), (256, 8)):
        out[f"sim_T0_N{N}"] = ("simulate", dict(N=N, p=3, t_max=40.0, dt=0.1, seeds=n_seeds, t_w=T_W,
                                                t_response=5.0 if N <= 128 else None, epsilon=1e-3))
    for T in (0.5, 0.8):
        out[f"sim_T{T}_N128"] = ("simulate", dict(N=128, p=3, t_max=30.0, dt=0.1, T=T, seeds=24, t_w=T_W,
                                                  t_response=10.0))
    out["adaptive"] = ("gradient_flow_dmft_adaptive", dict(p=3, t_max=1000.0, n_window=512, dt0=0.025))
    return out


FIELDS = {"simulate": ("t", "energy", "energy_sem", "mu", "t_w", "C", "C_sem", "chi", "chi_sem", "energies"),
          "gradient_flow_dmft_adaptive": ("t_steps", "energy", "mu", "t", "C", "chi")}


def compute(small=False, names=None):
    """Run everything (or the runs ``names``); returns a flat dict ``{'<run>__<field>': array}``."""
    data = {}
    for name, (fn, kw) in runs(small).items():
        if names and name not in names:
            continue
        res = getattr(pspin, fn)(**kw)
        for f in FIELDS[fn]:
            a = np.asarray(getattr(res, f))
            if name == "adaptive" and f in ("C", "chi") and not small:
                a = a[::4, ::4]  # keep the file small: every 4th stored point
            data[f"{name}__{f}"] = a
        for f in ("N", "n_seeds", "T", "dt", "t_response", "n_stored", "n_halvings", "dt_final"):
            if hasattr(res, f):
                data[f"{name}__{f}"] = np.asarray(getattr(res, f))
    return data


def main(path=OUT, names=None):
    """Compute the runs ``names`` (all if None) and merge them into the file at ``path``."""
    data = compute(names=names)
    if names and os.path.exists(path):
        with np.load(path) as old:
            data = {**{k: old[k] for k in old.files}, **data}
    np.savez_compressed(path, **data)
    return data


if __name__ == "__main__":
    # python book/data/pspin_make.py [run names ...] [--out file]: several processes may compute
    # disjoint subsets into separate files, merged by a last call with --merge file1 file2 ...
    args = sys.argv[1:]
    if args and args[0] == "--merge":
        merged = {}
        for f in args[1:]:
            with np.load(f) as part:
                merged.update({k: part[k] for k in part.files})
        np.savez_compressed(OUT, **merged)
    else:
        out = OUT
        if "--out" in args:
            i = args.index("--out")
            out = args[i + 1]
            args = args[:i] + args[i + 2:]
        main(out, names=args or None)
