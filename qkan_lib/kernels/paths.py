"""Which execution path runs a computation: the reference (autograd, step by step) or a
compiled kernel, registered by role and chosen in one place.

* :func:`reference_path` is the one switch: inside it every model runs its reference path
  (the straightforward PyTorch code the kernels are tested against, and the only one with
  higher-order gradients).
* :func:`register_sequence_kernel` files a whole-sequence kernel under the gate-map class it
  computes (exact class: a subclass may change the map); :func:`sequence_kernel` picks the
  kernel for a gate map and an input, or None for the reference loop.

This module is light (no Numba): the kernels themselves compile on first use.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

try:  # torch's functorch internals (present in the pinned torch): which transforms are active
    from torch._C._functorch import TransformType
    from torch._functorch.pyfunctorch import retrieve_all_functorch_interpreters
except ImportError:  # another torch: kernels then never serve a vmapped call (reference path)
    TransformType = retrieve_all_functorch_interpreters = None

from ..utils import KERNEL_DTYPES

FUSED_DTYPES = KERNEL_DTYPES  # defined once, in qkan_lib.utils (core.circuits reads it too)
# OpenBLAS runs a GEMM with m*n*k up to this on the calling thread (interface/gemm.c:
# SMP_THRESHOLD_MIN 65536 x GEMM_MULTITHREAD_THRESHOLD 4); the kernels block their matrix
# products to stay at or below it, so a kernel call never wakes BLAS threads.
SINGLE_THREAD_GEMM = 4 * 65536

_REFERENCE = contextvars.ContextVar("qkan_reference_path", default=False)


@contextlib.contextmanager
def reference_path() -> Iterator[None]:
    """Within this block every recurrent model runs its reference path: the cell's step
    function with autograd, one step at a time (no whole-sequence kernel)."""
    token = _REFERENCE.set(True)
    try:
        yield
    finally:
        _REFERENCE.reset(token)


def reference_forced() -> bool:
    """Whether the caller is inside :func:`reference_path`."""
    return _REFERENCE.get()


def fits_single_thread_gemm(m: int, n: int, k: int) -> bool:
    """Whether OpenBLAS runs an (m x k) @ (k x n) product on the calling thread."""
    return m * n * k <= SINGLE_THREAD_GEMM


def transforms_active(*tensors: torch.Tensor) -> bool:
    """True under torch.func transforms (vmap, grad, jvp), tracing or torch.compile, where a
    NumPy kernel cannot read its tensors: those calls take the reference path (one level of
    vmap excepted where a kernel has a vmap rule: :func:`only_vmap_active`)."""
    functorch = getattr(torch._C, "_functorch", None)
    if functorch is None or not hasattr(functorch, "peek_interpreter_stack"):
        return True  # cannot tell: the reference path works under any transform
    if functorch.peek_interpreter_stack() is not None:
        return True
    if any(functorch.is_functorch_wrapped_tensor(t) for t in tensors):
        return True
    return bool(torch.jit.is_tracing() or torch.jit.is_scripting() or torch.compiler.is_compiling())


def only_vmap_active() -> bool:
    """True inside exactly one level of ``torch.func.vmap`` and no other transform, tracing or
    torch.compile: a kernel with a vmap rule for a leading model axis (S models stacked, as
    seed batching runs them) can serve the call."""
    if retrieve_all_functorch_interpreters is None:
        return False
    levels = retrieve_all_functorch_interpreters()
    if len(levels) != 1 or levels[0].key() != TransformType.Vmap:
        return False
    return not (torch.jit.is_tracing() or torch.jit.is_scripting() or torch.compiler.is_compiling())


@dataclass(frozen=True)
class SequenceKernel:
    """A compiled whole-sequence path for one gate-map class.

    ``applies(gates, x)``: whether it computes h_T for this gate map and input;
    ``final_hidden(gates, x, hidden_size)``: h_T (batch, hidden_size) from zero states;
    ``stacked_final_hidden(gates, x, hidden_size, stacked)``, if the kernel has a model axis:
    h_T (S, batch, hidden_size) of S models shaped like ``gates`` whose tensors are
    ``stacked(t)`` (S, *t.shape) for each tensor ``t`` of ``gates``, in one call.
    """

    name: str
    applies: Callable[[torch.nn.Module, torch.Tensor], bool]
    final_hidden: Callable[[torch.nn.Module, torch.Tensor, int], torch.Tensor]
    stacked_final_hidden: Callable | None = None


_SEQUENCE_KERNELS: dict[type, SequenceKernel] = {}


def register_sequence_kernel(gate_class: type, kernel: SequenceKernel) -> None:
    """File ``kernel`` as the compiled path of gate maps of exactly ``gate_class``."""
    _SEQUENCE_KERNELS[gate_class] = kernel


def sequence_kernels() -> dict[str, str]:
    """``{gate-map class name: kernel name}`` of every registered whole-sequence kernel."""
    return {cls.__name__: kernel.name for cls, kernel in _SEQUENCE_KERNELS.items()}


def sequence_kernel(gates: torch.nn.Module, x: torch.Tensor) -> SequenceKernel | None:
    """The compiled path for this gate map and input, or None for the reference loop (inside
    :func:`reference_path`, for unregistered gate maps, or where the kernel does not apply)."""
    if _REFERENCE.get():
        return None
    kernel = _SEQUENCE_KERNELS.get(type(gates))
    return kernel if kernel is not None and kernel.applies(gates, x) else None


def execution_path(gates: torch.nn.Module, x: torch.Tensor) -> str:
    """The name of the path :func:`sequence_kernel` picks: a kernel's name or "reference"."""
    kernel = sequence_kernel(gates, x)
    return "reference" if kernel is None else kernel.name
