"""The fused QKAN-LSTM / HQKAN-LSTM kernel against the autograd reference loop.

Oracle: the same model run inside ``reference_path()`` (the step-by-step PyTorch loop of
qkan_lib.models.cells, differentiated by autograd), plus finite differences (gradcheck). Every
comparison covers the value h_T / the prediction and the gradient of every trainable tensor
and of the input x.
"""

import copy
import math

import pytest
import torch

import qkan_lib as ql
from qkan_lib.kernels import qkan_sequence as rk
from qkan_lib.kernels.paths import execution_path, reference_path


def can_fuse(gates, x):
    """Whether the dispatcher sends this gate map and input to the QKAN sequence kernel."""
    return execution_path(gates, x) == "qkan_sequence"


def layer_of(gates):
    return getattr(gates, "qkan", None) or getattr(gates, "hqkan", gates)


from qkan_lib.models.cells import (
    AffineGates,
    HQKANGates,
    LSTMCell,
    QKANGates,
    QLSTMGates,
    RecurrentRegressor,
)

TOL = {torch.float64: {"rtol": 1e-10, "atol": 1e-12}, torch.float32: {"rtol": 1e-4, "atol": 2e-5}}


def make_model(
    kind,
    d,
    m,
    reps,
    dtype,
    readout="expectation",
    preact=True,
    base=True,
    post_w=True,
    post_b=True,
    randomize_frozen=True,
    latent_in=None,
    latent_out=None,
    seed=0,
):
    """A QKAN-LSTM / HQKAN-LSTM with every parameter and buffer drawn at random (so no
    default value 0 or 1 hides a term), except frozen tensors when ``randomize_frozen`` is off."""
    torch.manual_seed(seed)
    options = {
        "preact_trainable": preact,
        "base_trainable": base,
        "postact_weight_trainable": post_w,
        "postact_bias_trainable": post_b,
        "readout": readout,
        "dtype": dtype,
    }
    if kind == "qkan":
        gates = QKANGates(d, m, reps, **options)
    else:
        gates = HQKANGates(d, m, reps, latent_in=latent_in, latent_out=latent_out, **options)
    model = RecurrentRegressor(LSTMCell(d, m, gates))
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(
                torch.empty_like(p).uniform_(-math.pi, math.pi)
                if name.endswith("theta")
                else torch.randn_like(p) * 0.8
            )
        if randomize_frozen:
            for b in model.buffers():
                b.copy_(torch.randn_like(b) * 0.8)
    return model


def fused_and_reference(model, x, seed=1):
    """(prediction, grads) via the model's default (fused) path and via the reference path,
    for a loss with random weights (so that no symmetry hides a wrong gradient)."""
    params = [p for p in model.parameters()]
    torch.manual_seed(seed)
    weights = torch.randn(x.shape[0], 1, dtype=x.dtype)
    results = []
    for context in (torch.enable_grad, reference_path):
        with context():
            xg = x.detach().requires_grad_()
            out = model(xg)
            grads = torch.autograd.grad((out * weights).sum() + out.square().sum(), [xg, *params])
        results.append((out.detach(), grads))
    return results


def assert_fused_equals_reference(model, x):
    assert can_fuse(model.cell.gates, x)
    (out, grads), (ref_out, ref_grads) = fused_and_reference(model, x)
    tol = TOL[x.dtype]
    torch.testing.assert_close(out, ref_out, **tol)
    names = ["x"] + [name for name, _ in model.named_parameters()]
    for name, got, want in zip(names, grads, ref_grads):
        torch.testing.assert_close(
            got, want, **tol, msg=lambda text, name=name: f"gradient of {name}: {text}"
        )


@pytest.fixture
def count_fused_calls(monkeypatch):
    """Counts kernel forwards, so tests can check the fused path really ran."""
    calls = []
    original = rk._run_forward

    def spy(*args, **kwargs):
        calls.append(kwargs["store"])
        return original(*args, **kwargs)

    monkeypatch.setattr(rk, "_run_forward", spy)
    return calls


@pytest.mark.parametrize("reps", [1, 2, 3])
@pytest.mark.parametrize("hidden", [1, 2, 3, 4])
@pytest.mark.parametrize("inputs", [1, 2])
def test_qkan_lstm_float64_matches_autograd(reps, hidden, inputs, count_fused_calls):
    model = make_model("qkan", inputs, hidden, reps, torch.float64, seed=reps + 10 * hidden)
    x = torch.randn(3, 5, inputs, dtype=torch.float64)
    assert_fused_equals_reference(model, x)
    assert (
        len(count_fused_calls) == 1
    )  # the default call took the kernel, the reference call did not


@pytest.mark.parametrize("reps", [1, 3])
@pytest.mark.parametrize("hidden", [1, 4])
@pytest.mark.parametrize("inputs", [1, 2])
def test_qkan_lstm_float32_matches_autograd(reps, hidden, inputs):
    model = make_model("qkan", inputs, hidden, reps, torch.float32, seed=reps)
    assert_fused_equals_reference(model, torch.randn(4, 6, inputs))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("readout", ["expectation", "amplitude"])
@pytest.mark.parametrize("preact", [True, False])
@pytest.mark.parametrize("post", [True, False])
@pytest.mark.parametrize("randomize_frozen", [True, False])
def test_trainable_and_frozen_tensors_and_readouts(dtype, readout, preact, post, randomize_frozen):
    model = make_model(
        "qkan",
        2,
        2,
        2,
        dtype,
        readout=readout,
        preact=preact,
        post_w=post,
        post_b=not post,
        randomize_frozen=randomize_frozen,
    )
    assert_fused_equals_reference(model, torch.randn(3, 6, 2, dtype=dtype))


def test_without_residual_base_weight():
    model = make_model("qkan", 1, 2, 1, torch.float64, base=False, randomize_frozen=False)
    assert "cell.gates.qkan.base_weight" in dict(model.named_buffers())
    assert_fused_equals_reference(model, torch.randn(3, 4, 1, dtype=torch.float64))


def test_amplitude_readout_near_the_poles():
    """Angles that put <Z> at +-1 exactly exercise the clamp of the amplitude readout."""
    model = make_model("qkan", 1, 1, 1, torch.float64, readout="amplitude", randomize_frozen=False)
    with torch.no_grad():
        model.cell.gates.qkan.theta.zero_()  # start (1, 0, 0), no rotation: <Z> = 0 ...
        model.cell.gates.qkan.theta[..., 1, 1] = (
            math.pi / 2
        )  # ... then RY(pi/2): <Z> = -X = -1 at u = 0
    assert_fused_equals_reference(model, torch.zeros(2, 3, 1, dtype=torch.float64))
    assert_fused_equals_reference(model, torch.randn(2, 3, 1, dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("reps", [1, 2, 3])
@pytest.mark.parametrize(
    "hidden, inputs, latent_in, latent_out",
    [
        (1, 1, None, None),
        (2, 1, None, None),
        (3, 2, 1, 1),
        (4, 2, 2, 3),
        (1, 2, 3, 2),
        (4, 1, None, None),
    ],
)
@pytest.mark.parametrize("readout", ["expectation", "amplitude"])
def test_hqkan_lstm_matches_autograd(dtype, reps, hidden, inputs, latent_in, latent_out, readout):
    model = make_model(
        "hqkan",
        inputs,
        hidden,
        reps,
        dtype,
        readout=readout,
        latent_in=latent_in,
        latent_out=latent_out,
        post_b=False,
        seed=hidden + reps,
    )
    assert_fused_equals_reference(model, torch.randn(3, 5, inputs, dtype=dtype))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("readout", ["expectation", "amplitude"])
@pytest.mark.parametrize(
    "preact, base, post_w, post_b",
    [(False, True, False, False), (True, False, True, True), (False, False, False, True)],
)
def test_hqkan_trainable_and_frozen_tensors(dtype, readout, preact, base, post_w, post_b):
    model = make_model(
        "hqkan",
        2,
        3,
        2,
        dtype,
        readout=readout,
        preact=preact,
        base=base,
        post_w=post_w,
        post_b=post_b,
        latent_in=2,
        latent_out=3,
    )
    assert_fused_equals_reference(model, torch.randn(3, 5, 2, dtype=dtype))


@pytest.mark.parametrize("name", ["qkan_lstm", "hqkan_lstm"])
@pytest.mark.parametrize("dataset", ["damped_shm", "urban"])
def test_book_configurations(name, dataset):
    """The configurations the chapters train, as built (frozen buffers at their defaults)."""
    torch.manual_seed(3)
    model = ql.build_model(name, dataset, dtype=torch.float64)
    assert_fused_equals_reference(model, torch.randn(4, 8, 1, dtype=torch.float64))


@pytest.mark.parametrize("kind", ["qkan", "hqkan"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_batch_of_one_and_long_sequence(kind, dtype):
    model = make_model(kind, 1, 2, 2, dtype)
    assert_fused_equals_reference(model, torch.randn(1, 40, 1, dtype=dtype) * 0.5)


@pytest.mark.parametrize("kind", ["qkan", "hqkan"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_empty_batch(kind, dtype):
    model = make_model(kind, 2, 3, 2, dtype)
    x = torch.randn(0, 4, 2, dtype=dtype)
    (out, grads), (ref_out, ref_grads) = fused_and_reference(model, x)
    assert out.shape == ref_out.shape == (0, 1)
    for got, want in zip(grads, ref_grads):
        assert got.shape == want.shape
        torch.testing.assert_close(got, want)  # zeros: nothing flows from an empty batch
    assert all(bool((g == 0).all()) for g in grads)


def test_gradients_match_finite_differences(count_fused_calls):
    """An oracle independent of autograd: central differences (gradcheck) for x and every
    parameter, the parameters substituted through torch.func.functional_call."""
    model = make_model(
        "hqkan", 1, 2, 2, torch.float64, readout="amplitude", latent_in=2, latent_out=2
    )
    names = [name for name, _ in model.named_parameters()]
    values = [p.detach().clone().requires_grad_() for p in model.parameters()]
    x = torch.randn(2, 4, 1, dtype=torch.float64, requires_grad=True)

    def predict(x, *values):
        return torch.func.functional_call(model, dict(zip(names, values)), (x,))

    assert torch.autograd.gradcheck(predict, (x, *values), eps=1e-6, atol=1e-7, rtol=1e-6)
    assert count_fused_calls  # the fused path was the one checked


@pytest.mark.parametrize("name", ["qkan_lstm", "hqkan_lstm"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_training_steps_equal_the_reference(name, dtype):
    """Three Adam steps (zero_grad, forward, MSE, backward, step) via each path."""
    torch.manual_seed(5)
    fused = ql.build_model(name, "urban", dtype=dtype)
    reference = copy.deepcopy(fused)
    x, y = torch.randn(8, 12, 1, dtype=dtype), torch.randn(8, 1, dtype=dtype)
    for model, context in ((fused, torch.enable_grad), (reference, reference_path)):
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        with context():
            for _ in range(3):
                optimizer.zero_grad()
                torch.nn.functional.mse_loss(model(x), y).backward()
                optimizer.step()
    for (name_, got), want in zip(fused.named_parameters(), reference.parameters()):
        torch.testing.assert_close(
            got, want, **TOL[dtype], msg=lambda text, n=name_: f"{n}: {text}"
        )
    assert any(
        not torch.equal(p, q)
        for p, q in zip(fused.parameters(), ql.build_model(name, "urban", dtype=dtype).parameters())
    )  # the steps did change the parameters


@pytest.mark.parametrize("kind", ["qkan", "hqkan"])
def test_no_grad_forward_keeps_nothing_and_agrees(kind, count_fused_calls):
    model = make_model(kind, 2, 3, 2, torch.float64)
    x = torch.randn(5, 6, 2, dtype=torch.float64)
    with torch.no_grad():
        got = model(x)
    assert count_fused_calls == [False]  # the kernel ran, and stored nothing for a backward pass
    with reference_path(), torch.no_grad():
        want = model(x)
    torch.testing.assert_close(got, want, **TOL[torch.float64])
    assert not got.requires_grad


def test_create_graph_is_refused_with_a_pointer_to_the_reference_path():
    model = make_model("qkan", 1, 1, 1, torch.float64)
    x = torch.randn(2, 3, 1, dtype=torch.float64)
    out = model(x).sum()
    with pytest.raises(RuntimeError, match="reference_path"):
        torch.autograd.grad(out, list(model.parameters()), create_graph=True)
    with reference_path():
        grads = torch.autograd.grad(model(x).sum(), list(model.parameters()), create_graph=True)
    assert grads[0].requires_grad


def test_in_place_edit_before_backward_is_caught():
    model = make_model("qkan", 1, 1, 1, torch.float64)
    out = model(torch.randn(2, 3, 1, dtype=torch.float64)).sum()
    with torch.no_grad():
        model.cell.gates.qkan.theta.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def test_can_fuse_declines_what_the_kernel_does_not_cover():
    model = make_model("qkan", 1, 2, 1, torch.float64)
    gates = model.cell.gates
    x = torch.randn(2, 3, 1, dtype=torch.float64)
    assert can_fuse(gates, x)
    assert not can_fuse(gates, x.float())  # dtype mismatch with the parameters
    with reference_path():
        assert not can_fuse(gates, x)
    assert can_fuse(gates, x)
    assert not can_fuse(AffineGates(1, 2, dtype=torch.float64), x)
    assert not can_fuse(QLSTMGates(1, 2, dtype=torch.float64), x)
    seen = []
    torch.func.vmap(lambda row: seen.append(can_fuse(gates, row.unsqueeze(0))) or row)(x)
    assert seen == [True]  # one vmap level: the vmap rule runs the kernel (model axis)
    nested = torch.func.vmap(torch.func.vmap(lambda r: seen.append(can_fuse(gates, r[None])) or r))
    nested(x.unsqueeze(0))
    torch.func.grad(lambda r: seen.append(can_fuse(gates, r[None])) or r.sum())(x[0])
    assert seen == [True, False, False]  # nested vmap and grad: the reference path
    half = make_model("qkan", 1, 2, 1, torch.bfloat16)
    assert not can_fuse(half.cell.gates, x.bfloat16())


def stacked_models(kind, n_models, dtype=torch.float64, **options):
    """``n_models`` models of one configuration, every parameter drawn at random per model,
    the frozen buffers drawn once and shared (as seed batching shares them)."""
    models = [make_model(kind, 2, 3, 2, dtype, seed=s, **options) for s in range(n_models)]
    with torch.no_grad():
        for model in models[1:]:
            for mine, first in zip(model.buffers(), models[0].buffers()):
                mine.copy_(first)
    return models


def vmapped(models, x):
    """The models' predictions as seed batching computes them: parameters stacked, one vmapped
    call (buffers shared, as train_seeds passes them); returns (predictions, stacked params)."""
    from torch.func import functional_call, stack_module_state, vmap

    params, _ = stack_module_state(models)
    buffers = dict(models[0].named_buffers())
    call = vmap(
        lambda p, rows: functional_call(models[0], (p, buffers), (rows,)), in_dims=(0, None)
    )
    return call(params, x), params


@pytest.mark.parametrize("kind", ["qkan", "hqkan"])
@pytest.mark.parametrize("readout", ["expectation", "amplitude"])
def test_vmapped_models_run_in_one_kernel_call_and_equal_separate_calls(
    kind, readout, count_fused_calls
):
    """S models stacked under vmap (the seed-batching call) take ONE kernel call with a model
    axis, and give each model's prediction and the gradient of every tensor and of x (shared by
    the models: the sum of theirs) that S separate fused calls give (float64, to 1e-12)."""
    models = stacked_models(kind, 3, readout=readout, post_b=kind == "qkan")
    x = torch.randn(4, 5, 2, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(3, 4, 1, dtype=torch.float64)  # a different loss weight per model
    out, params = vmapped(models, x)
    ((out * weights).sum() + out.square().sum()).backward()
    assert count_fused_calls == [True]  # one call for the S models, storing for backward
    want_x_grad = torch.zeros_like(x)
    for k, model in enumerate(models):
        xk = x.detach().requires_grad_()
        single = model(xk)
        ((single * weights[k]).sum() + single.square().sum()).backward()
        torch.testing.assert_close(out[k], single, rtol=1e-12, atol=1e-12)
        for name, p in model.named_parameters():
            torch.testing.assert_close(
                params[name].grad[k], p.grad, rtol=1e-12, atol=1e-12, msg=lambda t, n=name: n + t
            )
        want_x_grad += xk.grad
    torch.testing.assert_close(x.grad, want_x_grad, rtol=1e-12, atol=1e-12)
    assert len(count_fused_calls) == 4  # and the S separate calls took the kernel too


@pytest.mark.parametrize("kind", ["qkan", "hqkan"])
def test_vmap_rule_with_one_input_per_model_and_shared_buffers(kind):
    """The vmap rule itself, x vmapped too (one sequence per model), parameters vmapped,
    buffers not (expanded to the model axis): each model's h_T and gradients as alone."""
    models = stacked_models(kind, 3)
    layers = [layer_of(m.cell.gates) for m in models]
    tensors = [rk._layout(layer, torch.zeros(1, 1, 2, dtype=torch.float64))[0] for layer in layers]
    trains = [t.requires_grad for t in tensors[0]]
    stacked = [
        torch.stack([ts[i] for ts in tensors]).detach().requires_grad_() if trains[i] else
        tensors[0][i]
        for i in range(len(trains))
    ]  # fmt: skip
    settings = (3, False, kind == "hqkan", False)
    x = torch.randn(3, 4, 5, 2, dtype=torch.float64, requires_grad=True)
    dims = (0, *(0 if t else None for t in trains))
    h = torch.func.vmap(lambda *a: rk.FusedRecurrence.apply(settings, *a)[0], in_dims=dims)(
        x, *stacked
    )
    h.square().sum().backward()
    for k, layer in enumerate(layers):
        xk = x[k].detach().requires_grad_()
        single = rk.fused_final_hidden(layer, xk, 3)
        single.square().sum().backward()
        torch.testing.assert_close(h[k], single, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(x.grad[k], xk.grad, rtol=1e-12, atol=1e-12)
        for i, t in enumerate(tensors[k]):
            if trains[i]:
                torch.testing.assert_close(stacked[i].grad[k], t.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["qkan", "hqkan"])
def test_vmapped_models_equal_the_reference_path(kind):
    """The same, against the autograd reference (an oracle that is not the kernel), float32."""
    models = stacked_models(kind, 2, torch.float32)
    x = torch.randn(3, 4, 2)
    out, params = vmapped(models, x)
    out.square().sum().backward()
    with reference_path():
        for k, model in enumerate(models):
            single = model(x)
            single.square().sum().backward()
            torch.testing.assert_close(out[k], single, **TOL[torch.float32])
            for name, p in model.named_parameters():
                torch.testing.assert_close(params[name].grad[k], p.grad, **TOL[torch.float32])


def test_vmapped_forward_without_gradients_keeps_nothing(count_fused_calls):
    models = stacked_models("hqkan", 3)
    x = torch.randn(4, 5, 2, dtype=torch.float64)
    with torch.no_grad():
        out, _ = vmapped(models, x)
    assert count_fused_calls == [False]
    for k, model in enumerate(models):
        with torch.no_grad():
            torch.testing.assert_close(out[k], model(x), rtol=1e-12, atol=1e-12)


def test_one_vmapped_row_with_shared_parameters():
    """vmap over the rows of x with the parameters not vmapped (expanded to the model axis)."""
    layer = layer_of(make_model("qkan", 1, 2, 1, torch.float64).cell.gates)
    x = torch.randn(3, 4, 1, dtype=torch.float64)
    got = torch.func.vmap(lambda row: rk.fused_final_hidden(layer, row.unsqueeze(0), 2)[0])(x)
    torch.testing.assert_close(got, rk.fused_final_hidden(layer, x, 2), rtol=1e-12, atol=1e-12)


def test_seed_batching_still_works_inside_vmap_compatible():
    """train_seeds vmaps inside vmap_compatible(): the kernel serves it there too."""
    from qkan_lib.core.daruan import vmap_compatible

    models = stacked_models("qkan", 2)
    x = torch.randn(3, 4, 2, dtype=torch.float64)
    with vmap_compatible():
        got, _ = vmapped(models, x)
    for k, model in enumerate(models):
        torch.testing.assert_close(got[k], model(x), rtol=1e-12, atol=1e-12)


def test_fused_final_hidden_checks_its_arguments():
    model = make_model("qkan", 1, 2, 1, torch.float64)
    x = torch.randn(2, 3, 1, dtype=torch.float64)
    h = rk.fused_final_hidden(layer_of(model.cell.gates), x, 2)
    assert h.shape == (2, 2)
    with pytest.raises(ValueError, match="hidden_size 3"):
        rk.fused_final_hidden(layer_of(model.cell.gates), x, 3)
    with pytest.raises(ValueError, match="can_fuse"):
        rk.fused_final_hidden(AffineGates(1, 2, dtype=torch.float64).linear, x, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", ["qkan_lstm", "hqkan_lstm"])
def test_cuda_falls_back_to_the_reference_and_matches_cpu(name):
    torch.manual_seed(0)
    cpu = ql.build_model(name, "urban", dtype=torch.float64)
    gpu = copy.deepcopy(cpu).cuda()
    x = torch.randn(4, 6, 1, dtype=torch.float64)
    assert not can_fuse(gpu.cell.gates, x.cuda())
    out_gpu = gpu(x.cuda())
    out_gpu.sum().backward()
    out_cpu = cpu(x)
    out_cpu.sum().backward()
    torch.testing.assert_close(out_gpu.cpu(), out_cpu, **TOL[torch.float64])
    for p, q in zip(cpu.parameters(), gpu.parameters()):
        torch.testing.assert_close(q.grad.cpu(), p.grad, **TOL[torch.float64])


def test_backward_twice_with_retain_graph():
    model = make_model("hqkan", 1, 2, 1, torch.float64)
    x = torch.randn(3, 4, 1, dtype=torch.float64)
    loss = model(x).square().sum()
    first = torch.autograd.grad(loss, list(model.parameters()), retain_graph=True)
    second = torch.autograd.grad(loss, list(model.parameters()))
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("kind", ["qkan", "hqkan"])
@pytest.mark.parametrize("readout", ["expectation", "amplitude"])
def test_stacked_forward_equals_each_model_in_one_kernel_call(kind, readout, count_fused_calls):
    """The direct path of seed batching (RecurrentRegressor.stacked_forward: the S models'
    tensors stacked, one kernel call, the head as one batched product) gives each model's
    prediction and gradients, float64 to 1e-12; frozen buffers shared by the S models."""
    from torch.func import stack_module_state

    models = stacked_models(kind, 3, readout=readout, post_b=kind == "qkan")
    params, _ = stack_module_state(models)
    x = torch.randn(4, 5, 2, dtype=torch.float64)
    forward = models[0].stacked_forward(params, x)
    out = forward(x)
    weights = torch.randn(3, 4, 1, dtype=torch.float64)
    ((out * weights).sum() + out.square().sum()).backward()
    assert out.shape == (3, 4, 1) and count_fused_calls == [True]
    with torch.no_grad():
        torch.testing.assert_close(forward(x), out, rtol=0, atol=0)
    assert count_fused_calls == [True, False]  # without gradients: nothing kept
    for k, model in enumerate(models):
        single = model(x)
        ((single * weights[k]).sum() + single.square().sum()).backward()
        torch.testing.assert_close(out[k], single, rtol=1e-12, atol=1e-12)
        for name, p in model.named_parameters():
            torch.testing.assert_close(
                params[name].grad[k], p.grad, rtol=1e-12, atol=1e-12, msg=lambda t, n=name: n + t
            )


def test_stacked_forward_only_where_a_kernel_has_a_model_axis():
    from torch.func import stack_module_state

    x = torch.randn(2, 3, 1, dtype=torch.float64)
    # the Fourier twin has no kernel with a model axis; the LSTMs' stacked recurrence (CPU) is
    # tested in tests/models (test_stacked_lstms_equal_each_lstm)
    for name, stacks in (("fourier_lstm", False), ("lstm", True), ("param_matched_lstm", True)):
        model = ql.build_model(name, "damped_shm", dtype=torch.float64)
        params, _ = stack_module_state([model, copy.deepcopy(model)])
        method = getattr(model, "stacked_forward", None)
        assert (method is not None and method(params, x) is not None) == stacks, name
    model = ql.build_model("qkan_lstm", "damped_shm", dtype=torch.float64)
    params, _ = stack_module_state([model, copy.deepcopy(model)])
    assert model.stacked_forward(params, x) is not None
    assert model.stacked_forward(params, x.float()) is None  # dtype: no kernel
    with reference_path():
        assert model.stacked_forward(params, x) is None
