"""Collective batching: small reduction collectives that are ready together share one message.

``x.mean(0)``, ``x.std(0)`` and ``x.max()`` each end in a small collective (an all-reduce of
sums, an all-gather of moment states, an all-reduce of maxima). Sent one by one they cost one
latency each; packed into a single all-gather of bytes, every rank receives all ranks' partial
states in one round and combines them locally, in rank order, so all ranks get bit-identical
results.

Two forms, chosen per group by the planning cost model (``graph.commcost.plan_seconds``):
``batch_allgather`` (every rank receives every rank's packed members and combines them in
rank order: fewest rounds, but p payloads per rank) and ``batch_allreduce`` (recursive
doubling of the packed sums and states, combined pairwise: log2 p payloads per rank; plain
all-gathers, whose result is every rank's value, stay out of it). At a few ranks the
all-gather wins; at hundreds the doubling does, so bytes per rank stay near-flat in p.

"Ready together" is decided on global metadata only: a collective's *comm depth* is the largest
number of collectives on any path from a leaf to it (itself included). Two collectives of equal
depth cannot depend on each other, so merging them cannot create a cycle, and every rank groups
them identically. Only small payloads are batched (an all-gather moves ``p`` times the payload,
which beats an all-reduce only while the payload is small).
"""

from __future__ import annotations

from ..graph import Node, TupleAval, commcost, ops, rebuild, topo_order
from ..graph.commcost import allgather_cost, plan_seconds, state_cost
from ..graph.cost import payload_bytes

# bytes gathered per rank (payload times ranks) up to which a reduction collective may join
# a batched all-gather, and the payload up to which it may join a batched doubling
BATCH_GATHER_BYTES = 1 << 22
BATCH_STATE_BYTES = 1 << 16


def _batchable(n) -> bool:
    if n.op not in ops.BATCHABLE:  # the collectives of reductions (their small states)
        return False
    if n.op == "allreduce_state" and n.attr("algorithm") == "halving":
        return False  # a large state, split between ranks on purpose
    b = payload_bytes(n)
    return b * n.aval.comm.size <= BATCH_GATHER_BYTES or \
        (n.op != "allgather" and b <= BATCH_STATE_BYTES)


def _form(group) -> tuple:
    """("batch_allgather" | "batch_allreduce", members) for one group of ready collectives:
    the cheaper by the planning cost model; ties keep the all-gather."""
    p = group[0].aval.comm.size
    sizes = [payload_bytes(c) for c in group]
    reducible = [c for c in group if c.op != "allgather"]
    red_bytes = sum(b for c, b in zip(group, sizes) if c.op != "allgather")
    gather = None
    if sum(sizes) * p <= BATCH_GATHER_BYTES:
        c = allgather_cost(sum(sizes), p)
        states = sum(1 for m in group if m.op == "allreduce_state")
        sums = sum(1 for m in group if m.op == "allreduce")
        gather = plan_seconds(c._replace(combine_bytes=red_bytes * (p - 1),
                                         merges=states * (p - 1) + sums))
    double = None
    if len(reducible) > 1 and red_bytes <= BATCH_STATE_BYTES:
        left = sum(plan_seconds(allgather_cost(b, p)) for c, b in zip(group, sizes)
                   if c.op == "allgather")
        c = state_cost(red_bytes, p, "doubling")
        double = plan_seconds(c._replace(merges=c.merges * len(reducible))) + left
    forced = commcost.FORCE_STATE_ALGORITHM  # tests pin a form: doubling/halving -> doubling
    if forced is not None and double is not None and gather is not None:
        gather, double = (0.0, 1.0) if forced == "allgather" else (1.0, 0.0)
    if double is not None and (gather is None or double < gather):
        return "batch_allreduce", reducible
    if gather is not None:
        return "batch_allgather", group
    return None, []


def _kind(c) -> tuple:
    if c.op == "allreduce":
        return ("allreduce", c.attr("op"))
    if c.op == "allreduce_state":
        return ("state", c.attr("fn"))
    return ("allgather", None)


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
    forms = {}
    for d, g in groups.items():
        form, members = _form(g)
        if form is not None and len(members) > 1:
            groups[d], forms[d] = members, form
    groups = {d: g for d, g in groups.items() if d in forms}
    if not groups:
        return list(outputs)
    part_of = {id(c): (d, j) for d, g in groups.items() for j, c in enumerate(g)}
    batch_node, new_of = {}, {}
    for n in _order_with_groups(outputs, groups, part_of):
        if id(n) in part_of:
            d, j = part_of[id(n)]
            if d not in batch_node:
                batch_node[d] = _make_batch(groups[d], new_of, forms[d])
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


def _make_batch(group, new_of, form) -> Node:
    """One batched collective (``form``) for ``group``: its value is every member's result
    (typed by the members' avals); its inputs are their partial states."""
    kinds = tuple(_kind(c) for c in group)
    aval = TupleAval(tuple(c.aval for c in group),
                     tuple(f"{c.op}{j}" for j, c in enumerate(group)))
    ins = tuple(new_of[id(c.inputs[0])] for c in group)
    return Node(form, ins, {"kinds": kinds}, aval, group[0].loc)
