"""Chapters 5, 6 and 8: data figures, timing tables with spread, ratios and growth exponents."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from qkan_lib.book import timing as machine
from qkan_lib.book.plots import plot_bessel_data, plot_pendulum_data


def test_data_figures_shade_the_test_part():
    t = np.linspace(0, 20, 50)
    fig = plot_pendulum_data(t, np.sin(t), np.cos(t), np.cos(t), n_train=30)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    shaded = fig.axes[1].patches[0].get_extents()
    assert shaded.width > 0
    fig = plot_bessel_data(t, np.cos(t), n_train=30)
    assert isinstance(fig, Figure)
    assert fig.axes[0].patches[0].get_x() == pytest.approx(t[30])
    with pytest.raises(ValueError, match="n_train"):
        plot_pendulum_data(t, t, t, t, n_train=99)
    with pytest.raises(ValueError, match="same shape"):
        plot_bessel_data(t, t[:-1], n_train=3)


def _table():
    rows = []
    for model, scale, power in (("lstm", 1.0, 0.0), ("qkan_lstm", 2.0, 1.0)):
        for axis, values in (("batch", (8, 64, 512)), ("seq_len", (4, 16, 64))):
            for v in values:
                t = scale * 1e-3 * v**power
                rows.append(
                    {
                        "model": model,
                        "axis": axis,
                        "value": v,
                        "min_s": 0.9 * t,
                        "median_s": t,
                        "max_s": 1.5 * t,
                    }
                )
    return pd.DataFrame(rows)


def test_relative_times_divide_by_the_reference_in_the_same_configuration():
    ratios = machine.relative_times(_table()).set_index(["axis", "value"])
    assert set(ratios["model"]) == {"qkan_lstm"}
    assert ratios.loc[("batch", 64), "median_ratio"] == pytest.approx(2.0 * 64)
    assert ratios.loc[("seq_len", 4), "min_ratio"] == pytest.approx(2.0 * 4)
    with pytest.raises(ValueError, match="reference"):
        machine.relative_times(_table(), reference="qlstm")
    with pytest.raises(ValueError, match="columns"):
        machine.relative_times(_table().drop(columns="min_s"))


def test_growth_exponents_recover_the_power_law():
    growth = machine.growth_exponents(_table()).set_index(["model", "axis"])
    assert growth.loc[("qkan_lstm", "batch"), "exponent"] == pytest.approx(1.0)
    assert growth.loc[("lstm", "seq_len"), "exponent"] == pytest.approx(0.0, abs=1e-12)
    assert growth.loc[("qkan_lstm", "seq_len"), "time_ratio"] == pytest.approx(16.0)
    assert growth.loc[("qkan_lstm", "seq_len"), "value_ratio"] == pytest.approx(16.0)


def test_time_spread_table_times_the_reference_on_the_reps_axis_with_one_thread():
    import torch

    threads = torch.get_num_threads()
    table, warning = machine.time_spread_table(
        models=("lstm", "qkan_lstm"), batches=(2, 4), seq_lens=(2,), reps=(1, 2), runs=2, warmup=1
    )
    assert torch.get_num_threads() == threads
    reps = table[table["axis"] == "reps"]
    assert sorted(set(reps["model"])) == ["lstm", "qkan_lstm"] and len(reps) == 4
    assert (table["min_s"] <= table["median_s"]).all()
    assert (table["median_s"] <= table["max_s"]).all()
    assert isinstance(warning, str)


def test_interleaved_spread_and_bracketing_table():
    calls = []
    spread = machine.interleaved_spread(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, runs=3, warmup=1
    )
    assert list(spread.index) == ["a", "b"] and calls.count("a") == 5
    assert (spread["min_s"] <= spread["max_s"]).all()
    with pytest.raises(ValueError, match="runs"):
        machine.interleaved_spread({"a": lambda: None}, runs=0)
    table = machine.kernel_bracketing_spread(batches=(2,), runs=2, warmup=1)
    assert table.loc[2, "kernel picks"] in ("states", "unitary")
    low, mid, high = (
        float(v) for v in table.loc[2, "through the states: min / median / max (ms)"].split(" / ")
    )
    assert low <= mid <= high


def test_benchmark_table_says_which_side_is_faster_and_drops_unmeasured_rows():
    records = [
        {"case": "a", "ours_s": 0.001, "reference": "r", "reference_s": 0.004, "target": 2.0},
        {"case": "b", "ours_s": 0.004, "reference": "r", "reference_s": 0.002, "target": 1 / 1.5},
        {
            "case": "c",
            "ours_s": 0.001,
            "reference": "-",
            "reference_s": float("nan"),
            "target": None,
        },
        {"case": "d", "ours_s": 0.003, "reference": "r", "reference_s": 0.0036, "target": 1 / 1.5},
    ]
    table = machine.benchmark_table(records).replace("\u00a0", " ", regex=True)
    assert table.index.names == ["case", "reference"]  # rows named, no bare row numbers
    table = table.droplevel("reference")
    assert list(table.index) == ["a", "b", "d"]
    # reader words: ×, ≥, ≤, "missed" (no ASCII "x", ">=" or shouting); each cell one
    # unbreakable unit on the page (no-break spaces, read back as spaces above)
    assert "\u00a0" in machine.benchmark_table(records).loc[("a", "r"), "target"]
    assert table.loc["a", "comparison"] == "4× faster"
    assert table.loc["a", "target"] == "≥ 2× faster: met"
    assert table.loc["b", "comparison"] == "2× slower"
    assert table.loc["b", "target"] == "≤ 1.5× slower: missed"
    assert table.loc["d", "target"] == "≤ 1.5× slower: met"
    assert table.loc["d", "comparison"] == "1.2× faster"
    # milliseconds to three significant digits, not "1.000" beside "112.285"
    assert list(table["ours (ms)"]) == ["1", "4", "3"]
    assert list(table["reference (ms)"]) == ["4", "2", "3.6"]


def test_benchmark_cases_are_named_in_reader_words():
    """The case and reference labels of the benchmark (Table 8.3) carry no code-style text:
    no "QKANLayer(64->64, reps 3)", "torch.nn.LSTM(1, 5)", "64x64", "fwd+bwd"."""
    rows = machine._bench_daruan_layer(None, 1, True) + machine._bench_qlstm_circuit_batch(
        None, 1, 10
    )
    labels = [r[1] for r in rows] + [r[3] for r in rows]
    labels += [machine.URBAN_STEP, machine.LSTM_STEP]
    assert rows[0][1] == "QKAN layer 32 → 32, L = 3, batch 64, forward + backward"
    for label in labels:
        for code_style in ("->", "fwd", "x6", "(1, 5)", "QKANLayer", "qkan_lib", "torch."):
            assert code_style not in label, (code_style, label)


def test_thread_sentence_takes_the_fastest_steps_and_says_when_load_disturbed_them():
    """Chapter 8 once printed "76.81 times as long" from a 2,012 ms median against a 129 ms
    fastest run: the ratio now comes from the fastest steps, and a spread like that is said
    beside the number."""
    disturbed = pd.DataFrame(
        {"min_s": [0.120, 0.12935], "median_s": [0.126, 2.01191], "max_s": [0.2, 3.0]},
        index=pd.Index([1, 2], name="threads"),
    )
    text = machine.thread_sentence(disturbed)
    assert "the fastest step took 1.1 times as long" in text  # 129.35 / 120
    assert "other work disturbed this measurement" in text and "16 times the fastest" in text
    assert "76" not in text
    clean = disturbed.assign(median_s=[0.125, 0.135])
    assert machine.thread_sentence(clean).endswith("(slower with more threads).")
    assert "rough" in machine.thread_sentence(clean, busy="warning")
    assert "nothing to compare" in machine.thread_sentence(clean.iloc[:1])
    assert list(machine.disturbed_rows(disturbed)) == [2]


def test_relative_table_has_one_header_row_and_dashes_for_missing_axes():
    relative = pd.DataFrame(
        {
            "axis": ["batch", "batch", "reps"],
            "value": [8, 8, 2],
            "model": ["qkan_lstm", "qlstm", "qkan_lstm"],
            "median_ratio": [1.5, 3.0, 2.0],
            "min_ratio": [1.25, 2.5, 1.75],
        }
    )
    table = machine.relative_table(relative)
    assert sorted(table.columns) == ["QKAN-LSTM", "QLSTM"]
    assert table.loc[(table.index[1][0], 2), "QLSTM"] == "–"
    assert table.loc[(table.index[0][0], 8), "QKAN-LSTM"] == "1.25"
    html = table._repr_html_()
    assert html.count("<tr") == len(table) + 1  # one header row: the level names in it
    assert machine.models_without(relative) == ["QLSTM"]


def test_speed_words_has_a_band_for_equal_speed():
    assert machine.speed_words(2.345) == "2.3 times faster than"
    assert machine.speed_words(0.5) == "2.0 times slower than"
    assert machine.speed_words(0.99) == "about as fast as"
    assert machine.speed_words(0.5, short=True) == "2× slower"
    assert machine.speed_words(174.49, short=True) == "174× faster"
    with pytest.raises(ValueError, match="ratio"):
        machine.speed_words(float("nan"))


def test_step_time_by_threads_restores_the_thread_count():
    import torch

    threads = torch.get_num_threads()
    table = machine.step_time_by_threads(
        "qkan_lstm", "bessel", batch=2, seq_len=3, thread_counts=(1, 2), runs=2, warmup=1
    )
    assert list(table.index) == [1, 2] and torch.get_num_threads() == threads
    assert (table["min_s"] <= table["max_s"]).all()
    shown = machine.thread_table(table)
    assert list(shown.columns) == ["min (ms)", "median (ms)", "max (ms)"]
    assert shown.iloc[0, 0] == f"{table.iloc[0, 0] * 1e3:.2f}"
    with pytest.raises(ValueError, match="thread_counts"):
        machine.step_time_by_threads(thread_counts=(0,))


def test_timing_figure_can_stack_its_panels():
    from qkan_lib.book.plots import plot_timing_spread

    table = _table()
    fig = plot_timing_spread(table, ncols=1, what="training step")
    assert len(fig.axes) == 2
    assert fig.axes[0].get_position().y0 > fig.axes[1].get_position().y1 - 1e-9
    assert "training step" in fig.axes[0].get_ylabel()
