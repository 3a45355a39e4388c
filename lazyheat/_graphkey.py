"""The plan cache's key of a graph, made by walking it, and the graph rebuilt over params.

``planner`` keys most computes by their nodes' signatures (``graph/signature.py``); this
walk keys the rest (materialized histories, graphs without signatures, ``explain``) and
gives the order and wiring a new plan is built from.
"""

from __future__ import annotations

from . import _core
from .graph import Node
from .graph.node import canonical
from .graph.ops import DATA_DEPENDENT


def template(nodes, history=False):
    """(key, walk order, how to rebuild each node over ``param`` leaves, data buffers in param
    order, nodes whose extent depends on the data: the plan's breaks).

    Materialized results count as data leaves (their history is not walked), except, with
    ``history``, outputs that ``explain(analyze=True)`` computed: their plan stays visible.
    The key holds global metadata only, with each data leaf replaced by its param number:
    the walk (``_walk``) places each node once, then one flat loop makes the key entries."""
    stand = {}  # id(node) -> the node standing for it: itself or its materialized leaf
    if history:
        nodes = [_core.ANALYZED.get(n, n) for n in nodes]
        stand = {id(n): n for n in nodes}
    order, wheres, outs = _walk(nodes, stand)
    key, params, new, breaks = [], [], [], []
    for node, where in zip(order, wheres):
        op = node.op
        if op in DATA_DEPENDENT:
            breaks.append(node)
        if op == "data":
            key.append(("$", len(params), node.aval.struct()))
            new.append(len(params))
            params.append(node.attr("buf"))
        else:
            key.append((op, node.attrs if node.plain else canonical(node.attrs),
                        node.aval.struct(), where))
            new.append(where if where else None)
    return (tuple(key), outs), order, new, params, breaks


def _walk(nodes, stand):
    """(the nodes reachable from ``nodes`` in ``topo_order``'s order: depth-first, inputs
    in order; each one's input positions in it; the positions of ``nodes``), each node
    replaced by its stand-in (``stand``, filled here: itself, or its materialized leaf,
    whose history is not walked). An explicit stack: graphs of any depth."""
    materialized = _core.MATERIALIZED.entries  # id(node) -> (its weak reference, its leaf)
    pos, order, wheres = {}, [], []
    stack = [(_stand_in(n, stand, materialized), None) for n in reversed(nodes)]
    while stack:
        node, ins = stack.pop()
        if ins is None:  # first visit: place its inputs first
            if id(node) in pos:
                continue
            ins = [_stand_in(i, stand, materialized) for i in node.inputs]
            stack.append((node, ins))
            stack.extend((i, None) for i in reversed(ins) if id(i) not in pos)
            continue
        if id(node) in pos:
            continue
        pos[id(node)] = len(order)
        order.append(node)
        wheres.append(tuple([pos[id(i)] for i in ins]))
    return order, wheres, tuple(pos[id(_stand_in(n, stand, materialized))] for n in nodes)


def _stand_in(n, stand, materialized):
    e = stand.get(id(n))
    if e is None:  # data leaves are never materialized: no lookup for them
        m = None if n.op == "data" else materialized.get(id(n))
        e = stand[id(n)] = n if m is None else m[1]
    return e


def build(order, new, out_positions) -> list:
    """Logical nodes over ``param`` leaves, from a template walk: ``new[k]`` says what
    ``order[k]`` becomes (a param number, None for a leaf without data, or the positions
    of its inputs)."""
    built = []
    for node, spec in zip(order, new):
        if spec is None:
            built.append(node)  # a leaf without data (full, random, arange, ...)
        elif type(spec) is int:
            built.append(Node("param", (), {"index": spec}, node.aval, node.loc))
        else:
            built.append(Node(node.op, tuple(built[i] for i in spec), node.attrs,
                              node.aval, node.loc))
    return [built[i] for i in out_positions]
