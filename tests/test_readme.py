"""The README cannot rot: its Python examples run as doctests, and its first commands are make's.

Every ```pycon block of README.md is one doctest (blocks share their names, as in a session),
compared strictly (whitespace normalized only).
"""
from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.M | re.S)


def test_readme_starts_with_make_book_and_make_test():
    bash = _blocks(README.read_text(), "bash")
    assert bash, "README shows no commands"
    commands = [line.split("#")[0].strip() for line in bash[0].splitlines() if line.strip()]
    assert commands[:2] == ["make book", "make test"]


def test_readme_examples_run():
    blocks = _blocks(README.read_text(), "pycon")
    assert len(blocks) >= 2, "README has no pycon examples"
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    globs: dict = {}
    for i, block in enumerate(blocks):
        test = parser.get_doctest(block, globs, f"README.md[{i}]", str(README), 0)
        assert test.examples, f"block {i} has no >>> example"
        runner.run(test, clear_globs=False)
        globs = test.globs
    result = runner.summarize(verbose=False)
    if result.failed:
        pytest.fail(f"{result.failed} of {result.attempted} README examples failed (see the output above)")
