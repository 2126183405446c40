"""Citation hover cards for the book's HTML, offline: a Sphinx extension.

Hovering (or focusing) a citation link shows a card with the full reference, taken from the
bibliography entry on the same page (each chapter has its own References); a link to another page
falls back to the entry text sphinxcontrib-bibtex puts in the link's ``title``. The card is a
Bootstrap 5 popover: Bootstrap is already bundled by pydata-sphinx-theme (``window.bootstrap``),
so nothing is loaded from outside the book (sphinx-tippy would need tippy.js and Popper from a CDN,
and fetches DOI/Wikipedia previews over the network at build time).
"""
from pathlib import Path

STATIC = Path(__file__).parent / "static"


def _add_static(app):
    if app.builder.format == "html":
        app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("builder-inited", _add_static)
    app.add_js_file("cite_cards.js", loading_method="defer")
    app.add_css_file("cite_cards.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
