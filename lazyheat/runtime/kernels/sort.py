"""Sorting, searching and quantile kernels (see ``graph/sort.py``).

``sort`` runs on a block whose sort axis is whole (not split, or replicated); ``samplesort``
is the distributed sort of a 1-d split array (``samplesort.py``). ``searchsorted`` answers
for this rank's block of a sorted 1-d ``x1``: the count of its elements before each value,
which an all-reduce sums over ranks when ``x1`` is split. ``order_stats`` picks positions of a
sorted axis; along the split axis the rank holding a position contributes it and the others
zero (an all-reduce of sums follows). ``quantile_lerp`` interpolates between them as NumPy.
"""

from __future__ import annotations

import torch

from . import unique  # noqa: F401 - registers the set kernels
from .registry import kernel, local_offset, tdtype
from .samplesort import samplesort
from .sortkeys import from_keys, to_keys


@kernel("sort")
def k_sort(node, args, ctx):
    """A stable sort of the block along ``axis`` (whole on this rank)."""
    x, axis = args[0], node.attr("axis")
    desc, indices = node.attr("descending"), node.attr("indices")
    if x.numel() == 0:
        return torch.empty(x.shape, dtype=torch.int64 if indices else x.dtype,
                           device=x.device)
    ks, perm = torch.sort(to_keys(x, desc), dim=axis, stable=True)
    return perm if indices else from_keys(ks, x.dtype, desc)


@kernel("samplesort")
def k_samplesort(node, args, ctx):
    src = node.inputs[0].aval
    return samplesort(ctx.comm, args[0], src.counts, node.aval.counts,
                      node.attr("descending"), node.attr("indices"))


@kernel("searchsorted")
def k_searchsorted(node, args, ctx):
    """Insertion points of ``x2`` in this rank's block of ``x1`` plus, for a replicated
    ``x1``, nothing more; for a split ``x1`` this is the rank's count, summed by the
    all-reduce that follows (a block's count of keys before a value is its share of the
    global count, since the blocks are consecutive runs of one sorted array)."""
    x1, x2 = args
    dt = tdtype(node.attr("dtype"))
    k1 = to_keys(x1.to(dt)).contiguous()
    k2 = to_keys(x2.to(dt)).reshape(-1)
    out = torch.searchsorted(k1, k2, right=node.attr("side") == "right")
    return out.reshape(x2.shape).to(torch.int64)


@kernel("order_stats")
def k_order_stats(node, args, ctx):
    """The values at ``positions`` of the sorted ``axis``, stacked along a new axis 0, in
    ``dtype``. With ``partial`` the axis is split: a position outside this block is zero."""
    x, axis = args[0], node.attr("axis")
    pos = node.attr("positions")
    dt = tdtype(node.aval.dtype)
    if node.attr("select"):
        return _select(x, axis, pos).to(dt)
    if node.attr("partial") is None:
        idx = torch.tensor(pos, dtype=torch.int64, device=x.device)
        return torch.movedim(x.index_select(axis, idx), axis, 0).to(dt).contiguous()
    off = local_offset(node.inputs[0].aval, ctx.rank)
    n = x.shape[axis]
    rest = x.shape[:axis] + x.shape[axis + 1:]
    out = torch.zeros((len(pos),) + tuple(rest), dtype=dt, device=x.device)
    for i, g in enumerate(pos):
        if off <= g < off + n:
            out[i] = x.select(axis, g - off).to(dt)
    return out


def _select(x, axis, pos):
    """The values at ``positions`` of ``x`` sorted along ``axis`` (as NumPy sorts: NaNs
    last), without sorting: a k-th smallest integer key per distinct position, over the
    axis made contiguous (the fast layout for torch's selection)."""
    keys = to_keys(torch.movedim(x, axis, -1).contiguous())
    out = {}
    for g in sorted(set(pos)):
        if g == keys.shape[-1] - 1:
            out[g] = keys.amax(dim=-1)
        elif g == 0:
            out[g] = keys.amin(dim=-1)
        else:
            out[g] = torch.kthvalue(keys, g + 1, dim=-1).values
    picked = torch.stack([out[g] for g in pos], 0)
    return from_keys(picked, x.dtype)


@kernel("quantile_lerp")
def k_quantile_lerp(node, args, ctx):
    """NumPy's interpolation between the order statistics below and above each quantile
    (stacked as lows, highs, then the last value, whose NaN makes the result NaN)."""
    s = args[0]
    nq = node.attr("nq")
    lo, hi, last = s[:nq], s[nq:2 * nq], s[2 * nq]
    method = node.attr("method")
    if method in ("lower", "higher", "nearest"):
        out = lo if method != "higher" else hi
    else:
        # as NumPy: the difference in the input's dtype, the rest in the result's
        od = tdtype(node.aval.dtype)
        shape = (nq,) + (1,) * (s.dim() - 1)
        t = torch.tensor(node.attr("gammas"), dtype=od, device=s.device).reshape(shape)
        diff = (hi - lo).to(od)
        lo, hi = lo.to(od), hi.to(od)
        out = torch.where(t >= 0.5, hi - diff * (1 - t), lo + diff * t)
    if s.dtype.is_floating_point:
        out = torch.where(torch.isnan(last), last, out)
    return out.to(tdtype(node.aval.dtype)).contiguous()


@kernel("nan_quantile")
def k_nan_quantile(node, args, ctx):
    """Quantiles of each slice of the sorted ``axis`` (whole on this rank) over its
    non-NaN values, which lead the slice (NaNs sort last); NaN for a slice of NaNs only.
    Positions and weights follow ``quantile_lerp``'s methods, per slice."""
    x, axis = args[0], node.attr("axis")
    od = tdtype(node.aval.dtype)
    xs = torch.movedim(x, axis, -1)
    n = (~torch.isnan(xs)).sum(-1, keepdim=True).to(torch.float64)
    top = (n - 1).clamp(min=0)
    outs = []
    for q in node.attr("qs"):
        h = q * (n - 1)
        f = torch.floor(h).clamp(min=0)
        f = torch.minimum(f, top)
        c = torch.minimum(f + 1, top)
        g = h - f
        method = node.attr("method")
        if method == "nearest":
            f = c = torch.minimum(torch.round(h).clamp(min=0), top)
        elif method == "lower":
            c = f
        elif method == "higher":
            f = c = torch.minimum(torch.ceil(h).clamp(min=0), top)
        elif method == "midpoint":
            g = torch.where((c != f) & (g > 0), 0.5, 0.0)
        lo = xs.gather(-1, f.to(torch.int64))
        hi = xs.gather(-1, c.to(torch.int64))
        if method in ("lower", "higher", "nearest"):
            r = (hi if method == "higher" else lo).to(od)
        else:
            t = g.to(od)
            diff = (hi - lo).to(od)
            lo, hi = lo.to(od), hi.to(od)
            r = torch.where(t >= 0.5, hi - diff * (1 - t), lo + diff * t)
        outs.append(torch.where(n > 0, r, torch.nan).squeeze(-1))
    return torch.stack(outs, 0).to(od)
