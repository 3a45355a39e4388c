"""Lowerings of ops that run block by block once their inputs have the layouts their rule
asks for: leaves, elementwise ops, matmul, transpose, reshape, broadcast_to, repeat,
slice, concatenate, mask selection and explicit redistribution."""

from __future__ import annotations

from ...graph import Node, ops
from ...graph import rules as ru
from ...graph.layout import offsets
from .base import lowering, move


@lowering(*ops.LEAVES)
def _leaf(n, ins, ctx):
    return n


@lowering(*ops.ELEMENTWISE, "concatenate", "transpose", "broadcast_to", "repeat",
          "mask_count", "mask_select")
def _blockwise(n, ins, ctx):
    """Inputs moved to the layouts the op's rule needs for its output layout (an
    elementwise operand lined up with the output's blocks), then the op on the blocks."""
    req = ops.needs_of(n, ins).inputs
    return Node(n.op, tuple(move(i, r, n.loc) for i, r in zip(ins, req)), n.attrs, n.aval,
                n.loc)


@lowering("matmul")
def _matmul(n, ins, ctx):
    rule = ops.needs_of(n, ins)
    ins2 = tuple(move(i, r, n.loc) for i, r in zip(ins, rule.inputs))
    if not rule.partial:  # one rank holds all of k: nothing to combine
        return Node("matmul", ins2, n.attrs, n.aval, n.loc)
    part = Node("matmul", ins2, n.attrs + (("partial", "sum"),), n.aval, n.loc)
    return Node("allreduce", (part,), {"op": "sum"}, n.aval, n.loc)


@lowering("reshape")
def _reshape(n, ins, ctx):
    (req,) = ops.needs_of(n, ins).inputs
    x = move(ins[0], req, n.loc)
    if req[0] is None:  # replicated input: reshape whole, then keep this rank's block
        local = Node("reshape", (x,), n.attrs, n.aval.with_(split=None, counts=None), n.loc)
        return move(local, n.aval.layout, n.loc)
    return Node("reshape", (x,), n.attrs, n.aval, n.loc)


@lowering("slice")
def _slice(n, ins, ctx):
    (req,) = ops.needs_of(n, ins).inputs
    x, loc = move(ins[0], req, n.loc), n.loc
    if x.aval.split is None:
        local = Node("slice", (x,), n.attrs, n.aval.with_(split=None, counts=None), loc)
        return move(local, n.aval.layout, loc)
    sl = n.attr("slices")[x.aval.split]
    if sl[2] > 0:
        return Node("slice", (x,), n.attrs, n.aval, loc)
    # a negative step along the split axis: each rank reverses its own rows, so the
    # blocks sit in reverse rank order; one all-to-all puts them in place
    blocks = ru.slice_blocks(x.aval, sl)
    counts = tuple(t1 - t0 for t0, t1 in blocks)
    starts = tuple(t0 for t0, _ in blocks)
    local = Node("slice", (x,), n.attrs, n.aval.with_(counts=counts), loc)
    if counts == n.aval.counts and starts == offsets(counts):
        return local
    return Node("redistribute", (local,), {"src_starts": starts}, n.aval, loc)


@lowering("redistribute")
def _redistribute(n, ins, ctx):
    return move(ins[0], n.aval.layout, n.loc)
