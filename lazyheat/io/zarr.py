"""Zarr stores: ``load_zarr`` and ``save_zarr`` (HeAT's names and parameters).

A load reads the array's metadata once (rank 0) and, when the plan runs, each rank reads
the chunks its block touches; a save writes zarr v3 with every rank writing its own chunks
in parallel, into a new store next to the target that replaces the target when every rank
has finished. The backend is ``lazyheat.runtime.io.zarr_format``; it needs zarr 3
(``pip install 'lazyheat[zarr]'``).
"""

from __future__ import annotations

from . import core


def load_zarr(path, variable="", split=0, device=None, comm=None, slices=None, dtype=None):
    """A lazy array of the Zarr array at ``path`` (or ``variable`` inside the group there).

    Parameters
    ----------
    path : str or os.PathLike
        The store: a directory holding a single array, or a group.
    variable : str, optional
        The array's path inside the group (``"x"``, ``"run1/x"``); ``""`` (default) when
        ``path`` is the array itself. A group without ``variable`` raises a KeyError that
        lists its arrays.
    split : int or None
        The axis the array is split along over the ranks (None: every rank holds all of it).
    device, comm : optional
        As for every creation function.
    slices : slice or tuple of slices, optional
        Load only this part (as HeAT's ``slices``); the same as indexing the result.
    dtype : lazyheat dtype, optional
        Convert while reading (default: the stored type; uint16/uint32 become int32/int64,
        and uint64 needs ``dtype=``).

    Nothing is read until the array is computed; then each rank decodes only the chunks
    that hold its rows, or the part a slice after the load keeps::

        x = lh.load_zarr("run.zarr", "temperature", split=0)
        x[1000:2000].mean(0)      # decodes the chunks of rows 1000..1999 only
    """
    if not isinstance(variable, str):
        raise TypeError(f"variable must be str, not {type(variable).__name__}")
    x = core.load("zarr", path, variable, split=split, dtype=dtype, device=device, comm=comm)
    if slices is not None:
        if isinstance(slices, slice):
            slices = (slices,)
        if not all(s is None or isinstance(s, slice) for s in slices):
            raise TypeError("slices must be a slice or a tuple of slices (or None)")
        x = x[tuple(slice(None) if s is None else s for s in slices)]
    return x


def save_zarr(data, path, overwrite=False, *, variable="", chunks=None, compressor="lz4"):
    """Write ``data`` to a new zarr v3 store at ``path`` (collective).

    Parameters
    ----------
    data : LazyArray
        The array; it is computed first.
    path : str or os.PathLike
        The store (a directory, conventionally named ``*.zarr``).
    overwrite : bool
        Replace an existing store (else FileExistsError on every rank).
    variable : str, optional
        Write the array as ``variable`` of a group at ``path`` (groups in it, as in
        ``"run1/x"``, are created); ``""`` (default) writes a bare array.
    chunks : tuple of int, optional
        The chunk shape. By default chunks hold about 4 MiB and every rank's rows are a
        whole number of chunks, so all ranks write at once; chunks whose rows straddle two
        ranks' blocks make the ranks write one after another instead.
    compressor : {"lz4", "zstd", None}
        Blosc LZ4 with byte shuffle (default: fast, and smaller than zarr's own default
        for most numeric data), Zstandard level 3 (smaller, slower), or none.

    The store appears under ``path`` only when every rank has finished::

        lh.save_zarr(x, "out.zarr", overwrite=True)
        lh.save_zarr(y, "run.zarr", variable="results/y", chunks=(1000, 64))
    """
    if not isinstance(variable, str):
        raise TypeError(f"variable must be str, not {type(variable).__name__}")
    options = {"compressor": compressor}
    if chunks is not None:
        options["chunks"] = tuple(int(c) for c in chunks)
    core.save("zarr", data, path, variable, overwrite=overwrite, options=options)
