r"""The DARUAN: a single-qubit data re-uploading activation, Eqs. (3)-(6) of the paper.

Circuit (read left to right, as applied):

    |0> -H- [RZ(t[0,0]) RY(t[0,1])] RZ(w_1 x + b_1) ... [RZ(t[L-1,0]) RY(t[L-1,1])] RZ(w_L x + b_L)
        -[RZ(t[L,0]) RY(t[L,1])]- measure Z

Symbols (one name each across the library): ``theta`` the block angles t, ``preact_weight`` /
``preact_bias`` the encoding weights w_l and biases b_l (the paper's "trainable pre-processing").

A pure single-qubit state is a point r = (X, Y, Z) on the Bloch sphere, and RZ(a) / RY(a)
rotate it by the angle a about the z / y axis. So the circuit is a chain of real 2-D rotations
acting on three real numbers; <Z> is the last coordinate. No complex arithmetic and no 2x2
matrices are needed, and every operation is elementwise, so one call evaluates any number of
edges and batch rows at once.

Two implementations live here side by side, by role:

* reference: :func:`bloch_vector`, gate by gate, autograd through every rotation;
* core: :class:`DaruanCore` (used by :func:`evaluate_daruan`, :class:`DARUAN` and the QKAN
  layers), after two exact rewrites:
  1. ``RZ(w_l x + b_l)`` is immediately followed by the trainable ``RZ(theta[l, 0])``; two
     z-rotations add, so they merge into ``RZ(w_l x + merged_bias_l)`` with the per-edge
     ``merged_bias_l = b_l + theta[l, 0]``.
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
import math
from collections.abc import Iterator

import torch

from ..utils import check_float_tensor, check_positive_int

READOUTS = ("expectation", "amplitude")
# start vector (x0, y0, z0), merged biases and R_Y angles of every edge (see edge_constants)
EdgeConstants = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def check_readout(readout: str) -> str:
    """``readout`` if it is one of :data:`READOUTS`, else a ValueError naming the choices."""
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
    return readout


def _check_params(
    theta: torch.Tensor, preact_weight: torch.Tensor, preact_bias: torch.Tensor, readout: str
) -> int:
    check_readout(readout)
    if theta.dim() < 2 or theta.shape[-1] != 2:
        raise ValueError(f"theta must have shape (..., reps + 1, 2), got {tuple(theta.shape)}")
    reps = theta.shape[-2] - 1
    if reps < 1:
        raise ValueError(
            "a DARUAN needs reps >= 1 (theta.shape[-2] = reps + 1 >= 2), "
            f"got theta {tuple(theta.shape)}"
        )
    for name, t in (("preact_weight", preact_weight), ("preact_bias", preact_bias)):
        if t.shape[-1] != reps:
            raise ValueError(
                f"{name} must have last dimension reps = {reps} to match theta "
                f"{tuple(theta.shape)}, got {tuple(t.shape)}"
            )
    for name, t in (
        ("theta", theta),
        ("preact_weight", preact_weight),
        ("preact_bias", preact_bias),
    ):
        if not t.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")
    return reps


def _rotate(a: torch.Tensor, b: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor):
    """Rotate the pair (a, b) by an angle with the given cosine and sine."""
    return a * cos - b * sin, a * sin + b * cos


def bloch_vector(
    x: torch.Tensor, theta: torch.Tensor, preact_weight: torch.Tensor, preact_bias: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Final Bloch vector (X, Y, Z) of the DARUAN circuit, before the measurement: the
    gate-by-gate REFERENCE implementation.

    ``x`` must broadcast against ``theta.shape[:-2]`` (the edge dimensions);
    ``preact_weight`` and ``preact_bias`` have shape ``(..., reps)``.
    """
    reps = _check_params(theta, preact_weight, preact_bias, "expectation")
    # (..., reps): the encoding angles w_l x + b_l
    angles = x.unsqueeze(-1) * preact_weight + preact_bias
    cos_a, sin_a = torch.cos(angles), torch.sin(angles)
    cos_t, sin_t = torch.cos(theta), torch.sin(theta)
    # H|0> = |+> has Bloch vector (1, 0, 0); RZ(t[0,0]) turns it to (cos, sin, 0).
    X, Y = cos_t[..., 0, 0], sin_t[..., 0, 0]
    Z = torch.zeros_like(X)
    for layer in range(reps):
        if layer > 0:  # RZ(t[layer,0]): rotation about z
            X, Y = _rotate(X, Y, cos_t[..., layer, 0], sin_t[..., layer, 0])
        # RY(t): rotation about y maps (Z, X) -> (Z cos - X sin, Z sin + X cos)
        Z, X = _rotate(Z, X, cos_t[..., layer, 1], sin_t[..., layer, 1])
        # RZ(w x + b): the data re-upload
        X, Y = _rotate(X, Y, cos_a[..., layer], sin_a[..., layer])
    X, Y = _rotate(X, Y, cos_t[..., reps, 0], sin_t[..., reps, 0])
    Z, X = _rotate(Z, X, cos_t[..., reps, 1], sin_t[..., reps, 1])
    return X, Y, Z


def _forward_sweep(x, weight, merged_bias, x0, y0, z0, theta_y):
    """Run the rotation chain; return <Z> and what the reverse sweep needs."""
    cos_y, sin_y = torch.cos(theta_y), torch.sin(theta_y)
    X, Y, Z = x0, y0, z0
    saved = []
    for l in range(weight.shape[0]):
        angle = torch.addcmul(merged_bias[l], x, weight[l])
        ca, sa = torch.cos(angle), torch.sin(angle)
        P = torch.addcmul(X * ca, Y, sa, value=-1)  # RZ(a): (X, Y) -> (P, Q)
        Q = torch.addcmul(X * sa, Y, ca)
        cy, sy = cos_y[l], sin_y[l]
        Z, X = (
            torch.addcmul(Z * cy, P, sy, value=-1),
            torch.addcmul(P * cy, Z, sy),
        )  # RY: (Z, P) -> (Z', X')
        Y = Q
        saved += [ca, sa, P, Q, Z, X]
    return Z, [cos_y, sin_y, *saved]


def _reverse_sweep(grad, x, weight, edge_shape, need_x, cos_y, sin_y, *saved):
    """Gradients of <Z> w.r.t. (x, weight, merged_bias, x0, y0, z0, theta_y) in one reverse
    sweep."""
    layers = weight.shape[0]
    g_weight, g_bias, g_theta = [None] * layers, [None] * layers, [None] * layers
    g_x = None
    gX = gY = None  # None: identically zero
    gZ = grad
    for l in reversed(range(layers)):
        ca, sa, P, Q, Z_out, X_out = saved[6 * l : 6 * l + 6]
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
        g_bias[l] = g_angle.sum_to_size(edge_shape)
        g_weight[l] = (g_angle * x).sum_to_size(edge_shape)
        if need_x:
            term = g_angle * weight[l]
            g_x = term if g_x is None else g_x + term
    if g_x is not None:
        g_x = g_x.sum_to_size(x.shape)
    reduce = lambda g: g.sum_to_size(edge_shape)  # noqa: E731
    return (
        g_x,
        torch.stack(g_weight),
        torch.stack(g_bias),
        reduce(gX),
        reduce(gY),
        reduce(gZ),
        torch.stack(g_theta),
    )


class DaruanCore(torch.autograd.Function):
    """<Z> after the data-dependent part of a DARUAN (the fast path for ordinary use).

    Inputs: ``x`` (broadcasts against the edge shape); ``weight``, ``merged_bias``, ``theta_y``
    with the LAYER axis FIRST, shape (L, *edges), so every per-layer slice is contiguous;
    the start vector ``x0, y0, z0`` (edge shape). Angle l is ``weight[l] * x + merged_bias[l]``.
    """

    @staticmethod
    def forward(ctx, x, weight, merged_bias, x0, y0, z0, theta_y):
        z, saved = _forward_sweep(x, weight, merged_bias, x0, y0, z0, theta_y)
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
    def forward(x, weight, merged_bias, x0, y0, z0, theta_y):
        z, saved = _forward_sweep(x, weight, merged_bias, x0, y0, z0, theta_y)
        saved[-2] = saved[
            -2
        ].clone()  # the last Z is also the output, which must stay differentiable
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
def vmap_compatible() -> Iterator[None]:
    """Within this block DARUANs use :class:`DaruanCoreVmap` (see qkan_lib.seed_batching)."""
    token = _BATCHED_MODELS.set(True)
    try:
        yield
    finally:
        _BATCHED_MODELS.reset(token)


def daruan_core(
    x: torch.Tensor,
    weight: torch.Tensor,
    merged_bias: torch.Tensor,
    x0: torch.Tensor,
    y0: torch.Tensor,
    z0: torch.Tensor,
    theta_y: torch.Tensor,
) -> torch.Tensor:
    """<Z> of DARUANs from :func:`prepare`-d tensors (the vmap-able core inside
    :func:`vmap_compatible`)."""
    if _BATCHED_MODELS.get():
        return DaruanCoreVmap.apply(x, weight, merged_bias, x0, y0, z0, theta_y)[0]
    return DaruanCore.apply(x, weight, merged_bias, x0, y0, z0, theta_y)


def edge_constants(theta: torch.Tensor, bias: torch.Tensor) -> EdgeConstants:
    """Per-edge quantities that do not depend on x: the start vector, merged biases, RY angles."""
    cos_t, sin_t = torch.cos(theta[..., 0, :]), torch.sin(theta[..., 0, :])
    x0 = cos_t[..., 0] * cos_t[..., 1]  # RY(t01) RZ(t00) |+>, |+> = (1, 0, 0)
    y0 = sin_t[..., 0]
    z0 = -cos_t[..., 0] * sin_t[..., 1]
    merged_bias = bias + theta[..., 1:, 0]  # RZ(w x + b) RZ(t_l0) = RZ(w x + b + t_l0)
    return x0, y0, z0, merged_bias, theta[..., 1:, 1]


def prepare(
    weight: torch.Tensor, constants: EdgeConstants, edges: tuple[int, ...] | None = None
) -> tuple[torch.Tensor, ...]:
    """Lay the per-edge tensors out for :class:`DaruanCore` (layer axis first, contiguous).

    Done once per forward pass of a layer, or once per SEQUENCE by a recurrent cell's
    ``step_function``: none of it depends on x.
    """
    x0, y0, z0, merged_bias, theta_y = constants
    layers = weight.shape[-1]
    edges = edges or torch.broadcast_shapes(
        x0.shape, weight.shape[:-1], merged_bias.shape[:-1], theta_y.shape[:-1]
    )

    def layer_first(t):
        moved = t.movedim(-1, 0)
        padded = moved.reshape(layers, *(1,) * (len(edges) - moved.dim() + 1), *moved.shape[1:])
        return padded.expand(layers, *edges).contiguous()

    start = tuple(v.expand(edges) for v in (x0, y0, z0))
    return (layer_first(weight), layer_first(merged_bias), *start, layer_first(theta_y))


def fast_expectation(
    x: torch.Tensor, weight: torch.Tensor, constants: EdgeConstants
) -> torch.Tensor:
    """<Z> of DARUANs from precomputed :func:`edge_constants`; x broadcasts against the edges."""
    return daruan_core(x, *prepare(weight, constants))


def amplitude_readout(z: torch.Tensor) -> torch.Tensor:
    """The reference library's default readout |alpha| - |beta| as a function of <Z>.

    |alpha|^2 = (1 + <Z>)/2 and |beta|^2 = (1 - <Z>)/2. The square roots make
    this readout non-polynomial in the Bloch vector, so it is NOT band-limited.
    The arguments are clamped away from 0 so the gradient stays finite at the poles.
    """
    tiny = torch.finfo(z.dtype).tiny ** 0.5
    return torch.sqrt(((1 + z) / 2).clamp_min(tiny)) - torch.sqrt(((1 - z) / 2).clamp_min(tiny))


def evaluate_daruan(
    x: torch.Tensor,
    theta: torch.Tensor,
    preact_weight: torch.Tensor | None = None,
    preact_bias: torch.Tensor | None = None,
    readout: str = "expectation",
) -> torch.Tensor:
    """Evaluate DARUAN edge functions phi(x), vectorised over batch and edges.

    Args:
        x: inputs, broadcastable against the edge shape ``theta.shape[:-2]``.
        theta: trainable angles, shape ``(*edges, reps + 1, 2)``; ``theta[..., l, 0]``
            is the RZ angle and ``theta[..., l, 1]`` the RY angle of block l.
        preact_weight, preact_bias: encoding weights w_l and biases b_l, shape
            ``(*edges, reps)``. ``None`` means w = 1 and b = 0 (plain re-uploading of x).
        readout: ``"expectation"`` (Eq. 3, <Z>, default) or ``"amplitude"``
            (|alpha| - |beta|, the reference library's fast readout).

    Returns:
        phi(x) with shape ``broadcast(x.shape, theta.shape[:-2])``.

    Runs the core (:class:`DaruanCore`); :func:`bloch_vector` is the reference it is tested
    against.
    """
    reps = theta.shape[-2] - 1
    if preact_weight is None:
        preact_weight = torch.ones(
            theta.shape[:-2] + (reps,), dtype=theta.dtype, device=theta.device
        )
    if preact_bias is None:
        preact_bias = torch.zeros_like(preact_weight)
    _check_params(theta, preact_weight, preact_bias, readout)
    check_float_tensor(x, "DARUAN input x")
    if not torch.isfinite(x).all():
        raise ValueError("DARUAN input contains NaN or infinite values")
    z = fast_expectation(x, preact_weight, edge_constants(theta, preact_bias))
    return z if readout == "expectation" else amplitude_readout(z)


class DARUAN(torch.nn.Module):
    """A single DARUAN edge function phi: R -> [-1, 1], applied elementwise.

    ``theta`` has shape (reps + 1, 2); ``preact_weight`` and ``preact_bias`` (the paper's
    trainable pre-processing w_l, b_l) have shape (reps,). With ``preact_trainable=False`` they
    are fixed buffers w = 1, b = 0.
    """

    def __init__(
        self,
        reps: int = 1,
        preact_trainable: bool = True,
        readout: str = "expectation",
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ):
        super().__init__()
        self.reps = check_positive_int(reps, "reps")
        self.readout = check_readout(readout)
        factory = {"dtype": dtype, "device": device}
        self.theta = torch.nn.Parameter(torch.empty(reps + 1, 2, **factory))
        torch.nn.init.uniform_(self.theta, -math.pi, math.pi)
        ones = torch.ones(reps, **factory)
        if preact_trainable:
            self.preact_weight = torch.nn.Parameter(ones)
            self.preact_bias = torch.nn.Parameter(torch.zeros_like(ones))
        else:
            self.register_buffer("preact_weight", ones)
            self.register_buffer("preact_bias", torch.zeros_like(ones))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return evaluate_daruan(x, self.theta, self.preact_weight, self.preact_bias, self.readout)

    def extra_repr(self) -> str:
        return f"reps={self.reps}, readout={self.readout!r}"
