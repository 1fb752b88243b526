"""QLSTM training step: the fused sequence kernel against the PyTorch reference, in one process.

    python benchmarks/qlstm_step.py               # Urban and SHM shapes, float32 and float64
    python benchmarks/qlstm_step.py --repeats 41 --seeds 3 10

One Adam training step (zero_grad, forward, MSE, backward, step) of ``build_model("qlstm", ...)``
on one intra-op thread, the two paths interleaved step by step after a warm-up (which also
compiles or loads the Numba kernels), medians with the interquartile range. Then seed batching
(``torch.func.vmap`` over S stacked models, the recipe of ``qkan_lib.ensemble.train_seeds``,
which runs the PyTorch simulator) against S fused steps one after another, at the SHM shape.
Correctness is the tests' job (tests/test_qlstm_kernel.py); this script only times.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import qkan_lib as ql  # noqa: E402
from qkan_lib.qlstm_kernel import reference_qlstm_path  # noqa: E402

SHAPES = {"urban": (64, 64), "damped_shm": (10, 4)}  # dataset: (batch, seq_len); input size 1
TARGET_URBAN_SPEEDUP = 3.0


def adam_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor,
              y: torch.Tensor):
    def step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
    return step


def batched_seed_step(dataset: str, dtype: torch.dtype, seeds: int, x: torch.Tensor,
                      y: torch.Tensor):
    """One Adam step of ``seeds`` QLSTMs as one vmap-ed model (the PyTorch simulator path)."""
    from torch.func import functional_call, stack_module_state, vmap

    models = []
    for seed in range(seeds):
        ql.seed_everything(seed)
        models.append(ql.build_model("qlstm", dataset, dtype=dtype))
    params, _ = stack_module_state(models)
    template = copy.deepcopy(models[0])
    forward = vmap(lambda p, inputs: functional_call(template, p, (inputs,)), in_dims=(0, None))
    optimizer = torch.optim.Adam(params.values(), lr=0.01)

    def step():
        optimizer.zero_grad(set_to_none=True)
        ((forward(params, x) - y) ** 2).mean(dim=(1, 2)).sum().backward()
        optimizer.step()
    return step


def sequential_seed_step(dataset: str, dtype: torch.dtype, seeds: int, x: torch.Tensor,
                         y: torch.Tensor):
    """One fused Adam step of each of ``seeds`` QLSTMs, one after another."""
    steps = []
    for seed in range(seeds):
        ql.seed_everything(seed)
        model = ql.build_model("qlstm", dataset, dtype=dtype)
        steps.append(adam_step(model, torch.optim.Adam(model.parameters(), lr=0.01), x, y))

    def step():
        for one in steps:
            one()
    return step


def interleaved(steps: dict, repeats: int, warmup: int, clock=time.perf_counter) -> dict:
    """Seconds per call of each step function, timed in turns (one call of each per round, the
    order rotating) so that drifts in machine load hit every contender alike."""
    names = list(steps)
    for _ in range(warmup):
        for name in names:
            steps[name]()
    times = {name: [] for name in names}
    for round_ in range(repeats):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            start = clock()
            steps[name]()
            times[name].append(clock() - start)
    return times


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def summary(samples: list[float]) -> str:
    q1, median, q3 = statistics.quantiles(samples, n=4)
    return f"{1e3 * median:8.3f} ms (IQR {1e3 * q1:.3f}-{1e3 * q3:.3f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=31, help="timed steps per contender")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="*", default=[3, 10])
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall time, or this thread's CPU time (steadier on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    clock = time.perf_counter if args.clock == "wall" else time.thread_time
    print(f"torch {torch.__version__}, 1 intra-op thread, {args.repeats} interleaved repeats, "
          f"{args.clock} clock, medians (interquartile range)")
    ok = True
    for dataset, (batch, seq_len) in SHAPES.items():
        for dtype in (torch.float32, torch.float64):
            ql.seed_everything(0)
            reference = ql.build_model("qlstm", dataset, dtype=dtype)
            fused = copy.deepcopy(reference)
            x = torch.rand(batch, seq_len, 1, dtype=dtype) * 2 - 1
            y = torch.rand(batch, 1, dtype=dtype)
            ref_step = adam_step(reference, torch.optim.Adam(reference.parameters(), lr=0.01), x, y)

            def reference_step(ref_step=ref_step):
                with reference_qlstm_path():
                    ref_step()

            fused_step = adam_step(fused, torch.optim.Adam(fused.parameters(), lr=0.01), x, y)
            times = interleaved({"reference": reference_step, "fused": fused_step},
                                args.repeats, args.warmup, clock)
            ratio = statistics.median(times["reference"]) / statistics.median(times["fused"])
            label = f"{dataset} (batch {batch}, seq_len {seq_len}), {dtype_name(dtype)}"
            verdict = ""
            if dataset == "urban":
                verdict = "ok" if ratio >= TARGET_URBAN_SPEEDUP else "MISSED"
                ok &= ratio >= TARGET_URBAN_SPEEDUP
                verdict = f"  target >= {TARGET_URBAN_SPEEDUP:g}x: {verdict}"
            print(f"QLSTM Adam step, {label}\n  reference {summary(times['reference'])}\n"
                  f"  fused     {summary(times['fused'])}\n  speed-up {ratio:.2f}x{verdict}")
    batch, seq_len = SHAPES["damped_shm"]
    for seeds in args.seeds:
        for dtype in (torch.float32, torch.float64):
            x = torch.rand(batch, seq_len, 1, dtype=dtype) * 2 - 1
            y = torch.rand(batch, 1, dtype=dtype)
            times = interleaved({"batched": batched_seed_step("damped_shm", dtype, seeds, x, y),
                                 "sequential": sequential_seed_step("damped_shm", dtype, seeds, x,
                                                                    y)},
                                max(5, args.repeats // 2), args.warmup, clock)
            ratio = statistics.median(times["batched"]) / statistics.median(times["sequential"])
            faster = "batching" if ratio < 1 else "one after another"
            print(f"{seeds} seeds, damped_shm (batch {batch}, seq_len {seq_len}), "
                  f"{dtype_name(dtype)}: one step of every seed\n"
                  f"  batched (vmap, PyTorch simulator) {summary(times['batched'])}\n"
                  f"  one after another (fused)         {summary(times['sequential'])}\n"
                  f"  batched / sequential {ratio:.2f}  ({faster} is faster)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
