"""Is training S seeds as one batched model faster than S runs one after another?

    python benchmarks/seed_batching.py                 # the shapes of chapters 9, 10 and 12
    python benchmarks/seed_batching.py --seeds 3 10 20 --rounds 15
    python benchmarks/seed_batching.py --models qlstm --json out.json

Per model, shape (batch x sequence length, with the model built for the dataset of that shape)
and number of seeds S it times, in one process with one intra-op thread, interleaved (the
order of the cases rotates every round), after a warm-up, ``--steps`` optimiser steps of all
S models through :func:`qkan_lib.runs.training.training_step`, the step of every run
(one flat optimiser state per case, RMSprop as the protocols use, float64):

* ``batched``: the S seeds as :func:`qkan_lib.runs.seed_batching.train_seeds` trains them
  (:func:`~qkan_lib.runs.seed_batching.stack_seeds`: one compiled call with a model axis where
  the model has one, QKAN-LSTM and HQKAN-LSTM; else vmap of the model's forward);
* ``vmap``: the same seeds through ``torch.func.vmap`` of the model's forward (for QKAN-LSTM
  and HQKAN-LSTM the kernel's vmap rule; the direct ``batched`` path skips vmap's per-operator
  cost; none for the LSTMs, whose torch.nn.LSTM has no vmap rule);
* ``fused``: S separate models, one step each on their default (fused) path, as S separate
  runs train.

It prints the medians per step of all S models and the ratios batched / fused and vmap / fused
(below 1: batching is faster), each the median over rounds of the ratio within a round, with
its interquartile range (the spread). ``--json`` also writes the rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch

import qkan_lib as ql
from qkan_lib.core.daruan import vmap_compatible
from qkan_lib.models.registry import MODEL_REGISTRY
from qkan_lib.runs.seed_batching import stack_seeds
from qkan_lib.runs.training import FlatParameters, TrainConfig, training_step

# (dataset the model is built for, batch size, sequence length): the shapes of chapter 9's
# batch-1 and batch-10 protocols (Damped SHM / Bessel, 4 steps) and of chapter 12's longest
# real-series windows (12 steps); chapter 10's NARMA windows (5, 10 steps) lie between.
SHAPES = (("damped_shm", 1, 4), ("damped_shm", 10, 4), ("real_co2", 10, 12))
CONFIG = TrainConfig(lr=0.01)  # RMSprop, as every protocol of the book


def _stepper(forward, parameters):
    flat = FlatParameters(parameters)
    optimizer = flat.optimizer(CONFIG)
    return lambda x, y: training_step(forward, flat, optimizer, x, y)


def cases(name: str, dataset: str, seeds: int, x: torch.Tensor) -> dict:
    """name -> a function that makes one optimiser step of all ``seeds`` models on (x, y)."""
    out = {}
    spec = MODEL_REGISTRY[name]
    for key, path in (("batched", "auto"), ("vmap", "vmap")):
        if not spec.seed_batchable or (path == "vmap" and spec.stacked_only):
            continue  # torch.nn.LSTM has no vmap rule
        stack = stack_seeds(name, dataset, range(seeds), torch.float64, "cpu", x, path=path)
        step = _stepper(stack.forward, list(stack.params.values()))

        def batched(x, y, step=step):
            with vmap_compatible():
                return step(x, y)

        out[key] = batched
    singles = []
    for seed in range(seeds):
        ql.seed_everything(seed)
        model = ql.build_model(name, dataset, dtype=torch.float64)
        forward = lambda rows, model=model: model(rows).unsqueeze(0)  # noqa: E731
        singles.append(_stepper(forward, [p for p in model.parameters() if p.requires_grad]))
    out["fused"] = lambda x, y: [step(x, y) for step in singles]
    return out


def measure(name, dataset, batch, seq_len, seeds, rounds, steps) -> dict:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(batch, seq_len, 1, generator=generator, dtype=torch.float64)
    y = torch.rand(batch, 1, generator=generator, dtype=torch.float64)
    fns = cases(name, dataset, seeds, x)
    keys = list(fns)
    for fn in fns.values():  # warm-up (compiles, allocates)
        for _ in range(3):
            fn(x, y)
    times = {key: [] for key in keys}
    for r in range(rounds):
        for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
            start = time.perf_counter()
            for _ in range(steps):
                fns[key](x, y)
            times[key].append((time.perf_counter() - start) / steps)
    row = {"model": name, "dataset": dataset, "batch": batch, "seq_len": seq_len, "seeds": seeds}
    for key in keys:
        row[f"{key}_ms"] = statistics.median(times[key]) * 1e3
        if key != "fused":
            ratios = sorted(a / b for a, b in zip(times[key], times["fused"]))
            q1, _, q3 = statistics.quantiles(ratios, n=4)
            row[f"{key}/fused"] = (statistics.median(ratios), q1, q3)
    return row


def _ratio(row, key) -> str:
    if key not in row:
        return "-"
    median, q1, q3 = row[key]
    return f"{median:.2f} [{q1:.2f}, {q3:.2f}]"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--steps", type=int, default=10, help="optimiser steps per timing")
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 10, 20])
    parser.add_argument("--models", nargs="+", default=["qkan_lstm", "hqkan_lstm"])
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as every run trains (qkan_lib.runs.training.fit)
    print(
        f"{'model':<11}{'shape':>8}{'S':>4}{'batched ms':>11}{'vmap ms':>9}{'fused ms':>10}"
        f"{'batched/fused [IQR]':>23}{'vmap/fused [IQR]':>23}"
    )
    rows = []
    try:
        for name in args.models:
            for dataset, batch, seq_len in SHAPES:
                for seeds in args.seeds:
                    row = measure(name, dataset, batch, seq_len, seeds, args.rounds, args.steps)
                    rows.append(row)
                    print(
                        f"{name:<11}{f'{batch}x{seq_len}':>8}{seeds:>4}"
                        f"{row.get('batched_ms', float('nan')):>11.2f}"
                        f"{row.get('vmap_ms', float('nan')):>9.2f}{row['fused_ms']:>10.2f}"
                        f"{_ratio(row, 'batched/fused'):>23}{_ratio(row, 'vmap/fused'):>23}",
                        flush=True,
                    )
    finally:
        torch.set_num_threads(threads)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
