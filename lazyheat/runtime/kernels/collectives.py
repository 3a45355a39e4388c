"""Collective kernels: the only kernels that communicate (through ``runtime/comm.py``).

Every rank runs the same collectives in the same order with the same global arguments, which
the planner guarantees, so they line up. Values keep the runtime's shapes: an all-gather of a
state (a tuple) gathers each tensor of it, each with a new leading rank axis; a batched
all-gather yields a tuple of its members' results, which ``unbatch`` nodes pick out. Kernels
here read layouts and ``kinds`` from the nodes, never the avals of gathered values.
"""

from __future__ import annotations

from .. import comm as cm
from .registry import kernel
from .states import COMBINES


@kernel("redistribute")
def k_redistribute(node, args, ctx):
    src = node.inputs[0].aval
    return cm.redistribute(ctx.comm, args[0], src.shape, src.layout, node.aval.layout,
                           node.attr("src_starts"))


@kernel("allreduce")
def k_allreduce(node, args, ctx):
    return cm.allreduce(ctx.comm, args[0], node.attr("op"))


@kernel("allgather")
def k_allgather(node, args, ctx):
    """Every rank's value (a tensor, or each tensor of a state) stacked along a new axis 0."""
    v = args[0]
    if isinstance(v, tuple):
        return tuple(cm.allgather_stack(ctx.comm, t) for t in v)
    return cm.allgather_stack(ctx.comm, v)


@kernel("batch_allgather")
def k_batch_allgather(node, args, ctx):
    """One all-gather for several reduction collectives; yields each one's result (see
    ``batch_results``)."""
    flat, spans = batch_flat(args)
    return batch_results(node, cm.allgather_packed(ctx.comm, flat), spans, ctx.comm.size)


def batch_flat(args) -> tuple:
    """(the tensors of a batch's members, one list; per member its (first index, count,
    whether it is a state))."""
    flat, spans = [], []
    for v in args:
        parts = list(v) if isinstance(v, tuple) else [v]
        spans.append((len(flat), len(parts), isinstance(v, tuple)))
        flat.extend(parts)
    return flat, spans


def batch_results(node, gathered, spans, size) -> tuple:
    """Each member's result from the gathered tensors of a batch (``size`` ranks' copies
    stacked along axis 0). An all-reduce member (``kinds[i] == ("allreduce", op)``)
    combines its gathered values in rank order (``comm.reduce_stacked``), a state member
    (``("state", fn)``) combines the ranks' states in rank order; an all-gather member keeps
    them stacked."""
    results = []
    for (kind, op), (s0, k, is_tuple) in zip(node.attr("kinds"), spans):
        got = gathered[s0:s0 + k]
        if kind == "allreduce":
            results.append(cm.reduce_stacked(got[0], op))
        elif kind == "state":
            combine = COMBINES[op]
            state = [g[0] for g in got]
            for r in range(1, size):
                state = combine(state, [g[r] for g in got])
            results.append(tuple(state) if is_tuple else state[0])
        else:
            results.append(tuple(got) if is_tuple else got[0])
    return tuple(results)


@kernel("unbatch")
def k_unbatch(node, args, ctx):
    return args[0][node.attr("index")]
