"""The whole book as one PDF, offline: Chromium prints every page of the HTML build, pypdf binds them.

    python tools/make_pdf.py                      # build _build/html if absent, print _build/pdf/book.pdf
    python tools/make_pdf.py --html DIR --out F   # print an existing HTML build (folder with index.html)
    python tools/make_pdf.py --pages book/part3/committee book/part3/sgd --out F   # some pages only

(`make pdf` runs the first.) Steps:

1. The pages are taken in the order of `_toc.yml` (the glob of the API reference expanded in sorted
   order), from the ordinary HTML build: the one `make book` writes and the browser test checks.
2. Debian's headless Chromium, driven through chromedriver (Selenium, the browser test's set-up),
   opens each page from a server on 127.0.0.1, opens every dropdown (solutions), hides the
   navigation (sidebars, header, previous/next buttons), turns links to other pages into plain
   text (a link into an HTML page is dead in a PDF; links inside a page stay live), waits until the
   local MathJax has typeset every formula and every image has loaded, and prints the page with
   the DevTools call ``Page.printToPDF`` (A4, the chapter's title and page number in the footer,
   an outline from its headings).
3. pypdf appends the pages' PDFs into one file whose outline has one entry per part, one per
   page of the toc under it, and each page's own headings under that.

Why one print per page rather than the single-page build: the whole book as one HTML page holds
about 10^4 formulas, which MathJax typesets in one long pass that did not finish in 15 min on this
machine under load; a page at a time takes seconds, shows progress and fails on the page at fault.
Why not LaTeX: Debian's TeX Live would be a second large system dependency for CI, and the
notebooks' HTML outputs, sphinx-proof/exercise boxes and dropdowns would each need a LaTeX route;
Chromium is already required by the browser test, renders exactly what the HTML reader sees, and
MathJax's CHTML output prints as vector text.
"""
from __future__ import annotations

import argparse
import base64
import functools
import html as htmllib
import http.server
import io
import json
import os
import re
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


def toc_pages(root: Path = ROOT) -> list[tuple[str, str]]:
    """[(file, part caption)] for every page of _toc.yml in reading order (globs expanded, sorted)."""
    import yaml
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    out = [(toc["root"], "")]

    def sources(pattern):
        hits = {p.with_suffix("").relative_to(root).as_posix()
                for ext in ("md", "ipynb") for p in root.glob(pattern + "." + ext)}
        return sorted(hits)

    def walk(entries, caption):
        for e in entries or []:
            if "file" in e:
                out.append((e["file"], caption))
            elif "glob" in e:
                out.extend((f, caption) for f in sources(e["glob"]) if (f, caption) not in out)
            walk(e.get("chapters"), caption)
            walk(e.get("sections"), caption)
    for part in toc.get("parts", []):
        walk(part.get("chapters"), part.get("caption", ""))
    seen, pages = set(), []
    for f, c in out:
        if f not in seen:
            seen.add(f)
            pages.append((f, c))
    return pages


def page_title(root: Path, file: str) -> str:
    """The first '# ' heading of a page's source, without MyST roles and markup."""
    for ext in (".md", ".ipynb"):
        p = root / (file + ext)
        if p.exists():
            break
    else:
        raise FileNotFoundError(f"toc entry {file} has no source")
    if p.suffix == ".md":
        lines = p.read_text().splitlines()
    else:
        nb = json.loads(p.read_text())
        lines = [line for c in nb["cells"] if c["cell_type"] == "markdown"
                 for line in "".join(c["source"]).splitlines()]
    head = next((line for line in lines if line.startswith("# ")), "# " + Path(file).name)
    return re.sub(r"\{[a-z:-]+\}`([^`]*)`", r"\1", head[2:]).replace("`", "").replace("*", "").strip()


def build_html(root: Path = ROOT) -> Path:
    """Run the ordinary HTML build (-W -n: any warning fails) and return its folder."""
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb), "build", "--all", "-W", "-n", "--keep-going", str(root)],
                          capture_output=True, text=True)
    html = root / "_build" / "html"
    if proc.returncode != 0 or not (html / "index.html").exists():
        raise RuntimeError(f"HTML build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return html


_PREPARE_JS = """
const done = arguments[arguments.length - 1];
document.querySelectorAll('details').forEach(d => { d.open = true; });
const style = document.createElement('style');
style.textContent = `
  .bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-header-article, .prev-next-area,
  .bd-footer, .bd-footer-content, .bd-footer-article, .header-article-items, .skip-link,
  #pst-back-to-top, .search-button-field, .headerlink, .toggle-details__summary .tb-icon { display: none !important; }
  .bd-main .bd-content .bd-article-container { max-width: 100% !important; }
  .bd-container, .bd-page-width, .bd-main, .bd-content, .bd-article-container { display: block !important;
      width: 100% !important; max-width: 100% !important; padding: 0 !important; margin: 0 !important; }
  @media print {
    h1, h2, h3, h4 { break-after: avoid; break-inside: avoid; }
    figure, img, mjx-container[display="true"], .admonition-title { break-inside: avoid; }
    div.cell_input, div.highlight pre { white-space: pre-wrap !important; overflow: visible !important; }
    mjx-container[display="true"], div.math-wrapper, div.math { overflow: visible !important; }
    ::-webkit-scrollbar { display: none; }
  }`;
document.head.appendChild(style);
// links to other pages of the book stay (tools/make_pdf.py's bind() points them into the PDF);
// links that leave the book (none should) are printed as plain text
document.querySelectorAll('a[href]').forEach(a => {
  if (a.href && !a.href.startsWith(location.origin)) { const s = document.createElement('span');
      s.innerHTML = a.innerHTML; s.className = a.className; a.replaceWith(s); } });
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


def _footer(title: str) -> str:
    return ('<div style="font-size:8px; width:100%; padding: 0 0.6in; display:flex; justify-content:space-between;'
            f' color:#555;"><span>{htmllib.escape(title)}</span>'
            '<span><span class="pageNumber"></span> / <span class="totalPages"></span></span></div>')


def _driver(profile: str, timeout: float):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_bin = shutil.which("chromedriver")
    if not (chromium and driver_bin):
        raise RuntimeError("Debian's chromium and chromium-driver are needed (apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    drv = webdriver.Chrome(service=Service(executable_path=driver_bin), options=opts)
    drv.set_page_load_timeout(timeout)
    drv.set_script_timeout(timeout)
    return drv


def print_pages(html_dir: Path, pages: list[tuple[str, str]], root: Path = ROOT, timeout: float = 300,
                log=None) -> tuple[list[dict], list[bytes]]:
    """Print every page of ``pages`` ([(file, part caption)]) of the build ``html_dir``.

    Returns one report per page (title, part, what the page reported: formulas, TeX errors,
    formulas left untypeset, images, broken images, seconds) and the PDFs as bytes."""
    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(html_dir)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    profile = tempfile.mkdtemp(prefix="dmftlib-pdf-chromium-")
    drv = _driver(profile, timeout)
    reports, pdfs = [], []
    try:
        for file, caption in pages:
            t0 = time.perf_counter()
            if not (html_dir / (file + ".html")).exists():
                raise RuntimeError(f"{file}.html is not in the build {html_dir}")
            title = page_title(root, file)
            drv.get(f"http://127.0.0.1:{httpd.server_address[1]}/{file}.html")
            info = drv.execute_async_script(_PREPARE_JS)
            if not info.get("ok"):
                raise RuntimeError(f"{file}: page did not finish typesetting: {info}")
            pdf = drv.execute_cdp_cmd("Page.printToPDF", {
                "paperWidth": 8.27, "paperHeight": 11.69,                 # A4, inches
                "marginTop": 0.6, "marginBottom": 0.7, "marginLeft": 0.6, "marginRight": 0.6,
                "printBackground": True, "preferCSSPageSize": False, "scale": 0.8,
                "displayHeaderFooter": True, "headerTemplate": "<div></div>", "footerTemplate": _footer(title),
                "generateDocumentOutline": True, "generateTaggedPDF": True,
            })
            pdfs.append(base64.b64decode(pdf["data"]))
            info.update(file=file, title=title, part=caption, seconds=time.perf_counter() - t0,
                        origin=f"http://127.0.0.1:{httpd.server_address[1]}/")
            reports.append(info)
            if log:
                log(f"{file}: {info['formulas']} formulas, {info['images']} images, {info['seconds']:.1f} s")
    finally:
        drv.quit()
        httpd.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    return reports, pdfs


def _clean(title: str) -> str:
    """A heading as Chromium's outline gives it: the section number and the text of a heading with
    math come twice (visible text and MathJax's assistive copy); keep one of each."""
    title = re.sub(r"^((?:\d+\.)+\s)\1", r"\1", title.strip())
    for cut in range(len(title) // 3, len(title) - 8):
        head, tail = title[:cut], title[cut:]
        if tail.strip() and tail.strip() in head and head.rstrip()[-1:].isalnum():
            return head.rstrip()
    return title


def _link_pages(writer, reports, starts) -> int:
    """Turn the links between pages of the book (URI actions to the print server) into jumps to the
    first PDF page of their target page; return how many were turned."""
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject

    first = {r["file"] + ".html": s for r, s in zip(reports, starts)}
    origins = {r["origin"] for r in reports if "origin" in r}
    n = 0
    for page in writer.pages:
        for ref in page.get("/Annots", []) or []:
            annot = ref.get_object()
            action = annot.get("/A")
            uri = action.get_object().get("/URI") if action is not None else None
            if not uri:
                continue
            origin = next((o for o in origins if str(uri).startswith(o)), None)
            if origin is None:
                continue
            target = first.get(str(uri)[len(origin):].split("#")[0].split("?")[0])
            if target is None:              # a page that is not printed (index, search): no link
                del annot["/A"]
                continue
            annot[NameObject("/A")] = DictionaryObject({
                NameObject("/S"): NameObject("/GoTo"),
                NameObject("/D"): ArrayObject([writer.pages[target].indirect_reference, NameObject("/Fit")])})
            n += 1
    return n


def _prefix_dests(reader, prefix: str) -> None:
    """Give every named destination of one page's PDF (Chromium names them after the HTML ids, which
    repeat from page to page: id54, equation-...) the prefix ``prefix``, where they are defined (the
    catalog's /Dests, or a /Names tree) and in the links that use them, so that the bound book keeps
    each page's links inside that page."""
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    def renamed(name, kind=NameObject):
        return kind(("/" if kind is NameObject else "") + prefix + str(name).lstrip("/"))

    def walk(node):
        node = node.get_object()
        names = node.get("/Names")
        if names is not None:
            names = names.get_object()
            for i in range(0, len(names), 2):
                names[i] = renamed(names[i], TextStringObject)
            if "/Limits" in node:
                lim = node["/Limits"].get_object()
                for i in range(len(lim)):
                    lim[i] = renamed(lim[i], TextStringObject)
        for kid in node.get("/Kids", []) or []:
            walk(kid)

    root = reader.trailer["/Root"]
    kind = NameObject
    if "/Dests" in root:
        old = root["/Dests"].get_object()
        root[NameObject("/Dests")] = DictionaryObject({renamed(k): v for k, v in old.items()})
    if "/Names" in root and "/Dests" in root["/Names"]:
        walk(root["/Names"]["/Dests"])
    for page in reader.pages:
        for ref in page.get("/Annots", []) or []:
            annot = ref.get_object()
            dest = annot.get("/Dest")
            if dest is not None and not isinstance(dest.get_object(), list):
                kind = NameObject if isinstance(dest.get_object(), NameObject) else TextStringObject
                annot[NameObject("/Dest")] = renamed(dest, kind)
            action = annot.get("/A")
            if action is not None:
                action = action.get_object()
                d = action.get("/D")
                if action.get("/S") == "/GoTo" and d is not None and not isinstance(d.get_object(), list):
                    kind = NameObject if isinstance(d.get_object(), NameObject) else TextStringObject
                    action[NameObject("/D")] = renamed(d, kind)


def bind(reports: list[dict], pdfs: list[bytes], out: Path) -> int:
    """Append the pages' PDFs into ``out`` with a book outline (part > page > the page's headings);
    return the number of pages."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    parents: dict[str, object] = {}
    starts = []
    for info, data in zip(reports, pdfs):
        start = len(writer.pages)
        starts.append(start)
        reader = PdfReader(io.BytesIO(data))
        _prefix_dests(reader, f"p{len(starts)}-")
        writer.append(reader, import_outline=False)
        part = info["part"]
        if part and part not in parents:
            parents[part] = writer.add_outline_item(title=part, page_number=start)
        item = writer.add_outline_item(title=info["title"], page_number=start, parent=parents.get(part))

        def copy(items, parent, reader=reader, start=start):
            last = parent
            for it in items:
                if isinstance(it, list):
                    copy(it, last)
                else:
                    last = writer.add_outline_item(title=_clean(it.title), parent=parent,
                                                   page_number=start + reader.get_destination_page_number(it))
        # the page's own outline: its h1 is the page title (already the entry), so skip one level
        own = reader.outline
        if len(own) >= 1 and not isinstance(own[0], list) and len(own) <= 2 and isinstance(own[-1], list):
            own = own[-1]
        copy(own, item)
    n_links = _link_pages(writer, reports, starts)
    writer.add_metadata({"/Title": "Dynamical mean-field theory of learning dynamics (dmftlib)",
                         "/Creator": "tools/make_pdf.py (headless Chromium + pypdf)"})
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh:
        writer.write(fh)
    bind.links = n_links
    return len(writer.pages)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", type=Path, help="an existing HTML build (folder with index.html)")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "pdf" / "book.pdf")
    ap.add_argument("--pages", nargs="*", help="toc files to print (default: every page of _toc.yml)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    html = args.html or (ROOT / "_build" / "html" if (ROOT / "_build" / "html" / "index.html").exists()
                         else build_html())
    pages = toc_pages()
    if args.pages:
        want = [p.removesuffix(".ipynb").removesuffix(".md") for p in args.pages]
        pages = [p for p in pages if p[0] in want]
    t1 = time.perf_counter()
    reports, pdfs = print_pages(html, pages, log=None if args.quiet else print)
    n = bind(reports, pdfs, args.out)
    t2 = time.perf_counter()
    tot = {k: sum(r[k] for r in reports) for k in ("formulas", "errors", "untypeset", "images", "broken")}
    print(f"{args.out}: {n} pages, {args.out.stat().st_size / 1e6:.1f} MB; {len(reports)} toc pages; "
          f"{tot['formulas']} formulas ({tot['errors']} errors, {tot['untypeset']} left as TeX), "
          f"{tot['images']} images ({tot['broken']} broken); build {t1 - t0:.0f} s, print and bind {t2 - t1:.0f} s")
    return 0 if (tot["errors"] == 0 and tot["untypeset"] == 0 and tot["broken"] == 0) else 1


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
