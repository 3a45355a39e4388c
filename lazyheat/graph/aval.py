"""Abstract values: what a node's value is, known without data.

An ``Aval`` describes one array: global shape, dtype, layout (split + per-rank counts),
device and communicator. A ``TupleAval`` describes a value made of several arrays: the state
a reduction carries between ranks (argmin's value and index, the moments' count, mean and M2),
the gathered states of several ranks, or the results of one batched collective. Byte counts
(communication cost, peak memory) are read off avals, never off the runtime's tuple layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .dtypes import DType
from .layout import balanced_counts, local_shape


@dataclass(frozen=True, slots=True, init=False)
class Aval:
    """Abstract value: global shape, dtype, layout (split + per-rank counts), device, comm."""

    shape: tuple
    dtype: DType
    split: int | None
    counts: tuple | None
    device: str
    comm: object = field(compare=False, hash=False, repr=False)

    def __init__(self, shape, dtype, split, counts, device, comm):
        # (every node built makes one: the frozen fields are set through their slots'
        # descriptors, half the time of the generated ``object.__setattr__`` calls)
        _set_shape(self, shape)
        _set_dtype(self, dtype)
        _set_split(self, split)
        _set_counts(self, counts)
        _set_device(self, device)
        _set_comm(self, comm)

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

    @property
    def parts(self) -> tuple:
        """The arrays this value is made of: itself."""
        return (self,)

    @property
    def local_nbytes(self) -> int:
        """Bytes of the largest rank's block."""
        if self.split is None or not self.shape[self.split]:
            return self.nbytes
        return self.nbytes // self.shape[self.split] * max(self.counts)


_set_shape, _set_dtype, _set_split, _set_counts, _set_device, _set_comm = (
    Aval.__dict__[name].__set__ for name in ("shape", "dtype", "split", "counts", "device",
                                              "comm"))


@dataclass(frozen=True, slots=True)
class TupleAval:
    """A value made of several arrays (``parts``), each with its own ``Aval`` (or a
    ``TupleAval``: a batch of states), named by ``names``. A rank's partial state and every
    rank's gathered states are replicated-layout parts; a local moments state has parts laid
    out like the result they belong to. The tuple as a whole has no layout of its own: it is
    never redistributed, only read by the ops that made it for that purpose."""

    parts: tuple
    names: tuple

    def __post_init__(self):
        if len(self.parts) != len(self.names) or not self.parts:
            raise ValueError("TupleAval needs one name per part, and at least one part")

    @property
    def comm(self):
        return self.parts[0].comm

    @property
    def device(self) -> str:
        return self.parts[0].device

    # no layout as a whole (see above); these keep code that walks any node's aval uniform
    split = None
    counts = None
    layout = (None, None)
    balanced = True

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.parts)

    @property
    def local_nbytes(self) -> int:
        return sum(p.local_nbytes for p in self.parts)

    def part(self, name: str) -> Aval:
        return self.parts[self.names.index(name)]

    def with_(self, **kw) -> TupleAval:
        """Every part with the same change (a new communicator, for re-planning)."""
        return TupleAval(tuple(p.with_(**kw) for p in self.parts), self.names)

    def type_str(self) -> str:
        """``(count: f64[], mean: f64[8], m2: f64[8])``."""
        return "(" + ", ".join(f"{n}: {p.type_str()}" for n, p in zip(self.names, self.parts)) \
            + ")"

    def struct(self) -> tuple:
        return ("tuple", self.names, tuple(p.struct() for p in self.parts))
