import numpy as np
import oracles
import pytest
import torch

from qkan_lib import HQKAN, QKANLayer, count_parameters, latent_width


def edge_by_edge(layer, x):
    """Eq. (2) evaluated one edge at a time with the brute-force simulator."""
    p = {k: v.detach().numpy() for k, v in layer.state_dict().items()}
    y = np.zeros((x.shape[0], layer.out_features))
    for n in range(x.shape[0]):
        for j in range(layer.out_features):
            for k in range(layer.in_features):
                xk = x[n, k].item()
                phi = oracles.daruan_expectation(
                    xk, p["theta"][j, k], p["preact_weight"][j, k], p["preact_bias"][j, k]
                )
                silu = xk / (1 + np.exp(-xk))
                y[n, j] += (phi + p["postact_bias"][j, k]) * p["postact_weight"][j, k] + p[
                    "base_weight"
                ][j, k] * silu
    return y


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"base_trainable": False},
        {"preact_trainable": False},
        {"postact_weight_trainable": True, "postact_bias_trainable": True},
    ],
)
def test_qkan_layer_equals_edge_by_edge_sum(options):
    torch.manual_seed(0)
    layer = QKANLayer(3, 4, reps=2, dtype=torch.float64, **options)
    with torch.no_grad():  # move every tensor off its initial value so each term is exercised
        for t in list(layer.parameters()) + list(layer.buffers()):
            t.add_(0.3 * torch.randn_like(t))
    x = torch.randn(6, 3, dtype=torch.float64)
    np.testing.assert_allclose(layer(x).detach().numpy(), edge_by_edge(layer, x), atol=1e-10)


def test_qkan_layer_gradcheck_and_float32():
    torch.manual_seed(1)
    layer = QKANLayer(2, 3, reps=2, dtype=torch.float64, postact_weight_trainable=True)
    x = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
    params = tuple(layer.parameters())
    fn = lambda x, *p: torch.func.functional_call(
        layer, dict(zip([n for n, _ in layer.named_parameters()], p)), (x,)
    )
    assert torch.autograd.gradcheck(fn, (x,) + params)
    assert QKANLayer(2, 3)(torch.randn(4, 2)).dtype == torch.float32


def test_trainable_set_follows_options():
    names = lambda m: sorted(n for n, _ in m.named_parameters())
    assert names(QKANLayer(2, 4)) == ["base_weight", "preact_bias", "preact_weight", "theta"]
    assert names(QKANLayer(2, 4, preact_trainable=False, base_trainable=False)) == ["theta"]
    # the paper's Bessel/Urban gate block: 8 edges x 4 angles, 16 preacts + 8 base weights
    assert count_parameters(QKANLayer(2, 4, reps=1)) == {
        "classical": 24,
        "quantum": 32,
        "total": 56,
    }
    assert count_parameters(QKANLayer(2, 4, reps=3))["quantum"] == 8 * 8


def test_hqkan_is_linear_qkan_linear():
    torch.manual_seed(2)
    model = HQKAN(5, 9, reps=2, dtype=torch.float64)
    assert (
        (model.encoder.out_features, model.latent.out_features)
        == (latent_width(5), latent_width(9))
        == (3, 4)
    )
    x = torch.randn(7, 5, dtype=torch.float64)
    want = model.decoder(model.latent(model.encoder(x)))
    torch.testing.assert_close(model(x), want)
    assert HQKAN(2, 4, latent_in=1, latent_out=2).latent.theta.shape == (2, 1, 2, 2)


@pytest.mark.parametrize(
    "make, x, message",
    [
        (lambda: QKANLayer(3, 2), torch.zeros(4, 2), r"shape \(batch, 3\)"),
        (lambda: QKANLayer(3, 2), torch.zeros(3), r"shape \(batch, 3\)"),
        (lambda: QKANLayer(2, 2), torch.tensor([[0.0, float("nan")]]), "NaN"),
        (lambda: HQKAN(2, 2), torch.tensor([[float("inf"), 0.0]]), "NaN or infinite"),
    ],
)
def test_bad_input_raises(make, x, message):
    with pytest.raises(ValueError, match=message):
        make()(x)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(in_features=2, out_features=2, reps=0), "reps must be an integer >= 1"),
        (dict(in_features=0, out_features=2), "in_features"),
        (dict(in_features=2, out_features=2, readout="abs"), "readout must be one of"),
    ],
)
def test_bad_construction_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        QKANLayer(**kwargs)
