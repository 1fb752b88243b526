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


def _summary(medians):
    import pandas as pd

    rows = [
        {"device": d, "shots": s, "median": m}
        for d, by_shots in medians.items()
        for s, m in by_shots.items()
    ]
    return pd.DataFrame(rows)


def test_feasibility_rule_reads_the_smallest_usable_budget():
    from qkan_lib.evidence.verdict import COLUMNS, device_feasibility

    summary = _summary(
        {"a": {"100": 0.5, "1 000": 0.005, "exact": 0.0}, "b": {"100": 0.3, "1 000": 0.02}}
    )
    row = device_feasibility(summary, {100: 1.0, 1000: 10.0}, seeds=3)
    assert set(row) == set(COLUMNS) and row["outcome"] == "does not hold"
    summary = _summary({"a": {"100": 0.5, "1 000": 0.005}, "b": {"100": 0.003, "1 000": 0.001}})
    assert device_feasibility(summary, {1000: 10.0}, seeds=3)["outcome"] == "holds"
    row = device_feasibility(summary, {1000: 1e9}, seeds=3)
    assert row["outcome"] == "holds in part" and "1,000 shots" in row["what this book measured"]


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
