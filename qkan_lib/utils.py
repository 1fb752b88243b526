"""Seeding, device choice, input checks and run metadata shared by the whole library."""

from __future__ import annotations

import contextlib
import os
import platform
import random
import sys
from collections.abc import Iterator

import numpy as np
import scipy
import torch

__version__ = "0.1.0"  # the library's version, recorded with every result
# The dtypes the compiled kernels read (float32 and float64 NumPy views of the tensors).
KERNEL_DTYPES = (torch.float32, torch.float64)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) from one integer.

    This is the library's only seeding function; every chapter and experiment
    calls it. Returns a ``torch.Generator`` seeded the same way, for code that
    wants a private random stream.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    return torch.Generator().manual_seed(seed)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Map ``"auto"`` to CUDA when available, else CPU; validate anything else."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda'") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but no CUDA GPU is available")
    return resolved


def check_float_tensor(x, name: str = "input", error: type[Exception] = ValueError) -> None:
    """Raise ``error`` (a ValueError by default) naming ``name`` unless ``x`` is a
    floating-point torch.Tensor."""
    if not isinstance(x, torch.Tensor):
        raise error(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise error(
            f"{name} must be a floating-point tensor, got dtype {x.dtype}; "
            "convert it, e.g. x.to(torch.float64)"
        )


def check_input(
    x: torch.Tensor, features: int, name: str = "input", dtype: torch.dtype | None = None
) -> None:
    """Raise a ValueError naming the problem if ``x`` is not a finite (batch, features) tensor
    of a floating-point dtype (``dtype``, the layer's, when given)."""
    check_float_tensor(x, name)
    if x.dim() != 2 or x.shape[1] != features:
        raise ValueError(f"{name} must have shape (batch, {features}), got {tuple(x.shape)}")
    if dtype is not None and x.dtype != dtype:
        raise ValueError(f"{name} has dtype {x.dtype}; convert it to {dtype}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")


@contextlib.contextmanager
def intra_op_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` PyTorch intra-op threads (``None``: leave as is).

    Tiny recurrent models issue thousands of small operators per step; with several threads each
    one opens a parallel region and waits for threads that a busy machine may not schedule
    (measured: 61 ms per step with one thread against 328 ms with two on a loaded 2-core box).
    One thread per run, and independent runs side by side, uses the cores better.
    """
    if count is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def register_tensor(
    module: torch.nn.Module, name: str, value: torch.Tensor, trainable: bool
) -> None:
    """A trainable Parameter, or a frozen buffer (so ``parameters()`` lists exactly what trains)."""
    if trainable:
        module.register_parameter(name, torch.nn.Parameter(value))
    else:
        module.register_buffer(name, value)


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def cpu_name() -> str:
    """The CPU model (from /proc/cpuinfo where there is one)."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment_info(device: torch.device | str | None = None) -> dict:
    """Versions and hardware, recorded with every result file."""
    info = {
        "cpu": cpu_name(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "cpu_threads": torch.get_num_threads(),
    }
    info["qkan_lib"] = __version__
    if device is not None:
        device = torch.device(device)
        info["device"] = str(device)
        if device.type == "cuda":
            info["gpu"] = torch.cuda.get_device_name(device)
    return info
