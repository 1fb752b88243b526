import numpy as np
import oracles
import pytest
import torch

import qkan_lib as ql
from qkan_lib.models.cells import QLSTMGates

RNG = np.random.default_rng(7)


def test_affine_cell_equals_torch_lstm():
    torch.manual_seed(0)
    d, m = 3, 5
    reference = torch.nn.LSTM(d, m, batch_first=True, dtype=torch.float64)
    ours = ql.affine_lstm(d, m, dtype=torch.float64)
    with torch.no_grad():
        gates = ours.cell.gates.linear
        gates.weight.copy_(torch.cat([reference.weight_ih_l0, reference.weight_hh_l0], dim=1))
        gates.bias.copy_(reference.bias_ih_l0 + reference.bias_hh_l0)
    x = torch.randn(4, 9, d, dtype=torch.float64)
    want, (h_n, c_n) = reference(x)
    h = c = torch.zeros(4, m, dtype=torch.float64)
    step = ours.cell.step_function()
    for t in range(9):
        h, c = step(x[:, t], h, c)
        torch.testing.assert_close(h, want[:, t], atol=1e-6, rtol=0)
    torch.testing.assert_close(c, c_n[0], atol=1e-6, rtol=0)


@pytest.mark.parametrize("hidden, depth, inputs", [(5, 3, 1), (4, 5, 1), (2, 2, 3), (1, 1, 1)])
def test_qlstm_circuits_match_pennylane(hidden, depth, inputs):
    n = inputs + hidden
    circuit = ql.pennylane_circuits.pennylane_qlstm_circuit(n, depth, hidden)
    v = torch.tensor(RNG.uniform(-np.pi, np.pi, size=(6, n)))
    theta = torch.tensor(RNG.normal(size=(4, depth, n)))
    got = ql.circuit_expectations(v, theta, hidden)  # (4 gates, batch, hidden)
    for g in range(4):
        want = np.array(
            [
                np.array(circuit(v[b].numpy(), theta[g].numpy()), dtype=float).reshape(-1)
                for b in range(6)
            ]
        )
        np.testing.assert_allclose(got[g].numpy(), want, atol=1e-10, rtol=0)


def test_qlstm_gate_layout_is_gate_major():
    gates = QLSTMGates(1, 3, depth=2, dtype=torch.float64)
    v = torch.randn(5, 4, dtype=torch.float64)
    z = gates(v)
    per_gate = ql.circuit_expectations(v, gates.theta, 3)
    torch.testing.assert_close(z, torch.cat(list(per_gate), dim=-1))


def test_qkan_gates_use_one_layer_for_all_four_gates():
    model = ql.build_model("qkan_lstm", "damped_shm", dtype=torch.float64)
    layer = model.cell.gates.qkan
    assert (layer.in_features, layer.out_features) == (3, 8)
    v = torch.randn(4, 3, dtype=torch.float64)
    phi = layer.edge_functions(v)
    p = {name: t.detach().numpy() for name, t in layer.state_dict().items()}
    silu = torch.nn.functional.silu(v).numpy()
    by_edge = np.array(
        [
            [
                sum(
                    oracles.daruan_expectation(
                        v[n, k].item(),
                        p["theta"][j, k],
                        p["preact_weight"][j, k],
                        p["preact_bias"][j, k],
                    )
                    + p["base_weight"][j, k] * silu[n, k]
                    for k in range(3)
                )
                for j in range(8)
            ]
            for n in range(4)
        ]
    )
    np.testing.assert_allclose(layer(v).detach().numpy(), by_edge, atol=1e-12, rtol=0)
    assert phi.shape == (4, 8, 3)


@pytest.mark.parametrize("model", ql.MODELS)
@pytest.mark.parametrize("dataset", ql.DATASETS)
def test_every_named_model_runs_and_differentiates(model, dataset):
    net = ql.build_model(model, dataset, dtype=torch.float64)
    x = torch.randn(3, 6, 1, dtype=torch.float64)
    y = net(x)
    assert y.shape == (3, 1) and torch.isfinite(y).all()
    y.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_count_rule_on_hand_checked_models():
    assert ql.count_parameters(ql.build_model("qkan_lstm", "bessel")) == {
        "classical": 26,
        "quantum": 32,
        "total": 58,
    }
    assert ql.count_parameters(torch.nn.LSTM(1, 5)) == {
        "classical": 160,
        "quantum": 0,
        "total": 160,
    }


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.randn(3, 1), "shape"),
        (torch.randn(3, 4, 2), "shape"),
        (torch.full((2, 3, 1), float("nan")), "NaN"),
    ],
)
def test_bad_sequences_raise(bad, message):
    for name in ("lstm", "qkan_lstm"):
        with pytest.raises(ValueError, match=message):
            ql.build_model(name, "bessel")(bad)


def test_unknown_names_raise():
    with pytest.raises(ValueError, match="unknown model"):
        ql.build_model("gru", "bessel")
    with pytest.raises(ValueError, match="unknown dataset"):
        ql.build_model("lstm", "mnist")
    with pytest.raises(ValueError, match="no options"):
        ql.build_model("lstm", "bessel", depth=3)


def test_daruan_parameter_shift_equals_autograd():
    theta = torch.tensor(RNG.uniform(-3, 3, size=(4, 2)), requires_grad=True)
    w = torch.tensor(RNG.normal(size=3), requires_grad=True)
    b = torch.tensor(RNG.normal(size=3), requires_grad=True)
    x = torch.tensor(RNG.normal(size=5))
    shift = ql.daruan_shift_gradients(x, theta.detach(), w.detach(), b.detach())
    for n in range(5):
        grads = torch.autograd.grad(ql.evaluate_daruan(x[n], theta, w, b), (theta, w, b))
        for name, g in zip(("theta", "preact_weight", "preact_bias"), grads):
            torch.testing.assert_close(shift[name][n], g, atol=1e-8, rtol=0)


def test_qlstm_parameter_shift_equals_autograd():
    theta = torch.tensor(RNG.normal(size=(3, 4)), requires_grad=True)
    v = torch.tensor(RNG.uniform(-2, 2, size=(2, 4)), requires_grad=True)
    shift = ql.qlstm_shift_gradients(v.detach(), theta.detach(), n_measured=3)
    z = ql.circuit_expectations(v, theta, 3)
    for bi in range(2):
        for q in range(3):
            g_theta, g_v = torch.autograd.grad(z[bi, q], (theta, v), retain_graph=True)
            torch.testing.assert_close(shift["theta"][bi, q], g_theta, atol=1e-8, rtol=0)
            torch.testing.assert_close(shift["input"][bi, q], g_v[bi], atol=1e-8, rtol=0)


def test_dtype_mismatch_is_a_clear_error():
    net = ql.build_model("qkan_lstm", "bessel", dtype=torch.float64)
    with pytest.raises(ValueError, match="dtype"):
        net(torch.zeros(2, 3, 1, dtype=torch.float32))


@pytest.mark.parametrize("num_layers", [1, 2])
def test_stacked_lstms_equal_each_lstm(num_layers):
    """Seed batching's stacked LSTM (LSTMRegressor.stacked_forward: one recurrence of S
    models, batched products) against each torch.nn.LSTM model (the oracle PyTorch wrote):
    predictions and every parameter's gradient, float64 to 1e-12."""
    from torch.func import stack_module_state

    from qkan_lib.models.cells import LSTMRegressor

    models = []
    for seed in range(3):
        torch.manual_seed(seed)
        models.append(LSTMRegressor(2, 3, num_layers, dtype=torch.float64))
    params, _ = stack_module_state(models)
    x = torch.randn(4, 6, 2, dtype=torch.float64)
    forward = models[0].stacked_forward(params, x)
    out = forward(x)
    weights = torch.randn(3, 4, 1, dtype=torch.float64)
    ((out * weights).sum() + out.square().sum()).backward()
    assert out.shape == (3, 4, 1)
    for k, model in enumerate(models):
        single = model(x)
        ((single * weights[k]).sum() + single.square().sum()).backward()
        torch.testing.assert_close(out[k], single, rtol=1e-12, atol=1e-12)
        for name, p in model.named_parameters():
            torch.testing.assert_close(params[name].grad[k], p.grad, rtol=1e-12, atol=1e-12)
