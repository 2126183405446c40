"""Print the lowest declared versions of the runtime dependencies, for `make test-min`.

    python3 tools/min_requirements.py > /tmp/min.txt

Each runtime requirement `name>=X` of pyproject.toml becomes `name==X` (exactly the lower bound),
and the `unit` dependency group (pytest, hypothesis, threadpoolctl) is pinned to the versions in
requirements.txt, so only the library's own dependencies move. A runtime requirement without a
`>=` lower bound is an error: every runtime dependency must declare (and test) its minimum.
"""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0].lower().replace("_", "-")


def lowest(pyproject: Path = ROOT / "pyproject.toml", lock: Path = ROOT / "requirements.txt") -> list[str]:
    data = tomllib.loads(pyproject.read_text())
    out = []
    for req in data["project"]["dependencies"]:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*(,.*)?", req)
        if not m:
            raise SystemExit(f"runtime requirement without a '>=' lower bound: {req!r}")
        out.append(f"{m.group(1)}=={m.group(2)}")
    pins = {}
    for line in lock.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            pins[_name(line)] = line.strip()
    for req in data["dependency-groups"]["unit"]:
        out.append(pins.get(_name(req), req))
    return out


if __name__ == "__main__":
    sys.stdout.write("".join(f"{r}\n" for r in lowest()))
