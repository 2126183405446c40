"""Write the book's Performance page from the benchmark results (the last step of ``make perf``).

    python tools/perf_page.py [--results benchmarks/results] [--out book/front/performance.md]

Reads every ``<results>/*.json`` written by ``benchmarks/_common.write_results`` (whichever exist; a
missing, empty or unreadable directory gives a page that says so) and writes the page plus one PNG per
area in ``<out dir>/perf/``: a table per area (CPU time, peak traced memory, and for records that
have a naive baseline its time and the speed-up), the fitted exponents, log-log plots of time and
memory against size, and the peers' figures with the date, machine and commit of their measurement.

Record keys used beyond the format of ``_common.py`` (all optional): ``baseline_for`` (this record is a
naive baseline of the named record), ``speedup`` (baseline time / library time, per size), ``chapter``
(a single comparison at a chapter's size), ``peer`` (``owner/repo@commit``: measured on a peer's code),
``compare_to`` (on a peer record: the name of the dmftlib record it is compared with).
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
OUT = ROOT / "book" / "front" / "performance.md"

INTRO = """\
# Performance

This page is written by `make perf`: the scripts `benchmarks/bench_*.py` time the library's solvers
and simulations over a range of sizes and write `benchmarks/results/*.json`; `tools/perf_page.py`
turns those files into this page. Re-run it on your machine with

```bash
make perf
```

**What is measured.** CPU time (`time.process_time`, the best of a few runs: wall time on a shared
machine measures the other jobs too) and the peak memory of NumPy allocations (`tracemalloc`, one
run), with one BLAS thread (`OMP_NUM_THREADS=1`), so that the figures compare across machines. The
fitted exponent is the least-squares slope of log(CPU time) against log(size) over the sizes shown;
it describes the measured range only (small sizes carry fixed overheads). The machine and the date
of every measurement are given with its table. The simulations are compared with a *naive per-seed
loop* (`benchmarks/naive.py`: the same draws, one seed at a time, plain 2-D `@` products); the
speed-up is its CPU time divided by the library's.
"""


def load(results_dir):
    """``[(path, data)]`` of the readable results files, sorted by area; unreadable files are reported."""
    found, bad = [], []
    for path in sorted(Path(results_dir).glob("*.json")) if Path(results_dir).is_dir() else []:
        try:
            data = json.loads(path.read_text())
            if not isinstance(data.get("records"), list):
                raise ValueError("no records")
        except (ValueError, OSError, AttributeError) as exc:
            bad.append(f"{path.name} ({exc.__class__.__name__})")
            continue
        found.append((path, data))
    return found, bad


def _num(x, digits=3):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, int):
        return str(x)
    return f"{x:.{digits}g}"


def _size(x):
    return str(int(x)) if float(x) == int(x) else _num(float(x))


def _exp(rec):
    e = rec.get("exponent")
    return "–" if e is None else f"{e:.2f}"


def _get(lst, i):
    return lst[i] if isinstance(lst, list) and i < len(lst) else None


def record_table(rec, base=None):
    """Markdown table of one record (and its naive baseline, if any)."""
    head = [rec.get("size_name", "size"), "CPU s", "peak MB"]
    if base is not None:
        head += ["naive CPU s", "naive peak MB", "speed-up"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, s in enumerate(rec.get("sizes", [])):
        row = [_size(s), _num(_get(rec.get("cpu_s"), i)), _num(_get(rec.get("mem_mb"), i))]
        if base is not None:
            b = _get(base.get("cpu_s"), i)
            a = _get(rec.get("cpu_s"), i)
            sp = _get(rec.get("speedup"), i) or (b / a if a and b else None)
            row += [_num(b), _num(_get(base.get("mem_mb"), i)), "–" if sp is None else f"{sp:.2f}x"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _pairs(records):
    """Library records (no baseline, no peer) with their baseline record (or None), in file order."""
    def key(r, name):
        return (name, r.get("size_name"), bool(r.get("chapter")), tuple(r.get("sizes", [])) if r.get("chapter") else ())
    bases = {key(r, r["baseline_for"]): r for r in records if r.get("baseline_for")}
    return [(r, bases.get(key(r, r.get("name")))) for r in records if not r.get("baseline_for") and not r.get("peer")]


def _slug(text):
    return "".join(c if c.isalnum() else "-" for c in text).strip("-").lower()


def plot_function(title, records, path):
    """Log-log CPU time (top) and memory (bottom) against size, one column per size variable."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    rows = [r for r in records if len(r.get("sizes", [])) >= 2]
    size_names = list(dict.fromkeys(r.get("size_name", "size") for r in rows))
    if not size_names:
        return None
    fig, axes = plt.subplots(2, len(size_names), figsize=(4.4 * len(size_names), 6.4), squeeze=False)
    peer_colors = {}
    for r in rows:
        j = size_names.index(r.get("size_name", "size"))
        if r.get("peer"):
            style, label = "^:", f"{r.get('name')} ({r['peer']})"
            color = peer_colors.setdefault(label, f"C{2 + len(peer_colors) % 8}")
        elif r.get("baseline_for"):
            style, label, color = "s--", "naive per-seed loop", "C1"
        else:
            style, label, color = "o-", "dmftlib", "C0"
        if r.get("exponent") is not None:
            label += f", slope {r['exponent']:.2f}"
        for i, field in enumerate(("cpu_s", "mem_mb")):
            pts = [(s, y) for s, y in zip(r["sizes"], r.get(field) or []) if y is not None and y > 0]
            if len(pts) >= 2:
                x, y = zip(*pts)
                axes[i, j].loglog(x, y, style, color=color, ms=4, label=label)
    for ax in axes.ravel():
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    for j, name in enumerate(size_names):
        axes[0, j].set_ylabel("CPU time (s)")
        axes[1, j].set_ylabel("peak traced memory (MB)")
        axes[1, j].set_xlabel(name)
        axes[0, j].set_title(f"{title} against {name}", fontsize=9)
        axes[0, j].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return size_names


def area_section(data, fig_dir, page_dir, peers=()):
    """Markdown of one results file."""
    area = data.get("area", "?")
    records = [r for r in data["records"] if isinstance(r, dict) and "name" in r]
    own = [r for r in records if not r.get("peer")]
    out = [f"## {area}", "", f"Measured on {data.get('date', '?')}, {data.get('machine', '?')}.", ""]
    pairs = _pairs(own)
    chapter = [(r, b) for r, b in pairs if r.get("chapter")]
    if chapter:
        out += ["**At the chapters' sizes** (speed-up = naive per-seed loop time / library time):", "",
                "| function | size | CPU s | naive CPU s | speed-up |", "|---|---|---|---|---|"]
        for r, b in chapter:
            a, nb = _get(r.get("cpu_s"), 0), _get(b.get("cpu_s"), 0) if b else None
            sp = f"{nb / a:.2f}x" if a and nb else "–"
            out.append(f"| `{r['name']}` | {r.get('note', '')} | {_num(a)} | {_num(nb)} | {sp} |")
        out.append("")
    for name in dict.fromkeys(r["name"] for r, _ in pairs if not r.get("chapter")):
        group = [(r, b) for r, b in pairs if r["name"] == name and not r.get("chapter")]
        for r, b in group:
            out += [f"**`{name}` against {r.get('size_name', 'size')}** ({r.get('note', '')}); "
                    f"fitted exponent of the CPU time: {_exp(r)}"
                    + (f" (naive loop: {_exp(b)})" if b else "") + ".", "", record_table(r, b), ""]
        mine = [x for r, b in group for x in (r, b) if x is not None]
        theirs = [p for p in peers if p.get("compare_to") == name]
        fig = fig_dir / f"{_slug(area)}-{_slug(name)}.png"
        size_names = plot_function(name, mine + theirs, fig)
        if size_names:
            rel = fig.relative_to(page_dir).as_posix()
            out += [f":::{{figure}} {rel}", f":name: perf-{_slug(area)}-{_slug(name)}",
                    f":alt: CPU time and memory of {name} against " + ", ".join(size_names), "",
                    f"`{name}`: CPU time (top) and peak traced memory (bottom) against "
                    + ", ".join(size_names) + ", log-log: dmftlib (circles)"
                    + ("; the naive per-seed loop (squares, dashed)" if any(b for _, b in group) else "")
                    + ("; peers (triangles, dotted)" if theirs else "")
                    + f". One BLAS thread, measured on {data.get('date', '?')}.", ":::", ""]
    other = [p for p in peers if p.get("compare_to") not in {r["name"] for r, _ in pairs}]
    if other:
        fig = fig_dir / f"{_slug(area)}-peers.png"
        size_names = plot_function(f"{area}: peers", other, fig)
        if size_names:
            rel = fig.relative_to(page_dir).as_posix()
            out += [f":::{{figure}} {rel}", f":name: perf-{_slug(area)}-peers",
                    f":alt: CPU time and memory of the peers in {area}", "",
                    f"Peers measured for {area}: CPU time (top) and peak traced memory (bottom) against "
                    + ", ".join(size_names) + ", log-log.", ":::", ""]
    return out


def peers_section(found):
    """The peers' records, with the date, machine and commit of their measurement."""
    rows = []
    for path, data in found:
        for r in data["records"]:
            if isinstance(r, dict) and r.get("peer"):
                rows.append((path, data, r))
    out = ["## Peers", ""]
    if not rows:
        return out + ["No peer has been measured yet: the scripts `benchmarks/peers/*.py` take the peer's "
                      "checkout as an argument and write their records to `benchmarks/results/`.", ""]
    out += ["The peers' code is not part of this repository. Their figures below were measured by "
            "`benchmarks/peers/*.py` on a checkout of the commit named, on the machine and date given; "
            "re-run a script with the path of your checkout, e.g. "
            "`OMP_NUM_THREADS=1 python benchmarks/peers/<peer>.py /path/to/checkout`, then `make perf`.", "",
            "| peer (commit) | measured | size | CPU s | exponent | compared with | note |",
            "|---|---|---|---|---|---|---|"]
    for path, data, r in rows:
        sizes = ", ".join(f"{_size(s)}: {_num(c)}" for s, c in zip(r.get("sizes", []), r.get("cpu_s") or []))
        when = f"{r.get('date', data.get('date', '?'))}, {r.get('machine', data.get('machine', '?'))}"
        out.append(f"| `{r.get('name')}` ({r['peer']}) | {when} | {r.get('size_name', 'size')} | {sizes} | "
                   f"{_exp(r)} | {r.get('compare_to', '–')} | {r.get('note', '')} |")
    return out + [""]


def write_page(results_dir=RESULTS, out=OUT):
    """Write the page (and its figures); return the page's path."""
    out = Path(out)
    fig_dir = out.parent / "perf"
    found, bad = load(results_dir)
    own_by_name = {}
    for _, data in found:
        for r in data["records"]:
            if isinstance(r, dict) and not r.get("peer") and not r.get("baseline_for"):
                own_by_name.setdefault(r.get("name"), data.get("area"))
    peers_by_area = {}
    for _, data in found:
        for r in data["records"]:
            if isinstance(r, dict) and r.get("peer"):
                target = own_by_name.get(r.get("compare_to"), data.get("area"))
                peers_by_area.setdefault(target, []).append(r)
    lines = [INTRO]
    if not found:
        lines += ["*No results yet*: `benchmarks/results/` holds no readable results file. Run `make perf`.", ""]
    for _, data in found:
        if all(isinstance(r, dict) and r.get("peer") for r in data["records"]):
            continue                                   # a file of peers only: shown in the Peers section
        lines += area_section(data, fig_dir, out.parent, peers_by_area.get(data.get("area"), ()))
    lines += peers_section(found)
    if bad:
        lines += ["Unreadable results files (skipped): " + ", ".join(bad) + ".", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines).rstrip() + "\n")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    print(write_page(args.results, args.out))


if __name__ == "__main__":
    main()
