"""What a trained QKAN layer learned: every edge's function, its exact spectrum, and how it moved.

The paper credits the DARUAN with an "exponentially enriched spectrum": with L re-uploads
and encoding weights w_1..w_L an edge phi(x) = <Z> is a trigonometric sum over the
frequencies Omega = {sum_l s_l w_l : s_l in {-1, 0, 1}}, up to (3^L - 1) / 2 distinct
positive ones. Whether a *trained* model uses them is an empirical question. This module
answers it per edge, exactly (no fitting): the frequencies come from the trained w, the
amplitudes from theta and b through :func:`qkan_lib.spectrum.exact_fourier_series`.

Energy (precisely). Writing phi(x) = c_0 + sum_{f > 0} (c_f e^{i f x} + c_{-f} e^{-i f x})
with c_{-f} = conj(c_f), the mean of phi^2 over the whole line (Parseval for almost-periodic
functions) is |c_0|^2 + sum_{f > 0} E(f) with E(f) = |c_f|^2 + |c_{-f}|^2 = 2 |c_f|^2. The
*oscillating energy* is sum_{f > 0} E(f); the constant c_0 is an offset, not spectrum, and
is left out. Then, for one edge:

* ``share_outside_lowest`` = 1 - E(f_min) / oscillating energy, f_min the lowest positive
  frequency of Omega (after merging). 0 when the edge is a single sinusoid at f_min. It is
  fragile by construction: when training brings |w_1| close to |w_2|, the difference
  frequency | |w_1| - |w_2| | becomes the lowest and usually carries little energy, so the
  share jumps towards 1 (merge with a coarser ``tol`` to read it at a given resolution).
* ``share_outside_dominant`` = 1 - max_f E(f) / oscillating energy: how much is not in the
  strongest frequency, wherever it is (robust to the above; never above the first share).
* ``share_combination`` = share of oscillating energy at frequencies that are not one of
  the |w_l| themselves, i.e. that only a combination of re-uploads (two or more s_l != 0)
  produces: the "enriched" part of the spectrum.
* ``active_frequencies`` = number of positive frequencies holding at least
  ``energy_tol`` of the oscillating energy.

All shares are NaN for an edge with no oscillating energy (a constant function). The
energy is a property of phi on the whole real line; over a short input window a low
frequency looks like a slope, which the plots of :mod:`qkan_lib.edge_plots` show.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from .daruan import evaluate_daruan
from .layers import QKANLayer
from .spectrum import evaluate_series, exact_fourier_series

DEFAULT_TOL = 1e-9
DEFAULT_ENERGY_TOL = 1e-3


@dataclass(frozen=True, eq=False)
class EdgeParameters:
    """A float64 snapshot of a QKAN layer's DARUAN parameters (out, in, ...), detached.

    ``theta`` (out, in, reps + 1, 2), ``weight`` and ``bias`` (out, in, reps) as in
    :class:`qkan_lib.layers.QKANLayer`; the readout must be ``"expectation"`` (<Z>) for
    the spectrum to be a finite trigonometric sum.
    """

    theta: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    readout: str = "expectation"

    def __post_init__(self):
        theta, weight, bias = (np.array(a, dtype=float, copy=True)
                               for a in (self.theta, self.weight, self.bias))
        if theta.ndim != 4 or theta.shape[-1] != 2 or theta.shape[-2] < 2:
            raise ValueError(f"theta must have shape (out, in, reps + 1, 2), got {theta.shape}")
        edges_reps = theta.shape[:2] + (theta.shape[2] - 1,)
        for name, array in (("weight", weight), ("bias", bias)):
            if array.shape != edges_reps:
                raise ValueError(f"{name} must have shape (out, in, reps) = {edges_reps} to match "
                                 f"theta {theta.shape}, got {array.shape}")
        for array in (theta, weight, bias):
            array.setflags(write=False)
        object.__setattr__(self, "theta", theta)
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "bias", bias)

    @classmethod
    def from_layer(cls, layer: QKANLayer) -> EdgeParameters:
        """Copy the layer's current theta, w and b (trainable or frozen) to float64 numpy."""
        if not isinstance(layer, QKANLayer):
            raise ValueError(f"layer must be a QKANLayer, got {type(layer).__name__}")

        def grab(t: torch.Tensor) -> np.ndarray:
            return t.detach().to("cpu", torch.float64).numpy()

        return cls(grab(layer.theta), grab(layer.preact_weight), grab(layer.preact_bias),
                   layer.readout)

    @property
    def out_features(self) -> int:
        return self.theta.shape[0]

    @property
    def in_features(self) -> int:
        return self.theta.shape[1]

    @property
    def reps(self) -> int:
        return self.theta.shape[2] - 1

    def values(self, x) -> np.ndarray:
        """phi_jk(x) of every edge at the points ``x`` (1-D): shape (len(x), out, in), float64."""
        grid = torch.as_tensor(np.asarray(x, dtype=float).reshape(-1), dtype=torch.float64)
        inputs = grid[:, None, None].expand(-1, 1, self.in_features)
        with torch.no_grad():
            out = evaluate_daruan(inputs, torch.from_numpy(self.theta.copy()),
                         torch.from_numpy(self.weight.copy()), torch.from_numpy(self.bias.copy()),
                         self.readout)
        return out.numpy()


def edge_parameters(source: QKANLayer | EdgeParameters) -> EdgeParameters:
    """Accept either a layer or a snapshot (what the plotting functions take)."""
    return source if isinstance(source, EdgeParameters) else EdgeParameters.from_layer(source)


def edge_values(source: QKANLayer | EdgeParameters, x) -> np.ndarray:
    """Every edge function on the grid ``x``: (len(x), out, in).

    For a layer this is the layer's own :meth:`QKANLayer.edge_functions` (in its dtype),
    for a snapshot the DARUAN evaluated in float64.
    """
    if isinstance(source, QKANLayer):
        p = next(source.parameters())
        grid = torch.as_tensor(np.asarray(x, dtype=float).reshape(-1), dtype=p.dtype,
                               device=p.device)
        with torch.no_grad():
            values = source.edge_functions(grid[:, None].expand(-1, source.in_features))
        return values.detach().to("cpu", torch.float64).numpy()
    return edge_parameters(source).values(x)


@dataclass(eq=False)
class EdgeSpectrum:
    """The exact spectrum of one edge (out index j, in index k), folded onto f >= 0.

    ``frequencies`` are the positive frequencies of Omega (after merging), ``energies``
    their E(f) = |c_f|^2 + |c_-f|^2, ``dc`` the constant term c_0.
    """

    out_index: int
    in_index: int
    omegas: np.ndarray  # the merged set Omega, ascending, symmetric about 0
    coeffs: np.ndarray  # complex c_omega on ``omegas``
    weight: np.ndarray  # the edge's encoding weights w_l
    tol: float = DEFAULT_TOL
    frequencies: np.ndarray = field(init=False, repr=False)
    energies: np.ndarray = field(init=False, repr=False)
    dc: float = field(init=False)

    def __post_init__(self):
        zero = np.abs(self.omegas) <= self.tol
        self.dc = float(np.real(self.coeffs[zero].sum()))
        positive = self.omegas > self.tol
        self.frequencies = self.omegas[positive]
        self.energies = np.abs(self.coeffs[positive]) ** 2
        for index, omega in enumerate(self.omegas):
            if omega < -self.tol:  # fold each negative frequency onto its mirror image
                mirror = int(np.argmin(np.abs(self.frequencies + omega)))
                self.energies[mirror] += abs(self.coeffs[index]) ** 2

    @property
    def oscillating_energy(self) -> float:
        return float(self.energies.sum())

    @property
    def lowest_frequency(self) -> float:
        freqs = self.frequencies
        return float(freqs[0]) if freqs.size else float("nan")

    @property
    def dominant_frequency(self) -> float:
        freqs, energy = self.frequencies, self.energies
        return float(freqs[int(np.argmax(energy))]) if freqs.size else float("nan")

    def _share(self, kept: float) -> float:
        total = self.oscillating_energy
        return float(max(0.0, 1.0 - kept / total)) if total > 0 else float("nan")

    @property
    def share_outside_lowest(self) -> float:
        freqs, energy = self.frequencies, self.energies
        return self._share(float(energy[0])) if freqs.size else float("nan")

    @property
    def share_outside_dominant(self) -> float:
        freqs, energy = self.frequencies, self.energies
        return self._share(float(energy.max())) if freqs.size else float("nan")

    @property
    def share_combination(self) -> float:
        freqs, energy = self.frequencies, self.energies
        single = np.abs(self.weight)
        is_single = np.array([np.any(np.abs(single - f) <= self.tol) for f in freqs], dtype=bool)
        total = self.oscillating_energy
        return float(energy[~is_single].sum() / total) if total > 0 else float("nan")

    def active_frequencies(self, energy_tol: float = DEFAULT_ENERGY_TOL) -> int:
        """Positive frequencies holding at least ``energy_tol`` of the oscillating energy."""
        energy = self.energies
        total = energy.sum()
        return int(np.sum(energy >= energy_tol * total)) if total > 0 else 0

    def __call__(self, x) -> np.ndarray:
        """The edge function rebuilt from its spectrum."""
        return evaluate_series(np.asarray(x, dtype=float), self.omegas, self.coeffs)


def edge_spectrum(source: QKANLayer | EdgeParameters, out_index: int, in_index: int,
                  tol: float = DEFAULT_TOL) -> EdgeSpectrum:
    """Exact spectrum of edge (out_index -> from in_index) of a layer or snapshot.

    Frequencies of Omega closer than ``tol`` are merged: their coefficients add (they are
    in phase over any window much shorter than 1 / tol), so a trained w with w_1 close to
    w_2 can be read at the resolution the input range allows. With the default tol the
    spectrum is exact.
    """
    params = edge_parameters(source)
    if params.readout != "expectation":
        raise ValueError("only the <Z> readout ('expectation') has a finite spectrum; this layer "
                         f"uses readout={params.readout!r}")
    if not float(tol) >= 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    if not (0 <= out_index < params.out_features and 0 <= in_index < params.in_features):
        raise ValueError(f"edge ({out_index}, {in_index}) is outside the layer's "
                         f"{params.out_features} x {params.in_features} edges")
    w = params.weight[out_index, in_index]
    omegas, coeffs = exact_fourier_series(params.theta[out_index, in_index], w,
                                          params.bias[out_index, in_index], tol)
    return EdgeSpectrum(out_index, in_index, omegas, coeffs, w.copy(), float(tol))


def layer_spectra(source: QKANLayer | EdgeParameters,
                  tol: float = DEFAULT_TOL) -> list[EdgeSpectrum]:
    """:func:`edge_spectrum` of every edge, row-major (out index, then in index)."""
    params = edge_parameters(source)
    return [edge_spectrum(params, j, k, tol) for j in range(params.out_features)
            for k in range(params.in_features)]


def reconstruct(spectra: Iterable[EdgeSpectrum], x, out_features: int,
                in_features: int) -> np.ndarray:
    """Every edge function rebuilt from its spectrum on ``x``: (len(x), out, in)."""
    x = np.asarray(x, dtype=float).reshape(-1)
    values = np.full((x.size, out_features, in_features), np.nan)
    for s in spectra:
        values[:, s.out_index, s.in_index] = s(x)
    return values


SUMMARY_COLUMNS = ["out", "in", "predicted_frequencies", "lowest_frequency", "dominant_frequency",
                   "dc", "oscillating_energy", "share_outside_lowest", "share_outside_dominant",
                   "share_combination", "active_frequencies"]


def spectral_summary(source: QKANLayer | EdgeParameters, tol: float = DEFAULT_TOL,
                     energy_tol: float = DEFAULT_ENERGY_TOL) -> pd.DataFrame:
    """One row per edge: how many positive frequencies Omega offers, which carry energy, and
    the energy shares defined in the module docstring."""
    if not 0 < float(energy_tol) < 1:
        raise ValueError(f"energy_tol must lie strictly between 0 and 1, got {energy_tol}")
    rows = []
    for s in layer_spectra(source, tol):
        rows.append({"out": s.out_index, "in": s.in_index,
                     "predicted_frequencies": int(s.frequencies.size),
                     "lowest_frequency": s.lowest_frequency,
                     "dominant_frequency": s.dominant_frequency, "dc": s.dc,
                     "oscillating_energy": s.oscillating_energy,
                     "share_outside_lowest": s.share_outside_lowest,
                     "share_outside_dominant": s.share_outside_dominant,
                     "share_combination": s.share_combination,
                     "active_frequencies": s.active_frequencies(energy_tol)})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def qkan_layers(model: torch.nn.Module) -> dict[str, QKANLayer]:
    """Every QKANLayer inside a model, by its module name (e.g. ``cell.gates.qkan``)."""
    found = {name: m for name, m in model.named_modules() if isinstance(m, QKANLayer)}
    if isinstance(model, QKANLayer):
        found[""] = model
    return found


class SpectrumRecorder:
    """Snapshots of a QKAN layer's w, b, theta and spectrum at chosen epochs.

    Call it after each epoch (and with epoch 0 before training, for the initial functions)::

        recorder = SpectrumRecorder(epochs=[0, 1, 5, 30])
        recorder(0, model)
        for epoch in range(1, 31):
            ...  # one epoch of training
            recorder(epoch, model)

    ``model`` may be a QKANLayer or a model holding one (``layer_name`` picks among several;
    with one QKAN layer it is found automatically). ``epochs=None`` records every call. The
    snapshots are copies, so later training does not change them.
    """

    def __init__(self, epochs: Iterable[int] | None = None, layer_name: str | None = None,
                 tol: float = DEFAULT_TOL, energy_tol: float = DEFAULT_ENERGY_TOL):
        self.epochs = None if epochs is None else {int(e) for e in epochs}
        self.layer_name = layer_name
        self.tol, self.energy_tol = float(tol), float(energy_tol)
        self.snapshots: dict[int, EdgeParameters] = {}

    def _layer(self, model: torch.nn.Module) -> QKANLayer:
        layers = qkan_layers(model)
        if self.layer_name is not None:
            if self.layer_name not in layers:
                raise ValueError(f"layer_name {self.layer_name!r} is not a QKANLayer of the model; "
                                 f"QKAN layers: {sorted(layers)}")
            return layers[self.layer_name]
        if len(layers) != 1:
            raise ValueError(f"the model has {len(layers)} QKAN layers {sorted(layers)}; "
                             "pass layer_name to choose one")
        return next(iter(layers.values()))

    def __call__(self, epoch: int, model: torch.nn.Module) -> bool:
        """Record a snapshot if ``epoch`` is one of the chosen epochs; True if recorded."""
        epoch = int(epoch)
        if self.epochs is not None and epoch not in self.epochs:
            return False
        self.snapshots[epoch] = EdgeParameters.from_layer(self._layer(model))
        return True

    def recorded_epochs(self) -> list[int]:
        return sorted(self.snapshots)

    def at(self, epoch: int) -> EdgeParameters:
        """The snapshot taken at ``epoch``."""
        if int(epoch) not in self.snapshots:
            raise ValueError(f"no snapshot at epoch {epoch}; recorded: {self.recorded_epochs()}")
        return self.snapshots[int(epoch)]

    def weights_frame(self) -> pd.DataFrame:
        """Long table (epoch, out, in, rep, w, b) of every encoding weight and bias."""
        rows = []
        for epoch in self.recorded_epochs():
            p = self.snapshots[epoch]
            for (j, k, rep), w in np.ndenumerate(p.weight):
                rows.append({"epoch": epoch, "out": j, "in": k, "rep": rep, "w": float(w),
                             "b": float(p.bias[j, k, rep])})
        return pd.DataFrame(rows, columns=["epoch", "out", "in", "rep", "w", "b"])

    def summary_frame(self) -> pd.DataFrame:
        """:func:`spectral_summary` of every snapshot, with an ``epoch`` column."""
        frames = [spectral_summary(self.snapshots[e], self.tol, self.energy_tol).assign(epoch=e)
                  for e in self.recorded_epochs()]
        if not frames:
            return pd.DataFrame(columns=["epoch"] + SUMMARY_COLUMNS)
        table = pd.concat(frames, ignore_index=True)
        return table[["epoch"] + SUMMARY_COLUMNS]
