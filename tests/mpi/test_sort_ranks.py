"""sort, argsort and searchsorted on any number of ranks, against NumPy (array_api_strict
for the descending order): block-local along kept axes, the sample sort along a split 1-d
axis, a resplit along the split axis of an n-d array."""

import array_api_strict as xp
import numpy as np
import pytest
from _util import SHAPES_2D, SPLITS_2D, check, lh, make

DTYPES = ("float32", "float64", "int64", "uint8", "bool")


def _np_sort(a, axis, descending, indices):
    """NumPy's stable sort; descending as array_api_strict does it (equal keys keep their
    original order, NaNs first), for bool too."""
    if not descending:
        return np.argsort(a, axis, kind="stable") if indices else np.sort(a, axis)
    if indices:
        flipped = np.argsort(np.flip(a, axis), axis, kind="stable")
        return a.shape[axis] - 1 - np.flip(flipped, axis)
    return np.flip(np.sort(a, axis), axis)


def test_descending_oracle_is_array_api_strict():
    a = make((9,), "float32", seed=1, integral=True)
    for ind in (False, True):
        fn = xp.argsort if ind else xp.sort
        np.testing.assert_array_equal(_np_sort(a, -1, True, ind),
                                      np.asarray(fn(xp.asarray(a), descending=True)))


@pytest.mark.parametrize("n", [0, 1, 5, 23])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("split", [None, 0])
def test_1d_sort_and_argsort(n, dtype, split):
    a = make((n,), dtype, seed=n + 3)
    x = lh.array(a, split=split)
    for desc in (False, True):
        got = lh.sort(x, descending=desc)
        assert got.split == split
        check(got, _np_sort(a, -1, desc, False))
        check(lh.argsort(x, descending=desc), _np_sort(a, -1, desc, True))


@pytest.mark.parametrize("shape", SHAPES_2D)
@pytest.mark.parametrize("split", SPLITS_2D)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_2d_sort_every_axis_and_layout(shape, split, axis):
    a = make(shape, "float32", seed=11)
    x = lh.array(a, split=split)
    check(lh.sort(x, axis=axis), np.sort(a, axis=axis))
    check(lh.argsort(x, axis=axis), np.argsort(a, axis=axis, kind="stable"))
    check(lh.sort(x, axis=axis, descending=True), _np_sort(a, axis, True, False))


@pytest.mark.parametrize("split", [None, 0])
def test_ties_keep_their_global_order(split):
    a = np.array([1, 0, 1, 1, 0, 2, 1, 0, 0, 1, 1, 2, 0] * 3, dtype=np.int16)
    x = lh.array(a, split=split)
    check(lh.argsort(x), np.argsort(a, kind="stable"))
    check(lh.argsort(x, descending=True), _np_sort(a, -1, True, True))
    same = lh.array(np.zeros(17, np.float32), split=split)
    check(lh.argsort(same), np.arange(17))
    many = make((400,), "int8", seed=4, low=0, high=4)  # long runs of ties across ranks
    check(lh.argsort(lh.array(many, split=split)), np.argsort(many, kind="stable"))
    check(lh.sort(lh.array(many, split=split)), np.sort(many))


@pytest.mark.parametrize("split", [None, 0])
def test_nans_infs_and_signed_zeros(split):
    a = np.array([np.nan, 1.0, -np.inf, -0.0, np.nan, 0.0, np.inf, -2.5, np.nan, 3.0])
    x = lh.array(a, split=split)
    check(lh.sort(x), np.sort(a))
    check(lh.argsort(x), np.argsort(a, kind="stable"))
    check(lh.sort(x, descending=True), _np_sort(a, -1, True, False))
    check(lh.argsort(x, descending=True), _np_sort(a, -1, True, True))
    check(lh.sort(lh.array(a.astype(np.float16), split=split)),
          np.sort(a.astype(np.float16)))


def test_unbalanced_input_comes_back_balanced():
    a = make((19,), "float64", seed=5)
    x = lh.array(a, split=0)
    sel = x[x > -0.5]  # uneven blocks, as the data falls
    got = lh.sort(sel)
    assert got.aval.balanced
    check(got, np.sort(a[a > -0.5]))


def test_numpy_positional_axis_and_kind():
    a = make((4, 6), "int32", seed=2)
    x = lh.array(a, split=1)
    check(lh.sort(x, 0, "stable"), np.sort(a, 0, "stable"))
    check(lh.argsort(x, 1), np.argsort(a, 1, kind="stable"))


def test_errors_are_raised_at_build_time():
    with pytest.raises(NotImplementedError, match="order"):
        lh.sort(lh.array(np.ones(3)), order="f")
    with pytest.raises(ValueError, match="sort"):
        lh.sort(lh.array(np.float32(1.0)))
    with pytest.raises(TypeError, match="complex"):
        lh.sort(lh.array(np.ones(3, np.complex64), split=0))
    with pytest.raises(ValueError, match="searchsorted"):
        lh.searchsorted(lh.array(np.ones((2, 2))), lh.array(np.ones(2)))


@pytest.mark.parametrize("n", [0, 1, 7, 30])
@pytest.mark.parametrize("split1", [None, 0])
@pytest.mark.parametrize("split2", [None, 0, 1])
def test_searchsorted(n, split1, split2):
    a = np.sort(make((n,), "float64", seed=n, integral=True))
    a[-2:] = np.nan if n > 3 else a[-2:]
    v = make((3, 4), "float64", seed=9, integral=True)
    v[0, 0] = np.nan
    x1, x2 = lh.array(a, split=split1), lh.array(v, split=split2)
    for side in ("left", "right"):
        got = lh.searchsorted(x1, x2, side=side)
        assert got.split == split2
        check(got, np.searchsorted(a, v, side=side))


def test_searchsorted_mixed_dtypes_and_numpy_values():
    a = np.arange(0, 20, 3, dtype=np.int32)
    x1 = lh.array(a, split=0)
    check(lh.searchsorted(x1, np.array([-1.5, 3.0, 3.5, 100.0])),
          np.searchsorted(a, np.array([-1.5, 3.0, 3.5, 100.0])))
