"""x[key] = value against NumPy on any rank count: basic keys (any step), masks, integer
arrays (duplicates), values broadcast and cast, old expressions keep the old value."""

import numpy as np
import pytest
from _util import SHAPES_2D, check, lh, make, valid_splits

BASIC_KEYS = [
    (slice(1, None, 2),),
    (slice(None, None, -1), 1),
    (Ellipsis, slice(3, 0, -2)),
    (0,),
    (-1, None, slice(None)),
    (slice(None), 2),
]


@pytest.mark.parametrize("shape", SHAPES_2D)
@pytest.mark.parametrize("split", valid_splits(2))
def test_basic_keys_scalar_and_array_values(shape, split):
    a = make(shape, "float32", seed=1)
    for key in BASIC_KEYS:
        try:
            want_shape = a[key].shape
        except IndexError:
            continue
        for value in (3.5, np.arange(np.prod(want_shape), dtype=np.float64).reshape(want_shape)):
            x = lh.array(a, split=split)
            x[key] = value
            b = a.copy()
            b[key] = value
            check(x, b)


@pytest.mark.parametrize("split", valid_splits(2))
def test_value_broadcast_lazy_value_and_cast(split):
    a = make((5, 4), "int32", seed=2)
    x = lh.array(a, split=split)
    old = x * 2
    row = lh.array(np.array([1.9, -2.5, 3.0, 4.0]), split=0)
    x[1:4] = row
    b = a.copy()
    b[1:4] = np.array([1.9, -2.5, 3.0, 4.0])
    check(x, b)
    check(old, a * 2)  # an expression built before the assignment keeps the old value
    x[:, 1] = lh.array(np.array([7, 8, 9, 10, 11]), split=0)
    b[:, 1] = [7, 8, 9, 10, 11]
    check(x, b)


@pytest.mark.parametrize("shape", [(7, 5), (1, 6), (0, 3)])
@pytest.mark.parametrize("split", valid_splits(2))
def test_mask_assignment(shape, split):
    a = make(shape, "float64", seed=3)
    a.flat[::3] = np.nan
    x = lh.array(a, split=split)
    x[lh.isnan(x)] = 0.0
    b = np.where(np.isnan(a), 0.0, a)
    check(x, b)
    m = b > 0.2
    x[lh.array(m, split=split)] = -np.arange(m.sum(), dtype=np.float64)
    b[m] = -np.arange(m.sum())
    check(x, b)
    if shape[0]:
        rows = np.arange(shape[0]) % 2 == 0
        x[rows] = np.arange(shape[1])
        b[rows] = np.arange(shape[1])
        check(x, b)


@pytest.mark.parametrize("shape", [(7, 5), (3, 4), (1, 6)])
@pytest.mark.parametrize("split", valid_splits(2))
@pytest.mark.parametrize("isplit", [None, 0])
def test_integer_array_assignment(shape, split, isplit):
    a = make(shape, "int64", seed=4)
    for axis in (0, 1):
        n = shape[axis]
        idx = np.array([n - 1, -1, 0])  # duplicates: the same value written, any order
        key = (idx,) if axis == 0 else (slice(None), idx)
        b = a.copy()
        vshape = b[key].shape
        val = np.full(vshape, 9) if axis == 0 else \
            np.broadcast_to(np.array([5, 5, 6]), vshape).copy()
        b[key] = val
        x = lh.array(a, split=split)
        lkey = (lh.array(idx, split=isplit),) if axis == 0 else \
            (slice(None), lh.array(idx, split=isplit))
        x[lkey] = lh.array(np.ascontiguousarray(val), split=split if split == axis else None)
        check(x, b)


def test_unique_indices_distinct_values_and_bool_dtype():
    a = make((6, 2), "bool", seed=5)
    x = lh.array(a, split=0)
    x[[5, 0, 2]] = np.array([[True, False], [False, True], [True, True]])
    b = a.copy()
    b[[5, 0, 2]] = np.array([[True, False], [False, True], [True, True]])
    check(x, b)


def test_errors():
    x = lh.array(make((4, 3), "float32"), split=0)
    with pytest.raises(IndexError, match="out of bounds"):
        x[4] = 1.0
    with pytest.raises(ValueError, match="broadcast"):
        x[1:3] = np.ones(4)
    with pytest.raises(IndexError, match="out of bounds"):
        x[[0, 9]] = 1.0


@pytest.mark.parametrize("split", valid_splits(2))
def test_bool_lists_zero_d_and_empty_keys(split):
    a = make((4, 3), "float32", seed=8)
    b = a.copy()
    x = lh.array(a, split=split)
    x[[False, True, False, True]] = -1.0
    b[[False, True, False, True]] = -1.0
    x[lh.array(np.int64(2))] = [7.0, 8.0, 9.0]
    b[2] = [7.0, 8.0, 9.0]
    x[[]] = 5.0
    x[:, [2, 0]] = np.array([[1.0, 2.0]])
    b[:, [2, 0]] = np.array([[1.0, 2.0]])
    check(x, b)


MIXED_KEYS = [(2, [1, 3]), (slice(0, 2), [3, 0], 1), (None, -1, slice(None, None, -2), [4, 4, 0]),
              (Ellipsis, [2], 0), ([0, 2], slice(1, 3)), (1, slice(None), [0, 1])]


@pytest.mark.parametrize("split", valid_splits(3))
def test_integer_array_with_basic_indices_get_and_set(split):
    """NumPy's placement: ints count as advanced indices, so an int apart from the array
    puts the index's axes first."""
    a = make((3, 4, 5), "float64", seed=9)
    for key in MIXED_KEYS:
        x = lh.array(a, split=split)
        check(x[key], a[key])
        b = a.copy()
        val = -np.arange(np.prod(b[key].shape), dtype=np.float64).reshape(b[key].shape)
        x[key] = val
        b[key] = val
        check(x, b)
