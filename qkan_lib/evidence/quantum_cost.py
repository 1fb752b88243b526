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
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from ..core.layers import QKANLayer
from ..core.noise import check_shots
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

    circuits: int  # circuit executions (each run for `shots` shots)
    rounds: int  # sequential rounds (each waits for the previous one's measurements)
    jobs: int  # jobs at most `max_circuits` circuits each, at least one per round


def _jobs(circuits_per_round: list[int], max_circuits: int) -> int:
    return sum(max(1, math.ceil(c / max_circuits)) for c in circuits_per_round)


def forecast_workload(model: torch.nn.Module, seq_len: int, max_circuits: int = 300) -> Workload:
    """One forecast (one window, no gradient)."""
    per_step = sum(f.per_step for f in circuit_families(model))
    return Workload(seq_len * per_step, seq_len, _jobs([per_step] * seq_len, max_circuits))


def epoch_workload(
    model: torch.nn.Module, seq_len: int, n_train: int, batch_size: int, max_circuits: int = 300
) -> Workload:
    """One training epoch: for each batch, ``seq_len`` forward rounds, then one round of the
    shifted circuits of every step and window of the batch."""
    families = circuit_families(model)
    per_step = sum(f.per_step for f in families)
    shifted_per_step = sum(f.per_step * (shift_circuits(f.angles) - 1) for f in families)
    circuits = rounds = jobs = 0
    for start in range(0, n_train, batch_size):
        b = min(batch_size, n_train - start)
        forward = [b * per_step] * seq_len
        backward = b * seq_len * shifted_per_step
        circuits += sum(forward) + backward
        rounds += seq_len + 1
        jobs += _jobs(forward + [backward], max_circuits)
    return Workload(circuits, rounds, jobs)


def table_workloads(
    models: Iterable[str] = QUANTUM_MODELS,
    datasets: Iterable[str] = TABLE_DATASETS,
    max_circuits: int = 300,
) -> pd.DataFrame:
    """For each paper model and dataset of Tables II-IV under the full protocol: circuits per
    forecast, per epoch and for the full training (all epochs, seeds and sequence lengths), with
    the sequential rounds and jobs of each. The data sets' training sizes come from the
    loaders (the real sizes, or the stand-in's where the data are not here)."""
    rows = []
    for dataset in datasets:
        proto = protocol(dataset, full=True)
        for name in models:
            model = build_model(name, dataset)
            total = [0, 0, 0]
            first = None
            for seq_len in proto.seq_lens:
                n_train = load_dataset(dataset, seq_len).x_train.shape[0]
                epoch = epoch_workload(model, seq_len, n_train, proto.batch_size, max_circuits)
                if first is None:
                    first = (forecast_workload(model, seq_len, max_circuits), epoch, seq_len)
                runs = proto.epochs * proto.n_seeds
                total = [
                    total[0] + runs * epoch.circuits,
                    total[1] + runs * epoch.rounds,
                    total[2] + runs * epoch.jobs,
                ]
            forecast, epoch, seq_len = first
            rows.append(
                {
                    "dataset": dataset,
                    "model": name,
                    "seq_len": seq_len,
                    "forecast_circuits": forecast.circuits,
                    "forecast_rounds": forecast.rounds,
                    "epoch_circuits": epoch.circuits,
                    "epoch_rounds": epoch.rounds,
                    "epoch_jobs": epoch.jobs,
                    "training_circuits": total[0],
                    "training_rounds": total[1],
                    "training_jobs": total[2],
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
    """Device time of ``circuits`` executions of ``shots`` shots in ``jobs`` jobs."""
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
                        r.forecast_circuits, r.forecast_rounds, shots, timing
                    ),
                    "epoch_s": device_seconds(r.epoch_circuits, r.epoch_jobs, shots, timing),
                    "training_s": device_seconds(
                        r.training_circuits, r.training_jobs, shots, timing
                    ),
                }
            )
    return pd.DataFrame(rows)


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
