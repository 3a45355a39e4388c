"""Re-plan a logical graph for another number of ranks.

Layouts are chosen when the user builds the graph, for the world size at hand. To show what a
run on ``p`` ranks would do (``explain(..., world_size=p)``), every node's layout is derived
again by the same rules the API uses, for a communicator of ``p`` ranks: leaves and resplits
get balanced counts, operations pick their layouts from ``graph.rules``. Shapes and dtypes are
unchanged. Pure metadata: no data is touched, and ``comm`` is usually a ``FakeComm``.
"""

from __future__ import annotations

from ..graph import Node, topo_order
from ..graph import rules as ru
from ..graph.layout import balanced_counts
from ..graph.ops import EWISE


def _balanced(aval, comm):
    if aval.split is None:
        return aval.with_(comm=comm)
    return aval.with_(counts=balanced_counts(aval.shape[aval.split], comm.size), comm=comm)


def _layout(n: Node, ins, comm):
    p, shape = comm.size, n.aval.shape
    avals = [i.aval for i in ins]
    if n.op in EWISE:
        return ru.ewise_layout(avals, shape, p)
    if n.op == "reduce":
        return ru.reduce_layout(avals[0], n.attr("axes"), n.attr("keepdims"))[0]
    if n.op == "matmul":
        return ru.matmul_plan(avals[0], avals[1], shape, p)[2]
    if n.op == "transpose":
        x = avals[0]
        return (None, None) if x.split is None else (n.attr("perm").index(x.split), x.counts)
    if n.op == "reshape":
        return ru.reshape_plan(avals[0].shape, shape, avals[0].split, avals[0].counts)[1]
    if n.op == "slice":
        return ru.slice_plan(avals[0], n.attr("slices"), p)[1]
    if n.op == "concatenate":
        return ru.concat_plan(avals, n.attr("axis"), shape, p)[1]
    raise NotImplementedError(f"cannot re-plan op {n.op!r} for another world size")


def retarget(outputs, comm) -> list[Node]:
    """The logical graph of ``outputs`` with every layout chosen for ``comm``'s size."""
    new_of = {}
    for n in topo_order(outputs):
        ins = [new_of[id(i)] for i in n.inputs]
        if not n.inputs or n.op == "redistribute":
            aval = _balanced(n.aval, comm)
        else:
            split, counts = _layout(n, ins, comm)
            aval = n.aval.with_(split=split, counts=counts, comm=comm)
        new_of[id(n)] = Node(n.op, tuple(ins), n.attrs, aval, n.loc)
    return [new_of[id(o)] for o in outputs]
