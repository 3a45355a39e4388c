"""Array creation, attributes and dtype handling."""

import numpy as np
import pytest
import torch
from _util import DEFAULT_DEVICE, RANK, SHAPES_2D, SIZE, SPLITS_2D, check, lh, make, valid_splits


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("shape", SHAPES_2D + ((5,), (2, 3, 4)))
def test_array_from_numpy_keeps_dtype(shape, dtype):
    a = make(shape, dtype, seed=1)
    for split in valid_splits(len(shape)):
        x = lh.array(a, split=split)
        assert x.split == split
        assert x.device == DEFAULT_DEVICE
        check(x, a)
        assert lh.asarray(a, split=split).dtype == a.dtype


def test_array_from_torch_lists_and_scalars():
    t = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    for split in SPLITS_2D:
        check(lh.array(t, split=split), t.numpy())
        check(lh.asarray(t, split=split), t.numpy())

    # Python data: floats default to float32 (as in HeAT), ints to int64.
    check(lh.array([[1.5, 2.0], [3.0, -4.25]], split=0), np.array([[1.5, 2.0], [3.0, -4.25]], "f4"))
    check(lh.array([[1, 2, 3], [4, 5, 6]], split=1), np.array([[1, 2, 3], [4, 5, 6]], "i8"))
    check(lh.array([True, False, True], split=0), np.array([True, False, True]))
    check(lh.array(3.5), np.array(3.5, "f4"))
    check(lh.array(7), np.array(7, "i8"))
    check(lh.array(True), np.array(True))
    check(lh.array([1, 2, 3], dtype="float64", split=0), np.array([1.0, 2.0, 3.0]))
    check(lh.array(np.arange(6), dtype=np.float32, split=0), np.arange(6, dtype="f4"))

    # 0-d from NumPy keeps its dtype
    check(lh.array(np.float64(2.5)), np.array(2.5))


def test_dtype_arguments_and_equality():
    for spec in ("float64", np.float64, np.dtype("float64"), torch.float64):
        x = lh.zeros((2, 3), dtype=spec, split=0)
        assert x.dtype == np.float64
        assert x.dtype == np.dtype("float64")
        assert x.dtype == torch.float64
        assert x.dtype == "float64"
        assert x.dtype != "float32"
        assert x.dtype != torch.float32
        assert x.dtype != np.int64
    y = lh.ones(4, dtype="int64")
    assert y.dtype == np.int64 and y.dtype == torch.int64 and y.dtype == "int64"
    assert lh.ones(4, dtype=bool).dtype == np.bool_


def test_attributes_known_without_compute():
    x = lh.ones((7, 5), split=0)
    y = (x * 2 + 1).sum(axis=0)
    assert y.shape == (5,)
    assert y.ndim == 1
    assert y.size == 5
    assert y.split in (None, 0)
    assert y.device == DEFAULT_DEVICE
    assert y.dtype == np.float32
    r = repr(y)
    assert isinstance(r, str) and "5" in r
    assert isinstance(str(lh.zeros((3, 4), split=1)), str)
    assert len(lh.zeros((3, 4), split=1)) == 3


def test_building_is_lazy():
    # 4 TB of float32 if anything were materialized: building, inspecting and
    # explaining the expression must not touch the data.
    n = 10**6
    big = lh.ones((n, n), split=0)
    y = ((big * 2 + 1) @ big.T).sum(axis=0) / n
    assert y.shape == (n,) and y.dtype == np.float32 and y.ndim == 1 and y.size == n
    assert str(n) in repr(y)
    assert isinstance(lh.explain(y), str)
    z = lh.random.randn(n, n, seed=0, split=1)[::2, 5].astype("float64")
    assert z.shape == (n // 2,) and z.dtype == np.float64


def test_device_argument():
    for make_array in (
        lambda: lh.zeros((3, 4), split=0, device="cpu"),
        lambda: lh.array(np.ones((3, 4)), split=1, device="cpu"),
        lambda: lh.arange(0, 6, 1, device="cpu"),
        lambda: lh.random.rand(3, 4, seed=0, split=0, device="cpu"),
    ):
        x = make_array()
        assert x.device == "cpu"
        assert x.larray.device.type == "cpu"


@pytest.mark.parametrize("shape", [(7, 5), (3, 4), (0, 3), (5,), ()])
def test_constant_creation(shape):
    for split in valid_splits(len(shape)):
        check(lh.zeros(shape, split=split), np.zeros(shape, "f4"))
        check(lh.ones(shape, split=split), np.ones(shape, "f4"))
        check(lh.full(shape, 2.5, split=split), np.full(shape, 2.5, "f4"))
        check(lh.zeros(shape, dtype="int64", split=split), np.zeros(shape, "i8"))
        check(lh.ones(shape, dtype="bool", split=split), np.ones(shape, bool))
        check(lh.full(shape, 3, dtype="int64", split=split), np.full(shape, 3, "i8"))
        check(lh.full(shape, -1.25, dtype="float64", split=split), np.full(shape, -1.25))
        e = lh.empty(shape, split=split)
        assert e.shape == shape and e.dtype == np.float32 and e.split == split
        assert e.numpy().shape == shape


def test_int_shape_argument():
    check(lh.zeros(5, split=0), np.zeros(5, "f4"))
    check(lh.ones(4), np.ones(4, "f4"))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_like_creation(dtype):
    a = make((7, 5), dtype)
    for split in SPLITS_2D:
        x = lh.array(a, split=split)
        for y, exp in (
            (lh.zeros_like(x), np.zeros_like(a)),
            (lh.ones_like(x), np.ones_like(a)),
            (lh.full_like(x, 1), np.full_like(a, 1)),
        ):
            assert y.split == split
            check(y, exp)
        e = lh.empty_like(x)
        assert e.shape == a.shape and e.dtype == a.dtype and e.split == split
        check(lh.zeros_like(x, dtype="float64"), np.zeros(a.shape))


def test_arange():
    for split in (None, 0):
        check(lh.arange(0, 10, 1, split=split), np.arange(0, 10, 1))
        check(lh.arange(3, 17, 4, split=split), np.arange(3, 17, 4))
        check(lh.arange(10, 0, -3, split=split), np.arange(10, 0, -3))
        check(lh.arange(5, 5, 1, split=split), np.arange(5, 5, 1))
        check(lh.arange(0.0, 1.0, 0.25, split=split), np.arange(0.0, 1.0, 0.25, dtype="f4"))
        check(lh.arange(0, 6, 1, dtype="float64", split=split), np.arange(0, 6, 1, dtype="f8"))
    assert lh.arange(0, 10, 1).dtype == np.int64


def test_linspace_and_eye():
    for split in (None, 0):
        check(lh.linspace(0, 1, 11, split=split), np.linspace(0, 1, 11, dtype="f4"))
        check(lh.linspace(-2, 3, 7, split=split), np.linspace(-2, 3, 7, dtype="f4"))
        check(lh.linspace(0, 1, 5, dtype="float64", split=split), np.linspace(0, 1, 5, dtype="f8"))
        check(lh.linspace(0, 1, 1, split=split), np.linspace(0, 1, 1, dtype="f4"))
    for split in SPLITS_2D:
        check(lh.eye(5, split=split), np.eye(5, dtype="f4"))
        check(lh.eye(3, 6, split=split), np.eye(3, 6, dtype="f4"))
        check(lh.eye(6, m=2, split=split), np.eye(6, 2, dtype="f4"))
        check(lh.eye(4, dtype="int64", split=split), np.eye(4, dtype="i8"))


def test_from_local_uneven_blocks():
    # rank r contributes r + 1 rows; global row i holds i*10 + column
    offsets = [sum(range(1, r + 1)) for r in range(SIZE + 1)]
    n = offsets[SIZE]
    full = (np.arange(n)[:, None] * 10 + np.arange(3)[None, :]).astype("f8")
    local = torch.from_numpy(full[offsets[RANK] : offsets[RANK + 1]].copy())
    x = lh.from_local(local, split=0)
    assert x.shape == (n, 3) and x.split == 0
    check(x, full)
    check(x + 1, full + 1)
    check(x.sum(axis=0), full.sum(axis=0))
    check(x.balance(), full)

    # split 1, with some ranks holding no columns
    widths = [(2, 0, 3, 1)[r % 4] for r in range(SIZE)]
    starts = np.cumsum([0] + widths)
    m = int(starts[-1])
    full1 = np.arange(4 * m, dtype="i8").reshape(4, m)
    local1 = torch.from_numpy(full1[:, starts[RANK] : starts[RANK + 1]].copy())
    y = lh.from_local(local1, split=1)
    assert y.shape == (4, m) and y.split == 1
    check(y, full1)
    check(y * 2 - 1, full1 * 2 - 1)
    check(y.sum(), full1.sum())
    check(lh.resplit(y, 0), full1)


def test_creation_comm_argument():
    from mpi4py import MPI

    x = lh.arange(0, 10, 1, split=0, comm=MPI.COMM_WORLD)
    check(x, np.arange(10))
    # a one-rank communicator on every rank: each rank holds the whole array
    s = lh.ones((3, 4), split=0, comm=MPI.COMM_SELF)
    assert s.shape == (3, 4)
    np.testing.assert_array_equal(s.numpy(), np.ones((3, 4), "f4"))
    assert tuple(s.lshape) == (3, 4)
