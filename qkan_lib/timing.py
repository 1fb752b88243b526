"""Timing helpers shared by the benchmark script and the "How fast is it?" chapter."""
from __future__ import annotations

import statistics
import time

import torch


def median_time(fn, runs: int = 7, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in seconds over ``runs`` calls (after ``warmup`` calls)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def training_step_time(model: torch.nn.Module, batch: int, seq_len: int, runs: int = 5, device="cpu",
                       dtype=torch.float32) -> float:
    """Median time of one forward + backward pass of a regressor on a random (batch, seq_len, 1) window."""
    model = model.to(device=device, dtype=dtype)
    x = torch.rand(batch, seq_len, 1, device=device, dtype=dtype) * 2 - 1

    def step():
        model.zero_grad(set_to_none=True)
        model(x).square().mean().backward()

    return median_time(step, runs)


def scaling_table(models=("lstm", "qlstm", "qkan_lstm", "hqkan_lstm"), dataset: str = "bessel",
                  batches=(8, 32, 128), seq_lens=(4, 16, 64), reps=(1, 2, 3), runs: int = 5, device="cpu"):
    """Step time against batch size, sequence length and DARUAN reps (long format DataFrame)."""
    import pandas as pd

    from .configs import build_model

    rows = []
    for model in models:
        for batch in batches:
            rows.append({"model": model, "axis": "batch", "value": batch,
                         "seconds": training_step_time(build_model(model, dataset), batch, seq_lens[0], runs, device)})
        for seq_len in seq_lens:
            rows.append({"model": model, "axis": "seq_len", "value": seq_len,
                         "seconds": training_step_time(build_model(model, dataset), batches[1], seq_len, runs, device)})
        if model in ("qkan_lstm", "hqkan_lstm"):
            for r in reps:
                rows.append({"model": model, "axis": "reps", "value": r, "seconds": training_step_time(
                    build_model(model, dataset, reps=r), batches[1], seq_lens[0], runs, device)})
    return pd.DataFrame(rows)


def kernel_bracketing_times(batches=(4, 16, 64, 256), runs: int = 5, seed: int = 0, n_qubits: int = 6,
                            depth: int = 3, n_measured: int = 5):
    """Forward + backward time of the compiled QLSTM circuit kernel with each bracketing of the
    adjoint matrix chain (through the states, through the unitary), and the one it picks."""
    import numpy as np
    import pandas as pd

    from .circuit_kernel import through_states_is_cheaper, value_and_grad

    rng = np.random.default_rng(seed)
    rows = []
    for batch in batches:
        v = rng.uniform(-np.pi, np.pi, (batch, n_qubits))
        theta = rng.normal(size=(depth, n_qubits))
        row = {"batch": batch}
        for name, through_states in (("through the states (ms)", True), ("through the unitary (ms)", False)):
            row[name] = 1e3 * median_time(
                lambda: value_and_grad(v, theta, n_measured, through_states=through_states), runs)
        row["kernel picks"] = "states" if through_states_is_cheaper(batch, depth, 2**n_qubits) else "unitary"
        rows.append(row)
    return pd.DataFrame(rows)
