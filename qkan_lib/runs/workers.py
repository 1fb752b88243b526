"""An experiment grid on every core, or on a cluster, through Dask distributed.

The full protocols are grids of independent training runs. The models are tiny and recurrent,
so one run gains nothing from several intra-op threads (on a busy machine it loses: a small
matmul opens a parallel region and waits for a thread that is not scheduled); the cores are
better used by running independent runs side by side, each with ONE intra-op thread.

Dask distributed does the process management: a :class:`distributed.LocalCluster` with one
single-threaded worker process per core serves one machine, and a scheduler address (the
``scheduler`` argument of :func:`qkan_lib.run_grid`, or ``$QKAN_SCHEDULER``) sends the same grid
to an existing cluster. A job is one entry of :func:`qkan_lib.experiments.plan_jobs` (a seed
group or a single run). Each job loads its data inside the worker (nothing big is pickled) and
writes each run's result file atomically the moment the run ends, so a killed worker loses only
the run it was training: Dask reschedules that job on another worker, and a rerun of the grid
loads every finished run instead of retraining it.

How many workers (:func:`choose_workers`): an explicit ``workers`` argument, else
``$QKAN_WORKERS``, else automatic: one per available core when the grid is big enough that a
cluster's start (a few seconds, plus each worker importing torch) pays off (at least
:data:`PARALLEL_MIN_WORK` epoch-steps, see :func:`grid_work`: the full protocols and the
learning-rate sweeps, not a chapter's quick grid), the runs use the CPU, and there are two or
more cores and jobs; otherwise serial, in this process. ``workers=1`` is always serial.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import torch

from ..utils import check_positive_int, resolve_device
from .run import BudgetSpent, DataCache, budget_left, run_job
from .store import write_json_atomic
from .training import progress_bar

SCHEDULER_ENV = "QKAN_SCHEDULER"  # address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786
WORKERS_ENV = "QKAN_WORKERS"  # number of local worker processes; 1 = serial in-process
# epochs x seq_len summed over the runs to train (see grid_work). A chapter's quick grid (at most
# 4,320: the learning-rate tuning of chapters 5-6) stays serial, where starting workers costs more
# than it saves; the full protocols (Damped SHM or Bessel 4,800 each; Urban 81,600) go parallel.
PARALLEL_MIN_WORK = 4500


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells, else cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def grid_work(experiments: Sequence) -> int:
    """A size measure of a grid: epochs x seq_len summed over its runs (the number of recurrent
    steps each training sample goes through). Quick chapter grids are about 1,500; the full
    Damped SHM + Bessel protocol about 9,600; Urban's full protocol about 82,000."""
    return sum(e.train.epochs * e.seq_len for e in experiments)


def choose_workers(
    jobs: Sequence[Sequence], workers: int | None = None, scheduler: str | None = None
) -> tuple[int, str | None]:
    """Decide how a grid's ``jobs`` run: returns ``(workers, scheduler_address)``.

    In this order: a ``scheduler`` address (an existing cluster; ``workers`` returned as 0),
    ``workers`` local processes (1: serial in this process), ``$QKAN_SCHEDULER``,
    ``$QKAN_WORKERS``, else automatic (see the module docstring). Explicit arguments win over
    the environment.
    """
    if scheduler:
        return 0, scheduler
    if workers is not None:
        check_positive_int(workers, "workers")
        return workers, None
    if os.environ.get(SCHEDULER_ENV):
        return 0, os.environ[SCHEDULER_ENV]
    if os.environ.get(WORKERS_ENV):
        text = os.environ[WORKERS_ENV]
        try:
            workers = int(text)
        except ValueError:
            raise ValueError(f"${WORKERS_ENV} must be a positive integer, got {text!r}") from None
        check_positive_int(workers, f"${WORKERS_ENV}")
        return workers, None
    experiments = [e for job in jobs for e in job]
    cores = available_cores()
    on_cpu = all(resolve_device(e.train.device).type == "cpu" for e in experiments)
    if cores < 2 or len(jobs) < 2 or not on_cpu or grid_work(experiments) < PARALLEL_MIN_WORK:
        return 1, None
    if importlib.util.find_spec("distributed") is None:  # an install without the Dask extra
        return 1, None
    return min(cores, len(jobs)), None


_WORKER_DATA = DataCache()  # a worker's datasets, reused by its next jobs


def worker_job(job: Sequence, results_dir: str, threads: int = 1) -> list:
    """What a worker executes: :func:`qkan_lib.runs.run.run_job` with ``threads`` intra-op
    threads and the worker's data cache."""
    torch.set_num_threads(threads)
    return run_job(job, results_dir, _WORKER_DATA(job[0]))


def _package_path() -> str:
    """The folder holding the ``qkan_lib`` this process imported, so local workers import the
    same copy (a notebook may have put it on ``sys.path`` by hand)."""
    return str(Path(__file__).resolve().parents[2])


def local_cluster(workers: int):
    """A :class:`distributed.LocalCluster` of ``workers`` processes, one thread each, quiet, no
    dashboard; its workers import this process's ``qkan_lib`` and use one intra-op thread."""
    from distributed import LocalCluster  # lazy: Dask is needed only by parallel grids

    path = os.pathsep.join(p for p in (_package_path(), os.environ.get("PYTHONPATH")) if p)
    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
        env={"PYTHONPATH": path, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    )


def _job_key(job: Sequence) -> str:
    first = job[0]
    seeds = "-".join(str(e.train.seed) for e in job)
    return f"train-{first.dataset}-{first.model}-L{first.seq_len}-s{seeds}-{uuid.uuid4().hex[:8]}"


def run_jobs_distributed(
    jobs: Sequence[Sequence],
    results_dir: str | os.PathLike,
    workers: int = 0,
    scheduler: str | None = None,
    progress: bool | None = None,
) -> dict:
    """Run ``jobs`` on a new local cluster of ``workers`` processes, or on the running cluster
    at ``scheduler``; returns ``{experiment: RunResult}``.

    Progress counts runs as their jobs complete. A result that arrives but is missing from
    ``results_dir`` as this process sees it (a cluster without a shared file system) is written
    here too, atomically. A job's exception cancels the rest and is raised here; runs that
    finished before it keep their files, so the next call resumes.
    """
    try:
        from distributed import Client, as_completed  # lazy: Dask, as above
    except ImportError as exc:
        raise ImportError(
            "running a grid on several workers needs Dask: pip install "
            "'dask[distributed]' (or run it serially with workers=1)"
        ) from exc

    results_dir = Path(results_dir)
    cluster = None if scheduler else local_cluster(workers)
    done: dict = {}
    try:
        with Client(scheduler or cluster, set_as_default=False) as client:
            # A few jobs per worker in flight, the next submitted as one finishes: a time
            # budget then stops starting runs without cancelling any that started.
            slots = 2 * max(1, workers or len(client.scheduler_info()["workers"]))
            queue = list(jobs)
            futures: dict = {}

            def submit(job):
                future = client.submit(worker_job, list(job), str(results_dir), key=_job_key(job))
                futures[future] = job
                return future

            pending = as_completed(
                [submit(queue.pop(0)) for _ in range(min(slots, len(queue)))], loop=client.loop
            )
            bar = progress_bar(sum(len(job) for job in jobs), progress, "training runs")
            try:
                for future in pending:
                    results = future.result()
                    for result in results:
                        path = results_dir / result.experiment.filename()
                        if not path.exists():
                            write_json_atomic(path, result.to_json())
                    done.update(zip(futures.pop(future), results))
                    bar.update(len(results))
                    if queue and budget_left():
                        pending.add(submit(queue.pop(0)))
            except BaseException:
                client.cancel(list(futures))
                raise
            finally:
                bar.close()
            if queue:
                raise BudgetSpent([e for job in queue for e in job])
    finally:
        if cluster is not None:
            cluster.close()
    return done
