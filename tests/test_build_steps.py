"""The build's notebook steps: folded parameters and inline expressions evaluated in order.

The expression test runs a real kernel through papermill, as the build does, and checks
the stored results against values computed here.
"""

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "book" / "_ext")]

from executed_notebooks import (  # noqa: E402
    add_expression_cells,
    collect_expression_results,
    expressions,
    fold_injected_parameters,
    strip_build_traces,
)
from inline_expressions import plain_text, substitute  # noqa: E402


def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _tagged(cell, *tags):
    cell.metadata["tags"] = list(tags)
    return cell


def test_injected_parameters_are_folded_into_the_parameters_cell():
    params = _tagged(
        nbformat.v4.new_code_cell(
            "# Papermill parameters\nfull_protocol = False  # True: the paper's protocol\n"
            'device = "auto"\nseed = 0\nsizes = (1,\n         2)'
        ),
        "parameters",
    )
    injected = _tagged(
        nbformat.v4.new_code_cell(
            '# Parameters\nfull_protocol = True\ndevice = "cpu"\nsizes = (3, 4)\n'
        ),
        "injected-parameters",
    )
    nb = _notebook(
        nbformat.v4.new_markdown_cell("# T"), params, injected, nbformat.v4.new_code_cell("x = 1")
    )
    for k, cell in enumerate(nb.cells[1:], start=1):  # as papermill numbers them
        cell.execution_count = k
    assert fold_injected_parameters(nb, "t") is True
    assert len(nb.cells) == 3 and nb.cells[1] is params
    assert [c.execution_count for c in nb.cells[1:]] == [1, 2]  # no gap where it was
    assert params.source == (
        "# Papermill parameters\nfull_protocol = True  # True: the paper's protocol\n"
        'device = "cpu"\nseed = 0\nsizes = (3, 4)'
    )
    assert fold_injected_parameters(nb, "t") is False  # idempotent


def test_an_injected_parameter_the_chapter_lacks_is_an_error():
    params = _tagged(nbformat.v4.new_code_cell("seed = 0"), "parameters")
    injected = _tagged(nbformat.v4.new_code_cell("device = 'cpu'"), "injected-parameters")
    with pytest.raises(ValueError, match=r"t: papermill injected \['device'\]"):
        fold_injected_parameters(_notebook(params, injected), "t")


def test_inline_expressions_are_evaluated_in_order(tmp_path):
    papermill = pytest.importorskip("papermill")
    nb = _notebook(
        nbformat.v4.new_code_cell("x = 0.000123456\nname = 'QKAN-LSTM'"),
        nbformat.v4.new_markdown_cell(
            'x is {eval}`f"{x:.1e}"` for {eval}`name`; twice {eval}`2 * 21`.'
        ),
        nbformat.v4.new_code_cell("x = 5.0"),
        nbformat.v4.new_markdown_cell("now {eval}`x`"),
    )
    assert expressions(nb.cells[1].source) == ['f"{x:.1e}"', "name", "2 * 21"]
    assert add_expression_cells(nb) == 2 and len(nb.cells) == 6
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        nb, str(out), progress_bar=False, kernel_name="python3", language="python"
    )
    executed = nbformat.read(out, as_version=4)
    assert collect_expression_results(executed, "t") == 4
    assert len(executed.cells) == 4
    # the helper cells are gone and leave no gaps in the execution counts
    assert [c.execution_count for c in executed.cells if c.cell_type == "code"] == [1, 2]
    first = executed.cells[1].metadata["user_expressions"]
    assert [plain_text(e["result"]) for e in first] == ["1.2e-04", "QKAN-LSTM", "42"]
    assert (
        plain_text(executed.cells[3].metadata["user_expressions"][0]["result"]) == "5.0"
    )  # value at that point
    html = substitute(executed.cells[1].source, first, "t")
    assert html == r"x is 1\.2e\-04 for QKAN\-LSTM; twice 42."


def test_a_failing_expression_stops_the_build(tmp_path):
    papermill = pytest.importorskip("papermill")
    nb = _notebook(nbformat.v4.new_markdown_cell("{eval}`undefined_name`"))
    add_expression_cells(nb)
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        nb, str(out), progress_bar=False, kernel_name="python3", language="python"
    )
    with pytest.raises(RuntimeError, match="undefined_name.*NameError"):
        collect_expression_results(nbformat.read(out, as_version=4), "t")


def test_a_role_without_a_stored_result_fails_the_page():
    from sphinx.errors import ExtensionError

    with pytest.raises(ExtensionError, match="no stored result"):
        substitute("{eval}`y`", [], "chapter, cell 3")


def test_build_traces_are_stripped_and_machine_strings_refused():
    nb = _notebook(nbformat.v4.new_code_cell("x = 1"))
    nb.metadata["papermill"] = {
        "input_path": "/home/builder/book/notebooks/01.ipynb",
        "output_path": "/home/builder/book/_build/src/notebooks/01.ipynb",
        "environment_variables": {"HOME": "/home/builder"},
        "parameters": {"full_protocol": True},
    }
    assert strip_build_traces(nb, ["/home/builder"]) == [
        "input_path",
        "output_path",
        "environment_variables",
    ]
    assert nb.metadata["papermill"] == {"parameters": {"full_protocol": True}}
    assert "/home/builder" not in nbformat.writes(nb)
    assert strip_build_traces(nb, ["/home/builder"]) == []  # idempotent
    nb.cells.append(nbformat.v4.new_code_cell("print(open('x').name)"))
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", text="/home/builder/x\n")]
    with pytest.raises(ValueError, match="cell 1 shows the build machine's '/home/builder'"):
        strip_build_traces(nb, ["/home/builder"])


def _build_book():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_book", ROOT / "scripts" / "build_book.py")
    build_book = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_book)
    return build_book


def test_a_cell_that_hangs_is_executed_once_more_then_fails(tmp_path, capsys):
    build_book = _build_book()
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}  # fmt: skip
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "full_protocol = False\ndevice = 'auto'", metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell("import time\ntime.sleep(30)"),
    ]
    with pytest.raises(TimeoutError):
        build_book.execute_chapter(notebook, tmp_path / "hang.ipynb", False, "cpu", timeout=2)
    assert "executing it once more" in capsys.readouterr().out


def test_a_missed_wake_up_costs_one_poll_slice_not_the_whole_wait(monkeypatch):
    """jupyter/nbclient#312: the asyncio poll of a kernel socket can miss a message that has
    arrived; polled in slices, the next slice reads it."""
    import asyncio
    import time
    from queue import Empty

    from jupyter_client.channels import AsyncZMQSocketChannel

    build_book = _build_book()
    monkeypatch.setattr(AsyncZMQSocketChannel, "get_msg", AsyncZMQSocketChannel.get_msg)
    monkeypatch.setattr(build_book, "POLL_SLICE_S", 0.05)
    build_book.poll_kernel_in_slices()

    class Socket:  # the message is there from the start; the first poll misses its wake-up
        def __init__(self, present=True):
            self.polls, self.present = 0, present

        async def poll(self, timeout_ms):
            self.polls += 1
            await asyncio.sleep(timeout_ms / 1000)
            return self.present and self.polls > 1

    channel = AsyncZMQSocketChannel.__new__(AsyncZMQSocketChannel)
    channel.socket = Socket()

    async def recv():
        return {"msg_type": "execute_reply"}

    channel._recv = recv
    start = time.monotonic()
    reply = asyncio.run(channel.get_msg(timeout=600))
    assert reply == {"msg_type": "execute_reply"} and time.monotonic() - start < 5
    assert asyncio.run(channel.get_msg()) == reply  # no timeout: polled in slices too
    channel.socket = Socket(present=False)
    start = time.monotonic()
    with pytest.raises(Empty):  # nothing arrives: Empty after the whole timeout, as before
        asyncio.run(channel.get_msg(timeout=0.3))
    assert 0.25 < time.monotonic() - start < 5


def test_the_banner_states_both_run_times_of_an_archived_chapter():
    build_book = _build_book()
    cost = {"runs": 2340, "training_s": 9108.0}
    banner = build_book.protocol_banner("archive", seconds=63.4, cost=cost, chapter="12")
    assert "its 2,340 training runs are read from the verified run archive" in banner
    assert "executed the page in 63 s" in banner and "about 152 CPU-minutes" in banner
    assert "about 76 min of wall time with 2 workers" in banner
    assert "qkan-experiments book --chapters 12" in banner
    cost = {"runs": 60, "training_s": 31.1}
    short = build_book.protocol_banner("archive", seconds=15, cost=cost, chapter="11")
    assert "about 0.5 CPU-minutes" in short and "about 0.3 min of wall time" in short
    plain = build_book.protocol_banner("archive", seconds=8, cost=None, chapter="01")
    assert "executed the page in 8 s" in plain and "Retraining" not in plain
    assert "quick protocol" in build_book.protocol_banner("fallback", "3 runs are missing")
