"""Fusion: elementwise groups of the physical graph become single ``fused`` kernels.

A group is a tree of elementwise nodes that share one shape and layout: every member but the
root has exactly one consumer, and that consumer is in the group. A reduction (``reduce`` or
``reduce_partial``) may close the group when it is the root's only consumer, so ``sum(f(x))``
never materializes ``f(x)``. Invariants that keep the plan correct:

- groups never contain communication, opaque ops (matmul, reshape, slice, ...) or leaves, and
  never span a change of shape or layout: members have the root's global shape and layout;
- a member with several consumers, or one that is a requested output, ends its group (its
  value must exist as a whole), so nothing is computed twice;
- tree-shaped groups cannot create a cycle: a path out of a member leaves the group only
  through the root, so no outside input can depend on a member.

The fused node keeps its members (the original nodes, in topological order), each member's
operand references, and the closing reduction, so the runtime can evaluate the group chunk by
chunk and ``explain`` can print it bracketed. Decisions read global metadata only.
"""

from __future__ import annotations

from ..graph import Node, rebuild, topo_order, users
from ..graph.ops import CLOSERS, FUSABLE

# Fusion classes come from the op registry: FUSABLE ops (elementwise) join groups, CLOSERS
# (reduce, reduce_partial) may close one; var/std partial states and multi-axis arg
# reductions are evaluated on the whole group value (runtime/fused.py chunks the others).


def _same_space(a, b) -> bool:
    return a.aval.shape == b.aval.shape and a.aval.layout == b.aval.layout


def fuse(outputs) -> list[Node]:
    """Return new outputs where elementwise groups (and a closing reduction) are fused."""
    order = topo_order(outputs)
    reads = users(order, distinct=False)  # x * x lists the multiply twice
    out_ids = {id(o) for o in outputs}

    def single_user(n):
        # read exactly once (x * x reads x twice: it is no inner member)
        us = reads.get(id(n), ())
        return us[0] if len(us) == 1 and id(n) not in out_ids else None

    # group root of every elementwise node: follow single consumers while they stay fusable
    root_of = {}
    for n in reversed(order):
        if n.op not in FUSABLE:
            continue
        u = single_user(n)
        if u is not None and u.op in FUSABLE and _same_space(n, u) and id(u) in root_of:
            root_of[id(n)] = root_of[id(u)]
        else:
            root_of[id(n)] = id(n)
    members = {}
    for n in order:
        if id(n) in root_of:
            members.setdefault(root_of[id(n)], []).append(n)

    closer_of = {}  # root id -> the reduction that closes its group
    for n in order:
        if n.op in CLOSERS and n.inputs[0].op in FUSABLE:
            r = n.inputs[0]
            if root_of.get(id(r)) == id(r) and single_user(r) is n:
                closer_of[id(r)] = n

    new_of = {}
    for n in order:
        if id(n) in root_of and root_of[id(n)] != id(n):
            continue  # an inner member: built with its root
        if id(n) in root_of:
            new_of[id(n)] = _build_group(members[id(n)], closer_of.get(id(n)), new_of)
            continue
        if n.op in CLOSERS and n.inputs[0].op in FUSABLE and \
                closer_of.get(id(n.inputs[0])) is n:
            new_of[id(n)] = new_of[id(n.inputs[0])]  # the fused node yields the reduction
        else:
            new_of[id(n)] = rebuild(n, [new_of[id(i)] for i in n.inputs])
    return [new_of[id(o)] for o in outputs]


def _build_group(group, closer, new_of) -> Node:
    """One ``fused`` node for ``group`` (topological order, root last)."""
    index = {id(m): j for j, m in enumerate(group)}
    ext, ext_index, args = [], {}, []
    for m in group:
        refs = []
        for i in m.inputs:
            if id(i) in index:
                refs.append(index[id(i)])
                continue
            if id(i) not in ext_index:
                ext_index[id(i)] = len(ext)
                ext.append(new_of[id(i)])
            refs.append(-1 - ext_index[id(i)])
        args.append(tuple(refs))
    root = group[-1]
    aval = closer.aval if closer is not None else root.aval
    attrs = {"members": tuple(group), "args": tuple(args), "closer": closer}
    return Node("fused", tuple(ext), attrs, aval, root.loc)
