"""Collective batching: small reduction collectives that are ready together share one message.

``x.mean(0)``, ``x.std(0)`` and ``x.max()`` each end in a small collective (an all-reduce of
sums, an all-gather of moment states, an all-reduce of maxima). Sent one by one they cost one
latency each; packed into a single all-gather of bytes, every rank receives all ranks' partial
states in one round and combines them locally, in rank order, so all ranks get bit-identical
results.

"Ready together" is decided on global metadata only: a collective's *comm depth* is the largest
number of collectives on any path from a leaf to it (itself included). Two collectives of equal
depth cannot depend on each other, so merging them cannot create a cycle, and every rank groups
them identically. Only small payloads are batched (an all-gather moves ``p`` times the payload,
which beats an all-reduce only while the payload is small).
"""

from __future__ import annotations

from ..graph import Node, TupleAval, ops, rebuild, topo_order
from ..graph.cost import payload_bytes

# bytes gathered per rank (payload times ranks) up to which a reduction collective is batched
BATCH_GATHER_BYTES = 1 << 22


def _batchable(n) -> bool:
    if n.op not in ops.BATCHABLE:  # the collectives of reductions (their small states)
        return False
    return payload_bytes(n) * n.aval.comm.size <= BATCH_GATHER_BYTES


def batch_collectives(outputs) -> list[Node]:
    """Return new outputs where batchable collectives of equal comm depth share one
    ``batch_allgather``; each former collective becomes an ``unbatch`` of its part."""
    order = topo_order(outputs)
    if not order or order[0].aval.comm.size == 1:
        return list(outputs)
    depth = {}
    for n in order:
        d = max((depth[id(i)] for i in n.inputs), default=0)
        depth[id(n)] = d + (1 if n.op in ops.COLLECTIVES else 0)
    groups = {}
    for n in order:
        if _batchable(n):
            groups.setdefault(depth[id(n)], []).append(n)
    groups = {d: g for d, g in groups.items() if len(g) > 1}
    if not groups:
        return list(outputs)
    part_of = {id(c): (d, j) for d, g in groups.items() for j, c in enumerate(g)}
    batch_node, new_of = {}, {}
    for n in _order_with_groups(outputs, groups, part_of):
        if id(n) in part_of:
            d, j = part_of[id(n)]
            if d not in batch_node:
                batch_node[d] = _make_batch(groups[d], new_of)
            new_of[id(n)] = Node("unbatch", (batch_node[d],), {"index": j}, n.aval, n.loc)
            continue
        new_of[id(n)] = rebuild(n, [new_of[id(i)] for i in n.inputs])
    return [new_of[id(o)] for o in outputs]


def _order_with_groups(outputs, groups, part_of) -> list[Node]:
    """Topological order in which a batched collective comes after the inputs of every
    collective in its group (deterministic depth-first, like ``topo_order``)."""
    def deps(n):
        if id(n) not in part_of:
            return n.inputs
        return tuple(c.inputs[0] for c in groups[part_of[id(n)][0]])

    return topo_order(outputs, deps)


def _make_batch(group, new_of) -> Node:
    """One ``batch_allgather`` for ``group``: its value is every member's result (typed by
    the members' avals); its inputs are their partial states."""
    kinds = tuple(("allreduce", c.attr("op")) if c.op == "allreduce" else ("allgather", None)
                  for c in group)
    aval = TupleAval(tuple(c.aval for c in group),
                     tuple(f"{c.op}{j}" for j, c in enumerate(group)))
    ins = tuple(new_of[id(c.inputs[0])] for c in group)
    return Node("batch_allgather", ins, {"kinds": kinds}, aval, group[0].loc)
