"""take, take_along_axis and integer-array indexing against NumPy on any rank count:
splits None/0/1, uneven and empty shapes, negative indices, split and replicated indices."""

import numpy as np
import pytest
from _util import SHAPES_2D, check, lh, make, valid_splits


@pytest.mark.parametrize("shape", SHAPES_2D)
@pytest.mark.parametrize("split", valid_splits(2))
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("isplit", [None, 0])
def test_take_matches_numpy(shape, split, axis, isplit):
    a = make(shape, "float32", seed=1)
    n = shape[axis]
    idx = (np.array([n - 1, 0, -1, n // 2, 0], dtype=np.int64) if n else
           np.zeros(0, dtype=np.int64))
    x = lh.array(a, split=split)
    got = lh.indexing.take(x, lh.array(idx, split=isplit), axis=axis)
    check(got, np.take(a, idx, axis=axis))


@pytest.mark.parametrize("dtype", ["int32", "bool", "float64"])
def test_take_dtypes_flat_and_list_keys(dtype):
    a = make((5, 3), dtype, seed=2)
    x = lh.array(a, split=0)
    check(lh.indexing.take(x, [14, 0, -2]), np.take(a, [14, 0, -2]))
    check(x[[4, 0, 4]], a[[4, 0, 4]])
    check(x[:, np.array([2, -3])], a[:, np.array([2, -3])])
    check(x[1:, [0]], a[1:, [0]])
    check(x[None, [3, 1], 1], a[None, [3, 1], 1])
    idx = lh.array(np.array([3, 3, 1, -5]), split=0)
    check(x[idx], a[np.array([3, 3, 1, -5])])


def test_take_nd_indices_and_more_ranks_than_rows():
    a = make((2, 3), "int64", seed=3)
    idx = np.array([[1, 0], [1, 1], [0, 0]])
    x = lh.array(a, split=0)
    check(lh.indexing.take(x, idx, axis=0), np.take(a, idx, axis=0))


@pytest.mark.parametrize("shape", [(7, 5), (3, 4), (1, 6)])
@pytest.mark.parametrize("split", valid_splits(2))
@pytest.mark.parametrize("axis", [0, 1])
def test_take_along_axis_matches_numpy(shape, split, axis):
    a = make(shape, "float32", seed=4)
    idx = np.argsort(a, axis=axis)[::-1] if axis == 1 else np.argsort(a, axis=axis)
    idx = idx.copy()
    x = lh.array(a, split=split)
    for isplit in (None, 0, 1):
        got = lh.indexing.take_along_axis(x, lh.array(idx, split=isplit), axis=axis)
        check(got, np.take_along_axis(a, idx, axis=axis))


def test_take_along_axis_3d_split_axis_and_negative():
    a = make((3, 4, 2), "int32", seed=5)
    idx = np.array(make((3, 6, 2), "int64", seed=6, low=-4, high=4))
    x = lh.array(a, split=1)
    got = lh.indexing.take_along_axis(x, idx, axis=1)
    check(got, np.take_along_axis(a, np.where(idx < 0, idx + 4, idx), axis=1))


def test_build_time_errors():
    x = lh.array(make((4, 3), "float32"), split=0)
    with pytest.raises(IndexError, match="out of bounds"):
        lh.indexing.take(x, [4], axis=0)
    with pytest.raises(IndexError, match="out of bounds"):
        x[:, [-4]]
    with pytest.raises(ValueError, match="same number of dimensions"):
        lh.indexing.take_along_axis(x, [1, 2], axis=0)


@pytest.mark.parametrize("split", valid_splits(2))
def test_bool_lists_zero_d_and_empty_keys(split):
    a = make((4, 3), "float32", seed=7)
    x = lh.array(a, split=split)
    check(x[[True, False, True, True]], a[[True, False, True, True]])
    check(x[lh.array(np.int64(2))], a[2])
    check(x[:, np.array(-1)], a[:, -1])
    check(x[[]], a[np.array([], dtype=np.int64)])
