"""Common-subexpression elimination by structural key.

Nodes with equal keys compute equal values, so every use is pointed at the first such node in
topological order. Dead nodes vanish by construction: only what the outputs reach is rebuilt.
Collectives are ordinary nodes here and are merged only when identical on every rank, because
keys are built from global metadata alone.
"""

from __future__ import annotations

from ..graph import Node, topo_order


def eliminate_common_subexpressions(outputs, replace=None):
    """Return new outputs where structurally equal nodes are shared.

    ``replace`` maps ``id(node)`` to a node to use instead (materialized results).
    """
    replace = replace or {}
    by_key, new_of = {}, {}
    for n in topo_order(outputs):
        if id(n) in replace:
            new_of[id(n)] = replace[id(n)]
            continue
        ins = tuple(new_of[id(i)] for i in n.inputs)
        cand = n if all(a is b for a, b in zip(ins, n.inputs)) else \
            Node(n.op, ins, n.attrs, n.aval, n.loc)
        new_of[id(n)] = by_key.setdefault(cand.key, cand)
    return [new_of[id(o)] for o in outputs]
