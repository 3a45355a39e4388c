"""netCDF files: ``load_netcdf`` and ``save_netcdf`` (HeAT's names and parameters).

Loads and saves work as for HDF5 (``lazyheat.io.hdf5``): metadata once, each rank's slab
when the plan runs, atomic saves. The backend is ``lazyheat.runtime.io.netcdf_format``; it
uses h5netcdf (``pip install 'lazyheat[netcdf]'``), or the netCDF4 package when h5netcdf is
missing or the file is netCDF-3.
"""

from __future__ import annotations

import os

import numpy as np

from ..runtime.io.netcdf_format import creation_kwargs, dim_names
from . import core

MODES = ("w", "w-", "x", "a", "r+")


def load_netcdf(path, variable, dtype=None, split=0, device=None, comm=None):
    """A lazy array of ``variable`` in the netCDF file ``path``, split along ``split``.

    Parameters
    ----------
    path : str or os.PathLike
        The netCDF file (netCDF-4; netCDF-3 files need the netCDF4 package).
    variable : str
        The variable's name, or its path ``"group/name"``; ``""`` takes the file's only
        variable that is not a coordinate.
    dtype : lazyheat dtype, optional
        Convert to this type while reading (default: the variable's type).
    split : int or None
        The axis the array is split along over the ranks (None: every rank holds all of it).
    device, comm : optional
        As for every creation function.

    Values are read as stored (``scale_factor``, ``add_offset`` and ``_FillValue`` are not
    applied). Each rank reads only its block, or the part a slice after the load keeps::

        t = lh.load_netcdf("era5.nc", "t2m", split=0)
        t[:, 10:20].mean(axis=0)   # reads columns 10..19
    """
    if not isinstance(variable, str):
        raise TypeError(f"variable must be str, not {type(variable).__name__}")
    return core.load("netcdf", path, variable, split=split, dtype=dtype, device=device,
                     comm=comm)


def save_netcdf(data, path, variable, mode="w", dimension_names=None, is_unlimited=False,
                file_slices=slice(None), **kwargs) -> None:
    """Write ``data`` to ``variable`` of the netCDF-4 file ``path`` (collective).

    Parameters
    ----------
    data : LazyArray
        The array; it is computed first. bool is stored as int8 with the attribute
        ``dtype="bool"`` (as xarray does) and loads back as bool; float16 is refused
        (netCDF has no 16-bit float).
    path : str or os.PathLike
        The netCDF file.
    variable : str
        The variable's name (``"group/name"`` creates the group).
    mode : {"w", "w-", "x", "a", "r+"}
        As for ``save_hdf5``: "w" replaces the file, "w-"/"x" refuse an existing one, "a"
        and "r+" add the variable to a copy of the existing netCDF-4 file (its dimensions of
        the same names are reused when their lengths match).
    dimension_names : str or sequence of str, optional
        One name per dimension (default ``"<variable>_dim_<i>"``).
    is_unlimited : bool
        Create the new dimensions unlimited (the variable is then chunked).
    file_slices : slice
        Only ``slice(None)`` (the whole variable) is supported.
    **kwargs
        netCDF4-style variable options: ``zlib``, ``complevel``, ``shuffle``,
        ``fletcher32``, ``chunksizes``, ``fill_value`` (h5py's names work as well).

    ::

        lh.save_netcdf(t, "out.nc", "t2m", dimension_names=("time", "lat", "lon"))
    """
    if "overwrite" in kwargs:  # the other formats' spelling: True is mode "w", False "w-"
        mode = "w" if kwargs.pop("overwrite") else "w-"
    if not isinstance(variable, str):
        raise TypeError(f"variable must be str, not {type(variable).__name__}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if not (isinstance(file_slices, slice) and file_slices == slice(None)):
        raise NotImplementedError("save_netcdf writes whole variables; file_slices other than "
                                  "slice(None) are not supported")
    ndim = data.ndim if hasattr(data, "ndim") else np.ndim(data)
    names = dim_names(variable or "data", ndim, dimension_names)
    dtype = getattr(data, "dtype", None)
    if getattr(dtype, "name", None) == "float16":
        raise TypeError("netCDF has no 16-bit float: cast to float32 first (x.astype("
                        "lh.float32)), or use save_hdf5")
    creation_kwargs(kwargs)  # unknown options raise TypeError before anything is computed
    options = {"mode": mode, "source": os.path.abspath(os.fspath(path)),
               "dimension_names": names, "is_unlimited": bool(is_unlimited),
               "variable_kwargs": dict(kwargs)}
    core.save("netcdf", data, path, variable, overwrite=mode not in ("w-", "x"),
              options=options)
