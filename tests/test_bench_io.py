"""Smoke test of the I/O benchmark (``python -m bench.io``): tiny files, lazyheat and NumPy,
1 and 2 ranks, the file cache left warm.

Checks that every format lazyheat can read here ran, that its checksums agree with NumPy's,
that the report was written and that the benchmark's files were removed; it makes no claim
about performance. A format whose library is not installed (h5py, zarr) is skipped.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not (ROOT / "bench" / "io.py").exists(),
                                reason="bench/ is not in this checkout")

# format -> (the library it needs, the lazyheat function that reads it)
NEEDS = {"hdf5": ("h5py", "load_hdf5"), "csv": (None, "load_csv"), "npy": (None, "load_npy"),
         "zarr": ("zarr", "load_zarr")}


def _available(fmt) -> bool:
    lib, fn = NEEDS[fmt]
    if lib is not None and importlib.util.find_spec(lib) is None:
        return False
    import lazyheat

    return hasattr(lazyheat, fn) or importlib.util.find_spec(f"lazyheat.io.{fmt}") is not None


def test_bench_io_tiny(tmp_path):
    out, files = tmp_path / "out", tmp_path / "files"
    files.mkdir()
    cmd = [sys.executable, "-m", "bench.io", "--quick", "--size-gib", "0.001", "--rows",
           "1000", "--libs", "lazyheat", "numpy", "--ranks", "1", "2", "--repeats", "1",
           "--cache", "warm", "--timeout", "120", "--out", str(out), "--dir", str(files)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    lines = (out / "results.jsonl").read_text().splitlines()
    meta = json.loads(lines[0])["meta"]
    rows = [json.loads(x) for x in lines[1:]]
    assert meta["sizes"]["csv_rows"] == 1000 and meta["copy"]["bytes_per_s"] > 0
    assert list(files.iterdir()) == []  # the files are gone

    want = {"hdf5": {"read", "read 1% rows"}, "csv": {"read"}, "npy": {"write", "load"},
            "zarr": {"write", "load"}}
    ran = 0
    for fmt, ops in want.items():
        mine = [r for r in rows if r["library"] == "lazyheat" and r["fmt"] == fmt]
        if not _available(fmt):
            continue
        for r in (1, 2):
            got = {row["op"] for row in mine if row["ranks"] == r and row["status"] == "ok"}
            assert got == ops, (fmt, r, mine)
        for row in mine:
            want_sum = meta["references"][row["ref"]]
            assert row["checksum"] == pytest.approx(want_sum, rel=1e-3), row
            assert row["cache"] == ("warm" if row["op"] != "write" else None), row
            assert len(row["times"]) == 1 and row["median_s"] > 0, row
            ran += 1
    assert ran >= 4  # npy alone needs nothing: 2 ops at 2 rank counts
    numpy_rows = [r for r in rows if r["library"] == "numpy"]
    assert {r["op"] for r in numpy_rows} == {"write", "load"}
    assert all(r["status"] == "ok" and r["ranks"] == 1 for r in numpy_rows), numpy_rows

    md = (out / "IO.md").read_text()
    assert "# lazyheat I/O benchmark" in md and "## npy: write, then load + sum" in md
    if _available("hdf5"):
        assert "slice / full" in md
