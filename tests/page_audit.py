"""Layout audit of the built book in headless Chromium at 1280 px (issue 19): equations that overflow their
column, raw cross-reference labels left in the text, and code cells that scroll sideways.

Used by ``tests/test_browser.py`` (the checks run on every page inside the browser test) and as a script
for authors, on an HTML build (``jupyter-book build --all .`` writes ``_build/html``):

    .venv/bin/python tests/page_audit.py _build/html [book/part3/sgd.html ...]

(``--write-known`` rewrites ``tests/layout_known.json``, the per-page counts the browser test still
tolerates, from a run over every page: the counts may only go down.)

prints, per page, every display equation wider than its column (width in px, the column width, its
number and the start of its TeX), every raw label, and the number of code cells that scroll.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: JavaScript run on a typeset page: display equations wider than their column, and code cells that scroll.
LAYOUT_REPORT = r"""
const wide = [];
for (const c of document.querySelectorAll('mjx-container[display="true"]')) {
  const m = c.querySelector('mjx-math');
  if (!m) continue;
  const host = c.closest('div.math, div.MathJax_Display, .output_latex, .output, .cell_output') || c.parentElement;
  const avail = Math.min(host.clientWidth, (document.querySelector('main, article, .bd-article') || host).clientWidth);
  const w = m.getBoundingClientRect().width;
  if (w > avail + 1) {
    let tex = '';
    try { tex = MathJax.startup.document.getMathItemsWithin(c)[0].math; } catch (e) {}
    const eq = (c.closest('div.math') || c).querySelector('.eqno');
    wide.push({width: Math.round(w), column: Math.round(avail), number: eq ? eq.textContent.replace(/[#()]/g, '').trim() : '',
               tex: tex.replace(/\s+/g, ' ').slice(0, 90)});
  }
}
let code_scroll = 0, code_total = 0;
for (const pre of document.querySelectorAll('div.cell_input pre, div.highlight pre')) {
  code_total += 1;
  if (pre.scrollWidth > pre.clientWidth + 1) code_scroll += 1;
}
const clone = document.querySelector('main, article, .bd-article, body').cloneNode(true);
for (const el of clone.querySelectorAll('pre, code, script, style, textarea, .highlight, mjx-container, .headerlink'))
  el.remove();
return {wide: wide, code_scroll: code_scroll, code_total: code_total, text: clone.textContent};
"""

_ROLES = re.compile(r"\{(?:eq|doc|ref|numref|cite(?::[a-z]+)?|prf:ref|math)\}`|:::\{|```\{")
_LABEL_SOURCES = (
    re.compile(r"\$\$\s*\(([A-Za-z0-9_.:-]+)\)"),          # $$ ... $$ (label)
    re.compile(r"^\s*\(([A-Za-z0-9_.:-]+)\)=\s*$", re.M),   # (label)=
    re.compile(r":label:\s*([A-Za-z0-9_.:-]+)"),           # :label: name
    re.compile(r'"name":\s*"([A-Za-z0-9_.:-]+)"'),         # figure names in cell metadata
)


def source_labels(root: Path = ROOT) -> set[str]:
    """Every cross-reference label defined in the book's sources (equations, sections, figures, exercises)."""
    labels: set[str] = set()
    for path in list((root / "book").rglob("*.ipynb")) + list((root / "book").rglob("*.md")):
        if "_build" in path.parts or ".ipynb_checkpoints" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            nb = json.loads(text)
            text = "\n".join("".join(c.get("source", "")) for c in nb["cells"]) + "\n" + "\n".join(
                json.dumps(c.get("metadata", {})) for c in nb["cells"])
        for rx in _LABEL_SOURCES:
            labels.update(rx.findall(text))
    # keep labels that cannot be ordinary words: a hyphen, underscore or digit, and at least 4 characters
    return {lab for lab in labels if len(lab) >= 4 and re.search(r"[-_0-9]", lab)}


def raw_labels(text: str, labels: set[str]) -> list[str]:
    """Raw MyST roles and source labels that appear in a page's visible text (not in code or math)."""
    found = sorted(set(m.group(0) for m in _ROLES.finditer(text)))
    for lab in labels:
        if re.search(r"(?<![\w./#-])" + re.escape(lab) + r"(?![\w/-])", text):
            found.append(lab)
    return found


#: generated index pages that list labels on purpose (sphinx-proof's index of theorems)
LABEL_INDEX_PAGES = ("prf-prf.html",)


def audit(driver, url: str, labels: set[str]) -> dict:
    """Open ``url`` (MathJax must be typeset: the caller waits) and return the layout report."""
    rep = driver.execute_script(LAYOUT_REPORT)
    text = rep.pop("text")
    rep["raw_labels"] = [] if url.endswith(LABEL_INDEX_PAGES) else raw_labels(text, labels)
    return rep


def main(argv):
    import functools
    import http.server
    import threading
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import test_browser as tb  # the browser set-up of the suite

    write = "--write-known" in argv
    argv = [a for a in argv if a != "--write-known"]
    html = Path(argv[0]).resolve()
    pages = argv[1:] or tb._pages(html)
    known = {}
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    labels = source_labels()
    drv = tb.make_driver(tempfile.mkdtemp())
    total_wide = total_raw = 0
    try:
        for page in pages:
            drv.get(f"{base}/{page}")
            drv.execute_async_script(tb.WAIT_FOR_MATHJAX)
            rep = audit(drv, page, labels)
            if rep["wide"] or rep["raw_labels"]:
                known[page] = {"wide": len(rep["wide"]), "raw": len(rep["raw_labels"])}
            total_wide += len(rep["wide"])
            total_raw += len(rep["raw_labels"])
            print(f"{page}: {len(rep['wide'])} wide equations, {len(rep['raw_labels'])} raw labels, "
                  f"{rep['code_scroll']}/{rep['code_total']} code cells scroll")
            for w in rep["wide"]:
                print(f"    {w['width']:5d} px > {w['column']} px  ({w['number'] or '-'})  {w['tex']}")
            for lab in rep["raw_labels"]:
                print(f"    raw label: {lab}")
    finally:
        drv.quit()
        httpd.shutdown()
    print(f"total: {total_wide} wide equations, {total_raw} raw labels on {len(pages)} pages")
    if write:
        path = Path(__file__).with_name("layout_known.json")
        path.write_text(json.dumps(known, indent=1, sort_keys=True) + "\n")
        print(f"wrote {path} (the ratchet of tests/test_browser.py)")
    return 0 if not (total_wide or total_raw) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
