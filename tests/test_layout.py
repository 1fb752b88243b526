"""The library's layout: wings in layers, no import cycle, lazy imports only for heavy
dependencies, and CONTRIBUTING's table naming exactly the modules in the tree.

The import graph is read statically (ast), function-level imports included, so a cycle hidden
behind an import inside a function is found too.
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "qkan_lib"
# Bottom to top: a module may import from its own wing and the wings before it.
WINGS = ("", "core", "kernels", "data", "models", "runs", "evidence", "book")
# Dependencies worth deferring: importing qkan_lib must not pay for them.
HEAVY = ("numba", "pennylane", "qiskit", "qiskit_aer", "distributed", "dask", "ipywidgets")
# Modules that import Numba at their top (a lazy import of one defers Numba).
NUMBA_MODULES = {"kernels.circuit", "kernels.qlstm_loops"}


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def wing(module: str) -> str:
    first = module.split(".")[0]
    return first if first in WINGS else ""


def imports(module: str, path: Path):
    """(target module, lazy?, line, source line) of every import of another qkan_lib module."""
    tree = ast.parse(path.read_text())
    lines = path.read_text().splitlines()
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = [p for p in package if p]
    lazy_nodes = {
        id(node)
        for fn in ast.walk(tree)
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(fn)
    }
    known = modules()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        lazy = id(node) in lazy_nodes
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, lazy, node.lineno, lines[node.lineno - 1]
            continue
        if node.level:
            base = package[: len(package) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = (node.module or "").removeprefix("qkan_lib").lstrip(".")
            if not (node.module or "").startswith("qkan_lib"):
                yield node.module, lazy, node.lineno, lines[node.lineno - 1]
                continue
        for alias in node.names:
            full = f"{target}.{alias.name}".lstrip(".")
            yield (full if full in known else target), lazy, node.lineno, lines[node.lineno - 1]


def graph() -> dict[str, set[str]]:
    known = modules()
    return {
        m: {t for t, *_ in imports(m, p) if t in known and t not in ("", m)}
        for m, p in known.items()
    }


def test_the_wings_are_the_folders():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(WINGS) - {""}
    assert all((PACKAGE / w / "__init__.py").exists() for w in WINGS if w)


def test_no_import_cycle_with_function_level_imports_included():
    edges = graph()
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_a_wing_imports_only_from_the_wings_below_it():
    rank = {w: i for i, w in enumerate(WINGS)}
    upward = []
    for module, path in modules().items():
        if module in ("", "__main__"):  # the namespace and the command line sit on top
            continue
        for target, lazy, line, text in imports(module, path):
            if target not in modules() or target == "":
                continue
            if rank[wing(target)] > rank[wing(module)]:
                # allowed only to defer Numba, lazily (the circuit dispatcher and its kernel)
                if not (lazy and target in NUMBA_MODULES):
                    upward.append(f"{module}:{line} imports {target}")
    assert not upward, upward


def test_lazy_imports_defer_a_heavy_dependency_and_say_so():
    wrong = []
    for module, path in modules().items():
        lines = path.read_text().splitlines()
        for target, lazy, line, text in imports(module, path):
            if not lazy:
                continue
            heavy = target.split(".")[0] in HEAVY or target in NUMBA_MODULES
            context = " ".join(lines[max(0, line - 3) : line])
            if not heavy or "#" not in context and '"""' not in context:
                wrong.append(f"{module}:{line}: {text.strip()}")
    assert not wrong, wrong


def test_importing_the_library_loads_no_heavy_dependency():
    code = (
        "import sys, qkan_lib as ql; ql.build_model('qkan_lstm', 'bessel'); "
        f"print([m for m in {list(HEAVY)!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def test_contributing_names_exactly_the_modules_of_each_wing():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    rows = re.findall(r"^\| `(?:qkan_lib/)?(\w*)/?` \| (.+?) \|", text, flags=re.M)
    listed = {}
    for folder, cell in rows:
        if folder in WINGS or folder == "qkan_lib":
            listed[folder if folder in WINGS else ""] = set(re.findall(r"`(\w+)`", cell))
    actual = {w: set() for w in WINGS}
    for module in modules():
        if module and not module.endswith("__main__"):
            parts = module.split(".")
            if len(parts) == 1 and parts[0] in WINGS:
                continue
            actual[wing(module)].add(parts[-1])
    actual[""] -= {"__main__"}
    assert listed == actual


@pytest.mark.parametrize(
    "name",
    ["reports", "machine", "claims", "edge_analysis", "edge_plots", "baselines", "forecasting"],
)
def test_the_names_chapters_used_before_the_wings_still_resolve(name):
    import qkan_lib as ql

    assert getattr(ql, name).__name__.startswith("qkan_lib.")
