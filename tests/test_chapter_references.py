"""Citations (issue 25, group 8): every chapter's References section is generated from
book/references.bib (readable in JupyterLab, where a citation shows only its key), every
bibliography entry is cited somewhere, and the bibliography is labelled author-year."""

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "book" / "_ext")]

from author_year_bibliography import author_year_label  # noqa: E402
from chapter_references import (  # noqa: E402
    CITE,
    HEADING,
    cited_keys,
    formatted_entries,
    references_section,
    updated,
)

CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def entries():
    return formatted_entries()


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_references_are_current(path, entries):
    nb = json.loads(path.read_text())
    assert not updated(nb, entries, path.name), (
        f"{path.name}: its References section is stale: run python scripts/chapter_references.py"
    )
    keys = cited_keys(nb)
    last = "".join(nb["cells"][-1]["source"])
    assert HEADING in last and all(f"{{cite}}`{k}`: " in last for k in keys), path.name


def test_every_bibliography_entry_is_cited():
    bib = (ROOT / "book" / "references.bib").read_text()
    keys = set(re.findall(r"@\w+\{([^,\s]+),", bib))
    cited = set()
    sources = [*CHAPTERS, *(ROOT / "book").glob("*.md")]
    for path in sources:
        for group in CITE.findall(path.read_text()):
            cited |= {k.strip() for k in group.split(",")}
    assert keys - cited == set(), f"listed but never cited: {sorted(keys - cited)}"
    assert cited - keys == set(), f"cited but not listed: {sorted(cited - keys)}"


def test_entries_are_author_year_and_spell_qkan(entries):
    from pybtex.database import parse_file

    data = parse_file(str(ROOT / "book" / "references.bib"))
    labels = {key: author_year_label(entry) for key, entry in data.entries.items()}
    assert labels["hsu2025qkanlstm"] == "Hsu et al., 2025"
    assert labels["holm1979"] == "Holm, 1979"
    assert labels["hochreiter1997lstm"] == "Hochreiter and Schmidhuber, 1997"
    assert "QKAN:" in entries["qkan_repo"] and "Qkan" not in " ".join(entries.values())


def test_unknown_citation_is_refused(entries):
    with pytest.raises(ValueError, match="nobody2020"):
        references_section(["nobody2020"], entries, "chapter x")
