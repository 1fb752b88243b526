"""Chapter 11's and chapter 12's reading of the spectrum study, from one library home:
edge_analysis.last_epoch_settings (the rule per setting), spectrum_verdict, spectrum_findings,
verdict.spectrum_claim and spectrum_usage_study. Each is checked against its former copy
(copied here verbatim: the library functions before the move, and chapter 11's cell) on small
synthetic summaries, ties and gaps included."""

import itertools

import numpy as np
import pandas as pd
import pytest

import qkan_lib as ql
from qkan_lib.evidence import learned_spectra as ea
from qkan_lib.evidence import verdict as V
from qkan_lib.evidence.learned_spectra import USAGE_COLUMNS, spectrum_usage_summary
from qkan_lib.models.registry import DATASET_LABELS

# ---- former copies


def former_spectrum_verdict(
    summary: pd.DataFrame, single_threshold: float = 0.01, majority: float = 0.5
) -> str:
    """The answer, computed: for each dataset, do trained edges with L >= 2 re-uploads use
    several frequencies, or effectively one?

    An edge counts as effectively one frequency when at most ``single_threshold`` of its
    oscillating energy lies outside its dominant frequency (``summary`` must have been made with
    the same threshold); a setting (dataset, L) "uses one frequency per edge" when more than
    ``majority`` of its edges do. Only the last epoch of each setting is read. L = 1 edges have
    one frequency by construction and are reported as such.
    """
    if summary.empty:
        raise ValueError("summary is empty")

    last = summary[
        summary["epoch"] == summary.groupby(["dataset", "reps"])["epoch"].transform("max")
    ]
    sentences = []
    for dataset, group in last.groupby("dataset", sort=False):
        name = DATASET_LABELS.get(dataset, dataset)
        multi = group[group["reps"] >= 2]
        if multi.empty:
            sentences.append(
                f"On {name} only L = 1 was trained: one frequency per edge by "
                "construction, so the enriched spectrum is not tested."
            )
            continue
        parts, singles = [], []
        for _, row in multi.iterrows():
            single = row["single_frequency"] > majority
            singles.append(single)
            parts.append(
                f"L = {int(row['reps'])}: {100 * row['single_frequency']:.0f}% of edges within "
                f"{100 * single_threshold:g}% of one frequency, median "
                f"{100 * row['share_outside_dominant_median']:.1f}% of the energy outside the "
                f"dominant frequency, median {row['active_frequencies_median']:g} of "
                f"{int(row['max_frequencies'])} frequencies active"
            )
        if all(singles):
            answer = "effectively one frequency per edge"
        elif not any(singles):
            answer = "several frequencies per edge"
        else:
            answer = "one frequency per edge at some L and several at others"
        sentences.append(
            f"On {name} the trained QKAN-LSTMs use {answer} (" + "; ".join(parts) + ")."
        )
    return " ".join(sentences)


def former_spectrum_claim(summary: pd.DataFrame, paper_reps: int = 1) -> dict:
    """Does a trained QKAN-LSTM use the enriched spectrum? From
    :func:`qkan_lib.evidence.learned_spectra.spectrum_usage_summary` at the last epoch."""
    last = summary[
        summary["epoch"] == summary.groupby(["dataset", "reps"])["epoch"].transform("max")
    ]
    parts = []
    for row in last.sort_values(["reps", "dataset"]).itertuples():
        parts.append(
            f"L = {row.reps}, {DATASET_LABELS.get(row.dataset, row.dataset)}: "
            f"{row.active_frequencies_median:.0f} of {row.max_frequencies} positive "
            f"frequencies active (median over edges); "
            f"{row.single_frequency:.0%} of edges effectively one frequency"
        )
    paper = last[last["reps"] == paper_reps]
    richer = last[last["reps"] > paper_reps]
    one_in_paper = bool((paper["max_frequencies"] <= 1).all()) if len(paper) else False
    several_beyond = bool((richer["single_frequency"] < 0.5).all()) if len(richer) else False
    if one_in_paper and several_beyond:
        verdict = (
            "holds only beyond the paper's configuration: with L = 1 every edge is one "
            "sinusoid; with L >= 2 trained edges do use several frequencies"
        )
        outcome = "holds in part"
    elif one_in_paper:
        verdict = "does not hold in the paper's configuration (L = 1: one frequency per edge)"
        outcome = "does not hold"
    else:
        verdict, outcome = "holds (trained edges use several frequencies)", "holds"
    models = int(last["models"].min()) if len(last) else 0
    return {
        "verdict": verdict,
        "outcome": outcome,
        "measured": "; ".join(parts),
        "strength": f"{models} models per setting, exact spectra",
    }


def former_chapter_11(summary, usage):
    """Chapter 11's former cell (id 22), as it was, returning what the page shows."""
    trained_summary = summary[summary["epoch"] > 0]
    verdict = ea.spectrum_verdict(trained_summary)

    def cell(dataset, reps, epoch_kind, column):
        rows = summary[(summary["dataset"] == dataset) & (summary["reps"] == reps)]
        row = rows[rows["epoch"] == (0 if epoch_kind == "initial" else rows["epoch"].max())]
        return float(row[column].iloc[0])

    sentences = []
    for dataset in ("damped_shm", "bessel"):
        parts = []
        for reps in (2, 3):
            before = cell(dataset, reps, "initial", "share_outside_dominant_median")
            after = cell(dataset, reps, "trained", "share_outside_dominant_median")
            direction = "raised" if after > before else "lowered" if after < before else "kept"
            parts.append(
                f"{direction} it from {100 * before:.1f}% to {100 * after:.1f}% at L = {reps}"
            )
        sentences.append(f"on {ql.DATASET_LABELS[dataset]} training " + " and ".join(parts))
    initial = [
        cell(d, r, "initial", "share_outside_dominant_median")
        for d in ("damped_shm", "bessel")
        for r in (2, 3)
    ]
    trained_shares = [
        cell(d, r, "trained", "share_outside_dominant_median")
        for d in ("damped_shm", "bessel")
        for r in (2, 3)
    ]
    init_several, trained_several = min(initial) > 0.01, min(trained_shares) > 0.01
    if init_several and trained_several:
        reading = (
            "So the edges already spread their energy over several frequencies at "
            "initialisation, and training does not collapse them onto one."
        )
    elif init_several:
        reading = "So training collapses edges that start with several frequencies onto one."
    elif trained_several:
        reading = "So training creates the spread: the initial edges are nearly single sinusoids."
    else:
        reading = "The edges are nearly single sinusoids both at initialisation and after training."
    lowest = [
        cell(d, r, "trained", "share_outside_lowest_median")
        for d in ("damped_shm", "bessel")
        for r in (2, 3)
    ]
    dominant = [
        cell(d, r, "trained", "share_outside_dominant_median")
        for d in ("damped_shm", "bessel")
        for r in (2, 3)
    ]
    combination = [
        cell(d, r, "trained", "dominant_combination")
        for d in ("damped_shm", "bessel")
        for r in (2, 3)
    ]
    trained_multi = usage[(usage["reps"] >= 2) & (usage["epoch"] > 0)]
    empty_lowest = float(((1 - trained_multi["share_outside_lowest"]) < 0.01).mean())
    lowest_story = (
        "tells a different story" if min(lowest) > max(dominant) + 0.2 else "roughly agrees here"
    )
    return {
        "verdict": verdict,
        "sentences": sentences,
        "reading": reading,
        "lowest": lowest,
        "dominant": dominant,
        "combination": combination,
        "empty_lowest": empty_lowest,
        "lowest_story": lowest_story,
    }


# ---- synthetic studies


def study(seed, n_edges=4, mode="random"):
    """A usage frame of both datasets, L = 1, 2, 3, two seeds, epochs 0 and 30."""
    rng = np.random.default_rng(seed)
    rows = []
    for dataset, reps, s, epoch in itertools.product(
        ("damped_shm", "bessel"), (1, 2, 3), (0, 1), (0, 30)
    ):
        scale = rng.choice([0.0, 0.005, 0.3]) if epoch else rng.choice([0.0, 0.2])
        if mode == "spread" and epoch:
            scale = 0.3 + 0.1 * s
        for k in range(n_edges):
            share = 0.0 if reps == 1 else float(scale * rng.uniform(0, 2))
            if mode == "tie" and reps == 2 and epoch:  # half of the edges exactly one frequency
                share = 0.0 if k % 2 else 0.4
            if reps >= 2 and k == 0 and seed % 3 == 0:
                share = np.nan  # a constant edge
            row = {c: 0 for c in USAGE_COLUMNS}
            row.update(
                dataset=dataset,
                reps=reps,
                seed=s,
                epoch=epoch,
                out=k,
                max_frequencies=(3**reps - 1) // 2,
                share_outside_dominant=share,
                share_outside_lowest=min(1.0, share * rng.uniform(1, 4))
                if rng.uniform() < 0.7
                else 0.995,
                share_combination=0.0,
                active_frequencies=1 if share == 0 else 2,
                dominant_is_combination=bool(rng.uniform() < 0.4),
                test_r2=0.9 if epoch else np.nan,
            )
            rows.append(row)
    return pd.DataFrame(rows, columns=USAGE_COLUMNS)


CASES = [(seed, mode) for seed in range(12) for mode in ("random", "tie", "spread")]


@pytest.mark.parametrize("seed, mode", CASES)
def test_chapter_11_reading_is_unchanged(seed, mode):
    usage = study(seed, mode=mode)
    summary = spectrum_usage_summary(usage)
    assert ea.spectrum_findings(summary, usage) == former_chapter_11(summary, usage)


@pytest.mark.parametrize("seed, mode", CASES)
@pytest.mark.parametrize("threshold", [0.01, 0.1])
def test_verdict_sentence_and_claim_are_unchanged(seed, mode, threshold):
    usage = study(seed, mode=mode)
    summary = spectrum_usage_summary(usage, single_threshold=threshold)
    for part in (summary, summary[summary["epoch"] > 0], summary[summary["reps"] == 1]):
        assert ea.spectrum_verdict(part, threshold) == former_spectrum_verdict(part, threshold)
        assert V.spectrum_claim(part) == former_spectrum_claim(part)


def test_every_outcome_and_the_tie_are_reached():
    outcomes, answers, kinds = set(), set(), set()
    for seed, mode in CASES:
        summary = spectrum_usage_summary(study(seed, mode=mode))
        outcomes.add(V.spectrum_claim(summary)["outcome"])
        answers.add(ea.spectrum_verdict(summary).split(" (")[0].split("use ")[-1])
        kinds |= set(ea.last_epoch_settings(summary)["frequencies_per_edge"])
    assert outcomes >= {"holds in part", "does not hold"}
    assert kinds == {ea.ONE_FREQUENCY, ea.SEVERAL_FREQUENCIES, ea.TIED}
    assert len(answers) >= 3


def test_a_tied_setting_is_neither_one_nor_several():
    summary = pd.DataFrame(
        {
            "dataset": ["bessel"] * 4,
            "reps": [1, 2, 2, 3],
            "epoch": [30, 0, 30, 30],
            "single_frequency": [1.0, 1.0, 0.5, np.nan],
        }
    )
    last = ea.last_epoch_settings(summary)
    assert list(last["reps"]) == [1, 2, 3]  # the initial L = 2 row is not the last epoch
    assert list(last["frequencies_per_edge"]) == ["one", "tied", "tied"]
    with pytest.raises(ValueError, match="majority"):
        ea.last_epoch_settings(summary, majority=1.5)


def test_findings_name_a_missing_setting():
    usage = study(1)
    summary = spectrum_usage_summary(usage[usage["reps"] != 3])
    with pytest.raises(ValueError, match="L = 3"):
        ea.spectrum_findings(summary, usage)
    assert DATASET_LABELS["bessel"] in " ".join(
        ea.spectrum_findings(spectrum_usage_summary(usage), usage)["sentences"]
    )


def test_usage_study_is_the_former_loop(monkeypatch):
    calls = []

    def fake_usage(dataset, reps_values, **kwargs):
        calls.append((dataset, tuple(reps_values), kwargs))
        frame = study(0)
        return frame[frame["dataset"] == dataset].reset_index(drop=True)

    monkeypatch.setattr(ea, "spectrum_usage", fake_usage)
    common = dict(full=False, device="cpu", results_dir="r")
    # chapter 11 and 12's former loop: (0, last epoch) per dataset
    former = pd.concat(
        [
            ea.spectrum_usage(d, (1, 2, 3), epochs=(0, ql.protocol(d, False).epochs), **common)
            for d in ("damped_shm", "bessel")
        ],
        ignore_index=True,
    )
    former_calls, calls[:] = list(calls), []
    new = ea.spectrum_usage_study(("damped_shm", "bessel"), (1, 2, 3), **common)
    pd.testing.assert_frame_equal(new, former)
    assert calls == former_calls
    # chapter 11's coarse loop: the last epoch only, another tolerance
    calls[:] = []
    ea.spectrum_usage_study(("bessel",), (1, 2), with_initial=False, tol=0.1, **common)
    assert calls == [("bessel", (1, 2), {**common, "epochs": None, "tol": 0.1})]
    with pytest.raises(ValueError, match="datasets"):
        ea.spectrum_usage_study((), (1,))
    with pytest.raises(ValueError, match="with_initial"):
        ea.spectrum_usage_study(("bessel",), (1,), epochs=(0,))
