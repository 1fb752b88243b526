import pytest
import torch

from qkan_lib import build_model, load_dataset, predict
from qkan_lib.core.noise import NOISELESS, NoiseModel
from qkan_lib.evidence import noisy_deployment as nd


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    data = load_dataset("damped_shm", 4)
    models = {
        (readout, 0): build_model("qkan_lstm", "damped_shm", dtype=torch.float64, readout=readout)
        for readout in ("expectation", "amplitude")
    }
    return data, models


def test_noiseless_exact_deployment_loses_nothing(setup):
    data, models = setup
    scores = nd.deployment_scores(models, data, {"none": NOISELESS}, shots=[None])
    assert (scores["r2_lost"].abs() < 1e-12).all()
    for model in models.values():
        torch.testing.assert_close(
            nd.deployed_predictions(model, data.x_test, NOISELESS), predict(model, data.x_test)
        )


def test_shots_and_noise_change_the_predictions(setup):
    data, models = setup
    model = models[("expectation", 0)]
    exact = predict(model, data.x_test)
    noisy = nd.deployed_predictions(model, data.x_test, NoiseModel(depolarizing=0.05))
    assert (noisy - exact).abs().max() > 1e-3
    scores = nd.deployment_scores(
        {("expectation", 0): model}, data, {"none": NOISELESS}, shots=[100], repeats=3
    )
    assert scores["test_r2"].nunique() == 3  # independent draws per repeat
    summary = nd.summarise_deployment(scores)
    assert summary.loc[0, "count"] == 3 and summary.loc[0, "shots"] == "100"


def test_daruan_device_errors_vanish_without_noise():
    table = nd.daruan_device_errors({"none": NOISELESS, "dep": NoiseModel(depolarizing=0.01)})
    assert table.loc[0, "max_error"] < 1e-12
    assert table.loc[1, "rms_error"] > 1e-3


def test_bad_arguments_are_named(setup):
    data, models = setup
    with pytest.raises(ValueError, match="repeats"):
        nd.deployment_scores(models, data, {"none": NOISELESS}, repeats=0)
    with pytest.raises(ValueError, match="shots"):
        nd.deployment_scores(models, data, {"none": NOISELESS}, shots=[0])


def _summary(intervals):
    """A deployment summary from ``{device: {shots: (median, low, high)}}``."""
    import pandas as pd

    rows = [
        {"device": d, "shots": s, "median": m, "low": lo, "high": hi}
        for d, by_shots in intervals.items()
        for s, (m, lo, hi) in by_shots.items()
    ]
    return pd.DataFrame(rows)


def _definition_met(row, summary, tolerance=0.01):
    """The outcome's definition (verdict.FEASIBILITY_RULE), checked from the summary's
    intervals directly: per device model, within when some finite budget's whole interval
    is at most the tolerance, beyond when every budget's lies above it."""
    from qkan_lib.evidence.verdict import FEASIBILITY_RULE, OUTCOMES

    finite = summary[summary["shots"] != "exact"]
    within = {d for d, g in finite.groupby("device") if (g["high"] <= tolerance).any()}
    beyond = {d for d, g in finite.groupby("device") if (g["low"] > tolerance).all()}
    devices = set(finite["device"])
    outcome = row["outcome"]
    assert outcome in OUTCOMES and outcome in FEASIBILITY_RULE
    assert row["verdict"].startswith(outcome + ":")
    if outcome == "holds":
        return within == devices
    if outcome == "holds in part":
        return bool(within)
    if outcome == "does not hold":
        return not within and bool(beyond)
    return not within and not beyond  # not supported


def test_feasibility_rule_each_outcome_on_constructed_intervals():
    from qkan_lib.evidence.verdict import COLUMNS, device_feasibility

    cheap, dear = {100: 1.0, 1000: 10.0}, {100: 1.0, 1000: 1e9}
    cases = {
        # every device model within at 1,000 shots, training cheap / dear
        ("holds", "cheap"): {"a": {"100": (0.5, 0.4, 0.6), "1,000": (0.004, 0.002, 0.008),
                                   "exact": (0.0, -0.001, 0.001)},
                             "b": {"100": (0.003, 0.001, 0.009), "1,000": (0.001, 0.0, 0.002)}},
        ("holds in part", "dear"): {"a": {"100": (0.5, 0.4, 0.6),
                                          "1,000": (0.004, 0.002, 0.008)},
                                    "b": {"100": (0.3, 0.2, 0.4),
                                          "1,000": (0.001, 0.0, 0.002)}},
        # within on one, beyond on another: part of the claim
        ("holds in part", "cheap"): {"a": {"100": (0.5, 0.4, 0.6),
                                           "1,000": (0.004, 0.002, 0.008)},
                                     "b": {"100": (0.3, 0.2, 0.4),
                                           "1,000": (0.02, 0.012, 0.03)}},
        # within on none, beyond on one, the other undecided
        ("does not hold", "cheap"): {"a": {"100": (0.5, 0.4, 0.6),
                                           "1,000": (0.0104, 0.006, 0.013)},
                                     "b": {"100": (0.3, 0.2, 0.4),
                                           "1,000": (0.02, 0.012, 0.03)}},
        # medians either side of 0.01, intervals across it (or none): nothing decided
        ("not supported", "cheap"): {"a": {"100": (0.5, 0.4, 0.6),
                                           "1,000": (0.0104, 0.006, 0.013)},
                                     "b": {"100": (0.3, 0.2, 0.4),
                                           "1,000": (0.0096, 0.005, 0.012)},
                                     "c": {"1,000": (0.001, float("nan"), float("nan"))}},
    }  # fmt: skip
    for (want, training), intervals in cases.items():
        summary = _summary(intervals)
        row = device_feasibility(summary, cheap if training == "cheap" else dear, seeds=10)
        assert set(row) == set(COLUMNS)
        assert row["outcome"] == want, (want, row["verdict"])
        assert _definition_met(row, summary)
    dear_row = device_feasibility(_summary(cases[("holds in part", "dear")]), dear, seeds=3)
    assert "1,000 shots" in dear_row["what this book measured"]
    assert "longer than the limit" in dear_row["verdict"]


def test_feasibility_does_not_turn_on_the_third_decimal():
    """Two device models whose medians print "+0.010" and "+0.011" either side of the
    tolerance are judged by their intervals: both undecided, neither pass nor fail."""
    from qkan_lib.evidence.verdict import UNDECIDED, device_sides, tolerance_table

    summary = _summary({"a": {"10,000": (0.0097, 0.007, 0.0132)},
                        "b": {"10,000": (0.0112, 0.0054, 0.0207)}})  # fmt: skip
    sides = device_sides(summary)
    assert list(sides["side"]) == [UNDECIDED, UNDECIDED]
    shown = tolerance_table(summary)
    assert list(shown["R² lost [95% CI]"]) == ["+0.0097 [+0.0070, +0.0132]",
                                               "+0.0112 [+0.0054, +0.0207]"]  # fmt: skip
    import pandas as pd
    from scipy import stats

    from qkan_lib.evidence.verdict import fewest_models

    # too few models for an interval: the median alone, the side undecided
    few = _summary({"c": {"10,000": (0.002, float("nan"), float("nan"))}})
    assert list(tolerance_table(few)["R² lost [95% CI]"]) == ["+0.0020 [–, –]"]
    assert list(device_sides(few)["side"]) == [UNDECIDED]
    n = fewest_models(0.95)  # scipy's quantile test has no 95 % interval below it
    assert n == 6 and pd.isna(stats.quantile_test(range(n - 1)).confidence_interval().low)
    assert not pd.isna(stats.quantile_test(range(n)).confidence_interval().low)
    with pytest.raises(ValueError, match="low"):
        device_sides(pd.DataFrame({"device": ["a"], "shots": ["100"], "median": [0.1]}))


def test_summary_takes_each_seed_as_one_model():
    """Shot repeats are averaged per seed before the median and its interval: six seeds
    with two repeats each are six draws, not twelve."""
    import numpy as np
    import pandas as pd

    from qkan_lib.evidence.statistics import median_interval

    rng = np.random.default_rng(1)
    scores = pd.DataFrame(
        [{"readout": "expectation", "device": "d", "shots": "100", "seed": seed,
          "repeat": rep, "r2_lost": float(rng.normal(0.01 * seed, 0.001))}
         for seed in range(6) for rep in range(2)]
    )  # fmt: skip
    row = nd.summarise_deployment(scores).iloc[0]
    per_seed = scores.groupby("seed")["r2_lost"].mean().to_numpy()
    assert (row["seeds"], row["count"]) == (6, 12)
    assert (row["median"], row["low"], row["high"]) == pytest.approx(median_interval(per_seed))
    assert row["mean"] == pytest.approx(per_seed.mean())


def test_deployment_experiments_and_devices():
    from qkan_lib.data.devices import device_noise_models

    groups = nd.deployment_experiments(False)
    assert set(groups) == {"expectation", "amplitude"}
    assert [e.train.seed for e in groups["expectation"]] == [
        e.train.seed for e in groups["amplitude"]
    ]
    assert dict(groups["amplitude"][0].model_options) == {"readout": "amplitude"}
    models = device_noise_models()
    quick = nd.deployment_devices(models, False)
    assert len(quick) == len(nd.QUICK_DEVICES) and nd.deployment_devices(models, True) == models


def test_training_on_a_noiseless_device_equals_ordinary_training():
    """Parameter-shift gradients without shots or noise are autograd's: two epochs of training
    on the device reach the same model as ordinary training (reference path)."""
    import dataclasses

    from qkan_lib import experiments_for, reference_path, train
    from qkan_lib.runs.run import build_experiment_model, load_experiment_data

    experiment = experiments_for("damped_shm", ["qkan_lstm"])[0]
    got = nd.train_on_device(experiment, NOISELESS, None, epochs=2)
    config = dataclasses.replace(
        experiment.train, epochs=2, record_epochs=(2,), device="cpu", evaluate_train=False
    )
    data = load_experiment_data(experiment)
    torch.manual_seed(config.seed)
    model = build_experiment_model(experiment)
    with reference_path():
        train(model, data, config, progress=False)
    from qkan_lib.runs.metrics import regression_metrics

    want = regression_metrics(predict(model.eval(), data.x_test), data.y_test)["r2"]
    assert got["test_r2"] == pytest.approx(want, abs=1e-8)
    assert got["device_test_r2"] == pytest.approx(want, abs=1e-8)
    noisy = nd.device_training_scores([experiment], NoiseModel(depolarizing=0.05), [100], 1)
    assert list(noisy.columns) == ["model", "seed", "shots", "test_r2", "device_test_r2", "epochs"]
    assert noisy.loc[0, "shots"] == "100" and noisy.loc[0, "test_r2"] != pytest.approx(want)


def test_a_stored_run_on_a_device_equals_training_in_process(tmp_path, monkeypatch):
    """The run path (an experiment with noise_device and shots, stored, archived and read back
    without training) gives the test scores of training in this process with
    :func:`train_on_device` (same seed, same shot stream): equal, not close."""
    import qkan_lib as ql
    from qkan_lib.data.devices import device_noise_models
    from qkan_lib.runs import archive as A
    from qkan_lib.runs.store import load_result

    monkeypatch.setenv("QKAN_WORKERS", "1")
    fez = nd.training_device_name()
    grid = ql.experiments_for(
        "bessel",
        ["hqkan_lstm"],
        seeds=(1,),
        epochs=2,
        evaluate_train=False,
        record_epochs=(),
        noise_device=fez,
        shots=50,
    )
    stored = ql.run_grid(grid, tmp_path / "results")[0]
    base = ql.experiments_for("bessel", ["hqkan_lstm"], seeds=(1,))[0]
    in_process = nd.train_on_device(base, device_noise_models()[fez], 50, epochs=2)
    assert stored.device_metrics["test_r2"] == in_process["test_r2"]
    assert stored.device_metrics["device_test_r2"] == in_process["device_test_r2"]
    assert stored.device_metrics["test_r2"] != stored.device_metrics["device_test_r2"]
    again = load_result(tmp_path / "results" / grid[0].filename())
    assert again.device_metrics == stored.device_metrics
    # archived like every run, and read back from the archive without training
    manifest = A.export_archive(tmp_path / "results", tmp_path / "archive")
    assert f"runs/{grid[0].filename()}.xz" in manifest["files"]
    monkeypatch.setenv(A.ARCHIVE_ENV, str(tmp_path / "archive"))
    with A.no_training():
        study = ql.run_grid(grid, tmp_path / "fresh")
    assert study[0].device_metrics == stored.device_metrics
    frame = nd.device_training_frame(study)
    assert frame.loc[0, "shots"] == "50" and frame.loc[0, "test_r2"] == in_process["test_r2"]


def test_the_book_plans_the_device_training_runs(tmp_path):
    from qkan_lib.evidence import book_runs

    steps = [s for s in book_runs.BOOK_STEPS if s.chapter == "13"]
    assert len(steps) == 2
    rows = book_runs.book_plan(False, tmp_path, steps=steps[1:])
    quick = nd.device_training_experiments(False)
    assert rows[0][1] == quick and not list(tmp_path.glob("*.json"))
    # quick: 2 models x 2 datasets x 2 budgets x 3 seeds
    assert len(quick) == 24 and {e.train.shots for e in quick} == {1000, None}
    assert {(e.model, e.dataset) for e in quick} == {
        (m, d) for m in ("qkan_lstm", "hqkan_lstm") for d in ("damped_shm", "bessel")
    }
    full = nd.device_training_experiments(True)
    # full: 3 models (QLSTM with shots only) x 2 datasets x 4 budgets x 10 seeds
    assert len(full) == 240 and {e.train.shots for e in full} == set(nd.SHOT_BUDGETS)
    assert {e.model for e in full} == {"qkan_lstm", "hqkan_lstm", "qlstm"}
    assert {e.train.epochs for e in full} == {30} and {e.train.epochs for e in quick} == {5}
    assert {e.train.noise_device for e in full} == {nd.training_device_name("IBM Fez")}


def test_shot_comparison_sentences_say_why_nothing_can_be_significant():
    import pandas as pd

    scores = pd.DataFrame(
        [
            {"model": "qkan_lstm", "dataset": "bessel", "seed": k, "shots": s, "test_r2": v}
            for s, values in {"100": [0.1, 0.2, 0.3], "exact": [0.9, 0.8, 0.95]}.items()
            for k, v in enumerate(values)
        ]
    )
    comparisons = nd.shot_comparisons(scores)
    assert comparisons.loc[0, "p_raw"] == pytest.approx(nd.smallest_signed_rank_p(3))
    text = nd.shot_comparison_sentence(comparisons)
    assert text.startswith("None of the 1 comparisons") and "0.25" in text
    reached = nd.budget_reaching_exact(scores)
    assert reached.loc[0, "budget"] is None
    assert nd.budget_sentence(reached) == (
        "For QKAN-LSTM on Bessel Function no shot budget brings the median test R² within "
        "0.01 of exact training's."
    )
    near = scores.assign(test_r2=[0.9, 0.8, 0.95, 0.9, 0.8, 0.95])
    reached = nd.budget_reaching_exact(near)
    assert reached.loc[0, "budget"] == "100"
    assert nd.budget_sentence(reached) == (
        "The median test R² comes within 0.01 of exact training's for QKAN-LSTM on Bessel "
        "Function from 100 shots."
    )


def test_more_than_three_significant_budgets_are_counted_not_listed():
    import pandas as pd

    rows = [
        {
            "model": m,
            "dataset": d,
            "seed": k,
            "shots": s,
            "test_r2": base - (0.1 if s == "100" else 0),
        }
        for m in ("qkan_lstm", "hqkan_lstm")
        for d in ("bessel", "damped_shm")
        for s in ("100", "exact")
        for k, base in enumerate(0.5 + 0.01 * k for k in range(10))
    ]
    comparisons = nd.shot_comparisons(pd.DataFrame(rows))
    assert (comparisons["p_holm"] < 0.05).all()
    text = nd.shot_comparison_sentence(comparisons)
    assert text == (
        "4 of the 4 comparisons of a shot budget with exact training are significant after "
        "Holm's correction (4 of 4 at 100 shots), every one below exact training; the table "
        "lists them."
    )
