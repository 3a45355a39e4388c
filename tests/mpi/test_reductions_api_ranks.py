"""Array API reductions (signatures, correction, dtype, empty slices), NaN-ignoring
reductions, average, cov/corrcoef, bincount and histogram on 1-4 ranks vs NumPy."""


import numpy as np
import pytest
from _util import SHAPES_2D, SPLITS_2D, check, lh, make

from lazyheat import stats_more as sm
from lazyheat.graph.commcost import allreduce_cost

AXES = (None, 0, 1, (0, 1), -1)
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy: all-NaN slices


def _with_nans(shape, dtype, seed=0):
    a = make(shape, dtype, seed)
    if a.size:
        a.reshape(-1)[:: 3] = np.nan
        if shape[0] > 1:
            a[1] = np.nan  # an all-NaN row
    return a


@pytest.mark.parametrize("shape", SHAPES_2D)
@pytest.mark.parametrize("split", SPLITS_2D)
def test_array_api_signatures(shape, split):
    a = make(shape, "float32", 1)
    i = make(shape, "int32", 2)
    x, xi = lh.array(a, split=split), lh.array(i, split=split)
    for axis, keep in zip(AXES, (False, True, False, True, False)):
        check(lh.sum(xi, axis=axis, keepdims=keep), np.sum(i, axis=axis, keepdims=keep))
        check(lh.sum(x, axis=axis, dtype="float64", keepdims=keep),
              np.sum(a, axis=axis, dtype="float64", keepdims=keep))
        check(lh.prod(xi, axis=axis, dtype=lh.int32, keepdims=keep),
              np.prod(i, axis=axis, dtype="int32", keepdims=keep))
        check(lh.mean(x, axis=axis, keepdims=keep), np.mean(a, axis=axis, keepdims=keep))
        check(lh.var(x, axis=axis, correction=1, keepdims=keep),
              np.var(a, axis=axis, ddof=1, keepdims=keep), atol=1e-5)
        check(lh.std(xi, axis=axis, ddof=1, keepdims=keep),
              np.std(i, axis=axis, ddof=1, keepdims=keep))
        check(lh.any(x > 0, axis=axis, keepdims=keep), np.any(a > 0, axis=axis,
                                                             keepdims=keep))
        check(lh.all(x > 0, axis=axis, keepdims=keep), np.all(a > 0, axis=axis,
                                                             keepdims=keep))
        if shape[0] and shape[1]:
            check(lh.max(x, axis=axis, keepdims=keep), np.max(a, axis=axis, keepdims=keep))
            check(lh.min(xi, axis=axis, keepdims=keep), np.min(i, axis=axis,
                                                                keepdims=keep))
    for axis in (None, 0, 1):
        if shape[0] and shape[1]:
            check(lh.argmax(x, axis=axis, keepdims=True), np.argmax(a, axis=axis,
                                                                     keepdims=True))


@pytest.mark.parametrize("split", (None, 0))
def test_errors_empty_and_complex(split):
    x = lh.array(np.zeros((0, 3), "float32"), split=split)
    with pytest.raises(ValueError, match="max"):
        lh.max(x)
    with pytest.raises(ValueError, match="nanmin"):
        sm.nanmin(x, axis=0)
    with pytest.raises(ValueError, match="ddof and correction"):
        lh.var(x, ddof=1, correction=1)
    with pytest.raises(TypeError, match="out="):
        lh.sum(x, out=np.empty(()))
    check(lh.mean(x), np.float32(np.nan))
    check(lh.sum(x, axis=0), np.zeros(3, "float32"))
    c = (make((5,), "float64", 3) + 1j * make((5,), "float64", 4)).astype("complex64")
    xc = lh.array(c, split=split)
    for f in ("sum", "prod", "mean"):
        check(getattr(lh, f)(xc), getattr(np, f)(c), rtol=1e-4)
    with pytest.raises(TypeError):
        lh.max(xc)
    z = np.array(2.5, "float32")  # 0-d
    for f in ("sum", "max", "argmax", "var", "mean"):
        check(getattr(lh, f)(lh.array(z), keepdims=True), getattr(np, f)(z, keepdims=True))
    check(sm.nanmean(lh.array(z)), np.nanmean(z))


@pytest.mark.parametrize("shape", ((7, 5), (1, 6), (0, 3)))
@pytest.mark.parametrize("split", SPLITS_2D)
def test_nan_reductions(shape, split):
    a = _with_nans(shape, "float64" if split == 0 else "float32")
    x = lh.array(a, split=split)
    for axis in (None, 0, 1):
        for f in ("nansum", "nanprod", "nanmean", "nanvar", "nanstd"):
            check(getattr(sm, f)(x, axis=axis), getattr(np, f)(a, axis=axis), atol=1e-5)
        check(sm.nanvar(x, axis=axis, ddof=1, keepdims=True),
              np.nanvar(a, axis=axis, ddof=1, keepdims=True), atol=1e-5)
        if all(a.shape[d] for d in ((0, 1) if axis is None else np.atleast_1d(axis))):
            check(sm.nanmax(x, axis=axis), np.nanmax(a, axis=axis))
            check(sm.nanmin(x, axis=axis, keepdims=True), np.nanmin(a, axis=axis,
                                                                     keepdims=True))
    if a.size and not np.isnan(a).all(0).any():  # NumPy raises for all-NaN slices
        check(sm.nanargmax(x, axis=0), np.nanargmax(a, axis=0))
        check(sm.nanargmin(x, axis=0), np.nanargmin(a, axis=0))
    i = make(shape, "int16")
    check(sm.nansum(lh.array(i, split=split), axis=0), np.nansum(i, axis=0))


@pytest.mark.parametrize("split", SPLITS_2D)
def test_average_cov_corrcoef(split):
    a = make((7, 5), "float64", 5)
    x = lh.array(a, split=split)
    w1 = make((5,), "float64", 6) ** 2
    w2 = np.abs(make((7, 5), "float64", 7))
    check(sm.average(x), np.average(a))
    check(sm.average(x, axis=1, weights=w1), np.average(a, axis=1, weights=w1))
    check(sm.average(x, axis=0, weights=lh.array(w2, split=split), keepdims=True),
          np.average(a, axis=0, weights=w2, keepdims=True))
    avg, scl = sm.average(x, axis=1, weights=w1, returned=True)
    e_avg, e_scl = np.average(a, axis=1, weights=w1, returned=True)
    check(avg, e_avg)
    check(scl, e_scl)
    i = make((7, 5), "int32", 8)
    check(sm.average(lh.array(i, split=split), axis=0), np.average(i, axis=0))
    for rowvar in (True, False):
        check(sm.cov(x, rowvar=rowvar), np.cov(a, rowvar=rowvar))
        check(sm.corrcoef(x, rowvar=rowvar), np.corrcoef(a, rowvar=rowvar))
    check(sm.cov(x, bias=True), np.cov(a, bias=True))
    check(sm.cov(x, x * 2, ddof=0), np.cov(a, a * 2, ddof=0))
    f = a.astype("float32")
    check(sm.cov(lh.array(f, split=split)), np.cov(f))
    v = a[0]
    check(sm.cov(lh.array(v, split=None if split is None else 0)), np.cov(v))
    with pytest.raises(TypeError, match="axis must be specified"):
        sm.average(x, weights=w1)


@pytest.mark.parametrize("n", (0, 1, 2, 11))
@pytest.mark.parametrize("split", (None, 0))
def test_bincount(n, split):
    v = make((n,), "int64", n, low=0, high=9)
    x = lh.array(v, split=split)
    check(sm.bincount(x), np.bincount(v))
    check(sm.bincount(x, minlength=12), np.bincount(v, minlength=12))
    w = make((n,), "float32", 1)
    check(sm.bincount(x, weights=lh.array(w, split=split)), np.bincount(v, weights=w))
    check(sm.bincount(lh.array(v.astype("uint8"), split=split)), np.bincount(v))
    with pytest.raises(TypeError, match="bincount"):
        sm.bincount(lh.array(v.astype("float64"), split=split))
    if n:
        with pytest.raises(ValueError, match="negative"):
            sm.bincount(x - 5)


@pytest.mark.parametrize("shape", ((7, 5), (1, 6), (0, 3)))
@pytest.mark.parametrize("split", SPLITS_2D)
def test_histogram(shape, split):
    a = make(shape, "float32", 9)
    x = lh.array(a, split=split)
    for kw in ({}, {"bins": 4, "range": (-1, 1)}, {"bins": [-2.0, -0.5, 0, 3]},
               {"bins": 3, "density": True}):
        h, e = sm.histogram(x, **kw)
        eh, ee = np.histogram(a, **kw)
        check(h, eh)
        check(e, ee)
    w = make(shape, "float64", 10)
    h, _ = sm.histogram(x, bins=5, weights=lh.array(w, split=split))
    check(h, np.histogram(a, bins=5, weights=w)[0])
    i = make(shape, "int64", 11)
    check(sm.histogram(lh.array(i, split=split), bins=3)[0], np.histogram(i, bins=3)[0])
    if a.size:
        a2 = a.copy()
        a2.reshape(-1)[0] = np.nan
        with pytest.raises(ValueError, match="not finite"):
            sm.histogram(lh.array(a2, split=split))
        check(sm.histogram(lh.array(a2, split=split), range=(-1, 1))[0],
              np.histogram(a2, range=(-1, 1))[0])


def test_split_reductions_communicate_small_states():
    def allreduce(nbytes):  # what a rank receives to all-reduce nbytes on 4 ranks
        return f"allreduce[sum], {allreduce_cost(nbytes, 4).bytes} B/rank"

    x = lh.array(make((13, 4), "float64"), split=0)
    text = lh.explain(sm.bincount(lh.array(np.arange(9) % 4, split=0)), world_size=4)
    assert allreduce(4 * 8) in text  # 4 int64 counts
    text = lh.explain(sm.cov(x.T), world_size=4)
    assert allreduce(4 * 4 * 8) in text and "allgather" not in text  # a 4 x 4 float64 sum
    text = lh.explain(sm.histogram(x, bins=3, range=(0, 1))[0], world_size=4)
    assert allreduce(3 * 8) in text  # 3 int64 counts


@pytest.mark.parametrize("dtype", ("uint8", "uint16", "uint32", "uint64"))
@pytest.mark.parametrize("split", SPLITS_2D)
def test_unsigned_reductions(dtype, split):
    top = np.iinfo(dtype).max
    a = np.array([[1, top, 5, 0], [7, top // 2 + 1, 0, 3], [2, 2, top - 1, 9]], dtype=dtype)
    x = lh.array(a, split=split)
    for axis in (None, 0, 1):
        exact = ("sum", "prod", "min", "max", "ptp", "argmin", "argmax", "any", "all")
        for f in exact if axis is None else ("sum", "max", "argmin", "ptp"):
            check(getattr(lh, f)(x, axis=axis), getattr(np, f)(a, axis=axis))
        for f in ("mean", "var", "std") if axis is None else ("std",):
            check(getattr(lh, f)(x, axis=axis), getattr(np, f)(a, axis=axis), rtol=1e-12)
    check(lh.sum(x, axis=0, dtype=dtype), np.sum(a, axis=0, dtype=dtype))
    check(lh.sum(lh.array(a.astype("int16"), split=split), dtype=dtype),
          np.sum(a.astype("int16"), dtype=dtype))
    check(sm.nanmax(x, axis=1), np.nanmax(a, axis=1))
    check(sm.bincount(lh.array(a[1] % 7, split=None if split is None else 0)),
          np.bincount(a[1] % 7))
    check(sm.histogram(x, bins=3)[0], np.histogram(a, bins=3)[0])


@pytest.mark.parametrize("split", SPLITS_2D)
def test_where_masks(split):
    a = make((7, 5), "float32", 12)
    mask = a > -0.3
    x = lh.array(a, split=split)
    for f in ("sum", "prod", "mean", "any", "all"):
        for axis, m in ((None, mask), (0, mask[0]), (1, lh.array(mask, split=split))):
            check(getattr(lh, f)(x, axis=axis, where=m), getattr(np, f)(
                a, axis=axis, where=mask[0] if axis == 0 else mask), rtol=1e-5)
    i = make((7, 5), "int32", 13)
    check(lh.mean(lh.array(i, split=split), axis=1, where=mask, keepdims=True),
          np.mean(i, axis=1, where=mask, keepdims=True))
