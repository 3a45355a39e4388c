"""Reductions (NumPy semantics): sum, prod, mean, var, std, min, max, argmin, argmax, any,
all, ptp and the vector norm, over ``axis`` None, int or tuple, with ``keepdims``; and the
cumulative sum.

Every reduction is an entry of ``graph.reduce.REDUCTIONS``; those without a function of their
own here (their signature is ``(x, axis=None, keepdims=False)``) get one generated from it.

Reducing along the split axis leaves a partial result per rank that one collective combines;
see ``lazyheat.passes.lower`` for which collective each reduction uses.
"""

from __future__ import annotations

import builtins

from . import _core
from .creation import lazy, zeros
from .graph import dtypes as dt
from .graph.errors import normalize_axes, normalize_axis, op_error
from .graph.reduce import REDUCTIONS
from .manipulation import concatenate


def reduce(fn: str, x, axis=None, keepdims=False, ddof=0, dtype=None):
    """Build the reduction ``fn`` of ``x``."""
    x = lazy(x)
    if fn in ("argmin", "argmax"):
        if axis is not None:
            axis = normalize_axis(axis, builtins.max(x.ndim, 1), fn, x.shape)
        axes = tuple(range(x.ndim)) if axis is None else (axis,)
        if x.ndim == 0:
            axes = ()
    else:
        axes = normalize_axes(axis, x.ndim, fn, x.shape)
    attrs = {"fn": fn, "axes": axes, "keepdims": bool(keepdims), "ddof": ddof}
    if dtype is not None:
        attrs["dtype"] = dt.as_dtype(dtype)
    return _core.make("reduce", (x._node,), attrs)  # checks and aval: graph/reduce.py


def sum(x, axis=None, keepdims=False, dtype=None):  # noqa: A001 - NumPy's name
    """Sum of elements; bools and integers accumulate in int64.

    >>> lh.sum(lh.ones((3, 4), split=0), axis=0).numpy()
    array([3., 3., 3., 3.], dtype=float32)
    """
    return reduce("sum", x, axis, keepdims, dtype=dtype)


def prod(x, axis=None, keepdims=False, dtype=None):
    """Product of elements."""
    return reduce("prod", x, axis, keepdims, dtype=dtype)


def mean(x, axis=None, keepdims=False, dtype=None):
    """Arithmetic mean; integers give float64, as NumPy."""
    return reduce("mean", x, axis, keepdims, dtype=dtype)


def var(x, axis=None, keepdims=False, ddof=0):
    """Variance with ``ddof`` delta degrees of freedom; per-rank moments merged exactly."""
    return reduce("var", x, axis, keepdims, ddof=ddof)


def std(x, axis=None, keepdims=False, ddof=0):
    """Standard deviation (square root of ``var``)."""
    return reduce("std", x, axis, keepdims, ddof=ddof)


def min(x, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Minimum; NaN propagates as in NumPy."""
    return reduce("min", x, axis, keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Maximum; NaN propagates as in NumPy."""
    return reduce("max", x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index of the minimum (first occurrence; flat index when ``axis`` is None)."""
    return reduce("argmin", x, axis, keepdims)


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum (first occurrence; flat index when ``axis`` is None)."""
    return reduce("argmax", x, axis, keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Whether any element is true."""
    return reduce("any", x, axis, keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    """Whether all elements are true."""
    return reduce("all", x, axis, keepdims)


def norm(x, axis=None, keepdims=False):
    """Vector 2-norm over ``axis`` (all elements when None), as ``numpy.linalg.norm`` of a
    vector.

    >>> lh.norm(lh.array([3.0, 4.0], split=0)).item()
    5.0
    """
    if axis is not None and not isinstance(axis, int):
        raise op_error(TypeError, "norm", "only vector norms are supported: axis must be None "
                       "or an int")
    return reduce("norm", x, axis, keepdims)


amin, amax = min, max


def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along ``axis`` (of the flattened array when None), as NumPy: small
    integers and bools accumulate in int64 (lazyheat has no uint64: uint8 too), and
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
