"""Regression tracking with pytest-benchmark: small sizes of every area of ``make perf``.

    OMP_NUM_THREADS=1 pytest benchmarks/ --benchmark-only                     # time them
    OMP_NUM_THREADS=1 pytest benchmarks/ --benchmark-only --benchmark-autosave   # keep a run in .benchmarks/
    OMP_NUM_THREADS=1 pytest benchmarks/ --benchmark-only --benchmark-compare --benchmark-compare-fail=mean:25%

The scaling with size, the peers and the Performance page are the job of ``bench_*.py`` and
``tools/perf_page.py``; here each case is one small, fixed size (well under a second), so that a
slow-down shows up in a comparison with a saved run. Each case also checks that its result is finite.
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytest_benchmark")

from dmftlib import cavity, committee, linear, rnn, sgd  # noqa: E402
from dmftlib import random_features as rf  # noqa: E402

T = np.linspace(0.0, 10.0, 41)

CASES = {
    # two-time solvers
    "twotime/linear.gradient_flow_dmft": lambda: linear.gradient_flow_dmft(2.0, 0.25, np.linspace(0.0, 5.0, 41)),
    "twotime/cavity.theory": lambda: cavity.theory(0.8, t_max=5.0, n_t=41),
    # sampling solvers
    "sampling/rnn.sampling_dmft": lambda: rnn.sampling_dmft(1.5, t_max=3.0, n_t=31),
    # committee ODE
    "committee/committee.ode": lambda: committee.ode(2, 2, 1.0, np.linspace(0.0, 5.0, 6)),
    # simulations
    "simulations/linear.simulate_gradient_flow": lambda: linear.simulate_gradient_flow(100, 2.0, 0.25, T, seeds=4),
    "simulations/random_features.simulate": lambda: rf.simulate(50, 1.0, 0.5, 0.0, T, seeds=range(4)),
    "simulations/sgd.simulate": lambda: sgd.simulate(100, 2.0, 0.25, 0.2, 0.1, 10.0, seeds=range(4)),
    "simulations/sgd.simulate_online": lambda: sgd.simulate_online(100, 8, 0.25, 0.5, 4.0, seeds=range(4)),
    "simulations/committee.simulate": lambda: committee.simulate(100, 2, 2, 1.0, [0.0, 2.0, 5.0], seeds=range(4)),
}


def _finite(result):
    arrays = [np.asarray(v) for v in vars(result).values()
              if isinstance(v, np.ndarray) and np.issubdtype(v.dtype, np.floating)]
    return all(np.all(np.isfinite(a)) for a in arrays)


@pytest.mark.parametrize("case", list(CASES))
def test_benchmark(benchmark, case):
    benchmark.group = case.split("/")[0]
    result = benchmark(CASES[case])
    assert _finite(result)
