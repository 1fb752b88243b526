"""Qiskit Aer as a second oracle of the noisy DARUAN (qkan_lib.core.noise): the circuit written
in Qiskit, the noise built with Aer's own error constructors from the same figures of a named
device model, simulated on Aer's density-matrix simulator.

Tolerance: 1e-12 on <Z> (double-precision rounding over a dozen gates is ~1e-15). The channel
order is part of what is checked: Aer's device models and the library both apply depolarizing
first, then T1/T2 relaxation; the other order moves <Z> by far more than the tolerance."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from qiskit.quantum_info import average_gate_fidelity
from qiskit_aer.noise import depolarizing_error, thermal_relaxation_error

from qkan_lib.core.noise import NoiseModel, noisy_daruan
from qkan_lib.core.qiskit_circuits import (
    aer_agreement,
    aer_daruan,
    aer_noise_model,
    qiskit_daruan,
)
from qkan_lib.data.devices import device_noise_model, load_calibrations, published_noise_model

TOL = 1e-12
# Large errors and long gates: every channel moves <Z> visibly (RZ noisy too).
STRONG = NoiseModel(
    depolarizing=0.02,
    t1=60e-6,
    t2=50e-6,
    gate_time=2e-6,
    readout_error_0=0.02,
    readout_error_1=0.08,
)


@pytest.mark.parametrize(
    "noise",
    [device_noise_model("fez"), published_noise_model("quantinuum_helios"), STRONG],
    ids=["IBM Fez", "Quantinuum Helios", "strong"],
)
def test_aer_density_matrix_matches_the_library(noise):
    gap, n = aer_agreement(noise, reps=(1, 2, 3), circuits_per_reps=4, seed=11)
    assert n == 12
    assert gap < TOL
    # the noise mattered: the noiseless library value is far from Aer's
    clean = dataclasses.replace(noise, depolarizing=0.0, t1=None, t2=None, gate_time=0.0,
                                readout_error_0=0.0, readout_error_1=0.0)
    assert aer_agreement(clean, seed=11)[0] < TOL
    rng = np.random.default_rng(11)
    theta, w, b = rng.uniform(-math.pi, math.pi, (3, 2)), rng.normal(size=2), rng.normal(size=2)
    circuit = qiskit_daruan(0.7, theta, w, b)
    noisy, exact = aer_daruan([circuit], noise)[0], aer_daruan([circuit], clean)[0]
    assert abs(noisy - exact) > 1e-4


@pytest.mark.parametrize("noise", [device_noise_model("fez"), STRONG], ids=["IBM Fez", "strong"])
def test_the_channel_order_matters_and_is_aers(noise):
    """Relaxation before depolarizing (not Aer's device order, not the library's) disagrees by
    far more than the tolerance, so the test above checks the order too."""
    gap, _ = aer_agreement(noise, seed=3, relaxation_first=True)
    assert gap > 1e3 * TOL


def test_aer_shots_and_its_readout_error_match_the_exact_value():
    """Aer measuring and misreading the qubit itself: the mean of 200 000 shots lies within 5
    standard errors of the library's exact <Z>. Swapping e0 and e1 would move it by 0.12, 50
    standard errors."""
    rng = np.random.default_rng(5)
    shots, circuits, ours = 200_000, [], []
    for reps in (1, 2, 3):
        theta = rng.uniform(-math.pi, math.pi, (reps + 1, 2))
        w, b = rng.normal(size=reps), rng.normal(size=reps)
        x = float(rng.normal())
        circuits.append(qiskit_daruan(x, theta, w, b))
        t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
        ours.append(float(noisy_daruan(t(x), t(theta), t(w), t(b), STRONG)))
    sampled = aer_daruan(circuits, STRONG, shots=shots, seed=7)
    ours = np.array(ours)
    se = np.sqrt((1 - ours**2) / shots)
    assert np.all(np.abs(sampled - ours) < 5 * se)
    # and the estimates are on the grid 2k/shots - 1
    k = (sampled + 1) * shots / 2
    np.testing.assert_allclose(k, np.round(k), atol=1e-6)


def test_relaxation_infidelity_and_the_device_gate_error_agree_with_qiskit():
    """The device model of IBM Fez from its calibration: the relaxation part's average gate
    infidelity equals Qiskit's ``average_gate_fidelity`` of Aer's ``thermal_relaxation_error``,
    and the whole noisy gate (depolarizing then relaxation) has the calibrated gate error of two
    sx pulses to within 2 eps_relax eps_gate: the library adds infidelities, Aer's device model
    composes fidelities (its depolarizing parameter is larger by 1 / (1 - 2 eps_relax))."""
    from qkan_lib.data.devices import SX_PER_GATE, relaxation_infidelity

    noise = device_noise_model("fez")
    relax = thermal_relaxation_error(noise.t1, noise.t2, noise.gate_time)
    eps_relax = 1 - average_gate_fidelity(relax)
    assert abs(eps_relax - relaxation_infidelity(noise.gate_time, noise.t1, noise.t2)) < 1e-15
    eps_gate = 1 - (1 - float(load_calibrations("fez")["sx_error"].median())) ** SX_PER_GATE
    gate = depolarizing_error(4 * noise.depolarizing / 3, 1).compose(relax)
    eps_model = 1 - average_gate_fidelity(gate)
    assert 0 < eps_relax < eps_gate
    assert abs(eps_model - eps_gate) <= 2 * eps_relax * eps_gate
    assert abs(eps_model - eps_gate) / eps_gate < 1e-3


def test_the_noisy_gates_carry_the_error():
    """With virtual RZ only H and RY are noisy (the IBM models), otherwise RZ too; a readout
    error sits on the measurement."""
    assert set(aer_noise_model(device_noise_model("fez")).noise_instructions) == {
        "h", "ry", "measure"
    }
    assert set(aer_noise_model(STRONG).noise_instructions) == {"h", "ry", "rz", "measure"}
    ideal = published_noise_model("oxford_ionics")  # no SPAM figure published: perfect readout
    assert set(aer_noise_model(ideal).noise_instructions) == {"h", "ry"}


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: aer_noise_model("fez"), TypeError, "noise"),
        (lambda: qiskit_daruan(0.1, np.zeros((3, 3)), np.zeros(2), np.zeros(2)), ValueError,
         "theta"),
        (lambda: qiskit_daruan(0.1, np.zeros((3, 2)), np.zeros(3), np.zeros(2)), ValueError,
         "preact_weight"),
        (lambda: qiskit_daruan(float("nan"), np.zeros((3, 2)), np.zeros(2), np.zeros(2)),
         ValueError, "x"),
        (lambda: qiskit_daruan("0.1", np.zeros((3, 2)), np.zeros(2), np.zeros(2)), TypeError,
         "x"),
        (lambda: aer_daruan([], STRONG, shots=0), ValueError, "shots"),
        (lambda: aer_agreement(STRONG, circuits_per_reps=0), ValueError, "circuits_per_reps"),
        (lambda: aer_agreement(STRONG, reps=(0,)), ValueError, "reps"),
    ],
)
def test_bad_input_names_the_parameter(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
