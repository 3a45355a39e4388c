"""lazyheat as an Array API namespace, with ``array_api_strict`` (the standard's reference
implementation) as the oracle: every name of the standard exists; every elementwise function
gives the reference's dtype and values over every dtype the reference accepts (including
the special values NaN, ±inf and ±0), for replicated and split inputs; functions the
reference refuses for a dtype are refused by lazyheat too, at build time."""

import math

import numpy as np
import pytest

import lazyheat as lh

xp = pytest.importorskip("array_api_strict")

# Names lazyheat leaves to the reference: its own configuration API and device class.
STRICT_ONLY = {"set_array_api_strict_flags", "get_array_api_strict_flags",
               "reset_array_api_strict_flags", "ArrayAPIStrictFlags", "Device"}


def test_every_name_of_the_standard_exists():
    missing = [n for n in xp.__all__ if n not in STRICT_ONLY and not hasattr(lh, n)]
    assert missing == []
    assert [n for n in xp.linalg.__all__ if not hasattr(lh.linalg, n)] == []
    assert [n for n in xp.fft.__all__ if not hasattr(lh.fft, n)] == []
    assert lh.__array_api_version__ == "2024.12"
    x = lh.zeros((2, 3))
    assert x.__array_namespace__() is lh
    for attr in ("T", "mT", "device", "dtype", "ndim", "shape", "size", "to_device"):
        assert hasattr(x, attr), attr


DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float32", "float64", "complex64", "complex128"]


def _values(dtype: str) -> np.ndarray:
    """Small arrays of every kind with the edge values of their dtype."""
    if dtype == "bool":
        return np.array([True, False, True, True, False, False])
    if dtype.startswith(("int", "uint")):
        info = np.iinfo(dtype)
        base = [0, 1, 2, 3, 7, info.max, info.min, info.max - 1]
        if info.min < 0:
            base += [-1, -3, -7, info.min + 1]
        return np.array(base, dtype=dtype)
    real = [0.0, -0.0, 1.0, -1.5, 2.5, 0.5, math.inf, -math.inf, math.nan, 1e-3, 3.0, -7.25]
    if dtype.startswith("float"):
        return np.array(real, dtype=dtype)
    imag = [0.0, 1.0, -0.0, 2.0, -1.0, 0.5, 0.0, 1.0, 0.0, -2.0, math.inf, 0.0]
    return (np.array(real) + 1j * np.array(imag)).astype(dtype)


UNARY = ["abs", "acos", "acosh", "asin", "asinh", "atan", "atanh", "bitwise_invert", "ceil",
         "conj", "cos", "cosh", "exp", "expm1", "floor", "imag", "isfinite", "isinf", "isnan",
         "log", "log1p", "log2", "log10", "logical_not", "negative", "positive", "real",
         "reciprocal", "round", "sign", "signbit", "sin", "sinh", "square", "sqrt", "tan",
         "tanh", "trunc"]
BINARY = ["add", "atan2", "bitwise_and", "bitwise_left_shift", "bitwise_or",
          "bitwise_right_shift", "bitwise_xor", "copysign", "divide", "equal", "floor_divide",
          "greater", "greater_equal", "hypot", "less", "less_equal", "logaddexp",
          "logical_and", "logical_or", "logical_xor", "maximum", "minimum", "multiply",
          "nextafter", "not_equal", "pow", "remainder", "subtract"]


def _reference(fn, *arrays):
    """(result, specified): the reference's result as NumPy; where the standard leaves the
    dtypes unspecified (the reference refuses them) NumPy 2's, which lazyheat may follow or
    refuse; None where both refuse, which lazyheat must too."""
    try:
        return np.asarray(getattr(xp, fn)(*(xp.asarray(a) for a in arrays))), True
    except (TypeError, ValueError):
        pass
    try:
        with np.errstate(all="ignore"):
            return np.asarray(getattr(np, fn)(*arrays)), False
    except (TypeError, ValueError, AttributeError):
        return None, False


def _check(fn, arrays, dtypes):
    want, specified = _reference(fn, *arrays)
    if want is None:
        with pytest.raises((TypeError, ValueError)):
            _lazy(fn, arrays, None)
        return
    if not specified:
        try:
            _lazy(fn, arrays, None)
        except (TypeError, ValueError):
            return  # refused at build time: allowed where the standard is silent
    with np.errstate(all="ignore"):
        for split in (None, 0):
            _compare(fn, _lazy(fn, arrays, split).numpy(), want, dtypes)


def _compare(fn, got, want, dtypes):
    assert str(got.dtype) == str(want.dtype), (fn, dtypes, got.dtype, want.dtype)
    if want.dtype.kind in "fc":
        tol = 1e-5 if want.dtype in (np.float32, np.complex64) else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True,
                                   err_msg=f"{fn}{dtypes}")
        if want.dtype.kind == "f" and fn not in ("maximum", "minimum"):
            # the sign of zero is part of the special cases (not of max/min of ±0)
            zero = want == 0
            assert np.array_equal(np.signbit(got[zero]), np.signbit(want[zero])), (fn, dtypes)
    else:
        assert np.array_equal(got, want), (fn, dtypes, got, want)


def _lazy(fn, arrays, split):
    return getattr(lh, fn)(*(lh.array(a, split=split) for a in arrays))


@pytest.mark.parametrize("fn", UNARY)
def test_unary_functions_match_the_reference(fn):
    for d in DTYPES:
        _check(fn, [_values(d)], (d,))


# pairs of dtypes: every dtype with itself, and the mixed pairs the standard promotes
PAIRS = [(d, d) for d in DTYPES] + [
    ("int8", "int64"), ("uint8", "int16"), ("uint16", "int32"), ("uint32", "int64"),
    ("uint8", "uint64"), ("float32", "float64"), ("float32", "complex64"),
    ("float64", "complex64"), ("int16", "int32"), ("uint16", "uint32")]


@pytest.mark.parametrize("fn", BINARY)
def test_binary_functions_match_the_reference(fn):
    for d1, d2 in PAIRS:
        a, b = _values(d1), _values(d2)
        n = min(len(a), len(b))
        a, b = a[:n], np.roll(b[:n], 1)
        if fn in ("bitwise_left_shift", "bitwise_right_shift") and b.dtype.kind in "iu":
            b = np.abs(b % 7).astype(b.dtype)  # negative or wide shifts are unspecified
        if fn in ("floor_divide", "remainder", "pow") and b.dtype.kind in "iu":
            b = np.where(b == 0, 1, b).astype(b.dtype)  # integer division by zero: undefined
            if fn == "pow":
                b = np.abs(b % 5).astype(b.dtype)
        _check(fn, [a, b], (d1, d2))


def test_result_type_matches_the_reference_for_every_pair():
    for d1 in DTYPES:
        for d2 in DTYPES:
            try:
                want = xp.result_type(getattr(xp, d1), getattr(xp, d2))
            except TypeError:  # unspecified by the standard: NumPy 2's answer
                want = np.result_type(d1, d2)
            assert lh.result_type(getattr(lh, d1), getattr(lh, d2)) == str(want), (d1, d2)
