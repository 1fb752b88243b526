"""What a model would cost on a quantum device: circuit executions, shots, sequential rounds,
jobs and device time for one forecast, one training epoch and the full training of a table.

Counting rules (every one is an assumption the book states):

* A QKAN layer runs one one-qubit DARUAN circuit per edge, per window and per time step; a
  QLSTM gate map runs four circuits (one per gate) per window and step, each giving all its
  measured <Z_q> from the same shots.
* Gradients come from the parameter-shift rule as :mod:`qkan_lib.core.shift` computes them: per
  circuit evaluation, two shifted circuits per rotation angle (a DARUAN: its 2 (L + 1) block
  angles and its L encoding angles, whose shifts also give the gradients with respect to w, b
  and the input; a QLSTM circuit: its depth x n angles and its n encoding angles), plus the
  unshifted circuit itself, which is also the forward pass.
* Recurrence: the input of step t + 1 needs the measured outputs of step t, so a forward pass
  of a batch is ``seq_len`` sequential rounds; the shifted circuits of all steps need only the
  forward pass's inputs, so they follow in one more round.
* A job holds at most ``max_circuits`` circuits (the configuration of the IBM snapshot, 300),
  every circuit run with the same number of shots; a round is at least one job.
* Packing (optional, :func:`packing_table`): IBM's current job limit counts circuit
  executions (circuits x shots, a parameter sweep's parameter sets counted as circuits) instead
  of circuits (:func:`circuits_per_job`), and independent one-qubit circuits of one round can
  run side by side on ``parallel_qubits`` qubits of one device, one execution giving all of
  their outcomes (crosstalk and the worse qubits that packing must use are ignored).
* Queue (optional, :func:`queued_seconds`): the wait before each sequential round, the jobs of
  one round submitted together; no vendor publishes a typical wait, so it is shown as a range
  between published ends (:func:`queue_waits`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from ..core.layers import QKANLayer
from ..core.noise import NoiseModel, check_shots
from ..data.devices import calibration_sources, load_calibrations, published_figures
from ..data.registry import load_dataset
from ..models.cells import QLSTMGates
from ..models.registry import DATASET_LABELS, MODEL_LABELS, build_model
from ..runs.archive import materialize
from ..runs.experiment import experiments_for, protocol
from ..runs.store import load_result

QUANTUM_MODELS = ("qkan_lstm", "hqkan_lstm", "qlstm")
TABLE_DATASETS = ("damped_shm", "bessel", "urban")


@dataclass(frozen=True)
class CircuitFamily:
    """One kind of circuit a model runs at every time step: how many per window and step, and
    how many rotation angles each has (each costs two shifted circuits)."""

    name: str
    per_step: int
    angles: int
    qubits: int


def circuit_families(model: torch.nn.Module) -> list[CircuitFamily]:
    """The circuits one time step of ``model`` runs, read from its quantum layers."""
    families = []
    for module in model.modules():
        if isinstance(module, QKANLayer):
            reps = module.reps
            edges = module.in_features * module.out_features
            families.append(CircuitFamily("DARUAN", edges, 2 * (reps + 1) + reps, 1))
        elif isinstance(module, QLSTMGates):
            n, depth = module.n_qubits, module.depth
            families.append(CircuitFamily("QLSTM circuit", 4, depth * n + n, n))
    return families


def shift_circuits(angles: int) -> int:
    """Circuits for one evaluation with its parameter-shift gradient: 1 + 2 per angle."""
    return 1 + 2 * angles


@dataclass(frozen=True)
class Workload:
    """Circuit executions and sequential rounds of one piece of work."""

    circuits: int  # circuits evaluated (each run for `shots` shots)
    rounds: int  # sequential rounds (each waits for the previous one's measurements)
    jobs: int  # jobs at most `max_circuits` executions each, at least one per round
    executions: int  # device executions: the circuits, fewer when packed side by side


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def _jobs(executions_per_round: list[int], max_circuits: int) -> int:
    return sum(max(1, math.ceil(c / max_circuits)) for c in executions_per_round)


def _packed(counts: list[tuple[int, int]], parallel_qubits: int) -> int:
    """Executions of one round: (circuits, qubits each) per family, floor(parallel_qubits /
    qubits) circuits of a family side by side per execution (at least one)."""
    return sum(math.ceil(c / max(1, parallel_qubits // q)) for c, q in counts if c)


def forecast_workload(
    model: torch.nn.Module, seq_len: int, max_circuits: int = 300, parallel_qubits: int = 1
) -> Workload:
    """One forecast (one window, no gradient); ``parallel_qubits``: qubits on which independent
    circuits of a round run side by side (1: none)."""
    _positive_int(max_circuits, "max_circuits")
    _positive_int(parallel_qubits, "parallel_qubits")
    families = circuit_families(model)
    per_step = sum(f.per_step for f in families)
    executions = _packed([(f.per_step, f.qubits) for f in families], parallel_qubits)
    return Workload(
        seq_len * per_step,
        seq_len,
        _jobs([executions] * seq_len, max_circuits),
        seq_len * executions,
    )


def epoch_workload(
    model: torch.nn.Module,
    seq_len: int,
    n_train: int,
    batch_size: int,
    max_circuits: int = 300,
    parallel_qubits: int = 1,
) -> Workload:
    """One training epoch: for each batch, ``seq_len`` forward rounds, then one round of the
    shifted circuits of every step and window of the batch (``parallel_qubits`` as in
    :func:`forecast_workload`)."""
    _positive_int(max_circuits, "max_circuits")
    _positive_int(parallel_qubits, "parallel_qubits")
    families = circuit_families(model)
    circuits = rounds = jobs = executions = 0
    for start in range(0, n_train, batch_size):
        b = min(batch_size, n_train - start)
        forward = [(b * f.per_step, f.qubits) for f in families]
        backward = [
            (b * seq_len * f.per_step * (shift_circuits(f.angles) - 1), f.qubits)
            for f in families
        ]
        forward_exec = _packed(forward, parallel_qubits)
        backward_exec = _packed(backward, parallel_qubits)
        circuits += seq_len * sum(c for c, _ in forward) + sum(c for c, _ in backward)
        executions += seq_len * forward_exec + backward_exec
        rounds += seq_len + 1
        jobs += _jobs([forward_exec] * seq_len + [backward_exec], max_circuits)
    return Workload(circuits, rounds, jobs, executions)


def table_workloads(
    models: Iterable[str] = QUANTUM_MODELS,
    datasets: Iterable[str] = TABLE_DATASETS,
    max_circuits: int = 300,
    parallel_qubits: int = 1,
) -> pd.DataFrame:
    """For each paper model and dataset of Tables II-IV under the full protocol: circuits per
    forecast, per epoch and for the full training (all epochs, seeds and sequence lengths), with
    the sequential rounds, jobs and device executions of each (``max_circuits`` executions per
    job, ``parallel_qubits`` as in :func:`forecast_workload`). The data sets' training sizes
    come from the loaders (the real sizes, or the stand-in's where the data are not here)."""
    rows = []
    for dataset in datasets:
        proto = protocol(dataset, full=True)
        for name in models:
            model = build_model(name, dataset)
            total = [0, 0, 0, 0]
            first = None
            for seq_len in proto.seq_lens:
                n_train = load_dataset(dataset, seq_len).x_train.shape[0]
                epoch = epoch_workload(
                    model, seq_len, n_train, proto.batch_size, max_circuits, parallel_qubits
                )
                if first is None:
                    forecast = forecast_workload(model, seq_len, max_circuits, parallel_qubits)
                    first = (forecast, epoch, seq_len)
                runs = proto.epochs * proto.n_seeds
                total = [
                    total[0] + runs * epoch.circuits,
                    total[1] + runs * epoch.rounds,
                    total[2] + runs * epoch.jobs,
                    total[3] + runs * epoch.executions,
                ]
            forecast, epoch, seq_len = first
            rows.append(
                {
                    "dataset": dataset,
                    "model": name,
                    "seq_len": seq_len,
                    "forecast_circuits": forecast.circuits,
                    "forecast_rounds": forecast.rounds,
                    "forecast_executions": forecast.executions,
                    "epoch_circuits": epoch.circuits,
                    "epoch_executions": epoch.executions,
                    "epoch_rounds": epoch.rounds,
                    "epoch_jobs": epoch.jobs,
                    "training_circuits": total[0],
                    "training_rounds": total[1],
                    "training_jobs": total[2],
                    "training_executions": total[3],
                    "epochs": proto.epochs,
                    "seeds": proto.n_seeds,
                    "seq_lens": len(proto.seq_lens),
                }
            )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class DeviceTiming:
    """How long a shot and a job take on a kind of device (sources in the data wing)."""

    name: str
    seconds_per_shot: float
    seconds_per_job: float
    queue_seconds_per_job: float = 0.0


def superconducting_timing(device: str = "fez", reps: int = 1) -> DeviceTiming:
    """An IBM device from its snapshot: a shot lasts the default repetition delay plus the
    readout plus the DARUAN's noisy gates (each two sx pulses); each job adds the per-job time
    of the IBM documentation's example (published figures); no queue."""
    src = calibration_sources().loc[device]
    cal = load_calibrations(device)
    gates = (reps + 2) * 2 * float(cal["sx_length_ns"].median()) * 1e-9
    shot = float(src["rep_delay_us"]) * 1e-6 + float(cal["readout_length_ns"].median()) * 1e-9
    job = published_figures()["timing"]["ibm_job_seconds"]["value"]
    return DeviceTiming(f"IBM {device.capitalize()} (superconducting)", shot + gates, job)


def trapped_ion_timing() -> DeviceTiming:
    """A trapped-ion device at the published shot rate; no per-job time is published there, so
    none is added (a lower bound); no queue."""
    rate = published_figures()["timing"]["trapped_ion_shots_per_second"]["value"]
    return DeviceTiming("trapped ion (AQT IBEX-Q1 rate)", 1.0 / rate, 0.0)


def device_seconds(circuits: int, jobs: int, shots: int, timing: DeviceTiming) -> float:
    """Device time of ``circuits`` executions (circuits, or packed executions) of ``shots``
    shots in ``jobs`` jobs."""
    shots = check_shots(shots)
    if shots is None:
        raise ValueError("shots must be a positive int to time a device (got None)")
    return circuits * shots * timing.seconds_per_shot + jobs * (
        timing.seconds_per_job + timing.queue_seconds_per_job
    )


def cost_table(
    workloads: pd.DataFrame, timings: Iterable[DeviceTiming], shots: int = 1000
) -> pd.DataFrame:
    """Device time of a forecast, an epoch and the full training per model, dataset and device
    (seconds; the forecast's jobs are its rounds)."""
    rows = []
    for timing in timings:
        for r in workloads.itertuples(index=False):
            rows.append(
                {
                    "dataset": DATASET_LABELS.get(r.dataset, r.dataset),
                    "model": MODEL_LABELS.get(r.model, r.model),
                    "device": timing.name,
                    "shots": shots,
                    "forecast_s": device_seconds(
                        r.forecast_executions, r.forecast_rounds, shots, timing
                    ),
                    "epoch_s": device_seconds(r.epoch_executions, r.epoch_jobs, shots, timing),
                    "training_s": device_seconds(
                        r.training_executions, r.training_jobs, shots, timing
                    ),
                }
            )
    return pd.DataFrame(rows)


def circuits_per_job(shots: int, timing: DeviceTiming | None = None) -> int:
    """Circuits one job may hold under IBM's current job limits (published figures): at most
    ``ibm_max_executions_per_job`` circuit executions, circuits x shots (a parameter sweep's
    parameter sets count as circuits), and, given ``timing``, no more circuits than run within
    the maximum job time ``ibm_max_job_seconds``. At least one."""
    shots = check_shots(shots)
    if shots is None:
        raise ValueError("shots must be a positive int to count a job's circuits (got None)")
    figures = published_figures()["timing"]
    n = int(figures["ibm_max_executions_per_job"]["value"]) // shots
    if timing is not None:
        if not isinstance(timing, DeviceTiming):
            raise TypeError(f"timing must be a DeviceTiming, got {type(timing).__name__}")
        fit = figures["ibm_max_job_seconds"]["value"] / (shots * timing.seconds_per_shot)
        n = min(n, int(fit))
    return max(1, n)


def packing_table(
    dataset: str = "damped_shm",
    models: Iterable[str] = QUANTUM_MODELS,
    shots: int = 1000,
    device: str = "fez",
) -> pd.DataFrame:
    """The full training of one table under three ways of filling jobs, per model: the
    circuits per job of the snapshot's configuration (``legacy``, 300), IBM's current limit on
    executions per job (``sweeps``, :func:`circuits_per_job`), and that limit with the
    circuits of each round packed side by side on all qubits of ``device`` (``packed``).
    Columns: ``{way}_jobs``, ``{way}_executions``, ``{way}_s`` (device seconds at ``shots``),
    ``circuits``, ``rounds``, and ``qubits``, ``legacy_per_job``, ``circuits_per_job``."""
    shots = check_shots(shots)
    if shots is None:
        raise ValueError("shots must be a positive int (got None)")
    models = list(models)
    timing = superconducting_timing(device)
    qubits = int(calibration_sources().loc[device, "qubits"])
    per_job = circuits_per_job(shots, timing)
    legacy = int(calibration_sources().loc[device, "max_circuits"])
    ways = {
        "legacy": table_workloads(models, [dataset], max_circuits=legacy),
        "sweeps": table_workloads(models, [dataset], max_circuits=per_job),
        "packed": table_workloads(
            models, [dataset], max_circuits=per_job, parallel_qubits=qubits
        ),
    }
    out = pd.DataFrame(index=pd.Index(models, name="model"))
    for way, table in ways.items():
        table = table.set_index("model")
        out[f"{way}_jobs"] = table["training_jobs"]
        out[f"{way}_executions"] = table["training_executions"]
        out[f"{way}_s"] = [
            device_seconds(e, j, shots, timing)
            for e, j in zip(table["training_executions"], table["training_jobs"])
        ]
    out["circuits"] = ways["legacy"].set_index("model")["training_circuits"]
    out["rounds"] = ways["legacy"].set_index("model")["training_rounds"]
    out["qubits"] = qubits
    out["legacy_per_job"] = legacy
    out["circuits_per_job"] = per_job
    return out


def queue_waits() -> dict[str, float]:
    """The two published ends of the wait before a round, in seconds, by description: none in a
    dedicated session, and a wait a user reported on IBM's open fair-share queue."""
    figures = published_figures()["timing"]
    return {
        figures[key]["label"]: float(figures[key]["value"])
        for key in ("queue_seconds_dedicated", "queue_seconds_reported")
    }


def queued_seconds(device_s: float, rounds: int, queue_s: float) -> float:
    """Wall-clock time of work that takes ``device_s`` on the device in ``rounds`` sequential
    rounds, each waiting ``queue_s`` seconds in the queue first (the jobs of one round
    submitted together wait together)."""
    for name, value in (("device_s", device_s), ("queue_s", queue_s)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value}")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0:
        raise ValueError(f"rounds must be an int >= 0, got {rounds!r}")
    return float(device_s) + rounds * float(queue_s)


def queue_table(
    workloads: pd.DataFrame, timing: DeviceTiming, waits: dict[str, float], shots: int = 1000
) -> pd.DataFrame:
    """Wall-clock seconds of each full training of ``workloads`` (from
    :func:`table_workloads`) on ``timing``'s device at ``shots``, with each wait of ``waits``
    (description: seconds) before every sequential round (:func:`queued_seconds`). Index
    (dataset, model) display names, one column per wait."""
    if not isinstance(waits, dict) or not waits:
        raise ValueError("waits must be a non-empty dict of description: seconds")
    costs = cost_table(workloads, [timing], shots).set_index(["dataset", "model"])
    rows = {}
    for r in workloads.itertuples(index=False):
        key = (DATASET_LABELS.get(r.dataset, r.dataset), MODEL_LABELS.get(r.model, r.model))
        device_s = float(costs.loc[key, "training_s"])
        rows[key] = {
            label: queued_seconds(device_s, int(r.training_rounds), wait)
            for label, wait in waits.items()
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.names = ["dataset", "model"]
    return out


def readout_shot_factor(noise: NoiseModel) -> float:
    """How many times more shots a device with ``noise``'s readout error needs for the same
    standard error of <Z> as a perfect readout, at <Z> = 0 (where shot noise is largest):
    the estimate (z_meas - g) / f has variance (1 - g^2) / (N f^2), f = 1 - e0 - e1,
    g = e1 - e0 (SPAM, state preparation and measurement error, counted as readout error)."""
    if not isinstance(noise, NoiseModel):
        raise TypeError(f"noise must be a NoiseModel, got {type(noise).__name__}")
    f, g = noise.readout_map()
    return (1 - g**2) / f**2


def archived_training_seconds(
    dataset: str, models: Iterable[str], results_dir, full: bool = True
) -> dict[str, float]:
    """Measured wall-clock seconds of a table's whole training here (all seeds, sequence
    lengths), per model display name, read from the results store or the run archive; NaN where
    a run is neither stored nor archived (nothing is trained)."""
    out = {}
    for name in models:
        total = 0.0
        for experiment in experiments_for(dataset, [name], full=full):
            if not materialize(experiment, results_dir):
                total = float("nan")
                break
            total += load_result(Path(results_dir) / experiment.filename()).wall_time_s
        out[MODEL_LABELS.get(name, name)] = total
    return out
