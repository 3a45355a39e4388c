"""The memory guard: a plan whose estimated peak exceeds the limit raises MemoryError before
anything runs, naming the estimate, the limit and the largest values with their lines."""

import time

import numpy as np
import pytest

import lazyheat as lh
from lazyheat import planner
from lazyheat.runtime import memguard

MiB = 1 << 20


def _line_of(code: str) -> int:
    """The line of this file that holds ``code``."""
    with open(__file__) as f:
        return next(k for k, ln in enumerate(f, 1) if code in ln)


@pytest.fixture
def ran(monkeypatch):
    """Records every plan the executor is asked to run."""
    calls = []
    real = planner.execute

    def execute(outs, *args, **kw):
        calls.append(outs)
        return real(outs, *args, **kw)

    monkeypatch.setattr(planner, "execute", execute)
    return calls


def test_a_plan_over_the_limit_raises_before_running(monkeypatch, ran):
    monkeypatch.setenv(memguard.ENV, "1MiB")
    x = lh.random.rand(1000, 1000, split=0, seed=3)  # 3.8 MiB, made by the plan
    y = x * 2 + 1
    z = lh.resplit(y, 1)
    with pytest.raises(MemoryError) as info:
        z.compute()
    assert ran == [] and not z.is_materialized
    text = str(info.value)
    assert "LAZYHEAT_MEMORY_LIMIT=1MiB" in text and "1.0 MiB (1048576 B)" in text
    assert "nothing has run" in text and "'off'" in text
    # the largest values live at the peak, with their types and the lines that made them
    line = _line_of("y = x * 2 + 1")
    assert f"3.8 MiB  f32[1000@0, 1000]  fused  at test_memguard.py:{line}" in text
    assert f"f32[1000@0, 1000]  random  at test_memguard.py:{line - 1}" in text
    lines = [ln for ln in text.splitlines() if ln.startswith("  ")]
    assert 1 <= len(lines) <= 5


def test_the_estimate_in_the_message_is_the_one_explain_prints(monkeypatch):
    monkeypatch.setenv(memguard.ENV, "1000")
    x = lh.zeros((300, 300), split=0) + lh.random.rand(300, split=0, seed=1)
    peak = lh.plan(x).totals()["peak_bytes_per_rank"]
    with pytest.raises(MemoryError, match=f"needs an estimated .* \\({peak} B\\) on rank 0"):
        x.compute()


@pytest.mark.parametrize("value", ["off", "OFF", "0", " none "])
def test_off_disables_the_check(monkeypatch, value, ran):
    monkeypatch.setenv(memguard.ENV, value)
    x = lh.random.rand(500, 500, split=0, seed=1)
    y = (x * 2).compute()
    assert y.is_materialized and len(ran) == 1


def test_a_limit_above_the_estimate_runs(monkeypatch):
    monkeypatch.setenv(memguard.ENV, "64MiB")
    x = lh.random.rand(500, 500, split=0, seed=1)
    assert (x * 2).compute().is_materialized


def test_arrays_already_in_memory_are_not_what_must_fit(monkeypatch):
    a = lh.array(np.ones((1000, 1000), dtype=np.float32), split=0)  # 3.8 MiB, held already
    monkeypatch.setenv(memguard.ENV, "1MiB")
    assert a.sum().item() == 1e6  # reads a, allocates bytes
    with pytest.raises(MemoryError, match="in memory already"):
        (a * 2).compute()  # a second 3.8 MiB block


@pytest.mark.parametrize("text,expected", [
    ("123", 123), ("8GiB", 8 << 30), ("8 GiB", 8 << 30), ("500MB", 500_000_000),
    ("500mb", 500_000_000), ("1.5G", 3 << 29), ("2k", 2048), ("2KB", 2000), ("1T", 1 << 40),
    ("1TB", 10 ** 12), ("64MiB", 64 << 20), ("10B", 10), (".5M", 1 << 19),
    ("off", None), ("0", None), ("0GiB", None)])
def test_units_parse(text, expected):
    assert memguard.parse_limit(text) == expected


@pytest.mark.parametrize("text", ["lots", "8 GiBs", "-1", "1e9", "GiB", ""])
def test_bad_limits_are_named(text):
    with pytest.raises(ValueError, match="LAZYHEAT_MEMORY_LIMIT"):
        memguard.parse_limit(text)


def test_default_limit_is_positive_and_read_once(monkeypatch):
    monkeypatch.delenv(memguard.ENV, raising=False)
    free, source = memguard.node_available("cpu")
    assert free > 0 and source
    lim, how = memguard.default_limit("cpu")
    assert 0 < lim <= free and "rank" in how
    comm = lh.world()
    first = memguard.limit(comm, "cpu")
    assert first[0] > 0 and first[1].startswith("the default")
    assert memguard.limit(comm, "cpu") is first  # read once: later plans see the same
    monkeypatch.setenv(memguard.ENV, "3GiB")
    assert memguard.limit(comm, "cpu") == (3 << 30, "LAZYHEAT_MEMORY_LIMIT=3GiB")


def test_ranks_may_agree_on_one_default(monkeypatch):
    monkeypatch.delenv(memguard.ENV, raising=False)
    seen = []

    def agree(comm, value):
        seen.append(value)
        return 12345  # the smallest over ranks, as an all-reduce would return

    monkeypatch.setattr(memguard, "AGREE", agree)
    comm = lh.FakeComm(2)
    assert memguard.limit(comm, "cpu")[0] == 12345
    assert memguard.limit(comm, "cpu")[0] == 12345 and len(seen) == 1  # once


def test_check_is_a_pure_function_of_the_plan_and_the_limit():
    x = lh.zeros((4096, 64), split=0, comm=lh.FakeComm(1024))
    outs = lh.plan(x.resplit(None)).outputs
    need = 1024 + 4096 * 64 * 4  # block + gathered array
    memguard.check(outs, x.comm, need)
    memguard.check(outs, x.comm, None)
    with pytest.raises(MemoryError, match="on rank 0 of 1024 .*while redistribute runs") as e:
        memguard.check(outs, x.comm, need - 1)
    assert "1.0 MiB  f32[4096, 64]  redistribute (running, with its send and receive " \
        "buffers)" not in str(e.value)  # an all-gather receives into its result
    assert "1.0 MiB  f32[4096, 64]  redistribute  at test_memguard.py:" in str(e.value)
    assert "1.0 KiB  f32[4096@0, 64]  full  at test_memguard.py:" in str(e.value)


def test_the_estimate_is_cached_per_plan(monkeypatch):
    calls = []
    real, bound = memguard.memory_peak, memguard.added_bound
    monkeypatch.setattr(memguard, "memory_peak", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(memguard, "added_bound", lambda *a: calls.append(1) or bound(*a))
    monkeypatch.setenv(memguard.ENV, "1GiB")
    for k in range(3):  # new data, the same structure: one plan, one estimate
        (lh.array(np.full((50, 4), k), split=0) * 3 - 1).compute()
    assert len(calls) == 1


def test_the_check_of_a_cached_plan_costs_microseconds(monkeypatch):
    monkeypatch.setenv(memguard.ENV, "1GiB")
    a = lh.array(np.ones((4, 4)), split=0)
    (a + 1).compute()
    outs = planner._cached([a + 1])[0]
    comm, n = a.comm, 2000
    memguard.check_plan(outs, comm, "cpu")
    t0 = time.perf_counter()
    for _ in range(n):
        memguard.check_plan(outs, comm, "cpu")
    per_call = (time.perf_counter() - t0) / n
    assert per_call < 100e-6, f"{per_call * 1e6:.1f} us per check"


def test_the_cache_forgets_plans_that_are_gone(monkeypatch):
    import gc

    monkeypatch.setenv(memguard.ENV, "1GiB")
    (lh.array(np.ones((3, 5)), split=0) * 7 - 2).compute()
    assert len(memguard._PEAKS) >= 1
    planner.clear_plan_cache()
    gc.collect()
    assert len(memguard._PEAKS) == 0
