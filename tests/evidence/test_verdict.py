"""The verdict rules (qkan_lib.evidence.verdict) on hand-made evidence."""

import pandas as pd
import pytest

from qkan_lib.evidence import verdict as V


def comparison(a, b, dataset, verdict, p=0.01, n=10, median_a=0.99, median_b=0.98):
    return {
        "a": a,
        "b": b,
        "dataset": dataset,
        "protocol": "batch10",
        "verdict": verdict,
        "p_holm": p,
        "n_a": n,
        "n_b": n,
        "median_a": median_a,
        "median_b": median_b,
        "effect": median_a - median_b,
        "effect_statistic": "difference of medians",
        "effect_ci_low": -0.01,
        "effect_ci_high": 0.02,
    }


@pytest.mark.parametrize(
    "verdicts, expected",
    [
        (["qkan_lstm better", "qkan_lstm better"], V.HOLDS),
        (["qkan_lstm better", "lstm better"], V.CONTRADICTED),
        (["no significant difference", "lstm better"], V.CONTRADICTED),
        (["qkan_lstm better", "no significant difference"], V.NOT_SUPPORTED),
        (["no significant difference", "no significant difference"], V.NOT_SUPPORTED),
    ],
)
def test_superiority_rule(verdicts, expected):
    rows = pd.DataFrame(
        [
            comparison("qkan_lstm", "lstm", d, v, p=0.01 + i / 10)
            for i, (d, v) in enumerate(zip(["damped_shm", "bessel"], verdicts))
        ]
    )
    out = V.superiority(rows, "qkan_lstm", "lstm")
    assert out["verdict"] == expected
    assert "10 seeds per model" in out["strength"]
    assert "Damped SHM" in out["measured"] and "Bessel" in out["measured"]


def test_superiority_without_rows_is_untestable_and_protocol_is_respected():
    rows = pd.DataFrame([comparison("qkan_lstm", "lstm", "bessel", "qkan_lstm better")])
    assert V.superiority(rows, "qkan_lstm", "qlstm")["verdict"] == V.UNTESTABLE
    assert V.superiority(rows, "qkan_lstm", "lstm", protocol="batch1")["verdict"] == V.UNTESTABLE


def test_trivial_forecasters_against_the_paper():
    trivial = pd.DataFrame(
        [
            {"dataset": "bessel", "forecaster": "AR(p)", "split": "test", "r2": 0.999},
            {"dataset": "bessel", "forecaster": "persistence", "split": "test", "r2": 0.9},
            {"dataset": "damped_shm", "forecaster": "AR(p)", "split": "test", "r2": 0.5},
        ]
    )
    both = V.trivial_forecasters_reach(trivial, {"bessel": 0.99})
    assert both["verdict"].startswith("no:") and "AR(p) reaches test R² 0.9990" in both["measured"]
    assert V.trivial_forecasters_reach(trivial, {"bessel": 0.99, "damped_shm": 0.99})[
        "verdict"
    ].startswith("partly")
    assert V.trivial_forecasters_reach(trivial, {"damped_shm": 0.99})["verdict"].startswith("yes")


def test_reduction_claims_follow_the_report():
    report = pd.DataFrame(
        [
            {
                "printed": "79%",
                "location": "abstract",
                "reachable": True,
                "named_consistent": 1,
                "named_comparisons": 3,
                "consistent_with": "qkan_lstm vs lstm, total, urban",
                "any_matches": 2,
                "largest_possible": 0.98,
            },
            {
                "printed": "99.5%",
                "location": "Sec. I",
                "reachable": False,
                "named_consistent": 0,
                "named_comparisons": 3,
                "consistent_with": "",
                "any_matches": 0,
                "largest_possible": 0.98,
            },
        ]
    )
    rows = V.reduction_claims(report)
    assert (
        rows[0]["outcome"] == "holds in part" and rows[1]["verdict"] == "cannot come from Table I"
    )
    assert rows[1]["outcome"] == "does not hold"
    assert "98.0%" in rows[1]["what this book measured"]


def test_spectrum_claim_in_and_beyond_the_paper_configuration():
    summary = pd.DataFrame(
        [
            {
                "dataset": "bessel",
                "reps": 1,
                "epoch": 30,
                "models": 3,
                "max_frequencies": 1,
                "active_frequencies_median": 1.0,
                "single_frequency": 1.0,
            },
            {
                "dataset": "bessel",
                "reps": 2,
                "epoch": 30,
                "models": 3,
                "max_frequencies": 4,
                "active_frequencies_median": 3.0,
                "single_frequency": 0.2,
            },
        ]
    )
    out = V.spectrum_claim(summary)
    assert (
        out["verdict"].startswith("holds only beyond") and "3 models per setting" in out["strength"]
    )
    assert V.spectrum_claim(summary.iloc[:1])["verdict"].startswith("does not hold")
    # one clause per L, the datasets pooled into ranges
    two = pd.concat([summary, summary.assign(dataset="damped_shm", single_frequency=[1.0, 0.1])])
    measured = V.spectrum_claim(two)["measured"]
    assert measured.count("*L* = 2") == 1 and "Bessel Function and Damped SHM" in measured
    assert "$" not in measured and ">=" not in V.spectrum_claim(two)["verdict"]
    assert "10%–20% of edges effectively one frequency" in measured


def test_verdict_counts_and_display():
    table = pd.DataFrame(
        {
            "claim": list("abcde"),
            "the paper": "x",
            "what this book measured": "m",
            "verdict": "v",
            "outcome": [
                "holds",
                "does not hold",
                "not supported",
                "cannot be tested",
                "holds in part",
            ],
            "strength of the evidence": "s",
        }
    )
    assert V.verdict_counts(table) == {
        "holds": 1,
        "holds in part": 1,
        "does not hold": 1,
        "not supported": 1,
        "cannot be tested": 1,
        "claims": 5,
    }
    shown = V.verdict_display(table)
    assert list(shown.columns) == ["outcome", "evidence"]
    # each outcome one unbreakable unit (no "does not / hold" at 1280 px), read back as itself
    assert list(shown["outcome"].str.replace(V.NO_BREAK, " ")) == list(table["outcome"])
    assert not shown["outcome"].str.contains(" ").any()
    assert V.verdict_details(table).count("\n") == 4 and "**a** (x)" in V.verdict_details(table)


def _report_row(printed, reachable, consistent, named, largest=0.98):
    return {
        "printed": printed,
        "location": f"where {printed}",
        "reachable": reachable,
        "named_consistent": consistent,
        "named_comparisons": named,
        "consistent_with": "qkan_lstm vs lstm, total, urban" if consistent else "",
        "any_matches": consistent,
        "largest_possible": largest,
    }


def test_verdict_table_on_hand_made_evidence():
    c = comparison
    comparisons = pd.DataFrame(
        [
            # QKAN-LSTM beats LSTM on both datasets (largest Holm p 0.004)
            c("qkan_lstm", "lstm", "damped_shm", "qkan_lstm better", p=0.001, n=20),
            c("qkan_lstm", "lstm", "bessel", "qkan_lstm better", p=0.004, n=20),
            # QLSTM wins on Bessel: contradicted
            c("qkan_lstm", "qlstm", "damped_shm", "no significant difference", p=0.5, n=20),
            c("qkan_lstm", "qlstm", "bessel", "qlstm better", p=0.002, n=20),
            # identical arms: no difference anywhere
            c("hqkan_lstm", "lstm", "damped_shm", "no significant difference", p=1.0, n=20),
            c("qkan_lstm", "fourier_lstm", "damped_shm", "qkan_lstm better", p=0.01, n=20),
            c("qkan_lstm", "fourier_lstm", "bessel", "no significant difference", p=0.3, n=20),
        ]
        # another protocol saying the opposite is never read
        + [{**c("qkan_lstm", "lstm", "bessel", "lstm better"), "protocol": "batch1"}]
    )
    trivial = pd.DataFrame(
        [
            {"dataset": "damped_shm", "forecaster": "ar", "split": "test", "r2": 0.995},
            {"dataset": "bessel", "forecaster": "ar", "split": "test", "r2": 0.90},
            {"dataset": "bessel", "forecaster": "persistence", "split": "test", "r2": 0.95},
            {"dataset": "bessel", "forecaster": "ar", "split": "train", "r2": 0.999},
        ]
    )
    harder = pd.DataFrame(
        [
            c("qkan_lstm", "lstm", "narma5", "qkan_lstm better", p=0.01, n=20),
            c("qkan_lstm", "lstm", "narma10", "lstm better", p=0.03, n=20),
        ]
    )
    spectrum = pd.DataFrame(
        [
            {"dataset": "bessel", "reps": 1, "epoch": 30, "models": 20, "max_frequencies": 1,
             "active_frequencies_median": 1.0, "single_frequency": 1.0},
            # epoch 1 of L = 2 is one frequency per edge; only the last epoch counts
            {"dataset": "bessel", "reps": 2, "epoch": 1, "models": 20, "max_frequencies": 4,
             "active_frequencies_median": 1.0, "single_frequency": 0.9},
            {"dataset": "bessel", "reps": 2, "epoch": 30, "models": 20, "max_frequencies": 4,
             "active_frequencies_median": 3.0, "single_frequency": 0.1},
        ]
    )  # fmt: skip
    reductions = pd.DataFrame(
        [
            _report_row("79%", True, 3, 3),
            _report_row("99.5%", False, 0, 3),
            _report_row("50–70%", True, 1, 2),
        ]
    )
    table = V.verdict_table(
        {"comparisons": comparisons, "trivial": trivial},
        {"harder_comparisons": harder},
        spectrum,
        reductions,
        {"damped_shm": 0.99, "bessel": 0.98},
        stand_in=True,
    ).set_index("claim")
    assert list(table.columns) == list(V.COLUMNS)[1:]
    outcome, verdict = table["outcome"], table["verdict"]
    strength = table["strength of the evidence"]
    measured = table["what this book measured"]
    assert verdict["QKAN-LSTM more accurate than LSTM"] == V.HOLDS
    assert (
        strength["QKAN-LSTM more accurate than LSTM"] == "20 seeds per model, largest Holm p 0.004"
    )
    assert verdict["QKAN-LSTM more accurate than QLSTM"] == V.CONTRADICTED
    assert strength["QKAN-LSTM more accurate than QLSTM"] == (
        "20 seeds per model, Holm p 0.002 where QLSTM wins"
    )
    assert verdict["HQKAN-LSTM more accurate than LSTM"] == V.NOT_SUPPORTED
    assert verdict["QKAN-LSTM beats an LSTM of its size"] == V.UNTESTABLE  # no such rows
    assert verdict["QKAN-LSTM beats its Fourier twin"] == V.NOT_SUPPORTED
    assert (
        strength["QKAN-LSTM beats its Fourier twin"] == "20 seeds per model, smallest Holm p 0.01"
    )
    # the trivial forecasters reach the paper's best on Damped SHM only (the train split ignored)
    assert outcome["The tasks measure expressivity"] == "holds in part"
    assert measured["The tasks measure expressivity"] == (
        "Damped SHM: AR(p) reaches test R² 0.9950 (paper's best model 0.9900); "
        "Bessel Function: persistence reaches test R² 0.9500 (paper's best model 0.9800)"
    )
    assert verdict["QKAN-LSTM beats LSTM on harder tasks"] == V.CONTRADICTED
    assert "Holm p 0.03 where LSTM wins" in strength["QKAN-LSTM beats LSTM on harder tasks"]
    assert outcome["79% fewer parameters"] == "holds"
    assert "3 comparisons" in measured["79% fewer parameters"]
    assert verdict["99.5% fewer parameters"] == "cannot come from Table I"
    assert "98.0%" in measured["99.5% fewer parameters"]
    assert outcome["50–70% fewer parameters"] == "holds in part"
    assert measured["50–70% fewer parameters"].startswith("1 of the 2 comparisons")
    assert verdict["The enriched spectrum is used"].startswith("holds only beyond")
    assert outcome["Table IV: better on the Milan data"] == "cannot be tested"
    assert V.verdict_counts(table.reset_index()) == {
        "holds": 2,  # QKAN-LSTM vs LSTM, 79%
        "holds in part": 4,  # trivial, 50-70 %, spectrum, interpretable edges
        "does not hold": 3,  # vs QLSTM, harder tasks, 99.5 %
        "not supported": 2,  # HQKAN-LSTM vs LSTM, the twin
        "cannot be tested": 2,  # matched LSTM, Table IV
        "claims": 13,
    }


def test_claim_comparisons_are_the_accuracy_table_rows():
    rows = []
    for a, b in dict.fromkeys((a, b) for _, _, a, b, _ in V.ACCURACY_CLAIMS):
        for dataset in ("damped_shm", "bessel"):
            rows.append(
                {
                    "a": a,
                    "b": b,
                    "dataset": dataset,
                    "protocol": "batch10",
                    "verdict": "no significant difference",
                    "median_a": 0.9,
                    "median_b": 0.9,
                    "effect": 0.0,
                    "effect_ci_low": -0.1,
                    "effect_ci_high": 0.1,
                    "effect_statistic": "difference of medians",
                    "p_holm": 1.0,
                }
            )
    extra = dict(rows[0], b="ar")  # a comparison no claim reads: not in the plot's rows
    comparisons = pd.DataFrame([*rows, extra, dict(rows[0], protocol="batch1")])
    baselines, harder = {"comparisons": comparisons}, {"harder_comparisons": comparisons}
    picked = V.claim_comparisons(baselines, harder)
    table = V.accuracy_table(baselines, harder)
    assert len(picked) == len(table) == 2 * len(V.ACCURACY_CLAIMS)
    assert list(picked["claim"]) == list(table.index.get_level_values("claim"))
    assert "ar" not in set(picked["b"]) and set(picked["protocol"]) == {"batch10"}
    only_baselines = V.claim_comparisons(baselines)
    assert len(only_baselines) == 2 * (len(V.ACCURACY_CLAIMS) - 1)
    with pytest.raises(ValueError, match="accuracy claims"):
        V.claim_comparisons({})


def test_verdict_display_cuts_no_evidence():
    long = "10 trained models, 10 device models (calibration snapshots and published figures)"
    table = pd.DataFrame(
        {"claim": ["QKANs remain feasible for current real quantum devices"],
         "outcome": ["does not hold"], "strength of the evidence": [long]}
    )  # fmt: skip
    html = V.verdict_display(table)._repr_html_()
    assert long in html and "..." not in html and table["claim"][0] in html
