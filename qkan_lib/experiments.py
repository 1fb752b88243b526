"""The paper's protocols, experiment grids, result tables, and the ``qkan-experiments`` command.

Quick protocols keep every chapter to minutes on 2 CPU cores; ``full=True`` is the paper's
protocol (plus several seeds, where the paper reports single runs).

Learning rates were lost from the paper's text. The values here are documented choices:
SHM / Bessel use the reference QLSTM code's RMSprop(lr=0.01); Urban uses Adam(lr=0.01), and
0.02 for HQKAN-LSTM (the paper says its Urban rate was "slightly higher"). The chapters
show the sensitivity to these choices.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .configs import DATASETS, MODEL_LABELS, MODELS
from .paper import SEQ_LENS
from .training import Experiment, TrainConfig, run_experiment

SYNTHETIC_RECORD_EPOCHS = (1, 15, 30)


def default_results_dir() -> Path:
    return Path(os.environ.get("QKAN_RESULTS", "results"))


def protocol(dataset: str, full: bool = False) -> dict:
    """Seeds, sequence lengths, training settings and data options of a dataset's protocol."""
    if dataset in ("damped_shm", "bessel"):
        return {"seeds": tuple(range(10 if full else 3)), "seq_lens": (4,),
                "train": {"epochs": 30, "batch_size": 10, "lr": 0.01, "optimizer": "rmsprop", "dtype": "float64",
                          "record_epochs": SYNTHETIC_RECORD_EPOCHS},
                "data_options": {}}
    if dataset == "urban":
        return {"seeds": tuple(range(3 if full else 1)), "seq_lens": SEQ_LENS if full else (4, 16, 64),
                "train": {"epochs": 50 if full else 3, "batch_size": 64, "lr": 0.01, "optimizer": "adam",
                          "dtype": "float32", "record_epochs": ()},
                "data_options": {"cells": 3 if full else 1, "stand_in_days": 62 if full else 14},
                "lr_overrides": {"hqkan_lstm": 0.02}}
    raise ValueError(f"unknown dataset {dataset!r}; choose from {DATASETS}")


def experiments_for(dataset: str, models=MODELS, full: bool = False, seeds=None, seq_lens=None,
                    device: str = "auto", **train_overrides) -> list[Experiment]:
    """Every experiment of a dataset's protocol (models x seq_lens x seeds)."""
    spec = protocol(dataset, full)
    out = []
    for model in models:
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; choose from {MODELS}")
        settings = {**spec["train"], "device": device, **train_overrides}
        if "lr" not in train_overrides:
            settings["lr"] = spec.get("lr_overrides", {}).get(model, settings["lr"])
        if "record_epochs" not in train_overrides:
            settings["record_epochs"] = tuple(e for e in settings["record_epochs"] if e <= settings["epochs"])
        for seq_len in seq_lens or spec["seq_lens"]:
            for seed in spec["seeds"] if seeds is None else seeds:
                out.append(Experiment(model, dataset, seq_len, TrainConfig(seed=seed, **settings),
                                      tuple(sorted(spec["data_options"].items()))))
    return out


def run_grid(experiments, results_dir=None, force: bool = False, progress: bool | None = None) -> list[dict]:
    """Run (or load) every experiment; finished ones are loaded, so an interrupted grid resumes."""
    from tqdm.auto import tqdm

    from .data import load_dataset

    results_dir = Path(results_dir or default_results_dir())
    enabled = sys.stderr.isatty() if progress is None else progress
    cache, results = {}, []
    for experiment in tqdm(experiments, desc="experiments", disable=not enabled):
        key = (experiment.dataset, experiment.seq_len, experiment.data_options)
        needs_data = force or not (results_dir / experiment.filename()).exists()
        if needs_data and key not in cache:  # load each dataset once per grid
            cache[key] = load_dataset(experiment.dataset, experiment.seq_len, **dict(experiment.data_options))
        results.append(run_experiment(experiment, results_dir, force, progress=False, data=cache.get(key)))
    return results


def results_frame(results):
    """Long table: one row per (model, dataset, seq_len, seed, epoch) with every metric."""
    import pandas as pd

    rows = []
    for result in results:
        exp = result["experiment"]
        for entry in result["history"]:
            rows.append({"model": exp["model"], "dataset": exp["dataset"], "seq_len": exp["seq_len"],
                         "seed": exp["train"]["seed"], "lr": exp["train"]["lr"], "stand_in": result["stand_in"],
                         "wall_time_s": result["wall_time_s"], **entry})
    return pd.DataFrame(rows)


def summary(frame, metrics, by=("model",), epochs=None):
    """Mean and standard deviation over seeds of ``metrics`` (at ``epochs``, default the last)."""
    if epochs is None:
        last = frame.groupby(["model", "dataset", "seq_len", "seed"])["epoch"].transform("max")
        frame = frame[frame["epoch"] == last]
        groups = list(by)
    else:
        frame = frame[frame["epoch"].isin(epochs)]
        groups = list(by) + ["epoch"]
    stats = frame.groupby(groups)[list(metrics)].agg(["mean", "std", "count"])
    return stats


def mean_std_text(stats, metric: str, digits: int = 4):
    """Format one metric of :func:`summary` as 'mean ± std (n)' strings."""
    mean, std, count = stats[(metric, "mean")], stats[(metric, "std")].fillna(0), stats[(metric, "count")]
    return mean.map(f"{{:.{digits}f}}".format) + " ± " + std.map(f"{{:.{digits}f}}".format) + \
        count.map(lambda n: f" ({n})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="qkan-experiments",
                                     description="Run any grid of models x datasets x seq_lens x seeds.")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--datasets", nargs="+", default=["damped_shm", "bessel"], choices=DATASETS)
    parser.add_argument("--seq-lens", nargs="+", type=int, help="default: the protocol's")
    parser.add_argument("--seeds", nargs="+", type=int, help="default: the protocol's")
    parser.add_argument("--epochs", type=int, help="default: the protocol's")
    parser.add_argument("--full", action="store_true", help="the paper's full protocol")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--results-dir", type=Path, default=default_results_dir())
    parser.add_argument("--force", action="store_true", help="retrain even if results exist")
    args = parser.parse_args(argv)
    overrides = {"epochs": args.epochs} if args.epochs else {}
    experiments = [e for d in args.datasets for e in experiments_for(
        d, args.models, args.full, args.seeds, args.seq_lens, args.device, **overrides)]
    frame = results_frame(run_grid(experiments, args.results_dir, args.force))
    table = summary(frame, ["test_mse", "test_mae", "test_r2"], by=("dataset", "seq_len", "model"))
    text = {m: mean_std_text(table, m) for m in ("test_mse", "test_mae", "test_r2")}
    import pandas as pd

    shown = pd.DataFrame(text).rename(index=MODEL_LABELS, level="model")
    print(shown.to_string())
    print(f"results in {args.results_dir.resolve()}; total training time "
          f"{frame.groupby(['dataset', 'model', 'seq_len', 'seed'])['wall_time_s'].first().sum():.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
