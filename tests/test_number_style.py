"""One number style on the page (issue 25): scientific numbers as "1.9 × 10⁻⁶" and thousands as
"10,000", written by ``qkan_lib.evidence.display`` and nowhere else.

A reader check found "1.9e-06" (chapter 15), "9.3e-03" (chapter 13's tables) and "3.8 × 10⁻⁴"
side by side, and "10,000" beside "10 000". This test reads the library's sources and the
chapters' code and {eval} expressions for a format of their own that can print Python's
exponent ("{x:.1e}", "{x:g}", "%.2e", "{:.3g}".format) or thousands ("{n:,}", a "," replaced by
a space). Each exception is named below with why no reader sees it.
"""

import json
import re
from pathlib import Path

import pytest

from qkan_lib.evidence import display

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "qkan_lib").rglob("*.py"))
CHAPTERS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DISPLAY = ROOT / "qkan_lib" / "evidence" / "display.py"

# A format spec ("{value:+.2e}", "{:,}", "{n:,.0f}") whose type can print an exponent (e, E, g,
# G, or none after a precision) or that groups thousands (","), and the old-style "%.2e" / "%g".
_SPEC = r"[<>=^]?[+\- ]?#?0?\d*(?:,|_)?(?:\.\d+)?"
FORMAT_SPEC = re.compile(
    r"\{[^{}:]*:" + _SPEC + r"[eEgG]\}"  # {x:.1e}, {:g}
    r"|\{[^{}:]*:[<>=^]?[+\- ]?#?0?\d*,(?:\.\d+)?[fd]?\}"  # {n:,}, {x:,.0f}
    r"|%[-+ #0]*\d*(?:\.\d+)?[eEgG]\b"  # "%.2e", "%g"
    r"|\.replace\(\s*\",\"\s*,\s*\" \"\s*\)"  # f"{n:,}".replace(",", " ")
)

# Machine- or developer-facing formats: (file, text on the line, why no reader sees it).
ALLOWED = [
    ("qkan_lib/models/cells.py", "needs {needed:,} bytes", "an exception's message"),
    ("qkan_lib/models/cells.py", "QLSTM_MAX_UNITARY_BYTES / 2**30:g", "an exception's message"),
    ("qkan_lib/data/narma.py", "{y[step]:.3g}", "an exception's message"),
    ("qkan_lib/data/milan.py", "square id {square[k]:g}", "a data-file error's message"),
    ("qkan_lib/data/milan.py", "country code {country[k]:g}", "a data-file error's message"),
    ("qkan_lib/data/milan.py", "is negative ({values[k]:g})", "a data-file error's message"),
    ("qkan_lib/data/milan.py", "got {bad[0]:g}", "a data-file error's message"),
    ("qkan_lib/core/noise.py", "[0, {upper:g}]", "an exception's message"),
    ("qkan_lib/runs/training.py", "mean_losses.mean()):.4g", "the terminal's progress bar"),
]


def _allowed(path: Path, line: str) -> bool:
    name = path.relative_to(ROOT).as_posix()
    return any(name == f and text in line for f, text, _ in ALLOWED)


def _library_hits() -> list[str]:
    hits = []
    for path in LIBRARY:
        if path == DISPLAY:
            continue  # the one home of the page's number formats
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if FORMAT_SPEC.search(line) and not _allowed(path, line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return hits


def _chapter_hits(path: Path) -> list[str]:
    """Format specs in the code cells and in the {eval} expressions of the prose."""
    hits = []
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            parts = re.findall(r"\{eval\}`([^`]*)`", source)
        elif cell["cell_type"] == "code":
            parts = source.splitlines()
        else:
            continue
        hits += [f"cell {index}: {p.strip()}" for p in parts if FORMAT_SPEC.search(p)]
    return hits


def test_the_format_pattern_finds_every_look_it_means():
    found = [
        'f"{x:.1e}"',
        'f"{gap:.0e}"',
        'f"{v:g}"',
        'f"{p:.2g}"',
        'f"{x:+.3E}"',
        '"{:.2e}".format(x)',
        '"{:g} [{:g}]"',
        '"%.3e" % x',
        '"%g" % x',
        'f"{n:,}"',
        'f"{days:,.0f}"',
        'f"{shots:,}".replace(",", " ")',
    ]
    assert [s for s in found if not FORMAT_SPEC.search(s)] == []
    clean = [
        'f"{x:.4f}"',
        'f"{n}"',
        "{gate-map class name: kernel name}",
        "ql.display.scientific(x)",
        '"%Y"',
        'f"{r2:+.3f}"',
        '"{:.2f}".format(x)',
        "{dataset: {label: value}}",
    ]
    assert [s for s in clean if FORMAT_SPEC.search(s)] == []


def test_library_formats_numbers_for_the_page_only_through_display():
    hits = _library_hits()
    assert not hits, (
        "reader-facing numbers go through qkan_lib.evidence.display (scientific, significant, "
        "number, count, power_text, p_value); a machine-facing format goes into ALLOWED with "
        "its reason:\n" + "\n".join(hits)
    )


def test_every_allowed_exception_is_still_there():
    # an exception that no longer matches anything is removed, not kept as a blanket pass
    stale = []
    for name, text, _ in ALLOWED:
        source = (ROOT / name).read_text()
        if not any(text in line and FORMAT_SPEC.search(line) for line in source.splitlines()):
            stale.append((name, text))
    assert not stale, stale


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_format_numbers_only_through_display(path):
    hits = _chapter_hits(path)
    assert not hits, f"{path.name}: numbers formatted outside ql.display:\n" + "\n".join(hits)


def test_browser_pattern_is_the_display_pattern():
    # tests/browser/test_published_book.py runs display.find_raw_numbers over each page's
    # text outside code cells; here it is checked on sample page text (no browser needed)
    page = "The fit leaves 1.9 × 10⁻⁶; at 10,000 shots the loss is 0.0123 (Table 13.2: 9.3 × 10⁻³)."
    assert display.find_raw_numbers(page) == []
    old = "The fit leaves 1.9e-06; at 10 000 shots the loss is 0.0123 (Table 13.2: 9.3e-03)."
    assert display.find_raw_numbers(old) == ["1.9e-06", "10 000", "9.3e-03"]
    browser_test = (ROOT / "tests" / "browser" / "test_published_book.py").read_text()
    assert "find_raw_numbers" in browser_test
