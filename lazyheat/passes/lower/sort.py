"""Lowerings of sorting, searching, order statistics and set ops (see ``graph/sort.py``).

- ``sort`` along an axis that is whole on every rank: the block-local sort. Along the split
  axis of an n-d array: the split moves to the longest other axis (one all-to-all), the sort
  runs locally, and the split moves back, balanced (one more). Along the split axis of a 1-d
  array: the ``samplesort`` collective.
- ``searchsorted`` of a split ``x1``: the values replicated, each rank's count of its block's
  keys before them (a partial sum), one all-reduce; a split result slices it for free.
- ``order_stats`` along the split axis: each rank contributes the positions it holds (a
  partial sum), one all-reduce.
"""

from __future__ import annotations

from ...graph import Node, ops
from ...graph.layout import balanced_counts
from ...graph.sort import other_axis
from .base import lowering, move


@lowering("sort")
def lower_sort(n: Node, ins, ctx) -> Node:
    (x,) = ins
    axis, p = n.attr("axis"), n.aval.comm.size
    if x.aval.split != axis or p == 1:
        return Node("sort", (x,), n.attrs, n.aval.with_(split=x.aval.split,
                                                         counts=x.aval.counts), n.loc)
    if x.aval.ndim == 1:
        return Node("samplesort", (x,), n.attrs, n.aval, n.loc)
    k = other_axis(x.aval.shape, axis)
    lay = (k, balanced_counts(x.aval.shape[k], p))
    local = Node("sort", (move(x, lay, n.loc),), n.attrs,
                 n.aval.with_(split=lay[0], counts=lay[1]), n.loc)
    return move(local, n.aval.layout, n.loc)


@lowering("samplesort", "quantile_lerp", "nan_quantile", "unique_count", "unique_select",
          "unique_inverse")
def _as_built(n: Node, ins, ctx) -> Node:
    """Ops that run on their inputs as laid out (the API already placed them)."""
    return Node(n.op, tuple(ins), n.attrs, n.aval, n.loc)


@lowering("searchsorted", "order_stats")
def lower_partial_sum(n: Node, ins, ctx) -> Node:
    """Inputs moved as the op's rule needs; a partial result (the axis searched or picked
    from is split) is combined by one all-reduce of sums, then laid out as the output."""
    rule = ops.needs_of(n, ins)
    moved = tuple(move(i, r, n.loc) for i, r in zip(ins, rule.inputs))
    if not rule.partial:
        return Node(n.op, moved, n.attrs, n.aval, n.loc)
    whole = n.aval.with_(split=None, counts=None)
    part = Node(n.op, moved, n.attrs + (("partial", "sum"),), whole, n.loc)
    summed = Node("allreduce", (part,), {"op": "sum"}, whole, n.loc)
    return move(summed, n.aval.layout, n.loc)
