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
    assert list(V.verdict_display(table).columns) == ["outcome", "evidence"]
    assert V.verdict_details(table).count("\n") == 4 and "**a** (x)" in V.verdict_details(table)
