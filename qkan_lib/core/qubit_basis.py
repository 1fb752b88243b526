"""Computational-basis arithmetic for the QLSTM circuits (qubit 0 = most significant bit).

A leaf module: the PyTorch simulator (:mod:`qkan_lib.circuits`) and the compiled kernel
(:mod:`qkan_lib.circuit_kernel`) both build on these index tables, so neither imports the other
for them.
"""

from __future__ import annotations

import functools

import torch


def entangling_pairs(n_qubits: int) -> list[tuple[int, int]]:
    """(control, target) pairs of one brickwork layer: even pairs first, then odd pairs."""
    return [(q, q + 1) for q in range(0, n_qubits - 1, 2)] + [
        (q, q + 1) for q in range(1, n_qubits - 1, 2)
    ]


@functools.lru_cache(maxsize=64)
def cnot_permutation(n_qubits: int, device: torch.device | None = None) -> torch.Tensor:
    """Basis-state permutation of one brickwork entangling layer (even pairs, then odd pairs).

    ``new_state[j] = old_state[index^-1[j]]``; applied in order, each CNOT flips the target bit
    where the control bit is 1.
    """
    index = torch.arange(2**n_qubits, device=device)
    for control, target in entangling_pairs(n_qubits):
        cbit, tbit = 1 << (n_qubits - 1 - control), 1 << (n_qubits - 1 - target)
        index = torch.where(index & cbit != 0, index ^ tbit, index)
    return index


@functools.lru_cache(maxsize=64)
def basis_bits(n_qubits: int, device: torch.device | None = None) -> torch.Tensor:
    """Bit q of every basis index, shape (2^n, n)."""
    shifts = torch.arange(n_qubits - 1, -1, -1, device=device)
    return (torch.arange(2**n_qubits, device=device)[:, None] >> shifts) & 1


@functools.lru_cache(maxsize=64)
def z_signs(
    n_qubits: int,
    n_measured: int,
    dtype: torch.dtype | None = None,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Eigenvalues of Z on qubits 0..n_measured-1 for every basis state: (2^n, n_measured)."""
    return (1 - 2 * basis_bits(n_qubits, device)[:, :n_measured]).to(dtype)
