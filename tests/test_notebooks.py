"""The chapters as files: committed clean, parameterised, listed in the book, and nbval really
fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_there_are_chapters():
    assert CHAPTERS, "no numbered chapters found in notebooks/"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = _load(path)
    dirty = [
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} carry outputs; run nbstripout (see book/how_to_run.md)"
    )
    assert "papermill" not in nb["metadata"], f"{path.name} carries papermill metadata"
    assert not any("papermill" in c.get("metadata", {}) for c in nb["cells"]), path.name


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_has_parameters_cell(path):
    cells = [
        c for c in _load(path)["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    assert len(cells) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
    source = "".join(cells[0]["source"])
    for name in ("full_protocol = False", 'device = "auto"', "seed ="):
        assert name in source, f"{path.name}: parameters cell lacks {name!r}"


def test_every_chapter_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    missing = [p.stem for p in CHAPTERS if f"notebooks/{p.stem}" not in toc]
    assert not missing, f"chapters missing from _toc.yml: {missing}"


def _notebook(path: Path, sources: list[str]) -> Path:
    cells = [
        {"cell_type": "code", "metadata": {}, "source": s, "outputs": [], "execution_count": None}
        for s in sources
    ]
    nb = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "sources, should_pass",
    [
        (["x = 1", "assert x == 1"], True),
        (["x = 1", "assert x == 2, 'a chapter check failed'"], False),
    ],
)
def test_nbval_fails_when_a_chapter_cell_raises(tmp_path, sources, should_pass):
    nb = _notebook(tmp_path / "chapter.ipynb", sources)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-current-env",
            str(nb),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert (result.returncode == 0) == should_pass, result.stdout[-2000:]
