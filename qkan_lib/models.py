r"""The four recurrent models: LSTM, QLSTM, QKAN-LSTM and HQKAN-LSTM.

Every quantum or quantum-inspired model is the LSTM cell of Eq. (1) with a different
*gate map*: a module that takes :math:`v_t = [x_t, h_{t-1}]` and returns the four gate
pre-activations side by side, in torch.nn.LSTM's order (input, forget, candidate,
output), in ONE call. So a QKAN-LSTM computes all 4m gate units with one vectorised
QKAN layer, and a QLSTM evaluates its four circuits as one batch.

A gate map may also offer ``step_function()``: work that does not depend on the time
step (the QLSTM circuits' unitaries, say) is done once per sequence, and the returned
function is applied at every step.
"""
from __future__ import annotations

import torch
from torch import nn

from .circuits import expectations, variational_unitaries
from .layers import HQKAN, QKANLayer
from .utils import check_positive_int

class AffineGates(nn.Module):
    """The classical gate map of Eq. (1): W v + b for all four gates in one Linear."""

    def __init__(self, input_size: int, hidden_size: int, **factory):
        super().__init__()
        self.linear = nn.Linear(input_size + hidden_size, 4 * hidden_size, **factory)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.linear(v)


class _LayerGates(nn.Module):
    """A (d + m) -> 4m layer used as the gate map; subclasses store it under ``layer_name``."""

    layer_name = ""

    def step_function(self):
        return getattr(self, self.layer_name).step_function()

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return getattr(self, self.layer_name)(v)


class QKANGates(_LayerGates):
    """Eq. (7): one QKAN layer (d + m -> 4m) gives all four gates."""

    layer_name = "qkan"

    def __init__(self, input_size: int, hidden_size: int, reps: int = 1, **qkan_options):
        super().__init__()
        self.qkan = QKANLayer(input_size + hidden_size, 4 * hidden_size, reps, **qkan_options)


class HQKANGates(_LayerGates):
    """HQKAN-LSTM: one HQKAN (Linear -> QKAN latent -> Linear) gives all four gates."""

    layer_name = "hqkan"

    def __init__(self, input_size: int, hidden_size: int, reps: int = 1, **hqkan_options):
        super().__init__()
        self.hqkan = HQKAN(input_size + hidden_size, 4 * hidden_size, reps, **hqkan_options)


class QLSTMGates(nn.Module):
    """Four variational circuits on n = d + m qubits (the reference QLSTM), one per gate.

    ``theta`` has shape (4, depth, n) and is initialised 0.01 * randn as in the reference.
    Each circuit returns <Z> on its first ``hidden_size`` qubits, so there is no classical
    projection in or out of the circuits.
    """

    def __init__(self, input_size: int, hidden_size: int, depth: int = 3, *, dtype=None, device=None):
        super().__init__()
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.n_qubits = input_size + hidden_size
        self.depth = check_positive_int(depth, "depth")
        self.theta = nn.Parameter(0.01 * torch.randn(4, depth, self.n_qubits, dtype=dtype, device=device))

    def step_function(self):
        unitary = variational_unitaries(self.theta)  # once per sequence

        def step(v: torch.Tensor) -> torch.Tensor:
            z = expectations(v, unitary, self.hidden_size)  # (4, batch, m)
            return z.permute(1, 0, 2).reshape(v.shape[0], 4 * self.hidden_size)

        return step

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.step_function()(v)


class LSTMCell(nn.Module):
    """Eq. (1) with a pluggable gate map (Eq. 7 when the gate map is a QKAN)."""

    def __init__(self, input_size: int, hidden_size: int, gates: nn.Module):
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.gates = gates

    def step_function(self):
        gate_step = self.gates.step_function() if hasattr(self.gates, "step_function") else self.gates
        m = self.hidden_size

        def step(x_t: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
            z = gate_step(torch.cat([x_t, h], dim=-1))
            # Two kernels over all 4m units beat four small ones: small cells are latency-bound.
            i, f, _, o = torch.sigmoid(z).chunk(4, dim=-1)
            g = torch.tanh(z[:, 2 * m:3 * m])
            c = torch.addcmul(f * c, i, g)
            return o * torch.tanh(c), c

        return step

    def forward(self, x_t: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        return self.step_function()(x_t, *state)


def _check_sequence(x: torch.Tensor, input_size: int, dtype: torch.dtype) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[-1] != input_size:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"sequence input must have shape (batch, seq_len, {input_size}), got {shape}")
    if x.shape[1] < 1:
        raise ValueError("sequence input must have at least one time step")
    if x.dtype != dtype:
        raise ValueError(f"sequence input has dtype {x.dtype} but the model has {dtype}; convert one of them")
    if not torch.isfinite(x).all():
        raise ValueError("sequence input contains NaN or infinite values")


class RecurrentRegressor(nn.Module):
    """Run a cell over a sequence and predict the next value from the last hidden state."""

    def __init__(self, cell: LSTMCell, output_size: int = 1):
        super().__init__()
        self.cell = cell
        ref = next(cell.parameters())
        self.head = nn.Linear(cell.hidden_size, output_size, dtype=ref.dtype, device=ref.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_sequence(x, self.cell.input_size, self.head.weight.dtype)
        if type(self.cell) is LSTMCell and isinstance(self.cell.gates, QLSTMGates):
            from .qlstm_kernel import can_fuse_qlstm, fused_qlstm_final_hidden

            if can_fuse_qlstm(self.cell.gates, x):  # the whole sequence in one compiled call (CPU)
                return self.head(fused_qlstm_final_hidden(self.cell.gates, x))
        batch = x.shape[0]
        h = x.new_zeros(batch, self.cell.hidden_size)
        c = x.new_zeros(batch, self.cell.hidden_size)
        step = self.cell.step_function()
        for t in range(x.shape[1]):
            h, c = step(x[:, t], h, c)
        return self.head(h)


class LSTMRegressor(nn.Module):
    """The classical baseline: torch.nn.LSTM (fused kernel) + Linear head."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, output_size: int = 1,
                 dtype=None, device=None):
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        factory = {"dtype": dtype, "device": device}
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, **factory)
        self.head = nn.Linear(hidden_size, output_size, **factory)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_sequence(x, self.input_size, self.head.weight.dtype)
        out, _ = self.lstm(x)
        return self.head(out[:, -1])
