"""Cumulative-sum and -product kernels (see ``graph/scan.py``).

Along an axis that is not split, ``cumsum`` is block-local. Along the split axis each rank
scans its own block (``cumsum``), takes the last slice of its scan (``scan_carry``), and, once
every rank's carry is all-gathered (stacked in rank order), adds the carries of the ranks
before it (``scan_add``). Every rank sums the same gathered carries in rank order, so the
offsets are deterministic.
"""

from __future__ import annotations

import torch

from .registry import kernel, tdtype


@kernel("cumsum")
def k_cumsum(node, args, ctx):
    """The block's own scan along ``axis``, accumulated in the result's dtype (NumPy's: small
    integers and bools in int64, or the requested ``dtype``)."""
    return torch.cumsum(args[0], dim=node.attr("axis"), dtype=tdtype(node.aval.dtype))


@kernel("cumprod")
def k_cumprod(node, args, ctx):
    """The block's own product scan along ``axis``, in the result's dtype."""
    return torch.cumprod(args[0], dim=node.attr("axis"), dtype=tdtype(node.aval.dtype))


@kernel("scan_carry")
def k_scan_carry(node, args, ctx):
    """The last slice of the block's scan along ``axis`` (zeros for an empty block): the
    same shape on every rank, since the other axes are whole."""
    x, axis = args[0], node.attr("axis")
    n = x.shape[axis]
    if n == 0:
        shape = list(x.shape)
        shape[axis] = 1
        fill = torch.ones if node.attr("op") == "prod" else torch.zeros
        return fill(shape, dtype=x.dtype, device=x.device)
    return x.narrow(axis, n - 1, 1).contiguous()


@kernel("scan_add")
def k_scan_add(node, args, ctx):
    """The block's scan plus the sum of the carries of the ranks before this one (times
    their product, for a product scan)."""
    local, every = args
    r = ctx.rank
    if r == 0:
        return local
    if node.attr("op") == "prod":
        before = torch.prod(every[:r], dim=0)
        return local * before.to(local.dtype)
    before = torch.sum(every[:r], dim=0)  # carry shape: broadcasts along ``axis``
    return local + before.to(local.dtype)
