"""The lowering registry: one lowering per op, and the move every lowering uses."""

from __future__ import annotations

from ...graph import Node
from ...graph.layout import same_layout

LOWERINGS: dict = {}


def lowering(*names):
    """Register ``fn(node, inputs, ctx) -> physical node`` as the lowering of ``names``."""
    def register(fn):
        for name in names:
            if name in LOWERINGS:
                raise ValueError(f"op {name!r} has two lowerings")
            LOWERINGS[name] = fn
        return fn
    return register


def move(node: Node, layout, loc: str) -> Node:
    """``node`` with ``layout``; a redistribute node when the layouts differ."""
    if same_layout(node.aval.layout, layout):
        return node
    aval = node.aval.with_(split=layout[0], counts=layout[1])
    return Node("redistribute", (node,), {}, aval, loc)
