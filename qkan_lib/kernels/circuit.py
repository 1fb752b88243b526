"""The QLSTM circuits on the CPU: a compiled state-vector kernel with an adjoint backward pass.

A QLSTM circuit is small (2^n = 64 amplitudes for n = 6), so on a CPU its cost is the
per-call overhead of the array library, not arithmetic: autograd through the PyTorch
simulator replays some forty small nodes. This kernel is compiled with Numba (on first
use; the machine code is cached on disk), so a forward or backward pass is one call: the
Kronecker products and gradient sums are plain loops, the matrix products go to BLAS in
blocks small enough to stay on the calling thread.
:func:`qkan_lib.circuits.circuit_expectations` uses it for CPU tensors of dtype
float32/float64, and the PyTorch simulator otherwise (GPU, other dtypes); both are tested
against PennyLane. ``NUMBA_DISABLE_JIT=1`` runs the same functions as plain Python, to step
through them.

Notation (``dim = 2^n``, qubit 0 the most significant bit, states stored as rows):

* ``S`` (batch, dim): the encoded product states, ``S[b, i] = prod_q a_q[b, bit_q(i)]`` with
  ``a_q = RY(v_q) H|0> = (cos, sin)(v_q/2 + pi/4)``.
* ``L_l`` (dim, dim): layer l, the CNOT brickwork P followed by RY(theta_l) on every qubit,
  ``L_l = K_l P``; ``phi_l = phi_{l-1} L_l^T`` with ``phi_0 = S``; ``<Z_q> = sum_i phi_D[b, i]^2
  z[i, q]``.
* Adjoint states: ``lam_D = 2 phi_D * (grad @ z^T)``, ``lam_{l-1} = lam_l L_l``.
* ``dRY(t)/dt = (A/2) RY(t)`` with the real matrix ``A = [[0, -1], [1, 0]]``, so
  ``dL/dtheta_{l,q} = 1/2 sum_b lam_l[b] . (A_q phi_l[b]) = sum_i h_q(i) N_l[flip_q(i), i]``
  with ``N_l = phi_l^T lam_l`` and ``h_q(i) = +1/2`` where bit q of i is 1, ``-1/2`` where it
  is 0. The encoding RY(v_q) obeys the same rule, which gives ``dL/dv`` from ``lam_0`` and ``S``.
* ``N_l = (S L_1^T..L_l^T)^T (G L_D..L_{l+1})`` is a matrix chain. Through the states
  (``phi_l``, ``lam_l``) it costs about ``(3D - 1) batch dim^2`` multiply-adds; through the
  prefixes ``P_l = L_1^T..L_l^T`` and ``C = S^T G`` about ``((3D - 2) dim + 2 batch) dim^2``.
  The kernel takes the cheaper bracketing (the states for small batches).
"""

from __future__ import annotations

import functools

import numba
import numpy as np
import torch

from ..core.qubit_basis import cnot_permutation, z_signs
from .paths import SINGLE_THREAD_GEMM

QUARTER_TURN = np.pi / 4

jit = functools.partial(numba.njit, cache=True)


@jit
def _rows_per_call(*sizes):
    """Rows per BLAS call so that every call stays single-threaded: a pass makes a few dozen
    small calls, where waking BLAS threads costs more than they save (and competes with
    PyTorch's own thread pool on a small machine)."""
    product = 1
    for size in sizes:
        product *= size
    rows = 1
    while 2 * rows * product <= SINGLE_THREAD_GEMM:  # a power of two, so blocks split evenly
        rows *= 2
    return rows


@jit
def _matmul(a, b, out):
    """out[:] = a @ b in blocks of rows of a; returns out."""
    block = _rows_per_call(a.shape[1], b.shape[1])
    for start in range(0, a.shape[0], block):
        np.dot(a[start : start + block], b, out[start : start + block])
    return out


@jit
def _matmul_tn(a, b):
    """a^T @ b, summed over blocks of the shared rows of a and b."""
    block = _rows_per_call(a.shape[1], b.shape[1])
    out = np.dot(a[:block].T, b[:block])
    for start in range(block, a.shape[0], block):
        out += np.dot(a[start : start + block].T, b[start : start + block])
    return out


@jit
def _rotations_kron(angles, first, count, out, work):
    """RY(angles[first]) x ... x RY(angles[first + count - 1]) into out[:2^count, :2^count]."""
    out[0, 0] = 1.0
    size = 1
    for p in range(count):
        c, s = np.cos(0.5 * angles[first + p]), np.sin(0.5 * angles[first + p])
        work[:size, :size] = out[:size, :size]
        for r in range(size):
            for k in range(size):
                x = work[r, k]
                out[2 * r, 2 * k], out[2 * r, 2 * k + 1] = x * c, -x * s
                out[2 * r + 1, 2 * k], out[2 * r + 1, 2 * k + 1] = x * s, x * c
        size *= 2


@jit
def transposed_layers(theta, perm):
    """Lt (G, D, dim, dim) for theta (G, D, n): ``Lt[g, l, j, i] = L[i, j] = K[i, perm[j]]``.
    K = K_a x K_b over the registers a = qubits [0, n//2) and b = [n//2, n)."""
    groups, depth, n = theta.shape
    dim, n_a = 1 << n, n // 2
    n_b = n - n_a
    size_b = 1 << n_b
    out = np.empty((groups, depth, dim, dim), theta.dtype)
    k_a = np.empty((1 << n_a, 1 << n_a), theta.dtype)
    k_b = np.empty((size_b, size_b), theta.dtype)
    work = np.empty((size_b, size_b), theta.dtype)
    for g in range(groups):
        for layer in range(depth):
            _rotations_kron(theta[g, layer], 0, n_a, k_a, work)
            _rotations_kron(theta[g, layer], n_a, n_b, k_b, work)
            for j in range(dim):
                column_a, column_b = perm[j] >> n_b, perm[j] & (size_b - 1)
                row = out[g, layer, j]
                for i_a in range(1 << n_a):
                    x = k_a[i_a, column_a]
                    for i_b in range(size_b):
                        row[(i_a << n_b) + i_b] = x * k_b[i_b, column_b]
    return out


@jit
def encoded_states(v):
    """S (batch, dim) for inputs v (batch, n)."""
    batch, n = v.shape
    out = np.empty((batch, 1 << n), v.dtype)
    for b in range(batch):
        out[b, 0] = 1.0
        size = 1
        for q in range(n):
            half = 0.5 * v[b, q] + QUARTER_TURN
            c, s = np.cos(half), np.sin(half)
            for r in range(size - 1, -1, -1):  # in place from the end: entry r becomes 2r, 2r + 1
                x = out[b, r]
                out[b, 2 * r], out[b, 2 * r + 1] = x * c, x * s
            size *= 2
    return out


@jit
def _generator_sum(n_matrix, n):
    """(n,): sum_i h_q(i) N[flip_q(i), i] for every qubit q."""
    out = np.empty(n, n_matrix.dtype)
    for q in range(n):
        bit = 1 << (n - 1 - q)
        total = 0.0
        for i in range(1 << n):
            total += n_matrix[i ^ bit, i] if i & bit else -n_matrix[i ^ bit, i]
        out[q] = 0.5 * total
    return out


@jit
def forward(v, theta, perm, z, through_states):
    """<Z> (G, batch, m) for v (batch, n), theta (G, D, n), and what :func:`backward` needs:
    chain[g, l] = phi_{l+1} (through the states) or the prefix P_{l+1} (through the unitary)."""
    groups, depth, n = theta.shape
    batch, dim = v.shape[0], 1 << n
    states = encoded_states(v)
    layers_t = transposed_layers(theta, perm)
    chain = np.empty((groups, depth, batch if through_states else dim, dim), v.dtype)
    final = np.empty((groups, batch, dim), v.dtype)
    out = np.empty((groups, batch, z.shape[1]), v.dtype)
    for g in range(groups):
        if through_states:
            _matmul(states, layers_t[g, 0], chain[g, 0])
        else:
            chain[g, 0] = layers_t[g, 0]
        for layer in range(1, depth):
            _matmul(chain[g, layer - 1], layers_t[g, layer], chain[g, layer])
        if through_states:
            final[g] = chain[g, depth - 1]
        else:
            _matmul(states, chain[g, depth - 1], final[g])
        _matmul(final[g] * final[g], z, out[g])
    return out, states, layers_t, chain, final


@jit
def backward(grad, z2, states, layers_t, chain, final, through_states, need_v):
    """(d/dv (batch, n), d/dtheta (G, D, n)) from grad = dLoss/d<Z> (G, batch, m); z2 = 2 z^T."""
    groups, depth, dim = layers_t.shape[0], layers_t.shape[1], layers_t.shape[2]
    batch = states.shape[0]
    n = 0
    while (1 << n) < dim:
        n += 1
    g_theta = np.empty((groups, depth, n), states.dtype)
    lam0 = np.zeros((batch, dim), states.dtype)
    tails = np.empty_like(
        chain
    )  # lam_{l+1} (states) or C L_D .. L_{l+2} with C = S^T lam_D (unitary)
    adjoint = np.empty((batch, dim), states.dtype)
    for g in range(groups):
        _matmul(grad[g], z2, adjoint)
        adjoint *= final[g]
        if through_states:
            tails[g, depth - 1] = adjoint
        else:
            tails[g, depth - 1] = _matmul_tn(states, adjoint)
        for layer in range(depth - 1, 0, -1):
            _matmul(tails[g, layer], layers_t[g, layer].T, tails[g, layer - 1])
        for layer in range(depth):
            g_theta[g, layer] = _generator_sum(_matmul_tn(chain[g, layer], tails[g, layer]), n)
        if need_v:
            if through_states:
                lam0 += _matmul(tails[g, 0], layers_t[g, 0].T, np.empty((batch, dim), states.dtype))
            else:
                lam0 += _matmul(
                    adjoint, chain[g, depth - 1].T, np.empty((batch, dim), states.dtype)
                )
    g_v = np.zeros((batch, n), states.dtype)
    if need_v:
        for q in range(n):
            bit = 1 << (n - 1 - q)
            for b in range(batch):
                total = 0.0
                for i in range(dim):
                    term = lam0[b, i] * states[b, i ^ bit]
                    total += term if i & bit else -term
                g_v[b, q] = 0.5 * total
    return g_v, g_theta


def through_states_is_cheaper(batch: int, depth: int, dim: int) -> bool:
    """Multiply-add counts of the two bracketings of the adjoint matrix chain (see module doc)."""
    return (3 * depth - 1) * batch <= (3 * depth - 2) * dim + 2 * batch


@functools.lru_cache(maxsize=16)
def _constants(n: int, n_measured: int, dtype: np.dtype):
    z = z_signs(n, n_measured).numpy().astype(dtype)
    return cnot_permutation(n).numpy(), np.ascontiguousarray(z), np.ascontiguousarray(2 * z.T)


def _run_forward(v: np.ndarray, theta: np.ndarray, n_measured: int, through_states: bool | None):
    n, depth = theta.shape[-1], theta.shape[-2]
    if through_states is None:
        through_states = through_states_is_cheaper(v.shape[0], depth, 2**n)
    perm, z, z2 = _constants(n, n_measured, theta.dtype)
    groups = int(np.prod(theta.shape[:-2]))
    out, *saved = forward(
        np.ascontiguousarray(v),
        np.ascontiguousarray(theta).reshape(groups, depth, n),
        perm,
        z,
        through_states,
    )
    return out.reshape(*theta.shape[:-2], *out.shape[1:]), (z2, *saved, through_states)


def _run_backward(grad: np.ndarray, saved, need_v: bool):
    z2, *arrays, through_states = saved
    grad = np.ascontiguousarray(grad).reshape(
        arrays[1].shape[0], *grad.shape[-2:]
    )  # (groups, batch, m)
    return backward(grad, z2, *arrays, through_states, need_v)


def value_and_grad(
    v: np.ndarray,
    theta: np.ndarray,
    n_measured: int,
    upstream: np.ndarray | None = None,
    through_states: bool | None = None,
):
    """NumPy in, NumPy out: <Z_q> (..., batch, n_measured) for v (batch, n), theta (..., depth, n),
    and the gradients of ``sum(upstream * <Z>)`` (upstream defaults to ones) w.r.t. v and theta.
    ``through_states`` picks the bracketing of the adjoint chain (None: the cheaper one)."""
    out, saved = _run_forward(v, theta, n_measured, through_states)
    g_v, g_theta = _run_backward(
        np.ones_like(out) if upstream is None else upstream, saved, need_v=True
    )
    return out, g_v, g_theta.reshape(theta.shape)


class AdjointCircuit(torch.autograd.Function):
    """<Z_q> of QLSTM circuits for CPU tensors: v (batch, n), theta (..., depth, n)."""

    @staticmethod
    def forward(ctx, v, theta, n_measured):
        out, ctx.saved = _run_forward(v.detach().numpy(), theta.detach().numpy(), n_measured, None)
        ctx.theta_shape = theta.shape
        return torch.from_numpy(out)

    @staticmethod
    def backward(ctx, grad):
        if (
            torch.is_grad_enabled()
        ):  # compiled results carry no graph: refuse rather than return wrong derivatives
            raise RuntimeError(
                "circuit_expectations on the CPU supports first-order gradients only; "
                "use variational_unitaries + expectations for create_graph=True"
            )
        g_v, g_theta = _run_backward(grad.numpy(), ctx.saved, ctx.needs_input_grad[0])
        return (
            torch.from_numpy(g_v) if ctx.needs_input_grad[0] else None,
            torch.from_numpy(g_theta).reshape(ctx.theta_shape),
            None,
        )
