"""Shape and layout manipulation: reshape, squeeze, expand_dims, concatenate, stack,
resplit, balance and basic indexing.

Slicing keeps each rank's selected rows where they are, so the result may be unbalanced
(``lshape_map`` shows it); later operations line such arrays up by moving rows, and
``balance()`` evens them out on request.
"""

from __future__ import annotations

import math

from . import _core
from .creation import lazy
from .graph.errors import normalize_axis, normalize_split, op_error
from .graph.layout import balanced_counts


def _arr(x):
    return lazy(x)


def reshape(x, shape):
    """``x`` with a new shape of the same size (one dimension may be -1).

    >>> lh.arange(6, split=0).reshape(2, 3).shape
    (2, 3)
    """
    x = _arr(x)
    shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise op_error(ValueError, "reshape", "can only specify one unknown dimension",
                       x.shape, shape)
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or x.size % known:
            raise op_error(ValueError, "reshape", f"cannot reshape array of size {x.size} "
                           f"into shape {shape}", x.shape)
        shape = tuple(x.size // known if s == -1 else s for s in shape)
    if math.prod(shape) != x.size or any(s < 0 for s in shape):
        raise op_error(ValueError, "reshape", f"cannot reshape array of size {x.size} into "
                       f"shape {shape}", x.shape)
    if shape == x.shape:
        return x
    return _core.make("reshape", (x._node,), {"shape": shape})


def squeeze(x, axis=None):
    """Remove axes of length one (all of them when ``axis`` is None)."""
    x = _arr(x)
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = tuple(normalize_axis(a, x.ndim, "squeeze", x.shape)
                     for a in ((axis,) if isinstance(axis, int) else axis))
        if any(x.shape[a] != 1 for a in axes):
            raise op_error(ValueError, "squeeze", "cannot select an axis to squeeze out which "
                           "has size not equal to one", x.shape)
    if x.split in axes:
        # the one slice lives on one rank: scatter it along the longest kept axis (an
        # all-to-all; each rank receives its block), or replicate it if none is left
        kept = [i for i in range(x.ndim) if i not in axes]
        x = resplit(x, max(kept, key=lambda i: (x.shape[i], -i)) if kept else None)
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def expand_dims(x, axis=0):
    """Insert a length-one axis at ``axis`` (an index of the result, in ``[-N-1, N]`` for an
    N-d ``x``, as the Array API), or at each of a tuple of result axes (as NumPy).

    >>> lh.expand_dims(lh.zeros((2, 3)), -1).shape
    (2, 3, 1)
    """
    x = _arr(x)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    nd = x.ndim + len(axes)
    axes = [normalize_axis(a, nd, "expand_dims", x.shape) for a in axes]
    if len(set(axes)) != len(axes):
        raise op_error(ValueError, "expand_dims", f"repeated axis in {axis!r}", x.shape)
    dims = iter(x.shape)
    return reshape(x, tuple(1 if i in axes else next(dims) for i in range(nd)))


def redistribute_to(x, split, counts=None):
    """``x`` laid out as ``split`` with ``counts`` (balanced when None)."""
    if split is not None and counts is None:
        counts = balanced_counts(x.shape[split], x.comm.size)
    if x.split == split and (split is None or x.aval.counts == tuple(counts)):
        return x
    aval = x.aval.with_(split=split, counts=None if split is None else tuple(counts))
    return _core.make("redistribute", (x._node,), {}, aval)


def resplit(x, axis=None):
    """``x`` split along ``axis`` (None: replicated on every rank), balanced.

    >>> lh.ones((4, 6), split=0).resplit(1).split
    1
    """
    x = _arr(x)
    axis = normalize_split(axis, x.ndim, "resplit", x.shape)
    return redistribute_to(x, axis)


def balance(x):
    """``x`` with balanced blocks (moves only rows whose owner changes)."""
    x = _arr(x)
    return x if x.split is None else redistribute_to(x, x.split)


def concatenate(arrays, axis=0):
    """Join arrays along an existing axis (``axis=None`` flattens them first)."""
    arrays = [_arr(a) for a in arrays]
    if not arrays:
        raise op_error(ValueError, "concatenate", "need at least one array to concatenate")
    if axis is None:
        arrays, axis = [reshape(a, (-1,)) for a in arrays], 0
    _core.check_same(arrays, "concatenate")
    nd = arrays[0].ndim
    if nd == 0 or any(a.ndim != nd for a in arrays):
        raise op_error(ValueError, "concatenate", "all inputs must have the same number of "
                       "dimensions (at least 1)", *(a.shape for a in arrays))
    axis = normalize_axis(axis, nd, "concatenate", arrays[0].shape)
    for a in arrays[1:]:
        if any(n != m for i, (n, m) in enumerate(zip(a.shape, arrays[0].shape)) if i != axis):
            raise op_error(ValueError, "concatenate", "shapes must match except along axis "
                           f"{axis}", *(a.shape for a in arrays))
    return _core.make("concatenate", [a._node for a in arrays], {"axis": axis})


def stack(arrays, axis=0):
    """Join same-shaped arrays along a new axis."""
    arrays = [_arr(a) for a in arrays]
    if not arrays:
        raise op_error(ValueError, "stack", "need at least one array to stack")
    if any(a.shape != arrays[0].shape for a in arrays):
        raise op_error(ValueError, "stack", "all input arrays must have the same shape",
                       *(a.shape for a in arrays))
    axis = normalize_axis(axis, arrays[0].ndim + 1, "stack", arrays[0].shape)
    return concatenate([expand_dims(a, axis) for a in arrays], axis)


def getitem(x, key):
    """Basic indexing: ints, slices (any step), ``None`` and ``...``."""
    if not isinstance(key, tuple):
        key = (key,)
    for k in key:
        if not (k is None or k is Ellipsis or isinstance(k, slice) or _is_int(k)):
            raise op_error(IndexError, "getitem", f"only integers, slices, None and ... are "
                           f"supported as indices, got {type(k).__name__}", x.shape)
    if sum(k is Ellipsis for k in key) > 1:
        raise op_error(IndexError, "getitem", "an index can only have a single ellipsis")
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_real > x.ndim:
        raise op_error(IndexError, "getitem", f"too many indices: array is {x.ndim}-dimensional "
                       f"but {n_real} were indexed", x.shape)
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (x.ndim - n_real) + key[i + 1:]
    else:
        key = key + (slice(None),) * (x.ndim - n_real)
    slices, out_shape, ints, ax = [], [], [], 0
    for k in key:
        if k is None:
            out_shape.append(1)
            continue
        n = x.shape[ax]
        if isinstance(k, slice):
            s = k.indices(n)
            slices.append(s)
            out_shape.append(len(range(*s)))
        else:
            i = int(k)
            if not -n <= i < n:
                raise op_error(IndexError, "getitem", f"index {i} is out of bounds for axis "
                               f"{ax} with size {n}", x.shape)
            i %= n
            slices.append((i, i + 1, 1))
            ints.append(ax)
        ax += 1
    out = x
    if any(s != (0, n, 1) for s, n in zip(slices, x.shape)):
        out = _core.make("slice", (x._node,), {"slices": tuple(slices)})
    if x.split in ints:
        out = resplit(out, None)  # a single index along the split axis: one rank has it
    return reshape(out, tuple(out_shape))


def _is_int(k) -> bool:
    return isinstance(k, int) or (hasattr(k, "__index__") and not isinstance(k, (float, bool))
                                  and not hasattr(k, "shape"))
