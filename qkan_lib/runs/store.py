"""The result store: one JSON file per run, written atomically, named by the experiment's
fingerprint, so an interrupted grid resumes and a changed setting never reuses a stale result;
and the long table the chapters read from stored runs."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data.windows import SequenceData
from ..utils import environment_info, resolve_device
from .experiment import Experiment, PathLike
from .training import TrainOutcome


@dataclass(frozen=True)
class RunResult:
    """One finished run: its experiment, outcome, and what is needed to reproduce and report it."""

    experiment: Experiment
    parameters: dict  # classical / quantum / total trainable parameters
    stand_in: bool  # trained on the synthetic Milan stand-in
    targets: dict  # {split: target values}
    environment: dict  # versions, hardware, device
    created: str
    history: list  # per epoch: train_loss and {split}_{mse,mae,r2}
    predictions: dict  # {epoch: {split: predictions}} at the recorded epochs
    wall_time_s: float
    seed_batched: int = 1  # how many seeds trained side by side in the run that made it
    final_state: dict | None = None  # trained weights (state_dict as lists); None in old files
    # runs on a device model (TrainConfig.noise_device): test scores noiseless (test_r2, ...)
    # and on the device model with the run's shots (device_test_r2, ...); None otherwise
    device_metrics: dict | None = None

    @property
    def seed(self) -> int:
        return self.experiment.train.seed

    def to_json(self) -> dict:
        payload = dataclasses.asdict(self)
        if payload["device_metrics"] is None:  # noiseless runs are stored as before
            del payload["device_metrics"]
        payload["experiment"] = self.experiment.to_dict()
        payload["fingerprint"] = self.experiment.fingerprint()
        return payload

    @classmethod
    def from_json(cls, payload: dict) -> RunResult:
        names = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in payload.items() if k in names}
        fields["experiment"] = Experiment.from_dict(payload["experiment"])
        return cls(**fields)


def default_results_dir() -> Path:
    return Path(os.environ.get("QKAN_RESULTS", "results"))


def atomic_write(path: PathLike, write: Callable[[object], None], binary: bool = False) -> Path:
    """Write a file through ``write(handle)`` into a temporary file in the same folder, then
    rename: a reader never sees a half-written file, and a failed write leaves none behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb" if binary else "w") as out:
            write(out)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: PathLike, payload: dict) -> Path:
    """Write JSON atomically (:func:`atomic_write`): never a half-written result."""
    return atomic_write(path, lambda out: json.dump(payload, out, indent=1))


def load_result(path: PathLike) -> RunResult:
    """Read a stored result; a clear error names a damaged or foreign file."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"{path} is not a valid result file ({exc}); delete it to recompute"
        ) from exc
    if not isinstance(payload, dict) or "history" not in payload or "experiment" not in payload:
        raise ValueError(f"{path} is not a qkan_lib result file; delete it to recompute")
    try:
        return RunResult.from_json(payload)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{path} is not a qkan_lib result file ({exc}); delete it to recompute"
        ) from exc


def save_result(
    experiment: Experiment,
    results_dir: PathLike,
    parameters: dict,
    data: SequenceData,
    outcome: TrainOutcome,
) -> RunResult:
    """Write one finished run (atomically) with everything needed to reproduce and report it."""
    result = RunResult(
        experiment=experiment,
        parameters=parameters,
        stand_in=bool(getattr(data, "stand_in", False)),
        targets={name: y.squeeze(-1).tolist() for name, _, y in data.splits()},
        environment=environment_info(resolve_device(experiment.train.device)),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **outcome,
    )
    write_json_atomic(Path(results_dir) / experiment.filename(), result.to_json())
    return result


def training_time(frame: pd.DataFrame) -> float:
    """Total training time in seconds of the runs in a :func:`results_frame` (one per run).

    A run is one (dataset, model, variant, seq_len, seed, lr, batch_size); a frame with an
    ``arm`` column (:func:`qkan_lib.evidence.findings.run_arms`) also splits runs by arm, so two
    arms that train the same configuration each count (as they each were trained or loaded)."""
    return float(frame.groupby(_run_keys(frame))["wall_time_s"].first().sum())


def training_runs(frame: pd.DataFrame) -> int:
    """How many runs :func:`training_time` adds up (the same notion of one run), so that a
    page can say which runs a time covers."""
    return int(frame.groupby(_run_keys(frame)).ngroups)


def _run_keys(frame: pd.DataFrame) -> list[str]:
    keys = ["dataset", "arm", "model", "variant", "seq_len", "seed", "lr", "batch_size"]
    return [k for k in keys if k in frame.columns]


def variant_label(model_options: Iterable[tuple[str, object]]) -> str:
    """A short label of a model's non-default options (an ablation), "default" without any."""
    return ", ".join(f"{key}={value}" for key, value in model_options) or "default"


def results_frame(results: Iterable) -> pd.DataFrame:
    """Long table: one row per (model, dataset, seq_len, seed, epoch) with every metric, from
    :class:`RunResult` objects."""
    rows = []
    for result in results:
        exp = result.experiment
        for entry in result.history:
            rows.append(
                {
                    "model": exp.model,
                    "dataset": exp.dataset,
                    "seq_len": exp.seq_len,
                    "seed": exp.train.seed,
                    "lr": exp.train.lr,
                    "stand_in": result.stand_in,
                    "variant": variant_label(exp.model_options),
                    "batch_size": exp.train.batch_size,
                    "wall_time_s": result.wall_time_s,
                    **entry,
                }
            )
    return pd.DataFrame(rows)
