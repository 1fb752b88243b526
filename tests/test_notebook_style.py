"""Chapter sources that read well on the page: no code line wider than the code box.

The published page's code box holds 88 columns of code; a longer line makes the cell
scroll sideways (the browser test checks the built page, this test the sources).
"""

import json
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
