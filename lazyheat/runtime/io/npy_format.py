"""NumPy ``.npy`` files: each rank reads and writes its own byte range of one file.

Reads map the file (``np.load(mmap_mode="r")``) and copy the hyperslab: only the pages it
touches are read. Writes: rank 0 writes the header and sizes the file (sparse, nothing
written yet), then every rank writes its rows at their offset, in parallel; C order, so a
rank's rows are one contiguous byte range.
"""

from __future__ import annotations

import os

import numpy as np

from .base import Backend, IOProblem, Meta, register_backend


def _open(path):
    if not os.path.exists(path):
        raise IOProblem(f"no such file: {path}", FileNotFoundError)
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise IOProblem(f"{path} is not a .npy file (no NumPy magic number)", OSError)
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:  # object arrays, bad headers
        raise IOProblem(f"{path} is not an array lazyheat can read: {exc}", TypeError) from None
    except (OSError, EOFError) as exc:
        raise IOProblem(f"{path} is not a readable .npy file ({exc})", OSError) from None


class Npy(Backend):
    name = "npy"
    extra = None
    suffixes = (".npy",)
    rows_only = True

    def meta(self, path, key, options) -> Meta:
        if key:
            raise IOProblem(f"{path}: a .npy file holds one array; got key {key!r}", KeyError)
        arr = _open(path)
        expected = arr.offset + arr.nbytes if hasattr(arr, "offset") else None
        size = os.path.getsize(path)
        if expected is not None and size < expected:
            raise IOProblem(f"{path} is truncated: {size} bytes, the header promises "
                            f"{expected}", OSError)
        if arr.dtype.kind in "OUSVMm":
            raise IOProblem(f"{path} holds {arr.dtype} data, which lazyheat cannot hold",
                            TypeError)
        return Meta(tuple(arr.shape), arr.dtype)

    def read(self, path, key, index, meta, options) -> np.ndarray:
        return np.array(_open(path)[index])

    def prepare(self, job) -> None:
        # the header, and the file sized to hold the data (sparse: nothing written yet)
        out = np.lib.format.open_memmap(job.path, mode="w+", dtype=job.dtype,
                                        shape=tuple(job.shape))
        del out

    def write(self, job) -> None:
        if job.split is None and job.rank != 0:
            return  # a replicated array: rank 0 writes it whole
        if job.block is None or job.block.size == 0:
            return
        # this rank's rows are one byte range of the C-order data: one positional write
        # (through the page cache, like np.save; close() makes it visible to other nodes
        # on NFS-like file systems before rank 0 renames the file)
        start = np.load(job.path, mmap_mode="r").offset
        if job.split is not None and job.block.ndim:
            row = job.block[0].nbytes if job.block.shape[0] else 0
            start += job.offset * row
        data = memoryview(np.ascontiguousarray(job.block)).cast("B")
        fd = os.open(job.path, os.O_WRONLY)
        try:
            done = 0
            while done < len(data):
                done += os.pwrite(fd, data[done:], start + done)
        finally:
            os.close(fd)


register_backend(Npy())
