"""Experiment grids: every run of a list of experiments, serial here or on Dask workers
(:mod:`qkan_lib.runs.workers`), resumable; and learning-rate tuning on the validation split."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from ..models.registry import MODELS
from .archive import require_or_train
from .experiment import Experiment, PathLike, Protocol
from .run import BudgetSpent, DataCache, budget_left, plan_jobs, run_job
from .store import RunResult, default_results_dir, load_result, results_frame
from .training import progress_bar
from .workers import choose_workers, run_jobs_distributed


def run_grid(
    experiments: Sequence[Experiment],
    results_dir: PathLike | None = None,
    force: bool = False,
    progress: bool | None = None,
    batch_seeds: bool | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> list[RunResult]:
    """Run (or load) every experiment; finished ones are loaded, so an interrupted grid resumes.

    The missing seeds of one configuration train together as one batched model
    (:func:`run_seed_group`) where that was measured faster (``batch_seeds=None``, the
    default: QKAN-LSTM and HQKAN-LSTM on the CPU at the shapes measured,
    :func:`qkan_lib.runs.seed_batching.batching_faster`), wherever it can (True) or nowhere
    (False); each seed still gets its own result file, equal to a separate run up to
    rounding. Returns the results in the order of ``experiments``.

    The jobs (:func:`plan_jobs`) run serially here, or in parallel worker processes through
    Dask (:mod:`qkan_lib.parallel_grid`): ``workers`` local processes (1: serial), or the
    running cluster at ``scheduler``; by default ``$QKAN_SCHEDULER``, else ``$QKAN_WORKERS``,
    else one worker per core for a big grid on the CPU and serial for a small one
    (:func:`qkan_lib.parallel_grid.choose_workers`).
    """
    results_dir = Path(results_dir or default_results_dir())
    experiments = list(experiments)
    unique = list(dict.fromkeys(experiments))
    missing = unique if force else require_or_train(unique, results_dir)  # archive first
    jobs = plan_jobs(missing, batch_seeds)
    workers, scheduler = choose_workers(jobs, workers, scheduler)
    if jobs and workers != 1:
        done = run_jobs_distributed(jobs, results_dir, workers, scheduler, progress)
        return [
            done[e] if e in done else load_result(results_dir / e.filename()) for e in experiments
        ]
    data_for = DataCache()
    done: dict[Experiment, RunResult] = {}
    bar = progress_bar(sum(len(job) for job in jobs), progress, "training runs")
    try:
        for index, job in enumerate(jobs):  # one intra-op thread per run (runs.training.fit)
            if not budget_left():
                raise BudgetSpent([e for j in jobs[index:] for e in j])
            done.update(zip(job, run_job(job, results_dir, data_for(job[0]))))
            bar.update(len(job))
    finally:
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
