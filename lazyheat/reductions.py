"""Reductions (NumPy semantics): sum, prod, mean, var, std, min, max, argmin, argmax, any,
all and the vector norm, over ``axis`` None, int or tuple, with ``keepdims``.

Reducing along the split axis leaves a partial result per rank that one collective combines;
see ``lazyheat.passes.lower`` for which collective each reduction uses.
"""

from __future__ import annotations

import builtins

from . import _core
from .creation import asarray
from .graph import Aval
from .graph import dtypes as dt
from .graph import rules as ru
from .graph.errors import normalize_axes, normalize_axis, op_error
from .graph.ops import reduce_dtype


def reduce(fn: str, x, axis=None, keepdims=False, ddof=0, dtype=None):
    """Build the reduction ``fn`` of ``x``."""
    x = asarray(x)
    if fn in ("argmin", "argmax"):
        if axis is not None:
            axis = normalize_axis(axis, builtins.max(x.ndim, 1), fn, x.shape)
        axes = tuple(range(x.ndim)) if axis is None else (axis,)
        if x.ndim == 0:
            axes = ()
    else:
        axes = normalize_axes(axis, x.ndim, fn, x.shape)
    if fn in ("min", "max", "argmin", "argmax") and x.dtype.is_complex:
        raise op_error(TypeError, fn, f"not supported for complex dtypes ({x.dtype.name})",
                       x.shape)
    if fn in ("min", "max", "argmin", "argmax") and builtins.any(x.shape[a] == 0 for a in axes):
        raise op_error(ValueError, fn, "zero-size array to reduction operation which has no "
                       "identity", x.shape)
    if fn in ("argmin", "argmax") and axis is None and not keepdims:
        out_shape = ()
    else:
        out_shape = ru.reduce_shape(x.shape, axes, keepdims)
    out = reduce_dtype(fn, x.dtype) if dtype is None else dt.as_dtype(dtype)
    (split, counts), _ = ru.reduce_layout(x.aval, axes, keepdims)
    if fn in ("argmin", "argmax") and axis is None:
        split, counts = None, None
    aval = Aval(out_shape, out, split, counts, x.device, x.comm)
    attrs = {"fn": fn, "axes": axes, "keepdims": bool(keepdims), "ddof": ddof}
    return _core.make("reduce", (x._node,), attrs, aval)


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
