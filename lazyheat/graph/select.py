"""Selection by boolean mask: ops whose extent depends on the data.

``x[mask]`` keeps the elements (or sub-arrays) where ``mask`` is true, so how many rows each
rank holds is known only once the mask is. lazyheat plans it as a *break*: when ``x[mask]``
is built, the plan up to the mask runs (the mask is computed and kept), each rank counts its
true entries (``mask_count``), one all-gather of p integers gives every rank every count, and
the ``mask_select`` node is built with those counts in its aval. Everything after it is then
planned from global metadata as usual, and ``explain`` names the break. The result is split
along its first axis with one block per rank as the data falls (unbalanced: ``balance()``
evens it out with one all-to-all).

Layouts (``indexing.py`` moves the operands before the break): with ``k = mask.ndim``, the
mask selects along x's first k axes in C order. A split inside those axes is moved to axis 0
(so each rank's selection is a contiguous run of the result); a split after them stays, with
the mask replicated.
"""

from __future__ import annotations

from . import dtypes as dt
from .registry import Group, OpDef, keep_inputs, register


def _infer_count(avals, attrs):
    return (avals[0].comm.size,), dt.int64


def _count_layout(avals, attrs, shape, p):
    (m,) = avals
    return (None, None) if m.split is None else (0, (1,) * p)


register(
    OpDef("mask_count", Group.SELECTION, infer=_infer_count, layout=_count_layout,
          needs=keep_inputs, doc="true entries in each rank's block of a mask: int64[p], "
          "one per rank"),
    OpDef("mask_select", Group.SELECTION, needs=keep_inputs, data_dependent=True,
          doc="the elements of x where the mask is true (extent from the data)"),
)
