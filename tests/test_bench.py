"""Smoke test of the benchmark harness: tiny sizes, lazyheat and NumPy, one rank.

Checks only that the harness runs and that lazyheat's checksums agree with NumPy's; it makes
no claim about performance.
"""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_bench_tiny(tmp_path, monkeypatch):
    if not (ROOT / "bench" / "__main__.py").exists():
        pytest.skip("bench/ is not in this checkout")
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.__main__ import main

    workloads = ["ewise_chain", "moments", "standardize", "gram", "cdist", "kmeans",
                 "transpose_sum", "resplit", "overhead"]
    rc = main(["--quick", "--size-scale", "0.01", "--ranks", "1", "--libs", "lazyheat",
               "numpy", "--repeats", "1", "--timeout", "60", "--python", sys.executable,
               "--out", str(tmp_path), "--workloads", *workloads])
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    rows = [json.loads(x) for x in lines[1:]]
    lh_rows = {r["workload"]: r for r in rows if r["config"] == "lazyheat"}
    assert rc == 0, [r for r in rows if r["status"] not in ("ok", "n/a")]
    assert set(lh_rows) == set(workloads)
    assert all(r["status"] == "ok" for r in lh_rows.values()), lh_rows
    assert (tmp_path / "RESULTS.md").exists()
