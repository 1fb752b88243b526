import math

import numpy as np
import pytest
import torch

from qkan_lib import evaluate_daruan
from qkan_lib.core.noise import NOISELESS, NoiseModel, noisy_daruan, sample_expectation

RNG = np.random.default_rng(2026)


def random_params(reps, edges=()):
    theta = torch.tensor(RNG.uniform(-math.pi, math.pi, size=edges + (reps + 1, 2)))
    w = torch.tensor(RNG.normal(size=edges + (reps,)))
    b = torch.tensor(RNG.normal(size=edges + (reps,)))
    return theta, w, b


def random_noise(virtual_z=False):
    t1 = float(RNG.uniform(20e-6, 200e-6))
    return NoiseModel(
        depolarizing=float(RNG.uniform(0, 0.05)),
        t1=t1,
        t2=float(RNG.uniform(0.2, 2.0)) * t1,
        gate_time=float(RNG.uniform(1e-6, 5e-6)),  # long gates, so T1 and T2 matter
        readout_error_0=float(RNG.uniform(0, 0.1)),
        readout_error_1=float(RNG.uniform(0, 0.1)),
        virtual_z=virtual_z,
    )


@pytest.mark.parametrize("reps", [1, 2, 3, 5])
def test_noiseless_infinite_shots_equals_the_daruan(reps):
    theta, w, b = random_params(reps, (3, 4))
    x = torch.tensor(RNG.normal(scale=2.0, size=(6, 5, 1, 4)))  # time, batch, -, in
    want = evaluate_daruan(x, theta, w, b)
    got = noisy_daruan(x, theta, w, b, NOISELESS)
    assert got.shape == want.shape == (6, 5, 3, 4)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-13)


def pennylane_noisy_daruan(x, theta, w, b, noise):
    """The same circuit on PennyLane's mixed-state simulator, channels inserted by hand and the
    asymmetric readout error as a Kraus channel before the measurement."""
    import pennylane as qml

    dev = qml.device("default.mixed", wires=1)
    reps = len(w)
    gamma, lam_phi = noise.amplitude_damping, noise.phase_damping
    e0, e1 = noise.readout_error_0, noise.readout_error_1
    readout = [
        np.diag([math.sqrt(1 - e0), math.sqrt(1 - e1)]),
        np.array([[0, 0], [math.sqrt(e0), 0]]),
        np.array([[0, math.sqrt(e1)], [0, 0]]),
    ]

    def channels(noisy=True):
        if noisy:
            qml.DepolarizingChannel(noise.depolarizing, wires=0)
            qml.AmplitudeDamping(gamma, wires=0)
            qml.PhaseDamping(lam_phi, wires=0)

    zn = not noise.virtual_z

    @qml.qnode(dev)
    def circuit():
        qml.Hadamard(0)
        channels()
        for layer in range(reps + 1):
            qml.RZ(theta[layer, 0], 0)
            channels(zn)
            qml.RY(theta[layer, 1], 0)
            channels()
            if layer < reps:
                qml.RZ(w[layer] * x + b[layer], 0)
                channels(zn)
        qml.QubitChannel(readout, wires=0)
        return qml.expval(qml.PauliZ(0))

    return float(circuit())


@pytest.mark.parametrize("reps", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("virtual_z", [False, True])
def test_matches_pennylane_default_mixed(reps, virtual_z):
    for _ in range(3):
        theta, w, b = random_params(reps)
        noise = random_noise(virtual_z)
        x = float(RNG.normal(scale=2))
        got = float(noisy_daruan(torch.tensor(x, dtype=torch.float64), theta, w, b, noise))
        want = pennylane_noisy_daruan(x, theta.numpy(), w.numpy(), b.numpy(), noise)
        assert abs(got - want) < 1e-12
        # and the noise mattered
        assert (
            abs(got - float(evaluate_daruan(torch.tensor(x, dtype=torch.float64), theta, w, b)))
            > 1e-4
        )


def test_shots_mean_and_variance_match_the_born_rule():
    """Over many seeds the estimate is unbiased with variance (1 - z^2) / shots. The bounds are
    5 standard errors of the sample mean and of the sample variance: a biased or wrongly scaled
    sampler fails."""
    theta, w, b = random_params(2, (4,))
    x = torch.tensor(RNG.normal(size=(4,)))
    noise = NoiseModel(depolarizing=0.01, readout_error_0=0.02, readout_error_1=0.05)
    exact = noisy_daruan(x, theta, w, b, noise)
    shots, seeds = 200, 4000
    gen = torch.Generator().manual_seed(7)
    est = sample_expectation(exact.expand(seeds, 4), shots, gen)
    var = (1 - exact**2) / shots
    assert torch.all((est.mean(0) - exact).abs() < 5 * torch.sqrt(var / seeds))
    # variance of the sample variance of a near-normal variable: 2 var^2 / (n - 1)
    assert torch.all((est.var(0) - var).abs() < 5 * var * math.sqrt(2 / (seeds - 1)))
    # the estimates are on the grid 2k/shots - 1
    k = (est + 1) * shots / 2
    torch.testing.assert_close(k, k.round())


def test_shots_are_seeded():
    theta, w, b = random_params(3, (2, 3))
    x = torch.tensor(RNG.normal(size=(5, 1, 3)))
    run = lambda s: noisy_daruan(  # noqa: E731
        x, theta, w, b, NOISELESS, 100, torch.Generator().manual_seed(s)
    )
    assert torch.equal(run(1), run(1)) and not torch.equal(run(1), run(2))


def test_depolarizing_alone_shrinks_every_value_by_the_same_factor():
    theta, w, b = random_params(3, (5,))
    x = torch.tensor(RNG.normal(size=(5,)))
    noise = NoiseModel(depolarizing=0.02)
    ratio = noisy_daruan(x, theta, w, b, noise) / evaluate_daruan(x, theta, w, b)
    want = (1 - 4 * 0.02 / 3) ** noise.noisy_gates(3)
    torch.testing.assert_close(ratio, torch.full_like(ratio, want))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"depolarizing": 1.5}, "depolarizing"),
        ({"depolarizing": float("nan")}, "depolarizing"),
        ({"depolarizing": "0.1"}, "depolarizing"),
        ({"t1": -1.0, "gate_time": 1e-8}, "t1"),
        ({"t1": 1e-4}, "gate_time"),
        ({"t1": 1e-4, "t2": 3e-4, "gate_time": 1e-8}, "t2"),
        ({"gate_time": float("inf")}, "gate_time"),
        ({"readout_error_0": -0.1}, "readout_error_0"),
        ({"readout_error_0": 0.6, "readout_error_1": 0.5}, "readout_error_0"),
        ({"virtual_z": 1}, "virtual_z"),
    ],
)
def test_bad_noise_parameters_are_named(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        NoiseModel(**kwargs)


@pytest.mark.parametrize("shots, error", [(0, ValueError), (1.5, TypeError), (True, TypeError)])
def test_bad_shots_are_named(shots, error):
    theta, w, b = random_params(1)
    with pytest.raises(error, match="shots"):
        noisy_daruan(torch.tensor(0.3, dtype=torch.float64), theta, w, b, NOISELESS, shots)


def test_bad_noise_argument_is_named():
    theta, w, b = random_params(1)
    with pytest.raises(TypeError, match="noise"):
        noisy_daruan(torch.tensor(0.3, dtype=torch.float64), theta, w, b, {"depolarizing": 0.1})


def test_layers_inside_on_device_run_the_noisy_executor():
    from qkan_lib.core.layers import QKANLayer
    from qkan_lib.core.noise import on_device

    torch.manual_seed(0)
    layer = QKANLayer(3, 2, reps=2, dtype=torch.float64)
    x = torch.randn(4, 3, dtype=torch.float64)
    exact = layer(x)
    with on_device(NOISELESS):
        torch.testing.assert_close(layer(x), exact, rtol=0, atol=1e-12)
    with on_device(NoiseModel(depolarizing=0.05)):
        assert not torch.allclose(layer(x), exact, atol=1e-3)
    with on_device(NOISELESS, shots=50, seed=3):
        first = layer(x)
    with on_device(NOISELESS, shots=50, seed=3):
        assert torch.equal(layer(x), first)


def _leaves(reps, edges=(3, 4)):
    theta, w, b = random_params(reps, edges)
    x = torch.tensor(RNG.normal(size=(5, 1, edges[-1])))
    return [t.clone().requires_grad_() for t in (x, theta, w, b)]


@pytest.mark.parametrize("reps", [1, 2, 3])
def test_shift_rule_gradients_equal_autograd_on_the_noisy_device(reps):
    from qkan_lib.core.noise import shift_rule_daruan

    noise = random_noise(virtual_z=bool(reps % 2))
    leaves = _leaves(reps)
    weights = torch.tensor(RNG.normal(size=(5, 3, 4)))
    want = torch.autograd.grad((noisy_daruan(*leaves, noise) * weights).sum(), leaves)
    got = torch.autograd.grad((shift_rule_daruan(*leaves, noise) * weights).sum(), leaves)
    for g, a in zip(got, want):
        torch.testing.assert_close(g, a, rtol=0, atol=1e-12)


def test_shift_rule_gradients_from_shots_are_unbiased():
    """The mean of many shot-estimated gradients lies within 5 standard errors of the exact
    gradient (a sign or factor error in the rule fails)."""
    from qkan_lib.core.noise import shift_rule_daruan

    noise = NoiseModel(depolarizing=0.01, readout_error_0=0.02, readout_error_1=0.04)
    x, theta, w, b = _leaves(2, (2,))
    exact = torch.autograd.grad(noisy_daruan(x, theta, w, b, noise).sum(), (theta, w, b))
    gen = torch.Generator().manual_seed(11)
    draws = [
        torch.autograd.grad(shift_rule_daruan(x, theta, w, b, noise, 400, gen).sum(), (theta, w, b))
        for _ in range(300)
    ]
    for i, e in enumerate(exact):
        sample = torch.stack([d[i] for d in draws])
        se = sample.std(0) / math.sqrt(len(draws))
        assert torch.all((sample.mean(0) - e).abs() <= 5 * se + 1e-12)
        assert torch.all(sample.std(0) > 0)  # the shots did vary


def test_a_layer_trains_through_the_device_with_exact_gradients():
    from qkan_lib.core.layers import QKANLayer
    from qkan_lib.core.noise import on_device

    torch.manual_seed(1)
    layer = QKANLayer(2, 3, reps=2, dtype=torch.float64)
    x = torch.randn(6, 2, dtype=torch.float64)
    params = [p for p in layer.parameters() if p.requires_grad]
    want = torch.autograd.grad(layer(x).pow(2).sum(), params)
    with on_device(NOISELESS):
        got = torch.autograd.grad(layer(x).pow(2).sum(), params)
    for g, a in zip(got, want):
        torch.testing.assert_close(g, a, rtol=0, atol=1e-10)


# ---------------------------------------------------------------------------------------------
# The QLSTM's circuits on a device: shots only


def _qlstm_leaves(batch=5, depth=2, n=3):
    theta = torch.tensor(RNG.normal(size=(4, depth, n)), requires_grad=True)
    v = torch.tensor(RNG.uniform(-math.pi, math.pi, size=(batch, n)), requires_grad=True)
    return v, theta


def _qlstm_step(theta, n_measured, shots, seed=0):
    from qkan_lib.core.noise import device_circuit_step, on_device

    with on_device(NOISELESS, shots, seed) as run:
        return device_circuit_step(theta, n_measured, run)


def test_qlstm_circuits_without_shots_are_exact_with_autograd_gradients():
    """The shift-rule circuit without shots returns the state-vector simulator's <Z_q> and,
    through the rule for the variational AND the encoding angles, autograd's gradients."""
    from qkan_lib.core.circuits import expectations, variational_unitaries

    v, theta = _qlstm_leaves()
    weights = torch.tensor(RNG.normal(size=(4, 5, 2)))
    exact = expectations(v, variational_unitaries(theta), 2)
    want = torch.autograd.grad((exact * weights).sum(), (v, theta))
    got_z = _qlstm_step(theta, 2, None)(v)
    got = torch.autograd.grad((got_z * weights).sum(), (v, theta))
    torch.testing.assert_close(got_z, exact, rtol=0, atol=1e-13)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=0, atol=1e-12)


def test_qlstm_shot_estimates_follow_each_qubits_marginal_born_probability():
    """Each measured qubit's estimate over many independent rows of one input: mean <Z_q>,
    variance (1 - <Z_q>^2) / N (a binomial draw from its marginal probability), within 5
    standard errors."""
    from qkan_lib.core.circuits import expectations, variational_unitaries

    v, theta = _qlstm_leaves(batch=1)
    exact = expectations(v, variational_unitaries(theta), 3).detach()  # (4, 1, 3)
    shots, rows = 100, 4000
    draws = _qlstm_step(theta.detach(), 3, shots, 5)(v.detach().expand(rows, -1))
    var = (1 - exact**2) / shots
    assert torch.all((draws.mean(1, keepdim=True) - exact).abs() < 5 * torch.sqrt(var / rows))
    spread = draws.var(1, keepdim=True)
    assert torch.all((spread - var).abs() < 5 * var * math.sqrt(2 / (rows - 1)) + 1e-12)
    k = (draws + 1) * shots / 2
    torch.testing.assert_close(k, k.round())


def test_qlstm_shot_gradients_are_unbiased():
    from qkan_lib.core.circuits import expectations, variational_unitaries

    v, theta = _qlstm_leaves(batch=3)
    weights = torch.tensor(RNG.normal(size=(4, 3, 2)))
    exact = torch.autograd.grad(
        (expectations(v, variational_unitaries(theta), 2) * weights).sum(), (v, theta)
    )
    from qkan_lib.utils import intra_op_threads

    with intra_op_threads(1):  # tiny tensors: threads only add overhead
        draws = [
            torch.autograd.grad((_qlstm_step(theta, 2, 400, s)(v) * weights).sum(), (v, theta))
            for s in range(300)
        ]
    for i, e in enumerate(exact):
        sample = torch.stack([d[i] for d in draws])
        se = sample.std(0) / math.sqrt(len(draws))
        assert torch.all((sample.mean(0) - e).abs() <= 5 * se + 1e-12)
        assert torch.all(sample.std(0) > 0)


def test_a_qlstm_on_the_device_is_seeded_and_exact_without_shots():
    from qkan_lib import build_model, load_dataset, predict, reference_path
    from qkan_lib.core.noise import on_device

    torch.manual_seed(0)
    model = build_model("qlstm", "damped_shm", dtype=torch.float64)
    x = load_dataset("damped_shm", 4).x_test[:20]
    plain = predict(model, x)

    def on(shots, seed):
        with reference_path(), on_device(NoiseModel(depolarizing=0.05), shots, seed):
            return predict(model, x)

    # gate noise is not applied to the QLSTM's circuits: exact expectations are the plain model
    torch.testing.assert_close(on(None, 0), plain, rtol=0, atol=1e-12)
    assert torch.equal(on(100, 1), on(100, 1)) and not torch.equal(on(100, 1), on(100, 2))
    assert not torch.allclose(on(100, 1), plain)
