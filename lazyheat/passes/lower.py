"""Distribution lowering: the logical graph becomes a physical one of block-local ops and
explicit communication.

Every logical node already carries its output layout (chosen at build time by
``graph.rules``). This pass asks the same rules which layouts the inputs need, inserts a
``redistribute`` node wherever an input's layout differs, and splits reductions over the split
axis into a local partial step, one collective, and (where needed) a merge step:

- sum, prod, any, all, mean, norm: partial -> ``allreduce`` (-> merge: divide / sqrt);
- min, max, argmin, argmax, var, std: partial state -> ``allgather`` -> merge, which keeps
  NaN propagation, first-occurrence ties and Chan's numerically sound merge of moments exact.

All-reduces of partial sums sit right after their reduction here; ``passes/partial.py`` then
moves them past consumers that are linear in the sum, to where they move the fewest bytes.

var and std of real floating data (and a mean of the same input over the same axes) share one
moments state (count, mean, M2), locally or per rank, so ``x.mean(0)`` and ``x.std(0)`` read
``x`` once between them.

Physical nodes keep the logical node's source location, so runtime errors name the user's line.
"""

from __future__ import annotations

from math import prod

from ..graph import Node, topo_order
from ..graph import rules as ru
from ..graph.layout import offsets, same_layout
from ..graph.ops import EWISE

ALLREDUCE_OP = {"sum": "sum", "prod": "prod", "any": "lor", "all": "land", "mean": "sum",
                "norm": "sum"}
NEEDS_MERGE = {"mean", "norm", "min", "max", "argmin", "argmax", "var", "std"}


def move(node: Node, layout, loc: str) -> Node:
    """``node`` with ``layout``; a redistribute node when the layouts differ."""
    if same_layout(node.aval.layout, layout):
        return node
    aval = node.aval.with_(split=layout[0], counts=layout[1])
    return Node("redistribute", (node,), {}, aval, loc)


def _moments_keys(order) -> set:
    """(input, axes, keepdims) of every var/std of real floating data: a mean over the same
    axes of the same input is read off their moments instead of another pass."""
    return {(id(n.inputs[0]), n.attr("axes"), n.attr("keepdims")) for n in order
            if n.op == "reduce" and n.attr("fn") in ("var", "std")
            and n.inputs[0].aval.dtype.kind == "f"}


def _lower_moments(n: Node, x: Node, partial: bool) -> Node:
    """var, std (and a mean sharing them) from one moments state (count, mean, M2): a local
    reduction, or per-rank states gathered and merged (Chan's update). The state nodes are
    identical for all three, so common-subexpression elimination computes them once."""
    attrs = {"fn": "moments", "axes": n.attr("axes"), "keepdims": n.attr("keepdims")}
    aval = n.aval.with_(dtype=x.aval.dtype)
    if not partial:
        mom = Node("reduce", (x,), attrs, aval, n.loc)
        return Node("moments_final", (mom,), n.attrs, n.aval, n.loc)
    part = Node("reduce_partial", (x,), attrs, aval, n.loc)
    comm = Node("allgather", (part,), {}, aval, n.loc)
    return Node("reduce_merge", (comm,), n.attrs, n.aval, n.loc)


def _derived_moments(n: Node, x: Node, moment_keys):
    """var/std/mean over *all* axes of ``x`` read off the moments state over a subset S of
    its axes that another reduction of ``x`` needs anyway (Chan's update over the state's
    elements: exact up to rounding), instead of another two-pass sweep over ``x``. S is the
    candidate with the smallest state, ties by axes: global metadata only."""
    nd, p = x.aval.ndim, x.aval.comm.size
    if n.attr("keepdims") or len(n.attr("axes")) != nd or nd < 2:
        return None
    cands = [axes for i, axes, keep in moment_keys
             if i == id(n.inputs[0]) and not keep and 0 < len(axes) < nd]
    if not cands:
        return None
    s_axes = min(cands, key=lambda a: (prod(x.aval.shape[d] for d in range(nd) if d not in a),
                                       a))
    # the state node exactly as _lower_moments builds it for that reduction (CSE merges them)
    (split, counts), part_s = ru.reduce_layout(x.aval, s_axes, False)
    aval_s = x.aval.with_(shape=ru.reduce_shape(x.aval.shape, s_axes, False), split=split,
                          counts=counts)
    attrs_s = {"fn": "moments", "axes": s_axes, "keepdims": False}
    state = Node("reduce_partial" if part_s and p > 1 else "reduce", (x,), attrs_s, aval_s,
                 n.loc)
    partial = x.aval.split is not None and p > 1  # a state per rank, to be gathered
    aval = n.aval.with_(dtype=x.aval.dtype)
    combined = Node("moments_combine", (state,), {
        "axes": tuple(range(nd - len(s_axes))), "out": "partial" if partial else "local"},
        aval, n.loc)
    if not partial:
        return Node("moments_final", (combined,), n.attrs, n.aval, n.loc)
    comm = Node("allgather", (combined,), {}, aval, n.loc)
    return Node("reduce_merge", (comm,), n.attrs, n.aval, n.loc)


def _lower_reduce(n: Node, x: Node, moment_keys=frozenset()) -> Node:
    axes = n.attr("axes")
    layout, partial = ru.reduce_layout(x.aval, axes, n.attr("keepdims"))
    partial = partial and x.aval.comm.size > 1  # one rank holds everything: reduce locally
    fn = n.attr("fn")
    if x.aval.dtype.kind == "f" and (fn in ("var", "std") or fn == "mean" and (
            id(n.inputs[0]), axes, n.attr("keepdims")) in moment_keys):
        return _derived_moments(n, x, moment_keys) or _lower_moments(n, x, partial)
    if not partial:
        return Node("reduce", (x,), n.attrs, n.aval, n.loc)
    part = Node("reduce_partial", (x,), n.attrs, n.aval, n.loc)
    if fn in ALLREDUCE_OP:
        comm = Node("allreduce", (part,), {"op": ALLREDUCE_OP[fn]}, n.aval, n.loc)
    else:
        comm = Node("allgather", (part,), {}, n.aval, n.loc)
    if fn not in NEEDS_MERGE:
        return comm
    count = 1  # elements each output element reduces (mean divides by it)
    for a in axes:
        count *= x.aval.shape[a]
    return Node("reduce_merge", (comm,), n.attrs + (("count", count),), n.aval, n.loc)


def _lower_one(n: Node, ins: list, moment_keys=frozenset()) -> Node:
    op, loc, p = n.op, n.loc, n.aval.comm.size
    if op in EWISE:
        req = [ru.ewise_required(i.aval, n.aval.shape, n.aval.layout) for i in ins]
        return Node(op, tuple(move(i, r, loc) for i, r in zip(ins, req)), n.attrs, n.aval, loc)
    if op == "reduce":
        return _lower_reduce(n, ins[0], moment_keys)
    if op == "matmul":
        a, b = ins
        req_a, req_b, out, partial = ru.matmul_plan(a.aval, b.aval, n.aval.shape, p)
        ins2 = (move(a, req_a, loc), move(b, req_b, loc))
        if not partial or p == 1:  # one rank holds all of k: nothing to combine
            return Node("matmul", ins2, n.attrs, n.aval, loc)
        part = Node("matmul", ins2, n.attrs + (("partial", "sum"),), n.aval, loc)
        return Node("allreduce", (part,), {"op": "sum"}, n.aval, loc)
    if op == "reshape":
        x = ins[0]
        req, out = ru.reshape_plan(x.aval.shape, n.aval.shape, x.aval.split, x.aval.counts)
        x = move(x, req, loc)
        if req[0] is None:  # replicated input: reshape whole, then keep this rank's block
            local = Node("reshape", (x,), n.attrs, n.aval.with_(split=None, counts=None), loc)
            return move(local, n.aval.layout, loc)
        return Node("reshape", (x,), n.attrs, n.aval, loc)
    if op == "slice":
        x = ins[0]
        req, out = ru.slice_plan(x.aval, n.attr("slices"), p)
        x = move(x, req, loc)
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
    if op == "concatenate":
        req, _ = ru.concat_plan([i.aval for i in ins], n.attr("axis"), n.aval.shape, p)
        return Node(op, tuple(move(i, r, loc) for i, r in zip(ins, req)), n.attrs, n.aval, loc)
    if op == "redistribute":
        return move(ins[0], n.aval.layout, loc)
    if op == "transpose" or not n.inputs:
        return Node(op, tuple(ins), n.attrs, n.aval, loc) if ins else n
    raise NotImplementedError(f"no lowering for op {op!r}")


def lower(outputs) -> list[Node]:
    """Lower logical outputs to physical nodes (inputs shared, order deterministic)."""
    new_of = {}
    order = topo_order(outputs)
    keys = _moments_keys(order)
    for n in order:
        new_of[id(n)] = _lower_one(n, [new_of[id(i)] for i in n.inputs], keys)
    return [new_of[id(o)] for o in outputs]
