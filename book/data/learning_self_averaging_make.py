"""Precompute the self-averaging sweep of the chapter "Learning as a dynamical system".

The test error of gradient flow at t = 1 (teacher-student linear regression, alpha = 0.5,
sigma = 0) on independent datasets of N = 100 ... 3200, more seeds at small N. The sweep
takes about 30 s on one core (N = 3200 datasets cost ~0.3 s each), too long to repeat at
every execution of the chapter, which loads the result. Re-create it with

    OMP_NUM_THREADS=1 python book/data/learning_self_averaging_make.py

(tests/test_learning.py re-creates a small instance with the same function).
"""
from pathlib import Path

from dmftlib.learning import save_self_averaging, self_averaging

N_VALUES = (100, 200, 400, 800, 1600, 3200)
N_SEEDS = (400, 256, 160, 96, 64, 48)
# disjoint seed ranges, so that the sizes are independent: 2026 ... 2026 + 1024 - 1
_START = [2026 + sum(N_SEEDS[:k]) for k in range(len(N_SEEDS))]
SEEDS_PER_N = [range(s, s + n) for s, n in zip(_START, N_SEEDS)]
PARAMS = dict(t=1.0, alpha=0.5, sigma2=0.0)


def main(path=Path(__file__).with_name("learning_self_averaging.npz")):
    result = self_averaging(N_VALUES, seeds_per_N=SEEDS_PER_N, **PARAMS)
    save_self_averaging(result, path)
    return result


if __name__ == "__main__":
    r = main()
    print("std:", " ".join(f"{s:.4f}" for s in r.std))
    print(f"slope {r.slope:.3f} +- {r.slope_stderr_seeds:.3f} (seeds), +- {r.slope_stderr:.3f} (fit residuals)")
