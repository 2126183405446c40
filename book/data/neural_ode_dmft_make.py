"""Precompute the finite-N online-SGD runs of the chapter "DMFT of learning in a high-dimensional
controlled neural ODE" (the chapter's main setting, ``dmftlib.neural_ode_dmft.DEFAULTS``).

Run from the repository root (about 4 min of one core; BLAS is limited to one thread inside):

    .venv/bin/python book/data/neural_ode_dmft_make.py

Writes ``book/data/neural_ode_dmft_runs.npz`` (read with ``dmftlib.neural_ode_dmft.load_results``),
with one entry ``N<N>`` per system size. ``tests/test_neural_ode_dmft.py`` re-creates a small
instance of it (``make(small=True)``).
"""
from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dmftlib import neural_ode_dmft as nd  # noqa: E402

#: N -> number of seeds (N x seeds fixed, so the standard error of the mean is the same at every N)
RUNS = {200: 64, 400: 32, 800: 16, 1600: 8}


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
    res = make()
    nd.save_results(ROOT / "book" / "data" / "neural_ode_dmft_runs.npz", **res)
    for k, r in res.items():
        print(k, r.n_seeds, "seeds", f"{r.wall_time:.1f} s")
