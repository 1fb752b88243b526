"""Calibration snapshots of real devices, read offline, and the noise models built from them.

``files/device_calibrations.json`` holds per-qubit figures of IBM devices (sx gate error and
length, readout errors, T1, T2) extracted from the fake backends of the pinned
``qiskit-ibm-runtime`` wheel by ``scripts/extract_device_calibrations.py``; it records the
package, version, the wheel's SHA-256, each property file, backend name and snapshot date.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import numpy as np
import pandas as pd

from ..core.noise import NoiseModel

CALIBRATION_FILE = "device_calibrations.json"
FIGURES = (
    "sx_error",
    "readout_error",
    "readout_error_0",
    "readout_error_1",
    "t1_us",
    "t2_us",
    "sx_length_ns",
    "readout_length_ns",
)
FIGURE_LABELS = {
    "sx_error": "sx gate error",
    "readout_error": "readout error",
    "readout_error_0": "reads 1 given 0",
    "readout_error_1": "reads 0 given 1",
    "t1_us": "T1 (µs)",
    "t2_us": "T2 (µs)",
    "sx_length_ns": "sx gate (ns)",
    "readout_length_ns": "readout (ns)",
}
# Physical sx pulses per noisy DARUAN gate: an arbitrary RY needs two (RY = RZ SX RZ SX RZ up
# to phases); the H needs one, counted as two here (a slight overestimate of its noise).
SX_PER_GATE = 2


@functools.cache
def _raw() -> dict:
    text = resources.files("qkan_lib.data").joinpath("files", CALIBRATION_FILE).read_text()
    data = json.loads(text)
    for key in ("package", "version", "wheel_sha256", "devices"):
        if key not in data:
            raise ValueError(f"{CALIBRATION_FILE}: missing key {key!r}")
    return data


def calibration_sources() -> pd.DataFrame:
    """One row per device: backend name, snapshot date, qubits, package, version, file."""
    data = _raw()
    rows = [
        {
            "device": key,
            "backend": d["backend_name"],
            "snapshot": d["snapshot"][:10],
            "qubits": d["qubits"],
            "processor": d["processor"],
            "rep_delay_us": d["default_rep_delay_us"],
            "max_shots": d["max_shots"],
            "max_circuits": d["max_experiments"],
            "package": f"{data['package']} {data['version']}",
            "file": d["file"],
        }
        for key, d in data["devices"].items()
    ]
    return pd.DataFrame(rows).set_index("device")


def load_calibrations(device: str | None = None) -> pd.DataFrame:
    """Per-qubit calibration figures (columns :data:`FIGURES`), one row per (device, qubit);
    missing entries are NaN. ``device`` selects one device (a ValueError names the choices)."""
    devices = _raw()["devices"]
    if device is not None and device not in devices:
        raise ValueError(f"device must be one of {sorted(devices)}, got {device!r}")
    frames = []
    for key, d in devices.items():
        if device is not None and key != device:
            continue
        cols = {
            f: np.array([np.nan if v is None else v for v in d["columns"][f]], float)
            for f in FIGURES
        }
        frame = pd.DataFrame(cols)
        frame.insert(0, "qubit", np.arange(d["qubits"]))
        frame.insert(0, "device", key)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def calibration_summary(quantiles=(0.25, 0.5, 0.75)) -> pd.DataFrame:
    """Quantiles across qubits of every figure, per device: index device, columns
    (figure, quantile)."""
    table = (
        load_calibrations().groupby("device", sort=False)[list(FIGURES)].quantile(list(quantiles))
    )
    return table.unstack()


def relaxation_infidelity(gate_time: float, t1: float, t2: float) -> float:
    """Average gate infidelity of T1 and T2 relaxation alone over ``gate_time``: for the
    affine Bloch map (s_xy, s_z) it is (3 - 2 s_xy - s_z) / 6."""
    relax = NoiseModel(t1=t1, t2=min(t2, 2 * t1), gate_time=gate_time)
    s_xy, s_z, _ = relax.gate_map()
    return (3 - 2 * s_xy - s_z) / 6


def device_noise_model(device: str, quantile: float = 0.5) -> NoiseModel:
    """The noise model of a typical qubit of ``device``: each figure at ``quantile`` across the
    device's qubits (0.5: the median qubit; errors at the quantile, T1 and T2 at 1 - quantile,
    so a higher quantile is a worse qubit).

    Noisy gates are the H and the RY gates (RZ is a frame change on IBM devices, virtual_z);
    each lasts ``SX_PER_GATE`` sx pulses. The reported sx error already contains relaxation
    during the pulse, so, as Qiskit Aer does, the depolarizing part is what is left:
    p = 3/2 max(eps_gate - eps_relaxation, 0), eps_gate = 1 - (1 - eps_sx)^SX_PER_GATE.
    This adds infidelities; Aer's device models compose fidelities, which makes their p larger
    by a factor 1 / (1 - 2 eps_relaxation), less than 1.001 here: the model's gate error is
    eps_gate to within 2 eps_relaxation eps_gate (tests/core/test_qiskit_oracle.py).
    T2 is capped at 2 T1.
    """
    if not 0 <= quantile <= 1:
        raise ValueError(f"quantile must be in [0, 1], got {quantile}")
    q = load_calibrations(device)
    worse = lambda f: float(q[f].quantile(quantile))  # noqa: E731
    better = lambda f: float(q[f].quantile(1 - quantile))  # noqa: E731
    t1, t2 = better("t1_us") * 1e-6, better("t2_us") * 1e-6
    t2 = min(t2, 2 * t1)
    gate_time = SX_PER_GATE * float(q["sx_length_ns"].median()) * 1e-9
    eps_gate = 1 - (1 - worse("sx_error")) ** SX_PER_GATE
    eps_dep = max(eps_gate - relaxation_infidelity(gate_time, t1, t2), 0.0)
    snapshot = calibration_sources().loc[device, "snapshot"]
    return NoiseModel(
        depolarizing=min(1.5 * eps_dep, 1.0),
        t1=t1,
        t2=t2,
        gate_time=gate_time,
        readout_error_0=worse("readout_error_0"),
        readout_error_1=worse("readout_error_1"),
        virtual_z=True,
        name=f"{device_label(device)} ({snapshot})",
    )


def device_label(device: str) -> str:
    """Display name: "IBM Fez"."""
    return "IBM " + calibration_sources().loc[device, "backend"].removeprefix("ibm_").capitalize()


def devices() -> tuple[str, ...]:
    """The devices in the calibration file, in its order."""
    return tuple(_raw()["devices"])


PUBLISHED_FILE = "published_device_figures.json"


@functools.cache
def published_figures() -> dict:
    """Figures from publications (trapped-ion error rates, job and shot timings), each with its
    bibliography key and where in the source it stands (``files/published_device_figures.json``)."""
    text = resources.files("qkan_lib.data").joinpath("files", PUBLISHED_FILE).read_text()
    data = json.loads(text)
    for key, entry in {**data["devices"], **data["timing"]}.items():
        if not entry.get("source") or not entry.get("where"):
            raise ValueError(f"{PUBLISHED_FILE}: {key} has no source")
    return data


def published_noise_model(device: str) -> NoiseModel:
    """A trapped-ion noise model from published figures: the single-qubit error as depolarizing
    (p = 3/2 eps) on each noisy gate (the H and the RY gates; RZ virtual), the SPAM error as a
    symmetric readout error where published (else none), no T1 or T2 (seconds or longer for
    trapped-ion qubits, against gates of microseconds)."""
    devices_ = published_figures()["devices"]
    if device not in devices_:
        raise ValueError(f"device must be one of {sorted(devices_)}, got {device!r}")
    d = devices_[device]
    spam = d["spam_error"] or 0.0
    return NoiseModel(
        depolarizing=1.5 * d["single_qubit_error"],
        readout_error_0=spam,
        readout_error_1=spam,
        virtual_z=True,
        name=f"{d['label']} (published)",
    )


def device_noise_models(quantile: float = 0.5) -> dict[str, NoiseModel]:
    """Every device's noise model: the IBM snapshots (the qubit at ``quantile``) and the
    published trapped-ion figures, by display name."""
    models = [device_noise_model(d, quantile) for d in devices()]
    models += [published_noise_model(d) for d in published_figures()["devices"]]
    return {m.name: m for m in models}


@functools.cache
def device_model_names() -> tuple[str, ...]:
    """The names of :func:`device_noise_models` (median qubit), computed once: what a run's
    ``noise_device`` may be (:class:`qkan_lib.runs.training.TrainConfig`)."""
    return tuple(device_noise_models())


def named_noise_model(name: str) -> NoiseModel:
    """The device model called ``name`` (a key of :func:`device_noise_models`), else a clear
    error naming ``noise_device``."""
    models = device_noise_models()
    if name not in models:
        raise ValueError(f"noise_device must be one of {tuple(models)}, got {name!r}")
    return models[name]
