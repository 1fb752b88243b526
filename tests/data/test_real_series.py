"""The bundled real series, their rolling-origin windows, and the reader's CSV files."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import torch

from qkan_lib.data.real_series import (
    REAL_SERIES,
    SeriesFileError,
    _frequency,
    forecast_origins,
    load_real_series,
    origin_windows,
    read_series_csv,
    real_series_dataset,
)
from qkan_lib.data.registry import DATASET_REGISTRY, REAL_DATASETS, load_dataset


@pytest.mark.parametrize("name", list(REAL_SERIES))
def test_series_load_offline_regular_and_registered(name):
    series = load_real_series(name)
    assert len(series) >= 100 and np.isfinite(series).all()
    assert _frequency(series.index) is not None  # regular spacing
    spec = DATASET_REGISTRY[f"real_{name}"]
    assert spec.label == REAL_SERIES[name].label and spec.season == REAL_SERIES[name].season
    assert spec.frequency in ("monthly", "quarterly", "yearly")
    assert "public domain" in REAL_SERIES[name].licence


def test_series_match_statsmodels_raw_data():
    """The loaders reshape, never alter: compare against the data sets' own frames."""
    nile = sm.datasets.nile.load_pandas().data
    assert load_real_series("nile").to_numpy().tolist() == nile["volume"].astype(float).tolist()
    elnino = sm.datasets.elnino.load_pandas().data
    flat = load_real_series("elnino")
    assert flat.iloc[13] == elnino["FEB"].iloc[1] and flat.index[13] == pd.Timestamp("1951-02-01")
    co2 = sm.datasets.co2.load_pandas().data["co2"]
    assert load_real_series("co2").loc["1990-07-01"] == pytest.approx(
        co2.loc["1990-07-01":"1990-07-31"].mean()
    )
    gdp = load_real_series("us_gdp")
    assert gdp.iloc[0] == sm.datasets.macrodata.load_pandas().data["realgdp"].iloc[0]
    assert gdp.index[-1] == pd.Timestamp("2009-07-01")


def test_scaler_sees_no_test_value():
    """Changing every value at or after the origin changes no training window or scaler."""
    values = load_real_series("sunspots").to_numpy()
    origin, horizon = 250, 6
    a = origin_windows(values, 8, origin, horizon)
    spiked = values.copy()
    spiked[origin:] = 1e6  # far outside the training range
    b = origin_windows(spiked, 8, origin, horizon)
    assert (a.scaler.data_min, a.scaler.data_max) == (values[:origin].min(), values[:origin].max())
    assert a.scaler == b.scaler
    for split in ("x_train", "y_train", "x_val", "y_val"):
        assert torch.equal(getattr(a, split), getattr(b, split))
    assert not torch.equal(a.y_test, b.y_test)
    # the last training or validation target is the value just before the origin
    assert a.scaler.inverse(a.y_val[-1].item()) == pytest.approx(values[origin - 1])
    # test windows: one-step, targets values[origin:origin+horizon]
    assert np.allclose(a.scaler.inverse(a.y_test[:, 0].numpy()), values[origin : origin + 6])
    assert np.allclose(a.scaler.inverse(a.x_test[0, :, 0].numpy()), values[origin - 8 : origin])


def test_origins_expanding_and_non_overlapping():
    assert forecast_origins(100, 6, 3, 20) == (82, 88, 94)
    with pytest.raises(ValueError, match="too short for 3 forecast origins"):
        forecast_origins(30, 6, 3, 20)


def test_registry_loads_real_series_through_windows():
    data = load_dataset(REAL_DATASETS[0], 12, origin=400, horizon=12)
    assert data.info["origin"] == 400 and len(data.x_test) == 12
    assert len(data.x_val) == int(0.2 * (400 - 12))
    default = real_series_dataset("nile")
    assert default.info["origin"] == 100 - REAL_SERIES["nile"].horizon


# ---------------------------------------------------------------------------------------------
# the reader's CSV


def write(tmp_path, text, name="my.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def hourly(n=60, tz=""):
    times = pd.date_range("2024-01-01", periods=n, freq="h")
    return [
        (f"{t:%Y-%m-%dT%H:%M:%S}{tz}", 10 + np.sin(i / 3) + 0.1 * i) for i, t in enumerate(times)
    ]


def csv_text(rows, header="t,y", newline="\n"):
    return newline.join([header] + [f"{t},{y}" for t, y in rows]) + newline


def test_valid_files_accepted(tmp_path):
    rows = hourly()
    plain = read_series_csv(write(tmp_path, csv_text(rows)), "t", "y")
    assert len(plain) == 60 and plain.iloc[3] == pytest.approx(rows[3][1])
    bom_crlf = write(tmp_path, "\ufeff" + csv_text(rows, newline="\r\n"), "bom.csv")
    assert read_series_csv(bom_crlf, "t", "y").equals(plain)
    quoted = "\n".join(['"t","y","note"'] + [f'"{t}","{y}","a, b"' for t, y in rows])
    assert read_series_csv(write(tmp_path, quoted, "q.csv"), "t", "y").equals(plain)
    zoned = read_series_csv(write(tmp_path, csv_text(hourly(tz="+02:00")), "tz.csv"), "t", "y")
    assert (
        zoned.index[0] == pd.Timestamp("2023-12-31T22:00") and (zoned.values == plain.values).all()
    )
    monthly = "\n".join(["t,y"] + [f"2020-{m:02d}-01,{m * m}" for m in range(1, 13)])
    assert len(read_series_csv(write(tmp_path, monthly, "m.csv"), "t", "y")) == 12


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda r: r[:5] + [(r[5][0], "")] + r[6:], r"column 'y', row 7: missing value"),
        (lambda r: r[:5] + [(r[5][0], "abc")] + r[6:], r"column 'y', row 7: 'abc' is not a finite"),
        (lambda r: r[:5] + [(r[5][0], "nan")] + r[6:], r"column 'y', row 7: 'nan' is not a finite"),
        (lambda r: r[:5] + [("", 1.0)] + r[6:], r"column 't', row 7: missing time stamp"),
        (
            lambda r: r[:5] + [("yesterday", 1.0)] + r[6:],
            r"column 't', row 7: 'yesterday' is not a",
        ),
        (lambda r: r[:5] + [r[4]] + r[6:], r"column 't', row 7: duplicated time stamp"),
        (lambda r: r[:4] + [r[5], r[4]] + r[6:], r"column 't', row 7: time stamps are not sorted"),
        (lambda r: r[:5] + r[6:], r"column 't', row 7: irregular time stamps"),
        (lambda r: [(t, 3.0) for t, _ in r], r"column 'y': the series is constant"),
    ],
)
def test_hostile_files_name_file_column_row(tmp_path, edit, message):
    path = write(tmp_path, csv_text(edit(hourly())))
    with pytest.raises(SeriesFileError, match=message) as info:
        read_series_csv(path, "t", "y")
    assert str(path) in str(info.value)


def test_unknown_column_and_missing_file(tmp_path):
    path = write(tmp_path, csv_text(hourly()))
    with pytest.raises(
        SeriesFileError, match=r"no column 'value'; the file has columns \['t', 'y'\]"
    ):
        read_series_csv(path, "t", "value")
    with pytest.raises(SeriesFileError, match="no such file"):
        read_series_csv(tmp_path / "absent.csv", "t", "y")


def test_too_short_for_windows_and_origins(tmp_path):
    from qkan_lib.data.real_series import min_training_length

    series = read_series_csv(write(tmp_path, csv_text(hourly(30))), "t", "y")
    with pytest.raises(ValueError, match="too short for 3 forecast origins"):
        forecast_origins(len(series), 6, 3, min_training_length(8, 4))


def test_csv_dataset_without_a_file_says_how_to_run_it():
    with pytest.raises(ValueError, match=r"needs the data options \['path', 'time_column'"):
        load_dataset("csv", 8)


def test_unreadable_files_named(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("t,y\n2020-01-01,caf\xe9\n".encode("latin-1"))
    with pytest.raises(SeriesFileError, match="latin.csv: not UTF-8 text"):
        read_series_csv(latin, "t", "y")
    empty = write(tmp_path, "", "empty.csv")
    with pytest.raises(SeriesFileError, match="empty.csv: not a readable CSV table"):
        read_series_csv(empty, "t", "y")
    ragged = write(tmp_path, "t,y\n2020-01-01,1,2,3\n2020-01-02,1\n", "ragged.csv")
    with pytest.raises(SeriesFileError, match="ragged.csv"):
        read_series_csv(ragged, "t", "y")
