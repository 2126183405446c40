"""Write the API reference pages book/api/<module>.md, one per public module of dmftlib.

    python tools/make_api.py           # (re)write the pages, remove pages of modules that are gone
    python tools/make_api.py --check   # exit 1 if a page is missing, stale or left over

(`make api` runs the first.) The pages are committed, so `make book` needs no generation step;
`tests/test_packaging.py` runs --check, so a new module without its page fails the tests.
Each page has a summary table (autosummary) and the full entries (autodoc + napoleon, NumPy-style
docstrings; inline `$...$` math becomes `:math:` through tools/docstring_math.py). The toc lists
them with a glob under book/api/index.

Which modules: every module of dmftlib that is not private. A package with an ``__all__`` of its
own objects (``dmftlib.core``) gets one page for them, and its submodules get a page only if the
package exports them (``dmftlib.core.rmt``); a package without ``__all__`` (``dmftlib.symbolic``,
``dmftlib.pspin``) gets a page per submodule instead. The top package ``dmftlib`` exports only
``ConvergenceError`` (documented in ``dmftlib.core``) and has no page.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "api"
PREFIX = "dmftlib."


def _exports(mod) -> list[str]:
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n, v in vars(mod).items() if not n.startswith("_")
                 and getattr(v, "__module__", None) == mod.__name__]
    return [n for n in names if not n.startswith("__")]


def public_modules() -> list[str]:
    import dmftlib
    mods = []

    def visit(pkg):
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name.startswith("_"):
                continue
            name = f"{pkg.__name__}.{info.name}"
            mod = importlib.import_module(name)
            if info.ispkg:
                if getattr(mod, "__all__", None):
                    mods.append(name)
                    for sub in mod.__all__:
                        if isinstance(getattr(mod, sub, None), types.ModuleType):
                            mods.append(f"{name}.{sub}")
                else:
                    visit(mod)
            else:
                mods.append(name)

    visit(dmftlib)
    return sorted(mods)


def _title(mod) -> str:
    doc = inspect.getdoc(mod) or ""
    first = doc.strip().split("\n\n")[0].replace("\n", " ").strip()
    # "dmftlib.linear: gradient flow ..." -> keep the part after the module name
    if first.startswith(mod.__name__):
        first = first[len(mod.__name__):].lstrip(" :-").strip()
    first = first.rstrip(".")
    first = first[:1].upper() + first[1:]
    first = first.replace("`", "``").replace("````", "``") if "`" in first and "``" not in first else first
    return first


def page(name: str) -> str:
    mod = importlib.import_module(name)
    objs, consts = [], []
    for n in _exports(mod):
        v = getattr(mod, n, None)
        if isinstance(v, types.ModuleType):
            continue
        (objs if (callable(v) or isinstance(v, type)) else consts).append(n)
    label = "api-" + name.replace(".", "-")
    lines = [
        "<!-- Written by tools/make_api.py (`make api`): do not edit. -->",
        f"({label})=",
        f"# `{name}`",
        "",
        "```{eval-rst}",
        f".. currentmodule:: {name}",
        "",
    ]
    if objs:
        lines += [".. autosummary::", "   :nosignatures:", ""] + [f"   {n}" for n in objs] + [""]
    lines += [
        f".. automodule:: {name}",
        "   :members:",
        "   :member-order: bysource",
        "```",
        "",
    ]
    if consts:
        lines += ["Module constants (see the source for their values): "
                  + ", ".join(f"`{n}`" for n in consts) + ".", ""]
    return "\n".join(lines)


def index(names: list[str]) -> str:
    rows = []
    for name in names:
        mod = importlib.import_module(name)
        label = "api-" + name.replace(".", "-")
        rows.append(f"| {{ref}}`{name} <{label}>` | {_title(mod)} |")
    return "\n".join([
        "<!-- Written by tools/make_api.py (`make api`): do not edit. -->",
        "(api-reference)=",
        "# API reference",
        "",
        "Every public function and class of `dmftlib`, one page per module, generated from the",
        "docstrings (NumPy style) by Sphinx's autodoc. The same text is what `help()` shows in Python:",
        "inline math is written `$...$` in the source and rendered here. Each docstring states the",
        "defining equation, the conventions (scalings with $N$, time units), the paper and a short",
        "example, and every example is run by the tests. All entries are also in the {ref}`genindex`.",
        "",
        "Models give the $N \\to \\infty$ theory and the finite-$N$ simulation of the same parameters",
        "with results of the same fields; `dmftlib.core` holds what they share; `dmftlib.symbolic` holds",
        "the SymPy derivations that the numerics are tested against.",
        "",
        "| module | what it gives |",
        "|---|---|",
        *rows,
        "",
    ])


def pages() -> dict[Path, str]:
    names = public_modules()
    out = {OUT / f"{name}.md": page(name) for name in names}
    out[OUT / "index.md"] = index(names)
    return out


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    want = pages()
    have = set(OUT.glob("dmftlib*.md")) | {OUT / "index.md"}
    stale = [p for p, text in want.items() if not p.exists() or p.read_text() != text]
    extra = sorted(have - set(want))
    if args.check:
        for p in stale:
            print(f"missing or stale: {p.relative_to(ROOT)}")
        for p in extra:
            print(f"left over: {p.relative_to(ROOT)}")
        return 1 if (stale or extra) else 0
    for p in stale:
        p.write_text(want[p])
    for p in extra:
        p.unlink()
    print(f"{len(want)} API pages ({len(stale)} written, {len(extra)} removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
