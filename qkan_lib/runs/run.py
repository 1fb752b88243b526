"""One run path: train one experiment (or one group of seeds) and store its result.

Single runs, the serial grid and the Dask workers all call :func:`run_job`; datasets come from
one cache (:class:`DataCache`), so a grid loads each dataset once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import torch

from ..core.noise import NoiseModel, on_device
from ..data.devices import named_noise_model
from ..data.registry import load_dataset
from ..data.windows import SequenceData
from ..kernels.paths import reference_path
from ..models.parameters import count_parameters
from ..models.registry import MODEL_REGISTRY, build_model
from ..utils import seed_everything
from .archive import materialize, require_or_train
from .experiment import Experiment, PathLike
from .metrics import regression_metrics
from .seed_batching import BATCHABLE, batching_faster, on_cpu, train_seeds
from .store import RunResult, load_result, save_result
from .training import DTYPES, TrainOutcome, predict, train


def load_experiment_data(experiment: Experiment) -> SequenceData:
    """The dataset an experiment trains on."""
    return load_dataset(experiment.dataset, experiment.seq_len, **dict(experiment.data_options))


class DataCache:
    """Each (dataset, seq_len, options) loaded once and reused by the next runs that need it:
    a grid's serial loop keeps one for the grid, a Dask worker one for its lifetime."""

    def __init__(self, size: int = 4):
        self.size = size
        self._data: dict[tuple, SequenceData] = {}

    def __call__(self, experiment: Experiment) -> SequenceData:
        key = (experiment.dataset, experiment.seq_len, experiment.data_options)
        if key not in self._data:
            if len(self._data) >= self.size:  # the oldest goes: grids visit datasets in turn
                self._data.pop(next(iter(self._data)))
            self._data[key] = load_experiment_data(experiment)
        return self._data[key]


def build_experiment_model(experiment: Experiment) -> torch.nn.Module:
    """The experiment's model, untrained, in the run's dtype (draws from the random stream)."""
    return build_model(
        experiment.model,
        experiment.dataset,
        dtype=DTYPES[experiment.train.dtype],
        **dict(experiment.model_options),
    )


EpochHook = Callable[[int, torch.nn.Module], object]

# The shot stream of a run on a device model is seeded by the run's seed; its test split is
# scored on the device model with a stream of its own, seeded by the seed plus this offset.
DEVICE_SCORING_SEED_OFFSET = 1


def device_predictions(
    model: torch.nn.Module,
    x: torch.Tensor,
    noise: NoiseModel,
    shots: int | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """The model's predictions with every DARUAN run on ``noise`` with ``shots`` (seeded); the
    recurrent models take their reference path, which evaluates the layers step by step (the
    compiled kernels compute exact values)."""
    with reference_path(), on_device(noise, shots, seed):
        return predict(model, x)


def device_test_metrics(
    model: torch.nn.Module, data: SequenceData, noise: NoiseModel, shots: int | None, seed: int
) -> dict[str, float]:
    """Test metrics of a trained model scored noiselessly (``test_*``: the exact DARUAN) and on
    the device model with ``shots`` (``device_test_*``), the device's shots seeded by
    ``seed + DEVICE_SCORING_SEED_OFFSET``."""
    model.eval()
    exact = regression_metrics(predict(model, data.x_test), data.y_test)
    noisy = device_predictions(model, data.x_test, noise, shots, seed + DEVICE_SCORING_SEED_OFFSET)
    on_dev = regression_metrics(noisy, data.y_test)
    return {
        **{f"test_{k}": v for k, v in exact.items()},
        **{f"device_test_{k}": v for k, v in on_dev.items()},
    }


def train_run(
    experiment: Experiment,
    data: SequenceData | None = None,
    progress: bool | None = None,
    on_epoch_end: EpochHook | None = None,
) -> tuple[torch.nn.Module, SequenceData, TrainOutcome]:
    """Train one experiment: seed, load the data, build, train. The one place a single run is
    trained. ``on_epoch_end(epoch, model)`` is called with epoch 0 (the initial model) and after
    every epoch, e.g. to snapshot the edges (:class:`qkan_lib.evidence.learned_spectra.
    SpectrumRecorder`).

    An experiment with a ``noise_device`` trains on that device model: on the CPU, on the
    reference path, inside :func:`qkan_lib.core.noise.on_device` (its ``shots``, outcomes seeded
    by the run's seed), so every DARUAN is estimated on the device and every gradient comes from
    the parameter-shift rule there (the history's scores are the device's too). The outcome's
    ``device_metrics`` then hold the test scores noiseless and on the device model
    (:func:`device_test_metrics`)."""
    config = experiment.train
    noise = None if config.noise_device is None else named_noise_model(config.noise_device)
    if noise is not None:  # the shot generator is a CPU generator; the device path is per step
        config = dataclasses.replace(config, device="cpu")
    seed_everything(config.seed)
    if data is None:
        data = load_experiment_data(experiment)
    model = build_experiment_model(experiment)
    if on_epoch_end is not None:
        on_epoch_end(0, model)
    device_run = (
        contextlib.nullcontext()
        if noise is None
        else _on_device_path(noise, config.shots, config.seed)
    )
    with device_run:
        outcome = train(model, data, config, progress, on_epoch_end=on_epoch_end)
    if noise is not None:
        outcome["device_metrics"] = device_test_metrics(
            model, data.to(dtype=DTYPES[config.dtype]), noise, config.shots, config.seed
        )
    return model, data, outcome


@contextmanager
def _on_device_path(noise: NoiseModel, shots: int | None, seed: int) -> Iterator[None]:
    with reference_path(), on_device(noise, shots, seed):
        yield


def run_experiment(
    experiment: Experiment,
    results_dir: PathLike,
    force: bool = False,
    progress: bool | None = None,
    data: SequenceData | None = None,
    on_epoch_end: EpochHook | None = None,
) -> RunResult:
    """Train one experiment (:func:`train_run`) and store its result, or load its finished
    result from ``results_dir``.

    The result file name contains a fingerprint of the full configuration, so a changed
    setting never reuses a stale result; ``force=True`` retrains anyway.
    """
    path = Path(results_dir) / experiment.filename()
    if not force and not require_or_train([experiment], results_dir):  # stored or archived
        return load_result(path)
    model, data, outcome = train_run(experiment, data, progress, on_epoch_end)
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
    result = load_result(path) if materialize(experiment, results_dir) else None
    if result is None or result.final_state is None:
        result = run_experiment(experiment, results_dir, force=True, progress=progress)
    with torch.random.fork_rng(devices=[]):  # the weights are overwritten: leave the stream alone
        model = build_experiment_model(experiment)
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
    if key.train.noise_device is not None:
        raise ValueError("runs on a device model (noise_device) train seed by seed, not batched")
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


def plan_jobs(
    experiments: Sequence[Experiment], batch_seeds: bool | None = None
) -> list[list[Experiment]]:
    """Group experiments into jobs: the seeds of one configuration together where seed batching
    applies, every other experiment alone. ``batch_seeds=None`` (the default) batches exactly
    where batching was measured faster (:func:`qkan_lib.runs.seed_batching.batching_faster`);
    True wherever it can (:data:`~qkan_lib.runs.seed_batching.BATCHABLE`, no shuffling, no
    device model); False nowhere. A group needs two or more seeds."""

    groups: dict[Experiment, list[Experiment]] = {}
    jobs: list[list[Experiment]] = []
    for e in experiments:
        # a run on a device model trains alone: its shots run on the per-step reference path
        alone = e.train.shuffle or e.train.noise_device is not None
        if batch_seeds is None:
            batched = batching_faster(e)
        else:
            stacked_only = MODEL_REGISTRY[e.model].stacked_only  # no vmap: CPU only
            batched = batch_seeds and e.model in BATCHABLE and not alone
            batched = batched and (on_cpu(e) or not stacked_only)
        if batched:
            groups.setdefault(e.with_seed(0), []).append(e)
        else:
            jobs.append([e])
    for members in groups.values():
        jobs.extend([members] if len(members) > 1 else [[m] for m in members])
    return jobs


def run_job(
    job: Sequence[Experiment],
    results_dir: PathLike,
    data: SequenceData | None = None,
    progress: bool | None = False,
) -> list[RunResult]:
    """Train one job of :func:`plan_jobs` (a seed group, or a single run), store each run's
    result atomically the moment it ends, and return the results. The one run path of single
    runs, the serial grid and the Dask workers."""
    job = list(job)
    if len(job) > 1:
        return run_seed_group(job, results_dir, data, progress=progress)
    return [run_experiment(job[0], results_dir, force=True, progress=progress, data=data)]


class BudgetSpent(RuntimeError):
    """A time budget (:func:`time_budget`) ran out: no further run was started. ``left`` are the
    experiments not trained; every finished run is already stored, so calling again resumes."""

    def __init__(self, left: Sequence[Experiment]):
        self.left = list(left)
        super().__init__(f"time budget spent; {len(self.left)} run(s) not started")


_DEADLINE: ContextVar[float | None] = ContextVar("qkan_run_deadline", default=None)


@contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    """Within this block, grids start no new run once ``seconds`` have passed (runs that have
    started finish and are stored); then :class:`BudgetSpent` is raised. None: no budget."""
    token = _DEADLINE.set(None if seconds is None else time.monotonic() + float(seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def budget_left() -> bool:
    deadline = _DEADLINE.get()
    return deadline is None or time.monotonic() < deadline
