"""`make pdf`: the whole book as one PDF, built offline, with every chapter of _toc.yml.

Builds the single-page HTML and prints it with headless Chromium exactly as `make pdf` does
(tools/make_pdf.py), then reads the PDF with pypdf: every chapter of the toc has an entry in
the PDF outline, and the page that entry points to shows the chapter's title; every formula was
typeset by the local MathJax and every image loaded. In CI (CI or DMFTLIB_REQUIRE_BROWSER set) a
missing browser is a failure, never a skip.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
REQUIRED = bool(os.environ.get("CI") or os.environ.get("DMFTLIB_REQUIRE_BROWSER"))

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def toc_titles() -> dict[str, str]:
    """{file: title} for every page of _toc.yml (the first '# ' heading of each source)."""
    import yaml
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                files.append(e["file"])
            walk(e.get("chapters"))
            walk(e.get("sections"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    titles = {}
    for f in files:
        for ext in (".md", ".ipynb"):
            p = ROOT / (f + ext)
            if p.exists():
                break
        else:
            raise AssertionError(f"toc entry {f} has no source")
        if p.suffix == ".md":
            lines = p.read_text().splitlines()
        else:
            nb = json.loads(p.read_text())
            lines = [l for c in nb["cells"] if c["cell_type"] == "markdown"
                     for l in "".join(c["source"]).splitlines()]
        head = next(l for l in lines if l.startswith("# "))
        titles[f] = re.sub(r"[`*_]|\{[a-z]+\}", "", head[2:]).strip()
    return titles


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    if not ((shutil.which("chromium") or shutil.which("chromium-browser")) and shutil.which("chromedriver")):
        msg = "Debian's chromium and chromium-driver are needed for the PDF (apt-get install chromium chromium-driver)"
        if REQUIRED:
            pytest.fail(msg)
        pytest.skip(msg)
    pytest.importorskip("pypdf")
    import make_pdf
    out = tmp_path_factory.mktemp("pdf")
    html = make_pdf.build_singlehtml(ROOT, out)
    info = make_pdf.print_pdf(html, out / "book.pdf")
    return out / "book.pdf", info


def test_pdf_typeset_everything(pdf):
    _, info = pdf
    assert info["formulas"] > 1000, info
    assert info["errors"] == 0 and info["untypeset"] == 0, info
    assert info["broken"] == 0, info


def test_pdf_has_every_chapter(pdf):
    from pypdf import PdfReader
    path, _ = pdf
    reader = PdfReader(path)
    assert len(reader.pages) > 100

    entries = []

    def walk(items):
        for it in items:
            if isinstance(it, list):
                walk(it)
            else:
                entries.append((_norm(it.title), reader.get_destination_page_number(it)))
    walk(reader.outline)
    assert entries, "the PDF has no outline"

    missing, not_on_page = [], []
    for f, title in toc_titles().items():
        want = _norm(title)
        pages = [p for t, p in entries if want and want in t]
        if not pages:
            missing.append(f"{f}: {title}")
            continue
        if want not in _norm(reader.pages[pages[0]].extract_text()):
            not_on_page.append(f"{f}: {title} (page {pages[0] + 1})")
    assert not missing, f"chapters without an outline entry: {missing}"
    assert not not_on_page, f"chapter titles not found on their pages: {not_on_page}"
