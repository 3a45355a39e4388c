"""Shared plumbing of the public API: communicators, devices, operand conversion, node
construction with the user's source line, and the registry of materialized results."""

from __future__ import annotations

import os
import weakref

import numpy as np
import torch

from ._array import LazyArray
from .graph import Aval, Node, as_dtype, user_location
from .graph.errors import op_error
from .graph.ops import abstract_eval
from .runtime.comm import Comm, install_world, world

# at import, before any user code can fail: the abort-on-failure hook and the end-of-script
# handshake are active from ``import lazyheat`` (see runtime/comm.py install_world)
install_world()

class _Standins:
    """Logical node -> the materialized leaf holding its value, kept while the node is alive.

    Every compute looks up every node of its graph here, so entries are keyed by ``id``: a
    plain dict lookup, where a ``WeakKeyDictionary`` makes a weak reference per lookup. A
    node's entry goes when the node dies (its weak reference's callback runs before the
    memory, and so the id, can be reused), so an id never finds another node's entry."""

    __slots__ = ("entries",)

    def __init__(self):
        self.entries = {}  # id(node) -> (weak reference to the node, its leaf); read-only

    def __setitem__(self, node, leaf):
        k, entries = id(node), self.entries
        entries[k] = (weakref.ref(node, lambda _, k=k: entries.pop(k, None)), leaf)


MATERIALIZED = _Standins()
# materialized leaf -> the logical node ``explain(analyze=True)`` computed it from
ANALYZED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_comm(comm=None) -> Comm:
    """A lazyheat ``Comm`` from None (world), a ``Comm`` or an mpi4py communicator."""
    if comm is None:
        return world()
    if isinstance(comm, Comm):
        return comm
    if hasattr(comm, "Get_rank") and hasattr(comm, "Allreduce"):
        return _wrapped(comm)
    raise TypeError(f"comm must be None, a lazyheat Comm or an mpi4py communicator, got {comm!r}")


_WRAPPED: dict = {}


def _wrapped(mpi_comm) -> Comm:
    # one Comm per mpi4py communicator, so arrays built on it compare as the same comm
    key = mpi_comm.py2f() if hasattr(mpi_comm, "py2f") else id(mpi_comm)
    if key not in _WRAPPED:
        _WRAPPED[key] = world() if mpi_comm == world().mpi else Comm(mpi_comm)
    return _WRAPPED[key]


_default_device: str | None = None  # set by use_device; None: LAZYHEAT_DEVICE, else "cpu"


def use_device(device) -> None:
    """Make ``device`` ("cpu" or "gpu") the default of every creation function that is not
    given ``device=``, as HeAT's ``ht.use_device``. The ``LAZYHEAT_DEVICE`` environment
    variable sets the same default for a whole run (``LAZYHEAT_DEVICE=gpu mpiexec ...``).

    >>> lh.use_device("cpu")
    """
    global _default_device
    _default_device = get_device(device if device is not None else "cpu")


def default_device() -> str:
    if _default_device is None:
        return get_device(os.environ.get("LAZYHEAT_DEVICE") or "cpu")
    return _default_device


def get_device(device=None) -> str:
    """"cpu", or "cuda" for "gpu"/"cuda"/"cuda:N" where torch sees a GPU; None means the
    default (``use_device``)."""
    if device is None:
        return default_device()
    name = str(device).lower()
    if name == "cpu":
        return "cpu"
    if name in ("gpu", "cuda") or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise op_error(ValueError, "device", f"device {device!r} requested but torch "
                           "sees no GPU")
        return "cuda"
    raise op_error(ValueError, "device", f"unknown device {device!r}; use 'cpu' or 'gpu'")


_CPU = torch.device("cpu")


def torch_device(device: str, comm: Comm) -> torch.device:
    if device == "cuda":
        return torch.device("cuda", comm.rank % torch.cuda.device_count())
    return _CPU


def make(op: str, inputs, attrs: dict, aval: Aval | None = None):
    """A new lazy array for ``op`` over input nodes; the node records the user's source line.
    Its aval comes from the op's abstract evaluation (shape, dtype and layout rule in the
    registry) unless given (leaves, whose aval is the creation function's)."""
    if aval is None:
        aval = abstract_eval(op, [i.aval for i in inputs], attrs)
    return LazyArray(Node(op, tuple(inputs), attrs, aval, user_location(2)))


def is_scalar(x) -> bool:
    return isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic)


def check_same(arrays, op: str) -> None:
    """Operands must share communicator and device (a build-time error otherwise)."""
    if not arrays:
        return
    a0 = arrays[0].aval
    for a in arrays[1:]:
        if a.aval.comm is not a0.comm:
            raise op_error(ValueError, op, "operands live on different communicators",
                           *(x.shape for x in arrays))
        if a.aval.device != a0.device:
            raise op_error(ValueError, op, f"operands on different devices ({a0.device} and "
                           f"{a.aval.device})", *(x.shape for x in arrays))


def dtype_or_none(dtype):
    return None if dtype is None else as_dtype(dtype)
