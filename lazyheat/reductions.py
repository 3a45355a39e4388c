"""Reductions (NumPy semantics, Array API signatures): sum, prod, mean, var, std, min, max,
argmin, argmax, any, all, ptp and the vector norm, over ``axis`` None, int or tuple, with
``keepdims``, ``dtype=`` (sum, prod, mean), ``correction=``/``ddof=`` (var, std) and NumPy's
``where=`` (sum, prod, mean, any, all); and the cumulative sum.

Every reduction is an entry of ``graph.reduce.REDUCTIONS``; those without a function of their
own here (their signature is ``(x, axis=None, keepdims=False)``) get one generated from it.
Unsigned input (uint16/32/64, where torch has few kernels) is reduced on a signed type that
holds the same values or bits, with NumPy's result dtype (sums of unsigned ints: uint64).

Reducing along the split axis leaves a partial result per rank that one collective combines;
see ``lazyheat.passes.lower`` for which collective each reduction uses.
"""

from __future__ import annotations

import builtins

from . import _core
from ._array import LazyArray
from .creation import full_like, lazy, zeros
from .elementwise import bitwise_xor
from .elementwise import where as ew_where
from .graph import dtypes as dt
from .graph.errors import normalize_axes, normalize_axis, op_error
from .graph.node import Node
from .graph.reduce import REDUCTIONS, reduce_aval
from .graph.source import user_location
from .manipulation import concatenate

# torch has few kernels for uint16/32/64: reductions run on a signed type holding the same
# values (uint16 -> int32, uint32 -> int64) or, for uint64, the same bits (int64)
_SIGNED = {"uint16": dt.int32, "uint32": dt.int64, "uint64": dt.int64}
_ORDER_BIT = -(1 << 63)  # uint64 bits xor this, read as int64, keep the unsigned order


def _reduce_unsigned(fn, x, axis, keepdims, ddof, dtype):
    """``fn`` of unsigned ``x`` (or to an unsigned ``dtype``) with NumPy's result, computed
    on signed types; None where the plain path serves (uint8 outside sum and prod)."""
    src = x.dtype
    if fn in ("sum", "prod"):
        out = dt.uint64 if dtype is None else dt.as_dtype(dtype)  # NumPy's platform uint
        if out.kind != "u":
            return reduce(fn, x.astype(_SIGNED.get(src.name, src)), axis, keepdims,
                          dtype=out)
        # int64 arithmetic wraps modulo 2**64, so its low bits are the unsigned result
        return reduce(fn, x.astype(dt.int64), axis, keepdims, dtype=dt.int64).astype(out)
    if src.kind != "u" or src is dt.uint8:
        return None
    if fn in ("any", "all"):
        return reduce(fn, x.astype(dt.bool_), axis, keepdims)
    if fn not in ("min", "max", "ptp", "argmin", "argmax"):  # mean, var, std: float64
        return reduce(fn, x.astype(dt.float64), axis, keepdims, ddof, dtype)
    work = x.astype(_SIGNED[src.name])
    if src is dt.uint64:
        work = bitwise_xor(work, _ORDER_BIT)
    r = reduce(fn, work, axis, keepdims)
    if fn in ("argmin", "argmax"):
        return r
    if src is dt.uint64 and fn != "ptp":  # (a difference needs no order fix)
        r = bitwise_xor(r, _ORDER_BIT)
    return r.astype(src)


def reduce(fn: str, x, axis=None, keepdims=False, ddof=0, dtype=None):
    """Build the reduction ``fn`` of ``x``."""
    if not isinstance(x, LazyArray):
        x = lazy(x)
    a = x._node.aval
    if dtype is not None:
        dtype = dt.as_dtype(dtype)
    if a.dtype.kind == "u" or dtype is not None and dtype.kind == "u":
        r = _reduce_unsigned(fn, x, axis, keepdims, ddof, dtype)
        if r is not None:
            return r
    ndim = len(a.shape)
    if fn in ("argmin", "argmax"):
        if axis is not None:
            axis = normalize_axis(axis, builtins.max(ndim, 1), fn, a.shape)
        axes = tuple(range(ndim)) if axis is None else (axis,)
        if ndim == 0:
            axes = ()
    else:
        axes = tuple(range(ndim)) if axis is None else normalize_axes(axis, ndim, fn, a.shape)
    keepdims = bool(keepdims)
    aval = reduce_aval(a, fn, axes, keepdims, dtype)  # checks and aval: graph/reduce.py
    if dtype is None:  # the attributes in the sorted order ``Node`` keeps
        attrs = (("axes", axes), ("ddof", ddof), ("fn", fn), ("keepdims", keepdims))
    else:
        attrs = (("axes", axes), ("ddof", ddof), ("dtype", dtype), ("fn", fn),
                 ("keepdims", keepdims))
    # (axes, names, flags and a dtype: plain key material unless ddof is a float)
    return LazyArray(Node("reduce", (x._node,), attrs, aval, user_location(2),
                          type(ddof) is int))


def _no_out(fn: str, out) -> None:
    """NumPy's ``out=``: lazy arrays are immutable, so only None is accepted."""
    if out is not None:
        raise op_error(TypeError, fn, "out= is not supported: lazy arrays are immutable; use "
                       "the returned array")


def _masked(x, where, identity):
    """NumPy's ``where=`` of a reduction: the elements it leaves out count as ``identity``."""
    if where is True:
        return x
    x = lazy(x)
    return ew_where(lazy(where), x, identity)


def _real(d):
    return {dt.complex64: dt.float32, dt.complex128: dt.float64}.get(d, d)


def sum(x, /, axis=None, dtype=None, out=None, keepdims=False, *, where=True):  # noqa: A001 - NumPy's name
    """Sum of elements (NumPy's argument order; the Array API passes the rest by keyword).
    Bools and integers accumulate in int64 unless ``dtype`` says otherwise; the sum of no
    elements is 0.

    >>> lh.sum(lh.ones((3, 4), split=0), axis=0).numpy()
    array([3., 3., 3., 3.], dtype=float32)
    """
    if out is not None:
        _no_out("sum", out)
    return reduce("sum", x if where is True else _masked(x, where, 0), axis, keepdims,
                  dtype=dtype)


def prod(x, /, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    """Product of elements (1 for no elements); complex allowed.

    >>> lh.prod(lh.arange(1, 5, split=0)).item()
    24
    """
    _no_out("prod", out)
    return reduce("prod", _masked(x, where, 1), axis, keepdims, dtype=dtype)


def mean(x, /, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    """Arithmetic mean; integers give float64, as NumPy; the mean of no elements is NaN.

    >>> lh.mean(lh.arange(4, split=0)).item()
    1.5
    """
    _no_out("mean", out)
    if where is True:
        return reduce("mean", x, axis, keepdims, dtype=dtype)
    x = lazy(x)  # NumPy: the sum of the selected elements over their count
    total = reduce("sum", _masked(x, where, 0), axis, keepdims,
                   dtype=dtype or REDUCTIONS["mean"].dtype(x.dtype))
    count = reduce("sum", _masked(full_like(x, 1, dtype=dt.int64), where, 0), axis, keepdims)
    return total / count.astype(_real(total.dtype))


def _dof(fn: str, ddof, correction):
    """The Array API's ``correction`` and NumPy's ``ddof`` are one number: give one."""
    if correction is not None:
        if ddof != 0:
            raise op_error(ValueError, fn, "ddof and correction can't be provided "
                           "simultaneously")
        return correction
    return ddof


def _moment(fn, x, axis, dtype, out, ddof, keepdims, correction):
    _no_out(fn, out)
    x = lazy(x)
    if dtype is not None:  # NumPy computes in ``dtype``
        x = x.astype(dtype)
    return reduce(fn, x, axis, keepdims, ddof=_dof(fn, ddof, correction))


def var(x, /, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, correction=None):
    """Variance with ``ddof`` (the Array API's ``correction``) delta degrees of freedom;
    per-rank moments merged exactly.

    >>> lh.var(lh.arange(4.0, dtype=lh.float64, split=0), correction=1).item()
    1.6666666666666667
    """
    return _moment("var", x, axis, dtype, out, ddof, keepdims, correction)


def std(x, /, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, correction=None):
    """Standard deviation (square root of ``var``; ``correction`` is ``ddof``).

    >>> lh.std(lh.arange(4.0, dtype=lh.float64, split=0)).item()
    1.118033988749895
    """
    return _moment("std", x, axis, dtype, out, ddof, keepdims, correction)


def min(x, /, axis=None, out=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Minimum; NaN propagates as in NumPy; no elements: ValueError when built.

    >>> lh.min(lh.arange(4, split=0)).item()
    0
    """
    _no_out("min", out)
    return reduce("min", x, axis, keepdims)


def max(x, /, axis=None, out=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Maximum; NaN propagates as in NumPy; no elements: ValueError when built.

    >>> lh.max(lh.arange(4, split=0)).item()
    3
    """
    _no_out("max", out)
    return reduce("max", x, axis, keepdims)


def argmin(x, /, axis=None, out=None, *, keepdims=False):
    """Index of the minimum (first occurrence; flat index when ``axis`` is None).

    >>> lh.argmin(lh.array([3, 1, 1], split=0)).item()
    1
    """
    _no_out("argmin", out)
    return reduce("argmin", x, axis, keepdims)


def argmax(x, /, axis=None, out=None, *, keepdims=False):
    """Index of the maximum (first occurrence; flat index when ``axis`` is None).

    >>> lh.argmax(lh.array([3, 1, 3], split=0)).item()
    0
    """
    _no_out("argmax", out)
    return reduce("argmax", x, axis, keepdims)


def any(x, /, axis=None, out=None, keepdims=False, *, where=True):  # noqa: A001 - NumPy's name
    """Whether any element is true (False for no elements).

    >>> lh.any(lh.array([0, 2], split=0)).item()
    True
    """
    _no_out("any", out)
    return reduce("any", _masked(x, where, False), axis, keepdims)


def all(x, /, axis=None, out=None, keepdims=False, *, where=True):  # noqa: A001 - NumPy's name
    """Whether all elements are true (True for no elements).

    >>> lh.all(lh.array([0, 2], split=0)).item()
    False
    """
    _no_out("all", out)
    return reduce("all", _masked(x, where, True), axis, keepdims)


def ptp(x, /, axis=None, out=None, keepdims=False):
    """Range of values (maximum - minimum), as NumPy's ``ptp``; per-rank (min, max) pairs
    are gathered and merged.

    >>> lh.ptp(lh.array([3, 1, 7], split=0)).item()
    6
    """
    _no_out("ptp", out)
    return reduce("ptp", x, axis, keepdims)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector 2-norm over ``axis`` (all elements when None), as ``numpy.linalg.norm`` of a
    vector.

    >>> lh.norm(lh.array([3.0, 4.0], split=0)).item()
    5.0
    """
    if ord not in (None, 2) and not (ord == "fro" and axis is None):
        raise op_error(ValueError, "norm", f"only the 2-norm is supported (ord={ord!r})")
    if axis is not None and not isinstance(axis, int):
        raise op_error(TypeError, "norm", "only vector norms are supported: axis must be None "
                       "or an int")
    return reduce("norm", x, axis, keepdims)


amin, amax = min, max


def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along ``axis`` (of the flattened array when None), as NumPy: bools and
    signed integers accumulate in int64, unsigned integers in uint64, and
    ``dtype=bool`` gives the running logical or. Along the split axis each rank adds the sums
    of the blocks before it (one all-gather of a slice per rank).

    >>> lh.cumsum(lh.arange(5, split=0)).numpy()
    array([ 0,  1,  3,  6, 10])
    """
    x = lazy(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = normalize_axis(axis, builtins.max(x.ndim, 1), "cumsum", x.shape)
    if x.ndim == 0:
        x = x.reshape(1)
    if dtype is not None and dt.as_dtype(dtype) == dt.bool_:  # a running "any"
        return cumsum(x.astype(dt.bool_), axis, dt.int64) > 0
    attrs = {"axis": axis}
    if dtype is not None:
        attrs["dtype"] = dt.as_dtype(dtype)
    return _core.make("cumsum", (x._node,), attrs)


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    """The Array API's cumulative sum: ``axis`` may be omitted for 1-D input only, and
    ``include_initial=True`` starts the result with a zero (one more element along ``axis``).

    >>> lh.cumulative_sum(lh.arange(4, split=0), include_initial=True).numpy()
    array([0, 0, 1, 3, 6])
    """
    x = lazy(x)
    if axis is None:
        if x.ndim != 1:
            raise op_error(ValueError, "cumulative_sum", "axis must be given for arrays of "
                           f"more than one dimension (got {x.ndim})", x.shape)
        axis = 0
    out = cumsum(x, axis, dtype)
    if not include_initial:
        return out
    axis = normalize_axis(axis, out.ndim, "cumulative_sum", out.shape)
    shape = tuple(1 if i == axis else n for i, n in enumerate(out.shape))
    first = zeros(shape, dtype=out.dtype, split=None, device=out.device, comm=out.comm)
    return concatenate([first, out], axis)


def _generated(fn: str):
    def f(x, axis=None, keepdims=False):
        return reduce(fn, x, axis, keepdims)

    f.__name__ = f.__qualname__ = fn
    f.__doc__ = f"{REDUCTIONS[fn].doc}\n\n>>> lh.{fn}(lh.arange(6, split=0)).shape\n()\n"
    return f


_g = globals()
for _fn, _r in REDUCTIONS.items():
    if _r.public and _fn not in _g:
        _g[_fn] = _generated(_fn)

# reductions that are also methods of LazyArray (``x.sum(0)``)
METHODS = tuple(fn for fn, r in REDUCTIONS.items() if r.public)
__all__ = list(METHODS) + ["amin", "amax", "norm", "cumsum", "cumulative_sum"]
