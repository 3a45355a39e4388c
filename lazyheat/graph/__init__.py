"""The IR: nodes, abstract values, layouts and op rules. Free of torch and mpi4py."""

from .dtypes import DType, as_dtype
from .node import Aval, Node, topo_order, user_location


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


__all__ = ["Aval", "Buffer", "DType", "Node", "as_dtype", "topo_order", "user_location"]
