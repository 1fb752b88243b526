"""Speed of qkan_lib against references measured in the same run; prints one table of ratios.

    python benchmarks/run_benchmarks.py            # every comparison, medians of 7 runs
    python benchmarks/run_benchmarks.py --quick    # smaller shapes (what the book chapter runs)
    python benchmarks/run_benchmarks.py --json out.json
    python benchmarks/run_benchmarks.py --only urban_step   # one section

Installs nothing. The reference library ``qkan`` (PyPI, version 0.2.3, "exact" solver) and
PennyLane are optional: a comparison whose reference is missing is skipped with a message.
Correctness of the fast paths is the unit tests' job; this script only times them. The
measuring code is :func:`qkan_lib.book.timing.run_benchmarks` (the book's chapter 8 calls it too);
this script is its command line.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import torch

from qkan_lib.book.timing import BENCHMARK_SECTIONS, benchmark_lines, run_benchmarks


def _log(line: str) -> None:
    print(line, file=sys.stderr if line.startswith("[skip]") else sys.stdout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--only", choices=BENCHMARK_SECTIONS, action="append", help="run only these sections"
    )
    args = parser.parse_args(argv)
    bench = run_benchmarks(quick=args.quick, runs=args.runs, only=args.only, log=_log)
    print(
        f"CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads; "
        f"torch {torch.__version__}; GPU: "
        f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}"
    )
    print("\n".join(benchmark_lines(bench["rows"])))
    if args.json:
        args.json.write_text(json.dumps(bench, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
