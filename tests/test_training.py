import json

import pytest
import torch

import qkan_lib as ql
from qkan_lib import experiments, training
from qkan_lib.data import load_dataset
from qkan_lib.metrics import regression_metrics
from qkan_lib.training import Experiment, TrainConfig


def test_metrics_on_known_values():
    y = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert regression_metrics(y, y) == {"mse": 0.0, "mae": 0.0, "r2": 1.0}
    mean = regression_metrics(torch.full_like(y, 2.5), y)
    assert mean["r2"] == 0.0 and mean["mae"] == 1.0 and mean["mse"] == 1.25
    with pytest.raises(ValueError, match="shape"):
        regression_metrics(y[:3], y)


@pytest.mark.parametrize("bad", [dict(epochs=0), dict(lr=-1), dict(optimizer="sgd"), dict(dtype="half"),
                                 dict(record_epochs=(31,))])
def test_bad_train_config(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def test_training_reduces_the_loss_and_records_history():
    data = load_dataset("bessel")
    ql.seed_everything(0)
    model = ql.build_model("qkan_lstm", "bessel", dtype=torch.float64)
    out = training.train(model, data, TrainConfig(epochs=5, record_epochs=(1, 5)))
    history = out["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5]
    assert history[-1]["train_mse"] < history[0]["train_mse"]
    assert set(out["predictions"]) == {"1", "5"} and len(out["predictions"]["5"]["test"]) == len(data.x_test)


def test_divergence_is_a_clear_error():
    class Exploding(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def forward(self, x):
            return self.w * x[:, -1] * float("inf")

    with pytest.raises(RuntimeError, match="loss became"):
        training.train(Exploding(), load_dataset("bessel"), TrainConfig(epochs=1))


def test_results_are_written_once_then_loaded(tmp_path, monkeypatch):
    exp = Experiment("qkan_lstm", "bessel", 4, TrainConfig(epochs=2, seed=1))
    first = training.run_experiment(exp, tmp_path)
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == [exp.filename()]
    saved = json.loads(files[0].read_text())
    for key in ("experiment", "history", "environment", "wall_time_s", "parameters", "created"):
        assert key in saved
    assert saved["experiment"]["train"]["seed"] == 1 and "torch" in saved["environment"]

    def no_training(*args, **kwargs):
        raise AssertionError("a finished result must be loaded, not retrained")

    monkeypatch.setattr(training, "train", no_training)
    assert training.run_experiment(exp, tmp_path)["history"] == first["history"]
    other = Experiment("qkan_lstm", "bessel", 4, TrainConfig(epochs=2, seed=2))
    assert other.filename() != exp.filename()
    with pytest.raises(AssertionError, match="loaded, not retrained"):
        training.run_experiment(exp, tmp_path, force=True)


def test_same_seed_same_result(tmp_path):
    exp = Experiment("hqkan_lstm", "damped_shm", 4, TrainConfig(epochs=2, seed=3))
    a = training.run_experiment(exp, tmp_path / "a")
    b = training.run_experiment(exp, tmp_path / "b")
    assert a["history"] == b["history"]


def test_corrupt_result_file_is_reported(tmp_path):
    exp = Experiment("lstm", "bessel", 4, TrainConfig(epochs=1))
    (tmp_path / exp.filename()).write_text("{not json")
    with pytest.raises(ValueError, match="not a valid result file"):
        training.run_experiment(exp, tmp_path)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(TypeError):
        training.write_json_atomic(tmp_path / "r.json", {"bad": object()})
    assert not list(tmp_path.iterdir())


def test_command_line_runs_a_grid_and_prints_a_table(tmp_path, capsys):
    code = experiments.main(["--datasets", "bessel", "--models", "qkan_lstm", "lstm", "--seeds", "0", "1",
                             "--epochs", "1", "--results-dir", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "QKAN-LSTM" in out and "test_r2" in out
    assert len(list(tmp_path.glob("*.json"))) == 4


def test_protocols_are_complete():
    full = experiments.experiments_for("urban", full=True)
    assert {e.seq_len for e in full} == {4, 8, 12, 16, 32, 64}
    assert {e.train.lr for e in full if e.model == "hqkan_lstm"} == {0.02}
    quick = experiments.experiments_for("bessel")
    assert all(e.train.epochs == 30 and e.train.record_epochs == (1, 15, 30) for e in quick)


@pytest.mark.parametrize("model", ["qkan_lstm", "hqkan_lstm", "qlstm"])
def test_seed_batched_training_equals_separate_runs(model):
    from qkan_lib.ensemble import train_seeds

    data = load_dataset("damped_shm")
    config = TrainConfig(epochs=2, record_epochs=(2,))
    batched = train_seeds(model, "damped_shm", data, config, [3, 4])
    for k, seed in enumerate([3, 4]):
        ql.seed_everything(seed)
        single = training.train(ql.build_model(model, "damped_shm", dtype=torch.float64), data, config)
        for a, b in zip(single["history"], batched[k]["history"]):
            assert a.keys() == b.keys()
            for key in a:
                assert a[key] == pytest.approx(b[key], abs=1e-10, rel=1e-10), (seed, key)
        assert single["predictions"]["2"]["test"] == pytest.approx(batched[k]["predictions"]["2"]["test"], abs=1e-10)


def test_grid_batches_seeds_and_resumes(tmp_path):
    grid = experiments.experiments_for("bessel", models=("qkan_lstm", "lstm"), seeds=(0, 1), epochs=1)
    results = experiments.run_grid(grid, tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 4
    assert [r.get("seed_batched") for r in results] == [2, 2, None, None]
    again = experiments.run_grid(grid, tmp_path)  # loads, does not retrain
    assert [r["created"] for r in again] == [r["created"] for r in results]
    with pytest.raises(ValueError, match="shuffle"):
        from qkan_lib.ensemble import train_seeds
        train_seeds("qkan_lstm", "bessel", load_dataset("bessel"), TrainConfig(shuffle=True), [0, 1])
