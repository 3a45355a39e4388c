"""Shared graph plumbing: walk order, users, and the one rewrite driver every pass uses.

A pass is a function of the nodes reachable from some outputs. Most rebuild every node whose
inputs changed and sometimes replace a node; ``rewrite`` does that walk once for all of them,
so no pass carries its own copy of the loop. Walks are deterministic (depth-first in input
order), never ordered by object ids, so every rank sees the same order.
"""

from __future__ import annotations

from contextlib import contextmanager

from .node import Node

# while ``shared_orders`` is active: outputs (the nodes themselves, held so that no id is
# reused) -> their order. Nodes are immutable, so the order is a function of the outputs;
# a pipeline's passes walk the same outputs again whenever a pass changed nothing.
_ORDERS: dict | None = None


@contextmanager
def shared_orders():
    """Within the block, ``topo_order`` walks given outputs once (the pass pipeline)."""
    global _ORDERS
    saved, _ORDERS = _ORDERS, {}
    try:
        yield
    finally:
        _ORDERS = saved


def topo_order(outputs, inputs_of=None) -> list[Node]:
    """Inputs before users, deterministic (depth-first in input order), each node once.
    ``inputs_of(node)``, when given, says which nodes a node depends on (default: its
    inputs); passes use it to walk a graph with substitutions or extra ordering edges."""
    if inputs_of is None and _ORDERS is not None:
        key = tuple(outputs)
        order = _ORDERS.get(key)
        if order is None:
            order = _ORDERS[key] = _walk(key, lambda n: n.inputs)
        return list(order)
    return _walk(outputs, inputs_of or (lambda n: n.inputs))


def _walk(outputs, deps) -> list[Node]:
    order, seen, stack = [], set(), [(n, False) for n in reversed(list(outputs))]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for i in reversed(deps(node)):
            if id(i) not in seen:
                stack.append((i, False))
    return order


def users(order, distinct=True) -> dict:
    """``id(node) -> [consumers]`` over a topological ``order``, consumers in ``order``; a
    consumer that reads a node twice is listed once, or twice with ``distinct=False``."""
    out: dict = {}
    for n in order:
        for i in n.inputs:
            us = out.setdefault(id(i), [])
            if not distinct or not us or us[-1] is not n:
                us.append(n)
    return out


def use_counts(order) -> dict:
    """``id(node) -> number of input slots that read it`` (a node read twice counts twice)."""
    out: dict = {}
    for n in order:
        for i in n.inputs:
            out[id(i)] = out.get(id(i), 0) + 1
    return out


def rebuild(n: Node, inputs) -> Node:
    """``n`` over ``inputs``: the node itself when they are its inputs already."""
    inputs = tuple(inputs)
    if inputs == n.inputs:  # nodes compare by identity: the same inputs
        return n
    return Node(n.op, inputs, n.attrs, n.aval, n.loc)


def rewrite(outputs, rule=None, order=None) -> list:
    """New outputs: every node rebuilt over its rewritten inputs, then offered to
    ``rule(node)``, which returns a replacement or None to keep it. ``rule`` sees nodes in
    topological order, each already over rewritten inputs."""
    new_of = {}
    for n in order if order is not None else topo_order(outputs):
        cur = rebuild(n, [new_of[id(i)] for i in n.inputs])
        if rule is not None:
            repl = rule(cur)
            if repl is not None:
                cur = repl
        new_of[id(n)] = cur
    return [new_of[id(o)] for o in outputs]
