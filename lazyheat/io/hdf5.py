"""HDF5 files: ``load_hdf5`` and ``save_hdf5`` (HeAT's names and parameters).

A load reads the dataset's shape and dtype once (rank 0) and each rank's hyperslab when the
plan runs; a save writes a new file next to the target and renames it over the target when
every rank has finished. The backend is ``lazyheat.runtime.io.hdf5_format``; it needs h5py
(``pip install 'lazyheat[hdf5]'``).
"""

from __future__ import annotations

import os

from ..runtime.io.hdf5_format import RESERVED_ARGS
from . import core

MODES = ("w", "w-", "x", "a", "r+")


def load_hdf5(path, dataset, dtype=None, split=0, device=None, comm=None):
    """A lazy array of ``dataset`` in the HDF5 file ``path``, split along ``split``.

    Parameters
    ----------
    path : str or os.PathLike
        The HDF5 file.
    dataset : str
        The dataset's path in the file (``"x"``, ``"group/sub/x"``); ``""`` takes the
        file's only dataset.
    dtype : lazyheat dtype, optional
        Convert to this type while reading (default: the file's type; needed for types
        lazyheat lacks, such as uint16).
    split : int or None
        The axis the array is split along over the ranks (None: every rank holds all of it).
    device, comm : optional
        As for every creation function.

    Shape and dtype are known at once (rank 0 reads the metadata and broadcasts it; a
    missing file or dataset raises the same error on every rank). Nothing else is read until
    the array is computed, and then each rank reads only its own block, or only the part a
    slice after the load keeps::

        x = lh.load_hdf5("data.h5", "temperature", split=0)
        x[100:200, ::2].mean()   # reads rows 100..199, every second column
    """
    if not isinstance(dataset, str):
        raise TypeError(f"dataset must be str, not {type(dataset).__name__}")
    return core.load("hdf5", path, dataset, split=split, dtype=dtype, device=device, comm=comm)


def save_hdf5(data, path, dataset, mode="w", **kwargs) -> None:
    """Write ``data`` to ``dataset`` of the HDF5 file ``path`` (collective).

    Parameters
    ----------
    data : LazyArray
        The array; it is computed first.
    path : str or os.PathLike
        The HDF5 file.
    dataset : str
        The dataset's path in the file; groups in it (``"a/b/x"``) are created.
    mode : {"w", "w-", "x", "a", "r+"}
        ``"w"`` replaces the file (the default, as HeAT); ``"w-"``/``"x"`` refuse an
        existing file (FileExistsError); ``"a"`` adds the dataset to the file if there is
        one (else creates it), ``"r+"`` adds it to a file that must exist. The file is
        always replaced as a whole, so "a" and "r+" first copy the existing file (time
        proportional to its size); a dataset of that name already there is an error.
    **kwargs
        Passed to h5py's ``create_dataset``: ``chunks``, ``compression``,
        ``compression_opts``, ``shuffle``, ``fletcher32``, ``scaleoffset``, ``maxshape``,
        ``fillvalue``, ...

    The new file appears under ``path`` only when every rank has finished. By default the
    dataset is contiguous and every rank writes its rows concurrently; a chunked or
    compressed dataset is written collectively with MPI-enabled h5py, else rank by rank::

        lh.save_hdf5(x, "out.h5", "results/x")
        lh.save_hdf5(y, "out.h5", "results/y", mode="a", compression="gzip")
    """
    if "overwrite" in kwargs:  # the other formats' spelling: True is mode "w", False "w-"
        mode = "w" if kwargs.pop("overwrite") else "w-"
    if not isinstance(dataset, str):
        raise TypeError(f"dataset must be str, not {type(dataset).__name__}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    reserved = sorted(set(kwargs) & set(RESERVED_ARGS))
    if reserved:
        raise TypeError(f"save_hdf5 sets {reserved} itself; remove them from the arguments")
    options = {"mode": mode, "source": os.path.abspath(os.fspath(path)),
               "dataset_kwargs": dict(kwargs)}
    core.save("hdf5", data, path, dataset, overwrite=mode not in ("w-", "x"), options=options)
