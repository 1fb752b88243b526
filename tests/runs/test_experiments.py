"""Protocols, experiments, the run path and the result store (qkan_lib.runs)."""

import dataclasses
import json

import pytest
import torch

import qkan_lib as ql
from qkan_lib.runs import experiment as experiments
from qkan_lib.runs import run, store
from qkan_lib.runs import workers as parallel_grid


@pytest.fixture(autouse=True)
def serial_grid(monkeypatch):
    """run_grid reads $QKAN_WORKERS / $QKAN_SCHEDULER: these tests run serially whatever the
    caller's environment holds, and monkeypatch restores it afterwards."""
    monkeypatch.delenv(parallel_grid.SCHEDULER_ENV, raising=False)
    monkeypatch.setenv(parallel_grid.WORKERS_ENV, "1")


def test_results_are_written_once_then_loaded_never_retrained(tmp_path, monkeypatch):
    exp = ql.Experiment("qkan_lstm", "bessel", 4, ql.TrainConfig(epochs=2, seed=1))
    first = ql.run_experiment(exp, tmp_path)
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == [exp.filename()]
    saved = json.loads(files[0].read_text())
    for key in (
        "experiment",
        "history",
        "environment",
        "wall_time_s",
        "parameters",
        "created",
        "fingerprint",
    ):
        assert key in saved
    assert saved["experiment"]["train"]["seed"] == 1 and "torch" in saved["environment"]

    def no_training(*args, **kwargs):
        raise AssertionError("a finished result must be loaded, not retrained")

    monkeypatch.setattr(run, "train", no_training)
    loaded = ql.run_experiment(exp, tmp_path)
    assert loaded == first
    other = ql.Experiment("qkan_lstm", "bessel", 4, ql.TrainConfig(epochs=2, seed=2))
    assert other.filename() != exp.filename()
    with pytest.raises(AssertionError, match="loaded, not retrained"):
        ql.run_experiment(exp, tmp_path, force=True)
    with pytest.raises(AssertionError, match="loaded, not retrained"):
        ql.run_experiment(other, tmp_path)


def test_grid_batches_seeds_and_resumes_without_retraining(tmp_path, monkeypatch):
    grid = ql.experiments_for("bessel", models=("qkan_lstm", "lstm"), seeds=(0, 1), epochs=1)
    results = ql.run_grid(grid, tmp_path, batch_seeds=True)
    assert len(list(tmp_path.glob("*.json"))) == 4
    assert [r.experiment for r in results] == grid
    assert [r.seed_batched for r in results] == [2, 2, 2, 2]
    serial = ql.run_grid(grid, tmp_path / "serial", batch_seeds=False)
    assert all(r.seed_batched == 1 for r in serial)

    def no_training(*args, **kwargs):
        raise AssertionError("a finished grid must be loaded, not retrained")

    monkeypatch.setattr(run, "train", no_training)
    monkeypatch.setattr(run, "run_seed_group", no_training)
    assert ql.run_grid(grid, tmp_path) == results
    (tmp_path / grid[3].filename()).unlink()  # an interrupted grid: only the missing run trains
    with pytest.raises(AssertionError, match="not retrained"):
        ql.run_grid(grid, tmp_path)


def test_jobs_group_seeds_only_where_allowed():
    grid = ql.experiments_for("bessel", models=("qkan_lstm", "lstm"), seeds=(0, 1, 2), epochs=1)
    jobs = run.plan_jobs(grid, batch_seeds=True)
    assert sorted(len(j) for j in jobs) == [3, 3]
    assert all(len(j) == 1 for j in run.plan_jobs(grid, batch_seeds=False))
    shuffled = [
        dataclasses.replace(e, train=dataclasses.replace(e.train, shuffle=True)) for e in grid
    ]
    assert all(len(j) == 1 for j in run.plan_jobs(shuffled, batch_seeds=True))


def test_jobs_batch_seeds_by_default_exactly_where_measured_faster(monkeypatch):
    """The default plan (batch_seeds=None) batches the seeds of every model on the CPU at the
    shapes measured faster (batch <= 10, windows <= 12 steps; QLSTM's up to 4 steps), and
    nothing else: not Urban's batch 64, not longer windows, not shuffled runs, not on a GPU."""
    from qkan_lib.runs.seed_batching import BATCHED_FASTER

    assert BATCHED_FASTER == {"qkan_lstm": (10, 12), "hqkan_lstm": (10, 12),
                              "fourier_lstm": (10, 12), "qlstm": (10, 4), "lstm": (10, 12),
                              "param_matched_lstm": (10, 12)}  # fmt: skip
    models = ("qkan_lstm", "hqkan_lstm", "qlstm", "lstm", "fourier_lstm", "param_matched_lstm")

    def grid(seq_len=4, batch_sizes=(1, 10), **train):
        return [
            e
            for batch_size in batch_sizes
            for e in ql.experiments_for(
                "bessel", models, seeds=(0, 1, 2), seq_lens=(seq_len,), epochs=1,
                batch_size=batch_size, **train,
            )
        ]  # fmt: skip

    def grouped(jobs):
        return sorted((j[0].model, j[0].train.batch_size) for j in jobs if len(j) > 1)

    jobs = run.plan_jobs(grid())
    assert grouped(jobs) == sorted((m, b) for m in models for b in (1, 10))
    assert all(len(j) == 3 for j in jobs if len(j) > 1)
    assert sum(len(j) for j in jobs) == len(grid())
    longer = [g for g in grouped(jobs) if g[0] != "qlstm"]  # QLSTM: up to 4 steps only
    assert grouped(run.plan_jobs(grid(seq_len=5))) == grouped(run.plan_jobs(grid(seq_len=12)))
    assert grouped(run.plan_jobs(grid(seq_len=12))) == longer
    assert grouped(run.plan_jobs(grid(seq_len=13))) == []  # beyond what was measured
    assert grouped(run.plan_jobs(grid(batch_sizes=(11, 64)))) == []
    assert grouped(run.plan_jobs(grid(dtype="float32"))) == grouped(jobs)
    assert grouped(run.plan_jobs(grid(shuffle=True))) == []
    urban = ql.experiments_for("urban", ("qkan_lstm",), seeds=(0, 1), seq_lens=(4,), epochs=1)
    assert all(len(j) == 1 for j in run.plan_jobs(urban))  # batch 64: not measured
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert grouped(run.plan_jobs(grid())) == []  # on a GPU the kernel does not run
    # batch_seeds=True: wherever it can; the LSTMs (no vmap rule) only on the CPU
    on_gpu = {j[0].model for j in run.plan_jobs(grid(), batch_seeds=True) if len(j) > 1}
    assert on_gpu == set(models) - {"lstm", "param_matched_lstm"}


def test_same_seed_same_result(tmp_path):
    exp = ql.Experiment("hqkan_lstm", "damped_shm", 4, ql.TrainConfig(epochs=2, seed=3))
    a = ql.run_experiment(exp, tmp_path / "a")
    b = ql.run_experiment(exp, tmp_path / "b")
    assert a.history == b.history


def test_corrupt_or_foreign_result_files_are_reported(tmp_path):
    exp = ql.Experiment("lstm", "bessel", 4, ql.TrainConfig(epochs=1))
    (tmp_path / exp.filename()).write_text("{not json")
    with pytest.raises(ValueError, match="not a valid result file"):
        ql.run_experiment(exp, tmp_path)
    (tmp_path / exp.filename()).write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="not a qkan_lib result file"):
        ql.run_experiment(exp, tmp_path)


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    with pytest.raises(TypeError):
        store.write_json_atomic(tmp_path / "r.json", {"bad": object()})
    assert not list(tmp_path.iterdir())


def test_fingerprint_follows_the_setting_and_the_results_version(monkeypatch):
    exp = ql.Experiment("lstm", "bessel", 4, ql.TrainConfig(epochs=1))
    same = ql.Experiment.from_dict(exp.to_dict())
    assert same == exp and same.fingerprint() == exp.fingerprint()
    assert exp.with_seed(5).fingerprint() != exp.fingerprint()
    before = exp.fingerprint()
    monkeypatch.setattr(experiments, "RESULTS_VERSION", experiments.RESULTS_VERSION + 1)
    assert exp.fingerprint() != before


def test_a_later_setting_at_its_default_keeps_older_fingerprints():
    """Settings added to TrainConfig after results were stored enter the stored dict (and so the
    fingerprint) only when they differ from their default, so adding one retrains nothing."""
    exp = ql.Experiment("lstm", "bessel", 4, ql.TrainConfig(epochs=1))
    for name, default in ql.runs.training.LATER_SETTINGS.items():
        assert getattr(exp.train, name) == default and name not in exp.train.to_dict()
    lean = ql.Experiment("lstm", "bessel", 4, ql.TrainConfig(epochs=1, evaluate_train=False))
    assert lean.train.to_dict()["evaluate_train"] is False
    assert lean.fingerprint() != exp.fingerprint()
    assert ql.Experiment.from_dict(lean.to_dict()) == lean
    # the stored dict of a run made before the setting existed: no key, same experiment
    older = exp.to_dict()
    assert "evaluate_train" not in older["train"] and ql.Experiment.from_dict(older) == exp
    urban = ql.protocol("urban").experiments(models=("lstm",))
    assert all(e.train.evaluate_train is False for e in urban)


def test_protocols_are_complete_and_take_a_base_seed():
    full = ql.protocol("urban", full=True)
    assert full.seq_lens == (4, 8, 12, 16, 32, 64) and full.lr_for("hqkan_lstm") == 0.02
    quick = ql.protocol("bessel")
    assert quick.seeds(0) == (0, 1, 2) and quick.seeds(10) == (10, 11, 12)
    grid = quick.experiments(base_seed=10)
    assert {e.train.seed for e in grid} == {10, 11, 12}
    assert all(e.train.epochs == 30 and e.train.record_epochs == ql.paper.R2_EPOCHS for e in grid)
    short = quick.experiments(models=("lstm",), epochs=10)
    assert all(e.train.record_epochs == (1,) for e in short)
    with pytest.raises(ValueError, match="unknown dataset"):
        ql.protocol("mnist")
    with pytest.raises(ValueError, match="unknown model"):
        quick.experiments(models=("gru",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.n_seeds = 5


def test_experiment_refuses_bad_names():
    with pytest.raises(ValueError, match="unknown model"):
        ql.Experiment("gru", "bessel")
    with pytest.raises(ValueError, match="seq_len"):
        ql.Experiment("lstm", "bessel", 0)


def test_tuning_uses_validation_only_and_picks_the_lowest_median(tmp_path):
    spec = ql.protocol("bessel")
    with pytest.raises(ValueError, match="no validation split"):
        ql.tune_learning_rate(spec, (0.01,), results_dir=tmp_path)
    tuned = spec.with_validation(0.2)
    assert tuned.has_validation and tuned.with_validation(0.5) is tuned
    scores, best = ql.tune_learning_rate(
        tuned, (0.001, 0.05), models=("lstm",), seeds=(0, 1), results_dir=tmp_path, epochs=2
    )
    assert len(scores) == 4 and set(scores["lr"]) == {0.001, 0.05}
    medians = scores.groupby("lr")["score"].median()
    assert best == {"lstm": float(medians.idxmin())}
    assert tuned.with_learning_rates(best).lr_for("lstm") == best["lstm"]
    data = ql.load_dataset("bessel", **dict(tuned.data_options))
    plain = ql.load_dataset("bessel")
    assert len(data.x_val) and len(data.x_train) + len(data.x_val) == len(plain.x_train)
    assert (data.x_test == plain.x_test).all()


def test_trained_model_reproduces_the_stored_scores(tmp_path):
    """The rebuilt model's test metrics equal the run's last recorded ones: alone exactly,
    seed-batched to rounding (both paths store their final weights)."""
    from qkan_lib.runs.metrics import regression_metrics
    from qkan_lib.runs.run import trained_model
    from qkan_lib.runs.store import load_result

    spec = ql.protocol("damped_shm")
    data = ql.load_dataset("damped_shm", 4)
    for model, seeds in (("lstm", (0,)), ("qkan_lstm", (0, 1))):
        grid = spec.experiments([model], seeds=seeds, epochs=2)
        ql.run_grid(grid, tmp_path)
        for experiment in grid:
            stored = load_result(tmp_path / experiment.filename())
            assert stored.final_state is not None
            rebuilt, result = trained_model(experiment, tmp_path)
            assert result.history == stored.history  # loaded, not retrained
            score = regression_metrics(ql.predict(rebuilt, data.x_test), data.y_test)
            for metric in ("mse", "r2"):
                assert score[metric] == pytest.approx(
                    result.history[-1][f"test_{metric}"], rel=1e-9, abs=1e-12
                )


def test_trained_model_retrains_a_result_without_weights(tmp_path):
    from qkan_lib.runs.run import trained_model
    from qkan_lib.runs.store import load_result, write_json_atomic

    experiment = ql.protocol("damped_shm").experiments(["lstm"], seeds=(3,), epochs=1)[0]
    ql.run_grid([experiment], tmp_path)
    path = tmp_path / experiment.filename()
    payload = load_result(path).to_json()
    payload.pop("final_state")  # a result file written before weights were stored
    write_json_atomic(path, payload)
    assert load_result(path).final_state is None
    model, result = trained_model(experiment, tmp_path)
    assert result.final_state is not None and load_result(path).final_state is not None
    assert not model.training


def test_noiseless_fingerprints_are_those_stored_before_device_settings_existed():
    """Pinned on main before ``noise_device`` and ``shots`` were added: a noiseless run keeps
    its fingerprint, so nothing stored or archived goes stale."""
    assert ql.experiments_for("damped_shm", ["qkan_lstm"])[0].fingerprint() == "7451f5e08d49"
    lean = ql.experiments_for(
        "bessel", ["hqkan_lstm"], full=True, evaluate_train=False, record_epochs=(), epochs=5
    )[3]
    assert lean.fingerprint() == "af2e19dc63e8"
    assert "noise_device" not in lean.train.to_dict() and "shots" not in lean.train.to_dict()


def test_the_device_model_and_the_shots_enter_the_fingerprint():
    fez = ql.noisy_deployment.training_device_name("IBM Fez")
    torino = ql.noisy_deployment.training_device_name("IBM Torino")
    base = ql.Experiment("qkan_lstm", "bessel", 4, ql.TrainConfig(epochs=1))
    variants = [base] + [
        ql.Experiment("qkan_lstm", "bessel", 4, ql.TrainConfig(epochs=1, noise_device=d, shots=n))
        for d in (fez, torino)
        for n in (None, 100, 1000)
    ]
    assert len({v.fingerprint() for v in variants}) == len(variants)
    for v in variants:
        assert ql.Experiment.from_dict(v.to_dict()) == v
    assert variants[2].train.to_dict()["noise_device"] == fez
    assert variants[2].train.to_dict()["shots"] == 100


@pytest.mark.parametrize(
    "settings, parameter",
    [
        ({"noise_device": "IBM Nowhere (2025-02-26)"}, "noise_device"),
        ({"noise_device": "IBM Fez"}, "noise_device"),  # the snapshot date is part of the name
        ({"noise_device": 3}, "noise_device"),
        ({"noise_device": ""}, "noise_device"),
        ({"shots": 100}, "shots"),  # shots need a device model
        ({"noise_device": "Quantinuum Helios (published)", "shots": 0}, "shots"),
        ({"noise_device": "Quantinuum Helios (published)", "shots": -5}, "shots"),
        ({"noise_device": "Quantinuum Helios (published)", "shots": 100.0}, "shots"),
        ({"noise_device": "Quantinuum Helios (published)", "shots": True}, "shots"),
        ({"noise_device": "Quantinuum Helios (published)", "shots": "100"}, "shots"),
    ],
)
def test_bad_device_settings_are_refused_naming_the_parameter(settings, parameter):
    with pytest.raises(ValueError, match=parameter):
        ql.TrainConfig(**settings)
    with pytest.raises(ValueError, match=parameter):
        ql.experiments_for("bessel", ["qkan_lstm"], **settings)


def test_runs_on_a_device_model_are_never_seed_batched():
    fez = ql.noisy_deployment.training_device_name()
    grid = ql.experiments_for("bessel", ["qkan_lstm"], noise_device=fez, shots=10)
    assert ql.runs.run.plan_jobs(grid, batch_seeds=True) == [[e] for e in grid]
    with pytest.raises(ValueError, match="noise_device"):
        ql.runs.run.run_seed_group(grid, "unused")
    plain = ql.experiments_for("bessel", ["qkan_lstm"])
    assert ql.runs.run.plan_jobs(plain, batch_seeds=True) == [plain]
