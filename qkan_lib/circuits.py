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


def _check_theta(theta: torch.Tensor) -> tuple[int, int]:
    if theta.dim() < 2:
        raise ValueError(f"theta must have shape (..., depth, n_qubits), got {tuple(theta.shape)}")
    depth, n_qubits = theta.shape[-2:]
    if depth < 1 or n_qubits < 1:
        raise ValueError(f"theta needs depth >= 1 and n_qubits >= 1, got {tuple(theta.shape)}")
    if n_qubits > 16:
        raise ValueError(f"{n_qubits} qubits is too many for a dense state-vector simulation")
    return depth, n_qubits


def cnot_permutation(n_qubits: int, device=None) -> torch.Tensor:
    """Basis-state permutation of one brickwork entangling layer (even pairs, then odd pairs)."""
    index = torch.arange(2**n_qubits, device=device)
    pairs = [(q, q + 1) for q in range(0, n_qubits - 1, 2)] + [(q, q + 1) for q in range(1, n_qubits - 1, 2)]
    for control, target in pairs:  # applied in order; each CNOT flips target where control is 1
        cbit, tbit = 1 << (n_qubits - 1 - control), 1 << (n_qubits - 1 - target)
        index = torch.where(index & cbit != 0, index ^ tbit, index)
    return index  # new_state[j] = old_state[index^-1[j]]; a product of CNOTs is an involution per pair


def _ry(angle: torch.Tensor) -> torch.Tensor:
    """RY matrices, shape (..., 2, 2), for angles of any shape."""
    c, s = torch.cos(angle / 2), torch.sin(angle / 2)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)


def _kron_all(mats: torch.Tensor) -> torch.Tensor:
    """Kronecker product over the second-to-last-but-two axis: (..., n, 2, 2) -> (..., 2^n, 2^n)."""
    out = mats[..., 0, :, :]
    for q in range(1, mats.shape[-3]):
        m = mats[..., q, :, :]
        out = torch.einsum("...ab,...cd->...acbd", out, m)
        out = out.reshape(*out.shape[:-4], out.shape[-4] * 2, out.shape[-2] * 2)
    return out


def variational_unitaries(theta: torch.Tensor) -> torch.Tensor:
    """The real 2^n x 2^n matrix of the variational part, for theta of shape (..., depth, n)."""
    depth, n_qubits = _check_theta(theta)
    perm = cnot_permutation(n_qubits, theta.device)
    rotations = _kron_all(_ry(theta))  # (..., depth, 2^n, 2^n): one RY layer per depth
    dim = 2**n_qubits
    unitary = torch.eye(dim, dtype=theta.dtype, device=theta.device).expand(*theta.shape[:-2], dim, dim)
    inverse = torch.argsort(perm)
    for layer in range(depth):
        # CNOT layer permutes rows (new[j] = old[perm^-1[j]]), then the RY layer multiplies.
        unitary = rotations[..., layer, :, :] @ unitary[..., inverse, :]
    return unitary


def encode(v: torch.Tensor) -> torch.Tensor:
    """Product state RY(v_k) H |0> on every qubit: (batch, n) -> (batch, 2^n), qubit 0 most significant."""
    c, s = torch.cos(v / 2), torch.sin(v / 2)
    amp0, amp1 = (c - s) / 2**0.5, (s + c) / 2**0.5  # RY(a) applied to |+>
    qubits = torch.stack([amp0, amp1], -1)  # (batch, n, 2)
    state = qubits[:, 0]
    for q in range(1, v.shape[-1]):
        state = (state.unsqueeze(-1) * qubits[:, q].unsqueeze(-2)).reshape(v.shape[0], -1)
    return state


def z_signs(n_qubits: int, n_measured: int, dtype=None, device=None) -> torch.Tensor:
    """Eigenvalues of Z on qubits 0..n_measured-1 for every basis state: (2^n, n_measured)."""
    index = torch.arange(2**n_qubits, device=device)
    bits = torch.stack([(index >> (n_qubits - 1 - q)) & 1 for q in range(n_measured)], -1)
    return (1 - 2 * bits).to(dtype)


def expectations(v: torch.Tensor, unitary: torch.Tensor, n_measured: int) -> torch.Tensor:
    """<Z_q> for q < n_measured after encoding v and applying unitary (..., 2^n, 2^n).

    Returns shape (..., batch, n_measured): one row per circuit in the leading dims of unitary.
    """
    state = encode(v)
    final = torch.einsum("...ij,bj->...bi", unitary, state)
    signs = z_signs(v.shape[-1], n_measured, unitary.dtype, unitary.device)
    return (final * final) @ signs


def circuit_expectations(v: torch.Tensor, theta: torch.Tensor, n_measured: int) -> torch.Tensor:
    """One-call evaluation of QLSTM circuit(s): v (batch, n), theta (..., depth, n) -> (..., batch, n_measured)."""
    _, n_qubits = _check_theta(theta)
    if v.dim() != 2 or v.shape[-1] != n_qubits:
        raise ValueError(f"circuit input must have shape (batch, {n_qubits}), got {tuple(v.shape)}")
    if not 1 <= n_measured <= n_qubits:
        raise ValueError(f"n_measured must be in 1..{n_qubits}, got {n_measured}")
    return expectations(v, variational_unitaries(theta), n_measured)
