"""Arrays built from other arrays or from index grids: meshgrid, tril, triu, diag, diagonal,
pad and logspace (``lh.<name>`` through ``shaping``).

They are compositions that fuse and plan like any graph: ``tril``/``triu`` are an elementwise
``where`` against global row and column indices generated on each rank for its own block (no
communication on any split); ``diagonal`` of a row-split matrix is a strided slice of its
flattened blocks (each rank keeps the diagonal entries of its rows); ``pad`` concatenates
constant blocks or slices of the array, so along the split axis only rows whose owner changes
move.

>>> lh.triu(lh.ones((3, 3), split=0)).numpy()
array([[1., 1., 1.],
       [0., 1., 1.],
       [0., 0., 1.]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from . import _core
from . import elementwise as ew
from .broadcasting import _along, _int, _permute, broadcast_to
from .creation import lazy, linspace
from .graph import Aval
from .graph import dtypes as dt
from .graph.errors import normalize_axis, op_error
from .manipulation import concatenate, reshape

__all__ = ["meshgrid", "tril", "triu", "diag", "diagonal", "pad", "logspace"]


def _zero(x):
    """The zero of ``x``'s dtype as a weak scalar that keeps the dtype in ``where``."""
    return False if x.dtype == dt.bool_ else 0


def _leaf(op, attrs, shape, dtype, layout, like):
    """A generated leaf with the given layout, so that it lines up with ``like``'s blocks
    (each rank generates its own block only)."""
    split, counts = layout
    return _core.make(op, (), attrs, Aval(tuple(shape), dtype, split, counts, like.device,
                                          like.comm))


# ---------------------------------------------------------------- grids
def meshgrid(*arrays, indexing="xy"):
    """Coordinate grids from 1-d coordinate arrays (a list, as the Array API). "xy"
    (Cartesian) swaps the first two output axes, "ij" (matrix) does not. Each grid is a
    broadcast view; a split input keeps its blocks along its axis of the grids.

    >>> X, Y = lh.meshgrid(lh.arange(3), lh.arange(2))
    >>> X.shape
    (2, 3)
    """
    if indexing not in ("xy", "ij"):
        raise op_error(ValueError, "meshgrid", f"indexing must be 'xy' or 'ij', got "
                       f"{indexing!r}")
    arrs = [reshape(lazy(a), (-1,)) for a in arrays]
    if not arrs:
        return []
    _core.check_same(arrs, "meshgrid")
    n = len(arrs)
    pos = list(range(n))
    if indexing == "xy" and n > 1:
        pos[0], pos[1] = 1, 0
    shape = [0] * n
    for a, p in zip(arrs, pos):
        shape[p] = a.shape[0]
    out = []
    for a, p in zip(arrs, pos):
        col = reshape(a, tuple(shape[i] if i == p else 1 for i in range(n)))
        out.append(broadcast_to(col, tuple(shape)))
    return out


def _tri(x, k, op, keep):
    x = lazy(x)
    if x.ndim < 2:
        raise op_error(ValueError, op, "input must be at least 2-d", x.shape)
    k = _int(k, op, "k")
    m, n = x.shape[-2:]
    r = c = (None, None)  # replicated indices unless x is split along rows or columns
    if x.split == x.ndim - 2:
        r = (0, x.aval.counts)
    elif x.split == x.ndim - 1:
        c = (0, x.aval.counts)
    rows = reshape(_leaf("arange", {"start": 0, "step": 1}, (m,), dt.int64, r, x), (m, 1))
    cols = reshape(_leaf("arange", {"start": 0, "step": 1}, (n,), dt.int64, c, x), (1, n))
    return ew.where(keep(cols - rows, k), x, _zero(x))


def tril(x, k=0):
    """The lower triangle of (each matrix of) ``x``: elements above diagonal ``k`` zeroed.
    An elementwise ``where`` against global indices: fuses, and moves nothing on any split.

    >>> lh.tril(lh.ones((2, 2))).numpy()
    array([[1., 0.],
           [1., 1.]], dtype=float32)
    """
    return _tri(x, k, "tril", lambda d, k: d <= k)


def triu(x, k=0):
    """The upper triangle of (each matrix of) ``x``: elements below diagonal ``k`` zeroed."""
    return _tri(x, k, "triu", lambda d, k: d >= k)


# ---------------------------------------------------------------- diagonals
def diagonal(x, offset=0, axis1=0, axis2=1):
    """The ``offset``-th diagonal of the 2-d sub-arrays on ``axis1`` and ``axis2``, as a new
    last axis (NumPy's ``diagonal``; the Array API's ``linalg.diagonal`` is
    ``axis1=-2, axis2=-1``).

    A strided slice of the flattened matrices: split on a batch axis or the rows, each rank
    keeps the diagonal entries of its own block (no communication, possibly unbalanced);
    split on the columns, the same on the transposed matrices.

    >>> lh.diagonal(lh.arange(9, split=0).reshape(3, 3)).numpy()
    array([0, 4, 8])
    """
    x = lazy(x)
    if x.ndim < 2:
        raise op_error(ValueError, "diagonal", "input must be at least 2-d", x.shape)
    offset = _int(offset, "diagonal", "offset")
    a1 = normalize_axis(_int(axis1, "diagonal", "axis1"), x.ndim, "diagonal", x.shape)
    a2 = normalize_axis(_int(axis2, "diagonal", "axis2"), x.ndim, "diagonal", x.shape)
    if a1 == a2:
        raise op_error(ValueError, "diagonal", "axis1 and axis2 cannot be the same", x.shape)
    perm = tuple(i for i in range(x.ndim) if i not in (a1, a2)) + (a1, a2)
    x = _permute(x, perm)
    if x.split == x.ndim - 1:  # column-split: the same diagonal of the transposes
        swap = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
        x, offset = _permute(x, swap), -offset
    n, m = x.shape[-2:]
    length = max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m))
    flat = reshape(x, x.shape[:-2] + (n * m,))
    last = flat.ndim - 1
    if length == 0:
        return _along(flat, last, slice(0, 0))
    start = offset if offset >= 0 else -offset * m
    return _along(flat, last, slice(start, start + (length - 1) * (m + 1) + 1, m + 1))


def diag(v, k=0):
    """The ``k``-th diagonal of a 2-d array, or a 2-d array with the 1-d ``v`` on its
    ``k``-th diagonal (NumPy's ``diag``). Built as a ``where`` of a generated identity
    pattern against ``v`` broadcast along rows or columns: a split ``v`` gives a matrix
    split the same way, with no gather.

    >>> lh.diag(lh.array([1, 2])).numpy()
    array([[1, 0],
           [0, 2]])
    """
    v = lazy(v)
    k = _int(k, "diag", "k")
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise op_error(ValueError, "diag", "input must be 1-d or 2-d", v.shape)
    size = v.shape[0] + abs(k)
    vpad = pad(v, (0, abs(k))) if k else v
    line = reshape(vpad, (size, 1) if k >= 0 else (1, size))
    layout = line.aval.layout
    if layout[0] is not None and line.shape[layout[0]] != size:
        layout = (None, None)  # split along the length-one axis: the where replicates
    mask = _leaf("eye", {"k": k}, (size, size), dt.bool_, layout, line)
    return ew.where(mask, line, _zero(v))


# ---------------------------------------------------------------- padding
def _widths(x, pad_width, op):
    try:
        pw = np.asarray(pad_width)
        if pw.dtype.kind not in "iu":
            raise TypeError
        pw = np.broadcast_to(pw, (x.ndim, 2))
    except (TypeError, ValueError):
        raise op_error(ValueError, op, f"pad_width must be an int or int pairs that broadcast "
                       f"to ({x.ndim}, 2), got {pad_width!r}", x.shape) from None
    if (pw < 0).any():
        raise op_error(ValueError, op, "pad widths may not be negative", x.shape)
    return [(int(b), int(a)) for b, a in pw.tolist()]


def _cast_value(v, dtype):
    """A constant converted to ``dtype`` as NumPy's assignment does (truncating floats)."""
    if dtype == dt.bfloat16:
        return float(v)
    return np.asarray(v).astype(np.dtype(dtype.name)).item()


def _reversed(x, axis, lo, hi):
    """Elements ``hi - 1`` down to ``lo`` of ``x`` along ``axis``."""
    return _along(x, axis, slice(hi - 1, lo - 1 if lo > 0 else None, -1))


def pad(x, pad_width, mode="constant", constant_values=0):
    """``x`` padded along each axis by ``pad_width`` (an int, a ``(before, after)`` pair or
    one pair per axis), as NumPy's ``pad`` in modes "constant", "edge", "wrap", "reflect" and
    "symmetric".

    Each axis is a concatenation of the pads and ``x``: constant pads along the split axis
    are generated where they land, so only rows whose owner changes move.

    >>> lh.pad(lh.arange(3, split=0), 1).numpy()
    array([0, 0, 1, 2, 0])
    """
    x = lazy(x)
    modes = ("constant", "edge", "wrap", "reflect", "symmetric")
    if mode not in modes:
        raise op_error(NotImplementedError if isinstance(mode, str) else TypeError, "pad",
                       f"mode {mode!r} is not supported; use one of {modes}", x.shape)
    widths = _widths(x, pad_width, "pad")
    if mode == "constant":
        try:
            cv = np.broadcast_to(np.asarray(constant_values), (x.ndim, 2)).tolist()
        except ValueError:
            raise op_error(ValueError, "pad", f"constant_values {constant_values!r} do not "
                           f"broadcast to ({x.ndim}, 2)", x.shape) from None
    for ax, (b, a) in enumerate(widths):
        if not (b or a):
            continue
        n = x.shape[ax]
        if mode != "constant":
            if n == 0:
                raise op_error(ValueError, "pad", f"can't extend empty axis {ax} using modes "
                               f"other than 'constant'", x.shape)
            if n > 1 and mode != "edge" and max(b, a) > (n - 1 if mode == "reflect" else n):
                x = _periodic(x, ax, b, a, mode)
                continue
        m = "edge" if n == 1 and mode != "constant" else mode  # one element: all repeat it
        pieces = [_pad_piece(x, ax, w, side, m, cv[ax][side] if m == "constant" else 0)
                  if w else None for side, w in enumerate((b, a))]
        x = concatenate([p for p in (pieces[0], x, pieces[1]) if p is not None], ax)
    return x


def _periodic(x, ax, b, a, mode):
    """Wide "wrap", "reflect" or "symmetric" padding: NumPy's result is the periodic
    extension of one period (``x``; ``x`` and its inner reverse; ``x`` and its reverse), so
    copies of the period are joined and the wanted window sliced out."""
    n = x.shape[ax]
    if mode == "wrap":
        period = x
    elif mode == "reflect":
        period = concatenate([x, _reversed(x, ax, 1, n - 1)], ax)
    else:
        period = concatenate([x, _reversed(x, ax, 0, n)], ax)
    size = period.shape[ax]
    k0, k1 = -(-b // size), -(-(n + a) // size)  # periods before and up to the end
    joined = concatenate([period] * (k0 + k1), ax)
    return _along(joined, ax, slice(k0 * size - b, k0 * size + n + a))


def _pad_piece(x, ax, w, side, mode, value):
    """The block of width ``w`` padded before (``side`` 0) or after (1) ``x`` along ``ax``."""
    n = x.shape[ax]
    if mode == "constant":
        shape = x.shape[:ax] + (w,) + x.shape[ax + 1:]
        # along the split axis the pad is replicated (a local slice gives each rank the rows
        # it receives); along another axis it takes x's blocks
        layout = (None, None) if x.split == ax else x.aval.layout
        return _leaf("full", {"value": _cast_value(value, x.dtype)}, shape, x.dtype, layout, x)
    if mode == "edge":
        edge = _along(x, ax, slice(0, 1) if side == 0 else slice(n - 1, n))
        return broadcast_to(edge, x.shape[:ax] + (w,) + x.shape[ax + 1:])
    if mode == "wrap":
        return _along(x, ax, slice(n - w, n) if side == 0 else slice(0, w))
    if mode == "reflect":
        return _reversed(x, ax, 1, w + 1) if side == 0 else _reversed(x, ax, n - 1 - w, n - 1)
    return _reversed(x, ax, 0, w) if side == 0 else _reversed(x, ax, n - w, n)


# ---------------------------------------------------------------- creation
def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, split=None,
             device=None, comm=None):
    """``num`` samples ``base ** t`` for ``t`` evenly spaced from ``start`` to ``stop``
    (computed in float64, returned as float32 unless ``dtype`` says otherwise).

    >>> lh.logspace(0, 2, 3, dtype="float64").numpy()
    array([  1.,  10., 100.])
    """
    if isinstance(base, bool) or not isinstance(base, (int, float)):
        raise op_error(TypeError, "logspace", f"base must be a real number, got {base!r}")
    t = linspace(start, stop, num, endpoint, dtype=dt.float64, split=split, device=device,
                 comm=comm)
    return ew.astype(ew.power(float(base), t), dt.as_dtype(dtype or dt.float32))
