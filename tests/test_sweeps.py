"""Sweeps in-process and on a real Dask LocalCluster (worker processes, not threads)."""
import os

import cloudpickle
import numpy as np
import pytest
from numpy.testing import assert_allclose

from dmftlib.sweeps import InProcessExecutor, param_grid, sweep


def sample_mean_spread(N, scale, seed):
    """A trial whose result depends on the parameters, the seed and the process that ran it."""
    x = np.random.default_rng(seed).standard_normal(N) * scale
    return float(x.mean()), os.getpid()


def test_param_grid_order_and_errors():
    grid = param_grid({"a": [1, 2], "b": ["x", "y", "z"]})
    assert len(grid) == 6 and grid[0] == {"a": 1, "b": "x"} and grid[1] == {"a": 1, "b": "y"}
    with pytest.raises(ValueError, match="axes"):
        param_grid({})
    with pytest.raises(ValueError, match="axes\\['a'\\]"):
        param_grid({"a": []})


def test_in_process_sweep_is_deterministic():
    r1 = sweep(sample_mean_spread, {"N": [10, 1000], "scale": [1.0]}, seeds=range(4))
    r2 = sweep(sample_mean_spread, {"N": [10, 1000], "scale": [1.0]}, seeds=range(4), executor=InProcessExecutor())
    v1 = np.array([[v[0] for v in row] for row in r1.values])
    v2 = np.array([[v[0] for v in row] for row in r2.values])
    assert v1.shape == (2, 4) and np.array_equal(v1, v2)
    assert {v[1] for row in r1.values for v in row} == {os.getpid()}
    with pytest.raises(ValueError, match="seeds"):
        sweep(sample_mean_spread, {"N": [10]}, seeds=[])


def test_errors_propagate_from_tasks():
    with pytest.raises(ValueError):
        sweep(lambda N, seed: np.random.default_rng(seed).standard_normal(N), {"N": [-1]}, seeds=[0])


def test_sweep_on_dask_local_cluster_matches_in_process():
    distributed = pytest.importorskip("dask.distributed")
    # workers import nothing from the test module: ship the function by value
    import sys
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    axes = {"N": [100, 10000], "scale": [1.0, 2.0]}
    seeds = list(range(6))
    local = sweep(sample_mean_spread, axes, seeds)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, host="127.0.0.1") as cluster, \
            distributed.Client(cluster) as client:
        remote = sweep(sample_mean_spread, axes, seeds, executor=client.get_executor())
        worker_pids = set(client.run(os.getpid).values())
    values = lambda r: np.array([[v[0] for v in row] for row in r.values])
    assert_allclose(values(remote), values(local), rtol=0, atol=0)     # same seeds, same numbers
    pids = {v[1] for row in remote.values for v in row}
    assert pids <= worker_pids and os.getpid() not in pids              # really ran in worker processes
    assert remote.params == local.params and remote.seeds == tuple(seeds)
