"""Print the stored results of ``{eval}`expression``` roles in the published book.

A chapter's prose writes computed values as inline expressions, which JupyterLab (with
jupyterlab-myst) evaluates in the running kernel. The build has already evaluated them in
order while executing the chapter (scripts/executed_notebooks.py) and stored the results in
each markdown cell's ``user_expressions`` metadata, the format jupyterlab-myst itself
writes. Here, when Sphinx reads an executed notebook, each role is replaced by its stored
plain-text result (quotes of a string result dropped, as jupyterlab-myst shows it),
escaped so MyST prints it literally. A role without a stored result fails the build: the
page must not show an expression where a number belongs.
"""
import json
import re
import string

from sphinx.errors import ExtensionError

EVAL_ROLE = re.compile(r"\{eval\}`([^`]+)`")
QUOTED = re.compile(r"""^(["'])(.*)\1$""", re.S)


def _escape(text: str) -> str:
    """Backslash-escape every ASCII punctuation character (CommonMark prints it literally)."""
    return "".join("\\" + ch if ch in string.punctuation else ch for ch in text)


def plain_text(result: dict) -> str:
    """What jupyterlab-myst shows for a result: its text/plain, outer quotes removed."""
    text = result.get("data", {}).get("text/plain", "")
    match = QUOTED.match(text)
    return match.group(2) if match else text


def substitute(cell_source: str, entries: list[dict], where: str) -> str:
    stored = {entry["expression"]: entry["result"] for entry in entries}

    def replace(match: re.Match) -> str:
        expr = match.group(1)
        if expr not in stored:
            raise ExtensionError(f"{where}: inline expression {expr!r} has no stored result; "
                                 "execute the chapter with scripts/build_book.py")
        return _escape(plain_text(stored[expr]))

    return EVAL_ROLE.sub(replace, cell_source)


def _source_read(app, docname: str, source: list[str]) -> None:
    path = app.env.doc2path(docname)
    if not str(path).endswith(".ipynb") or "{eval}" not in source[0]:
        return
    nb = json.loads(source[0])
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if "{eval}" in text:
            entries = cell.get("metadata", {}).get("user_expressions", [])
            cell["source"] = substitute(text, entries, f"{docname}, cell {index}")
    source[0] = json.dumps(nb)


def setup(app):
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
