"""Execute every chapter in a fresh kernel; record wall time and peak memory; write the status page.

Usage: python tests/bench_chapters.py [--write book/front/status.md] [--budget 60] [notebooks...]

Each chapter runs in its own process (``jupyter nbconvert --execute``, output discarded) so
that the peak resident memory measured is that chapter's alone: the largest of the executor
and its kernel (``getrusage(RUSAGE_CHILDREN).ru_maxrss`` of a fresh wrapper process).
This is a benchmark, not a pass/fail test: it exits 0 and reports chapters over budget.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WRAPPER = r"""
import resource, subprocess, sys, time, json
t0 = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": p.returncode, "wall": wall, "cpu": ru.ru_utime + ru.ru_stime,
                  "maxrss_mb": ru.ru_maxrss / 1024, "err": p.stderr[-2000:]}))
"""


def chapters_from_toc() -> list[Path]:
    files = re.findall(r"^\s*-\s*file:\s*(\S+)", (ROOT / "_toc.yml").read_text(), flags=re.M)
    return [ROOT / (f + ".ipynb") for f in files if (ROOT / (f + ".ipynb")).exists()]


def title_of(nb: Path) -> str:
    for cell in json.loads(nb.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return nb.stem


def run_one(nb: Path, timeout: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
               f"--ExecutePreprocessor.timeout={timeout}", "--output-dir", tmp, str(nb)]
        env = dict(os.environ, PYTHONHASHSEED="0")
        out = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True,
                             cwd=nb.parent, env=env)
        return json.loads(out.stdout.strip().splitlines()[-1])


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--write", type=Path, help="status page to update between the BENCH-TABLE markers")
    ap.add_argument("--budget", type=float, default=60.0, help="seconds allowed per chapter")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--merge", action="store_true",
                    help="keep the rows of the status page for chapters not re-measured in this run")
    args = ap.parse_args(argv)
    nbs = [p.resolve() for p in args.notebooks] or chapters_from_toc()
    rows = []
    for nb in nbs:
        r = run_one(nb, args.timeout)
        status = "failed" if r["rc"] else ("ok" if r["wall"] <= args.budget else "over budget")
        rows.append((title_of(nb), nb.relative_to(ROOT).as_posix(), r["wall"], r["cpu"], r["maxrss_mb"], status))
        print(f"{rows[-1][1]:55s} {r['wall']:7.1f} s wall {r['cpu']:7.1f} s cpu {r['maxrss_mb']:8.0f} MB  {status}",
              flush=True)
        if r["rc"]:
            print(r["err"], file=sys.stderr)
    if args.write:
        lines = [f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores ({cpu_name()}), "
                 f"Python {platform.python_version()}; budget {args.budget:.0f} s per chapter.", "",
                 "| chapter | notebook | wall time (s) | CPU time (s) | peak memory (MB) | status |",
                 "|---|---|---:|---:|---:|---|"]
        page = args.write.read_text()
        start, end = "<!-- BENCH-TABLE-START -->", "<!-- BENCH-TABLE-END -->"
        head, rest = page.split(start, 1)
        old, tail = rest.split(end, 1)
        fresh = {f: (t, f, w, c, m, s) for t, f, w, c, m, s in rows}
        if args.merge:   # previous rows, parsed back, for the chapters not measured now
            for line in old.splitlines():
                cells = [x.strip() for x in line.strip().strip("|").split("|")]
                if len(cells) == 6 and cells[1].startswith("`") and cells[1].strip("`") not in fresh:
                    f = cells[1].strip("`")
                    fresh[f] = (cells[0], f, float(cells[2]), float(cells[3]), float(cells[4]), cells[5])
        order = [p.relative_to(ROOT).as_posix() for p in chapters_from_toc()]
        rows = sorted(fresh.values(), key=lambda r: order.index(r[1]) if r[1] in order else len(order))
        lines += [f"| {t} | `{f}` | {w:.1f} | {c:.1f} | {m:.0f} | {s} |" for t, f, w, c, m, s in rows]
        args.write.write_text(head + start + "\n" + "\n".join(lines) + "\n" + end + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
