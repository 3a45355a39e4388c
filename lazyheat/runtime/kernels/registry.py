"""The kernel registry: ``KERNELS`` (op name -> kernel) and what every kernel module shares.

Kernel modules register through ``kernel`` and take ``tdtype`` and ``local_offset`` from here,
not from the package's ``__init__``, which imports them: imports stay acyclic.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ...graph.layout import offsets

KERNELS: dict[str, Callable] = {}


# ops whose kernels may write their result into a donated input (``ctx.donated``: inputs
# that die at this node and share their buffer with nothing alive); the executor computes
# the donations for these and for fused groups
DONATES: set = set()


def registrar(table: dict, what: str):
    """A decorator factory registering the decorated function in ``table`` under op names,
    each exactly once (``what`` names the entry in the error)."""
    def named(*names: str):
        def register(fn):
            for name in names:
                if name in table:
                    raise ValueError(f"op {name!r} has {what} already "
                                     f"({table[name].__module__}.{table[name].__name__})")
                table[name] = fn
            return fn
        return register
    return named


# ``@kernel(name, ...)``: the decorated function is the kernel of ops ``names``
kernel = registrar(KERNELS, "a kernel")


TORCH_DTYPES = {n: getattr(torch, n) for n in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
    "bfloat16", "float32", "float64", "complex64", "complex128")}


def tdtype(d):
    """The torch dtype of lazyheat DType ``d``."""
    return TORCH_DTYPES[d.name]


def local_offset(aval, rank):
    """Global index of this rank's first element along the split axis (0 when replicated)."""
    return 0 if aval.split is None else offsets(aval.counts)[rank]


# ---------------------------------------------------------------- parts of one computation
# Some ops are one part of a computation that yields several (a factorization's Q and R,
# U, S and Vh): one node per part keeps the IR's one-value nodes, and these keys let the
# parts share the work. ``PART_KEYS[op](node)`` names the computation a node is part of
# (its inputs' identities and the attributes other than the part); the executor counts, per
# plan, how many nodes take a part of each computation, and ``shared_parts`` computes it
# once, holds it for the other parts and drops it when the last one took its part.
PART_KEYS: dict[str, Callable] = {}


# ``@part_key(name, ...)``: ``fn(node) -> hashable`` is the part key of ops ``names``
part_key = registrar(PART_KEYS, "a part key")


def computation_key(node):
    """``(op, its inputs' identities, attrs other than "out" and "partial")``: the nodes
    of one computation differ only in the part they take (and whether it is a rank's
    partial sum, which the pass does not depend on)."""
    attrs = tuple((k, v) for k, v in node.attrs if k not in ("out", "partial"))  # sorted
    return (node.op, *(id(i) for i in node.inputs), attrs)


def shared_parts(ctx, key, compute):
    """The parts of computation ``key``: computed once per plan however many nodes take a
    part of it (``ctx.part_uses`` counts them), then dropped after the last one."""
    got = ctx.parts.get(key)
    if got is None:
        got = compute()
    left = ctx.part_uses.get(key, 1) - 1
    ctx.part_uses[key] = left
    if left > 0:
        ctx.parts[key] = got
    else:
        ctx.parts.pop(key, None)
    return got
