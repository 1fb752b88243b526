"""Every training run the book's chapters read, as one plan that can be run in bounded pieces.

Each :class:`BookStep` makes the same library calls, with the same arguments, as the chapter
it names (so its runs are the chapter's runs, file for file). :func:`book_plan` says what is
still missing, step by step, without training anything: it runs the steps in archive-only mode
(:func:`qkan_lib.runs.archive.no_training`) and counts the runs of the first grid each step
cannot read. A step whose later runs depend on an earlier result (evaluation seeds after
learning-rate tuning) reports the runs it can see now and says that more follow.
:func:`run_book` trains what is missing, step after step, within an optional time budget;
every finished run is stored at once, so calling it again continues where it stopped.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..data.registry import dataset_spec, milan_source
from ..paper import R2_EPOCHS
from ..runs.archive import (
    EDGES_SUFFIX,
    RunsMissing,
    default_archive_dir,
    no_training,
    read_manifest,
    recording_reads,
    result_name,
)
from ..runs.experiment import Experiment, protocol
from ..runs.grid import run_grid, tune_learning_rate
from ..runs.run import BudgetSpent, time_budget
from ..runs.store import default_results_dir, load_result
from .findings import ablations_and_harder_evidence, baselines_evidence, tuning_rates
from .learned_spectra import spectrum_usage_study, train_qkan_lstm_edges
from .noisy_deployment import deployment_experiments, device_training_experiments
from .real_forecasts import milan_evidence, real_series_evidence


@dataclass(frozen=True)
class BookStep:
    chapter: str
    title: str
    run: Callable[[Path, bool, str, int], object]  # (results_dir, full, device, seed)


def _table(dataset: str):
    def run(results_dir, full, device, seed):
        spec = protocol(dataset, full)
        options = {}
        if dataset_spec(dataset).uses_milan:  # the chapter's source: real files or the stand-in
            directory, _ = milan_source(None, dict(spec.data_options)["stand_in_days"], seed=0)
            options = {"milan_dir": str(directory)}
        run_grid(spec.experiments(base_seed=seed, device=device, **options), results_dir)
        # Urban is tuned on its own validation split, at the shortest windows
        tuning = dict(options, seq_lens=(spec.seq_lens[0],)) if options else {}
        tune_learning_rate(
            spec if options else spec.with_validation(),
            tuning_rates(dataset, full),
            seeds=spec.seeds(seed),
            results_dir=results_dir,
            device=device,
            **tuning,
        )

    return run


def _baselines(results_dir, full, device, seed):
    baselines_evidence(results_dir, full=full, base_seed=seed, device=device)


def _ablations(results_dir, full, device, seed):
    ablations_and_harder_evidence(results_dir, full=full, base_seed=seed, device=device)


def _spectra(results_dir, full, device, seed):
    for dataset in ("bessel", "damped_shm"):
        train_qkan_lstm_edges(dataset, reps=2, seed=seed, full=full, device=device,
                              results_dir=results_dir)  # fmt: skip
    spectrum_usage_study(("damped_shm", "bessel"), (1, 2, 3), full=full, device=device,
                         results_dir=results_dir)  # fmt: skip


def _noisy_device(results_dir, full, device, seed):
    for group in deployment_experiments(full).values():
        run_grid(group, results_dir)


def _device_training(results_dir, full, device, seed):
    run_grid(device_training_experiments(full, base_seed=seed, device=device), results_dir)


def _real_series(results_dir, full, device, seed):
    real_series_evidence(results_dir, full=full, base_seed=seed, device=device)
    # the Milan series, only where the real files are found ($QKAN_MILAN_DIR); else nothing
    milan_evidence(results_dir, full=full, base_seed=seed, device=device)


BOOK_STEPS = (
    BookStep("05", "Damped SHM: Table II and learning-rate tuning", _table("damped_shm")),
    BookStep("06", "Bessel: Table III and learning-rate tuning", _table("bessel")),
    BookStep("07", "Urban: Table IV and learning-rate tuning", _table("urban")),
    BookStep("09", "Baselines: tuning and evaluation seeds", _baselines),
    BookStep("10", "Ablations and harder tasks", _ablations),
    BookStep("11", "What the models learn: edge spectra", _spectra),
    BookStep("12", "Real series: tuning and rolling-origin forecasts", _real_series),
    BookStep("13", "A DARUAN on a noisy device: the models it deploys", _noisy_device),
    BookStep("13", "A DARUAN on a noisy device: training with shots on IBM Fez", _device_training),
)


# Figure 3 of chapters 5 and 6 (qkan_lib.book.plots.plot_predictions, whose default epochs are
# R2_EPOCHS) draws the predictions of the chapter's Table II/III runs of seed `seed`.
FIGURE_3_DATASETS = ("damped_shm", "bessel")


def plotted_predictions(full: bool = True, seed: int = 0, device: str = "auto"):
    """The archive's ``predictions`` policy (:func:`qkan_lib.runs.archive.export_archive`):
    for each run, the epochs whose predictions a chapter draws (Figure 3 of chapters 5 and 6:
    the table runs of seed ``seed`` at the paper's epochs ``R2_EPOCHS``); none for every other
    run."""
    drawn = {
        e.fingerprint()
        for dataset in FIGURE_3_DATASETS
        for e in protocol(dataset, full).experiments(base_seed=seed, device=device)
        if e.train.seed == seed
    }

    def policy(experiment: Experiment) -> tuple[int, ...]:
        return R2_EPOCHS if experiment.fingerprint() in drawn else ()

    return policy


def _cost_key(e: Experiment) -> tuple:
    """Runs comparable in cost: model, dataset, batch size, and whether on a device model (its
    per-step reference path and parameter-shift circuits cost far more than the exact run)."""
    return (e.model, e.dataset, e.train.batch_size, e.train.noise_device is not None)


def _cost(experiment: Experiment, known: dict) -> float | None:
    """Seconds one run is expected to take: the median of stored runs of the same model and
    dataset, scaled by epochs x sequence length (None when nothing comparable is stored)."""
    key = _cost_key(experiment)
    samples = known.get(key)
    if not samples:
        return None
    size = experiment.train.epochs * experiment.seq_len
    return statistics.median(seconds / work * size for seconds, work in samples)


def stored_costs(results_dir: Path) -> dict:
    """Measured (wall seconds, epochs x seq_len) of every stored or archived run, by (model,
    dataset, batch size)."""
    known: dict = {}
    archive = default_archive_dir()
    if archive is not None:
        for entry in read_manifest(archive)["files"].values():
            if entry.get("wall_time_s") is None:
                continue
            e = Experiment.from_dict(entry["experiment"])
            known.setdefault(_cost_key(e), []).append(
                (entry["wall_time_s"], e.train.epochs * e.seq_len)
            )
    for path in Path(results_dir).glob("*.json"):
        try:
            result = load_result(path)
        except ValueError:
            continue
        e = result.experiment
        known.setdefault(_cost_key(e), []).append((result.wall_time_s, e.train.epochs * e.seq_len))
    return known


def _read_steps(results_dir, full, device, seed, steps):
    """Run each step in archive-only mode (it reads stored or archived runs, trains none) and
    yield ``(step, missing, reads)``: the experiments of its first grid not yet run (None when
    the step is complete) and the fingerprints of every run it read or found missing."""
    for step in steps:
        missing = None
        with no_training(), recording_reads() as reads:
            try:
                step.run(results_dir, full, device, seed)
            except RunsMissing as error:
                missing = error.experiments
        yield step, missing, reads


def book_plan(
    full: bool = True, results_dir=None, device: str = "auto", seed: int = 0, steps=BOOK_STEPS
) -> list:
    """One row per step: ``(step, missing runs visible now, more after them?, estimated s)``.

    Trains nothing. Runs already stored or archived are read (copied from the archive into
    ``results_dir``), so a complete step is checked, not assumed."""
    results_dir = Path(results_dir or default_results_dir())
    known = stored_costs(results_dir)
    rows = []
    for step, missing, _ in _read_steps(results_dir, full, device, seed, steps):
        if missing is None:
            rows.append((step, [], False, 0.0))
            continue
        costs = [_cost(e, known) for e in missing]
        estimate = None if None in costs else sum(costs)
        rows.append((step, missing, True, estimate))
    return rows


def regeneration_costs(
    full: bool = True, device: str = "auto", seed: int = 0, steps=BOOK_STEPS
) -> list[dict]:
    """What regenerating the archive costs, chapter by chapter: one dict per step with
    ``chapter``, ``title``, ``runs`` (archived runs this step reads that no earlier step
    read), ``training_s`` (their recorded training seconds, summed) and ``complete`` (False
    when the archive lacks some of the step's runs; it then counts those it could read).

    Trains nothing: the steps run in archive-only mode into a scratch results folder, reading
    the archive the build reads (:func:`~qkan_lib.runs.archive.default_archive_dir`)."""
    archive_dir = default_archive_dir()
    if archive_dir is None:
        raise ValueError("no run archive to read: set $QKAN_ARCHIVE or check out archive/full")
    seconds = {
        entry["fingerprint"]: entry.get("wall_time_s") or 0.0
        for entry in read_manifest(archive_dir)["files"].values()
        if "fingerprint" in entry
    }
    seen: set[str] = set()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for step, missing, reads in _read_steps(Path(scratch), full, device, seed, steps):
            own = {f for f in reads if f in seconds} - seen
            seen |= own
            rows.append({"chapter": step.chapter, "title": step.title, "runs": len(own),
                         "training_s": sum(seconds[f] for f in own),
                         "complete": missing is None})  # fmt: skip
    return rows


def collect_book_runs(
    results_dir,
    target_dir,
    full: bool = True,
    device: str = "auto",
    seed: int = 0,
    steps=BOOK_STEPS,
    chapter_reads: dict | None = None,
) -> int:
    """Gather in ``target_dir`` exactly the runs the book's steps read under ``full``: those
    of ``results_dir`` and of the current archive (``default_archive_dir``), nothing else (no
    quick-protocol or stray runs). A step the runs do not yet complete keeps the runs it
    reaches (the next regeneration piece continues from them). Trains nothing; returns the
    number of runs gathered. For ``qkan-experiments archive export --book``. A dict passed as
    ``chapter_reads`` receives, per chapter, the fingerprints of the runs it reads."""
    target = Path(target_dir)
    target.mkdir(parents=True, exist_ok=True)
    archive = default_archive_dir()
    # an archived run keeps its archived version (a local copy of the same run may carry
    # other timings or predictions); the archive's own files are read by the steps below
    archived = (
        set()
        if archive is None
        else {result_name(name) for name in read_manifest(archive)["files"]}
    )
    for path in Path(results_dir).iterdir():
        stem = path.name.removesuffix(EDGES_SUFFIX)
        if path.name in archived or f"{stem}.json" in archived:
            continue
        if (path.suffix == ".json" or path.name.endswith(EDGES_SUFFIX)) and not (
            target / path.name
        ).exists():
            shutil.copyfile(path, target / path.name)
    reads: set[str] = set()
    for step, _, step_reads in _read_steps(target, full, device, seed, steps):
        reads |= step_reads
        if chapter_reads is not None:
            chapter_reads.setdefault(step.chapter, set()).update(step_reads)
    kept = 0
    for path in sorted(target.glob("*.json")):
        if json.loads(path.read_text()).get("fingerprint") in reads:
            kept += 1
            continue
        path.unlink()
        edges = target / (path.stem + EDGES_SUFFIX)
        if edges.exists():
            edges.unlink()
    return kept


def chapter_costs(results_dir, chapter_reads: dict) -> dict[str, dict]:
    """Per chapter, the runs of ``results_dir`` it reads and their recorded training time:
    ``{chapter: {"runs": n, "training_s": seconds}}`` (a run read by two chapters counts in
    both: each figure is what retraining that chapter alone costs). For the archive's
    provenance, which every build's chapter banner reads."""
    recorded = {}
    for path in Path(results_dir).glob("*.json"):
        payload = json.loads(path.read_text())
        recorded[payload.get("fingerprint")] = payload.get("wall_time_s") or 0.0
    out = {}
    for chapter, reads in sorted(chapter_reads.items()):
        own = [recorded[f] for f in reads if f in recorded]
        out[chapter] = {"runs": len(own), "training_s": round(sum(own), 1)}
    return out


def run_book(
    full: bool = True,
    results_dir=None,
    device: str = "auto",
    seed: int = 0,
    budget_s: float | None = None,
    log: Callable[[str], None] = print,
    steps=BOOK_STEPS,
) -> bool:
    """Train every run the book needs that is not stored or archived, step by step, starting
    no new run after ``budget_s`` seconds. Returns True when every step is complete."""
    results_dir = Path(results_dir or default_results_dir())
    start = time.monotonic()
    for step in steps:
        left = None if budget_s is None else budget_s - (time.monotonic() - start)
        if left is not None and left <= 0:
            log(f"budget spent before chapter {step.chapter}; run the command again to continue")
            return False
        log(f"chapter {step.chapter}: {step.title}")
        try:
            with time_budget(left):
                step.run(results_dir, full, device, seed)
        except BudgetSpent as spent:
            log(
                f"budget spent in chapter {step.chapter}: {len(spent.left)} run(s) of its "
                "current grid not started (every finished run is stored); run the command "
                "again to continue"
            )
            return False
    log(f"every step complete in {time.monotonic() - start:.0f} s")
    return True
