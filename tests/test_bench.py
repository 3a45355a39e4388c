"""Smoke test of the benchmark harness: tiny sizes, lazyheat and NumPy, one rank.

Checks only that the harness runs, that lazyheat's checksums agree with NumPy's and that the
rows carry their fields; it makes no claim about performance.
"""

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not (ROOT / "bench" / "__main__.py").exists(),
                                reason="bench/ is not in this checkout")


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))
    import bench.__main__

    return bench.__main__


def _run(bench, out, libs, workloads):
    rc = bench.main(["--quick", "--size-scale", "0.01", "--ranks", "1", "--libs", *libs,
                     "--repeats", "1", "--timeout", "60", "--python", sys.executable,
                     "--out", str(out), "--workloads", *workloads])
    lines = (out / "results.jsonl").read_text().splitlines()
    return rc, [json.loads(x) for x in lines[1:]]


def _memory_fields_ok(row, data):
    """The memory fields of a timed row: measured, or None with the reason."""
    want = data.input_bytes(row["workload"], row["params"])
    assert row["input_bytes"] == want, row
    if row["compute_peak"] is None:  # the kernel's peak could not be reset here
        assert row["compute_peak_note"] and row["compute_peak_frac"] is None, row
        return
    assert row["compute_peak"] >= row["compute_peak_timed"] >= 0, row
    assert row["rss_before"] > 0, row
    assert row["compute_peak_frac"] == pytest.approx(row["compute_peak"] / want), row


def test_bench_tiny(tmp_path, monkeypatch, bench):
    from bench import data

    # the default tier only: the compile tier has its own, shorter run below
    monkeypatch.setitem(bench.LIBS, "lazyheat", ["lazyheat"])
    workloads = ["ewise_chain", "moments", "standardize", "gram", "cdist", "kmeans",
                 "transpose_sum", "resplit", "overhead", "sort", "unique", "median",
                 "mask_filter", "cumsum", "qr", "svd_tall", "rsvd", "cg", "overlap"]
    rc, rows = _run(bench, tmp_path, ["lazyheat", "numpy"], workloads)
    lh_rows = {r["workload"]: r for r in rows if r["config"] == "lazyheat"}
    assert rc == 0, [r for r in rows if r["status"] not in ("ok", "n/a")]
    assert set(lh_rows) == set(workloads)
    assert all(r["status"] == "ok" for r in lh_rows.values()), lh_rows
    for row in rows:
        if row["status"] == "ok":
            assert len(row["warmup_s"]) == 1 and row["first_s"] == row["warmup_s"][0]
            _memory_fields_ok(row, data)
    text = (tmp_path / "RESULTS.md").read_text()
    assert "## Extra peak memory per rank over the inputs" in text
    assert "## Peak RSS per process (MiB)" in text
    assert "## Overlap of communication and compute" in text
    # the small call beside NumPy's: warm and, for lazyheat, a new shape each call
    small = {r["config"]: r["extra"] for r in rows if r["workload"] == "overhead"}
    assert small["numpy"]["call_us"] > 0 and small["lazyheat"]["call_us"] > 0
    assert small["lazyheat"]["new_shape_call_us"] > 0
    assert "small call, new shape us" in text


def test_workload_tolerance(bench):
    """A workload's own tolerance (data.TOL) applies unless the row sets one."""
    rows = [{"config": "numpy", "workload": "sort", "status": "ok", "checksum": 1e6},
            {"config": "lazyheat", "workload": "sort", "status": "ok", "checksum": 1e6 + 1},
            {"config": "torch", "workload": "sort", "status": "ok", "checksum": 1e6 + 1,
             "tol": 1e-3}]
    assert bench.check(rows) == 1
    assert [r["status"] for r in rows] == ["ok", "bad-checksum", "ok"]


def test_bench_compiled(tmp_path, bench):
    """``--libs lazyheat`` runs both lazyheat configurations; the compiled one gets its tier
    through the environment, warms up twice and is checked against NumPy."""
    from bench import data

    assert bench.LIBS["lazyheat"] == ["lazyheat", "lazyheat-compiled"]
    rc, rows = _run(bench, tmp_path, ["lazyheat", "numpy"], ["gram"])
    by = {r["config"]: r for r in rows}
    assert rc == 0, rows
    assert {"lazyheat", "lazyheat-compiled", "numpy"} <= set(by)
    comp = by["lazyheat-compiled"]
    assert comp["status"] == "ok", comp  # "bad-checksum" would mean it disagreed with NumPy
    assert comp["lazyheat_env"]["LAZYHEAT_FUSED_TIER"] == "compile"
    assert "TORCHINDUCTOR_CACHE_DIR" not in comp["command"]
    assert comp["command"].startswith("LAZYHEAT_FUSED_TIER=compile ")
    assert "--warmups 2" in comp["command"] and "mpiexec" in comp["command"]
    assert len(comp["warmup_s"]) == 2 and comp["first_s"] == comp["warmup_s"][0]
    plain = by["lazyheat"].get("lazyheat_env", {})  # the default configuration adds nothing
    assert plain.get("LAZYHEAT_FUSED_TIER") == os.environ.get("LAZYHEAT_FUSED_TIER")
    _memory_fields_ok(comp, data)
    text = (tmp_path / "RESULTS.md").read_text()
    assert "## Ratios lazyheat-compiled / peer" in text
    assert "warm-up, including compilation: first run" in text


def _row(config, workload, ranks, seconds, **kw):
    row = {"config": config, "workload": workload, "ranks": ranks, "workers": ranks,
           "status": "ok", "seconds": seconds, "times": [seconds], "checksum": 1.0,
           "params": {"n": 1 << 20}, "peak_rss_mb": 300.0}
    row.update(kw)
    return row


def test_report_tables(tmp_path, bench):
    """The report from hand-made rows: the compiled ratios block, its warm-up note and the
    memory table, measured and not."""
    from bench import report

    mib = 1 << 20
    rows = [
        _row("lazyheat", "ewise_chain", 2, 0.5, compute_peak=mib, compute_peak_timed=0,
             input_bytes=4 * mib, compute_peak_frac=0.25, rss_before=300 * mib),
        _row("lazyheat-compiled", "ewise_chain", 2, 0.25, first_s=3.5, warmup_s=[3.5, 7.0],
             compute_peak=None, compute_peak_timed=None, input_bytes=4 * mib,
             compute_peak_frac=None, rss_before=None,
             compute_peak_note="/proc/self/clear_refs cannot be written"),
        _row("numpy", "ewise_chain", 2, 1.0, compute_peak=8 * mib, compute_peak_timed=8 * mib,
             input_bytes=8 * mib, compute_peak_frac=1.0, rss_before=300 * mib),
    ]
    with open(tmp_path / "results.jsonl", "w") as f:
        f.write(json.dumps({"meta": {"repeats": 1}}) + "\n")
        f.writelines(json.dumps(r) + "\n" for r in rows)
    text = report.write(tmp_path).read_text()
    ratios = text.split("## Ratios lazyheat-compiled / peer")[1].split("##")[0]
    assert "| ewise_chain | 2 | 0.50 | 0.25 |" in ratios  # against lazyheat, then NumPy
    assert "| ewise_chain | 2 | 0.50 |" in text.split("## Ratios lazyheat / peer")[1]
    memory = text.split("## Extra peak memory per rank over the inputs")[1].split("##")[0]
    assert "| 1.0 (25% of 4.0) | not measured | 8.0 (100% of 8.0) |" in memory
    assert "not measured: /proc/self/clear_refs cannot be written" in memory
    assert "warm-up, including compilation: first run 3.500 s, second 7.000 s" in text


def test_input_bytes_split_by_rank(bench):
    from bench import data

    p = data.sizes(quick=True)["ewise_chain"]
    per_rank = [data.input_bytes("ewise_chain", p, r, 3) for r in range(3)]
    assert per_rank == [2 * (b - a) * 4 for a, b in (data.rows_of(p["n"], r, 3)
                                                     for r in range(3))]
    assert sum(per_rank) == data.input_bytes("ewise_chain", p)
    assert set(data.INPUT_BYTES) == set(data.WORKLOADS)


def test_memory_measure(bench):
    """Reset, touch 64 MiB, read the peak: it sees them (or says why it cannot)."""
    from bench import memory

    before = memory.reset(trim_first=True)
    if before is None:
        assert memory.unavailable()
        pytest.skip(memory.unavailable())
    block = bytes(range(256)) * (1 << 18)  # 64 MiB, every page written, so resident
    peak = memory.high_water()
    del block
    assert peak - before >= 48 << 20


def test_memory_unavailable(monkeypatch, bench):
    """Where the peak cannot be reset, the fields are None and say why."""
    import types

    from bench import data, memory, worker
    from bench.common import Ctx

    monkeypatch.setattr(memory, "_CLEAR_REFS", "/nonexistent-dir/clear_refs")
    monkeypatch.setattr(memory, "_why", None)
    mod, ctx = types.SimpleNamespace(), Ctx("numpy")
    before = worker._mem_reset(mod, ctx)
    assert before is None and "cannot be written" in memory.unavailable()
    p = data.sizes(quick=True)["ewise_chain"]
    fields = worker._memory_fields("ewise_chain", p, mod, ctx,
                                   [worker._mem_extra(mod, ctx, before)], (before, None), None)
    assert fields["compute_peak"] is None and fields["compute_peak_frac"] is None
    assert "cannot be written" in fields["compute_peak_note"]
    assert fields["input_bytes"] == 2 * p["n"] * 4
