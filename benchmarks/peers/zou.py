"""Peer benchmark: the NumPy sampling-DMFT solver of ZouWenXuan/Dynamical-Mean-Field-Theory on the random tanh network.

Usage (the peer's checkout, e.g. ``git --git-dir=<bare repo> archive HEAD | tar -x -C /tmp/zou``)::

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/peers/zou.py /tmp/zou <owner/repo@commit>

Settings: the network of ``dmftlib.rnn.sampling_dmft`` at g = 2 (the peer's ``g = 2``, ``eta = 0`` for i.i.d.
couplings, ``sigma = 0``, ``nl = 'Tanh'``), ``T = 20``, ``dt = 0.1`` (the peer's grid is ``t = 0 .. 19.9``),
``x(0) ~ N(0, 1)`` (``dist = 'normal'``, ``scale = 1``), the same Euler scheme as ours. The peer's schedule
(its ``nIte_list`` / ``nTraj_list``): 40 iterations at 1000 trajectories, then 10 at 4000, damping 0.3
(our solver needs at least 40 iterations for the chaotic tail; the peer's example uses damping 0.7, which
needs more iterations). The peer measures the response of every trajectory on a ``(nTime, nTime, nTraj)``
array (about 2.6 GB at 4000 trajectories): its cost, as published, is part of the measurement.
Accuracy: ``C(19.9, 19.9)`` against the deterministic Euler reference (``benchmarks/_rnn_reference.py``).
Runs 3 seeds (``np.random.seed``; the peer draws from NumPy's global generator). With ``--quick``: the cost
only, from 2 iterations of each phase scaled to the schedule (for a loaded machine).
Writes ``benchmarks/results/peer_zou.json``.
"""
import contextlib
import io
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from _common import write_results  # noqa: E402
from _rnn_reference import euler_reference  # noqa: E402

G, T, DT = 2.0, 20.0, 0.1
SCHEDULE = dict(nTraj_list=[1000, 4000], nIte_list=[40, 10], damp=0.3)
SEEDS = (1, 2, 3)


def quick(checkout, peer, n_it=2):
    """Cost only: ``n_it`` iterations of each phase of the schedule, scaled to the full schedule (the cost of
    one iteration does not change along a phase); no accuracy. For a loaded machine."""
    sys.path.insert(0, str(checkout))
    from model.DMFT_numeric import DMFT_rate_model
    total, parts = 0.0, []
    for n_traj, n_ite in zip(SCHEDULE["nTraj_list"], SCHEDULE["nIte_list"]):
        np.random.seed(1)
        model = DMFT_rate_model(G, 0.0, 0.0, "Tanh", T, DT, [n_traj], [n_it], SCHEDULE["damp"], 1e-10, "normal", 1.0)
        c0 = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            model.main_loop()
        per = (time.process_time() - c0) / n_it
        parts.append(per)
        total += per * n_ite
        print(f"{n_traj} trajectories: {per:.2f} s CPU per iteration", flush=True)
    mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rec = dict(name="Zou DMFT_rate_model.main_loop (g=2, T=20, dt=0.1)", size_name="S", sizes=[4000],
               cpu_s=[total], mem_mb=[mem], exponent=None, peer=peer, cpu_s_per_iteration=parts,
               note=(f"tanh network g=2, T=20, dt=0.1; schedule {SCHEDULE}; CPU of the schedule scaled from {n_it} "
                     f"iterations per phase ({parts[0]:.2f} s and {parts[1]:.2f} s per iteration at "
                     f"{SCHEDULE['nTraj_list'][0]} and {SCHEDULE['nTraj_list'][1]} trajectories); accuracy not "
                     f"measured in this run (machine load); peak RSS {mem:.0f} MB"))
    print("wrote", write_results("peer_zou", [rec]))


def main(checkout, peer):
    sys.path.insert(0, str(checkout))
    from model.DMFT_numeric import DMFT_rate_model
    ref = euler_reference(G, T, int(round(T / DT)) + 1)
    k = int(round(T / DT)) - 1                     # the peer's last time, 19.9
    cpus, errs, late = [], [], []
    for seed in SEEDS:
        np.random.seed(seed)
        model = DMFT_rate_model(G, 0.0, 0.0, "Tanh", T, DT, SCHEDULE["nTraj_list"], SCHEDULE["nIte_list"],
                                SCHEDULE["damp"], 1e-10, "normal", 1.0)
        c0 = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            out = model.main_loop()
        cpus.append(time.process_time() - c0)
        C = out[2]
        errs.append(float(C[k, k] / ref[k, k] - 1))
        d = np.diag(C)[k // 2:k + 1] / np.diag(ref)[k // 2:k + 1] - 1
        late.append(float(np.sqrt(np.mean(d**2))))
        print(f"seed {seed}: {cpus[-1]:.1f} s CPU, C(T,T) rel. error {errs[-1]:+.4f}, late rms {late[-1]:.4f}",
              flush=True)
    mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rec = dict(name="Zou DMFT_rate_model.main_loop (g=2, T=20, dt=0.1)", size_name="S", sizes=[4000],
               cpu_s=[min(cpus)], mem_mb=[mem], exponent=None, peer=peer, cpu_s_seeds=cpus,
               rel_error_CTT_seeds=errs, late_rms_seeds=late,
               note=(f"tanh network g=2, T=20, dt=0.1; schedule {SCHEDULE}; {len(SEEDS)} seeds: CPU "
                     f"{min(cpus):.0f}-{max(cpus):.0f} s, |rel. error of C(19.9, 19.9)| up to {max(map(abs, errs)):.3f} "
                     f"(vs the Euler reference), late-diagonal rms error up to {max(late):.3f}; "
                     f"peak RSS {mem:.0f} MB"))
    print("wrote", write_results("peer_zou", [rec]))


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and sys.argv[3] != "--quick"):
        sys.exit("usage: zou.py <checkout> <owner/repo@commit> [--quick]")
    (quick if len(sys.argv) == 4 else main)(Path(sys.argv[1]), sys.argv[2])
