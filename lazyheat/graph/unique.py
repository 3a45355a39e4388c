"""Set functions: unique values, their counts, first indices and the inverse mapping.

The number of unique values depends on the data, so ``sets.py`` plans them as a break, as
boolean masks are (``select.py``): the flattened array is sorted (a sample sort when split),
and the plan up to there runs. ``unique_count`` then finds, on every rank, where runs of
equal values begin in its sorted block (the first element needs the last key of the rank
before it: one all-gather of one key per rank) and reports (starts in the block, position of
the first start), one row per rank, gathered to every rank. With that table in their
attributes, ``unique_select`` picks each rank's unique values, counts or first indices
without more communication (a run continuing on later ranks is measured from the table),
and ``unique_inverse`` sends each element's unique id back to the element's place in the
original layout (one all-to-all of (position, id) pairs).
"""

from __future__ import annotations

from . import dtypes as dt
from .registry import CommRule, Group, OpDef, keep_inputs, register


def _infer_count(avals, attrs):
    return (avals[0].comm.size, 2), dt.int64


def _count_layout(avals, attrs, shape, p):
    (s,) = avals
    return (None, None) if s.split is None else (0, (1,) * p)


def _count_bytes(node):
    # one key (int64) and a flag per rank, all-gathered
    s = node.inputs[0].aval
    p = node.aval.comm.size
    return [0] * p if s.split is None else [16 * (p - 1)] * p


def _inverse_bytes(node):
    # (position, id) int64 pairs of the elements this rank owns in the original layout
    a = node.aval
    if a.split is None:
        return [0] * a.comm.size
    return [16 * c for c in a.counts]


register(
    OpDef("unique_count", Group.COLLECTIVE, infer=_infer_count, layout=_count_layout,
          needs=keep_inputs, comm=CommRule(lambda n: "allgather (last key of each block)",
                                           _count_bytes),
          doc="starts of runs of equal values in each rank's block of a sorted 1-d array, "
          "and where the first one is: int64[p, 2]"),
    OpDef("unique_select", Group.SELECTION, needs=keep_inputs, data_dependent=True,
          doc="each rank's unique values, counts or first indices (extent from the data)"),
    OpDef("unique_inverse", Group.COLLECTIVE, needs=keep_inputs, data_dependent=True,
          comm=CommRule(lambda n: "alltoall (unique ids back to their positions)",
                        _inverse_bytes),
          doc="the unique id of every element, in the original (flattened) layout"),
)
