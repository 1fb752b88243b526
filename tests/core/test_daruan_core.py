"""The DARUAN core (merged rotations, analytic backward) equals the gate-by-gate reference
(values and gradients, float64)."""

import pytest
import torch

import qkan_lib as ql
from qkan_lib.core.daruan import daruan_core, edge_constants, prepare, vmap_compatible


@pytest.mark.parametrize("reps", [1, 2, 4])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"postact_weight_trainable": True, "postact_bias_trainable": True},
        {"readout": "amplitude"},
        {"preact_trainable": False, "base_trainable": False},
    ],
)
def test_layer_fast_path_equals_gate_by_gate(reps, options):
    torch.manual_seed(reps)
    layer = ql.QKANLayer(3, 5, reps, dtype=torch.float64, **options)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.3 * torch.randn_like(p))
    x = torch.randn(7, 3, dtype=torch.float64, requires_grad=True)
    fast, slow = layer(x), layer.reference_forward(x)
    torch.testing.assert_close(fast, slow, atol=1e-12, rtol=0)
    params = [x, *layer.parameters()]
    for g_fast, g_slow in zip(
        torch.autograd.grad(fast.square().sum(), params),
        torch.autograd.grad(slow.square().sum(), params),
    ):
        torch.testing.assert_close(g_fast, g_slow, atol=1e-10, rtol=0)


def test_core_gradcheck_with_broadcasting():
    torch.manual_seed(0)
    theta = torch.randn(2, 3, 4, 2, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(
        3, 3, dtype=torch.float64, requires_grad=True
    )  # broadcasts over the first edge axis
    bias = torch.randn(2, 3, 3, dtype=torch.float64, requires_grad=True)
    x = torch.randn(4, 1, 3, dtype=torch.float64, requires_grad=True)

    def core(x, theta, weight, bias):
        return daruan_core(x, *prepare(weight, edge_constants(theta, bias)))

    assert torch.autograd.gradcheck(core, (x, theta, weight, bias))


def test_step_function_reuses_constants_across_steps():
    torch.manual_seed(1)
    model = ql.build_model("qkan_lstm", "damped_shm", dtype=torch.float64)
    seq = torch.randn(3, 6, 1, dtype=torch.float64)
    h = c = torch.zeros(3, 2, dtype=torch.float64)
    for t in range(6):  # the plain path: a fresh layer forward at every step
        z = model.cell.gates.qkan(torch.cat([seq[:, t], h], -1))
        i, f, g, o = z.chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
    torch.testing.assert_close(model(seq), model.head(h), atol=1e-12, rtol=0)


def test_vmap_compatible_core_matches_and_batches():
    from torch.func import vmap

    torch.manual_seed(2)
    theta = torch.randn(3, 2, 3, 2, dtype=torch.float64, requires_grad=True)  # 3 "seeds"
    weight = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    x = torch.randn(5, 2, dtype=torch.float64)
    want = torch.stack([ql.evaluate_daruan(x, theta[k], weight[k], bias[k]) for k in range(3)])
    with vmap_compatible():
        got = vmap(lambda t, w, b: ql.evaluate_daruan(x, t, w, b))(theta, weight, bias)
    torch.testing.assert_close(got, want, atol=1e-13, rtol=0)
    g_want = torch.autograd.grad(want.square().sum(), (theta, weight, bias))
    with vmap_compatible():
        got = vmap(lambda t, w, b: ql.evaluate_daruan(x, t, w, b))(theta, weight, bias)
    g_got = torch.autograd.grad(got.square().sum(), (theta, weight, bias))
    for a, b in zip(g_got, g_want):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
