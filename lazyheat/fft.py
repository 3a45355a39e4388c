"""Discrete Fourier transforms (the Array API ``fft`` extension, NumPy's ``numpy.fft``).

Every function is lazy and distributed:

- along axes that are not split, the transform runs on each rank's block (no communication);
- along the split axis of an n-D array, the plan moves the split to the largest axis that is
  not transformed (one all-to-all, shown by ``explain`` with its bytes), transforms, and
  leaves the result split there (``resplit`` moves it back when a layout must be kept);
- when every axis is transformed (``fftn`` of a split array), the axes are transformed in two
  stages (the pencil decomposition): the unsplit ones first, then the split one after its
  all-to-all;
- a 1-D split array is transformed by the four-step algorithm: viewed as an ``n1 x n2``
  matrix, transformed along one axis, multiplied by twiddle factors, transformed along the
  other, transposed: three all-to-alls of ``n/p`` elements per rank, never a gather. Only a
  prime length (no such factorization) is transformed replicated.

Results follow NumPy 2's dtypes: float32 input gives complex64, float64 and integers give
complex128.

>>> x = lh.array([0.0, 1.0, 0.0, -1.0], split=0)
>>> lh.fft.fft(x).numpy()
array([0.+0.j, 0.-2.j, 0.+0.j, 0.+2.j], dtype=complex64)
"""

from __future__ import annotations

import math

from . import _core
from . import elementwise as ew
from .creation import arange, lazy, zeros
from .graph import dtypes as dt
from .graph.errors import normalize_axis, op_error
from .graph.fft import complex_of
from .linalg import permute_dims
from .manipulation import concatenate, getitem, reshape, resplit

_NORMS = ("backward", "ortho", "forward")
_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _norm(norm, op):
    norm = "backward" if norm is None else norm
    if norm not in _NORMS:
        raise op_error(ValueError, op, f"norm must be one of {_NORMS}, got {norm!r}")
    return norm


def _axes_and_s(x, s, axes, op, default_last=None):
    """The transformed axes (normalized, no repeats) and their output lengths."""
    if axes is None:
        if s is not None:
            axes = tuple(range(x.ndim - len(s), x.ndim))
        else:
            axes = tuple(range(x.ndim)) if default_last is None else \
                tuple(range(x.ndim - default_last, x.ndim))
    axes = tuple(normalize_axis(a, x.ndim, op, x.shape) for a in axes)
    if len(set(axes)) != len(axes):
        raise op_error(ValueError, op, f"repeated axes {axes}", x.shape)
    if s is None:
        s = tuple(x.shape[a] for a in axes)
    s = tuple(int(n) for n in s)
    if len(s) != len(axes):
        raise op_error(ValueError, op, f"s {s} and axes {axes} differ in length", x.shape)
    if any(n < 1 for n in s):
        raise op_error(ValueError, op, f"invalid number of data points {s}", x.shape)
    return axes, s


def _op(x, kind, axes, s, norm):
    """One ``fft`` node (the layout rule moves a transformed split axis away)."""
    return _core.make("fft", (x._node,), {"kind": kind, "axes": tuple(axes), "s": tuple(s),
                                          "norm": norm})


def _c2c(x, axes, s, norm, inverse):
    """A complex transform over ``axes``, staged or four-step where the split is among them."""
    kind = "ifftn" if inverse else "fftn"
    if not axes:
        return ew.astype(x, complex_of(x.dtype))
    if x.split is None or x.split not in axes or x.comm.size == 1:
        return _op(x, kind, axes, s, norm)
    if len(axes) < x.ndim:  # a free axis takes the split: one op, one all-to-all
        return _op(x, kind, axes, s, norm)
    i = axes.index(x.split)
    rest = [(a, n) for a, n in zip(axes, s) if a != x.split]
    if rest:  # stage 1: the unsplit axes locally; stage 2: the split axis moves off
        y = _op(x, kind, [a for a, _ in rest], [n for _, n in rest], norm)
        return _op(y, kind, (axes[i],), (s[i],), norm)
    return _four_step(x, s[i], norm, inverse)  # a 1-D split array


def _fit(x, axis, n):
    """``x`` truncated or zero-padded to ``n`` along ``axis`` (lazy, keeps the split)."""
    m = x.shape[axis]
    if n == m:
        return x
    if n < m:
        key = [slice(None)] * x.ndim
        key[axis] = slice(0, n)
        return getitem(x, tuple(key))
    pad_shape = list(x.shape)
    pad_shape[axis] = n - m
    pad = zeros(tuple(pad_shape), dtype=x.dtype, split=x.split if x.split != axis else None,
                device=x.device, comm=x.comm)
    return concatenate([x, pad], axis)


def _factor(n: int) -> tuple[int, int]:
    """``n = n1 * n2`` with ``n1`` the largest divisor not above sqrt(n) (1 when prime)."""
    for n1 in range(math.isqrt(n), 0, -1):
        if n % n1 == 0:
            return n1, n // n1
    return 1, n


def _four_step(x, n, norm, inverse):
    """The transform of a 1-D split array of (output) length ``n`` without a gather.

    With ``n = n1 * n2`` and ``A[i1, i2] = x[n2 * i1 + i2]``:
    ``X[k1 + n1 * k2] = sum_i2 W_n^(i2 k1) W_n2^(i2 k2) sum_i1 A[i1, i2] W_n1^(i1 k1)``:
    transform A along axis 0 (its split moves to axis 1), multiply by the twiddles
    ``W_n^(k1 i2)``, transform along axis 1 (the split moves back to axis 0), transpose.
    The normalization factors split over the two stages (1/n = 1/n1 * 1/n2)."""
    kind = "ifftn" if inverse else "fftn"
    x = _fit(ew.astype(x, complex_of(x.dtype)), 0, n)
    n1, n2 = _factor(n)
    if n1 == 1:  # a prime length: no four-step factorization; transformed replicated
        return resplit(_op(resplit(x, None), kind, (0,), (n,), norm), 0)
    a = reshape(x, (n1, n2))
    b = _op(a, kind, (0,), (n1,), norm)                     # split moves to axis 1
    k1 = reshape(arange(n1, dtype=dt.int64, device=x.device, comm=x.comm), (n1, 1))
    i2 = reshape(arange(n2, dtype=dt.int64, split=0, device=x.device, comm=x.comm), (1, n2))
    # the exponent's integer part modulo n first: exact angles for large n
    angle = ew.astype(ew.remainder(ew.multiply(k1, i2), n), dt.float64) * \
        ((2.0 if inverse else -2.0) * math.pi / n)
    twiddle = ew.astype(ew.cos(angle) + ew.sin(angle) * 1j, b.dtype)
    d = _op(b * twiddle, kind, (1,), (n2,), norm)           # split moves back to axis 0
    # the transpose keeps the split on axis 1; moving it to axis 0 (one all-to-all) makes the
    # row-major flattening block-local
    return resplit(reshape(resplit(permute_dims(d, (1, 0)), 0), (n,)), 0)


def _real_input(x, op):
    if x.dtype.is_complex:
        raise op_error(TypeError, op, f"needs real input, got {x.dtype.name}", x.shape)


# ---------------------------------------------------------------- complex transforms
def fftn(x, /, *, s=None, axes=None, norm="backward"):
    """The n-D discrete Fourier transform over ``axes`` (all by default), output lengths
    ``s`` (truncating or zero-padding), normalization "backward", "ortho" or "forward"."""
    x = lazy(x)
    norm = _norm(norm, "fftn")
    axes, s = _axes_and_s(x, s, axes, "fftn")
    return _c2c(x, axes, s, norm, inverse=False)


def ifftn(x, /, *, s=None, axes=None, norm="backward"):
    """The inverse of ``fftn``."""
    x = lazy(x)
    norm = _norm(norm, "ifftn")
    axes, s = _axes_and_s(x, s, axes, "ifftn")
    return _c2c(x, axes, s, norm, inverse=True)


def fft(x, /, *, n=None, axis=-1, norm="backward"):
    """The 1-D discrete Fourier transform along ``axis`` (length ``n``)."""
    x = lazy(x)
    return fftn(x, s=None if n is None else (n,), axes=(axis,), norm=norm)


def ifft(x, /, *, n=None, axis=-1, norm="backward"):
    """The inverse of ``fft``."""
    x = lazy(x)
    return ifftn(x, s=None if n is None else (n,), axes=(axis,), norm=norm)


def fft2(x, /, *, s=None, axes=(-2, -1), norm="backward"):
    """The 2-D transform over the last two axes."""
    return fftn(x, s=s, axes=axes, norm=norm)


def ifft2(x, /, *, s=None, axes=(-2, -1), norm="backward"):
    """The inverse of ``fft2``."""
    return ifftn(x, s=s, axes=axes, norm=norm)


# ---------------------------------------------------------------- real transforms
def rfftn(x, /, *, s=None, axes=None, norm="backward"):
    """The n-D transform of real input: the last of ``axes`` keeps ``s[-1] // 2 + 1``
    frequencies (the rest follow by Hermitian symmetry)."""
    x = lazy(x)
    _real_input(x, "rfftn")
    norm = _norm(norm, "rfftn")
    axes, s = _axes_and_s(x, s, axes, "rfftn")
    last, n = axes[-1], s[-1]
    if x.split == last and x.comm.size > 1 and x.ndim == 1:
        y = _four_step(x, n, norm, inverse=False)         # full spectrum, then its half
        return getitem(y, (slice(0, n // 2 + 1),))
    if x.split in axes and x.comm.size > 1 and len(axes) == x.ndim:
        y = _op(x, "rfftn", (last,), (n,), norm)          # the split moves off ``last``
        return _c2c(y, axes[:-1], s[:-1], norm, inverse=False)
    return _op(x, "rfftn", axes, s, norm)


def irfftn(x, /, *, s=None, axes=None, norm="backward"):
    """The inverse of ``rfftn``: real output of lengths ``s`` (the last defaults to
    ``2 * (m - 1)`` for ``m`` input frequencies)."""
    x = lazy(x)
    norm = _norm(norm, "irfftn")
    if axes is None and s is None:
        axes = tuple(range(x.ndim))
    axes, s0 = _axes_and_s(x, s, axes, "irfftn")
    if s is None:
        s0 = s0[:-1] + (2 * (x.shape[axes[-1]] - 1),)
        if s0[-1] < 1:
            raise op_error(ValueError, "irfftn", f"invalid number of data points "
                           f"{s0[-1]} along axis {axes[-1]}", x.shape)
    s = s0
    last, n = axes[-1], s[-1]
    if x.split == last and x.comm.size > 1 and x.ndim == 1:
        return _irfft_four_step(x, n, norm)
    if x.split in axes and x.comm.size > 1 and len(axes) == x.ndim:
        y = _c2c(x, axes[:-1], s[:-1], norm, inverse=True)
        return _op(y, "irfftn", (last,), (n,), norm)
    return _op(x, "irfftn", axes, s, norm)


def _irfft_four_step(x, n, norm):
    """irfft of a 1-D split spectrum: the full Hermitian spectrum of length ``n`` built
    lazily (the first ``n // 2 + 1`` frequencies, then the conjugates of the others in
    reverse), inverse-transformed by the four-step algorithm, real part kept."""
    m = n // 2 + 1
    head = _fit(ew.astype(x, complex_of(x.dtype)), 0, m)
    tail_len = n - m
    parts = [head]
    if tail_len:
        mirror = getitem(head, (slice(tail_len, 0, -1),))  # X[n-m], ..., X[1]
        parts.append(ew.conj(mirror))
    full = resplit(concatenate(parts, 0), 0)
    return ew.real(_four_step(full, n, norm, inverse=True))


def rfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The 1-D transform of real input along ``axis``."""
    x = lazy(x)
    return rfftn(x, s=None if n is None else (n,), axes=(axis,), norm=norm)


def irfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The inverse of ``rfft`` (output length ``n``, default ``2 * (m - 1)``)."""
    x = lazy(x)
    return irfftn(x, s=None if n is None else (n,), axes=(axis,), norm=norm)


def rfft2(x, /, *, s=None, axes=(-2, -1), norm="backward"):
    return rfftn(x, s=s, axes=axes, norm=norm)


def irfft2(x, /, *, s=None, axes=(-2, -1), norm="backward"):
    return irfftn(x, s=s, axes=axes, norm=norm)


def hfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The transform of a Hermitian-symmetric signal given by its first half: real output
    of length ``n`` (NumPy's ``hfft``: ``irfft(conj(x))`` with the opposite normalization)."""
    x = lazy(x)
    norm = _norm(norm, "hfft")
    return irfft(ew.conj(ew.astype(x, complex_of(x.dtype))), n=n, axis=axis,
                 norm=_SWAP[norm])


def ihfft(x, /, *, n=None, axis=-1, norm="backward"):
    """The inverse of ``hfft``: ``conj(rfft(x))`` with the opposite normalization."""
    x = lazy(x)
    norm = _norm(norm, "ihfft")
    return ew.conj(rfft(x, n=n, axis=axis, norm=_SWAP[norm]))


# ---------------------------------------------------------------- helpers
def fftfreq(n, /, *, d=1.0, dtype=None, device=None, comm=None, split=None):
    """Sample frequencies of an ``n``-point transform with sample spacing ``d``:
    ``[0, 1, ..., (n-1)//2, -(n//2), ..., -1] / (d * n)``."""
    n = _count(n, "fftfreq")
    k = arange(n, dtype=dt.int64, split=split, device=device, comm=comm)
    f = ew.where(k < (n + 1) // 2, k, k - n)
    return _freq(f, n * d, dtype)


def rfftfreq(n, /, *, d=1.0, dtype=None, device=None, comm=None, split=None):
    """Sample frequencies of ``rfft``: ``[0, 1, ..., n//2] / (d * n)``."""
    n = _count(n, "rfftfreq")
    k = arange(n // 2 + 1, dtype=dt.int64, split=split, device=device, comm=comm)
    return _freq(k, n * d, dtype)


def _count(n, op):
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise op_error(ValueError, op, f"n must be a positive integer, got {n!r}")
    return n


def _freq(k, scale, dtype):
    out = dt.float64 if dtype is None else dt.as_dtype(dtype)
    if not out.is_floating:
        raise op_error(TypeError, "fftfreq", f"dtype must be real floating, got {out.name}")
    return ew.astype(ew.astype(k, dt.float64) / float(scale), out)


def _roll(x, shift, axis):
    """``x`` rolled by ``shift`` along ``axis``: two slices joined (along the split axis the
    planner moves only the rows whose owner changes)."""
    n = x.shape[axis]
    if n == 0 or shift % n == 0:
        return x
    k = shift % n
    head = [slice(None)] * x.ndim
    tail = [slice(None)] * x.ndim
    head[axis], tail[axis] = slice(n - k, n), slice(0, n - k)
    out = concatenate([getitem(x, tuple(head)), getitem(x, tuple(tail))], axis)
    return out if x.split is None else resplit(out, x.split)


def _shift_axes(x, axes, op):
    if axes is None:
        return tuple(range(x.ndim))
    if isinstance(axes, int):
        axes = (axes,)
    return tuple(normalize_axis(a, x.ndim, op, x.shape) for a in axes)


def fftshift(x, /, *, axes=None):
    """The zero-frequency term moved to the centre (a roll by ``n // 2`` per axis)."""
    x = lazy(x)
    for a in _shift_axes(x, axes, "fftshift"):
        x = _roll(x, x.shape[a] // 2, a)
    return x


def ifftshift(x, /, *, axes=None):
    """The inverse of ``fftshift`` (a roll by ``-(n // 2)`` per axis)."""
    x = lazy(x)
    for a in _shift_axes(x, axes, "ifftshift"):
        x = _roll(x, -(x.shape[a] // 2), a)
    return x


__all__ = ["fft", "ifft", "fftn", "ifftn", "fft2", "ifft2", "rfft", "irfft", "rfftn",
           "irfftn", "rfft2", "irfft2", "hfft", "ihfft", "fftfreq", "rfftfreq", "fftshift",
           "ifftshift"]
