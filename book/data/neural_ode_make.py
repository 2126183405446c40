"""Precompute the theory curves and online-SGD simulations of the neural-ODE teacher-student chapter.

Run from the repository root:

    OMP_NUM_THREADS=1 .venv/bin/python book/data/neural_ode_make.py [--keep-short] [--procs 6]

The long online-SGD runs dominate (cost ~ seeds x N^2 x t; ``SEEDS``): one entry per process,
each under a few minutes of CPU, then merged into the stored file (the ODE entries are kept):

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python book/data/neural_ode_make.py --only matched_N250 --part /tmp/a.npz
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python book/data/neural_ode_make.py --only matched_N500 --part /tmp/b.npz
    .venv/bin/python book/data/neural_ode_make.py --merge /tmp/a.npz /tmp/b.npz

(the stored file has ``matched_N250``, 32 seeds, and ``matched_N500``, 16 seeds, to t = 300, run this way;
``matched_N1000`` is defined but was not run; ``fixed_N250``, 8 seeds, is an earlier run whose errors were
corrected to the present quadrature to first order with ``--reuse-sims``; the t <= 8 entries were computed with
an earlier Gauss-Hermite rule, as the chapter states). Without ``--only``/``--merge`` everything is recomputed
(about 30 min of CPU, spread over ``--procs`` processes); ``--keep-short`` reuses the short-horizon entries
(``width_*``, ``depth_*``, ``early_*``: t <= 8) already in the file.

Writes ``book/data/neural_ode_runs.npz`` (read with ``dmftlib.neural_ode.load_results``) and
``book/data/neural_ode_linearization.npz`` (the antisymmetric growth rates along the symmetric
plateau). ``tests/test_neural_ode.py`` re-creates a small instance (``make(small=True)``).
"""
from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from dmftlib import neural_ode as no  # noqa: E402

ETA = 2.0
T_THEORY = 600.0        # the matched ODEs, to the end of specialization (the others to T_SIM)
T_SIM = 300.0           # online SGD, through specialization
T_SHORT = 8.0           # the early-phase experiments (width, depth)
NODES = 31              # trapezoidal nodes per student dimension (eg within 0.2% of 51 nodes on the plateau)
NODES_FINE = NODES
DT = 1.0                # RK4 step of the long ODE runs after t = 8 (0.25 before: the output grid)
LIN_TIMES = (8.0, 16.0, 32.0, 50.0, 100.0, 200.0, 300.0)
NS = (250, 500, 1000)   # online SGD through specialization
SEEDS = {250: 32, 500: 16, 1000: 8}   # seeds per N (cost ~ seeds x N^2 x t: about 1, 1.5 and 1.3 min of CPU; N = 1000 not run yet)
T_SIM_N = {1000: 200.0}  # N = 1000 only through the escape onset (t = 300 would be 7 min of CPU)
NODES_OLD = 10          # Gauss-Hermite nodes per dimension of the stored simulations (--reuse-sims)
KICK = 1e-3             # size of the antisymmetric kick given to the symmetric run at t = 8


def symmetric_setup(s: no.Setup) -> no.Setup:
    """The same problem started in the exchange-symmetric subspace (both rows of R0 replaced by their mean)."""
    return dataclasses.replace(s, R0=np.repeat(s.R0.mean(axis=0, keepdims=True), s.K, axis=0))


def theory_times(t_max: float = T_THEORY) -> np.ndarray:
    """Every 0.25 up to t = 8, then every 1 (RK4 steps of 0.25 and 1) up to ``t_max``."""
    return np.concatenate([np.arange(0.0, T_SHORT, 0.25), np.arange(T_SHORT, t_max + 1e-9, 1.0)])


def sim_times(t_max: float, small: bool) -> np.ndarray:
    if small:
        return np.linspace(0.0, t_max, 5)
    # early points, a log grid on the plateau, every 10 through the escape (escape times are interpolated)
    return np.unique(np.concatenate([[0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0],
                                     np.round(np.geomspace(10.0, 60.0, 8), 1), np.arange(70.0, t_max + 1e-9, 10.0)]))


def jobs(small: bool = False, keep_short: bool = False) -> dict:
    """name -> (function, args, kwargs): every result of the chapter."""
    L = 4 if small else 8
    s = no.setup(K=2, M=2, L=L)
    nq = 15 if small else NODES
    t_th = np.linspace(0.0, 1.0, 11) if small else theory_times()
    t_sim = sim_times(1.0 if small else T_SIM, small)
    seeds = range(4) if small else range(8)
    dt = 0.1 if small else DT
    t_aux = t_th if small else theory_times(T_SIM)
    J = {"matched": (no.theory, (s, ETA, t_th), dict(n_nodes=nq, dt=dt)),
         "symmetric": (no.theory, (symmetric_setup(s), ETA, t_aux), dict(n_nodes=nq, dt=dt)),
         "fixed": (no.theory, (s, ETA, t_aux), dict(eta_theta=0.0, n_nodes=nq, dt=dt))}
    for N in ((200, 400) if small else NS):
        t_N = t_sim if small else sim_times(T_SIM_N.get(N, T_SIM), small)
        J[f"matched_N{N}"] = (no.simulate, (N, s, ETA, t_N, seeds if small else range(SEEDS[N])), dict(n_nodes=nq))
    J["fixed_N400" if small else "fixed_N250"] = (no.simulate, (400 if small else 250, s, ETA, t_sim, seeds),
                                                   dict(eta_theta=0.0, n_nodes=nq))
    if small:
        J["matched_fine"] = (no.theory, (s, ETA, t_th), dict(n_nodes=nq + 4, dt=dt))
    if small or keep_short:
        return J
    # the early phase (t <= 8) at larger N
    t_early = np.linspace(0.0, T_SHORT, 17)
    J["early"] = (no.theory, (s, ETA, np.linspace(0.0, T_SHORT, 81)), dict(n_nodes=NODES_FINE))
    for N in (500, 1000, 2000, 4000):
        J[f"early_N{N}"] = (no.simulate, (N, s, ETA, t_early, seeds), dict(n_nodes=NODES_FINE))
    t_short = np.linspace(0.0, T_SHORT, 81)
    t_short_sim = np.linspace(0.0, T_SHORT, 17)
    for K in (1, 2, 3):      # a student with more directions than the teacher (M = 1)
        J[f"width_K{K}"] = (no.theory, (no.setup(K=K, M=1, L=L), ETA, t_short), dict(n_nodes=NODES))
    J["width_K3_N1000"] = (no.simulate, (1000, no.setup(K=3, M=1, L=L), ETA, t_short_sim, seeds), dict(n_nodes=NODES_FINE))
    for Ld in (1, 2, 4, 8, 16, 32):   # ResNet students of depth L, teacher = the neural ODE (32 steps)
        J[f"depth_L{Ld}"] = (no.theory, (no.setup(K=2, M=2, L=Ld, L_teacher=32), ETA, t_short), dict(n_nodes=NODES))
    J["depth_L2_N1000"] = (no.simulate, (1000, no.setup(K=2, M=2, L=2, L_teacher=32), ETA, t_short_sim, seeds),
                           dict(n_nodes=NODES))
    return J


def _cost(job):
    fn, args, _ = job
    t = np.asarray(args[3] if fn is no.simulate else args[2])
    return float(t[-1]) * (args[0] / 1000.0 if fn is no.simulate else 1.0)


def _run(item):
    name, (fn, args, kw) = item
    return name, fn(*args, **kw)


def linearization(sym: no.NeuralODETheory, s: no.Setup, times=LIN_TIMES, n_nodes=NODES) -> dict:
    """Largest growth rates of the antisymmetric and symmetric blocks of the Jacobian along the symmetric run,
    and the antisymmetric eigenvector at the first time (the direction of the kick)."""
    out = {"t": np.asarray(times, float), "anti": [], "sym": [], "eg": []}
    vec = None
    for tt in times:
        i = int(np.argmin(np.abs(sym.t - tt)))
        lin = no.linearization(s, ETA, sym.Q[i], sym.R[i], sym.A[i], sym.b[i], n_nodes=n_nodes)
        out["anti"].append(lin.antisymmetric_rate)
        out["sym"].append(lin.symmetric_rate)
        out["eg"].append(sym.eg[i])
        if vec is None:
            w, V = np.linalg.eig(lin.jacobian)
            S = no.swap_students(s.K, s.M, s.L)
            odd = np.linalg.norm(S @ V + V, axis=0) < np.linalg.norm(S @ V - V, axis=0)
            j = np.flatnonzero(odd)[np.argmax(w[odd].real)]
            vec = np.real(V[:, j]) / np.linalg.norm(np.real(V[:, j]))
    out = {k: np.asarray(v) for k, v in out.items()}
    out["kick_direction"] = vec
    return out


def kicked_setup(sym: no.NeuralODETheory, s: no.Setup, direction, t0=T_SHORT, size=KICK) -> no.Setup:
    """The symmetric run's state at ``t0`` plus ``size`` times the unstable antisymmetric eigenvector."""
    i = int(np.argmin(np.abs(sym.t - t0)))
    sysK = no.system(s.K)
    y = no._flat_state(sym.Q[i], sym.R[i], sysK.pack({"A": sym.A[i], "b": sym.b[i]})) + size * direction
    Q, R, th = no._unflat_state(y, s.K, s.M, s.L)
    cp = sysK.unpack(th)
    return dataclasses.replace(s, Q0=Q, R0=R, A0=np.array(cp["A"]), b0=np.array(cp["b"]))


def make(small: bool = False, keep_short: bool = False, procs: int = 1, theory_only: bool = False) -> dict:
    """All results of the chapter; ``small=True`` is a quick instance for the tests."""
    items = [it for it in jobs(small, keep_short).items() if not (theory_only and it[1][0] is no.simulate)]
    if procs > 1:
        import multiprocessing as mp
        items.sort(key=lambda it: -_cost(it[1]))   # longest first
        with mp.get_context("fork").Pool(procs) as pool:
            res = dict(pool.imap_unordered(_run, items))
    else:
        res = dict(map(_run, items))
    return res


def eg_gauss_hermite(sp_: no.Setup, Q, R, A, b, n: int = 10) -> float:
    """The generalization error on the 4-dimensional Gauss-Hermite tensor grid (``n`` nodes per
    dimension) that earlier versions of the module used (to correct stored simulations)."""
    import functools
    from dmftlib.core import gauss_hermite
    z, w = gauss_hermite(n)
    d = sp_.K + sp_.M
    Z = np.stack(np.meshgrid(*([z] * d), indexing="ij")).reshape(d, -1)
    W = functools.reduce(np.multiply.outer, [w] * d).ravel()
    u = no._factor(no._omega(Q, R, sp_.T)) @ Z
    theta = no.system(sp_.K).pack({"A": A, "b": b})
    y = sp_.v_star @ no._forward(no.system(sp_.M), sp_.theta_star, u[sp_.K:])[-1]
    err = y - sp_.v @ no._forward(no.system(sp_.K), theta, u[:sp_.K])[-1]
    return float(0.5 * (err ** 2) @ W)


def requadrature(sim: no.NeuralODESimulation, s: no.Setup, n_old: int, n_new: int = NODES) -> no.NeuralODESimulation:
    """A stored simulation whose errors were evaluated with ``n_old`` Gauss-Hermite nodes, corrected to the
    trapezoidal quadrature: every run's error is shifted by the quadrature difference at the seed-mean state
    (exact to first order in the spread of the states across seeds, O(1/N))."""
    corr = np.array([no.generalization_error(s, sim.Q[i], sim.R[i], sim.A[i], sim.b[i], n_nodes=n_new)
                     - eg_gauss_hermite(s, sim.Q[i], sim.R[i], sim.A[i], sim.b[i], n_old) for i in range(sim.t.size)])
    egs = sim.eg_seeds + corr[None, :]
    eg, eg_sem = no.mean_sem(egs, axis=0)
    return dataclasses.replace(sim, eg=eg, eg_sem=eg_sem, eg_seeds=egs)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep-short", action="store_true")
    ap.add_argument("--reuse-sims", action="store_true")
    ap.add_argument("--procs", type=int, default=6)
    ap.add_argument("--only", default="", help="comma-separated entries: compute only these, save them to --part")
    ap.add_argument("--part", default="", help="the file --only writes")
    ap.add_argument("--merge", nargs="*", default=None, help="partial files to merge into the stored results")
    a = ap.parse_args()
    out_path = ROOT / "book" / "data" / "neural_ode_runs.npz"
    if a.only:
        # one precomputation per process (each under ~10 min of CPU), merged afterwards with --merge
        J = jobs()
        part = dict(map(_run, [(k, J[k]) for k in a.only.split(",")]))
        no.save_results(a.part, **part)
        for k, r in part.items():
            print(f"{k}: eg(end) = {r.eg[-1]:.5f}, wall time {r.wall_time:.1f} s")
        sys.exit(0)
    if a.merge is not None:
        res = no.load_results(out_path)
        for f in a.merge:
            res.update(no.load_results(f))
    elif a.reuse_sims:
        # the long online-SGD runs of the previous version (eg from 10 Gauss-Hermite nodes per dimension),
        # corrected to the present quadrature; only the ODEs are recomputed
        old = no.load_results(out_path)
        s8 = no.setup(K=2, M=2, L=8)
        res = {k: v for k, v in make(keep_short=True, procs=1, theory_only=True).items()}
        res.update({k: requadrature(v, s8, NODES_OLD) for k, v in old.items()
                    if k.startswith(("matched_N", "fixed_N"))})
        res.update({k: v for k, v in old.items() if k.startswith(("width_", "depth_", "early"))})
    else:
        res = make(keep_short=a.keep_short, procs=a.procs)
    if a.keep_short:
        old = no.load_results(out_path)
        res.update({k: v for k, v in old.items() if k.startswith(("width_", "depth_", "early"))})
        # files written before the long runs stored the early phase as matched_N{N}, t <= 8
        res.update({("early" if k == "matched" else k.replace("matched_", "early_")): v for k, v in old.items()
                    if k.startswith("matched") and "early" not in old and v.t[-1] <= T_SHORT})
    no.save_results(out_path, **res)
    if a.merge is not None:     # the ODE runs are unchanged: keep the stored linearization
        sys.exit(0)
    s8 = no.setup(K=2, M=2, L=8)
    lin = linearization(res["symmetric"], s8)
    kick = no.theory(kicked_setup(res["symmetric"], s8, lin["kick_direction"]), ETA,
                     np.arange(0.0, T_SIM - T_SHORT + 1e-9, 2.0), n_nodes=NODES, dt=DT)
    lin["kick_t"] = kick.t + T_SHORT
    lin["kick_asym"] = no.asymmetry(kick)
    lin["kick_eg"] = kick.eg
    np.savez_compressed(ROOT / "book" / "data" / "neural_ode_linearization.npz", **lin)
    for k, r in sorted(res.items()):
        print(f"{k}: eg(end) = {r.eg[-1]:.5f}, wall time {r.wall_time:.1f} s")
    print("antisymmetric rates:", np.round(lin["anti"], 4))
