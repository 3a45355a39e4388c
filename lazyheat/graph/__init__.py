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
    buffers never share a structural key; ``value`` is the runtime's local tensor.

    ``crc``: for data every rank passed in full (``lh.array``), a checksum of it that the
    next collective step compares between ranks (then reset to None); ``loc``: the user's
    line that created it, for that comparison's message."""

    __slots__ = ("id", "value", "crc", "loc", "__weakref__")
    _next = 0

    def __init__(self, value, crc=None, loc=""):
        Buffer._next += 1
        self.id = Buffer._next
        self.value = value
        self.crc, self.loc = crc, loc

    def __repr__(self) -> str:
        return f"buf{self.id}"

    def __lt__(self, other):
        return self.id < other.id


__all__ = ["Aval", "Buffer", "DType", "Node", "TupleAval", "as_dtype", "rebuild", "rewrite",
           "topo_order", "use_counts", "user_location", "users"]
