"""The backend interface of file formats, and the registry of backends.

Every method is called on one rank with global arguments (paths, keys, global index ranges);
the callers in ``lazyheat/io`` (metadata, once per load, on rank 0 and broadcast) and the
``load`` kernel (this rank's slab) keep the collectives. Errors a user can fix raise
``IOProblem`` with a message naming the path (and dataset); the callers turn it into the same
exception on every rank.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np


class IOProblem(Exception):
    """A file problem the user can fix (missing file or dataset, unreadable data, a dtype
    lazyheat cannot hold, ragged CSV rows, ...). ``kind`` is the exception class the user
    gets (FileNotFoundError, KeyError, ValueError, TypeError, FileExistsError, OSError)."""

    def __init__(self, message: str, kind: type = ValueError):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Meta:
    """What a load knows before reading data: the global shape and NumPy dtype, and
    format-specific facts the reader needs again (byte offsets, row-group sizes, ...) as a
    tuple of (name, value) pairs of plain Python values (they become part of the plan)."""

    shape: tuple
    dtype: np.dtype
    info: tuple = field(default=())

    def get(self, name, default=None):
        for k, v in self.info:
            if k == name:
                return v
        return default


class Backend:
    """One file format. Subclasses set ``name``, ``extra`` (the pip extra that installs its
    library, or None), ``suffixes`` (for ``lh.load``/``lh.save`` dispatch) and implement:

    - ``meta(path, key, options) -> Meta``: shape and dtype from the file's metadata
      (CSV: from a scan of the file). ``options`` is a tuple of sorted (name, value) pairs.
    - ``read(path, key, index, meta, options) -> np.ndarray``: the hyperslab ``index`` (one
      ``slice`` per axis, in file coordinates, ``step >= 1``) as a NumPy array of
      ``meta.dtype``; reads only those bytes where the format allows it.
    - ``write(job) -> None``: this rank's part of a save (see ``WriteJob``); collective
      formats may use ``job.comm`` (an mpi4py communicator) for ordering (e.g. HDF5 without
      MPI: ranks write in turn). The file is ``job.path`` (a temporary name; the caller
      renames it when every rank has finished).
    - ``prepare(job) -> None`` (optional): run on rank 0 alone before any rank writes (create
      the file, write a header, preallocate); ``finish(job)`` (optional) on rank 0 after all
      ranks wrote.
    """

    name = ""
    extra: str | None = None
    suffixes: tuple = ()
    # True when ``write`` wants the array split along axis 0 (rows contiguous per rank)
    rows_only = True

    def meta(self, path, key, options) -> Meta:
        raise NotImplementedError

    def read(self, path, key, index, meta, options) -> np.ndarray:
        raise NotImplementedError

    def prepare(self, job) -> None:
        pass

    def write(self, job) -> None:
        raise NotImplementedError

    def finish(self, job) -> None:
        pass


@dataclass
class WriteJob:
    """One rank's view of a save: ``path`` (the temporary file or directory every rank
    writes), ``key`` (dataset/variable/column name or ""), ``shape`` and ``dtype`` (global,
    NumPy), ``block`` (this rank's block, a NumPy array), ``split`` (None: replicated, and
    only rank 0's block is written), ``offset`` (this rank's first index along ``split``),
    ``counts`` (every rank's block length along ``split``), ``rank``, ``size``, ``comm``
    (mpi4py communicator, or None on one rank) and ``options`` (dict)."""

    path: str
    key: str
    shape: tuple
    dtype: np.dtype
    block: np.ndarray | None
    split: int | None
    offset: int
    counts: tuple
    rank: int
    size: int
    comm: object
    options: dict


BACKENDS: dict[str, Backend] = {}


def register_backend(b: Backend) -> Backend:
    if b.name in BACKENDS:
        raise ValueError(f"backend {b.name!r} registered twice")
    BACKENDS[b.name] = b
    return b


def backend(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown file format {name!r}; known: {sorted(BACKENDS)}") from None


def need(module: str, extra: str):
    """Import optional ``module`` or raise an ImportError naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{module} is needed for this file format: pip install "
                          f"'lazyheat[{extra}]' (or pip install {module})") from exc
