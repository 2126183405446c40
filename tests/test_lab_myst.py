"""A chapter opened in JupyterLab renders its MyST (jupyterlab-myst), checked in headless Chromium.

Starts everything it needs: a copy of one chapter in a temporary folder, ``jupyter lab`` on
127.0.0.1 with a random token and its settings, workspaces and runtime files in temporary folders
(notebook windowing off, so every cell is in the page), and Chromium through selenium (the driver
of tests/test_browser.py). Checks: every equation typeset (KaTeX, no TeX errors), every exercise an
admonition, no raw MyST left (``:::{exercise}``, ``{eq}`` roles, ``:label:``), equation references
resolved to numbers, every solution a collapsed dropdown, and no request leaving 127.0.0.1.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from test_browser import _need_browser, _requests, driver  # noqa: F401  (driver is a fixture)

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "book" / "part3" / "committee.ipynb"
pytestmark = pytest.mark.browser


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    _need_browser()
    base = tmp_path_factory.mktemp("lab")
    notebooks = base / "notebooks"
    notebooks.mkdir()
    shutil.copy(CHAPTER, notebooks)
    tracker = base / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_RUNTIME_DIR=str(base / "runtime"),
               PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks}",
           f"--LabApp.user_settings_dir={base / 'settings'}", f"--LabApp.workspaces_dir={base / 'workspaces'}",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(base / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if proc.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("jupyter lab did not answer within 120 s")
        assert proc.poll() is None, (base / "lab.log").read_text()[-3000:]
        yield url, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


RENDER_REPORT = """
const cells = [...document.querySelectorAll('.jp-MarkdownCell')];
const rendered = [...document.querySelectorAll('.jp-MarkdownCell .myst')];
const text = rendered.map(c => c.innerText).join('\\n');
const details = [...document.querySelectorAll('.jp-MarkdownCell .myst details')];
return {
  n_markdown: cells.length, n_myst: rendered.length,
  n_katex: document.querySelectorAll('.jp-MarkdownCell .katex').length,
  n_display: document.querySelectorAll('.jp-MarkdownCell .katex-display').length,
  n_katex_errors: document.querySelectorAll('.jp-MarkdownCell .katex-error').length,
  exercises: [...document.querySelectorAll('.jp-MarkdownCell .myst aside.myst-exercise')]
             .map(a => a.innerText.split('\\n')[0]),
  raw: [':::{', '{eq}`', '{doc}`', '{cite', ':label:', ':class: dropdown', '$$'].filter(s => text.includes(s)),
  eq_refs: [...document.querySelectorAll('.jp-MarkdownCell .myst a')].filter(a => /^\\(\\d+\\)$/.test(a.innerText.trim())).length,
  solutions: details.map(d => ({summary: d.querySelector('summary').innerText.trim(), open: d.open,
                                 body_visible: [...d.children].some(k => k.tagName !== 'SUMMARY' && k.checkVisibility())})),
};
"""


def test_chapter_renders_myst_in_lab(lab, driver):  # noqa: F811
    url, token = lab
    source = json.loads(CHAPTER.read_text())
    markdown = "\n".join("".join(c["source"]) for c in source["cells"] if c["cell_type"] == "markdown")
    n_ex, n_sol = markdown.count(":::{exercise}"), markdown.count(":::{solution}")
    assert n_ex >= 3 and n_sol == n_ex
    driver.get_log("performance")
    driver.get(f"{url}/lab/tree/{CHAPTER.name}?token={token}")
    deadline = time.time() + 120
    rep = None
    while time.time() < deadline:
        rep = driver.execute_script(RENDER_REPORT)
        if rep["n_markdown"] and rep["n_myst"] == rep["n_markdown"] and len(rep["solutions"]) >= n_sol and rep["n_katex"]:
            break
        time.sleep(1)
    time.sleep(2)                     # let the last cells settle, then measure
    rep = driver.execute_script(RENDER_REPORT)
    assert rep["n_myst"] == rep["n_markdown"] > 0, rep             # every markdown cell rendered by jupyterlab-myst
    assert rep["n_katex"] > 50 and rep["n_display"] > 5 and rep["n_katex_errors"] == 0, rep
    assert len(rep["exercises"]) == n_ex and all(e.startswith("Exercise") for e in rep["exercises"]), rep["exercises"]
    assert not rep["raw"], f"raw MyST left in the rendered cells: {rep['raw']}"
    assert rep["eq_refs"] > 0, "no {eq} reference resolved to an equation number"
    sols = rep["solutions"]
    assert len(sols) == n_sol and all(s["summary"].startswith("Solution to") for s in sols), sols
    assert not any(s["open"] or s["body_visible"] for s in sols), f"solutions not collapsed: {sols}"
    outside = [u for u in _requests(driver)
               if urlparse(u).scheme in ("http", "https", "ws", "wss") and urlparse(u).hostname != "127.0.0.1"]
    assert not outside, f"requests leaving 127.0.0.1: {sorted(set(outside))[:3]}"
