"""Execution traces (``lh.trace``, ``LAZYHEAT_TRACE``) and the progress bar
(``LAZYHEAT_PROGRESS``) in one process; tests/mpi/test_trace.py covers several ranks."""

import json
import sys

import pytest
from _launch import run

import lazyheat as lh
from lazyheat import tracing
from lazyheat.graph import ops, topo_order
from lazyheat.graph.cost import comm_bytes_per_rank, is_free
from lazyheat.runtime import progress, sync
from lazyheat.runtime import trace as rt


@pytest.fixture(autouse=True)
def _no_recording(monkeypatch):
    """Every test starts and ends with no recording open and no progress bar."""
    monkeypatch.delenv("LAZYHEAT_PROGRESS", raising=False)
    assert not rt.ACTIVE
    yield
    while rt._RECORDINGS:  # a failing test must not leave tracing on for the next ones
        rt.cancel()


def _load(path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _check_format(doc) -> list:
    """The trace-event JSON object format: every event has ph, ts, pid, tid and name; complete
    events a duration >= 0; each track is in time order. Returns the non-metadata events."""
    assert doc["displayTimeUnit"] == "ms"
    events = doc["traceEvents"]
    for e in events:
        for key in ("ph", "ts", "pid", "tid", "name"):
            assert key in e, (key, e)
        assert e["ts"] >= 0
        if e["ph"] == "X":
            assert e["dur"] >= 0
    timed = [e for e in events if e["ph"] != "M"]
    for tid in {e["tid"] for e in timed}:
        ts = [e["ts"] for e in timed if e["tid"] == tid]
        assert ts == sorted(ts)
    return timed


def _expected_ops(*arrays) -> list:
    """The ops of the physical plan ``compute`` runs for ``arrays``, in execution order."""
    return [n.op for n in topo_order(lh.plan(*arrays).outputs) if n.op not in ops.USER_DATA]


def test_a_trace_holds_the_plan_the_kernels_and_the_collectives(tmp_path):
    x = lh.random.randn(200, 8, split=0, seed=1)
    z = (x * 2 + 1).exp().sum(axis=1)
    y = lh.resplit(x, 1)  # a collective step (moving nothing on one rank)
    want = _expected_ops(z, y)
    path = tmp_path / "t.json"
    with lh.trace(path) as written:
        lh.compute(z, y)
    assert written == str(path)
    doc = _load(path)
    events = _check_format(doc)
    meta = [e for e in doc["traceEvents"] if e["ph"] == "M"]
    assert {e["args"]["name"] for e in meta if e["name"] == "thread_name"} == {"rank 0"}
    assert {e["tid"] for e in events} == {1} and {e["pid"] for e in events} == {1}
    assert [e["cat"] for e in events][0] == "planning"  # planning comes before the steps
    steps = [e for e in events if e["cat"] in ("kernel", "fused", "collective")]
    assert [e["name"] for e in steps] == want
    for e in steps:
        assert e["args"]["type"] and e["args"]["loc"].startswith("test_trace.py:")
    (fused,) = [e for e in steps if e["cat"] == "fused"]
    assert fused["args"]["ops"].split() == ["multiply", "add", "exp", "reduce[sum]"]
    (moved,) = [e for e in steps if e["cat"] == "collective"]
    assert moved["name"] == "redistribute" and moved["args"]["bytes"] == 0
    assert moved["args"]["kind"].startswith("alltoall")
    assert doc["otherData"]["lazyheat"]["ranks"] == 1


def test_a_collective_event_carries_the_bytes_its_rank_receives():
    # the argument builder on a 4-rank plan (planned here; tests/mpi runs one)
    x = lh.random.randn(100, 8, split=0, seed=1, comm=lh.FakeComm(4))
    order = topo_order(lh.plan(x.T @ x, x.mean(0), lh.resplit(x, 1)).outputs)
    comms = [n for n in order if n.op in ops.COLLECTIVES]
    assert len(comms) == 2  # the two reductions share one batched all-gather
    for n in comms:
        for r in range(4):
            got = rt._step_args(n, r)
            assert got["bytes"] == (0 if is_free(n) else comm_bytes_per_rank(n)[r]) > 0
            assert got["type"] == n.aval.type_str() and got["loc"] == n.loc


def test_spans_instants_and_nested_traces(tmp_path):
    outer, inner = tmp_path / "outer.json", tmp_path / "inner.json"
    with lh.trace(outer):
        with rt.span("before", "wait", step="a"):
            pass
        with lh.trace(inner):
            rt.instant("marker", "debug", n=3)
            (lh.arange(10) * 2).compute()
        assert rt.ACTIVE  # the outer recording is still open
    assert not rt.ACTIVE and rt._EVENTS == []
    names_outer = [e["name"] for e in _check_format(_load(outer))]
    names_inner = [e["name"] for e in _check_format(_load(inner))]
    assert "before" in names_outer and "marker" in names_outer and "arange" in names_outer
    assert "before" not in names_inner and "marker" in names_inner
    ev = next(e for e in _load(outer)["traceEvents"] if e["name"] == "before")
    assert ev["cat"] == "wait" and ev["args"] == {"step": "a"}
    mark = next(e for e in _load(inner)["traceEvents"] if e["name"] == "marker")
    assert mark["ph"] == "i" and mark["s"] == "t" and mark["args"] == {"n": 3}


def test_off_means_no_events_no_hook_and_no_file(tmp_path, monkeypatch):
    assert rt.step_hook([], lh.world()) is None
    assert rt.span("x", "wait") is rt.span("y", "wait")  # one shared no-op
    rt.instant("x", "debug")
    monkeypatch.chdir(tmp_path)
    (lh.arange(10) + 1).compute()
    assert rt._EVENTS == [] and list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError, match="no lazyheat trace"):
        rt.stop()


def test_a_failing_block_writes_nothing_and_closes_the_recording(tmp_path):
    path = tmp_path / "t.json"
    with pytest.raises(ZeroDivisionError):
        with lh.trace(path):
            (lh.arange(10) + 1).compute()
            1 / 0  # noqa: B018
    assert not path.exists() and not rt.ACTIVE


def test_the_environment_variable_records_until_the_clean_exit(tmp_path, monkeypatch):
    hooks = []
    monkeypatch.setattr(sync, "at_clean_exit", hooks.append)
    monkeypatch.setenv("LAZYHEAT_TRACE", str(tmp_path / "job.json"))
    tracing._from_environment()
    assert rt.ACTIVE and hooks == [rt.stop]
    (lh.arange(10) * 3).sum().compute()
    hooks[0]()
    assert not rt.ACTIVE
    names = [e["name"] for e in _check_format(_load(tmp_path / "job.json"))]
    assert "arange" in names and "plan" in names


def test_the_environment_variable_writes_the_file_at_exit(tmp_path, monkeypatch):
    script = tmp_path / "job.py"
    script.write_text("import lazyheat as lh\n(lh.arange(100, split=0) * 2).sum().compute()\n")
    out = tmp_path / "job.json"
    monkeypatch.setenv("LAZYHEAT_TRACE", str(out))  # for the child; this process has started
    proc = run([sys.executable, str(script)], timeout=120)
    assert proc.returncode == 0, proc.stdout
    names = [e["name"] for e in _check_format(_load(out))]
    assert "arange" in names


# ---------------------------------------------------------------- the progress bar
def _long_plan():
    x = lh.random.randn(50, 4, split=0, seed=2)
    for k in range(20):  # a chain of steps that do not fuse (one reduction after another)
        x = x - x.mean(axis=0) * (k + 1)
    return x


def test_the_progress_bar_shows_steps_and_bytes_for_a_long_plan(monkeypatch, capsys):
    monkeypatch.setenv("LAZYHEAT_PROGRESS", "1")
    monkeypatch.setattr(progress, "DELAY_S", 0.0)  # every plan counts as long
    monkeypatch.setattr(progress, "_tqdm", lambda: None)  # the plain line, tqdm or not
    y = _long_plan()
    total = len(topo_order(lh.plan(y).outputs))
    y.compute()
    err = capsys.readouterr().err
    assert f"lazyheat: {total}/{total} steps, 0 B moved/rank" in err


def test_no_bar_for_a_short_plan_or_when_off(monkeypatch, capsys):
    _long_plan().compute()  # off
    monkeypatch.setenv("LAZYHEAT_PROGRESS", "1")
    (lh.arange(10) + 1).compute()  # on, but shorter than DELAY_S
    assert "lazyheat" not in capsys.readouterr().err


def test_the_progress_bar_with_tqdm(monkeypatch, capsys):
    pytest.importorskip("tqdm")
    monkeypatch.setenv("LAZYHEAT_PROGRESS", "1")
    monkeypatch.setattr(progress, "DELAY_S", 0.0)
    _long_plan().compute()
    assert "lazyheat" in capsys.readouterr().err


def test_human_bytes():
    assert progress.human_bytes(792) == "792 B"
    assert progress.human_bytes(1_500_000) == "1.5 MB"
    assert progress.human_bytes(3e15) == "3000.0 TB"
