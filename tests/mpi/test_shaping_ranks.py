"""Shaping and construction functions vs NumPy on any number of ranks: broadcasting, flips,
rolls, repeats, tiles, splits, stacks, triangles, diagonals, grids, pads, logspace."""

import numpy as np
import pytest
from _util import SHAPES_2D, SPLITS_2D, check, lh, make, valid_splits

DTYPES = ("float32", "bool")


def _arrays(dtype, seed):
    """(NumPy array, split) pairs over the usual uneven and empty 2-d shapes."""
    for i, shape in enumerate(SHAPES_2D):
        a = make(shape, dtype, seed=seed + i)
        for split in SPLITS_2D:
            yield a, split


@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast_to_and_arrays(dtype):
    for a, split in _arrays(dtype, 100):
        x = lh.array(a, split=split)
        check(lh.broadcast_to(x, (2,) + a.shape), np.broadcast_to(a, (2,) + a.shape))
        row, col = a[:1], a[:, :1]
        if a.shape[0]:
            check(lh.broadcast_to(lh.array(row, split=split), (5, a.shape[1])),
                  np.broadcast_to(row, (5, a.shape[1])))
        check(lh.broadcast_to(lh.array(col, split=split), (a.shape[0], 3)),
              np.broadcast_to(col, (a.shape[0], 3)))
        got = lh.broadcast_arrays(x, lh.array(col, split=split), 1)
        exp = np.broadcast_arrays(a, col, np.asarray(1))
        for g, e in zip(got, exp):
            check(g, e.astype(g.dtype.name) if e.ndim == 0 else e)
    check(lh.broadcast_to(lh.array(np.float64(2.0)), (3, 2)), np.full((3, 2), 2.0))
    assert lh.broadcast_shapes((3, 1), (4,), ()) == np.broadcast_shapes((3, 1), (4,), ())
    v = make((1,), dtype, seed=3)
    check(lh.broadcast_to(lh.array(v, split=0), (7,)), np.broadcast_to(v, (7,)))
    check(lh.broadcast_to(lh.array(v, split=0), (0,)), np.broadcast_to(v, (0,)))


@pytest.mark.parametrize("dtype", ("int32",))
def test_flip_rot90_and_axes(dtype):
    for a, split in _arrays(dtype, 110):
        x = lh.array(a, split=split)
        for axis in (None, 0, 1, -1, (0, 1)):
            check(lh.flip(x, axis=axis), np.flip(a, axis=axis))
        check(lh.fliplr(x), np.fliplr(a))
        check(lh.flipud(x), np.flipud(a))
        for k in (1, 2, 3, -1):
            check(lh.rot90(x, k), np.rot90(a, k))
        check(lh.swapaxes(x, 0, 1), np.swapaxes(a, 0, 1))
        check(lh.flip(x, 0) + 1, np.flip(a, 0) + 1)
    c = make((3, 4, 5), dtype, seed=111)
    for split in valid_splits(3):
        z = lh.array(c, split=split)
        check(lh.moveaxis(z, 0, -1), np.moveaxis(c, 0, -1))
        check(lh.moveaxis(z, (0, 1), (2, 0)), np.moveaxis(c, (0, 1), (2, 0)))
        check(lh.rot90(z, 1, axes=(1, 2)), np.rot90(c, 1, axes=(1, 2)))
        check(lh.flip(z, (0, 2)), np.flip(c, (0, 2)))
    check(lh.flip(lh.array(np.float32(3.0))), np.flip(np.float32(3.0)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_roll(dtype):
    for a, split in _arrays(dtype, 120):
        x = lh.array(a, split=split)
        for shift, axis in ((1, 0), (-2, 0), (9, 0), (2, 1), (-7, -1), (3, None),
                            ((1, 2), (0, 1)), ((1, 1), (0, 0)), (0, 0)):
            check(lh.roll(x, shift, axis=axis), np.roll(a, shift, axis=axis))
    check(lh.roll(lh.array(np.int64(4)), 3), np.roll(np.int64(4), 3))
    v = make((11,), dtype, seed=121)
    for split in (None, 0):
        for s in (1, 5, -3, 11):
            check(lh.roll(lh.array(v, split=split), s), np.roll(v, s))


@pytest.mark.parametrize("dtype", DTYPES)
def test_repeat_and_tile(dtype):
    for a, split in _arrays(dtype, 130):
        x = lh.array(a, split=split)
        for r, axis in ((2, None), (3, 0), (2, 1), (0, 0), (1, -1), ([2], 1)):
            check(lh.repeat(x, r, axis=axis), np.repeat(a, r, axis=axis))
        for axis in (0, 1):
            counts = [(i * 7) % 4 for i in range(a.shape[axis])]
            check(lh.repeat(x, counts, axis=axis), np.repeat(a, counts, axis=axis))
            check(lh.repeat(x, np.array(counts, "int64"), axis=axis) * 1,
                  np.repeat(a, counts, axis=axis) * 1)
        for reps in (2, (2, 1), (1, 3), (2, 2), (2, 1, 2), (0, 2)):
            check(lh.tile(x, reps), np.tile(a, reps))
    check(lh.repeat(lh.array(np.float32(1.5)), 3), np.repeat(np.float32(1.5), 3))
    check(lh.tile(lh.array(np.int64(2)), (2, 2)), np.tile(np.int64(2), (2, 2)))


@pytest.mark.parametrize("dtype", ("int64",))
def test_split_family_and_unstack(dtype):
    a = make((6, 4), dtype, seed=140)
    c = make((2, 3, 4), dtype, seed=141)
    for split in SPLITS_2D:
        x = lh.array(a, split=split)
        for got, exp in ((lh.split(x, 3), np.split(a, 3)),
                         (lh.split(x, [1, 4]), np.split(a, [1, 4])),
                         (lh.array_split(x, 4), np.array_split(a, 4)),
                         (lh.array_split(x, 3, axis=1), np.array_split(a, 3, axis=1)),
                         (lh.split(x, [2, -1], axis=1), np.split(a, [2, -1], axis=1)),
                         (lh.hsplit(x, 2), np.hsplit(a, 2)), (lh.vsplit(x, [5]), np.vsplit(a, [5])),
                         (lh.unstack(x), list(a)), (lh.unstack(x, axis=1), list(a.T))):
            assert len(got) == len(exp)
            for g, e in zip(got, exp):
                check(g, e)
    for split in valid_splits(3):
        for g, e in zip(lh.dsplit(lh.array(c, split=split), 2), np.dsplit(c, 2)):
            check(g, e)
    v = make((7,), dtype, seed=142)
    for g, e in zip(lh.array_split(lh.array(v, split=0), 5), np.array_split(v, 5)):
        check(g, e)
    assert lh.unstack(lh.zeros((0, 3), split=0)) == ()


def test_atleast_and_stacks():
    s, v, m = np.float64(2.0), make((5,), "float64", seed=150), make((3, 5), "float64", seed=151)
    for split in (None, 0):
        lv = lh.array(v, split=split)
        lm = lh.array(m, split=split)
        ls = lh.array(s)
        for fn, nfn in ((lh.atleast_1d, np.atleast_1d), (lh.atleast_2d, np.atleast_2d),
                        (lh.atleast_3d, np.atleast_3d)):
            for x, a in ((ls, s), (lv, v), (lm, m)):
                check(fn(x), nfn(a))
            got = fn(lv, lm)
            assert isinstance(got, tuple) and len(got) == 2
            check(got[1], nfn(v, m)[1])
        check(lh.hstack([lv, lv]), np.hstack([v, v]))
        check(lh.hstack([lm, lm[:, :2]]), np.hstack([m, m[:, :2]]))
        check(lh.vstack([lv, lm]), np.vstack([v, m]))
        check(lh.dstack([lm, lm]), np.dstack([m, m]))
        check(lh.dstack([lv, lv]), np.dstack([v, v]))
        check(lh.column_stack([lv, lm.T]), np.column_stack([v, m.T]))
        check(lh.concat([lm, lm], axis=None), np.concatenate([m, m], axis=None))
        check(lh.concat((lm, lm), axis=1), np.concatenate([m, m], axis=1))
        check(lh.ravel(lm), np.ravel(m))
        check(lh.expand_dims(lm, (0, -1)), np.expand_dims(m, (0, -1)))
        check(lh.expand_dims(lv), np.expand_dims(v, 0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_tril_triu(dtype):
    for a, split in _arrays(dtype, 160):
        x = lh.array(a, split=split)
        for k in (0, 1, -1, 3, -5):
            check(lh.tril(x, k), np.tril(a, k))
            check(lh.triu(x, k=k), np.triu(a, k))
    c = make((2, 5, 3), dtype, seed=161)
    for split in valid_splits(3):
        check(lh.tril(lh.array(c, split=split), 1), np.tril(c, 1))
        check(lh.triu(lh.array(c, split=split)), np.triu(c))
    n = np.array([[np.nan, 1.0], [2.0, np.nan]])
    check(lh.triu(lh.array(n, split=0)), np.triu(n))


@pytest.mark.parametrize("dtype", ("int64", "bool"))
def test_diag_diagonal_and_eye(dtype):
    for a, split in _arrays(dtype, 170):
        x = lh.array(a, split=split)
        for k in (0, 1, -1, 2, -3, 9):
            check(lh.diagonal(x, k), np.diagonal(a, k))
            check(lh.diag(x, k), np.diag(a, k))
    c = make((3, 4, 5), dtype, seed=172)
    for split in valid_splits(3):
        z = lh.array(c, split=split)
        for k, a1, a2 in ((0, 0, 1), (1, -2, -1), (-1, 2, 0), (2, 1, 2)):
            check(lh.diagonal(z, k, a1, a2), np.diagonal(c, k, a1, a2))
    for n in (0, 1, 5):
        v = make((n,), dtype, seed=171)
        for split in (None, 0):
            for k in (0, 2, -1):
                check(lh.diag(lh.array(v, split=split), k), np.diag(v, k))
    for split in SPLITS_2D:
        for k in (0, 1, -2, 7):
            check(lh.eye(4, 6, k=k, split=split), np.eye(4, 6, k=k, dtype="float32"))


def test_meshgrid():
    x, y, z = (make((n,), "float64", seed=180 + n) for n in (4, 3, 2))
    for split in (None, 0):
        lx, ly, lz = (lh.array(t, split=split) for t in (x, y, z))
        for indexing in ("xy", "ij"):
            for got, exp in ((lh.meshgrid(lx, ly, indexing=indexing),
                              np.meshgrid(x, y, indexing=indexing)),
                             (lh.meshgrid(lx, ly, lz, indexing=indexing),
                              np.meshgrid(x, y, z, indexing=indexing)),
                             (lh.meshgrid(lx, indexing=indexing),
                              np.meshgrid(x, indexing=indexing))):
                assert len(got) == len(exp)
                for g, e in zip(got, exp):
                    check(g, e)
    assert lh.meshgrid() == []
    e = lh.meshgrid(lh.zeros(0, split=0), lh.arange(3))
    check(e[0], np.meshgrid(np.zeros(0, "f4"), np.arange(3))[0])


@pytest.mark.parametrize("dtype", ("float64",))
def test_pad(dtype):
    for a, split in _arrays(dtype, 190):
        x = lh.array(a, split=split)
        for width in (1, (2, 0), ((0, 3), (1, 2)), ((5, 1), (0, 0))):
            check(lh.pad(x, width), np.pad(a, width))
            check(lh.pad(x, width, constant_values=7), np.pad(a, width, constant_values=7))
        check(lh.pad(x, ((1, 2), (3, 0)), constant_values=((1, 2), (3, 4))),
              np.pad(a, ((1, 2), (3, 0)), constant_values=((1, 2), (3, 4))))
        if a.size:
            for mode in ("edge", "wrap", "symmetric"):
                check(lh.pad(x, 1, mode=mode), np.pad(a, 1, mode=mode))
            w = ((min(2, a.shape[0] - 1), 1), (1, min(2, a.shape[1] - 1)))
            check(lh.pad(x, w, mode="reflect"), np.pad(a, w, mode="reflect"))
            for mode in ("wrap", "reflect", "symmetric"):  # wider than the axes
                check(lh.pad(x, ((9, 4), (0, 7)), mode=mode),
                      np.pad(a, ((9, 4), (0, 7)), mode=mode))
    check(lh.pad(lh.array(np.float64(1.0)), 2), np.pad(np.float64(1.0), 2))
    i = make((5, 3), "int32", seed=191)
    check(lh.pad(lh.array(i, split=0), ((2, 1), (0, 1)), constant_values=-1.7),
          np.pad(i, ((2, 1), (0, 1)), constant_values=-1.7))
    check(lh.pad(lh.arange(5, split=0), 2, constant_values=1.7),
          np.pad(np.arange(5), 2, constant_values=1.7))


def test_logspace():
    for split in (None, 0):
        check(lh.logspace(0, 3, 7, dtype="float64", split=split), np.logspace(0, 3, 7))
        check(lh.logspace(1, 2, 5, endpoint=False, base=2.0, dtype="float64", split=split),
              np.logspace(1, 2, 5, endpoint=False, base=2.0))
        check(lh.logspace(0, 2, 4, split=split), np.logspace(0, 2, 4).astype("float32"))
        check(lh.logspace(0, 1, 0, split=split), np.logspace(0, 1, 0).astype("float32"))
