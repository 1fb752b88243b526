r"""The DARUAN on a noisy device: exact single-qubit density matrices, channels, readout error
and shots.

A one-qubit density matrix is rho = (I + r . sigma) / 2 with a Bloch vector |r| <= 1, and every
one-qubit channel is an affine map of r. So the DARUAN of :mod:`qkan_lib.core.daruan`, run on
mixed states, is still a chain of elementwise operations on three real tensors: the rotations
of the noiseless circuit, and after each noisy gate one affine map

    (X, Y, Z) -> (s_xy X, s_xy Y, s_z Z + g).

The channels (Kraus conventions of PennyLane, so its ``default.mixed`` is an oracle; Qiskit
Aer's density-matrix simulator, :mod:`qkan_lib.core.qiskit_circuits`, is a second one),
applied after each noisy gate in this order (Aer's device models use the same order:
depolarizing, then T1/T2 relaxation):

* depolarizing, probability p: rho -> (1 - p) rho + p/3 (X rho X + Y rho Y + Z rho Z); shrinks
  r by lambda = 1 - 4p/3;
* amplitude damping over the gate time t, gamma = 1 - exp(-t / T1): X, Y shrink by
  sqrt(1 - gamma), Z -> (1 - gamma) Z + gamma (decay towards |0>);
* phase damping, the dephasing that T2 adds beyond T1: coherences decay as exp(-t / T2) in
  all, so the phase damping parameter is lambda_phi = 1 - exp(-t (2 / T2 - 1 / T1)) (needs
  T2 <= 2 T1).

Readout error is classical and asymmetric: a state |0> reads 1 with probability e0, a state |1>
reads 0 with probability e1, so the measured <Z> is (1 - e0 - e1) <Z> + (e1 - e0). Finite
shots: the count of outcome 0 is Binomial(shots, (1 + <Z>_measured) / 2), seeded, and the
estimate is 2 k / shots - 1.

:func:`noisy_daruan` evaluates any number of edges, batch rows and time steps at once (x
broadcasts against the edge shape, as in :func:`~qkan_lib.core.daruan.evaluate_daruan`).
:func:`on_device` makes every QKAN layer run its DARUANs through it (used to deploy a trained
model on a device model).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..utils import check_float_tensor
from .circuits import expectations, variational_unitaries
from .daruan import _check_params, _rotate


def _check_probability(value, name: str, upper: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or not 0.0 <= value <= upper:
        raise ValueError(f"{name} must be a finite number in [0, {upper:g}], got {value}")
    return value


def _check_time(value, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{name} must be a real number (seconds) or None, got {type(value).__name__}"
        )
    value = float(value)
    if math.isnan(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds (inf allowed), got {value}")
    return value


def check_shots(shots) -> int | None:
    """``shots`` if it is None (exact expectation) or a positive int, else a clear error."""
    if shots is None:
        return None
    if isinstance(shots, bool) or not isinstance(shots, int):
        raise TypeError(f"shots must be a positive int or None, got {type(shots).__name__}")
    if shots < 1:
        raise ValueError(f"shots must be >= 1 (or None for the exact value), got {shots}")
    return shots


@dataclass(frozen=True)
class NoiseModel:
    """Noise of a one-qubit device, applied after each noisy gate of a DARUAN.

    Attributes:
        depolarizing: depolarizing probability p per noisy gate (PennyLane's convention;
            average gate infidelity 2p/3).
        t1, t2: relaxation and dephasing times in seconds (None: that process is off; T2
            alone means pure dephasing; with both, T2 <= 2 T1).
        gate_time: duration of a noisy gate in seconds (needed when t1 or t2 is set).
        readout_error_0: probability that a qubit in |0> reads 1.
        readout_error_1: probability that a qubit in |1> reads 0.
        virtual_z: when True, RZ gates are noiseless frame changes (as on IBM devices) and only
            the H and the RY gates are noisy.
        name: a label for tables.
    """

    depolarizing: float = 0.0
    t1: float | None = None
    t2: float | None = None
    gate_time: float = 0.0
    readout_error_0: float = 0.0
    readout_error_1: float = 0.0
    virtual_z: bool = False
    name: str = "noise model"

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        set_("depolarizing", _check_probability(self.depolarizing, "depolarizing"))
        set_("t1", _check_time(self.t1, "t1"))
        set_("t2", _check_time(self.t2, "t2"))
        if isinstance(self.gate_time, bool) or not isinstance(self.gate_time, (int, float)):
            raise TypeError(
                f"gate_time must be a number of seconds, got {type(self.gate_time).__name__}"
            )
        if not math.isfinite(self.gate_time) or self.gate_time < 0:
            raise ValueError(
                f"gate_time must be a finite number of seconds >= 0, got {self.gate_time}"
            )
        set_("gate_time", float(self.gate_time))
        if (self.t1 is not None or self.t2 is not None) and self.gate_time == 0:
            raise ValueError("gate_time must be > 0 when t1 or t2 is given")
        if self.t1 is not None and self.t2 is not None and self.t2 > 2 * self.t1:
            raise ValueError(
                f"t2 must be <= 2 * t1 (physical limit), got t1={self.t1}, t2={self.t2}"
            )
        e0 = _check_probability(self.readout_error_0, "readout_error_0")
        e1 = _check_probability(self.readout_error_1, "readout_error_1")
        if e0 + e1 >= 1:
            raise ValueError(
                "readout_error_0 + readout_error_1 must be < 1 (else the readout carries no "
                f"information), got {e0} + {e1}"
            )
        set_("readout_error_0", e0)
        set_("readout_error_1", e1)
        if not isinstance(self.virtual_z, bool):
            raise TypeError(f"virtual_z must be a bool, got {type(self.virtual_z).__name__}")

    @property
    def amplitude_damping(self) -> float:
        """gamma = 1 - exp(-t / T1) per noisy gate."""
        return 0.0 if self.t1 is None else -math.expm1(-self.gate_time / self.t1)

    @property
    def phase_damping(self) -> float:
        """lambda_phi = 1 - exp(-t (2/T2 - 1/T1)) per noisy gate (the dephasing beyond T1)."""
        if self.t2 is None:
            return 0.0
        rate = 2 / self.t2 - (0.0 if self.t1 is None else 1 / self.t1)
        return -math.expm1(-self.gate_time * rate)

    def gate_map(self) -> tuple[float, float, float]:
        """The affine Bloch map (s_xy, s_z, g) of one noisy gate's channels, in order
        depolarizing, amplitude damping, phase damping."""
        lam = 1 - 4 * self.depolarizing / 3
        gamma, lam_phi = self.amplitude_damping, self.phase_damping
        s_xy = lam * math.sqrt(1 - gamma) * math.sqrt(1 - lam_phi)
        return s_xy, lam * (1 - gamma), gamma

    def readout_map(self) -> tuple[float, float]:
        """(f, g): the measured <Z> is f <Z> + g."""
        return 1 - self.readout_error_0 - self.readout_error_1, (
            self.readout_error_1 - self.readout_error_0
        )

    def noisy_gates(self, reps: int) -> int:
        """How many gates of a DARUAN with ``reps`` blocks carry the channels."""
        return reps + 2 if self.virtual_z else 3 * reps + 3


NOISELESS = NoiseModel(name="noiseless")


def _channel(X, Y, Z, gate_map):
    s_xy, s_z, g = gate_map
    if s_xy == 1 and s_z == 1 and g == 0:
        return X, Y, Z
    return X * s_xy, Y * s_xy, Z * s_z + g


def noisy_bloch_vector(
    x: torch.Tensor,
    theta: torch.Tensor,
    preact_weight: torch.Tensor,
    preact_bias: torch.Tensor,
    noise: NoiseModel = NOISELESS,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Final Bloch vector (X, Y, Z) of the DARUAN's density matrix before the measurement, gate
    by gate with ``noise``'s channels after each noisy gate (shapes as in
    :func:`~qkan_lib.core.daruan.bloch_vector`)."""
    if not isinstance(noise, NoiseModel):
        raise TypeError(f"noise must be a NoiseModel, got {type(noise).__name__}")
    reps = _check_params(theta, preact_weight, preact_bias, "expectation")
    check_float_tensor(x, "DARUAN input x")
    if not torch.isfinite(x).all():
        raise ValueError("DARUAN input x contains NaN or infinite values")
    gate = noise.gate_map()
    z_gate = (1.0, 1.0, 0.0) if noise.virtual_z else gate
    angles = x.unsqueeze(-1) * preact_weight + preact_bias
    cos_a, sin_a = torch.cos(angles), torch.sin(angles)
    cos_t, sin_t = torch.cos(theta), torch.sin(theta)
    one = torch.ones_like(cos_t[..., 0, 0])
    # H|0> = |+>: Bloch vector (1, 0, 0), then the H's channels
    X, Y, Z = _channel(one, torch.zeros_like(one), torch.zeros_like(one), gate)
    for layer in range(reps + 1):
        X, Y = _rotate(X, Y, cos_t[..., layer, 0], sin_t[..., layer, 0])
        X, Y, Z = _channel(X, Y, Z, z_gate)
        Z, X = _rotate(Z, X, cos_t[..., layer, 1], sin_t[..., layer, 1])
        X, Y, Z = _channel(X, Y, Z, gate)
        if layer < reps:  # the data re-upload RZ(w x + b)
            X, Y = _rotate(X, Y, cos_a[..., layer], sin_a[..., layer])
            X, Y, Z = _channel(X, Y, Z, z_gate)
    return X, Y, Z


def sample_expectation(
    z: torch.Tensor, shots: int | None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Estimate of <Z> from ``shots`` measurements of a qubit whose measured <Z> is ``z``
    (each element independent; ``None``: the exact value)."""
    shots = check_shots(shots)
    if shots is None:
        return z
    p0 = ((1 + z.detach()) / 2).clamp(0.0, 1.0)
    counts = torch.binomial(torch.full_like(p0, float(shots)), p0, generator=generator)
    return 2 * counts / shots - 1


def noisy_daruan(
    x: torch.Tensor,
    theta: torch.Tensor,
    preact_weight: torch.Tensor | None = None,
    preact_bias: torch.Tensor | None = None,
    noise: NoiseModel = NOISELESS,
    shots: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The DARUAN's <Z> as a device would report it: channels after each noisy gate, readout
    error, and (with ``shots``) the mean of that many sampled outcomes.

    Arguments as :func:`~qkan_lib.core.daruan.evaluate_daruan` (``None`` weights: w = 1, b = 0);
    ``generator`` seeds the shots. Noiseless with ``shots=None`` it equals ``evaluate_daruan``.
    """
    reps = theta.shape[-2] - 1 if theta.dim() >= 2 else 0
    if preact_weight is None:
        preact_weight = torch.ones(
            theta.shape[:-2] + (reps,), dtype=theta.dtype, device=theta.device
        )
    if preact_bias is None:
        preact_bias = torch.zeros_like(preact_weight)
    z = noisy_bloch_vector(x, theta, preact_weight, preact_bias, noise)[2]
    f, g = noise.readout_map()
    if f != 1 or g != 0:
        z = z * f + g
    return sample_expectation(z, shots, generator)


SHIFT = math.pi / 2


class ShiftRuleDaruan(torch.autograd.Function):
    """:func:`noisy_daruan` forward; backward by the parameter-shift rule (Eq. 9), every shifted
    circuit run on the same device model with the same shots (fresh outcomes), as a device
    would train. Each block angle is shifted by +-pi/2; each encoding angle a_l = w_l x + b_l
    too, and the chain rule gives the gradients for w_l, b_l and x. The rule is exact under
    the channels (they do not depend on the angles) and the affine readout, so without shots
    the gradient equals autograd's through :func:`noisy_bloch_vector`."""

    @staticmethod
    def forward(ctx, x, theta, preact_weight, preact_bias, noise, shots, generator):
        ctx.save_for_backward(x, theta, preact_weight, preact_bias)
        ctx.device = (noise, shots, generator)
        return noisy_daruan(x, theta, preact_weight, preact_bias, noise, shots, generator)

    @staticmethod
    def backward(ctx, grad):
        x, theta, w, b = ctx.saved_tensors
        noise, shots, generator = ctx.device
        run = lambda th, bias: noisy_daruan(x, th, w, bias, noise, shots, generator)  # noqa: E731
        g_theta = torch.zeros_like(theta) if ctx.needs_input_grad[1] else None
        if g_theta is not None:
            for layer in range(theta.shape[-2]):
                for k in range(2):
                    step = torch.zeros_like(theta)
                    step[..., layer, k] = SHIFT
                    dz = 0.5 * (run(theta + step, b) - run(theta - step, b))
                    g_theta[..., layer, k] = (grad * dz).sum_to_size(theta.shape[:-2])
        g_w = torch.zeros_like(w) if ctx.needs_input_grad[2] else None
        g_b = torch.zeros_like(b) if ctx.needs_input_grad[3] else None
        g_x = None
        if g_w is not None or g_b is not None or ctx.needs_input_grad[0]:
            for layer in range(w.shape[-1]):
                step = torch.zeros_like(b)
                step[..., layer] = SHIFT
                d_angle = grad * 0.5 * (run(theta, b + step) - run(theta, b - step))
                if g_b is not None:
                    g_b[..., layer] = d_angle.sum_to_size(b.shape[:-1])
                if g_w is not None:
                    g_w[..., layer] = (d_angle * x).sum_to_size(w.shape[:-1])
                if ctx.needs_input_grad[0]:
                    term = (d_angle * w[..., layer]).sum_to_size(x.shape)
                    g_x = term if g_x is None else g_x + term
        return g_x, g_theta, g_w, g_b, None, None, None


def shift_rule_daruan(
    x: torch.Tensor,
    theta: torch.Tensor,
    preact_weight: torch.Tensor,
    preact_bias: torch.Tensor,
    noise: NoiseModel = NOISELESS,
    shots: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """:func:`noisy_daruan` whose gradients come from the parameter-shift rule on the device
    model (see :class:`ShiftRuleDaruan`)."""
    if not isinstance(noise, NoiseModel):
        raise TypeError(f"noise must be a NoiseModel, got {type(noise).__name__}")
    check_shots(shots)
    return ShiftRuleDaruan.apply(x, theta, preact_weight, preact_bias, noise, shots, generator)


@dataclass(frozen=True)
class DeviceRun:
    """What :func:`on_device` installs: the noise model, the shots and their generator."""

    noise: NoiseModel
    shots: int | None
    generator: torch.Generator | None


_DEVICE = contextvars.ContextVar("qkan_device_run", default=None)


@contextlib.contextmanager
def on_device(
    noise: NoiseModel = NOISELESS, shots: int | None = None, seed: int | None = 0
) -> Iterator[DeviceRun]:
    """Within this block every QKAN layer evaluates its DARUANs with :func:`noisy_daruan`
    (``noise``, ``shots``, outcomes seeded by ``seed``) and differentiates them by the
    parameter-shift rule on the same device model (:func:`shift_rule_daruan`). Recurrent
    models must also run their reference path (``qkan_lib.kernels.paths.reference_path``):
    the compiled kernels compute exact values."""
    if not isinstance(noise, NoiseModel):
        raise TypeError(f"noise must be a NoiseModel, got {type(noise).__name__}")
    shots = check_shots(shots)
    generator = None
    if seed is not None:
        generator = torch.Generator().manual_seed(int(seed))
    run = DeviceRun(noise, shots, generator)
    token = _DEVICE.set(run)
    try:
        yield run
    finally:
        _DEVICE.reset(token)


def active_device() -> DeviceRun | None:
    """The :class:`DeviceRun` of the enclosing :func:`on_device` block, or None."""
    return _DEVICE.get()


# ---------------------------------------------------------------------------------------------
# The QLSTM's circuits on a device: shots only


def shifted_unitaries(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The variational unitaries with one angle shifted by +pi/2 and by -pi/2, for every angle
    position (layer l, qubit k) at once in every leading circuit: two tensors of shape
    (depth * n, ..., 2^n, 2^n), position j = l * n + k (the parameter-shift rule's circuits)."""
    depth, n = theta.shape[-2:]
    eye = torch.eye(depth * n, dtype=theta.dtype, device=theta.device).reshape(-1, depth, n)
    steps = (SHIFT * eye).reshape(depth * n, *(1,) * (theta.dim() - 2), depth, n)
    base = theta.detach().unsqueeze(0)
    return variational_unitaries(base + steps), variational_unitaries(base - steps)


class ShiftRuleCircuit(torch.autograd.Function):
    """The QLSTM circuits' <Z_q> (q < n_measured) estimated from ``shots`` (each qubit's outcome
    a binomial draw from its marginal Born probability, :func:`sample_expectation`); backward by
    the parameter-shift rule, every shifted circuit measured with fresh shots: each variational
    angle (an RY, so the +-pi/2 rule is exact) and each encoding angle v_k (an RY too), so the
    gradient also flows to the inputs and, through them, back in time. Only shot noise: the
    device's gate and readout errors are not applied to these circuits. Without shots the
    gradient is autograd's to rounding."""

    @staticmethod
    def forward(ctx, v, theta, unitary, shifted, n_measured, shots, generator):
        ctx.save_for_backward(v)
        ctx.device = (unitary, shifted, n_measured, shots, generator, theta.shape)
        return sample_expectation(expectations(v, unitary, n_measured), shots, generator)

    @staticmethod
    def backward(ctx, grad):
        (v,) = ctx.saved_tensors
        unitary, (plus, minus), n_measured, shots, generator, shape = ctx.device

        def run(v_, u):
            return sample_expectation(expectations(v_, u, n_measured), shots, generator)

        g_theta = g_v = None
        if ctx.needs_input_grad[1]:  # every shifted circuit in one call: (angles, ..., batch, m)
            dz = 0.5 * (run(v, plus) - run(v, minus))
            g_theta = (grad * dz).sum(dim=(-2, -1)).movedim(0, -1).reshape(shape)
        if ctx.needs_input_grad[0]:  # each encoding angle shifted, stacked on the batch axis
            batch, n = v.shape
            step = SHIFT * torch.eye(n, dtype=v.dtype, device=v.device).unsqueeze(1)
            shifted_v = lambda sign: (v.unsqueeze(0) + sign * step).reshape(n * batch, n)  # noqa: E731
            dz = 0.5 * (run(shifted_v(1), unitary) - run(shifted_v(-1), unitary))
            dz = dz.unflatten(-2, (n, batch))  # (..., n, batch, m)
            g_v = (grad.unsqueeze(-3) * dz).sum(-1).reshape(-1, n, batch).sum(0).T
        return g_v, g_theta, None, None, None, None, None


def device_circuit_step(theta: torch.Tensor, n_measured: int, run: DeviceRun):
    """The QLSTM step function on the device of ``run`` (:func:`on_device`): ``v`` (batch, n) ->
    shot estimates (..., batch, n_measured) of every circuit of ``theta`` (..., depth, n),
    differentiated by :class:`ShiftRuleCircuit`. The unitaries and their shifted copies are
    built once per sequence."""
    unitary = variational_unitaries(theta.detach())
    needed = theta.requires_grad and torch.is_grad_enabled()
    shifted = shifted_unitaries(theta) if needed else (None, None)

    def step(v: torch.Tensor) -> torch.Tensor:
        return ShiftRuleCircuit.apply(
            v, theta, unitary, shifted, n_measured, run.shots, run.generator
        )

    return step
