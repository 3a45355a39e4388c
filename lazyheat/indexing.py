"""Indexing beyond basic slicing: boolean masks, integer arrays (``take``,
``take_along_axis``, ``x[idx]``) and item assignment (``x[key] = value``).

Integer indices along x's split axis are routed to the ranks that own the rows (see
``graph/index.py``): bytes move in proportion to the indices, never to x. Along other axes
each rank indexes its own block. Item assignment is a lazy functional update: the array's
node is replaced by a new one, so expressions built on the old value keep it.

Boolean mask selection, ``x[mask]``, is the data-dependent break in a lazy plan.

How many elements each rank keeps depends on the mask's values, and lazyheat plans only
from metadata. So building ``x[mask]`` runs the plan up to the selection (x and the mask, in
the layouts it needs, computed together in one plan and kept: ``x[x > 0]`` computes x once),
counts each rank's true entries and all-gathers the p counts; the selection node is then
built over those results with the counts in its aval, and everything after it is planned as
usual. ``explain`` shows the break (see ``graph/select.py``).
"""

from __future__ import annotations

import numpy as np

from . import _core
from . import elementwise as ew
from ._array import LazyArray
from .creation import array, full, lazy
from .graph import Aval
from .graph import dtypes as dt
from .graph.errors import normalize_axis, op_error
from .graph.layout import balanced_counts
from .linalg import permute_dims
from .manipulation import getitem as basic_getitem
from .manipulation import redistribute_to, reshape
from .planner import compute

__all__ = ["take", "take_along_axis"]


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
        raise op_error(IndexError, "getitem", f"a lazy array index must be boolean or integer, "
                       f"got {mask.dtype.name}",
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


# ---------------------------------------------------------------- integer indices
def is_index_array(k) -> bool:
    """An integer array used as an index: a lazy or NumPy integer array, or a list of
    ints (an empty list included, as NumPy)."""
    if isinstance(k, LazyArray):
        return k.dtype.is_integer
    if isinstance(k, np.ndarray):
        return k.dtype.kind in "iu"
    return isinstance(k, list) and (not k or np.asarray(k).dtype.kind in "iu")


def as_mask(key):
    """``key`` as a boolean mask (a lazy or NumPy bool array, or a list of bools), or
    None when it is not one."""
    if isinstance(key, LazyArray):
        return key if key.dtype == dt.bool_ else None
    if isinstance(key, (np.ndarray, list)) and len(key):
        arr = np.asarray(key)
        return arr if arr.dtype == bool else None
    return None


def _checked(indices, x, axis: int, op: str) -> LazyArray:
    """``indices`` as int64 lazy indices into ``x`` along ``axis``, wrapped into [0, n).
    NumPy data is checked now (a build-time IndexError); lazy indices are checked when the
    plan runs (the same IndexError on every rank, before anything is exchanged)."""
    n = x.shape[axis]
    if not isinstance(indices, LazyArray):
        idx = np.asarray(indices)
        if idx.size == 0:
            idx = idx.astype(np.int64)
        if idx.dtype.kind not in "iu":
            raise op_error(IndexError, op, f"indices must be integers, got {idx.dtype}",
                           x.shape, idx.shape)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            bad = idx[(idx < -n) | (idx >= n)].flat[0]
            raise op_error(IndexError, op, f"index {bad} is out of bounds for axis {axis} "
                           f"with size {n}", x.shape)
        idx = np.where(idx < 0, idx + n, idx).astype(np.int64)
        return array(idx, comm=x.comm, device=x.device)
    _core.check_same([x, indices], op)
    if not indices.dtype.is_integer:
        raise op_error(IndexError, op, f"indices must be integers, got {indices.dtype.name}",
                       x.shape, indices.shape)
    return _core.make("index_check", (indices._node,),
                      {"n": n, "axis": axis, "op": op})


def take(x, indices, /, *, axis=None) -> LazyArray:
    """Elements of ``x`` at integer ``indices`` along ``axis`` (of the flattened array when
    None), as ``numpy.take``: negative indices wrap, out-of-bounds ones raise IndexError.

    Along the split axis the requests go to the ranks owning the rows and the rows come
    back (one all-to-all each way, bytes in proportion to the indices); elsewhere each rank
    indexes its own block. Split indices give a split result.

    >>> x = lh.array([10, 20, 30, 40], split=0)
    >>> lh.take(x, lh.array([3, 0, -1])).numpy()
    array([40, 10, 40])
    """
    x = lazy(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    if x.ndim == 0:
        raise op_error(ValueError, "take", "x must have at least one dimension", x.shape)
    axis = normalize_axis(axis, x.ndim, "take", x.shape)
    idx = _checked(indices, x, axis, "take")
    shape = idx.shape
    if idx.ndim != 1:
        idx = reshape(idx, (-1,))
    op = "take_routed" if x.split == axis else "take"
    out = _core.make(op, (x._node, idx._node), {"axis": axis})
    if len(shape) != 1:
        out = reshape(out, x.shape[:axis] + tuple(shape) + x.shape[axis + 1:])
    return out


def take_along_axis(x, indices, /, *, axis=-1) -> LazyArray:
    """Elements of ``x`` at ``indices`` along ``axis``, the indices having x's shape on the
    other axes (``numpy.take_along_axis``); ``argsort`` results fit here.

    >>> x = lh.array([[10, 30, 20], [60, 40, 50]], split=0)
    >>> lh.take_along_axis(x, lh.array([[0, 2], [1, 1]]), axis=1).numpy()
    array([[10, 20],
           [40, 40]])
    """
    x = lazy(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    if not isinstance(indices, LazyArray):
        indices = np.asarray(indices)
    if x.ndim == 0 or indices.ndim != x.ndim:
        raise op_error(ValueError, "take_along_axis", "indices must have the same number of "
                       "dimensions as x (at least one)", x.shape, indices.shape)
    axis = normalize_axis(axis, x.ndim, "take_along_axis", x.shape)
    if any(a != b for d, (a, b) in enumerate(zip(x.shape, indices.shape)) if d != axis):
        raise op_error(ValueError, "take_along_axis", "indices must match x's shape on the "
                       "axes other than axis", x.shape, indices.shape)
    idx = _checked(indices, x, axis, "take_along_axis")
    op = "take_along_routed" if x.split == axis else "take_along"
    return _core.make(op, (x._node, idx._node), {"axis": axis})


def _expand(key, ndim: int, op: str, shape) -> tuple:
    """``key`` as a tuple with ``...`` expanded to full slices and trailing ones added."""
    if not isinstance(key, tuple):
        key = (key,)
    if sum(k is Ellipsis for k in key) > 1:
        raise op_error(IndexError, op, "an index can only have a single ellipsis", shape)
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_real > ndim:
        raise op_error(IndexError, op, f"too many indices: array is {ndim}-dimensional but "
                       f"{n_real} were indexed", shape)
    for i, k in enumerate(key):  # (``in`` would compare arrays elementwise)
        if k is Ellipsis:
            return key[:i] + (slice(None),) * (ndim - n_real) + key[i + 1:]
    return key + (slice(None),) * (ndim - n_real)


def _array_position(key, op, shape):
    """(position in ``key``, x axis) of its one integer-array entry."""
    pos = [i for i, k in enumerate(key) if is_index_array(k)]
    if len(pos) != 1:
        raise op_error(IndexError, op, "only one integer array index is supported", shape)
    axis = sum(1 for k in key[:pos[0]] if k is not None)
    return pos[0], axis


def _dims_first(key, pos) -> bool:
    """NumPy counts ints as advanced indices too: when the array and the ints are not
    adjacent in the key, the index's axes go first in the result."""
    adv = [i for i, k in enumerate(key) if i == pos or
           k is not None and not isinstance(k, slice)]
    return adv[-1] - adv[0] + 1 != len(adv)


def _front(nd: int, at: int, ndim: int) -> tuple:
    """The permutation taking axes ``at .. at + nd`` of an ``ndim``-array to the front."""
    mid = tuple(range(at, at + nd))
    return mid + tuple(i for i in range(ndim) if i not in mid)


def getitem(x, key) -> LazyArray:
    """``x[key]`` with one integer array in ``key`` (the rest basic indices), as NumPy's
    advanced indexing with a single array: the index's axes replace the indexed one."""
    key = _expand(key, x.ndim, "getitem", x.shape)
    pos, _ = _array_position(key, "getitem", x.shape)
    y = basic_getitem(x, key[:pos] + (slice(None),) + key[pos + 1:])
    axis = sum(1 for k in key[:pos] if k is None or isinstance(k, slice))
    idx = key[pos]
    nd = idx.ndim if isinstance(idx, LazyArray) else np.asarray(idx).ndim
    if nd:
        out = take(y, idx, axis=axis)
        if axis and _dims_first(key, pos):
            out = permute_dims(out, _front(nd, axis, out.ndim))
        return out
    # a 0-d integer array picks one position, as an int does: the axis goes away
    one = reshape(idx, (1,)) if isinstance(idx, LazyArray) else np.asarray(idx).reshape(1)
    out = take(y, one, axis=axis)
    return reshape(out, out.shape[:axis] + out.shape[axis + 1:])


# ---------------------------------------------------------------- item assignment
def _value(x, value, op: str) -> LazyArray:
    """``value`` as a lazy array of x's dtype on x's communicator (NumPy casts silently)."""
    if isinstance(value, LazyArray):
        _core.check_same([x, value], op)
        v = value
    else:
        v = array(np.asarray(value), comm=x.comm, device=x.device)
    return v if v.dtype == x.dtype else ew.astype(v, x.dtype)


def broadcast_to(v, shape, op: str, split=None) -> LazyArray:
    """``v`` broadcast to ``shape`` (lazily, elementwise, each rank making its own block
    of ``split``), or NumPy's error."""
    shape = tuple(shape)
    if v.shape == shape:
        return v
    try:
        ok = np.broadcast_shapes(v.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise op_error(ValueError, op, f"could not broadcast input array from shape "
                       f"{v.shape} into shape {shape}", v.shape, shape)
    if split is not None and not shape[split]:
        split = None
    ones = full(shape, True, dtype=dt.bool_, split=split, comm=v.comm, device=v.device)
    return ew.where(ones, v, v)


def _fit(x, res) -> LazyArray:
    return redistribute_to(res, x.split, x.aval.counts)


def setitem(x, key, value) -> LazyArray:
    """The array ``x`` with ``x[key] = value`` applied, as a new lazy array (``x`` itself is
    unchanged; ``LazyArray.__setitem__`` rebinds its node to this). Keys: ints, slices (any
    step), None, ``...``, a boolean mask, or one 1-D integer array (with basic indices on
    the other axes).
    Duplicate integer indices: one of the writes wins, which one is unspecified (as NumPy).

    >>> x = lh.zeros(5, split=0)
    >>> x[1:4:2] = 7.0
    >>> x.numpy()
    array([0., 7., 0., 7., 0.], dtype=float32)
    """
    x = lazy(x)
    v = _value(x, value, "setitem")
    mask = as_mask(key)
    if mask is not None:
        return _setitem_mask(x, mask, v)
    full_key = _expand(key, x.ndim, "setitem", x.shape)
    if any(is_index_array(k) for k in full_key):
        return _setitem_array(x, full_key, v)
    return _setitem_basic(x, full_key, v)


def _setitem_mask(x, mask, v) -> LazyArray:
    if not isinstance(mask, LazyArray):
        mask = array(mask, comm=x.comm, device=x.device)
    k = mask.ndim
    if k == 0 or tuple(mask.shape) != tuple(x.shape[:k]):
        raise op_error(IndexError, "setitem", f"boolean index of shape {mask.shape} does not "
                       f"match the indexed array's leading axes {x.shape[:k]}",
                       x.shape, mask.shape)
    trail = tuple(x.shape[k:])
    m = reshape(mask, mask.shape + (1,) * (x.ndim - k))
    if v.ndim <= len(trail) or v.shape[0] == 1:
        vv = v if v.ndim <= len(trail) else reshape(v, v.shape[1:])
        vv = broadcast_to(vv, trail, "setitem")
        return _fit(x, ew.where(m, reshape(vv, (1,) * k + trail), x))
    # one value per true position: position j of the mask takes value number
    # (true entries before j); the values are fetched by a routed take
    from .reductions import cumsum
    from .reductions import sum as lsum

    n_true = int(lsum(mask))
    if v.shape[0] != n_true:
        raise op_error(ValueError, "setitem", f"cannot assign {v.shape[0]} input values to "
                       f"the {n_true} output values where the mask is true", x.shape, v.shape)
    vv = broadcast_to(v, (n_true,) + trail, "setitem")
    pos = reshape(cumsum(reshape(mask, (-1,))) - 1, mask.shape)
    pos = ew.where(pos < 0, 0, pos)
    if n_true == 0:
        return x
    got = take(vv, reshape(pos, (-1,)), axis=0)
    return _fit(x, ew.where(m, reshape(got, mask.shape + trail), x))


def _setitem_array(x, key, v) -> LazyArray:
    """One integer array in the key. With full slices elsewhere the rows are written in
    place (``_put``); otherwise the region the other entries select is taken, written,
    and written back: ``x[2, idx] = v`` is ``r = x[2:3, :]; r[:, idx] = v; x[2:3] = r``."""
    pos, axis = _array_position(key, "setitem", x.shape)
    if all(isinstance(k, slice) and k == slice(None) for i, k in enumerate(key) if i != pos):
        return _put(x, key[pos], axis, v)
    arr = key[pos]
    n_idx = arr.shape if isinstance(arr, LazyArray) else np.asarray(arr).shape
    res_shape, region, v_shape, ax = [], [], [], 0
    for i, k in enumerate(key):
        if k is None:
            res_shape.append(1)
            continue
        n = x.shape[ax]
        if i == pos:
            res_shape.extend(n_idx)
            region.append(slice(None))
            v_shape.append(n_idx[0] if n_idx else 1)
        elif isinstance(k, slice):
            res_shape.append(len(range(*k.indices(n))))
            region.append(k)
            v_shape.append(res_shape[-1])
        else:
            j = int(k)
            if not -n <= j < n:
                raise op_error(IndexError, "setitem", f"index {j} is out of bounds for axis "
                               f"{ax} with size {n}", x.shape)
            region.append(slice(j % n, j % n + 1))
            v_shape.append(1)
        ax += 1
    res_shape = tuple(res_shape)
    at = sum(1 for k in key[:pos] if k is None or isinstance(k, slice))
    if len(n_idx) and at and _dims_first(key, pos):  # NumPy's order: the index's axes first
        perm = _front(len(n_idx), at, len(res_shape))
        vv = broadcast_to(v, tuple(res_shape[i] for i in perm), "setitem")
        vv = permute_dims(vv, tuple(perm.index(i) for i in range(len(perm))))
    else:
        vv = broadcast_to(v, res_shape, "setitem")
    vv = reshape(vv, tuple(v_shape))
    sub = basic_getitem(x, tuple(region))
    return _setitem_basic(x, tuple(region), _put(sub, arr, axis, vv))


def _put(x, indices, axis: int, v) -> LazyArray:
    """x with its rows at ``indices`` along ``axis`` set to ``v`` (broadcast)."""
    idx = _checked(indices, x, axis, "setitem")
    if idx.ndim > 1:
        raise op_error(IndexError, "setitem", "the integer array index must be 1-D",
                       x.shape, idx.shape)
    if idx.ndim == 0:  # one position, as an int: the value has no axis there
        idx = reshape(idx, (1,))
        vv = broadcast_to(v, x.shape[:axis] + x.shape[axis + 1:], "setitem")
        v = reshape(vv, x.shape[:axis] + (1,) + x.shape[axis + 1:])
    shape = x.shape[:axis] + idx.shape + x.shape[axis + 1:]
    # the broadcast value made where it is written: cut along the indexed axis (routed
    # pairs) or along x's own split (local rows)
    vv = broadcast_to(v, shape, "setitem", axis if x.split == axis else x.split)
    op = "put_routed" if x.split == axis else "put"
    return _core.make(op, (x._node, idx._node, vv._node), {"axis": axis})


def _setitem_basic(x, key, v) -> LazyArray:
    """A basic-indexing region: slices made positive-step (the value flipped along an
    axis whose step was negative), ints as length-one slices, then ``setitem_slice``."""
    res_shape, slices, flips, ax = [], [], [], 0
    keep = []  # per key entry producing a result axis: the x axis, or None (a new axis)
    for k in key:
        if k is None:
            res_shape.append(1)
            keep.append(None)
            continue
        n = x.shape[ax]
        if isinstance(k, slice):
            r = range(*k.indices(n))
            res_shape.append(len(r))
            keep.append(ax)
            if r.step < 0 and len(r):
                flips.append(ax)
                r = r[::-1]
            slices.append((r.start, r.stop, r.step) if len(r) else (0, 0, 1))
        else:
            if isinstance(k, LazyArray) or isinstance(k, (float, bool)) or \
                    not hasattr(k, "__index__"):
                raise op_error(IndexError, "setitem", f"unsupported index {k!r}", x.shape)
            i = int(k)
            if not -n <= i < n:
                raise op_error(IndexError, "setitem", f"index {i} is out of bounds for axis "
                               f"{ax} with size {n}", x.shape)
            i %= n
            slices.append((i, i + 1, 1))
        ax += 1
    res_shape = tuple(res_shape)
    try:
        ok = np.broadcast_shapes(v.shape, res_shape) == res_shape
    except ValueError:
        ok = False
    if not ok:
        raise op_error(ValueError, "setitem", f"could not broadcast input array from shape "
                       f"{v.shape} into shape {res_shape}", x.shape, v.shape)
    if any(len(range(*s)) == 0 for s in slices):
        return x
    # the value on x's axes, unbroadcast (the kernel broadcasts): new axes dropped (length
    # one there), int positions as length-one axes
    dims = (1,) * (len(res_shape) - v.ndim) + tuple(v.shape)
    v_shape = [1] * x.ndim
    for d, a in zip(dims, keep):
        if a is not None:
            v_shape[a] = d
    vv = reshape(v, tuple(v_shape))
    flips = [a for a in flips if v_shape[a] > 1]
    if flips:
        vv = basic_getitem(vv, tuple(slice(None, None, -1) if a in flips else slice(None)
                                     for a in range(x.ndim)))
    return _core.make("setitem_slice", (x._node, vv._node), {"slices": tuple(slices)})
