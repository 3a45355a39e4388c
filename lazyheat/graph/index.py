"""Integer-array indexing and item assignment: ``take``, ``take_along_axis``, ``x[idx]`` and
``x[key] = value``.

Two forms of each op, chosen by the API from the layout of ``x`` (global metadata only):

- along an axis that is not split, every rank holds whole rows along it, so a block-local
  ``index_select``/``gather``/``index_put`` does it (``take``, ``take_along``, ``put``);
- along the split axis the requested rows live on their owners: the requests are routed
  (``take_routed``, ``take_along_routed``: an all-to-all of indices to the ranks that own
  them, then an all-to-all of the values back; ``put_routed``: an all-to-all of
  (index, value) pairs to the owners, which write them). Bytes are proportional to the
  indices, never to ``x``.

Indices are checked and wrapped first (``index_check``): negative indices wrap, and an
out-of-bounds index anywhere raises the same ``IndexError`` on every rank. Where the indices
are split, the ranks agree on that through one all-reduce of a flag, before anything is
exchanged; replicated indices are checked locally (every rank sees them all).

``setitem_slice`` writes a value into a basic-indexing region (slices with positive steps,
int positions as length-one slices) block by block, with the value's needed part lined up
on x's blocks.
"""

from __future__ import annotations

from . import dtypes as dt
from .layout import balanced_counts
from .registry import CommRule, Group, Needs, OpDef, keep_inputs, register
from .rules import R, slice_blocks


def _p(node) -> int:
    return node.aval.comm.size


def row_itemsize(aval, axis: int) -> int:
    """Bytes of one slice of ``aval`` at a fixed position along ``axis``."""
    n = aval.dtype.itemsize
    for i, s in enumerate(aval.shape):
        if i != axis:
            n *= s
    return n


# ---------------------------------------------------------------- index_check
def _infer_check(avals, attrs):
    return avals[0].shape, dt.int64


def _keep_layout(avals, attrs, shape, p):
    return avals[0].layout


def _one_rank(node) -> bool:
    return _p(node) == 1


def _check_free(node) -> bool:
    return node.inputs[0].aval.split is None or _p(node) == 1


# ---------------------------------------------------------------- take (1-D indices)
def _infer_take(avals, attrs):
    x, idx = avals
    a = attrs["axis"]
    return x.shape[:a] + idx.shape + x.shape[a + 1:], x.dtype


def _take_layout(avals, attrs, shape, p):
    x, idx = avals
    a = attrs["axis"]
    if x.split is not None and x.split != a:
        return x.layout                   # the split axis keeps its place and blocks
    if idx.split is not None:
        return (a, idx.counts)            # split indices give a split result
    if x.split == a:                      # routed: replicated indices are cut (free)
        return (a, balanced_counts(shape[a], p))
    return R


def _take_needs(avals, attrs, shape, out, p) -> Needs:
    x, idx = avals
    a = attrs["axis"]
    if x.split is not None and x.split != a:
        return Needs((x.layout, R))
    if x.split == a:                      # routed: indices laid out as the result
        return Needs((x.layout, (0, out[1])))
    return Needs((R, idx.layout if out[0] is not None else R))


def _routed_take_bytes(node) -> list:
    """Per rank: its requests (int64 indices) out to the owners and one row back for
    each; an estimate, since where the requests go depends on their values."""
    a = node.attr("axis")
    row = row_itemsize(node.aval, a)
    cnt = node.aval.counts if node.aval.split == a else (node.aval.shape[a],) * _p(node)
    return [c * (8 + row) + 8 * _p(node) for c in cnt]


# ---------------------------------------------------------------- take_along (same ndim)
def _infer_take_along(avals, attrs):
    return avals[1].shape, avals[0].dtype


def _take_along_layout(avals, attrs, shape, p):
    x, idx = avals
    a = attrs["axis"]
    if x.split is not None and x.split != a:
        return (x.split, x.counts)
    if idx.split is not None:
        return idx.layout
    if x.split == a:
        return (a, balanced_counts(shape[a], p))
    return R


def _take_along_needs(avals, attrs, shape, out, p) -> Needs:
    x, idx = avals
    a = attrs["axis"]
    if x.split == a:                      # routed: x stays, indices as the result
        return Needs((x.layout, out))
    if out[0] is None or out[0] == a:     # x whole along the split of the indices
        return Needs((R, out))
    return Needs((out, out))              # both cut along the same other axis


def _routed_along_bytes(node) -> list:
    a, item = node.aval, node.aval.dtype.itemsize
    return [(8 + item) * _size(a.local_shape(r)) + 8 * _p(node) for r in range(_p(node))]


def _size(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


# ---------------------------------------------------------------- put (item assignment)
def _infer_put(avals, attrs):
    return avals[0].shape, avals[0].dtype


def _put_needs(avals, attrs, shape, out, p) -> Needs:
    """Local form: x keeps its blocks; indices whole; values cut like x (their rows along
    ``axis`` are whole, since x is not split there)."""
    x, idx, v = avals
    return Needs((x.layout, R, x.layout if x.split is not None else R))


def _put_routed_needs(avals, attrs, shape, out, p) -> Needs:
    """Routed form: the (index, value) pairs laid out alike, split along the indexed axis
    as the indices are (replicated indices are cut, which is free)."""
    x, idx, v = avals
    a = attrs["axis"]
    counts = idx.counts if idx.split is not None else balanced_counts(idx.shape[0], p)
    return Needs((x.layout, (0, counts), (a, counts)))


def _routed_put_bytes(node) -> list:
    x, idx = node.inputs[0].aval, node.inputs[1].aval
    a = node.attr("axis")
    row = row_itemsize(x, a)
    p = _p(node)
    counts = idx.counts if idx.split is not None else balanced_counts(idx.shape[0], p)
    return [c * (8 + row) + 8 * p for c in counts]


# ---------------------------------------------------------------- setitem_slice
def value_layout(x, v, slices):
    """The layout the value of ``x[slices] = v`` needs: cut along x's split axis as the
    selected positions fall in x's blocks, or whole where it broadcasts along it."""
    k = x.split
    if k is None or v.shape[k] == 1:
        return R
    return (k, tuple(t1 - t0 for t0, t1 in slice_blocks(x, slices[k])))


def _setitem_needs(avals, attrs, shape, out, p) -> Needs:
    x, v = avals
    return Needs((x.layout, value_layout(x, v, attrs["slices"])))


register(
    OpDef("index_check", Group.COLLECTIVE, infer=_infer_check, layout=_keep_layout,
          needs=keep_inputs,
          comm=CommRule(lambda n: "allreduce[index bounds flag]",
                        lambda n: [0 if _check_free(n) else 8] * _p(n), _check_free),
          doc="integer indices checked against an extent (one flag all-reduced where they "
          "are split) and negative ones wrapped"),
    OpDef("take", Group.MOVEMENT, infer=_infer_take, layout=_take_layout, needs=_take_needs,
          doc="rows of x at 1-D integer indices along a non-split axis (index_select)"),
    OpDef("take_routed", Group.COLLECTIVE, infer=_infer_take, layout=_take_layout,
          needs=_take_needs,
          comm=CommRule(lambda n: "alltoall (indices to owners, rows back)",
                        _routed_take_bytes, _one_rank),
          doc="rows of x at integer indices along its split axis: requests routed to the "
          "owners, values back"),
    OpDef("take_along", Group.MOVEMENT, infer=_infer_take_along, layout=_take_along_layout,
          needs=_take_along_needs,
          doc="elements of x at same-shaped indices along a non-split axis (gather)"),
    OpDef("take_along_routed", Group.COLLECTIVE, infer=_infer_take_along,
          layout=_take_along_layout, needs=_take_along_needs,
          comm=CommRule(lambda n: "alltoall (element requests to owners, values back)",
                        _routed_along_bytes, _one_rank),
          doc="elements of x at same-shaped indices along its split axis, routed to owners"),
    OpDef("put", Group.MOVEMENT, infer=_infer_put, layout=_keep_layout, needs=_put_needs,
          doc="x with rows at integer indices along a non-split axis replaced (index_put)"),
    OpDef("put_routed", Group.COLLECTIVE, infer=_infer_put, layout=_keep_layout,
          needs=_put_routed_needs,
          comm=CommRule(lambda n: "alltoall ((index, row) pairs to owners)",
                        _routed_put_bytes, _one_rank),
          doc="x with rows at integer indices along its split axis replaced: pairs routed "
          "to the owners"),
    OpDef("setitem_slice", Group.MOVEMENT, infer=_infer_put, layout=_keep_layout,
          needs=_setitem_needs,
          doc="x with a basic-indexing region replaced by a value, block by block"),
)
