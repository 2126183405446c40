"""Packaging checks that need no network: metadata, the lock against pyproject, API pages, docstring math.

- pyproject.toml: every runtime dependency has a tested lower bound (`make test-min` installs it);
  every direct dependency (runtime and groups) is pinned in requirements.txt, to a version its
  specifier allows (the lock itself is written by `make lock`, which needs the registry).
- book/api/: one page per public module, up to date with the modules (`make api`).
- docstrings: inline math is `$...$` (tools/docstring_math.py), and the Sphinx hook turns it into
  `:math:` roles without touching doctests, literal blocks or inline literals.
"""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import docstring_math  # noqa: E402


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def _direct() -> list[Requirement]:
    data = _pyproject()
    reqs = [Requirement(r) for r in data["project"]["dependencies"]]
    for group in data["dependency-groups"].values():
        reqs += [Requirement(r) for r in group if isinstance(r, str)]
    return reqs


def test_metadata():
    meta = _pyproject()["project"]
    for key in ("license", "authors", "readme", "classifiers", "requires-python", "dependencies"):
        assert meta.get(key), key
    assert (ROOT / "LICENSE").exists() and (ROOT / "CITATION.cff").exists()
    assert "build/" in (ROOT / ".gitignore").read_text().split()


def test_runtime_dependencies_have_lower_bounds():
    import min_requirements
    lowest = min_requirements.lowest()
    for req in _pyproject()["project"]["dependencies"]:
        assert ">=" in req, f"{req}: declare (and test) a lower bound"
    assert {canonicalize_name(Requirement(r).name) for r in lowest} >= {"numpy", "scipy", "sympy", "matplotlib"}


def test_lock_pins_every_direct_dependency():
    pins = _lock()
    for req in _direct():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} is not in requirements.txt: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"requirements.txt pins {name}=={pins[name]}, outside {req}: run `make lock`"


def test_api_pages_are_up_to_date():
    import make_api
    assert make_api.main(["--check"]) == 0, "book/api is stale: run `make api` and commit"


def test_docstrings_use_dollar_math():
    import io
    from contextlib import redirect_stdout
    buf = io.StringIO()
    with redirect_stdout(buf):
        left = docstring_math.main(["--check", str(ROOT / "dmftlib")])
    assert left == 0, "docstrings still use :math: roles: run `python tools/docstring_math.py dmftlib`\n" + buf.getvalue()


def test_rewrite_is_idempotent_and_only_in_docstrings():
    src = '''r"""Module :math:`\\alpha = P/N`."""
LABEL = ":math:`x`"


def f():
    """Return :math:`x^2` and
    :math:`y
    + z`.

    >>> 1 + 1
    2
    """
'''
    once, n = docstring_math.rewrite_source(src)
    assert n == 3
    assert 'LABEL = ":math:`x`"' in once                  # not a docstring: untouched
    assert "$\\alpha = P/N$" in once and "$y\n    + z$" in once
    twice, m = docstring_math.rewrite_source(once)
    assert m == 0 and twice == once


@pytest.mark.parametrize("lines, want", [
    (["The rate $\\eta$ and $N$-dimensional inputs."],
     ["The rate :math:`\\eta` and :math:`N`-dimensional inputs."]),
    (["A sum over $i$s."], ["A sum over :math:`i`\\ s."]),
    (["A lone $ sign stays."], ["A lone $ sign stays."]),
    (["Two lines $a +", "b$ here."], ["Two lines :math:`a +", "b` here."]),
    (["``'$x$'`` stays a literal."], ["``'$x$'`` stays a literal."]),
    ([">>> ax.set_xlabel('$t$')", "Text(...)"], [">>> ax.set_xlabel('$t$')", "Text(...)"]),
    (["Example::", "", "    y = '$x$'", "", "After $x$."], ["Example::", "", "    y = '$x$'", "", "After :math:`x`."]),
    ([".. math:: a $b$", "", "End."], [".. math:: a $b$", "", "End."]),
    (["where |x| is the norm"], ["where \\|x\\| is the norm"]),
    (["calls f(*args, **kw)"], ["calls f(\\*args, \\*\\*kw)"]),
    (["See :func:`_helper`."], ["See ``_helper``."]),
])
def test_hook(lines, want):
    assert docstring_math.dollars_to_roles(lines) == want


def test_hook_titles():
    lines = ["Summary.", "", "The model", "--------", "Text.", "", "Parameters", "-----", "x : float"]
    out = docstring_math.dollars_to_roles(lines)
    assert out[2] == ".. rubric:: The model"
    assert "Parameters" in out and "----------" in out
