"""Lowering of reductions: local where the split axis is kept, else partial state ->
collective -> merge, as ``graph.reduce.REDUCTIONS`` says for each reduction:

- sum, prod, any, all, mean, norm: partial -> ``allreduce`` (-> merge: divide / sqrt);
- min, max, argmin, argmax, var, std, ptp: partial state -> ``allreduce_state`` -> merge.
  The states have a fixed size whatever the number of ranks, and combine pairwise (NaN
  propagation, first-occurrence ties, Chan's numerically sound merge of moments), so they
  travel by all-gather, recursive doubling or recursive halving, whichever the cost model
  (``graph.commcost.state_algorithm``) finds cheapest for the state's bytes and p: bytes per
  rank stay flat (or grow like log p) as p grows, instead of p states per rank.

Every state node is typed by ``graph.reduce.state_aval`` (a rank's state, also the combined
state), so the cost model reads true byte counts. All-reduces of partial sums sit
right after their reduction here; ``passes/partial.py`` then moves them past consumers that
are linear in the sum, to where they move the fewest bytes.

var and std of real floating data (and a mean of the same input over the same axes) share one
moments state (count, mean, M2), locally or per rank, so ``x.mean(0)`` and ``x.std(0)`` read
``x`` once between them.
"""

from __future__ import annotations

from math import prod

from ...graph import Node, ops
from ...graph import rules as ru
from ...graph.collectives import state_parts, state_splittable
from ...graph.commcost import state_algorithm
from ...graph.reduce import REDUCTIONS, local_moments_aval, state_aval
from .base import lowering, move

# the reductions read off a moments state (var, std)
MOMENT_FNS = tuple(fn for fn, r in REDUCTIONS.items() if r.state == "moments" and r.public)


def moments_keys(order) -> set:
    """(input, axes, keepdims) of every var/std of real floating data: a mean over the same
    axes of the same input is read off their moments instead of another pass."""
    return {(id(n.inputs[0]), n.attr("axes"), n.attr("keepdims")) for n in order
            if n.op == "reduce" and n.attr("fn") in MOMENT_FNS
            and n.inputs[0].aval.dtype.kind == "f"}


def combine_state(state: Node, fn: str, loc) -> Node:
    """Every rank's fixed-size ``state`` of reduction ``fn`` ("moments" for the shared
    moments of var/std/mean) combined over the ranks, by the algorithm the cost model picks
    from global metadata; the result is the combined state, replicated."""
    a = state.aval
    algo = state_algorithm(a.nbytes, a.comm.size, state_splittable(a), state_parts(a)[1])
    return Node("allreduce_state", (state,), {"fn": fn, "algorithm": algo}, a, loc)


def _state(x: Node, axes, keepdims, partial: bool, out, loc) -> Node:
    """The moments state of ``x`` over ``axes``: local (M2, mean, n) or a rank's partial
    (count, mean, M2). Built identically wherever it is needed, so CSE computes it once."""
    attrs = {"fn": "moments", "axes": axes, "keepdims": keepdims}
    if partial:
        return Node("reduce_partial", (x,), attrs, state_aval("moments", x.aval, out), loc)
    return Node("reduce", (x,), attrs, local_moments_aval(x.aval, out), loc)


def _lower_moments(n: Node, x: Node, partial: bool) -> Node:
    """var, std (and a mean sharing them) from one moments state: a local reduction, or
    per-rank states gathered and merged (Chan's update)."""
    out = n.aval.with_(dtype=x.aval.dtype)
    state = _state(x, n.attr("axes"), n.attr("keepdims"), partial, out, n.loc)
    if not partial:
        return Node("moments_final", (state,), n.attrs, n.aval, n.loc)
    comm = combine_state(state, "moments", n.loc)
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
    out_s = x.aval.with_(shape=ru.reduce_shape(x.aval.shape, s_axes, False), split=split,
                         counts=counts)
    state = _state(x, s_axes, False, part_s and p > 1, out_s, n.loc)
    partial = x.aval.split is not None and p > 1  # a state per rank, to be combined
    out = n.aval.with_(dtype=x.aval.dtype)
    attrs = {"axes": tuple(range(nd - len(s_axes))), "out": "partial" if partial else "local"}
    if not partial:
        combined = Node("moments_combine", (state,), attrs, local_moments_aval(x.aval, out),
                        n.loc)
        return Node("moments_final", (combined,), n.attrs, n.aval, n.loc)
    combined = Node("moments_combine", (state,), attrs, state_aval("moments", x.aval, out),
                    n.loc)
    comm = combine_state(combined, "moments", n.loc)
    return Node("reduce_merge", (comm,), n.attrs, n.aval, n.loc)


@lowering("reduce")
def lower_reduce(n: Node, ins, ctx) -> Node:
    (x,) = ins
    axes, fn = n.attr("axes"), n.attr("fn")
    _, partial = ru.reduce_layout(x.aval, axes, n.attr("keepdims"))
    partial = partial and x.aval.comm.size > 1  # one rank holds everything: reduce locally
    if x.aval.dtype.kind == "f" and (fn in MOMENT_FNS or fn == "mean" and (
            id(n.inputs[0]), axes, n.attr("keepdims")) in ctx.moment_keys):
        return _derived_moments(n, x, ctx.moment_keys) or _lower_moments(n, x, partial)
    if not partial:
        return Node("reduce", (x,), n.attrs, n.aval, n.loc)
    r = REDUCTIONS[fn]
    part = Node("reduce_partial", (x,), n.attrs, state_aval(fn, x.aval, n.aval), n.loc)
    kind, op = r.collective
    if kind == "allreduce":
        comm = Node("allreduce", (part,), {"op": op}, part.aval, n.loc)
    else:
        comm = combine_state(part, "moments" if r.state == "moments" else fn, n.loc)
    if not r.merge:
        return comm
    count = 1  # elements each output element reduces (mean divides by it)
    for a in axes:
        count *= x.aval.shape[a]
    return Node("reduce_merge", (comm,), n.attrs + (("count", count),), n.aval, n.loc)


@lowering("bincount", "histogram", "nearest")
def lower_counts(n: Node, ins, ctx) -> Node:
    """Inputs lined up block by block (``nearest``: samples in a row layout, centers
    replicated); over split data each rank's counts (or per-center stats) are partial sums
    that one all-reduce combines, while row-wise outputs (labels) stay split."""
    rule = ops.needs_of(n, ins)
    ins2 = tuple(move(i, r, n.loc) for i, r in zip(ins, rule.inputs))
    if not rule.partial:
        return Node(n.op, ins2, n.attrs, n.aval, n.loc)
    part = Node(n.op, ins2, n.attrs + (("partial", "sum"),), n.aval, n.loc)
    return Node("allreduce", (part,), {"op": "sum"}, n.aval, n.loc)

