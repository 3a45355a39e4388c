"""Re-plan a logical graph for another number of ranks.

Layouts are chosen when the user builds the graph, for the world size at hand. To show what a
run on ``p`` ranks would do (``explain(..., world_size=p)``), every node's layout is derived
again by its op's own layout rule (``graph.ops.layout_of``, the rule the API used), for a
communicator of ``p`` ranks; leaves and explicit redistributions get balanced counts. Shapes
and dtypes are unchanged. Pure metadata: no data is touched, and ``comm`` is usually a
``FakeComm``.
"""

from __future__ import annotations

from ..graph import Node, ops, topo_order
from ..graph.layout import balanced_counts


def _balanced(aval, comm):
    if aval.split is None:
        return aval.with_(comm=comm)
    return aval.with_(counts=balanced_counts(aval.shape[aval.split], comm.size), comm=comm)


def retarget(outputs, comm) -> list[Node]:
    """The logical graph of ``outputs`` with every layout chosen for ``comm``'s size."""
    new_of = {}
    for n in topo_order(outputs):
        ins = [new_of[id(i)] for i in n.inputs]
        d = ops.OPS.get(n.op)
        if d is None:
            raise NotImplementedError(f"cannot re-plan op {n.op!r}: it is not in the registry")
        if d.data_dependent:
            raise NotImplementedError(
                f"{n.op} at {n.loc}: its extent depends on the data, known for this run's "
                f"{n.aval.comm.size} ranks only; plan it without world_size")
        if not n.inputs or d.layout is None:
            aval = _balanced(n.aval, comm)
        else:
            split, counts = ops.layout_of(n.op, [i.aval for i in ins], dict(n.attrs),
                                          n.aval.shape, comm.size)
            aval = n.aval.with_(split=split, counts=counts, comm=comm)
        new_of[id(n)] = Node(n.op, tuple(ins), n.attrs, aval, n.loc)
    return [new_of[id(o)] for o in outputs]
