"""Shared helpers of the benchmark suite (`make perf`): measure CPU time and peak memory, write results.

Every benchmark script ``benchmarks/bench_<area>.py`` measures one area (a solver or a simulation)
over a range of sizes and writes ``benchmarks/results/<area>.json`` with :func:`write_results`.
``tools/perf_page.py`` reads every results file and writes the book's Performance page.

A record is a dict with the keys
  ``name``      what is measured, e.g. "linear.gradient_flow_dmft"
  ``size_name`` the size variable, e.g. "n" (time-grid points), "N", "S", "seeds"
  ``sizes``     list of sizes
  ``cpu_s``     list of CPU seconds (best of ``repeat``), one per size
  ``mem_mb``    list of peak traced memory in MB (NumPy allocations, via tracemalloc), or None
  ``exponent``  fitted exponent of cpu_s vs sizes (log-log least squares over the given sizes), or None
  ``note``      one line: parameters, accuracy reached, what it is compared with
Peers are measured by scripts that take the peer's checkout as an argument; their records carry
``peer: "<owner>/<repo>@<commit>"``.
Run with OMP_NUM_THREADS=1 (one BLAS thread) so that CPU time is comparable across machines.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import time
import tracemalloc
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def measure(fn, *, repeat=3, memory=True):
    """Run ``fn()`` ``repeat`` times; return (best CPU seconds, peak traced MB of one run, last value)."""
    best = np.inf
    value = None
    for _ in range(repeat):
        t0 = time.process_time()
        value = fn()
        best = min(best, time.process_time() - t0)
    peak = None
    if memory:
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return best, peak, value


def fit_exponent(sizes, times):
    """Least-squares slope of log(time) against log(size)."""
    x, y = np.log(np.asarray(sizes, float)), np.log(np.asarray(times, float))
    return float(np.polyfit(x, y, 1)[0]) if len(x) >= 2 else None


def machine():
    """A one-line description of the machine and the BLAS threads."""
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, NumPy {np.__version__}, "
            f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")


def write_results(area, records):
    """Write ``benchmarks/results/<area>.json`` with the records, the date and the machine."""
    RESULTS.mkdir(exist_ok=True)
    out = {"area": area, "date": datetime.date.today().isoformat(), "machine": machine(),
           "records": records}
    path = RESULTS / f"{area}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    return path
