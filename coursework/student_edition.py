"""Build the student edition of the book: the same HTML with every solution removed.

    python coursework/student_edition.py [--out _build/student]

It copies ``_config.yml`` with sphinx-exercise's ``hide_solutions: true`` added (so the two editions
cannot drift apart), builds with the same flags as ``make book`` (``--all -W -n --keep-going``) into a
scratch folder, and moves the HTML to ``--out`` (default ``_build/student``, beside ``_build/html``).
Run it from the repository root with the book's environment (``make student`` does).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def student_config(dest: Path) -> Path:
    """Write the student configuration (``_config.yml`` + ``hide_solutions``) to ``dest``."""
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    sphinx = cfg.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["hide_solutions"] = True
    # no copies of the notebooks (they hold the solutions): no _sources/ and no download button
    sphinx["html_copy_source"] = False
    sphinx.setdefault("html_theme_options", {})["use_download_button"] = False
    cfg["title"] = f"{cfg['title']} (student edition)"
    # jupyter-book resolves local extensions against the config file's folder: make them absolute
    local = cfg["sphinx"].get("local_extensions") or {}
    cfg["sphinx"]["local_extensions"] = {name: str(ROOT / path) for name, path in local.items()}
    dest.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest


def build(out: Path) -> Path:
    out = out.resolve()
    jb = Path(sys.executable).with_name("jupyter-book")
    with tempfile.TemporaryDirectory(prefix="student-edition-", dir=ROOT / "_build" if (ROOT / "_build").is_dir() else None) as tmp:
        tmp = Path(tmp)
        cfg = student_config(tmp / "student_config.yml")
        cmd = [str(jb), "build", "--all", "-W", "-n", "--keep-going", "--config", str(cfg),
               "--path-output", str(tmp), str(ROOT)]
        proc = subprocess.run(cmd, cwd=ROOT)
        if proc.returncode != 0:
            raise SystemExit(f"student edition: jupyter-book build failed (exit {proc.returncode})")
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(tmp / "_build" / "html"), str(out))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "student")
    print(f"Student edition built: {build(parser.parse_args().out) / 'index.html'}")
