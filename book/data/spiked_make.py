"""Precompute the data of the chapter book/part3/spiked_matrix_tensor.ipynb.

* theory vs simulation: the DMFT of gradient descent, heavy ball and Nesterov at
  (1/Delta_2, Delta_p) = (2.5, 1), and finite-N runs (dense p = 3 tensor) at N = 128, 256, 512,
  every seed running the three methods on the same disorder;
* the escape-time scan: the DMFT time to reach m > 0.5 from m0 = 1e-6 against 1/Delta_2, for the
  three methods (Delta_p = 1), and the same at Delta_p = 0.5 and 2 for the threshold in the
  (Delta_p, 1/Delta_2) plane.

Run from the repository root:  PYTHONPATH=. python book/data/spiked_make.py  (``--phase-only``: only the
scans at other Delta_p, added to an existing file)
(about 5 minutes of CPU; writes book/data/spiked_runs.npz, re-written after each stage).
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from dmftlib.pspin import spiked as sp  # noqa: E402

DELTA2, DELTAP, ALPHA, BETA, M0 = 0.4, 1.0, 0.1, 0.9, 0.15
SIZES = ((128, 48), (256, 24), (512, 8))
T_MAX, EVERY = 8.0, 2
SCAN_INV = (2.4, 2.5, 2.75, 3.0, 3.5, 4.0, 5.0)
SCAN_ALPHA, SCAN_M0, SCAN_T_MAX = 0.15, 1e-6, 350.0
PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spiked_runs.npz")


def make(path=PATH, sizes=SIZES, t_max=T_MAX, scan_inv=SCAN_INV, scan_t_max=SCAN_T_MAX, every=EVERY, log=None):
    """Write the chapter's data to ``path`` (re-written after each stage, so a partial run is usable)."""
    out = {"params": np.array([DELTA2, DELTAP, ALPHA, BETA, M0, SCAN_ALPHA, SCAN_M0])}
    for method in sp.SPIKED_METHODS:
        th = sp.spiked_dmft(DELTA2, DELTAP, method, alpha=ALPHA, beta=BETA, m0=M0, t_max=t_max, every=every)
        for f in ("t", "m", "energy", "mu"):
            out[f"theory/{method}/{f}"] = getattr(th, f)
    out["scan/inv_delta2"] = np.asarray(scan_inv, dtype=float)
    for method in sp.SPIKED_METHODS:
        tesc = []
        for inv in scan_inv:
            th = sp.spiked_dmft(1.0 / inv, DELTAP, method, alpha=SCAN_ALPHA, beta=BETA, m0=SCAN_M0,
                                t_max=scan_t_max, stop_at=0.5)
            tesc.append(sp.spiked_escape_time(th))
            if log:
                log(f"scan {method} 1/Delta2 = {inv}: t = {tesc[-1]:.2f}")
        out[f"scan/{method}/t_escape"] = np.asarray(tesc)
    np.savez_compressed(path, **out)
    for N, n_seeds in sizes:
        start = time.process_time()
        sims = sp.spiked_simulate_methods(N, DELTA2, DELTAP, alpha=ALPHA, beta=BETA, m0=M0, t_max=t_max,
                                          seeds=n_seeds, every=every)
        for method, sim in sims.items():
            for f in ("t", "m_seeds", "energy_seeds", "mu"):
                out[f"sim/{N}/{method}/{f}"] = getattr(sim, f)
        np.savez_compressed(path, **out)
        if log:
            log(f"N = {N}: {n_seeds} seeds, {time.process_time() - start:.0f} s CPU")
    return path


PHASE_DELTAP = (0.5, 2.0)
PHASE_OFFSETS = (0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


def make_phase(path=PATH, deltaps=PHASE_DELTAP, offsets=PHASE_OFFSETS, t_max=SCAN_T_MAX, log=None):
    """Add escape-time scans at other Delta_p (1/Delta_2 = threshold + offsets) to the file ``path``."""
    out = dict(np.load(path))
    for dp in deltaps:
        inv = float(sp.spiked_threshold(dp)) + np.asarray(offsets, dtype=float)
        out[f"phase/{dp:g}/inv_delta2"] = inv
        for method in sp.SPIKED_METHODS:
            tesc = []
            for x in inv:
                th = sp.spiked_dmft(1.0 / x, dp, method, alpha=SCAN_ALPHA, beta=BETA, m0=SCAN_M0, t_max=t_max,
                                    stop_at=0.5)
                tesc.append(sp.spiked_escape_time(th))
                if log:
                    log(f"phase Delta_p = {dp:g} {method} 1/Delta2 = {x:.3f}: t = {tesc[-1]:.2f}")
            out[f"phase/{dp:g}/{method}/t_escape"] = np.asarray(tesc)
        np.savez_compressed(path, **out)
    return path


if __name__ == "__main__":
    t0 = time.process_time()
    if "--phase-only" not in sys.argv:
        make(log=lambda s: print(s, flush=True))
    make_phase(log=lambda s: print(s, flush=True))
    print(f"done: {time.process_time() - t0:.0f} s CPU")
