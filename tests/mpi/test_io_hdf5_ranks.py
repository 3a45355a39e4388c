"""HDF5 and netCDF loads and saves on any number of ranks, against NumPy: every write
strategy (raw concurrent writes of contiguous datasets, ranks in turn for chunked ones),
more ranks than rows, reads pushed into slices, errors raised on every rank."""

from __future__ import annotations

import os

import numpy as np
import pytest
from _util import COMM, RANK, SIZE, check, rng

import lazyheat as lh

h5py = pytest.importorskip("h5py")
h5netcdf = pytest.importorskip("h5netcdf")

from lazyheat.io.hdf5 import load_hdf5, save_hdf5  # noqa: E402
from lazyheat.io.netcdf import load_netcdf, save_netcdf  # noqa: E402
from lazyheat.runtime.io import hdf5_format as h5f  # noqa: E402

DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32",
          "float64", "complex64", "complex128")
# how a save lays the dataset out, and so which write strategy the ranks take
LAYOUTS = {"contiguous": {}, "chunked": {"chunks": True}, "gzip": {"compression": "gzip"}}


def data(shape, dtype, seed=0):
    g = rng(seed)
    a = g.random(shape) * 10 - 3
    if np.dtype(dtype).kind == "c":
        a = a + 1j * g.random(shape)
    return (a > 2) if dtype == "bool" else a.astype(dtype)


def on_rank0(fn, *args, **kwargs):
    if RANK == 0:
        fn(*args, **kwargs)
    COMM.barrier()


def h5write(path, **datasets):
    with h5py.File(path, "w") as f:
        for name, a in datasets.items():
            f.create_dataset(name, data=a)


def h5read(path, name):
    with h5py.File(path, "r") as f:
        return f[name][()]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7, 5), (1, 6), (0, 3), (11,), (3, 4, 2)])
def test_hdf5_round_trip(shared_tmp, dtype, shape):
    a = data(shape, dtype, seed=1)
    src, dst = os.path.join(shared_tmp, "a.h5"), os.path.join(shared_tmp, "b.h5")
    on_rank0(h5write, src, x=a)
    for split in [None] + list(range(len(shape))):
        x = load_hdf5(src, "x", split=split)
        assert x.shape == a.shape and x.dtype.name == dtype and x.split == split
        np.testing.assert_array_equal(x.numpy(), a)
        save_hdf5(x, dst, "g/x")
        np.testing.assert_array_equal(h5read(dst, "g/x"), a)
    assert sorted(os.listdir(shared_tmp)) == ["a.h5", "b.h5"]  # no temporary left


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("split", [None, 0, 1])
@pytest.mark.parametrize("shape", [(13, 3), (2, 4), (0, 2)])
def test_hdf5_write_strategies(shared_tmp, layout, split, shape):
    a = data(shape, "float64", seed=2)
    dst = os.path.join(shared_tmp, "w.h5")
    save_hdf5(lh.array(a, split=split), dst, "x", **LAYOUTS[layout])
    with h5py.File(dst, "r") as f:
        assert (f["x"].chunks is None) == (layout == "contiguous")
        np.testing.assert_array_equal(f["x"][()], a)
    check(load_hdf5(dst, "x", split=split), a)


def test_hdf5_append_keeps_the_file(shared_tmp):
    dst = os.path.join(shared_tmp, "m.h5")
    a, b = data((9, 2), "int32"), data((5,), "complex64")
    save_hdf5(lh.array(a, split=0), dst, "a")
    save_hdf5(lh.array(b, split=0), dst, "grp/b", mode="a", chunks=(2,))
    np.testing.assert_array_equal(h5read(dst, "a"), a)
    np.testing.assert_array_equal(h5read(dst, "grp/b"), b)
    with pytest.raises(ValueError, match="already has 'a'"):
        save_hdf5(lh.array(b, split=0), dst, "a", mode="a")
    assert sorted(os.listdir(shared_tmp)) == ["m.h5"]


def test_slices_and_resplits_are_pushed_into_the_read(shared_tmp):
    a = data((40, 6), "float32", seed=3)
    src = os.path.join(shared_tmp, "a.h5")
    on_rank0(h5write, src, x=a)
    for load in (lambda: load_hdf5(src, "x", split=0),
                 lambda: _netcdf_copy(shared_tmp, a)):
        y = load()[10:30:2, 1:5]
        loads = [n for n in lh.graph.topo_order(lh.plan(y.sum()).outputs) if n.op == "load"]
        assert len(loads) == 1 and loads[0].attr("region") == ((10, 30, 2), (1, 5, 1))
        np.testing.assert_array_equal(y.numpy(), a[10:30:2, 1:5])
        z = lh.resplit(load(), 1)
        p = lh.plan(z.sum(0))
        assert not [n for n in lh.graph.topo_order(p.outputs) if n.op == "redistribute"]
        check(z.sum(0), a.sum(0), layout=False)


def _netcdf_copy(tmp, a):
    path = os.path.join(tmp, "a.nc")
    if not os.path.exists(path):
        save_netcdf(lh.array(a, split=0), path, "x")
    return load_netcdf(path, "x", split=0)


@pytest.mark.parametrize("dtype", [d for d in DTYPES if d != "float16"])
@pytest.mark.parametrize("shape", [(7, 5), (1, 6), (0, 3), (3, 4, 2)])
def test_netcdf_round_trip(shared_tmp, dtype, shape):
    a = data(shape, dtype, seed=4)
    dst = os.path.join(shared_tmp, "v.nc")
    for split in [None] + list(range(len(shape))):
        save_netcdf(lh.array(a, split=split), dst, "grp/v")
        x = load_netcdf(dst, "grp/v", split=split)
        assert x.shape == a.shape and x.dtype.name == dtype and x.split == split
        np.testing.assert_array_equal(x.numpy(), a)
    assert os.listdir(shared_tmp) == ["v.nc"]


def test_netcdf_unlimited_and_compressed(shared_tmp):
    a = data((10, 3), "float64", seed=5)
    dst = os.path.join(shared_tmp, "u.nc")
    save_netcdf(lh.array(a, split=0), dst, "v", dimension_names=("t", "x"), is_unlimited=True)
    save_netcdf(lh.array(-a, split=1), dst, "w", mode="a", dimension_names=("t", "x"),
                zlib=True)
    check(load_netcdf(dst, "v", split=0), a)
    check(load_netcdf(dst, "w", split=1)[::3], -a[::3], layout=False)


def test_more_ranks_than_rows(shared_tmp):
    a = np.arange(2 * 3).reshape(2, 3).astype(np.int64)
    for fmt in ("h5", "nc"):
        dst = os.path.join(shared_tmp, f"s.{fmt}")
        lh.save(lh.array(a, split=0), dst, "x", overwrite=True)
        x = lh.load(dst, "x", split=0)
        assert len(x.lshape_map) == SIZE
        np.testing.assert_array_equal((x + 1).numpy(), a + 1)
        np.testing.assert_array_equal(x[1:].numpy(), a[1:])


def test_errors_on_every_rank(shared_tmp):
    for load, ext in ((load_hdf5, "h5"), (load_netcdf, "nc")):
        missing = os.path.join(shared_tmp, f"missing.{ext}")
        with pytest.raises(FileNotFoundError, match=f"missing.{ext}"):
            load(missing, "x")
        bad = os.path.join(shared_tmp, f"bad.{ext}")
        on_rank0(lambda p: open(p, "wb").write(b"neither HDF5 nor netCDF" * 40), bad)
        with pytest.raises(OSError, match=f"bad.{ext}"):
            load(bad, "x")
    src = os.path.join(shared_tmp, "a.h5")
    on_rank0(h5write, src, x=np.arange(10), s=np.array([b"a", b"b"]))
    with pytest.raises(KeyError, match="'y' does not exist.*'s', 'x'"):
        load_hdf5(src, "y")
    with pytest.raises(TypeError, match="cannot hold"):
        load_hdf5(src, "s")
    with pytest.raises(FileExistsError, match="a.h5"):
        save_hdf5(lh.arange(3, split=0), src, "x", mode="w-")
    np.testing.assert_array_equal(h5read(src, "x"), np.arange(10))  # intact


@pytest.mark.parametrize("layout", ["contiguous", "chunked"])
@pytest.mark.parametrize("where", ["_pwrite", "_h5_write", "_inspect"])
def test_a_failing_rank_fails_the_save_everywhere_without_a_hang(shared_tmp, monkeypatch,
                                                                  layout, where):
    """A write or a look at the file failing on one rank (the last: its turn comes last when
    ranks write in turn) fails the save on every rank and leaves the old file in place."""
    dst = os.path.join(shared_tmp, "f.h5")
    save_hdf5(lh.arange(4, split=0), dst, "x")
    bad = SIZE - 1

    def boom(*args, **kwargs):
        raise OSError("disk full")

    if RANK == bad:
        monkeypatch.setattr(h5f, where, boom)
    if (where, layout) in (("_pwrite", "chunked"), ("_h5_write", "contiguous")):
        save_hdf5(lh.arange(100, split=0), dst, "x", **LAYOUTS[layout])  # not on that path
        np.testing.assert_array_equal(h5read(dst, "x"), np.arange(100))
    else:
        with pytest.raises(OSError, match=f"failed on rank {bad}.*disk full"):
            save_hdf5(lh.arange(100, split=0), dst, "x", **LAYOUTS[layout])
        np.testing.assert_array_equal(h5read(dst, "x"), np.arange(4))  # the old file is intact
    assert os.listdir(shared_tmp) == ["f.h5"]
