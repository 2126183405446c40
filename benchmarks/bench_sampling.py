"""Benchmark: sampling DMFT of the random tanh network (``dmftlib.rnn.sampling_dmft``), time and accuracy.

Accuracy is measured against the deterministic solution of the same Euler-discretized DMFT
(``benchmarks/_rnn_reference.py``: no Monte Carlo noise, no time-step difference), on the late diagonal:
the relative error of ``C(T, T)`` and the rms relative error over ``t >= T/2``.
Records (``benchmarks/results/sampling.json``):
  * the fast path with the stopping rule (``fast=True, target_error=0.003``, ``n_samples = 2000``) at
    g = 2, T = 20, dt = 0.1 over 5 seeds (issue 17, goal 1: 1% on the late C(t, t) in <= 5 s CPU);
  * the same against T = 10, 20, 40 (seed 1);
  * the default path against the sample count S at T = 20 (seed 1).
Run: ``OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_sampling.py`` (about 3 minutes of CPU).
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fit_exponent, measure, write_results  # noqa: E402
from _rnn_reference import euler_reference  # noqa: E402

from dmftlib import rnn  # noqa: E402

G, DT, TARGET, S_FAST = 2.0, 0.1, 0.003, 2000


def errors(C, ref):
    d = np.diag(C) / np.diag(ref) - 1
    n = ref.shape[0]
    return float(d[-1]), float(np.sqrt(np.mean(d[n // 2:] ** 2)))


def fast(T, seed, mem=False):
    n = int(round(T / DT)) + 1
    fn = lambda: rnn.sampling_dmft(G, t_max=T, n_t=n, n_samples=S_FAST, seed=seed, response=False, fast=True,  # noqa: E731
                                   target_error=TARGET, max_iter=400)
    return measure(fn, repeat=1, memory=mem)


def main():
    records = []
    refs = {T: euler_reference(G, T, int(round(T / DT)) + 1) for T in (10.0, 20.0, 40.0)}
    # goal 1: five seeds at T = 20
    cpus, errs, lates, ests, navg, mems = [], [], [], [], [], []
    for seed in range(1, 6):
        cpu, mem, res = fast(20.0, seed, mem=(seed == 1))
        e, late = errors(res.C, refs[20.0])
        cpus.append(cpu), errs.append(e), lates.append(late), ests.append(res.error_estimate), navg.append(res.n_average)
        if mem is not None:
            mems.append(mem)
        print(f"fast T=20 seed {seed}: {cpu:.2f} s, C(T,T) {e:+.4f}, late rms {late:.4f}, "
              f"estimate {res.error_estimate:.4f}, {res.n_iter} iterations ({res.n_average} averaged)", flush=True)
    ratio = float(np.sqrt(np.mean(np.square(lates))) / np.mean(ests))
    records.append(dict(
        name="rnn.sampling_dmft(fast=True, target_error=0.003)", size_name="seed", sizes=list(range(1, 6)),
        cpu_s=cpus, mem_mb=mems * 5, exponent=None, rel_error_CTT=errs, late_rms=lates, error_estimate=ests,
        n_average=navg,
        note=(f"tanh network g=2, T=20, dt=0.1, n_samples={S_FAST} in 4 chains, 5 seeds: CPU {min(cpus):.1f}-"
              f"{max(cpus):.1f} s, |rel. error of C(T,T)| <= {max(map(abs, errs)):.4f}, late-diagonal rms error "
              f"<= {max(lates):.4f} (vs the deterministic Euler reference); actual/estimated error {ratio:.2f}")))
    # against T
    Ts, cpuT, errT, lateT = [10.0, 20.0, 40.0], [], [], []
    for T in Ts:
        cpu, _, res = fast(T, 1)
        e, late = errors(res.C, refs[T])
        cpuT.append(cpu), errT.append(e), lateT.append(late)
        print(f"fast T={T:g}: {cpu:.2f} s, C(T,T) {e:+.4f}, late rms {late:.4f}", flush=True)
    records.append(dict(
        name="rnn.sampling_dmft(fast=True, target_error=0.003) vs T", size_name="T", sizes=Ts, cpu_s=cpuT,
        mem_mb=None, exponent=fit_exponent(Ts, cpuT), rel_error_CTT=errT, late_rms=lateT,
        note=("g=2, dt=0.1, n_samples=2000, seed 1; rel. errors of C(T,T): "
              + ", ".join(f"{e:+.4f}" for e in errT))))
    # the default path against S
    Ss, cpuS, errS, semS = [1000, 2000, 4000, 8000], [], [], []
    for S in Ss:
        cpu, _, res = measure(lambda: rnn.sampling_dmft(G, t_max=20.0, n_t=201, n_samples=S, seed=1, response=False),
                              repeat=1, memory=False)
        e, late = errors(res.C, refs[20.0])
        cpuS.append(cpu), errS.append(e), semS.append(float(res.C_sem[-1, -1] / refs[20.0][-1, -1]))
        print(f"default S={S}: {cpu:.2f} s, C(T,T) {e:+.4f} (sem {semS[-1]:.4f})", flush=True)
    records.append(dict(
        name="rnn.sampling_dmft (default path) vs S", size_name="S", sizes=Ss, cpu_s=cpuS, mem_mb=None,
        exponent=fit_exponent(Ss, cpuS), rel_error_CTT=errS, rel_sem_CTT=semS,
        note=("g=2, T=20, dt=0.1, seed 1, min_iter=40; rel. errors of C(T,T) "
              + ", ".join(f"{e:+.4f}" for e in errS) + " (one seed each; run-to-run scatter ~ sqrt(2/S))")))
    print("wrote", write_results("sampling", records))


if __name__ == "__main__":
    main()
