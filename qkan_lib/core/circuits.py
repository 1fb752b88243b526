"""A batched, real state-vector simulator for the QLSTM circuits of the reference code.

Circuit for one gate (n qubits, qubit 0 = most significant bit, as in PennyLane):

    H on every qubit, RY(v_k) on qubit k                  (angle encoding of v = [x_t, h_{t-1}])
    repeat `depth` times:
        CNOT(0,1), CNOT(2,3), ...  then  CNOT(1,2), CNOT(3,4), ...
        RY(theta[layer, k]) on every qubit k
    measure <Z> on qubits 0 .. hidden - 1

H, RY and CNOT have real matrices, so the whole simulation is real. The encoded
state is a product state built once per step; the variational part is the same
for every step of a sequence, so it is one 2^n x 2^n orthogonal matrix U
computed once per forward pass (:func:`variational_unitaries`), and every step
costs one batched matrix product.
"""

from __future__ import annotations

import torch

from ..utils import KERNEL_DTYPES, check_float_tensor
from .qubit_basis import basis_bits, cnot_permutation, z_signs


def _check_theta(theta: torch.Tensor) -> tuple[int, int]:
    if theta.dim() < 2:
        raise ValueError(f"theta must have shape (..., depth, n_qubits), got {tuple(theta.shape)}")
    depth, n_qubits = theta.shape[-2:]
    if depth < 1 or n_qubits < 1:
        raise ValueError(f"theta needs depth >= 1 and n_qubits >= 1, got {tuple(theta.shape)}")
    if n_qubits > 16:
        raise ValueError(f"{n_qubits} qubits is too many for a dense state-vector simulation")
    return depth, n_qubits


def _ry(angle: torch.Tensor) -> torch.Tensor:
    """RY matrix entries [[c, -s], [s, c]] flattened to (..., 4) for angles of any shape."""
    c, s = torch.cos(angle / 2), torch.sin(angle / 2)
    return torch.stack([c, -s, s, c], -1)


def _kron_layers(entries: torch.Tensor) -> torch.Tensor:
    """Kronecker product of n 2x2 matrices (..., n, 2, 2) -> (..., 2^n, 2^n), as ONE broadcast
    product of n tensors (qubit 0 = most significant bit)."""
    n = entries.shape[-3]
    lead = entries.shape[:-3]
    out = None
    for q in range(n):
        shape = [1] * (2 * n)
        shape[q], shape[n + q] = 2, 2
        factor = entries[..., q, :, :].reshape(*lead, *shape)
        out = factor if out is None else out * factor
    return out.reshape(*lead, 2**n, 2**n)


def variational_unitaries(theta: torch.Tensor) -> torch.Tensor:
    """The real 2^n x 2^n matrix of the variational part, for theta of shape (..., depth, n).

    Each layer is (RY on every qubit) x (CNOT permutation): the Kronecker product built as
    one broadcast product, the permutation folded in as a column gather.
    """
    depth, n_qubits = _check_theta(theta)
    perm = cnot_permutation(n_qubits, theta.device)
    layers = _kron_layers(_ry(theta).unflatten(-1, (2, 2)))[..., perm]  # (..., depth, dim, dim)
    unitary = layers[..., 0, :, :]
    for layer in range(1, depth):
        unitary = layers[..., layer, :, :] @ unitary
    return unitary


def encode(v: torch.Tensor) -> torch.Tensor:
    """Product state RY(v_k) H |0> on every qubit: (batch, n) -> (batch, 2^n), qubit 0 most
    significant."""
    c, s = torch.cos(v / 2), torch.sin(v / 2)
    amplitudes = torch.stack([c - s, s + c], -1) * 2**-0.5  # RY(a) applied to |+>: (batch, n, 2)
    bits = basis_bits(v.shape[-1], v.device)
    qubit = torch.arange(v.shape[-1], device=v.device)
    return amplitudes[:, qubit, bits].prod(-1)


def expectations(v: torch.Tensor, unitary: torch.Tensor, n_measured: int) -> torch.Tensor:
    """<Z_q> for q < n_measured after encoding v and applying unitary (..., 2^n, 2^n).

    Returns shape (..., batch, n_measured): one row per circuit in the leading dims of unitary.
    """
    state = encode(v)
    final = torch.einsum("...ij,bj->...bi", unitary, state)
    signs = z_signs(v.shape[-1], n_measured, unitary.dtype, unitary.device)
    return (final * final) @ signs


def circuit_expectations(v: torch.Tensor, theta: torch.Tensor, n_measured: int) -> torch.Tensor:
    """One-call evaluation of QLSTM circuit(s).

    v (batch, n), theta (..., depth, n) -> (..., batch, n_measured).

    CPU tensors (float32/float64) go through the compiled kernel with an adjoint backward pass
    (:mod:`qkan_lib.circuit_kernel`; first-order gradients only, not for ``torch.func`` transforms);
    other devices and dtypes through :func:`variational_unitaries` and :func:`expectations`.
    """
    check_float_tensor(v, "v", TypeError)
    check_float_tensor(theta, "theta", TypeError)
    if v.dtype != theta.dtype:
        raise TypeError(f"v has dtype {v.dtype} but theta has {theta.dtype}; use one dtype")
    _, n_qubits = _check_theta(theta)
    if v.dim() != 2 or v.shape[-1] != n_qubits:
        raise ValueError(f"circuit input must have shape (batch, {n_qubits}), got {tuple(v.shape)}")
    if not 1 <= n_measured <= n_qubits:
        raise ValueError(f"n_measured must be in 1..{n_qubits}, got {n_measured}")
    if can_use_kernel(v, theta):
        # Imported here, not at the top: the kernel module loads Numba, which `import qkan_lib`
        # should not pay for.
        from ..kernels.circuit import AdjointCircuit

        return AdjointCircuit.apply(v, theta, n_measured)
    return expectations(v, variational_unitaries(theta), n_measured)


def can_use_kernel(v: torch.Tensor, theta: torch.Tensor) -> bool:
    """Whether :func:`circuit_expectations` runs the compiled CPU kernel for these tensors."""
    return (
        v.device.type == theta.device.type == "cpu"
        and theta.dtype in KERNEL_DTYPES
        and v.dtype == theta.dtype
    )
