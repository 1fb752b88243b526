"""Bad input to models and layers: every error names the parameter the user gave (issue 12)."""

import pytest
import torch

from qkan_lib import build_model
from qkan_lib.core.daruan import DARUAN
from qkan_lib.core.daruan import evaluate_daruan as daruan
from qkan_lib.core.layers import HQKAN, QKANLayer, latent_width
from qkan_lib.models.cells import AffineGates, HQKANGates, LSTMRegressor, QKANGates, QLSTMGates

MODELS = ("lstm", "qlstm", "qkan_lstm", "hqkan_lstm")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("bad", [2.5, 0, -1, True, "2"])
def test_build_model_blames_hidden_size(model, bad):
    with pytest.raises(ValueError, match=rf"hidden_size must be an integer >= 1, got {bad!r}"):
        build_model(model, "bessel", hidden_size=bad)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("bad", [1.5, 0])
def test_build_model_blames_input_size(model, bad):
    with pytest.raises(ValueError, match=rf"input_size must be an integer >= 1, got {bad!r}"):
        build_model(model, "bessel", input_size=bad)


@pytest.mark.parametrize("gates", [AffineGates, QKANGates, HQKANGates, QLSTMGates])
def test_gate_maps_blame_the_size_given_not_their_sum(gates):
    with pytest.raises(ValueError, match="hidden_size must be an integer >= 1, got 2.5"):
        gates(1, 2.5)
    with pytest.raises(ValueError, match="input_size must be an integer >= 1, got 0.5"):
        gates(0.5, 2)


@pytest.mark.parametrize("option, bad", [("reps", 0), ("reps", 1.5), ("readout", "z")])
def test_build_model_blames_layer_options(option, bad):
    with pytest.raises(ValueError, match=option):
        build_model("qkan_lstm", "bessel", **{option: bad})


def test_lstm_baseline_blames_num_layers_and_depth():
    with pytest.raises(ValueError, match="num_layers must be an integer >= 1, got 0"):
        build_model("lstm", "urban", num_layers=0)
    with pytest.raises(ValueError, match="num_layers must be an integer >= 1, got 1.5"):
        LSTMRegressor(1, 4, 1.5)
    with pytest.raises(ValueError, match="depth must be an integer >= 1, got 0"):
        build_model("qlstm", "bessel", depth=0)


@pytest.mark.parametrize("bad", ["no", "False", 0, 1, None])
def test_trainable_flags_must_be_booleans(bad):
    """A string "False" is truthy: without the check it silently means True."""
    with pytest.raises(ValueError, match=rf"base_trainable must be True or False, got {bad!r}"):
        build_model("qkan_lstm", "bessel", base_trainable=bad)


@pytest.mark.parametrize("bad", [torch.int64, torch.bool, "float64"])
def test_build_model_refuses_a_non_float_dtype(bad):
    with pytest.raises(ValueError, match="dtype must be a floating-point torch.dtype"):
        build_model("qkan_lstm", "bessel", dtype=bad)


@pytest.mark.parametrize("name", ["latent_in", "latent_out"])
@pytest.mark.parametrize("bad", [0, -2, 1.5, False])
def test_hqkan_latent_widths_are_never_replaced_by_defaults(name, bad):
    with pytest.raises(ValueError, match=rf"{name} must be an integer >= 1, got {bad!r}"):
        HQKAN(3, 8, **{name: bad})
    with pytest.raises(ValueError, match=rf"{name} must be an integer >= 1, got {bad!r}"):
        build_model("hqkan_lstm", "bessel", **{name: bad})


def test_hqkan_latent_widths_valid_values_and_defaults():
    layer = HQKAN(3, 8, latent_in=1, latent_out=5)
    assert (layer.latent.in_features, layer.latent.out_features) == (1, 5)
    default = HQKAN(3, 8)
    assert (
        (default.latent.in_features, default.latent.out_features)
        == (latent_width(3), latent_width(8))
        == (2, 3)
    )


INT_CASES = [torch.int64, torch.int32, torch.bool]


@pytest.mark.parametrize("dtype", INT_CASES)
def test_daruan_function_and_module_refuse_integer_tensors(dtype):
    theta = torch.zeros(2, 2, dtype=torch.float64)
    with pytest.raises(
        ValueError, match=rf"DARUAN input x must be a floating-point tensor, got dtype {dtype}"
    ):
        daruan(torch.ones(3, dtype=dtype), theta)
    with pytest.raises(ValueError, match="floating-point tensor"):
        DARUAN(dtype=torch.float64)(torch.ones(3, dtype=dtype))


def test_daruan_refuses_non_tensors():
    with pytest.raises(ValueError, match="must be a torch.Tensor, got list"):
        daruan([0.5], torch.zeros(2, 2))


@pytest.mark.parametrize("dtype", INT_CASES)
@pytest.mark.parametrize("layer", [QKANLayer, HQKAN])
def test_layers_refuse_integer_tensors(layer, dtype):
    module = layer(2, 3, dtype=torch.float64)
    with pytest.raises(
        ValueError,
        match=rf"{layer.__name__} input must be a floating-point tensor, got dtype {dtype}",
    ):
        module(torch.ones(4, 2, dtype=dtype))


@pytest.mark.parametrize("layer", [QKANLayer, HQKAN])
def test_layers_refuse_a_float_dtype_other_than_theirs(layer):
    module = layer(2, 3, dtype=torch.float32)
    with pytest.raises(ValueError, match="has dtype torch.float64; convert it to torch.float32"):
        module(torch.ones(4, 2, dtype=torch.float64))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("dtype", INT_CASES)
def test_recurrent_models_refuse_integer_tensors(model, dtype):
    net = build_model(model, "bessel", dtype=torch.float64)
    with pytest.raises(
        ValueError, match=rf"sequence input must be a floating-point tensor, got dtype {dtype}"
    ):
        net(torch.ones(2, 3, 1, dtype=dtype))


@pytest.mark.parametrize("model", MODELS)
def test_valid_input_still_runs(model):
    net = build_model(model, "bessel", dtype=torch.float64)
    out = net(torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(2, 6, 1))
    assert out.shape == (2, 1) and torch.isfinite(out).all()
    layer = HQKAN(3, 8, dtype=torch.float64)
    assert layer(torch.zeros(5, 3, dtype=torch.float64)).shape == (5, 8)
