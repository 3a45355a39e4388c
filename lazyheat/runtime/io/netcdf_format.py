"""netCDF backend ("netcdf"): one variable of a netCDF file (key = the variable's name, or
its path "group/name" in a netCDF-4 file).

Library: h5netcdf, which reads and writes netCDF-4 files through h5py (one HDF5 library in
the process; the netCDF C library brings its own). Reads slice the variable, which h5py turns
into a hyperslab read of only the selected elements. A netCDF-4 file is an HDF5 file, so
writes are the HDF5 backend's: rank 0 creates the file, its dimensions and the variable; the
ranks then write their rows into the variable's HDF5 dataset (raw concurrent writes for a
contiguous variable, collective ``mpio`` or ranks in turn for a chunked one; see
``hdf5_format``). The netCDF4 package (the netCDF C library) serves as a fallback when
h5netcdf is missing, and reads netCDF-3 ("classic") files, which are not HDF5; writes
through it go rank after rank.

Values are read as stored: ``scale_factor``/``add_offset`` are not applied and ``_FillValue``
is not masked. Types: netCDF has no bool, so a bool variable is stored as int8 with the
attribute ``dtype = "bool"`` (the convention xarray uses) and loaded back as bool; netCDF has
no float16 (the netCDF C library cannot read one), so saving float16 raises TypeError; complex
values are stored as the compound type {r, i} that netCDF-C 4.9 and h5netcdf read as complex.
"""

from __future__ import annotations

import importlib

import numpy as np

from . import hdf5_format as h5
from .base import Backend, IOProblem, Meta, register_backend

DEFAULT_VARIABLE = "data"
# netCDF-4 C library's HDF5 name of a variable whose name clashes with a dimension's
_NON_COORD = "_nc4_non_coord_"
# netCDF4-python's createVariable arguments and their h5py equivalents
_RENAMED = {"chunksizes": "chunks", "fill_value": "fillvalue"}
_H5_ARGS = ("chunks", "compression", "compression_opts", "shuffle", "fletcher32", "fillvalue")


def _import(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def engine(path: str | None = None) -> str:
    """The library ("h5netcdf" or "netCDF4") that reads ``path`` (h5netcdf unless the file
    is netCDF-3, which is not HDF5, or h5netcdf is missing) or, without a path, writes."""
    classic = path is not None and _is_classic(path)
    if not classic and _import("h5netcdf") is not None:
        return "h5netcdf"
    if _import("netCDF4") is not None:
        return "netCDF4"
    if classic:
        raise IOProblem(f"{path} is a netCDF-3 (classic) file, which h5netcdf cannot read: "
                        "pip install netCDF4", OSError)
    raise ImportError("h5netcdf is needed for this file format: pip install "
                      "'lazyheat[netcdf]' (or pip install h5netcdf)")


def _is_classic(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in (b"CDF\x01", b"CDF\x02", b"CDF\x05")
    except OSError:
        return False


def open_nc(path: str, mode: str = "r", lib: str | None = None):
    """An open netCDF file of library ``lib`` (default: ``engine(path)``), errors naming
    ``path``. Raw values: netCDF4's automatic masking and scaling are switched off."""
    h5.check_path(path)
    lib = lib or engine(path)
    try:
        if lib == "h5netcdf":
            # phony dimensions let plain HDF5 datasets without dimension scales open as well
            return importlib.import_module("h5netcdf").File(path, mode, phony_dims="access")
        nc = importlib.import_module("netCDF4")
        try:
            ds = nc.Dataset(path, mode, auto_complex=True)
        except TypeError:  # netCDF4 before 1.7 has no complex support
            ds = nc.Dataset(path, mode)
        ds.set_auto_maskandscale(False)
        return ds
    except OSError as exc:
        raise IOProblem(f"{path} is not a readable netCDF file ({exc})", OSError) from None


def variable_names(group, prefix: str = "") -> list:
    """Paths of every variable in ``group`` and its subgroups, sorted."""
    names = [prefix + n for n in group.variables]
    for g, sub in group.groups.items():
        names += variable_names(sub, f"{prefix}{g}/")
    return sorted(names)


def find_variable(f, key: str, path: str):
    """(name, variable) of ``key`` in open file ``f``. Key "" picks the file's only variable
    that is not a coordinate (a 1-d variable named after its dimension)."""
    if not key:
        data = [n for n, v in f.variables.items() if tuple(v.dimensions) != (n,)]
        if len(data) == 1:
            return data[0], f.variables[data[0]]
        raise IOProblem(f"{path} holds {len(data)} data variables; name one of: "
                        f"{h5.listing(variable_names(f))}", KeyError)
    try:
        var = f[key]
    except (KeyError, IndexError, ValueError):
        var = None
    # by class name: netCDF4's Variable raises KeyError, not AttributeError, in hasattr
    if type(var).__name__ != "Variable":
        what = "is a group, not a variable" if var is not None else "does not exist"
        raise IOProblem(f"variable {key!r} {what} in {path}; variables: "
                        f"{h5.listing(variable_names(f))}", KeyError)
    return key.strip("/"), var


def _attr(var, name):
    if hasattr(type(var), "attrs"):
        return var.attrs.get(name)  # h5netcdf
    return var.getncattr(name) if name in var.ncattrs() else None  # netCDF4


def variable_dtype(var, where: str) -> np.dtype:
    """The dtype lazyheat loads ``var`` as (see ``hdf5_format.holdable_dtype``)."""
    user_type = getattr(var, "datatype", None)  # VLType's dtype is its element type
    if type(user_type).__name__ == "VLType":
        raise IOProblem(f"{where} has the user-defined type {user_type}, which lazyheat "
                        "cannot hold", TypeError)
    try:
        dt = np.dtype(var.dtype)
    except TypeError:
        raise IOProblem(f"{where} has type {var.dtype}, which lazyheat cannot hold",
                        TypeError) from None
    if dt.kind in "iu" and dt.itemsize == 1 and _attr(var, "dtype") == "bool":
        return np.dtype(bool)
    return h5.holdable_dtype(dt, where)


def read_variable(var, index, dtype: np.dtype) -> np.ndarray:
    """Elements ``index`` of a netCDF variable as ``dtype``; reads only the selection."""
    index = tuple(index)
    shape = h5.slab_shape(index, var.shape)
    if 0 in shape:
        return np.empty(shape, dtype)
    out = np.asarray(var[index] if index else var[...])
    if dtype.kind == "b" and out.dtype.kind != "b":
        out = out != 0
    return out.astype(dtype, copy=False).reshape(shape)


def stored_dtype(dtype: np.dtype, where: str) -> np.dtype:
    """The netCDF type a lazyheat dtype is saved as (bool as int8; float16 refused)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.dtype("int8")
    if dtype == np.float16:
        raise IOProblem(f"cannot save float16 to {where}: netCDF has no 16-bit float (cast to "
                        "float32 first, or use save_hdf5)", TypeError)
    return dtype


def creation_kwargs(kwargs: dict, lib: str = "h5netcdf") -> dict:
    """netCDF4-python style ``createVariable`` arguments (zlib, complevel, shuffle,
    fletcher32, chunksizes, fill_value, contiguous; the h5py names compression,
    compression_opts, chunks, fillvalue are accepted too) translated for library ``lib``.
    Anything else raises TypeError, so a typo is not silently ignored."""
    kwargs = {k: v for k, v in (kwargs or {}).items() if v is not None}
    known = set(_RENAMED) | set(_H5_ARGS) | {"zlib", "complevel", "contiguous"}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(f"unsupported netCDF variable options {unknown}; supported: "
                        f"{sorted(known)}")
    compress = bool(kwargs.get("zlib")) or kwargs.get("compression") in ("gzip", "zlib")
    if kwargs.get("compression") not in (None, "gzip", "zlib"):
        raise TypeError(f"unsupported netCDF compression {kwargs['compression']!r}; "
                        "use zlib=True (gzip)")
    level = kwargs.get("complevel", kwargs.get("compression_opts", 4))
    chunks = kwargs.get("chunksizes", kwargs.get("chunks"))
    fill = kwargs.get("fill_value", kwargs.get("fillvalue"))
    if lib == "netCDF4":
        out = {"zlib": compress, "complevel": level, "shuffle": kwargs.get("shuffle", True),
               "fletcher32": bool(kwargs.get("fletcher32")), "chunksizes": chunks,
               "fill_value": fill}
        return {k: v for k, v in out.items() if v is not None}
    out = {"chunks": chunks, "fillvalue": fill,
           "fletcher32": True if kwargs.get("fletcher32") else None}
    if compress:  # as netCDF4: shuffle goes with the compressor unless switched off
        out.update(compression="gzip", compression_opts=level,
                   shuffle=bool(kwargs.get("shuffle", True)))
    return {k: v for k, v in out.items() if v is not None}


def _group(root, parts, create: bool):
    g = root
    for p in parts:
        if p in g.groups:
            g = g.groups[p]
        elif create:
            g = g.create_group(p) if hasattr(g, "create_group") else g.createGroup(p)
        else:
            return None
    return g


def _visible_dim(group, name):
    """The dimension ``name`` as seen from ``group`` (netCDF scoping: its own or an
    ancestor's), or None."""
    g = group
    while g is not None:
        if name in g.dimensions:
            return g.dimensions[name]
        g = g.parent
    return None


def dim_names(key: str, ndim: int, names) -> tuple:
    """The variable's dimension names: given, or "<variable>_dim_<i>" as HeAT names them."""
    if names is None:
        leaf = key.strip("/").split("/")[-1]
        return tuple(f"{leaf}_dim_{i}" for i in range(ndim))
    names = (names,) if isinstance(names, str) else tuple(names)
    if len(names) != ndim:
        raise ValueError(f"{len(names)} dimension names given for {ndim} dimensions")
    return names


class NetCDFBackend(Backend):
    """One variable of a netCDF file (h5netcdf, or the netCDF4 package as a fallback)."""

    name = "netcdf"
    extra = "netcdf"
    suffixes = (".nc", ".nc4", ".netcdf")
    rows_only = True

    def meta(self, path, key, options) -> Meta:
        h5.check_path(path)
        lib = engine(path)
        with open_nc(path, "r", lib) as f:
            name, var = find_variable(f, key, path)
            dtype = variable_dtype(var, f"variable {name!r} in {path}")
            return Meta(tuple(int(n) for n in var.shape), dtype,
                        (("engine", lib), ("variable", name)))

    def read(self, path, key, index, meta, options) -> np.ndarray:
        name = meta.get("variable", key)
        with open_nc(path, "r", meta.get("engine")) as f:
            try:
                return read_variable(f[name], index, meta.dtype)
            except (OSError, KeyError, IndexError, RuntimeError) as exc:
                raise IOProblem(f"reading variable {name!r} of {path} failed ({exc})",
                                OSError) from None

    def prepare(self, job) -> None:
        opts = job.options or {}
        key = (job.key or DEFAULT_VARIABLE).strip("/")
        where = opts.get("source") or job.path
        store = stored_dtype(job.dtype, where)
        dims = dim_names(key, len(job.shape), opts.get("dimension_names"))
        unlimited = bool(opts.get("is_unlimited"))
        lib = engine()
        kwargs = creation_kwargs(opts.get("variable_kwargs"), lib)
        # h5netcdf adds to netCDF-4 (HDF5) files only; the netCDF C library to any netCDF file
        fmode = h5.start_file(job, opts.get("source"), opts.get("mode", "w"), "variable",
                              *(("netCDF-4 (HDF5)", h5.is_hdf5) if lib == "h5netcdf"
                                else ("netCDF", lambda p: True)))
        with open_nc(job.path, "r+", lib) if fmode == "r+" else _create(job.path, lib) as f:
            *groups, leaf = key.split("/")
            group = _group(f, groups, create=True)
            if leaf in group.variables or leaf in group.groups:
                raise IOProblem(f"{where} already has {key!r}; save to a new variable name, or "
                                "use mode='w' to replace the file", ValueError)
            for d, n in zip(dims, job.shape):
                have = _visible_dim(group, d)
                if have is None:
                    size = None if unlimited else int(n)
                    if lib == "h5netcdf":
                        group.dimensions[d] = size
                    else:
                        group.createDimension(d, size)
                elif len(have) != n and not (unlimited and have.isunlimited()):
                    raise IOProblem(f"dimension {d!r} of {where} has length {len(have)}, not "
                                    f"{n}; name other dimensions (dimension_names=...)",
                                    ValueError)
            if lib == "h5netcdf":
                if not h5.is_chunked(kwargs) and not unlimited:
                    kwargs["dcpl"] = h5.early_dcpl()  # raw concurrent writes (hdf5_format)
                var = group.create_variable(leaf, dims, dtype=store, **kwargs)
                if unlimited:
                    for d, n in zip(dims, job.shape):
                        if _visible_dim(group, d).isunlimited():
                            group.resize_dimension(d, int(n))
            else:
                var = group.createVariable(leaf, store, dims, **kwargs)
            if np.dtype(job.dtype).kind == "b":  # xarray's marker of a bool variable
                if lib == "h5netcdf":
                    var.attrs["dtype"] = "bool"
                else:
                    var.setncattr("dtype", "bool")

    def write(self, job) -> None:
        key = (job.key or DEFAULT_VARIABLE).strip("/")
        if engine() == "h5netcdf":
            *groups, leaf = key.split("/")
            # the HDF5 dataset of the variable: its name, unless netCDF-4 renamed it for a
            # clash with a dimension of that name
            h5.write_rows(job, "/".join(groups + [_NON_COORD + leaf]), key)
            return
        store = stored_dtype(job.dtype, job.path)
        start, block = h5.rows_block(job, store)

        def write():
            if block is not None:
                with open_nc(job.path, "r+", "netCDF4") as f:
                    var = f[key]
                    if block.ndim == 0:
                        var.assignValue(block)
                    else:
                        var[start:start + block.shape[0]] = block

        if job.split is None:
            write()
        else:
            h5.in_turn(job, write)


def _create(path: str, lib: str):
    if lib == "h5netcdf":
        return importlib.import_module("h5netcdf").File(path, "w")
    nc = importlib.import_module("netCDF4")
    try:
        return nc.Dataset(path, "w", format="NETCDF4", auto_complex=True)
    except TypeError:
        return nc.Dataset(path, "w", format="NETCDF4")


register_backend(NetCDFBackend())
