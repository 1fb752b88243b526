"""``qkan-experiments compare``: the reader's own CSV, on real and hostile files."""

import numpy as np
import pandas as pd
import pytest

from qkan_lib.__main__ import main
from qkan_lib.data.real_series import SeriesFileError, load_real_series
from qkan_lib.evidence.real_forecasts import compare_csv, csv_protocol


def real_csv(tmp_path, name="nile", bom_crlf=False):
    """A bundled real series written as a reader's file (quoted, optionally BOM and CRLF)."""
    series = load_real_series(name)
    lines = ['"t","y"'] + [f'"{t:%Y-%m-%d}","{v}"' for t, v in series.items()]
    newline = "\r\n" if bom_crlf else "\n"
    path = tmp_path / f"{name}.csv"
    path.write_bytes((("\ufeff" if bom_crlf else "") + newline.join(lines) + newline).encode())
    return path


def test_protocol_records_the_file_and_its_content(tmp_path):
    path = real_csv(tmp_path, bom_crlf=True)
    spec = csv_protocol(path, "t", "y", season=1)
    options = dict(spec.data_options)
    assert options["path"] == str(path.resolve()) and len(options["sha256"]) == 16
    assert spec.seq_lens == (8,) and options["horizon"] == 6
    path.write_text(path.read_text().replace("1120", "1121"))
    assert dict(csv_protocol(path, "t", "y").data_options)["sha256"] != options["sha256"]


def test_hostile_files_exit_2_naming_file_column_row(tmp_path, capsys):
    path = real_csv(tmp_path)
    text = path.read_text().splitlines()
    text[10] = '"1880-01-01",""'  # row 11: missing value
    path.write_text("\n".join(text))
    assert main(["compare", str(path), "--time-column", "t", "--value-column", "y"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "column 'y', row 11: missing value" in err
    assert main(["compare", str(path), "--time-column", "time", "--value-column", "y"]) == 2
    assert "no column 'time'" in capsys.readouterr().err


def test_too_short_and_constant_series_refused(tmp_path):
    short = tmp_path / "short.csv"
    short.write_text("t,y\n" + "\n".join(f"2020-01-{d:02d},{d % 5}" for d in range(1, 29)))
    with pytest.raises(SeriesFileError, match=r"short.csv: column 'y': 28 rows are too short"):
        csv_protocol(short, "t", "y", season=7)
    flat = tmp_path / "flat.csv"
    flat.write_text("t,y\n" + "\n".join(f"2020-01-{d:02d},4" for d in range(1, 29)))
    with pytest.raises(SeriesFileError, match="flat.csv: column 'y': the series is constant"):
        csv_protocol(flat, "t", "y")


@pytest.mark.slow
def test_compare_on_a_real_file_end_to_end(tmp_path, capsys):
    path = real_csv(tmp_path, bom_crlf=True)
    out, results = str(tmp_path / "out"), str(tmp_path / "res")
    code = main(["compare", str(path), "--time-column", "t", "--value-column", "y",
                 "--out", out, "--results-dir", results])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "QKAN-LSTM is more accurate on real data:" in printed and "MASE multi-step" in printed
    table = pd.read_csv(tmp_path / "out" / "comparison.csv", index_col=0)
    assert {"Naive", "ETS", "ARIMA", "Theta", "AR(p)", "QKAN-LSTM", "LSTM"} <= set(table.index)
    assert (tmp_path / "out" / "forecasts.png").stat().st_size > 10_000
    # the Python path gives the same numbers from the stored runs
    again = compare_csv(path, "t", "y", results_dir=tmp_path / "res")
    naive = again["summary"].query("model == 'naive' and kind == 'multi-step'")["mase_mean"]
    shown = float(table.loc["Naive", "MASE multi-step"])
    assert shown == pytest.approx(float(naive.iloc[0]), abs=1e-3)
    assert np.isfinite(again["comparisons"]["p_holm"]).all()
