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
                "train": {"epochs": 50 if full else 5, "batch_size": 64, "lr": 0.01, "optimizer": "adam",
                          "dtype": "float32", "record_epochs": ()},
                "data_options": {"cells": 3 if full else 1, "stand_in_days": 62 if full else 14},
                "lr_overrides": {"hqkan_lstm": 0.02}}
    raise ValueError(f"unknown dataset {dataset!r}; choose from {DATASETS}")


def experiments_for(dataset: str, models=MODELS, full: bool = False, seeds=None, seq_lens=None,
                    device: str = "auto", milan_dir=None, **train_overrides) -> list[Experiment]:
    """Every experiment of a dataset's protocol (models x seq_lens x seeds).

    For Urban, the data source is resolved now (``milan_dir``, else $QKAN_MILAN_DIR, else the
    stand-in) and recorded in the experiment, so real and stand-in results never mix.
    """
    spec = protocol(dataset, full)
    data_options = dict(spec["data_options"])
    if dataset == "urban":
        from .data import milan_source

        directory, _ = milan_source(milan_dir, data_options["stand_in_days"])
        data_options["milan_dir"] = str(directory)
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
                                      tuple(sorted(data_options.items()))))
    return out


def run_grid(experiments, results_dir=None, force: bool = False, progress: bool | None = None,
             batch_seeds: bool = True) -> list[dict]:
    """Run (or load) every experiment; finished ones are loaded, so an interrupted grid resumes.

    With ``batch_seeds`` the missing seeds of one configuration (QLSTM, QKAN-LSTM, HQKAN-LSTM)
    train together as one batched model (:func:`qkan_lib.ensemble.train_seeds`); each seed
    still gets its own result file, equal to a separate run up to rounding.
    """
    import dataclasses

    from tqdm.auto import tqdm

    from .configs import build_model
    from .data import load_dataset
    from .ensemble import BATCHABLE, train_seeds
    from .params import count_parameters
    from .training import save_result

    results_dir = Path(results_dir or default_results_dir())
    enabled = sys.stderr.isatty() if progress is None else progress
    cache, done = {}, {}

    def data_for(experiment):
        key = (experiment.dataset, experiment.seq_len, experiment.data_options)
        if key not in cache:  # load each dataset once per grid
            cache[key] = load_dataset(experiment.dataset, experiment.seq_len, **dict(experiment.data_options))
        return cache[key]

    missing = [e for e in experiments if force or not (results_dir / e.filename()).exists()]
    if batch_seeds:
        groups = {}
        for e in missing:
            if e.model in BATCHABLE and not e.train.shuffle:
                key = dataclasses.replace(e, train=dataclasses.replace(e.train, seed=0))
                groups.setdefault(key, []).append(e)
        for key, members in tqdm(groups.items(), desc="seed-batched configurations", disable=not enabled):
            if len(members) < 2:
                continue
            data = data_for(key)
            outcomes = train_seeds(key.model, key.dataset, data, key.train, [m.train.seed for m in members],
                                   dict(key.model_options), progress=False)
            counts = count_parameters(build_model(key.model, key.dataset, **dict(key.model_options)))
            for member, outcome in zip(members, outcomes):
                done[member] = save_result(member, results_dir, counts, data, outcome)
    results = []
    for experiment in tqdm(experiments, desc="experiments", disable=not enabled):
        if experiment in done:
            results.append(done[experiment])
            continue
        needs_data = force or not (results_dir / experiment.filename()).exists()
        data = data_for(experiment) if needs_data else None
        results.append(run_experiment(experiment, results_dir, force, progress=False, data=data))
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


def within_spread(mean: float, std: float, value: float, k: float = 2.0) -> bool:
    """Is ``value`` within ``k`` seed standard deviations of ``mean``?"""
    return abs(value - mean) <= k * std


def synthetic_table(frame, paper_r2: dict, epochs=SYNTHETIC_RECORD_EPOCHS):
    """Tables II / III: train loss, test loss and test R^2 (mean ± std over seeds) at ``epochs``,
    beside the paper's R^2 (its losses were lost), with a mark when the paper's value lies
    within two seed standard deviations of ours."""
    import pandas as pd

    stats = summary(frame, ["train_loss", "test_mse", "test_r2"], by=("model",), epochs=epochs)
    rows = []
    for model in [m for m in MODELS if m in stats.index.get_level_values("model")]:
        row = {}
        for index, epoch in enumerate(epochs):
            s = stats.loc[(model, epoch)]
            row[(f"epoch {epoch}", "train loss")] = f"{s[('train_loss', 'mean')]:.4f} ± {s[('train_loss', 'std')]:.4f}"
            row[(f"epoch {epoch}", "test loss")] = f"{s[('test_mse', 'mean')]:.4f} ± {s[('test_mse', 'std')]:.4f}"
            mean, std = s[("test_r2", "mean")], s[("test_r2", "std")]
            paper = paper_r2[model][index]
            row[(f"epoch {epoch}", "R² (this book)")] = f"{mean:.4f} ± {std:.4f}"
            row[(f"epoch {epoch}", "R² (paper)")] = f"{paper:.4f} {'≈' if within_spread(mean, std, paper) else '≠'}"
        rows.append(pd.Series(row, name=MODEL_LABELS[model]))
    table = pd.DataFrame(rows)
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


def r2_agreement(frame, paper_r2: dict, epochs=SYNTHETIC_RECORD_EPOCHS):
    """Long table: our mean / std of test R^2 and the paper's value per (model, epoch)."""
    import pandas as pd

    stats = summary(frame, ["test_r2"], by=("model",), epochs=epochs)
    rows = []
    for (model, epoch), s in stats.iterrows():
        paper = paper_r2[model][list(epochs).index(epoch)]
        mean, std = s[("test_r2", "mean")], s[("test_r2", "std")]
        rows.append({"model": model, "epoch": epoch, "mean": mean, "std": std, "paper": paper,
                     "within_2_std": within_spread(mean, std, paper)})
    return pd.DataFrame(rows)


def learning_rate_sweep(dataset: str, rates, models=MODELS, seeds=(0,), epochs=None, results_dir=None,
                        device: str = "auto", seq_lens=None, metric: str = "test_r2", milan_dir=None):
    """Final test ``metric`` for each learning rate (the paper's rates were lost)."""
    overrides = {"epochs": epochs} if epochs else {}
    grid = [e for lr in rates for e in experiments_for(dataset, models, seeds=seeds, seq_lens=seq_lens,
                                                          device=device, milan_dir=milan_dir, lr=lr, **overrides)]
    frame = results_frame(run_grid(grid, results_dir))
    last = frame[frame["epoch"] == frame["epoch"].max()]
    table = last.pivot_table(index="model", columns="lr", values=metric, aggfunc="mean")
    return table.reindex([m for m in MODELS if m in table.index]).rename(index=MODEL_LABELS)


STAND_IN_LABEL = "SYNTHETIC STAND-IN DATA, not the Milan dataset"


def data_label(stand_in: bool) -> str:
    """The label every Urban page, figure and table carries."""
    return STAND_IN_LABEL if stand_in else "Milan SMS-in data (Harvard Dataverse)"


def urban_table(frame, paper=None, seq_lens=None):
    """Table IV: test MAE and MSE (mean ± std over seeds) per model and seq_len, beside the
    paper's printed values, and each model's ratio to the LSTM (scale-free, so comparable)."""
    import pandas as pd

    from .paper import SEQ_LENS, TABLE_IV

    paper = paper or TABLE_IV
    stats = summary(frame, ["test_mae", "test_mse"], by=("model", "seq_len"))
    seq_lens = seq_lens or sorted(set(frame["seq_len"]))
    rows = []
    for model in [m for m in MODELS if m in set(frame["model"])]:
        row = {}
        for seq_len in seq_lens:
            s = stats.loc[(model, seq_len)]
            base = stats.loc[("lstm", seq_len)] if "lstm" in set(frame["model"]) else None
            printed = paper[model][SEQ_LENS.index(seq_len)]
            printed_lstm = paper["lstm"][SEQ_LENS.index(seq_len)]
            for k, metric in enumerate(("mae", "mse")):
                mean, std = s[(f"test_{metric}", "mean")], s[(f"test_{metric}", "std")]
                row[(seq_len, f"{metric.upper()} (book)")] = f"{mean:.4f}" + ("" if pd.isna(std) else f" ± {std:.4f}")
                row[(seq_len, f"{metric.upper()} (paper, scaled)")] = f"{printed[k]:.4f}"
                if base is not None:
                    ratio = mean / base[(f"test_{metric}", "mean")]
                    row[(seq_len, f"{metric.upper()} / LSTM book | paper")] = f"{ratio:.3f} | {printed[k] / printed_lstm[k]:.3f}"
        rows.append(pd.Series(row, name=MODEL_LABELS[model]))
    table = pd.DataFrame(rows)
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["seq_len", ""])
    return table


def ranking_agreement(frame, paper=None):
    """Per seq_len and metric: the models ranked by this book and by the paper, and Kendall's tau."""
    import pandas as pd
    from scipy.stats import kendalltau

    from .paper import SEQ_LENS, TABLE_IV

    paper = paper or TABLE_IV
    stats = summary(frame, ["test_mae", "test_mse"], by=("model", "seq_len"))
    models = [m for m in MODELS if m in set(frame["model"])]
    rows = []
    for seq_len in sorted(set(frame["seq_len"])):
        for k, metric in enumerate(("mae", "mse")):
            ours = [stats.loc[(m, seq_len)][(f"test_{metric}", "mean")] for m in models]
            theirs = [paper[m][SEQ_LENS.index(seq_len)][k] for m in models]
            tau = kendalltau(ours, theirs).statistic if len(models) > 1 else float("nan")
            order = lambda values: " < ".join(MODEL_LABELS[m] for _, m in sorted(zip(values, models)))
            rows.append({"seq_len": seq_len, "metric": metric.upper(), "this book (best first)": order(ours),
                         "paper (best first)": order(theirs), "kendall_tau": tau})
    return pd.DataFrame(rows)
