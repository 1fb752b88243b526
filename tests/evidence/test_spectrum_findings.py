"""Chapter 11's and the verdict chapter's reading of the spectrum study, from one library home:
learned_spectra.last_epoch_settings (the rule per setting), spectrum_verdict, spectrum_findings,
verdict.spectrum_claim and spectrum_usage_study, on small synthetic summaries, ties and gaps
included. (When these moved out of the chapters they were checked equal to the former copies
on the same synthetic studies; the copies are not kept: one home per thing.)"""

import itertools

import numpy as np
import pandas as pd
import pytest

import qkan_lib as ql
from qkan_lib.evidence import learned_spectra as ea
from qkan_lib.evidence import verdict as V
from qkan_lib.evidence.learned_spectra import USAGE_COLUMNS, spectrum_usage_summary
from qkan_lib.models.registry import DATASET_LABELS

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
