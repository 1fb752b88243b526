"""The noisy DARUAN in Qiskit, simulated by Qiskit Aer: a second independent oracle for
:mod:`qkan_lib.core.noise`, beside PennyLane's mixed-state simulator.

The circuit is the DARUAN gate by gate (H, then per block RZ(theta_l0) RY(theta_l1) and the
data re-upload RZ(w_l x + b_l), then the last block), and the noise model is built with Aer's
own error constructors from the figures of a :class:`~qkan_lib.core.noise.NoiseModel`:

* ``depolarizing_error(4 p / 3, 1)``: Aer's parameter lambda is the weight of the completely
  depolarizing channel, rho -> (1 - lambda) rho + lambda I / 2; the library's ``depolarizing``
  is PennyLane's p of (1 - p) rho + p/3 (X rho X + Y rho Y + Z rho Z), the same channel for
  lambda = 4 p / 3;
* ``thermal_relaxation_error(T1, T2, gate_time)``: T1 and T2 relaxation in one channel (the
  library's amplitude damping followed by phase damping; the two commute, and T2 = None means
  T2 = 2 T1, no dephasing beyond T1);
* composed as ``depolarizing.compose(relaxation)``: depolarizing first, then relaxation, the
  order of Aer's own device noise models (``NoiseModel.from_backend``) and of the library.
  The order matters: relaxation pulls towards |0>, and depolarizing after it would shrink
  that pull too (see :func:`aer_noise_model`'s ``relaxation_first``);
* attached after every noisy gate: the H and the RY gates, and the RZ gates unless
  ``virtual_z``;
* ``ReadoutError([[1 - e0, e0], [e1, 1 - e1]])``: rows are the prepared state, columns the
  outcome read.

The exact value (:func:`aer_daruan` without shots) is Aer's density matrix's probabilities
(``save_probabilities``) times the readout error's matrix, because Aer applies readout error
only to sampled measurement outcomes; with shots, Aer measures and applies its readout error
itself.

Qiskit and Qiskit Aer are dependencies of the book and the tests, not of the library: they are
imported when one of these functions is called.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .noise import NoiseModel, check_shots, noisy_daruan


def _check_circuit(x, theta, preact_weight, preact_bias):
    theta = np.asarray(theta, dtype=float)
    if theta.ndim != 2 or theta.shape[1] != 2:
        raise ValueError(f"theta must have shape (reps + 1, 2), got {theta.shape}")
    reps = theta.shape[0] - 1
    w = np.asarray(preact_weight, dtype=float).reshape(-1)
    b = np.asarray(preact_bias, dtype=float).reshape(-1)
    if w.shape != (reps,) or b.shape != (reps,):
        raise ValueError(
            f"preact_weight and preact_bias must have shape ({reps},) for theta of shape "
            f"{theta.shape}, got {w.shape} and {b.shape}"
        )
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating)):
        raise TypeError(f"x must be a real number, got {type(x).__name__}")
    if not (math.isfinite(x) and np.isfinite(theta).all() and np.isfinite(w).all()
            and np.isfinite(b).all()):
        raise ValueError("x, theta, preact_weight and preact_bias must be finite")
    return float(x), theta, w, b


def qiskit_daruan(x, theta, preact_weight, preact_bias):
    """The DARUAN of :mod:`qkan_lib.core.daruan` at one input ``x`` as a one-qubit Qiskit
    ``QuantumCircuit`` without measurement (``theta``: (reps + 1, 2); weights and biases:
    (reps,))."""
    from qiskit import QuantumCircuit  # lazy: Qiskit is heavy, and only the oracle needs it

    x, theta, w, b = _check_circuit(x, theta, preact_weight, preact_bias)
    reps = len(w)
    circuit = QuantumCircuit(1)
    circuit.h(0)
    for layer in range(reps + 1):
        circuit.rz(theta[layer, 0], 0)
        circuit.ry(theta[layer, 1], 0)
        if layer < reps:
            circuit.rz(w[layer] * x + b[layer], 0)
    return circuit


def aer_readout_error(noise: NoiseModel):
    """Aer's ``ReadoutError`` of ``noise`` (rows: the state prepared, columns: the outcome
    read), or None when the readout is perfect."""
    from qiskit_aer.noise import ReadoutError  # lazy: Qiskit Aer is heavy, only the oracle needs it

    if not isinstance(noise, NoiseModel):
        raise TypeError(f"noise must be a NoiseModel, got {type(noise).__name__}")
    e0, e1 = noise.readout_error_0, noise.readout_error_1
    if e0 == 0 and e1 == 0:
        return None
    return ReadoutError([[1 - e0, e0], [e1, 1 - e1]])


def aer_noise_model(noise: NoiseModel, relaxation_first: bool = False):
    """A Qiskit Aer ``NoiseModel`` with ``noise``'s figures, built with Aer's error
    constructors (see the module docstring). ``relaxation_first=True`` composes the channels
    the other way round (relaxation, then depolarizing): not the library's model, kept to show
    that the order matters."""
    # lazy: Qiskit Aer is heavy, and only the oracle needs it
    from qiskit_aer.noise import NoiseModel as AerNoiseModel
    from qiskit_aer.noise import depolarizing_error, thermal_relaxation_error

    if not isinstance(noise, NoiseModel):
        raise TypeError(f"noise must be a NoiseModel, got {type(noise).__name__}")
    error = None
    if noise.depolarizing > 0:
        error = depolarizing_error(4 * noise.depolarizing / 3, 1)
    if noise.t1 is not None or noise.t2 is not None:
        t1 = math.inf if noise.t1 is None else noise.t1
        t2 = 2 * t1 if noise.t2 is None else noise.t2
        relax = thermal_relaxation_error(t1, t2, noise.gate_time)
        if error is None:
            error = relax
        else:
            error = relax.compose(error) if relaxation_first else error.compose(relax)
    model = AerNoiseModel(basis_gates=["h", "rz", "ry"])
    if error is not None:
        gates = ["h", "ry"] if noise.virtual_z else ["h", "ry", "rz"]
        model.add_all_qubit_quantum_error(error, gates)
    readout = aer_readout_error(noise)
    if readout is not None:
        model.add_all_qubit_readout_error(readout)
    return model


def aer_daruan(
    circuits,
    noise: NoiseModel,
    shots: int | None = None,
    seed: int = 0,
    relaxation_first: bool = False,
) -> np.ndarray:
    """<Z> of each circuit of ``circuits`` (from :func:`qiskit_daruan`) on Aer's density-matrix
    simulator with :func:`aer_noise_model` of ``noise``, as the device reports it: exactly
    (``shots=None``: the density matrix's probabilities through the readout error's matrix) or
    the mean of ``shots`` outcomes measured and misread by Aer (seeded by ``seed``)."""
    from qiskit_aer import AerSimulator  # lazy: Qiskit Aer is heavy, and only the oracle needs it

    shots = check_shots(shots)
    circuits = list(circuits)
    model = aer_noise_model(noise, relaxation_first)
    # no gate fusion: every gate and its error are simulated one after the other
    simulator = AerSimulator(method="density_matrix", noise_model=model, fusion_enable=False)
    runs = []
    for circuit in circuits:
        run = circuit.copy()
        if shots is None:
            run.save_probabilities()
        else:
            run.measure_all()
        runs.append(run)
    if shots is None:
        result = simulator.run(runs, shots=1, seed_simulator=seed).result()
        probs = np.array([result.data(i)["probabilities"] for i in range(len(runs))])
        readout = aer_readout_error(noise)
        if readout is not None:
            probs = probs @ np.asarray(readout.probabilities)
        return probs[:, 0] - probs[:, 1]
    result = simulator.run(runs, shots=shots, seed_simulator=seed).result()
    counts = [result.get_counts(i) for i in range(len(runs))]
    return np.array([(c.get("0", 0) - c.get("1", 0)) / shots for c in counts])


def aer_agreement(
    noise: NoiseModel,
    reps=(1, 2, 3),
    circuits_per_reps: int = 4,
    seed: int = 0,
    relaxation_first: bool = False,
) -> tuple[float, int]:
    """Largest |<Z>_Aer - <Z>_library| (exact expectations, readout error included) over
    ``circuits_per_reps`` random DARUANs per number of blocks in ``reps`` (angles uniform in
    [-pi, pi], weights and biases and the input standard normal), and how many circuits
    (``relaxation_first``: Aer's channels in the other order, see :func:`aer_noise_model`)."""
    if isinstance(circuits_per_reps, bool) or not isinstance(circuits_per_reps, int):
        raise TypeError(
            f"circuits_per_reps must be an int, got {type(circuits_per_reps).__name__}"
        )
    if circuits_per_reps < 1:
        raise ValueError(f"circuits_per_reps must be >= 1, got {circuits_per_reps}")
    rng = np.random.default_rng(seed)
    ours, built = [], []
    for r in reps:
        if isinstance(r, bool) or not isinstance(r, int) or r < 1:
            raise ValueError(f"reps must hold ints >= 1, got {r!r}")
        for _ in range(circuits_per_reps):
            theta = rng.uniform(-math.pi, math.pi, size=(r + 1, 2))
            w, b = rng.normal(size=r), rng.normal(size=r)
            x = float(rng.normal())
            built.append(qiskit_daruan(x, theta, w, b))
            t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
            ours.append(float(noisy_daruan(t(x), t(theta), t(w), t(b), noise)))
    aer = aer_daruan(built, noise, relaxation_first=relaxation_first)
    return float(np.max(np.abs(aer - np.array(ours)))), len(built)
