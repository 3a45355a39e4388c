"""npy loads and saves on any number of ranks, against NumPy; reads pushed into slices."""

from __future__ import annotations

import os

import numpy as np
import pytest
from _util import COMM, RANK, SIZE, check, rng

import lazyheat as lh

DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32",
          "float64", "complex64", "complex128")


def _write(path, a):
    if RANK == 0:
        np.save(path, a)
    COMM.barrier()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7, 5), (1, 6), (0, 3), (11,), (3, 4, 2)])
def test_round_trip(shared_tmp, dtype, shape):
    a = (rng(1).random(shape) * 10).astype(dtype)
    src, dst = os.path.join(shared_tmp, "a.npy"), os.path.join(shared_tmp, "b.npy")
    _write(src, a)
    for split in [None] + list(range(len(shape))):
        x = lh.load_npy(src, split=split)
        assert x.shape == a.shape and x.dtype.name == dtype and x.split == split
        np.testing.assert_array_equal(x.numpy(), a)
        lh.save_npy(x, dst, overwrite=True)
        np.testing.assert_array_equal(np.load(dst), a)
    assert sorted(os.listdir(shared_tmp)) == ["a.npy", "b.npy"]  # no temporary left


def test_slices_and_resplit_are_pushed_into_the_read(shared_tmp):
    a = rng(2).random((40, 6)).astype(np.float32)
    src = os.path.join(shared_tmp, "a.npy")
    _write(src, a)
    x = lh.load_npy(src, split=0)
    y = x[10:30:2, 1:5]
    p = lh.plan(y.sum())
    loads = [n for n in lh.graph.topo_order(p.outputs) if n.op == "load"]
    assert len(loads) == 1 and loads[0].attr("region") == ((10, 30, 2), (1, 5, 1))
    assert loads[0].aval.balanced  # the ranks share the reading
    np.testing.assert_allclose(y.sum().item(), a[10:30:2, 1:5].sum(), rtol=1e-5)
    np.testing.assert_array_equal(y.numpy(), a[10:30:2, 1:5])
    z = lh.resplit(x, 1)
    p = lh.plan(z.sum(0))
    assert not [n for n in lh.graph.topo_order(p.outputs) if n.op == "redistribute"]
    check(z.sum(0), a.sum(0), layout=False)


def test_errors_on_every_rank(shared_tmp):
    missing = os.path.join(shared_tmp, "missing.npy")
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        lh.load_npy(missing)
    bad = os.path.join(shared_tmp, "bad.npy")
    if RANK == 0:
        with open(bad, "wb") as f:
            f.write(b"not an npy file at all")
    COMM.barrier()
    with pytest.raises(OSError, match="bad.npy"):
        lh.load_npy(bad)
    a = np.arange(10)
    src = os.path.join(shared_tmp, "a.npy")
    _write(src, a)
    with pytest.raises(FileExistsError, match="overwrite"):
        lh.save_npy(lh.array(a), src)
    with pytest.raises(ValueError, match="split"):
        lh.load_npy(src, split=1)
    np.testing.assert_array_equal(np.load(src), a)  # the previous file is intact


def test_more_ranks_than_rows(shared_tmp):
    a = np.arange(2 * 3).reshape(2, 3).astype(np.int64)
    src = os.path.join(shared_tmp, "a.npy")
    _write(src, a)
    x = lh.load_npy(src, split=0)
    assert x.lshape_map == tuple((c, 3) for c in x.aval.counts) and len(x.lshape_map) == SIZE
    np.testing.assert_array_equal((x + 1).numpy(), a + 1)
    np.testing.assert_array_equal(x[1:].numpy(), a[1:])
