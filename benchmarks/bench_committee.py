"""Benchmark: the Saad-Solla ODEs of the soft committee machine (``dmftlib.committee.ode``), time and accuracy.

K = M = 2, 4, 8, eta = 0.1, t = 0 .. 3000 (output every unit of time), the default initial condition
``committee.initial_overlaps(K, M, seed=0)``. Accuracy: plateau height and escape time
(``benchmarks/_committee_metrics.py``) against a reference run (``method="adaptive"``, rtol 1e-12,
atol 1e-14). Records (``benchmarks/results/committee_ode.json``): ``method="adaptive"`` (default tolerances)
against K; ``method="rk4"`` (default step 0.2) at K = M = 2; one right-hand-side evaluation, the
generic ``_rhs`` against the ``_FastRHS`` used by ``ode``. If ``results/peer_pyscm.json`` exists, the
peer's plateau and escape time are compared with the same reference and the speed-ups are printed.
Run: ``OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_committee.py`` (about 2 minutes of CPU).
"""
import json
import sys
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _committee_metrics import plateau_and_escape  # noqa: E402
from _common import RESULTS, fit_exponent, measure, write_results  # noqa: E402

from dmftlib import committee as cm  # noqa: E402

ETA, T_MAX = 0.1, 3000.0
KS = (2, 4, 8)


def rel(a, b):
    return None if a is None or b is None else float(a / b - 1)


def main():
    t = np.linspace(0.0, T_MAX, int(T_MAX) + 1)
    refs, records, lines = {}, [], []
    for K in KS:
        th = cm.ode(K, K, ETA, t, method="adaptive", rtol=1e-12 if K < 8 else 1e-11, atol=1e-14)
        refs[K] = plateau_and_escape(t, th.eg)
        print(f"reference K={K}: plateau {refs[K][0]:.8f}, escape {refs[K][1]}", flush=True)
    cpu_a, acc_a = [], []
    for K in KS:
        cpu, _, th = measure(lambda: cm.ode(K, K, ETA, t, method="adaptive"), repeat=2, memory=False)
        p, e = plateau_and_escape(t, th.eg)
        cpu_a.append(cpu)
        acc_a.append((rel(p, refs[K][0]), rel(e, refs[K][1])))
        print(f"adaptive K={K}: {cpu:.3f} s, plateau {acc_a[-1][0]:.1e}, escape {acc_a[-1][1]}", flush=True)
    records.append(dict(
        name="committee.ode(method='adaptive')", size_name="K", sizes=list(KS), cpu_s=cpu_a, mem_mb=None,
        exponent=fit_exponent(KS, cpu_a), rel_error_plateau=[a[0] for a in acc_a],
        rel_error_escape=[a[1] for a in acc_a],
        note=("K=M, eta=0.1, t=3000, DOP853 rtol=1e-9, atol=1e-12; relative errors (plateau, escape time) vs "
              "rtol=1e-12: " + "; ".join(f"K={K}: {a[0]:.1e}, " + ("no escape by t=3000" if a[1] is None else f"{a[1]:.1e}")
                                         for K, a in zip(KS, acc_a)))))
    cpu_r, acc_r = [], []
    for K in KS[:1]:
        cpu, _, th = measure(lambda: cm.ode(K, K, ETA, t), repeat=1, memory=False)
        p, e = plateau_and_escape(t, th.eg)
        cpu_r.append(cpu)
        acc_r.append((rel(p, refs[K][0]), rel(e, refs[K][1])))
        print(f"rk4 K={K}: {cpu:.3f} s, plateau {acc_r[-1][0]:.1e}, escape {acc_r[-1][1]}", flush=True)
    records.append(dict(
        name="committee.ode(method='rk4')", size_name="K", sizes=list(KS[:1]), cpu_s=cpu_r, mem_mb=None,
        exponent=None, rel_error_plateau=[a[0] for a in acc_r],
        rel_error_escape=[a[1] for a in acc_r],
        note=("K=M, eta=0.1, t=3000, RK4 dt=0.2 (15000 steps); relative errors (plateau, escape time): "
              + "; ".join(f"K={K}: {a[0]:.1e}, {a[1]:.1e}" for K, a in zip(KS, acc_r)))))
    us_old, us_new = [], []
    for K in KS:
        ov = cm.initial_overlaps(K, K)
        f = cm._FastRHS(K, K, ov.T, ov.v_star, ETA)
        us_old.append(1e6 * min(timeit.repeat(lambda: cm._rhs(ov.Q, ov.R, ov.T, ov.v, ov.v_star, ETA), number=200, repeat=5)) / 200)
        us_new.append(1e6 * min(timeit.repeat(lambda: f(ov.Q, ov.R, ov.v), number=200, repeat=5)) / 200)
    records.append(dict(
        name="committee right-hand side (one evaluation, _FastRHS)", size_name="K", sizes=list(KS),
        cpu_s=[u * 1e-6 for u in us_new], mem_mb=None, exponent=fit_exponent(KS, us_new),
        note="K=M; microseconds per call, generic _rhs -> _FastRHS: " + ", ".join(
            f"K={K}: {a:.0f} -> {b:.0f}" for K, a, b in zip(KS, us_old, us_new)) + " (wall time of timeit, best of 5)"))
    peer = RESULTS / "peer_pyscm.json"
    if peer.exists():
        for r in json.loads(peer.read_text())["records"]:
            if "plateau" not in r or r.get("plateau") is None:
                continue
            K = r["sizes"][0]
            i = KS.index(K)
            lines.append(f"pyscm K={K}: plateau {rel(r['plateau'], refs[K][0]):.1e}, escape "
                         f"{rel(r['t_escape'], refs[K][1])}; speed-up of adaptive {r['cpu_s'][0] / cpu_a[i]:.1f}x")
        for r in json.loads(peer.read_text())["records"]:
            if len(r["sizes"]) > 1:
                lines.append("speed-up vs pyscm (t=3000): " + ", ".join(
                    f"K={K}: {c / a:.0f}x" for K, c, a in zip(r["sizes"], r["cpu_s"], cpu_a)))
        records[0]["note"] += "; " + "; ".join(lines)
    for line in lines:
        print(line)
    print("wrote", write_results("committee_ode", records))


if __name__ == "__main__":
    main()
