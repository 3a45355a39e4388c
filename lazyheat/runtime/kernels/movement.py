"""Movement and contraction kernels: matmul, transpose, reshape, broadcast_to, repeat,
slice, concatenate.

All are block-local: the planner has already brought the inputs to layouts where this rank's
output block depends on its own input blocks only (a matmul over a split contracted axis
yields partial sums that a later all-reduce adds). Views are returned where torch gives them.
"""

from __future__ import annotations

import torch

from ...graph.layout import offsets
from ...graph.rules import local_slice
from .. import memory
from .registry import kernel, tdtype


@kernel("matmul")
def k_matmul(node, args, ctx):
    a, b = args
    dt = tdtype(node.aval.dtype)
    if dt == torch.bool:  # logical or of ands, as NumPy; counts are exact in float64
        return torch.matmul(a.to(torch.float64), b.to(torch.float64)) != 0
    a, b = a.to(dt), b.to(dt)
    if a.device.type != "cpu" and not (dt.is_floating_point or dt.is_complex):
        # CUDA has no integer GEMM; the CPU's is exact (wrapping as NumPy's)
        return torch.matmul(a.cpu(), b.cpu()).to(a.device)
    if a.ndim == 2 and b.ndim == 2:  # the common case: a fresh (huge-page) output buffer
        return torch.matmul(a, b, out=memory.empty((a.shape[0], b.shape[1]), dt, a.device))
    return torch.matmul(a, b)


@kernel("transpose")
def k_transpose(node, args, ctx):
    return args[0].permute(node.attr("perm"))


@kernel("reshape")
def k_reshape(node, args, ctx):
    return args[0].reshape(node.aval.local_shape(ctx.rank))


@kernel("broadcast_to")
def k_broadcast_to(node, args, ctx):
    """This rank's block of the broadcast array, as a view (torch ``expand``): the input
    already has the output's block along a kept split axis, or is whole where the split axis
    is broadcast from length one."""
    x = args[0]
    shape = node.aval.local_shape(ctx.rank)
    return x.reshape((1,) * (len(shape) - x.ndim) + tuple(x.shape)).expand(shape)


@kernel("repeat")
def k_repeat(node, args, ctx):
    """Each of this rank's elements along the axis repeated its own count (the counts of
    the rows it holds, when the axis is split)."""
    x, xa = args[0], node.inputs[0].aval
    ax, reps = node.attr("axis"), node.attr("repeats")
    if xa.split == ax:
        lo = offsets(xa.counts)[ctx.rank]
        reps = reps[lo:lo + xa.counts[ctx.rank]]
    return torch.repeat_interleave(x, torch.tensor(reps, dtype=torch.int64, device=x.device),
                                   dim=ax)


@kernel("slice")
def k_slice(node, args, ctx):
    """This rank's part of the slice: along the split axis, the selected elements that fall
    in its own block (``rules.local_slice``); along other axes, the slice itself."""
    x, xa = args[0], node.inputs[0].aval
    for ax, (start, stop, step) in enumerate(node.attr("slices")):
        if ax == xa.split:
            lo = offsets(xa.counts)[ctx.rank]
            x = _take(x, ax, local_slice(start, stop, step, lo, lo + xa.counts[ctx.rank]))
        else:
            x = _take(x, ax, range(start, stop, step))
    return x


def _take(t, ax, r: range):
    """Elements ``r`` of ``t`` along ``ax`` (a view for positive steps)."""
    if len(r) == 0:
        return t.narrow(ax, 0, 0)
    idx = [slice(None)] * t.ndim
    if r.step > 0:
        if r.start == 0 and r.step == 1 and len(r) == t.shape[ax]:
            return t
        idx[ax] = slice(r.start, r[-1] + 1, r.step)
        return t[tuple(idx)]
    # torch has no negative steps: take the ascending span, flip it, then stride
    span = torch.flip(t.narrow(ax, r[-1], r[0] - r[-1] + 1), [ax])
    idx[ax] = slice(None, None, -r.step)
    return span[tuple(idx)]


@kernel("concatenate")
def k_concatenate(node, args, ctx):
    dt = tdtype(node.aval.dtype)
    return torch.cat([a.to(dt) for a in args], dim=node.attr("axis"))
