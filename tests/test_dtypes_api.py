"""The Array API's data types and data type functions (one process): promotion against
array-api-strict and NumPy 2, finfo/iinfo, isdtype, can_cast, astype, and the unsigned
dtypes' round trip through NumPy."""

import array_api_strict as xp
import numpy as np
import pytest

import lazyheat as lh
from lazyheat import dtype_functions as df
from lazyheat.graph import dtypes as dt

NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
         "float32", "float64", "complex64", "complex128")
UNSIGNED = ("uint16", "uint32", "uint64")


def _strict(name):
    return getattr(xp, name)


def _ours(name):
    return dt.as_dtype(name)


def test_promotion_matches_array_api_strict_on_every_pair_it_defines():
    checked = 0
    for a in NAMES:
        for b in NAMES:
            try:
                want = xp.result_type(_strict(a), _strict(b))
            except TypeError:
                continue  # mixed kinds: the standard leaves them to NumPy (next test)
            got = df.result_type(_ours(a), _ours(b))
            assert got == str(want).split(".")[-1], (a, b, got, want)
            checked += 1
    assert checked >= 70


def test_promotion_matches_numpy_on_every_pair():
    for a in NAMES:
        for b in NAMES:
            want = np.result_type(np.dtype(a), np.dtype(b))
            assert df.result_type(a, b) == want, (a, b)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("scalar", [True, 3, 2.5, 1j])
def test_python_scalars_are_weak(name, scalar):
    want = np.result_type(np.zeros(1, name), scalar)
    assert df.result_type(_ours(name), scalar) == want
    x = lh.zeros(2, dtype=name)
    assert df.result_type(x, scalar) == want


def test_result_type_takes_arrays_dtypes_and_strings():
    x = lh.zeros(3, dtype="uint16")
    assert df.result_type(x, "int8", np.float32) == np.result_type(np.uint16, np.int8,
                                                                   np.float32)
    assert df.result_type(x, "uint8", np.float32) == dt.float32
    assert df.result_type(x, np.zeros(2, np.uint32)) == dt.uint32
    assert df.result_type(1, 2.0) == dt.float64
    with pytest.raises(ValueError, match="result_type"):
        df.result_type()


@pytest.mark.parametrize("name", UNSIGNED)
def test_unsigned_dtypes_compare_and_round_trip(name):
    d = getattr(df, name)
    assert d == name and d == np.dtype(name) and d == getattr(np, name) and d.itemsize == \
        np.dtype(name).itemsize
    info = np.iinfo(name)
    data = np.array([0, 1, info.max, info.max // 2 + 1], dtype=name)
    for split in (None, 0):
        x = lh.array(data, split=split)
        assert x.dtype == d
        got = x.numpy()
        assert got.dtype == data.dtype and np.array_equal(got, data)
    assert lh.zeros(3, dtype=name).numpy().dtype == data.dtype
    assert lh.array(data, dtype="float64").numpy().tolist() == data.astype("float64").tolist()


@pytest.mark.parametrize("name", ["float16", "float32", "float64", "complex64", "complex128"])
def test_finfo_matches_numpy(name):
    for arg in (_ours(name), name, lh.zeros(2, dtype=name)):
        got, want = df.finfo(arg), np.finfo(name)
        assert (got.bits, got.eps, got.max, got.min, got.smallest_normal) == (
            want.bits, float(want.eps), float(want.max), float(want.min),
            float(want.smallest_normal))
        assert got.dtype == want.dtype and isinstance(got.eps, float)


def test_finfo_of_bfloat16_and_errors():
    f = df.finfo(dt.bfloat16)
    assert (f.bits, f.eps, f.smallest_normal) == (16, 2.0 ** -7, 2.0 ** -126)
    assert f.max == pytest.approx(3.3895313892515355e38) and f.min == -f.max
    with pytest.raises(TypeError, match="finfo"):
        df.finfo(dt.int32)
    with pytest.raises(TypeError, match="iinfo"):
        df.iinfo("float32")
    with pytest.raises(TypeError, match="iinfo"):
        df.iinfo("bool")


@pytest.mark.parametrize("name", ["int8", "int16", "int32", "int64", "uint8", "uint16",
                                  "uint32", "uint64"])
def test_iinfo_matches_numpy(name):
    got, want = df.iinfo(lh.zeros(1, dtype=name)), np.iinfo(name)
    assert (got.bits, got.min, got.max) == (want.bits, int(want.min), int(want.max))
    assert got.dtype == name and type(got.max) is int


KINDS = ("bool", "signed integer", "unsigned integer", "integral", "real floating",
         "complex floating", "numeric")


@pytest.mark.parametrize("name", NAMES)
def test_isdtype_matches_array_api_strict(name):
    for kind in KINDS:
        assert df.isdtype(_ours(name), kind) == xp.isdtype(_strict(name), kind), (name, kind)
    assert df.isdtype(_ours(name), ("bool", "numeric"))
    assert df.isdtype(_ours(name), _ours(name)) and not df.isdtype(
        _ours(name), dt.bfloat16)
    assert df.isdtype(dt.bfloat16, "real floating")


def test_isdtype_errors_name_the_function():
    with pytest.raises(ValueError, match="isdtype"):
        df.isdtype(dt.int8, "integer")
    with pytest.raises(TypeError, match="isdtype"):
        df.isdtype(dt.int8, 3)


def test_can_cast_is_safe_casting():
    for a in NAMES:
        for b in NAMES:
            assert df.can_cast(_ours(a), b) == np.can_cast(a, b, "safe"), (a, b)
            try:  # the standard's table, where it defines the pair
                want = xp.can_cast(_strict(a), _strict(b))
            except TypeError:
                continue
            if _ours(a).kind == _ours(b).kind:
                assert df.can_cast(a, b) == want, (a, b)
    assert df.can_cast(lh.zeros(2, dtype="uint8"), dt.uint16)


def test_astype_has_the_standard_signature():
    x = lh.array(np.array([1.5, -2.0, 3e9], np.float64))
    y = lh.astype(x, dt.uint32)
    assert y.dtype == dt.uint32 and y.numpy().tolist() == [1, 4294967294, 3000000000]
    assert lh.astype(x, "float64", copy=False) is x
    assert lh.astype(x, "float64") is not x
    assert lh.astype(x, "float32", device="cpu").dtype == dt.float32


def test_elementwise_names_of_the_standard_are_exported():
    names = """abs acos acosh add asin asinh atan atan2 atanh bitwise_and bitwise_left_shift
        bitwise_invert bitwise_or bitwise_right_shift bitwise_xor ceil clip conj copysign cos
        cosh divide equal exp expm1 floor floor_divide greater greater_equal hypot imag
        isfinite isinf isnan less less_equal log log1p log2 log10 logaddexp logical_and
        logical_not logical_or logical_xor maximum minimum multiply negative nextafter
        not_equal positive pow real reciprocal remainder round sign signbit sin sinh square
        sqrt subtract tan tanh trunc arccosh arcsinh arctanh exp2 cbrt deg2rad rad2deg
        degrees radians fabs fmod fmin fmax heaviside sinc angle isclose isreal iscomplex
        nan_to_num float_power true_divide astype""".split()
    missing = [n for n in names if not callable(getattr(lh, n, None))]
    assert missing == []


def test_build_time_errors_name_the_function():
    x = lh.zeros(3, dtype="uint32")
    with pytest.raises(TypeError, match="bitwise_and"):
        lh.bitwise_and(lh.zeros(3), 1)
    with pytest.raises(TypeError, match="copysign"):
        lh.copysign(lh.zeros(3, dtype="complex64"), 1.0)
    with pytest.raises(OverflowError, match="add"):
        lh.add(x, -1)
    with pytest.raises(TypeError, match="signbit"):
        lh.signbit(lh.zeros(3, dtype="complex64"))
    with pytest.raises(TypeError, match="reciprocal"):
        lh.reciprocal(x)
    with pytest.raises(TypeError, match="positive"):
        lh.positive(lh.zeros(3, dtype="bool"))


def test_dtypes_of_other_array_api_libraries_are_understood():
    for name in NAMES:
        assert dt.as_dtype(_strict(name)) == name and _ours(name) == _strict(name)
        assert dt.as_dtype(f"array_api_strict.{name}") == name
