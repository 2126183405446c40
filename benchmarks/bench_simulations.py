"""Benchmark of the finite-N simulations against naive per-seed NumPy loops (issue 17, goal 3).

Run from the repository root (one BLAS thread, so that CPU times compare across machines):

    OMP_NUM_THREADS=1 python benchmarks/bench_simulations.py [--quick]

Writes ``benchmarks/results/simulations.json`` (records in the format of ``_common.py``). For each
simulation: its scaling in the size ``N`` (at fixed seeds) and in the number of seeds ``S`` (at
fixed ``N``), and one comparison at the size a chapter uses. Every library record has a twin, the
naive per-seed loop of ``benchmarks/naive.py`` (same draws, plain 2-D ``@``), whose key
``baseline_for`` names the library record; ``speedup`` (naive time / library time, one per size)
is stored on the library record. ``--quick`` runs tiny sizes only (for the tests of the suite).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import naive  # noqa: E402
from _common import fit_exponent, measure, write_results  # noqa: E402

from dmftlib import committee as cm  # noqa: E402
from dmftlib import linear  # noqa: E402
from dmftlib import random_features as rf  # noqa: E402
from dmftlib import sgd  # noqa: E402

T_LIN = np.linspace(0.0, 100.0, 101)
T_RF = np.geomspace(1e-2, 1e3, 40)[::4]


def _lin(N, S, t=T_LIN):
    return (lambda: linear.simulate_gradient_flow(N, 2.0, 0.25, t, seeds=range(S)),
            lambda: naive.linear_gradient_flow(N, 2.0, 0.25, t, range(S)))


def _rf(N, S):
    return (lambda: rf.simulate(N, 1.0, 0.5, 0.0, T_RF, seeds=range(S)),
            lambda: naive.random_features_linear(N, 1.0, 0.5, 0.0, T_RF, range(S)))


def _sgd(N, S):
    return (lambda: sgd.simulate(N, 2.0, 0.25, 0.2, 0.1, 20.0, seeds=range(S)),
            lambda: naive.sgd_multipass(N, 2.0, 0.25, 0.2, 0.1, 20.0, range(S)))


def _online(N, S):
    return (lambda: sgd.simulate_online(N, 8, 0.25, 0.5, 4.0, seeds=range(S)),
            lambda: naive.sgd_online(N, 8, 0.25, 0.5, 4.0, range(S)))


def _committee(N, S, K=2, M=2, t_max=10.0):
    t = np.arange(0.0, t_max + 0.5, 1.0)
    return (lambda: cm.simulate(N, K, M, 1.0, t, seeds=range(S)),
            lambda: naive.committee(N, K, M, 1.0, t, range(S)))


def cases(quick=False):
    """``(name, size_name, sizes, make(size) -> (library fn, naive fn), note)`` of every measurement."""
    q = quick
    return [
        ("linear.simulate_gradient_flow", "N", [20, 40] if q else [100, 200, 400, 800],
         lambda n: _lin(n, 8), "alpha = 2 (P = 2N), sigma2 = 1/4, 101 times, 8 seeds"),
        ("linear.simulate_gradient_flow", "seeds", [2, 4] if q else [2, 4, 8, 16],
         lambda s: _lin(40 if q else 400, s), "N = 400, alpha = 2, 101 times"),
        ("random_features.simulate", "N", [20, 40] if q else [50, 100, 200, 400],
         lambda n: _rf(n, 10), "linear features, alpha = 1, nu = 1/2, 10 times, 10 seeds, 4 models per seed"),
        ("random_features.simulate", "seeds", [2, 4] if q else [3, 5, 10, 20],
         lambda s: _rf(20 if q else 200, s), "N = 200, alpha = 1, nu = 1/2, 10 times"),
        ("sgd.simulate", "N", [20, 40] if q else [125, 250, 500, 1000],
         lambda n: _sgd(n, 6), "multi-pass SGD, alpha = 2, eta = 0.2, b = 0.1, 100 steps, 6 seeds"),
        ("sgd.simulate", "seeds", [2, 4] if q else [2, 4, 8, 16],
         lambda s: _sgd(20 if q else 250, s), "N = 250, alpha = 2, eta = 0.2, b = 0.1, 100 steps"),
        ("sgd.simulate_online", "N", [20, 40] if q else [125, 250, 500, 1000],
         lambda n: _online(n, 8), "batch B = 8, g = 0.5, t = 4 (N steps), 8 seeds"),
        ("committee.simulate", "N", [20, 40] if q else [100, 200, 400, 800],
         lambda n: _committee(n, 4, t_max=2.0 if q else 10.0), "K = M = 2, eta = 1, t = 10 (10 N steps), 4 seeds"),
        ("committee.simulate", "seeds", [2, 4] if q else [2, 4, 8, 16],
         lambda s: _committee(20 if q else 400, s, t_max=2.0 if q else 10.0), "N = 400, K = M = 2, t = 10"),
    ]


def chapter_cases(quick=False):
    """One comparison at the size of a chapter (``book/part3/*``): ``(name, N, (lib, naive), note)``."""
    if quick:
        return [("linear.simulate_gradient_flow", 20, _lin(20, 2), "quick")]
    t13 = np.concatenate([[0.0], np.geomspace(1e-2, 300.0, 16)])
    init1 = {"Q": [[0.2]], "R": [[0.1]]}
    t1 = np.linspace(0.0, 40.0, 41)
    return [
        ("linear.simulate_gradient_flow", 400, _lin(400, 8),
         "issue 17: N = 400, P = 800, 101 times, 8 seeds"),
        ("linear.simulate_gradient_flow", 1000, _lin(1000, 8, t13),
         "linear_regression: N = 1000, P = 2000, 17 times, 8 seeds"),
        ("random_features.simulate", 200, (lambda: rf.simulate(200, 1.0, 0.5, 0.0, T_RF, seeds=range(10)),
                                           lambda: naive.random_features_linear(200, 1.0, 0.5, 0.0, T_RF, range(10))),
         "random_features: N = 200, P = 200, M = 100, 10 times, 10 seeds"),
        ("sgd.simulate", 1000, _sgd(1000, 6), "sgd: N = 1000, P = 2000, 100 steps, 6 seeds"),
        ("sgd.simulate", 250, _sgd(250, 16), "sgd: N = 250, P = 500, 100 steps, 16 seeds"),
        ("sgd.simulate_online", 1000, _online(1000, 8), "sgd: N = 1000, B = 8, 1000 steps, 8 seeds"),
        ("committee.simulate", 400, (lambda: cm.simulate(400, 1, 1, 1.0, t1, seeds=range(4), init=init1),
                                     lambda: naive.committee(400, 1, 1, 1.0, t1, range(4), init=init1)),
         "committee: N = 400, K = M = 1, 16000 steps, 4 seeds"),
        ("committee.simulate", 1000, _committee(1000, 8, t_max=10.0),
         "committee data: N = 1000, K = M = 2, 10000 steps (of 100000), 8 seeds"),
    ]


def _pair(name, size_name, sizes, fns, note, repeat):
    """Measure the library and the naive loop at every size; return their two records."""
    lib, base = [], []
    for fl, fb in fns:
        lib.append(measure(fl, repeat=repeat)[:2])
        base.append(measure(fb, repeat=repeat)[:2])
    recs = []
    for label, res in ((name, lib), (f"{name} [naive per-seed loop]", base)):
        cpu = [r[0] for r in res]
        recs.append({"name": label, "size_name": size_name, "sizes": list(sizes), "cpu_s": cpu,
                     "mem_mb": [r[1] for r in res],
                     "exponent": fit_exponent(sizes, cpu) if len(sizes) >= 3 else None, "note": note})
    recs[1]["baseline_for"] = name
    recs[0]["speedup"] = [b / a for a, b in zip(recs[0]["cpu_s"], recs[1]["cpu_s"])]
    return recs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test of the suite)")
    ap.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    ap.add_argument("--only", default=None,
                    help="re-measure only the functions whose name contains this string; keep the other records "
                         "of results/simulations.json")
    args = ap.parse_args(argv)
    records = []
    keep = lambda name: args.only is None or args.only in name  # noqa: E731
    for name, size_name, sizes, make, note in cases(args.quick):
        if not keep(name):
            continue
        note = "quick run (tiny sizes)" if args.quick else note
        records += _pair(name, size_name, sizes, [make(s) for s in sizes], note, args.repeat)
        print(f"{name} vs {size_name}: done", flush=True)
    for name, N, fns, note in chapter_cases(args.quick):
        if not keep(name):
            continue
        recs = _pair(name, "N", [N], [fns], note, args.repeat)
        for r in recs:
            r["chapter"] = True
        records += recs
        print(f"{note}: speed-up {recs[0]['speedup'][0]:.2f}", flush=True)
    if args.only is not None:
        import _common
        path = _common.RESULTS / "simulations.json"
        old = json.loads(path.read_text())["records"] if path.exists() else []
        new = {(r["name"], r["size_name"], r["sizes"][0] if r.get("chapter") else None): r for r in records}
        merged = [new.pop((r["name"], r["size_name"], r["sizes"][0] if r.get("chapter") else None), r) for r in old]
        records = merged + list(new.values())
    return write_results("simulations", records)


if __name__ == "__main__":
    print(main())
