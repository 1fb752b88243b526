"""The ``qkan-experiments`` command (also ``python -m qkan_lib``): run any grid of
models x datasets x seq_lens x seeds and print the result table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from .book.tables import mean_std_text, results_frame, summary, training_time
from .models.registry import ALL_DATASETS, ALL_MODELS, MODEL_LABELS, MODELS
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


def main(argv: list[str] | None = None) -> int:
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
