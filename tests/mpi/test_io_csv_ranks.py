"""CSV loads and saves on any number of ranks, against NumPy: each rank parses only its own
rows' bytes, and writes its rows at its own offset of the one file."""

from __future__ import annotations

import os

import numpy as np
import pytest
from _util import COMM, RANK, SIZE, raise_if_any, rng

import lazyheat as lh
from lazyheat.io.csv import load_csv, save_csv
from lazyheat.runtime.io import csv_format as cf

DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32",
          "float64", "complex64", "complex128")


def _write(path, data: bytes):
    if RANK == 0:
        with open(path, "wb") as f:
            f.write(data)
    COMM.barrier()


def _data(shape, dtype, seed=1):
    a = rng(seed).standard_normal(shape) * 20
    if dtype == "uint8":
        a = np.abs(a)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng(seed + 1).standard_normal(shape)
    return a.astype(dtype)


def _same(got, want) -> None:
    err = None
    try:
        np.testing.assert_array_equal(got, want)
    except AssertionError as e:
        err = str(e)
    raise_if_any(err)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7, 5), (1, 6), (11,)])
def test_round_trip(shared_tmp, dtype, shape):
    a = _data(shape, dtype)
    want = a.reshape(len(a), -1)  # a CSV file is 2-d: a 1-d array loads as one column
    src, dst = os.path.join(shared_tmp, "a.csv"), os.path.join(shared_tmp, "b.csv")
    save_csv(lh.array(a, split=0), src, header_lines=["x", "y"], sep=";")
    for split in (None, 0, 1):
        x = load_csv(src, header_lines=2, sep=";", dtype=dtype, split=split)
        assert x.shape == want.shape and x.dtype.name == dtype and x.split == split
        _same(x.numpy(), want)
        save_csv(x, dst)
        got = load_csv(dst, dtype=dtype, split=0).numpy()
        _same(got, want)
    assert sorted(os.listdir(shared_tmp)) == ["a.csv", "b.csv"]  # no temporary left


@pytest.mark.parametrize("shape", [(0, 3), (2, 3), (SIZE + 1, 2)])
def test_few_rows_and_empty(shared_tmp, shape):
    a = np.arange(int(np.prod(shape))).reshape(shape).astype(np.int64)
    src = os.path.join(shared_tmp, "a.csv")
    save_csv(lh.array(a, split=0), src, header_lines="a,b,c")
    with open(src) as f:
        text = f.read()
    assert text == "a,b,c\n" + "".join(",".join(map(str, r)) + "\n" for r in a.tolist())
    x = load_csv(src, header_lines=1, dtype=lh.int64, split=0)
    assert x.shape == (shape if shape[0] else (0, 0))
    _same(x.numpy(), a if shape[0] else np.zeros((0, 0), np.int64))
    _same((x + 1).numpy(), (a + 1) if shape[0] else np.zeros((0, 0), np.int64))


def test_a_million_rows_each_rank_reads_its_range(shared_tmp, monkeypatch):
    src = os.path.join(shared_tmp, "big.csv")
    a = rng(5).integers(-1000, 1000, size=(1_000_000, 3))
    _write(src, cf._format_rows(a, ",", -1, "utf-8", "auto") if RANK == 0 else b"")
    want = np.loadtxt(src, delimiter=",", dtype=np.int64) if RANK == 0 else None
    seen = []
    real = cf._map_bytes
    monkeypatch.setattr(cf, "_map_bytes", lambda *args: seen.append(args[1:]) or real(*args))
    x = load_csv(src, dtype=lh.int64, split=0)
    k = x._node.attr("meta").meta.get("stride")
    got = x.numpy()
    err = None
    if RANK == 0 and not np.array_equal(got, want):
        err = "load_csv differs from np.loadtxt"
    raise_if_any(err)
    # this rank read its rows' bytes and less than one index stride on each side
    counts = x.aval.counts
    start = sum(counts[:RANK])
    stop = start + counts[RANK]
    width = os.path.getsize(src) / len(a)
    err = None
    if counts[RANK]:
        (lo, hi), = seen
        if hi - lo > (stop - start + 2 * k) * width * 1.5:
            err = f"rank {RANK} read {hi - lo} bytes for {stop - start} rows"
    elif seen:
        err = f"rank {RANK} read {seen} without rows"
    raise_if_any(err)


def test_sliced_and_resplit_loads(shared_tmp):
    a = np.arange(160).reshape(40, 4).astype(np.float32) / 4
    src = os.path.join(shared_tmp, "a.csv")
    save_csv(lh.array(a, split=0), src, sep="\t")
    x = load_csv(src, sep="\t", split=0)
    y = x[10:30:2, 1:3]
    p = lh.plan(y.sum())
    loads = [n for n in lh.graph.topo_order(p.outputs) if n.op == "load"]
    assert len(loads) == 1 and loads[0].attr("region") == ((10, 30, 2), (1, 3, 1))
    _same(y.numpy(), a[10:30:2, 1:3])
    _same(lh.resplit(x, 1).sum(0).numpy(), a.sum(0))


def test_line_endings_and_separators(shared_tmp):
    a = np.arange(-9, 21).reshape(10, 3)
    for sep in (",", ";", "\t"):
        for nl in ("\n", "\r\n"):
            text = "".join(sep.join(map(str, r)) + nl for r in a.tolist())
            src = os.path.join(shared_tmp, "a.csv")
            _write(src, ("head" + nl + text.rstrip("\r\n")).encode())  # no final newline
            x = load_csv(src, header_lines=1, sep=sep, dtype=lh.int32, split=0)
            _same(x.numpy(), a.astype(np.int32))


def test_errors_on_every_rank(shared_tmp):
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        load_csv(os.path.join(shared_tmp, "missing.csv"))
    bad = os.path.join(shared_tmp, "bad.csv")
    _write(bad, b"h\n1,2\n3,4\n5,6,7\n")
    with pytest.raises(ValueError, match="bad.csv: line 4 has 3 fields, expected 2"):
        load_csv(bad, header_lines=1)
    with pytest.raises(FileExistsError, match="bad.csv"):
        save_csv(lh.ones((3, 2), split=0), bad, truncate=False)
    with pytest.raises(ValueError, match="1-d or 2-d"):
        save_csv(lh.ones((3, 2, 2), split=0), os.path.join(shared_tmp, "c.csv"))
    with open(bad, "rb") as f:
        assert f.read() == b"h\n1,2\n3,4\n5,6,7\n"  # the previous file is intact
    COMM.barrier()
    assert sorted(os.listdir(shared_tmp)) == ["bad.csv"]


def test_a_rank_failing_to_format_stops_every_rank(shared_tmp, monkeypatch):
    real = cf._format_rows

    def failing(block, *args):
        if RANK == SIZE - 1:
            raise MemoryError("no room for the text")
        return real(block, *args)

    monkeypatch.setattr(cf, "_format_rows", failing)
    dst = os.path.join(shared_tmp, "a.csv")
    with pytest.raises(Exception, match="no room for the text|could not format"):
        save_csv(lh.ones((SIZE * 2, 3), split=0), dst)
    COMM.barrier()
    assert os.listdir(shared_tmp) == []  # neither the file nor a temporary
