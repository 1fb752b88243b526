"""Is training S seeds as one vmap-batched model still faster than S runs one after another?

    python benchmarks/seed_batching.py            # 3 and 10 seeds, SHM / Bessel / Urban shapes
    python benchmarks/seed_batching.py --rounds 5
    python benchmarks/seed_batching.py --batch-one --seeds 5 10   # the tuning runs at batch 1

Per configuration it times, interleaved in one process with one intra-op thread, one Adam
step (zero_grad, forward, MSE, backward, step) for all S seeds:

* ``batched``: the S models' parameters stacked and evaluated by one ``torch.func.vmap``-ed
  forward (as qkan_lib.runs.seed_batching.train_seeds does; the fused kernel cannot run under
  vmap, so this is the autograd path);
* ``one after another (fused)``: S separate models, each on its default (fused) path;
* ``one after another (autograd)``: the same inside ``reference_path()``;
* ``one model at batch S x B``: ONE model's step on the S batches stacked. It pays the per-step
  fixed costs (Python, autograd, the optimiser) once, as S models with a leading model axis in
  one compiled call would; but it does the per-weight work (gate matrices from the angles and
  their gradients) once where such a call does it S times, so its ratio to ``fused`` is an
  optimistic estimate, most of all for QLSTM, whose compiled circuit kernels (largely
  per-weight work) take about 40 % of a batch-1 step.

It prints medians and the ratios to the fused sequential steps (below 1: faster than them).
``--batch-one`` times the batch-1 shapes of chapter 9's batch-1 protocol (every model of the
paper; the LSTM cannot run under vmap, so it has no batched column).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time

import torch

import qkan_lib as ql
from qkan_lib.core.daruan import vmap_compatible
from qkan_lib.kernels.paths import reference_path
from qkan_lib.models.registry import MODEL_REGISTRY

SHAPES = {"damped_shm": (10, 4), "bessel": (10, 4), "urban": (64, 64)}  # dataset: (batch, seq_len)
BATCH_ONE_SHAPES = {"damped_shm": (1, 4), "bessel": (1, 4)}


def batched_step(models, x, y):
    from torch.func import functional_call, stack_module_state, vmap

    params, _ = stack_module_state(models)
    buffers = dict(models[0].named_buffers())
    template = models[0]
    forward = vmap(
        lambda p, inputs: functional_call(template, (p, buffers), (inputs,)), in_dims=(0, None)
    )
    optimizer = torch.optim.Adam(params.values(), lr=1e-3)

    def step():
        with vmap_compatible():
            optimizer.zero_grad(set_to_none=True)
            losses = ((forward(params, x) - y) ** 2).mean(dim=(1, 2))
            losses.sum().backward()
            optimizer.step()

    return step


def sequential_steps(models, x, y, reference: bool):
    optimizers = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in models]
    context = reference_path if reference else contextlib.nullcontext

    def step():
        with context():
            for model, optimizer in zip(models, optimizers):
                optimizer.zero_grad(set_to_none=True)
                torch.nn.functional.mse_loss(model(x), y).backward()
                optimizer.step()

    return step


def build(name, dataset, seeds, dtype):
    models = []
    for seed in range(seeds):
        ql.seed_everything(seed)
        models.append(ql.build_model(name, dataset, dtype=dtype))
    return models


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 10])
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--batch-one", action="store_true", help="batch-1 shapes, every model")
    args = parser.parse_args(argv)
    shapes = BATCH_ONE_SHAPES if args.batch_one else SHAPES
    names = ql.MODELS if args.batch_one else ("qkan_lstm", "hqkan_lstm")
    dtype = getattr(torch, args.dtype)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # see run_benchmarks.bench_urban_step: tiny models want one thread
    print(
        f"{'model':<11}{'dataset':<11}{'batch x T':>10}{'seeds':>6}{'batched ms':>12}"
        f"{'seq fused':>11}{'seq autograd':>13}{'batched/fused':>15}{'batched/autograd':>18}"
        f"{'one@S x B/fused':>17}"
    )
    try:
        for dataset, (batch, seq_len) in shapes.items():
            generator = torch.Generator().manual_seed(0)
            x = torch.rand(batch, seq_len, 1, generator=generator, dtype=dtype)
            y = torch.rand(batch, 1, generator=generator, dtype=dtype)
            for name in names:
                for seeds in args.seeds:
                    stacked = (x.repeat(seeds, 1, 1), y.repeat(seeds, 1))
                    cases = {
                        "fused": sequential_steps(build(name, dataset, seeds, dtype), x, y, False),
                        "autograd": sequential_steps(
                            build(name, dataset, seeds, dtype), x, y, True
                        ),
                        "one": sequential_steps(build(name, dataset, 1, dtype), *stacked, False),
                    }
                    if MODEL_REGISTRY[name].seed_batchable:
                        cases["batched"] = batched_step(build(name, dataset, seeds, dtype), x, y)
                    times = {key: [] for key in cases}
                    for fn in cases.values():
                        fn()  # warm-up
                    keys = list(cases)
                    for r in range(args.rounds):
                        for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
                            start = time.perf_counter()
                            cases[key]()
                            times[key].append(time.perf_counter() - start)
                    med = {key: statistics.median(t) * 1e3 for key, t in times.items()}
                    batched = med.get("batched", float("nan"))
                    print(
                        f"{name:<11}{dataset:<11}{f'{batch}x{seq_len}':>10}{seeds:>6}{batched:>12.2f}"
                        f"{med['fused']:>11.2f}{med['autograd']:>13.2f}"
                        f"{batched / med['fused']:>15.2f}"
                        f"{batched / med['autograd']:>18.2f}"
                        f"{med['one'] / med['fused']:>17.2f}",
                        flush=True,
                    )
    finally:
        torch.set_num_threads(threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
