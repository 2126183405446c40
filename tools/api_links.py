"""Link the book's mentions of the library to its API reference: a Sphinx extension.

A chapter names the module it uses in running text as an inline literal, ```dmftlib.linear```
or ```dmftlib.linear.gradient_flow_theory```. On every page outside ``book/api/``, the first
mention of each module or documented object becomes a link to its entry in the API reference
(``book/api/dmftlib.<module>.md``, labels ``api-dmftlib-<module>``, or the autodoc entry of the
object); later mentions on the same page stay plain. Nothing in the chapters changes.
"""
from __future__ import annotations

import re

from docutils import nodes

NAME = re.compile(r"^(dmftlib(?:\.\w+)+)(?:\(\))?$")


def _targets(env):
    std = env.get_domain("std")
    py = env.get_domain("py")
    modules = {}
    for label, (docname, labelid, _title) in std.labels.items():
        if label.startswith("api-dmftlib-"):
            modules[label[len("api-"):].replace("-", ".")] = (docname, labelid)
    objects = {name: (obj.docname, obj.node_id) for name, obj in py.objects.items()
               if name.startswith("dmftlib.")}
    return modules, objects


def _link(app, doctree, fromdocname):
    if fromdocname.startswith("book/api/"):
        return
    modules, objects = _targets(app.env)
    if not modules and not objects:
        return
    seen = set()
    for lit in list(doctree.findall(nodes.literal)):
        if isinstance(lit.parent, (nodes.reference, nodes.literal_block)) or lit.get("classes") == ["xref"]:
            continue
        m = NAME.match(lit.astext().strip())
        if not m:
            continue
        name = m.group(1)
        target = objects.get(name) or modules.get(name)
        if target is None or name in seen:
            continue
        seen.add(name)
        docname, anchor = target
        try:
            uri = app.builder.get_relative_uri(fromdocname, docname)
        except Exception:  # noqa: BLE001 - a builder without pages (e.g. linkcheck)
            continue
        # the single-page builder answers 'index.html#document-...': keep the page, use our anchor
        ref = nodes.reference("", "", internal=True, refuri=f"{uri.split('#')[0]}#{anchor}",
                              reftitle=f"{name} in the API reference")
        lit.replace_self(ref)
        ref += lit


def setup(app):
    app.connect("doctree-resolved", _link)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
