"""Lowering of ``linalg_local``: the input moved to the layout its rule needs (matrix axes
whole: a batch split kept, or replicated), then the routine on the block."""

from __future__ import annotations

from ...graph import Node, ops
from .base import lowering, move


@lowering("linalg_local")
def lower_linalg_local(n, ins, ctx):
    (req,) = ops.needs_of(n, ins).inputs
    return Node(n.op, (move(ins[0], req, n.loc),), n.attrs, n.aval, n.loc)
