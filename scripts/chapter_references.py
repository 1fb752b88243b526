"""Write each chapter's "References" section from book/references.bib: readable in JupyterLab.

In the published book a ``{cite}`key``` role becomes an author-year link to the
bibliography; JupyterLab (jupyterlab-myst) shows only the key. So every chapter ends with a
"## References" section listing each work it cites, in the order first cited, as
``- {cite}`key`: full entry``: in JupyterLab the key is followed by the whole reference, in
the book the author-year link is. The entries are formatted by the same pybtex style as the
bibliography page (book/_ext/author_year_bibliography.py).

    python scripts/chapter_references.py           # rewrite the sections
    python scripts/chapter_references.py --check   # exit 1 if a section is out of date

tests/test_chapter_references.py runs the check, and checks that every entry of
references.bib is cited somewhere.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"
HEADING = "## References"
CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")
INTRO = (
    "Works cited in this chapter, in the order cited, each in full (the HTML book also lists "
    "every work of the book on its [bibliography page](../book/references.md)):"
)


def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def cited_keys(nb: dict) -> list[str]:
    """Keys cited in a chapter's markdown outside its References section, first citation
    first."""
    keys: list[str] = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = _source(cell).split(HEADING)[0]
        for group in CITE.findall(text):
            for key in (k.strip() for k in group.split(",")):
                if key not in keys:
                    keys.append(key)
    return keys


def formatted_entries(bib: Path = BIB) -> dict[str, str]:
    """Each entry of the bibliography as one line of plain text (its source reads in an
    editor too), in the bibliography's style."""
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from author_year_bibliography import AuthorYearStyle
    from pybtex.backends.plaintext import Backend
    from pybtex.database import parse_file

    data = parse_file(str(bib))
    backend = Backend()
    return {
        entry.key: " ".join(entry.text.render(backend).split())
        for entry in AuthorYearStyle().format_entries(data.entries.values())
    }


def references_section(keys: list[str], entries: dict[str, str], where: str) -> str:
    unknown = [k for k in keys if k not in entries]
    if unknown:
        raise ValueError(f"{where}: cites {unknown}, which book/references.bib does not hold")
    # a "*" of a file pattern (props_*.json) would start emphasis in Markdown: escaped
    items = "\n".join(f"- {{cite}}`{key}`: {entries[key].replace('*', chr(92) + '*')}"
                      for key in keys)  # fmt: skip
    return f"{HEADING}\n\n{INTRO}\n\n{items}\n"


def updated(nb: dict, entries: dict[str, str], where: str) -> bool:
    """Rewrite the chapter's References section (in its last markdown cell); True if changed."""
    keys = cited_keys(nb)
    cells = [c for c in nb["cells"] if c["cell_type"] == "markdown" and HEADING in _source(c)]
    if not keys and not cells:
        return False
    if len(cells) != 1:
        raise ValueError(f"{where}: needs exactly one '{HEADING}' section, found {len(cells)}")
    cell = cells[0]
    before = _source(cell).split(HEADING)[0]
    text = before + references_section(keys, entries, where)
    if text == _source(cell):
        return False
    lines = text.split("\n")
    cell["source"] = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale sections")
    args = parser.parse_args(argv)
    entries = formatted_entries()
    stale = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = json.loads(path.read_text())
        if updated(nb, entries, path.name):
            stale.append(path.name)
            if not args.check:
                path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    if stale:
        print(("stale: " if args.check else "rewrote: ") + ", ".join(stale))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
