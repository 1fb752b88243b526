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

Notation (as :mod:`qkan_lib.circuit_kernel`; ``dim = 2^n``, qubit 0 the most significant bit,
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
``sum_t S_t^T lam_{g,t}``, accumulated step by step, and w.r.t. theta (once per call),
with ``N_l = A_l^T (dL/dU_g)^T L_D .. L_{l+1}`` (dim x dim),
``dL/dtheta_{l,q} = sum_i h_q(i) N_l[flip_q(i), i]``, ``h_q(i) = +1/2`` where bit q of i is
1 and ``-1/2`` where it is 0 (the same identity for the layer's RY).

The forward pass keeps ``S_t``, the gates and the cells of every step (O(T batch (dim + m))),
not ``phi_t``: the backward pass recomputes it with one GEMM, cheaper than moving T of them
through memory (``keep=False``, for inference, keeps one step). Every matrix product goes to
BLAS in row blocks small enough that OpenBLAS stays on the calling thread
(``m n k <= 4 * 65536``): a tiny recurrent model wants one thread per run. ``tanh`` is
``2 / (1 + exp(-2z)) - 1`` (one exp; np.tanh costs about four), exact to ~1 ulp of 1.

The compiled loops are in :mod:`qkan_lib.qlstm_kernel_loops`, imported on the first fused
call. Helpers used from other modules, called from Python only (so Numba's on-disk cache never
holds stale code of theirs): :func:`qkan_lib.circuit_kernel.transposed_layers` (the layer matrices
``L_l^T``), :func:`qkan_lib.qubit_basis.cnot_permutation` and :func:`qkan_lib.qubit_basis.z_signs`.
"""

from __future__ import annotations

import functools
import types

import numpy as np
import torch

from ..core.qubit_basis import cnot_permutation, z_signs
from .paths import FUSED_DTYPES, transforms_active


@functools.cache
def _kernels() -> types.SimpleNamespace:
    """The compiled sequence kernels (:mod:`qkan_lib.qlstm_kernel_loops`), imported on first use
    only, so that ``import qkan_lib`` does not pay for Numba."""
    from .qlstm_loops import backward, forward  # loads Numba

    return types.SimpleNamespace(forward=forward, backward=backward)


@functools.lru_cache(maxsize=32)
def _constants(n_qubits: int, n_measured: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    signs = np.ascontiguousarray(z_signs(n_qubits, n_measured).numpy().astype(dtype))
    return cnot_permutation(n_qubits).numpy(), signs


class FusedQLSTMSequence(torch.autograd.Function):
    """h_T (batch, m) of a QLSTM cell run over x (batch, T, d) from h_0 = c_0 = 0, for the gate
    circuits' angles theta (4, depth, d + m); first-order gradients for theta and x. ``keep=False``
    (no gradient wanted) stores one step of state instead of T.

    S models at once (seed batching, :func:`stacked_final_hidden`): theta (S, 4, depth, d + m)
    gives h_T (S, batch, m) on the shared x, as ONE autograd node; the layer matrices of all S
    come from one call, then the compiled forward / backward run model after model."""

    @staticmethod
    def forward(ctx, theta, x, hidden_size, keep=True):
        from .circuit import transposed_layers  # loads Numba: not at `import qkan_lib`

        batch, steps, d = x.shape
        depth, n = theta.shape[-2:]
        stacked = theta.dim() == 4
        ctx.shapes, ctx.saved = (theta.shape, x.shape), None
        if batch == 0:
            return x.new_zeros(*theta.shape[:-3], 0, hidden_size)
        theta_np = np.ascontiguousarray(theta.detach().numpy())
        perm, signs = _constants(n, hidden_size, theta_np.dtype)
        keep = keep and any(ctx.needs_input_grad)  # else inference: no per-step storage
        x_np = np.ascontiguousarray(x.detach().numpy())
        if not stacked:
            layers_t = transposed_layers(theta_np, perm)
            h, *saved = _kernels().forward(x_np, layers_t, signs, keep)
            ctx.saved = (layers_t, signs, *saved) if keep else None
            return torch.from_numpy(h)
        # all S models' layer matrices in one call: (S * 4, depth, n) -> (S, 4, depth, dim, dim)
        layers_all = transposed_layers(theta_np.reshape(-1, depth, n), perm)
        layers_all = layers_all.reshape(theta_np.shape[0], -1, *layers_all.shape[1:])
        h_all, kept = [], []
        for layers_t in layers_all:
            h, *saved = _kernels().forward(x_np, layers_t, signs, keep)
            h_all.append(h)
            kept.append((layers_t, signs, *saved))
        ctx.saved = kept if keep else None
        return torch.from_numpy(np.stack(h_all))

    @staticmethod
    def backward(ctx, grad_h):
        if torch.is_grad_enabled():  # the kernel's gradients carry no graph: refuse, never be wrong
            raise RuntimeError(
                "the fused QLSTM path supports first-order gradients only; run the "
                "model inside qkan_lib.reference_path() for "
                "create_graph=True"
            )
        theta_shape, x_shape = ctx.shapes
        need_x = ctx.needs_input_grad[1]
        if ctx.saved is None:
            if x_shape[0] != 0:
                raise RuntimeError(
                    "this forward pass ran with keep=False and kept nothing to differentiate"
                )
            g_x = grad_h.new_zeros(x_shape) if need_x else None  # empty batch: zero gradients
            return grad_h.new_zeros(theta_shape), g_x, None, None
        grad = np.ascontiguousarray(grad_h.numpy())
        if len(theta_shape) == 3:
            g_x, g_theta = _kernels().backward(grad, *ctx.saved, x_shape[-1], need_x)
            return torch.from_numpy(g_theta), torch.from_numpy(g_x) if need_x else None, None, None
        g_thetas, g_x = [], None
        for grad_s, saved in zip(grad, ctx.saved):  # model after model
            g_x_s, g_theta = _kernels().backward(grad_s, *saved, x_shape[-1], need_x)
            g_thetas.append(g_theta)
            g_x = g_x_s if g_x is None else g_x + g_x_s  # x shared: the models' gradients add
        g_x = torch.from_numpy(g_x) if need_x else None
        return torch.from_numpy(np.stack(g_thetas)), g_x, None, None


def can_fuse(theta: torch.Tensor, x: torch.Tensor) -> bool:
    """Whether :func:`fused_final_hidden` can run the QLSTM cell with gate-circuit angles
    ``theta`` on x: CPU tensors of one dtype, float32 or float64, outside torch.func transforms
    and torch.compile (other devices and those cases keep the PyTorch path)."""
    return (
        theta.device.type == "cpu"
        and x.device.type == "cpu"
        and theta.dtype in FUSED_DTYPES
        and x.dtype == theta.dtype
        and not transforms_active(theta, x)
    )


def _apply_checked(theta: torch.Tensor, x: torch.Tensor, hidden_size: int) -> torch.Tensor:
    """The fused sequence for one model's angles (4, depth, n) or S models' (S, 4, depth, n),
    after the checks both entry points share."""
    if not can_fuse(theta, x):
        raise ValueError(
            "the fused QLSTM path needs theta and x on the CPU, both float32 or both float64, "
            "outside torch.func transforms; use the PyTorch path otherwise"
        )
    d = theta.shape[-1] - hidden_size
    if x.dim() != 3 or x.shape[-1] != d or x.shape[1] < 1:
        raise ValueError(f"x must have shape (batch, seq_len >= 1, {d}), got {tuple(x.shape)}")
    keep = torch.is_grad_enabled() and (theta.requires_grad or x.requires_grad)
    return FusedQLSTMSequence.apply(theta, x, hidden_size, keep)


def fused_final_hidden(theta: torch.Tensor, x: torch.Tensor, hidden_size: int) -> torch.Tensor:
    """The last hidden state h_T (batch, hidden_size) of a QLSTM cell with gate-circuit angles
    ``theta`` (4, depth, n_qubits) run over x (batch, seq_len, input_size) from zero states, in
    one compiled forward and one compiled backward pass; equal to the PyTorch path to float
    tolerance."""
    return _apply_checked(theta, x, hidden_size)


def stacked_final_hidden(theta: torch.Tensor, x: torch.Tensor, hidden_size: int) -> torch.Tensor:
    """h_T (S, batch, hidden_size) of S QLSTM cells with gate-circuit angles ``theta``
    (S, 4, depth, n_qubits), e.g. S seeds' angles stacked, over the shared x (batch, seq_len,
    input_size), as one autograd node: :func:`fused_final_hidden` of each model, without S
    nodes' worth of per-call overhead."""
    if theta.dim() != 4:
        raise ValueError(f"theta must have shape (S, 4, depth, n_qubits), got {tuple(theta.shape)}")
    return _apply_checked(theta, x, hidden_size)
