"""Execute every chapter with papermill, then build the HTML book from the executed copies.

    python scripts/build_book.py            # full protocol read from archive/full, no training
    python scripts/build_book.py --quick    # the quick protocol, trained here (minutes)
    python scripts/build_book.py --full     # the full protocol, training what is missing
    python scripts/build_book.py --only 01_daruan_spectrum

By default every chapter runs with the paper's full protocol and reads its runs from the
verified run archive (archive/full, qkan_lib.runs.archive) with training forbidden. A chapter
whose runs the archive lacks is built with the quick protocol instead, and its page says so.
Without an archive the default is the quick protocol.

The source tree is staged into _build/src (book pages, _config.yml, _toc.yml and the
*executed* notebooks), and Jupyter Book builds it with execution off and warnings as
errors, so a failing cell or a broken reference fails the build.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from executed_notebooks import (
    add_expression_cells,
    collect_expression_results,
    fold_injected_parameters,
    strip_build_traces,
)

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
SRC = BUILD / "src"


ARCHIVE = ROOT / "archive" / "full"


def chapter_costs() -> dict:
    """Per chapter, the archived runs it reads and their recorded training seconds (the
    manifest's provenance, written by ``qkan-experiments archive export --book``)."""
    manifest = json.loads((ARCHIVE / "MANIFEST.json").read_text())
    return manifest.get("provenance", {}).get("chapters", {})


def protocol_banner(
    protocol: str,
    missing: str = "",
    seconds: float | None = None,
    cost: dict | None = None,
    chapter: str = "",
) -> str:
    """The note at the top of a chapter page saying which protocol its numbers come from and,
    for the archive, both run times: this build's (``seconds``) and retraining's (``cost``:
    the chapter's archived runs and their recorded training seconds)."""
    if protocol == "archive":
        took = "" if seconds is None else f" This build executed the page in {seconds:.0f} s."
        if not cost or not cost.get("runs"):
            return (
                "```{note}\nThis page is built with the **full protocol** (every seed, epoch "
                "and setting of the chapter's full version); any training runs it uses are read "
                "from the verified run archive "
                f"(`archive/full`, see *How to run*), not retrained.{took}\n```"
            )
        minutes = cost["training_s"] / 60

        def amount(m: float) -> str:  # "0.3", "2.5", "152": never "0 min" for a short one
            return f"{m:.1f}" if m < 10 else f"{m:,.0f}"

        return (
            "```{note}\nThis page is built with the **full protocol** (every seed, epoch and "
            f"setting of the chapter's full version); its {cost['runs']:,} training runs are "
            "read from the verified run archive "
            f"(`archive/full`, see *How to run*), not retrained.{took} Retraining them takes "
            f"about {amount(minutes)} CPU-minutes (their recorded training times; about "
            f"{amount(minutes / 2)} min of wall time with 2 workers): `qkan-experiments book "
            f"--chapters {chapter}`.\n```"
        )
    return (
        "```{warning}\nThis page shows the **quick protocol**: the run archive does not yet "
        f"hold every run of this chapter's full protocol ({missing}).\n```"
    )


# A cell that runs longer than this has lost its kernel's reply (seen once: a kernel idle,
# the build waiting on it for ever); no cell that reads the archive or trains the quick
# protocol comes near it. Training the full protocol here (--full --train) has no limit.
CELL_TIMEOUT_S = 1200


POLL_SLICE_S = 1.0


def poll_kernel_in_slices() -> None:
    """Make the kernel client wait for a message in slices of POLL_SLICE_S seconds.

    The build's hangs (an idle kernel, papermill waiting for ever at an ``interact`` cell on a
    loaded machine; a stack dump showed both processes idle in their event loops) match
    jupyter/nbclient#312: the asyncio poll of a ZMQ socket can miss the wake-up of a message
    that has arrived. A fresh poll checks the socket first, so a message missed by one slice is
    read by the next, and a hang becomes a delay of at most one slice."""
    from queue import Empty

    from jupyter_client.channels import AsyncZMQSocketChannel

    if getattr(AsyncZMQSocketChannel.get_msg, "in_slices", False):
        return

    async def get_msg(self, timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            step = POLL_SLICE_S if left is None else min(POLL_SLICE_S, left)
            if await self.socket.poll(int(step * 1000)):
                return await self._recv()
            if left is not None and left <= step:
                raise Empty

    get_msg.in_slices = True
    AsyncZMQSocketChannel.get_msg = get_msg


def execute_chapter(source, output, full: bool, device: str, timeout: int | None = None) -> None:
    """Execute one chapter with papermill; a cell past ``timeout`` seconds is retried once
    with the whole chapter in a fresh kernel (a hang, not an error, is what this catches)."""
    import copy

    import papermill as pm

    poll_kernel_in_slices()
    for attempt in (1, 2):
        try:
            pm.execute_notebook(
                copy.deepcopy(source),
                output,
                parameters={"full_protocol": full, "device": device},
                cwd=ROOT / "notebooks",
                progress_bar=False,
                kernel_name="python3",
                language="python",
                execution_timeout=timeout,
            )
            return
        except TimeoutError:
            if attempt == 2:
                raise
            print(f"{output.name}: a cell ran past {timeout} s; executing it once more", flush=True)


def execute_chapters(names: list[str], full: bool, device: str, mode: str = "train") -> None:
    """``mode``: "train" (the protocol given by ``full``, training what is missing) or
    "archive" (full protocol from the archive, training forbidden; quick where it lacks runs)."""
    import copy

    import nbformat
    from papermill.exceptions import PapermillExecutionError

    (SRC / "notebooks").mkdir(parents=True, exist_ok=True)
    os.environ["QKAN_PROGRESS"] = "0"  # no progress bars on the pages (qkan_lib.runs.progress)
    if mode == "archive":
        os.environ["QKAN_ARCHIVE"] = str(ARCHIVE)
    if not full or mode == "archive":
        # The quick protocol trains its grids in the kernel's own process: on a 2-core machine
        # worker processes were measured to gain nothing (qkan_lib.runs.workers), and their
        # start-up costs more than a quick grid. $QKAN_WORKERS still overrides this.
        os.environ.setdefault("QKAN_WORKERS", "1")
    costs = chapter_costs() if mode == "archive" else {}
    for name in names:
        start = time.perf_counter()
        source = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        add_expression_cells(source)
        output = SRC / "notebooks" / f"{name}.ipynb"
        banner = ""
        if mode == "archive":
            os.environ["QKAN_NO_TRAINING"] = "1"
            try:
                execute_chapter(copy.deepcopy(source), output, True, device, CELL_TIMEOUT_S)
                seconds = time.perf_counter() - start
                banner = protocol_banner(
                    "archive", seconds=seconds, cost=costs.get(name[:2]), chapter=name[:2]
                )
            except PapermillExecutionError as exc:
                if exc.ename != "RunsMissing":
                    raise
                banner = protocol_banner(
                    "fallback", re.split(r" (?:is|are) neither", exc.evalue)[0] + " missing"
                )
                print(f"{name}: the archive lacks runs ({exc.evalue[:200]}); quick protocol")
                os.environ["QKAN_NO_TRAINING"] = "0"
                execute_chapter(copy.deepcopy(source), output, False, device, CELL_TIMEOUT_S)
            finally:
                os.environ["QKAN_NO_TRAINING"] = "0"
        else:
            execute_chapter(source, output, full, device, None if full else CELL_TIMEOUT_S)
        executed = nbformat.read(output, as_version=4)
        collect_expression_results(executed, name)
        if banner:  # under the chapter's title
            executed.cells.insert(1, nbformat.v4.new_markdown_cell(banner))
        nbformat.write(executed, output)
        print(f"executed {name} in {time.perf_counter() - start:.0f} s", flush=True)


def machine_strings() -> list[str]:
    """What identifies the build machine: its absolute paths, the home folder, the host name."""
    import socket

    found = {str(ROOT), str(Path.home()), str(Path(sys.prefix).resolve()), socket.gethostname()}
    return sorted(s for s in found if len(s) > 3)  # a short host name ("vm") would match words


def tidy_executed(chapters: list[str]) -> None:
    """Fold papermill's injected parameters into each chapter's parameters cell and strip the
    build machine's traces (papermill's paths) from what a reader downloads (idempotent)."""
    import nbformat

    for name in chapters:
        path = SRC / "notebooks" / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        folded = fold_injected_parameters(nb, name)
        try:
            stripped = strip_build_traces(nb, machine_strings())
        except ValueError as error:
            raise SystemExit(f"{name}: {error}") from None
        if folded or stripped:
            nbformat.write(nb, path)


def stage_sources() -> None:
    for item in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / item, SRC / item)
    shutil.copytree(ROOT / "book", SRC / "book", dirs_exist_ok=True)
    static = ROOT / "_build" / "static"
    # Widget-manager JavaScript from scripts/fetch_js.py. Not in "_static": Jupyter Book would
    # add every script there to every page a second time, in the wrong order.
    shutil.copytree(static, SRC / "widgets_js", dirs_exist_ok=True)
    shutil.copy2(ROOT / "book" / "_ext" / "mathjax_widget_shim.js", SRC / "widgets_js")


def place_widget_fonts() -> None:
    """Widget icon fonts, where the widget CSS looks for them (relative to each chapter page)."""
    target = BUILD / "html" / "notebooks" / "@jupyter-widgets" / "html-manager" / "dist"
    shutil.copytree(BUILD / "widget_fonts", target, dirs_exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    protocol = parser.add_mutually_exclusive_group()
    protocol.add_argument(
        "--full", action="store_true", help="the full protocol, training what is missing"
    )
    protocol.add_argument("--quick", action="store_true", help="the quick protocol, trained here")
    parser.add_argument(
        "--device", default="auto", help="'auto' (GPU when present), 'cpu' or 'cuda'"
    )
    parser.add_argument(
        "--only", nargs="*", help="execute only these chapters (others reuse _build/src)"
    )
    parser.add_argument(
        "--no-execute", action="store_true", help="reuse executed notebooks in _build/src"
    )
    args = parser.parse_args(argv)

    chapters = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    names = chapters if args.only is None else args.only
    unknown = sorted(set(names) - set(chapters))
    if unknown:
        parser.error(f"unknown chapters {unknown}; choose from {chapters}")
    start = time.perf_counter()
    SRC.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(ROOT / "scripts" / "fetch_js.py")], check=True)
    if args.full or args.quick:
        mode = "train"
    elif (ARCHIVE / "MANIFEST.json").exists():
        mode = "archive"
        verify = [sys.executable, "-m", "qkan_lib", "archive", "verify", "--archive", str(ARCHIVE)]
        subprocess.run(verify, check=True)  # a damaged or stale archive stops the build here
    else:
        mode = "train"
        print("no run archive (archive/full): building the quick protocol")
    if not args.no_execute:
        execute_chapters(names, args.full, args.device, mode)
    missing = [c for c in chapters if not (SRC / "notebooks" / f"{c}.ipynb").exists()]
    if missing:
        parser.error(f"chapters not executed yet: {missing}")
    tidy_executed(chapters)
    stage_sources()
    subprocess.run(
        [
            "jupyter-book",
            "build",
            str(SRC),
            "--path-output",
            str(ROOT),
            "-W",
            "--keep-going",
            "--all",
        ],
        check=True,
    )
    place_widget_fonts()
    print(f"book built in {time.perf_counter() - start:.0f} s: {BUILD / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
