"""Tables designed for the page (issue 25): the reader check at 1280 px found Tables 9.7,
13.3, 13.8 and 15.2 cramped, their cells wrapping word by word. Each table builder the chapters
call for those pages is checked here on inputs shaped like the book's (its longest names and
numbers): few columns, short headers, and an estimated width that fits the column without
squeezing a cell below its longest word (the browser test measures the real page:
tests/browser/test_published_book.py::test_no_table_cell_is_narrower_than_its_longest_word).
"""

import re

import numpy as np
import pandas as pd
import pytest

from qkan_lib.book import tables
from qkan_lib.book.style import COLUMN_PX
from qkan_lib.data import devices
from qkan_lib.evidence import findings, learned_spectra, noisy_deployment, verdict

MAX_COLUMNS = 8  # row-label levels included
MAX_HEADER = 16  # characters of a column header
# The book's table font (book/_ext/static/book_tables.css: 0.8rem = 12.8 px, padding 0.5em a
# side): about 7 px per character of DejaVu Sans digits and letters, 12.8 px of padding.
CHAR_PX = 7.0
PADDING_PX = 12.8
WRAP_CHARS = 12  # a cell may wrap between its units into lines of at least this many characters
# The units a cell never breaks inside (book/_ext/static/book_tables.js keeps them whole): an
# interval "[low, high]", "mean ± std", "(mean ± std)" and its "× 10⁻⁵" apart, "1.9 × 10⁻⁶",
# a number with thousands "10,000", a word.
UNITS = re.compile(
    r"\(\S+ ± \S+\)|(?<=\) )× 10\S+|\[[^\]]*\]|\S+ ± \S+|\S+ × 10\S+|\d{1,3}(?: \d{3})+(?!\d)|\S+"
)


def displayed_columns(table: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """(header, cells) of every column a reader sees, the row-label levels first."""
    index = table.index.to_frame(index=False)
    names = [n or "" for n in table.index.names]
    if len(names) == 1 and not names[0] and table.columns.name:  # page_table's corner
        names = [table.columns.name]
    shown = [(str(n), [str(v) for v in index.iloc[:, k]]) for k, n in enumerate(names)]
    shown += [(str(c), [str(v) for v in table[c]]) for c in table.columns]
    return shown


def _cell_chars(text: str) -> int:
    """Characters of the narrowest line a cell takes without breaking a unit or going below
    WRAP_CHARS characters a line (a header wraps at every space)."""
    longest_unit = max((len(w) for w in UNITS.findall(text)), default=0)
    return min(len(text), max(WRAP_CHARS, longest_unit))


def estimated_width_px(table: pd.DataFrame) -> float:
    width = 0.0
    for header, cells in displayed_columns(table):
        header_word = max((len(w) for w in header.split()), default=0)
        width += CHAR_PX * max([header_word, *map(_cell_chars, cells)]) + PADDING_PX
    return width


def _comparison_family() -> pd.DataFrame:
    """Chapter 9's batch-10 family: every comparison of both claim models on two datasets,
    with the widest numbers the page shows (a 4-decimal interval, p = 1.9e-06)."""
    pairs = [
        ("qkan_lstm", "lstm", "mannwhitney", "independent"),
        ("qkan_lstm", "qlstm", "mannwhitney", "independent"),
        ("qkan_lstm", "param_matched_lstm", "mannwhitney", "independent"),
        ("qkan_lstm", "fourier_lstm", "wilcoxon", "paired"),
        ("qkan_lstm", "ar", "signed-rank vs fixed value", "fixed"),
        ("hqkan_lstm", "lstm", "mannwhitney", "independent"),
        ("hqkan_lstm", "param_matched_lstm (match=hqkan_lstm)", "mannwhitney", "independent"),
    ]
    rows = []
    for dataset in ("damped_shm", "bessel"):
        for k, (a, b, test, kind) in enumerate(pairs):
            rows.append(
                {
                    "dataset": dataset, "a": a, "b": b, "test": test, "kind": kind,
                    "n_a": 20, "n_b": 20, "protocol": "batch10",
                    "effect": -0.0022, "effect_ci_low": -0.0125, "effect_ci_high": -0.0016,
                    "effect_statistic": "difference of medians" if kind == "independent"
                    else "median of per-seed differences",
                    "rank_effect": -1.0, "p_raw": 1.9e-6, "p_holm": 3.4e-5,
                    "median_a": 0.9967, "median_b": 0.9991,
                    "verdict": [f"{b} better", "no significant difference", f"{a} better"][k % 3],
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def _device_training_table():
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(
        [
            {"model": m, "dataset": d, "seed": s, "shots": shots,
             "test_r2": 0.99 - rng.uniform(0, 0.02)}
            for m in ("qkan_lstm", "hqkan_lstm")
            for d in ("damped_shm", "bessel")
            for shots in ("100", "1,000", "10,000", "exact")
            for s in range(10)
        ]
    )  # fmt: skip
    return tables.device_training_table(scores, noisy_deployment.shot_comparisons(scores))


def _spectrum_usage_table():
    rows = [
        {
            "dataset": dataset, "reps": reps, "epoch": epoch, "models": 10, "edges": 10 * edges,
            "max_frequencies": (3**reps - 1) // 2, "active_frequencies_median": 6.0,
            "active_frequencies_min": 1.0, "active_frequencies_max": 12.0,
            "single_frequency": 1.0, "dominant_combination": 0.82,
            "test_r2_median": np.nan if epoch == 0 else 0.9851,
            "test_r2_min": np.nan if epoch == 0 else 0.8717,
            "test_r2_max": np.nan if epoch == 0 else 0.9996,
            **{f"{m}_{q}": v for m in ("share_outside_dominant", "share_outside_lowest",
                                      "share_combination")
               for q, v in (("median", 0.345), ("min", 0.001), ("max", 1.0))},
        }
        for dataset, edges in (("bessel", 8), ("damped_shm", 24))
        for reps in (1, 2, 3)
        for epoch in (0, 30)
    ]  # fmt: skip
    summary = pd.DataFrame(rows)
    return {
        part: learned_spectra.spectrum_usage_table(summary, part)
        for part in learned_spectra.SPECTRUM_TABLE_PARTS
    }


def _calibration(part):
    summary, sources = devices.calibration_summary(), devices.calibration_sources()
    return tables.device_calibration_table(summary, sources, part)


def _tolerance_table():
    """Chapter 13's tolerance decision: the ten device models' names, intervals that
    straddle zero (both signs, four decimals)."""
    rows = [
        {"device": name, "shots": "10,000", "median": 0.0093, "low": -0.0123, "high": 0.0144}
        for name in devices.device_model_names()
    ]
    return verdict.tolerance_table(pd.DataFrame(rows))


def _verdict_display():
    """Table 15.1: the longest claim and evidence of the page, each outcome."""
    return verdict.verdict_display(
        pd.DataFrame(
            {
                "claim": [f"claim {k}: QKANs remain feasible for current real quantum devices"
                          for k in range(len(verdict.OUTCOMES))],
                "outcome": list(verdict.OUTCOMES),
                "strength of the evidence": "10 trained models, 10 device models (calibration "
                "snapshots and published figures), 95 % intervals of the median; device time "
                "from published figures",
            }
        )
    )  # fmt: skip


def _benchmark_table():
    """Table 8.3 with the benchmark's longest case and reference names."""
    from qkan_lib.book import timing

    records = [
        {"case": "QKAN-LSTM gate layer 2 → 4, L = 3, 64 steps, batch 64, forward + backward",
         "ours_s": 0.112285, "reference": "qkan 0.2.3, exact solver", "reference_s": 0.5,
         "target": 4.0},
        {"case": f"QKAN-LSTM {timing.URBAN_STEP}, float32", "ours_s": 0.0021,
         "reference": timing.LSTM_STEP, "reference_s": 0.0015, "target": 1 / 1.5},
        {"case": "QLSTM circuit, 6 qubits, depth 3, batch 256, forward + backward",
         "ours_s": 0.000853, "reference": "PennyLane default.qubit",
         "reference_s": 0.04, "target": 50.0},
    ]  # fmt: skip
    return timing.benchmark_table(records)


TABLES = {
    "tolerance (Table 13.11)": _tolerance_table,
    "verdict (Table 15.1)": _verdict_display,
    "benchmark (Table 8.3)": _benchmark_table,
    "comparisons (Table 9.7)": lambda: findings.format_comparisons(
        _comparison_family(), by=("dataset",)
    ),
    "comparisons of one dataset (Tables 9.7, 9.8)": lambda: tables.comparison_tables(
        findings.format_comparisons(_comparison_family(), by=("dataset",))
    )["Bessel Function"],
    "accuracy (Table 15.2)": lambda: verdict.accuracy_table(
        {"comparisons": _comparison_family()},
        {"harder_comparisons": _comparison_family().assign(dataset="narma_10")},
    ),
    "IBM error rates (Table 13.3)": lambda: _calibration("errors"),
    "IBM coherence (Table 13.4)": lambda: _calibration("coherence"),
    "device training (Table 13.9)": _device_training_table,
    "spectrum use (Table 11.1)": lambda: _spectrum_usage_table()["frequencies"],
    "spectrum energy (Table 11.2)": lambda: _spectrum_usage_table()["energy"],
}


@pytest.mark.parametrize("name", TABLES)
def test_tables_fit_the_page_in_few_short_columns(name):
    table = TABLES[name]()
    shown = displayed_columns(table)
    assert len(shown) <= MAX_COLUMNS, f"{name}: {len(shown)} columns: {[h for h, _ in shown]}"
    long = [h for h, _ in shown if len(h) > MAX_HEADER]
    assert not long, f"{name}: headers longer than {MAX_HEADER} characters: {long}"
    width = estimated_width_px(table)
    assert width <= COLUMN_PX, f"{name}: about {width:.0f} px wide, the column is {COLUMN_PX}"


def test_the_estimate_finds_the_cramped_tables_of_the_reader_check():
    """The same measure on the tables as the reader saw them: nine columns of Table 9.7 and
    the eight of Table 13.3 did not fit."""
    full = findings.comparison_rows(_comparison_family(), by=("dataset",))  # Table 9.7 before
    assert len(displayed_columns(full)) == 9 and estimated_width_px(full) > COLUMN_PX
    errors, coherence = _calibration("errors"), _calibration("coherence")
    both = errors.join(coherence)  # Table 13.3 before: one table of both
    assert estimated_width_px(both) > COLUMN_PX
