"""The DARUAN and QLSTM circuits written gate by gate in PennyLane: an independent simulator,
used as the reference in the tests, the benchmark and the chapters that draw the circuits.

PennyLane is a dependency of the book and the tests, not of the library: it is imported when
one of these functions is called.
"""

from __future__ import annotations

from .qubit_basis import entangling_pairs


def pennylane_daruan(reps: int, interface: str = "auto", diff_method: str = "best"):
    """A QNode ``circuit(x, theta, preact_weight, preact_bias) -> <Z>`` of the DARUAN on
    ``default.qubit`` (the circuit of :mod:`qkan_lib.daruan`)."""
    import pennylane as qml  # lazy: PennyLane is heavy, and only the oracle needs it

    dev = qml.device("default.qubit", wires=1)

    @qml.qnode(dev, interface=interface, diff_method=diff_method)
    def circuit(x, theta, preact_weight, preact_bias):
        qml.Hadamard(0)
        for layer in range(reps):
            qml.RZ(theta[layer, 0], 0)
            qml.RY(theta[layer, 1], 0)
            qml.RZ(preact_weight[layer] * x + preact_bias[layer], 0)
        qml.RZ(theta[reps, 0], 0)
        qml.RY(theta[reps, 1], 0)
        return qml.expval(qml.PauliZ(0))

    return circuit


def pennylane_qlstm_circuit(
    n_qubits: int, depth: int, n_measured: int, interface: str = "auto", diff_method: str = "best"
):
    """A QNode ``circuit(v, theta) -> [<Z_0>, ..., <Z_{n_measured-1}>]`` of one QLSTM gate
    circuit (the circuit of :mod:`qkan_lib.circuits`). ``v`` may carry a leading batch axis
    (PennyLane's parameter broadcasting)."""
    import pennylane as qml  # lazy: PennyLane is heavy, and only the oracle needs it

    dev = qml.device("default.qubit", wires=n_qubits)
    pairs = entangling_pairs(n_qubits)

    @qml.qnode(dev, interface=interface, diff_method=diff_method)
    def circuit(v, theta):
        for q in range(n_qubits):
            qml.Hadamard(q)
            qml.RY(v[..., q], q)
        for layer in range(depth):
            for control, target in pairs:
                qml.CNOT([control, target])
            for q in range(n_qubits):
                qml.RY(theta[layer, q], q)
        return [qml.expval(qml.PauliZ(q)) for q in range(n_measured)]

    return circuit
