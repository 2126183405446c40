"""Peer benchmark: the Saad-Solla ODEs of sgoldt/pyscm (Cython, Euler steps) at the settings of bench_committee.py.

Usage (the peer's checkout, built in place in a throw-away venv with numpy, scipy and Cython)::

    python -m venv /tmp/pyscm_venv && /tmp/pyscm_venv/bin/pip install cython numpy scipy setuptools
    git --git-dir=<bare repo> archive HEAD | tar -x -C /tmp/pyscm
    (cd /tmp/pyscm && /tmp/pyscm_venv/bin/python setup.py build_ext --inplace)
    OMP_NUM_THREADS=1 /tmp/pyscm_venv/bin/python benchmarks/peers/pyscm.py /tmp/pyscm <owner/repo@commit>

The peer integrates with its own ``scm_ode_erf.propagate`` (Euler, ``dt = 0.01``, as in its
``examples/scm_ode.py``) and evaluates the generalization error with its own
``scm.eg_white_inputs_orderparameters``, on the output grid ``t = 0, 1, ..., t_max``. The initial
condition is that of ``dmftlib.committee.initial_overlaps(K, M, seed=0)`` (rebuilt here with NumPy:
``Q = 0.25 I``, ``R = 0.01 z`` with ``z`` from ``default_rng(0)``), ``T = I``, erf activations, no
noise, no weight decay, learning rate ``eta = 0.1``. Its time per unit of training time is constant
(fixed steps), so for K = M = 4 and 8 a shorter run is measured and its time scaled to ``t_max``
(``cpu_s`` holds the scaled value; ``note`` gives the measured span).
Writes ``benchmarks/results/peer_pyscm.json``.
"""
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from _common import write_results  # noqa: E402
from _committee_metrics import plateau_and_escape  # noqa: E402

ETA, T_MAX, DT = 0.1, 3000.0, 0.01
SPANS = {2: 3000.0, 4: 300.0, 8: 30.0}     # measured span per K (time per unit time is constant)


def run(checkout, K, span):
    sys.path.insert(0, str(checkout))
    from scm import scm
    from scm.ode import scm_ode_erf
    Q = 0.25 * np.eye(K)
    R = 0.01 * np.random.default_rng(0).standard_normal((K, K))
    T = np.eye(K)
    ts, egs = [0.0], [scm.eg_white_inputs_orderparameters(Q, R, T, scm.g_erf, scm.g_erf, False)]
    t = 0.0
    c0 = time.process_time()
    for _ in range(int(span)):
        t, Q, R = scm_ode_erf.propagate(1.0, DT, 2 * K, t, Q, R, T, ETA, 0.0, 0.0, 0)
        Q, R = np.array(Q), np.array(R)
        ts.append(float(round(t)))
        egs.append(scm.eg_white_inputs_orderparameters(Q, R, T, scm.g_erf, scm.g_erf, False))
    cpu = time.process_time() - c0
    return cpu, np.array(ts), np.array(egs)


def main(checkout, peer):
    records = []
    for K, span in SPANS.items():
        cpu, t, eg = run(checkout, K, span)
        plateau, t_esc = plateau_and_escape(t, eg) if span >= T_MAX else (None, None)
        scaled = cpu * T_MAX / span
        print(f"K = M = {K}: {cpu:.2f} s CPU for t = {span:g} -> {scaled:.1f} s for t = {T_MAX:g}; "
              f"plateau {plateau}, escape {t_esc}", flush=True)
        records.append(dict(
            name=f"pyscm scm_ode_erf.propagate K=M={K}", size_name="K", sizes=[K], cpu_s=[scaled], mem_mb=None,
            exponent=None, peer=peer, plateau=plateau, t_escape=t_esc, t_measured=span,
            note=(f"Euler dt={DT}, eta={ETA}, t_max={T_MAX:g}; measured {cpu:.2f} s for t = {span:g}"
                  + (f" (scaled linearly to t = {T_MAX:g})" if span < T_MAX else "")
                  + (f"; plateau eg {plateau:.7f}, escape time {t_esc:.3f}" if t_esc is not None else ""))))
    if len(records) > 1:
        ks = [r["sizes"][0] for r in records]
        cs = [r["cpu_s"][0] for r in records]
        records.append(dict(name="pyscm scm_ode_erf.propagate", size_name="K", sizes=ks, cpu_s=cs, mem_mb=None,
                            exponent=float(np.polyfit(np.log(ks), np.log(cs), 1)[0]), peer=peer,
                            note=f"CPU for t = {T_MAX:g} (eta={ETA}, Euler dt={DT}), K = M"))
    path = write_results("peer_pyscm", records)
    print("wrote", path)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: pyscm.py <checkout> <owner/repo@commit>")
    main(Path(sys.argv[1]), sys.argv[2])
