"""Common-subexpression elimination by structural key.

Nodes with equal keys compute equal values, so every use is pointed at the first such node in
topological order. Dead nodes vanish by construction: only what the outputs reach is rebuilt.
Collectives are ordinary nodes here and are merged only when identical on every rank, because
keys are built from global metadata alone.

Keys are flat: (op, attributes, aval, the *class numbers* of the inputs), where a node's class
number is the index of its key in this pass's table. Comparing and hashing a key therefore
costs the same at any depth; a nested key (inputs' keys inside) would be re-hashed as a tree
and grow exponentially with the depth of a graph that reuses its values.
"""

from __future__ import annotations

from ..graph import rebuild, topo_order
from ..graph.node import canonical


def eliminate_common_subexpressions(outputs):
    """Return new outputs where structurally equal nodes are shared."""
    by_key, first, new_of, cls = {}, [], {}, {}
    for n in topo_order(outputs):
        ins = tuple([new_of[id(i)] for i in n.inputs])
        key = (n.op, canonical(n.attrs), n.aval.struct(), tuple([cls[id(i)] for i in ins]))
        c = by_key.setdefault(key, len(first))  # (one hash of the key per node)
        if c == len(first):
            first.append(rebuild(n, ins))
        node = first[c]
        cls[id(node)] = c
        new_of[id(n)] = node
    return [new_of[id(o)] for o in outputs]
