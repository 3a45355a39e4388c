"""Set-function kernels (see ``graph/unique.py``): runs of equal values in a sorted array.

A run starts where a key differs from the one before it; with ``equal_nan`` False (the
Array API) every NaN starts a run of its own. ``unique_count`` learns the key before each
block (one all-gather); the table it produces, ``(starts, first start)`` per rank, rides in
the attributes of the later kernels, so each computes its part from its own block alone.
"""

from __future__ import annotations

import torch

from ...graph.layout import offsets
from .. import comm as cm
from .registry import kernel, local_offset
from .samplesort import exchange
from .sortkeys import to_keys


def _nan(x):
    if x.dtype.is_floating_point:
        return torch.isnan(x)
    return torch.zeros(x.shape, dtype=torch.bool, device=x.device)


def run_starts(x, equal_nan: bool, first) -> torch.Tensor:
    """Flags of the positions where runs begin; ``first`` says whether position 0 does."""
    k = to_keys(x)
    flags = torch.empty(x.shape, dtype=torch.bool, device=x.device)
    if x.numel():
        flags[1:] = k[1:] != k[:-1]
        flags[0] = bool(first)
        if not equal_nan:
            flags |= _nan(x)
    return flags


@kernel("unique_count")
def k_unique_count(node, args, ctx):
    x = args[0]
    eq = node.attr("equal_nan")
    split = node.inputs[0].aval.split is not None and ctx.comm.size > 1
    first = True
    if split:
        # (has data, last key, last is NaN) of every block: the key before mine is the
        # last one of the nearest non-empty block before this rank
        k = to_keys(x)
        mine = torch.zeros(3, dtype=torch.int64)
        if x.numel():
            mine[0], mine[1] = 1, int(k[-1])
            mine[2] = int(_nan(x[-1:])[0])
        every = cm.allgather_stack(ctx.comm, mine)
        prev = [r for r in range(ctx.rank) if int(every[r, 0])]
        if prev and x.numel():
            last = every[prev[-1]]
            same = int(last[1]) == int(k[0]) and (eq or not bool(_nan(x[:1])[0]))
            first = not same
    flags = run_starts(x, eq, first)
    where = torch.nonzero(flags).reshape(-1)
    row = torch.tensor([[where.numel(), int(where[0]) if where.numel() else -1]],
                       dtype=torch.int64, device=x.device)
    if node.aval.split is None:
        return row.expand(node.aval.shape).contiguous()
    return row


def _starts(node, x, rank):
    table = node.attr("table")
    return run_starts(x, node.attr("equal_nan"), table[rank][1] == 0)


@kernel("unique_select")
def k_unique_select(node, args, ctx):
    """This rank's unique values, counts (runs measured up to the next start, which may lie
    on a later rank) or first indices (the argsort at each start)."""
    x, what = args[0], node.attr("what")
    s_aval = node.inputs[0].aval
    r = ctx.rank if s_aval.split is not None else 0
    flags = _starts(node, x, r)
    if what == "values":
        return x[flags]
    if what == "indices":
        return args[1][flags]
    table, n = node.attr("table"), s_aval.shape[0]
    off = local_offset(s_aval, ctx.rank)
    starts = torch.nonzero(flags).reshape(-1) + off
    nxt = n
    if s_aval.split is not None:
        offs = offsets(s_aval.counts)
        later = [offs[q] + table[q][1] for q in range(r + 1, len(table)) if table[q][0]]
        nxt = later[0] if later else n
    ends = torch.cat([starts[1:], torch.tensor([nxt], dtype=starts.dtype,
                                               device=starts.device)])
    return (ends - starts)[:starts.numel()].to(torch.int64)


@kernel("unique_inverse")
def k_unique_inverse(node, args, ctx):
    """Every element's unique id, sent to its position in the original layout."""
    x, perm = args
    s_aval, table = node.inputs[0].aval, node.attr("table")
    split = s_aval.split is not None
    r = ctx.rank if split else 0
    before = sum(table[q][0] for q in range(r)) if split else 0
    ids = torch.cumsum(_starts(node, x, r).to(torch.int64), 0) + (before - 1)
    a = node.aval
    if not split or ctx.comm.size == 1:
        out = torch.empty(perm.shape, dtype=torch.int64, device=perm.device)
        out[perm] = ids
        return out if a.split is None else out.narrow(
            0, local_offset(a, ctx.rank), a.counts[ctx.rank])
    p = ctx.comm.size
    ends = torch.tensor(offsets(a.counts)[1:] + (a.shape[0],), dtype=torch.int64,
                        device=perm.device)
    owner = torch.bucketize(perm, ends, right=True)
    order = torch.sort(owner, stable=True).indices
    pairs = torch.stack([perm[order], ids[order]], 1)
    mine = torch.bincount(owner, minlength=p).tolist()
    matrix = ctx.comm.mpi.allgather(mine)
    bounds = offsets(mine) + (pairs.shape[0],)
    pieces = [pairs[bounds[d]:bounds[d + 1]].reshape(-1) for d in range(p)]
    got = exchange(ctx.comm, pieces, [[2 * c for c in row] for row in matrix], torch.int64,
                   perm.device).reshape(-1, 2)
    out = torch.empty(a.counts[ctx.rank], dtype=torch.int64, device=perm.device)
    out[got[:, 0] - local_offset(a, ctx.rank)] = got[:, 1]
    return out
