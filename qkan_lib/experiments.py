"""The paper's protocols, experiment grids and the result store.

* :class:`Protocol`: what a dataset's experiments are (seeds, sequence lengths, training
  settings, data options); quick protocols keep every chapter to minutes on 2 CPU cores,
  ``full=True`` is the paper's protocol (plus several seeds where the paper reports one run).
* :class:`Experiment`: one cell of a grid; :class:`RunResult`: its stored outcome.
* The result store: one JSON file per run, written atomically, named by a fingerprint of the
  experiment and :data:`RESULTS_VERSION`, so an interrupted grid resumes and a changed setting
  never reuses a stale result.

The paper's text as available gives no learning rates. The values here are documented choices:
SHM / Bessel use the reference QLSTM code's RMSprop(lr=0.01); Urban uses Adam(lr=0.01), and 0.02
for HQKAN-LSTM (the paper says its Urban rate was "slightly higher"). The chapters show the
sensitivity to these choices.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from .configs import ALL_DATASETS, ALL_MODELS, MODELS, build_model
from .data import SequenceData, load_dataset, milan_source
from .paper import R2_EPOCHS, SEQ_LENS
from .parallel_grid import choose_workers, run_jobs_distributed
from .params import count_parameters
from .seed_batching import BATCHABLE, train_seeds
from .training import DTYPES, TrainConfig, TrainOutcome, progress_bar, train
from .utils import check_positive_int, environment_info, resolve_device, seed_everything

# Bump when a change alters what a training run computes (models, data, training loop):
# stored results with another version are then recomputed. Documentation and plotting
# changes leave it alone, so they never retrain anything.
RESULTS_VERSION = 1

PathLike = str | os.PathLike


@dataclass(frozen=True)
class Protocol:
    """A dataset's experimental protocol. ``seeds(base_seed)`` gives the seeds to run."""

    dataset: str
    n_seeds: int
    seq_lens: tuple[int, ...]
    epochs: int
    batch_size: int
    lr: float
    optimizer: str
    dtype: str
    record_epochs: tuple[int, ...] = ()
    data_options: tuple[tuple[str, object], ...] = ()
    lr_overrides: tuple[tuple[str, float], ...] = ()  # (model, lr) where a model differs
    evaluate_train: bool = True  # score the training split every epoch (TrainConfig)

    def seeds(self, base_seed: int = 0) -> tuple[int, ...]:
        return tuple(range(base_seed, base_seed + self.n_seeds))

    def lr_for(self, model: str) -> float:
        return dict(self.lr_overrides).get(model, self.lr)

    def with_learning_rates(self, rates: dict[str, float]) -> Protocol:
        """This protocol with per-model learning rates (e.g. from :func:`tune_learning_rate`)."""
        merged = {**dict(self.lr_overrides), **rates}
        return dataclasses.replace(self, lr_overrides=tuple(sorted(merged.items())))

    def with_validation(self, fraction: float = 0.2) -> Protocol:
        """This protocol with a validation block carved from the end of the training period
        (Urban and NARMA already have one)."""
        if self.has_validation:
            return self
        merged = {**dict(self.data_options), "val_fraction": fraction}
        return dataclasses.replace(self, data_options=tuple(sorted(merged.items())))

    @property
    def has_validation(self) -> bool:
        return self.dataset in ("urban", "narma5", "narma10") or bool(
            dict(self.data_options).get("val_fraction")
        )

    def train_config(self, model: str, seed: int, device: str = "auto", **overrides) -> TrainConfig:
        """The :class:`TrainConfig` of ``model`` under this protocol, with optional overrides."""
        settings = {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr_for(model),
            "optimizer": self.optimizer,
            "dtype": self.dtype,
            "device": device,
            "record_epochs": self.record_epochs,
            "evaluate_train": self.evaluate_train,
            **overrides,
        }
        if "record_epochs" not in overrides:  # keep only the epochs a shortened run reaches
            settings["record_epochs"] = tuple(
                e for e in settings["record_epochs"] if e <= settings["epochs"]
            )
        return TrainConfig(seed=seed, **settings)

    def experiments(
        self,
        models: Iterable[str] = MODELS,
        base_seed: int = 0,
        seeds: Iterable[int] | None = None,
        seq_lens: Iterable[int] | None = None,
        device: str = "auto",
        milan_dir: PathLike | None = None,
        model_options: dict | None = None,
        **train_overrides,
    ) -> list[Experiment]:
        """Every experiment of the protocol: models x seq_lens x seeds.

        ``seeds`` overrides ``self.seeds(base_seed)``; ``model_options`` go to ``build_model``
        (ablations, e.g. ``{"reps": 2}``). For Urban, the data source is resolved now
        (``milan_dir``, else $QKAN_MILAN_DIR, else the stand-in) and recorded in the experiment,
        so real and stand-in results never mix.
        """
        data_options = dict(self.data_options)
        if self.dataset == "urban":
            directory, _ = milan_source(milan_dir, data_options["stand_in_days"])
            data_options["milan_dir"] = str(directory)
        chosen_seeds = tuple(self.seeds(base_seed) if seeds is None else seeds)
        out = []
        for model in models:
            if model not in ALL_MODELS:
                raise ValueError(f"unknown model {model!r}; choose from {ALL_MODELS}")
            for seq_len in seq_lens or self.seq_lens:
                for seed in chosen_seeds:
                    out.append(
                        Experiment(
                            model,
                            self.dataset,
                            seq_len,
                            self.train_config(model, seed, device, **train_overrides),
                            tuple(sorted(data_options.items())),
                            tuple(sorted((model_options or {}).items())),
                        )
                    )
        return out


def protocol(dataset: str, full: bool = False) -> Protocol:
    """The quick (default) or full protocol of a dataset."""
    if dataset in ("damped_shm", "bessel"):
        return Protocol(
            dataset,
            n_seeds=10 if full else 3,
            seq_lens=(4,),
            epochs=30,
            batch_size=10,
            lr=0.01,
            optimizer="rmsprop",
            dtype="float64",
            record_epochs=R2_EPOCHS,
        )
    if dataset == "urban":
        return Protocol(
            dataset,
            n_seeds=3 if full else 1,
            seq_lens=SEQ_LENS if full else (4, 16, 64),
            epochs=50 if full else 5,
            batch_size=64,
            lr=0.01,
            optimizer="adam",
            dtype="float32",
            data_options=(("cells", 3 if full else 1), ("stand_in_days", 62 if full else 14)),
            lr_overrides=(("hqkan_lstm", 0.02),),
            # Table IV reads the test split; the training split is ~70 % of each epoch's
            # evaluation at this size, so it is scored after the last epoch only.
            evaluate_train=False,
        )
    harder = {  # the harder tasks of chapter 10; NARMA: seq_len = the order (what y depends on)
        "narma5": ((5,), (("val_fraction", 0.2),)),
        "narma10": ((10,), (("val_fraction", 0.2),)),
        "damped_shm_noisy": ((4,), (("noise_std", 0.05), ("val_fraction", 0.2))),
    }
    if dataset in harder:
        seq_lens, data_options = harder[dataset]
        return Protocol(
            dataset,
            n_seeds=10 if full else 5,
            seq_lens=seq_lens,
            epochs=30,
            batch_size=10,
            lr=0.01,
            optimizer="rmsprop",
            dtype="float64",
            data_options=data_options,
        )
    raise ValueError(f"unknown dataset {dataset!r}; choose from {ALL_DATASETS}")


def experiments_for(
    dataset: str,
    models: Iterable[str] = MODELS,
    full: bool = False,
    seeds: Iterable[int] | None = None,
    seq_lens: Iterable[int] | None = None,
    device: str = "auto",
    milan_dir: PathLike | None = None,
    base_seed: int = 0,
    **train_overrides,
) -> list[Experiment]:
    """``protocol(dataset, full).experiments(...)``: every experiment of a dataset's protocol."""
    return protocol(dataset, full).experiments(
        models, base_seed, seeds, seq_lens, device, milan_dir, **train_overrides
    )


@dataclass(frozen=True)
class Experiment:
    """One cell of an experiment grid: a named model on a named dataset, trained one way."""

    model: str
    dataset: str
    seq_len: int = 4
    train: TrainConfig = field(default_factory=TrainConfig)
    data_options: tuple = ()  # sorted (key, value) pairs passed to load_dataset
    model_options: tuple = ()  # sorted (key, value) pairs passed to build_model

    def __post_init__(self):
        if self.model not in ALL_MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose from {ALL_MODELS}")
        if self.dataset not in ALL_DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose from {ALL_DATASETS}")
        check_positive_int(self.seq_len, "seq_len")

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "dataset": self.dataset,
            "seq_len": self.seq_len,
            "train": self.train.to_dict(),
            "data_options": dict(self.data_options),
            "model_options": dict(self.model_options),
        }

    @classmethod
    def from_dict(cls, payload: dict) -> Experiment:
        settings = dict(payload["train"])
        settings["record_epochs"] = tuple(settings.get("record_epochs", ()))
        return cls(
            payload["model"],
            payload["dataset"],
            payload["seq_len"],
            TrainConfig(**settings),
            tuple(sorted(payload.get("data_options", {}).items())),
            tuple(sorted(payload.get("model_options", {}).items())),
        )

    def fingerprint(self) -> str:
        blob = json.dumps(
            {**self.to_dict(), "results_version": RESULTS_VERSION}, sort_keys=True, default=str
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def filename(self) -> str:
        return (
            f"{self.dataset}_{self.model}_L{self.seq_len}_seed{self.train.seed}_"
            f"{self.fingerprint()}.json"
        )

    def with_seed(self, seed: int) -> Experiment:
        return dataclasses.replace(self, train=dataclasses.replace(self.train, seed=seed))


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

    @property
    def seed(self) -> int:
        return self.experiment.train.seed

    def to_json(self) -> dict:
        payload = dataclasses.asdict(self)
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


def write_json_atomic(path: PathLike, payload: dict) -> Path:
    """Write JSON to a temporary file in the same folder, then rename: never a half-written
    result."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(payload, out, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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


def load_experiment_data(experiment: Experiment) -> SequenceData:
    return load_dataset(experiment.dataset, experiment.seq_len, **dict(experiment.data_options))


def run_experiment(
    experiment: Experiment,
    results_dir: PathLike,
    force: bool = False,
    progress: bool | None = None,
    data: SequenceData | None = None,
) -> RunResult:
    """Train one experiment, or load its finished result from ``results_dir``.

    The result file name contains a fingerprint of the full configuration, so a changed
    setting never reuses a stale result; ``force=True`` retrains anyway.
    """
    path = Path(results_dir) / experiment.filename()
    if path.exists() and not force:
        return load_result(path)
    seed_everything(experiment.train.seed)
    if data is None:
        data = load_experiment_data(experiment)
    model = build_model(
        experiment.model,
        experiment.dataset,
        dtype=DTYPES[experiment.train.dtype],
        **dict(experiment.model_options),
    )
    outcome = train(model, data, experiment.train, progress)
    return save_result(experiment, results_dir, count_parameters(model), data, outcome)


def trained_model(
    experiment: Experiment, results_dir: PathLike, progress: bool | None = None
) -> tuple[torch.nn.Module, RunResult]:
    """The trained model of ``experiment`` and its result: rebuilt from the stored weights, or
    trained now (and stored) when the result is missing or predates stored weights.

    For closed-loop forecasts and other analyses that need the model, not just its scores.
    The model is in eval mode, in the run's dtype, on the CPU.
    """
    path = Path(results_dir) / experiment.filename()
    result = load_result(path) if path.exists() else None
    if result is None or result.final_state is None:
        result = run_experiment(experiment, results_dir, force=True, progress=progress)
    dtype = DTYPES[experiment.train.dtype]
    with torch.random.fork_rng(devices=[]):  # the weights are overwritten: leave the stream alone
        model = build_model(
            experiment.model, experiment.dataset, dtype=dtype, **dict(experiment.model_options)
        )
    state = {
        name: torch.as_tensor(result.final_state[name], dtype=tensor.dtype)
        for name, tensor in model.state_dict().items()
    }
    model.load_state_dict(state)
    return model.eval(), result


def run_seed_group(
    experiments: Sequence[Experiment],
    results_dir: PathLike,
    data: SequenceData | None = None,
    progress: bool | None = None,
) -> list[RunResult]:
    """Train experiments that differ only in their seed as one seed-batched model and store each
    seed's result (see :mod:`qkan_lib.seed_batching`)."""

    key = experiments[0].with_seed(0)
    if any(e.with_seed(0) != key for e in experiments):
        raise ValueError("a seed group must differ only in the seed")
    data = load_experiment_data(key) if data is None else data
    model_options = dict(key.model_options)
    outcomes = train_seeds(
        key.model,
        key.dataset,
        data,
        key.train,
        [e.train.seed for e in experiments],
        model_options,
        progress,
    )
    counts = count_parameters(build_model(key.model, key.dataset, **model_options))
    return [save_result(e, results_dir, counts, data, o) for e, o in zip(experiments, outcomes)]


def plan_jobs(experiments: Sequence[Experiment], batch_seeds: bool) -> list[list[Experiment]]:
    """Group experiments into jobs: seeds of one configuration together where seed batching
    applies (:data:`qkan_lib.seed_batching.BATCHABLE`, no shuffling, two or more seeds),
    every other experiment alone."""

    groups: dict[Experiment, list[Experiment]] = {}
    jobs: list[list[Experiment]] = []
    for e in experiments:
        if batch_seeds and e.model in BATCHABLE and not e.train.shuffle:
            groups.setdefault(e.with_seed(0), []).append(e)
        else:
            jobs.append([e])
    for members in groups.values():
        jobs.extend([members] if len(members) > 1 else [[m] for m in members])
    return jobs


def run_grid(
    experiments: Sequence[Experiment],
    results_dir: PathLike | None = None,
    force: bool = False,
    progress: bool | None = None,
    batch_seeds: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
) -> list[RunResult]:
    """Run (or load) every experiment; finished ones are loaded, so an interrupted grid resumes.

    With ``batch_seeds`` the missing seeds of one configuration train together as one batched
    model (:func:`run_seed_group`); each seed still gets its own result file, equal to a
    separate run up to rounding. Off by default: slower on the CPU (:mod:`qkan_lib.seed_batching`).
    Returns the results in the order of ``experiments``.

    The jobs (:func:`plan_jobs`) run serially here, or in parallel worker processes through
    Dask (:mod:`qkan_lib.parallel_grid`): ``workers`` local processes (1: serial), or the
    running cluster at ``scheduler``; by default ``$QKAN_SCHEDULER``, else ``$QKAN_WORKERS``,
    else one worker per core for a big grid on the CPU and serial for a small one
    (:func:`qkan_lib.parallel_grid.choose_workers`).
    """
    results_dir = Path(results_dir or default_results_dir())
    experiments = list(experiments)
    missing = [e for e in experiments if force or not (results_dir / e.filename()).exists()]
    jobs = plan_jobs(list(dict.fromkeys(missing)), batch_seeds)
    workers, scheduler = choose_workers(jobs, workers, scheduler)
    if jobs and workers != 1:
        done = run_jobs_distributed(jobs, results_dir, workers, scheduler, progress)
        return [
            done[e] if e in done else load_result(results_dir / e.filename()) for e in experiments
        ]
    cache: dict = {}

    def data_for(experiment: Experiment):
        key = (experiment.dataset, experiment.seq_len, experiment.data_options)
        if key not in cache:  # load each dataset once per grid
            cache[key] = load_experiment_data(experiment)
        return cache[key]

    done: dict[Experiment, RunResult] = {}
    bar = progress_bar(sum(len(job) for job in jobs), progress, "training runs")
    for job in jobs:  # each run trains with one intra-op thread (qkan_lib.training.fit)
        if len(job) > 1:
            results = run_seed_group(job, results_dir, data_for(job[0]), progress=False)
        else:
            results = [
                run_experiment(
                    job[0], results_dir, force=True, progress=False, data=data_for(job[0])
                )
            ]
        done.update(zip(job, results))
        bar.update(len(job))
    bar.close()
    return [done[e] if e in done else load_result(results_dir / e.filename()) for e in experiments]


def tune_learning_rate(
    spec: Protocol,
    rates: Iterable[float],
    models: Iterable[str] = MODELS,
    seeds: Iterable[int] = (0, 1, 2),
    results_dir: PathLike | None = None,
    device: str = "auto",
    metric: str = "val_mse",
    **train_overrides,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Choose each model's learning rate on the VALIDATION split, never on test.

    Trains every (model, rate, seed), takes ``metric`` (lower is better) at the last epoch, and
    picks for each model the rate with the lowest MEDIAN over ``seeds``. Returns the table of
    per-seed scores (long format: model, lr, seed, score) and ``{model: best rate}``. Feed the
    latter to :meth:`Protocol.with_learning_rates`, then report test metrics on fresh seeds.
    """
    from .reports import results_frame  # reports imports this module's RunResult

    if not spec.has_validation:
        raise ValueError(
            f"the {spec.dataset} protocol has no validation split; use "
            "spec.with_validation() so tuning never looks at the test part"
        )
    models, rates = list(models), [float(r) for r in rates]
    grid = [
        e
        for lr in rates
        for e in spec.experiments(models, seeds=seeds, device=device, lr=lr, **train_overrides)
    ]
    frame = results_frame(run_grid(grid, results_dir))
    last = frame[frame["epoch"] == frame.groupby(["model", "lr", "seed"])["epoch"].transform("max")]
    scores = last[["model", "lr", "seed", metric]].rename(columns={metric: "score"})
    medians = scores.groupby(["model", "lr"])["score"].median()
    best = {model: float(medians.loc[model].idxmin()) for model in models}
    return scores.reset_index(drop=True), best
