"""The DARUAN: a single-qubit data re-uploading activation, Eqs. (3)-(6) of the paper.

Circuit (read left to right, as applied):

    |0> -H- [RZ(t[0,0]) RY(t[0,1])] RZ(w_1 x + b_1) ... [RZ(t[L-1,0]) RY(t[L-1,1])] RZ(w_L x + b_L)
        -[RZ(t[L,0]) RY(t[L,1])]- measure Z

A pure single-qubit state is a point r = (X, Y, Z) on the Bloch sphere, and
RZ(a) / RY(a) rotate it by the angle a about the z / y axis. So the circuit is a
chain of real 2-D rotations acting on three real numbers; <Z> is the last
coordinate. No complex arithmetic and no 2x2 matrices are needed, and every
operation is elementwise, so one call evaluates any number of edges and batch
rows at once.
"""
from __future__ import annotations

import math

import torch

READOUTS = ("expectation", "amplitude")


def _check_params(theta: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, readout: str) -> int:
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
    if theta.dim() < 2 or theta.shape[-1] != 2:
        raise ValueError(f"theta must have shape (..., reps + 1, 2), got {tuple(theta.shape)}")
    reps = theta.shape[-2] - 1
    if reps < 1:
        raise ValueError(f"a DARUAN needs reps >= 1 (theta.shape[-2] = reps + 1 >= 2), got theta {tuple(theta.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t.shape[-1] != reps:
            raise ValueError(
                f"{name} must have last dimension reps = {reps} to match theta {tuple(theta.shape)}, got {tuple(t.shape)}"
            )
    return reps


def _rotate(a: torch.Tensor, b: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor):
    """Rotate the pair (a, b) by an angle with the given cosine and sine."""
    return a * cos - b * sin, a * sin + b * cos


def bloch_vector(x: torch.Tensor, theta: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor):
    """Final Bloch vector (X, Y, Z) of the DARUAN circuit, before the measurement.

    ``x`` must broadcast against ``theta.shape[:-2]`` (the edge dimensions);
    ``weight`` and ``bias`` have shape ``(..., reps)``.
    """
    reps = _check_params(theta, weight, bias, "expectation")
    angles = x.unsqueeze(-1) * weight + bias  # (..., reps): the encoding angles w_l x + b_l
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


def amplitude_readout(z: torch.Tensor) -> torch.Tensor:
    """The reference library's default readout |alpha| - |beta| as a function of <Z>.

    |alpha|^2 = (1 + <Z>)/2 and |beta|^2 = (1 - <Z>)/2. The square roots make
    this readout non-polynomial in the Bloch vector, so it is NOT band-limited.
    The arguments are clamped away from 0 so the gradient stays finite at the poles.
    """
    tiny = torch.finfo(z.dtype).tiny ** 0.5
    return torch.sqrt(((1 + z) / 2).clamp_min(tiny)) - torch.sqrt(((1 - z) / 2).clamp_min(tiny))


def daruan(
    x: torch.Tensor,
    theta: torch.Tensor,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    readout: str = "expectation",
) -> torch.Tensor:
    """Evaluate DARUAN edge functions phi(x), vectorised over batch and edges.

    Args:
        x: inputs, broadcastable against the edge shape ``theta.shape[:-2]``.
        theta: trainable angles, shape ``(*edges, reps + 1, 2)``; ``theta[..., l, 0]``
            is the RZ angle and ``theta[..., l, 1]`` the RY angle of block l.
        weight, bias: encoding weights w_l and biases b_l, shape ``(*edges, reps)``.
            ``None`` means w = 1 and b = 0 (plain re-uploading of x).
        readout: ``"expectation"`` (Eq. 3, <Z>, default) or ``"amplitude"``
            (|alpha| - |beta|, the reference library's fast readout).

    Returns:
        phi(x) with shape ``broadcast(x.shape, theta.shape[:-2])``.

    This is the fast path (:mod:`qkan_lib.fast`: merged rotations, analytic backward);
    :func:`bloch_vector` is the plain gate-by-gate version it is tested against.
    """
    reps = theta.shape[-2] - 1
    if weight is None:
        weight = torch.ones(theta.shape[:-2] + (reps,), dtype=theta.dtype, device=theta.device)
    if bias is None:
        bias = torch.zeros_like(weight)
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"DARUAN input x must be a floating-point tensor, got {got}")
    if not torch.isfinite(x).all():
        raise ValueError("DARUAN input contains NaN or infinite values")
    _check_params(theta, weight, bias, readout)
    from .fast import edge_constants, fast_expectation

    z = fast_expectation(x, weight, edge_constants(theta, bias))
    return z if readout == "expectation" else amplitude_readout(z)


class DARUAN(torch.nn.Module):
    """A single DARUAN edge function phi: R -> [-1, 1], applied elementwise.

    ``theta`` has shape (reps + 1, 2); ``weight`` and ``bias`` (the paper's
    trainable pre-processing w_l, b_l) have shape (reps,). With
    ``preact_trainable=False`` they are fixed buffers w = 1, b = 0.
    """

    def __init__(self, reps: int = 1, preact_trainable: bool = True, readout: str = "expectation",
                 dtype: torch.dtype | None = None):
        super().__init__()
        from .utils import check_positive_int

        self.reps = check_positive_int(reps, "reps")
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
        self.readout = readout
        self.theta = torch.nn.Parameter(torch.empty(reps + 1, 2, dtype=dtype))
        torch.nn.init.uniform_(self.theta, -math.pi, math.pi)
        ones = torch.ones(reps, dtype=dtype)
        if preact_trainable:
            self.weight = torch.nn.Parameter(ones)
            self.bias = torch.nn.Parameter(torch.zeros_like(ones))
        else:
            self.register_buffer("weight", ones)
            self.register_buffer("bias", torch.zeros_like(ones))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return daruan(x, self.theta, self.weight, self.bias, self.readout)

    def extra_repr(self) -> str:
        return f"reps={self.reps}, readout={self.readout!r}"
