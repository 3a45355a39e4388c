"""The IR: nodes, abstract values, layouts, the op registry and the cost model. Free of
torch and mpi4py, so plans can be made for any world size in a plain process."""

from . import ops  # noqa: F401 - registers every op definition
from .aval import Aval, TupleAval
from .dtypes import DType, as_dtype
from .node import Node
from .source import user_location
from .traverse import rebuild, rewrite, topo_order, use_counts, users


class Buffer:
    """A handle on data a rank already holds (a materialized leaf). Hashes by identity so two
    buffers never share a structural key; ``value`` is the runtime's local tensor."""

    __slots__ = ("id", "value", "__weakref__")
    _next = 0

    def __init__(self, value):
        Buffer._next += 1
        self.id = Buffer._next
        self.value = value

    def __repr__(self) -> str:
        return f"buf{self.id}"

    def __lt__(self, other):
        return self.id < other.id


__all__ = ["Aval", "Buffer", "DType", "Node", "TupleAval", "as_dtype", "rebuild", "rewrite",
           "topo_order", "use_counts", "user_location", "users"]
