"""The training loop (qkan_lib.runs.training): configuration checks, one model, divergence."""

import pytest
import torch

import qkan_lib as ql
from qkan_lib.runs import training
from qkan_lib.runs.metrics import regression_metrics
from qkan_lib.utils import intra_op_threads


def test_metrics_on_known_values():
    y = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert regression_metrics(y, y) == {"mse": 0.0, "mae": 0.0, "r2": 1.0}
    mean = regression_metrics(torch.full_like(y, 2.5), y)
    assert mean["r2"] == 0.0 and mean["mae"] == 1.0 and mean["mse"] == 1.25
    with pytest.raises(ValueError, match="shape"):
        regression_metrics(y[:3], y)


@pytest.mark.parametrize(
    "bad, name",
    [
        (dict(epochs=0), "epochs"),
        (dict(lr=-1), "lr"),
        (dict(lr=True), "lr"),
        (dict(optimizer="sgd"), "optimizer"),
        (dict(dtype="half"), "dtype"),
        (dict(record_epochs=(31,)), "record_epochs"),
        (dict(batch_size=2.5), "batch_size"),
        (dict(evaluate_train=0), "evaluate_train"),
    ],
)
def test_bad_train_config_names_the_parameter(bad, name):
    with pytest.raises(ValueError, match=name):
        ql.TrainConfig(**bad)


def test_training_reduces_the_loss_and_records_history():
    data = ql.load_dataset("bessel")
    ql.seed_everything(0)
    model = ql.build_model("qkan_lstm", "bessel", dtype=torch.float64)
    out = ql.train(model, data, ql.TrainConfig(epochs=5, record_epochs=(1, 5)))
    history = out["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5]
    assert history[-1]["train_mse"] < history[0]["train_mse"]
    assert set(out["predictions"]) == {"1", "5"} and len(out["predictions"]["5"]["test"]) == len(
        data.x_test
    )
    assert out["seed_batched"] == 1


def test_the_loop_equals_a_plain_hand_written_loop():
    """fit() with S = 1 is ordinary mini-batch training: check against a loop written here."""
    data = ql.load_dataset("damped_shm")
    config = ql.TrainConfig(epochs=2, batch_size=16, optimizer="adam", lr=0.02)
    ql.seed_everything(5)
    model = ql.build_model("lstm", "damped_shm", dtype=torch.float64)
    reference = ql.build_model("lstm", "damped_shm", dtype=torch.float64)
    reference.load_state_dict(model.state_dict())
    out = ql.train(model, data, config)
    optimizer = torch.optim.Adam(reference.parameters(), lr=0.02)
    for _ in range(2):
        for start in range(0, len(data.x_train), 16):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(
                reference(data.x_train[start : start + 16]), data.y_train[start : start + 16]
            )
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        want = regression_metrics(reference(data.x_test), data.y_test)["mse"]
    assert out["history"][-1]["test_mse"] == pytest.approx(want, rel=1e-10)


def test_shuffled_batches_follow_the_seed():
    data = ql.load_dataset("bessel")
    runs = []
    for seed in (1, 1, 2):
        ql.seed_everything(0)
        model = ql.build_model("lstm", "bessel", dtype=torch.float64)
        runs.append(
            ql.train(model, data, ql.TrainConfig(epochs=1, shuffle=True, seed=seed))["history"]
        )
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_divergence_is_a_clear_error():
    class Exploding(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def forward(self, x):
            return self.w * x[:, -1] * float("inf")

    with pytest.raises(RuntimeError, match="loss became"):
        ql.train(Exploding(), ql.load_dataset("bessel"), ql.TrainConfig(epochs=1))


def test_train_refuses_a_dict_config():
    with pytest.raises(ValueError, match="config must be a TrainConfig"):
        ql.train(ql.build_model("lstm", "bessel"), ql.load_dataset("bessel"), {"epochs": 1})


def test_batch_indices_cover_every_row_once():
    batches = training.batch_indices(23, 5, torch.Generator().manual_seed(0))
    assert sorted(torch.cat(batches).tolist()) == list(range(23)) and len(batches) == 5
    assert torch.cat(training.batch_indices(7, 3, None)).tolist() == list(range(7))


def test_progress_bar_follows_the_setting(monkeypatch):
    monkeypatch.setenv("QKAN_PROGRESS", "0")
    assert training.progress_bar(3, None, "x").disable
    assert not training.progress_bar(3, True, "x").disable
    monkeypatch.setenv("QKAN_PROGRESS", "1")
    assert not training.progress_bar(3, None, "x").disable


@pytest.mark.parametrize("model_name, batch_size", [("qkan_lstm", 1), ("lstm", 10), ("qlstm", 7)])
def test_the_flat_buffer_update_equals_per_tensor_rmsprop_bit_for_bit(model_name, batch_size):
    """The loop's one-buffer optimiser (FlatParameters) against torch's RMSprop on each tensor."""
    data = ql.load_dataset("bessel")
    config = ql.TrainConfig(epochs=2, batch_size=batch_size)
    ql.seed_everything(2)
    model = ql.build_model(model_name, "bessel", dtype=torch.float64)
    reference = ql.build_model(model_name, "bessel", dtype=torch.float64)
    reference.load_state_dict(model.state_dict())
    ql.train(model, data, config)
    optimizer = torch.optim.RMSprop(reference.parameters(), lr=0.01, alpha=0.99, eps=1e-8)
    with intra_op_threads(1):  # as the loop runs: BLAS rounding may depend on the thread count
        plain_rmsprop_epochs(reference, optimizer, data, batch_size, epochs=2)
    for (name, got), want in zip(model.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(got, want), name


def plain_rmsprop_epochs(reference, optimizer, data, batch_size, epochs):
    for _ in range(epochs):
        for start in range(0, len(data.x_train), batch_size):
            optimizer.zero_grad()
            rows = slice(start, start + batch_size)
            # the loop's loss as written in _fit: a mean over (batch, output) per model
            error = reference(data.x_train[rows]).unsqueeze(0) - data.y_train[rows]
            error.square().mean(dim=(1, 2)).sum().backward()
            optimizer.step()


def test_flat_parameters_share_one_buffer_and_refuse_mixed_dtypes():
    a = torch.nn.Parameter(torch.ones(2, 3, dtype=torch.float64))
    b = torch.nn.Parameter(torch.arange(4.0, dtype=torch.float64))
    flat = training.FlatParameters([a, b])
    assert flat.values.tolist() == [1.0] * 6 + [0.0, 1.0, 2.0, 3.0]
    (a.sum() + (b**2).sum()).backward()
    assert flat.values.grad.tolist() == [1.0] * 6 + [0.0, 2.0, 4.0, 6.0]
    with torch.no_grad():
        flat.values.mul_(2)
    assert a.tolist() == [[2.0] * 3] * 2 and b.tolist() == [0.0, 2.0, 4.0, 6.0]
    flat.zero_grad()
    assert not flat.values.grad.any()
    flat.release()
    assert a.grad is None and b.grad is None
    with pytest.raises(ValueError, match="one dtype"):
        training.FlatParameters([torch.nn.Parameter(torch.ones(1)), b])
    with pytest.raises(ValueError, match="no trainable parameters"):
        training.FlatParameters([])


def test_one_evaluation_pass_gives_each_split_its_own_metrics():
    data = ql.load_dataset("damped_shm", val_fraction=0.2)
    ql.seed_everything(1)
    model = ql.build_model("qkan_lstm", "damped_shm", dtype=torch.float64)
    last = ql.train(model, data, ql.TrainConfig(epochs=1))["history"][-1]
    for name, x, y in data.splits():
        want = regression_metrics(ql.predict(model, x), y)
        for metric, value in want.items():
            assert last[f"{name}_{metric}"] == pytest.approx(value, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("model_name", ["qkan_lstm", "lstm"])
def test_skipping_the_per_epoch_training_scores_changes_nothing_else(model_name):
    """evaluate_train=False: the training split is scored after the last and the recorded
    epochs only; the weights, the loss and every other split's scores are those of a full run."""
    data = ql.load_dataset("damped_shm", val_fraction=0.2)
    runs = {}
    for evaluate_train in (True, False):
        ql.seed_everything(3)
        model = ql.build_model(model_name, "damped_shm", dtype=torch.float64)
        config = ql.TrainConfig(epochs=4, record_epochs=(2,), evaluate_train=evaluate_train)
        runs[evaluate_train] = ql.train(model, data, config)
    full, lean = runs[True], runs[False]
    assert full["final_state"] == lean["final_state"]
    for epoch, (a, b) in enumerate(zip(full["history"], lean["history"]), start=1):
        scored_train = epoch in (2, 4)
        assert ("train_mse" in b) == scored_train and ("val_mse" in b and "test_r2" in b)
        assert set(b) == (
            set(a)
            if scored_train
            else {k for k in a if not k.startswith("train_")} | {"train_loss"}
        )
        for key, value in b.items():  # one pass over fewer rows: rounding only
            assert value == pytest.approx(a[key], rel=1e-12, abs=1e-15), (epoch, key)
    assert set(lean["predictions"]["2"]) == {"train", "val", "test"}
