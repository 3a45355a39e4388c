"""quantile, percentile and median on any number of ranks, against NumPy: block-local along
kept axes, a resplit along the split axis of a 2-d array, the sample sort and one all-reduce
over a split 1-d (or flattened) array."""

import numpy as np
import pytest
from _util import SHAPES_2D, SPLITS_2D, check, lh, make

METHODS = ("linear", "lower", "higher", "nearest", "midpoint")


@pytest.mark.parametrize("shape", [s for s in SHAPES_2D if 0 not in s])
@pytest.mark.parametrize("split", SPLITS_2D)
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_quantile_every_axis_and_layout(shape, split, axis):
    a = make(shape, "float64", seed=21)
    x = lh.array(a, split=split)
    for q in (0.3, [0.0, 0.5, 1.0]):
        check(lh.quantile(x, q, axis=axis), np.quantile(a, q, axis=axis))
    check(lh.median(x, axis=axis, keepdims=True), np.median(a, axis=axis, keepdims=True))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", ["float32", "int64", "uint8"])
@pytest.mark.parametrize("n", [1, 8])
def test_methods_and_dtypes_1d_split(method, dtype, n):
    a = make((n,), dtype, seed=n)
    x = lh.array(a, split=0)
    q = [0.1, 0.25, 0.5, 0.75, 0.9]
    check(lh.quantile(x, q, method=method), np.quantile(a, q, method=method))
    check(lh.percentile(x, 40, method=method), np.percentile(a, 40, method=method))


@pytest.mark.parametrize("split", [None, 0, 1])
def test_nan_slices_give_nan(split):
    a = make((6, 4), "float32", seed=3)
    a[2, 1] = np.nan
    x = lh.array(a, split=split)
    for axis in (None, 0, 1):
        check(lh.median(x, axis=axis), np.median(a, axis=axis))
        check(lh.quantile(x, [0.2, 0.8], axis=axis, keepdims=True),
              np.quantile(a, [0.2, 0.8], axis=axis, keepdims=True))


def test_ties_and_bool_selection_methods():
    a = np.array([2, 2, 2, 1, 1, 3, 3, 3, 3], dtype=np.int32)
    x = lh.array(a, split=0)
    check(lh.median(x), np.median(a))
    b = make((7,), "bool", seed=2)
    check(lh.quantile(lh.array(b, split=0), 0.5, method="lower"),
          np.quantile(b, 0.5, method="lower"))


def test_errors_are_raised_at_build_time():
    x = lh.array(np.arange(4.0), split=0)
    with pytest.raises(ValueError, match="quantile"):
        lh.quantile(x, 1.5)
    with pytest.raises(ValueError, match="percentile"):
        lh.percentile(x, -1)
    with pytest.raises(ValueError, match="method"):
        lh.quantile(x, 0.5, method="bogus")
    with pytest.raises(ValueError, match="empty"):
        lh.median(lh.array(np.zeros(0), split=0))


@pytest.mark.parametrize("split", [None, 0, 1])
@pytest.mark.parametrize("method", ["linear", "nearest", "midpoint"])
def test_nan_variants_ignore_nans(split, method):
    a = make((5, 4), "float64", seed=8)
    a[0, 1] = a[3, 1] = a[2, 3] = np.nan
    a[:, 2] = np.nan  # a column of NaNs only: NaN
    x = lh.array(a, split=split)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        exp = {ax: np.nanquantile(a, [0.2, 0.7], axis=ax, method=method, keepdims=True)
               for ax in (0, 1)}
    for ax in (0, 1):
        check(lh.nanquantile(x, [0.2, 0.7], axis=ax, method=method, keepdims=True), exp[ax])
    check(lh.nanquantile(x, 0.4, method=method), np.nanquantile(a, 0.4, method=method))
    check(lh.nanpercentile(x, [10, 90], axis=None),
          np.nanpercentile(a, [10, 90], axis=None))
    check(lh.nanmedian(x, axis=1), np.nanmedian(a, axis=1))
    only_nan = lh.array(np.full(4, np.nan), split=split if split != 1 else 0)
    check(lh.nanmedian(only_nan), np.array(np.nan))
