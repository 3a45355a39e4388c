"""HDF5 backend ("hdf5"): one dataset of an HDF5 file, read and written with h5py.

Reads: ``meta`` takes the dataset's shape and dtype from the file's metadata; ``read`` reads
one hyperslab with h5py slicing (HDF5 reads only the selected elements; steps become strided
hyperslabs), so a rank's load costs its own bytes, not the file's.

Writes: rank 0's ``prepare`` creates the (temporary) file and the dataset; then every rank
writes its row block with ``write_rows``, which picks one of three strategies from the
dataset's layout in the file (so every rank picks the same one):

- contiguous, unfiltered, native byte order (the default layout of a save): the dataset's
  storage is allocated when it is created, so its byte offset in the file is fixed; every rank
  writes its rows' bytes there with ``os.pwrite``, concurrently. This is safe because HDF5
  stores a contiguous dataset as one C-order run of raw bytes and no metadata changes while
  the ranks write; it needs no MPI-enabled HDF5.
- chunked or filtered (the user asked for chunks, compression, a max shape, ...), with h5py
  built with MPI: the file is opened with the ``mpio`` driver and every rank writes its
  hyperslab collectively (ranks without rows take part with an empty selection).
- chunked or filtered, serial h5py: ranks write in turn (rank r waits for a token from r-1,
  opens the file ``r+``, writes, closes, passes the token), because serial HDF5 does not
  allow two writers of one file; several ranks' rows may share a chunk.

Contiguous is the default because rows of a row-split array are then disjoint byte ranges:
concurrent writes need no coordination, and later slab reads touch only the rows they need.
Chunked layouts pay off for compression or column slabs, and cost the serialised write.

The netCDF backend (``netcdf_format``) reuses ``write_rows`` for HDF5-based netCDF-4 files.
"""

from __future__ import annotations

import os
import shutil

import numpy as np

from .base import Backend, IOProblem, Meta, need, register_backend

# tag of the token that orders writes of serial HDF5; distinct from lazyheat's other messages
TOKEN_TAG = 0x4844
# create_dataset arguments that make HDF5 store a dataset in chunks
CHUNKING_ARGS = ("chunks", "compression", "compression_opts", "shuffle", "fletcher32",
                 "scaleoffset", "maxshape")
# create_dataset arguments lazyheat sets itself
RESERVED_ARGS = ("name", "shape", "dtype", "data", "dcpl")
DEFAULT_DATASET = "data"
# largest single pwrite (Linux writes at most ~2 GiB per call)
_PWRITE_MAX = 1 << 30
_SHOWN = 20


def holdable_dtype(dt: np.dtype, where: str) -> np.dtype:
    """The NumPy dtype a file dtype ``dt`` is read as: the same number type in native byte
    order (HDF5 converts while reading). Numbers lazyheat has no dtype for (uint16-uint64) pass
    through: the load then asks for ``dtype=`` to convert them. Strings, compound, object,
    array-element and extended-precision types raise ``IOProblem(kind=TypeError)``."""
    if (dt.subdtype is not None or dt.fields is not None or dt.kind not in "biufc"
            or (dt.kind == "f" and dt.itemsize > 8) or (dt.kind == "c" and dt.itemsize > 16)):
        raise IOProblem(f"{where} has dtype {dt}, which lazyheat cannot hold (it holds bool, "
                        "int8-int64, uint8, float16-float64, complex64/complex128)", TypeError)
    return np.dtype(bool) if dt.kind == "b" else np.dtype(f"{dt.kind}{dt.itemsize}")


def check_path(path: str) -> None:
    """Raise IOProblem(FileNotFoundError/OSError) unless ``path`` is an existing file."""
    if not os.path.exists(path):
        raise IOProblem(f"{path}: no such file", FileNotFoundError)
    if os.path.isdir(path):
        raise IOProblem(f"{path} is a directory, not an HDF5 file", OSError)


def open_h5(path: str, mode: str = "r"):
    """``h5py.File(path, mode)`` with errors a user can act on, naming the path."""
    h5py = need("h5py", extra="hdf5")
    check_path(path)
    try:
        return h5py.File(path, mode)
    except OSError as exc:  # not HDF5, truncated, locked, no permission
        raise IOProblem(f"{path} is not a readable HDF5 file ({exc})", OSError) from None


def dataset_names(group) -> list:
    """Paths of every dataset under ``group``, sorted."""
    h5py = need("h5py", extra="hdf5")
    names = []
    group.visititems(lambda n, obj: names.append(n) if isinstance(obj, h5py.Dataset) else None)
    return sorted(names)


def listing(names) -> str:
    """Names for an error message, bracketed (a message never ends in a quote)."""
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    more = f", ... {len(names)} in all" if len(names) > _SHOWN else ""
    return f"[{shown}{more}]"


def find_dataset(f, key: str, path: str):
    """(name, h5py.Dataset) of ``key`` in open file ``f``; key "" picks the file's only dataset.
    A missing name or a group raises IOProblem(KeyError) listing the datasets there are."""
    h5py = need("h5py", extra="hdf5")
    if not key:
        names = dataset_names(f)
        if len(names) == 1:
            return names[0], f[names[0]]
        raise IOProblem(f"{path} holds {len(names)} datasets; name one of: {listing(names)}",
                        KeyError)
    try:
        obj = f.get(key)
    except (KeyError, ValueError, OSError):  # broken links, bad names
        obj = None
    if not isinstance(obj, h5py.Dataset):
        what = "is a group, not a dataset" if isinstance(obj, h5py.Group) else "does not exist"
        raise IOProblem(f"dataset {key!r} {what} in {path}; datasets: "
                        f"{listing(dataset_names(f))}", KeyError)
    return obj.name.lstrip("/"), obj


def slab_shape(index, shape) -> tuple:
    return tuple(len(range(*s.indices(n))) for s, n in zip(index, shape))


def read_slab(dset, index, dtype: np.dtype) -> np.ndarray:
    """Elements ``index`` (one slice per axis, step >= 1) of an h5py-like dataset as ``dtype``.
    Only the selection is read (h5py turns steps into a strided hyperslab); HDF5 converts the
    type while reading when the file's differs (byte order, widened unsigned)."""
    index = tuple(index)
    shape = slab_shape(index, dset.shape)
    if 0 in shape:  # nothing to read: do not touch the file
        return np.empty(shape, dtype)
    src = dset if dset.dtype == dtype else dset.astype(dtype)
    out = src[index] if index else src[()]
    return np.asarray(out, dtype=dtype).reshape(shape)


# --------------------------------------------------------------------------- writing

def early_dcpl():
    """Dataset creation properties of a contiguous dataset whose storage exists from the start
    (so its file offset is known to every rank) and is never pre-filled (every element is
    written by some rank, so a fill would only double the bytes written)."""
    h5py = need("h5py", extra="hdf5")
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    return dcpl


def is_chunked(kwargs: dict) -> bool:
    return any(kwargs.get(k) not in (None, False) for k in CHUNKING_ARGS)


def is_hdf5(path: str) -> bool:
    return bool(need("h5py", extra="hdf5").is_hdf5(path))


def start_file(job, source: str | None, mode: str, what: str, kind: str = "HDF5",
               accepts=is_hdf5) -> str:
    """Rank 0, before the writes: make the temporary ``job.path`` start as a copy of the
    existing ``source`` for modes "a"/"r+" (adding to a file keeps its other contents, and the
    target is still replaced as a whole); ``accepts(source)`` says whether the file is one
    the ``what`` can be added to. Returns the mode to open ``job.path`` with ("r+" or "w")."""
    if mode in ("a", "r+") and source and os.path.exists(source):
        check_path(source)
        if not accepts(source):
            raise IOProblem(f"{source} is not a {kind} file; mode={mode!r} adds a {what} to an "
                            f"existing {kind} file (use mode='w' to replace it)", OSError)
        shutil.copyfile(source, job.path)
        return "r+"
    if mode == "r+":
        raise IOProblem(f"{source}: no such file (mode='r+' adds to an existing file)",
                        FileNotFoundError)
    return "w"


def rows_block(job, file_dtype):
    """(first row in the file, this rank's block in the file's dtype), or (0, None) when this
    rank writes nothing. A replicated array (split None) is written by rank 0 alone."""
    if job.split not in (0, None):
        raise ValueError(f"HDF5 writes need rows split along axis 0, got split={job.split}")
    if job.split is None:
        if job.rank != 0 or job.block is None:
            return 0, None
        return 0, np.asarray(job.block, dtype=file_dtype, order="C")
    if job.block is None or job.block.size == 0:
        return 0, None
    return job.offset, np.asarray(job.block, dtype=file_dtype, order="C")


def _inspect(path: str, names):
    """(name, file dtype, byte offset or None) of the first of dataset ``names`` that the file
    has; the offset is None unless the dataset can take raw concurrent writes (contiguous,
    allocated, unfiltered, and stored in exactly the byte layout NumPy uses in memory)."""
    h5py = need("h5py", extra="hdf5")
    with open_h5(path) as f:
        name = next((n for n in names if isinstance(f.get(n), h5py.Dataset)), names[-1])
        d = f[name]
        dt = d.dtype
        plist = d.id.get_create_plist()
        raw = (plist.get_layout() == h5py.h5d.CONTIGUOUS and plist.get_nfilters() == 0
               and d.id.get_type().equal(h5py.h5t.py_create(dt)))
        offset = d.id.get_offset() if raw else None
        return name, dt, offset


def _pwrite(path: str, offset: int, buf: np.ndarray) -> None:
    view = memoryview(buf.reshape(-1).view(np.uint8))
    fd = os.open(path, os.O_WRONLY)
    try:
        done = 0
        while done < len(view):
            done += os.pwrite(fd, view[done:done + _PWRITE_MAX], offset + done)
    finally:
        os.close(fd)


def _select(dset, start: int, block):
    """(memory space, file space) for writing ``block`` at row ``start``; an empty selection
    for ``block is None`` (a rank that must join a collective write with nothing to write)."""
    h5py = need("h5py", extra="hdf5")
    fspace = dset.id.get_space()
    if block is None:
        fspace.select_none()
        mspace = h5py.h5s.create_simple((1,))
        mspace.select_none()
        return mspace, fspace
    if block.ndim == 0:
        return h5py.h5s.create(h5py.h5s.SCALAR), fspace
    fspace.select_hyperslab((start,) + (0,) * (block.ndim - 1), block.shape)
    return h5py.h5s.create_simple(block.shape), fspace


def _h5_write(dset, start: int, block, dxpl=None) -> None:
    mspace, fspace = _select(dset, start, block)
    data = np.zeros(1, dset.dtype) if block is None else block
    dset.id.write(mspace, fspace, data, dxpl=dxpl)


def in_turn(job, write) -> None:
    """Run ``write()`` on every rank, one rank after another (rank order). The token carries
    the first failure, so a failing rank never leaves the later ones waiting; ranks after a
    failure skip their write and the failing rank's exception reports it."""
    comm = job.comm
    failed = None
    if comm is not None and job.rank > 0:
        failed = comm.recv(source=job.rank - 1, tag=TOKEN_TAG)
    try:
        if failed is None:
            write()
    except BaseException as exc:
        failed = f"rank {job.rank}: {type(exc).__name__}: {exc}"
        raise
    finally:
        if comm is not None and job.rank + 1 < job.size:
            comm.send(failed, dest=job.rank + 1, tag=TOKEN_TAG)


def write_rows(job, *names: str) -> None:
    """This rank's part of writing a dataset of ``job.path`` (created by prepare): the first
    of ``names`` the file has. See the module docstring for the three strategies. Collective
    over ``job.comm``."""
    h5py = need("h5py", extra="hdf5")
    parallel = job.comm is not None and job.size > 1
    size = int(np.prod(job.shape, dtype=np.int64))
    failure = raw = None
    try:
        name, file_dtype, offset = _inspect(job.path, names)
        raw = offset is not None or size == 0
    except Exception as exc:  # noqa: BLE001 - reported below, after the ranks agree
        failure = exc
    if parallel:
        # every rank's view of the file, exchanged: the ranks take one strategy, a rank that
        # cannot see the file fails alone (the others return), and this is the barrier that
        # keeps anyone from opening the file for writing while others still inspect it
        views = job.comm.allgather((failure is not None, raw))
        if failure is None and any(f for f, _ in views):
            return
        if failure is None and len({r for _, r in views}) > 1:
            raise IOProblem(f"the ranks see different files at {job.path}; is its directory "
                            "on a file system every rank shares?", OSError)
    if failure is not None:
        raise failure
    start, block = rows_block(job, file_dtype)
    if raw:
        # raw bytes at the dataset's fixed offset; rows of a C-order dataset are consecutive
        if block is not None and block.size:
            row_bytes = int(np.prod(job.shape[1:], dtype=np.int64)) * file_dtype.itemsize
            _pwrite(job.path, offset + start * row_bytes, block)
        return
    if parallel and h5py.get_config().mpi:
        with h5py.File(job.path, "r+", driver="mpio", comm=job.comm) as f:
            dxpl = h5py.h5p.create(h5py.h5p.DATASET_XFER)
            dxpl.set_dxpl_mpio(h5py.h5fd.MPIO_COLLECTIVE)
            _h5_write(f[name], start, block, dxpl)  # every rank, even without rows
        return
    if job.split is None:  # only rank 0 writes: no ordering needed
        if block is not None:
            with open_h5(job.path, "r+") as f:
                _h5_write(f[name], start, block)
        return

    def write():
        if block is not None:
            with open_h5(job.path, "r+") as f:
                _h5_write(f[name], start, block)

    in_turn(job, write)


class HDF5Backend(Backend):
    """One dataset of an HDF5 file (key = the dataset's path in the file, e.g. "a/b/x")."""

    name = "hdf5"
    extra = "hdf5"
    suffixes = (".h5", ".hdf5", ".hdf")
    rows_only = True

    def meta(self, path, key, options) -> Meta:
        with open_h5(path) as f:
            name, d = find_dataset(f, key, path)
            if d.shape is None:
                raise IOProblem(f"dataset {name!r} in {path} has no dataspace (an empty "
                                "HDF5 dataset); there is nothing to load", ValueError)
            dtype = holdable_dtype(d.dtype, f"dataset {name!r} in {path}")
            return Meta(tuple(int(n) for n in d.shape), dtype, (("dataset", name),))

    def read(self, path, key, index, meta, options) -> np.ndarray:
        name = meta.get("dataset", key)
        with open_h5(path) as f:
            try:
                return read_slab(f[name], index, meta.dtype)
            except (OSError, KeyError) as exc:  # changed or damaged since meta read it
                raise IOProblem(f"reading dataset {name!r} of {path} failed ({exc})",
                                OSError) from None

    def prepare(self, job) -> None:
        opts = job.options or {}
        name = job.key or DEFAULT_DATASET
        kwargs = dict(opts.get("dataset_kwargs") or {})
        fmode = start_file(job, opts.get("source"), opts.get("mode", "w"), "dataset")
        with open_h5(job.path, fmode) if fmode == "r+" else _new_file(job.path) as f:
            if name in f:
                raise IOProblem(f"{opts.get('source') or job.path} already has {name!r}; "
                                "save to a new dataset name, or use mode='w' to replace the "
                                "file", ValueError)
            if not is_chunked(kwargs):
                kwargs["dcpl"] = early_dcpl()
            try:
                f.create_dataset(name, shape=tuple(job.shape), dtype=np.dtype(job.dtype),
                                 **kwargs)
            except (ValueError, TypeError) as exc:  # bad name, bad chunk/filter arguments
                raise IOProblem(f"cannot create dataset {name!r} in "
                                f"{opts.get('source') or job.path}: {exc}", ValueError) from None

    def write(self, job) -> None:
        write_rows(job, job.key or DEFAULT_DATASET)


def _new_file(path: str):
    h5py = need("h5py", extra="hdf5")
    return h5py.File(path, "w")


register_backend(HDF5Backend())
