"""reshape, squeeze, expand_dims, concatenate, stack, resplit, balance, indexing."""

import numpy as np
import pytest
from _util import SHAPES_2D, SIZE, SPLITS_2D, check, lh, make, valid_splits


@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_reshape(dtype):
    a = make((6, 7), dtype, seed=60)
    targets = [(42,), (7, 6), (2, -1), (-1, 3, 2), (3, 2, 7), (1, 42), (42, 1), (2, 3, 7)]
    for split in SPLITS_2D:
        x = lh.array(a, split=split)
        for shape in targets:
            exp = a.reshape(shape)
            check(lh.reshape(x, shape), exp)
            check(x.reshape(shape), exp)
        check(x.reshape(3, 14), a.reshape(3, 14))
        check(x.reshape(-1), a.reshape(-1))
        check(lh.reshape(x, (7, 6)) + 1, a.reshape(7, 6) + 1)
        check(x.reshape(42).reshape(6, 7), a)
    v = make((12,), dtype, seed=61)
    for split in (None, 0):
        check(lh.array(v, split=split).reshape(3, 4), v.reshape(3, 4))
        check(lh.array(v, split=split).reshape(2, 2, 3).sum(axis=1), v.reshape(2, 2, 3).sum(axis=1))
    check(lh.reshape(lh.array(np.float32(5.0)), (1, 1)), np.full((1, 1), 5.0, "f4"))
    check(lh.reshape(lh.zeros((0, 3), split=0), (3, 0)), np.zeros((3, 0), "f4"))


def test_squeeze_expand_dims():
    a = make((1, 6), "float64", seed=62)
    b = make((7, 1), "float64", seed=63)
    c = make((3, 1, 4, 1), "float64", seed=64)
    for split in SPLITS_2D:
        x, y = lh.array(a, split=split), lh.array(b, split=split)
        check(lh.squeeze(x), np.squeeze(a))
        check(lh.squeeze(x, axis=0), np.squeeze(a, axis=0))
        check(lh.squeeze(y, axis=1), np.squeeze(b, axis=1))
        check(lh.squeeze(y, axis=-1), np.squeeze(b, axis=-1))
        check(lh.squeeze(y), np.squeeze(b))
        for ax in (0, 1, 2, -1):
            check(lh.expand_dims(x, ax), np.expand_dims(a, ax))
            check(lh.expand_dims(y, axis=ax), np.expand_dims(b, ax))
    for split in valid_splits(4):
        z = lh.array(c, split=split)
        check(lh.squeeze(z), np.squeeze(c))
        check(lh.squeeze(z, axis=(1, 3)), np.squeeze(c, axis=(1, 3)))
        check(lh.squeeze(z, axis=1) * 2, np.squeeze(c, axis=1) * 2)
    check(lh.expand_dims(lh.array(np.float64(2.0)), 0), np.array([2.0]))


def test_concatenate_and_stack():
    a = make((7, 5), "float32", seed=65)
    b = make((3, 5), "float32", seed=66)
    c = make((7, 2), "float32", seed=67)
    for sa in SPLITS_2D:
        for sb in SPLITS_2D:
            x = lh.array(a, split=sa)
            check(lh.concatenate([x, lh.array(b, split=sb)], axis=0), np.concatenate([a, b]))
            check(lh.concatenate((x, lh.array(c, split=sb)), axis=1), np.concatenate([a, c], 1))
            check(lh.concatenate([x, lh.array(a, split=sb)], axis=-1), np.concatenate([a, a], -1))
            for ax in (0, 1, 2, -1):
                check(lh.stack([x, lh.array(a, split=sb)], axis=ax), np.stack([a, a], axis=ax))
    three = [make((4,), "int64", seed=s) for s in (68, 69, 70)]
    for split in (None, 0):
        arrs = [lh.array(t, split=split) for t in three]
        check(lh.concatenate(arrs), np.concatenate(three))
        check(lh.stack(arrs), np.stack(three))
        check(lh.stack(arrs, axis=1), np.stack(three, axis=1))
    # empty pieces and dtype promotion
    e = np.zeros((0, 5), "f4")
    for split in SPLITS_2D:
        check(
            lh.concatenate([lh.array(e, split=split), lh.array(b, split=0)]), np.concatenate([e, b])
        )
    i = make((3, 5), "int64", seed=71)
    check(
        lh.concatenate([lh.array(b, split=0), lh.array(i, split=0)]),
        np.concatenate([b, i]),
    )


@pytest.mark.parametrize("shape", SHAPES_2D + ((9,), (2, 3, 4)))
def test_resplit_and_balance(shape):
    a = make(shape, "float64", seed=72)
    for src in valid_splits(len(shape)):
        x = lh.array(a, split=src)
        for dst in valid_splits(len(shape)):
            y = lh.resplit(x, dst)
            assert y.split == dst
            check(y, a)
            check(y + x, a + a)
        bal = x.balance()
        assert bal.split == src
        check(bal, a)


def test_balance_of_unbalanced_slices():
    a = make((13, 4), "float64", seed=73)
    x = lh.array(a, split=0)
    s = x[9:]  # only the last rank(s) hold these rows
    check(s, a[9:])
    b = s.balance()
    check(b, a[9:])
    lmap = np.asarray(b.lshape_map)
    assert lmap[:, 0].sum() == 4
    assert lmap[:, 0].max() - lmap[:, 0].min() <= 1
    check(lh.resplit(s, 1), a[9:])
    check(lh.resplit(s, None), a[9:])


INDEX_2D = [
    1, -1, 0, slice(1, 5), slice(None, None, 2), slice(None, None, -1), slice(5, 1, -2),
    slice(-3, None), slice(2, 2), (slice(None), 1), (1, 2), (-1, -1), (None, slice(None), 1),
    (Ellipsis, 0), (Ellipsis, slice(1, 3)), (slice(1, None, 3), slice(None, None, -2)),
    (slice(None), None), (slice(None, None, -1), slice(0, 1)), (0, Ellipsis),
]  # fmt: skip


INDEX_3D = [
    (1,), (..., 0), (None, slice(None), 1), (slice(1, 3), ..., slice(None, None, -2)),
    (-1, 1, 2), (slice(None), 0, slice(2, None)),
]  # fmt: skip


def test_basic_indexing():
    a = make((7, 5), "float64", seed=74)
    for split in SPLITS_2D:
        x = lh.array(a, split=split)
        for key in INDEX_2D:
            y = x[key]
            exp = a[key]
            assert y.shape == exp.shape, (key, y.shape, exp.shape)
            check(y, exp)
            # sliced (possibly unbalanced) arrays keep working in later ops
            check(y * 2 + 1, exp * 2 + 1)
            check(y.sum(), exp.sum())
            if y.ndim >= 1:
                lmap = np.asarray(y.lshape_map)
                if y.split is not None:
                    assert lmap[:, y.split].sum() == y.shape[y.split]
    t = make((4, 3, 5), "int64", seed=75)
    for split in valid_splits(3):
        z = lh.array(t, split=split)
        for key in INDEX_3D:
            check(z[key], t[key])


def test_sliced_arrays_in_binary_ops():
    a = make((9, 6), "float32", seed=76)
    for sa in SPLITS_2D:
        for sb in SPLITS_2D:
            x = lh.array(a, split=sa)
            y = lh.array(a, split=sb)
            check(x[1:5] + y[4:8], a[1:5] + a[4:8])
            check(x[::2] - y[:5], a[::2] - a[:5])
            check(x[::-1] * y, a[::-1] * a)
            check(x[2:7, 1:] @ y[:5, :3], a[2:7, 1:] @ a[:5, :3])
            check(lh.concatenate([x[:2], y[7:]]), np.concatenate([a[:2], a[7:]]))
    x = lh.array(a, split=0)
    if SIZE > 1:
        s = x[: 9 // SIZE]  # rows on the first rank(s) only
        lmap = np.asarray(s.lshape_map)
        assert lmap[:, 0].sum() == s.shape[0]
        check(s.mean(axis=0), a[: 9 // SIZE].mean(axis=0))


def test_len_and_iteration_free_access():
    a = make((7, 5), "int64", seed=77)
    for split in SPLITS_2D:
        x = lh.array(a, split=split)
        assert len(x) == 7
        assert len(x[2:]) == 5
        assert int(x[3, 4]) == int(a[3, 4])
        assert x[-1, -1].item() == a[-1, -1]
