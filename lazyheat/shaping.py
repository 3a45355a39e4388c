"""Shape manipulation of the Array API and NumPy: broadcasting, flips, rolls, repeats, tiles,
stacks and splits, all lazy and distributed.

Nearly everything here is a composition of the movement ops (slice, concatenate, reshape,
transpose, broadcast_to), so it fuses and plans like any other graph: ``roll`` along the split
axis is the concatenation of two slices, and only the rows whose owner changes move (each
rank receives about ``shift`` rows); ``flip`` along the split axis reverses each block and
puts the blocks in place with one all-to-all; ``tile`` and ``repeat`` along a kept axis are
block-local views. No function gathers a split array to call a local routine.

>>> x = lh.arange(6, split=0).reshape(2, 3)
>>> lh.roll(x, 1, axis=1).numpy()
array([[2, 0, 1],
       [5, 3, 4]])
"""

from __future__ import annotations

from . import _core
from .broadcasting import (
    _along,
    _int,
    _ints,
    _permute,
    broadcast_arrays,
    broadcast_shapes,
    broadcast_to,
)
from .construct import diag, diagonal, logspace, meshgrid, pad, tril, triu
from .creation import lazy
from .graph.errors import normalize_axes, normalize_axis, op_error
from .manipulation import concatenate, expand_dims, getitem, reshape, resplit

__all__ = [
    "broadcast_arrays", "broadcast_shapes", "broadcast_to", "flip", "fliplr", "flipud",
    "rot90", "moveaxis",
    "swapaxes", "repeat", "roll", "tile", "unstack", "concat", "split", "array_split",
    "hsplit", "vsplit", "dsplit", "atleast_1d", "atleast_2d", "atleast_3d", "hstack",
    "vstack", "dstack", "column_stack", "ravel", "flatten",
    "meshgrid", "tril", "triu", "diag", "diagonal", "pad", "logspace",
]


# ---------------------------------------------------------------- flips and axes
def flip(x, axis=None):
    """Reverse the order of elements along ``axis`` (all axes when None).

    Along the split axis each rank reverses its block and one all-to-all puts the blocks
    back in rank order (balanced).

    >>> lh.flip(lh.arange(4, split=0)).numpy()
    array([3, 2, 1, 0])
    """
    x = lazy(x)
    axes = normalize_axes(axis, x.ndim, "flip", x.shape)
    if not axes:
        return x
    return getitem(x, tuple(slice(None, None, -1) if i in axes else slice(None)
                            for i in range(x.ndim)))


def fliplr(m):
    """Reverse the columns (axis 1) of an array of at least 2 dimensions."""
    m = lazy(m)
    if m.ndim < 2:
        raise op_error(ValueError, "fliplr", "input must be >= 2-d", m.shape)
    return flip(m, 1)


def flipud(m):
    """Reverse the rows (axis 0) of an array of at least 1 dimension."""
    m = lazy(m)
    if m.ndim < 1:
        raise op_error(ValueError, "flipud", "input must be >= 1-d", m.shape)
    return flip(m, 0)


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes`` (from the first axis
    towards the second), as NumPy: flips and a transpose.

    >>> lh.rot90(lh.arange(4).reshape(2, 2)).numpy()
    array([[1, 3],
           [0, 2]])
    """
    m = lazy(m)
    k = _int(k, "rot90", "k") % 4
    axes = _ints(axes, "rot90", "axes")
    if len(axes) != 2:
        raise op_error(ValueError, "rot90", "len(axes) must be 2", m.shape)
    if m.ndim < 2:
        raise op_error(ValueError, "rot90", "the array must be at least 2-d", m.shape)
    a0, a1 = (normalize_axis(a, m.ndim, "rot90", m.shape) for a in axes)
    if a0 == a1:
        raise op_error(ValueError, "rot90", f"axes must be different, got {axes}", m.shape)
    if k == 0:
        return m
    if k == 2:
        return flip(m, (a0, a1))
    perm = list(range(m.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return _permute(flip(m, a1), tuple(perm))
    return flip(_permute(m, tuple(perm)), a1)


def moveaxis(x, source, destination):
    """Move axes ``source`` to positions ``destination``; the others keep their order.

    >>> lh.moveaxis(lh.zeros((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    x = lazy(x)
    src = [normalize_axis(a, x.ndim, "moveaxis", x.shape, "source")
           for a in _ints(source, "moveaxis", "source")]
    dst = [normalize_axis(a, x.ndim, "moveaxis", x.shape, "destination")
           for a in _ints(destination, "moveaxis", "destination")]
    if len(src) != len(dst):
        raise op_error(ValueError, "moveaxis", "source and destination must have the same "
                       "number of elements", x.shape)
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise op_error(ValueError, "moveaxis", "repeated axis in source or destination",
                       x.shape)
    order = [i for i in range(x.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return _permute(x, tuple(order))


def swapaxes(x, axis1, axis2):
    """``x`` with axes ``axis1`` and ``axis2`` interchanged (the split moves with them)."""
    x = lazy(x)
    a = normalize_axis(_int(axis1, "swapaxes", "axis1"), x.ndim, "swapaxes", x.shape)
    b = normalize_axis(_int(axis2, "swapaxes", "axis2"), x.ndim, "swapaxes", x.shape)
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return _permute(x, tuple(perm))


# ---------------------------------------------------------------- repeats and rolls
def repeat(x, repeats, axis=None):
    """Repeat each element ``repeats`` times along ``axis`` (the flattened array when
    None). An int count is a broadcast view reshaped; one count per element (a sequence or
    NumPy array, known when the graph is built) repeats each rank's own rows. Block-local
    along any split; the result of per-element counts along the split axis may be
    unbalanced (``balance()`` evens it out).

    >>> lh.repeat(lh.arange(3, split=0), 2).numpy()
    array([0, 0, 1, 1, 2, 2])
    """
    x = lazy(x)
    if hasattr(repeats, "_node"):
        raise op_error(NotImplementedError, "repeat", "repeats given as a lazy array are not "
                       "supported; pass an int", x.shape)
    reps = _ints(repeats, "repeat", "repeats")
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis = normalize_axis(axis, x.ndim, "repeat", x.shape)
    if any(r < 0 for r in reps):
        raise op_error(ValueError, "repeat", f"repeats may not be negative, got {reps}",
                       x.shape)
    if len(reps) == x.shape[axis] and len(set(reps)) == 1:
        reps = reps[:1]  # the same count for every element: an int repeat
    if len(reps) != 1:
        if len(reps) != x.shape[axis]:
            raise op_error(ValueError, "repeat", f"repeats must be an int or one count per "
                           f"element; got {len(reps)} counts for an axis of length "
                           f"{x.shape[axis]}", x.shape)
        # counts per element: each rank repeats its own rows (no communication)
        return _core.make("repeat", (x._node,), {"axis": axis, "repeats": reps})
    (r,) = reps
    if r == 1:
        return x
    y = expand_dims(x, axis + 1)
    y = broadcast_to(y, y.shape[:axis + 1] + (r,) + y.shape[axis + 2:])
    return reshape(y, x.shape[:axis] + (x.shape[axis] * r,) + x.shape[axis + 1:])


def roll(x, shift, axis=None):
    """Shift elements cyclically by ``shift`` along ``axis`` (the flattened array when None).

    Along an axis this is the concatenation of two slices; along the split axis only the
    rows that cross a block boundary move (each rank receives about ``shift`` rows).

    >>> lh.roll(lh.arange(5, split=0), 2).numpy()
    array([3, 4, 0, 1, 2])
    """
    x = lazy(x)
    shifts = _ints(shift, "roll", "shift")
    if axis is None:
        flat = reshape(x, (-1,))
        return reshape(roll(flat, sum(shifts), 0), x.shape)
    axes = [normalize_axis(a, x.ndim, "roll", x.shape) for a in _ints(axis, "roll", "axis")]
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    elif len(axes) == 1:
        axes = axes * len(shifts)
    if len(shifts) != len(axes):
        raise op_error(ValueError, "roll", "shift and axis must have the same length",
                       x.shape)
    total = {}
    for a, s in zip(axes, shifts):  # repeated axes add up, as NumPy
        total[a] = total.get(a, 0) + s
    for a in sorted(total):
        n = x.shape[a]
        s = total[a] % n if n else 0
        if s:
            x = concatenate([_along(x, a, slice(n - s, n)), _along(x, a, slice(0, n - s))], a)
    return x


def tile(x, reps):
    """``x`` repeated ``reps`` times along each axis (NumPy's ``tile``).

    Axes other than the split one tile as one broadcast view reshaped (block-local); the
    split axis, if tiled, is a concatenation of copies (each rank receives its new rows).

    >>> lh.tile(lh.arange(2), (2, 2)).numpy()
    array([[0, 1, 0, 1],
           [0, 1, 0, 1]])
    """
    x = lazy(x)
    reps = _ints(reps, "tile", "reps")
    if any(r < 0 for r in reps):
        raise op_error(ValueError, "tile", f"reps may not be negative, got {reps}", x.shape)
    if len(reps) < x.ndim:
        reps = (1,) * (x.ndim - len(reps)) + reps
    if x.ndim < len(reps):
        x = reshape(x, (1,) * (len(reps) - x.ndim) + x.shape)
    k = x.split
    # the split axis stays out of the broadcast so that the final reshape keeps its blocks
    local = tuple(1 if i == k else r for i, r in enumerate(reps))
    if any(r != 1 for r in local):
        inter = tuple(v for n in x.shape for v in (1, n))
        wide = tuple(v for r, n in zip(local, x.shape) for v in (r, n))
        y = broadcast_to(reshape(x, inter), wide)
        x = reshape(y, tuple(r * n for r, n in zip(local, x.shape)))
    if k is not None and reps[k] == 0:
        x = _along(x, k, slice(0, 0))
    elif k is not None and reps[k] != 1:
        x = concatenate([x] * reps[k], k)
    return x


# ---------------------------------------------------------------- joining and splitting
def concat(arrays, axis=0):
    """Join arrays along an existing axis (the Array API's name of ``concatenate``;
    ``axis=None`` flattens them first)."""
    return concatenate(arrays, axis)


def unstack(x, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple of arrays (the inverse of ``stack``).

    >>> [a.numpy().tolist() for a in lh.unstack(lh.arange(4).reshape(2, 2))]
    [[0, 1], [2, 3]]
    """
    x = lazy(x)
    if x.ndim == 0:
        raise op_error(ValueError, "unstack", "input must be at least 1-d", x.shape)
    axis = normalize_axis(_int(axis, "unstack", "axis"), x.ndim, "unstack", x.shape)
    if x.split != axis:
        return tuple(_along(x, axis, i) for i in range(x.shape[axis]))
    # along the split axis each slice lives on one rank: scatter it along the longest other
    # axis (each rank receives its block of it), so that the slices together move each
    # element once instead of replicating the whole array on every rank
    kept = [i for i in range(x.ndim) if i != axis]
    if not kept:
        return tuple(_along(x, axis, i) for i in range(x.shape[axis]))
    to = max(kept, key=lambda i: (x.shape[i], -i))
    shape = x.shape[:axis] + x.shape[axis + 1:]
    return tuple(reshape(resplit(_along(x, axis, slice(i, i + 1)), to), shape)
                 for i in range(x.shape[axis]))


def _split(x, indices_or_sections, axis, op, equal):
    x = lazy(x)
    if x.ndim == 0:
        raise op_error(ValueError, op, "input must be at least 1-d", x.shape)
    axis = normalize_axis(_int(axis, op, "axis"), x.ndim, op, x.shape)
    n = x.shape[axis]
    if isinstance(indices_or_sections, (list, tuple)) or hasattr(indices_or_sections, "ndim"):
        cuts = list(_ints(indices_or_sections, op, "indices"))
        bounds = list(zip([0] + cuts, cuts + [n]))
    else:
        s = _int(indices_or_sections, op, "sections")
        if s <= 0:
            raise op_error(ValueError, op, "number of sections must be larger than 0",
                           x.shape)
        if equal and n % s:
            raise op_error(ValueError, op, "array split does not result in an equal division",
                           x.shape)
        base, extra = divmod(n, s)
        sizes = [base + (1 if i < extra else 0) for i in range(s)]
        ends = [sum(sizes[:i + 1]) for i in range(s)]
        bounds = list(zip([0] + ends[:-1], ends))
    return [_along(x, axis, slice(a, b)) for a, b in bounds]


def split(x, indices_or_sections, axis=0):
    """Split into equal sections (an int) or at the given indices, as a list of lazy slices
    (no data moves: each piece keeps its rows where they are).

    >>> [p.shape for p in lh.split(lh.arange(6, split=0), 3)]
    [(2,), (2,), (2,)]
    """
    return _split(x, indices_or_sections, axis, "split", True)


def array_split(x, indices_or_sections, axis=0):
    """``split`` that allows sections of unequal size (the first ones one longer)."""
    return _split(x, indices_or_sections, axis, "array_split", False)


def hsplit(x, indices_or_sections):
    """Split along columns (axis 1; axis 0 for 1-d arrays)."""
    x = lazy(x)
    if x.ndim == 0:
        raise op_error(ValueError, "hsplit", "only works on arrays of 1 or more dimensions")
    return _split(x, indices_or_sections, 1 if x.ndim > 1 else 0, "hsplit", True)


def vsplit(x, indices_or_sections):
    """Split along rows (axis 0) an array of at least 2 dimensions."""
    x = lazy(x)
    if x.ndim < 2:
        raise op_error(ValueError, "vsplit", "only works on arrays of 2 or more dimensions",
                       x.shape)
    return _split(x, indices_or_sections, 0, "vsplit", True)


def dsplit(x, indices_or_sections):
    """Split along depth (axis 2) an array of at least 3 dimensions."""
    x = lazy(x)
    if x.ndim < 3:
        raise op_error(ValueError, "dsplit", "only works on arrays of 3 or more dimensions",
                       x.shape)
    return _split(x, indices_or_sections, 2, "dsplit", True)


def _atleast(arys, nd):
    out = []
    for a in arys:
        a = lazy(a)
        if a.ndim < nd:
            if nd == 3 and a.ndim == 2:
                a = reshape(a, a.shape + (1,))
            elif nd == 3 and a.ndim == 1:
                a = reshape(a, (1,) + a.shape + (1,))
            else:
                a = reshape(a, (1,) * (nd - a.ndim) + a.shape)
        out.append(a)
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*arys):
    """Arrays with at least one dimension (one array, or a tuple for several)."""
    return _atleast(arys, 1)


def atleast_2d(*arys):
    """Arrays with at least two dimensions: ``(N,)`` becomes ``(1, N)``."""
    return _atleast(arys, 2)


def atleast_3d(*arys):
    """Arrays with at least three dimensions: ``(N,)`` becomes ``(1, N, 1)``, ``(M, N)``
    becomes ``(M, N, 1)``."""
    return _atleast(arys, 3)


def _seq(tup, op):
    arrs = [lazy(a) for a in tup]
    if not arrs:
        raise op_error(ValueError, op, "need at least one array to concatenate")
    return arrs


def hstack(tup):
    """Stack horizontally: along axis 1 (axis 0 for 1-d arrays).

    >>> lh.hstack([lh.arange(2), lh.arange(3)]).shape
    (5,)
    """
    arrs = [atleast_1d(a) for a in _seq(tup, "hstack")]
    return concatenate(arrs, 0 if arrs[0].ndim == 1 else 1)


def vstack(tup):
    """Stack vertically: along axis 0, 1-d arrays as rows."""
    return concatenate([atleast_2d(a) for a in _seq(tup, "vstack")], 0)


def dstack(tup):
    """Stack along the third axis (``atleast_3d`` first)."""
    return concatenate([atleast_3d(a) for a in _seq(tup, "dstack")], 2)


def column_stack(tup):
    """1-d arrays as columns of a 2-d array (2-d arrays are stacked as they are)."""
    arrs = [a if a.ndim >= 2 else reshape(a, (-1, 1) if a.ndim else (1, 1))
            for a in _seq(tup, "column_stack")]
    return concatenate(arrs, 1)


def ravel(x):
    """The flattened array (C order); block-local for an array split along axis 0."""
    return reshape(lazy(x), (-1,))


flatten = ravel
