"""Parquet loads and saves on one rank: footers, column selection and types, reads of only the
row groups a slab needs, dataset directories (ranks simulated in turn), and the public
load_parquet/save_parquet against NumPy."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import lazyheat as lh  # noqa: E402
from lazyheat.io.parquet import load_parquet, save_parquet  # noqa: E402
from lazyheat.runtime.io import IOProblem, WriteJob, backend  # noqa: E402

DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64")
B = backend("parquet")


def data(shape, dtype, seed=0):
    a = np.random.default_rng(seed).random(shape) * 10 - 3
    return (a > 2) if dtype == "bool" else a.astype(dtype)


def table_file(path, row_group_size=None, **columns):
    pq.write_table(pa.table(columns), str(path), row_group_size=row_group_size)
    return str(path)


@pytest.fixture
def reads(monkeypatch):
    """Every ``read_row_groups`` call: (file name, row groups, columns)."""
    calls = []
    init, read = pq.ParquetFile.__init__, pq.ParquetFile.read_row_groups

    def spy_init(self, source, *args, **kw):
        init(self, source, *args, **kw)
        self._spied_name = os.path.basename(str(source))

    def spy_read(self, row_groups, columns=None, **kw):
        calls.append((self._spied_name, tuple(row_groups), tuple(columns or ())))
        return read(self, row_groups, columns=columns, **kw)

    monkeypatch.setattr(pq.ParquetFile, "__init__", spy_init)
    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy_read)
    return calls


# ------------------------------------------------------------------ backend: meta and read

def test_meta_types_and_column_selection(tmp_path):
    n = 25
    path = table_file(tmp_path / "t.parquet", row_group_size=10,
                      a=np.arange(n, dtype=np.int32), b=np.linspace(0, 1, n),
                      c=np.arange(n) % 2 == 0, d=np.arange(n, dtype=np.int8))
    m = B.meta(path, "", ())
    assert m.shape == (n, 4) and m.dtype == np.float64  # int32, float64, bool, int8 promote
    assert m.get("groups") == ((10, 10, 5),) and m.get("files") == ("",)
    m = B.meta(path, "", (("columns", ("c", "d")),))
    assert m.shape == (n, 2) and m.dtype == np.int8  # bool with int8 gives int8
    m = B.meta(path, "", (("columns", (-1, 0)),))
    assert m.get("columns") == ("d", "a") and m.dtype == np.int32
    got = B.read(path, "", (slice(3, 24, 4), slice(0, 2, 1)), m, ())
    np.testing.assert_array_equal(got, np.stack([np.arange(n), np.arange(n)], 1)[3:24:4])
    m = B.meta(path, "", (("columns", "b"),))  # one name, not in a list: 1-d
    assert m.shape == (n,)
    np.testing.assert_array_equal(B.read(path, "", (slice(8, 13, 1),), m, ()),
                                  np.linspace(0, 1, n)[8:13])
    assert B.meta(path, "b", ()).shape == (n,)  # a key names one column too
    m = B.meta(path, "", (("columns", ()),))
    assert m.shape == (n, 0)


def test_a_pandas_index_is_left_out(tmp_path):
    path = str(tmp_path / "p.parquet")
    meta = {b"pandas": json.dumps({"index_columns": ["__index_level_0__"], "columns": []})}
    pq.write_table(pa.table({"v": np.arange(3.0), "__index_level_0__": np.arange(3) * 7},
                            metadata=meta), path)
    assert B.meta(path, "", ()).get("columns") == ("v",)
    m = B.meta(path, "", (("columns", ("__index_level_0__",)),))
    np.testing.assert_array_equal(B.read(path, "", (slice(0, 3, 1), slice(0, 1, 1)), m, ()),
                                  [[0], [7], [14]])


@pytest.mark.parametrize("dtype", DTYPES + ("uint16", "uint32", "uint64"))
def test_column_dtypes(tmp_path, dtype):
    a = data((9,), dtype)
    path = table_file(tmp_path / "t.parquet", row_group_size=4, x=a, y=a)
    m = B.meta(path, "", ())
    expected = {"uint16": np.int32, "uint32": np.int64}.get(dtype, np.dtype(dtype))
    assert m.dtype == expected
    got = B.read(path, "", (slice(1, 9, 3), slice(0, 2, 1)), m, ())
    assert got.dtype == expected
    np.testing.assert_array_equal(got, np.stack([a, a], 1)[1:9:3].astype(expected))


def test_nulls(tmp_path):
    vals = pa.array([1, None, 3, 4], pa.int64())
    path = table_file(tmp_path / "n.parquet", i=vals, f=pa.array([0.5, 1.5, None, 2.0]),
                      b=pa.array([True, False, None, True]))
    m = B.meta(path, "", ())
    assert m.dtype == np.float64  # statistics announce the nulls: read as NaN
    np.testing.assert_array_equal(B.read(path, "", (slice(0, 4, 1), slice(0, 3, 1)), m, ()),
                                  [[1, 0.5, 1], [np.nan, 1.5, 0], [3, np.nan, np.nan],
                                   [4, 2.0, 1]])
    assert B.meta(path, "", (("columns", ("b",)),)).dtype == np.float64
    bare = str(tmp_path / "bare.parquet")
    pq.write_table(pa.table({"i": vals}), bare, write_statistics=False)
    m = B.meta(bare, "", ())
    assert m.dtype == np.int64
    np.testing.assert_array_equal(B.read(bare, "", (slice(2, 4, 1), slice(0, 1, 1)), m, ()),
                                  [[3], [4]])
    with pytest.raises(IOProblem, match="column 'i' of .*bare.parquet holds nulls"):
        B.read(bare, "", (slice(0, 4, 1), slice(0, 1, 1)), m, ())


def test_reads_only_the_row_groups_and_columns_of_the_slab(tmp_path, reads):
    a = np.arange(300.0).reshape(100, 3)
    path = table_file(tmp_path / "t.parquet", row_group_size=10,
                      **{str(j): a[:, j] for j in range(3)})
    m = B.meta(path, "", ())
    got = B.read(path, "", (slice(25, 47, 1), slice(1, 3, 1)), m, ())
    np.testing.assert_array_equal(got, a[25:47, 1:3])
    assert reads == [("t.parquet", (2, 3, 4), ("1", "2"))]
    reads.clear()
    got = B.read(path, "", (slice(0, 100, 30), slice(0, 3, 2)), m, ())
    np.testing.assert_array_equal(got, a[0:100:30, 0:3:2])
    assert [r[1] for r in reads] == [(0,), (3,), (6,), (9,)]  # groups without rows skipped
    reads.clear()
    assert B.read(path, "", (slice(50, 50, 1), slice(0, 3, 1)), m, ()).shape == (0, 3)
    assert reads == []


def test_dataset_directories(tmp_path, reads):
    d = tmp_path / "ds.parquet"
    d.mkdir()
    a = np.arange(40, dtype=np.int64)
    for i, (lo, hi) in enumerate([(0, 15), (15, 15), (15, 40)]):
        table_file(d / f"part-{i:05d}.parquet", row_group_size=6, v=a[lo:hi], w=-a[lo:hi])
    (d / "_SUCCESS").write_text("")
    (d / ".part-00000.parquet.crc").write_text("x")
    m = B.meta(str(d), "", ())
    assert m.shape == (40, 2) and m.get("files") == tuple(f"part-{i:05d}.parquet"
                                                         for i in range(3))
    got = B.read(str(d), "", (slice(10, 22, 1), slice(0, 2, 1)), m, ())
    np.testing.assert_array_equal(got, np.stack([a, -a], 1)[10:22])
    assert [(r[0], r[1]) for r in reads] == [("part-00000.parquet", (1, 2)),
                                             ("part-00002.parquet", (0, 1))]


@pytest.mark.parametrize("case, kind, match", [
    ("missing", FileNotFoundError, "no parquet file or dataset directory at .*missing"),
    ("text", ValueError, "text.parquet is not a readable parquet file"),
    ("truncated", ValueError, "trunc.parquet is not a readable parquet file"),
    ("empty_dir", ValueError, "empty.parquet holds no parquet files"),
    ("partitioned", ValueError, "subdirectories \\['year=2020'\\]"),
    ("mismatch", ValueError, "part-1.parquet' of dataset .*mix.parquet has columns"),
    ("strings", TypeError, "not numeric: 'name' \\(string\\), 'when' \\(timestamp"),
    ("no_column", KeyError, "no column 'z' in .*ok.parquet; columns: \\['x', 'y'\\]"),
    ("bad_index", KeyError, "column index 5 out of range: .*ok.parquet has 2 columns"),
])
def test_meta_errors_name_the_path(tmp_path, case, kind, match):
    ok = table_file(tmp_path / "ok.parquet", x=np.arange(3), y=np.ones(3))
    (tmp_path / "text.parquet").write_text("not parquet at all")
    (tmp_path / "trunc.parquet").write_bytes(open(ok, "rb").read()[:-12])
    (tmp_path / "empty.parquet").mkdir()
    (tmp_path / "part.parquet" / "year=2020").mkdir(parents=True)
    (tmp_path / "mix.parquet").mkdir()
    table_file(tmp_path / "mix.parquet" / "part-0.parquet", x=np.arange(3))
    table_file(tmp_path / "mix.parquet" / "part-1.parquet", x=np.arange(3.0))
    table_file(tmp_path / "s.parquet", name=pa.array(["a", "b"]), v=np.ones(2),
               when=pa.array([1, 2], pa.timestamp("s")))
    path, opts = {"missing": ("missing.parquet", ()), "text": ("text.parquet", ()),
                  "truncated": ("trunc.parquet", ()), "empty_dir": ("empty.parquet", ()),
                  "partitioned": ("part.parquet", ()), "mismatch": ("mix.parquet", ()),
                  "strings": ("s.parquet", ()),
                  "no_column": ("ok.parquet", (("columns", ("x", "z")),)),
                  "bad_index": ("ok.parquet", (("columns", (5,)),))}[case]
    with pytest.raises(IOProblem, match=match) as e:
        B.meta(str(tmp_path / path), "", opts)
    assert e.value.kind is kind
    if case == "strings":  # the numeric column alone is fine
        assert B.meta(str(tmp_path / path), "", (("columns", ("v",)),)).shape == (2, 1)


# ------------------------------------------------------------------ backend: writes

def _jobs(path, a, counts, options=None):
    offsets = np.cumsum((0,) + tuple(counts[:-1]))
    return [WriteJob(path=path, key="", shape=a.shape, dtype=a.dtype, block=a[o:o + n],
                     split=0, offset=int(o), counts=tuple(counts), rank=r, size=len(counts),
                     comm=None, options=dict(options or {}))
            for r, (o, n) in enumerate(zip(offsets, counts))]


@pytest.mark.parametrize("counts", [(9,), (3, 3, 3), (0, 5, 0, 4), (0, 0, 0)])
def test_writes_of_simulated_ranks(tmp_path, counts):
    a = data((sum(counts), 3), "float32")
    path = str(tmp_path / "w.parquet")
    jobs = _jobs(path, a, counts, {"columns": ("a", "b", "c"), "row_group_size": 2})
    B.prepare(jobs[0])
    for j in reversed(jobs):  # any order: every rank writes its own file
        B.write(j)
    B.finish(jobs[0])
    files = sorted(os.listdir(path))
    assert files == [f"part-{r:05d}.parquet" for r, n in enumerate(counts) if n or r == 0]
    t = pq.read_table(path)  # pyarrow reads the directory as one table, in row order
    assert t.column_names == ["a", "b", "c"]
    np.testing.assert_array_equal(np.stack([t[c].to_numpy() for c in "abc"], 1), a)
    f = pq.ParquetFile(os.path.join(path, files[0]))
    assert all(f.metadata.row_group(g).num_rows <= 2 for g in range(f.metadata.num_row_groups))
    m = B.meta(path, "", ())
    np.testing.assert_array_equal(B.read(path, "", (slice(0, len(a), 1), slice(0, 3, 1)),
                                         m, ()), a)


def test_encodings_and_the_1d_marker(tmp_path):
    path = str(tmp_path / "e.parquet")
    ints = np.arange(1000) % 5
    for j in _jobs(path, ints, (1000,)):
        B.prepare(j)
        B.write(j)
    f = pq.ParquetFile(os.path.join(path, "part-00000.parquet"))
    assert "RLE_DICTIONARY" in f.metadata.row_group(0).column(0).encodings
    assert f.metadata.row_group(0).column(0).compression == "SNAPPY"
    m = B.meta(path, "", ())
    assert m.shape == (1000,)  # saved from a 1-d array: loads as 1-d
    path = str(tmp_path / "f.parquet")
    for j in _jobs(path, ints * 0.5, (1000,), {"compression": "zstd"}):
        B.prepare(j)
        B.write(j)
    col = pq.ParquetFile(os.path.join(path, "part-00000.parquet")).metadata.row_group(0).column(0)
    assert "RLE_DICTIONARY" not in col.encodings and col.compression == "ZSTD"


def test_write_refusals(tmp_path):
    for a, kind, match in [(np.ones((2, 2, 2)), ValueError, "1-d and 2-d"),
                           (np.ones(3, np.complex64), TypeError, "no complex64 columns"),
                           (np.ones((3, 2)), ValueError, "1 column names")]:
        job = _jobs(str(tmp_path / "x.parquet"), a, (len(a),), {"columns": ("a",)}
                    if a.ndim == 2 and a.shape[1] == 2 else None)[0]
        with pytest.raises(IOProblem, match=match) as e:
            B.prepare(job)
        assert e.value.kind is kind
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ public API

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (6, 5), (0, 3), (1, 4), (0,)])
def test_round_trip(tmp_path, dtype, shape):
    a = data(shape, dtype)
    path = tmp_path / "a.parquet"
    for split in [None] + list(range(len(shape))):
        save_parquet(lh.array(a, split=split), path, overwrite=True)
        y = load_parquet(path, split=split)
        assert y.shape == a.shape and y.dtype.name == dtype and y.split == split
        np.testing.assert_array_equal(y.numpy(), a)
        t = pq.read_table(str(path))
        assert t.num_rows == a.shape[0] and t.num_columns == (a.shape[1] if a.ndim == 2 else 1)
    assert sorted(os.listdir(tmp_path)) == ["a.parquet"]  # no temporary left


def test_columns_suffixes_and_sliced_loads(tmp_path, reads):
    a = data((50, 4), "float64")
    path = tmp_path / "t.parquet"
    save_parquet(lh.array(a, split=0), path, columns=["w", "x", "y", "z"], row_group_size=10)
    assert pq.read_table(str(path)).column_names == ["w", "x", "y", "z"]
    np.testing.assert_array_equal(load_parquet(path, columns=["z", 1]).numpy(), a[:, [3, 1]])
    np.testing.assert_array_equal(load_parquet(path, columns="y").numpy(), a[:, 2])
    np.testing.assert_array_equal(lh.load(path).numpy(), a)
    x = load_parquet(path, columns=("x", "y", "z"), split=0)
    y = x[12:27:2, 1:]
    p = lh.plan(y.sum())
    loads = [n for n in lh.graph.topo_order(p.outputs) if n.op == "load"]
    assert len(loads) == 1 and loads[0].attr("region") == ((12, 27, 2), (1, 3, 1))
    reads.clear()
    np.testing.assert_array_equal(y.numpy(), a[12:27:2, 2:])
    assert [r[1:] for r in reads] == [((1, 2), ("y", "z"))]
    lh.save(lh.arange(6), tmp_path / "b.pq")
    np.testing.assert_array_equal(lh.load(tmp_path / "b.pq").numpy(), np.arange(6))
    np.testing.assert_array_equal(load_parquet(tmp_path / "b.pq", dtype=lh.float32).numpy(),
                                  np.arange(6, dtype=np.float32))


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.parquet"):
        load_parquet(tmp_path / "missing.parquet")
    path = tmp_path / "a.parquet"
    save_parquet(lh.arange(5), path)
    with pytest.raises(FileExistsError, match="overwrite"):
        save_parquet(lh.arange(3), path)
    np.testing.assert_array_equal(load_parquet(path).numpy(), np.arange(5))  # intact
    with pytest.raises(KeyError, match="no column 'q'"):
        load_parquet(path, columns=["q"])
    with pytest.raises(TypeError, match="complex"):
        save_parquet(lh.ones(3, dtype=lh.complex64), tmp_path / "c.parquet")
    with pytest.raises(ValueError, match="1-d and 2-d"):
        save_parquet(lh.ones((2, 2, 2)), tmp_path / "d.parquet")
    with pytest.raises(TypeError, match="columns must be"):
        load_parquet(path, columns=[1.5])
    table_file(tmp_path / "s.parquet", name=pa.array(["a"]), v=np.ones(1))
    with pytest.raises(TypeError, match="not numeric: 'name'"):
        load_parquet(tmp_path / "s.parquet")
    assert sorted(os.listdir(tmp_path)) == ["a.parquet", "s.parquet"]
