"""The kernel registry: ``KERNELS`` (op name -> kernel) and what every kernel module shares.

Kernel modules register through ``kernel`` and take ``tdtype`` and ``local_offset`` from here,
not from the package's ``__init__``, which imports them: imports stay acyclic.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ...graph.layout import offsets

KERNELS: dict[str, Callable] = {}


def kernel(*names: str):
    """Register the decorated function as the kernel of ops ``names`` (each exactly once)."""
    def register(fn):
        for name in names:
            if name in KERNELS:
                raise ValueError(f"op {name!r} has a kernel already "
                                 f"({KERNELS[name].__module__}.{KERNELS[name].__name__})")
            KERNELS[name] = fn
        return fn
    return register


TORCH_DTYPES = {n: getattr(torch, n) for n in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
    "bfloat16", "float32", "float64", "complex64", "complex128")}


def tdtype(d):
    """The torch dtype of lazyheat DType ``d``."""
    return TORCH_DTYPES[d.name]


def local_offset(aval, rank):
    """Global index of this rank's first element along the split axis (0 when replicated)."""
    return 0 if aval.split is None else offsets(aval.counts)[rank]
