"""QKAN-LSTM ablations and the claims' baseline models, built by name and trained for one epoch."""

import dataclasses
import math

import pytest
import torch

import qkan_lib as q
from qkan_lib.data.registry import load_dataset
from qkan_lib.runs.training import TrainConfig, train

F64 = torch.float64

VARIANTS = {
    "fixed w = 1": ("qkan_lstm", {"preact_trainable": False}),
    "reps 1": ("qkan_lstm", {"reps": 1}),
    "reps 2": ("qkan_lstm", {"reps": 2}),
    "reps 3": ("qkan_lstm", {"reps": 3}),
    "no silu residual": ("qkan_lstm", {"base_trainable": False}),
    "amplitude readout": ("qkan_lstm", {"readout": "amplitude"}),
    "hqkan latent 1x1": ("hqkan_lstm", {"latent_in": 1, "latent_out": 1}),
    "hqkan latent 2x3": ("hqkan_lstm", {"latent_in": 2, "latent_out": 3}),
    "hqkan latent 4x4": ("hqkan_lstm", {"latent_in": 4, "latent_out": 4}),
    "fourier twin": ("fourier_lstm", {}),
    "fourier twin reps 2": ("fourier_lstm", {"reps": 2}),
    "parameter-matched LSTM": ("param_matched_lstm", {}),
    "parameter-matched to HQKAN": ("param_matched_lstm", {"match": "hqkan_lstm"}),
}


@pytest.fixture(scope="module")
def tiny():
    data = load_dataset("damped_shm", 4)
    return dataclasses.replace(
        data,
        x_train=data.x_train[:30],
        y_train=data.y_train[:30],
        x_val=None,
        y_val=None,
        x_test=data.x_test[:10],
        y_test=data.y_test[:10],
    )


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant_trains_one_epoch(name, tiny):
    model_name, options = VARIANTS[name]
    torch.manual_seed(0)
    model = q.build_model(model_name, "damped_shm", dtype=F64, **options)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    # one epoch of the library's loop: RMSprop, batch 10, in order (the paper's protocol)
    config = TrainConfig(epochs=1, batch_size=10, device="cpu", dtype="float64")
    outcome = train(model, tiny, config, progress=False)
    (epoch,) = outcome["history"]
    assert all(math.isfinite(epoch[k]) for k in ("train_loss", "train_mse", "test_mse"))
    after = {k: torch.tensor(v, dtype=F64) for k, v in outcome["final_state"].items()}
    assert set(after) == set(before)
    for key, value in before.items():
        moved = not torch.equal(value, after[key].reshape(value.shape))
        assert moved == (key in trainable), f"{name}: {key} moved={moved}"  # buffers stay put


def _edges(model):
    gates = model.cell.gates
    layer = getattr(gates, "qkan", None) or gates.hqkan.latent
    return layer.in_features * layer.out_features, layer


def test_ablation_options_change_what_they_say():
    count = lambda **o: q.count_parameters(q.build_model("qkan_lstm", "damped_shm", **o))  # noqa: E731
    default = count()
    edges, layer = _edges(q.build_model("qkan_lstm", "damped_shm"))
    assert edges == 3 * 8  # hidden 2: (1 + 2) inputs -> 4 * 2 gate units
    assert (
        default["total"] - count(preact_trainable=False)["total"] == 2 * edges
    )  # w and b per edge
    assert (
        default["total"] - count(base_trainable=False)["total"] == edges
    )  # one silu weight per edge
    for reps in (2, 3):  # theta grows by 2, w and b by 1 each, per edge and extra re-upload
        assert count(reps=reps)["total"] - default["total"] == 4 * (reps - 1) * edges
    assert count(readout="amplitude") == default
    no_residual = q.build_model("qkan_lstm", "damped_shm", base_trainable=False)
    assert torch.count_nonzero(_edges(no_residual)[1].base_weight) == 0
    fixed = _edges(q.build_model("qkan_lstm", "damped_shm", preact_trainable=False))[1]
    assert "preact_weight" in fixed._buffers and bool((fixed.preact_weight == 1).all())


def test_amplitude_readout_changes_the_function():
    torch.manual_seed(3)
    a = q.build_model("qkan_lstm", "bessel", dtype=F64)
    torch.manual_seed(3)
    b = q.build_model("qkan_lstm", "bessel", dtype=F64, readout="amplitude")
    x = torch.randn(4, 5, 1, dtype=F64)
    assert not torch.allclose(a(x), b(x))


@pytest.mark.parametrize("latent", [(1, 1), (2, 3), (4, 4)])
def test_hqkan_latent_widths(latent):
    model = q.build_model("hqkan_lstm", "bessel", latent_in=latent[0], latent_out=latent[1])
    hqkan = model.cell.gates.hqkan
    assert (hqkan.latent.in_features, hqkan.latent.out_features) == latent
    assert hqkan.encoder.in_features == 2 and hqkan.decoder.out_features == 4


@pytest.mark.parametrize("model_name", ["fourier_lstm", "param_matched_lstm"])
def test_new_models_train_through_the_library_engine(model_name):
    data = load_dataset("bessel", 4)
    data.x_train, data.y_train = data.x_train[:20], data.y_train[:20]
    data.x_test, data.y_test = data.x_test[:10], data.y_test[:10]
    torch.manual_seed(0)
    result = train(
        q.build_model(model_name, "bessel"),
        data,
        TrainConfig(epochs=1, device="cpu"),
        progress=False,
    )
    assert len(result["history"]) == 1 and torch.isfinite(
        torch.tensor(result["history"][0]["test_mse"])
    )
