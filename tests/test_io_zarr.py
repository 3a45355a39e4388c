"""Zarr loads and saves on one rank: the backend's metadata, chunk-aligned layouts, slab
reads and writes (ranks simulated in turn), and the public load_zarr/save_zarr against NumPy."""

from __future__ import annotations

import os

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")

import lazyheat as lh  # noqa: E402
from lazyheat.io import core  # noqa: E402
from lazyheat.io.zarr import load_zarr, save_zarr  # noqa: E402
from lazyheat.runtime.io import IOProblem, WriteJob, backend  # noqa: E402
from lazyheat.runtime.io import zarr_format as zf  # noqa: E402

DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64",
          "complex64", "complex128")
B = backend("zarr")


def data(shape, dtype, seed=0):
    g = np.random.default_rng(seed)
    a = g.random(shape) * 10 - 3
    if np.dtype(dtype).kind == "c":
        a = a + 1j * g.random(shape)
    return (a > 2) if dtype == "bool" else a.astype(dtype)


def store(path, a, chunks=None, **kw):
    z = zarr.create_array(str(path), shape=a.shape, dtype=a.dtype,
                          chunks=chunks or tuple(max(1, n // 2) for n in a.shape), **kw)
    z[...] = a
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
    path = store(tmp_path / "a.zarr", a)
    m = B.meta(path, "", ())
    assert m.shape == shape and m.dtype == a.dtype
    for index in slabs(shape):
        got = B.read(path, "", index, m, ())
        assert got.dtype == a.dtype
        np.testing.assert_array_equal(got, a[index])


def test_unsigned_big_endian_and_v2_stores(tmp_path):
    a = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    m = B.meta(store(tmp_path / "u16.zarr", a), "", ())
    assert m.dtype == np.int32 and m.get("stored") == "<u2"  # widened without loss
    np.testing.assert_array_equal(B.read(str(tmp_path / "u16.zarr"), "", (slice(0, 3, 1),
                                                                         slice(1, 4, 2)), m, ()),
                                  a[:, 1::2])
    assert B.meta(store(tmp_path / "u32.zarr", a.astype(np.uint32)), "", ()).dtype == np.int64
    # uint64 has no lazyheat dtype: the meta says so, and load asks for dtype=
    assert B.meta(store(tmp_path / "u64.zarr", a.astype(np.uint64)), "", ()).dtype == np.uint64
    b = np.arange(6, dtype=">f8")
    z = zarr.create_array(str(tmp_path / "v2.zarr"), shape=b.shape, dtype=b.dtype, chunks=(4,),
                          zarr_format=2)
    z[:] = b
    m = B.meta(str(tmp_path / "v2.zarr"), "", ())
    assert m.dtype == np.dtype("float64") and m.dtype.isnative
    got = B.read(str(tmp_path / "v2.zarr"), "", (slice(1, 6, 2),), m, ())
    assert got.dtype.isnative
    np.testing.assert_array_equal(got, b[1::2])


def test_groups_and_nested_arrays(tmp_path):
    path = str(tmp_path / "g.zarr")
    g = zarr.open_group(path, mode="w")
    g.create_array("x", shape=(4,), dtype="f4")[:] = np.arange(4)
    g.create_array("run/y", shape=(2, 3), dtype="i8")[:] = np.ones((2, 3))
    assert B.meta(path, "run/y", ()).shape == (2, 3)
    with pytest.raises(IOProblem, match=r"group; name one of its arrays: \['run/y', 'x'\]") as e:
        B.meta(path, "", ())
    assert e.value.kind is KeyError
    with pytest.raises(IOProblem, match="'run' in .*g.zarr is a group, not an array") as e:
        B.meta(path, "run", ())
    assert e.value.kind is KeyError


@pytest.mark.parametrize("case, kind, match", [
    ("missing", FileNotFoundError, "no zarr store at .*missing.zarr"),
    ("plain_dir", ValueError, "plain.zarr is not a readable zarr store"),
    ("key_of_array", KeyError, "single zarr array.*has no array 'x'"),
    ("missing_array", KeyError, r"'nope' in .*g.zarr is not there; arrays: \['x'\]"),
    ("strings", TypeError, "s.zarr.*holds <U3 values"),
])
def test_meta_errors_name_the_path(tmp_path, case, kind, match):
    store(tmp_path / "a.zarr", np.arange(4.0))
    zarr.open_group(str(tmp_path / "g.zarr"), mode="w").create_array("x", shape=(2,),
                                                                      dtype="f8")
    os.mkdir(tmp_path / "plain.zarr")
    path, key = {
        "missing": ("missing.zarr", ""), "plain_dir": ("plain.zarr", ""),
        "key_of_array": ("a.zarr", "x"), "missing_array": ("g.zarr", "nope"),
        "strings": ("s.zarr", ""),
    }[case]
    if case == "strings":
        with pytest.warns(Warning):  # zarr warns that v3 has no fixed-length string spec
            store(tmp_path / "s.zarr", np.array(["abc", "de"]), chunks=(2,))
    with pytest.raises(IOProblem, match=match) as e:
        B.meta(str(tmp_path / path), key, ())
    assert e.value.kind is kind


def test_damaged_chunk_is_an_error_naming_the_path(tmp_path):
    path = store(tmp_path / "a.zarr", np.arange(8.0), chunks=(4,))
    m = B.meta(path, "", ())
    with open(os.path.join(path, "c", "1"), "wb") as f:
        f.write(b"garbage")
    np.testing.assert_array_equal(B.read(path, "", (slice(0, 4, 1),), m, ()), np.arange(4.0))
    with pytest.raises(IOProblem, match="reading .*a.zarr failed") as e:
        B.read(path, "", (slice(2, 6, 1),), m, ())
    assert e.value.kind is OSError


# ------------------------------------------------------------------ backend: layout and writes

@pytest.mark.parametrize("shape", [(10,), (1000, 3), (7, 5), (1, 6), (0, 3), (5, 100, 100)])
@pytest.mark.parametrize("size", [1, 2, 3, 4, 7])
def test_row_multiple_keeps_every_rank_busy_and_chunks_small(shape, size):
    c = B.row_multiple(shape, np.dtype("float64"), size)
    n = shape[0]
    assert c >= 1
    counts = core._chunked_counts(n, size, c)
    assert sum(counts) == n
    offsets = np.cumsum((0,) + counts[:-1])
    spans = zf._chunk_spans(counts, offsets, c)
    assert all(s[1] <= t[0] for s, t in zip(spans, spans[1:]))  # no chunk has two writers
    # no rank holds more than one chunk beyond its fair share
    assert max(counts) <= -(-n // size) + c
    row_bytes = 8 * int(np.prod(shape[1:]))
    assert c * row_bytes <= max(zf.TARGET_CHUNK_BYTES, row_bytes)


def test_big_arrays_get_chunks_near_the_target():
    c = B.row_multiple((10**7, 8), np.dtype("float64"), 4)
    assert zf.TARGET_CHUNK_BYTES // 2 < c * 64 <= zf.TARGET_CHUNK_BYTES
    # a row bigger than the target: one row per chunk, trailing axes cut
    assert zf._chunk_shape((3, 2000, 1000), 8, 1) == (1, 524, 1000)
    assert zf._chunk_shape((3, 10**7), 4, 1) == (1, zf.TARGET_CHUNK_BYTES // 4)
    assert zf._chunk_shape((6, 0), 8, 3) == (3, 1)
    assert zf._chunk_shape((), 8, 1) == ()


def _jobs(path, a, size, counts=None, key="", options=None):
    counts = counts or core._chunked_counts(a.shape[0], size,
                                            B.row_multiple(a.shape, a.dtype, size))
    offsets = np.cumsum((0,) + tuple(counts[:-1]))
    return [WriteJob(path=path, key=key, shape=a.shape, dtype=a.dtype,
                     block=a[o:o + n], split=0, offset=int(o), counts=tuple(counts), rank=r,
                     size=size, comm=None, options=dict(options or {}))
            for r, (o, n) in enumerate(zip(offsets, counts))]


@pytest.mark.parametrize("shape", [(13,), (9, 4), (2, 3), (0, 5), (6, 3, 2)])
@pytest.mark.parametrize("size", [1, 3, 4])
@pytest.mark.parametrize("key", ["", "run/x"])
def test_writes_of_simulated_ranks_own_their_chunks(tmp_path, shape, size, key):
    a = data(shape, "float32")
    path = str(tmp_path / "w.zarr")
    jobs = _jobs(path, a, size, key=key)
    B.prepare(jobs[0])
    arr = zf._open(path, key)
    c = arr.chunks[0]
    spans = zf._chunk_spans([j.counts[j.rank] for j in jobs], [j.offset for j in jobs], c)
    assert all(s[1] <= t[0] for s, t in zip(spans, spans[1:]))  # no chunk has two writers
    for j in jobs:
        B.write(j)
    B.finish(jobs[0])
    np.testing.assert_array_equal(zf._open(path, key)[...], a)
    assert arr.metadata.zarr_format == 3


def test_replicated_array_is_written_by_rank_0(tmp_path):
    a = data((5, 3), "int16")
    path = str(tmp_path / "r.zarr")
    jobs = [WriteJob(path, "", a.shape, a.dtype, a, None, 0, (), r, 3, None, {})
            for r in range(3)]
    B.prepare(jobs[0])
    for j in reversed(jobs):
        B.write(j)
    np.testing.assert_array_equal(zf._open(path, "")[...], a)


def test_compressors_and_user_chunks(tmp_path):
    a = np.arange(3000, dtype=np.int64).reshape(1000, 3) % 7
    for name, codec in [("lz4", "BloscCodec"), ("zstd", "ZstdCodec"), (None, None)]:
        path = str(tmp_path / f"{name}.zarr")
        jobs = _jobs(path, a, 2, options={"compressor": name, "chunks": (100, 3)})
        B.prepare(jobs[0])
        for j in jobs:
            B.write(j)
        arr = zf._open(path, "")
        assert arr.chunks == (100, 3)
        names = [type(c).__name__ for c in arr.metadata.codecs]
        assert (codec in names) if codec else names == ["BytesCodec"]
        np.testing.assert_array_equal(arr[...], a)
    with pytest.raises(IOProblem, match="unknown zarr compressor 'gzip'"):
        B.prepare(_jobs(str(tmp_path / "g.zarr"), a, 1, options={"compressor": "gzip"})[0])
    with pytest.raises(IOProblem, match="chunks"):
        B.prepare(_jobs(str(tmp_path / "c.zarr"), a, 1, options={"chunks": (10,)})[0])


def test_chunk_straddling_blocks_are_detected():
    # balanced counts of 10 rows over 3 ranks with chunks of 4 rows: 4|3|3 splits chunk 1
    spans = zf._chunk_spans((4, 3, 3), (0, 4, 7), 4)
    assert any(s[1] > t[0] for s, t in zip(spans, spans[1:]))
    assert zf._chunk_spans((4, 4, 2), (0, 4, 8), 4) == [(0, 1), (1, 2), (2, 3)]
    assert zf._chunk_spans((4, 0, 2), (0, 4, 4), 4) == [(0, 1), (1, 2)]


# ------------------------------------------------------------------ public API

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (6, 5), (3, 4, 2), (0, 3), ()])
def test_round_trip(tmp_path, dtype, shape):
    a = data(shape, dtype)
    path = tmp_path / "a.zarr"
    for split in [None] + list(range(len(shape))):
        x = lh.array(a, split=split)
        save_zarr(x, path, overwrite=True)
        y = load_zarr(path, split=split)
        assert y.shape == a.shape and y.dtype.name == dtype and y.split == split
        np.testing.assert_array_equal(y.numpy(), a)
        np.testing.assert_array_equal(zarr.open_array(str(path), mode="r")[...], a)
    assert sorted(os.listdir(tmp_path)) == ["a.zarr"]  # no temporary left


def test_groups_slices_dtype_and_lh_load(tmp_path):
    a = data((20, 6), "float64")
    path = tmp_path / "run.zarr"
    save_zarr(lh.array(a, split=0), path, variable="results/x", chunks=(4, 3),
              compressor="zstd")
    x = load_zarr(path, "results/x", split=1, slices=(slice(2, 15, 3), None))
    np.testing.assert_array_equal(x.numpy(), a[2:15:3])
    np.testing.assert_array_equal(load_zarr(path, "results/x", slices=slice(5, 8)).numpy(),
                                  a[5:8])
    assert load_zarr(path, "results/x", dtype=lh.float32).dtype == lh.float32
    np.testing.assert_array_equal(lh.load(path, "results/x").numpy(), a)
    store(tmp_path / "u64.zarr", np.arange(5, dtype=np.uint64))
    u64 = load_zarr(tmp_path / "u64.zarr").numpy()
    assert u64.dtype == np.uint64
    np.testing.assert_array_equal(u64, np.arange(5, dtype=np.uint64))
    np.testing.assert_array_equal(load_zarr(tmp_path / "u64.zarr", dtype=lh.int64).numpy(),
                                  np.arange(5))
    lh.save(lh.arange(4), tmp_path / "b.zarr")
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "b.zarr"))[...], np.arange(4))


def test_sliced_load_reads_only_the_touched_chunks(tmp_path):
    a = np.arange(400.0).reshape(100, 4)
    path = store(tmp_path / "a.zarr", a, chunks=(10, 4))
    # damage every chunk outside rows 30..49: reading one of them would fail
    for i in list(range(0, 3)) + list(range(5, 10)):
        with open(os.path.join(path, "c", str(i), "0"), "wb") as f:
            f.write(b"not a chunk")
    x = load_zarr(path, split=0)
    y = x[30:50:2, 1:3]
    p = lh.plan(y.sum())
    loads = [n for n in lh.graph.topo_order(p.outputs) if n.op == "load"]
    assert len(loads) == 1 and loads[0].attr("region") == ((30, 50, 2), (1, 3, 1))
    np.testing.assert_array_equal(y.numpy(), a[30:50:2, 1:3])
    with pytest.raises((OSError, IOProblem), match="reading .*a.zarr failed"):
        x.numpy()  # the whole array touches the damaged chunks


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.zarr"):
        load_zarr(tmp_path / "missing.zarr")
    path = tmp_path / "a.zarr"
    save_zarr(lh.arange(5), path)
    with pytest.raises(FileExistsError, match="overwrite"):
        save_zarr(lh.arange(3), path)
    np.testing.assert_array_equal(load_zarr(path).numpy(), np.arange(5))  # intact
    with pytest.raises(KeyError, match="single zarr array"):
        load_zarr(path, "x")
    with pytest.raises(TypeError, match="variable must be str"):
        load_zarr(path, 3)
    with pytest.raises(TypeError, match="slices"):
        load_zarr(path, slices=(1,))
    with pytest.raises(ValueError, match="unknown zarr compressor"):
        save_zarr(lh.arange(3), tmp_path / "c.zarr", compressor="nope")
    assert sorted(os.listdir(tmp_path)) == ["a.zarr"]
