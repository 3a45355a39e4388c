"""Boolean mask selection, ``x[mask]``: the data-dependent break in a lazy plan.

How many elements each rank keeps depends on the mask's values, and lazyheat plans only
from metadata. So building ``x[mask]`` runs the plan up to the selection (x and the mask, in
the layouts it needs, computed together in one plan and kept: ``x[x > 0]`` computes x once),
counts each rank's true entries and all-gathers the p counts; the selection node is then
built over those results with the counts in its aval, and everything after it is planned as
usual. ``explain`` shows the break (see ``graph/select.py``).
"""

from __future__ import annotations

from . import _core
from ._array import LazyArray
from .creation import array, lazy
from .graph import Aval
from .graph import dtypes as dt
from .graph.errors import op_error
from .graph.layout import balanced_counts
from .manipulation import redistribute_to
from .planner import compute


def _layouts(x, mask):
    """(x's layout, the mask's layout, output split) for the selection, from metadata:
    a split among the masked axes goes to axis 0 (kept when it is already there, taking
    the operand's counts); a split after them stays, with the mask replicated."""
    k, p = mask.ndim, x.comm.size
    if x.split is not None and x.split >= k:
        return x.aval.layout, (None, None), x.split - k + 1
    if x.split is None and mask.split is None:
        return (None, None), (None, None), None
    if x.split == 0:
        counts = x.aval.counts
    elif mask.split == 0:
        counts = mask.aval.counts
    else:
        counts = balanced_counts(x.shape[0], p)
    return (0, counts), (0, counts), 0


def select(x, mask) -> LazyArray:
    """``x[mask]``: the entries of ``x`` where the boolean ``mask`` is true, in C order.

    ``mask`` has the shape of x's first ``mask.ndim`` axes; the result has one axis for the
    selected entries followed by x's remaining axes, as NumPy. Building it computes x and the
    mask (a plan break; every rank must build it, like any lazyheat call).

    >>> x = lh.array([[1.0, -2.0], [3.0, -4.0]], split=0)
    >>> x[x > 0].numpy()
    array([1., 3.], dtype=float32)
    """
    x = lazy(x)
    if not isinstance(mask, LazyArray):  # NumPy data: on x's communicator and device
        mask = array(mask, comm=x.comm, device=x.device)
    _core.check_same([x, mask], "getitem")
    if mask.dtype != dt.bool_:
        raise op_error(IndexError, "getitem", f"a lazy array index must be boolean, got "
                       f"{mask.dtype.name} (integer array indexing is not supported)",
                       x.shape, mask.shape)
    k = mask.ndim
    if k == 0 or k > x.ndim or tuple(mask.shape) != tuple(x.shape[:k]):
        raise op_error(IndexError, "getitem", f"boolean index of shape {mask.shape} does not "
                       f"match the indexed array's leading axes {x.shape[:k]}",
                       x.shape, mask.shape)
    lay_x, lay_m, out_split = _layouts(x, mask)
    xs = redistribute_to(x, lay_x[0], lay_x[1])
    ms = redistribute_to(mask, lay_m[0], lay_m[1])
    xs, ms = compute(xs, ms)  # the break: one plan up to the selection
    if ms.split is None:  # every rank holds the whole mask: its count needs no message
        total = int(ms.larray.count_nonzero())
        counts = None
    else:
        counts = tuple(int(c) for c in
                       _core.make("mask_count", (ms._node,), {}).numpy())
        total = sum(counts)
    shape = (total,) + tuple(x.shape[k:])
    if out_split is None or out_split > 0:
        counts = None if out_split is None else xs.aval.counts
    aval = Aval(shape, x.dtype, out_split, counts, x.device, x.comm)
    return _core.make("mask_select", (xs._node, ms._node), {"mask_ndim": k}, aval)
