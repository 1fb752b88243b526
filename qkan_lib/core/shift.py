r"""Parameter-shift gradients (Eq. 9): what a quantum device would run instead of backprop.

For a gate :math:`e^{-i\theta P/2}` with a Pauli word P,

.. math:: \partial_\theta f = \tfrac12\,[f(\theta + \pi/2) - f(\theta - \pi/2)],

exactly. Each angle costs two extra circuit evaluations. Here every shifted circuit is
evaluated in ONE vectorised call (the shifts become a batch dimension), using the same
simulators as the models, so these gradients can be compared with autograd directly.
"""

from __future__ import annotations

import math

import torch

from .circuits import circuit_expectations
from .daruan import evaluate_daruan

SHIFT = math.pi / 2


def _shifted(params: torch.Tensor) -> torch.Tensor:
    """Stack params shifted by +pi/2 and -pi/2 in each entry: shape (2, P, *params.shape)."""
    count = params.numel()
    basis = torch.eye(count, dtype=params.dtype, device=params.device).reshape(count, *params.shape)
    return torch.stack([params + SHIFT * basis, params - SHIFT * basis])


def daruan_shift_gradients(
    x: torch.Tensor, theta: torch.Tensor, preact_weight: torch.Tensor, preact_bias: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Gradients of one DARUAN phi(x) w.r.t. theta (L+1, 2), w (L) and b (L), for each x.

    theta angles: the shift rule. Encoding angles a_l = w_l x + b_l: the shift rule gives
    d phi / d a_l (shift b_l), then the chain rule d phi/d w_l = x * d phi/d a_l and
    d phi/d b_l = d phi/d a_l. Returns tensors of shape (len(x), *param.shape).
    """
    if theta.dim() != 2 or preact_weight.dim() != 1 or preact_bias.dim() != 1:
        raise ValueError(
            "daruan_shift_gradients takes one edge: theta (L+1, 2), "
            "preact_weight (L,), preact_bias (L,)"
        )
    if x.dim() != 1:
        raise ValueError(f"x must be a 1-D tensor of inputs, got shape {tuple(x.shape)}")
    xs = x.reshape(-1, 1, 1)  # (N, sign, shifted parameter): broadcasts against the shifts
    theta_shifted = _shifted(theta)  # (2, P, L+1, 2)
    plus_minus = evaluate_daruan(
        xs, theta_shifted.unsqueeze(0), preact_weight, preact_bias
    )  # (N, 2, P)
    grad_theta = 0.5 * (plus_minus[:, 0] - plus_minus[:, 1])
    bias_shifted = _shifted(preact_bias)  # (2, L, L)
    pm_angle = evaluate_daruan(xs, theta, preact_weight, bias_shifted.unsqueeze(0))  # (N, 2, L)
    grad_angle = 0.5 * (pm_angle[:, 0] - pm_angle[:, 1])
    return {
        "theta": grad_theta.reshape(len(x), *theta.shape),
        "preact_weight": x.unsqueeze(-1) * grad_angle,
        "preact_bias": grad_angle,
    }


def qlstm_shift_gradients(
    v: torch.Tensor, theta: torch.Tensor, n_measured: int
) -> dict[str, torch.Tensor]:
    """Gradients of one QLSTM circuit's outputs <Z_q> w.r.t. its angles and its encoded inputs.

    v: (batch, n) encoded inputs; theta: (depth, n). Returns ``theta``: (batch, n_measured,
    depth, n) and ``input``: (batch, n_measured, n) (the RY(v_k) encoding is also a Pauli
    rotation, so the same rule differentiates the data path, e.g. back into h_{t-1}).
    """
    if theta.dim() != 2:
        raise ValueError(f"theta must have shape (depth, n_qubits), got {tuple(theta.shape)}")
    theta_shifted = _shifted(theta)  # (2, P, depth, n)
    z = circuit_expectations(v, theta_shifted, n_measured)  # (2, P, batch, m)
    grad_theta = 0.5 * (z[0] - z[1])  # (P, batch, m)
    grad_theta = grad_theta.permute(1, 2, 0).reshape(v.shape[0], n_measured, *theta.shape)
    n = v.shape[-1]
    shifts = SHIFT * torch.eye(n, dtype=v.dtype, device=v.device)  # (n, n)
    v_pm = torch.stack([v.unsqueeze(1) + shifts, v.unsqueeze(1) - shifts])  # (2, batch, n, n)
    z_in = circuit_expectations(v_pm.reshape(-1, n), theta, n_measured).reshape(
        2, v.shape[0], n, n_measured
    )
    grad_input = 0.5 * (z_in[0] - z_in[1]).transpose(1, 2)  # (batch, m, n)
    return {"theta": grad_theta, "input": grad_input}


def circuit_evaluations(n_angles: int, method: str) -> int:
    """Circuit runs needed for one gradient: 2 per angle for the shift rule, ~1 forward + 1
    backward sweep else."""
    if method == "parameter_shift":
        return 1 + 2 * n_angles
    if method == "backprop":
        return 2
    raise ValueError(f"method must be 'parameter_shift' or 'backprop', got {method!r}")
