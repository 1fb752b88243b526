"""Chapter sources that read well on the page: no code line wider than the code box.

The published page's code box holds 88 columns of code; a longer line makes the cell
scroll sideways (the browser test checks the built page, this test the sources).
"""

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MAX_COLUMNS = 88


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_the_code_box(path):
    nb = json.loads(path.read_text())
    long_lines = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for number, line in enumerate(source.split("\n"), 1):
            if len(line) > MAX_COLUMNS:
                long_lines.append(
                    f"cell {index} line {number} ({len(line)} columns): {line.strip()[:60]}"
                )
    assert not long_lines, f"{path.name}: code lines over {MAX_COLUMNS} columns:\n" + "\n".join(
        long_lines
    )


# --- issue 25: what a reader sees of a chapter ----------------------------------------------

# Chapter 13 is left out of the two checks below until its debug print and its sections'
# closing statements are fixed (issue 25, finding 6: edited in a parallel branch).
NOT_YET: set[str] = set()
READ_CHAPTERS = [p for p in CHAPTERS if p.stem not in NOT_YET]
EVAL = re.compile(r"\{eval\}`")
# what a debug line prints: "a == b", "x = {x}", "x={x}", "device: ...", "|a - b|"
DEBUG_TEXT = re.compile(r"==|\w+ = \{|\{[^}]*=\}|^\s*device\b|\|\s*\w+\s*-\s*\w+\s*\|", re.I)
UNSCORED = re.compile(r"^## (Summary|Exercises|References|Explore)")


def _cells(path):
    for cell in json.loads(path.read_text())["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        yield cell["cell_type"], cell.get("metadata", {}).get("tags", []), source


@pytest.mark.parametrize("path", READ_CHAPTERS, ids=lambda p: p.stem)
def test_no_debug_prints(path):
    """A code cell shows a figure, a table or nothing; a check is an assert, silent when
    true, and may print one plain sentence: never a dict, a tuple, an object, a
    "x = 0.123" line or "a == b"."""
    found = []
    for index, (kind, _, source) in enumerate(_cells(path)):
        if kind != "code":
            continue
        for node in ast.walk(ast.parse(source)):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print"):
                continue
            shown = ast.unparse(node)[:80]
            if len(node.args) != 1 or not isinstance(node.args[0], (ast.Constant, ast.JoinedStr)):
                found.append(f"cell {index}: {shown} (print one sentence, an f-string)")
            elif DEBUG_TEXT.search(ast.unparse(node.args[0]).strip("f'\"")):
                found.append(f"cell {index}: {shown}")
    assert not found, f"{path.name}: debug-style output:\n" + "\n".join(found)


def _sections(path):
    """Each ``##`` section of a chapter: its heading and its cells (kind, tags, source)."""
    sections = []
    for kind, tags, source in _cells(path):
        parts = re.split(r"(?m)^(?=## )", source) if kind == "markdown" else [source]
        for part in parts:
            if kind == "markdown" and part.startswith("## "):
                sections.append((part.splitlines()[0], [(kind, tags, part)]))
            elif sections:
                sections[-1][1].append((kind, tags, part))
    return sections


@pytest.mark.parametrize("path", READ_CHAPTERS, ids=lambda p: p.stem)
def test_sections_that_report_numbers_end_with_a_computed_statement(path):
    """A ``##`` section that reports numbers (an ``{eval}`` in its prose, or a table) ends,
    after its last code cell, with a paragraph that holds an ``{eval}`` expression: a
    computed statement of what the numbers say, never a typed one."""
    unclosed = []
    for heading, body in _sections(path):
        if UNSCORED.match(heading):
            continue
        prose = [s for k, t, s in body if k == "markdown" and "caption" not in t]
        tables = [s for k, t, s in body if "caption" in t and s.lstrip().startswith("(tab-")]
        if not (tables or any(EVAL.search(s) for s in prose)):
            continue  # no numbers reported
        last_code = max((i for i, (k, _, _) in enumerate(body) if k == "code"), default=-1)
        after = "\n\n".join(
            s for k, t, s in body[last_code + 1 :] if k == "markdown" and "caption" not in t
        )
        paragraphs = [p for p in re.split(r"\n\s*\n", after) if p.strip()]
        if not paragraphs or not EVAL.search(paragraphs[-1]):
            unclosed.append(heading)
    assert not unclosed, f"{path.name}: sections without a closing statement: {unclosed}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_caption_cells_carry_the_caption_tag(path):
    """A figure's or table's caption (a cell opening with a ``(fig-...)=`` or ``(tab-...)=``
    label) is tagged "caption": the book's extensions wrap the output above it in a figure
    by that tag, and without it a figure is shrunk to a phone's width (its text below 9 px)."""
    untagged = [
        source.splitlines()[0]
        for kind, tags, source in _cells(path)
        if kind == "markdown" and re.match(r"\((fig|tab)-", source) and "caption" not in tags
    ]
    assert not untagged, f"{path.name}: caption cells without the caption tag: {untagged}"


DOC_ROLE = re.compile(r"\{doc\}`[^`]*`")
LOCAL_LINK = re.compile(r"\]\(((?!https?:|mailto:|#)[^)\s]+)\)")


@pytest.mark.parametrize(
    "path", CHAPTERS + sorted((ROOT / "book").glob("*.md")), ids=lambda p: p.name
)
def test_chapter_links_work_in_jupyterlab_and_the_book(path):
    """Links between pages are Markdown links to the file, [words](09_baselines.ipynb):
    Jupyter Book turns them into links to the page, and JupyterLab opens the notebook. A
    {doc} role reads well in the book but is a dead link in JupyterLab (jupyterlab-myst)."""
    if path.suffix == ".ipynb":
        text = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
    else:
        text = path.read_text()
    roles = DOC_ROLE.findall(text)
    assert not roles, f"{path.name}: {{doc}} links, dead in JupyterLab: {roles}"
    missing = [
        target
        for target in LOCAL_LINK.findall(text)
        if not (path.parent / target.split("#")[0]).exists()
    ]
    assert not missing, f"{path.name}: links to files that do not exist: {missing}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_tells_a_jupyterlab_reader_to_run_it(path):
    """A chapter committed without outputs shows its {eval} code until it runs; right under the
    title a note says so, in JupyterLab only (tagged remove-cell, so not in the HTML book)."""
    cells = json.loads(path.read_text())["cells"]
    tags = cells[1]["metadata"].get("tags", [])
    assert cells[1]["cell_type"] == "markdown" and "jupyterlab-note" in tags, path.name
    assert "remove-cell" in tags and "Run All Cells" in "".join(cells[1]["source"])
