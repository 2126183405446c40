"""Inline math in dmftlib docstrings: `$...$` in the source, `:math:` roles in the HTML.

Docstrings are read as plain text (``help(dmftlib.linear)``, an editor's tooltip) and rendered by
Sphinx for the API reference. The reST role ``:math:`\\sigma_w^2``` reads badly as text, the TeX
between dollars ``$\\sigma_w^2$`` reads well, so the source uses dollars and this file does both
halves of the conversion:

* as a script, it rewrites every ``:math:`...``` inside docstrings (module, class, function and
  attribute strings) of the given files to ``$...$``; nothing outside docstrings is touched, and a
  second run changes nothing (the lead can re-run it after merging)::

      python tools/docstring_math.py dmftlib           # rewrite in place, list the files changed
      python tools/docstring_math.py --check dmftlib   # exit 1 if a :math: role is left

* as a Sphinx extension (``local_extensions`` in ``_config.yml``), an ``autodoc-process-docstring``
  hook turns ``$...$`` back into ``:math:`...``` before napoleon and docutils see the docstring.
  Doctest lines (``>>>``, ``...`` and their output), literal blocks (after ``::``), directive
  bodies (``.. math::``) and ````inline literals```` are left alone, so a ``$`` in an example's
  matplotlib label stays code. ``$$...$$`` is not used in docstrings (use ``.. math::``).
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROLE = re.compile(r":math:`([^`]+)`")
# $...$ as pandoc reads it: no space just inside the dollars, not $$, not an escaped \$,
# may run over a line break inside a paragraph (never over a blank line).
DOLLAR = re.compile(r"(?<![\\$])\$(?![\s$])((?:[^$\n]|\n(?!\s*\n))+?)(?<![\s\\])\$(?!\$)")


# ---------------------------------------------------------------------------- source rewrite
def _string_statements(tree: ast.AST):
    """Every bare string statement: docstrings of modules, classes, functions and attributes."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            yield node


def rewrite_source(src: str) -> tuple[str, int]:
    """Return ``src`` with ``:math:`x``` replaced by ``$x$`` inside its docstrings, and the count."""
    data = src.encode("utf-8")
    lines = data.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    spans = []
    for node in _string_statements(ast.parse(src)):
        a = starts[node.lineno - 1] + node.col_offset          # ast offsets are UTF-8 bytes
        b = starts[node.end_lineno - 1] + node.end_col_offset
        spans.append((a, b))
    count = 0
    for a, b in sorted(spans, reverse=True):
        seg = data[a:b].decode("utf-8")
        new, n = ROLE.subn(lambda m: f"${m.group(1).strip()}$", seg)
        if n:
            count += n
            data = data[:a] + new.encode("utf-8") + data[b:]
    return data.decode("utf-8"), count


def _python_files(paths):
    for p in map(Path, paths):
        yield from (sorted(p.rglob("*.py")) if p.is_dir() else [p])


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description="Rewrite :math:`...` to $...$ in docstrings.")
    ap.add_argument("paths", nargs="*", default=["dmftlib"])
    ap.add_argument("--check", action="store_true", help="only report; exit 1 if a role is left")
    args = ap.parse_args(argv)
    total = 0
    for path in _python_files(args.paths):
        src = path.read_text(encoding="utf-8")
        new, n = rewrite_source(src)
        if not n:
            continue
        total += n
        if not args.check:
            compile(new, str(path), "exec")          # still valid Python
            path.write_text(new, encoding="utf-8")
        print(f"{path}: {n} :math: role(s){' left' if args.check else ' rewritten'}")
    print(f"{total} :math: role(s) {'left' if args.check else 'rewritten'}")
    return 1 if (args.check and total) else 0


# ---------------------------------------------------------------------------- Sphinx hook
def _literal_mask(lines: list[str]) -> list[bool]:
    """True for the lines that must stay as they are (doctests, literal blocks, directive bodies)."""
    mask = [False] * len(lines)
    i, n = 0, len(lines)
    while i < n:
        text = lines[i]
        stripped = text.strip()
        indent = len(text) - len(text.lstrip())
        if stripped.startswith(">>>"):
            # a doctest block runs to the next blank line
            while i < n and lines[i].strip():
                mask[i] = True
                i += 1
            continue
        if stripped.startswith(".. ") or (stripped.endswith("::") and not stripped.startswith("..")):
            # a directive (math, code-block, ...) or a paragraph ending in '::': the indented
            # body that follows is literal (the directive line itself keeps its arguments)
            if stripped.startswith(".. "):
                mask[i] = True
            i += 1
            while i < n and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                mask[i] = True
                i += 1
            continue
        i += 1
    return mask


def _role(m: re.Match, text: str) -> str:
    before = text[m.start() - 1] if m.start() > 0 else " "
    after = text[m.end()] if m.end() < len(text) else " "
    pre = "\\ " if (before.isalnum() or before == "_") else ""
    post = "\\ " if (after.isalnum() or after == "_") else ""
    return f"{pre}:math:`{m.group(1)}`{post}"


# Plain-text habits that reST would misread, fixed outside math and literals:
SUBST = re.compile(r"(?<![\w|\\`])\|(?=[^\s|])([^|\n`]*?)(?<=[^\s\\])\|(?![\w|])")   # |x| is not a substitution
STARS = re.compile(r"(?<=[\s(\[,])(\*\*?)(?=[A-Za-z_]\w*\b(?!\*))")                    # f(*args, **kw)
PRIVATE = re.compile(r":(?:py:)?(?:func|meth|class|obj|attr|exc|data):`~?([\w.]*\b_\w+)`")  # refs to private helpers
UNDERLINE = re.compile(r"^\s*([-=~^\"'`#*+:.])\1{2,}\s*$")
# Section titles napoleon turns into fields or rubrics; any other title in a docstring becomes a rubric
NAPOLEON = {"args", "arguments", "attention", "attributes", "caution", "danger", "error", "example",
            "examples", "hint", "important", "keyword args", "keyword arguments", "methods", "note",
            "notes", "other parameters", "parameters", "receive", "receives", "return", "returns",
            "raise", "raises", "references", "see also", "tip", "todo", "warning", "warnings", "warn",
            "warns", "yield", "yields"}


def _prose(text: str) -> str:
    """Convert one run of prose lines (no doctests, literal blocks or directive bodies)."""
    text = PRIVATE.sub(lambda m: f"``{m.group(1)}``", text)
    out = []
    for part in re.split(r"(``.+?``|:\w+(?::\w+)*:`[^`]*`)", text, flags=re.S):
        if part.startswith("``"):
            out.append(part)
        elif part.startswith(":") and part.endswith("`"):
            out.append(part)
        else:
            res, pos = [], 0
            for m in DOLLAR.finditer(part):
                res.append(_plain(part[pos:m.start()]))
                res.append(_role(m, part))
                pos = m.end()
            res.append(_plain(part[pos:]))
            out.append("".join(res))
    return "".join(out)


def _plain(text: str) -> str:
    text = SUBST.sub(lambda m: f"\\|{m.group(1)}\\|", text)
    # *args / **kw in running text (not a 'name : type' parameter line, which napoleon escapes)
    return "\n".join(line if re.match(r"\s*\*\*?\w+\s*(:|$)", line) else STARS.sub(lambda m: "\\*" * len(m.group(1)), line)
                     for line in text.split("\n"))


def _titles(lines: list[str]) -> list[str]:
    """Underlined titles: napoleon's sections stay; any other becomes a rubric (no section, no label)."""
    out, i = [], 0
    while i < len(lines):
        if (i + 1 < len(lines) and lines[i].strip() and UNDERLINE.match(lines[i + 1])
                and not UNDERLINE.match(lines[i]) and (i == 0 or not lines[i - 1].strip())):
            title = lines[i].strip()
            indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
            if title.lower().rstrip(":") in NAPOLEON:
                out += [lines[i], indent + lines[i + 1].strip()[0] * max(len(title), 3)]
            else:
                out += [f"{indent}.. rubric:: {title}", ""]
            i += 2
            continue
        out.append(lines[i])
        i += 1
    return out


def dollars_to_roles(lines: list[str]) -> list[str]:
    """The hook's work on one docstring (a list of lines), also usable without Sphinx."""
    mask = _literal_mask(lines)
    out: list[str] = []
    block: list[str] = []

    def flush():
        if block:
            out.extend(_prose("\n".join(block)).split("\n"))
            block.clear()

    for line, literal in zip(lines, mask):
        if literal:
            flush()
            out.append(line)
        else:
            block.append(line)
    flush()
    return _titles(out)


def _process_docstring(app, what, name, obj, options, lines):
    lines[:] = dollars_to_roles(list(lines))


def setup(app):
    # before sphinx.ext.napoleon (priority 500) rewrites the NumPy sections
    app.connect("autodoc-process-docstring", _process_docstring, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    sys.exit(main())
