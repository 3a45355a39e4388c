"""``python -m bench.io``: file I/O of lazyheat beside HeAT, h5py, Dask, NumPy, pandas,
pyarrow and zarr, on the same files, at 1 and 2 (or any) ranks.

Three measurements, each ending in a sum so that the data is really read:

* HDF5: read a float32 dataset of shape (rows, 8), split along rows, and sum it; and the same
  for a 1% row slice in the middle of it (lazyheat: ``load_hdf5(...)[a:b].sum()``, which
  should read only those rows; HeAT: its ``slices=`` argument). Peers: HeAT
  ``ht.load_hdf5``, h5py on one process (``dataset[...]`` and a NumPy sum), Dask
  (``da.from_array`` of the h5py dataset, threaded scheduler with R threads).
* CSV: rows x 8 floats: lazyheat ``load_csv`` (its default parser, and its NumPy parser),
  HeAT ``ht.load_csv``, pandas (C engine and pyarrow engine), ``pyarrow.csv.read_csv`` and
  Dask's ``dd.read_csv``.
* npy and zarr round trips of the same array as the HDF5 file: lazyheat ``save_*`` then
  ``load_*`` + sum, beside ``np.save``/``np.load`` and zarr's own API (HeAT's
  ``save_zarr``/``load_zarr`` too). Writes are also shown as a fraction of the machine's copy
  bandwidth, measured in the same run with a large ``np.copyto``.

Every (library, R, format) runs in a process of its own (lazyheat and HeAT under ``mpiexec -n R``
with one torch thread per rank, launched as ``python -m bench`` launches them); libraries
that are single-threaded whatever R is (h5py, NumPy, pandas' C engine) run once, at the
smallest R. Reads run twice: "cold" (the page cache dropped before every run, where this
process may drop it) and "warm" (the file in the page cache). Every checksum is compared with
NumPy's (float64 sums of the generated data), 1e-3 relative; cold reads also record the
bytes the kernel fetched from storage (``/proc/self/io``). The files live in a fresh
temporary directory (``--dir``), which is removed at the end.

Results: ``OUT/results.jsonl`` and ``OUT/IO.md`` (default OUT: ``bench/results/io``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import data, report
from .__main__ import git_version, launcher

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ["hdf5", "csv", "npy", "zarr"]
LIBS = ["lazyheat", "heat", "h5py", "dask", "numpy", "pandas", "pyarrow", "zarr"]
MPI_LIBS = {"lazyheat", "heat"}
SERIAL_LIBS = {"h5py", "numpy"}  # one thread whatever R is: run once, at the smallest R
# the formats each library takes part in
LIB_FORMATS = {"lazyheat": FORMATS, "heat": ["hdf5", "csv", "zarr"], "h5py": ["hdf5"],
               "dask": ["hdf5", "csv"], "numpy": ["npy"], "pandas": ["csv"],
               "pyarrow": ["csv"], "zarr": ["zarr"]}
TOL = 1e-3  # relative; float32 sums in different orders differ by about 1e-6 here
COLS = 8
SEED = 21  # the array (HDF5, npy, zarr)
CSV_SEED = 22
DATASET = "x"
READ_OPS = ("read", "read 1% rows", "load")
DROP = "/proc/sys/vm/drop_caches"


# ------------------------------------------------------------------------------- helpers
def drop_caches() -> str | None:
    """Write dirty pages back and drop the page cache; None on success, else why not."""
    os.sync()
    try:
        with open(DROP, "w") as f:
            f.write("3\n")
    except OSError as exc:
        return f"cannot write {DROP}: {exc.strerror or exc}"
    return None


def sizes(size_gib: float, csv_rows: int) -> dict:
    rows = max(200, int(size_gib * 2 ** 30 / 4 / COLS))
    half, part = rows // 2, max(1, rows // 200)  # 1% of the rows, centred on the middle
    return {"rows": rows, "cols": COLS, "bytes": rows * COLS * 4,
            "slice": [half - part, half + part], "csv_rows": csv_rows, "csv_cols": COLS}


def _blocks(rows: int, step: int):
    for r0 in range(0, rows, step):
        yield r0, min(rows, r0 + step)


def make_hdf5(path: str, p: dict) -> dict:
    """The float32 (rows, 8) dataset ``x`` of ``path`` (contiguous, as h5py creates it), and
    the float64 sums of all of it and of its slice rows."""
    import h5py

    rows, cols = p["rows"], p["cols"]
    a, b = p["slice"]
    total = part = 0.0
    with h5py.File(path, "w") as f:
        dset = f.create_dataset(DATASET, (rows, cols), dtype="f4")
        for r0, r1 in _blocks(rows, 1 << 21):
            blk = data.uniform(SEED, (rows, cols), r0, r1)
            dset[r0:r1] = blk
            total += float(blk.sum(dtype=np.float64))
            lo, hi = max(a, r0), min(b, r1)
            if lo < hi:
                part += float(blk[lo - r0:hi - r0].sum(dtype=np.float64))
    return {"full": total, "slice": part}


def make_csv(path: str, p: dict) -> tuple[float, int]:
    """``rows`` x 8 values ``0.dddddd`` (k / 1e6 for a generated k in [0, 1e6)) with one
    header line ``c0,...,c7``; returns their exact sum and the file's size."""
    rows, cols = p["csv_rows"], p["csv_cols"]
    total = 0
    with open(path, "wb") as f:
        f.write((",".join(f"c{j}" for j in range(cols)) + "\n").encode())
        for r0, r1 in _blocks(rows, 1 << 18):
            u = data.uniform(CSV_SEED, (rows, cols), r0, r1).astype(np.float64)
            k = np.minimum((u * 1e6).astype(np.int64), 999_999)
            total += int(k.sum())
            buf = np.empty((r1 - r0, cols, 9), np.uint8)
            buf[:, :, 0] = ord("0")
            buf[:, :, 1] = ord(".")
            for d in range(6):
                buf[:, :, 2 + d] = (k // 10 ** (5 - d)) % 10 + ord("0")
            buf[:, :, 8] = ord(",")
            buf[:, -1, 8] = ord("\n")
            f.write(buf.tobytes())
    return total / 1e6, os.path.getsize(path)


def copy_bandwidth(nbytes: int) -> dict:
    """Bytes copied per second by one large single-threaded ``np.copyto`` (best of 5)."""
    n = max(64 << 20, min(nbytes, 1 << 30)) // 4
    src = np.ones(n, np.float32)
    dst = np.zeros_like(src)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t0)
    return {"bytes": n * 4, "seconds": best, "bytes_per_s": n * 4 / best}


def read_bytes() -> int | None:
    """Bytes this process has made the kernel fetch from storage (``/proc/self/io``
    ``read_bytes``: page-cache misses, read-ahead included), None where unknown."""
    try:
        with open("/proc/self/io") as f:
            for line in f:
                if line.startswith("read_bytes:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# -------------------------------------------------------------------------- the worker
@dataclass
class IOCase:
    """One measurement: ``run()`` is timed and returns the sum (reads) or None (writes);
    ``check()`` (writes) reads the written file back with NumPy or zarr, untimed; ``before``
    runs untimed before every run (writes: remove the previous file)."""

    fmt: str
    op: str
    label: str
    run: Callable[[], float | None]
    ref: str  # which reference sum: "full", "slice" or "csv"
    nbytes: int
    notes: str = ""
    check: Callable[[], float] | None = None
    before: Callable[[], None] | None = None
    extra: dict = field(default_factory=dict)


class Env:
    """What a worker knows: the spec, its rank, the barrier."""

    def __init__(self, spec: dict, lib: str, r: int):
        self.spec, self.lib, self.r = spec, lib, r
        self.p = spec["sizes"]
        self.comm = None
        self.rank, self.size = 0, 1
        if lib in MPI_LIBS:
            from mpi4py import MPI

            self.comm = MPI.COMM_WORLD
            self.rank, self.size = self.comm.rank, self.comm.size

    def barrier(self):
        if self.comm is not None:
            self.comm.Barrier()

    def path(self, name):
        return os.path.join(self.spec["dir"], name)

    def rows(self):
        return data.rows_of(self.p["rows"], self.rank, self.size)

    def block(self):
        """This process's rows of the array (all of it outside MPI), generated, untimed."""
        return data.uniform(SEED, (self.p["rows"], COLS), *self.rows())

    def remover(self, path):
        """Before a write: the previous file gone and earlier dirty pages written back."""
        def before():
            if self.rank == 0:
                if os.path.isdir(path):
                    shutil.rmtree(path)
                elif os.path.exists(path):
                    os.remove(path)
                os.sync()
        return before


def _npy_sum(path):
    return float(np.load(path, mmap_mode="r").sum(dtype=np.float64))


def _zarr_sum(path):
    import zarr

    node = zarr.open(path, mode="r")
    if not hasattr(node, "shape"):  # a group: its one array
        node = next(iter(node.array_values()))
    return float(np.asarray(node[...]).sum(dtype=np.float64))


def _zarr_desc(path) -> str:
    """Chunks and codecs of the zarr array at ``path``, for the notes."""
    try:
        import zarr

        node = zarr.open(path, mode="r")
        if not hasattr(node, "shape"):
            node = next(iter(node.array_values()))
        codecs = []
        for c in (*node.filters, *node.compressors):
            name = type(c).__name__.replace("Codec", "")
            cname = getattr(c, "cname", None)
            codecs.append(f"{name} {getattr(cname, 'value', cname)}" if cname else name)
        return f"chunks {tuple(node.chunks)}, codecs: {', '.join(codecs) or 'none'}"
    except Exception as exc:  # noqa: BLE001 - only notes
        return f"(layout unknown: {exc})"


def cases_lazyheat(env: Env, fmts) -> list[IOCase]:
    import inspect

    import torch

    import lazyheat as lh

    for name, module in (("load_hdf5", "hdf5"), ("load_csv", "csv"), ("load_zarr", "zarr"),
                         ("save_zarr", "zarr")):
        if not hasattr(lh, name):  # defined but not exported (yet): take it from its module
            try:
                setattr(lh, name, getattr(importlib.import_module(f"lazyheat.io.{module}"),
                                          name))
            except (ImportError, AttributeError):
                pass
    p, out = env.p, []
    a, b = p["slice"]
    nb = p["bytes"]
    if "hdf5" in fmts and not hasattr(lh, "load_hdf5"):
        out.append(IOCase("hdf5", "read", "lazyheat", None, "full", nb,
                          "lazyheat has no load_hdf5"))
    elif "hdf5" in fmts:
        h5 = env.spec["files"]["hdf5"]
        out.append(IOCase("hdf5", "read", "lazyheat", lambda: lh.load_hdf5(
            h5, DATASET, split=0).sum().item(), "full", nb, "load_hdf5(split=0).sum()"))
        out.append(IOCase("hdf5", "read 1% rows", "lazyheat", lambda: lh.load_hdf5(
            h5, DATASET, split=0)[a:b].sum().item(), "slice", nb * (b - a) // p["rows"],
            "load_hdf5(split=0)[a:b].sum()"))
    if "csv" in fmts and not hasattr(lh, "load_csv"):
        out.append(IOCase("csv", "read", "lazyheat", None, "csv", 0, "lazyheat has no load_csv"))
    elif "csv" in fmts:
        csv = env.spec["files"]["csv"]
        engines = [None]
        if "engine" in inspect.signature(lh.load_csv).parameters:
            engines.append("numpy")
        for engine in engines:
            kw = {"engine": engine} if engine else {}
            out.append(IOCase(
                "csv", "read", "lazyheat" + (f" (engine={engine})" if engine else ""),
                lambda kw=kw: lh.load_csv(csv, header_lines=1, sep=",", dtype=lh.float32,
                                          split=0, **kw).sum().item(),
                "csv", env.spec["csv_bytes"],
                f"load_csv(header_lines=1, split=0{', engine=' + repr(engine) if engine else ''})"
                ".sum()"))
    if {"npy", "zarr"} & set(fmts):
        x = lh.from_local(torch.from_numpy(env.block()), split=0)
    if "npy" in fmts:
        path = env.path(f"lazyheat-{env.r}.npy")
        out.append(IOCase("npy", "write", "lazyheat",
                          lambda: lh.save_npy(x, path, overwrite=True), "full", nb,
                          "save_npy: every rank writes its rows", check=lambda: _npy_sum(path),
                          before=env.remover(path)))
        out.append(IOCase("npy", "load", "lazyheat", lambda: lh.load_npy(
            path, split=0).sum().item(), "full", nb, "load_npy(split=0).sum()"))
    if "zarr" in fmts:
        path = env.path(f"lazyheat-{env.r}.zarr")
        save, load = getattr(lh, "save_zarr", None), getattr(lh, "load_zarr", None)
        if save is None or load is None:
            out.append(IOCase("zarr", "write", "lazyheat", None, "full", nb,
                              "lazyheat has no save_zarr/load_zarr"))
        else:
            out.append(IOCase("zarr", "write", "lazyheat",
                              lambda: save(x, path, overwrite=True), "full", nb,
                              "save_zarr(overwrite=True)", check=lambda: _zarr_sum(path),
                              before=env.remover(path), extra={"layout_of": path}))
            out.append(IOCase("zarr", "load", "lazyheat", lambda: load(
                path, split=0).sum().item(), "full", nb, "load_zarr(split=0).sum()"))
    return out


def cases_heat(env: Env, fmts) -> list[IOCase]:
    import heat as ht
    import torch

    p, out = env.p, []
    a, b = p["slice"]
    nb = p["bytes"]
    if "hdf5" in fmts:
        h5 = env.spec["files"]["hdf5"]
        out.append(IOCase("hdf5", "read", "HeAT", lambda: ht.load_hdf5(
            h5, DATASET, split=0).sum().item(), "full", nb, "ht.load_hdf5(split=0).sum()"))
        out.append(IOCase("hdf5", "read 1% rows", "HeAT", lambda: ht.load_hdf5(
            h5, DATASET, split=0, slices=(slice(a, b),)).sum().item(), "slice",
            nb * (b - a) // p["rows"], "ht.load_hdf5(split=0, slices=(slice(a, b),))"))
    if "csv" in fmts:
        csv = env.spec["files"]["csv"]
        out.append(IOCase("csv", "read", "HeAT", lambda: ht.load_csv(
            csv, header_lines=1, sep=",", dtype=ht.float32, split=0).sum().item(), "csv",
            env.spec["csv_bytes"], "ht.load_csv(header_lines=1, split=0).sum()"))
    if "zarr" in fmts:
        x = ht.array(torch.from_numpy(env.block()), is_split=0)
        path = env.path(f"heat-{env.r}.zarr")
        out.append(IOCase("zarr", "write", "HeAT",
                          lambda: ht.save_zarr(x, path, overwrite=True), "full", nb,
                          "ht.save_zarr(overwrite=True)", check=lambda: _zarr_sum(path),
                          before=env.remover(path), extra={"layout_of": path}))
        out.append(IOCase("zarr", "load", "HeAT", lambda: ht.load_zarr(
            path, split=0).sum().item(), "full", nb, "ht.load_zarr(split=0).sum()"))
    return out


def cases_h5py(env: Env, fmts) -> list[IOCase]:
    import h5py

    p = env.p
    a, b = p["slice"]
    h5 = env.spec["files"]["hdf5"]

    def full():
        with h5py.File(h5, "r") as f:
            arr = f[DATASET][...]
        return float(arr.sum())

    def part():
        with h5py.File(h5, "r") as f:
            arr = f[DATASET][a:b]
        return float(arr.sum())
    return [IOCase("hdf5", "read", "h5py", full, "full", p["bytes"],
                   "dataset[...] then NumPy sum, one process"),
            IOCase("hdf5", "read 1% rows", "h5py", part, "slice",
                   p["bytes"] * (b - a) // p["rows"], "dataset[a:b] then NumPy sum")]


def _dask_chunk_rows(p, r) -> int:
    """Rows per Dask chunk: at most 128 MiB (Dask's "auto" size), at least 2 chunks a
    thread."""
    chunks = max(2 * r, -(-p["bytes"] // (128 << 20)))
    return -(-p["rows"] // chunks)


def cases_dask(env: Env, fmts) -> list[IOCase]:
    import dask.array as da

    p, r, out = env.p, env.r, []
    a, b = p["slice"]
    if "hdf5" in fmts:
        import h5py

        h5 = env.spec["files"]["hdf5"]
        c = _dask_chunk_rows(p, r)

        def run(sl):
            with h5py.File(h5, "r") as f:
                x = da.from_array(f[DATASET], chunks=(c, COLS))
                return float(x[sl].sum().compute(scheduler="threads", num_workers=r))
        note = (f"da.from_array(h5py dataset, chunks=({c}, {COLS})), R threads; h5py "
                "holds one lock, so reads do not overlap")
        out.append(IOCase("hdf5", "read", "Dask", lambda: run(slice(None)), "full",
                          p["bytes"], note))
        out.append(IOCase("hdf5", "read 1% rows", "Dask", lambda: run(slice(a, b)), "slice",
                          p["bytes"] * (b - a) // p["rows"], "x[a:b].sum()"))
    if "csv" in fmts:
        csv = env.spec["files"]["csv"]
        try:
            import dask.dataframe as dd
        except ImportError as exc:
            out.append(IOCase("csv", "read", "Dask", None, "csv", 0,
                              f"dask.dataframe unavailable: {exc}"))
        else:
            def read_csv():
                df = dd.read_csv(csv, dtype=np.float32)
                return float(df.sum().sum().compute(scheduler="threads", num_workers=r))
            out.append(IOCase("csv", "read", "Dask", read_csv, "csv", env.spec["csv_bytes"],
                              "dd.read_csv (default blocksize), R threads"))
    return out


def cases_numpy(env: Env, fmts) -> list[IOCase]:
    arr = env.block()
    path = env.path("numpy.npy")
    nb = env.p["bytes"]
    return [IOCase("npy", "write", "NumPy", lambda: np.save(path, arr), "full", nb,
                   "np.save", check=lambda: _npy_sum(path), before=env.remover(path)),
            IOCase("npy", "load", "NumPy", lambda: float(np.load(path).sum()), "full", nb,
                   "np.load(path).sum()")]


def cases_pandas(env: Env, fmts) -> list[IOCase]:
    import pandas as pd

    csv, r = env.spec["files"]["csv"], env.r
    out = []
    if r == env.spec["min_ranks"]:  # the C engine is single-threaded: once
        out.append(IOCase("csv", "read", "pandas (C engine)", lambda: float(pd.read_csv(
            csv, dtype=np.float32).sum().sum()), "csv", env.spec["csv_bytes"],
            "pd.read_csv(dtype=float32).sum().sum(), one thread"))
    try:
        import pyarrow

        pyarrow.set_cpu_count(r)
        pyarrow.set_io_thread_count(r)
    except ImportError:
        out.append(IOCase("csv", "read", "pandas (pyarrow engine)", None, "csv", 0,
                          "pyarrow is not installed"))
        return out
    out.append(IOCase("csv", "read", "pandas (pyarrow engine)", lambda: float(pd.read_csv(
        csv, dtype=np.float32, engine="pyarrow").sum().sum()), "csv", env.spec["csv_bytes"],
        "pd.read_csv(engine='pyarrow'), R threads"))
    return out


def cases_pyarrow(env: Env, fmts) -> list[IOCase]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    pa.set_cpu_count(env.r)
    pa.set_io_thread_count(env.r)
    csv = env.spec["files"]["csv"]
    types = {f"c{j}": pa.float32() for j in range(COLS)}

    def run():
        t = pacsv.read_csv(csv, convert_options=pacsv.ConvertOptions(column_types=types))
        return float(sum(pc.sum(col).as_py() for col in t.columns))
    return [IOCase("csv", "read", "pyarrow", run, "csv", env.spec["csv_bytes"],
                   "pyarrow.csv.read_csv, column sums, R threads")]


def cases_zarr(env: Env, fmts) -> list[IOCase]:
    import zarr
    from zarr.codecs import BloscCodec

    zarr.config.set({"threading.max_workers": env.r})
    arr = env.block()
    nb = env.p["bytes"]
    rows = max(1, (4 << 20) // (COLS * 4))  # 4 MiB chunks of whole rows
    out = []
    # zarr's defaults, and the chunks and codec lazyheat's save_zarr writes by default
    for label, kw, what in [
            ("zarr", {}, "default chunks and codec"),
            ("zarr (Blosc lz4)", {"chunks": (rows, COLS),
                                  "compressors": BloscCodec(cname="lz4", clevel=5)},
             f"chunks ({rows}, {COLS}), Blosc lz4 level 5, as lazyheat's save_zarr")]:
        path = env.path(f"zarr-{len(out)}-{env.r}.zarr")

        def write(path=path, kw=kw):
            z = zarr.create_array(store=path, shape=arr.shape, dtype=arr.dtype,
                                  overwrite=True, **kw)
            z[...] = arr

        out.append(IOCase("zarr", "write", label, write, "full", nb,
                          f"zarr.create_array ({what}), z[...] = a, R threads",
                          check=lambda path=path: _zarr_sum(path), before=env.remover(path),
                          extra={"layout_of": path}))
        out.append(IOCase("zarr", "load", label, lambda path=path: float(zarr.open_array(
            path, mode="r")[...].sum()), "full", nb, "zarr.open_array(path)[...].sum()"))
    return out


CASES = {"lazyheat": cases_lazyheat, "heat": cases_heat, "h5py": cases_h5py,
         "dask": cases_dask, "numpy": cases_numpy, "pandas": cases_pandas,
         "pyarrow": cases_pyarrow, "zarr": cases_zarr}


def versions(lib: str) -> dict:
    names = {"lazyheat": ["lazyheat", "torch"], "heat": ["heat", "torch"], "h5py": ["h5py"],
             "dask": ["dask", "h5py", "pandas"], "numpy": ["numpy"],
             "pandas": ["pandas", "pyarrow"], "pyarrow": ["pyarrow"], "zarr": ["zarr"]}
    out = {"numpy": np.__version__}
    for name in names[lib]:
        mod = sys.modules.get(name)
        if mod is not None:
            out[name] = getattr(mod, "__version__", "?")
    return out


def _measure(env: Env, case: IOCase, cache: str | None, warmups: int, repeats: int,
             budget: float) -> dict:
    """Time ``case``: ``warmups`` untimed runs, then ``repeats`` timed ones, or fewer (at
    least one) where the slowest warm-up says that they would take more than ``budget``
    seconds."""
    times, flush, warm, disk, value = [], [], [], [], None
    timed = repeats
    i = 0
    while i < warmups + timed:
        if case.before is not None:
            case.before()
        if cache == "cold" and env.rank == 0:
            why = drop_caches()
            if why:
                raise RuntimeError(why)
        env.barrier()
        rb0 = read_bytes()
        t0 = time.perf_counter()
        value = case.run()
        env.barrier()
        t = time.perf_counter() - t0
        rb = read_bytes()
        rb = rb - rb0 if rb is not None and rb0 is not None else None
        if env.comm is not None:  # every rank's reads from storage
            every = env.comm.allgather(rb)
            rb = None if None in every else sum(every)
        if i >= warmups and cache == "cold" and rb is not None:
            disk.append(rb)
        if case.op == "write":  # the write-back the save left to the kernel, untimed above
            t1 = time.perf_counter()
            if env.rank == 0:
                os.sync()
            env.barrier()
            if i >= warmups:
                flush.append(time.perf_counter() - t1)
        if i >= warmups:
            times.append(t)
        else:
            warm.append(t)
            if i == warmups - 1:  # the same decision on every rank: rank 0's times
                slowest = max(warm)
                if env.comm is not None:
                    slowest = env.comm.bcast(slowest, root=0)
                timed = min(repeats, max(1, int(budget / max(slowest, 1e-9))))
        i += 1
    row = {"times": times, "median_s": statistics.median(times), "min_s": min(times),
           "warmup_s": warm}
    if timed < repeats:
        row["reduced"] = (f"{timed} timed run{'s' if timed > 1 else ''}, not {repeats}: "
                          f"the warm-up took {max(warm):.1f} s")
    if flush:
        row["sync_s"] = statistics.median(flush)
    if disk:
        row["disk_bytes"] = int(statistics.median(disk))
    if case.check is not None:
        value = case.check() if env.rank == 0 else None
    row["checksum"] = value
    notes = case.notes
    if "layout_of" in case.extra and env.rank == 0:
        notes = f"{notes}; {_zarr_desc(case.extra['layout_of'])}"
    if "reduced" in row:
        notes = f"{notes} ({row['reduced']})"
    row["notes"] = notes
    return row


def worker(spec_path: str, lib: str, r: int, fmt: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    threads = 1 if lib in MPI_LIBS else r
    import torch  # lazyheat and HeAT: one torch thread per rank

    torch.set_num_threads(threads)
    env = Env(spec, lib, r)
    base = {"library": lib, "ranks": r, "procs": env.size,
            "threads": threads}
    status = 0
    try:
        cases = CASES[lib](env, [fmt])
    except ImportError as exc:
        if env.rank == 0:
            print("BENCH " + json.dumps(dict(base, fmt=fmt, op="*", label=lib, status="n/a",
                                             reason=f"{exc}")), flush=True)
        return 0
    caches = spec["caches"]
    for case in cases:
        modes = [c for c in caches if case.op in READ_OPS] or [None]
        for cache in modes:
            row = dict(base, fmt=case.fmt, op=case.op, label=case.label, cache=cache,
                       ref=case.ref, bytes=case.nbytes, notes=case.notes, status="ok")
            if case.run is None:
                row.update(status="n/a", reason=case.notes)
            else:
                try:
                    row.update(_measure(env, case, cache, spec["warmups"], spec["repeats"],
                                        spec["budget"]))
                except Exception as exc:  # report and go on
                    row.update(status="error", reason=f"{type(exc).__name__}: {exc}"[:400])
                    traceback.print_exc(file=sys.stderr)
                    status = 1
            rss = _rss_mb()
            if env.comm is not None:
                from mpi4py import MPI

                rss = env.comm.allreduce(rss, op=MPI.MAX)
            row["peak_rss_mb"] = round(rss, 1)
            row["versions"] = versions(lib)
            if env.rank == 0:
                print("BENCH " + json.dumps(row), flush=True)
    # the written files go now: the next process's writes must find the disk as free
    env.barrier()
    if env.rank == 0:
        for case in cases:
            if case.before is not None:
                case.before()
    return status


# -------------------------------------------------------------------------- the driver
LABEL_ORDER = ["lazyheat", "lazyheat (engine=numpy)", "HeAT", "h5py", "Dask", "NumPy",
               "pandas (C engine)", "pandas (pyarrow engine)", "pyarrow", "zarr",
               "zarr (Blosc lz4)"]


def run_worker(args, spec_path, lib, r, fmt, log) -> list[dict]:
    threads = 1 if lib in MPI_LIBS else r
    cmd = [args.python, "-m", "bench.io", "--worker", str(spec_path), "--worker-lib", lib,
           "--worker-ranks", str(r), "--worker-format", fmt]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads), PYTHONPATH=str(ROOT))
    if lib in MPI_LIBS:
        cmd = launcher.launch_command(r, cmd, args.mpiexec, flavour=args.mpi_flavour)
        env = launcher.child_env(env, flavour=args.mpi_flavour)
    cmdline = shlex.join(cmd)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=args.timeout)
        why = f"exit code {proc.returncode}: " + (err.strip().splitlines() or [""])[-1][-300:]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        why = f"timeout after {args.timeout:.0f} s"
    log.write(f"$ {cmdline}\n{err}\n")
    rows = [json.loads(line[6:]) for line in out.splitlines() if line.startswith("BENCH ")]
    if proc.returncode != 0 or not rows:  # what did not report says why
        rows.append({"library": lib, "ranks": r, "fmt": fmt, "op": "*", "label": lib,
                     "status": "timeout" if why.startswith("timeout") else "error",
                     "reason": why})
    for row in rows:
        row.update(command=cmdline, wall_s=round(time.perf_counter() - t0, 2))
    return rows


def check(rows, refs) -> int:
    bad = 0
    for row in rows:
        if row.get("status") != "ok":
            continue
        want, got = refs[row["ref"]], row.get("checksum")
        if got is None or not abs(got - want) <= TOL * abs(want):
            row["status"] = "bad-checksum"
            row["reason"] = f"checksum {got!r} differs from NumPy's {want!r} by more than {TOL}"
            bad += 1
    return bad


def _fmt_s(x):
    return "" if x is None else f"{x:.4f}" if x < 0.1 else f"{x:.3f}" if x < 10 else f"{x:.1f}"


NUMERIC = {"median s", "min s", "GB/s", "disk MB", "of copy", "sync s", "to disk s",
           "full s", "slice s", "slice / full", "disk MB full", "disk MB slice"}


def _mb(b) -> str:
    return "" if b is None else f"{b / 1e6:.1f}" if b < 1e8 else f"{b / 1e6:.0f}"


def _table(head, body) -> str:
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("--:" if h in NUMERIC else "---" for h in head) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def _order(row):
    label = row.get("label", "")
    base = LABEL_ORDER.index(label) if label in LABEL_ORDER else len(LABEL_ORDER)
    return (base, row.get("ranks", 0))


def _how(row) -> str:
    if row["library"] in MPI_LIBS:
        return f"{row['ranks']} rank{'s' if row['ranks'] > 1 else ''}"
    t = row.get("threads", 1)
    return f"{t} thread{'s' if t > 1 else ''}"


def markdown(meta, rows) -> str:
    p = meta["sizes"]
    gib = p["bytes"] / 2 ** 30
    bw = meta["copy"]["bytes_per_s"]
    md = ["# lazyheat I/O benchmark\n",
          f"Run {meta['started']} on {meta['machine']} ({meta['platform']}); lazyheat "
          f"{meta['lazyheat_commit']}; `{meta['argv']}` ({meta['wall_s']} s in all).\n",
          f"- Array: float32 ({p['rows']}, {p['cols']}), {gib:.3g} GiB: an HDF5 dataset "
          "(contiguous, as h5py writes it by default), then written as npy and zarr by each "
          f"library. The 1% slice is rows [{p['slice'][0]}, {p['slice'][1]}) (the middle of "
          "the array: at 2 ranks it straddles the ranks' blocks).",
          f"- CSV: {p['csv_rows']} rows x {p['csv_cols']} values `0.dddddd`, one header line, "
          f"{meta['csv_bytes'] / 1e6:.0f} MB; GB/s of CSV rows are text bytes per second.",
          f"- Page cache: {meta['cache_note']}",
          f"- Copy bandwidth: {bw / 1e9:.2f} GB/s (one-thread `np.copyto` of "
          f"{meta['copy']['bytes'] >> 20} MiB, bytes copied per second; memory traffic is "
          "twice that). A write's \"of copy\" is its GB/s over this: 1.0 is writing the array "
          "as fast as copying it once in memory.",
          f"- Timing: median and min of {meta['repeats']} runs after {meta['warmups']} "
          f"warm-up (fewer, at least one, where the warm-up says that {meta['repeats']} "
          f"would take more than {meta['budget']:.0f} s: the notes say so); MPI runs "
          "between barriers on rank 0; \"R\" is MPI ranks (lazyheat, HeAT, "
          "one torch thread each) or threads of one process. h5py and NumPy are "
          "single-threaded and run once. Writes are timed to the end of the library call "
          "(the data in the page cache, unless the library flushes it itself); `sync s` is the "
          "write-back that follows (`os.sync()`, timed apart), `to disk s` the sum of both.",
          f"- Load: the 1-minute load average was {meta['loadavg'][0]} at the start and "
          f"{meta['loadavg'][1]} at the end, on {os.cpu_count()} cores (above 1 per core, "
          "other processes competed for the cores while this ran).",
          "- `disk MB` (cold reads): what the kernel fetched from storage during a run "
          "(`read_bytes` of `/proc/self/io`, summed over the ranks; read-ahead included), "
          "the median over the timed runs.",
          f"- Checksums: every row's sum is compared with NumPy's (float64 sum of the "
          f"generated data), relative tolerance {TOL}.\n"]
    sections = [("hdf5", "HDF5: read + sum"), ("csv", "CSV: read + sum"),
                ("npy", "npy: write, then load + sum"), ("zarr", "zarr: write, then load + sum")]
    for fmt, title in sections:
        mine = sorted((r for r in rows if r.get("fmt") == fmt and r.get("op") != "*"
                       and r.get("status") != "n/a"), key=_order)
        if not mine:
            continue
        md.append(f"## {title}\n")
        writes = any(r["op"] == "write" for r in mine)
        head = ["case", "library", "R", "cache", "median s", "min s", "GB/s", "disk MB"]
        head += ["of copy", "sync s", "to disk s"] if writes else []
        head += ["check", "notes"]
        body = []
        ops = ["read", "read 1% rows"] if fmt == "hdf5" else ["read"] if fmt == "csv" \
            else ["write", "load"]
        for op in ops:
            for row in (r for r in mine if r["op"] == op):
                ok = row["status"] == "ok"
                med = row.get("median_s")
                gbs = row["bytes"] / med / 1e9 if ok and med else None
                line = [op, row["label"], _how(row), row.get("cache") or "",
                        _fmt_s(med), _fmt_s(row.get("min_s")),
                        f"{gbs:.3g}" if gbs else "", _mb(row.get("disk_bytes"))]
                if writes:
                    frac = gbs * 1e9 / bw if gbs and op == "write" else None
                    sync = row.get("sync_s")
                    line += [f"{frac:.2f}" if frac else "", _fmt_s(sync),
                             _fmt_s(med + sync) if ok and sync is not None else ""]
                line += ["ok" if ok else row["status"],
                         row.get("notes", "") if ok else row.get("reason", "")]
                body.append(line)
        md.append(_table(head, body))
        if fmt == "hdf5":
            md.append(_slice_table(mine, p))
    na = [r for r in rows if r.get("status") in ("n/a", "error", "timeout")
          and r.get("op") == "*" or r.get("status") == "n/a"]
    if na:
        md.append("## Not measured\n")
        seen = set()
        for r in na:
            key = (r.get("label"), r.get("fmt"), r.get("reason"))
            if key not in seen:
                seen.add(key)
                md.append(f"- {r.get('label')}, {r.get('fmt')}: {r['status']}: {r.get('reason')}")
        md.append("")
    vers = {}
    for r in rows:
        vers.update(r.get("versions", {}))
    md.append("Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(vers.items())) + ".\n")
    return "\n".join(md)


def _slice_table(mine, p) -> str:
    full = {(r["label"], r["ranks"], r.get("cache")): r for r in mine
            if r["op"] == "read" and r["status"] == "ok"}
    body = []
    for r in mine:
        if r["op"] != "read 1% rows" or r["status"] != "ok":
            continue
        f = full.get((r["label"], r["ranks"], r.get("cache")))
        if f is None:
            continue
        body.append([r["label"], _how(r), r.get("cache") or "", _fmt_s(f["median_s"]),
                     _fmt_s(r["median_s"]), f"{r['median_s'] / f['median_s']:.3f}",
                     _mb(f.get("disk_bytes")), _mb(r.get("disk_bytes"))])
    if not body:
        return ""
    share = (p["slice"][1] - p["slice"][0]) / p["rows"]
    return ("The 1% row slice against the full read (the bytes are "
            f"{share:.3f} of them):\n\n" +
            _table(["library", "R", "cache", "full s", "slice s", "slice / full",
                    "disk MB full", "disk MB slice"], body))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.io", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2],
                    help="MPI ranks / threads R (default: 1 2)")
    ap.add_argument("--libs", nargs="+", default=LIBS, choices=LIBS,
                    help="libraries (default: all)")
    ap.add_argument("--formats", nargs="+", default=FORMATS, choices=FORMATS)
    ap.add_argument("--quick", action="store_true",
                    help="0.25 GiB array, 1e6 CSV rows (unless --size-gib / --rows say)")
    ap.add_argument("--size-gib", type=float, default=None,
                    help="size of the float32 array (default 4; 0.25 with --quick)")
    ap.add_argument("--rows", type=int, default=None,
                    help="CSV rows (default 1e7; 1e6 with --quick)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs (default 3)")
    ap.add_argument("--warmups", type=int, default=1, help="untimed runs first (default 1)")
    ap.add_argument("--cache", nargs="+", default=["cold", "warm"], choices=["cold", "warm"],
                    help="reads with the page cache dropped before every run (cold; needs "
                    "root) and/or with the file cached (warm); default both")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per (library, R, format) process (default 1800; 600 with "
                    "--quick)")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds of timed runs per case: a case whose warm-up says that "
                    "--repeats runs would take longer runs fewer (at least one; the report "
                    "says so); default 60, 20 with --quick")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "io")
    ap.add_argument("--dir", default=None,
                    help="where to make the temporary directory of the files (default: the "
                    "system's temporary directory); it is removed at the end")
    ap.add_argument("--keep", action="store_true", help="keep the files")
    ap.add_argument("--report", type=Path, metavar="DIR",
                    help="only redraw DIR/IO.md from DIR/results.jsonl")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--mpiexec", default=None, help="as for python -m bench")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--worker-lib", help=argparse.SUPPRESS)
    ap.add_argument("--worker-ranks", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--worker-format", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.worker_lib, args.worker_ranks, args.worker_format)
    if args.report:
        lines = (args.report / "results.jsonl").read_text().splitlines()
        meta, rows = json.loads(lines[0])["meta"], [json.loads(x) for x in lines[1:]]
        (args.report / "IO.md").write_text(markdown(meta, rows))
        return 0

    size_gib = args.size_gib if args.size_gib is not None else 0.25 if args.quick else 4.0
    csv_rows = args.rows if args.rows is not None else 10 ** 6 if args.quick else 10 ** 7
    args.timeout = args.timeout or (600.0 if args.quick else 1800.0)
    args.budget = args.budget or (20.0 if args.quick else 60.0)
    args.repeats, args.warmups = max(1, args.repeats), max(0, args.warmups)
    found = launcher.find_mpiexec(python=args.python)
    args.mpiexec = args.mpiexec or (shlex.join(found) if found else
                                    str(Path(args.python).parent / "mpiexec"))
    args.mpi_flavour = launcher.mpi_flavour(args.mpiexec)
    p = sizes(size_gib, csv_rows)
    ranks = sorted(set(args.ranks))

    caches = list(dict.fromkeys(args.cache))
    cache_note = "warm only: the files are in the page cache (cached-read numbers)."
    if "cold" in caches:
        why = drop_caches()
        if why:
            caches = [c for c in caches if c != "cold"] or ["warm"]
            cache_note = (f"the page cache cannot be dropped here ({why}), so every read is "
                          "a cached read: the file is in the page cache.")
        else:
            cache_note = ("\"cold\": `sync; echo 3 > /proc/sys/vm/drop_caches` before every "
                          "run, warm-ups included; this empties this system's page cache (a "
                          "virtual machine's host may still cache its disk). \"warm\": the "
                          "file is in the page cache (cached-read numbers)." if "warm" in caches
                          else "cold only: the page cache dropped before every run.")

    base = Path(args.dir) if args.dir else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    need = 2.2 * p["bytes"] + 80 * p["csv_rows"] + (256 << 20)
    free = shutil.disk_usage(base).free
    if free < need:
        ap.error(f"{base} has {free / 2 ** 30:.1f} GiB free; this run needs about "
                 f"{need / 2 ** 30:.1f} GiB (choose --dir or a smaller --size-gib)")
    work = Path(tempfile.mkdtemp(prefix="lazyheat-io-", dir=base))
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_start = os.getloadavg()[0]
    t0 = time.perf_counter()
    rows: list[dict] = []
    try:
        files, refs, csv_bytes = {}, {}, 0
        print(f"files in {work} ({p['bytes'] / 2 ** 30:.3g} GiB array, {csv_rows} CSV rows)",
              flush=True)
        if "hdf5" in args.formats or {"npy", "zarr"} & set(args.formats):
            try:
                files["hdf5"] = str(work / "data.h5")
                refs.update(make_hdf5(files["hdf5"], p))
            except ImportError:  # no h5py: the npy/zarr references from the generator
                del files["hdf5"]
                total = 0.0
                for r0, r1 in _blocks(p["rows"], 1 << 21):
                    total += float(data.uniform(SEED, (p["rows"], COLS), r0, r1)
                                   .sum(dtype=np.float64))
                refs["full"], refs["slice"] = total, float("nan")
        if "csv" in args.formats:
            files["csv"] = str(work / "data.csv")
            refs["csv"], csv_bytes = make_csv(files["csv"], p)
        os.sync()
        copy = copy_bandwidth(p["bytes"])
        spec = {"dir": str(work), "files": files, "sizes": p, "csv_bytes": csv_bytes,
                "formats": [f for f in args.formats if f in files or f in ("npy", "zarr")],
                "caches": caches, "repeats": args.repeats, "warmups": args.warmups,
                "budget": args.budget,
                "min_ranks": ranks[0]}
        spec_path = work / "spec.json"
        spec_path.write_text(json.dumps(spec))
        plan = [(lib, r, fmt) for r in ranks for lib in args.libs for fmt in spec["formats"]
                if not (lib in SERIAL_LIBS and r != ranks[0]) and fmt in LIB_FORMATS[lib]]
        if "hdf5" in args.formats and "hdf5" not in files:
            rows.append({"library": "h5py", "fmt": "hdf5", "op": "*", "label": "HDF5",
                         "status": "n/a", "reason": "h5py is not installed"})
        with open(args.out / "worker.log", "w") as log:
            for lib, r, fmt in plan:
                got = run_worker(args, spec_path, lib, r, fmt, log)
                for row in got:
                    med = row.get("median_s")
                    shown = f"{med:.4f} s" if med is not None else row.get("reason", "")
                    print(f"[{time.perf_counter() - t0:6.0f} s] {row.get('label', lib):>24} "
                          f"R={r} {row.get('fmt', ''):>4} {row.get('op', ''):<13} "
                          f"{row.get('cache') or '':<4} {row['status']:<6} {shown}", flush=True)
                rows.extend(got)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    bad = check(rows, refs)
    meta = {"started": started, "wall_s": round(time.perf_counter() - t0, 1),
            "argv": "python -m bench.io " + shlex.join(argv if argv is not None
                                                       else sys.argv[1:]),
            "python": args.python, "mpiexec": args.mpiexec, "machine": report.machine(),
            "platform": platform.platform(), "lazyheat_commit": git_version(),
            "sizes": p, "csv_bytes": csv_bytes, "copy": copy, "caches": caches,
            "cache_note": cache_note, "repeats": args.repeats, "warmups": args.warmups,
            "budget": args.budget,
            "references": refs, "dir": str(work) if args.keep else None,
            "loadavg": [round(load_start, 2), round(os.getloadavg()[0], 2)]}
    with open(args.out / "results.jsonl", "w") as f:
        f.write(json.dumps({"meta": meta}) + "\n")
        for row in rows:
            f.write(json.dumps(row) + "\n")
    (args.out / "IO.md").write_text(markdown(meta, rows))
    failed = [r for r in rows if r.get("library") == "lazyheat"
              and r["status"] not in ("ok", "n/a")]
    print(f"\n{len(rows)} rows in {meta['wall_s']} s; {bad} checksum mismatch(es); "
          f"report: {args.out / 'IO.md'}")
    return 1 if bad or failed else 0


if __name__ == "__main__":
    sys.exit(main())
