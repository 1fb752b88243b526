"""Captions that read in JupyterLab and number in the book: a tagged markdown cell.

``{glue:figure}`` shows in JupyterLab as an "Unknown Directive" box, so a chapter gives a
figure or table its caption in an ordinary markdown cell, tagged ``caption``, right after
the code cell that displays it, its first line the MyST label::

    (tab-table-two)=
    Table II (Damped SHM), recomputed: mean ± std over seeds ...

JupyterLab (jupyterlab-myst) shows the output and then the caption as a paragraph (the
label line is an invisible target). When Sphinx reads the executed notebook, this
extension moves the caption into the code cell's ``mystnb.figure`` options (name and
caption), which myst-nb renders as a numbered figure around the output, and drops the
markdown cell; book_tables.py then numbers ``tab-`` labels as tables. It runs after
inline_expressions.py, so numbers in a caption are already filled in.
"""
import json
import re

from sphinx.errors import ExtensionError

CAPTION_TAG = "caption"
LABEL = re.compile(r"^\(([A-Za-z0-9_.:-]+)\)=\s*$")
DISPLAYED = ("display_data", "execute_result")
GLUE_RECORD = "application/papermill.record/"  # myst_nb.glue(..., display=False): not shown


def fold_captions(nb: dict, where: str) -> int:
    """Move every caption cell into the code cell before it. Returns the number moved."""
    cells, moved = [], 0
    for index, cell in enumerate(nb.get("cells", [])):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") != "markdown" or CAPTION_TAG not in tags:
            cells.append(cell)
            continue
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        first, _, caption = text.strip().partition("\n")
        label = LABEL.match(first.strip())
        if not label or not caption.strip():
            raise ExtensionError(f"{where}, cell {index}: a caption cell starts with a label line "
                                 "'(fig-...)=' or '(tab-...)=' followed by the caption text")
        target = cells[-1] if cells else None
        if target is None or target.get("cell_type") != "code":
            raise ExtensionError(f"{where}, cell {index}: a caption cell must follow the code cell "
                                 "that displays its figure or table")
        shown = [o for o in target.get("outputs", []) if o.get("output_type") in DISPLAYED
                 and not all(k.startswith(GLUE_RECORD) for k in o.get("data", {}))]
        if len(shown) != 1:
            raise ExtensionError(f"{where}, cell {index}: the code cell before caption {label.group(1)!r} "
                                 f"displays {len(shown)} outputs; it must display exactly one")
        options = target.setdefault("metadata", {}).setdefault("mystnb", {}).setdefault("figure", {})
        options.update({"name": label.group(1), "caption": caption.strip()})
        moved += 1
    nb["cells"] = cells
    return moved


def _source_read(app, docname: str, source: list[str]) -> None:
    path = str(app.env.doc2path(docname))
    if not path.endswith(".ipynb") or '"caption"' not in source[0]:
        return
    nb = json.loads(source[0])
    if fold_captions(nb, docname):
        source[0] = json.dumps(nb)


def setup(app):
    app.connect("source-read", _source_read, priority=600)  # after inline_expressions (500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
