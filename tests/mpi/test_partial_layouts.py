"""Partial sums carried through linear consumers before their all-reduce: values against NumPy
on any number of ranks (uneven blocks, ranks without rows), and the all-reduce really moved."""

import numpy as np
import pytest
from _util import SIZE, check, lh, make, same_everywhere

# uneven on 2, 3 and 4 ranks; (2, 5) leaves ranks without rows on 3 and 4 ranks
SHAPES = ((7, 5), (2, 5))
DTYPES = ("float32", "float64", "int64")


def _data(shape, dtype, seed):
    # small integers keep float32 sums exact, so reassociation cannot blur the comparison
    return make(shape, dtype, seed=seed, integral=dtype == "float32")


def _moved(*arrays) -> bool:
    """Whether the plan carries partials past a consumer (same answer on every rank)."""
    text = str.__str__(lh.explain(*arrays))
    assert same_everywhere(text)
    return "all-reduce of partial sums moved past" in text


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("split", [0, 1])
def test_weighted_sums_and_products(shape, dtype, split):
    a = _data(shape, dtype, 1)
    other = shape[1 - split]
    w, W = _data((other,), dtype, 2), _data((other, 3), dtype, 3)
    x = lh.array(a, split=split)
    lw, lW = lh.array(w), lh.array(W)
    s, sn = x.sum(split), a.sum(split)
    y = (s * lw).sum()
    assert _moved(y) == (SIZE > 1)  # before computing: a computed array is a plain leaf
    check(y, (sn * w).sum())
    check(s @ lW, sn @ W)
    check(lh.dot(s, lW), np.dot(sn, W))
    check(lW.T @ s, W.T @ sn)
    check((-s * 3).sum(), (-sn * 3).sum())
    check(x.sum(split, keepdims=True) @ lW if split == 0 else (lW.T @ x.sum(1, keepdims=True)),
          a.sum(0, keepdims=True) @ W if split == 0 else W.T @ a.sum(1, keepdims=True))
    check(lh.expand_dims(s, 0) @ lW, sn[None] @ W)
    check(lh.squeeze(x.sum(split, keepdims=True)) @ lW, sn @ W)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_divide_negative_and_mean(shape, dtype):
    a = _data(shape, dtype, 4)
    w = _data((shape[1],), dtype, 5) + np.asarray(10, dtype)  # no zero denominators
    x, lw = lh.array(a, split=0), lh.array(w)
    check((x.sum(0) / lw).sum(), (a.sum(0) / w).sum())
    check((-(x.sum(0) / 4)).sum(), (-(a.sum(0) / 4)).sum())
    check(x.sum(0) / shape[0], a.sum(0) / shape[0])
    check((x.mean(0) * lw).sum(), (a.mean(0) * w).sum())
    check(x.mean(0).mean(), a.mean(0).mean())
    check((x.mean(0, keepdims=True) * 2).sum(1, keepdims=True),
          (a.mean(0, keepdims=True) * 2).sum(1, keepdims=True))


@pytest.mark.parametrize("dtype", DTYPES)
def test_two_partials_added(dtype):
    a, b = _data((7, 5), dtype, 6), _data((3, 5), dtype, 7)
    w = _data((5,), dtype, 8)
    x, y, lw = lh.array(a, split=0), lh.array(b, split=0), lh.array(w)
    check(x.sum(0) + y.sum(0), a.sum(0) + b.sum(0))
    check(((x.sum(0) - 2 * y.sum(0)) * lw).sum(), ((a.sum(0) - 2 * b.sum(0)) * w).sum())
    check((x.sum(0) + x.sum(0)).sum(), (a.sum(0) + a.sum(0)).sum())
    z = x.sum(0) - (x * 2).sum(0)
    assert _moved(z) == (SIZE > 1)
    check(z, a.sum(0) - (a * 2).sum(0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_through_transpose_and_reshape(dtype):
    a = _data((5, 4, 6), dtype, 9)
    v = _data((24,), dtype, 10)
    x, lv = lh.array(a, split=0), lh.array(v)
    s, sn = x.sum(0), a.sum(0)
    check(s.T.reshape(-1) @ lv, sn.T.reshape(-1) @ v)
    check(s.reshape(2, 12).sum(1), sn.reshape(2, 12).sum(1))
    check(lh.permute_dims(x.sum(0, keepdims=True), (2, 0, 1)).sum((1, 2)),
          np.transpose(a.sum(0, keepdims=True), (2, 0, 1)).sum((1, 2)))
    check(x.sum((0, 2)).sum(), a.sum((0, 2)).sum())
    check(x.sum(0).T, sn.T)


@pytest.mark.parametrize("dtype", DTYPES)
def test_partial_matmul_flows_into_matmul_and_sum(dtype):
    a = _data((7, 4), dtype, 11)
    w = _data((4,), dtype, 12)
    x, lw = lh.array(a, split=0), lh.array(w)
    check((x.T @ x) @ lw, (a.T @ a) @ w)
    check((x.T @ x).sum(), (a.T @ a).sum())
    check((x.T @ x).sum(0, keepdims=True), (a.T @ a).sum(0, keepdims=True))


def test_shared_partials_and_several_outputs():
    a = _data((7, 5), "float64", 13)
    w, v = _data((5,), "float64", 14), _data((5,), "float64", 15)
    x, lw, lv = lh.array(a, split=0), lh.array(w), lh.array(v)
    s = x.sum(0)
    p, q, r = (s * lw).sum(), (s * lv).sum(), s
    lh.compute(p, q, r)
    check(p, (a.sum(0) * w).sum())
    check(q, (a.sum(0) * v).sum())
    check(r, a.sum(0))
    t = x.sum(0) * lw
    u = t.sum()
    lh.compute(t, u)
    check(t, a.sum(0) * w)
    check(u, (a.sum(0) * w).sum())


def test_int64_wraps_like_numpy():
    big = np.full((6, 3), 2**62, dtype="int64")
    w = np.array([3, -1, 2], dtype="int64")
    x = lh.array(big, split=0)
    with np.errstate(over="ignore"):
        exp = (big.sum(0) * w).sum()
    check((x.sum(0) * lh.array(w)).sum(), exp)
