"""The nbgrader course in coursework/, run through the real pipeline in a temporary course root.

generate_assignment (no solution or hidden-test text may survive in the release), autograde of three
submissions per assignment -- the instructor's solutions (full marks), the blank release (zero), and a
deliberately wrong Assignment 1 (partial credit) -- with the scores read back from nbgrader's sqlite
gradebook, and generate_feedback (one HTML report per submission). Everything is written under pytest's
tmp_path: the course root and the gradebook are passed explicitly, nothing lands in the checkout.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "coursework"
ASSIGNMENTS = sorted(p.name for p in (COURSE / "source").iterdir() if p.is_dir())
POINTS = {"a1_order_chaos": 10, "a2_cavity_dmft": 12, "a3_linear_regression": 10, "capstone_partial_symmetry": 12}

# The wrong submission: Assignment 1 with the erf length map of the wrong kernel (2q/(1+2q) -> q/(1+q)).
# Questions 1-3 build on it and fail; Question 4 (the network, compared with dmftlib) and Question 5
# (gradient descent) do not use it, so exactly 1 + 1 + 1 + 1 = 4 of the 10 points remain.
WRONG = ("a1_order_chaos", "2 * q / (1 + 2 * q)", "q / (1 + q)", 4.0)


def _nbgrader(root: Path, *args):
    bindir = str(Path(sys.executable).parent)        # nbgrader calls `alembic` from PATH
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""), PYTHONPATH=str(ROOT),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}",
           f"--CourseDirectory.db_url=sqlite:///{root / 'gradebook.db'}"]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _cells(path: Path):
    return json.loads(path.read_text())["cells"]


def _secret_lines(nb: Path):
    """Source lines strictly inside BEGIN/END SOLUTION and BEGIN/END HIDDEN TESTS blocks (minus any that
    the public text also shows, e.g. a call the question spells out)."""
    out, public = [], []
    for cell in _cells(nb):
        inside = False
        for line in "".join(cell["source"]).splitlines():
            s = line.strip()
            if s.startswith("### BEGIN SOLUTION") or s.startswith("### BEGIN HIDDEN TESTS"):
                inside = True
            elif s.startswith("### END SOLUTION") or s.startswith("### END HIDDEN TESTS"):
                inside = False
            elif inside and len(s) > 12:
                out.append(s)
            elif not inside:
                public.append(line)
    public = "\n".join(public)
    return [s for s in out if s not in public]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(COURSE / "source", root / "source")
    shutil.copy(COURSE / "nbgrader_config.py", root / "nbgrader_config.py")
    _nbgrader(root, "generate_assignment", "*")
    assignment, old, new, _ = WRONG
    for a in ASSIGNMENTS:
        for student, src in (("instructor", root / "source"), ("blank", root / "release")):
            dest = root / "submitted" / student / a
            dest.mkdir(parents=True)
            shutil.copy(src / a / f"{a}.ipynb", dest)
    dest = root / "submitted" / "wrong" / assignment
    dest.mkdir(parents=True)
    text = (root / "source" / assignment / f"{assignment}.ipynb").read_text()
    assert text.count(old) == 1
    (dest / f"{assignment}.ipynb").write_text(text.replace(old, new))
    _nbgrader(root, "autograde", "*")
    _nbgrader(root, "generate_feedback", "*")
    return root


def test_layout_and_points():
    assert sorted(POINTS) == ASSIGNMENTS
    for a in ASSIGNMENTS:
        cells = _cells(COURSE / "source" / a / f"{a}.ipynb")
        meta = [c["metadata"]["nbgrader"] for c in cells]
        points = sum(m.get("points", 0) for m in meta if m["grade"])
        assert points == POINTS[a], a
        assert any(m["solution"] for m in meta) and len({m["grade_id"] for m in meta}) == len(meta)
        for c in cells:            # every solution cell has its markers, every graded test is locked
            m = c["metadata"]["nbgrader"]
            if m["solution"]:
                assert "### BEGIN SOLUTION" in "".join(c["source"]), (a, m["grade_id"])
            if m["grade"]:
                assert m["locked"] and c["cell_type"] == "code", (a, m["grade_id"])
    assert sum(POINTS.values()) >= 40


def test_release_has_no_solutions(course):
    for a in ASSIGNMENTS:
        release = (course / "release" / a / f"{a}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in release and "HIDDEN TESTS" not in release
        assert "raise NotImplementedError()" in release
        leaked = [s for s in _secret_lines(COURSE / "source" / a / f"{a}.ipynb") if json.dumps(s)[1:-1] in release]
        assert not leaked, (a, leaked[:3])


def test_gradebook_scores(course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for a in ASSIGNMENTS:
            full = gb.find_submission(a, "instructor")
            assert full.max_score == POINTS[a]
            assert full.score == POINTS[a], (a, [(g.name, g.score) for g in full.notebooks[0].grades])
            assert gb.find_submission(a, "blank").score == 0.0, a
        a, _, _, expected = WRONG
        wrong = gb.find_submission(a, "wrong")
        assert 0 < wrong.score < POINTS[a]
        assert wrong.score == expected, [(g.name, g.score) for g in wrong.notebooks[0].grades]


def test_no_stderr_in_graded_cells(course):
    """A graded cell that writes to stderr scores 0 in nbgrader: the solutions must write nothing there."""
    for a in ASSIGNMENTS:
        for cell in _cells(course / "autograded" / "instructor" / a / f"{a}.ipynb"):
            if cell["metadata"].get("nbgrader", {}).get("grade"):
                for out in cell.get("outputs", []):
                    assert not (out["output_type"] == "stream" and out["name"] == "stderr"), (a, out)
                    assert out["output_type"] != "error", (a, out)


def test_feedback(course):
    for student in ("instructor", "blank"):
        for a in ASSIGNMENTS:
            html = course / "feedback" / student / a / f"{a}.html"
            assert html.exists(), html
            score = POINTS[a] if student == "instructor" else 0
            assert f"Score: {score:.1f} / {POINTS[a]:.1f}" in html.read_text(), html
    assert (course / "feedback" / "wrong" / WRONG[0] / f"{WRONG[0]}.html").exists()
