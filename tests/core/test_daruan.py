import math

import numpy as np
import oracles
import pytest
import torch

from qkan_lib import DARUAN, evaluate_daruan
from qkan_lib.core.pennylane_circuits import pennylane_daruan

RNG = np.random.default_rng(1234)


def random_params(reps, edges=()):
    theta = RNG.uniform(-math.pi, math.pi, size=edges + (reps + 1, 2))
    w = RNG.normal(size=edges + (reps,))
    b = RNG.normal(size=edges + (reps,))
    return theta, w, b


@pytest.mark.parametrize("reps", [1, 2, 3, 5])
def test_matches_bruteforce_statevector_on_batch_and_edges(reps):
    theta, w, b = random_params(reps, (3, 4))  # 3 outputs x 4 inputs
    x = RNG.normal(scale=2.0, size=(7, 4))
    got = evaluate_daruan(
        torch.tensor(x)[:, None, :], torch.tensor(theta), torch.tensor(w), torch.tensor(b)
    )
    assert got.shape == (7, 3, 4) and got.dtype == torch.float64
    want = np.array(
        [
            [
                [
                    oracles.daruan_expectation(x[n, i], theta[o, i], w[o, i], b[o, i])
                    for i in range(4)
                ]
                for o in range(3)
            ]
            for n in range(7)
        ]
    )
    np.testing.assert_allclose(got.numpy(), want, atol=1e-10, rtol=0)


@pytest.mark.parametrize("reps", [1, 3])
def test_amplitude_readout_matches_bruteforce(reps):
    theta, w, b = random_params(reps)
    xs = RNG.normal(size=20)
    got = evaluate_daruan(
        torch.tensor(xs), torch.tensor(theta), torch.tensor(w), torch.tensor(b), readout="amplitude"
    )
    want = [oracles.daruan_amplitude(x, theta, w, b) for x in xs]
    np.testing.assert_allclose(got.numpy(), want, atol=1e-10)


@pytest.mark.parametrize("reps", [1, 2, 4])
def test_matches_pennylane_default_qubit(reps):
    circuit = pennylane_daruan(reps)
    for _ in range(5):
        theta, w, b = random_params(reps)
        x = float(RNG.normal(scale=3.0))
        want = float(circuit(x, theta, w, b))
        got = evaluate_daruan(
            torch.tensor(x, dtype=torch.float64),
            torch.tensor(theta),
            torch.tensor(w),
            torch.tensor(b),
        )
        assert abs(got.item() - want) < 1e-10


def test_float32_float64_and_defaults():
    theta, _, _ = random_params(2, (2, 3))
    x = torch.randn(5, 1, 3, dtype=torch.float64)
    y64 = evaluate_daruan(x, torch.tensor(theta))  # w = 1, b = 0
    y32 = evaluate_daruan(x.float(), torch.tensor(theta).float())
    assert y32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), y64, atol=1e-5, rtol=0)
    ones = torch.ones(2, 3, 2, dtype=torch.float64)
    torch.testing.assert_close(y64, evaluate_daruan(x, torch.tensor(theta), ones, 0 * ones))


def test_gradcheck_all_inputs():
    theta, w, b = random_params(2, (2, 3))
    args = [torch.randn(4, 1, 3, dtype=torch.float64)] + [torch.tensor(a) for a in (theta, w, b)]
    for a in args:
        a.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda *t: evaluate_daruan(*t), args)
    assert torch.autograd.gradcheck(lambda *t: evaluate_daruan(*t, readout="amplitude"), args)


def test_module_uses_its_parameters():
    torch.manual_seed(0)
    act = DARUAN(reps=3, dtype=torch.float64)
    assert [n for n, _ in act.named_parameters()] == ["theta", "preact_weight", "preact_bias"]
    x = torch.linspace(-3, 3, 11, dtype=torch.float64)
    want = [
        oracles.daruan_expectation(
            v,
            act.theta.detach().numpy(),
            act.preact_weight.detach().numpy(),
            act.preact_bias.detach().numpy(),
        )
        for v in x.tolist()
    ]
    np.testing.assert_allclose(act(x).detach().numpy(), want, atol=1e-12)
    frozen = DARUAN(reps=2, preact_trainable=False)
    assert [n for n, _ in frozen.named_parameters()] == ["theta"]


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(theta=torch.zeros(1, 2)), "reps >= 1"),
        (dict(theta=torch.zeros(3, 3)), "reps \\+ 1, 2"),
        (dict(preact_weight=torch.ones(5)), "preact_weight must have last dimension"),
        (dict(readout="fast"), "readout must be one of"),
        (dict(x=torch.tensor([0.0, float("nan")])), "NaN"),
        (dict(x=torch.tensor([0, 1])), "x must be a floating-point tensor"),
        (dict(theta=torch.zeros(3, 2, dtype=torch.int64)), "theta must be a floating-point tensor"),
    ],
)
def test_bad_input_raises_clear_error(bad, message):
    args = dict(
        x=torch.zeros(2),
        theta=torch.zeros(3, 2),
        preact_weight=None,
        preact_bias=None,
        readout="expectation",
    )
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        evaluate_daruan(**args)
    with pytest.raises(ValueError, match="reps must be an integer >= 1"):
        DARUAN(reps=0)
