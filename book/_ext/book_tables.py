"""Glued tables numbered as tables, captions above them, and CSS that keeps them readable.

A chapter shows a pandas table with ``{glue:figure}``, the only myst-nb directive that
gives glued output a caption and a label. Sphinx numbers every figure node as a figure,
so Table IV came out as "Fig. 19". Here each glued figure whose label starts with
``tab-`` (the book's convention, ``:name: tab-...``), or which carries the class
``table`` (``:figclass: table``), becomes a :class:`numbered_table` node: a figure
subclass registered under the "table" number type, so it gets "Table N" and its own
counter, and ``{numref}`` says "Table N". The caption moves above the table, as tables
have it. ``book_tables.css`` fits tables to the column (smaller font, wrapping cells) and shows
them as one card per row on a phone, with ``book_tables.js`` naming each value's column.
"""
from pathlib import Path

from docutils import nodes

TABLE_PREFIX = "tab-"
STATIC = Path(__file__).parent / "static"


class numbered_table(nodes.figure):  # noqa: N801 (docutils node classes are lower case)
    """A glued figure that holds a table: numbered with the tables."""


def _is_table(figure: nodes.figure) -> bool:
    return (any(name.startswith(TABLE_PREFIX) for name in figure["names"])
            or "table" in figure.get("classes", []))


def _tables_as_tables(app, doctree) -> None:
    for figure in list(doctree.findall(nodes.figure)):
        if type(figure) is not nodes.figure or not _is_table(figure):
            continue
        table = numbered_table(figure.rawsource, *figure.children, **figure.attributes)
        table["classes"] = [*table.get("classes", []), "book-table"]
        captions = [child for child in table.children if isinstance(child, nodes.caption)]
        for caption in captions:  # caption first: a table's caption is read before the table
            table.remove(caption)
            table.insert(0, caption)
        if captions:
            # docutils closes <figcaption> only at the figure's end (a legend may follow), which
            # put the whole table inside the caption: close it right after the caption instead.
            table.insert(1, nodes.raw("", "</figcaption>\n", format="html"))
        figure.replace_self(table)


def _visit(self, node):
    self.visit_figure(node)


def _depart(self, node):
    if any(isinstance(child, nodes.caption) for child in node.children):
        self.body.append("</figure>\n")  # </figcaption> is already written
    else:
        self.depart_figure(node)


def _visit_latex(self, node):
    self.visit_figure(node)


def _depart_latex(self, node):
    self.depart_figure(node)


def _add_static(app) -> None:
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.add_enumerable_node(
        numbered_table, "table", html=(_visit, _depart), latex=(_visit_latex, _depart_latex)
    )
    app.connect("doctree-read", _tables_as_tables)
    app.connect("builder-inited", _add_static)
    app.add_css_file("book_tables.css")
    app.add_js_file("book_tables.js")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
