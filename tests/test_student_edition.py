"""The student edition (coursework/student_edition.py, `make student`) builds with -W and shows no solution.

Builds the whole book once with sphinx-exercise's ``hide_solutions`` (about 2 min of wall time, 30 s of
CPU) and checks that every exercise is still there while no solution is: no solution admonition, no copy
of a notebook (``_sources``, ``.ipynb``), and no sentence taken from a solution of any chapter.
"""
from __future__ import annotations

import html as htmlmod
import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _load_builder():
    spec = importlib.util.spec_from_file_location("student_edition", ROOT / "coursework" / "student_edition.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _solution_sentences(nb: Path):
    """Runs of plain words (>= 40 characters) found in a solution and nowhere else in the chapter."""
    cells = json.loads(nb.read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    code = json.dumps([c for c in cells if c["cell_type"] == "code"])   # sources and outputs
    inside, outside, fence = [], [], None
    for line in text.splitlines():
        m = re.match(r"^(:{3,})\{solution\}", line)
        if fence is None and m:
            fence = m.group(1)
            inside.append([])
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is not None:
            inside[-1].append(line)
        else:
            outside.append(line)
    outside = "\n".join(outside) + code
    found = []
    for block in inside:
        body = "\n".join(line for line in block if not line.startswith(":"))
        body = re.sub(r"\$[^$]*\$|\{[a-z]+\}`[^`]*`|`[^`]*`", "#", body)
        for run in re.findall(r"[A-Za-z][A-Za-z ,]{39,}", body):
            run = run.strip(" ,")
            if len(run) >= 40 and run not in outside and " ".join(run.split()) not in " ".join(outside.split()):
                found.append(run)
                break
    return found


@pytest.fixture(scope="module")
def student_html(tmp_path_factory):
    return _load_builder().build(tmp_path_factory.mktemp("student") / "html")


def test_config_adds_hide_solutions(tmp_path):
    import yaml

    cfg = yaml.safe_load(_load_builder().student_config(tmp_path / "c.yml").read_text())
    assert cfg["sphinx"]["config"]["hide_solutions"] is True
    assert cfg["sphinx"]["config"]["html_copy_source"] is False
    full = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cfg["bibtex_bibfiles"] == full["bibtex_bibfiles"]


def test_student_edition_has_exercises_but_no_solutions(student_html):
    pages = {p: p.read_text() for p in student_html.rglob("*.html")}
    assert (student_html / "index.html").exists()
    assert not (student_html / "_sources").exists()
    assert not list(student_html.rglob("*.ipynb"))
    n_exercises = sum(len(re.findall(r'class="[^"]*\bexercise\b', t)) for t in pages.values())
    assert n_exercises > 20
    for page, text in pages.items():
        assert not re.search(r'class="[^"]*\bsolution\b', text), page
    chapters = sorted((ROOT / "book").rglob("*.ipynb"))
    sentences = {nb: _solution_sentences(nb) for nb in chapters}
    assert sum(map(len, sentences.values())) > 20      # the check below has something to look for
    for nb, runs in sentences.items():
        page = student_html / nb.relative_to(ROOT).with_suffix(".html")
        if not page.exists():
            continue
        text = htmlmod.unescape(re.sub(r"<[^>]+>", "", pages[page]))
        leaked = [r for r in runs if r in text]
        assert not leaked, (nb.name, leaked[:2])
