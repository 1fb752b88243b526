"""Rewrite a chapter's glue roles and glue figures into the forms JupyterLab renders.

    python scripts/glue_to_myst.py notebooks/05_damped_shm.ipynb [...] [--check]

- ``{glue:text}`key:fmt``` becomes ``{eval}`f"{expr:fmt}"``` (``{eval}`expr``` without a
  format), where ``expr`` is the value passed to ``glue("key", expr, ...)`` in a code cell.
- A markdown cell that is exactly one ``{glue:figure}`` block becomes a caption cell
  (tagged ``caption``, first line ``(name)=``, see book/_ext/captions.py) when it directly
  follows the code cell that glues the figure or table; that cell's ``remove-output`` tag is
  dropped so its output shows.

Anything it cannot rewrite safely (a glued value that is not a plain expression of the cell,
a caption not next to its cell, a figure block with other text in the cell) is listed for a
hand edit, and the notebook is left unchanged there. ``--check`` only reports.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import nbformat

GLUE_TEXT = re.compile(r"\{glue:text\}`([^`:]+)(?::([^`]+))?`")
GLUE_FIGURE = re.compile(
    r"^```\{glue:figure\}\s+(\S+)\s*\n:name:\s*(\S+)\s*\n\n(.*?)\n```[ \t]*(?:\n|$)", re.S
)


def glued_values(nb) -> dict[str, tuple[int, str]]:
    """key -> (code cell index, source of the glued expression), from glue("key", expr, ...)
    calls."""
    found = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "glue"
                and len(node.args) >= 2
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found[node.args[0].value] = (
                    index,
                    ast.get_source_segment(cell.source, node.args[1]),
                )
    return found


def convert(nb, name: str) -> list[str]:
    """Rewrite ``nb`` in place; return the list of places left for a hand edit."""
    values, todo = glued_values(nb), []

    def role(match: re.Match) -> str:
        key, fmt = match.group(1), match.group(2)
        if key not in values:
            todo.append(f'{name}: {{glue:text}}`{key}` has no glue("{key}", ...) call')
            return match.group(0)
        expr = values[key][1]
        if "`" in expr or "\n" in expr:
            todo.append(f"{name}: glue {key!r}: assign {expr!r} to a variable first")
            return match.group(0)
        if fmt:
            quote = "'" if '"' in expr else '"'
            return f"{{eval}}`f{quote}{{{expr}:{fmt}}}{quote}`"
        return f"{{eval}}`{expr}`"

    cells = []
    for index, cell in enumerate(nb.cells):
        cells.append(cell)
        if cell.cell_type != "markdown":
            continue
        cell.source = GLUE_TEXT.sub(role, cell.source)
        if "{glue:figure}" not in cell.source:
            continue
        block = GLUE_FIGURE.match(cell.source.lstrip())
        if not block:
            todo.append(f"{name}, cell {index}: text before a glue:figure block in the same cell")
            continue
        key, label, caption = block.groups()
        rest = cell.source.lstrip()[block.end() :].strip()
        source_cell = values.get(key, (None,))[0]
        if source_cell is None or source_cell != index - 1:
            todo.append(
                f"{name}, cell {index}: glue:figure {key!r} is not right after the cell that "
                "glues it "
                f"(cell {source_cell}); move the caption there"
            )
            continue
        code = nb.cells[source_cell]
        tags = [t for t in code.metadata.get("tags", []) if t != "remove-output"]
        code.metadata["tags"] = tags
        if not tags:
            del code.metadata["tags"]
        cell.source = f"({label})=\n{caption.strip()}"
        cell.metadata["tags"] = [*cell.metadata.get("tags", []), "caption"]
        if rest:
            cells.append(nbformat.v4.new_markdown_cell(rest))
            if "{glue:figure}" in rest:
                todo.append(f"{name}, cell {index}: a second glue:figure block in one cell")
    nb.cells = cells
    return todo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="report only, write nothing")
    args = parser.parse_args(argv)
    left = []
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        todo = convert(nb, path.name)
        left += todo
        if not args.check:
            nbformat.write(nb, path)
    print("\n".join(left) if left else "everything converted")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
