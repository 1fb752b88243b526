"""The QLSTM circuits on the CPU: a NumPy state-vector kernel with an adjoint backward pass.

A QLSTM circuit is small (2^n = 64 amplitudes for n = 6), so on a CPU its cost is the
per-call overhead of the array library, not arithmetic. NumPy's overhead per call is a
third or less of PyTorch's, and the hand-written backward below needs about a dozen calls
where autograd would replay some forty nodes. :func:`qkan_lib.circuits.circuit_expectations`
uses this kernel for CPU tensors of dtype float32/float64 and the PyTorch simulator
otherwise (GPU, other dtypes); both are tested against PennyLane.

Notation (``dim = 2^n``, qubit 0 the most significant bit, states stored as rows):

* ``S`` (batch, dim): the encoded product states, ``S[b, i] = prod_q a_q[b, bit_q(i)]``.
* ``L_l`` (dim, dim): layer l, the CNOT brickwork followed by RY(theta_l) on every qubit, so
  ``phi_l = phi_{l-1} L_l^T`` with ``phi_0 = S``, and ``<Z_q> = sum_i phi_D[b, i]^2 z[i, q]``.
* Adjoint states: ``lam_D = 2 phi_D * (grad @ z^T)``, ``lam_{l-1} = lam_l L_l``.
* ``dRY(t)/dt = (A/2) RY(t)`` with the real matrix ``A = [[0, -1], [1, 0]]``, so
  ``dL/dtheta_{l,q} = 1/2 sum_b lam_l[b] . (A_q phi_l[b]) = sum_i h_q(i) N_l[flip_q(i), i]``
  with ``N_l = phi_l^T lam_l`` and ``h_q(i) = +1/2`` where bit q of i is 1, ``-1/2`` where it
  is 0. The encoding RY(v_q) obeys the same rule, which gives ``dL/dv`` from ``lam_0`` and ``S``.
* ``N_l = (S L_1^T..L_l^T)^T (G L_D..L_{l+1})`` is a matrix chain. Through the states
  (``phi_l``, ``lam_l``) it costs about ``(3D - 1) batch dim^2`` multiply-adds; through the
  prefixes ``P_l = L_1^T..L_l^T`` and ``C = S^T G`` about ``((3D - 2) dim + 2 batch) dim^2``.
  The kernel takes the cheaper bracketing (the states for small batches).
* Kronecker products are built from two registers, qubits [0, n//2) and [n//2, n), with the
  long axis (columns of a layer, the batch of a state) last, so NumPy's inner loops are long.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from .circuits import cnot_permutation

KERNEL_DTYPES = (torch.float32, torch.float64)

# RY(t) = [[c, -s], [s, c]] flattened is cos(t/2 + PHASE); RY(v)H|0> = cos(v/2 + ENCODE_PHASE).
PHASE = np.array([0.0, np.pi / 2, -np.pi / 2, 0.0])
ENCODE_PHASE = np.array([np.pi / 4, -np.pi / 4])


def _bits(values: np.ndarray, n: int) -> np.ndarray:
    return (values[..., None] >> np.arange(n - 1, -1, -1)) & 1


@functools.lru_cache(maxsize=64)
def _kronecker_index(n: int, groups: int, batch: int) -> np.ndarray:
    """Where, in the flat factor table of :func:`_factor_table`, each factor of the two registers
    (qubits [0, n//2) and [n//2, n), the first padded with the table's final 1 to k = n - n//2
    qubits) is found. Shape (k, 2 registers, 2^k rows, groups * dim + batch columns):
    column (g, j) holds layer g's entry (i, j), factor 2 bit_q(i) + bit_q(perm(j)) of RY(theta_gq)
    (the CNOT permutation folded in); column groups * dim + b holds the encoded state of row b,
    factor bit_q(i) of RY(v_bq) H|0>."""
    k, dim = n - n // 2, 2**n
    layer_columns = np.arange(groups)[:, None] * 4 * n + 4 * np.arange(n) + _bits(cnot_permutation(n).numpy(), n)[:, None]
    layer_columns = layer_columns.transpose(1, 0, 2).reshape(groups * dim, n)            # (g, j) -> per-qubit start
    state_columns = groups * 4 * n + np.arange(batch)[:, None] * 2 * n + 2 * np.arange(n)
    start = np.concatenate([layer_columns, state_columns])                               # (columns, n)
    row_step = np.concatenate([np.full(groups * dim, 2), np.ones(batch, dtype=np.int64)])  # row bit weight
    row_bits = _bits(np.arange(2**k), k)                                                 # (2^k, k)
    index = np.full((k, 2, 2**k, start.shape[0]), groups * 4 * n + batch * 2 * n)         # default: the final 1
    for register, qubits in enumerate((range(n // 2), range(n // 2, n))):
        for p, q in enumerate(qubits, start=k - len(qubits)):                            # low bits of the padded row
            index[p, register] = start[:, q] + row_step * row_bits[:, p, None]
    return index


@functools.lru_cache(maxsize=16)
def _constants(n: int, n_measured: int, dtype: np.dtype) -> dict:
    index = np.arange(2**n)
    bits = _bits(index, n)
    flip = index[None, :] ^ (1 << (n - 1 - np.arange(n)))[:, None]          # (n, dim)
    z = (1 - 2 * bits[:, :n_measured]).astype(dtype)
    return {"phase": PHASE.astype(dtype), "encode": ENCODE_PHASE.astype(dtype), "zero": np.zeros(1, dtype),
            "z": z, "z2": 2 * z.T, "flip": flip, "pair": flip * 2**n + index, "half_sign": (bits.T - 0.5).astype(dtype)}


def _factor_table(v: np.ndarray, theta: np.ndarray, c: dict) -> np.ndarray:
    """cos of every angle: RY(theta) entries [c, -s, s, c], then (cos, sin)(v/2 + pi/4) = RY(v)H|0>,
    then cos(0) = 1 for padding."""
    return np.cos(np.concatenate([(theta[..., None] * 0.5 + c["phase"]).reshape(-1),
                                  (v[..., None] * 0.5 + c["encode"]).reshape(-1), c["zero"]]))


def layers_and_states(v: np.ndarray, theta: np.ndarray, c: dict) -> tuple[np.ndarray, np.ndarray]:
    """Layer matrices L (..., depth, dim, dim) and encoded states S (batch, dim), from one gather
    and one product over the qubits of each register (both are views of one array)."""
    batch, n = v.shape
    dim, groups = 2**n, theta[..., 0].size
    picked = _factor_table(v, theta, c).take(_kronecker_index(n, groups, batch))
    registers = np.multiply.reduce(picked, axis=0)                          # (2, 2^k, columns)
    products = (registers[0, -2 ** (n // 2):, None, :] * registers[1, None, :, :]).reshape(dim, -1)
    layers = products[:, :groups * dim].reshape(dim, groups, dim).swapaxes(0, 1)
    return layers.reshape(*theta.shape[:-1], dim, dim), products[:, groups * dim:].T


def _generator_sum(left: np.ndarray, right: np.ndarray, c: dict) -> np.ndarray:
    """sum_i right[q, i] left[..., flip_q(i), i]: (..., dim, dim) -> (..., n)."""
    picked = left.reshape(*left.shape[:-2], -1).take(c["pair"], axis=-1)   # (..., n, dim)
    return (picked * right).sum(-1)


def through_states_is_cheaper(batch: int, depth: int, dim: int) -> bool:
    """Multiply-add counts of the two bracketings of the adjoint matrix chain (see module doc)."""
    return (3 * depth - 1) * batch <= (3 * depth - 2) * dim + 2 * batch


def forward(v: np.ndarray, theta: np.ndarray, c: dict, through_states: bool | None = None):
    """<Z_q> (..., batch, n_measured) and what :func:`backward` needs. ``through_states``
    picks the bracketing (None: the cheaper one); both give the same numbers."""
    batch, depth, dim = v.shape[0], theta.shape[-2], 2 ** theta.shape[-1]
    layers, states = layers_and_states(v, theta, c)
    layers_t = layers.swapaxes(-1, -2)
    if through_states is None:
        through_states = through_states_is_cheaper(batch, depth, dim)
    # chain[..., l, :, :] = phi_{l+1} (states) or P_{l+1} = L_1^T .. L_{l+1}^T (unitary prefixes)
    chain = np.empty((*theta.shape[:-2], depth, batch if through_states else dim, dim), dtype=layers.dtype)
    if through_states:
        np.matmul(states, layers_t[..., 0, :, :], out=chain[..., 0, :, :])
    else:
        chain[..., 0, :, :] = layers_t[..., 0, :, :]
    for layer in range(1, depth):
        np.matmul(chain[..., layer - 1, :, :], layers_t[..., layer, :, :], out=chain[..., layer, :, :])
    phi = chain[..., -1, :, :] if through_states else states @ chain[..., -1, :, :]
    return (phi * phi) @ c["z"], (states, layers_t, phi, chain, through_states)


def backward(grad: np.ndarray, saved, c: dict, need_v: bool):
    """Gradients (d/dv or None, d/dtheta) from the upstream gradient of the outputs."""
    states, layers_t, phi, chain, through_states = saved
    depth = layers_t.shape[-3]
    layers = layers_t.swapaxes(-1, -2)
    # tails[..., l, :, :] = lam_{l+1} (states) or C L_D .. L_{l+2} with C = S^T lam_D (unitary)
    tails = np.empty_like(chain)
    if through_states:
        adjoint = np.multiply(phi, grad @ c["z2"], out=tails[..., -1, :, :])  # lam_D
    else:
        adjoint = phi * (grad @ c["z2"])
        np.matmul(states.T, adjoint, out=tails[..., -1, :, :])
    for layer in range(depth - 1, 0, -1):
        np.matmul(tails[..., layer, :, :], layers[..., layer, :, :], out=tails[..., layer - 1, :, :])
    g_theta = _generator_sum(chain.swapaxes(-1, -2) @ tails, c["half_sign"], c)
    g_v = None
    if need_v:
        if through_states:
            lam0 = tails[..., 0, :, :] @ layers[..., 0, :, :]
        else:
            lam0 = adjoint @ chain[..., -1, :, :].swapaxes(-1, -2)
        if lam0.ndim > 2:
            lam0 = lam0.sum(tuple(range(lam0.ndim - 2)))
        flipped = states.take(c["flip"], axis=-1)                            # (batch, n, dim)
        g_v = (flipped * (lam0[:, None, :] * c["half_sign"])).sum(-1)
    return g_v, g_theta


def value_and_grad(v: np.ndarray, theta: np.ndarray, n_measured: int, upstream: np.ndarray | None = None,
                   through_states: bool | None = None):
    """NumPy in, NumPy out: <Z_q> (..., batch, n_measured) and the gradients of
    ``sum(upstream * <Z>)`` (upstream defaults to ones) w.r.t. v and theta."""
    c = _constants(theta.shape[-1], n_measured, theta.dtype)
    out, saved = forward(v, theta, c, through_states)
    g_v, g_theta = backward(np.ones_like(out) if upstream is None else upstream, saved, c, need_v=True)
    return out, g_v, g_theta


class AdjointCircuit(torch.autograd.Function):
    """<Z_q> of QLSTM circuits for CPU tensors: v (batch, n), theta (..., depth, n)."""

    @staticmethod
    def forward(ctx, v, theta, n_measured):
        theta_np = theta.detach().numpy()
        c = _constants(theta.shape[-1], n_measured, theta_np.dtype)
        out, ctx.saved = forward(v.detach().numpy(), theta_np, c)
        ctx.constants = c
        return torch.from_numpy(out)

    @staticmethod
    def backward(ctx, grad):
        if torch.is_grad_enabled():  # NumPy results carry no graph: refuse rather than return wrong higher derivatives
            raise RuntimeError("circuit_expectations on the CPU supports first-order gradients only; "
                               "use variational_unitaries + expectations for create_graph=True")
        g_v, g_theta = backward(grad.numpy(), ctx.saved, ctx.constants, ctx.needs_input_grad[0])
        return (None if g_v is None else torch.from_numpy(g_v)), torch.from_numpy(g_theta), None


def can_use_kernel(v: torch.Tensor, theta: torch.Tensor) -> bool:
    return (v.device.type == theta.device.type == "cpu" and theta.dtype in KERNEL_DTYPES
            and v.dtype == theta.dtype)
