"""Parallel, lazy file I/O: loads are leaves of the plan, saves are atomic.

Functions take HeAT's names and parameters: ``load_hdf5``/``save_hdf5``,
``load_netcdf``/``save_netcdf``, ``load_zarr``/``save_zarr``, ``load_npy``/``save_npy``,
``load_csv``/``save_csv``, ``load_parquet``/``save_parquet``, and ``load``/``save`` choosing
the format by the file's extension. Formats that need an optional library name the extra to
install (``pip install 'lazyheat[hdf5]'``, ``[netcdf]``, ``[zarr]``, ``[parquet]``, or
``[io]`` for all) when it is missing.
"""

from __future__ import annotations

from .core import load_any as load
from .core import save_any as save
from .npy import load_npy, save_npy

__all__ = ["load", "save", "load_npy", "save_npy"]
