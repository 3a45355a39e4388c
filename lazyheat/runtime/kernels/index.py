"""Integer-array indexing and item-assignment kernels (see ``graph/index.py``).

The routed kernels exchange requests with the owners of the rows: each rank sorts its
requests by owner (a stable sort, so requests keep their order per owner), one all-to-all of
p counts says how many each rank will receive, one all-to-all moves the requests (owner-local
row or element numbers, computed by the requester from the global counts), and for a gather
one more moves the values back, which the requester puts back in its own order. Every rank
runs the same three collectives whatever its data, empty blocks included, so they line up.
"""

from __future__ import annotations

import numpy as np
import torch

from ...graph.layout import offsets
from ...graph.rules import local_slice
from .. import comm as cm
from .registry import kernel


# ---------------------------------------------------------------- routing helpers
def _alltoall_counts(comm, send_counts) -> list:
    """How many items each rank sends to this one, given how many this one sends to each."""
    send = np.asarray(send_counts, dtype=np.int64)
    recv = np.empty(comm.size, dtype=np.int64)
    comm.mpi.Alltoall(send, recv)
    return [int(c) for c in recv]


def _exchange(comm, t, send_counts, recv_counts):
    """Rows of ``t`` (grouped by destination, ``send_counts[d]`` for rank d) sent out; the
    rows received, in rank order, as one tensor on the CPU."""
    t = t.detach().cpu()
    pieces = list(torch.split(t, [int(c) for c in send_counts]))
    rest = tuple(t.shape[1:])
    _, recv = cm._alltoallv(comm, pieces, [(c,) + rest for c in recv_counts], t.dtype)
    return recv.view((sum(recv_counts),) + rest)


def _owners(global_idx, counts):
    """The rank owning each global position along a split axis of ``counts`` blocks."""
    ends = torch.tensor(np.cumsum(counts), dtype=torch.int64)
    return torch.searchsorted(ends, global_idx.contiguous(), right=True)


def _route(comm, owners, keys):
    """Send ``keys`` to their ``owners``: (received keys, sort order of the requests,
    counts sent, counts received)."""
    order = torch.argsort(owners, stable=True)
    sent = torch.bincount(owners, minlength=comm.size).tolist()
    recvd = _alltoall_counts(comm, sent)
    return _exchange(comm, keys[order], sent, recvd), order, sent, recvd


def _back(comm, values, order, sent, recvd):
    """The served ``values`` returned to the requesters, in each requester's own order."""
    back = _exchange(comm, values, recvd, sent)
    out = torch.empty_like(back)
    out[order] = back
    return out


def _routed(node) -> bool:
    return node.inputs[0].aval.split is not None and node.aval.comm.size > 1


# ---------------------------------------------------------------- checks and gathers
@kernel("index_check")
def k_index_check(node, args, ctx):
    """The indices wrapped into [0, n); an index outside [-n, n) on any rank raises the same
    ``IndexError`` on every rank (split indices: one all-reduce of a flag first)."""
    idx = args[0].to(torch.int64)
    n = node.attr("n")
    bad = bool(((idx < -n) | (idx >= n)).any()) if idx.numel() else False
    if node.inputs[0].aval.split is not None and ctx.comm.size > 1:
        flag = torch.tensor([int(bad)], dtype=torch.int64)
        bad = bool(cm.allreduce(ctx.comm, flag, "max")[0])
    if bad:
        raise IndexError(f"{node.attr('op')}: an index is out of bounds for axis "
                         f"{node.attr('axis')} with size {n}")
    return torch.where(idx < 0, idx + n, idx)


@kernel("take")
def k_take(node, args, ctx):
    x, idx = args
    return torch.index_select(x, node.attr("axis"), idx.to(x.device))


@kernel("take_routed")
def k_take_routed(node, args, ctx):
    """Rows at global indices along x's split axis, fetched from their owners."""
    x, idx = args
    a = node.attr("axis")
    if not _routed(node):
        return torch.index_select(x, a, idx.to(x.device))
    counts = node.inputs[0].aval.counts
    idx = idx.cpu()
    owners = _owners(idx, counts)
    local = idx - torch.tensor(offsets(counts), dtype=torch.int64)[owners]
    req, order, sent, recvd = _route(ctx.comm, owners, local)
    rows = torch.index_select(torch.movedim(x, a, 0), 0, req.to(x.device))
    out = _back(ctx.comm, rows, order, sent, recvd)
    return torch.movedim(out, 0, a).to(x.device)


@kernel("take_along")
def k_take_along(node, args, ctx):
    x, idx = args
    return torch.gather(x, node.attr("axis"), idx.to(x.device))


def _global_coords(aval, rank, local_shape):
    """Broadcastable global coordinates of a block's elements, one tensor per axis."""
    off = offsets(aval.counts)[rank] if aval.split is not None else 0
    out = []
    for d, n in enumerate(local_shape):
        shp = [1] * len(local_shape)
        shp[d] = n
        start = off if d == aval.split else 0
        out.append(torch.arange(start, start + n, dtype=torch.int64).reshape(shp))
    return out


@kernel("take_along_routed")
def k_take_along_routed(node, args, ctx):
    """Elements at indices along x's split axis: each request names the owner's local
    element (its C-order number in the owner's block), the owner answers with the value."""
    x, idx = args
    a = node.attr("axis")
    if not _routed(node):
        return torch.gather(x, a, idx.to(x.device))
    xa, ia = node.inputs[0].aval, node.inputs[1].aval
    counts, shape = xa.counts, xa.shape
    idx = idx.cpu()
    coords = _global_coords(ia, ctx.rank, tuple(idx.shape))
    outer = torch.zeros((), dtype=torch.int64)
    for d in range(a):
        outer = outer * shape[d] + coords[d]
    inner = torch.zeros((), dtype=torch.int64)
    for d in range(a + 1, len(shape)):
        inner = inner * shape[d] + coords[d]
    n_inner = int(np.prod(shape[a + 1:], dtype=np.int64))
    owners = _owners(idx, counts)
    c = torch.tensor(counts, dtype=torch.int64)[owners]
    off = torch.tensor(offsets(counts), dtype=torch.int64)[owners]
    lin = (outer * c + (idx - off)) * n_inner + inner
    req, order, sent, recvd = _route(ctx.comm, owners.reshape(-1), lin.reshape(-1))
    vals = x.contiguous().reshape(-1)[req.to(x.device)]
    out = _back(ctx.comm, vals, order, sent, recvd)
    return out.reshape(idx.shape).to(x.device)


# ---------------------------------------------------------------- item assignment
@kernel("put")
def k_put(node, args, ctx):
    """x with its rows at ``idx`` along ``axis`` replaced by ``v`` (a fresh tensor: the old
    value stays for the expressions built on it). Duplicate indices: one of the writes
    wins, which one is unspecified (as NumPy)."""
    x, idx, v = args
    return x.clone().index_copy_(node.attr("axis"), idx.to(x.device), v.to(x.dtype))


@kernel("put_routed")
def k_put_routed(node, args, ctx):
    """(index, row) pairs sent to the owners of the rows, which write them."""
    x, idx, v = args
    a = node.attr("axis")
    if not _routed(node):
        return x.clone().index_copy_(a, idx.to(x.device), v.to(x.dtype))
    counts = node.inputs[0].aval.counts
    idx = idx.cpu()
    owners = _owners(idx, counts)
    local = idx - torch.tensor(offsets(counts), dtype=torch.int64)[owners]
    req, order, sent, recvd = _route(ctx.comm, owners, local)
    rows = _exchange(ctx.comm, torch.movedim(v, a, 0)[order.to(v.device)], sent, recvd)
    out = x.clone()
    torch.movedim(out, a, 0).index_copy_(0, req.to(x.device), rows.to(x.device, x.dtype))
    return out


@kernel("setitem_slice")
def k_setitem_slice(node, args, ctx):
    """x with the region selected by ``slices`` (positive steps) set to ``v``; along the
    split axis, the positions of the region this rank's block holds (``v`` was cut alike,
    or broadcasts along that axis)."""
    x, v = args
    xa = node.inputs[0].aval
    key = []
    for ax, (start, stop, step) in enumerate(node.attr("slices")):
        if ax == xa.split:
            lo = offsets(xa.counts)[ctx.rank]
            r = local_slice(start, stop, step, lo, lo + xa.counts[ctx.rank])
        else:
            r = range(start, stop, step)
        if len(r) == 0:
            return x
        key.append(slice(r.start, r[-1] + 1, r.step))
    out = x.clone()
    out[tuple(key)] = v.to(x.device, x.dtype)
    return out
