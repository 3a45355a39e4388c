"""The ``nearest`` kernel: labels, distances and per-center stats from one pass.

The nodes of one plan that take parts of the same pass (labels, dist, stats of the same
samples and centers) share it (``shared_parts``). On CPU the pass is the native kernel
``csrc/nearest.c`` (exact distances, a block-ordered sum that does not depend on the thread
count); elsewhere, or without a C compiler, the torch version below computes the same
values block by block (exact differences, never the n x k matrix at once).
"""

from __future__ import annotations

import ctypes

import torch

from .. import native
from .registry import computation_key, kernel, part_key, shared_parts, tdtype

_METRIC = {"sqeuclidean": 0, "cityblock": 1}
_FN = {torch.float32: "nearest_f32", torch.float64: "nearest_f64"}
_ROWS_PER_BLOCK = 1 << 16  # torch version: rows x k x d elements per block at most this


part_key("nearest")(computation_key)


def _native(x, c, metric, want, threads, rank, w=None):
    lib = native.load("nearest", rank) if x.device.type == "cpu" else None
    if lib is None or x.dtype not in _FN:
        return None
    n, d = x.shape
    k = c.shape[0]
    x, c = x.contiguous(), c.contiguous()
    w = None if w is None else w.to(x.dtype).contiguous()
    labels = torch.empty(n, dtype=torch.int64) if "labels" in want else None
    dist = torch.empty(n, dtype=x.dtype) if "dist" in want else None
    stats = torch.zeros((k, d + 2), dtype=torch.float64) if "stats" in want else None
    fn = getattr(lib, _FN[x.dtype])
    fn.restype = ctypes.c_int
    failed = fn(native.ptr(x), native.ptr(w), ctypes.c_int64(n), ctypes.c_int64(d),
                native.ptr(c), ctypes.c_int64(k), ctypes.c_int(_METRIC[metric]),
                native.ptr(labels), native.ptr(dist), native.ptr(stats), ctypes.c_int(threads))
    if failed:
        raise MemoryError("nearest: the native kernel could not allocate its buffers")
    return labels, dist, stats


def _torch(x, c, metric, w=None):
    n, d = x.shape
    k = c.shape[0]
    labels = torch.empty(n, dtype=torch.int64, device=x.device)
    dist = torch.empty(n, dtype=x.dtype, device=x.device)
    stats = torch.zeros((k, d + 2), dtype=torch.float64, device=x.device)
    step = max(1, _ROWS_PER_BLOCK // max(1, k * d))
    for a in range(0, n, step):
        xb = x[a:a + step]
        diff = xb[:, None, :] - c[None, :, :]
        D = (diff * diff if metric == "sqeuclidean" else diff.abs()).sum(-1)
        v, i = D.min(1)  # the first minimum on ties
        labels[a:a + step], dist[a:a + step] = i, v
        wb = torch.ones_like(v, dtype=torch.float64) if w is None else \
            w[a:a + step].to(torch.float64)
        stats[:, :d].index_add_(0, i, xb.to(torch.float64) * wb[:, None])
        stats[:, d].index_add_(0, i, wb)
        stats[:, d + 1].index_add_(0, i, v.to(torch.float64) * wb)
    return labels, dist, stats


def _pass(node, args, ctx):
    x, c = args[0], args[1]
    w = args[2] if len(args) > 2 else None  # sample weights (stats only)
    work = torch.promote_types(x.dtype, c.dtype)
    if work not in (torch.float32, torch.float64):
        work = torch.float32
    x, c = x.to(work), c.to(work)
    metric = node.attr("metric")
    # the parts some node of this plan takes (labels and distances cost a write per row)
    want = ctx.part_outs.get(computation_key(node)) or {node.attr("out")}
    got = None
    if x.shape[0]:
        got = _native(x, c, metric, want, torch.get_num_threads(), ctx.rank, w)
    return got if got is not None else _torch(x, c, metric, w)


@kernel("nearest")
def k_nearest(node, args, ctx):
    labels, dist, stats = shared_parts(ctx, computation_key(node),
                                       lambda: _pass(node, args, ctx))
    out = node.attr("out")
    if out == "labels":
        return labels
    if out == "dist":
        return dist.to(tdtype(node.aval.dtype))
    return stats
