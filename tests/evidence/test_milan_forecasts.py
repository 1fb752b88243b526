"""The Milan series under the real series' protocol, end to end on a tiny folder of day files
in the real raw Dataverse format (written here; no data is downloaded)."""

import dataclasses

import numpy as np
import pytest

from qkan_lib.data import milan
from qkan_lib.data.registry import DATASET_LABELS, MILAN_SERIES, dataset_spec, load_dataset
from qkan_lib.data.urban import MILAN_SEASON, milan_series, real_milan_source
from qkan_lib.evidence import real_forecasts as rf


def real_format_folder(path, days=5):
    """Day files in the raw Dataverse format without the stand-in marker: to the library, a
    folder of real Milan files (the loader tests build theirs the same way)."""
    directory = milan.write_stand_in(path, days=days, squares=(4159, 5060), seed=1)
    (directory / milan.STAND_IN_MARKER).unlink()
    return directory


@pytest.fixture
def no_milan_env(monkeypatch):
    monkeypatch.delenv(milan.ENV_VAR, raising=False)


def test_the_series_is_the_busiest_continuous_square_of_the_last_days(tmp_path, no_milan_env):
    directory = real_format_folder(tmp_path / "milan")
    values, square = milan_series(directory, days=3)
    files = milan.milan_files(directory)[-3:]
    series = milan.load_milan_sms(files)
    column = int(milan.select_cells(series, 1)[0])
    assert square == int(series.squares[column]) and values.size == 3 * MILAN_SEASON
    assert np.array_equal(values, milan.fill_gaps(series.values[:, column]))
    data = load_dataset(MILAN_SERIES, 16, milan_dir=str(directory), days=3, horizon=12)
    assert data.info["season"] == MILAN_SEASON and data.info["origin"] == values.size - 12
    # the scaler is fitted on the training period (before the origin) alone
    assert data.scaler.data_max == values[: values.size - 12].max()
    assert dataset_spec(MILAN_SERIES).season == 144 and DATASET_LABELS[MILAN_SERIES] == (
        "Milan SMS-in"
    )


def test_only_real_files_count(tmp_path, no_milan_env, monkeypatch):
    assert real_milan_source() is None and rf.milan_protocol() is None
    stand_in = milan.write_stand_in(tmp_path / "stand_in", days=3)
    assert real_milan_source(stand_in) is None
    monkeypatch.setenv(milan.ENV_VAR, str(stand_in))
    assert rf.milan_evidence(tmp_path / "res") is None  # the stand-in is never scored as real
    with pytest.raises(ValueError, match="synthetic stand-in"):
        milan_series(stand_in)
    monkeypatch.delenv(milan.ENV_VAR)
    with pytest.raises(ValueError, match="needs milan_dir"):
        milan_series(None)
    directory = real_format_folder(tmp_path / "milan", days=3)
    monkeypatch.setenv(milan.ENV_VAR, str(directory))
    spec = rf.milan_protocol()
    options = dict(spec.data_options)
    assert options["milan_dir"] == str(directory.resolve()) and len(options["files"]) == 16
    assert options["horizon"] == MILAN_SEASON and spec.seq_lens == (16,)
    (directory / "sms-call-internet-mi-2013-11-03.txt").unlink()  # the folder changed
    with pytest.raises(ValueError, match="changed since the runs were planned"):
        milan_series(directory, days=2, files=options["files"])


def test_long_seasons_fit_ets_and_arima_to_the_stl_adjusted_series():
    rng = np.random.default_rng(0)
    t = np.arange(4 * MILAN_SEASON + 30)
    x = 50 + 20 * np.sin(2 * np.pi * t / MILAN_SEASON) + rng.normal(0, 1, t.size)
    history, future = x[:-24], x[-24:]
    out = rf.statistical_forecasts(history, 24, MILAN_SEASON)
    naive_error = np.abs(out["naive"] - future).mean()
    for name in ("seasonal_naive", "ets", "arima", "theta"):
        assert out[name].shape == (24,)
        # every seasonal method follows the daily cycle the naive forecast cannot
        assert np.abs(out[name] - future).mean() < 0.3 * naive_error, name


@pytest.mark.slow
def test_milan_protocol_end_to_end_on_a_tiny_folder(tmp_path, no_milan_env, monkeypatch):
    directory = real_format_folder(tmp_path / "milan")
    monkeypatch.setitem(rf.N_EVALUATION_SEEDS, False, 1)
    spec = rf.milan_protocol(directory)
    options = {**dict(spec.data_options), "horizon": 12, "days": 5}
    tiny = dataclasses.replace(spec, epochs=1, n_seeds=1, seq_lens=(4,),
                               data_options=tuple(sorted(options.items())))  # fmt: skip
    out = rf.milan_evidence(tmp_path / "res", base=tiny, device="cpu")
    summary = out["summary"]
    assert set(summary["dataset"]) == {MILAN_SERIES}
    models = set(summary["model"])
    assert set(rf.BASELINES) <= models and {"qkan_lstm", "lstm"} <= models
    assert (summary["n_seeds"][~summary["model"].isin(list(rf.BASELINES))] == 1).all()
    assert np.isfinite(summary[["mase_mean", "smape_mean"]].to_numpy()).all()
    comparisons = out["comparisons"]
    assert len(comparisons) == len(rf.real_arms()) and np.isfinite(comparisons["p_holm"]).all()
    assert set(comparisons["b"]) == {out["best"][MILAN_SERIES]}
    assert out["claim"]["claim"] == "QKAN-LSTM is more accurate on real data"
    assert "Milan SMS-in" in out["claim"]["measured"]
    assert rf.milan_sentence(out).startswith(
        "By multi-step MASE on the test blocks, on Milan SMS-in QKAN-LSTM"
    )
    # what chapter 12's Milan section shows: display names only
    from qkan_lib.book.tables import dm_table, forecast_table
    from qkan_lib.evidence.display import find_code_names, frame_text

    table, tests = forecast_table(summary, MILAN_SERIES), dm_table(comparisons)
    assert "QKAN-LSTM" in table.index and set(tests.index) == {"Milan SMS-in"}
    assert not find_code_names(frame_text(table)) and not find_code_names(frame_text(tests))
    # the runs are stored: the same call reloads them and gives the same forecasts
    again = rf.milan_evidence(tmp_path / "res", base=tiny, device="cpu")
    assert again["forecasts"].equals(out["forecasts"])
