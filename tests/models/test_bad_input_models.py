"""Bad input to models and layers: every error names the parameter the user gave (issue 12)."""

import pytest
import torch

from qkan_lib import build_model
from qkan_lib.core.circuits import circuit_expectations
from qkan_lib.core.daruan import DARUAN
from qkan_lib.core.daruan import evaluate_daruan as daruan
from qkan_lib.core.layers import HQKAN, QKANLayer, latent_width
from qkan_lib.models.cells import (
    QLSTM_MAX_UNITARY_BYTES,
    AffineGates,
    HQKANGates,
    LSTMRegressor,
    QKANGates,
    QLSTMGates,
)

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


def test_qlstm_refuses_a_state_vector_it_cannot_hold():
    # 21 qubits: 4 gates x 3 layers x 2^21 x 2^21 float64 = 12 * 4^21 * 8 bytes (192 TiB)
    needed = 12 * 4**21 * 8
    with pytest.raises(ValueError, match=rf"QLSTM with 21 qubits .* needs {needed:,} bytes"):
        build_model("qlstm", "damped_shm", hidden_size=20)
    # the limit sits between 12 qubits (1.5 GiB at depth 3) and 13 (6 GiB)
    assert 12 * 4**12 * 8 <= QLSTM_MAX_UNITARY_BYTES < 12 * 4**13 * 8
    assert QLSTMGates(1, 11).n_qubits == 12
    with pytest.raises(ValueError, match="13 qubits"):
        QLSTMGates(1, 12)
    with pytest.raises(ValueError, match="7 qubits .* depth 50000"):
        QLSTMGates(1, 6, depth=50000)  # the layers count too


@pytest.mark.parametrize("name", ["v", "theta"])
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_circuit_expectations_names_a_non_float_tensor(name, dtype):
    tensors = {"v": torch.zeros(2, 3, dtype=torch.float64), "theta": torch.zeros(2, 3).double()}
    tensors[name] = tensors[name].to(dtype)
    with pytest.raises(TypeError, match=rf"{name} must be a floating-point .* {dtype}"):
        circuit_expectations(tensors["v"], tensors["theta"], 1)


def test_circuit_expectations_names_mismatched_float_dtypes():
    v, theta = torch.zeros(2, 3, dtype=torch.float32), torch.zeros(2, 3, dtype=torch.float64)
    with pytest.raises(TypeError, match="v has dtype torch.float32 but theta has torch.float64"):
        circuit_expectations(v, theta, 1)
    # the same tensors in one dtype run: <Z> of RY(0) H|0> = |+> through RY(0) layers is 0
    out = circuit_expectations(v.double(), theta, 1)
    assert out.shape == (2, 1) and torch.allclose(out, torch.zeros(2, 1, dtype=torch.float64))
