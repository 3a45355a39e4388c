"""Leaf kernels: values with no inputs (user data, constants, generators).

Generators compute exactly this rank's block from the global aval and the block's offset
(``local_offset``), so a leaf costs no communication and its global array does not depend on
the number of ranks. ``USER_DATA`` leaves return buffers the user holds: they are never freed
or overwritten (see the executor's donation).
"""

from __future__ import annotations

import torch

from ...graph import ops
from .. import memory
from .. import random as rnd
from .registry import kernel, local_offset, tdtype

# leaves whose value is the user's own buffer, not a fresh one
USER_DATA = ops.USER_DATA


@kernel("data")
def k_data(node, args, ctx):
    return node.attr("buf").value


@kernel("param")
def k_param(node, args, ctx):
    """The plan's i-th data leaf: the local tensor the caller passed for it."""
    return ctx.params[node.attr("index")]


@kernel("full")
def k_full(node, args, ctx):
    a = node.aval
    return memory.empty(a.local_shape(ctx.rank), tdtype(a.dtype), ctx.device).fill_(
        node.attr("value"))


def _index_1d(node, ctx):
    """Global indices of this rank's elements of a 1-d leaf (float64 for inexact results)."""
    a = node.aval
    n = a.local_shape(ctx.rank)[0]
    off = local_offset(a, ctx.rank)
    return torch.arange(off, off + n, dtype=torch.float64 if a.dtype.is_inexact else
                        torch.int64, device=ctx.device)


@kernel("arange")
def k_arange(node, args, ctx):
    start, step = node.attr("start"), node.attr("step")
    i = _index_1d(node, ctx)
    return (i * step + start).to(tdtype(node.aval.dtype))


@kernel("linspace")
def k_linspace(node, args, ctx):
    start, stop, num, endpoint = (node.attr(k) for k in ("start", "stop", "num", "endpoint"))
    i = _index_1d(node, ctx).to(torch.float64)
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else 0.0
    out = i * step + start
    if endpoint and num > 1:
        out = torch.where(i == num - 1, torch.tensor(float(stop), dtype=torch.float64), out)
    if node.aval.dtype.is_integer:  # NumPy floors before casting to an integer dtype
        out = torch.floor(out)
    return out.to(tdtype(node.aval.dtype))


@kernel("eye")
def k_eye(node, args, ctx):
    a = node.aval
    shp = a.local_shape(ctx.rank)
    rows = torch.arange(shp[0], device=ctx.device)
    cols = torch.arange(shp[1], device=ctx.device)
    if a.split == 0:
        rows = rows + local_offset(a, ctx.rank)
    elif a.split == 1:
        cols = cols + local_offset(a, ctx.rank)
    return (cols[None, :] - rows[:, None] == node.attr("k")).to(tdtype(a.dtype))


@kernel("random")
def k_random(node, args, ctx):
    a = node.aval
    return rnd.generate(node.attr("dist"), node.attr("seed"), node.attr("params"), a.shape,
                        a.split, local_offset(a, ctx.rank), a.local_shape(ctx.rank),
                        tdtype(a.dtype), ctx.device)
