"""The whole book as one PDF, offline: Chromium prints the single-page HTML build.

    python tools/make_pdf.py                      # build _build/singlehtml, print _build/pdf/book.pdf
    python tools/make_pdf.py --html DIR --out F   # print an existing single-page build

(`make pdf` runs the first.) Steps:

1. ``jupyter-book build --builder custom --custom-builder singlehtml`` writes every page of the
   toc into one HTML file (chapters in toc order, equations as MathJax, figures, numbered
   cross-references turned into links inside the page), from the stored notebook outputs.
2. Debian's headless Chromium, driven through chromedriver (Selenium, the browser test's
   set-up), opens it from a server on 127.0.0.1, opens every dropdown (solutions), waits until
   the local MathJax has typeset every formula and every image has loaded, and prints it with
   the DevTools call ``Page.printToPDF`` (A4, page numbers, a PDF outline from the headings).

Why not LaTeX: Debian's TeX Live would be a second large system dependency for CI, and the
notebooks' HTML outputs, widgets' static images, sphinx-proof/exercise boxes and dropdowns
would each need a LaTeX route; Chromium is already required by the browser test, renders
exactly what the HTML reader sees, and MathJax's CHTML output prints as vector text.
"""
from __future__ import annotations

import argparse
import base64
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1100,1400")


def build_singlehtml(root: Path = ROOT, out: Path | None = None) -> Path:
    """Run Jupyter Book's single-page HTML build (-W -n: any warning fails) and return its folder."""
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", "--all", "-W", "-n", "--keep-going",
           "--builder", "custom", "--custom-builder", "singlehtml"]
    if out is not None:
        cmd += ["--path-output", str(out)]
    proc = subprocess.run(cmd + [str(root)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"single-page build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    html = (out if out is not None else root) / "_build" / "singlehtml"
    if not (html / "index.html").exists():
        raise RuntimeError(f"no {html / 'index.html'}")
    return html


def _page(html_dir: Path) -> str:
    """The single page: Jupyter Book writes it under the root document's name and makes
    index.html a redirect to it."""
    import re
    index = (html_dir / "index.html").read_text(errors="replace")
    m = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', index)
    return m.group(1) if m else "index.html"


_WAIT_JS = """
const done = arguments[arguments.length - 1];
document.querySelectorAll('details').forEach(d => { d.open = true; });
// every document of the toc (a chapter) starts on a new page; headings stay with what follows
const style = document.createElement('style');
style.textContent = `@media print {
  h1, h2, h3, h4 { break-after: avoid; break-inside: avoid; }
  figure, img, mjx-container[display="true"], .admonition-title { break-inside: avoid; } }`;
document.head.appendChild(style);
document.querySelectorAll('span[id^="document-"]').forEach(sp => {
  const next = sp.nextElementSibling; if (next) { next.style.breakBefore = 'page'; } });
const images = () => Promise.all(Array.from(document.images).map(img => img.complete ? null :
    new Promise(r => { img.onload = img.onerror = r; })));
const math = () => (window.MathJax && MathJax.startup && MathJax.startup.promise)
    ? MathJax.startup.promise.then(() => MathJax.typesetPromise ? MathJax.typesetPromise() : null) : null;
Promise.resolve(math()).then(images).then(() => {
  const left = document.querySelectorAll('mjx-merror, .MathJax_Error').length;
  const raw = Array.from(document.querySelectorAll('.math')).filter(e => !e.querySelector('mjx-container')).length;
  done({ok: true, errors: left, untypeset: raw,
        formulas: document.querySelectorAll('mjx-container').length,
        images: document.images.length, broken: Array.from(document.images).filter(i => !i.naturalWidth).length});
}, err => done({ok: false, error: String(err)}));
"""

FOOTER = ('<div style="font-size:8px; width:100%; text-align:center; color:#555;">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


def print_pdf(html_dir: Path, out: Path, timeout: float = 3600) -> dict:
    """Print html_dir/index.html to out with headless Chromium; return what the page reported."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_bin = shutil.which("chromedriver")
    if not (chromium and driver_bin):
        raise RuntimeError("Debian's chromium and chromium-driver are needed (apt-get install chromium chromium-driver)")
    page = html_dir / _page(html_dir)

    class Handler(http.server.SimpleHTTPRequestHandler):
        # The single page's links are relative to the build's root (singlehtml's convention),
        # while Jupyter Book writes it under the root document's path: serve it at /book.html.
        def translate_path(self, path):
            if path.split("?")[0] == "/book.html":
                return str(page)
            return super().translate_path(path)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(html_dir)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    profile = tempfile.mkdtemp(prefix="dmftlib-pdf-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.page_load_strategy = "eager"           # DOMContentLoaded; the script below waits for the rest
    drv = webdriver.Chrome(service=Service(executable_path=driver_bin), options=opts)
    # the whole book is one large page: allow chromedriver's answers more than Selenium's default 120 s
    drv.command_executor.client_config.timeout = timeout
    try:
        drv.set_page_load_timeout(timeout)
        drv.set_script_timeout(timeout)
        drv.get(f"http://127.0.0.1:{httpd.server_address[1]}/book.html")
        info = drv.execute_async_script(_WAIT_JS)
        if not info.get("ok"):
            raise RuntimeError(f"page did not finish typesetting: {info}")
        pdf = drv.execute_cdp_cmd("Page.printToPDF", {
            "paperWidth": 8.27, "paperHeight": 11.69,                 # A4, inches
            "marginTop": 0.6, "marginBottom": 0.7, "marginLeft": 0.6, "marginRight": 0.6,
            "printBackground": True, "preferCSSPageSize": False,
            "displayHeaderFooter": True, "headerTemplate": "<div></div>", "footerTemplate": FOOTER,
            "generateDocumentOutline": True, "generateTaggedPDF": True,
        })
    finally:
        drv.quit()
        httpd.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(pdf["data"]))
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", type=Path, help="an existing single-page build (folder with index.html)")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "pdf" / "book.pdf")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    html = args.html or build_singlehtml()
    t1 = time.perf_counter()
    info = print_pdf(html, args.out)
    t2 = time.perf_counter()
    size = args.out.stat().st_size / 1e6
    print(f"{args.out}: {size:.1f} MB; {info['formulas']} formulas ({info['errors']} errors, "
          f"{info['untypeset']} left as TeX), {info['images']} images ({info['broken']} broken); "
          f"single-page build {t1 - t0:.0f} s, print {t2 - t1:.0f} s")
    return 0 if (info["errors"] == 0 and info["untypeset"] == 0 and info["broken"] == 0) else 1


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
