"""File formats: one backend per format, registered by name (``BACKENDS``).

A backend reads metadata at build time (``meta``), reads one rank's hyperslab at run time
(``read``) and writes one rank's block of a save (``write``). The graph's ``load`` leaf names
its backend; the ``load`` kernel (``runtime/kernels/io.py``) calls it. Optional libraries
(h5py, zarr, pyarrow, ...) are imported inside the backends, on first use, so a missing one
only matters to the format that needs it (``need`` names the extra to install).
"""

from __future__ import annotations

from . import (  # noqa: F401 - each module registers its backend
    csv_format,
    hdf5_format,
    netcdf_format,
    npy_format,
    parquet_format,
    zarr_format,
)
from .base import BACKENDS, Backend, IOProblem, Meta, WriteJob, backend, need, register_backend

__all__ = ["BACKENDS", "Backend", "IOProblem", "Meta", "WriteJob", "backend", "need",
           "register_backend"]
