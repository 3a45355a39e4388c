"""Lowering of cumulative sums and products: block-local, or (along the split axis) a local
scan, the carries of the ranks before combined, and that prefix added on (multiplied in).

The carries travel by an all-gather of every rank's carry (each rank then combines those
before it in rank order: one round at a few ranks) or by an exclusive prefix by recursive
doubling (``exscan``: log2 p rounds of one carry, instead of p carries per rank), whichever
the planning cost model (``graph.commcost.plan_seconds``) finds cheaper for the carry's
bytes and p; ties keep the all-gather."""

from __future__ import annotations

from ...graph import Node, commcost
from ...graph.commcost import allgather_cost, exscan_cost, plan_seconds
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
    nbytes, p = carry.aval.nbytes, carry.aval.comm.size
    gather = allgather_cost(nbytes, p)
    forced = commcost.FORCE_STATE_ALGORITHM  # tests: "allgather", else the prefix
    if forced is not None and forced != "allgather" or forced is None and \
            plan_seconds(exscan_cost(nbytes, p)) < \
            plan_seconds(gather._replace(combine_bytes=nbytes * (p - 1))):
        every = Node("exscan", (carry,), {"op": op.get("op", "sum")}, carry.aval, n.loc)
    else:
        every = Node("allgather", (carry,), {}, gathered(carry.aval), n.loc)
    return Node("scan_add", (local, every), {"axis": axis, **op}, n.aval, n.loc)
