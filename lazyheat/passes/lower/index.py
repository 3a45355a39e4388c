"""Lowering of integer-array indexing and item assignment (see ``graph/index.py``): the
operands moved to the layouts the op's rule asks for, then the op on the blocks (the routed
forms communicate inside their own kernel, as one collective step)."""

from __future__ import annotations

from ...graph import Node, ops
from .base import lowering, move


@lowering("index_check", "take", "take_routed", "take_along", "take_along_routed", "put",
          "put_routed", "setitem_slice")
def _indexing(n, ins, ctx):
    req = ops.needs_of(n, ins).inputs
    return Node(n.op, tuple(move(i, r, n.loc) for i, r in zip(ins, req)), n.attrs, n.aval,
                n.loc)
