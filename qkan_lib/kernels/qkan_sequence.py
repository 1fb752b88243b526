r"""QKAN-LSTM and HQKAN-LSTM over a whole sequence in one compiled call (forward and backward).

Why: a QKAN-LSTM at the Urban shape (batch 64, 64 steps) is a few hundred thousand flops per
step, yet autograd replays about 190 small PyTorch operators per time step (64 forward,
125 backward), ~1 us each. The arithmetic is cheaper than that bookkeeping. Here the whole
time loop, forward and backpropagation through time, runs as two Numba-compiled loops
(compiled on first use, machine code cached on disk), wrapped in ONE
:class:`torch.autograd.Function` whose output is the final hidden state ``h_T``; the Linear
head of :class:`~qkan_lib.models.RecurrentRegressor` stays in PyTorch.

What is computed is exactly the reference path of :mod:`qkan_lib.models` (which stays, for
other devices, ``torch.func`` transforms and as the oracle in the tests):

* the LSTM cell of Eq. (1), gates in torch.nn.LSTM's order (i, f, g, o), ``h_0 = c_0 = 0``;
* the gate map on ``v_t = [x_t, h_{t-1}]``: a QKAN layer (QKAN-LSTM) or
  Linear -> QKAN -> Linear (HQKAN-LSTM), with
  ``y_j = sum_k (phi_jk(u_k) + c_jk) a_jk + base_jk silu(u_k)``;
* each DARUAN ``phi`` as the merged rotation chain of :mod:`qkan_lib.daruan`: a start Bloch
  vector from ``theta[0]``, then per layer l a z-rotation by ``w_l u + b_l + theta[l+1, 0]``
  and a y-rotation by ``theta[l+1, 1]``; readout <Z> or ``|alpha| - |beta|``.

Memory: the loops run row by row (every batch row is an independent recurrence) and keep,
per row and step, the cosines and sines of the data angles (the only transcendental work in
a DARUAN), the gate activations and the cell state. The backward pass recomputes the Bloch
vectors from the stored cosines and sines (a few multiplications per layer) instead of storing
them. The loops read the model's float32 or float64 tensors in place (no copies; Numba
compiles one specialisation per dtype on first use) and do all arithmetic and sums in
float64, returning h_T and the gradients in the model's dtype.

``NUMBA_DISABLE_JIT=1`` runs the same loops as plain Python, to step through them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import torch

from ..core.layers import HQKAN, QKANLayer
from .paths import FUSED_DTYPES, only_vmap_active, transforms_active

# ----------------------------------------------------------------------------------------
# The loops. Plain Python functions, compiled by _kernels() on first use (so that importing
# qkan_lib does not import Numba). They call no other compiled function: Numba caches a
# function that calls another one defined at run time as a closure, and recompiles it in
# every process, so the few shared lines (the rotation chain) are written out twice.
# ----------------------------------------------------------------------------------------


def _edge_constants(theta, pw, pb):
    """Start Bloch vectors (out, in, 3), merged biases beta (out, in, L) and the RY angles'
    cos / sin (out, in, L), from theta (out, in, L + 1, 2) and the preact bias pb."""
    n_out, n_in, layers = pw.shape
    start = np.empty((n_out, n_in, 3))
    beta = np.empty((n_out, n_in, layers))
    cos_y = np.empty((n_out, n_in, layers))
    sin_y = np.empty((n_out, n_in, layers))
    for j in range(n_out):
        for k in range(n_in):
            c0, s0 = np.cos(theta[j, k, 0, 0]), np.sin(theta[j, k, 0, 0])
            c1, s1 = np.cos(theta[j, k, 0, 1]), np.sin(theta[j, k, 0, 1])
            start[j, k, 0] = c0 * c1  # RY(t01) RZ(t00) |+>, |+> = (1, 0, 0)
            start[j, k, 1] = s0
            start[j, k, 2] = -c0 * s1
            for layer in range(layers):
                beta[j, k, layer] = pb[j, k, layer] + theta[j, k, layer + 1, 0]
                cos_y[j, k, layer] = np.cos(theta[j, k, layer + 1, 1])
                sin_y[j, k, layer] = np.sin(theta[j, k, layer + 1, 1])
    return start, beta, cos_y, sin_y


def _forward_loops(
    x_all,
    theta_all,
    pw_all,
    pb_all,
    base_all,
    post_w_all,
    post_b_all,
    enc_w_all,
    enc_b_all,
    dec_w_all,
    dec_b_all,
    affine,
    amplitude,
    tiny,
    hidden,
    store,
):
    """S models at once: every tensor has a leading model axis of length S, the input x_all
    one of length S (a sequence per model) or 1 (one sequence shared by every model); the
    models run one after another (S = 1: one model).

    Returns h_T (S, batch, m) and, if ``store``, what :func:`_backward_loops` needs, per model,
    row and step: h and c (S, batch, T + 1, m), the latent input u (S, batch, T, n_in), the
    data angles' cos / sin (S, batch, T, n_out, n_in, L, 2), the QKAN output y (S, batch, T,
    n_out) and the activations i, f, g, o, tanh(c) (S, batch, T, 5m). Without ``store`` one
    row of scratch is reused."""
    n_models = pw_all.shape[0]
    _, batch, steps, d = x_all.shape
    _, n_out, n_in, layers = pw_all.shape
    m = hidden
    rows = batch if store else 1
    kept = n_models if store else 1
    hs_all = np.zeros((kept, rows, steps + 1, m))
    cs_all = np.zeros((kept, rows, steps + 1, m))
    us_all = np.empty((kept, rows, steps, n_in))
    trig_all = np.empty((kept, rows, steps, n_out, n_in, layers, 2))
    ys_all = np.empty((kept, rows, steps, n_out))
    acts_all = np.empty((kept, rows, steps, 5 * m))
    h_all = np.empty((n_models, batch, m), x_all.dtype)
    v = np.empty(d + m)
    z = np.empty(4 * m)
    silu = np.empty(n_in)
    for s in range(n_models):
        x = x_all[s if x_all.shape[0] > 1 else 0]
        pw, base, post_w, post_b = pw_all[s], base_all[s], post_w_all[s], post_b_all[s]
        enc_w, enc_b, dec_w, dec_b = enc_w_all[s], enc_b_all[s], dec_w_all[s], dec_b_all[s]
        start, beta, cos_y, sin_y = _edge_constants(theta_all[s], pw, pb_all[s])
        kept_s = s if store else 0
        hs, cs, us = hs_all[kept_s], cs_all[kept_s], us_all[kept_s]
        trig, ys, acts = trig_all[kept_s], ys_all[kept_s], acts_all[kept_s]
        h_last = h_all[s]
        for b in range(batch):
            r = b if store else 0
            hs[r, 0, :] = 0.0
            cs[r, 0, :] = 0.0
            for t in range(steps):
                v[:d] = x[b, t]
                v[d:] = hs[r, t]
                u = us[r, t]
                if affine:
                    for p in range(n_in):
                        total = enc_b[p]
                        for q in range(d + m):
                            total += enc_w[p, q] * v[q]
                        u[p] = total
                else:
                    u[:] = v
                for k in range(n_in):
                    silu[k] = u[k] / (1.0 + np.exp(-u[k]))
                y = ys[r, t]
                for j in range(n_out):
                    total = 0.0
                    for k in range(n_in):
                        bx, by, bz = start[j, k, 0], start[j, k, 1], start[j, k, 2]
                        for layer in range(layers):
                            angle = pw[j, k, layer] * u[k] + beta[j, k, layer]
                            ca, sa = np.cos(angle), np.sin(angle)
                            trig[r, t, j, k, layer, 0] = ca
                            trig[r, t, j, k, layer, 1] = sa
                            p_, q_ = bx * ca - by * sa, bx * sa + by * ca  # RZ(angle)
                            cy, sy = cos_y[j, k, layer], sin_y[j, k, layer]
                            bz, bx = bz * cy - p_ * sy, p_ * cy + bz * sy  # RY(theta_y)
                            by = q_
                        if amplitude:
                            plus, minus = max((1.0 + bz) / 2.0, tiny), max((1.0 - bz) / 2.0, tiny)
                            phi = math.sqrt(plus) - math.sqrt(minus)
                        else:
                            phi = bz
                        total += (phi + post_b[j, k]) * post_w[j, k] + base[j, k] * silu[k]
                    y[j] = total
                if affine:
                    for p in range(4 * m):
                        total = dec_b[p]
                        for q in range(n_out):
                            total += dec_w[p, q] * y[q]
                        z[p] = total
                else:
                    z[:] = y
                act = acts[r, t]
                for q in range(m):
                    gi = 1.0 / (1.0 + np.exp(-z[q]))
                    gf = 1.0 / (1.0 + np.exp(-z[m + q]))
                    gg = np.tanh(z[2 * m + q])
                    go = 1.0 / (1.0 + np.exp(-z[3 * m + q]))
                    c_new = gf * cs[r, t, q] + gi * gg
                    tc = np.tanh(c_new)
                    cs[r, t + 1, q] = c_new
                    hs[r, t + 1, q] = go * tc
                    act[q], act[m + q], act[2 * m + q] = gi, gf, gg
                    act[3 * m + q], act[4 * m + q] = go, tc
            h_last[b] = hs[r, steps]
    return h_all, hs_all, cs_all, us_all, trig_all, ys_all, acts_all


def _backward_loops(
    grad_all,
    x_all,
    theta_all,
    pw_all,
    pb_all,
    base_all,
    post_w_all,
    post_b_all,
    enc_w_all,
    enc_b_all,
    dec_w_all,
    dec_b_all,
    affine,
    amplitude,
    tiny,
    hidden,
    need_x,
    hs_all,
    cs_all,
    us_all,
    trig_all,
    ys_all,
    acts_all,
):
    """Backpropagation through time from dLoss/dh_T (S, batch, m), model after model: the
    gradients of x (summed over the models where they share it) and of every parameter tensor,
    each with the leading model axis (zeros for those that do not train; the caller drops
    them)."""
    n_models = pw_all.shape[0]
    _, batch, steps, d = x_all.shape
    _, n_out, n_in, layers = pw_all.shape
    m = hidden
    g_x_all = np.zeros(x_all.shape)
    g_theta_all = np.zeros(theta_all.shape)
    g_pw_all = np.zeros(pw_all.shape)
    g_beta_all = np.zeros(pw_all.shape)
    g_base_all = np.zeros(base_all.shape)
    g_post_w_all = np.zeros(base_all.shape)
    g_post_b_all = np.zeros(base_all.shape)
    g_enc_w_all = np.zeros(enc_w_all.shape)
    g_enc_b_all = np.zeros(enc_b_all.shape)
    g_dec_w_all = np.zeros(dec_w_all.shape)
    g_dec_b_all = np.zeros(dec_b_all.shape)
    chain = np.empty((layers, 4))  # per layer: P, Q (after RZ) and Z, X (after RY)
    g_h = np.empty(m)
    g_c = np.empty(m)
    g_z = np.empty(4 * m)
    g_y = np.empty(n_out)
    g_u = np.empty(n_in)
    g_v = np.empty(d + m)
    v = np.empty(d + m)
    for s in range(n_models):
        shared = 0 if x_all.shape[0] == 1 else s  # x (and its gradient) shared or per model
        x, g_x = x_all[shared], g_x_all[shared]
        theta, pw, base = theta_all[s], pw_all[s], base_all[s]
        post_w, post_b = post_w_all[s], post_b_all[s]
        enc_w, dec_w = enc_w_all[s], dec_w_all[s]
        grad_h, hs, cs, us = grad_all[s], hs_all[s], cs_all[s], us_all[s]
        trig, ys, acts = trig_all[s], ys_all[s], acts_all[s]
        start, beta, cos_y, sin_y = _edge_constants(theta, pw, pb_all[s])
        g_theta, g_pw, g_beta = g_theta_all[s], g_pw_all[s], g_beta_all[s]
        g_base, g_post_w, g_post_b = g_base_all[s], g_post_w_all[s], g_post_b_all[s]
        g_enc_w, g_enc_b = g_enc_w_all[s], g_enc_b_all[s]
        g_dec_w, g_dec_b = g_dec_w_all[s], g_dec_b_all[s]
        g_start = np.zeros((n_out, n_in, 3))
        g_ty = np.zeros((n_out, n_in, layers))
        for b in range(batch):
            g_h[:] = grad_h[b]
            g_c[:] = 0.0
            for t in range(steps - 1, -1, -1):
                act = acts[b, t]
                for q in range(m):  # the cell: c = f c_prev + i g, h = o tanh(c)
                    gi, gf, gg = act[q], act[m + q], act[2 * m + q]
                    go, tc = act[3 * m + q], act[4 * m + q]
                    gc_total = g_c[q] + g_h[q] * go * (1.0 - tc * tc)
                    g_z[q] = gc_total * gg * gi * (1.0 - gi)
                    g_z[m + q] = gc_total * cs[b, t, q] * gf * (1.0 - gf)
                    g_z[2 * m + q] = gc_total * gi * (1.0 - gg * gg)
                    g_z[3 * m + q] = g_h[q] * tc * go * (1.0 - go)
                    g_c[q] = gc_total * gf
                y = ys[b, t]
                if affine:  # decoder z = dec_w y + dec_b
                    for q in range(n_out):
                        g_y[q] = 0.0
                    for p in range(4 * m):
                        g_dec_b[p] += g_z[p]
                        for q in range(n_out):
                            g_dec_w[p, q] += g_z[p] * y[q]
                            g_y[q] += dec_w[p, q] * g_z[p]
                else:
                    g_y[:] = g_z
                u = us[b, t]
                for k in range(n_in):
                    g_u[k] = 0.0
                    sig = 1.0 / (1.0 + np.exp(-u[k]))
                    silu = u[k] * sig
                    d_silu = sig * (1.0 + u[k] * (1.0 - sig))
                    for j in range(n_out):
                        gyj = g_y[j]
                        g_base[j, k] += gyj * silu
                        g_u[k] += gyj * base[j, k] * d_silu
                        bx, by, bz = start[j, k, 0], start[j, k, 1], start[j, k, 2]
                        for layer in range(layers):  # recompute the chain from the stored cos / sin
                            ca, sa = trig[b, t, j, k, layer, 0], trig[b, t, j, k, layer, 1]
                            p_, q_ = bx * ca - by * sa, bx * sa + by * ca
                            cy, sy = cos_y[j, k, layer], sin_y[j, k, layer]
                            bz, bx = bz * cy - p_ * sy, p_ * cy + bz * sy
                            by = q_
                            chain[layer, 0], chain[layer, 1] = p_, q_
                            chain[layer, 2], chain[layer, 3] = bz, bx
                        if amplitude:
                            plus, minus = (1.0 + bz) / 2.0, (1.0 - bz) / 2.0
                            phi = math.sqrt(max(plus, tiny)) - math.sqrt(max(minus, tiny))
                            d_phi = 0.0
                            if plus >= tiny:  # clamp_min passes the gradient where the input >= min
                                d_phi += 0.25 / math.sqrt(plus)
                            if minus >= tiny:
                                d_phi += 0.25 / math.sqrt(minus)
                        else:
                            phi, d_phi = bz, 1.0
                        g_post_w[j, k] += gyj * (phi + post_b[j, k])
                        g_post_b[j, k] += gyj * post_w[j, k]
                        gz_, gx_, gy_ = gyj * post_w[j, k] * d_phi, 0.0, 0.0
                        for layer in range(layers - 1, -1, -1):
                            p_, q_ = chain[layer, 0], chain[layer, 1]
                            z_out, x_out = chain[layer, 2], chain[layer, 3]
                            cy, sy = cos_y[j, k, layer], sin_y[j, k, layer]
                            # RY: (Z, P) -> (Z cy - P sy, P cy + Z sy); d/dtheta = (-X_out, Z_out)
                            g_ty[j, k, layer] += gx_ * z_out - gz_ * x_out
                            g_p = gx_ * cy - gz_ * sy
                            gz_ = gz_ * cy + gx_ * sy
                            # RZ: (X, Y) -> (P, Q); d/dangle (P, Q) = (-Q, P)
                            ca, sa = trig[b, t, j, k, layer, 0], trig[b, t, j, k, layer, 1]
                            g_angle = gy_ * p_ - g_p * q_
                            gx_ = g_p * ca + gy_ * sa
                            gy_ = gy_ * ca - g_p * sa
                            g_beta[j, k, layer] += g_angle
                            g_pw[j, k, layer] += g_angle * u[k]
                            g_u[k] += g_angle * pw[j, k, layer]
                        g_start[j, k, 0] += gx_
                        g_start[j, k, 1] += gy_
                        g_start[j, k, 2] += gz_
                v[:d] = x[b, t]
                v[d:] = hs[b, t]
                if affine:  # encoder u = enc_w v + enc_b
                    for q in range(d + m):
                        g_v[q] = 0.0
                    for p in range(n_in):
                        g_enc_b[p] += g_u[p]
                        for q in range(d + m):
                            g_enc_w[p, q] += g_u[p] * v[q]
                            g_v[q] += enc_w[p, q] * g_u[p]
                else:
                    g_v[:] = g_u
                if need_x:
                    g_x[b, t] += g_v[:d]  # summed over models that share x
                g_h[:] = g_v[d:]
        for j in range(n_out):
            for k in range(n_in):
                c0, s0 = np.cos(theta[j, k, 0, 0]), np.sin(theta[j, k, 0, 0])
                c1, s1 = np.cos(theta[j, k, 0, 1]), np.sin(theta[j, k, 0, 1])
                gsx, gsy, gsz = g_start[j, k, 0], g_start[j, k, 1], g_start[j, k, 2]
                g_theta[j, k, 0, 0] = -gsx * s0 * c1 + gsy * c0 + gsz * s0 * s1
                g_theta[j, k, 0, 1] = -gsx * c0 * s1 - gsz * c0 * c1
                for layer in range(layers):
                    g_theta[j, k, layer + 1, 0] = g_beta[j, k, layer]
                    g_theta[j, k, layer + 1, 1] = g_ty[j, k, layer]
    out = x_all.dtype  # accumulated in float64, returned in the model's dtype
    return (
        g_x_all.astype(out),
        g_theta_all.astype(out),
        g_pw_all.astype(out),
        g_beta_all.astype(out),
        g_base_all.astype(out),
        g_post_w_all.astype(out),
        g_post_b_all.astype(out),
        g_enc_w_all.astype(out),
        g_enc_b_all.astype(out),
        g_dec_w_all.astype(out),
        g_dec_b_all.astype(out),
    )


@functools.cache
def _kernels():
    """Compile the loops (first call in a process; later processes load the disk cache)."""
    import numba  # lazy: `import qkan_lib` does not pay for Numba

    def jit(fn):
        return numba.njit(cache=True, error_model="numpy")(fn)

    global _edge_constants  # the loops call it by its global name, so it must be compiled too
    _edge_constants = jit(_edge_constants)
    return jit(_forward_loops), jit(_backward_loops)


# ----------------------------------------------------------------------------------------
# PyTorch side
# ----------------------------------------------------------------------------------------


def _layout(module: torch.nn.Module, x: torch.Tensor):
    """(tensors in the kernel's argument order, HQKAN?, QKAN layer) if the fused kernel covers
    this QKAN layer or HQKAN and input (see :func:`can_fuse`), else None."""
    if type(x) is not torch.Tensor or x.device.type != "cpu" or x.dtype not in FUSED_DTYPES:
        return None
    kind = type(module)
    if kind is QKANLayer:
        layer, affine = module, ()
    elif kind is HQKAN:
        layer, encoder, decoder = module.latent, module.encoder, module.decoder
        if type(encoder) is not torch.nn.Linear or type(decoder) is not torch.nn.Linear:
            return None
        affine = (encoder.weight, encoder.bias, decoder.weight, decoder.bias)
    else:
        return None
    if type(layer) is not QKANLayer or layer.readout not in ("expectation", "amplitude"):
        return None
    tensors = (
        layer.theta,
        layer.preact_weight,
        layer.preact_bias,
        layer.base_weight,
        layer.postact_weight,
        layer.postact_bias,
        *affine,
    )
    for t in tensors:
        if t is None or t.dtype != x.dtype or t.device.type != "cpu":
            return None
        if type(t) is not torch.nn.Parameter and type(t) is not torch.Tensor:
            return None
    if transforms_active(x, *tensors) and not only_vmap_active():
        return None  # grad, jvp, nested vmap, tracing: the reference path
    return tensors, bool(affine), layer


def _arrays(tensors, stacked: bool) -> list[np.ndarray]:
    """NumPy views of the tensors with the kernel's leading model axis (no copies: the kernel
    reads float32 and float64 alike); ``stacked``: the tensors already carry it."""
    arrays = [t.detach().contiguous().numpy() for t in tensors]
    if not stacked:
        arrays = [a[None] for a in arrays]  # one model: a model axis of length 1 (a view)
    if len(arrays) == 6:  # QKAN-LSTM: empty encoder / decoder
        n_models, dtype = arrays[0].shape[0], arrays[0].dtype
        matrix, vector = np.zeros((n_models, 0, 0), dtype), np.zeros((n_models, 0), dtype)
        arrays += [matrix, vector, matrix, vector]
    return arrays


def _run_forward(settings, x, arrays, store: bool):
    """h_T from the forward loops: (S, batch, m) if the settings say stacked, else (batch, m),
    and what the backward loops need."""
    hidden, amplitude, affine, stacked = settings
    tiny = torch.finfo(x.dtype).tiny ** 0.5  # the clamp of qkan_lib.daruan.amplitude_readout
    forward_loops, _ = _kernels()
    x_array = x.detach().contiguous().numpy()
    if not stacked:
        x_array = x_array[None]
    h_last, *saved = forward_loops(x_array, *arrays, affine, amplitude, tiny, hidden, store)
    return torch.from_numpy(h_last if stacked else h_last[0]), (x_array, arrays, saved)


class FusedRecurrence(torch.autograd.Function):
    """h_T of a QKAN-LSTM / HQKAN-LSTM over the sequence x (batch, T, d) as one autograd node.

    ``apply(settings, x, theta, preact_weight, preact_bias, base_weight, postact_weight,
    postact_bias[, encoder.weight, encoder.bias, decoder.weight, decoder.bias])[0]`` with
    ``settings = (hidden_size, amplitude_readout, hqkan, stacked)``. Frozen tensors (buffers)
    get no gradient. The second output is what the backward pass reads (not a tensor).

    ``stacked``: S models at once, every tensor with a leading model axis of length S and x
    (S, batch, T, d), or (1, batch, T, d) for one input shared by every model; h_T is then
    (S, batch, m). Under ``torch.func.vmap`` (S seeds stacked, as
    :func:`qkan_lib.runs.seed_batching.train_seeds` runs them) the :meth:`vmap` rule sends
    the call here: the S models run in one compiled call, one autograd node.
    """

    generate_vmap_rule = False  # the rule is vmap() below

    @staticmethod
    def forward(settings, x, *tensors):
        arrays = _arrays(tensors, settings[3])
        return _run_forward(settings, x, arrays, store=True)

    @staticmethod
    def setup_context(ctx, inputs, output):
        settings, x, *tensors = inputs
        ctx.save_for_backward(x, *tensors)  # version counters catch in-place edits before backward
        ctx.kernel_inputs = output[1]
        ctx.settings = settings
        ctx.tiny = torch.finfo(x.dtype).tiny ** 0.5

    @staticmethod
    def backward(ctx, grad_h, _):
        if torch.is_grad_enabled():  # the compiled backward records no graph: refuse, not mislead
            raise RuntimeError(
                "the fused QKAN-LSTM kernel supports first-order gradients only; run the model "
                "inside qkan_lib.reference_path() for create_graph=True"
            )
        ctx.saved_tensors  # noqa: B018  (raises if a saved tensor was modified in place)
        x_array, arrays, saved = ctx.kernel_inputs
        hidden, amplitude, affine, stacked = ctx.settings
        _, backward_loops = _kernels()
        need_x = ctx.needs_input_grad[1]
        grad = grad_h.detach().contiguous().numpy()  # autograd gives it the dtype of h_T
        if not stacked:
            grad = grad[None]
        grads = backward_loops(
            grad, x_array, *arrays, affine, amplitude, ctx.tiny, hidden, need_x, *saved
        )
        out = []
        for needed, g in zip(ctx.needs_input_grad[1:], grads):
            out.append(torch.from_numpy(g if stacked else g[0]) if needed else None)
        return (None, *out)

    @staticmethod
    def vmap(info, in_dims, settings, x, *tensors):
        """S models under vmap (one level, see :func:`can_fuse`) in one compiled call: the
        vmapped axis becomes the kernel's model axis. A tensor not vmapped (a frozen buffer
        shared by every seed) is expanded to S; an x not vmapped is shared (model axis 1)."""
        size = info.batch_size
        x_dim, dims = in_dims[1], in_dims[2:]
        x = x.unsqueeze(0) if x_dim is None else x.movedim(x_dim, 0)
        tensors = [
            t.expand(size, *t.shape) if dim is None else t.movedim(dim, 0)
            for t, dim in zip(tensors, dims)
        ]
        settings = (*settings[:3], True)
        if torch.is_grad_enabled() and any(t.requires_grad for t in (x, *tensors)):
            return FusedRecurrence.apply(settings, x, *tensors), (0, None)
        h_last = _run_forward(settings, x, _arrays(tensors, True), store=False)[0]
        return (h_last, None), (0, None)  # no graph: keep nothing


def can_fuse(module: torch.nn.Module, x: torch.Tensor) -> bool:
    """Whether :func:`fused_final_hidden` computes the h_T of an LSTM cell whose gate map is this
    :class:`~qkan_lib.core.layers.QKANLayer` (QKAN-LSTM) or
    :class:`~qkan_lib.core.layers.HQKAN` (HQKAN-LSTM) for input ``x``.

    True for the exact classes with stock layers whose tensors and ``x`` are CPU tensors of one
    dtype, float32 or float64, outside ``torch.func`` transforms (grad, jvp, nested vmap),
    tracing and ``torch.compile``; under one level of ``torch.func.vmap`` (seeds stacked) the
    vmapped models run as S models in one call (:meth:`FusedRecurrence.vmap`). Everything else
    takes the autograd path.
    """
    return _layout(module, x) is not None


def _checked_layout(module: torch.nn.Module, x: torch.Tensor, hidden_size: int, caller: str):
    layout = _layout(module, x)
    if layout is None:
        raise ValueError(
            f"{caller}: this gate map / input cannot take the fused path "
            "(check can_fuse: CPU, float32/float64, QKANLayer or HQKAN, no torch.func)"
        )
    if x.dim() != 3 or x.shape[1] < 1:
        raise ValueError(
            f"{caller}: x must have shape (batch, seq_len >= 1, input_size), got {tuple(x.shape)}"
        )
    tensors, affine, layer = layout
    inputs = x.shape[-1] + hidden_size
    first = module.encoder.in_features if affine else layer.in_features
    last = module.decoder.out_features if affine else layer.out_features
    if first != inputs or last != 4 * hidden_size:
        raise ValueError(
            f"{caller}: the gate map maps {first} -> {last} features, but input_size "
            f"{x.shape[-1]} and hidden_size {hidden_size} need {inputs} -> {4 * hidden_size}"
        )
    return tensors, affine, layer


def fused_final_hidden(module: torch.nn.Module, x: torch.Tensor, hidden_size: int) -> torch.Tensor:
    """Final hidden state h_T (batch, hidden_size) of the LSTM cell of Eq. (1) whose gate map is
    ``module`` (a QKAN layer or an HQKAN), run over ``x`` (batch, seq_len, input_size) from
    h_0 = c_0 = 0, as one autograd node with gradients for ``x`` and every trainable tensor.

    Call only where :func:`can_fuse` is True (a ValueError says why otherwise).
    """
    tensors, affine, layer = _checked_layout(module, x, hidden_size, "fused_final_hidden")
    settings = (int(hidden_size), layer.readout == "amplitude", affine, False)
    if transforms_active(x, *tensors):  # vmapped (see can_fuse): the vmap rule takes it
        return FusedRecurrence.apply(settings, x, *tensors)[0]
    if torch.is_grad_enabled() and any(t.requires_grad for t in (x, *tensors)):
        return FusedRecurrence.apply(settings, x, *tensors)[0]
    return _run_forward(settings, x, _arrays(tensors, False), store=False)[0]  # keep nothing


def stacked_final_hidden(
    module: torch.nn.Module,
    x: torch.Tensor,
    hidden_size: int,
    stacked: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """h_T (S, batch, hidden_size) of S models shaped like ``module`` on one input ``x``, in one
    compiled call (one autograd node): each tensor ``t`` of ``module`` is replaced by
    ``stacked(t)``, its S models' values (S, *t.shape), e.g. the seeds' parameters stacked by
    ``torch.func.stack_module_state``. What ``vmap`` over :func:`fused_final_hidden` computes
    (the same loops), without vmap's per-operator cost. Call only where :func:`can_fuse`."""
    tensors, affine, layer = _checked_layout(module, x, hidden_size, "stacked_final_hidden")
    tensors = [stacked(t) for t in tensors]
    settings = (int(hidden_size), layer.readout == "amplitude", affine, True)
    x = x.unsqueeze(0)  # one input shared by every model
    if torch.is_grad_enabled() and any(t.requires_grad for t in (x, *tensors)):
        return FusedRecurrence.apply(settings, x, *tensors)[0]
    return _run_forward(settings, x, _arrays(tensors, True), store=False)[0]  # keep nothing
