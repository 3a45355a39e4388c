"""Parallel, lazy file I/O: loads are leaves of the plan, saves are atomic.

Functions take HeAT's names and parameters: ``load_hdf5``/``save_hdf5``,
``load_netcdf``/``save_netcdf``, ``load_zarr``/``save_zarr``, ``load_npy``/``save_npy``,
``load_csv``/``save_csv``, ``load_parquet``/``save_parquet``, and ``load``/``save`` choosing
the format by the file's extension. Formats that need an optional library name the extra to
install (``pip install 'lazyheat[hdf5]'``, ``[netcdf]``, ``[zarr]``, ``[parquet]``, ``[csv]``,
or ``[io]`` for all) when it is missing.
"""

from __future__ import annotations

from .core import format_of
from .csv import load_csv, save_csv
from .hdf5 import load_hdf5, save_hdf5
from .netcdf import load_netcdf, save_netcdf
from .npy import load_npy, save_npy
from .parquet import load_parquet, save_parquet
from .zarr import load_zarr, save_zarr

# format -> (load, save): what ``load``/``save`` call for a file's extension
_BY_FORMAT = {"hdf5": (load_hdf5, save_hdf5), "netcdf": (load_netcdf, save_netcdf),
              "zarr": (load_zarr, save_zarr), "npy": (load_npy, save_npy),
              "csv": (load_csv, save_csv), "parquet": (load_parquet, save_parquet)}


def load(path, *args, **kwargs):
    """Load ``path`` with the function its extension names (``.h5``/``.hdf5``: load_hdf5,
    ``.nc``: load_netcdf, ``.zarr``: load_zarr, ``.npy``: load_npy, ``.csv``/``.txt``/
    ``.tsv``: load_csv, ``.parquet``: load_parquet); other arguments go to it, as HeAT's
    ``ht.load``: ``lh.load("run.h5", "temperature", split=0)``."""
    return _BY_FORMAT[format_of(path)][0](path, *args, **kwargs)


def save(data, path, *args, **kwargs) -> None:
    """Save ``data`` to ``path`` with the function its extension names (see ``load``), as
    HeAT's ``ht.save``: ``lh.save(x, "out.h5", "x")``."""
    _BY_FORMAT[format_of(path)][1](data, path, *args, **kwargs)


__all__ = ["load", "save", "load_csv", "save_csv", "load_hdf5", "save_hdf5", "load_netcdf",
           "save_netcdf", "load_npy", "save_npy", "load_parquet", "save_parquet", "load_zarr",
           "save_zarr"]
