"""Cumulative-sum and -product kernels (see ``graph/scan.py``).

Along an axis that is not split, ``cumsum`` is block-local. Along the split axis each rank
scans its own block (``cumsum``), takes the last slice of its scan (``scan_carry``), and
adds the carries of the ranks before it (``scan_add``): either every rank's carry is
all-gathered (stacked in rank order) and the ones before it summed in rank order, or their
sum arrives as one exclusive prefix (``exscan``, recursive doubling, at many ranks). The
bracketing depends on p alone, so the offsets are deterministic.

Unsigned results (uint16/32/64, which have no torch scan kernels) accumulate in int64: its
arithmetic wraps modulo 2**64, so the low bits are NumPy's unsigned result.
"""

from __future__ import annotations

import torch

from .. import statecomm
from .registry import DONATES, kernel, tdtype

_UNSIGNED = (torch.uint16, torch.uint32, torch.uint64)


def _signed(t: torch.Tensor) -> torch.Tensor:
    """``t`` as int64 holding its values (uint64: its bits)."""
    if t.dtype == torch.uint64:
        return t.view(torch.int64)
    return t.to(torch.int64)


def _back(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """int64 ``t`` as unsigned ``dtype`` (the low bits)."""
    return t.view(torch.uint64) if dtype == torch.uint64 else t.to(dtype)


def _scan(fn, node, x):
    out = tdtype(node.aval.dtype)
    axis = node.attr("axis")
    if out in _UNSIGNED:
        return _back(fn(_signed(x), dim=axis, dtype=torch.int64), out)
    if x.dtype in _UNSIGNED:
        x = x.to(out)
    return fn(x, dim=axis, dtype=out)


@kernel("cumsum")
def k_cumsum(node, args, ctx):
    """The block's own scan along ``axis``, accumulated in the result's dtype (NumPy's: small
    integers and bools in int64, or the requested ``dtype``)."""
    return _scan(torch.cumsum, node, args[0])


@kernel("cumprod")
def k_cumprod(node, args, ctx):
    """The block's own product scan along ``axis``, in the result's dtype."""
    return _scan(torch.cumprod, node, args[0])


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


DONATES.add("scan_add")


@kernel("scan_add")
def k_scan_add(node, args, ctx):
    """The block's scan plus the sum of the carries of the ranks before this one (times
    their product, for a product scan): in place when the block's scan dies here."""
    local, every = args
    r = ctx.rank
    if r == 0:
        return local
    op = node.attr("op")
    prefix = node.inputs[1].op == "exscan"  # the combined carries before this rank
    if local.dtype in _UNSIGNED:
        return _back(_add(op, _signed(local), _signed(every), r, prefix=prefix), local.dtype)
    inplace = 0 in ctx.donated and local.is_contiguous()
    return _add(op, local, every, r, inplace, prefix)


def _add(op, local, every, r, inplace=False, prefix=False):
    if op == "prod":
        before = (every if prefix else torch.prod(every[:r], dim=0)).to(local.dtype)
        return local.mul_(before) if inplace else local * before
    # the carry broadcasts along ``axis``
    before = (every if prefix else torch.sum(every[:r], dim=0)).to(local.dtype)
    return local.add_(before) if inplace else local + before


@kernel("exscan")
def k_exscan(node, args, ctx):
    """The sum (product) of the carries of the ranks before this one; the identity on rank
    0, which does not read it. Unsigned carries combine in int64, as the scans do."""
    t = args[0]
    if t.dtype in _UNSIGNED:
        t = _signed(t)
    prod = node.attr("op") == "prod"
    got = statecomm.exscan(ctx.comm, t, torch.mul if prod else torch.add)
    if got is None:
        return torch.ones_like(t) if prod else torch.zeros_like(t)
    return got
