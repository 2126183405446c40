"""Let the single-page HTML build (``make pdf``) render every node the HTML build renders.

Sphinx looks up an extension's node visitors under the builder's name ("singlehtml") and falls
back to its format ("html") only when no extension registered anything for "singlehtml".
sphinx-exercise does register singlehtml visitors, so sphinx-proof's theorem and definition
nodes (registered for "html" only) would be unknown to the single-page build. This copies every
"html" visitor that has no "singlehtml" counterpart.
"""


def _inherit_html_visitors(app):
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for name, pair in handlers.get("html", {}).items():
        single.setdefault(name, pair)


def setup(app):
    app.connect("builder-inited", _inherit_html_visitors)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
