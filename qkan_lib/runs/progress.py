"""When to show a progress bar: in a terminal and in a notebook a person runs, not in a build.

tqdm.auto draws a widget bar in Jupyter and a text bar in a terminal. A bar is shown when
stderr is a terminal or the code runs in a Jupyter kernel (a reader in JupyterLab, where
training cells otherwise run for minutes with no sign of life), and hidden when
QKAN_PROGRESS=0, which scripts/build_book.py sets so that papermill runs and the
published pages carry no bars.
"""

from __future__ import annotations

import os
import sys

ENV_VAR = "QKAN_PROGRESS"


def in_jupyter_kernel() -> bool:
    """True inside an IPython kernel (JupyterLab, papermill), False in a plain interpreter."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ipython = shell.get_ipython()
    return ipython is not None and "IPKernelApp" in getattr(ipython, "config", {})


def progress_enabled(requested: bool | None = None) -> bool:
    """``requested`` when given; otherwise on in a terminal or a Jupyter kernel, off when
    $QKAN_PROGRESS=0."""
    if requested is not None:
        return bool(requested)
    setting = os.environ.get(ENV_VAR, "").strip()
    if setting not in ("", "0", "1"):
        raise ValueError(f"${ENV_VAR} must be 0 or 1, got {setting!r}")
    if setting:
        return setting == "1"
    return sys.stderr.isatty() or in_jupyter_kernel()
