"""The one IR node type, its abstract value, and where the user wrote it.

A ``Node`` is immutable: op name, input nodes, attributes (a sorted tuple of hashable pairs),
its ``Aval`` and the user's source location. Structure (op, attrs, aval and the inputs'
structure) identifies the computation regardless of object identity: common-subexpression
elimination and the plan cache build flat keys of it per pass (see ``passes/cse.py``). Leaves
that hold data carry a unique buffer in their attrs, so two different data never compare
equal.
"""

from __future__ import annotations

from .aval import Aval, TupleAval  # noqa: F401 - re-exported: nodes carry them


class Node:
    """One immutable operation in the expression DAG."""

    __slots__ = ("op", "inputs", "attrs", "aval", "loc", "plain", "tag", "__weakref__")

    def __init__(self, op: str, inputs: tuple, attrs: dict | tuple, aval: Aval, loc: str = "",
                 plain: bool = False):
        # (called for every node built: a tuple of attributes is taken as already sorted,
        # and the slots are set through their descriptors, past ``__setattr__``)
        if type(attrs) is not tuple:
            attrs = tuple(sorted(attrs.items())) if isinstance(attrs, dict) else tuple(attrs)
        _set_op(self, op)
        _set_inputs(self, inputs if type(inputs) is tuple else tuple(inputs))
        _set_attrs(self, attrs)
        _set_aval(self, aval)
        _set_loc(self, loc)
        # the builder vouches that no attribute holds a float or complex value at any depth:
        # the attributes are their own key material (``canonical``), for the plan cache
        _set_plain(self, plain)
        # the structural signature of a node users built (``signature.stamp``), or None
        _set_tag(self, None)

    def __setattr__(self, name, value):
        raise AttributeError("Node is immutable")

    def attr(self, name, default=None):
        for k, v in self.attrs:
            if k == name:
                return v
        return default

    def __repr__(self) -> str:
        return f"Node({self.op}, {self.aval.type_str()})"


_set_op, _set_inputs, _set_attrs, _set_aval, _set_loc, _set_plain, _set_tag = (
    Node.__dict__[name].__set__ for name in ("op", "inputs", "attrs", "aval", "loc", "plain",
                                             "tag"))


def _canon(v):
    """Attributes as key material: floats by their bits, so 0.0 and -0.0 stay distinct (and
    NaN equals NaN); containers recursively. Type dispatch keeps it cheap: the plan cache
    keys every node of every graph it sees."""
    t = type(v)
    if t is tuple:
        for x in v:  # a tuple of plain values (axes, a shape) is its own key material
            tx = type(x)
            if tx is tuple or tx is float or tx is complex:
                return tuple([_canon(x) for x in v])
        return v
    if t is float:
        return ("f", v.hex())
    if t is complex:
        return ("c", v.real.hex(), v.imag.hex())
    return v


def canonical(attrs) -> tuple:
    """A node's attribute pairs as key material (see ``_canon``), for the plan cache: the
    pairs themselves when no value needs a change."""
    for _, v in attrs:
        t = type(v)
        if t is float or t is tuple or t is complex:
            break
    else:
        return attrs
    return tuple([(k, _canon(v)) for k, v in attrs])


