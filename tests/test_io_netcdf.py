"""netCDF loads and saves on one rank: h5netcdf, the netCDF4 fallback and netCDF-3 files,
against NumPy."""

from __future__ import annotations

import os

import numpy as np
import pytest

h5netcdf = pytest.importorskip("h5netcdf")
import h5py  # noqa: E402 - h5netcdf needs it

import lazyheat as lh  # noqa: E402
from lazyheat.io.netcdf import load_netcdf, save_netcdf  # noqa: E402
from lazyheat.runtime.io import IOProblem, backend  # noqa: E402
from lazyheat.runtime.io import netcdf_format as ncf  # noqa: E402

DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "float32", "float64",
          "complex64", "complex128")
B = backend("netcdf")


def data(shape, dtype, seed=0):
    g = np.random.default_rng(seed)
    a = g.random(shape) * 10 - 3
    if np.dtype(dtype).kind == "c":
        a = a + 1j * g.random(shape)
    return (a > 2) if dtype == "bool" else a.astype(dtype)


@pytest.fixture(params=["h5netcdf", "netCDF4"])
def lib(request, monkeypatch):
    """Run a test with h5netcdf, and again as if h5netcdf were missing (netCDF4 fallback)."""
    if request.param == "netCDF4":
        pytest.importorskip("netCDF4")
        real = ncf._import
        monkeypatch.setattr(ncf, "_import", lambda m: None if m == "h5netcdf" else real(m))
    return request.param


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (7, 5), (3, 4, 2), (0, 3)])
def test_round_trip(tmp_path, lib, dtype, shape):
    a = data(shape, dtype, seed=1)
    path = tmp_path / "r.nc"
    for split in [None] + list(range(len(shape))):
        save_netcdf(lh.array(a, split=split), path, "v")
        x = load_netcdf(path, "v", split=split)
        assert x.shape == a.shape and x.dtype.name == dtype and x.split == split
        np.testing.assert_array_equal(x.numpy(), a)
        assert B.meta(str(path), "v", ()).get("engine") == lib
    assert os.listdir(tmp_path) == ["r.nc"]


def test_scalar_variable(tmp_path, lib):
    path = str(tmp_path / "s.nc")
    save_netcdf(lh.array(np.float64(2.5)), path, "s")
    m = B.meta(path, "s", ())
    assert m.shape == () and B.read(path, "s", (), m, ()) == 2.5


def test_file_layout_is_plain_netcdf(tmp_path):
    """Dimensions named as HeAT names them or as given, bool as int8 marked as xarray does."""
    path = tmp_path / "d.nc"
    save_netcdf(lh.array(np.ones((2, 3), bool), split=0), path, "mask")
    save_netcdf(lh.array(np.zeros((2, 3)), split=1), path, "grp/t", mode="a",
                dimension_names=("mask_dim_0", "y"))
    with h5netcdf.File(path, "r") as f:
        assert f.dimensions.keys() == {"mask_dim_0", "mask_dim_1"}
        m = f["mask"]
        assert m.dtype == np.int8 and m.attrs["dtype"] == "bool"
        assert f["grp/t"].dimensions == ("mask_dim_0", "y") and f["grp/t"].shape == (2, 3)
    nc = pytest.importorskip("netCDF4")
    with nc.Dataset(path) as d:  # the netCDF C library reads what h5netcdf wrote
        assert d["mask"][:].sum() == 6 and d["grp/t"].shape == (2, 3)


def test_reads_files_of_the_netcdf_c_library(tmp_path):
    nc = pytest.importorskip("netCDF4")
    a = data((6, 4), "float32")
    for fmt in ("NETCDF4", "NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET"):
        path = str(tmp_path / f"{fmt}.nc")
        with nc.Dataset(path, "w", format=fmt) as d:
            d.createDimension("t", None)
            d.createDimension("x", 4)
            d.createVariable("t", "f8", ("t",))[:] = np.arange(6)
            v = d.createVariable("temp", "f4", ("t", "x"))
            v.scale_factor = 2.0  # stored values are read as they are
            v.set_auto_maskandscale(False)
            v[:] = a
        x = load_netcdf(path, "", split=0)  # the only variable that is not a coordinate
        assert B.meta(path, "", ()).get("engine") == ("netCDF4" if "3" in fmt else "h5netcdf")
        np.testing.assert_array_equal(x.numpy(), a)
        np.testing.assert_array_equal(x[1:6:2, 1:].numpy(), a[1:6:2, 1:])
        np.testing.assert_array_equal(load_netcdf(path, "t").numpy(), np.arange(6.0))


def test_unlimited_and_compressed_variables(tmp_path, lib):
    a = data((9, 4), "float64")
    path = tmp_path / "u.nc"
    save_netcdf(lh.array(a, split=0), path, "v", dimension_names=("time", "x"),
                is_unlimited=True)
    save_netcdf(lh.array(2 * a, split=0), path, "w", mode="a", dimension_names=("time", "x"),
                zlib=True, complevel=5, chunksizes=(3, 4))
    np.testing.assert_array_equal(load_netcdf(path, "v").numpy(), a)
    np.testing.assert_array_equal(load_netcdf(path, "w")[::4].numpy(), 2 * a[::4])
    if lib == "h5netcdf":
        with h5netcdf.File(path, "r") as f:
            assert f.dimensions["time"].isunlimited()
            assert f["w"].chunks == (3, 4) and f["w"].compression == "gzip"


def test_modes_and_dimension_clashes(tmp_path, lib):
    path = tmp_path / "m.nc"
    a = data((4, 3), "int32")
    save_netcdf(lh.array(a), path, "a", mode="x", dimension_names=("r", "c"))
    with pytest.raises(FileExistsError, match="m.nc"):
        save_netcdf(lh.array(a), path, "a", mode="w-")
    with pytest.raises(ValueError, match="already has 'a'"):
        save_netcdf(lh.array(a), path, "a", mode="a")
    with pytest.raises(ValueError, match="dimension 'r'.*length 4, not 5"):
        save_netcdf(lh.array(np.zeros(5)), path, "b", mode="a", dimension_names="r")
    save_netcdf(lh.array(a[:, 0], split=0), path, "r", mode="r+", dimension_names="r")
    np.testing.assert_array_equal(load_netcdf(path, "a").numpy(), a)
    np.testing.assert_array_equal(load_netcdf(path, "r").numpy(), a[:, 0])
    with pytest.raises(FileNotFoundError, match="none.nc"):
        save_netcdf(lh.array(a), tmp_path / "none.nc", "a", mode="r+")
    assert sorted(os.listdir(tmp_path)) == ["m.nc"]


def test_argument_errors(tmp_path):
    x = lh.arange(4)
    path = tmp_path / "e.nc"
    with pytest.raises(TypeError, match="16-bit"):
        save_netcdf(x.astype(lh.float16), path, "v")
    with pytest.raises(TypeError, match="unsupported netCDF variable options \\['zlibb'\\]"):
        save_netcdf(x, path, "v", zlibb=True)
    with pytest.raises(ValueError, match="2 dimension names given for 1"):
        save_netcdf(x, path, "v", dimension_names=("a", "b"))
    with pytest.raises(ValueError, match="mode"):
        save_netcdf(x, path, "v", mode="q")
    with pytest.raises(NotImplementedError, match="file_slices"):
        save_netcdf(x, path, "v", file_slices=slice(1, 2))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("case, kind, match", [
    ("missing", FileNotFoundError, "no such file"),
    ("text", OSError, "not a readable netCDF file"),
    ("novar", KeyError, "'nope' does not exist.*variables: \\['v'\\]"),
    ("group", KeyError, "is a group"),
    ("string", TypeError, "cannot hold"),
    ("many", KeyError, "2 data variables"),
])
def test_errors_name_the_path(tmp_path, case, kind, match):
    path, key = tmp_path / "e.nc", "v"
    if case == "text":
        path.write_text("no netCDF here\n" * 50)
    elif case != "missing":
        with h5netcdf.File(path, "w") as f:
            f.dimensions["x"] = 2
            f.create_variable("v", ("x",), dtype="f8")
            f.create_group("g")
            if case == "string":
                f.create_variable("s", ("x",), dtype=h5py.string_dtype())
            if case == "many":
                f.create_variable("w", ("x",), dtype="f8")
        key = {"novar": "nope", "group": "g", "string": "s", "many": ""}.get(case, key)
    with pytest.raises(IOProblem, match=match) as e:
        B.meta(str(path), key, ())
    assert e.value.kind is kind and str(path) in str(e.value)
    with pytest.raises(kind, match="e.nc"):
        load_netcdf(path, key)


def test_sliced_load_reads_only_the_slab(tmp_path, monkeypatch):
    a = np.arange(60 * 8, dtype=np.float32).reshape(60, 8)
    path = tmp_path / "s.nc"
    save_netcdf(lh.array(a, split=0), path, "v")
    y = load_netcdf(path, "v", split=0)[10:40:3, 2:6]
    seen = []
    read = type(B).read
    monkeypatch.setattr(type(B), "read", lambda s, *args: seen.append(args[2]) or read(s, *args))
    np.testing.assert_array_equal(y.numpy(), a[10:40:3, 2:6])
    assert seen == [(slice(10, 40, 3), slice(2, 6, 1))]
