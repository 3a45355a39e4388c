"""matmul / @ / dot for every split combination, transposes."""

import numpy as np
import pytest
from _util import SIZE, SPLITS_2D, check, lh, make, valid_splits


@pytest.mark.parametrize("shapes", [((7, 5), (5, 3)), ((3, 4), (4, 6)), ((1, 6), (6, 1))])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_all_split_pairs(shapes, dtype):
    sa, sb = shapes
    a = make(sa, dtype, seed=40)
    b = make(sb, dtype, seed=41)
    exp = a @ b
    for split_a in SPLITS_2D:
        for split_b in SPLITS_2D:
            x = lh.array(a, split=split_a)
            y = lh.array(b, split=split_b)
            z = x @ y
            assert z.shape == exp.shape and z.dtype == exp.dtype
            check(z, exp)
            check(lh.matmul(x, y), exp)
            check(lh.dot(x, y), exp)


def test_matmul_int_and_promotion():
    a = make((6, 4), "int64", seed=42)
    b = make((4, 5), "int64", seed=43)
    f = make((4, 5), "float32", seed=44)
    for split_a in SPLITS_2D:
        for split_b in SPLITS_2D:
            x = lh.array(a, split=split_a)
            check(x @ lh.array(b, split=split_b), a @ b)
            check(
                lh.array(a.astype("f4"), split=split_a) @ lh.array(f, split=split_b),
                a.astype("f4") @ f,
            )
            check(x.astype("float64") @ lh.array(f.astype("f8"), split=split_b), a @ f.astype("f8"))


def test_matrix_vector():
    a = make((7, 5), "float64", seed=45)
    v = make((5,), "float64", seed=46)
    w = make((7,), "float64", seed=47)
    for split_a in SPLITS_2D:
        x = lh.array(a, split=split_a)
        for split_v in (None, 0):
            check(x @ lh.array(v, split=split_v), a @ v)
            check(lh.matmul(x, lh.array(v, split=split_v)), a @ v)
            check(lh.array(w, split=split_v) @ x, w @ a)
            check(lh.dot(lh.array(w, split=split_v), x), np.dot(w, a))
    for s1 in (None, 0):
        for s2 in (None, 0):
            check(lh.dot(lh.array(v, split=s1), lh.array(v, split=s2)), np.dot(v, v))
            check(lh.array(w, split=s1) @ lh.array(w, split=s2), w @ w)


def test_gram_matrix_split0():
    n = 4 * SIZE + 3
    a = make((n, 4), "float64", seed=48)
    x = lh.array(a, split=0)
    g = x.T @ x
    assert g.shape == (4, 4)
    check(g, a.T @ a)
    check(lh.matmul(lh.transpose(x), x), a.T @ a)
    c = (x - x.mean(axis=0)).T @ (x - x.mean(axis=0)) / (n - 1)
    check(c, np.cov(a, rowvar=False))
    xf = lh.random.randn(100, 8, seed=3, split=0)
    af = xf.numpy()
    check(xf.T @ xf, af.T @ af, rtol=1e-4, atol=1e-4)


def test_chained_and_empty():
    a = make((7, 5), "float64", seed=49)
    b = make((5, 6), "float64", seed=50)
    c = make((6, 2), "float64", seed=51)
    for s in SPLITS_2D:
        x, y, z = lh.array(a, split=s), lh.array(b, split=0), lh.array(c, split=1)
        check((x @ y) @ z, a @ b @ c)
        check(x @ (y @ z), a @ (b @ c))
        check((x @ y + 1).sum(axis=0), (a @ b + 1).sum(axis=0))
    e = np.zeros((0, 5))
    for s in SPLITS_2D:
        check(lh.array(e, split=s) @ lh.array(b, split=0), e @ b)
        check(lh.array(e.T, split=s) @ lh.array(e, split=0), e.T @ e)


@pytest.mark.parametrize("shape", [(7, 5), (3, 4), (1, 6), (4, 3, 2)])
def test_transpose(shape):
    a = make(shape, "float32", seed=52)
    for split in valid_splits(len(shape)):
        x = lh.array(a, split=split)
        t = x.T
        exp = a.T
        assert t.shape == exp.shape
        if split is not None:
            assert t.split == len(shape) - 1 - split
        check(t, exp)
        check(lh.transpose(x), exp)
        if len(shape) == 3:
            for axes in ((0, 2, 1), (2, 0, 1), (1, 0, 2)):
                check(lh.transpose(x, axes), np.transpose(a, axes))
                check(lh.permute_dims(x, axes), np.transpose(a, axes))
                check(lh.transpose(x, axes=axes) + 1, np.transpose(a, axes) + 1)
        else:
            check(lh.permute_dims(x, (1, 0)), a.T)
            check(x.T.T, a)
            check(x.T + x.T, a.T + a.T)
