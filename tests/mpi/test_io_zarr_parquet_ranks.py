"""Zarr and Parquet loads and saves on any number of ranks, against NumPy: every rank writes
its own chunks (zarr) or its own part file (parquet), reads are pushed into slices."""

from __future__ import annotations

import os

import numpy as np
import pytest
from _util import COMM, RANK, SIZE, check, raise_if_any, rng

import lazyheat as lh
from lazyheat.graph.layout import balanced_counts
from lazyheat.io import core

zarr = pytest.importorskip("zarr")
pq = pytest.importorskip("pyarrow.parquet")

from lazyheat.io.parquet import load_parquet, save_parquet  # noqa: E402
from lazyheat.io.zarr import load_zarr, save_zarr  # noqa: E402
from lazyheat.runtime.io import IOProblem, WriteJob, backend  # noqa: E402
from lazyheat.runtime.io import zarr_format as zf  # noqa: E402

DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32",
          "float64", "complex64", "complex128")
SHAPES = [(7, 5), (1, 6), (0, 3), (11,), (3, 4, 2)]


def data(shape, dtype, seed=1):
    a = rng(seed).random(shape) * 10
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng(seed + 1).random(shape)
    return (a > 5) if dtype == "bool" else a.astype(dtype)


def agreed(fn) -> None:
    """Run the local check ``fn`` on every rank; fail on all of them if one fails."""
    err = None
    try:
        fn()
    except AssertionError as exc:
        err = str(exc) or "assertion failed"
    raise_if_any(err)


def no_temporaries(directory, expected):
    assert sorted(os.listdir(directory)) == expected, os.listdir(directory)


def loads_of(y):
    return [n for n in lh.graph.topo_order(lh.plan(y).outputs) if n.op == "load"]


# ------------------------------------------------------------------ zarr

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_zarr_round_trip(shared_tmp, dtype, shape):
    a = data(shape, dtype)
    path = os.path.join(shared_tmp, "a.zarr")
    for split in [None] + list(range(len(shape))):
        save_zarr(lh.array(a, split=split), path, overwrite=True)
        agreed(lambda: np.testing.assert_array_equal(zarr.open_array(path, mode="r")[...], a))
        for load_split in dict.fromkeys([None, 0, split]):
            x = load_zarr(path, split=load_split)
            assert x.split == load_split
            check(x, a)
    agreed(lambda: no_temporaries(shared_tmp, ["a.zarr"]))


@pytest.mark.parametrize("shape", [(100, 3), (10,), (2, 3), (1000, 70)])
def test_zarr_ranks_write_whole_chunks_of_their_own(shared_tmp, shape):
    a = data(shape, "float64", seed=3)
    path = os.path.join(shared_tmp, "c.zarr")
    x = lh.array(a, split=min(1, len(shape) - 1))  # split 1 where it can: moved to rows
    save_zarr(x, path, variable="grp/x")

    def own_chunks():
        c = zarr.open_array(path, path="grp/x", mode="r").chunks[0]
        assert c == backend("zarr").row_multiple(shape, a.dtype, SIZE)
        counts = core._chunked_counts(shape[0], SIZE, c)
        offsets = np.cumsum((0,) + counts[:-1])
        spans = zf._chunk_spans(counts, offsets, c)
        assert all(s[1] <= t[0] for s, t in zip(spans, spans[1:])), (counts, c)
        if shape[0] >= SIZE:
            assert all(counts), counts  # every rank has rows to write
    agreed(own_chunks)
    check(load_zarr(path, "grp/x", split=0), a)


def test_zarr_chunks_straddling_ranks_are_written_in_turn(shared_tmp):
    # chunks of 3 rows never match the layout (4|4|2 on 3 ranks, 5|5 on 2): the ranks that
    # share a chunk must write one after the other, and every value must survive
    a = np.arange(10 * 4, dtype=np.int32).reshape(10, 4)
    path = os.path.join(shared_tmp, "s.zarr")
    for _ in range(3):
        save_zarr(lh.array(a, split=0), path, overwrite=True, chunks=(3, 2))
        agreed(lambda: np.testing.assert_array_equal(zarr.open_array(path, mode="r")[...], a))


def test_zarr_backend_passes_a_token_when_chunks_straddle(shared_tmp):
    # balanced rows (not chunk multiples) with chunks of 3 rows: whatever layout the caller
    # picks, the backend must not let two ranks write one chunk at once
    a = np.arange(10 * 4, dtype=np.int16).reshape(10, 4) + 1
    counts = balanced_counts(10, SIZE)
    offset = sum(counts[:RANK])
    for i in range(5):
        path = os.path.join(shared_tmp, f"t{i}.zarr")
        job = WriteJob(path, "", a.shape, a.dtype, a[offset:offset + counts[RANK]], 0, offset,
                       counts, RANK, SIZE, COMM if SIZE > 1 else None, {"chunks": (3, 2)})
        if RANK == 0:
            backend("zarr").prepare(job)
        COMM.barrier()
        backend("zarr").write(job)
        COMM.barrier()
        agreed(lambda p=path: np.testing.assert_array_equal(zarr.open_array(p)[...], a))
    # a rank that fails still passes the token on: the others finish, nobody hangs
    bad = WriteJob(os.path.join(shared_tmp, "none.zarr") if RANK == 1 else path, "", a.shape,
                   a.dtype, a[offset:offset + counts[RANK]], 0, offset, counts, RANK, SIZE,
                   COMM if SIZE > 1 else None, {"chunks": (3, 2)})
    failed = False
    try:
        backend("zarr").write(bad)
    except IOProblem:
        failed = True
    assert COMM.allgather(failed) == [r == 1 for r in range(SIZE)]


def test_zarr_slices_are_pushed_into_the_read(shared_tmp):
    a = data((40, 6), "float32", seed=2)
    path = os.path.join(shared_tmp, "a.zarr")
    save_zarr(lh.array(a, split=0), path, chunks=(5, 6))
    y = load_zarr(path, split=0)[10:30:2, 1:5]
    loads = loads_of(y.sum())
    assert len(loads) == 1 and loads[0].attr("region") == ((10, 30, 2), (1, 5, 1))
    check(y, a[10:30:2, 1:5])
    check(lh.resplit(load_zarr(path, split=0), 1).sum(0), a.sum(0), rtol=1e-5, layout=False)


def test_zarr_errors_on_every_rank(shared_tmp):
    with pytest.raises(FileNotFoundError, match="missing.zarr"):
        load_zarr(os.path.join(shared_tmp, "missing.zarr"))
    path = os.path.join(shared_tmp, "g.zarr")
    save_zarr(lh.arange(5, split=0), path, variable="x")
    with pytest.raises(KeyError, match=r"arrays: \['x'\]"):
        load_zarr(path, "y")
    with pytest.raises(FileExistsError, match="overwrite"):
        save_zarr(lh.arange(3, split=0), path, variable="x")
    check(load_zarr(path, "x"), np.arange(5))


# ------------------------------------------------------------------ parquet

@pytest.mark.parametrize("dtype", DTYPES[:9])
@pytest.mark.parametrize("shape", [(7, 5), (1, 6), (0, 3), (11,), (2, 3)])
def test_parquet_round_trip(shared_tmp, dtype, shape):
    a = data(shape, dtype)
    path = os.path.join(shared_tmp, "a.parquet")
    for split in [None] + list(range(len(shape))):
        save_parquet(lh.array(a, split=split), path, overwrite=True)

        def files_and_values(split=split):
            counts = (shape[0],) if split is None else balanced_counts(shape[0], SIZE)
            writers = [r for r, n in enumerate(counts) if n or r == 0]
            assert sorted(os.listdir(path)) == [f"part-{r:05d}.parquet" for r in writers]
            t = pq.read_table(path)
            got = np.stack([c.to_numpy() for c in t.columns], 1)
            np.testing.assert_array_equal(got.reshape(a.shape), a)
        agreed(files_and_values)
        for load_split in dict.fromkeys([None, 0, split]):
            check(load_parquet(path, split=load_split), a)


def test_parquet_columns_and_slices_are_pushed_into_the_read(shared_tmp):
    a = data((60, 4), "float64", seed=5)
    path = os.path.join(shared_tmp, "t.parquet")
    save_parquet(lh.array(a, split=0), path, columns=["a", "b", "c", "d"], row_group_size=4)
    check(load_parquet(path, columns=["d", "b"], split=0), a[:, [3, 1]])
    y = load_parquet(path, columns=["d", "b"], split=0)[5:50:3, 1:]
    loads = loads_of(y.sum())
    assert len(loads) == 1 and loads[0].attr("region") == ((5, 50, 3), (1, 2, 1))
    check(y, a[5:50:3, 1:2])
    check(load_parquet(path, columns="c", split=0)[::7], a[::7, 2])
    check(lh.resplit(load_parquet(path, split=0), 1).sum(0), a.sum(0), layout=False)


def test_parquet_errors_on_every_rank(shared_tmp):
    with pytest.raises(FileNotFoundError, match="missing.parquet"):
        load_parquet(os.path.join(shared_tmp, "missing.parquet"))
    path = os.path.join(shared_tmp, "a.parquet")
    save_parquet(lh.arange(5, split=0), path)
    with pytest.raises(KeyError, match="no column 'q'"):
        load_parquet(path, columns=["q"])
    with pytest.raises(FileExistsError, match="overwrite"):
        save_parquet(lh.arange(3, split=0), path)
    with pytest.raises(TypeError, match="complex"):
        save_parquet(lh.ones(4, dtype=lh.complex64, split=0), os.path.join(shared_tmp, "c.pq"))
    check(load_parquet(path), np.arange(5))
    agreed(lambda: no_temporaries(shared_tmp, ["a.parquet"]))


def test_more_ranks_than_rows(shared_tmp):
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    for fmt, save, load in [("zarr", save_zarr, load_zarr),
                            ("parquet", save_parquet, load_parquet)]:
        path = os.path.join(shared_tmp, f"m.{fmt}")
        save(lh.array(a, split=0), path)
        x = load(path, split=0)
        check(x, a)
        check(x[1:] + 1, a[1:] + 1)
