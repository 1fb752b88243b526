"""The ``qkan-experiments`` command (also ``python -m qkan_lib``): run any grid of
models x datasets x seq_lens x seeds and print the result table.

``qkan-experiments book [--quick] [--budget MINUTES] [--plan]`` plans and trains every run the
chapters read; ``qkan-experiments archive export|verify|report`` writes, checks or reports the
run archive; ``qkan-experiments compare my.csv --time-column t --value-column y --season 24``
runs the "Real series" chapter's comparison on your own series."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from .book.stats_plots import plot_origin_forecasts
from .book.tables import (
    dm_table,
    forecast_table,
    mean_std_text,
    results_frame,
    summary,
    training_time,
)
from .data.real_series import SeriesFileError
from .data.registry import load_dataset
from .evidence.book_runs import (
    BOOK_STEPS,
    book_plan,
    chapter_costs,
    collect_book_runs,
    plotted_predictions,
    run_book,
)
from .evidence.real_forecasts import (
    compare_csv,
    model_label,
    selection_sentence,
    verdict_sentence,
)
from .evidence.report import archive_report
from .models.registry import ALL_DATASETS, ALL_MODELS, MODEL_LABELS, MODELS
from .runs.archive import (
    ARCHIVE_ENV,
    MANIFEST,
    archive_provenance,
    export_archive,
    keep_every_prediction,
    read_manifest,
    unpack_archive,
    verify_archive,
)
from .runs.experiment import experiments_for
from .runs.grid import run_grid
from .runs.store import default_results_dir

METRICS = ("test_mse", "test_mae", "test_r2")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def book_main(argv: list[str]) -> int:
    """``qkan-experiments book``: print the plan of every run the chapters read, then train what
    is missing, within an optional budget."""
    parser = argparse.ArgumentParser(prog="qkan-experiments book", description=book_main.__doc__)
    parser.add_argument("--quick", action="store_true", help="the quick protocol, not the full")
    parser.add_argument("--budget", type=float, metavar="MINUTES", help="start no run after it")
    parser.add_argument("--plan", action="store_true", help="print the plan only; train nothing")
    parser.add_argument(
        "--chapters", nargs="+", metavar="NN", help="only these chapters' steps (e.g. 09 11)"
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--results-dir", type=Path, default=default_results_dir())
    args = parser.parse_args(argv)
    if args.budget is not None and args.budget <= 0:
        parser.error(f"--budget must be a positive number of minutes, got {args.budget}")
    full = not args.quick
    steps = [s for s in BOOK_STEPS if not args.chapters or s.chapter in args.chapters]
    if not steps:
        parser.error(
            f"no step for chapters {args.chapters}; choose from {[s.chapter for s in BOOK_STEPS]}"
        )
    rows = book_plan(full, args.results_dir, args.device, steps=steps)
    print(f"{'full' if full else 'quick'} protocol, results in {args.results_dir}")
    for step, missing, more, estimate in rows:
        if not missing:
            state = "complete"
        else:
            if estimate is None:
                cost = "unknown time"
            elif estimate < 60:
                cost = f"about {estimate:.0f} CPU s"
            else:
                cost = f"about {estimate / 60:.1f} CPU min"
            state = f"{len(missing)} run(s) to train ({cost}){', more after them' if more else ''}"
        print(f"  chapter {step.chapter} {step.title}: {state}")
    if args.plan or all(not missing for _, missing, _, _ in rows):
        return 0
    budget = None if args.budget is None else args.budget * 60
    done = run_book(full, args.results_dir, args.device, budget_s=budget, steps=steps)
    print("complete" if done else "stopped within the budget; run the same command to continue")
    return 0


def archive_main(argv: list[str]) -> int:
    """``qkan-experiments archive export|verify|report``: write the run archive from a results
    folder, check an archive against its manifest (exit 1 naming every problem), or print the
    full protocol's numbers from it as markdown (trains nothing, unless --train-quick)."""
    parser = argparse.ArgumentParser(
        prog="qkan-experiments archive", description=archive_main.__doc__
    )
    parser.add_argument("action", choices=("export", "verify", "report"))
    parser.add_argument("--archive", type=Path, default=Path("archive/full"))
    parser.add_argument("--results-dir", type=Path, default=default_results_dir())
    parser.add_argument("--command", default="", help="export: how the runs were made")
    parser.add_argument(
        "--from-archive",
        type=Path,
        help="export: read the runs from this archive (verified) instead of --results-dir, e.g. "
        "to write it again with the current format; its provenance is kept",
    )
    parser.add_argument(
        "--book",
        action="store_true",
        help="export: exactly the runs the full-protocol book reads, from --results-dir and the "
        "current archive (quick-protocol and stray runs left out)",
    )
    parser.add_argument(
        "--keep-all-predictions",
        action="store_true",
        help="export: keep every recorded prediction (default: only those a chapter draws)",
    )
    parser.add_argument("--output", type=Path, help="report: also write the markdown here")
    parser.add_argument(
        "--train-quick",
        action="store_true",
        help="report: train the quick protocol's missing runs to list the verdicts that change "
        "(its claims chapters: minutes on 2 cores); default: read only the stored ones",
    )
    parser.add_argument("--skip-quick", action="store_true", help="report: no quick verdicts")
    args = parser.parse_args(argv)
    if args.action == "report":
        quick = "skip" if args.skip_quick else "train" if args.train_quick else "stored"
        if not (args.archive / MANIFEST).exists():
            parser.error(f"--archive {args.archive}: no {MANIFEST} there")
        os.environ[ARCHIVE_ENV] = str(args.archive.resolve())  # the archive the report reads
        text = archive_report(args.results_dir, quick=quick)
        print(text)
        if args.output is not None:
            args.output.write_text(text)
        return 0
    if args.action == "export":
        policy = keep_every_prediction if args.keep_all_predictions else plotted_predictions()
        with tempfile.TemporaryDirectory() as scratch:
            results_dir, provenance = args.results_dir, None
            if args.from_archive is not None and args.book:
                parser.error("--book and --from-archive exclude each other")
            if args.book:
                results_dir, reads = Path(scratch), {}
                collect_book_runs(args.results_dir, results_dir, chapter_reads=reads)
                provenance = dict(
                    archive_provenance(results_dir, args.command),
                    chapters=chapter_costs(results_dir, reads),
                )
            if args.from_archive is not None:
                results_dir = Path(scratch)
                unpack_archive(args.from_archive, results_dir)
                provenance = read_manifest(args.from_archive).get("provenance")
                if args.command:
                    provenance = dict(provenance or {}, command=args.command)
            manifest = export_archive(
                results_dir,
                args.archive,
                provenance=provenance or archive_provenance(results_dir, args.command),
                predictions=policy,
            )
        size = sum(entry["bytes"] for entry in manifest["files"].values())
        runs = sum(1 for name in manifest["files"] if name.startswith("runs/"))
        print(
            f"{runs} runs, {len(manifest['files'])} files, {size / 2**20:.1f} MiB in {args.archive}"
        )
    problems = verify_archive(args.archive)
    for line in problems:
        print(f"{args.archive}/{line}")
    print(f"{args.archive}: {'intact' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


def compare_main(argv: list[str]) -> int:
    """``qkan-experiments compare FILE.csv --time-column T --value-column Y [--season M]``: the
    "Real series" comparison on your own series: every model and baseline forecast from
    rolling origins, the table of MASE and sMAPE, the Diebold-Mariano tests, a figure and the
    verdict. Bad input stops with an error naming the file, column and row (exit 2)."""
    parser = argparse.ArgumentParser(
        prog="qkan-experiments compare", description=compare_main.__doc__
    )
    parser.add_argument("csv", type=Path)
    parser.add_argument("--time-column", required=True)
    parser.add_argument("--value-column", required=True)
    parser.add_argument("--season", type=_positive_int, default=1, help="seasonal period (1: none)")
    parser.add_argument("--horizon", type=_positive_int, help="default: the season, else 6")
    parser.add_argument("--seq-len", type=_positive_int, help="default: the season, else 8")
    parser.add_argument(
        "--full", action="store_true", help="the full protocol (more seeds, origins)"
    )
    parser.add_argument("--out", type=Path, default=Path("compare_out"), help="table and figure")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--results-dir", type=Path, default=default_results_dir())
    args = parser.parse_args(argv)
    try:
        out = compare_csv(
            args.csv, args.time_column, args.value_column, args.season, args.results_dir,
            args.full, args.seq_len, args.horizon, device=args.device,
        )  # fmt: skip
    except SeriesFileError as error:
        print(f"qkan-experiments compare: {error}", file=sys.stderr)
        return 2
    table = forecast_table(out["summary"], "csv")
    print(table.to_string())
    print()
    print(dm_table(out["comparisons"]).to_string())
    print(selection_sentence(out))
    print()
    print(verdict_sentence(out["claim"]))
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "comparison.csv")
    past = _csv_values(out)
    models = [out["best"]["csv"], "lstm", "qkan_lstm"]
    first = int(min(out["forecasts"]["origin"]))
    figure = plot_origin_forecasts(
        out["forecasts"], past, "csv", models, [model_label(m) for m in models],
        tail=len(past) - first + 3 * out["protocol"].seq_lens[0],
    )  # fmt: skip
    figure.savefig(args.out / "forecasts.png", dpi=120)
    print(f"table and figure in {args.out}")
    return 0


def _csv_values(out: dict):
    """The reader's whole series (training history of the last origin plus its future)."""
    spec = out["protocol"]
    options = {**dict(spec.data_options), "origin": int(max(out["forecasts"]["origin"]))}
    data = load_dataset("csv", spec.seq_lens[0], **options)
    return list(data.info["history"]) + list(data.info["future"])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "compare":
        return compare_main(argv[1:])
    if argv and argv[0] == "book":
        return book_main(argv[1:])
    if argv and argv[0] == "archive":
        return archive_main(argv[1:])
    parser = argparse.ArgumentParser(prog="qkan-experiments", description=__doc__)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=ALL_MODELS)
    parser.add_argument(
        "--datasets", nargs="+", default=["damped_shm", "bessel"], choices=ALL_DATASETS
    )
    parser.add_argument("--seq-lens", nargs="+", type=int, help="default: the protocol's")
    parser.add_argument("--seeds", nargs="+", type=int, help="default: the protocol's")
    parser.add_argument("--epochs", type=int, help="default: the protocol's")
    parser.add_argument("--full", action="store_true", help="the paper's full protocol")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--results-dir", type=Path, default=default_results_dir())
    parser.add_argument("--force", action="store_true", help="retrain even if results exist")
    parser.add_argument(
        "--workers",
        type=_positive_int,
        help="local worker processes, one intra-op thread "
        "each; 1: serial (default: $QKAN_WORKERS, else one per core for a big "
        "grid, serial for a small one)",
    )
    parser.add_argument(
        "--scheduler",
        help="address of a running Dask scheduler (a cluster), "
        "e.g. tcp://10.0.0.5:8786 (default: $QKAN_SCHEDULER)",
    )
    args = parser.parse_args(argv)
    overrides = {"epochs": args.epochs} if args.epochs else {}
    experiments = [
        e
        for d in args.datasets
        for e in experiments_for(
            d, args.models, args.full, args.seeds, args.seq_lens, args.device, **overrides
        )
    ]
    frame = results_frame(
        run_grid(
            experiments,
            args.results_dir,
            args.force,
            workers=args.workers,
            scheduler=args.scheduler,
        )
    )
    table = summary(frame, METRICS, by=("dataset", "seq_len", "model"))
    shown = pd.DataFrame({m: mean_std_text(table, m) for m in METRICS})
    print(shown.rename(index=MODEL_LABELS, level="model").to_string())
    print(f"results in {args.results_dir}; total training time {training_time(frame):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
