"""The fused QLSTM sequence kernel against the PyTorch reference path, finite differences, Adam."""

import copy
import subprocess
import sys

import numpy as np
import pytest
import torch

import qkan_lib as ql
from qkan_lib.kernels import qlstm_loops as qlstm_kernel_loops
from qkan_lib.kernels import qlstm_sequence as qlstm_kernel
from qkan_lib.kernels.paths import reference_path, sequence_kernel
from qkan_lib.kernels.qlstm_sequence import FusedQLSTMSequence
from qkan_lib.models.cells import LSTMCell, QLSTMGates, RecurrentRegressor


def can_fuse_qlstm(gates, x):
    """Whether the dispatcher sends these QLSTM gates and input to the fused sequence kernel."""
    kernel = sequence_kernel(gates, x)
    return kernel is not None and kernel.name == "qlstm_sequence"


def fused_qlstm_final_hidden(gates, x):
    return qlstm_kernel.fused_final_hidden(gates.theta, x, gates.hidden_size)


RNG = np.random.default_rng(15)
TOLERANCE = {torch.float64: 1e-12, torch.float32: 2e-5}


def qlstm(input_size, hidden, depth, dtype=torch.float64):
    """A QLSTM regressor with O(1) angles, so that every gate is far from its linear regime."""
    gates = QLSTMGates(input_size, hidden, depth, dtype=dtype)
    with torch.no_grad():
        gates.theta.copy_(torch.tensor(RNG.normal(size=gates.theta.shape)))
    return RecurrentRegressor(LSTMCell(input_size, hidden, gates))


def sequence(batch, steps, input_size, dtype=torch.float64):
    values = RNG.uniform(-2, 2, size=(batch, steps, input_size))
    return torch.tensor(values, dtype=dtype, requires_grad=True)


def value_and_grads(model, x, weights):
    """Output and the gradients of a weighted sum of it w.r.t. x and every parameter."""
    model.zero_grad(set_to_none=True)
    x = x.detach().requires_grad_()
    y = model(x)
    (y * weights).sum().backward()
    return y.detach(), x.grad, {name: p.grad for name, p in model.named_parameters()}


def assert_paths_agree(model, x, tol):
    weights = torch.tensor(RNG.normal(size=(x.shape[0], 1)), dtype=x.dtype)
    fused = value_and_grads(model, x, weights)
    with reference_path():
        reference = value_and_grads(model, x, weights)
    torch.testing.assert_close(fused[0], reference[0], atol=tol, rtol=0)
    torch.testing.assert_close(fused[1], reference[1], atol=tol, rtol=0)
    assert (
        fused[2].keys() == reference[2].keys() == {"cell.gates.theta", "head.weight", "head.bias"}
    )
    for name in fused[2]:
        torch.testing.assert_close(
            fused[2][name], reference[2][name], atol=tol, rtol=0, msg=named(name)
        )


def named(name):
    return lambda text: f"{name}: {text}"


# (input_size, hidden, depth): depth and hidden 1..5 each, input 1 and 2
CELLS = [
    (1 + (depth + hidden) % 2, hidden, depth) for depth in range(1, 6) for hidden in range(1, 6)
]


@pytest.mark.parametrize("input_size, hidden, depth", CELLS)
def test_fused_equals_reference_float64(input_size, hidden, depth):
    model = qlstm(input_size, hidden, depth)
    assert_paths_agree(model, sequence(3, 4, input_size), TOLERANCE[torch.float64])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("batch, steps", [(1, 1), (1, 9), (5, 1), (64, 16), (10, 4)])
@pytest.mark.parametrize("input_size, hidden, depth", [(1, 4, 5), (1, 5, 3), (2, 2, 2)])
def test_fused_equals_reference_across_shapes(dtype, batch, steps, input_size, hidden, depth):
    model = qlstm(input_size, hidden, depth, dtype)
    assert_paths_agree(model, sequence(batch, steps, input_size, dtype), TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_empty_batch_gives_empty_output_and_zero_gradients(dtype):
    model = qlstm(1, 3, 2, dtype)
    x = torch.zeros(0, 5, 1, dtype=dtype, requires_grad=True)
    assert can_fuse_qlstm(model.cell.gates, x)
    y = model(x)
    assert y.shape == (0, 1) and y.dtype == dtype
    y.sum().backward()
    assert x.grad.shape == x.shape
    assert torch.equal(model.cell.gates.theta.grad, torch.zeros_like(model.cell.gates.theta))
    assert_paths_agree(model, x, TOLERANCE[dtype])


def test_gradients_match_finite_differences():
    """An oracle independent of both autograd paths: central differences (gradcheck)."""
    gates = qlstm(2, 2, 2).cell.gates
    x = sequence(2, 3, 2)
    theta = gates.theta.detach().clone().requires_grad_()

    def h_last(theta, x):
        return FusedQLSTMSequence.apply(theta, x, gates.hidden_size)

    assert torch.autograd.gradcheck(h_last, (theta, x), eps=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("dataset", ["urban", "damped_shm"])
def test_adam_step_via_fused_equals_step_via_reference(dataset, dtype):
    ql.seed_everything(3)
    fused = ql.build_model("qlstm", dataset, dtype=dtype)
    reference = copy.deepcopy(fused)
    batch, steps = (64, 12) if dataset == "urban" else (10, 4)
    x = sequence(batch, steps, 1, dtype).detach()
    y = torch.tensor(RNG.uniform(-1, 1, size=(batch, 1)), dtype=dtype)
    gradients = []
    for model, force_reference in ((fused, False), (reference, True)):
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        optimizer.zero_grad(set_to_none=True)
        with reference_path() if force_reference else torch.enable_grad():
            torch.nn.functional.mse_loss(model(x), y).backward()
        gradients.append([p.grad.clone() for p in model.parameters()])
        optimizer.step()
    start = ql.build_model("qlstm", dataset, dtype=dtype)
    assert not torch.equal(fused.cell.gates.theta, start.cell.gates.theta)
    # Adam's first step is lr * g / (|g| + 1e-8): where a gradient is exactly zero in exact
    # arithmetic (the last layer's RY on an unmeasured qubit) it turns roundoff into up to a
    # full step. float64 roundoff (~1e-17) stays below 1e-9; float32 is compared where |g| >> 1e-8.
    pairs = zip(fused.named_parameters(), reference.parameters(), *gradients)
    for (name, p), q, g_fused, g_reference in pairs:
        if dtype == torch.float64:
            torch.testing.assert_close(p, q, atol=1e-9, rtol=0, msg=named(name))
            continue
        clear = g_reference.abs() > 1e-5
        assert clear.float().mean() > 0.5, name
        torch.testing.assert_close(p[clear], q[clear], atol=1e-4, rtol=0)
        assert (g_fused[~clear].abs() < 2e-5).all()


def test_regressor_dispatches_to_the_kernel_only_when_it_can(monkeypatch):
    calls = []
    original = FusedQLSTMSequence.apply
    monkeypatch.setattr(
        FusedQLSTMSequence, "apply", lambda *args: calls.append(1) or original(*args)
    )
    model = qlstm(1, 2, 2)
    x = sequence(2, 3, 1).detach()
    model(x)
    assert calls == [1]
    with reference_path():
        model(x)
        assert not can_fuse_qlstm(model.cell.gates, x)
    assert calls == [1] and can_fuse_qlstm(model.cell.gates, x)
    ql.build_model("qkan_lstm", "bessel", dtype=torch.float64)(x)  # other gate maps never dispatch
    assert calls == [1]


def test_fallback_cases_are_refused_by_can_fuse():
    gates = qlstm(1, 2, 2).cell.gates
    x = torch.zeros(2, 3, 1, dtype=torch.float64)
    assert can_fuse_qlstm(gates, x)
    assert not can_fuse_qlstm(gates, x.float())  # mixed dtypes
    assert not can_fuse_qlstm(copy.deepcopy(gates).to(torch.bfloat16), x.to(torch.bfloat16))
    # not the CPU (CUDA, say)
    assert not can_fuse_qlstm(QLSTMGates(1, 2, 2, device="meta"), x.to("meta"))

    class OtherCircuit(QLSTMGates):
        pass

    # a subclass may change the circuit
    assert not can_fuse_qlstm(OtherCircuit(1, 2, 2, dtype=torch.float64), x)
    seen = []
    torch.func.vmap(lambda x_: seen.append(can_fuse_qlstm(gates, x_)) or x_)(x)
    assert seen == [False]


def test_seed_batching_falls_back_and_equals_the_fused_single_model():
    from torch.func import functional_call, stack_module_state, vmap

    models = [qlstm(1, 3, 2) for _ in range(2)]
    params, _ = stack_module_state(models)
    x = sequence(4, 5, 1).detach()
    batched = vmap(lambda p, x_: functional_call(models[0], p, (x_,)), in_dims=(0, None))(params, x)
    for k, model in enumerate(models):
        torch.testing.assert_close(batched[k], model(x), atol=1e-12, rtol=0)


def test_second_order_gradients_are_refused_clearly_and_work_on_the_reference_path():
    model = qlstm(1, 2, 2)
    x = sequence(2, 3, 1).detach()
    theta = model.cell.gates.theta
    (g,) = torch.autograd.grad(model(x).sum(), theta, create_graph=False)
    with pytest.raises(RuntimeError, match="first-order"):
        torch.autograd.grad(model(x).sum(), theta, create_graph=True)
    with reference_path():
        (g_ref,) = torch.autograd.grad(model(x).sum(), theta, create_graph=True)
    torch.testing.assert_close(g, g_ref.detach(), atol=1e-12, rtol=0)
    assert g_ref.requires_grad


def test_bad_input_is_a_clear_error():
    gates = qlstm(2, 2, 2).cell.gates
    with pytest.raises(ValueError, match=r"x must have shape \(batch, seq_len >= 1, 2\)"):
        fused_qlstm_final_hidden(gates, torch.zeros(2, 3, 1, dtype=torch.float64))
    with pytest.raises(ValueError, match="seq_len >= 1"):
        fused_qlstm_final_hidden(gates, torch.zeros(2, 0, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="float32 or both float64"):
        fused_qlstm_final_hidden(gates, torch.zeros(2, 3, 2, dtype=torch.float32))


def test_loops_load_lazily_and_are_cachable():
    """The loops module is imported on the first fused call, not with qkan_lib; its kernels are
    module-level functions without closures, which Numba's disk cache can reuse across
    processes (a closure would be recompiled, ~20 s, in every process)."""
    code = (
        "import sys, qkan_lib, qkan_lib.kernels.qlstm_sequence; "
        "sys.exit('qkan_lib.kernels.qlstm_loops' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    for kernel in (qlstm_kernel_loops.forward, qlstm_kernel_loops.backward):
        assert kernel.py_func.__closure__ is None
        assert type(kernel._cache).__name__ == "FunctionCache"  # cache=True


def test_inference_and_partial_gradients_equal_the_full_pass(monkeypatch):
    """Without gradients the kernel keeps one step of state, not T; frozen parameters still work."""
    kernels, kept = qlstm_kernel._kernels(), []
    compiled_forward = kernels.forward
    monkeypatch.setattr(
        kernels, "forward", lambda *args: kept.append(args[-1]) or compiled_forward(*args)
    )
    model = qlstm(2, 3, 2)
    x = sequence(5, 6, 2).detach()
    with reference_path():
        want = model(x)
    with torch.no_grad():
        torch.testing.assert_close(model(x), want, atol=1e-12, rtol=0)
    model.requires_grad_(False)
    torch.testing.assert_close(model(x), want, atol=1e-12, rtol=0)  # nothing needs a gradient
    assert kept == [False, False]
    x.requires_grad_()
    (g_x,) = torch.autograd.grad(model(x).sum(), x)
    with reference_path():
        (want_x,) = torch.autograd.grad(model(x).sum(), x)
    torch.testing.assert_close(g_x, want_x, atol=1e-12, rtol=0)
    assert kept == [False, False, True]
    theta = model.cell.gates.theta.detach().requires_grad_()
    h = FusedQLSTMSequence.apply(theta, x, 3, False)  # asked to keep nothing: no wrong gradients
    with pytest.raises(RuntimeError, match="keep=False"):
        h.sum().backward()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_stacked_models_equal_separate_fused_calls(dtype):
    """S QLSTMs in one autograd node (seed batching's stacked path: theta with a model axis,
    x shared) give each model's h_T and the gradients of its angles, and the sum of the
    models' gradients for x, as S separate fused calls (float64 to 1e-12)."""
    from torch.func import stack_module_state

    models = [qlstm(1, 2, 2, dtype) for _ in range(3)]
    params, _ = stack_module_state(models)
    x = torch.randn(4, 5, 1, dtype=dtype, requires_grad=True)
    forward = models[0].stacked_forward(params, x)
    out = forward(x)
    weights = torch.randn(3, 4, 1, dtype=dtype)
    ((out * weights).sum() + out.square().sum()).backward()
    tol = {"rtol": TOLERANCE[dtype], "atol": TOLERANCE[dtype]}
    with torch.no_grad():
        torch.testing.assert_close(forward(x), out, rtol=0, atol=0)  # inference: same values
    x_grad = torch.zeros_like(x)
    for k, model in enumerate(models):
        xk = x.detach().requires_grad_()
        single = model(xk)
        ((single * weights[k]).sum() + single.square().sum()).backward()
        torch.testing.assert_close(out[k], single, **tol)
        for name, p in model.named_parameters():
            torch.testing.assert_close(params[name].grad[k], p.grad, **tol)
        x_grad += xk.grad
    torch.testing.assert_close(x.grad, x_grad, **tol)
    empty = qlstm_kernel.stacked_final_hidden(params["cell.gates.theta"], x[:0], 2)
    assert empty.shape == (3, 0, 2)
    with pytest.raises(ValueError, match="S, 4, depth"):
        qlstm_kernel.stacked_final_hidden(models[0].cell.gates.theta, x, 2)
