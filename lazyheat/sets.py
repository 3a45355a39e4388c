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
"""

from __future__ import annotations

from typing import NamedTuple

from . import _core
from ._array import LazyArray
from .creation import lazy
from .graph import Aval
from .graph import dtypes as dt
from .graph.sort import check_sortable
from .manipulation import reshape
from .planner import compute
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


def _unique(x, op, equal_nan, index=False, inverse=False, counts=False):
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
