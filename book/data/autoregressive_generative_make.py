"""Precompute the simulations of the chapter "Autoregressive and generative learning of controlled dynamics".

Run from the repository root:  python book/data/autoregressive_generative_make.py
Writes book/data/autoregressive_generative_runs.npz (about 2 MB; a few minutes of CPU on one core).

* ``ar_<teacher>_N<N>``: per-seed overlaps (32 seeds, nt, 5) of ``dmftlib.autoregressive.simulate`` for a
  contracting (b* = 0.4, rho* = 0.9) and an expanding (b* = 0.7, rho* = 1.2) teacher, a = 0.5,
  eta = 0.5, sigma = 0.3, on ``t_ar``, at N = 100, 200, 400, 800;
* ``gen_N<N>``: per-seed overlaps of ``dmftlib.generative.simulate`` (b* = 0.5, eta = 0.5) on ``t_gen``;
* ``bias_<model>_N<N>``: per-seed time averages over ``t_bias`` of (simulation - theory) of the
  expanding teacher's one-step error and of the generative model's W2, with many seeds at small N,
  to resolve the 1/N bias of the mean.

``tests/test_autoregressive.py`` re-creates a small instance through :func:`main` (same code path)
and checks the stored file's first seeds and times.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from dmftlib import autoregressive as ar, generative as gen  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "autoregressive_generative_runs.npz")

AR = dict(a=0.5, eta=0.5, sigma=0.3, ks=(1,))
TEACHERS = {"contract": 0.4, "expand": 0.7}
GEN = dict(b_star=0.5, eta=0.5)
NS = (100, 200, 400, 800)
N_SEEDS = 32
T_AR = np.linspace(0.0, 30.0, 31)
T_GEN = np.linspace(0.0, 30.0, 31)
BIAS = ((25, 8000), (50, 4000), (100, 2000))
T_BIAS = np.linspace(0.0, 20.0, 21)


def main(path=OUT, Ns=NS, n_seeds=N_SEEDS, t_ar=T_AR, t_gen=T_GEN, bias=BIAS, t_bias=T_BIAS):
    """Run everything and write ``path``; returns the dict of arrays written."""
    out = {"t_ar": t_ar, "t_gen": t_gen, "t_bias": t_bias, "Ns": np.array(Ns), "bias_Ns": np.array([b[0] for b in bias])}
    for name, b in TEACHERS.items():
        for N in Ns:
            out[f"ar_{name}_N{N}"] = ar.simulate(N, b_star=b, t=t_ar, seeds=n_seeds, **AR).overlaps_seeds
    for N in Ns:
        out[f"gen_N{N}"] = gen.simulate(N, t=t_gen, seeds=n_seeds, **GEN).overlaps_seeds
    th_ar = ar.theory(b_star=TEACHERS["expand"], t=t_bias, **AR)
    th_gen = gen.theory(t=t_bias, **GEN)
    for N, S in bias:
        s = ar.simulate(N, b_star=TEACHERS["expand"], t=t_bias, seeds=S, **AR)
        out[f"bias_ar_N{N}"] = (s.eps_1_seeds - th_ar.eps_1).mean(axis=1)
        g = gen.simulate(N, t=t_bias, seeds=S, **GEN)
        out[f"bias_gen_N{N}"] = (g.w2_seeds - th_gen.w2).mean(axis=1)
    np.savez_compressed(path, **out)
    return out


if __name__ == "__main__":
    main()
