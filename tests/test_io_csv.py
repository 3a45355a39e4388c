"""The CSV backend on one process: the scan (shape, ragged rows, line endings, headers), row
reads through the coarse index on both parsers, formatting, and ``load_csv``/``save_csv``
end to end against NumPy."""

from __future__ import annotations

import os

import numpy as np
import pytest

import lazyheat as lh
from lazyheat.io.csv import load_csv, save_csv
from lazyheat.runtime.io import IOProblem, WriteJob, backend
from lazyheat.runtime.io import csv_format as cf
from lazyheat.runtime.io import csv_scan as cs

CSV = backend("csv")
ENGINES = ("pyarrow", "numpy")


def _opts(**kw):
    return tuple(sorted(kw.items()))


def _file(tmp_path, data: bytes, name="a.csv") -> str:
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def _read(path, meta, rows=None, cols=None, **opts):
    n, c = meta.shape
    index = (rows or slice(0, n), cols or slice(0, c))
    return CSV.read(path, "", index, meta, _opts(**opts))


def _text(a, sep=",", nl="\n") -> bytes:
    return "".join(sep.join(repr(v) for v in row) + nl for row in a.tolist()).encode()


# ------------------------------------------------------------------ the scan

@pytest.mark.parametrize("sep", [",", ";", "\t"])
@pytest.mark.parametrize("nl", ["\n", "\r\n"])
@pytest.mark.parametrize("final", [True, False])
def test_shapes_and_values(tmp_path, sep, nl, final):
    a = np.arange(-6, 15).reshape(7, 3)
    data = _text(a, sep, nl)
    p = _file(tmp_path, data if final else data[:-len(nl)])
    for dtype in ("int64", "float64", "int8"):
        m = CSV.meta(p, "", _opts(sep=sep, dtype=dtype))
        assert m.shape == (7, 3) and m.dtype == np.dtype(dtype)
        for engine in ENGINES:
            out = _read(p, m, sep=sep, engine=engine)
            assert out.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(out, a)


def test_header_lines_blank_lines_and_bom(tmp_path):
    data = b"\xef\xbb\xbfname,x\r\n# a comment, here\r\n1.5,2\r\n\r\n3,4.25\r\n\n5,6\r\n\r\n\n"
    p = _file(tmp_path, data)
    m = CSV.meta(p, "", _opts(header_lines=2, dtype="float64"))
    assert m.shape == (3, 2) and m.get("blank")
    for engine in ENGINES:
        np.testing.assert_array_equal(_read(p, m, engine=engine), [[1.5, 2], [3, 4.25], [5, 6]])
        np.testing.assert_array_equal(_read(p, m, rows=slice(1, 3), engine=engine),
                                      [[3, 4.25], [5, 6]])
    m = CSV.meta(_file(tmp_path, b"1,2\n3,4\n", "b.csv"), "", _opts())
    assert m.shape == (2, 2) and m.dtype == np.float64  # lossless for any later cast


def test_files_without_data(tmp_path):
    for data in (b"", b"\n\n", b"a,b,c\n", b"a,b,c"):
        m = CSV.meta(_file(tmp_path, data), "", _opts(header_lines=1 if data[:1] == b"a" else 0))
        assert m.shape == (0, 0)
    m = CSV.meta(_file(tmp_path, b"1;2\n"), "", _opts(header_lines=5, sep=";"))
    assert m.shape == (0, 0)


def test_one_column_and_whitespace(tmp_path):
    p = _file(tmp_path, b" 1.5 \n2\n-3e2\n")
    m = CSV.meta(p, "", _opts(dtype="float64"))
    assert m.shape == (3, 1)
    for engine in ENGINES:
        np.testing.assert_array_equal(_read(p, m, engine=engine), [[1.5], [2], [-300]])


@pytest.mark.parametrize("block", [64, 200, 1 << 20])
def test_ragged_rows_name_the_line(tmp_path, monkeypatch, block):
    monkeypatch.setattr(cs, "_BLOCK", block)  # small blocks: lines straddle block ends
    rows = [b"1,2,3"] * 40
    rows[29] = b"1,2"
    p = _file(tmp_path, b"h\r\nh\r\n" + b"\r\n".join(rows) + b"\r\n")
    with pytest.raises(IOProblem, match=r"a\.csv: line 32 has 2 fields, expected 3") as e:
        CSV.meta(p, "", _opts(header_lines=2))
    assert e.value.kind is ValueError
    rows[29], rows[39] = b"1,2,3", b"1,2,3,4,5"  # the last line, without a newline
    p = _file(tmp_path, b"\n".join(rows))
    with pytest.raises(IOProblem, match="line 40 has 5 fields"):
        CSV.meta(p, "", _opts())
    p = _file(tmp_path, b"1,2\n3,4\n   \n")  # spaces are not a blank line
    with pytest.raises(IOProblem, match="line 3 has 1 field,"):
        CSV.meta(p, "", _opts())


@pytest.mark.parametrize("block", [64, 1 << 20])
def test_quotes_are_refused_after_the_header(tmp_path, monkeypatch, block):
    monkeypatch.setattr(cs, "_BLOCK", block)
    head = b'"a long quoted name","b"\n' * 5
    rows = b"1,2\n" * 30
    m = CSV.meta(_file(tmp_path, head + rows), "", _opts(header_lines=5))
    assert m.shape == (30, 2)  # quotes in the header are fine
    with pytest.raises(IOProblem, match="line 5 holds a quote") as e:
        CSV.meta(_file(tmp_path, head + rows), "", _opts(header_lines=4))
    assert e.value.kind is ValueError
    # a quoted separator is reported as a quote, not as a ragged row
    with pytest.raises(IOProblem, match="line 36 holds a quote"):
        CSV.meta(_file(tmp_path, head + rows + b'1,"2,5"\n'), "", _opts(header_lines=5))


def test_refused_files(tmp_path):
    with pytest.raises(IOProblem, match=r"'\\r' alone"):
        CSV.meta(_file(tmp_path, b"1,2\r3,4\r"), "", _opts())
    p = _file(tmp_path, b"1,2\n")
    with pytest.raises(IOProblem, match="ASCII-compatible"):
        CSV.meta(p, "", _opts(encoding="utf-16"))
    with pytest.raises(IOProblem, match="one character"):
        CSV.meta(p, "", _opts(sep=", "))
    with pytest.raises(IOProblem, match="cannot separate"):
        CSV.meta(p, "", _opts(sep="."))
    with pytest.raises(IOProblem, match="header_lines"):
        CSV.meta(p, "", _opts(header_lines=-1))
    with pytest.raises(IOProblem, match="no datasets") as e:
        CSV.meta(p, "x", _opts())
    assert e.value.kind is KeyError
    with pytest.raises(IOProblem, match="missing.csv: no such file") as e:
        CSV.meta(str(tmp_path / "missing.csv"), "", _opts())
    assert e.value.kind is FileNotFoundError


@pytest.mark.parametrize("piece", [1, 1 << 20])
@pytest.mark.parametrize("engine", ENGINES)
def test_bad_values_name_line_and_column(tmp_path, monkeypatch, engine, piece):
    monkeypatch.setattr(cf, "_PIECE", piece)
    p = _file(tmp_path, b"x,y\n1,2\n\n3,abc\n5,6\n")
    m = CSV.meta(p, "", _opts(header_lines=1))
    with pytest.raises(IOProblem, match="line 4, column 2: cannot read values as float64"):
        _read(p, m, engine=engine)
    np.testing.assert_array_equal(_read(p, m, rows=slice(2, 3), engine=engine), [[5, 6]])
    p = _file(tmp_path, b"1,300\n", "i.csv")
    with pytest.raises(IOProblem, match="int8"):
        _read(p, CSV.meta(p, "", _opts(dtype="int8")), engine=engine)


def test_a_changed_file_is_noticed(tmp_path):
    p = _file(tmp_path, b"1,2\n3,4\n")
    m = CSV.meta(p, "", _opts())
    _file(tmp_path, b"1,2\n3,4\n5,6\n")
    with pytest.raises(IOProblem, match="changed since it was scanned"):
        _read(p, m)


# ------------------------------------------------------------------ the row index

def _index_file(tmp_path, blank: bool):
    a = np.arange(97 * 3).reshape(97, 3) - 50
    lines = [",".join(map(str, r)) for r in a.tolist()]
    if blank:
        lines = [s + ("\r\n" if i % 7 == 3 else "\n" if i % 11 == 5 else "")
                 for i, s in enumerate(lines)]
    return a, _file(tmp_path, ("\r\n".join(lines) + "\n\n").encode())


@pytest.mark.parametrize("blank", [False, True])
def test_index_and_every_row_range(tmp_path, monkeypatch, blank):
    monkeypatch.setattr(cs, "_BLOCK", 100)
    monkeypatch.setattr(cs, "_MAX_INDEX", 8)  # 97 rows: stride 16, 7 entries
    monkeypatch.setattr(cf, "_PIECE", 50)  # a few rows per parsed piece
    a, p = _index_file(tmp_path, blank)
    m = CSV.meta(p, "", _opts(dtype="int64"))
    assert m.shape == (97, 3) and m.get("stride") == 16 and len(m.get("index")) == 7
    assert m.get("blank") == blank
    with open(p, "rb") as f:
        data = f.read()
    for off in m.get("index"):  # every entry is the start of a data row
        assert off == 0 or data[off - 1:off] == b"\n"
    for engine in ENGINES:
        for start in range(0, 98, 5):
            for stop in range(start, 98, 7):
                for step in (1, 3):
                    got = _read(p, m, slice(start, stop, step), slice(0, 3), engine=engine)
                    np.testing.assert_array_equal(got, a[start:stop:step])
        np.testing.assert_array_equal(_read(p, m, slice(5, 60), slice(0, 3, 2), engine=engine),
                                      a[5:60, 0:3:2])


@pytest.mark.parametrize("seed", range(12))
def test_random_files_against_a_line_by_line_reading(tmp_path, monkeypatch, seed):
    """Random line endings, blank lines, headers, final newlines, block and index sizes."""
    g = np.random.default_rng(seed)
    monkeypatch.setattr(cs, "_BLOCK", int(g.choice([64, 128, 1000])))
    monkeypatch.setattr(cs, "_MAX_INDEX", int(g.choice([2, 5, 64])))
    monkeypatch.setattr(cf, "_PIECE", int(g.choice([1, 30, 1 << 20])))  # parsed in pieces
    a = g.integers(-10**6, 10**6, size=(int(g.integers(1, 200)), int(g.integers(1, 6))))
    header = int(g.integers(0, 3))
    lines = [b"head,er" for _ in range(header)]
    for row in a.tolist():
        lines += [b""] * int(g.random() < 0.1)
        lines.append(",".join(map(str, row)).encode())
    ends = [b"\r\n" if g.random() < 0.5 else b"\n" for _ in lines]
    data = b"".join(x + e for x, e in zip(lines, ends)) + b"\n" * int(g.integers(0, 3))
    if g.random() < 0.5 and data.endswith(b"\n") and lines[-1]:
        data = data.rstrip(b"\r\n")
    p = _file(tmp_path, data)
    m = CSV.meta(p, "", _opts(header_lines=header, dtype="int64"))
    assert m.shape == a.shape
    for engine in ENGINES:
        np.testing.assert_array_equal(_read(p, m, engine=engine), a)
        for _ in range(5):
            lo, hi = sorted(g.integers(0, len(a) + 1, size=2))
            np.testing.assert_array_equal(_read(p, m, slice(lo, hi), engine=engine), a[lo:hi])
    if len(a) > 1:  # one ragged row, reported at its line
        bad = int(g.integers(0, len(a)))
        lines = data.split(b"\n")
        rows = [i for i, x in enumerate(lines) if i >= header and x.strip(b"\r")]
        lines[rows[bad]] = lines[rows[bad]].rstrip(b"\r") + b",7"
        p = _file(tmp_path, b"\n".join(lines), "bad.csv")
        first = rows[1] + 1 if bad == 0 else rows[bad] + 1
        with pytest.raises(IOProblem, match=f"line {first} has"):
            CSV.meta(p, "", _opts(header_lines=header))


def test_reads_only_the_rows_byte_range(tmp_path, monkeypatch):
    monkeypatch.setattr(cs, "_MAX_INDEX", 64)
    a = np.arange(20000 * 2).reshape(20000, 2)
    p = _file(tmp_path, _text(a))
    m = CSV.meta(p, "", _opts(dtype="int64"))
    k, idx = m.get("stride"), m.get("index")
    seen = []
    real = cf._map_bytes
    monkeypatch.setattr(cf, "_map_bytes", lambda *args: seen.append(args[1:]) or real(*args))
    for start, stop in [(0, 5000), (5000, 10000), (12345, 15432), (19999, 20000)]:
        np.testing.assert_array_equal(_read(p, m, slice(start, stop)), a[start:stop])
        lo, hi = seen.pop()
        # from the indexed row at or before start to the indexed row at or after stop:
        # less than one stride of extra rows on each side
        first, last = start // k * k, min(-(-stop // k) * k, len(a))
        assert start - first < k and last - stop < k
        assert (lo, hi) == (_offset(a, first), _offset(a, last))
        assert lo == idx[start // k]


def _offset(a, row):
    return len(_text(a[:row]))


@pytest.fixture(scope="module")
def million(tmp_path_factory):
    a = np.random.default_rng(3).standard_normal((1_000_000, 3)).round(6)
    p = tmp_path_factory.mktemp("csv") / "million.csv"
    p.write_bytes(cf._format_rows(a, ",", -1, "utf-8", "auto"))
    return str(p), np.loadtxt(p, delimiter=",")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_million_rows_in_chunks_equal_loadtxt(million, engine):
    p, want = million
    m = CSV.meta(p, "", _opts(dtype="float64"))
    assert m.shape == want.shape and len(m.get("index")) <= cs._MAX_INDEX
    for ranks in (1, 2, 3, 4):
        counts = [len(r) for r in np.array_split(np.arange(len(want)), ranks)]
        bounds = np.concatenate(([0], np.cumsum(counts)))
        parts = [_read(p, m, slice(lo, hi), engine=engine) for lo, hi in zip(bounds, bounds[1:])]
        np.testing.assert_array_equal(np.concatenate(parts), want)


# ------------------------------------------------------------------ writing

class _Comm:
    """allgather for ranks simulated one after the other: the byte counts are known."""

    def __init__(self, sizes):
        self.sizes = sizes

    def allgather(self, value):
        return list(self.sizes)


def _save(path, a, size=1, **options):
    """The backend's prepare/write/finish as core.save runs them, ranks in turn."""
    a = np.asarray(a)
    counts = [len(r) for r in np.array_split(np.arange(len(a)), size)] if a.ndim else [0]
    bounds = np.concatenate(([0], np.cumsum(counts)))
    blocks = [a[lo:hi] for lo, hi in zip(bounds, bounds[1:])]
    enc = options.get("encoding", "utf-8")
    sizes = [len(cf._format_rows(b, options.get("sep", ","), options.get("decimals", -1), enc,
                                 options.get("engine", "auto"))) for b in blocks]
    jobs = [WriteJob(path, "", a.shape, a.dtype, b, 0, int(bounds[r]), tuple(counts), r, size,
                     _Comm(sizes) if size > 1 else None, dict(options))
            for r, b in enumerate(blocks)]
    CSV.prepare(jobs[0])
    for job in reversed(jobs):  # in any order: every rank writes at its own offset
        CSV.write(job)
    CSV.finish(jobs[0])


DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32",
          "float64", "complex64", "complex128")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("engine", ENGINES)
def test_save_round_trips(tmp_path, dtype, engine):
    g = np.random.default_rng(4)
    a = (g.standard_normal((13, 4)) * 50).astype(dtype)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * g.standard_normal((13, 4)).astype(dtype)
    if np.dtype(dtype).kind == "f":
        a[0, :3] = [np.inf, -np.inf, 0.1]
    p = str(tmp_path / "a.csv")
    for size in (1, 3, 20):
        _save(p, a, size, engine=engine, header_lines=["col a", "col b\n"])
        m = CSV.meta(p, "", _opts(dtype=dtype, header_lines=2))
        np.testing.assert_array_equal(_read(p, m, engine=engine), a)
    if np.dtype(dtype).kind in "fc":
        assert np.array_equal(np.loadtxt(p, dtype=dtype, delimiter=",", skiprows=2), a)


def test_save_formats(tmp_path):
    p = str(tmp_path / "a.csv")
    _save(p, np.array([1.0, 2.5, -3.25]), 2, decimals=3, sep=";", header_lines="v")
    assert open(p).read() == "v\n1.000\n2.500\n-3.250\n"
    _save(p, np.array([[1 + 2j, -0.5 - 1j]]), decimals=1, sep="\t")
    assert open(p).read() == "1.0+2.0j\t-0.5-1.0j\n"
    _save(p, np.array([[True, False]]))
    assert open(p).read() == "1,0\n"
    _save(p, np.zeros((0, 3)), 2, header_lines="a,b,c")
    assert open(p).read() == "a,b,c\n"
    for engine in ENGINES:
        _save(p, np.array([[0.1, 1e-7], [np.nan, 2.0]], np.float32), 2, engine=engine)
        np.testing.assert_array_equal(np.loadtxt(p, dtype=np.float32, delimiter=","),
                                      np.array([[0.1, 1e-7], [np.nan, 2.0]], np.float32))
    job = WriteJob(p, "", (2, 2, 2), np.dtype("f8"), np.zeros((2, 2, 2)), 0, 0, (2,), 0, 1,
                   None, {})
    for phase in (CSV.prepare, CSV.write):
        with pytest.raises(IOProblem, match="1-d or 2-d"):
            phase(job)


# ------------------------------------------------------------------ load_csv / save_csv

def test_load_and_save_end_to_end(tmp_path):
    a = np.arange(60).reshape(15, 4).astype(np.float64) / 8
    src, dst = str(tmp_path / "a.csv"), str(tmp_path / "b.csv")
    np.savetxt(src, a, delimiter=";", header="a;b;c;d", comments="")
    for split in (None, 0, 1):
        x = load_csv(src, header_lines=1, sep=";", dtype=lh.float64, split=split)
        assert x.shape == (15, 4) and x.dtype == lh.float64 and x.split == split
        np.testing.assert_array_equal(x.numpy(), a)
        save_csv(x, dst, header_lines="a;b;c;d", sep=";")
        np.testing.assert_array_equal(np.loadtxt(dst, delimiter=";", skiprows=1), a)
    assert load_csv(src, header_lines=1, sep=";").dtype == lh.float32
    x = load_csv(src, header_lines=1, sep=";", dtype=lh.int32)  # "0.0e+00" is no int
    with pytest.raises((ValueError, IOProblem), match="a.csv: line 2, column 1") as e:
        x.numpy()  # found when the rows are parsed
    assert getattr(e.value, "kind", ValueError) is ValueError
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "b.csv"]  # no temporary left


def test_sliced_loads_read_only_the_slab(tmp_path):
    a = np.arange(400).reshape(100, 4).astype(np.float32)
    src = str(tmp_path / "a.csv")
    np.savetxt(src, a, delimiter=",", fmt="%d")
    y = load_csv(src)[20:60:3, 1:3]
    p = lh.plan(y.sum())
    loads = [n for n in lh.graph.topo_order(p.outputs) if n.op == "load"]
    assert len(loads) == 1 and loads[0].attr("region") == ((20, 60, 3), (1, 3, 1))
    np.testing.assert_array_equal(y.numpy(), a[20:60:3, 1:3])


def test_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        load_csv(str(tmp_path / "missing.csv"))
    bad = _file(tmp_path, b"1,2\n3,4,5\n", "bad.csv")
    with pytest.raises(ValueError, match="bad.csv: line 2 has 3 fields"):
        load_csv(bad)
    src = _file(tmp_path, b"1,2\n")
    with pytest.raises(FileExistsError, match="a.csv"):
        save_csv(lh.ones((2, 2)), src, truncate=False)
    with pytest.raises(ValueError, match="1-d or 2-d"):
        save_csv(lh.ones((2, 2, 2)), str(tmp_path / "c.csv"))
    for kwargs, kind in [({"sep": ", "}, ValueError), ({"header_lines": [1]}, TypeError),
                         ({"decimals": -2}, ValueError), ({"engine": "x"}, ValueError)]:
        with pytest.raises(kind, match="save_csv"):
            save_csv(lh.ones((2, 2)), str(tmp_path / "c.csv"), **kwargs)
    assert open(src).read() == "1,2\n"
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "bad.csv"]
