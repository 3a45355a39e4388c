"""The ``load`` kernel: this rank's block of a file's region, read by the format's backend.

The load's aval says which rows of its region this rank holds (``local_offset`` and the
counts along the split axis); the backend reads exactly that hyperslab. A rank whose block
is empty reads nothing.
"""

from __future__ import annotations

import numpy as np
import torch

from ..io import IOProblem, backend
from .registry import kernel, local_offset, tdtype


def block_index(node, rank) -> tuple:
    """This rank's hyperslab of the load's region: one ``slice`` per file axis."""
    a = node.aval
    index = [slice(*r) for r in node.attr("region")]
    if a.split is not None:
        start, stop, step = node.attr("region")[a.split]
        lo = local_offset(a, rank)
        r = range(start, stop, step)[lo:lo + a.counts[rank]]
        index[a.split] = slice(r.start, r.stop, r.step)
    return tuple(index)


@kernel("load")
def k_load(node, args, ctx):
    a = node.aval
    shape = a.local_shape(ctx.rank)
    dtype = tdtype(a.dtype)
    if 0 in shape:
        return torch.empty(shape, dtype=dtype, device=ctx.device)
    meta = node.attr("meta").meta
    try:
        arr = backend(node.attr("fmt")).read(node.attr("path"), node.attr("key"),
                                              block_index(node, ctx.rank), meta,
                                              node.attr("options"))
    except IOProblem as exc:  # a damaged chunk or row group: the error class it names
        raise exc.kind(str(exc)) from None
    arr = np.require(arr, requirements="C")  # keeps 0-d arrays 0-d
    if tuple(arr.shape) != tuple(shape):
        raise ValueError(f"{node.attr('path')}: read {arr.shape} where {shape} was planned "
                         "(did the file change since it was opened?)")
    return torch.from_numpy(arr).to(device=ctx.device, dtype=dtype)
