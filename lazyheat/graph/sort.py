"""Sorting, searching and order statistics: their abstract evaluation, layouts and costs.

``sort`` (values or, with ``indices``, the argsort) along an axis that is not split is
block-local. Along the split axis of an n-d array the lowering moves the split to another
axis (one all-to-all), sorts locally and moves it back (one more). Along the split axis of a
1-d array it becomes a ``samplesort``: every rank sorts its block, regular samples of every
block are all-gathered, p-1 splitters are chosen identically on every rank, one all-to-all
sends each run of keys (and global indices) to the rank owning its key range, a local merge
follows, and the rows whose owner changes move once more so the result is balanced.

Keys are compared as integers (``runtime/kernels/sortkeys.py``): floats by an order-keeping
map of their bits with every NaN last and -0.0 equal to 0.0, as NumPy orders them; ties keep
their global order (a stable sort), descending included (the Array API's stable descending
order keeps equal keys in their original order).

``searchsorted`` of a split sorted ``x1``: every rank answers for its own block (the count of
its elements before each value), and one all-reduce sums the ranks' counts. ``order_stats``
picks fixed positions of a sorted axis (quantiles); along the split axis each position lives
on one rank, which contributes it while the others contribute zero, then one all-reduce.
"""

from __future__ import annotations

from . import dtypes as dt
from .errors import op_error
from .layout import balanced_counts
from .registry import CommRule, Group, Needs, OpDef, keep_inputs, register

R = (None, None)
SAMPLES = 32  # regular samples each rank contributes to the splitter choice (oversampling)


def key_itemsize(d: dt.DType) -> int:
    """Bytes of one integer sort key of dtype ``d`` (bool and 1-byte types widen to 2)."""
    return max(2, d.itemsize)


def check_sortable(d: dt.DType, op: str, *shapes) -> None:
    if d.is_complex:
        raise op_error(TypeError, op, f"complex dtypes are not supported (got {d.name}); sort "
                       "the real and imaginary parts explicitly", *shapes)


def other_axis(shape, axis: int) -> int:
    """The axis a sort along the split axis moves the split to: the longest other axis
    (the lowest on ties), from metadata only."""
    best = None
    for i, n in enumerate(shape):
        if i != axis and (best is None or n > shape[best]):
            best = i
    return best


# ---------------------------------------------------------------- sort / argsort
def _infer_sort(avals, attrs):
    (x,) = avals
    check_sortable(x.dtype, "argsort" if attrs["indices"] else "sort", x.shape)
    return x.shape, dt.int64 if attrs["indices"] else x.dtype


def _sort_layout(avals, attrs, shape, p):
    (x,) = avals
    if x.split is None:
        return R
    if x.split != attrs["axis"]:
        return x.layout
    return x.split, balanced_counts(shape[x.split], p)


def _samplesort_kind(node) -> str:
    what = "indices" if node.attr("indices") else "keys"
    return f"alltoall (sample sort of {what}; samples all-gathered, then rebalanced)"


def exchange_itemsize(node) -> int:
    """Bytes per element a sample sort moves: the integer key, plus the int64 global index
    when the result is the argsort (or the sort must stay stable among equal keys)."""
    x = node.inputs[0].aval
    return key_itemsize(x.dtype) + (8 if node.attr("indices") else 0)


def _samplesort_bytes(node) -> list:
    """Each rank receives about its balanced share of keys (and indices) in the exchange,
    plus every rank's samples and cut points. The final rebalance moves only the rows whose
    owner changes, a fraction of this that depends on the data (not counted)."""
    a = node.aval
    p = a.comm.size
    item = exchange_itemsize(node)
    samples = p * SAMPLES * 16 + p * (p + 1) * 8
    return [c * item + samples for c in a.counts]


register(
    OpDef("sort", Group.MOVEMENT, infer=_infer_sort, layout=_sort_layout, needs=keep_inputs,
          doc="values (or, with indices, the argsort) sorted along ``axis``; stable, NaNs "
          "last (first when descending)"),
    OpDef("samplesort", Group.COLLECTIVE, infer=_infer_sort, layout=_sort_layout,
          needs=keep_inputs, comm=CommRule(_samplesort_kind, _samplesort_bytes,
                                           held_bytes=lambda n: n.aval.local_nbytes * 2),
          doc="parallel sample sort of a 1-d split array: local sort, splitters from "
          "gathered samples, one all-to-all, local merge, rebalance"),
)


# ---------------------------------------------------------------- searchsorted
def _infer_searchsorted(avals, attrs):
    x1, x2 = avals
    if x1.ndim != 1:
        raise op_error(ValueError, "searchsorted", f"x1 must be 1-d, got {x1.ndim}-d",
                       x1.shape, x2.shape)
    check_sortable(dt.promote(x1.dtype, x2.dtype), "searchsorted", x1.shape, x2.shape)
    return x2.shape, dt.int64


def _searchsorted_layout(avals, attrs, shape, p):
    # the result is laid out like the values searched for (a split x1 answers through an
    # all-reduce of the whole result, which a split output then slices for free)
    return avals[1].layout


def _searchsorted_needs(avals, attrs, shape, out, p):
    x1, x2 = avals
    if x1.split is None or p == 1:
        return Needs((x1.layout, x2.layout))
    return Needs((x1.layout, R), partial=True)


# ---------------------------------------------------------------- order statistics
def _infer_order_stats(avals, attrs):
    (x,) = avals
    axis = attrs["axis"]
    shape = (len(attrs["positions"]),) + x.shape[:axis] + x.shape[axis + 1:]
    return shape, dt.as_dtype(attrs["dtype"])


def _order_stats_layout(avals, attrs, shape, p):
    (x,) = avals
    axis = attrs["axis"]
    if x.split is None or x.split == axis:
        return R  # along the split axis: combined by an all-reduce
    k = x.split + 1 if x.split < axis else x.split
    return k, x.counts


def _order_stats_needs(avals, attrs, shape, out, p):
    (x,) = avals
    return Needs((x.layout,), partial=x.split == attrs["axis"] and p > 1)


register(
    OpDef("searchsorted", Group.SELECTION, infer=_infer_searchsorted,
          layout=_searchsorted_layout, needs=_searchsorted_needs,
          doc="insertion points of x2 in the sorted 1-d x1 (per block, summed over ranks)"),
    OpDef("order_stats", Group.SELECTION, infer=_infer_order_stats,
          layout=_order_stats_layout, needs=_order_stats_needs,
          doc="fixed positions of a sorted axis, stacked along a new axis 0 (quantiles)"),
)


def _infer_lerp(avals, attrs):
    (s,) = avals
    return (attrs["nq"],) + s.shape[1:], dt.as_dtype(attrs["dtype"])


def _lerp_layout(avals, attrs, shape, p):
    (s,) = avals
    return R if s.split in (None, 0) else s.layout


def _infer_nan_quantile(avals, attrs):
    (x,) = avals
    axis = attrs["axis"]
    return (len(attrs["qs"]),) + x.shape[:axis] + x.shape[axis + 1:], \
        dt.as_dtype(attrs["dtype"])


def _nan_quantile_layout(avals, attrs, shape, p):
    (x,) = avals
    if x.split is None:
        return R
    # the API moves the split off the axis first: every slice is whole on its rank
    return (x.split + 1 if x.split < attrs["axis"] else x.split), x.counts


register(
    OpDef("nan_quantile", Group.SELECTION, infer=_infer_nan_quantile,
          layout=_nan_quantile_layout, needs=keep_inputs,
          doc="quantiles of each slice of a sorted axis ignoring its NaNs (block-local: "
          "positions depend on each slice's NaN count)"),
    OpDef("quantile_lerp", Group.SELECTION, infer=_infer_lerp, layout=_lerp_layout,
          needs=keep_inputs, doc="quantiles interpolated between order statistics, as "
          "NumPy's methods"),
)

from . import unique  # noqa: E402,F401 - registers the set ops
