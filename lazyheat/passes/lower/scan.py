"""Lowering of cumulative sums and products: block-local, or (along the split axis) a local
scan, one all-gather of every rank's carry, and the carries of the ranks before added on."""

from __future__ import annotations

from ...graph import Node
from ...graph.reduce import gathered
from ...graph.scan import carry_aval
from .base import lowering


@lowering("cumsum", "cumprod")
def lower_cumsum(n: Node, ins, ctx) -> Node:
    (x,) = ins
    axis = n.attr("axis")
    local = Node(n.op, (x,), n.attrs, n.aval, n.loc)
    if x.aval.split != axis or n.aval.comm.size == 1:
        return local
    # attrs of the sum stay as they were (plans and snapshots keep their keys)
    op = {} if n.op == "cumsum" else {"op": "prod"}
    carry = Node("scan_carry", (local,), {"axis": axis, **op}, carry_aval(n.aval, axis),
                 n.loc)
    every = Node("allgather", (carry,), {}, gathered(carry.aval), n.loc)
    return Node("scan_add", (local, every), {"axis": axis, **op}, n.aval, n.loc)
