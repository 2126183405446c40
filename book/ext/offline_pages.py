"""Sphinx extension for the book: self-contained pages and unique bibliography labels.

1. Jupyter Book 1 always loads sphinx-thebe, which injects (twice, in this toolchain) an inline
   script pointing at a CDN copy of thebe. The book has no live-code buttons, so the thebe scripts
   are dropped from every page; any other script is kept once.
2. Each chapter ends with its own bibliography and the back matter has a global one. Numeric
   labels ([1], [2], ...) would then clash between bibliographies, so entries are labelled by their
   citation key (``cohen2021gradient``), unique by construction: the pybtex style ``keyed``
   (the ``plain`` style with key labels).
"""
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


class KeyLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            yield entry.key


class KeyedStyle(PlainStyle):
    default_label_style = "key"


register_plugin("pybtex.style.labels", "key", KeyLabelStyle)
register_plugin("pybtex.style.formatting", "keyed", KeyedStyle)


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
