"""NumPy edge cases that only run in the single-process suite.

If lazyheat gets one of these wrong at run time, a multi-rank run would end the
whole job (a kernel failure aborts every rank), so they are kept out of
tests/mpi and checked here, where an error is an ordinary test failure.
"""

import operator
import warnings

import numpy as np
import pytest

import lazyheat as lh

PROMOTION_DTYPES = ["bool", "int64", "float32", "float64"]
PROMOTION_OPS = [
    operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv,
    operator.mod, operator.pow, operator.lt, operator.eq, operator.and_, operator.or_,
]  # fmt: skip


def _data(dtype, seed):
    # values 1..3 (True for bool): no division by zero, no negative powers
    g = np.random.default_rng(seed)
    return g.integers(1, 4, size=(4, 3)).astype(dtype)


@pytest.mark.parametrize("da", PROMOTION_DTYPES)
def test_promotion_matrix(da):
    """Every dtype pair and Python scalar kind as NumPy 2 does it, errors included."""
    a = _data(da, 1)
    x = lh.array(a, split=0)
    others = [(lh.array(_data(db, 2), split=1), _data(db, 2)) for db in PROMOTION_DTYPES]
    others += [(s, s) for s in (True, 3, 2.5)]
    for lazy_other, np_other in others:
        for op in PROMOTION_OPS:
            try:
                expected = op(a, np_other)
            except TypeError:
                with pytest.raises(TypeError):
                    op(x, lazy_other)
                continue
            what = f"{da} {op.__name__} {np_other!r:.20}"
            y = op(x, lazy_other)
            assert y.dtype == expected.dtype, f"{what}: {y.dtype} != {expected.dtype}"
            if expected.dtype.kind in "biu":
                np.testing.assert_array_equal(y.numpy(), expected, err_msg=what)
            else:
                np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6, err_msg=what)


def test_integer_division_by_zero_gives_zero_like_numpy():
    a = np.array([[1, -2, 3], [0, 5, -6]], dtype="i8")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for split in (None, 0, 1):
            x = lh.array(a, split=split)
            np.testing.assert_array_equal((x // 0).numpy(), a // 0)
            np.testing.assert_array_equal((x % 0).numpy(), a % 0)
            z = lh.zeros_like(x)
            np.testing.assert_array_equal((x // z).numpy(), a // np.zeros_like(a))


def test_negative_integer_power_is_rejected_when_built():
    x = lh.array(np.array([1, 2, 3]), split=0)
    with pytest.raises(ValueError):
        x**-1  # noqa: B018


def test_scalar_conversion_of_many_elements():
    x = lh.ones((2, 2), split=0)
    with pytest.raises(TypeError):
        float(x)
    with pytest.raises(TypeError):
        int(x)
    with pytest.raises(ValueError):
        bool(x)
    with pytest.raises(TypeError):
        len(lh.array(np.float64(1.0)))


def test_sign_and_abs_edge_values():
    f = np.array([np.nan, -np.inf, -0.0, 0.0, 2.5], dtype="f8")
    np.testing.assert_array_equal(lh.sign(lh.array(f, split=0)).numpy(), np.sign(f))
    b = np.array([True, False])
    np.testing.assert_array_equal(lh.abs(lh.array(b)).numpy(), np.abs(b))
    i = np.array([-3, 0, 4], dtype="i8")
    np.testing.assert_array_equal(lh.sign(lh.array(i)).numpy(), np.sign(i))
