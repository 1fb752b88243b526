r"""The four recurrent models: LSTM, QLSTM, QKAN-LSTM and HQKAN-LSTM.

Every quantum or quantum-inspired model is the LSTM cell of Eq. (1) with a different
*gate map*: a module that takes :math:`v_t = [x_t, h_{t-1}]` and returns the four gate
pre-activations side by side, in torch.nn.LSTM's order (input, forget, candidate,
output), in ONE call. So a QKAN-LSTM computes all 4m gate units with one vectorised
QKAN layer, and a QLSTM evaluates its four circuits as one batch.

Every gate map derives from :class:`GateMap`, whose ``step_function()`` returns the map applied
at every time step: work that does not depend on the step (the QLSTM circuits' unitaries, say)
is done once per sequence.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..core.circuits import expectations, variational_unitaries
from ..core.layers import HQKAN, QKANLayer
from ..core.noise import active_device, device_circuit_step
from ..kernels import qkan_sequence, qlstm_sequence
from ..kernels.paths import SequenceKernel, register_sequence_kernel, sequence_kernel
from ..utils import check_float_tensor, check_positive_int


class GateMap(nn.Module):
    """Base class of gate maps: ``v_t = [x_t, h_{t-1}]`` (batch, d + m) -> the four gate
    pre-activations (batch, 4m) in torch.nn.LSTM's order (input, forget, candidate, output).

    :meth:`step_function` returns the map to apply at every time step; subclasses override it
    to do the work that does not depend on the step (the QLSTM circuits' unitaries, the DARUAN
    constants) once per sequence.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")

    def step_function(self) -> Callable[[torch.Tensor], torch.Tensor]:
        return self.forward


class ModuleGates(GateMap):
    """Any module mapping (batch, d + m) -> (batch, 4m) as a gate map: a reader's own gate
    function, or another library's layer (the benchmark wraps the reference ``qkan`` layer)."""

    def __init__(self, input_size: int, hidden_size: int, module: nn.Module):
        super().__init__(input_size, hidden_size)
        self.module = module

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.module(v)


class AffineGates(GateMap):
    """The classical gate map of Eq. (1): W v + b for all four gates in one Linear."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ):
        super().__init__(input_size, hidden_size)
        self.linear = nn.Linear(
            input_size + hidden_size, 4 * hidden_size, dtype=dtype, device=device
        )

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.linear(v)


class _LayerGates(GateMap):
    """A gate map that is one (d + m) -> 4m layer, built by :meth:`make_layer` and stored under
    the attribute ``layer_name`` (``qkan`` / ``hqkan``: the names in state dicts and parameter
    counts), to which the step function and the forward pass delegate."""

    layer_name = ""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        reps: int = 1,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        **layer_options,
    ):
        super().__init__(input_size, hidden_size)
        layer = self.make_layer(
            input_size + hidden_size,
            4 * hidden_size,
            reps,
            dtype=dtype,
            device=device,
            **layer_options,
        )
        setattr(self, self.layer_name, layer)

    @staticmethod
    def make_layer(in_features: int, out_features: int, reps: int, **options) -> nn.Module:
        raise NotImplementedError

    def step_function(self) -> Callable[[torch.Tensor], torch.Tensor]:
        return getattr(self, self.layer_name).step_function()

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return getattr(self, self.layer_name)(v)


class QKANGates(_LayerGates):
    """Eq. (7): one QKAN layer (d + m -> 4m) gives all four gates."""

    layer_name = "qkan"
    make_layer = staticmethod(QKANLayer)


class HQKANGates(_LayerGates):
    """HQKAN-LSTM: one HQKAN (Linear -> QKAN latent -> Linear) gives all four gates."""

    layer_name = "hqkan"
    make_layer = staticmethod(HQKAN)


# The QLSTM simulators hold every layer of the four circuits as a dense 2^n x 2^n matrix:
# 4 * depth * 4^n numbers. Gate maps needing more than this many bytes (in float64) are refused.
QLSTM_MAX_UNITARY_BYTES = 4 * 2**30


class QLSTMGates(GateMap):
    """Four variational circuits on n = d + m qubits (the reference QLSTM), one per gate.

    ``theta`` has shape (4, depth, n) and is initialised 0.01 * randn as in the reference.
    Each circuit returns <Z> on its first ``hidden_size`` qubits, so there is no classical
    projection in or out of the circuits.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        depth: int = 3,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ):
        super().__init__(input_size, hidden_size)
        self.n_qubits = input_size + hidden_size
        self.depth = check_positive_int(depth, "depth")
        needed = 4 * depth * 4**self.n_qubits * 8  # float64, the training dtype
        if needed > QLSTM_MAX_UNITARY_BYTES:
            raise ValueError(
                f"QLSTM with {self.n_qubits} qubits (input_size {input_size} + hidden_size "
                f"{hidden_size}) needs {needed:,} bytes ({needed / 2**30:,.1f} GiB) for its "
                f"circuits' unitaries (4 gates x depth {depth} x 2^{self.n_qubits} x "
                f"2^{self.n_qubits} float64), above the {QLSTM_MAX_UNITARY_BYTES / 2**30:g} GiB "
                "limit (qkan_lib.models.QLSTM_MAX_UNITARY_BYTES); use fewer qubits"
            )
        self.theta = nn.Parameter(
            0.01 * torch.randn(4, depth, self.n_qubits, dtype=dtype, device=device)
        )

    def step_function(self) -> Callable[[torch.Tensor], torch.Tensor]:
        device_run = active_device()  # inside noise.on_device: the circuits are sampled (shots)
        if device_run is not None:
            circuits = device_circuit_step(self.theta, self.hidden_size, device_run)
        else:
            unitary = variational_unitaries(self.theta)  # once per sequence
            circuits = lambda v: expectations(v, unitary, self.hidden_size)  # noqa: E731

        def step(v: torch.Tensor) -> torch.Tensor:
            z = circuits(v)  # (4, batch, m)
            return z.permute(1, 0, 2).reshape(v.shape[0], 4 * self.hidden_size)

        return step

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.step_function()(v)


class LSTMCell(nn.Module):
    """Eq. (1) with a pluggable gate map (Eq. 7 when the gate map is a QKAN)."""

    def __init__(self, input_size: int, hidden_size: int, gates: GateMap):
        super().__init__()
        if not isinstance(gates, GateMap):
            raise ValueError(f"gates must be a qkan_lib GateMap, got {type(gates).__name__}")
        if (gates.input_size, gates.hidden_size) != (input_size, hidden_size):
            raise ValueError(
                f"gates were built for input_size {gates.input_size} and hidden_size "
                f"{gates.hidden_size}, the cell for {input_size} and {hidden_size}"
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.gates = gates

    def step_function(self):
        gate_step = self.gates.step_function()
        m = self.hidden_size

        def step(x_t: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
            z = gate_step(torch.cat([x_t, h], dim=-1))
            # Two kernels over all 4m units beat four small ones: small cells are latency-bound.
            i, f, _, o = torch.sigmoid(z).chunk(4, dim=-1)
            g = torch.tanh(z[:, 2 * m : 3 * m])
            c = torch.addcmul(f * c, i, g)
            return o * torch.tanh(c), c

        return step

    def forward(self, x_t: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        return self.step_function()(x_t, *state)


def _check_sequence(x: torch.Tensor, input_size: int, dtype: torch.dtype) -> None:
    check_float_tensor(x, "sequence input")
    if x.dim() != 3 or x.shape[-1] != input_size:
        raise ValueError(
            f"sequence input must have shape (batch, seq_len, {input_size}), got {tuple(x.shape)}"
        )
    if x.shape[1] < 1:
        raise ValueError("sequence input must have at least one time step")
    if x.dtype != dtype:
        raise ValueError(
            f"sequence input has dtype {x.dtype} but the model has {dtype}; convert one of them"
        )
    if not torch.isfinite(x).all():
        raise ValueError("sequence input contains NaN or infinite values")


def stacked_lookup(
    module: nn.Module, stacked: dict[str, torch.Tensor]
) -> Callable[[torch.Tensor], torch.Tensor]:
    """For seed batching (the ``stacked_forward`` methods): a tensor of ``module`` -> its S
    models' values (S, *shape), from ``stacked`` (``torch.func.stack_module_state``) where it
    is stacked, else the module's own tensor, shared by all S."""
    names = {id(t): name for name, t in (*module.named_parameters(), *module.named_buffers())}
    size = next(iter(stacked.values())).shape[0]

    def models_of(tensor: torch.Tensor) -> torch.Tensor:
        name = names[id(tensor)]
        return stacked[name] if name in stacked else tensor.expand(size, *tensor.shape)

    return models_of


class RecurrentRegressor(nn.Module):
    """Run a cell over a sequence and predict the next value from the last hidden state.

    QKAN-LSTM, HQKAN-LSTM and QLSTM on the CPU run the whole sequence as one compiled call
    (the kernels registered below, :mod:`qkan_lib.kernels`); the loop of
    :meth:`reference_final_hidden` is the reference path, taken for other devices and gate maps
    and inside ``qkan_lib.reference_path()``.
    """

    def __init__(
        self,
        cell: LSTMCell,
        output_size: int = 1,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ):
        super().__init__()
        self.cell = cell
        ref = next(cell.parameters())  # the head follows the cell unless told otherwise
        self.head = nn.Linear(
            cell.hidden_size,
            check_positive_int(output_size, "output_size"),
            dtype=dtype or ref.dtype,
            device=device or ref.device,
        )

    def final_hidden(self, x: torch.Tensor) -> torch.Tensor:
        """h_T after running the cell over ``x`` (batch, seq_len, input_size) from zero state:
        one compiled call where :func:`qkan_lib.kernels.paths.sequence_kernel` finds a kernel
        for the gate map, else :meth:`reference_final_hidden`."""
        if type(self.cell) is LSTMCell:
            kernel = sequence_kernel(self.cell.gates, x)
            if kernel is not None:
                return kernel.final_hidden(self.cell.gates, x, self.cell.hidden_size)
        return self.reference_final_hidden(x)

    def reference_final_hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The straightforward path: the cell's step function, one autograd step per time step."""
        batch = x.shape[0]
        h = x.new_zeros(batch, self.cell.hidden_size)
        c = x.new_zeros(batch, self.cell.hidden_size)
        step = self.cell.step_function()
        for t in range(x.shape[1]):
            h, c = step(x[:, t], h, c)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_sequence(x, self.cell.input_size, self.head.weight.dtype)
        return self.head(self.final_hidden(x))

    def stacked_forward(
        self, stacked: dict[str, torch.Tensor], x: torch.Tensor
    ) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """The forward pass of S models shaped like this one, in one compiled call, or None
        where no kernel with a model axis serves this gate map and input ``x`` (the caller then
        vmaps :meth:`forward`).

        ``stacked`` maps a parameter or buffer name to its S models' values (S, *shape), as
        ``torch.func.stack_module_state`` gives them; a name missing from it is this model's
        own tensor, shared by all S. The returned function maps x (batch, seq_len,
        input_size) to predictions (S, batch, outputs): each model's :meth:`forward`, equal
        up to the rounding of the head's batched product."""
        if type(self.cell) is not LSTMCell or type(self.head) is not nn.Linear:
            return None
        if self.head.bias is None:
            return None
        kernel = sequence_kernel(self.cell.gates, x)
        if kernel is None or kernel.stacked_final_hidden is None:
            return None
        models_of = stacked_lookup(self, stacked)

        weight, bias = models_of(self.head.weight), models_of(self.head.bias)
        gates, hidden = self.cell.gates, self.cell.hidden_size

        def forward(x: torch.Tensor) -> torch.Tensor:
            _check_sequence(x, self.cell.input_size, self.head.weight.dtype)
            h = kernel.stacked_final_hidden(gates, x, hidden, models_of)  # (S, batch, hidden)
            return torch.baddbmm(bias.unsqueeze(1), h, weight.transpose(1, 2))

        return forward


class LSTMRegressor(nn.Module):
    """The classical baseline: torch.nn.LSTM (fused kernel) + Linear head."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        output_size: int = 1,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ):
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        check_positive_int(hidden_size, "hidden_size")
        check_positive_int(num_layers, "num_layers")
        check_positive_int(output_size, "output_size")
        factory = {"dtype": dtype, "device": device}
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, **factory)
        self.head = nn.Linear(hidden_size, output_size, **factory)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_sequence(x, self.input_size, self.head.weight.dtype)
        out, _ = self.lstm(x)
        return self.head(out[:, -1])

    def stacked_forward(
        self, stacked: dict[str, torch.Tensor], x: torch.Tensor
    ) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """The forward pass of S LSTMs shaped like this one as one computation (seed
        batching; ``torch.nn.LSTM`` has no vmap rule), or None off the CPU, where the stacked
        recurrence was not measured. ``stacked`` and the returned function are as in
        :meth:`RecurrentRegressor.stacked_forward`. Per step one batched product of the S
        models' recurrent weights and the cell of torch.nn.LSTM (gates i, f, g, o); equal to
        each model's :meth:`forward` up to rounding (the sums run in another order)."""
        lstm = self.lstm
        plain = (
            lstm.bias and lstm.batch_first and not lstm.bidirectional
            and lstm.proj_size == 0 and lstm.dropout == 0
        )  # fmt: skip
        if not plain or x.device.type != "cpu" or self.head.bias is None:
            return None
        models_of = stacked_lookup(self, stacked)
        size = next(iter(stacked.values())).shape[0]

        layers = [
            [models_of(getattr(lstm, f"{kind}_l{k}")) for kind in ("weight_ih", "weight_hh")]
            + [models_of(getattr(lstm, f"{kind}_l{k}")) for kind in ("bias_ih", "bias_hh")]
            for k in range(lstm.num_layers)
        ]
        weight, bias = models_of(self.head.weight), models_of(self.head.bias)

        def forward(x: torch.Tensor) -> torch.Tensor:
            _check_sequence(x, self.input_size, self.head.weight.dtype)
            batch, steps = x.shape[:2]
            seq = x.unsqueeze(0)  # (1 | S, batch, T, features): the input, shared
            for w_ih, w_hh, b_ih, b_hh in layers:
                # the input projections of every step at once: (S, batch, T, 4H)
                projected = torch.matmul(seq, w_ih.transpose(1, 2).unsqueeze(1))
                projected = projected + (b_ih + b_hh)[:, None, None, :]
                h = x.new_zeros(size, batch, w_hh.shape[-1])
                c = torch.zeros_like(h)
                outputs = []
                for t in range(steps):
                    gates = torch.baddbmm(projected[:, :, t], h, w_hh.transpose(1, 2))
                    i, f, g, o = gates.chunk(4, dim=-1)
                    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                    h = torch.sigmoid(o) * torch.tanh(c)
                    outputs.append(h)
                seq = torch.stack(outputs, dim=2)
            return torch.baddbmm(bias.unsqueeze(1), h, weight.transpose(1, 2))

        return forward


# The compiled whole-sequence paths, by gate-map class (exact class: a subclass may change the
# map). The kernels see the layer or the angles, never the gate-map classes.
def _layer_kernel(attribute: str) -> SequenceKernel:
    """The QKAN sequence kernel for a gate map whose layer (QKAN or HQKAN) is ``attribute``."""

    def applies(gates, x):
        return qkan_sequence.can_fuse(getattr(gates, attribute), x)

    def final_hidden(gates, x, hidden):
        return qkan_sequence.fused_final_hidden(getattr(gates, attribute), x, hidden)

    def stacked_final_hidden(gates, x, hidden, stacked):
        return qkan_sequence.stacked_final_hidden(getattr(gates, attribute), x, hidden, stacked)

    return SequenceKernel("qkan_sequence", applies, final_hidden, stacked_final_hidden)


register_sequence_kernel(QKANGates, _layer_kernel("qkan"))
register_sequence_kernel(HQKANGates, _layer_kernel("hqkan"))
register_sequence_kernel(
    QLSTMGates,
    SequenceKernel(
        "qlstm_sequence",
        lambda gates, x: qlstm_sequence.can_fuse(gates.theta, x),
        lambda gates, x, hidden: qlstm_sequence.fused_final_hidden(gates.theta, x, hidden),
        lambda gates, x, hidden, stacked: qlstm_sequence.stacked_final_hidden(
            stacked(gates.theta), x, hidden
        ),
    ),
)
