"""Sorting and searching (Array API 2024.12): ``sort``, ``argsort``, ``searchsorted``.

Distributed for real: a sort along an axis that is not split is block-local; along the split
axis of an n-d array the split moves to another axis and back (two all-to-alls); along the
split axis of a 1-d array a parallel sample sort runs (samples all-gathered, one all-to-all
of keys, a rebalance of the rows whose owner changes). ``searchsorted`` of a split sorted
array answers per block and sums the ranks' counts with one all-reduce. No rank ever holds
the whole of a split array. See ``graph/sort.py``.
"""

from __future__ import annotations

from . import _core
from .creation import array, lazy
from .graph import dtypes as dt
from .graph.errors import normalize_axis, op_error
from .graph.sort import check_sortable

__all__ = ["sort", "argsort", "searchsorted"]


def _sort(x, axis, descending, stable, indices, op, order=None):
    x = lazy(x)
    if order is not None:
        raise op_error(NotImplementedError, op, "order= (structured arrays) is not supported")
    if x.ndim == 0:
        raise op_error(ValueError, op, "cannot sort a 0-d array (axis -1 is out of bounds)",
                       x.shape)
    axis = normalize_axis(axis, x.ndim, op, x.shape)
    check_sortable(x.dtype, op, x.shape)
    attrs = {"axis": axis, "descending": bool(descending), "indices": indices}
    return _core.make("sort", (x._node,), attrs)


def sort(x, /, axis=-1, kind=None, order=None, *, descending=False, stable=True):
    """``x`` sorted along ``axis`` (ascending unless ``descending``). The sort is always
    stable (``stable`` and NumPy's ``kind`` are accepted and need no other choice). NaNs sort
    last, first when descending; -0.0 and 0.0 compare equal and come back as 0.0. The result
    has ``x``'s layout, balanced along a split sort axis. ``axis`` and ``kind`` may also be
    passed by position, as NumPy's.

    >>> lh.sort(lh.array([3, 1, 2], split=0)).numpy()
    array([1, 2, 3])
    """
    return _sort(x, axis, descending, stable, False, "sort", order)


def argsort(x, /, axis=-1, kind=None, order=None, *, descending=False, stable=True):
    """Indices that sort ``x`` along ``axis`` (int64); equal values keep their original
    order, descending included, as the Array API's stable sort.

    >>> lh.argsort(lh.array([3, 1, 2], split=0)).numpy()
    array([1, 2, 0])
    """
    return _sort(x, axis, descending, stable, True, "argsort", order)


def searchsorted(x1, x2, /, *, side="left", sorter=None):
    """Indices where the values ``x2`` would be inserted into the sorted 1-d ``x1`` to keep
    it sorted (NaNs sort last). A split ``x1`` is searched block by block, and one
    all-reduce of the ranks' counts gives the answer (the values are replicated for it);
    the result has ``x2``'s layout.

    >>> lh.searchsorted(lh.array([1, 2, 3], split=0), lh.array([2, 5])).numpy()
    array([1, 3])
    """
    x1 = lazy(x1)
    if side not in ("left", "right"):
        raise op_error(ValueError, "searchsorted", f"side must be 'left' or 'right', got "
                       f"{side!r}")
    if sorter is not None:
        raise op_error(NotImplementedError, "searchsorted", "sorter= is not supported; "
                       "search lh.sort(x1) instead")
    if not hasattr(x2, "_node"):
        x2 = array(x2, comm=x1.comm, device=x1.device)
    _core.check_same([x1, x2], "searchsorted")
    common = dt.promote(x1.dtype, x2.dtype)
    return _core.make("searchsorted", (x1._node, x2._node), {"side": side, "dtype": common})
