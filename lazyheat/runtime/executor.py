"""The SPMD executor: runs a lowered graph step by step on this rank's blocks.

Every rank walks the same physical nodes in the same (topological, deterministic) order, so
collectives line up. Values are dropped after their last use. An exception on one rank ends
the whole job through ``Comm.abort`` with the rank, the op and the user's source line, so no
rank is left waiting in a collective.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch

from ..graph import topo_order
from ..graph.layout import offsets
from ..graph.ops import EWISE
from ..graph.rules import local_slice
from . import comm as cm
from . import fused as F
from . import kernels as K
from . import memory
from . import partial as P


@dataclass
class Context:
    comm: cm.Comm
    device: torch.device
    params: tuple = ()
    donated: tuple = ()  # inputs of the running node that it may overwrite (see execute)

    @property
    def rank(self) -> int:
        return self.comm.rank


def k_matmul(node, args, ctx):
    a, b = args
    dt = K.tdtype(node.aval.dtype)
    if dt == torch.bool:  # logical or of ands, as NumPy; counts are exact in float64
        return torch.matmul(a.to(torch.float64), b.to(torch.float64)) != 0
    a, b = a.to(dt), b.to(dt)
    if a.device.type != "cpu" and not (dt.is_floating_point or dt.is_complex):
        # CUDA has no integer GEMM; the CPU's is exact (wrapping as NumPy's)
        return torch.matmul(a.cpu(), b.cpu()).to(a.device)
    if a.ndim == 2 and b.ndim == 2:  # the common case: a fresh (huge-page) output buffer
        return torch.matmul(a, b, out=memory.empty((a.shape[0], b.shape[1]), dt, a.device))
    return torch.matmul(a, b)


def k_transpose(node, args, ctx):
    return args[0].permute(node.attr("perm"))


def k_reshape(node, args, ctx):
    return args[0].reshape(node.aval.local_shape(ctx.rank))


def k_slice(node, args, ctx):
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


def k_concatenate(node, args, ctx):
    dt = K.tdtype(node.aval.dtype)
    return torch.cat([a.to(dt) for a in args], dim=node.attr("axis"))


def k_redistribute(node, args, ctx):
    src = node.inputs[0].aval
    return cm.redistribute(ctx.comm, args[0], src.shape, src.layout, node.aval.layout,
                           node.attr("src_starts"))


def k_allreduce(node, args, ctx):
    return cm.allreduce(ctx.comm, args[0], node.attr("op"))


def k_allgather(node, args, ctx):
    v = args[0]
    if isinstance(v, tuple):
        return tuple(cm.allgather_stack(ctx.comm, t) for t in v)
    return cm.allgather_stack(ctx.comm, v)


_STACK_REDUCE = {"sum": torch.sum, "prod": torch.prod, "max": torch.amax, "min": torch.amin,
                 "lor": torch.any, "land": torch.all}


def _reduce_stacked(stacked, op):
    """Combine ranks' values (stacked along axis 0) in rank order: identical on every rank."""
    dt = stacked.dtype
    if dt in (torch.float16, torch.bfloat16) and op in ("sum", "prod"):
        return _STACK_REDUCE[op](stacked.to(torch.float32), 0).to(dt)
    return _STACK_REDUCE[op](stacked, 0).to(dt)


def k_batch_allgather(node, args, ctx):
    """One all-gather for several reduction collectives; yields each one's result."""
    flat, spans = [], []
    for v in args:
        parts = list(v) if isinstance(v, tuple) else [v]
        spans.append((len(flat), len(parts), isinstance(v, tuple)))
        flat.extend(parts)
    gathered = cm.allgather_packed(ctx.comm, flat)
    results = []
    for (kind, op), (s0, k, is_tuple) in zip(node.attr("kinds"), spans):
        got = gathered[s0:s0 + k]
        if kind == "allreduce":
            results.append(_reduce_stacked(got[0], op))
        else:
            results.append(tuple(got) if is_tuple else got[0])
    return tuple(results)


def k_param(node, args, ctx):
    return ctx.params[node.attr("index")]


def k_unbatch(node, args, ctx):
    return args[0][node.attr("index")]


KERNELS = {
    "data": K.k_data, "full": K.k_full, "arange": K.k_arange, "linspace": K.k_linspace,
    "eye": K.k_eye, "random": K.k_random, "reduce": K.k_reduce,
    "moments_final": K.k_moments_final, "moments_combine": P.combine_moments,
    "reduce_partial": P.partial, "reduce_merge": P.merge, "matmul": k_matmul,
    "transpose": k_transpose, "reshape": k_reshape, "slice": k_slice,
    "concatenate": k_concatenate, "redistribute": k_redistribute,
    "allreduce": k_allreduce, "allgather": k_allgather, "fused": F.k_fused,
    "batch_allgather": k_batch_allgather, "param": k_param, "unbatch": k_unbatch,
}
KERNELS.update({name: K.k_ewise for name in EWISE})


def guarded(comm: cm.Comm, what: str, fn, *args):
    """``fn(*args)``, but an exception on one rank of a multi-rank job aborts every rank
    (with this rank and the cause) instead of leaving the others in a collective."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001
        if comm.size == 1:
            raise
        comm.abort(f"lazyheat: rank {comm.rank} failed in {what}: {type(exc).__name__}: {exc}")


def execute(outputs, comm: cm.Comm, device="cpu", params=(), profile=None) -> list:
    """Run the physical graph reachable from ``outputs``; return their local values.

    ``params[i]`` is the local tensor behind ``param`` leaf i (data the user holds: never
    freed or overwritten). ``profile``, a dict, receives each node's seconds by ``id``."""
    if isinstance(comm, cm.FakeComm):
        raise RuntimeError(f"cannot compute on {comm!r}: it only plans; use it with explain()")
    order = topo_order(outputs)
    uses = {}
    for n in order:
        for i in n.inputs:
            uses[id(i)] = uses.get(id(i), 0) + 1
    keep = {id(o) for o in outputs}
    ctx = Context(comm, torch.device(device), tuple(params))
    debug = int(os.environ.get("LAZYHEAT_DEBUG", "0") or 0)
    vals = {}
    # Memory planning: a fused kernel whose output spans several chunks may overwrite an
    # input at its last use, when no live value and no user data shares that buffer.
    for n in order:
        t0 = time.perf_counter()
        if n.op == "fused" and n.attr("closer") is None:
            ctx.donated = _donatable(n, vals, uses, keep, params, order)
        try:
            vals[id(n)] = KERNELS[n.op](n, [vals[id(i)] for i in n.inputs], ctx)
        except Exception as exc:  # noqa: BLE001 - any failure must end every rank
            if comm.size == 1:
                raise
            at = getattr(exc, "lazyheat_node", n)  # a fused group names its failing member
            comm.abort(f"lazyheat: rank {comm.rank} failed in {at.op} "
                       f"({at.aval.type_str()}) from {at.loc}: {type(exc).__name__}: {exc}")
        ctx.donated = ()
        if profile is not None:
            profile[id(n)] = time.perf_counter() - t0
        if debug >= 2 and comm.rank == 0:
            print(f"lazyheat: {n.op:<14} {n.aval.type_str():<24} "
                  f"{(time.perf_counter() - t0) * 1e3:8.3f} ms")
        for i in n.inputs:
            uses[id(i)] -= 1
            if uses[id(i)] == 0 and id(i) not in keep:
                del vals[id(i)]
    return [vals[id(o)] for o in outputs]


def _storage(v):
    if torch.is_tensor(v) and v.numel():
        return v.untyped_storage().data_ptr()
    return None


def _donatable(n, vals, uses, keep, params, order) -> tuple:
    """Indices of ``n``'s inputs whose buffers die here and are shared with nothing alive
    (no other value, no user data). Only worth checking for outputs of several chunks."""
    chunk = F.chunk_elements()
    if chunk <= 0 or n.aval.size < 2 * chunk:
        return ()
    cands = []
    for k, i in enumerate(n.inputs):
        if uses[id(i)] == 1 and id(i) not in keep and n.inputs.count(i) == 1 and \
                i.op not in ("param", "data"):
            ptr = _storage(vals[id(i)])
            if ptr is not None:
                cands.append((k, id(i), ptr))
    if not cands:
        return ()
    others = {}
    for v in vals.values():
        for t in v if isinstance(v, tuple) else (v,):
            ptr = _storage(t)
            if ptr is not None:
                others[ptr] = others.get(ptr, 0) + 1
    # user data: params, and data leaves (the reference interpreter runs those directly)
    pinned = {_storage(t) for t in params}
    pinned |= {_storage(d.attr("buf").value) for d in order if d.op == "data"}
    return tuple(k for k, _, ptr in cands if others.get(ptr) == 1 and ptr not in pinned)
