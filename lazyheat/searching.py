"""Searching and running values: ``nonzero``, ``argwhere``, ``flatnonzero``,
``count_nonzero``, the cumulative products and NaN-skipping scans, and ``diff``.

``nonzero`` is data dependent: the positions where x is not zero are selected from x's own
global C-order positions (built elementwise on x's layout, no data moved) by a boolean mask
(the planned break of ``indexing.select``), then split into coordinates elementwise. Scans
along the split axis carry one slice per rank (see ``graph/scan.py``); ``diff`` along the
split axis is ``x[1:] - x[:-1]``, which the planner lines up by moving the boundary rows
only (one row per rank).
"""

from __future__ import annotations

import builtins

import numpy as np

from . import _core
from . import elementwise as ew
from .creation import arange, array, full, lazy, zeros
from .graph import dtypes as dt
from .graph.errors import normalize_axis, op_error
from .indexing import select
from .manipulation import concatenate, getitem, redistribute_to, reshape, stack
from .reductions import cumsum
from .reductions import sum as _sum

__all__ = ["isin", "cumprod", "cumulative_prod", "nancumsum", "nancumprod", "diff", "nonzero",
           "argwhere", "flatnonzero", "count_nonzero"]


# ---------------------------------------------------------------- scans
def cumprod(x, axis=None, dtype=None):
    """Cumulative product along ``axis`` (of the flattened array when None), as NumPy:
    bools and signed integers accumulate in int64, unsigned ones in uint64, ``dtype=bool``
    gives the running logical and. Along the split axis each rank multiplies its scan by
    the products of the blocks before it (one all-gather of a slice per rank).

    >>> lh.cumprod(lh.arange(1, 6, split=0)).numpy()
    array([  1,   2,   6,  24, 120])
    """
    x = lazy(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis = normalize_axis(axis, builtins.max(x.ndim, 1), "cumprod", x.shape)
    if x.ndim == 0:
        x = reshape(x, (1,))
    if dtype is not None and dt.as_dtype(dtype) == dt.bool_:  # a running "all"
        return cumprod(ew.astype(x, dt.bool_), axis, dt.int64) > 0
    attrs = {"axis": axis}
    if dtype is not None:
        attrs["dtype"] = dt.as_dtype(dtype)
    return _core.make("cumprod", (x._node,), attrs)


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False):
    """The Array API's cumulative product: ``axis`` may be omitted for 1-D input only, and
    ``include_initial=True`` starts the result with a one (one more element along ``axis``).

    >>> lh.cumulative_prod(lh.arange(1, 4, split=0), include_initial=True).numpy()
    array([1, 1, 2, 6])
    """
    x = lazy(x)
    if axis is None:
        if x.ndim != 1:
            raise op_error(ValueError, "cumulative_prod", "axis must be given for arrays of "
                           f"more than one dimension (got {x.ndim})", x.shape)
        axis = 0
    out = cumprod(x, axis, dtype)
    if not include_initial:
        return out
    axis = normalize_axis(axis, out.ndim, "cumulative_prod", out.shape)
    shape = tuple(1 if i == axis else n for i, n in enumerate(out.shape))
    first = full(shape, 1, dtype=out.dtype, device=out.device, comm=out.comm)
    return concatenate([first, out], axis)


def _nan_to(x, value):
    x = lazy(x)
    return ew.where(ew.isnan(x), value, x) if x.dtype.is_inexact else x


def nancumsum(x, axis=None, dtype=None):
    """Cumulative sum treating NaN as zero, as ``numpy.nancumsum``.

    >>> lh.nancumsum(lh.array([1.0, float("nan"), 2.0], split=0)).numpy()
    array([1., 1., 3.], dtype=float32)
    """
    return cumsum(_nan_to(x, 0), axis, dtype)


def nancumprod(x, axis=None, dtype=None):
    """Cumulative product treating NaN as one, as ``numpy.nancumprod``.

    >>> lh.nancumprod(lh.array([2.0, float("nan"), 3.0], split=0)).numpy()
    array([2., 2., 6.], dtype=float32)
    """
    return cumprod(_nan_to(x, 1), axis, dtype)


# ---------------------------------------------------------------- diff
def _edge(v, x, axis, what):
    """``prepend``/``append`` as an array fitting x along the other axes (a scalar is
    broadcast to length one along ``axis``, as NumPy)."""
    v = v if isinstance(v, type(x)) else array(np.asarray(v), comm=x.comm, device=x.device)
    if v.ndim == 0:
        shape = tuple(1 if i == axis else n for i, n in enumerate(x.shape))
        return ew.where(full(shape, True, dtype=dt.bool_, comm=x.comm, device=x.device), v, v)
    if v.ndim != x.ndim:
        raise op_error(ValueError, "diff", f"{what} must have the same number of dimensions "
                       "as x (or be a scalar)", x.shape, v.shape)
    return v


def diff(x, /, *, axis=-1, n=1, prepend=None, append=None):
    """The n-th discrete difference along ``axis``, as ``numpy.diff`` (``x[1:] - x[:-1]``,
    ``!=`` for booleans). Along the split axis each rank needs one boundary row of its
    neighbour: the shifted slices are lined up by moving those rows only.

    >>> lh.diff(lh.array([1, 4, 9, 16], split=0)).numpy()
    array([3, 5, 7])
    """
    x = lazy(x)
    if x.ndim == 0:
        raise op_error(ValueError, "diff", "diff requires input that is at least one "
                       "dimensional", x.shape)
    axis = normalize_axis(axis, x.ndim, "diff", x.shape)
    if not isinstance(n, int) or n < 0:
        raise op_error(ValueError, "diff", f"order must be a non-negative int, got {n!r}")
    parts = [x]
    if prepend is not None:
        parts.insert(0, _edge(prepend, x, axis, "prepend"))
    if append is not None:
        parts.append(_edge(append, x, axis, "append"))
    if len(parts) > 1:
        x = concatenate(parts, axis)
    for _ in range(n):
        if x.shape[axis] == 0:
            break
        hi = getitem(x, (slice(None),) * axis + (slice(1, None),))
        lo = getitem(x, (slice(None),) * axis + (slice(None, -1),))
        x = hi != lo if x.dtype == dt.bool_ else hi - lo
    return x


# ---------------------------------------------------------------- nonzero
def _positions(x):
    """x's global C-order positions (int64), laid out as x: built elementwise from one
    small range per axis, so no data moves."""
    lin = zeros(x.shape, dtype=dt.int64, split=x.split, device=x.device, comm=x.comm)
    stride = 1
    for d in reversed(range(x.ndim)):
        shape = tuple(x.shape[d] if i == d else 1 for i in range(x.ndim))
        ar = reshape(arange(x.shape[d], dtype=dt.int64, device=x.device, comm=x.comm), shape)
        lin = lin + ar * stride if stride != 1 else lin + ar
        stride *= x.shape[d]
    return lin


def _mask(x):
    return x if x.dtype == dt.bool_ else x != 0


def _flat_nonzero(x):
    """C-order positions of x's nonzero entries (1-D int64, a plan break)."""
    return select(_positions(x), _mask(x))


def nonzero(x):
    """Indices of the nonzero entries, one int64 array per axis, in C order (Array API
    ``nonzero``). Data dependent: building it computes x (a plan break).

    >>> x = lh.array([[0, 3], [4, 0]], split=0)
    >>> [a.numpy() for a in lh.nonzero(x)]
    [array([0, 1]), array([1, 0])]
    """
    x = lazy(x)
    if x.ndim == 0:
        raise op_error(ValueError, "nonzero", "calling nonzero on 0d arrays is not allowed; "
                       "use atleast_1d(x).nonzero() instead", x.shape)
    flat = _flat_nonzero(x)
    out, stride = [], 1
    for d in reversed(range(x.ndim)):
        c = flat if stride == 1 else flat // stride
        out.append(c % x.shape[d] if d > 0 else c)
        stride *= x.shape[d]
    return tuple(reversed(out))


def argwhere(x):
    """The indices of the nonzero entries as rows of an ``(n, x.ndim)`` int64 array, as
    ``numpy.argwhere``.

    >>> lh.argwhere(lh.array([[0, 3], [4, 0]], split=0)).numpy()
    array([[0, 1],
           [1, 0]])
    """
    x = lazy(x)
    if x.ndim == 0:
        count = int(_sum(_mask(x)))
        return zeros((count, 0), dtype=dt.int64, device=x.device, comm=x.comm)
    return stack(nonzero(x), axis=1)


def flatnonzero(x):
    """Positions of the nonzero entries of the flattened array, as ``numpy.flatnonzero``.

    >>> lh.flatnonzero(lh.array([0, 2, 0, 5], split=0)).numpy()
    array([1, 3])
    """
    x = lazy(x)
    return _flat_nonzero(reshape(x, (-1,)) if x.ndim != 1 else x)


def count_nonzero(x, axis=None, keepdims=False):
    """The number of nonzero entries (along ``axis``), as ``numpy.count_nonzero``: a sum of
    ``x != 0``.

    >>> lh.count_nonzero(lh.array([0, 2, 0, 5], split=0)).item()
    2
    """
    return _sum(_mask(lazy(x)), axis=axis, keepdims=keepdims, dtype=dt.int64)


def where(condition, x=None, y=None):
    """``where(cond, x, y)`` elementwise, or with one argument ``nonzero(cond)``."""
    if x is None and y is None:
        return nonzero(condition)
    if x is None or y is None:
        raise op_error(ValueError, "where", "either both or neither of x and y should be given")
    return ew.where(condition, x, y)


def isin(x1, x2, /, *, invert=False):
    """Whether each element of ``x1`` is among the elements of ``x2`` (``invert``: is not),
    with ``x1``'s shape and layout.

    ``x2`` is sorted (a distributed sample sort when split); then each element of ``x1``
    finds its insertion point by ``searchsorted`` and compares with the value there. The
    smaller operand is the one that moves: a ``x2`` no larger than ``x1`` is replicated
    after sorting (``x1`` stays where it is, every step local); a larger ``x2`` stays split
    and the positions are looked up at their owners.

    >>> lh.isin(lh.array([1, 5, 2], split=0), lh.array([2, 3])).numpy()
    array([False, False,  True])
    """
    from .indexing import take
    from .sorting import searchsorted, sort

    a = lazy(x1)
    b = x2 if hasattr(x2, "_node") else array(x2, comm=a.comm, device=a.device)
    _core.check_same([a, b], "isin")
    if b.size == 0:
        return full(a.shape, bool(invert), dtype=dt.bool_, split=a.split, device=a.device,
                    comm=a.comm)
    s = sort(reshape(b, (-1,)))
    if s.split is not None and b.size <= a.size:
        s = redistribute_to(s, None)
    flat = reshape(a, (-1,))
    pos = ew.minimum(searchsorted(s, flat), s.shape[0] - 1)
    found = ew.equal(take(s, pos), flat)
    found = reshape(found, a.shape)
    if found.split != a.split:
        found = redistribute_to(found, a.split, a.aval.counts if a.split is not None else None)
    return ew.logical_not(found) if invert else found
