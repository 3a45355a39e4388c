"""Broadcasting: ``broadcast_to`` (a lazy view, the ``broadcast_to`` movement op) and
``broadcast_arrays``, with the argument helpers the shaping functions share.

A split axis that keeps its length keeps its blocks; one broadcast from length one is split,
balanced, over its new length (every rank needs the small input whole: one all-gather).

>>> lh.broadcast_to(lh.arange(3, split=0), (2, 3)).split
1
"""

from __future__ import annotations

import operator

from . import _core
from .creation import lazy
from .graph import rules as ru
from .graph.errors import op_error
from .manipulation import getitem


def _int(v, op: str, what: str) -> int:
    try:
        if isinstance(v, bool):
            raise TypeError
        return operator.index(v)
    except TypeError:
        raise op_error(TypeError, op, f"{what} must be an int, got {v!r}") from None


def _ints(v, op: str, what: str) -> tuple:
    """An int or a sequence of ints as a tuple of ints."""
    if isinstance(v, (list, tuple)):
        return tuple(_int(i, op, what) for i in v)
    if hasattr(v, "shape") and getattr(v, "ndim", 0) == 1:  # a 1-d NumPy array
        return tuple(_int(i, op, what) for i in v.tolist())
    return (_int(v, op, what),)


def _permute(x, perm):
    """``x`` with its axes permuted by ``perm`` (already validated); the split moves with its
    axis. Built here rather than through ``linalg`` so that linalg may use the shaping
    functions without an import cycle."""
    perm = tuple(perm)
    if perm == tuple(range(x.ndim)):
        return x
    return _core.make("transpose", (x._node,), {"perm": perm})


def _along(x, axis: int, key):
    """``x[..., key, ...]`` with ``key`` (an int or a slice) at ``axis``."""
    return getitem(x, (slice(None),) * axis + (key,))


# ---------------------------------------------------------------- broadcasting
def broadcast_to(x, shape):
    """``x`` broadcast to ``shape`` (NumPy rules), lazily and without copying.

    A split axis that keeps its length keeps its blocks; one broadcast from length one is
    split (balanced) over the new length, from the whole small input on every rank.

    >>> lh.broadcast_to(lh.arange(3), (2, 3)).numpy()
    array([[0, 1, 2],
           [0, 1, 2]])
    """
    x = lazy(x)
    shape = _ints(shape, "broadcast_to", "shape")
    if any(n < 0 for n in shape):
        raise op_error(ValueError, "broadcast_to", f"all elements of broadcast shape must be "
                       f"non-negative, got {shape}", x.shape)
    off = len(shape) - x.ndim
    if off < 0 or any(n != 1 and n != shape[off + i] for i, n in enumerate(x.shape)):
        raise op_error(ValueError, "broadcast_to", f"cannot broadcast an array of shape "
                       f"{x.shape} to shape {shape}", x.shape, shape)
    if shape == x.shape:
        return x
    return _core.make("broadcast_to", (x._node,), {"shape": shape})


def broadcast_shapes(*shapes):
    """The shape that arrays of ``shapes`` broadcast to (NumPy's ``broadcast_shapes``).

    >>> lh.broadcast_shapes((3, 1), (4,))
    (3, 4)
    """
    shapes = [_ints(s, "broadcast_shapes", "shape") for s in shapes]
    return ru.broadcast_shapes(shapes, "broadcast_shapes") if shapes else ()


def broadcast_arrays(*arrays):
    """The arrays broadcast against each other (a list, as the Array API).

    >>> [a.shape for a in lh.broadcast_arrays(lh.ones((3, 1)), lh.ones(4))]
    [(3, 4), (3, 4)]
    """
    arrays = [lazy(a) for a in arrays]
    if not arrays:
        return []
    _core.check_same(arrays, "broadcast_arrays")
    shape = ru.broadcast_shapes([a.shape for a in arrays], "broadcast_arrays")
    return [broadcast_to(a, shape) for a in arrays]
