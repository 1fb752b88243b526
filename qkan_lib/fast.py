r"""The fast DARUAN path: merged rotations and a hand-written backward sweep.

Two exact rewrites of the circuit make it cheap:

1. ``RZ(w_l x + b_l)`` is immediately followed by the trainable ``RZ(theta[l, 0])``; two
   z-rotations add, so they merge into ``RZ(w_l x + beta_l)`` with the per-edge
   ``beta_l = b_l + theta[l, 0]``.
2. Everything before the first data rotation, ``RY(theta[0,1]) RZ(theta[0,0]) H|0>``, does
   not depend on x: it is one Bloch vector per edge, computed once.

What is left per batch element and layer is a z-rotation by the data angle and a
y-rotation by ``theta[l, 1]``. :class:`DaruanCore` runs that chain forward, saves the
intermediate Bloch vectors, and differentiates it in one reverse sweep using
``d/da R(a) r = J R(a) r`` (the derivative of a rotation is a quarter-turn of the rotated
vector), so autograd records one node instead of dozens of elementwise ones.
"""
from __future__ import annotations

import contextlib
import contextvars

import torch


def _forward_sweep(x, weight, beta, x0, y0, z0, theta_y):
    """Run the rotation chain; return <Z> and what the reverse sweep needs."""
    cos_y, sin_y = torch.cos(theta_y), torch.sin(theta_y)
    X, Y, Z = x0, y0, z0
    saved = []
    for l in range(weight.shape[0]):
        angle = torch.addcmul(beta[l], x, weight[l])
        ca, sa = torch.cos(angle), torch.sin(angle)
        P = torch.addcmul(X * ca, Y, sa, value=-1)  # RZ(a): (X, Y) -> (P, Q)
        Q = torch.addcmul(X * sa, Y, ca)
        cy, sy = cos_y[l], sin_y[l]
        Z, X = torch.addcmul(Z * cy, P, sy, value=-1), torch.addcmul(P * cy, Z, sy)  # RY: (Z, P) -> (Z', X')
        Y = Q
        saved += [ca, sa, P, Q, Z, X]
    return Z, [cos_y, sin_y, *saved]


def _reverse_sweep(grad, x, weight, edge_shape, need_x, cos_y, sin_y, *saved):
    """Gradients of <Z> w.r.t. (x, weight, beta, x0, y0, z0, theta_y) in one reverse sweep."""
    layers = weight.shape[0]
    g_weight, g_beta, g_theta = [None] * layers, [None] * layers, [None] * layers
    g_x = None
    gX = gY = None  # None: identically zero
    gZ = grad
    for l in reversed(range(layers)):
        ca, sa, P, Q, Z_out, X_out = saved[6 * l:6 * l + 6]
        cy, sy = cos_y[l], sin_y[l]
        # RY: (Z_in, P) -> (Z_out, X_out); d/dtheta (Z_out, X_out) = (-X_out, Z_out)
        if gX is None:
            g_theta[l] = (-gZ * X_out).sum_to_size(edge_shape)
            gP, gZ = -gZ * sy, gZ * cy
        else:
            g_theta[l] = torch.addcmul(gX * Z_out, gZ, X_out, value=-1).sum_to_size(edge_shape)
            gP, gZ = torch.addcmul(gX * cy, gZ, sy, value=-1), torch.addcmul(gZ * cy, gX, sy)
        # RZ: (X_in, Y_in) -> (P, Q); d/da (P, Q) = (-Q, P)
        if gY is None:
            g_angle = -gP * Q
            gX, gY = gP * ca, -gP * sa
        else:
            g_angle = torch.addcmul(gY * P, gP, Q, value=-1)
            gX, gY = torch.addcmul(gP * ca, gY, sa), torch.addcmul(gY * ca, gP, sa, value=-1)
        g_beta[l] = g_angle.sum_to_size(edge_shape)
        g_weight[l] = (g_angle * x).sum_to_size(edge_shape)
        if need_x:
            term = g_angle * weight[l]
            g_x = term if g_x is None else g_x + term
    if g_x is not None:
        g_x = g_x.sum_to_size(x.shape)
    reduce = lambda g: g.sum_to_size(edge_shape)  # noqa: E731
    return (g_x, torch.stack(g_weight), torch.stack(g_beta), reduce(gX), reduce(gY), reduce(gZ),
            torch.stack(g_theta))


class DaruanCore(torch.autograd.Function):
    """<Z> after the data-dependent part of a DARUAN (the fast path for ordinary use).

    Inputs: ``x`` (broadcasts against the edge shape); ``weight``, ``beta``, ``theta_y``
    with the LAYER axis FIRST, shape (L, *edges), so every per-layer slice is contiguous;
    the start vector ``x0, y0, z0`` (edge shape). Angle l is ``weight[l] * x + beta[l]``.
    """

    @staticmethod
    def forward(ctx, x, weight, beta, x0, y0, z0, theta_y):
        z, saved = _forward_sweep(x, weight, beta, x0, y0, z0, theta_y)
        ctx.save_for_backward(x, weight, *saved)
        ctx.edge_shape = x0.shape
        return z

    @staticmethod
    def backward(ctx, grad):
        x, weight, *saved = ctx.saved_tensors
        return _reverse_sweep(grad, x, weight, ctx.edge_shape, ctx.needs_input_grad[0], *saved)


class DaruanCoreVmap(torch.autograd.Function):
    """The same computation in the functional style that ``torch.func.vmap`` can batch
    (used when seeds train as one batched model). Intermediates leave ``forward`` as extra,
    non-differentiable outputs, which costs a little time, hence two classes."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, weight, beta, x0, y0, z0, theta_y):
        z, saved = _forward_sweep(x, weight, beta, x0, y0, z0, theta_y)
        saved[-2] = saved[-2].clone()  # the last Z is also the output, which must stay differentiable
        return (z, *saved)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.mark_non_differentiable(*output[1:])
        ctx.save_for_backward(inputs[0], inputs[1], *output[1:])
        ctx.edge_shape = inputs[3].shape

    @staticmethod
    def backward(ctx, grad, *unused):
        x, weight, *saved = ctx.saved_tensors
        return _reverse_sweep(grad, x, weight, ctx.edge_shape, ctx.needs_input_grad[0], *saved)


_BATCHED_MODELS = contextvars.ContextVar("qkan_batched_models", default=False)


@contextlib.contextmanager
def vmap_compatible():
    """Within this block DARUANs use :class:`DaruanCoreVmap` (see qkan_lib.ensemble)."""
    token = _BATCHED_MODELS.set(True)
    try:
        yield
    finally:
        _BATCHED_MODELS.reset(token)


def daruan_core(x, weight, beta, x0, y0, z0, theta_y) -> torch.Tensor:
    """<Z> of DARUANs from :func:`prepare`-d tensors."""
    if _BATCHED_MODELS.get():
        return DaruanCoreVmap.apply(x, weight, beta, x0, y0, z0, theta_y)[0]
    return DaruanCore.apply(x, weight, beta, x0, y0, z0, theta_y)


def edge_constants(theta: torch.Tensor, bias: torch.Tensor):
    """Per-edge quantities that do not depend on x: the start vector, merged biases, RY angles."""
    cos_t, sin_t = torch.cos(theta[..., 0, :]), torch.sin(theta[..., 0, :])
    x0 = cos_t[..., 0] * cos_t[..., 1]  # RY(t01) RZ(t00) |+>, |+> = (1, 0, 0)
    y0 = sin_t[..., 0]
    z0 = -cos_t[..., 0] * sin_t[..., 1]
    beta = bias + theta[..., 1:, 0]  # RZ(w x + b) RZ(t_l0) = RZ(w x + b + t_l0)
    return x0, y0, z0, beta, theta[..., 1:, 1]


def prepare(weight: torch.Tensor, constants, edges=None):
    """Lay the per-edge tensors out for :class:`DaruanCore` (layer axis first, contiguous).

    Done once per forward pass of a layer, or once per SEQUENCE by a recurrent cell's
    ``step_function``: none of it depends on x.
    """
    x0, y0, z0, beta, theta_y = constants
    layers = weight.shape[-1]
    edges = edges or torch.broadcast_shapes(x0.shape, weight.shape[:-1], beta.shape[:-1], theta_y.shape[:-1])

    def layer_first(t):
        moved = t.movedim(-1, 0)
        padded = moved.reshape(layers, *(1,) * (len(edges) - moved.dim() + 1), *moved.shape[1:])
        return padded.expand(layers, *edges).contiguous()

    start = tuple(v.expand(edges) for v in (x0, y0, z0))
    return (layer_first(weight), layer_first(beta), *start, layer_first(theta_y))


def fast_expectation(x: torch.Tensor, weight: torch.Tensor, constants) -> torch.Tensor:
    """<Z> of DARUANs from precomputed :func:`edge_constants`; x broadcasts against the edges."""
    return daruan_core(x, *prepare(weight, constants))
