"""Independent reference implementations used only by the tests."""
import numpy as np

H = np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2)
PAULI_Z = np.diag([1.0, -1.0]).astype(complex)


def rz(a):
    return np.diag([np.exp(-0.5j * a), np.exp(0.5j * a)])


def ry(a):
    c, s = np.cos(a / 2), np.sin(a / 2)
    return np.array([[c, -s], [s, c]], dtype=complex)


def daruan_state(x, theta, w, b):
    """Brute-force complex 2-vector simulation of one DARUAN circuit."""
    psi = H @ np.array([1, 0], dtype=complex)
    reps = len(w)
    for layer in range(reps):
        psi = ry(theta[layer, 1]) @ rz(theta[layer, 0]) @ psi
        psi = rz(w[layer] * x + b[layer]) @ psi
    return ry(theta[reps, 1]) @ rz(theta[reps, 0]) @ psi


def daruan_expectation(x, theta, w, b):
    psi = daruan_state(x, theta, w, b)
    return float(np.real(np.conj(psi) @ PAULI_Z @ psi))


def daruan_amplitude(x, theta, w, b):
    psi = daruan_state(x, theta, w, b)
    return float(abs(psi[0]) - abs(psi[1]))


def pennylane_daruan(reps):
    """A PennyLane QNode of the DARUAN circuit on default.qubit (returns <Z>)."""
    import pennylane as qml

    dev = qml.device("default.qubit", wires=1)

    @qml.qnode(dev)
    def circuit(x, theta, w, b):
        qml.Hadamard(0)
        for layer in range(reps):
            qml.RZ(theta[layer, 0], 0)
            qml.RY(theta[layer, 1], 0)
            qml.RZ(w[layer] * x + b[layer], 0)
        qml.RZ(theta[reps, 0], 0)
        qml.RY(theta[reps, 1], 0)
        return qml.expval(qml.PauliZ(0))

    return circuit


def pennylane_qlstm_circuit(n_qubits, depth, n_measured):
    """The reference QLSTM gate circuit as a PennyLane QNode (default.qubit)."""
    import pennylane as qml

    dev = qml.device("default.qubit", wires=n_qubits)

    @qml.qnode(dev)
    def circuit(v, theta):
        for q in range(n_qubits):
            qml.Hadamard(q)
            qml.RY(v[q], q)
        for layer in range(depth):
            for q in range(0, n_qubits - 1, 2):
                qml.CNOT([q, q + 1])
            for q in range(1, n_qubits - 1, 2):
                qml.CNOT([q, q + 1])
            for q in range(n_qubits):
                qml.RY(theta[layer, q], q)
        return [qml.expval(qml.PauliZ(q)) for q in range(n_measured)]

    return circuit
