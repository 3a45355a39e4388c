"""Parquet tables: ``load_parquet`` and ``save_parquet``.

A 2-d array is a table whose columns are the array's columns; a 1-d array is one column.
A load reads the footers once (rank 0) and, when the plan runs, each rank reads only the
row groups holding its rows, and only the selected columns. A save writes a dataset
directory with one file per rank (``part-00000.parquet``, ... in row order), all ranks at
once; pyarrow, pandas, Dask, Spark and DuckDB read such a directory as one table, and
``load_parquet`` reads a single file or such a directory. The backend is
``lazyheat.runtime.io.parquet_format``; it needs pyarrow (``pip install 'lazyheat[parquet]'``).
"""

from __future__ import annotations

from . import core


def _columns(columns):
    if columns is None or isinstance(columns, (str, int)):
        return columns
    columns = tuple(columns)
    if not all(isinstance(c, (str, int)) for c in columns):
        raise TypeError("columns must be names (str) or positions (int)")
    return columns


def load_parquet(path, columns=None, split=0, dtype=None, device=None, comm=None):
    """A lazy array of the Parquet file or dataset directory ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.parquet`` file, or a directory of them read as one table in name order
        (``_``- and ``.``-prefixed files are skipped; partition subdirectories are not read).
    columns : list of str or int, or a str or int, optional
        The columns to read, by name or position, in this order; a single name or position
        (not in a list) gives a 1-d array. Default: every column (a 2-d array; 1-d for a
        file saved from a 1-d array).
    split : int or None
        The axis the array is split along over the ranks (None: every rank holds all of it).
    dtype : lazyheat dtype, optional
        Convert while reading. Default: the columns' common type by NumPy promotion (int32
        and float64 columns give float64); integer columns with nulls read as float64 (NaN).
    device, comm : optional
        As for every creation function.

    Non-numeric columns raise a TypeError naming them (select numeric ones with
    ``columns=``). Only the row groups holding a rank's rows are read, and only the chosen
    columns::

        x = lh.load_parquet("trips.parquet", columns=["distance", "fare"])
        x[:10**6].mean(0)          # reads the row groups of the first million rows
    """
    options = {} if columns is None else {"columns": _columns(columns)}
    return core.load("parquet", path, "", split=split, dtype=dtype, device=device, comm=comm,
                     options=options)


def save_parquet(data, path, columns=None, overwrite=False, *, row_group_size=None,
                 compression="snappy"):
    """Write the 1-d or 2-d ``data`` as a Parquet dataset directory at ``path`` (collective).

    Parameters
    ----------
    data : LazyArray
        The array (bool, integer or float; Parquet has no complex columns); computed first.
    path : str or os.PathLike
        The dataset directory, conventionally named ``*.parquet``; every rank with rows
        writes ``part-<rank>.parquet`` in it.
    columns : list of str, optional
        Column names (default ``"0"``, ``"1"``, ...).
    overwrite : bool
        Replace an existing file or directory (else FileExistsError on every rank).
    row_group_size : int, optional
        Rows per row group (default: about 32 MiB of data, at most 1 Mi rows). A read
        fetches whole row groups, so smaller groups make small slices cheaper.
    compression : str
        Parquet codec: ``"snappy"`` (default), ``"zstd"``, ``"gzip"``, ``"lz4"``, ``"none"``.

    The directory appears under ``path`` only when every rank has finished::

        lh.save_parquet(x, "features.parquet", columns=["a", "b", "c"])
    """
    options = {"compression": compression}
    if columns is not None:
        options["columns"] = tuple(str(c) for c in columns)
    if row_group_size is not None:
        options["row_group_size"] = int(row_group_size)
    core.save("parquet", data, path, "", overwrite=overwrite, options=options)
