"""Nearest centers: the assignment step of k-means-type algorithms as one op (``nearest``).

Inputs: samples ``X`` (n x d), centers ``C`` (k x d, replicated) and optionally sample
weights ``w`` (n,), laid out like the rows (they weigh the stats only). The attribute ``out``
picks the value the node yields; all of them come from ONE pass over ``X`` that the runtime
shares between the nodes of a plan (``kernels.registry.shared_parts``):

- ``"labels"``: int64 (n,), the index of the nearest center (the first one on ties), laid
  out like ``X``'s rows;
- ``"dist"``: (n,) the distance to it (``metric`` ``"sqeuclidean"``: the squared euclidean
  distance; ``"cityblock"``: the sum of absolute differences), in ``X``'s float dtype;
- ``"stats"``: float64 (k, d + 2), per center the sum of the samples nearest to it, their
  count (column d) and the sum of their distances (column d + 1). Over rows split across
  ranks each rank's stats are partial sums that ONE ``allreduce[sum]`` of k (d + 2) x 8
  bytes combines: k-means' center update and inertia need no other message.

The distance matrix (n x k) is never materialized: the kernel walks ``X`` in cache-sized
row blocks, closes each block's minimum at once and adds the block's rows into the stats.
Counts are exact in float64 up to 2^53 samples.
"""

from __future__ import annotations

from . import dtypes as dt
from .errors import op_error
from .layout import balanced_counts
from .registry import Group, Needs, OpDef, register

METRICS = ("sqeuclidean", "cityblock")
OUTS = ("labels", "dist", "stats")


def _infer(avals, attrs):
    x, c = avals[:2]
    fn = "nearest_centers"
    if len(avals) > 2:
        w = avals[2]
        if w.shape != (x.shape[0],) or not w.dtype.is_floating:
            raise op_error(ValueError, "center_stats", f"sample weights must be a floating "
                           f"vector of {x.shape[0]} values, got {w.dtype.name}{list(w.shape)}",
                           x.shape, w.shape)
    if len(x.shape) != 2 or len(c.shape) != 2:
        raise op_error(ValueError, fn, "samples and centers must be 2-D", x.shape, c.shape)
    if x.shape[1] != c.shape[1]:
        raise op_error(ValueError, fn, f"samples have {x.shape[1]} features and centers "
                       f"{c.shape[1]}", x.shape, c.shape)
    if c.shape[0] == 0:
        raise op_error(ValueError, fn, "needs at least one center", x.shape, c.shape)
    for a in (x, c):
        if not a.dtype.is_floating:
            raise op_error(TypeError, fn, f"needs floating point data, got {a.dtype.name}",
                           x.shape, c.shape)
    if attrs["metric"] not in METRICS:
        raise op_error(ValueError, fn, f"metric must be one of {METRICS}, got "
                       f"{attrs['metric']!r}")
    out = attrs["out"]
    if out == "labels":
        return (x.shape[0],), dt.int64
    if out == "dist":
        return (x.shape[0],), dt.promote(x.dtype, c.dtype)
    if out == "stats":
        return (c.shape[0], x.shape[1] + 2), dt.float64
    raise op_error(ValueError, fn, f"out must be one of {OUTS}, got {out!r}")


def _rows(x, p):
    """The row layout the pass reads ``X`` in: its own when split along rows or replicated,
    balanced rows otherwise (one all-to-all moves a column split)."""
    if x.split in (None, 0):
        return x.layout
    return (0, balanced_counts(x.shape[0], p))


def _layout(avals, attrs, shape, p):
    if attrs["out"] == "stats":
        return None, None  # a small matrix every rank holds
    return _rows(avals[0], p)


def _needs(avals, attrs, shape, out, p) -> Needs:
    x = avals[0]
    rows = _rows(x, p)
    partial = attrs["out"] == "stats" and rows[0] is not None and p > 1
    # the weights line up with the rows: the same split and counts along axis 0
    return Needs((rows, (None, None)) + ((rows,) if len(avals) > 2 else ()), partial)


register(
    OpDef("nearest", Group.REDUCTION, infer=_infer, layout=_layout, needs=_needs,
          doc="nearest center of every sample (labels, distances, or per-center sums, counts "
              "and distance sums) in one pass"),
)
