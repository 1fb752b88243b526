"""The classical Fourier twin of the DARUAN: same function at initialisation, same frequencies."""

import numpy as np
import pytest
import torch
from oracles import daruan_expectation

import qkan_lib as q
from qkan_lib.models.fourier_twin import (
    FourierTwinLayer,
    daruan_angle_coefficients,
    edge_parameter_counts,
    fourier_edge,
    fourier_lstm_from_qkan,
    half_patterns,
)

F64 = torch.float64


def _perturbed_qkan(in_f, out_f, reps, seed, **options):
    """A QKAN layer with generic (not initial) w, b, base and post-activation values."""
    torch.manual_seed(seed)
    layer = q.QKANLayer(in_f, out_f, reps, dtype=F64, **options)
    with torch.no_grad():
        layer.preact_weight.normal_(1.0, 0.6)
        layer.preact_bias.normal_(0.0, 1.0)
        layer.base_weight.normal_()
        layer.postact_weight.normal_(1.0, 0.3)
        layer.postact_bias.normal_(0.0, 0.3)
    return layer


def test_half_patterns_cover_each_pair_once():
    for reps in (1, 2, 3):
        half = half_patterns(reps)
        assert half.shape == ((3**reps - 1) // 2, reps)
        full = {tuple(s) for s in half} | {tuple(-s) for s in half} | {(0.0,) * reps}
        assert len(full) == 3**reps


@pytest.mark.parametrize("reps", [1, 2, 3])
def test_twin_edge_equals_brute_force_daruan(reps):
    rng = np.random.default_rng(reps)
    theta = rng.uniform(-np.pi, np.pi, (reps + 1, 2))
    w, b = rng.normal(1, 0.7, reps), rng.normal(0, 1, reps)
    gamma, alpha, beta = daruan_angle_coefficients(torch.tensor(theta))
    xs = rng.uniform(-6, 6, 25)
    twin = fourier_edge(torch.tensor(xs), torch.tensor(w), torch.tensor(b), gamma, alpha, beta)
    oracle = [daruan_expectation(x, theta, w, b) for x in xs]  # complex 2x2 matrices, not our code
    np.testing.assert_allclose(twin.numpy(), oracle, atol=1e-12)


@pytest.mark.parametrize("reps", [1, 2, 3])
def test_twin_coefficients_merge_to_the_exact_fourier_series(reps):
    rng = np.random.default_rng(10 + reps)
    theta = rng.uniform(-np.pi, np.pi, (reps + 1, 2))
    w, b = rng.normal(1, 0.7, reps), rng.normal(0, 1, reps)
    gamma, alpha, beta = (t.numpy() for t in daruan_angle_coefficients(torch.tensor(theta)))
    omegas, exact = q.exact_fourier_series(theta, w, b)
    merged = np.zeros_like(exact)
    merged[np.argmin(np.abs(omegas))] += gamma
    for s, a, bb in zip(half_patterns(reps), alpha, beta):
        d = (a - 1j * bb) / 2 * np.exp(1j * s @ b)  # d_s e^{i s.b}: coefficient of e^{i (s.w) x}
        merged[np.argmin(np.abs(omegas - s @ w))] += d
        merged[np.argmin(np.abs(omegas + s @ w))] += np.conj(d)
    np.testing.assert_allclose(merged, exact, atol=1e-12)


@pytest.mark.parametrize("reps", [1, 2, 3])
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"preact_trainable": False, "base_trainable": False},
        {"postact_weight_trainable": True, "postact_bias_trainable": True},
    ],
)
def test_twin_layer_equals_qkan_layer(reps, options):
    layer = _perturbed_qkan(3, 5, reps, seed=reps, **options)
    twin = FourierTwinLayer.from_qkan(layer)
    x = torch.randn(64, 3, dtype=F64, generator=torch.Generator().manual_seed(7)) * 2.5
    torch.testing.assert_close(twin(x), layer(x), atol=1e-12, rtol=0)
    torch.testing.assert_close(twin.edge_functions(x), layer.edge_functions(x), atol=1e-12, rtol=0)
    # same trainable layout apart from the edge function's own parameters
    names = {n for n, _ in twin.named_parameters()} - {"gamma", "alpha", "beta"}
    assert names == {n for n, _ in layer.named_parameters()} - {"theta"}


def test_twin_at_initial_w_equals_qkan_and_fresh_twin_follows_the_seed():
    torch.manual_seed(0)
    layer = q.QKANLayer(4, 8, 2, dtype=F64)  # w = 1: several sign patterns share a frequency
    torch.manual_seed(0)
    fresh = FourierTwinLayer(4, 8, 2, dtype=F64)
    x = torch.randn(32, 4, dtype=F64)
    torch.testing.assert_close(fresh(x), layer(x), atol=1e-12, rtol=0)


def test_gradients_flow_to_every_twin_parameter():
    twin = FourierTwinLayer.from_qkan(
        _perturbed_qkan(2, 3, 2, seed=1, postact_weight_trainable=True, postact_bias_trainable=True)
    )
    x = torch.randn(16, 2, dtype=F64, requires_grad=True)
    twin(x).square().sum().backward()
    for name, p in twin.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    assert x.grad.abs().sum() > 0


def test_twin_gradient_matches_finite_differences():
    twin = FourierTwinLayer.from_qkan(_perturbed_qkan(2, 2, 2, seed=2))
    x = torch.randn(5, 2, dtype=F64)
    params = tuple(twin.parameters())

    def f(*values):
        state = dict(zip((n for n, _ in twin.named_parameters()), values))
        return torch.func.functional_call(twin, state, (x,)).sin().sum()

    assert torch.autograd.gradcheck(f, tuple(p.detach().clone().requires_grad_() for p in params))


def test_twin_trains_to_a_function_in_its_span():
    # one edge, w = 1 fixed, reps 2: frequencies {0, 1, 2}, so cos(2 x) + 0.5 is reachable
    twin = FourierTwinLayer(1, 1, 2, base_trainable=False, preact_trainable=False, dtype=F64)
    x = torch.linspace(-3, 3, 64, dtype=F64)[:, None]
    target = torch.cos(2 * x) + 0.5
    opt = torch.optim.LBFGS(twin.parameters(), max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (twin(x) - target).square().mean()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        assert float((twin(x) - target).square().mean()) < 1e-8


@pytest.mark.parametrize("reps", [1, 2, 3])
@pytest.mark.parametrize("preact", [True, False])
def test_parameter_counts_as_documented(reps, preact):
    counts = edge_parameter_counts(reps, preact)
    preacts = 2 * reps if preact else 0
    assert counts == {"daruan": 2 * (reps + 1) + preacts, "twin": 3**reps + preacts}
    assert counts["daruan"] != counts["twin"]  # never equal, as the docstring says
    layer = q.QKANLayer(3, 4, reps, preact_trainable=preact)
    twin = FourierTwinLayer.from_qkan(layer)
    edges, base = 12, 12  # silu base weights are the same in both
    assert q.count_parameters(layer)["total"] == edges * counts["daruan"] + base
    assert q.count_parameters(twin) == {
        "classical": edges * counts["twin"] + base,
        "quantum": 0,
        "total": edges * counts["twin"] + base,
    }


def test_amplitude_readout_has_no_twin():
    with pytest.raises(ValueError, match="amplitude readout"):
        FourierTwinLayer.from_qkan(q.QKANLayer(2, 2, readout="amplitude"))
    with pytest.raises(ValueError, match="QKANLayer"):
        FourierTwinLayer.from_qkan(torch.nn.Linear(2, 2))


@pytest.mark.parametrize("dataset", ["damped_shm", "bessel"])
def test_fourier_lstm_starts_as_the_same_function(dataset):
    torch.manual_seed(11)
    qkan = q.build_model("qkan_lstm", dataset, dtype=F64)
    torch.manual_seed(11)
    named = q.build_model("fourier_lstm", dataset, dtype=F64)
    converted = fourier_lstm_from_qkan(qkan)
    x = torch.randn(9, 6, 1, dtype=F64)
    torch.testing.assert_close(named(x), qkan(x), atol=1e-12, rtol=0)
    torch.testing.assert_close(converted(x), qkan(x), atol=1e-12, rtol=0)
    converted.head.weight.data.add_(1.0)  # no tensors shared with the source
    assert not torch.equal(converted.head.weight, qkan.head.weight)
    assert q.count_parameters(named)["quantum"] == 0


def test_fourier_lstm_reps_override_and_refusals():
    model = q.build_model("fourier_lstm", "bessel", reps=2)
    assert model.cell.gates.twin.reps == 2
    with pytest.raises(ValueError, match="no options"):
        q.build_model("fourier_lstm", "bessel", readout="amplitude")
    with pytest.raises(ValueError, match="QKAN-LSTM"):
        fourier_lstm_from_qkan(q.build_model("lstm", "bessel"))
