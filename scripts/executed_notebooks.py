"""What build_book.py does to a chapter around its papermill run.

Inline expressions. A chapter's prose writes a computed value as the MyST role
``{eval}`expression```. JupyterLab with the jupyterlab-myst extension evaluates it in the
kernel when the markdown cell runs and keeps the result in the cell's metadata
(``user_expressions``), so the prose reads with its numbers in JupyterLab. For the
published book the build does the same, in the same order: before papermill runs, a hidden
code cell after each such markdown cell asks the kernel for exactly the results
jupyterlab-myst would ask for (IPython's ``user_expressions``); afterwards the results move
into that markdown cell's metadata in jupyterlab-myst's format and the helper cells go.
book/_ext/inline_expressions.py then prints the stored results in the HTML, and an
executed chapter opened in JupyterLab shows them before anything runs.

Parameters. Papermill adds an "injected-parameters" cell under the chapter's
"parameters" cell, so every page showed its parameters twice. The values actually used
are written into the parameters cell (its comments kept) and the injected cell removed.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize

import nbformat

EVAL_ROLE = re.compile(r"\{eval\}`([^`]+)`")
HELPER_TAG = "book-inline-expressions"


def expressions(markdown: str) -> list[str]:
    """The expressions of the ``{eval}`...``` roles in a markdown source, in order."""
    return EVAL_ROLE.findall(markdown)


def add_expression_cells(nb: nbformat.NotebookNode) -> int:
    """Insert a hidden helper cell after each markdown cell with inline expressions.

    Returns the number of helper cells added.
    """
    cells, added = [], 0
    for cell in nb.cells:
        cells.append(cell)
        found = expressions(cell.source) if cell.cell_type == "markdown" else []
        if found:
            request = {str(k): expr for k, expr in enumerate(found)}
            source = (
                'print(__import__("json").dumps('
                f"get_ipython().user_expressions({json.dumps(request)})))"
            )
            helper = nbformat.v4.new_code_cell(source)
            helper.metadata["tags"] = [HELPER_TAG, "remove-cell"]
            cells.append(helper)
            added += 1
    nb.cells = cells
    return added


def collect_expression_results(nb: nbformat.NotebookNode, name: str) -> int:
    """Move each helper cell's results into the markdown cell before it; drop the helpers.

    Raises RuntimeError naming the chapter and the expression when one failed: a page must
    not print an error where a number belongs. Returns the number of expressions stored.
    """
    cells, stored = [], 0
    for cell in nb.cells:
        if HELPER_TAG not in cell.get("metadata", {}).get("tags", []):
            cells.append(cell)
            continue
        markdown = cells[-1]
        text = "".join(
            o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout"
        )
        try:
            results = json.loads(text.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError) as error:
            raise RuntimeError(
                f"{name}: no inline expression results after the markdown cell "
                f"starting {markdown.source[:60]!r}"
            ) from error
        found = expressions(markdown.source)
        entries = []
        for k, expr in enumerate(found):
            result = results[str(k)]
            if result.get("status") != "ok":
                raise RuntimeError(
                    f"{name}: inline expression {expr!r} failed: "
                    f"{result.get('ename')}: {result.get('evalue')}"
                )
            entries.append({"expression": expr, "result": result})
            stored += 1
        markdown.metadata["user_expressions"] = entries
    nb.cells = cells
    renumber_execution_counts(nb)
    return stored


def renumber_execution_counts(nb: nbformat.NotebookNode) -> None:
    """Number the executed code cells 1, 2, 3, ... in page order, outputs included: the
    helper and injected cells the build removes leave no gaps in the counts a reader sees."""
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.get("execution_count") is None:
            continue
        count += 1
        cell.execution_count = count
        for output in cell.get("outputs", []):
            if "execution_count" in output:
                output["execution_count"] = count


def _statement_text(lines: list[str], node: ast.stmt) -> tuple[int, int, str]:
    """First and last line index of a statement and the comment after it on its last line."""
    first, last = node.lineno - 1, node.end_lineno - 1
    comment = ""
    tail = lines[last][node.end_col_offset :]
    tokens = tokenize.generate_tokens(io.StringIO(tail).readline)
    try:
        for token in tokens:
            if token.type == tokenize.COMMENT:
                comment = "  " + token.string
                break
    except tokenize.TokenError:
        pass
    return first, last, comment


def fold_injected_parameters(nb: nbformat.NotebookNode, name: str) -> bool:
    """Write papermill's injected values into the "parameters" cell and remove the injected cell.

    Returns True when a cell was folded, False when there was none (already folded).
    Raises ValueError naming the chapter when an injected parameter has no assignment in
    the parameters cell (papermill would have shown it only in the hidden cell).
    """

    def tagged(tag):
        return [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]

    injected, params = tagged("injected-parameters"), tagged("parameters")
    if not injected:
        return False
    if len(params) != 1:
        raise ValueError(f"{name}: expected one cell tagged 'parameters', found {len(params)}")
    target = params[0]
    values = {}
    source = "\n".join(c.source for c in injected)
    for node in ast.parse(source).body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            values[node.targets[0].id] = ast.get_source_segment(source, node.value)
    lines = target.source.split("\n")
    replaced = set()
    for node in reversed(ast.parse(target.source).body):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in values
        ):
            first, last, comment = _statement_text(lines, node)
            key = node.targets[0].id
            lines[first : last + 1] = [f"{key} = {values[key]}{comment}"]
            replaced.add(key)
    missing = sorted(set(values) - replaced)
    if missing:
        raise ValueError(
            f"{name}: papermill injected {missing}, which the parameters cell does not assign"
        )
    target.source = "\n".join(lines)
    nb.cells = [c for c in nb.cells if not any(c is i for i in injected)]
    renumber_execution_counts(nb)
    return True


# Papermill records where it read and wrote the chapter (absolute paths of the build machine)
# and the environment it set; a reader downloading the notebook needs none of it. The
# parameters actually used stay (they are also written into the parameters cell).
MACHINE_METADATA = ("input_path", "output_path", "environment_variables")


def strip_build_traces(nb: nbformat.NotebookNode, machine_strings=()) -> list[str]:
    """Remove papermill's build-machine metadata from an executed notebook.

    ``machine_strings`` (absolute paths, the user's home, the host name) must then appear
    nowhere in the notebook, outputs included: a ValueError names the cell and the string
    (a chapter printing its working directory must be fixed in the chapter, not hidden).
    Returns the metadata keys removed.
    """
    removed = []
    record = nb.metadata.get("papermill", {})
    for key in MACHINE_METADATA:
        if key in record:
            del record[key]
            removed.append(key)
    for index, cell in enumerate(nb.cells):
        text = json.dumps(cell, ensure_ascii=False)
        for found in machine_strings:
            if found and found in text:
                at = text.index(found)
                raise ValueError(
                    f"cell {index} shows the build machine's {found!r}: "
                    f"...{text[max(0, at - 60) : at + 60]}..."
                )
    return removed
