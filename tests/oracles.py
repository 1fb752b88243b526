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
