"""unique_values / unique_counts / unique_inverse / unique_all and NumPy's unique on any
number of ranks, against array_api_strict (NaNs distinct) and NumPy (NaNs collapsed): a
sort, a plan break with one small all-gather, and an all-to-all back for the inverse."""

import array_api_strict as xp
import numpy as np
import pytest
from _util import SHAPES_2D, SPLITS_2D, check, lh, make

SHAPES = SHAPES_2D + ((0,), (1,), (13,))


def _expect(fn, a):
    r = getattr(xp, fn)(xp.asarray(a))
    return [np.asarray(v) for v in (r if isinstance(r, tuple) else (r,))]


def _check_all(got, exp, a):
    for g, e in zip(got, exp):
        check(g, e.reshape(g.shape) if e.size == g.size else e, layout=True)


@pytest.mark.parametrize("shape,split", [(s, k) for s in SHAPES for k in SPLITS_2D
                                         if k is None or k < len(s)])
@pytest.mark.parametrize("dtype", ["int64", "float32", "bool"])
def test_unique_all_every_layout(shape, split, dtype):
    a = make(shape, dtype, seed=7, low=0, high=4, integral=True)
    x = lh.array(a, split=split)
    exp = _expect("unique_all", a)
    got = lh.unique_all(x)
    assert got.inverse_indices.shape == a.shape
    _check_all(got, exp, a)
    if dtype != "int64":
        return
    check(lh.unique_values(x), exp[0])
    _check_all(lh.unique_counts(x), [exp[0], exp[3]], a)
    _check_all(lh.unique_inverse(x), [exp[0], exp[2]], a)


@pytest.mark.parametrize("split", [None, 0, 1])
def test_nans_distinct_in_the_array_api_collapsed_in_numpy(split):
    a = make((6, 3), "float64", seed=2, low=0, high=3, integral=True)
    a[1, 1] = a[4, 0] = a[5, 2] = np.nan
    a[0, 0] = -0.0
    x = lh.array(a, split=split)
    _check_all(lh.unique_all(x), _expect("unique_all", a), a)
    v, i, inv, c = lh.unique(x, return_index=True, return_inverse=True, return_counts=True)
    ev, ei, einv, ec = np.unique(a, return_index=True, return_inverse=True,
                                 return_counts=True)
    check(v, ev)
    check(i, ei)
    check(inv, einv)
    check(c, ec)
    check(lh.unique(x, equal_nan=False), np.unique(a, equal_nan=False))


@pytest.mark.parametrize("split", [None, 0])
def test_runs_spanning_ranks_and_results_as_the_data_falls(split):
    a = np.array([5] * 9 + [1] * 3 + [7] * 11 + [2], dtype=np.int32)
    x = lh.array(a, split=split)
    vals, counts = lh.unique_counts(x)
    check(vals, np.array([1, 2, 5, 7], np.int32))
    check(counts, np.array([3, 1, 9, 11]))
    assert vals.split == split and vals.aval.counts == counts.aval.counts
    check(lh.unique_values(x) * 2, np.array([2, 4, 10, 14], np.int32))  # plans go on


def test_zero_d_and_errors():
    check(lh.unique_values(lh.array(np.float32(3.0))), np.array([3.0], np.float32))
    with pytest.raises(NotImplementedError, match="unique"):
        lh.unique(lh.array(np.ones((2, 2)), split=0), axis=0)


@pytest.mark.parametrize("dtype", [np.int64, np.int16, np.uint8, np.uint32, np.bool_])
@pytest.mark.parametrize("split", [None, 0])
def test_small_integer_ranges_are_counted_not_sorted(dtype, split):
    """Large integer arrays over a small range take the counting path: the same values,
    counts and inverse as NumPy, values and counts split alike, and no sort in the plan."""
    from lazyheat import sets

    lo = -40 if np.dtype(dtype).kind == "i" else 0
    a = np.random.default_rng(8).integers(lo, 90, sets.COUNT_MIN_SIZE + 7).astype(dtype)
    x = lh.array(a, split=split)
    assert sets._counting_range(x, "unique_counts") is not None
    v, c = lh.unique_counts(x)
    ev, ec = np.unique(a, return_counts=True)
    check(v, ev)
    check(c, ec)
    assert v.split == c.split and v.aval.counts == c.aval.counts
    vi, inv = lh.unique_inverse(x)
    check(vi, ev)
    check(inv, np.unique(a, return_inverse=True)[1].reshape(a.shape))
    assert "sort" not in str(lh.explain(inv))
    # first indices need the sort
    assert sets._counting_range(lh.array(a.astype(np.float32)), "unique") is None
    check(lh.unique_all(x).indices, np.unique(a, return_index=True)[1])
