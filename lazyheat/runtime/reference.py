"""The reference interpreter: the oracle for the distributed runtime.

It evaluates the *logical* graph, unlowered and unfused, on whole arrays: every rank gathers
the data leaves in full, every node is rewritten as replicated, and the same block kernels run
on global tensors with no communication at all. Whatever the planner and the collectives do,
the distributed result must equal this one.
"""

from __future__ import annotations

from ..graph import Buffer, Node, topo_order
from . import comm as cm
from .executor import execute


def evaluate(outputs, comm: cm.Comm, device="cpu") -> list:
    """Global values of the logical ``outputs`` (torch tensors, identical on every rank)."""
    new_of = {}
    for n in topo_order(outputs):
        rep = n.aval.with_(split=None, counts=None)
        if n.op == "data":
            a = n.aval
            t = n.attr("buf").value
            if a.split is not None:
                t = cm.redistribute(comm, t, a.shape, a.layout, (None, None))
            new_of[id(n)] = Node("data", (), {"buf": Buffer(t)}, rep, n.loc)
        elif n.op == "redistribute":
            new_of[id(n)] = new_of[id(n.inputs[0])]
        else:
            ins = tuple(new_of[id(i)] for i in n.inputs)
            new_of[id(n)] = Node(n.op, ins, n.attrs, rep, n.loc)
    return execute([new_of[id(o)] for o in outputs], comm, device)
