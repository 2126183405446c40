"""Precompute the finite-N online-SGD runs of the chapter "DMFT of learning in a high-dimensional
controlled neural ODE" (the chapter's main setting, ``dmftlib.neural_ode_dmft.DEFAULTS``).

Run from the repository root (about 4 min of one core; BLAS is limited to one thread inside):

    .venv/bin/python book/data/neural_ode_dmft_make.py

Writes ``book/data/neural_ode_dmft_runs.npz`` (read with ``dmftlib.neural_ode_dmft.load_results``),
with one entry ``N<N>`` per system size. ``tests/test_neural_ode_dmft.py`` re-creates a small
instance of it (``make(small=True)``).

With ``--bias`` (about 1 min of one core) it writes instead ``book/data/neural_ode_dmft_bias.npz``:
many seeds at small N (``BIAS_RUNS``), to measure the O(1/N) bias of the seed-averaged learning
curve, which at the chapter's sizes is below the standard error.
"""
from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dmftlib import neural_ode_dmft as nd  # noqa: E402

#: N -> number of seeds (N x seeds fixed, so the standard error of the mean is the same at every N)
RUNS = {200: 64, 400: 32, 800: 16, 1600: 8}
#: N -> seeds for the bias scan (cost ~ seeds x N^2: about 30 s each); seeds from 1000 on, distinct from RUNS'
BIAS_RUNS = {50: 512, 100: 256}
BIAS_SEED0 = 1000


def make_bias(small: bool = False) -> dict:
    """The bias scan: ``BIAS_RUNS[N]`` seeds at each N, in entries ``N<N>_c<k>`` of up to 512 seeds;
    ``small=True`` is a quick instance."""
    runs = {20: 4, 40: 2} if small else BIAS_RUNS
    kw = {"t": [0.0, 1.0]} if small else {}
    out = {}
    for N, S in runs.items():     # chunks of at most 512 seeds (the simulation's work budget): N<N>_c<k>
        for k, s0 in enumerate(range(0, S, 512)):
            out[f"N{N}_c{k}"] = nd.simulate(N, seeds=range(BIAS_SEED0 + s0, BIAS_SEED0 + min(S, s0 + 512)), **kw)
    return out


def make(small: bool = False) -> dict:
    """The simulations of the chapter; ``small=True`` is a quick instance for the tests."""
    runs = {40: 3, 80: 2} if small else RUNS
    t = [0.0, 1.0, 2.0] if small else None
    out = {}
    for N, S in runs.items():
        kw = {} if t is None else {"t": t}
        out[f"N{N}"] = nd.simulate(N, seeds=S, **kw)
    return out


if __name__ == "__main__":
    bias = "--bias" in sys.argv[1:]
    res = make_bias() if bias else make()
    nd.save_results(ROOT / "book" / "data" / ("neural_ode_dmft_bias.npz" if bias else "neural_ode_dmft_runs.npz"), **res)
    for k, r in res.items():
        print(k, r.n_seeds, "seeds", f"{r.wall_time:.1f} s")
