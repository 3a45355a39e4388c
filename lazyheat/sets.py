"""Set functions (Array API 2024.12 and NumPy's ``unique``), distributed for real.

The flattened array is sorted (a sample sort when split: see ``sorting``), and because the
number of unique values depends on the data, building a result is a plan break, as boolean
masks are: the sort runs, one small all-gather (the last key of each block) finds where runs
of equal values begin, and every rank's count of unique values is gathered (p rows). The
results are then built with those counts in their avals: split along axis 0 as the runs fall
(unbalanced; ``balance()`` evens them out), sorted ascending, each value on the rank where
its run begins. The inverse indices travel back to the original layout with one all-to-all.
``explain`` shows the break. As the Array API says, NaNs are distinct (each its own unique
value); NumPy's ``unique`` collapses them (``equal_nan=True``).

Integer data whose values span a small range (at most 2^24 values, and no more than one
rank's share of the elements) is counted instead of sorted, unless first indices are asked
for: a small min/max plan, then each rank's ``bincount`` of its block and one all-reduce of
the range's counts; the values are where the counts are non-zero (a break on a replicated
vector), the counts those, and the inverse a ``searchsorted`` of every element in them. No
element moves between ranks. Values and counts are then split along axis 0 and balanced.
"""

from __future__ import annotations

from typing import NamedTuple

from . import _core
from ._array import LazyArray
from .creation import lazy
from .graph import Aval
from .graph import dtypes as dt
from .graph.sort import check_sortable
from .manipulation import reshape, resplit
from .planner import compute
from .searching import nonzero
from .sorting import searchsorted
from .statistics import flat

__all__ = ["unique_values", "unique_counts", "unique_inverse", "unique_all", "unique",
           "UniqueAllResult", "UniqueCountsResult", "UniqueInverseResult"]


class UniqueAllResult(NamedTuple):
    values: LazyArray
    indices: LazyArray
    inverse_indices: LazyArray
    counts: LazyArray


class UniqueCountsResult(NamedTuple):
    values: LazyArray
    counts: LazyArray


class UniqueInverseResult(NamedTuple):
    values: LazyArray
    inverse_indices: LazyArray


def _sorted(x, op, want_perm):
    """(flattened x, its sort, its argsort or None), computed: the break."""
    x = lazy(x)
    check_sortable(x.dtype, op, x.shape)
    fx = flat(x)  # 0-d: one element
    attrs = {"axis": 0, "descending": False}
    s = _core.make("sort", (fx._node,), dict(attrs, indices=False))
    if not want_perm:
        (s,) = compute(s)
        return x, fx, s, None
    perm = _core.make("sort", (fx._node,), dict(attrs, indices=True))
    s, perm = compute(s, perm)
    return x, fx, s, perm


def _table(s, equal_nan):
    """(run starts, first start) of each rank's block; one row when every rank holds the
    whole sorted array (its rows are all alike)."""
    node = _core.make("unique_count", (s._node,), {"equal_nan": equal_nan})
    table = tuple(tuple(int(v) for v in row) for row in node.numpy())
    return table if s.split is not None else table[:1]


def _select(s, perm, table, what, equal_nan):
    total = sum(row[0] for row in table)
    if s.split is None:
        split, counts = None, None
    else:
        split, counts = 0, tuple(row[0] for row in table)
    dtype = s.dtype if what == "values" else dt.int64
    aval = Aval((total,), dtype, split, counts, s.device, s.comm)
    ins = (s._node,) if perm is None else (s._node, perm._node)
    return _core.make("unique_select", ins, {"what": what, "table": table,
                                              "equal_nan": equal_nan}, aval)


def _inverse(x, fx, s, perm, table, equal_nan):
    aval = fx.aval.with_(dtype=dt.int64)
    inv = _core.make("unique_inverse", (s._node, perm._node),
                     {"table": table, "equal_nan": equal_nan}, aval)
    return reshape(inv, x.shape)


# counting instead of sorting: arrays at least this large, ranges at most this wide
COUNT_MIN_SIZE = 1 << 16
COUNT_MAX_RANGE = 1 << 24


def _counting_range(x, op):
    """``(lowest value, number of values in the range)`` when the unique values of ``x``
    are cheaper to count than to sort (from global min and max: every rank decides alike),
    else None."""
    x = lazy(x)
    if x.dtype.kind not in "biu" or x.dtype == dt.uint64 or x.size < COUNT_MIN_SIZE:
        return None
    check_sortable(x.dtype, op, x.shape)
    lo, hi = (int(v.item()) for v in compute(x.min(), x.max()))
    length = hi - lo + 1
    share = -(-x.size // x.comm.size)
    return (lo, length) if length <= min(COUNT_MAX_RANGE, share) else None


def _unique_by_counting(x, lo, length, inverse, counts):
    x = lazy(x)
    fx = flat(x)
    shifted = fx.astype(dt.int64) - lo
    hist = _core.make("bincount", (shifted._node,), {"length": length})
    (nz,) = nonzero(hist)  # a break: the number of values present
    values = (nz + lo).astype(x.dtype)
    out = {}
    if inverse:
        out["inverse"] = reshape(searchsorted(values, fx), x.shape)
    if fx.split is not None:
        values = resplit(values, 0)
    out["values"] = values
    if counts:
        out["counts"] = hist[nz] if fx.split is None else resplit(hist[nz], 0)
    return out


def _unique(x, op, equal_nan, index=False, inverse=False, counts=False):
    if not index:
        rng = _counting_range(x, op)
        if rng is not None:
            return _unique_by_counting(x, *rng, inverse, counts)
    x, fx, s, perm = _sorted(x, op, index or inverse)
    table = _table(s, equal_nan)
    out = {"values": _select(s, None, table, "values", equal_nan)}
    if index:
        out["indices"] = _select(s, perm, table, "indices", equal_nan)
    if inverse:
        out["inverse"] = _inverse(x, fx, s, perm, table, equal_nan)
    if counts:
        out["counts"] = _select(s, None, table, "counts", equal_nan)
    return out


def unique_values(x, /):
    """The unique values of ``x``, sorted ascending, as a 1-d array split along axis 0 as
    the data falls (unbalanced). Building it runs the sort (a plan break); NaNs are
    distinct.

    >>> lh.unique_values(lh.array([3, 1, 3, 2], split=0)).numpy()
    array([1, 2, 3])
    """
    return _unique(x, "unique_values", False)["values"]


def unique_counts(x, /) -> UniqueCountsResult:
    """(values, counts) of the unique values of ``x`` (see ``unique_values``).

    >>> lh.unique_counts(lh.array([3, 1, 3], split=0)).counts.numpy()
    array([1, 2])
    """
    r = _unique(x, "unique_counts", False, counts=True)
    return UniqueCountsResult(r["values"], r["counts"])


def unique_inverse(x, /) -> UniqueInverseResult:
    """(values, inverse_indices): ``values[inverse_indices]`` rebuilds ``x`` (inverse has
    ``x``'s shape and layout family; one all-to-all routes it back).

    >>> lh.unique_inverse(lh.array([3, 1, 3], split=0)).inverse_indices.numpy()
    array([1, 0, 1])
    """
    r = _unique(x, "unique_inverse", False, inverse=True)
    return UniqueInverseResult(r["values"], r["inverse"])


def unique_all(x, /) -> UniqueAllResult:
    """(values, indices of first occurrences in the flattened ``x``, inverse_indices,
    counts), as the Array API.

    >>> lh.unique_all(lh.array([3, 1, 3], split=0)).indices.numpy()
    array([1, 0])
    """
    r = _unique(x, "unique_all", False, index=True, inverse=True, counts=True)
    return UniqueAllResult(r["values"], r["indices"], r["inverse"], r["counts"])


def unique(x, return_index=False, return_inverse=False, return_counts=False, axis=None,
           *, equal_nan=True, sorted=True):  # noqa: A002 - NumPy's name
    """NumPy's ``unique`` of the flattened ``x`` (``axis=None`` only): the sorted unique
    values and, as asked, first indices, inverse indices (``x``'s shape) and counts. NaNs
    collapse to one unless ``equal_nan=False``.

    >>> lh.unique(lh.array([2, 1, 2], split=0), return_counts=True)[1].numpy()
    array([1, 2])
    """
    if axis is not None:
        from .graph.errors import op_error
        raise op_error(NotImplementedError, "unique", "only axis=None is supported")
    r = _unique(x, "unique", bool(equal_nan), return_index, return_inverse, return_counts)
    out = [r["values"]] + [r[k] for k, on in (("indices", return_index),
                                              ("inverse", return_inverse),
                                              ("counts", return_counts)) if on]
    return out[0] if len(out) == 1 else tuple(out)
