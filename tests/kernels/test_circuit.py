"""The compiled adjoint kernel for QLSTM circuits (CPU) against PennyLane and the PyTorch
simulator."""

import numpy as np
import pytest
import torch

import qkan_lib as ql
from qkan_lib.core.circuits import can_use_kernel, expectations, variational_unitaries
from qkan_lib.kernels import circuit as circuit_kernel

RNG = np.random.default_rng(11)


def torch_simulator(v, theta, n_measured):
    return expectations(v, variational_unitaries(theta), n_measured)


def random_circuit(batch, n, depth, lead=(), dtype=torch.float64):
    v = torch.tensor(RNG.uniform(-np.pi, np.pi, size=(batch, n)), dtype=dtype, requires_grad=True)
    theta = torch.tensor(RNG.normal(size=(*lead, depth, n)), dtype=dtype, requires_grad=True)
    return v, theta


@pytest.mark.slow
def test_gradients_match_pennylane():
    n, depth, m = 4, 2, 3
    circuit = ql.pennylane_circuits.pennylane_qlstm_circuit(n, depth, m)
    v, theta = random_circuit(3, n, depth)
    weights = torch.tensor(RNG.normal(size=(3, m)))
    ours = torch.autograd.grad((ql.circuit_expectations(v, theta, m) * weights).sum(), (v, theta))
    want = torch.autograd.grad(
        sum((torch.stack(circuit(v[b], theta)) * weights[b]).sum() for b in range(3)), (v, theta)
    )
    for got, expected in zip(ours, want):
        torch.testing.assert_close(got, expected, atol=1e-10, rtol=0)


# (batch, n, depth, lead): odd and even n, one qubit, leading circuit axes, batches on both sides
# of the bracketing switch
SHAPES = [
    (9, 6, 3, ()),
    (200, 6, 3, ()),
    (9, 5, 2, (4,)),
    (100, 5, 2, (4,)),
    (7, 3, 1, ()),
    (5, 1, 2, ()),
    (40, 4, 2, (2, 3)),
    (3, 7, 4, (2,)),
]


@pytest.mark.parametrize("batch, n, depth, lead", SHAPES)
@pytest.mark.parametrize("through_states", [True, False])
def test_both_bracketings_equal_the_torch_simulator(batch, n, depth, lead, through_states):
    v, theta = random_circuit(batch, n, depth, lead)
    m = max(1, n - 1)
    want = torch_simulator(v, theta, m)
    upstream = torch.tensor(RNG.normal(size=want.shape))
    out, g_v, g_theta = circuit_kernel.value_and_grad(
        v.detach().numpy(), theta.detach().numpy(), m, upstream.numpy(), through_states
    )
    torch.testing.assert_close(torch.from_numpy(out), want, atol=1e-12, rtol=0)
    want_v, want_theta = torch.autograd.grad(want, (v, theta), upstream)
    torch.testing.assert_close(torch.from_numpy(g_v), want_v, atol=1e-12, rtol=0)
    torch.testing.assert_close(torch.from_numpy(g_theta), want_theta, atol=1e-12, rtol=0)


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
def test_circuit_expectations_uses_the_kernel_on_cpu(dtype, tol, monkeypatch):
    calls = []
    monkeypatch.setattr(
        circuit_kernel.AdjointCircuit,
        "apply",
        lambda *args: calls.append(1) or torch_simulator(*args),
    )
    v, theta = random_circuit(4, 3, 2, dtype=dtype)
    ql.circuit_expectations(v, theta, 2)
    assert calls == [1]
    monkeypatch.undo()
    out = ql.circuit_expectations(v, theta, 2)
    assert out.dtype == dtype
    torch.testing.assert_close(out, torch_simulator(v, theta, 2), atol=tol, rtol=0)


def test_bracketing_follows_the_multiply_add_count():
    assert circuit_kernel.through_states_is_cheaper(batch=10, depth=3, dim=64)
    assert not circuit_kernel.through_states_is_cheaper(batch=256, depth=3, dim=64)
    assert circuit_kernel.through_states_is_cheaper(
        batch=10_000, depth=1, dim=64
    )  # one layer: states always


def test_other_dtypes_use_the_torch_simulator():
    v, theta = random_circuit(4, 3, 2, dtype=torch.bfloat16)
    assert not can_use_kernel(v, theta)
    assert ql.circuit_expectations(v, theta, 2).dtype == torch.bfloat16


def test_only_the_needed_gradients_flow():
    v, theta = random_circuit(5, 4, 2)
    (g_theta,) = torch.autograd.grad(ql.circuit_expectations(v.detach(), theta, 3).sum(), (theta,))
    torch.testing.assert_close(
        g_theta, torch.autograd.grad(torch_simulator(v.detach(), theta, 3).sum(), theta)[0]
    )
    (g_v,) = torch.autograd.grad(ql.circuit_expectations(v, theta.detach(), 3).sum(), (v,))
    torch.testing.assert_close(
        g_v, torch.autograd.grad(torch_simulator(v, theta.detach(), 3).sum(), v)[0]
    )


def test_an_empty_batch_gives_empty_outputs_and_zero_gradients():
    v, theta = random_circuit(0, 4, 2, lead=(3,))
    out = ql.circuit_expectations(v, theta, 3)
    assert out.shape == (3, 0, 3)
    g_v, g_theta = torch.autograd.grad(out.sum(), (v, theta))
    assert g_v.shape == (0, 4) and torch.equal(g_theta, torch.zeros_like(theta))


def test_second_derivatives_are_refused_clearly():
    v, theta = random_circuit(2, 3, 1)
    with pytest.raises(RuntimeError, match="first-order"):
        torch.autograd.grad(ql.circuit_expectations(v, theta, 2).sum(), theta, create_graph=True)
