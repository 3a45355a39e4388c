"""The Array API's elementwise functions and the unsigned dtypes on 1-4 ranks, NumPy as the
oracle: every function over several dtypes (all unsigned ones included), splits None/0/1,
uneven and empty shapes, special values (NaN, infinities, signed zeros), wraparound,
broadcasting and weak Python scalars."""

import numpy as np
import pytest
from _util import RANK, SHAPES_2D, SPLITS_2D, check, lh, make, raise_if_any

UNSIGNED = ("uint16", "uint32", "uint64")
INTS = ("int8", "int64", "uint8") + UNSIGNED
FLOATS = ("float32", "float64")
REAL = ("bool",) + INTS + FLOATS
COMPLEX = ("complex64", "complex128")
ARITH = REAL + COMPLEX


def _np(name):
    return getattr(np, name)


def _data(shape, dtype, seed=0):
    """Test data; unsigned values from [0, 11), and a few near the dtype's top."""
    if np.dtype(dtype).kind == "u":
        a = make(shape, dtype, seed=seed, low=0, high=11)
        if a.size:
            a.reshape(-1)[0] = np.iinfo(dtype).max
        return a
    if np.dtype(dtype).kind == "c":
        return (make(shape, "float64", seed=seed) +
                1j * make(shape, "float64", seed=seed + 7)).astype(dtype)
    return make(shape, dtype, seed=seed)


def _layout(i):
    """Shape and split for the i-th case: every shape and split comes round."""
    shape = SHAPES_2D[i % len(SHAPES_2D)]
    return shape, SPLITS_2D[(i // len(SHAPES_2D) + i) % len(SPLITS_2D)]


def _same_signs(got, expected):
    """Signed zeros and signs match where the oracle is a number (collective)."""
    got, expected = np.asarray(got), np.asarray(expected)
    err = None
    if expected.dtype.kind == "f":
        keep = ~np.isnan(expected)
        if not np.array_equal(np.signbit(got[keep]), np.signbit(expected[keep])):
            err = f"signs differ: {got[keep]} vs {expected[keep]}"
    raise_if_any(err)


# ---------------------------------------------------------------- unary functions
TRANSCENDENTAL = ("exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "sin", "cos",
                  "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
                  "atanh", "exp2")
UNARY = {
    **{n: REAL + ("float16",) + COMPLEX for n in TRANSCENDENTAL},
    **{n: REAL for n in ("cbrt", "deg2rad", "rad2deg", "degrees", "radians", "fabs")},
    "sinc": REAL + COMPLEX,
    "abs": REAL + COMPLEX, "negative": INTS + FLOATS + COMPLEX, "positive": ARITH[1:],
    "square": REAL + COMPLEX, "sign": INTS + FLOATS + COMPLEX,
    "floor": INTS + FLOATS, "ceil": INTS + FLOATS, "trunc": INTS + FLOATS,
    "round": REAL + COMPLEX, "signbit": INTS + FLOATS,
    "conj": REAL + COMPLEX, "real": REAL + COMPLEX, "imag": REAL + COMPLEX,
    "angle": REAL + COMPLEX, "isnan": REAL + COMPLEX, "isinf": REAL + COMPLEX,
    "isfinite": REAL + COMPLEX, "isreal": REAL + COMPLEX, "iscomplex": REAL + COMPLEX,
    "nan_to_num": REAL + COMPLEX, "reciprocal": FLOATS + COMPLEX,
    "bitwise_invert": ("bool",) + INTS, "logical_not": REAL,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_functions_match_numpy(name):
    for i, dtype in enumerate(UNARY[name]):
        shape, split = _layout(i)
        a = _data(shape, dtype, seed=i)
        with np.errstate(all="ignore"):
            want = _np(name)(a)
        got = getattr(lh, name)(lh.array(a, split=split))
        assert got.split == split, (name, dtype)
        rtol = 2e-3 if dtype == "float16" else None
        check(got, want, rtol=rtol)


SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 2.5, -2.5, 0.5, -0.5,
                    1e-30, 3.0, -8.0, 27.0])
SIGNED_ZERO_UNARY = ("abs", "negative", "sign", "floor", "ceil", "trunc", "round", "sqrt",
                     "cbrt", "fabs", "signbit", "nan_to_num", "sin", "tan", "expm1",
                     "log1p", "asinh", "atanh", "angle", "square", "real", "copysign")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("split", [None, 0])
def test_unary_special_values_and_signed_zeros(dtype, split):
    a = SPECIAL.astype(dtype)
    x = lh.array(a, split=split)
    with np.errstate(all="ignore"):
        for name in SIGNED_ZERO_UNARY[:-1] + ("exp", "log", "isnan", "isinf", "isfinite",
                                               "reciprocal", "acosh", "exp2", "rad2deg"):
            want = _np(name)(a)
            got = check(getattr(lh, name)(x), want)
            if name in SIGNED_ZERO_UNARY:
                _same_signs(got, want)
    check(lh.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-9.0),
          np.nan_to_num(a, nan=-1.0, posinf=9.0, neginf=-9.0))


# ---------------------------------------------------------------- binary functions
BINARY = {
    "add": ARITH, "subtract": INTS + FLOATS + COMPLEX, "multiply": ARITH,
    "divide": ARITH, "true_divide": REAL, "float_power": REAL + ("complex128",),
    "pow": INTS + FLOATS + COMPLEX,
    **{n: INTS + FLOATS + ("bool",) for n in ("floor_divide", "remainder", "fmod")},
    **{n: REAL for n in ("maximum", "minimum", "fmin", "fmax", "atan2", "hypot",
                         "copysign", "nextafter", "heaviside", "logaddexp")},
    **{n: REAL for n in ("less", "less_equal", "greater", "greater_equal")},
    "equal": ARITH, "not_equal": ARITH,
    **{n: ("bool",) + INTS for n in ("bitwise_and", "bitwise_or", "bitwise_xor")},
    "bitwise_left_shift": INTS, "bitwise_right_shift": INTS,
    **{n: REAL for n in ("logical_and", "logical_or", "logical_xor")},
    "isclose": FLOATS + ("int64", "uint32") + COMPLEX,
}


def _operands(name, dtype, shape, i):
    a, b = _data(shape, dtype, seed=i), _data(shape, dtype, seed=i + 100)
    if name in ("pow", "bitwise_left_shift", "bitwise_right_shift") and \
            np.dtype(dtype).kind in "iu":
        b = (np.abs(b.astype(np.int64)) % 5).astype(dtype)  # no negative powers or shifts
    if name == "isclose":
        b = (a + b * 1e-6).astype(dtype) if np.dtype(dtype).kind in "fc" else b
    return a, b


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_functions_match_numpy(name):
    for i, dtype in enumerate(BINARY[name]):
        shape, split = _layout(i)
        a, b = _operands(name, dtype, shape, i)
        with np.errstate(all="ignore"):
            want = _np(name)(a, b)
        got = getattr(lh, name)(lh.array(a, split=split), lh.array(b, split=split))
        check(got, want, rtol=1e-5 if name == "float_power" else None)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("split", [None, 0, 1])
def test_binary_special_values(dtype, split):
    """Every pair of special values: NaN propagation, division by zero, pow(0, -1), signed
    zeros of copysign, nextafter, atan2."""
    va, vb = np.meshgrid(SPECIAL[:11], SPECIAL[:11])
    a, b = va.astype(dtype), vb.astype(dtype)
    x, y = lh.array(a, split=split), lh.array(b, split=split)
    with np.errstate(all="ignore"):
        for name in ("add", "multiply", "divide", "floor_divide", "remainder", "fmod", "pow",
                     "maximum", "minimum", "fmin", "fmax", "atan2", "hypot", "copysign",
                     "nextafter", "heaviside", "logaddexp", "less", "equal", "isclose"):
            want = _np(name)(a, b)
            got = check(getattr(lh, name)(x, y), want)
            if name in ("copysign", "atan2", "divide", "multiply", "nextafter"):
                _same_signs(got, want)
        check(lh.isclose(x, y, equal_nan=True), np.isclose(a, b, equal_nan=True))


# ---------------------------------------------------------------- unsigned dtypes
def _extremes(dtype):
    top = int(np.iinfo(dtype).max)
    return np.array([0, 1, 2, 3, 7, top, top - 1, top // 2, top // 2 + 1, 12345 % top],
                    dtype=dtype)


@pytest.mark.parametrize("dtype", UNSIGNED)
@pytest.mark.parametrize("split", [None, 0])
def test_unsigned_wraparound_and_division_are_exact(dtype, split):
    a = _extremes(dtype)
    b = np.roll(a, 3)
    s = (a % 70).astype(dtype)  # shifts past the width included
    x, y, z = (lh.array(v, split=split) for v in (a, b, s))
    with np.errstate(all="ignore"):
        for name in ("add", "subtract", "multiply", "floor_divide", "remainder", "fmod",
                     "maximum", "minimum", "less", "less_equal", "greater", "greater_equal",
                     "equal", "bitwise_xor", "pow"):
            check(getattr(lh, name)(x, y), _np(name)(a, b))
        for name in ("bitwise_left_shift", "bitwise_right_shift"):
            check(getattr(lh, name)(x, z), _np(name)(a, s))
        for name in ("negative", "bitwise_invert", "square", "sign", "abs"):
            check(getattr(lh, name)(x), _np(name)(a))
        check(x // 3, a // 3)
        check(5 - x, 5 - a)
        check(x * 7 + 1, a * 7 + 1)
        check(x % 10, a % 10)
        check(x ** 3, a ** 3)
        check(lh.clip(x, 2, int(a[7])), np.clip(a, 2, a[7]))
        check(lh.clip(x, max=y), np.clip(a, None, b))
        for t in ("float64", "float32", "int64", "int8", "uint8", "uint64", "bool"):
            check(lh.astype(x, t), a.astype(t))
        for bound in (-1, 0, 2 ** 70):
            check(x < bound, a < bound)
            check(x >= bound, a >= bound)
            check(x != bound, a != bound)
    small = (a % 1000).astype(dtype)
    check(lh.round(lh.array(small, split=split), -1), np.round(small, -1))


def test_unsigned_64_bit_corner_cases():
    top = 2 ** 64 - 1
    a = np.array([top, top, 2 ** 63, 2 ** 63 + 5, 10, 0], dtype=np.uint64)
    b = np.array([2 ** 63, 3, 2 ** 63 + 1, 2 ** 63, top, top], dtype=np.uint64)
    x, y = lh.array(a, split=0), lh.array(b, split=0)
    for name in ("floor_divide", "remainder", "less", "maximum", "subtract"):
        check(getattr(lh, name)(x, y), _np(name)(a, b))
    check(lh.astype(x, "float64"), a.astype(np.float64))
    check(lh.astype(x, "float32"), a.astype(np.float32))
    check(x // (2 ** 63 + 1), a // np.uint64(2 ** 63 + 1))
    check(x + (2 ** 64 - 1), a + np.uint64(2 ** 64 - 1))


MIXED = [("uint8", "int8"), ("uint16", "int16"), ("uint32", "int32"), ("uint64", "int64"),
         ("uint64", "float32"), ("uint32", "float16"), ("bool", "uint16"), ("int8", "uint64"),
         ("uint16", "uint64"), ("uint32", "complex64")]


@pytest.mark.parametrize("da,db", MIXED)
def test_mixed_dtypes_promote_as_numpy(da, db):
    a, b = _data((7, 5), da, seed=1), _data((1, 5), db, seed=2)
    x, y = lh.array(a, split=0), lh.array(b, split=None)
    with np.errstate(all="ignore"):
        for name in ("add", "multiply", "equal", "divide"):
            check(getattr(lh, name)(x, y), _np(name)(a, b))
        if "complex64" not in (da, db):
            for name in ("less", "maximum", "floor_divide"):
                check(getattr(lh, name)(x, y), _np(name)(a, b))


@pytest.mark.parametrize("dtype", ("uint8",) + UNSIGNED + ("int16", "float32"))
def test_weak_python_scalars_keep_the_dtype(dtype):
    a = _data((7, 5), dtype, seed=3)
    x = lh.array(a, split=1)
    for s in (2, 1.5, True):
        check(x * s, a * s)
        check(s + x, s + a)
        check(lh.maximum(x, s), np.maximum(a, s))
    with np.errstate(all="ignore"):
        check(lh.floor_divide(7, x), np.floor_divide(7, a))


# ---------------------------------------------------------------- layouts
@pytest.mark.parametrize("dtype", ["float64", "uint32"])
def test_every_split_and_shape(dtype):
    for shape in SHAPES_2D:
        a, b = _data(shape, dtype, seed=4), _data(shape, dtype, seed=5)
        for split in SPLITS_2D:
            x, y = lh.array(a, split=split), lh.array(b, split=split)
            with np.errstate(all="ignore"):
                check(lh.copysign(lh.hypot(x, y), lh.sin(x)),
                      np.copysign(np.hypot(a, b), np.sin(a)))
                check(lh.bitwise_left_shift(lh.remainder(x, 3), 1) if dtype == "uint32"
                      else lh.fmod(x, 3), a % 3 << 1 if dtype == "uint32" else np.fmod(a, 3))


def test_broadcasting_across_splits_and_zero_dimensional_arrays():
    a, b = _data((7, 1), "float64", seed=6), _data((5,), "float64", seed=7)
    for sa, sb in ((0, None), (None, 0), (1, 0)):
        if sa == 1:
            a2 = _data((7, 5), "float64", seed=6)
            check(lh.atan2(lh.array(a2, split=1), lh.array(b, split=0)), np.arctan2(a2, b))
            continue
        check(lh.hypot(lh.array(a, split=sa), lh.array(b, split=sb)), np.hypot(a, b))
    z = np.array(2.5)
    check(lh.cbrt(lh.array(z)), np.cbrt(z))
    check(lh.signbit(lh.array(np.array(-0.0))), np.signbit(np.array(-0.0)))
    check(lh.nextafter(lh.array(z), 3.0), np.nextafter(z, 3.0))
    u = np.array(7, dtype=np.uint64)
    check(lh.subtract(lh.array(u), 9), u - np.uint64(9))


def test_unsigned_chains_fuse_and_stay_local():
    x = lh.array(_data((40, 3), "uint32", seed=8), split=0)
    y = lh.bitwise_right_shift(x * 3 + 1, 1) // 5
    p = lh.plan(y).totals()
    assert p["collectives"] == 0 and p["fused_kernels"] == 1 and p["fused_ops"] == 4
    a = _data((40, 3), "uint32", seed=8)
    check(y, ((a * 3 + 1) >> 1) // 5)
    check(lh.sum(lh.astype(lh.minimum(x, 100), "int64")),
          np.sum(np.minimum(a, 100).astype(np.int64)))
    assert RANK >= 0


@pytest.mark.parametrize("split", [None, 0])
def test_complex_special_values(split):
    """Infinite parts survive subtract and log2/log10; small integral powers are exact and
    0 ** y follows NumPy; a float remainder of zero takes the divisor's sign."""
    inf, nan = np.inf, np.nan
    a = np.array([-inf + 1j, inf + 0j, 1 + 2j, 0j, 0j, 2 - 1j, -1.5 + 0j, nan + 0j],
                 np.complex128)
    b = np.array([inf + 0j, 1 + 1j, 3 + 0j, 2 + 0j, -1 + 0j, -2 + 0j, 0.5 + 0.5j, 1 + 0j],
                 np.complex128)
    x, y = lh.array(a, split=split), lh.array(b, split=split)
    with np.errstate(all="ignore"):
        for name in ("subtract", "pow", "add", "multiply"):
            check(getattr(lh, name)(x, y), _np(name)(a, b))
        for name in ("log2", "log10"):
            check(getattr(lh, name)(x), _np(name)(a))
        check(lh.pow(lh.astype(x, "complex64"), 3), np.power(a.astype(np.complex64), 3))
    f = np.array([0.0, -0.0, 2.0, -2.0, 3.0], np.float32)
    g = np.array([-1.0, 1.0, -1.0, 1.0, 1.5], np.float32)
    got = check(lh.remainder(lh.array(f, split=split), lh.array(g, split=split)),
                np.remainder(f, g))
    _same_signs(got, np.remainder(f, g))
