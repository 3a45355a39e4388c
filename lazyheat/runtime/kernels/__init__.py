"""Block-local kernels: one torch function per op, registered under the op's name.

A kernel is called as ``kernel(node, args, ctx)`` with the physical node, its inputs' local
values and the context (rank, comm, device), and returns this rank's value: a torch tensor,
or a tuple of tensors for a reduction's state or a batched collective's results. Kernels read
global metadata from avals (shape, counts) to know which block they hold; only those of
``collectives`` communicate.

``KERNELS`` maps every op of the registry (``graph.ops.OPS``) to its kernel; the executor
dispatches through it and keeps no list of op names. Each family registers its kernels with
``@kernel(name, ...)`` in its own module (``leaves``, ``elementwise``, ``reduce``,
``movement``, ``scan``, ``select``, ``collectives``; ``runtime/fused.py`` registers "fused");
an op is registered once, so two modules can never both claim one. The registry itself lives
in ``registry`` (kernel modules import it from there, so imports stay acyclic) and is
re-exported here with the kernels other modules call directly.
"""

from __future__ import annotations

# importing the families registers their kernels
from . import (  # noqa: F401
    collectives,
    elementwise,
    fft,
    hsvd,
    index,
    io,
    leaves,
    linalg,
    movement,
    nearest,
    reduce,
    scan,
    select,
    sort,
    states,
    tsqr,
)
from .elementwise import k_ewise, operands  # noqa: F401 - re-exported
from .reduce import k_reduce, local_moments, moments, reduce_local  # noqa: F401
from .registry import (  # noqa: F401
    DONATES,
    KERNELS,
    PART_KEYS,
    TORCH_DTYPES,
    kernel,
    local_offset,
    tdtype,
)
