"""The compiled loops of :mod:`qkan_lib.qlstm_kernel` (notation and derivation there).

Imported only by :func:`qkan_lib.qlstm_kernel._kernels`, on the first fused call, so that
``import qkan_lib`` does not pay for Numba. The functions live at module level because Numba's
on-disk cache (``cache=True``) keys a nested function by its closure, which changes in every
process: nested, they would be recompiled (about 20 s) in every new process.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from .paths import SINGLE_THREAD_GEMM

GATES = 4  # i, f, g, o

jit = functools.partial(numba.njit, cache=True)


@jit
def rows_per_call(inner, cols):
    """Rows of the left factor per BLAS call such that every call stays single-threaded: a
    tiny recurrent model wants one thread per run (and OpenBLAS threads would compete with
    PyTorch's pool on a small machine)."""
    rows = 1
    while 2 * rows * inner * cols <= SINGLE_THREAD_GEMM:
        rows *= 2
    return rows


@jit
def matmul_into(a, b, out):
    """out[:] = a @ b, in row blocks of a."""
    block = rows_per_call(a.shape[1], b.shape[1])
    for start in range(0, a.shape[0], block):
        np.dot(a[start : start + block], b, out[start : start + block])


@jit
def matmul_tn_into(a, b, out):
    """out[:] = a^T @ b, summed over row blocks of a and b."""
    block = rows_per_call(a.shape[1], b.shape[1])
    out[:] = 0.0
    part = np.empty_like(out)
    for start in range(0, a.shape[0], block):
        np.dot(a[start : start + block].T, b[start : start + block], part)
        out += part


@jit
def encode_into(x_t, h, out):
    """out[b] = product state of v = [x_t[b], h[b]] (qubit 0 most significant)."""
    batch, d = x_t.shape
    n = d + h.shape[1]
    for b in range(batch):
        out[b, 0] = 1.0
        size = 1
        for q in range(n):
            angle = x_t[b, q] if q < d else h[b, q - d]
            half = 0.5 * angle + 0.25 * np.pi
            c, s = np.cos(half), np.sin(half)
            for r in range(size - 1, -1, -1):  # in place from the end: r -> 2r, 2r + 1
                amplitude = out[b, r]
                out[b, 2 * r] = amplitude * c
                out[b, 2 * r + 1] = amplitude * s
            size *= 2


@jit
def generator_sums(n_matrix, n, out):
    """out[q] = sum_i h_q(i) N[flip_q(i), i] for every qubit q."""
    for q in range(n):
        bit = 1 << (n - 1 - q)
        total = 0.0
        for i in range(n_matrix.shape[0]):
            total += n_matrix[i ^ bit, i] if i & bit else -n_matrix[i ^ bit, i]
        out[q] = 0.5 * total


@jit
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@jit
def tanh(z):
    """tanh through one exp (np.tanh costs about four): absolute error ~1 ulp of 1, and
    +-1 without overflow trouble for large |z|."""
    return 2.0 / (1.0 + np.exp(-2.0 * z)) - 1.0


@jit
def forward(x, layers_t, signs, keep):
    """h_T (batch, m) for x (batch, T, d), layers_t (4, D, dim, dim) = L^T per gate and layer,
    signs (dim, m) = Z eigenvalues; and what :func:`backward` needs (``keep``: every step's
    states, else only the current one, for inference on large batches)."""
    batch, steps, d = x.shape
    depth, dim = layers_t.shape[1], layers_t.shape[2]
    m = signs.shape[1]
    dtype = x.dtype
    prefixes = np.empty(layers_t.shape, dtype)  # prefixes[g, l] = L_1^T .. L_{l+1}^T
    ut = np.empty((dim, GATES * dim), dtype)  # [U_0^T | .. | U_3^T]
    for g in range(GATES):
        prefixes[g, 0] = layers_t[g, 0]
        for layer in range(1, depth):
            matmul_into(prefixes[g, layer - 1], layers_t[g, layer], prefixes[g, layer])
        ut[:, g * dim : (g + 1) * dim] = prefixes[g, depth - 1]
    kept = steps if keep else 1
    states = np.empty((kept, batch, dim), dtype)
    phi = np.empty((batch, GATES * dim), dtype)
    gates = np.empty((kept, batch, GATES, m), dtype)  # after the nonlinearities
    cells = np.zeros((kept + 1, batch, m), dtype)  # cells[0] = c_0 = 0
    tanh_cells = np.empty((kept, batch, m), dtype)
    h = np.zeros((batch, m), dtype)
    squares = np.empty((batch * GATES, dim), dtype)
    z = np.empty((batch * GATES, m), dtype)  # row 4 b + g: <Z> of gate g for sample b
    for step in range(steps):
        t = step if keep else 0
        if not keep:
            cells[0] = cells[1]
        encode_into(x[:, step], h, states[t])
        matmul_into(states[t], ut, phi)
        flat_phi = phi.reshape(batch * GATES, dim)
        for r in range(batch * GATES):
            for i in range(dim):
                squares[r, i] = flat_phi[r, i] * flat_phi[r, i]
        matmul_into(squares, signs, z)
        for b in range(batch):
            row = GATES * b
            for k in range(m):
                i_gate, f_gate = sigmoid(z[row, k]), sigmoid(z[row + 1, k])
                g_gate, o_gate = tanh(z[row + 2, k]), sigmoid(z[row + 3, k])
                c = f_gate * cells[t, b, k] + i_gate * g_gate
                cells[t + 1, b, k] = c
                tanh_cells[t, b, k] = tanh(c)
                h[b, k] = o_gate * tanh_cells[t, b, k]
                gates[t, b, 0, k], gates[t, b, 1, k] = i_gate, f_gate
                gates[t, b, 2, k], gates[t, b, 3, k] = g_gate, o_gate
    return h, prefixes, ut, states, gates, cells, tanh_cells


@jit
def backward(grad_h, layers_t, signs, prefixes, ut, states, gates, cells, tanh_cells, d, need_x):
    """(dL/dx (batch, T, d), dL/dtheta (4, D, n)) from grad_h = dL/dh_T (batch, m)."""
    steps, batch, dim = states.shape
    depth = layers_t.shape[1]
    m = signs.shape[1]
    n = d + m
    dtype = states.dtype
    g_x = np.zeros((batch, steps, d), dtype)
    g_h = grad_h.copy()
    g_c = np.zeros((batch, m), dtype)
    phi = np.empty((batch, GATES * dim), dtype)  # recomputed: cheaper than storing T of them
    lam = np.empty((batch, GATES * dim), dtype)  # dL/dphi_t
    g_ut = np.zeros((dim, GATES * dim), dtype)  # dL/d[U_0^T | .. | U_3^T] = sum_t S_t^T lam_t
    g_ut_step = np.empty((dim, GATES * dim), dtype)
    g_states = np.empty((batch, dim), dtype)
    g_z = np.empty((batch * GATES, m), dtype)  # row 4 b + g, as z in forward
    u = ut.T  # [U_0; ..; U_3] (4 dim, dim)
    signs_t = signs.T
    for t in range(steps - 1, -1, -1):
        for b in range(batch):
            row = GATES * b
            for k in range(m):
                i_gate, f_gate = gates[t, b, 0, k], gates[t, b, 1, k]
                g_gate, o_gate = gates[t, b, 2, k], gates[t, b, 3, k]
                tanh_c = tanh_cells[t, b, k]
                g_cell = g_c[b, k] + g_h[b, k] * o_gate * (1.0 - tanh_c * tanh_c)
                g_z[row, k] = g_cell * g_gate * i_gate * (1.0 - i_gate)
                g_z[row + 1, k] = g_cell * cells[t, b, k] * f_gate * (1.0 - f_gate)
                g_z[row + 2, k] = g_cell * i_gate * (1.0 - g_gate * g_gate)
                g_z[row + 3, k] = g_h[b, k] * tanh_c * o_gate * (1.0 - o_gate)
                g_c[b, k] = g_cell * f_gate
        flat_lam = lam.reshape(batch * GATES, dim)
        matmul_into(g_z, signs_t, flat_lam)  # dL/d(phi^2)
        matmul_into(states[t], ut, phi)
        flat_phi = phi.reshape(batch * GATES, dim)
        for r in range(batch * GATES):
            for i in range(dim):
                flat_lam[r, i] *= 2.0 * flat_phi[r, i]
        matmul_into(lam, u, g_states)
        matmul_tn_into(states[t], lam, g_ut_step)
        g_ut += g_ut_step
        for q in range(0 if need_x else d, n):  # x's qubits only when dL/dx is wanted
            bit = 1 << (n - 1 - q)
            for b in range(batch):
                total = 0.0
                for high in range(0, dim, 2 * bit):  # pairs (i, i + bit), bit q of i clear
                    for i in range(high, high + bit):
                        total += (
                            g_states[b, i + bit] * states[t, b, i]
                            - g_states[b, i] * states[t, b, i + bit]
                        )
                if q < d:
                    g_x[b, t, q] = 0.5 * total
                else:
                    g_h[b, q - d] = 0.5 * total
    g_theta = np.empty((GATES, depth, n), dtype)
    tail = np.empty((dim, dim), dtype)  # (dL/dU)^T L_D .. L_{l+1}
    previous = np.empty((dim, dim), dtype)
    n_matrix = np.empty((dim, dim), dtype)
    for g in range(GATES):
        tail[:] = g_ut[:, g * dim : (g + 1) * dim]
        for layer in range(depth - 1, -1, -1):
            matmul_tn_into(prefixes[g, layer], tail, n_matrix)
            generator_sums(n_matrix, n, g_theta[g, layer])
            if layer > 0:
                matmul_into(tail, layers_t[g, layer].T, previous)
                tail[:] = previous
    return g_x, g_theta
