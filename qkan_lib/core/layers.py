"""QKAN and HQKAN layers: Eq. (2) of the paper and the JHCG Net with a QKAN latent."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..utils import check_input, check_positive_int, register_tensor
from .daruan import (
    amplitude_readout,
    bloch_vector,
    check_readout,
    daruan_core,
    edge_constants,
    evaluate_daruan,
    prepare,
)
from .noise import active_device, shift_rule_daruan


class QKANLayer(nn.Module):
    r"""A Kolmogorov-Arnold layer whose edge functions are DARUANs (Eq. 2).

    .. math::
        y_j = \sum_k \big[(\phi_{jk}(x_k) + c_{jk})\, a_{jk} + \beta_{jk}\,\mathrm{silu}(x_k)\big]

    with one DARUAN :math:`\phi_{jk}` per edge (input k -> output j).

    Options (defaults follow the reference library ``qkan`` where the paper is silent,
    and reproduce the paper's Table I counts for the hidden-1 QKAN-LSTM):

    * ``preact_trainable=True``: trainable encoding weights w and biases b
      (the paper's "trainable pre-processing weights"); otherwise w = 1, b = 0.
    * ``base_trainable=True``: the residual ``beta * silu(x)`` with beta initialised
      to 0.5; ``False`` removes the residual (beta = 0).
    * ``postact_weight_trainable`` / ``postact_bias_trainable`` (default ``False``):
      trainable a (init 1) and c (init 0); frozen otherwise.
    * ``readout``: ``"expectation"`` (<Z>, Eq. 3) or ``"amplitude"``.

    Frozen quantities are buffers, so ``parameters()`` lists exactly what trains.
    Angles theta are initialised Xavier-normal on their (out, in, reps + 1, 2)
    shape, as in the reference library.
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
        readout: str = "expectation",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ):
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        self.reps = check_positive_int(reps, "reps")
        self.readout = check_readout(readout)
        factory = {"dtype": dtype, "device": device}
        edges = (out_features, in_features)
        self.theta = nn.Parameter(torch.empty(*edges, reps + 1, 2, **factory))
        nn.init.xavier_normal_(self.theta)
        register_tensor(
            self, "preact_weight", torch.ones(*edges, reps, **factory), preact_trainable
        )
        register_tensor(self, "preact_bias", torch.zeros(*edges, reps, **factory), preact_trainable)
        base = torch.full(edges, 0.5 if base_trainable else 0.0, **factory)
        register_tensor(self, "base_weight", base, base_trainable)
        register_tensor(
            self, "postact_weight", torch.ones(*edges, **factory), postact_weight_trainable
        )
        register_tensor(
            self, "postact_bias", torch.zeros(*edges, **factory), postact_bias_trainable
        )

    def edge_functions(self, x: torch.Tensor) -> torch.Tensor:
        """phi_jk(x_k) for every batch row and edge: shape (batch, out, in)."""
        return evaluate_daruan(
            x.unsqueeze(1), self.theta, self.preact_weight, self.preact_bias, self.readout
        )

    def reference_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The same layer gate by gate (:func:`qkan_lib.daruan.bloch_vector`, autograd through
        every rotation): the straightforward REFERENCE the fast path is tested against."""
        check_input(x, self.in_features, "QKANLayer input")
        phi = bloch_vector(x.unsqueeze(1), self.theta, self.preact_weight, self.preact_bias)[2]
        if self.readout == "amplitude":
            phi = amplitude_readout(phi)
        y = ((phi + self.postact_bias) * self.postact_weight).sum(-1)
        return y + F.silu(x) @ self.base_weight.T

    def step_function(self):
        """The layer as a function of x with everything x-independent computed now.

        A recurrent cell calls this once per sequence and the result at every step, so
        the angles' trigonometry and the layout work are not repeated T times.
        """
        constants = edge_constants(self.theta, self.preact_bias)
        prepared = prepare(self.preact_weight, constants)
        frozen = (
            "postact_weight" in self._buffers and "postact_bias" in self._buffers
        )  # decided structurally
        plain_sum = (
            frozen
            and bool((self.postact_weight == 1).all())
            and bool((self.postact_bias == 0).all())
        )
        offset = None if plain_sum else (self.postact_bias * self.postact_weight).sum(-1)
        base_t = self.base_weight.T
        amplitude = self.readout == "amplitude"
        device_run = active_device()  # inside noise.on_device: the DARUANs run on a device model

        def step(x: torch.Tensor) -> torch.Tensor:
            if device_run is None:
                phi = daruan_core(x.unsqueeze(1), *prepared)
            else:
                phi = shift_rule_daruan(
                    x.unsqueeze(1),
                    self.theta,
                    self.preact_weight,
                    self.preact_bias,
                    device_run.noise,
                    device_run.shots,
                    device_run.generator,
                )
            if amplitude:
                phi = amplitude_readout(phi)
            if plain_sum:  # frozen post-activation weight 1 and bias 0 (the default)
                return torch.addmm(phi.sum(-1), F.silu(x), base_t)
            y = torch.einsum("boi,oi->bo", phi, self.postact_weight) + offset
            return torch.addmm(y, F.silu(x), base_t)

        return step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_features, "QKANLayer input", self.theta.dtype)
        return self.step_function()(x)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"reps={self.reps}, readout={self.readout!r}"
        )


def latent_width(features: int) -> int:
    """The reference library's HQKAN latent width: ceil(log2(features)), at least 1."""
    return max(1, math.ceil(math.log2(features)))


class HQKAN(nn.Module):
    """JHCG Net with a QKAN latent: Linear(in, m) -> QKANLayer(m, n) -> Linear(n, out).

    Latent widths default to ceil(log2 in) and ceil(log2 out) as in the reference
    library's examples; there is no activation between the three stages. Extra
    keyword arguments go to the latent :class:`QKANLayer`.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        reps: int = 1,
        *,
        latent_in: int | None = None,
        latent_out: int | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        **qkan_options,
    ):
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        m = check_positive_int(
            latent_width(in_features) if latent_in is None else latent_in, "latent_in"
        )
        n = check_positive_int(
            latent_width(out_features) if latent_out is None else latent_out, "latent_out"
        )
        factory = {"dtype": dtype, "device": device}
        self.encoder = nn.Linear(in_features, m, **factory)
        self.latent = QKANLayer(m, n, reps, **factory, **qkan_options)
        self.decoder = nn.Linear(n, out_features, **factory)

    def step_function(self):
        latent = self.latent.step_function()
        return lambda x: self.decoder(latent(self.encoder(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_features, "HQKAN input", self.encoder.weight.dtype)
        return self.step_function()(x)
