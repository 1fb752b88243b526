"""The archive report (qkan_lib.evidence.report): its tables computed from stored runs, checked
against numbers read straight from the archive's files with numpy; the changed-verdict list."""

import json
import lzma
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qkan_lib.__main__ import main
from qkan_lib.evidence import report
from qkan_lib.runs import archive as A

ARCHIVE = Path(__file__).resolve().parents[2] / "archive" / "full"


def test_markdown_table_keeps_the_index_and_every_cell():
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=pd.Index(["r", "s"], name="k"))
    assert report.markdown_table(frame).splitlines() == [
        "| k | a | b |",
        "|---|---|---|",
        "| r | 1 | x |",
        "| s | 2 | y |",
    ]


def test_table_iv_is_the_mean_and_std_over_seeds():
    rng = np.random.default_rng(0)
    final = pd.DataFrame(
        [
            {
                "model": m,
                "seq_len": s,
                "seed": k,
                "test_mae": rng.random(),
                "test_mse": rng.random(),
            }
            for m in ("lstm", "qkan_lstm")
            for s in (4, 8)
            for k in range(3)
        ]
    )
    table = report.table_iv(final)
    part = final[(final["model"] == "qkan_lstm") & (final["seq_len"] == 8)]["test_mae"]
    assert table.loc[("QKAN-LSTM", 8), "MAE"] == f"{part.mean():.4f} ± {part.std(ddof=1):.4f}"
    assert table.loc[("QKAN-LSTM", 8), "seeds"] == 3 and len(table) == 4


def test_table_iv_writes_each_column_in_one_style():
    """Table IV's MSEs of about 0.011 have stds from 7e-5 to 8e-4: one style per column (the
    report's first version printed "0.01086 ± 6.9 × 10⁻⁵" beside "0.01149 ± 0.00068")."""
    mse = {(4, 0): 0.0114, (4, 1): 0.0121, (4, 2): 0.0108, (8, 0): 0.01086, (8, 1): 0.01093}
    mse[(8, 2)] = 0.01080
    final = pd.DataFrame(
        [
            {"model": "lstm", "seq_len": s, "seed": k, "test_mae": 0.06 + v, "test_mse": v}
            for (s, k), v in mse.items()
        ]
    )
    cells = report.table_iv(final)["MSE"].tolist()
    assert all("× 10" in c for c in cells) or not any("× 10" in c for c in cells), cells
    assert all(c.count("±") == 1 for c in cells)


def test_verdict_changes_lists_only_the_claims_that_differ():
    full = pd.DataFrame(
        {"claim": ["a", "b"], "outcome": ["holds", "not supported"], "verdict": ["x", "y"]}
    )
    quick = full.assign(outcome=["holds", "holds"], verdict=["x", "z"])
    changes = report.verdict_changes(full, quick)
    assert list(changes.index) == ["b"]
    assert changes.loc["b"].tolist() == ["holds", "not supported", "z", "y"]
    assert report.verdict_changes(full, full).empty


def test_the_regeneration_table_adds_a_total_and_a_lower_bound_per_worker():
    rows = [
        {"chapter": "05", "title": "a", "runs": 3, "training_s": 120.0, "complete": True},
        {"chapter": "12", "title": "b", "runs": 1, "training_s": 60.0, "complete": False},
    ]
    table = report.regeneration_table(rows, workers=2)
    assert list(table.index) == ["05", "12", "all"]
    assert table.loc["all", "archived runs"] == "4"
    assert table.loc["all", "training CPU (min)"] == "3.0"
    assert table.loc["all", "wall at 2 workers, at least (min)"] == "1.5"
    assert list(table["what is trained"]) == ["a", "b", ""]  # the step, under its own header
    assert list(table["archive complete"]) == ["yes", "no", "no"]


def test_an_unknown_quick_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="quick must be"):
        report.archive_report(tmp_path, quick="maybe")


def _archived_final_r2(dataset: str, model: str, seeds) -> np.ndarray:
    """Independent of the library's readers: the last test R² of the archived table runs."""
    manifest = json.loads((ARCHIVE / "MANIFEST.json").read_text())
    values = []
    for name, entry in manifest["files"].items():
        e = entry.get("experiment")
        if not e or (e["dataset"], e["model"]) != (dataset, model):
            continue
        train = e["train"]
        table_run = (
            not e["model_options"]
            and not e["data_options"]
            and train["lr"] == 0.01
            and train.get("noise_device") is None
        )  # not a run trained with shots
        if table_run and train["seed"] in seeds and train["batch_size"] == 10:
            run = json.loads(lzma.decompress((ARCHIVE / name).read_bytes()))
            values.append(run["history"][-1]["test_r2"])
    return np.array(values)


@pytest.mark.slow
@pytest.mark.skipif(not (ARCHIVE / A.MANIFEST).exists(), reason="no committed run archive")
def test_the_report_of_the_archive_reads_its_numbers_without_training(tmp_path, capsys):
    output = tmp_path / "report.md"
    argv = ["archive", "report", "--archive", str(ARCHIVE), "--results-dir", str(tmp_path / "r")]
    assert main(argv + ["--skip-quick", "--output", str(output)]) == 0
    text = output.read_text()
    assert text.strip() == capsys.readouterr().out.strip()
    expected = _archived_final_r2("damped_shm", "qkan_lstm", range(10))
    assert len(expected) == 10
    row = next(
        line
        for line in text.splitlines()
        if line.startswith("| Tables II-III (chapters 5-6) | Damped SHM | QKAN-LSTM |")
    )
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3:] == [
        "10",
        f"{expected.mean():.4f} ± {expected.std(ddof=1):.4f}",
        f"{np.median(expected):.4f}",
        f"[{expected.min():.4f}, {expected.max():.4f}]",
    ]
    for heading in ("Holm-corrected", "Table IV", "verdict table", "per chapter", "Real series"):
        assert heading in text


def test_protocol_sentence_names_each_later_claims_protocol_and_seeds():
    bases = [
        {"claim": "Real data", "protocol": "quick", "fallback": True, "seeds": 3, "series": 2},
        {"claim": "Devices", "protocol": "full", "fallback": False, "seeds": 10, "unit": "models"},
    ]
    out = report.protocol_sentence("full", 20, {"the baselines chapter": 10}, bases)
    assert out.startswith("The verdicts on the paper's own claims come from the full protocol: 20")
    assert "10 in the baselines chapter" in out
    assert "“Real data”: quick protocol (its full-protocol runs are not archived yet), 3 " in out
    assert "on 2 series" in out
    assert "“Devices”: full protocol, 10 models." in out
    assert "later claims" not in report.protocol_sentence("quick", 3, {"x": 1}, [])
