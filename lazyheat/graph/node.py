"""The one IR node type, its abstract value, and where the user wrote it.

A ``Node`` is immutable: op name, input nodes, attributes (a sorted tuple of hashable pairs),
its ``Aval`` and the user's source location. Structure (op, attrs, aval and the inputs'
structure) identifies the computation regardless of object identity: common-subexpression
elimination and the plan cache build flat keys of it per pass (see ``passes/cse.py``). Leaves
that hold data carry a unique buffer in their attrs, so two different data never compare
equal.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from .dtypes import DType
from .layout import balanced_counts, local_shape

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


@dataclass(frozen=True, slots=True)
class Aval:
    """Abstract value: global shape, dtype, layout (split + per-rank counts), device, comm."""

    shape: tuple
    dtype: DType
    split: int | None
    counts: tuple | None
    device: str
    comm: object = field(compare=False, hash=False, repr=False)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def layout(self) -> tuple:
        return (self.split, self.counts)

    @property
    def balanced(self) -> bool:
        return self.split is None or self.counts == balanced_counts(
            self.shape[self.split], len(self.counts))

    def local_shape(self, rank: int) -> tuple:
        return local_shape(self.shape, self.split, self.counts, rank)

    def with_(self, **kw) -> Aval:
        d = {f: getattr(self, f) for f in ("shape", "dtype", "split", "counts", "device", "comm")}
        d.update(kw)
        return Aval(**d)

    def type_str(self) -> str:
        """``f32[1000@0, 8]``: the dtype and shape, the split axis marked with ``@0``."""
        dims = [f"{n}@{i}" if i == self.split else str(n) for i, n in enumerate(self.shape)]
        if self.split is not None and not self.balanced:
            dims[self.split] += "~"  # unbalanced blocks
        return f"{self.dtype.short}[{', '.join(dims)}]"

    def struct(self) -> tuple:
        return (self.shape, self.dtype.name, self.split, self.counts, self.device)


class Node:
    """One immutable operation in the expression DAG."""

    __slots__ = ("op", "inputs", "attrs", "aval", "loc", "__weakref__")

    def __init__(self, op: str, inputs: tuple, attrs: dict | tuple, aval: Aval, loc: str = ""):
        items = tuple(sorted(attrs.items())) if isinstance(attrs, dict) else tuple(attrs)
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "inputs", tuple(inputs))
        object.__setattr__(self, "attrs", items)
        object.__setattr__(self, "aval", aval)
        object.__setattr__(self, "loc", loc)

    def __setattr__(self, name, value):
        raise AttributeError("Node is immutable")

    def attr(self, name, default=None):
        for k, v in self.attrs:
            if k == name:
                return v
        return default

    def __repr__(self) -> str:
        return f"Node({self.op}, {self.aval.type_str()})"


def _canon(v):
    """Attributes as key material: floats by their bits, so 0.0 and -0.0 stay distinct (and
    NaN equals NaN); containers recursively. Type dispatch keeps it cheap: the plan cache
    keys every node of every graph it sees."""
    t = type(v)
    if t is tuple:
        return tuple([_canon(x) for x in v])
    if t is float:
        return ("f", v.hex())
    if t is complex:
        return ("c", v.real.hex(), v.imag.hex())
    return v


def canonical(attrs) -> tuple:
    """A node's attribute pairs as key material (see ``_canon``), for the plan cache."""
    out = []
    for k, v in attrs:
        t = type(v)
        out.append((k, _canon(v) if t is float or t is tuple or t is complex else v))
    return tuple(out)


def topo_order(outputs, inputs_of=None) -> list[Node]:
    """Inputs before users, deterministic (depth-first in input order), each node once.
    ``inputs_of(node)``, when given, says which nodes a node depends on (default: its
    inputs); passes use it to walk a graph with substitutions or extra ordering edges."""
    deps = inputs_of or (lambda n: n.inputs)
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


_INTERNAL: dict = {}  # file name -> (inside lazyheat or frozen, base name)


def user_location() -> str:
    """``file:line`` of the innermost frame outside the lazyheat package (the user's line).
    Called for every node built, so file names are classified once and remembered."""
    f = sys._getframe(1)
    while f is not None:
        name = f.f_code.co_filename
        info = _INTERNAL.get(name)
        if info is None:
            inside = name.startswith(_PKG_DIR) or name.startswith("<frozen")
            info = _INTERNAL[name] = (inside, os.path.basename(name))
        if not info[0]:
            return f"{info[1]}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"
