"""Counter-based random numbers: same global array for any split and rank count."""

import numpy as np
from _util import SPLITS_2D, check, lh, raise_if_any
from mpi4py import MPI


def _same_for_all_splits(make_array, shape):
    arrays = [make_array(split) for split in SPLITS_2D]
    for x, split in zip(arrays, SPLITS_2D):
        assert x.shape == shape and x.split == split
    values = [x.numpy() for x in arrays]
    err = None
    for split, v in zip(SPLITS_2D[1:], values[1:]):
        if not np.array_equal(values[0], v):
            err = f"split={split} gives different values than split=None"
    # the same seed on a one-rank communicator gives the same global array
    single = make_array(None, comm=MPI.COMM_SELF).numpy()
    if err is None and not np.array_equal(values[0], single):
        err = "COMM_SELF (1 rank) gives different values than COMM_WORLD"
    raise_if_any(err)
    return values[0]


def test_rand():
    v = _same_for_all_splits(lambda s, **kw: lh.random.rand(7, 5, seed=3, split=s, **kw), (7, 5))
    assert v.dtype == np.float32
    assert (v >= 0).all() and (v < 1).all()
    assert len(np.unique(v)) > 30
    x = lh.random.rand(6, 4, seed=3, split=0, dtype="float64")
    assert x.dtype == np.float64
    w = x.numpy()
    assert w.dtype == np.float64 and (w >= 0).all() and (w < 1).all()
    # determinism and seed dependence
    np.testing.assert_array_equal(lh.random.rand(7, 5, seed=3, split=1).numpy(), v)
    assert not np.array_equal(lh.random.rand(7, 5, seed=4, split=1).numpy(), v)


def test_randn_moments():
    v = _same_for_all_splits(
        lambda s, **kw: lh.random.randn(1000, 8, seed=1, split=s, **kw), (1000, 8)
    )
    assert v.dtype == np.float32
    assert abs(v.mean()) < 0.1
    assert abs(v.std() - 1) < 0.1
    assert np.isfinite(v).all()
    x = lh.random.randn(1000, 8, seed=1, split=0)
    check(x.mean(), np.array(v.mean(dtype="f8"), "f4"), rtol=1e-4, atol=1e-5)


def test_randint():
    v = _same_for_all_splits(
        lambda s, **kw: lh.random.randint(-3, 9, (7, 5), seed=11, split=s, **kw), (7, 5)
    )
    assert v.dtype == np.int64
    assert v.min() >= -3 and v.max() < 9
    assert len(np.unique(v)) > 5


def test_uniform_and_normal():
    u = _same_for_all_splits(
        lambda s, **kw: lh.random.uniform(-2.0, 3.0, (50, 4), seed=5, split=s, **kw), (50, 4)
    )
    assert u.dtype == np.float32
    assert (u >= -2).all() and (u < 3).all()
    assert u.min() < -1 and u.max() > 2

    n = _same_for_all_splits(
        lambda s, **kw: lh.random.normal(5.0, 2.0, (1000, 8), seed=6, split=s, **kw), (1000, 8)
    )
    assert abs(n.mean() - 5) < 0.2
    assert abs(n.std() - 2) < 0.2


def test_random_in_expression():
    x = lh.random.randn(40, 6, seed=2, split=0)
    v = x.numpy()
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    check(z, (v - v.mean(axis=0)) / v.std(axis=0), rtol=1e-4, atol=1e-5)
