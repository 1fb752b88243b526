"""Speed of qkan_lib against references measured in the same run; prints one table of ratios.

    python benchmarks/run_benchmarks.py            # every comparison, medians of 7 runs
    python benchmarks/run_benchmarks.py --quick    # smaller shapes (what the book chapter runs)
    python benchmarks/run_benchmarks.py --json out.json
    python benchmarks/run_benchmarks.py --only urban_step   # one section

Installs nothing. The reference library ``qkan`` (PyPI, version 0.2.3, "exact" solver) and
PennyLane are optional: a comparison whose reference is missing is skipped with a message.
Correctness of the fast paths is the unit tests' job; this script only times them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

import qkan_lib as ql
from qkan_lib import (
    LSTMCell,
    ModuleGates,
    QKANGates,
    QLSTMGates,
    RecurrentRegressor,
    load_dataset,
)
from qkan_lib.book.timing import median_time
from qkan_lib.core.pennylane_circuits import pennylane_qlstm_circuit
from qkan_lib.kernels.paths import reference_path
from qkan_lib.kernels.qlstm_sequence import reference_qlstm_path
from qkan_lib.models.registry import MODEL_LABELS

TARGETS = {
    "daruan_layer": 15.0,
    "gate_sequence": 4.0,
    "qlstm_circuit": 50.0,
    "urban_step": 1 / 1.5,  # QKAN-LSTM / HQKAN-LSTM Adam step at most 1.5x torch.nn.LSTM's
    "qlstm_step": 3.0,
}  # QLSTM's Adam step at least 3x faster than its autograd path


def optional(name: str):
    try:
        return __import__(name)
    except ImportError:
        print(
            f"[skip] {name} is not installed: comparisons against it are skipped", file=sys.stderr
        )
        return None


def forward_backward(module, x):
    def run():
        inputs = x.detach().requires_grad_()
        module(inputs).sum().backward()

    return run


def bench_daruan_layer(qkan, runs, quick):
    batch, width, reps = (64, 32, 3) if quick else (256, 64, 3)
    x = torch.randn(batch, width)
    ours = ql.QKANLayer(width, width, reps)
    rows = [
        (
            "daruan_layer",
            f"QKANLayer({width}->{width}, reps {reps}), batch {batch}, fwd+bwd",
            median_time(forward_backward(ours, x), runs),
            "plain qkan_lib (gate by gate)",
            median_time(forward_backward(ours.reference_forward, x), runs),
            None,
        )
    ]
    if qkan is not None:
        ref = qkan.QKANLayer(
            width, width, reps=reps, solver="exact", preact_trainable=True, device="cpu"
        )
        rows.append(
            (
                "daruan_layer",
                rows[0][1],
                rows[0][2],
                "qkan 0.2.3 exact",
                median_time(forward_backward(ref, x), runs),
                TARGETS["daruan_layer"],
            )
        )
    return rows


def bench_gate_sequence(qkan, runs, quick):
    rows = []
    steps, batch = (32, 32) if quick else (64, 64)
    for reps in (1, 2, 3):
        seq = torch.randn(batch, steps, 1)
        ours = RecurrentRegressor(LSTMCell(1, 1, QKANGates(1, 1, reps)))
        label = f"QKAN-LSTM gate layer (2->4, reps {reps}), {steps} steps, batch {batch}, fwd+bwd"
        t_ours = median_time(lambda: ours(seq).sum().backward(), runs)
        if qkan is not None:
            layer = qkan.QKANLayer(
                2, 4, reps=reps, solver="exact", preact_trainable=True, device="cpu"
            )
            ref = RecurrentRegressor(LSTMCell(1, 1, ModuleGates(1, 1, layer)))
            rows.append(
                (
                    "gate_sequence",
                    label,
                    t_ours,
                    "qkan 0.2.3 exact",
                    median_time(lambda: ref(seq).sum().backward(), runs),
                    TARGETS["gate_sequence"],
                )
            )
        else:
            rows.append(("gate_sequence", label, t_ours, "-", float("nan"), None))
    return rows


def bench_qlstm_circuit(qml, runs, quick):
    """Batches 10 and 64 are the paper protocol's (SHM/Bessel and Urban); 256 shows the
    large-batch end."""
    return [
        row
        for batch in ((10,) if quick else (10, 64, 256))
        for row in _bench_qlstm_circuit(qml, runs, batch)
    ]


def _bench_qlstm_circuit(qml, runs, batch):
    hidden, depth = 5, 3
    n = hidden + 1
    v = torch.rand(batch, n, dtype=torch.float64)
    theta = torch.randn(depth, n, dtype=torch.float64, requires_grad=True)

    def ours():
        ql.circuit_expectations(v, theta, hidden).sum().backward()

    label = f"QLSTM circuit ({n} qubits, depth {depth}), batch {batch}, fwd+bwd"
    t_ours = median_time(
        ours, 10 * runs, warmup=5
    )  # sub-millisecond: more samples for a stable median
    if qml is None:
        return [("qlstm_circuit", label, t_ours, "-", float("nan"), None)]
    circuit = pennylane_qlstm_circuit(n, depth, hidden, interface="torch", diff_method="backprop")

    def reference():
        torch.stack(circuit(v, theta)).sum().backward()

    return [
        (
            "qlstm_circuit",
            label,
            t_ours,
            "PennyLane default.qubit (torch, backprop)",
            median_time(reference, runs),
            TARGETS["qlstm_circuit"],
        )
    ]


def bench_qlstm_sequence(qml, runs, quick):
    """The circuits in their real use: a QLSTM cell over a window, both simulators in the same
    cell."""
    if qml is None:
        return []

    hidden, depth, steps, batch = 5, 3, 4, 10
    n = hidden + 1
    circuit = pennylane_qlstm_circuit(n, depth, hidden, interface="torch", diff_method="backprop")

    class PennyLaneGates(torch.nn.Module):
        def __init__(self, theta):
            super().__init__()
            self.theta = theta

        def forward(self, v):
            return torch.cat([torch.stack(circuit(v, self.theta[g]), -1) for g in range(4)], -1)

    gates = QLSTMGates(1, hidden, depth, dtype=torch.float64)
    ours = RecurrentRegressor(LSTMCell(1, hidden, gates)).double()
    reference_gates = ModuleGates(1, hidden, PennyLaneGates(gates.theta))
    reference = RecurrentRegressor(LSTMCell(1, hidden, reference_gates)).double()
    reference.head.load_state_dict(ours.head.state_dict())
    seq = torch.rand(batch, steps, 1, dtype=torch.float64)
    torch.testing.assert_close(ours(seq), reference(seq))  # same model, two simulators
    label = f"QLSTM cell, 4 circuits x {steps} steps, batch {batch}, fwd+bwd"
    return [
        (
            "qlstm_sequence",
            label,
            median_time(lambda: ours(seq).sum().backward(), runs),
            "PennyLane default.qubit in the same cell",
            median_time(lambda: reference(seq).sum().backward(), max(3, runs // 2)),
            TARGETS["qlstm_circuit"],
        )
    ]


def bench_training_epoch(runs, quick, device):
    data = load_dataset("bessel").to(dtype=torch.float32, device=device)
    rows = []
    for name in ("qkan_lstm", "hqkan_lstm", "qlstm"):
        models = {
            m: ql.build_model(m, "bessel", dtype=torch.float32, device=device)
            for m in ("lstm", name)
        }

        def epoch(model):
            optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01)

            def run():
                for i in range(0, len(data.x_train), 10):
                    optimizer.zero_grad()
                    loss = torch.nn.functional.mse_loss(
                        model(data.x_train[i : i + 10]), data.y_train[i : i + 10]
                    )
                    loss.backward()
                    optimizer.step()

            return run

        t_lstm = median_time(epoch(models["lstm"]), runs)
        t_model = median_time(epoch(models[name]), runs)
        rows.append(
            (
                "training_epoch",
                f"{name} epoch (Bessel, batch 10) on {device}",
                t_model,
                "torch.nn.LSTM(1, 5) epoch",
                t_lstm,
                1 / 5 if name == "qkan_lstm" else None,
            )
        )
    return rows


def interleaved_times(cases: dict, rounds: int, warmup: int = 3) -> dict[str, list[float]]:
    """Wall times of every case, run round-robin (so a busy spell on the machine hits all of
    them alike); the starting case rotates from round to round."""
    for _ in range(warmup):
        for fn in cases.values():
            fn()
    names = list(cases)
    times = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            cases[name]()
            times[name].append(time.perf_counter() - start)
    return times


def adam_step(model, x, y, reference: bool = False):
    """One full training step: zero_grad, forward, MSE, backward, Adam update."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    # the autograd reference path of whichever fused kernel the model would use
    context = (
        (reference_qlstm_path if isinstance(model.cell.gates, QLSTMGates) else reference_path)
        if reference
        else contextlib.nullcontext
    )

    def step():
        with context():
            optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()

    return step


def bench_urban_step(runs, quick):
    """Training step at the Urban shape (batch 64, seq_len 64, input 1), float32 and float64.

    The models are ``build_model(name, "urban")``; QKAN-LSTM and HQKAN-LSTM also run on their
    autograd reference path (``reference_path()``), the speed-up of the fused kernel. Timed
    with ONE intra-op thread: the tensors of a tiny recurrent model are too small to split, so
    extra threads only add synchronisation, and on a busy machine a parallel region in the
    backward pass waits for a thread that is not scheduled (a QKAN-LSTM step was measured at
    328 ms with 2 threads against 61 ms with 1). Independent runs use the other cores.
    """
    rounds = 7 if quick else max(15, 3 * runs)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rows = []
    try:
        for dtype in (torch.float32, torch.float64):
            generator = torch.Generator().manual_seed(0)
            x = torch.rand(64, 64, 1, generator=generator, dtype=dtype) * 2 - 1
            y = torch.rand(64, 1, generator=generator, dtype=dtype) * 2 - 1
            cases = {}
            for name in ("lstm", "qkan_lstm", "hqkan_lstm", "qlstm"):
                for reference in (False, True) if name != "lstm" else (False,):
                    torch.manual_seed(1)
                    model = ql.build_model(name, "urban", dtype=dtype)
                    cases[name, reference] = adam_step(model, x, y, reference)
            times = interleaved_times(cases, rounds)
            medians = {key: statistics.median(t) for key, t in times.items()}
            dt = str(dtype).removeprefix("torch.")
            print(
                f"training step at the Urban shape ({dt}, batch 64, seq_len 64, 1 thread, "
                f"{rounds} interleaved rounds): median [25%-75%] ms"
            )
            for (name, reference), t in times.items():
                q1, _, q3 = statistics.quantiles(t, n=4)
                path = "autograd reference" if reference else "default path"
                print(
                    f"  {MODEL_LABELS[name]:<11} {path:<19}{medians[name, reference] * 1e3:>9.3f}"
                    f"  [{q1 * 1e3:.3f}-{q3 * 1e3:.3f}]"
                )
            lstm = medians["lstm", False]
            for name in ("qkan_lstm", "hqkan_lstm"):
                label = f"{MODEL_LABELS[name]} Adam step, Urban 64x64, {dt}"
                rows.append(
                    (
                        "urban_step",
                        label,
                        medians[name, False],
                        "torch.nn.LSTM step (same run)",
                        lstm,
                        TARGETS["urban_step"],
                    )
                )
                rows.append(
                    (
                        "urban_step",
                        label,
                        medians[name, False],
                        "its autograd reference path",
                        medians[name, True],
                        None,
                    )
                )
            label = f"QLSTM Adam step, Urban 64x64, {dt}"
            rows.append(
                (
                    "urban_step",
                    label,
                    medians["qlstm", False],
                    "torch.nn.LSTM step (same run)",
                    lstm,
                    None,
                )
            )
            rows.append(
                (
                    "urban_step",
                    label,
                    medians["qlstm", False],
                    "its autograd reference path",
                    medians["qlstm", True],
                    TARGETS["qlstm_step"],
                )
            )
    finally:
        torch.set_num_threads(threads)
    return rows


SECTIONS = (
    "daruan_layer",
    "gate_sequence",
    "qlstm_circuit",
    "qlstm_sequence",
    "training_epoch",
    "urban_step",
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    wanted = set(args.only or SECTIONS)
    qkan = optional("qkan") if wanted & {"daruan_layer", "gate_sequence"} else None
    qml = optional("pennylane") if wanted & {"qlstm_circuit", "qlstm_sequence"} else None
    rows = []
    if "daruan_layer" in wanted:
        rows += bench_daruan_layer(qkan, args.runs, args.quick)
    if "gate_sequence" in wanted:
        rows += bench_gate_sequence(qkan, args.runs, args.quick)
    if "qlstm_circuit" in wanted:
        rows += bench_qlstm_circuit(qml, args.runs, args.quick)
    if "qlstm_sequence" in wanted:
        rows += bench_qlstm_sequence(qml, args.runs, args.quick)
    if "training_epoch" in wanted:
        rows += bench_training_epoch(args.runs, args.quick, "cpu")
        if torch.cuda.is_available():
            rows += bench_training_epoch(args.runs, args.quick, "cuda")
    if "urban_step" in wanted:
        rows += bench_urban_step(args.runs, args.quick)
    print(
        f"CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads; "
        f"torch {torch.__version__}; GPU: "
        f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}"
    )
    print(
        f"{'case':<72}{'ours ms':>9}  {'reference':<42}{'ref ms':>9}{'speed-up':>10}{'target':>9}"
    )
    records = []
    for kind, label, ours, ref_name, ref, target in rows:
        ratio = ref / ours
        if target is None:
            verdict = ""
        elif target >= 1:
            verdict = f">={target:g}x {'ok' if ratio >= target else 'MISSED'}"
        else:  # a slowdown bound: ours may be at most 1/target times the reference
            verdict = f"<={1 / target:g}x slower {'ok' if ratio >= target else 'MISSED'}"
        print(
            f"{label:<72}{ours * 1e3:>9.3f}  {ref_name:<42}{ref * 1e3:>9.3f}{ratio:>9.2f}x  "
            f"{verdict}"
        )
        records.append(
            {
                "kind": kind,
                "case": label,
                "ours_s": ours,
                "reference": ref_name,
                "reference_s": ref,
                "speedup": ratio,
                "target": target,
            }
        )
    if args.json:
        args.json.write_text(
            json.dumps({"environment": ql.environment_info("cpu"), "rows": records}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
