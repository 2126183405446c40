"""Sphinx extension: keep every built page self-contained and free of console errors.

Jupyter Book 1 always loads sphinx-thebe, which injects (twice, in this toolchain) an inline
script pointing at a CDN copy of thebe. The book has no live-code buttons, so the thebe scripts
are dropped from every page; any other script is kept once.
"""


def _prune_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    kept = []
    for js in scripts:
        filename = str(getattr(js, "filename", js) or "")
        body = str(getattr(js, "attributes", {}).get("body", ""))
        if "thebe" in filename or "THEBE_JS_URL" in body:
            continue
        key = (filename, body)
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    scripts[:] = kept


def setup(app):
    app.connect("html-page-context", _prune_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
