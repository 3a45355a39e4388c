"""Cumulative products, NaN-skipping scans, include_initial, diff and nonzero-style
searching against NumPy on any rank count."""

import numpy as np
import pytest
from _util import SHAPES_2D, check, lh, make, valid_splits

from lazyheat import searching as s


@pytest.mark.parametrize("shape", SHAPES_2D)
@pytest.mark.parametrize("split", valid_splits(2))
@pytest.mark.parametrize("axis", [0, 1])
def test_cumprod_and_cumulative_prod(shape, split, axis):
    a = make(shape, "int32", seed=1, low=-2, high=3)
    x = lh.array(a, split=split)
    check(s.cumprod(x, axis=axis), np.cumprod(a, axis=axis))
    f = make(shape, "float64", seed=2)
    check(s.cumulative_prod(lh.array(f, split=split), axis=axis, include_initial=True),
          np.concatenate([np.ones_like(f.take([0], axis=axis) if shape[axis] else
                                       f.sum(axis=axis, keepdims=True)), np.cumprod(f, axis)],
                         axis=axis))


@pytest.mark.parametrize("split", [None, 0])
def test_nan_scans_flat_and_dtypes(split):
    a = make((9,), "float32", seed=3)
    a[[0, 4]] = np.nan
    x = lh.array(a, split=split)
    check(s.nancumsum(x), np.nancumsum(a))
    check(s.nancumprod(x), np.nancumprod(a))
    b = make((3, 4), "bool", seed=4)
    check(s.cumprod(lh.array(b, split=split)), np.cumprod(b))
    check(s.cumprod(lh.array(b, split=split), dtype=bool), np.cumprod(b, dtype=bool))
    check(lh.cumulative_sum(x, include_initial=True),
          np.concatenate([[0], np.cumsum(a)]).astype(np.float32))


@pytest.mark.parametrize("shape", SHAPES_2D)
@pytest.mark.parametrize("split", valid_splits(2))
@pytest.mark.parametrize("axis", [0, 1])
def test_diff(shape, split, axis):
    a = make(shape, "int64", seed=5)
    x = lh.array(a, split=split)
    check(s.diff(x, axis=axis), np.diff(a, axis=axis))
    check(s.diff(x, axis=axis, n=2, prepend=3), np.diff(a, axis=axis, n=2, prepend=3))
    b = a > 0
    check(s.diff(lh.array(b, split=split), axis=axis), np.diff(b, axis=axis))


@pytest.mark.parametrize("shape", SHAPES_2D)
@pytest.mark.parametrize("split", valid_splits(2))
def test_nonzero_family(shape, split):
    a = make(shape, "float32", seed=6, low=-1, high=2, integral=True)
    x = lh.array(a, split=split)
    for got, want in zip(s.nonzero(x), np.nonzero(a)):
        check(got, want.astype(np.int64))
    check(s.argwhere(x), np.argwhere(a).astype(np.int64))
    check(s.flatnonzero(x), np.flatnonzero(a).astype(np.int64))
    check(s.count_nonzero(x), np.int64(np.count_nonzero(a)))
    check(s.count_nonzero(x, axis=0, keepdims=True),
          np.count_nonzero(a, axis=0, keepdims=True).astype(np.int64))
    for got, want in zip(s.where(x > 0), np.where(a > 0)):
        check(got, want.astype(np.int64))


def test_zero_d_and_errors():
    check(s.argwhere(lh.array(3.0)), np.argwhere(np.float32(3.0)).astype(np.int64))
    with pytest.raises(ValueError, match="0d"):
        s.nonzero(lh.array(1))
    with pytest.raises(ValueError, match="axis must be given"):
        s.cumulative_prod(lh.ones((2, 2)))


def test_large_scans_add_the_carry_in_place_and_keep_their_input():
    """Blocks large enough for the carry to be added into the dying local scan: values as
    NumPy's, the input untouched, a scan used twice not overwritten."""
    a = np.random.default_rng(3).standard_normal(400_003)
    x = lh.array(a, split=0)
    s = lh.cumulative_sum(x)
    check(s, np.cumsum(a), rtol=1e-9, atol=1e-9)
    check(x, a)
    t = lh.cumulative_sum(x)
    both = lh.compute(t, t * 2)
    check(both[0], np.cumsum(a), rtol=1e-9, atol=1e-9)
    check(both[1], 2 * np.cumsum(a), rtol=1e-9, atol=1e-9)
    check(lh.cumulative_prod(lh.array(np.full(300_001, 1.000001), split=0))[-1:],
          np.cumprod(np.full(300_001, 1.000001))[-1:], rtol=1e-9)
