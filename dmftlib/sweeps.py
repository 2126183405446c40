"""Parameter sweeps over a grid and seeds, through any ``concurrent.futures.Executor``.

The default runs in-process, one task after another. To run on a cluster, pass the executor
of a Dask ``distributed`` client::

    from dask.distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, Client(cluster) as client:
        result = sweep(fn, {"N": [100, 200]}, seeds=range(8), executor=client.get_executor())

``fn`` must be picklable (a module-level function) when the executor runs in other
processes. Each task is ``fn(**params, seed=seed)``; results are returned in grid order
whatever the order of completion.
"""
from __future__ import annotations

import itertools
import time
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from .core import ReadOnlyArrays, check_public

__all__ = ["param_grid", "SweepResult", "sweep", "InProcessExecutor"]


class InProcessExecutor(Executor):
    """An executor that runs each task at submission, in the calling process."""

    def submit(self, fn, /, *args, **kwargs):
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the future
            fut.set_exception(exc)
        return fut


def param_grid(axes: Mapping[str, Sequence]) -> list[dict]:
    """Cartesian product of named axes, last axis fastest.

    >>> param_grid({"N": [10, 20], "g": [0.5]})
    [{'N': 10, 'g': 0.5}, {'N': 20, 'g': 0.5}]
    """
    if not isinstance(axes, Mapping) or not axes:
        raise ValueError("axes must be a non-empty mapping from parameter names to sequences of values")
    names = list(axes)
    values = []
    for name in names:
        v = list(axes[name])
        if not v:
            raise ValueError(f"axes[{name!r}] must hold at least one value")
        values.append(v)
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


@dataclass(frozen=True)
class SweepResult(ReadOnlyArrays):
    """Results of ``fn`` over a grid and seeds.

    Attributes
    ----------
    params : list of dict, the grid points in order.
    seeds : tuple of int.
    values : list of lists, ``values[i][j]`` = ``fn(**params[i], seed=seeds[j])``.
    wall_time : float, seconds for the whole sweep.
    """

    params: list
    seeds: tuple
    values: list
    wall_time: float

    def stack(self) -> np.ndarray:
        """``values`` as an array of shape ``(n_params, n_seeds, ...)`` (results must be arrays of one shape)."""
        return np.asarray(self.values, dtype=np.float64)


def sweep(fn: Callable[..., Any], axes: Mapping[str, Sequence], seeds: Sequence[int],
          executor: Executor | None = None) -> SweepResult:
    """Run ``fn(**params, seed=seed)`` for every grid point and seed.

    Parameters
    ----------
    fn : callable
    axes : mapping name -> sequence of values (see :func:`param_grid`).
    seeds : sequence of int, at least one.
    executor : concurrent.futures.Executor, optional
        In-process by default; a Dask client's ``get_executor()`` runs the tasks on its workers.

    Examples
    --------
    >>> def trial(N, seed):
    ...     return float(np.random.default_rng(seed).standard_normal(N).mean())
    >>> res = sweep(trial, {"N": [10, 1000]}, seeds=[0, 1, 2])
    >>> res.stack().shape
    (2, 3)
    """
    if not callable(fn):
        raise ValueError("fn must be callable")
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    grid = param_grid(axes)
    ex = executor if executor is not None else InProcessExecutor()
    start = time.perf_counter()
    futures = [[ex.submit(fn, **p, seed=s) for s in seeds] for p in grid]
    values = [[f.result() for f in row] for row in futures]
    return SweepResult(params=grid, seeds=seeds, values=values, wall_time=time.perf_counter() - start)


check_public(globals())
