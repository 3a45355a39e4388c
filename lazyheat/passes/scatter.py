"""Reduce-scatter: a partial value consumed in a split layout is never all-reduced whole.

After lowering, a sum over the split axis whose consumer wants the result split (``x.sum(0)
+ y`` with ``y`` split along the result's axis, a partial matmul feeding a split operand)
reads ``allreduce -> redistribute (local slice)``: every rank receives the whole reduced
value and keeps one block of it. Where the all-reduce has no other reader, the pair becomes
one ``reduce_scatter``: each rank receives about its block per round (``(p-1)/p`` of the
value in all, against about twice the value for the all-reduce) and computes only its block.
The decision reads layouts and consumer counts: global metadata.
"""

from __future__ import annotations

from ..graph import Node, rebuild, topo_order


def scatter_partials(outputs) -> list:
    """New outputs where an all-reduce read only by a slice to a split layout is a
    ``reduce_scatter`` into that layout."""
    order = topo_order(outputs)
    if not order or order[0].aval.comm.size == 1:
        return list(outputs)
    readers: dict = {}
    for n in order:
        for i in n.inputs:
            readers[id(i)] = readers.get(id(i), 0) + 1
    for o in outputs:  # an output is read by the user
        readers[id(o)] = readers.get(id(o), 0) + 1
    # decided on the original graph (rewrite hands the rule rebuilt nodes)
    scatter = {id(n) for n in order
               if n.op == "redistribute" and n.aval.split is not None
               and n.inputs[0].op == "allreduce" and n.inputs[0].aval.split is None
               and readers[id(n.inputs[0])] == 1}
    if not scatter:
        return list(outputs)
    new_of = {}
    for n in order:
        ins = [new_of[id(i)] for i in n.inputs]
        if id(n) in scatter:
            red = ins[0]
            new_of[id(n)] = Node("reduce_scatter", red.inputs, {"op": red.attr("op")}, n.aval,
                                 n.loc)
        else:
            new_of[id(n)] = rebuild(n, ins)
    return [new_of[id(o)] for o in outputs]
