"""Write requirements.txt, the exact lock `make` installs, from the direct dependencies in pyproject.toml.

    python3.11 tools/lock.py            # re-resolve, keeping every existing pin that still fits
    python3.11 tools/lock.py --upgrade  # re-resolve from scratch: newest versions allowed by pyproject
    python3.11 tools/lock.py --check    # exit 1 if requirements.txt is not what the command would write

(`make lock` / `make lock-upgrade` run the first two.) The direct dependencies are the runtime
`[project] dependencies` and the PEP 735 `[dependency-groups]` (unit, book, test, lab, dist).
The resolver is pip's own: in a throw-away venv with pip 26.3, `pip install --dry-run
--ignore-installed --report` resolves them (with the current lock as constraints unless
--upgrade) and the report's list of distributions becomes the lock, one `name==version` a line.
The lock is for the interpreter that runs this script (CPython 3.11 on Linux x86-64 for `make`).
Needs only the package registry.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.txt"
PIP = "pip==26.3"
HEADER = """\
# The exact lock `make` installs: runtime dependencies and every dependency group of pyproject.toml,
# resolved for CPython {py} on Linux. Do not edit: change pyproject.toml and run `make lock`
# (tools/lock.py; `make lock-upgrade` to move every pin to the newest allowed version).
"""


def direct_requirements(pyproject: Path) -> tuple[list[str], list[str]]:
    data = tomllib.loads(pyproject.read_text())
    return list(data["project"]["dependencies"]), list(data.get("dependency-groups", {}))


def resolve(upgrade: bool) -> list[tuple[str, str]]:
    runtime, groups = direct_requirements(ROOT / "pyproject.toml")
    with tempfile.TemporaryDirectory(prefix="dmftlib-lock-") as tmp:
        env_dir = Path(tmp) / "venv"
        venv.create(env_dir, with_pip=True)
        py = str(env_dir / "bin" / "python")
        quiet = ["--quiet", "--disable-pip-version-check"]
        subprocess.run([py, "-m", "pip", "install", *quiet, PIP], check=True)
        report = Path(tmp) / "report.json"
        cmd = [py, "-m", "pip", "install", *quiet, "--dry-run", "--ignore-installed",
               "--report", str(report), *runtime]
        for g in groups:
            cmd += ["--group", f"{ROOT / 'pyproject.toml'}:{g}"]
        if not upgrade and LOCK.exists():
            cons = Path(tmp) / "constraints.txt"
            cons.write_text("".join(l for l in LOCK.read_text().splitlines(True) if not l.startswith("#")))
            cmd += ["--constraint", str(cons)]
        subprocess.run(cmd, check=True, cwd=tmp)
        items = json.loads(report.read_text())["install"]
    pins = {(i["metadata"]["name"], i["metadata"]["version"]) for i in items}
    return sorted(pins, key=lambda p: f"{p[0]}=={p[1]}".lower())


def render(pins: list[tuple[str, str]]) -> str:
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    return HEADER.format(py=py) + "".join(f"{n}=={v}\n" for n, v in pins)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upgrade", action="store_true", help="ignore the current pins")
    ap.add_argument("--check", action="store_true", help="only compare with requirements.txt")
    args = ap.parse_args()
    text = render(resolve(args.upgrade))
    if args.check:
        if LOCK.read_text() != text:
            sys.stderr.write("requirements.txt is out of date: run `make lock`\n")
            return 1
        print("requirements.txt is up to date")
        return 0
    old = set(l for l in LOCK.read_text().splitlines() if l and not l.startswith("#")) if LOCK.exists() else set()
    new = set(l for l in text.splitlines() if l and not l.startswith("#"))
    LOCK.write_text(text)
    for line in sorted(old - new, key=str.lower):
        print(f"- {line}")
    for line in sorted(new - old, key=str.lower):
        print(f"+ {line}")
    print(f"requirements.txt: {len(new)} pins ({len(new - old)} added, {len(old - new)} removed)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    sys.exit(main())
