r"""A classical twin of the DARUAN: the same Fourier series, written as a plain trigonometric sum.

With the <Z> readout a DARUAN of ``reps`` = L re-uploads is a trigonometric polynomial
of degree one in each encoding angle :math:`a_l = w_l x + b_l`:

.. math::
    \phi(x) = \sum_{s \in \{-1, 0, 1\}^L} d_s\, e^{i\, s \cdot a}, \qquad d_{-s} = \overline{d_s},

so its frequencies in x are :math:`s \cdot w` (the set of :func:`qkan_lib.spectrum.
predicted_frequencies`). The twin keeps exactly that structure but makes every real
coefficient a free parameter:

.. math::
    \psi(x) = \gamma + \sum_{s \in P} \big[\alpha_s \cos(s \cdot a) + \beta_s \sin(s \cdot a)\big],

where P holds one of each pair (s, -s) of nonzero sign patterns (the first nonzero entry
is +1), :math:`\gamma = d_0`, :math:`\alpha_s = 2\,\mathrm{Re}\, d_s` and
:math:`\beta_s = -2\,\mathrm{Im}\, d_s`. The coefficients are keyed by sign pattern, not by
frequency value: at w = 1 several patterns share a frequency, and as w trains they
separate, exactly as the DARUAN's do. So twin and DARUAN have the same frequency set for
every w, and a twin initialised from a DARUAN computes the same function (to rounding).
What differs is only the parametrisation: the DARUAN reaches its coefficients through
2(L + 1) circuit angles, the twin sets all 3^L of them directly.

Parameter counts per edge (trainable w and b: +2L for both):

======  ===================  =====================
reps L  DARUAN 2(L+1) + 2L   twin 3^L + 2L
======  ===================  =====================
1       6                    5   (twin one fewer)
2       10                   13  (twin 3 more)
3       14                   33  (twin 19 more)
======  ===================  =====================

They are never equal: 3^L = 2(L + 1) has no integer solution (3 < 4 at L = 1, and 3^L
outgrows 2L + 2 beyond). We chose NOT to constrain the twin's coefficient count to
match: a twin with fewer coefficients than 3^L cannot represent a generic DARUAN, so it
could not start as the same function, and that equality is what makes the comparison
clean (one changed thing: the parametrisation). A twin with more parameters would need
redundant ones. :func:`edge_parameter_counts` returns both counts so every table can show
them side by side; at the recommended reps = 1 the twin is the smaller of the two.

The amplitude readout |alpha| - |beta| is not band-limited, so it has no finite twin;
:meth:`FourierTwinLayer.from_qkan` refuses it with a ValueError.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.daruan import bloch_vector
from ..core.layers import QKANLayer
from ..utils import check_input, check_positive_int, register_tensor
from .cells import GateMap, LSTMCell, RecurrentRegressor


@functools.cache
def half_patterns(reps: int) -> np.ndarray:
    """One of each pair (s, -s) of nonzero sign patterns in {-1, 0, 1}^reps: (3^reps - 1) / 2 rows.

    A pattern is kept when its first nonzero entry is +1. Order: itertools.product order.
    """
    reps = check_positive_int(reps, "reps")
    rows = [
        s
        for s in itertools.product((-1, 0, 1), repeat=reps)
        if any(s) and s[next(i for i, v in enumerate(s) if v)] == 1
    ]
    return np.array(rows, dtype=float).reshape(-1, reps)


def edge_parameter_counts(reps: int, preact_trainable: bool = True) -> dict[str, int]:
    """Trainable parameters of ONE edge: ``{"daruan": 2(L+1) + 2L, "twin": 3^L + 2L}``.

    The 2L (w and b) is dropped from both when ``preact_trainable`` is False. Layer-level
    parameters (silu base weight, post-activation weight and bias) are the same for both
    layers and are not included. See the module docstring for why they cannot be equal.
    """
    reps = check_positive_int(reps, "reps")
    preacts = 2 * reps if preact_trainable else 0
    return {"daruan": 2 * (reps + 1) + preacts, "twin": 3**reps + preacts}


def daruan_angle_coefficients(
    theta: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The twin coefficients (gamma, alpha, beta) of DARUANs with angles ``theta``.

    ``theta`` has shape ``(*edges, reps + 1, 2)``. The DARUAN's <Z> as a function of the
    encoding angles a in R^L is a trigonometric polynomial of degree one per angle, so
    its coefficients are its exact discrete Fourier transform on the grid
    {0, 2 pi/3, 4 pi/3}^L (three samples per angle resolve the frequencies -1, 0, 1
    without aliasing). Returns gamma ``(*edges,)``, alpha and beta ``(*edges, |P|)`` in
    the order of :func:`half_patterns`.
    """
    reps = theta.shape[-2] - 1
    grid = torch.as_tensor(
        np.array(list(itertools.product(range(3), repeat=reps)), dtype=float),
        dtype=theta.dtype,
        device=theta.device,
    ) * (2 * math.pi / 3)  # (3^L, L)
    edges = theta.shape[:-2]
    angles = grid.reshape((grid.shape[0],) + (1,) * len(edges) + (reps,))
    zero = torch.zeros((), dtype=theta.dtype, device=theta.device)
    # x = 0 and w = 0, so the encoding angles are the biases: the grid points
    _, _, z = bloch_vector(
        zero, theta, torch.zeros(reps, dtype=theta.dtype, device=theta.device), angles
    )
    z = z.reshape(grid.shape[0], -1)  # (3^L, edges)
    patterns = torch.as_tensor(half_patterns(reps), dtype=theta.dtype, device=theta.device)
    phase = grid @ patterns.T  # (3^L, |P|): s . a at every grid point
    # d_s = mean over the grid of Z(a) e^{-i s.a}; alpha = 2 Re d_s, beta = -2 Im d_s
    alpha = 2 * (torch.cos(phase).T @ z) / grid.shape[0]
    beta = 2 * (torch.sin(phase).T @ z) / grid.shape[0]
    gamma = z.mean(0)
    return gamma.reshape(edges), alpha.T.reshape(edges + (-1,)), beta.T.reshape(edges + (-1,))


def fourier_edge(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    gamma: torch.Tensor,
    alpha: torch.Tensor,
    beta: torch.Tensor,
) -> torch.Tensor:
    """psi(x) = gamma + sum_s alpha_s cos(s . (w x + b)) + beta_s sin(s . (w x + b)), vectorised.

    ``weight`` and ``bias`` have shape ``(*edges, reps)``; ``gamma`` ``(*edges,)``; ``alpha``
    and ``beta`` ``(*edges, (3^reps - 1) / 2)``; ``x`` broadcasts against ``edges``.
    """
    reps = weight.shape[-1]
    patterns = torch.as_tensor(half_patterns(reps), dtype=weight.dtype, device=weight.device)
    if alpha.shape[-1] != patterns.shape[0] or beta.shape[-1] != patterns.shape[0]:
        raise ValueError(
            f"alpha and beta need {patterns.shape[0]} coefficients for reps = {reps}, "
            f"got {alpha.shape[-1]} and {beta.shape[-1]}"
        )
    angles = x.unsqueeze(-1) * weight + bias  # (..., reps)
    phase = angles @ patterns.T  # (..., |P|)
    return gamma + (torch.cos(phase) * alpha).sum(-1) + (torch.sin(phase) * beta).sum(-1)


class FourierTwinLayer(nn.Module):
    r"""Eq. (2) of the paper with the DARUAN replaced by its classical twin :func:`fourier_edge`.

    .. math::
        y_j = \sum_k \big[(\psi_{jk}(x_k) + c_{jk})\, a_{jk} + \beta_{jk}\,\mathrm{silu}(x_k)\big]

    The options and their defaults are those of :class:`qkan_lib.layers.QKANLayer`
    (trainable w, b; silu residual with beta = 0.5; frozen a = 1, c = 0). A fresh layer is
    initialised as the twin of a freshly initialised QKANLayer with the same options, so
    both families start from the same distribution of functions; :meth:`from_qkan`
    copies one given QKAN layer instead. Every parameter is classical (none is named
    ``theta``), so :func:`qkan_lib.count_parameters` reports a quantum count of 0.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        reps: int = 1,
        *,
        preact_trainable: bool = True,
        base_trainable: bool = True,
        postact_weight_trainable: bool = False,
        postact_bias_trainable: bool = False,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        _source: QKANLayer | None = None,
    ):
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        self.reps = check_positive_int(reps, "reps")
        options = {
            "preact_trainable": preact_trainable,
            "base_trainable": base_trainable,
            "postact_weight_trainable": postact_weight_trainable,
            "postact_bias_trainable": postact_bias_trainable,
        }
        source = _source or QKANLayer(
            in_features, out_features, reps, dtype=dtype, device=device, **options
        )
        if source.readout != "expectation":
            raise ValueError(
                "the amplitude readout is not a finite Fourier series, so it has no twin; "
                "use readout='expectation'"
            )
        with torch.no_grad():
            gamma, alpha, beta = daruan_angle_coefficients(source.theta.detach())
        self.gamma = nn.Parameter(gamma.clone())
        self.alpha = nn.Parameter(alpha.clone())
        self.beta = nn.Parameter(beta.clone())
        for name, trainable in (
            ("preact_weight", preact_trainable),
            ("preact_bias", preact_trainable),
            ("base_weight", base_trainable),
            ("postact_weight", postact_weight_trainable),
            ("postact_bias", postact_bias_trainable),
        ):
            register_tensor(self, name, getattr(source, name).detach().clone(), trainable)

    @classmethod
    def from_qkan(cls, layer: QKANLayer) -> "FourierTwinLayer":
        """A twin computing the same function as ``layer`` (same dtype, device, trainability)."""
        if not isinstance(layer, QKANLayer):
            raise ValueError(f"layer must be a qkan_lib.QKANLayer, got {type(layer).__name__}")
        options = {
            name: name in layer._parameters
            for name in ("preact_weight", "base_weight", "postact_weight", "postact_bias")
        }
        if ("preact_bias" in layer._parameters) != options["preact_weight"]:
            raise ValueError(
                "the twin trains w and b together; this QKANLayer trains only one of them"
            )
        return cls(
            layer.in_features,
            layer.out_features,
            layer.reps,
            preact_trainable=options["preact_weight"],
            base_trainable=options["base_weight"],
            postact_weight_trainable=options["postact_weight"],
            postact_bias_trainable=options["postact_bias"],
            _source=layer,
        )

    def edge_functions(self, x: torch.Tensor) -> torch.Tensor:
        """psi_jk(x_k) for every batch row and edge: shape (batch, out, in)."""
        return fourier_edge(
            x.unsqueeze(1), self.preact_weight, self.preact_bias, self.gamma, self.alpha, self.beta
        )

    def step_function(self):
        """Same contract as QKANLayer.step_function (used by the recurrent cell)."""
        return self._apply_layer

    def _apply_layer(self, x: torch.Tensor) -> torch.Tensor:
        psi = self.edge_functions(x)
        y = torch.einsum("boi,oi->bo", psi + self.postact_bias, self.postact_weight)
        return torch.addmm(y, F.silu(x), self.base_weight.T)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_features, "FourierTwinLayer input")
        return self._apply_layer(x)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, reps={self.reps}"


class FourierTwinGates(GateMap):
    """The QKAN-LSTM gate map (Eq. 7) with the twin layer: one (d + m) -> 4m layer for all gates."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        reps: int = 1,
        *,
        layer: FourierTwinLayer | None = None,
        **twin_options,
    ):
        super().__init__(input_size, hidden_size)
        self.twin = layer or FourierTwinLayer(
            input_size + hidden_size, 4 * hidden_size, reps, **twin_options
        )

    def step_function(self):
        return self.twin.step_function()

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.twin(v)


def fourier_lstm_from_qkan(model: RecurrentRegressor) -> RecurrentRegressor:
    """The "fourier_lstm" twin of a QKAN-LSTM: same cell, twin gate layer, copied head.

    The result computes the same function as ``model`` (to rounding) until either trains.
    ``model`` is not modified and shares no tensors with the twin.
    """
    gates = getattr(getattr(model, "cell", None), "gates", None)
    layer = getattr(gates, "qkan", None)
    if not isinstance(layer, QKANLayer):
        raise ValueError(
            "model must be a QKAN-LSTM (a RecurrentRegressor whose gates hold a QKANLayer)"
        )
    cell = model.cell
    twin_cell = LSTMCell(
        cell.input_size,
        cell.hidden_size,
        FourierTwinGates(
            cell.input_size, cell.hidden_size, layer=FourierTwinLayer.from_qkan(layer)
        ),
    )
    with torch.random.fork_rng(devices=[]):  # the new head is overwritten: leave the stream alone
        twin = RecurrentRegressor(twin_cell, output_size=model.head.out_features)
    twin.head.load_state_dict(model.head.state_dict())
    return twin
