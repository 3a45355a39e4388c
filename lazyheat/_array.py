"""``LazyArray``: the user's handle on a node of the expression graph.

Metadata (shape, dtype, split, device, local shapes) is known at once; values are computed
only on ``compute()``, ``numpy()``, ``item()``, ``larray`` and friends. After ``compute()`` the
array points at a materialized leaf, and expressions built earlier on it reuse that result.
"""

from __future__ import annotations

from . import printing
from .graph.signature import stamp


class LazyArray:
    """A lazy, possibly distributed array (HeAT's DNDarray, deferred).

    >>> import lazyheat as lh
    >>> x = lh.arange(6, split=0).reshape(2, 3)
    >>> x.shape, x.split
    ((2, 3), 0)
    >>> (x * 2).sum().item()
    30
    """

    __slots__ = ("_node", "__weakref__")

    def __init__(self, node):
        self._node = node
        if node.tag is None:  # the plan cache's key, made as the graph grows
            stamp(node)

    # ------------------------------------------------------------ metadata
    @property
    def aval(self):
        return self._node.aval

    @property
    def shape(self) -> tuple:
        return self._node.aval.shape

    @property
    def dtype(self):
        return self._node.aval.dtype

    @property
    def split(self):
        return self._node.aval.split

    @property
    def device(self) -> str:
        return self._node.aval.device

    @property
    def comm(self):
        return self._node.aval.comm

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return self._node.aval.size

    @property
    def nbytes(self) -> int:
        return self._node.aval.nbytes

    @property
    def gshape(self) -> tuple:
        return self.shape

    @property
    def lshape(self) -> tuple:
        """Shape of this rank's block (known without computing)."""
        return self.aval.local_shape(self.comm.rank)

    @property
    def lshape_map(self) -> tuple:
        """Every rank's local shape, in rank order."""
        return tuple(self.aval.local_shape(r) for r in range(self.comm.size))

    @property
    def is_balanced(self) -> bool:
        return self.aval.balanced

    @property
    def is_materialized(self) -> bool:
        return self._node.op == "data"

    def __repr__(self) -> str:
        """A computed array: its values, NumPy style, on rank 0 (other ranks get ''; for a
        split array every rank must call it: it gathers the items shown). A lazy array:
        its metadata, nothing computed. See ``lazyheat.printing``."""
        return printing.array_repr(self)

    def __str__(self) -> str:
        """What ``print(x)`` shows: ``repr(x)`` on rank 0 and '' elsewhere, lazy arrays
        included, so a job prints each array once (as HeAT prints a DNDarray)."""
        text = printing.array_repr(self)
        return text if self.comm.rank == 0 else ""

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object (0-d lazy array)")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # ------------------------------------------------------------ materializing
    # ``compute``, ``larray`` and ``numpy`` run plans: ``_methods`` attaches them from the
    # planner, so this module stays below the planner in the import graph.

    def __array__(self, dtype=None, copy=None):
        out = self.numpy()
        return out.astype(dtype) if dtype is not None else out

    def item(self):
        """The single element as a Python scalar."""
        if self.size != 1:
            raise ValueError(f"item(): can only convert an array of size 1, got shape "
                             f"{self.shape}")
        if self.split is None or self.comm.size == 1:
            # this rank holds the element: read it off the tensor (no NumPy copy, no
            # message), the same Python scalar ``numpy()`` would give
            return self.larray.item()
        return self.numpy().reshape(()).item()

    def _scalar(self):
        if self.size != 1:
            raise TypeError(f"only size-1 arrays can be converted to Python scalars, got "
                            f"shape {self.shape}")
        return self.item()

    def __float__(self):
        return float(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def __complex__(self):
        return complex(self._scalar())

    def __index__(self):
        if not self.dtype.is_integer:
            raise TypeError("only integer arrays can be used as an index")
        return int(self.item())

    def __bool__(self):
        if self.size != 1:
            raise ValueError("the truth value of an array with more than one element is "
                             "ambiguous; use a.any() or a.all()")
        return bool(self.item())

    def tolist(self):
        return self.numpy().tolist()

    def __setitem__(self, key, value):
        """``x[key] = value`` as a lazy functional update (attached by ``_methods``)."""
        raise NotImplementedError

    def __hash__(self):
        return id(self)

