r"""A whole QLSTM sequence, forward and backward through time, as two compiled calls (CPU).

Autograd through the PyTorch simulator records some thirty small operators per time step
and replays them backwards; at the Urban shape (batch 64, 64 steps) a training step is then
framework overhead, not arithmetic. Here the time loop of the QLSTM cell, its four gate
circuits and the LSTM arithmetic run inside one Numba function forward and one backward
(backpropagation through time with hand-written adjoints), wrapped in one
:class:`torch.autograd.Function` that returns the last hidden state ``h_T``.
:class:`qkan_lib.models.RecurrentRegressor` dispatches here for CPU float32/float64 QLSTMs
(:func:`can_fuse_qlstm`); the PyTorch path stays the reference (and serves CUDA,
``torch.func`` transforms and :func:`reference_qlstm_path` blocks).

Notation (as :mod:`qkan_lib.adjoint`; ``dim = 2^n``, qubit 0 the most significant bit,
states as rows, ``G = 4`` gate circuits in torch.nn.LSTM's order i, f, g, o):

* ``S_t`` (batch, dim): the encoded product state of ``v_t = [x_t, h_{t-1}]``,
  ``S_t[b, i] = prod_q a_q[bit_q(i)]`` with ``a_q = (cos, sin)(v_q / 2 + pi / 4)``.
* ``U_g = L_D .. L_1`` with ``L_l = K_l P`` (CNOT brickwork P, then RY(theta_l) on every
  qubit). ``U_g`` does not depend on t, so it is built once per call, from the prefix
  products ``A_l = L_1^T .. L_l^T`` (kept for the backward pass; ``A_D = U_g^T``).
* ``phi_t = S_t [U_0^T | U_1^T | U_2^T | U_3^T]`` (batch, 4 dim): one GEMM per step for all
  four circuits; ``z_{g,k} = sum_i phi_{g,i}^2 (1 - 2 bit_k(i))`` for the first m qubits.
* LSTM: ``c_t = f c_{t-1} + i g``, ``h_t = o tanh(c_t)`` with sigmoid i, f, o and tanh g.

Backward, from ``dL/dh_T``: per step the LSTM adjoints give ``dL/dz``, then
``lam_t = 2 phi_t * (dL/dz Z^T)`` (= dL/dphi_t), ``dL/dS_t = lam_t [U_0; ..; U_3]`` (one
GEMM), and ``dL/dv_t`` from ``dS/dv_q = +-1/2 S[flip_q(i)]`` (the encoding RY obeys the
generator identity ``dRY(a)/da = (A/2) RY(a)``, ``A = [[0, -1], [1, 0]]``); its h-part
carries to step t - 1, its x-part is ``dL/dx_t``. The gradient w.r.t. ``U_g^T`` is
``sum_t S_t^T lam_{g,t}``, one GEMM over all T * batch rows at the end, and w.r.t. theta,
with ``N_l = A_l^T (dL/dU_g)^T L_D .. L_{l+1}`` (dim x dim),
``dL/dtheta_{l,q} = sum_i h_q(i) N_l[flip_q(i), i]``, ``h_q(i) = +1/2`` where bit q of i is
1 and ``-1/2`` where it is 0 (the same identity for the layer's RY).

Every matrix product goes to BLAS in row blocks small enough that OpenBLAS stays on the
calling thread (``m n k <= 4 * 65536``): a tiny recurrent model wants one thread per run.

Helpers used from other modules (module-level Python calls only, so Numba's on-disk cache
of this module never holds stale code of theirs): :func:`qkan_lib.adjoint.transposed_layers`
(the layer matrices ``L_l^T``), :func:`qkan_lib.circuits.cnot_permutation` and
:func:`qkan_lib.circuits.z_signs`.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import types

import numpy as np
import torch

FUSED_DTYPES = (torch.float32, torch.float64)
GATES = 4  # i, f, g, o

_FORCE_REFERENCE = contextvars.ContextVar("qkan_qlstm_force_reference", default=False)


@contextlib.contextmanager
def reference_qlstm_path():
    """Within this block QLSTM regressors run the PyTorch reference path (autograd per step),
    e.g. to compare the two or to take higher-order gradients."""
    token = _FORCE_REFERENCE.set(True)
    try:
        yield
    finally:
        _FORCE_REFERENCE.reset(token)


@functools.cache
def _kernels() -> types.SimpleNamespace:
    """Compile (or load from Numba's disk cache) the sequence kernels, on first use only, so
    that ``import qkan_lib`` does not pay for Numba."""
    import numba

    jit = functools.partial(numba.njit, cache=True)
    single_thread_gemm = 4 * 65536  # OpenBLAS runs a GEMM with m*n*k up to this on one thread

    @jit
    def rows_per_call(inner, cols):
        rows = 1
        while 2 * rows * inner * cols <= single_thread_gemm:
            rows *= 2
        return rows

    @jit
    def matmul_into(a, b, out):
        """out[:] = a @ b, in row blocks of a."""
        block = rows_per_call(a.shape[1], b.shape[1])
        for start in range(0, a.shape[0], block):
            np.dot(a[start:start + block], b, out[start:start + block])

    @jit
    def matmul_tn_into(a, b, out):
        """out[:] = a^T @ b, summed over row blocks of a and b."""
        block = rows_per_call(a.shape[1], b.shape[1])
        out[:] = 0.0
        part = np.empty_like(out)
        for start in range(0, a.shape[0], block):
            np.dot(a[start:start + block].T, b[start:start + block], part)
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
            ut[:, g * dim:(g + 1) * dim] = prefixes[g, depth - 1]
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
    def backward(grad_h, layers_t, signs, prefixes, ut, states, gates, cells, tanh_cells, d,
                 need_x):
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
                            total += (g_states[b, i + bit] * states[t, b, i]
                                      - g_states[b, i] * states[t, b, i + bit])
                    if q < d:
                        g_x[b, t, q] = 0.5 * total
                    else:
                        g_h[b, q - d] = 0.5 * total
        g_theta = np.empty((GATES, depth, n), dtype)
        tail = np.empty((dim, dim), dtype)  # (dL/dU)^T L_D .. L_{l+1}
        previous = np.empty((dim, dim), dtype)
        n_matrix = np.empty((dim, dim), dtype)
        for g in range(GATES):
            tail[:] = g_ut[:, g * dim:(g + 1) * dim]
            for layer in range(depth - 1, -1, -1):
                matmul_tn_into(prefixes[g, layer], tail, n_matrix)
                generator_sums(n_matrix, n, g_theta[g, layer])
                if layer > 0:
                    matmul_into(tail, layers_t[g, layer].T, previous)
                    tail[:] = previous
        return g_x, g_theta

    return types.SimpleNamespace(forward=forward, backward=backward)


@functools.lru_cache(maxsize=32)
def _constants(n_qubits: int, n_measured: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    from .circuits import cnot_permutation, z_signs

    signs = np.ascontiguousarray(z_signs(n_qubits, n_measured).numpy().astype(dtype))
    return cnot_permutation(n_qubits).numpy(), signs


class FusedQLSTMSequence(torch.autograd.Function):
    """h_T (batch, m) of a QLSTM cell run over x (batch, T, d) from h_0 = c_0 = 0, for the gate
    circuits' angles theta (4, depth, d + m); first-order gradients for theta and x. ``keep=False``
    (no gradient wanted) stores one step of state instead of T."""

    @staticmethod
    def forward(ctx, theta, x, hidden_size, keep=True):
        from .adjoint import transposed_layers

        batch, steps, d = x.shape
        depth, n = theta.shape[-2:]
        ctx.shapes, ctx.saved = (theta.shape, x.shape), None
        if batch == 0:
            return x.new_zeros(0, hidden_size)
        theta_np = theta.detach().numpy()
        perm, signs = _constants(n, hidden_size, theta_np.dtype)
        layers_t = transposed_layers(np.ascontiguousarray(theta_np), perm)
        keep = keep and any(ctx.needs_input_grad)  # else inference: no per-step storage
        h, *saved = _kernels().forward(np.ascontiguousarray(x.detach().numpy()), layers_t, signs,
                                       keep)
        ctx.saved = (layers_t, signs, *saved) if keep else None
        return torch.from_numpy(h)

    @staticmethod
    def backward(ctx, grad_h):
        if torch.is_grad_enabled():  # the kernel's gradients carry no graph: refuse, never be wrong
            raise RuntimeError("the fused QLSTM path supports first-order gradients only; run the "
                               "model inside qkan_lib.qlstm_kernel.reference_qlstm_path() for "
                               "create_graph=True")
        theta_shape, x_shape = ctx.shapes
        need_x = ctx.needs_input_grad[1]
        if ctx.saved is None:
            if x_shape[0] != 0:
                raise RuntimeError("this forward pass ran with keep=False and kept nothing to "
                                   "differentiate")
            g_x = grad_h.new_zeros(x_shape) if need_x else None  # empty batch: zero gradients
            return grad_h.new_zeros(theta_shape), g_x, None, None
        g_x, g_theta = _kernels().backward(np.ascontiguousarray(grad_h.numpy()), *ctx.saved,
                                           x_shape[-1], need_x)
        return torch.from_numpy(g_theta), torch.from_numpy(g_x) if need_x else None, None, None


def _transforms_active(*tensors: torch.Tensor) -> bool:
    """True under torch.func transforms (vmap, grad, jvp) or torch.compile, where a NumPy kernel
    cannot run."""
    if torch._C._functorch.peek_interpreter_stack() is not None:
        return True
    if any(torch._C._functorch.is_functorch_wrapped_tensor(t) for t in tensors):
        return True
    return torch.compiler.is_compiling()


def can_fuse_qlstm(gates: torch.nn.Module, x: torch.Tensor) -> bool:
    """Whether :func:`fused_qlstm_final_hidden` can run these QLSTM gates on x: CPU tensors of
    one dtype, float32 or float64, outside torch.func transforms, torch.compile and
    :func:`reference_qlstm_path` (other devices and those cases keep the PyTorch path)."""
    from .models import QLSTMGates

    if type(gates) is not QLSTMGates or _FORCE_REFERENCE.get():  # a subclass may change the circuit
        return False
    theta = gates.theta
    return (theta.device.type == "cpu" and x.device.type == "cpu" and theta.dtype in FUSED_DTYPES
            and x.dtype == theta.dtype and not _transforms_active(theta, x))


def fused_qlstm_final_hidden(gates: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The last hidden state h_T (batch, hidden_size) of an LSTMCell with QLSTM ``gates`` run over
    x (batch, seq_len, input_size) from zero states, in one compiled forward and one compiled
    backward pass; equal to the PyTorch path to float tolerance."""
    if not can_fuse_qlstm(gates, x):
        raise ValueError("fused_qlstm_final_hidden needs QLSTMGates and x on the CPU, both float32 "
                         "or both float64, outside torch.func transforms; use the PyTorch path "
                         "otherwise")
    d = gates.n_qubits - gates.hidden_size
    if x.dim() != 3 or x.shape[-1] != d or x.shape[1] < 1:
        raise ValueError(f"x must have shape (batch, seq_len >= 1, {d}), got {tuple(x.shape)}")
    keep = torch.is_grad_enabled() and (gates.theta.requires_grad or x.requires_grad)
    return FusedQLSTMSequence.apply(gates.theta, x, gates.hidden_size, keep)
