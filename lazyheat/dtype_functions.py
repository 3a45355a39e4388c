"""The Array API's data type functions: ``finfo``, ``iinfo``, ``isdtype``, ``result_type``
and ``can_cast``, and the unsigned dtypes beyond uint8.

Promotion is NumPy 2's (``graph.dtypes``): within a kind it is the Array API's table, and
mixed kinds, which the standard leaves unspecified, follow NumPy (``int64`` with ``uint64``
gives ``float64``). Python scalars are weak (they never widen an array's dtype in its kind).

>>> lh.result_type(lh.uint8, lh.int8)
lazyheat.int16
>>> lh.isdtype(lh.uint32, "unsigned integer"), lh.iinfo(lh.uint16).max
(True, 65535)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._array import LazyArray
from .graph import dtypes as dt
from .graph.dtypes import uint16, uint32, uint64
from .graph.errors import op_error

# the standard's dtype kinds, as ``DType.kind`` letters
_KINDS = {"bool": "b", "signed integer": "i", "unsigned integer": "u", "integral": "iu",
          "real floating": "f", "complex floating": "c", "numeric": "iufc"}


def _dtype_of(x, fn: str) -> dt.DType:
    """The dtype of an array or of a dtype-like (DType, NumPy dtype, string)."""
    if isinstance(x, LazyArray):
        return x.dtype
    if isinstance(x, np.ndarray):
        return dt.as_dtype(x.dtype)
    try:
        return dt.as_dtype(x)
    except TypeError:
        raise op_error(TypeError, fn, f"expected an array or a dtype, got {x!r}") from None


@dataclass(frozen=True)
class finfo_object:  # noqa: N801 - the standard's name
    """Machine limits of a floating dtype (Python floats), as the standard's ``finfo``."""

    bits: int
    eps: float
    max: float
    min: float
    smallest_normal: float
    dtype: dt.DType


@dataclass(frozen=True)
class iinfo_object:  # noqa: N801 - the standard's name
    """Limits of an integer dtype (Python ints), as the standard's ``iinfo``."""

    bits: int
    max: int
    min: int
    dtype: dt.DType


def finfo(type, /) -> finfo_object:  # noqa: A002 - the standard's name
    """Machine limits of a real or complex floating dtype, or of an array's dtype; for a
    complex dtype those of its real part (and ``dtype`` is that real dtype).

    >>> lh.finfo(lh.float32).eps
    1.1920928955078125e-07
    """
    d = _dtype_of(type, "finfo")
    if not d.is_inexact:
        raise op_error(TypeError, "finfo", f"finfo needs a floating dtype, got {d.name}")
    real = {dt.complex64: dt.float32, dt.complex128: dt.float64}.get(d, d)
    if real is dt.bfloat16:  # NumPy lacks it: 8 exponent bits and 7 mantissa bits
        big = float((2 - 2.0 ** -7) * 2.0 ** 127)
        return finfo_object(16, 2.0 ** -7, big, -big, 2.0 ** -126, real)
    info = np.finfo(real.name)
    return finfo_object(int(info.bits), float(info.eps), float(info.max), float(info.min),
                        float(info.smallest_normal), real)


def iinfo(type, /) -> iinfo_object:  # noqa: A002 - the standard's name
    """Limits of an integer dtype, or of an array's dtype.

    >>> lh.iinfo(lh.uint64).max
    18446744073709551615
    """
    d = _dtype_of(type, "iinfo")
    if not d.is_integer:
        raise op_error(TypeError, "iinfo", f"iinfo needs an integer dtype, got {d.name}")
    info = np.iinfo(d.name)
    return iinfo_object(int(info.bits), int(info.max), int(info.min), d)


def isdtype(dtype, kind) -> bool:
    """Whether ``dtype`` is of ``kind``: a dtype, one of the standard's kind names ("bool",
    "signed integer", "unsigned integer", "integral", "real floating", "complex floating",
    "numeric") or a tuple of those.

    >>> lh.isdtype(lh.float32, ("integral", "real floating"))
    True
    """
    if not isinstance(dtype, dt.DType):
        try:
            dtype = dt.as_dtype(dtype)
        except TypeError:
            raise op_error(TypeError, "isdtype", f"expected a dtype, got {dtype!r}") from None
    if isinstance(kind, tuple):
        return any(isdtype(dtype, k) for k in kind)
    if isinstance(kind, str):
        if kind not in _KINDS:
            if kind in dt.BY_NAME:  # a dtype named by a string
                return dtype == dt.BY_NAME[kind]
            raise op_error(ValueError, "isdtype", f"unknown kind {kind!r}; expected one of "
                           f"{', '.join(map(repr, _KINDS))}")
        return dtype.kind in _KINDS[kind]
    try:
        return dtype == dt.as_dtype(kind)
    except TypeError:
        raise op_error(TypeError, "isdtype", f"kind must be a dtype, a kind name or a tuple "
                       f"of them, got {kind!r}") from None


def _is_weak(x) -> bool:
    return isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic)


def result_type(*arrays_and_dtypes) -> dt.DType:
    """The dtype of an operation over arrays, dtypes and Python scalars (weak), promoted as
    NumPy 2 (the Array API's table within a kind).

    >>> lh.result_type(lh.float32, 1.0), lh.result_type(lh.uint64, lh.int64)
    (lazyheat.float32, lazyheat.float64)
    """
    if not arrays_and_dtypes:
        raise op_error(ValueError, "result_type", "at least one array or dtype is required")
    strong = [_dtype_of(o, "result_type") for o in arrays_and_dtypes if not _is_weak(o)]
    weak = [o for o in arrays_and_dtypes if _is_weak(o)]
    if len(strong) > 2 and dt.bfloat16 not in strong:
        # NumPy promotes three or more dtypes at once, not pair by pair (uint16, int8 and
        # float32 give float32, where (uint16 + int8) + float32 is float64): ask it
        return dt.as_dtype(np.result_type(*(np.dtype(d.name) for d in strong), *weak))
    return dt.result_type(*strong, *weak)


def can_cast(from_, to, /) -> bool:
    """Whether ``from_`` (a dtype or an array) casts to ``to`` without loss under the
    promotion rules: the promotion of the two is ``to`` (NumPy's ``safe`` casting).

    >>> lh.can_cast(lh.uint16, lh.int32), lh.can_cast(lh.int64, lh.uint64)
    (True, False)
    """
    src, dst = _dtype_of(from_, "can_cast"), _dtype_of(to, "can_cast")
    return dt.promote(src, dst) == dst


__all__ = ["uint16", "uint32", "uint64", "finfo", "iinfo", "isdtype", "result_type",
           "can_cast"]
