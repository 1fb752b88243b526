"""qkan_lib.book.timing.run_benchmarks (what benchmarks/run_benchmarks.py and chapter 8 call) on
its cheapest section, and the command-line wrapper around it."""

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

from qkan_lib.book import timing as machine

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "run_benchmarks.py"
KEYS = ["kind", "case", "ours_s", "reference", "reference_s", "speedup", "target"]


def test_run_benchmarks_rows_threads_and_random_state():
    threads = torch.get_num_threads()
    state = torch.random.get_rng_state()
    lines = []
    bench = machine.run_benchmarks(
        quick=True, runs=1, only=["qlstm_circuit"], threads=1, log=lines.append
    )
    assert torch.get_num_threads() == threads  # restored
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's random state kept
    assert bench["environment"]["cpu_threads"] == 1  # measured inside the one-thread block
    (row,) = bench["rows"]
    assert list(row) == KEYS and row["kind"] == "qlstm_circuit" and row["ours_s"] > 0
    assert "batch 10" in row["case"]
    if math.isnan(row["reference_s"]):  # PennyLane missing: skipped, and said so
        assert any("[skip] pennylane" in line for line in lines)
    else:
        assert row["speedup"] == row["reference_s"] / row["ours_s"]
        assert row["target"] == machine.BENCHMARK_TARGETS["qlstm_circuit"]
    with pytest.raises(ValueError, match="unknown sections"):
        machine.run_benchmarks(only=["nope"])


def test_benchmark_lines_are_the_former_table():
    records = [
        {
            "kind": "k",
            "case": "a case",
            "ours_s": 0.002,
            "reference": "ref",
            "reference_s": 0.03,
            "speedup": 15.0,
            "target": 15.0,
        },
        {
            "kind": "k",
            "case": "b",
            "ours_s": 0.002,
            "reference": "ref",
            "reference_s": 0.0025,
            "speedup": 1.25,
            "target": 1 / 1.5,
        },
        {
            "kind": "k",
            "case": "c",
            "ours_s": 0.002,
            "reference": "-",
            "reference_s": 0.001,
            "speedup": 0.5,
            "target": None,
        },
    ]
    lines = machine.benchmark_lines(records)
    assert lines[0].startswith("case") and lines[0].endswith("target")
    assert lines[1].endswith(" 15.00x  >=15x ok") and "    2.000  ref" in lines[1]
    assert lines[2].endswith("1.25x  <=1.5x slower ok")
    assert lines[3].endswith("0.50x  ")


def test_the_script_is_a_thin_wrapper(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("run_benchmarks", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "bench.json"
    argv = ["--quick", "--runs", "1", "--only", "qlstm_circuit", "--json", str(out)]
    assert script.main(argv) == 0
    bench = json.loads(out.read_text())
    assert set(bench) == {"environment", "rows"} and list(bench["rows"][0]) == KEYS
    printed = capsys.readouterr().out
    assert "QLSTM circuit, 6 qubits, depth 3, batch 10" in printed and "speed-up" in printed
