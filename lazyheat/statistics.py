"""Order statistics (NumPy semantics): ``quantile``, ``percentile``, ``median``.

Each is a pick of the order statistics around every quantile (``order_stats``) and NumPy's
interpolation between them (``quantile_lerp``). Along an axis that is not split everything
is block-local, and the order statistics are selected in linear time (a k-th value each)
rather than sorted for. Along the split axis of an n-d array the
split moves to another axis first (one all-to-all). Over a 1-d split array (or ``axis=None``
over a split array, flattened) the sample sort runs, and the few needed positions are
combined by one all-reduce: the rank holding a position contributes it, the others zero.
A slice holding a NaN yields NaN, as NumPy.
"""

from __future__ import annotations

import math

import numpy as np

from . import _core
from .creation import full, lazy
from .graph import dtypes as dt
from .graph.errors import normalize_axis, op_error
from .graph.sort import check_sortable, other_axis
from .manipulation import redistribute_to, reshape

__all__ = ["quantile", "percentile", "median", "nanquantile", "nanpercentile", "nanmedian"]

METHODS = ("linear", "lower", "higher", "nearest", "midpoint")


def flat(x):
    """``x`` as 1-d without gathering it: a split other than 0 moves to 0 first (one
    all-to-all), so the block-local reshape keeps the split."""
    if x.ndim == 1:
        return x
    if x.split not in (None, 0):
        x = redistribute_to(x, 0)
    return reshape(x, (x.size,))


def _positions(n: int, q: np.ndarray, method: str):
    """(lower positions, upper positions, gammas) of NumPy's quantile ``method``."""
    lo, hi, gam = [], [], []
    for v in q.tolist():
        h = v * (n - 1)
        f = min(max(int(math.floor(h)), 0), n - 1)
        c = min(f + 1, n - 1)
        g = h - f
        if method == "nearest":
            f = c = min(max(int(np.around(h)), 0), n - 1)
        elif method == "lower":
            c = f
        elif method == "higher":
            f = c = min(max(int(math.ceil(h)), 0), n - 1)
        elif method == "midpoint":
            g = 0.5 if c != f and g > 0 else 0.0
        lo.append(f)
        hi.append(c)
        gam.append(float(g))
    return lo, hi, gam


def _q_dtype(q):
    """The dtype ``q`` promotes with (None for a Python scalar: weak, as NumPy 2)."""
    if isinstance(q, (bool, int, float)):
        return None
    return dt.as_dtype(np.asarray(q).dtype)


def _setup(x, q, axis, method, op, q_dtype):
    """Checked arguments: (x, q as float64 array, the array to sort, its axis, the result
    dtype, the dtype to interpolate in)."""
    x = lazy(x)
    if method not in METHODS:
        raise op_error(ValueError, op, f"method must be one of {METHODS}, got {method!r}")
    check_sortable(x.dtype, op, x.shape)
    if hasattr(q, "_node"):
        q = q.numpy()  # a few numbers: their values decide the positions (the plan)
    q_dtype = _q_dtype(q) if q_dtype == "auto" else q_dtype
    qa = np.asarray(q, dtype=np.float64)
    if qa.ndim > 1 or not np.all((qa >= 0) & (qa <= 1)):
        raise op_error(ValueError, op, "quantiles must be a scalar or 1-d, in the range "
                       "[0, 1] (percentiles in [0, 100])")
    if x.dtype == dt.bool_ and method in ("linear", "midpoint"):
        raise op_error(TypeError, op, f"cannot interpolate booleans (method {method!r})")
    if axis is None:
        xs, ax = flat(x), 0
    else:
        ax = normalize_axis(axis, x.ndim, op, x.shape)
        xs = x
    if xs.shape[ax] == 0:
        raise op_error(ValueError, op, "cannot take a quantile of an empty axis", x.shape)
    if xs.split == ax and xs.ndim > 1:
        xs = redistribute_to(xs, other_axis(xs.shape, ax))  # then every sort is local
    if method in ("lower", "higher", "nearest"):
        out_dt = x.dtype
    elif x.dtype.is_floating:
        out_dt = x.dtype if q_dtype is None else dt.promote(x.dtype, q_dtype)
    else:
        out_dt = dt.float64
    # NumPy interpolates in a float input's own dtype, then casts to the promoted one
    comp = x.dtype if x.dtype.is_floating else out_dt
    return x, qa, xs, ax, out_dt, comp


def _sorted(xs, ax):
    return _core.make("sort", (xs._node,), {"axis": ax, "descending": False,
                                            "indices": False})


def _from_stats(s, ax, n, last, qa, method, out_dt, comp, select=False):
    """Quantiles (a leading axis of one per q) from the sorted ``s`` whose first ``n``
    entries along ``ax`` count; the entry at ``last`` being NaN makes the result NaN.
    ``select``: ``s`` is not sorted but whole along ``ax`` on every rank, and the kernel
    selects each position in linear time (a k-th value per position) instead."""
    lo, hi, gam = _positions(n, qa.reshape(-1), method)
    attrs = {"axis": ax, "dtype": comp, "positions": tuple(lo + hi + [last])}
    if select:
        attrs["select"] = True
    stats = _core.make("order_stats", (s._node,), attrs)
    return _core.make("quantile_lerp", (stats._node,),
                      {"nq": len(lo), "gammas": tuple(gam), "method": method,
                       "dtype": out_dt})


def _shaped(res, x, axis, ax, qa, keepdims):
    rest = res.shape[1:]
    if keepdims:
        rest = tuple(1 for _ in x.shape) if axis is None else \
            x.shape[:ax] + (1,) + x.shape[ax + 1:]
    shape = rest if qa.ndim == 0 else (res.shape[0],) + rest
    return res if shape == res.shape else reshape(res, shape)


def quantile(x, q, axis=None, method="linear", keepdims=False, *, op="quantile",
             q_dtype="auto"):
    """The ``q``-th quantiles (0 <= q <= 1) of ``x`` along ``axis`` (None: the flattened
    array), with NumPy's ``method`` ('linear', 'lower', 'higher', 'nearest', 'midpoint').
    A sequence ``q`` adds a leading axis. Integers give float64 (except for 'lower',
    'higher' and 'nearest', which keep the dtype), floats their own dtype (promoted with a
    NumPy ``q``'s, as NumPy 2). A slice holding a NaN gives NaN.

    >>> lh.quantile(lh.array([1.0, 2.0, 3.0, 4.0], split=0), 0.5).item()
    2.5
    """
    x, qa, xs, ax, out_dt, comp = _setup(x, q, axis, method, op, q_dtype)
    n = xs.shape[ax]
    if xs.split != ax:  # the axis is whole on every rank: select, no sort needed
        res = _from_stats(xs, ax, n, n - 1, qa, method, out_dt, comp, select=True)
    else:
        res = _from_stats(_sorted(xs, ax), ax, n, n - 1, qa, method, out_dt, comp)
    return _shaped(res, x, axis, ax, qa, keepdims)


def nanquantile(x, q, axis=None, method="linear", keepdims=False, *, op="nanquantile",
                q_dtype="auto"):
    """``quantile`` ignoring NaNs (NaN for a slice of NaNs only). Over a 1-d or flattened
    array the count of non-NaN values decides the positions: building the result computes
    that count first (a plan break). Along an axis each slice finds its own positions
    (block-local, after moving a split off the axis).

    >>> lh.nanquantile(lh.array([1.0, float("nan"), 3.0], split=0), 0.5).item()
    2.0
    """
    from .elementwise import isnan, logical_not
    from .reductions import sum as lh_sum

    x, qa, xs, ax, out_dt, comp = _setup(x, q, axis, method, op, q_dtype)
    if not x.dtype.is_floating:
        return quantile(x, q, axis, method, keepdims, op=op, q_dtype=q_dtype)
    if xs.ndim == 1:
        count = int(lh_sum(logical_not(isnan(xs))).item())  # the break: the plan runs
        if count == 0:  # nothing but NaNs
            res = full((qa.size,), float("nan"), dtype=out_dt, device=x.device, comm=x.comm)
        else:
            res = _from_stats(_sorted(xs, ax), ax, count, count - 1, qa, method, out_dt,
                              comp)
        return _shaped(res, x, axis, ax, qa, keepdims)
    res = _core.make("nan_quantile", (_sorted(xs, ax)._node,),
                     {"axis": ax, "qs": tuple(qa.reshape(-1).tolist()), "method": method,
                      "dtype": out_dt})
    return _shaped(res, x, axis, ax, qa, keepdims)


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th percentiles (0 <= q <= 100) of ``x``: ``quantile`` of ``q / 100``.

    >>> lh.percentile(lh.array([1.0, 2.0, 3.0, 4.0], split=0), 50).item()
    2.5
    """
    if hasattr(q, "_node"):
        q = q.numpy()
    return quantile(x, np.asarray(q, dtype=np.float64) / 100, axis, method, keepdims,
                    op="percentile", q_dtype=_q_dtype(q))


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """``percentile`` ignoring NaNs (see ``nanquantile``).

    >>> lh.nanpercentile(lh.array([1.0, float("nan"), 3.0], split=0), 50).item()
    2.0
    """
    if hasattr(q, "_node"):
        q = q.numpy()
    return nanquantile(x, np.asarray(q, dtype=np.float64) / 100, axis, method, keepdims,
                       op="nanpercentile", q_dtype=_q_dtype(q))


def median(x, axis=None, keepdims=False):
    """The median of ``x`` along ``axis`` (None: flattened); NaN where a slice holds one.

    >>> lh.median(lh.array([3.0, 1.0, 2.0], split=0)).item()
    2.0
    """
    return quantile(x, 0.5, axis, "linear", keepdims, op="median")


def nanmedian(x, axis=None, keepdims=False):
    """The median of ``x`` ignoring NaNs (see ``nanquantile``).

    >>> lh.nanmedian(lh.array([3.0, float("nan"), 1.0], split=0)).item()
    2.0
    """
    return nanquantile(x, 0.5, axis, "linear", keepdims, op="nanmedian")
