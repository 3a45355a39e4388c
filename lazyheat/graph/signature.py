"""Structural signatures, made as user nodes are built: the plan cache's key without a walk.

Every compute keys its graph for the plan cache. Walking the graph to make that key
(``planner._template``) costs about a third of a small call's time, so nodes that users
build (each one wrapped in a ``LazyArray``) carry the key's material from their birth, made
from their inputs' in O(1): ``Node.tag`` = ``(sig, leaves, since)``.

- ``sig``: an int standing for the node's structure: op, attributes (as key material,
  ``canonical``), its inputs' sigs, which data leaves of the inputs are the same leaf, and
  its aval (``Aval.struct``) where that does not follow from the rest. Equal sigs over data
  leaves of equal avals mean equal computations, whatever the data (the plan cache's key
  is the sig and the leaves' avals). An elementwise op's, a reduction's or a transpose's
  aval is a function of its op, attributes and inputs' avals (the registry's rule, which
  also makes their plans resizable: ``resizable="always"``), so their sigs leave it out:
  a new shape of such an expression finds every sig made already. Sigs are interned in a
  table; ints are never reused, so clearing the table (it is bounded) only makes later
  sigs new, never equal to another structure's.
- ``leaves``: the distinct data leaves the node reads, in the order a depth-first walk over
  inputs in order meets them first: the plan's params, in ``planner._template``'s order
  (None for a data leaf itself: its readers list it).
- ``since``: the oldest ``EPOCH`` at which a node of its history that may be materialized
  (anything but a data leaf) was built. ``EPOCH`` counts materializations; a graph whose
  ``since`` is the current ``EPOCH`` has no node that was materialized after it was built,
  so its plan is the one the walk would key (which stops at materialized nodes).

A node gets no signature (its tag is False; None means not made yet) when an attribute
cannot be hashed, when it reads more than ``LEAVES_MAX`` distinct data leaves, or when a
chain of untagged inputs is too deep: the plan cache then walks its graph as before.
"""

from __future__ import annotations

from itertools import count

from .node import Node, canonical
from .ops import RESIZABLE

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


def _attrs_id(node) -> int:
    """An int standing for the node's attributes (as key material). The structures hold
    it, not the attributes: a new shape of an expression then adds to the table only tuples
    of ints and strings, which the garbage collector stops tracking (tuples holding the
    attributes' dtypes would stay tracked, and a long session of new shapes would make the
    collector's full passes frequent)."""
    return _intern(("@", node.attrs if node.plain else canonical(node.attrs)))


def stamp(node: Node, depth: int = 0):
    """``node.tag``, made now (and kept) when it has none: see the module's docstring."""
    tag = node.tag
    if tag is not None or node.op == "param":
        return tag or None  # (False: it has none, found before)
    inputs = node.inputs
    if 0 < len(inputs) < 3 and node.op in RESIZABLE:
        # the operators' and reductions' cases, inlined (every node users build pays them):
        # ``_compound`` of a node over one tagged input, or over two where the second
        # reads the first's leaves, one data leaf or none, keyed as ``combine`` keys them
        akey = ("@", node.attrs) if node.plain else _scalar_key(node.attrs)
        t = inputs[0].tag
        if akey is not None and t:
            leaves = t[1] if t[1] is not None else inputs[:1]  # (a data leaf: itself)
            if len(inputs) == 1:
                return _quick(node, akey, t[0], leaves, t[2])
            u = inputs[1].tag
            if u:
                since = t[2] if t[2] < u[2] else u[2]
                if u[1] is leaves or u[1] == ():
                    return _quick(node, akey, ((t[0], u[0]), (None if u[1] else (),)),
                                  leaves, since)
                if u[1] is None and len(leaves) < LEAVES_MAX:  # x * 2 - x, a + b
                    leaf = inputs[1]
                    k = next((j for j, known in enumerate(leaves) if known is leaf), None)
                    if k is None:
                        k, leaves = len(leaves), (*leaves, leaf)
                    return _quick(node, akey, ((t[0], u[0]), ((k,),)), leaves, since)
    try:
        if node.op == "data":  # its aval is part of the plan cache's key; its leaves are
            # itself, which its tag must not hold (a cycle would keep the data alive until
            # a collection): readers put it in theirs (``_leaves``)
            tag = (_intern(("$",)), None, _NEVER)
        else:
            tag = _compound(node, depth)
    except TypeError:  # an attribute that cannot be hashed
        tag = None
    # False where it has none: its readers then give up at once instead of trying again
    # (a sum of many arrays would retry its whole chain at every new node)
    _set_tag(node, tag if tag is not None else False)
    return tag


def _scalar_key(attrs):
    """Key material for an operator's attributes with one float scalar (``x * 2.0``),
    made without ``canonical``'s recursion: the float by its bits (0.0 and -0.0 differ,
    NaN is NaN). Another form than ``_attrs_id``'s (its own tag), so never equal to it: a
    structure keyed both ways only shares less. None for any other attributes."""
    if len(attrs) == 3:
        (k0, cdt), (k1, nargs), (k2, scalars) = attrs
        if k0 == "cdtype" and k1 == "nargs" and k2 == "scalars" and len(scalars) == 1:
            pos, v = scalars[0]
            if type(v) is float and type(pos) is int:
                return ("@f", cdt, nargs, pos, v.hex())
    return None


def _quick(node, key, inner, leaves, since):
    a = _TABLE.get(key) or _intern(key)
    key = (node.op, a, inner)
    now = EPOCH[0]
    tag = (_TABLE.get(key) or _intern(key), leaves, now if now < since else since)
    _set_tag(node, tag)
    return tag


def _compound(node, depth):
    attrs = _attrs_id(node)
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
        if not t:
            return None
        tags.append(t if t[1] is not None else (t[0], (i,), t[2]))
        if t[2] < since:
            since = t[2]
    key, leaves = combine(tags)
    if key is None:
        return None
    op = node.op
    if op in RESIZABLE:
        return _intern((op, attrs, key)), leaves, since
    return _intern((op, attrs, node.aval.struct(), key)), leaves, since



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
