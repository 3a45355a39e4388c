"""HDF5 loads and saves on one rank: the backend's metadata, slab reads and writes (ranks
simulated in turn), and the public load_hdf5/save_hdf5 against NumPy."""

from __future__ import annotations

import os

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

import lazyheat as lh  # noqa: E402
from lazyheat.io.hdf5 import load_hdf5, save_hdf5  # noqa: E402
from lazyheat.runtime.io import IOProblem, WriteJob, backend  # noqa: E402
from lazyheat.runtime.io import hdf5_format as h5f  # noqa: E402

DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64",
          "complex64", "complex128")
B = backend("hdf5")


def data(shape, dtype, seed=0):
    g = np.random.default_rng(seed)
    a = g.random(shape) * 10 - 3
    if np.dtype(dtype).kind == "c":
        a = a + 1j * g.random(shape)
    return (a > 2) if dtype == "bool" else a.astype(dtype)


def write(path, **datasets):
    with h5py.File(path, "w") as f:
        for name, a in datasets.items():
            f.create_dataset(name, data=a)
    return str(path)


def slabs(shape):
    """Hyperslabs worth reading: whole, inner, stepped, empty, past the end."""
    out = [tuple(slice(0, n, 1) for n in shape)]
    if shape:
        n = shape[0]
        out += [(slice(1, max(n - 1, 1), 2),) + tuple(slice(0, m, 1) for m in shape[1:]),
                (slice(n, n, 1),) + tuple(slice(0, m, 1) for m in shape[1:]),
                tuple(slice(0, m, 3) for m in shape)]
    return out


# ------------------------------------------------------------------ backend: meta and read

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (6,), (5, 4), (3, 4, 2), (0, 3)])
def test_meta_and_slab_reads(tmp_path, dtype, shape):
    a = data(shape, dtype)
    path = write(tmp_path / "a.h5", x=a)
    m = B.meta(path, "x", ())
    assert m.shape == shape and m.dtype == a.dtype
    for index in slabs(shape):
        got = B.read(path, "x", index, m, ())
        assert got.dtype == a.dtype
        np.testing.assert_array_equal(got, a[index])


def test_big_endian_and_unsigned_types(tmp_path):
    a = np.arange(12, dtype=">f8").reshape(3, 4)
    u = np.array([0, 1, 65535], dtype="<u2")
    path = write(tmp_path / "e.h5", be=a, u=u)
    m = B.meta(path, "be", ())
    assert m.dtype == np.dtype("float64") and m.dtype.isnative
    np.testing.assert_array_equal(B.read(path, "be", (slice(1, 3, 1), slice(0, 4, 2)), m, ()),
                                  a[1:3, ::2])
    # unsigned types load as themselves, or converted on request
    assert B.meta(path, "u", ()).dtype == np.uint16
    got = load_hdf5(path, "u").numpy()
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, u)
    np.testing.assert_array_equal(load_hdf5(path, "u", dtype=lh.int32).numpy(), u.astype("i4"))


def test_groups_and_the_default_dataset(tmp_path):
    path = str(tmp_path / "g.h5")
    with h5py.File(path, "w") as f:
        f.create_dataset("a/b/x", data=np.arange(4))
    assert B.meta(path, "", ()).get("dataset") == "a/b/x"
    assert B.meta(path, "/a/b/x", ()).shape == (4,)
    with pytest.raises(IOProblem, match="is a group") as e:
        B.meta(path, "a/b", ())
    assert e.value.kind is KeyError
    with h5py.File(path, "a") as f:
        f.create_dataset("y", data=1.0)
    with pytest.raises(IOProblem, match="2 datasets.*\\['a/b/x', 'y'\\]"):
        B.meta(path, "", ())


@pytest.mark.parametrize("case, kind, match", [
    ("missing", FileNotFoundError, "no such file"),
    ("dir", OSError, "directory"),
    ("text", OSError, "not a readable HDF5 file"),
    ("truncated", OSError, "not a readable HDF5 file"),
    ("nodata", KeyError, "'nope' does not exist.*datasets: \\['x'\\]"),
    ("string", TypeError, "cannot hold"),
    ("compound", TypeError, "cannot hold"),
    ("empty", ValueError, "no dataspace"),
])
def test_meta_errors_name_the_path(tmp_path, case, kind, match):
    path, key = tmp_path / "e.h5", "x"
    if case == "dir":
        path = tmp_path
    elif case == "text":
        path.write_text("not hdf5 at all\n" * 100)
    elif case == "truncated":
        write(path, x=np.zeros((1000, 100)))
        with open(path, "r+b") as fh:
            fh.truncate(os.path.getsize(path) // 2)
    elif case == "nodata":
        write(path, x=np.zeros(3))
        key = "nope"
    elif case == "string":
        write(path, x=np.array([b"ab", b"cd"]))
    elif case == "compound":
        write(path, x=np.zeros(3, dtype=[("a", "i4"), ("b", "f8")]))
    elif case == "empty":
        with h5py.File(path, "w") as f:
            f.create_dataset("x", data=h5py.Empty("f8"))
    with pytest.raises(IOProblem, match=match) as e:
        B.meta(str(path), key, ())
    assert e.value.kind is kind and str(path) in str(e.value)
    if case != "missing":  # the public load raises that kind, naming the path, on every rank
        with pytest.raises(kind, match=os.path.basename(path)):
            load_hdf5(path, key)


# ------------------------------------------------------------------ backend: writes

def _jobs(path, a, size, kwargs=None, split=0):
    """Every rank's WriteJob of ``a`` over ``size`` simulated ranks (one process)."""
    n = a.shape[0] if a.ndim else 0
    counts = tuple(n // size + (r < n % size) for r in range(size))
    jobs = []
    for r in range(size):
        lo = sum(counts[:r])
        block = a if split is None else a[lo:lo + counts[r]]
        jobs.append(WriteJob(path=str(path), key="grp/x", shape=a.shape, dtype=a.dtype,
                             block=block, split=split, offset=lo if split == 0 else 0,
                             counts=counts if split == 0 else (), rank=r, size=size, comm=None,
                             options={"dataset_kwargs": kwargs or {}}))
    return jobs


@pytest.mark.parametrize("kwargs", [{}, {"chunks": (2, 3)}, {"compression": "gzip"}])
@pytest.mark.parametrize("split", [0, None])
@pytest.mark.parametrize("size", [1, 3, 9])
def test_writes_of_simulated_ranks(tmp_path, kwargs, split, size):
    a = data((7, 5), "complex64")
    jobs = _jobs(tmp_path / "w.h5", a, size, kwargs, split)
    B.prepare(jobs[0])
    for job in (reversed(jobs) if not kwargs else jobs):  # raw writes in any order
        B.write(job)
    B.finish(jobs[0])
    with h5py.File(jobs[0].path, "r") as f:
        d = f["grp/x"]
        assert (d.chunks is None) == (not kwargs)
        np.testing.assert_array_equal(d[()], a)


def test_contiguous_dataset_is_allocated_at_creation(tmp_path):
    a = np.arange(20.0).reshape(10, 2)
    job = _jobs(tmp_path / "w.h5", a, 2)[0]
    B.prepare(job)
    with h5py.File(job.path, "r") as f:  # the offset every rank writes at is known up front
        assert f["grp/x"].id.get_offset() is not None


# ------------------------------------------------------------------ public API

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (7, 5), (3, 4, 2), (0, 3), ()])
def test_round_trip(tmp_path, dtype, shape):
    a = data(shape, dtype, seed=3)
    path = tmp_path / "r.h5"
    for split in [None] + list(range(len(shape))):
        save_hdf5(lh.array(a, split=split), path, "d/x")
        x = load_hdf5(path, "d/x", split=split)
        assert x.shape == a.shape and x.dtype.name == dtype and x.split == split
        np.testing.assert_array_equal(x.numpy(), a)
    assert os.listdir(tmp_path) == ["r.h5"]  # no temporary left behind


def test_chunked_and_compressed_saves(tmp_path):
    a = data((50, 8), "float32")
    path = tmp_path / "c.h5"
    save_hdf5(lh.array(a, split=0), path, "x", chunks=(10, 8), compression="gzip", shuffle=True)
    with h5py.File(path, "r") as f:
        assert f["x"].chunks == (10, 8) and f["x"].compression == "gzip"
    np.testing.assert_array_equal(load_hdf5(path, "x")[5:45:3].numpy(), a[5:45:3])


def test_modes(tmp_path):
    path = tmp_path / "m.h5"
    a, b = data((4, 3), "int32"), data((5,), "float64")
    save_hdf5(lh.array(a), path, "a", mode="w-")
    with pytest.raises(FileExistsError, match="m.h5"):
        save_hdf5(lh.array(a), path, "a", mode="w-")
    save_hdf5(lh.array(b, split=0), path, "g/b", mode="a")  # adds, keeps "a"
    with h5py.File(path, "r") as f:
        assert sorted(h5f.dataset_names(f)) == ["a", "g/b"]
    np.testing.assert_array_equal(load_hdf5(path, "a").numpy(), a)
    np.testing.assert_array_equal(load_hdf5(path, "g/b").numpy(), b)
    with pytest.raises(ValueError, match="already has 'a'"):
        save_hdf5(lh.array(b), path, "a", mode="a")
    np.testing.assert_array_equal(load_hdf5(path, "a").numpy(), a)  # the file is intact
    save_hdf5(lh.array(b), path, "b2", mode="r+")
    with pytest.raises(FileNotFoundError, match="r\\+"):
        save_hdf5(lh.array(b), tmp_path / "none.h5", "b", mode="r+")
    save_hdf5(lh.array(b), tmp_path / "new.h5", "b", mode="a")  # "a" creates a missing file
    save_hdf5(lh.array(a), path, "a")  # "w" replaces the whole file
    with h5py.File(path, "r") as f:
        assert list(f) == ["a"]
    assert sorted(os.listdir(tmp_path)) == ["m.h5", "new.h5"]


def test_argument_errors(tmp_path):
    x = lh.arange(4)
    with pytest.raises(ValueError, match="mode"):
        save_hdf5(x, tmp_path / "e.h5", "x", mode="rw")
    with pytest.raises(TypeError, match="dataset"):
        save_hdf5(x, tmp_path / "e.h5", 3)
    with pytest.raises(TypeError, match="dtype"):
        save_hdf5(x, tmp_path / "e.h5", "x", dtype="f4")
    with pytest.raises(ValueError, match="e.h5"):
        save_hdf5(x, tmp_path / "e.h5", "x", chunks=(1, 2, 3))
    with pytest.raises(FileNotFoundError, match="nodir"):
        save_hdf5(x, tmp_path / "nodir" / "e.h5", "x")
    assert os.listdir(tmp_path) == []


def test_sliced_load_reads_only_the_slab(tmp_path, monkeypatch):
    a = np.arange(4000 * 1000, dtype=np.float64).reshape(4000, 1000)  # 32 MB
    path = write(tmp_path / "big.h5", x=a)
    x = load_hdf5(path, "x", split=0)
    y = x[100:110, 5:600:3]
    loads = [n for n in lh.graph.topo_order(lh.plan(y).outputs) if n.op == "load"]
    assert [n.attr("region") for n in loads] == [((100, 110, 1), (5, 600, 3))]
    seen = []
    read = type(B).read
    monkeypatch.setattr(type(B), "read", lambda s, *args: seen.append(args[2]) or read(s, *args))
    before = _bytes_read()
    got = y.numpy()
    after = _bytes_read()
    np.testing.assert_array_equal(got, a[100:110, 5:600:3])
    assert seen == [(slice(100, 110, 1), slice(5, 600, 3))]
    if before is not None:  # Linux: bytes this process read through system calls
        assert after - before < 1_000_000, after - before  # the slab spans ~80 kB of the 32 MB


def _bytes_read():
    try:
        with open("/proc/self/io") as fh:
            return int(next(ln for ln in fh if ln.startswith("rchar:")).split()[1])
    except OSError:
        return None
