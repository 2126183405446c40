"""tools/perf_page.py: the Performance page from a (fake) directory of benchmark results."""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import perf_page  # noqa: E402


def _rec(name, sizes, cpu, **kw):
    return dict({"name": name, "size_name": "N", "sizes": sizes, "cpu_s": cpu,
                 "mem_mb": [1.0 * s for s in sizes], "exponent": 2.0, "note": "fake"}, **kw)


def _write(d, area, records, date="2026-01-02", machine="fake machine"):
    (d / f"{area}.json").write_text(json.dumps({"area": area, "date": date, "machine": machine,
                                                "records": records}))


def test_page_from_fake_results(tmp_path):
    res = tmp_path / "results"
    res.mkdir()
    _write(res, "simulations", [
        _rec("mod.simulate", [10, 20, 40], [0.1, 0.4, 1.6], speedup=[2.0, 2.0, 2.0]),
        _rec("mod.simulate [naive per-seed loop]", [10, 20, 40], [0.2, 0.8, 3.2], baseline_for="mod.simulate"),
        _rec("mod.simulate", [100], [0.5], chapter=True, exponent=None, note="chapter size"),
        _rec("mod.simulate [naive per-seed loop]", [100], [1.5], chapter=True, exponent=None,
             baseline_for="mod.simulate"),
    ])
    _write(res, "peers", [_rec("peer.solver", [10, 20, 40], [1.0, 2.0, 4.0], peer="someone/code@abc1234",
                               compare_to="mod.simulate", date="2025-12-31", machine="peer machine")])
    (res / "broken.json").write_text("{not json")
    out = tmp_path / "front" / "performance.md"
    perf_page.write_page(res, out)
    page = out.read_text()
    assert page.startswith("# Performance")
    assert "| N | CPU s | peak MB | naive CPU s | naive peak MB | speed-up |" in page
    assert "| 20 | 0.4 | 20 | 0.8 | 20 | 2.00x |" in page
    assert "3.00x" in page                                      # the chapter-size comparison
    assert "fitted exponent of the CPU time: 2.00" in page
    assert "someone/code@abc1234" in page and "2025-12-31, peer machine" in page
    assert "Measured on 2026-01-02, fake machine." in page
    assert "broken.json" in page                                # reported, not fatal
    figs = list((tmp_path / "front" / "perf").glob("*.png"))
    assert len(figs) == 1
    assert f":::{{figure}} perf/{figs[0].name}" in page
    assert "make perf" in page


def test_page_without_results(tmp_path):
    out = tmp_path / "performance.md"
    perf_page.write_page(tmp_path / "missing", out)
    page = out.read_text()
    assert "No results yet" in page and "No peer has been measured yet" in page


def test_bench_simulations_quick_writes_records(tmp_path, monkeypatch):
    import _common
    import bench_simulations
    monkeypatch.setattr(_common, "RESULTS", tmp_path)
    first = bench_simulations.cases(True)[:1]
    monkeypatch.setattr(bench_simulations, "cases", lambda quick: first)
    path = bench_simulations.main(["--quick", "--repeat", "1"])
    data = json.loads(path.read_text())
    names = [r["name"] for r in data["records"]]
    assert "linear.simulate_gradient_flow" in names
    assert any(r.get("baseline_for") == "linear.simulate_gradient_flow" for r in data["records"])
    lib = data["records"][0]
    assert len(lib["speedup"]) == len(lib["sizes"]) and all(c > 0 for c in lib["cpu_s"])
