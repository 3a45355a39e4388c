"""Statistics beyond the Array API's: NaN-ignoring reductions, weighted averages,
covariance and correlation, bincount and histogram (NumPy's signatures and semantics).

All are built from lazyheat's reductions, so over split axes each combines per-rank partial
results with small collectives, as the reductions do: ``nanmean`` is two partial sums (the
values and the count) all-reduced together, ``cov`` one all-reduce of the d x d product of
the centred data. ``bincount`` and ``histogram`` need their output length or bin edges
first: where those depend on the data, a small plan of ``min`` and ``max`` runs at once (a
planned break: two scalars all-gathered), then each rank counts its block and one
all-reduce adds the counts.
"""

from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from . import _core
from . import elementwise as ew
from . import reductions as red
from .creation import array, eye, lazy, zeros
from .graph import dtypes as dt
from .graph.errors import normalize_axes, op_error
from .linalg import matmul
from .manipulation import concatenate, reshape, squeeze
from .planner import compute

_nan = float("nan")


def _real_dtype(d):
    return {dt.complex64: dt.float32, dt.complex128: dt.float64}.get(d, d)


def _check_nonempty(fn, x, axis):
    """NumPy refuses extremes of no elements: the same error on every rank, when built."""
    axes = normalize_axes(axis, x.ndim, fn, x.shape)
    if any(x.shape[a] == 0 for a in axes):
        raise op_error(ValueError, fn, "zero-size array to reduction operation which has no "
                       "identity", x.shape)


def _float_in(fn, x, dtype, out):
    red._no_out(fn, out)
    x = lazy(x)
    return x.astype(dtype) if dtype is not None else x


def nansum(x, axis=None, dtype=None, out=None, keepdims=False):
    """Sum treating NaN as zero.

    >>> lh.nansum(lh.array([1.0, float("nan"), 2.0], split=0)).item()
    3.0
    """
    red._no_out("nansum", out)
    x = lazy(x)
    if x.dtype.is_inexact:
        x = ew.where(ew.isnan(x), 0, x)
    return red.sum(x, axis, dtype=dtype, keepdims=keepdims)


def nanprod(x, axis=None, dtype=None, out=None, keepdims=False):
    """Product treating NaN as one.

    >>> lh.nanprod(lh.array([2.0, float("nan"), 3.0], split=0)).item()
    6.0
    """
    red._no_out("nanprod", out)
    x = lazy(x)
    if x.dtype.is_inexact:
        x = ew.where(ew.isnan(x), 1, x)
    return red.prod(x, axis, dtype=dtype, keepdims=keepdims)


def _valid_count(x, axis, keepdims, dtype):
    """Non-NaN elements per output element, as ``dtype``."""
    return red.sum(ew.logical_not(ew.isnan(x)), axis, keepdims=keepdims).astype(dtype)


def nanmean(x, axis=None, dtype=None, out=None, keepdims=False):
    """Mean of the non-NaN elements (NaN where there are none).

    >>> lh.nanmean(lh.array([1.0, float("nan"), 2.0], split=0)).item()
    1.5
    """
    x = _float_in("nanmean", x, dtype, out)
    if not x.dtype.is_inexact:
        return red.mean(x, axis, keepdims=keepdims)
    s = nansum(x, axis, keepdims=keepdims)
    return s / _valid_count(x, axis, keepdims, _real_dtype(s.dtype))


def _nan_extreme(fn, x, axis, out, keepdims):
    red._no_out(fn, out)
    x = lazy(x)
    _check_nonempty(fn, x, axis)
    reduce = red.max if fn == "nanmax" else red.min
    if not x.dtype.is_floating:
        return reduce(x, axis, keepdims=keepdims)
    nan = ew.isnan(x)
    m = reduce(ew.where(nan, -math.inf if fn == "nanmax" else math.inf, x), axis,
               keepdims=keepdims)
    # an all-NaN slice is NaN (NumPy also warns)
    return ew.where(red.all(nan, axis, keepdims=keepdims), _nan, m)


def nanmax(x, axis=None, out=None, keepdims=False):
    """Maximum ignoring NaN; NaN where a slice is all NaN.

    >>> lh.nanmax(lh.array([1.0, float("nan"), 2.0], split=0)).item()
    2.0
    """
    return _nan_extreme("nanmax", x, axis, out, keepdims)


def nanmin(x, axis=None, out=None, keepdims=False):
    """Minimum ignoring NaN; NaN where a slice is all NaN.

    >>> lh.nanmin(lh.array([1.0, float("nan"), 2.0], split=0)).item()
    1.0
    """
    return _nan_extreme("nanmin", x, axis, out, keepdims)


def _nan_arg(fn, x, axis, out, keepdims):
    red._no_out(fn, out)
    x = lazy(x)
    arg = red.argmax if fn == "nanargmax" else red.argmin
    if x.dtype.is_floating:
        x = ew.where(ew.isnan(x), -math.inf if fn == "nanargmax" else math.inf, x)
    return arg(x, axis, keepdims=keepdims)


def nanargmax(x, axis=None, out=None, *, keepdims=False):
    """Index of the maximum ignoring NaN. An all-NaN slice gives the index of its first
    element (NumPy raises; the check would need the data).

    >>> lh.nanargmax(lh.array([1.0, float("nan"), 2.0], split=0)).item()
    2
    """
    return _nan_arg("nanargmax", x, axis, out, keepdims)


def nanargmin(x, axis=None, out=None, *, keepdims=False):
    """Index of the minimum ignoring NaN (an all-NaN slice: see ``nanargmax``).

    >>> lh.nanargmin(lh.array([1.0, float("nan"), 0.5], split=0)).item()
    2
    """
    return _nan_arg("nanargmin", x, axis, out, keepdims)


def _nan_moment(fn, x, axis, dtype, out, ddof, keepdims, correction):
    x = _float_in(fn, x, dtype, out)
    ddof = red._dof(fn, ddof, correction)
    if not x.dtype.is_inexact:
        return (red.std if fn == "nanstd" else red.var)(x, axis, ddof=ddof, keepdims=keepdims)
    rdt = _real_dtype(x.dtype)
    nan = ew.isnan(x)
    cnt = red.sum(ew.logical_not(nan), axis, keepdims=True)
    avg = red.sum(ew.where(nan, 0, x), axis, keepdims=True) / cnt.astype(rdt)
    d = ew.abs(ew.where(nan, 0, x - avg))  # |x - mean|: real for complex data
    ss = red.sum(d * d, axis, keepdims=keepdims)
    dof = reshape(cnt, ss.shape) - ddof
    # NumPy: NaN where no degrees of freedom are left
    var = ew.where(dof > 0, ss / dof.astype(rdt), _nan)
    return ew.sqrt(var) if fn == "nanstd" else var


def nanvar(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, correction=None):
    """Variance of the non-NaN elements (two passes: their mean, then the squared
    deviations); NaN where ``count - ddof <= 0``.

    >>> lh.nanvar(lh.array([1.0, float("nan"), 3.0], split=0)).item()
    1.0
    """
    return _nan_moment("nanvar", x, axis, dtype, out, ddof, keepdims, correction)


def nanstd(x, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, correction=None):
    """Standard deviation of the non-NaN elements (square root of ``nanvar``).

    >>> lh.nanstd(lh.array([1.0, float("nan"), 3.0], split=0)).item()
    1.0
    """
    return _nan_moment("nanstd", x, axis, dtype, out, ddof, keepdims, correction)


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Weighted average along ``axis``, as NumPy: ``weights`` of ``a``'s shape, or 1-D along
    an int ``axis``. With ``returned`` also the sum of the weights (broadcast to the result).
    A zero sum of weights gives inf/NaN (NumPy raises; the check would need the data).

    >>> lh.average(lh.array([1.0, 2.0, 4.0], split=0), weights=[1, 1, 2]).item()
    2.75
    """
    a = lazy(a)
    if weights is None:
        avg = red.mean(a, axis, keepdims=keepdims)
        scl = avg.size and a.size // avg.size
        wsum = zeros(avg.shape, dtype=avg.dtype, device=avg.device, comm=avg.comm) + scl
    else:
        w = lazy(weights)
        rdt = dt.result_type(a.dtype, w.dtype)
        if not a.dtype.is_inexact:
            rdt = dt.result_type(rdt, dt.float64)
        if a.shape != w.shape:
            if axis is None:
                raise op_error(TypeError, "average", "axis must be specified when shapes of "
                               "a and weights differ", a.shape, w.shape)
            if w.ndim != 1 or not isinstance(axis, int):
                raise op_error(TypeError, "average", "1D weights expected along one int axis "
                               "when shapes of a and weights differ", a.shape, w.shape)
            ax = normalize_axes(axis, a.ndim, "average", a.shape)[0]
            if w.shape[0] != a.shape[ax]:
                raise op_error(ValueError, "average", "length of weights not compatible with "
                               "specified axis", a.shape, w.shape)
            w = reshape(w, tuple(n if i == ax else 1 for i, n in enumerate(a.shape)))
        w = w.astype(rdt)
        wsum = red.sum(w, axis, keepdims=keepdims)
        avg = red.sum(a.astype(rdt) * w, axis, keepdims=keepdims) / wsum
        if wsum.shape != avg.shape:
            wsum = wsum + zeros(avg.shape, dtype=wsum.dtype, device=avg.device, comm=avg.comm)
    return (avg, wsum) if returned else avg


def _as_2d(m, rowvar, fn):
    m = lazy(m)
    if m.ndim > 2:
        raise op_error(ValueError, fn, f"m has more than 2 dimensions ({m.ndim})", m.shape)
    x = reshape(m, (1, -1) if m.ndim < 2 else m.shape)
    return x if rowvar or x.shape[0] == 1 else x.T


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    """Covariance matrix of the variables in the rows of ``m`` (columns with
    ``rowvar=False``), as NumPy (float64 unless ``dtype``). The centred data's product with
    its transpose contracts the observations: over split observations a local product and
    one all-reduce of the d x d result.

    >>> x = lh.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]], split=1)
    >>> lh.cov(x).numpy()
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    if fweights is not None or aweights is not None:
        raise op_error(NotImplementedError, "cov", "fweights and aweights are not supported")
    if ddof is not None and ddof != int(ddof):
        raise op_error(ValueError, "cov", "ddof must be integer")
    x = _as_2d(m, rowvar, "cov")
    parts = [x] if y is None else [x, _as_2d(y, rowvar, "cov")]
    if dtype is None:
        dtype = dt.result_type(*[p.dtype for p in parts], dt.float64)
    if x.shape[0] == 0:
        return zeros((0, 0), dtype=dtype, device=x.device, comm=x.comm)
    x = concatenate(parts, 0) if y is not None else x
    x = x if x.dtype == dt.as_dtype(dtype) else x.astype(dtype)
    ddof = (0 if bias else 1) if ddof is None else int(ddof)
    fact = x.shape[1] - ddof
    if fact <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        fact = 0.0
    x = x - red.mean(x, axis=1, keepdims=True)
    xt = x.T
    if x.dtype.is_complex:
        conj = getattr(ew, "conj", None)
        if conj is None:
            raise op_error(NotImplementedError, "cov", "complex data needs conj")
        xt = conj(xt)
    return squeeze(matmul(x, xt) / fact)


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """Pearson correlation coefficients: ``cov`` scaled by the standard deviations (the
    diagonal of the small replicated covariance), clipped to [-1, 1] for real data.

    >>> x = lh.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.5]], split=1)
    >>> lh.corrcoef(x).shape
    (2, 2)
    """
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return c / c
    n = c.shape[0]
    diag = red.sum(c * eye(n, dtype=c.dtype, device=c.device, comm=c.comm), axis=1)
    sd = ew.sqrt(ew.abs(diag) if c.dtype.is_complex else diag)
    c = c / reshape(sd, (n, 1)) / reshape(sd, (1, n))
    return c if c.dtype.is_complex else ew.clip(c, -1, 1)


def _scalars(*arrays):
    """Python values of replicated 0-d results, computed together (a small planned break)."""
    compute(*arrays)
    return [a.item() for a in arrays]


def bincount(x, weights=None, minlength=0):
    """Occurrences of each value in a 1-D array of non-negative integers (or the sums of
    ``weights`` at them, as float64). The length is ``max(x) + 1`` (at least
    ``minlength``): a small min/max plan runs first; then each rank counts its block and
    one all-reduce adds the counts.

    >>> lh.bincount(lh.array([0, 1, 1, 3], split=0)).numpy()
    array([1, 2, 0, 1])
    """
    x = lazy(x)
    if x.ndim != 1:
        raise op_error(ValueError, "bincount", f"x must be 1-D, got {x.ndim} dimensions",
                       x.shape)
    if x.dtype.kind not in "biu":
        raise op_error(TypeError, "bincount", f"x must hold integers, got {x.dtype.name}",
                       x.shape)
    minlength = operator.index(minlength)
    if minlength < 0:
        raise op_error(ValueError, "bincount", "'minlength' must not be negative")
    inputs = [x]
    if weights is not None:
        w = lazy(weights)
        if w.dtype.is_complex:
            raise op_error(TypeError, "bincount", "complex weights are not supported")
        if w.shape != x.shape:
            raise op_error(ValueError, "bincount", "the weights and x don't have the same "
                           "length", x.shape, w.shape)
        if x.size:  # NumPy: no elements give int64 zeros, weights or not
            inputs.append(w)
    length = minlength
    if x.size:
        lo, hi = _scalars(red.min(x), red.max(x))
        if lo < 0:
            raise op_error(ValueError, "bincount", "x must have no negative elements")
        length = max(int(hi) + 1, minlength)
    _core.check_same(inputs, "bincount")
    return _core.make("bincount", tuple(i._node for i in inputs), {"length": length})


def _np_dtype(a):
    return np.dtype("float32" if a.dtype is dt.bfloat16 else a.dtype.name)


def _hist_edges(a, bins, range):
    if isinstance(bins, str):
        raise op_error(NotImplementedError, "histogram", f"bins={bins!r} estimators are not "
                       "supported; give a number of bins or the edges")
    if np.ndim(bins) == 1:
        edges = np.asarray(bins)
        if edges.size < 2 or np.any(edges[:-1] > edges[1:]):
            raise op_error(ValueError, "histogram", "bins must increase monotonically, when "
                           "an array")
        return edges
    if np.ndim(bins) != 0:
        raise op_error(ValueError, "histogram", "`bins` must be 1d, when an array")
    n = operator.index(bins)
    if n < 1:
        raise op_error(ValueError, "histogram", "`bins` must be positive, when an integer")
    if range is not None:
        first, last = range
        if first > last:
            raise op_error(ValueError, "histogram", "max must be larger than min in range "
                           "parameter")
    elif a.size == 0:
        first, last = 0, 1
    else:  # NumPy scalars of the data's dtype, as NumPy's (its linspace computes in it)
        first, last = (_np_dtype(a).type(v) for v in _scalars(red.min(a), red.max(a)))
    if not (np.isfinite(first) and np.isfinite(last)):
        raise op_error(ValueError, "histogram", f"autodetected range of [{first}, {last}] is "
                       "not finite" if range is None else "range parameter must be finite")
    if first == last:
        first, last = first - 0.5, last + 0.5
    # NumPy's edges: the data's dtype with the range's (Python) numbers, float64 for integers
    kind = np.result_type(first, last, _np_dtype(a))
    if kind.kind in "biu":
        kind = np.dtype(np.float64)
    return np.linspace(first, last, n + 1, endpoint=True, dtype=kind)


def histogram(a, bins=10, range=None, weights=None, density=None):  # noqa: A002 - NumPy's
    """Histogram of all elements of ``a``, as NumPy: ``bins`` equal bins over ``range``
    (the data's min..max when None: a small min/max plan first) or the given edges; the last
    bin is closed. Each rank counts its block; one all-reduce adds the counts. Returns
    ``(hist, bin_edges)``, both replicated.

    >>> h, e = lh.histogram(lh.array([0.0, 1.0, 1.0, 2.0], split=0), bins=2)
    >>> h.numpy(), e.numpy()
    (array([1, 3]), array([0., 1., 2.], dtype=float32))
    """
    a = lazy(a)
    if a.dtype.is_complex:
        raise op_error(TypeError, "histogram", "complex data is not supported", a.shape)
    edges = _hist_edges(a, bins, range)
    inputs = [a] + ([lazy(weights)] if weights is not None else [])
    _core.check_same(inputs, "histogram")
    hist = _core.make("histogram", tuple(i._node for i in inputs),
                      {"edges": tuple(float(e) for e in edges)})
    bin_edges = array(edges, device=a.device, comm=a.comm)
    if density:
        widths = array(np.diff(edges).astype(np.float64), device=a.device, comm=a.comm)
        hist = hist / widths / red.sum(hist)
    return hist, bin_edges


__all__ = ["nansum", "nanprod", "nanmean", "nanmax", "nanmin", "nanargmax", "nanargmin",
           "nanvar", "nanstd", "average", "cov", "corrcoef", "bincount", "histogram"]
