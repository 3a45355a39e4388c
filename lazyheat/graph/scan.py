"""Cumulative sums and products: a running value carried along an axis, across ranks where
it is split.

Along an axis that is not split, ``cumsum`` is block-local. Along the split axis each rank
scans its own block, then needs the sum of the blocks before it: the last slice of every
rank's scan (``scan_carry``, one slice per rank) is all-gathered, and each rank adds the sum
of the slices of the ranks before it (``scan_add``). One small collective of p slices,
whatever the length of the axis; it batches with other small collectives of the same depth.
``cumprod`` is the same with products: an empty block's carry is ones, and each rank
multiplies its scan by the product of the carries before it (``attrs["op"] == "prod"``).
"""

from __future__ import annotations

from . import dtypes as dt
from .aval import Aval
from .registry import Group, OpDef, keep_inputs, register


def scan_dtype(d: dt.DType) -> dt.DType:
    """NumPy's cumsum dtype: bools and signed integers accumulate in int64, unsigned
    integers in uint64 (the Array API's default for each kind)."""
    return dt.uint64 if d.kind == "u" else dt.sum_dtype(d)


def _infer_cumsum(avals, attrs):
    (x,) = avals
    out = attrs.get("dtype") or scan_dtype(x.dtype)
    return x.shape, dt.as_dtype(out)


def _keep_layout(avals, attrs, shape, p):
    return avals[0].layout


def carry_aval(out: Aval, axis: int) -> Aval:
    """A rank's carry: the last slice of its scan along ``axis`` (replicated layout)."""
    shape = tuple(1 if i == axis else n for i, n in enumerate(out.shape))
    return Aval(shape, out.dtype, None, None, out.device, out.comm)


register(
    OpDef("cumsum", Group.SCAN, infer=_infer_cumsum, layout=_keep_layout, needs=keep_inputs,
          resizable="one_rank",
          doc="cumulative sum along ``axis`` (block-local; see scan_carry/scan_add)"),
    OpDef("cumprod", Group.SCAN, infer=_infer_cumsum, layout=_keep_layout, needs=keep_inputs,
          resizable="one_rank",
          doc="cumulative product along ``axis`` (block-local; see scan_carry/scan_add)"),
    OpDef("scan_carry", Group.SCAN, doc="the last slice of a rank's block scan (zeros when "
          "the block is empty; ones for a product)"),
    OpDef("scan_add", Group.COMBINER, doc="a rank's block scan combined with the gathered "
          "carries of the ranks before it (sum or product)"),
)
