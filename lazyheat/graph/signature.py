"""Structural signatures, made as user nodes are built: the plan cache's key without a walk.

Every compute keys its graph for the plan cache. Walking the graph to make that key
(``planner._template``) costs about a third of a small call's time, so nodes that users
build (each one wrapped in a ``LazyArray``) carry the key's material from their birth, made
from their inputs' in O(1): ``Node.tag`` = ``(sig, leaves, since)``.

- ``sig``: an int standing for the node's structure: op, attributes (as key material,
  ``canonical``), aval (``Aval.struct``), its inputs' sigs, and which data leaves of the
  inputs are the same leaf. Equal sigs mean equal computations over the same pattern of
  data leaves, whatever the data. Sigs are interned in a table; ints are never reused, so
  clearing the table (it is bounded) only makes later sigs new, never equal to another
  structure's.
- ``leaves``: the distinct data leaves the node reads, in the order a depth-first walk over
  inputs in order meets them first: the plan's params, in ``planner._template``'s order.
- ``since``: the oldest ``EPOCH`` at which a node of its history that may be materialized
  (anything but a data leaf) was built. ``EPOCH`` counts materializations; a graph whose
  ``since`` is the current ``EPOCH`` has no node that was materialized after it was built,
  so its plan is the one the walk would key (which stops at materialized nodes).

A node gets no tag (None) when an attribute cannot be hashed, when it reads more than
``LEAVES_MAX`` distinct data leaves, or when a chain of untagged inputs is too deep: the plan
cache then walks its graph as before.
"""

from __future__ import annotations

from itertools import count

from .node import Node, canonical

LEAVES_MAX = 16  # data leaves per tagged node: the merge below is quadratic in them
TABLE_MAX = 1 << 12  # interned structures kept (the table is cleared whole when full)
DEPTH_MAX = 64  # untagged inputs tagged on demand, at most this deep
_NEVER = 1 << 62  # a data leaf's ``since``: data is never materialized

EPOCH = [0]  # materializations so far (``materialized`` adds one)
_TABLE: dict = {}  # structure -> sig
_SIGS = count(1)
_set_tag = Node.__dict__["tag"].__set__


def materialized() -> None:
    """A node was materialized: graphs built before now may hold it."""
    EPOCH[0] += 1


def _intern(key) -> int:
    sig = _TABLE.get(key)
    if sig is None:
        if len(_TABLE) >= TABLE_MAX:
            _TABLE.clear()
        sig = _TABLE[key] = next(_SIGS)
    return sig


def stamp(node: Node, depth: int = 0):
    """``node.tag``, made now (and kept) when it has none: see the module's docstring."""
    tag = node.tag
    if tag is not None or node.op == "param":
        return tag
    try:
        if node.op == "data":
            tag = (_intern(("$", node.aval.struct())), (node,), _NEVER)
        else:
            tag = _compound(node, depth)
    except TypeError:  # an attribute that cannot be hashed
        tag = None
    if tag is not None:
        _set_tag(node, tag)
    return tag


def _compound(node, depth):
    attrs = node.attrs if node.plain else canonical(node.attrs)
    since = EPOCH[0]
    inputs = node.inputs
    if not inputs:
        return _intern((node.op, attrs, node.aval.struct())), (), since
    tags = []
    for i in inputs:
        t = i.tag
        if t is None:
            if depth >= DEPTH_MAX:
                return None
            t = stamp(i, depth + 1)
            if t is None:
                return None
        tags.append(t)
        if t[2] < since:
            since = t[2]
    key, leaves = combine(tags)
    if key is None:
        return None
    return _intern((node.op, attrs, node.aval.struct(), key)), leaves, since


def combine(tags) -> tuple:
    """(key material, leaves) of several tagged nodes read together (a node's inputs, or
    the arrays of one compute): their sigs, and where each one's data leaves fall in the
    merged leaves (which leaves are shared); (None, None) past ``LEAVES_MAX`` leaves."""
    first = tags[0]
    if len(tags) == 1:
        return first[0], first[1]
    leaves = first[1]
    sigs = [first[0]]
    places = []
    for t in tags[1:]:
        sigs.append(t[0])
        mine = t[1]
        if not mine:
            places.append(())
        elif mine is leaves:  # the same leaves (x * x, or a chain over one array)
            places.append(None)
        else:
            merged = list(leaves)
            where = []
            for leaf in mine:  # (identity, not ``==``: the leaves are nodes)
                k = next((j for j, known in enumerate(merged) if known is leaf), None)
                if k is None:
                    k = len(merged)
                    merged.append(leaf)
                where.append(k)
            if len(merged) > LEAVES_MAX:
                return None, None
            leaves = leaves if len(merged) == len(leaves) else tuple(merged)
            places.append(tuple(where))
    return (tuple(sigs), tuple(places)), leaves
