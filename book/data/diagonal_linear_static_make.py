"""Precompute the end points of the flow for the chapter *Diagonal linear networks* (section "Where the flow
stops: the sparse-recovery transition").

Usage (from the repository root, PYTHONPATH=.):
    python book/data/diagonal_linear_static_make.py       # writes diagonal_linear_static.npz (~6 min of CPU)

Theory: dmftlib.diagonal_linear.static_limit / phase_diagram (the t -> infinity limit of the DMFT).
Simulation: dmftlib.diagonal_linear.implicit_bias (the end point of the flow at finite d, exact to 1e-10),
on make_data(d, alpha, rho, 0, seed) with seeds 0, 1, ...; `make(small=True)` is a miniature through the same
code (used by the tests).
"""
from __future__ import annotations

import os
import time

import numpy as np

from dmftlib import diagonal_linear as dl

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "diagonal_linear_static.npz")


def sim_eg(d, alpha, rho, a, seeds):
    """E_g of argmin Q_a on the interpolating set, one value per seed (the flow's end point at dimension d)."""
    out = []
    for s in seeds:                               # one convex problem per data set
        X, y, bstar = dl.make_data(d, alpha, rho, 0.0, s)
        out.append(np.mean((dl.implicit_bias(X, y, a) - bstar) ** 2))
    return np.array(out)


def make(small=False):
    start = time.process_time()
    res = {}
    # 1. E_g(infinity) against alpha at rho = 0.1, theory for several a and the l1 limit
    rho = 0.1
    a_curve = (1.0, 0.1, 0.01, 0.001, 0.0)
    alphas = np.linspace(0.05, 0.95, 7 if small else 37)
    res["curve_alpha"] = alphas
    res["curve_a"] = np.array(a_curve)
    res["curve_eg"] = np.array([dl.phase_diagram(alphas, [rho], 0.0, a)[0] for a in a_curve])
    # simulations of the end point at two dimensions
    a_sim = (0.1, 0.01)
    alphas_sim = np.array([0.2, 0.5]) if small else np.round(np.arange(0.1, 0.91, 0.1), 2)
    dims = ((50, 4), (100, 4)) if small else ((200, 32), (800, 8))
    res["sim_alpha"], res["sim_a"], res["sim_d"] = alphas_sim, np.array(a_sim), np.array([d for d, _ in dims])
    for d, ns in dims:
        for a in a_sim:
            res[f"sim_{d}_{a:g}"] = np.array([sim_eg(d, al, rho, a, range(ns)) for al in alphas_sim])
    # 2. phase diagram in (alpha, rho)
    pa = np.linspace(0.05, 0.95, 5 if small else 19)
    pr = np.linspace(0.02, 0.6, 4 if small else 30)
    res["pd_alpha"], res["pd_rho"] = pa, pr
    a_pd = (0.1, 0.01, 0.001, 0.0)
    res["pd_a"] = np.array(a_pd)
    for a in a_pd:
        res[f"pd_eg_{a:g}"] = dl.phase_diagram(pa, pr, 0.0, a)
    # simulated points on a coarse grid at a = 0.01, d = 400
    ca = np.array([0.3, 0.6]) if small else np.round(np.arange(0.1, 0.91, 0.1), 2)
    cr = np.array([0.1]) if small else np.round(np.arange(0.05, 0.56, 0.1), 2)
    d, ns = (60, 2) if small else (400, 4)
    res["pdsim_alpha"], res["pdsim_rho"], res["pdsim_d"] = ca, cr, np.array(d)
    res["pdsim_eg"] = np.array([[sim_eg(d, al, r, 0.01, range(ns)) for al in ca] for r in cr])
    res["pdsim_theory"] = dl.phase_diagram(ca, cr, 0.0, 0.01)
    res["cpu_seconds"] = np.array(time.process_time() - start)
    return res


if __name__ == "__main__":
    res = make()
    np.savez_compressed(OUT, **res)
    print(f"wrote {OUT}: {len(res)} arrays, {float(res['cpu_seconds']):.0f} s of CPU")
