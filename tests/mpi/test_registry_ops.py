"""Ops added through the op registry alone: logaddexp (one elementwise entry), ptp (one
reduction entry and its kernels) and cumsum (its own rule, lowering and kernels, with a
collective along the split axis), against NumPy on any number of ranks."""

import numpy as np
import pytest
from _util import SHAPES_2D, check, lh, make

SPLITS = (None, 0, 1)


@pytest.mark.parametrize("split", SPLITS)
def test_logaddexp_with_special_values(split):
    a = make((7, 5), "float64", seed=71)
    b = make((7, 5), "float64", seed=72)
    a[0, :3] = [-np.inf, np.inf, np.nan]
    b[0, :3] = [-np.inf, np.inf, 1.0]
    x, y = lh.array(a, split=split), lh.array(b, split=split)
    with np.errstate(invalid="ignore"):  # NaN in, NaN out
        want, want1 = np.logaddexp(a, b), np.logaddexp(a, 1.0)
    check(lh.logaddexp(x, y), want)
    check(lh.logaddexp(x, 1.0), want1)
    ints = np.arange(6).reshape(3, 2)
    check(lh.logaddexp(lh.array(ints, split=split if split != 1 else 0), 0),
          np.logaddexp(ints, 0))


@pytest.mark.parametrize("shape", SHAPES_2D[:3])
@pytest.mark.parametrize("dtype", ["float32", "int16"])
def test_ptp(shape, dtype):
    a = make(shape, dtype, seed=73)
    for split in SPLITS:
        x = lh.array(a, split=split)
        for axis in (None, 0, 1):
            for keepdims in (False, True):
                check(lh.ptp(x, axis=axis, keepdims=keepdims),
                      np.ptp(a, axis=axis, keepdims=keepdims))
        check(x.ptp(0), np.ptp(a, 0))


def test_ptp_refuses_empty_bool_and_complex():
    with pytest.raises(ValueError, match="zero-size"):
        lh.ptp(lh.zeros((0, 3), split=0), axis=0)
    with pytest.raises(TypeError, match="bool"):  # NumPy refuses boolean subtract too
        lh.ptp(lh.zeros(3, dtype="bool"))
    with pytest.raises(TypeError, match="complex"):  # as lazyheat's min and max
        lh.ptp(lh.zeros(3, dtype="complex64"))


@pytest.mark.parametrize("shape", SHAPES_2D)
@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
def test_cumsum(shape, dtype):
    a = make(shape, dtype, seed=74)
    for split in SPLITS:
        x = lh.array(a, split=split)
        for axis in (None, 0, 1, -1):
            check(lh.cumsum(x, axis=axis), np.cumsum(a, axis=axis))
        check(x.cumsum(0, dtype="float32"), np.cumsum(a, 0, dtype="float32"))


def test_cumsum_along_split_feeds_on():
    a = make((11, 3), "float64", seed=75)
    x = lh.array(a, split=0)
    c = lh.cumsum(x, axis=0)
    check(c[-1], a.sum(0))
    check((c * 2).sum(1), (np.cumsum(a, 0) * 2).sum(1))


@pytest.mark.parametrize("split", SPLITS)
def test_cumulative_sum_and_running_any(split):
    a = make((7, 5), "int32", seed=76)
    x = lh.array(a, split=split)
    for axis in (0, 1):
        check(lh.cumulative_sum(x, axis=axis, include_initial=True),
              np.cumulative_sum(a, axis=axis, include_initial=True))
        check(lh.cumsum(x > 0, axis=axis, dtype=bool), np.cumsum(a > 0, axis=axis, dtype=bool))
    check(lh.cumulative_sum(x[:, 0]), np.cumulative_sum(a[:, 0]))
    with pytest.raises(ValueError, match="axis must be given"):
        lh.cumulative_sum(x)
