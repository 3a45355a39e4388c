"""The executor's per-plan ``Program`` (``runtime/executor.py``): made once per cached plan
and schedule, gone with its plan, and running exactly as a program made afresh."""

import gc
import weakref

import numpy as np
import pytest

import lazyheat as lh
from lazyheat import planner
from lazyheat.runtime import executor


@pytest.fixture
def prepared(monkeypatch):
    """Counts the programs the executor makes."""
    made = []
    real = executor.prepare

    def counting(*args, **kw):
        made.append(real(*args, **kw))
        return made[-1]

    monkeypatch.setattr(planner, "prepare", counting)
    return made


def _entry():
    (entry,) = planner._CACHE.values()
    return entry


def test_a_cached_plan_makes_its_program_once(prepared):
    lh.clear_plan_cache()
    got = []
    for k in range(4):
        a = lh.asarray(np.arange(10.0) + k)
        got.append(float(((a * 2 + 1) - a).sum()))
    assert got == [float((((np.arange(10.0) + k) * 2 + 1) - (np.arange(10.0) + k)).sum())
                   for k in range(4)]
    assert len(prepared) == 1
    _, outs, *_, programs = _entry()
    (program,) = programs.values()
    assert program is prepared[0] and program.outputs == tuple(outs)


def test_a_program_goes_with_its_plan(prepared):
    lh.clear_plan_cache()
    a = lh.asarray(np.arange(6.0))
    float((a + 1).sum())
    gone = weakref.ref(prepared[0])
    prepared.clear()
    lh.clear_plan_cache()
    gc.collect()
    assert gone() is None
    float((a + 1).sum())  # planned again: a new program with the new plan
    assert len(prepared) == 1


def test_an_evicted_plan_takes_its_program(prepared, monkeypatch):
    lh.clear_plan_cache()
    monkeypatch.setattr(planner, "CACHE_SIZE", 1)
    a = lh.asarray(np.arange(6.0))
    float((a + 1).sum())
    first = weakref.ref(prepared.pop())
    float((a * 3).sum())  # another template: the first plan leaves the cache
    gc.collect()
    assert first() is None and len(planner._CACHE) == 1


def test_without_the_plan_cache_every_run_makes_its_program(prepared, monkeypatch):
    monkeypatch.setenv("LAZYHEAT_PLAN_CACHE", "0")
    a = lh.asarray(np.arange(6.0))
    assert [float((a - k).sum()) for k in range(2)] == [15.0, 9.0]
    assert len(prepared) == 2


def test_a_cached_program_frees_and_donates_as_a_fresh_one(monkeypatch):
    """Values read twice, shared inputs, a chunked group writing into a dying input: the
    cached program gives the bits of the first run and of the reference interpreter."""
    monkeypatch.setenv("LAZYHEAT_CHUNK", "64")
    lh.clear_plan_cache()
    base = np.linspace(-2, 2, 4096).reshape(512, 8)
    runs = []
    for _ in range(3):
        x = lh.asarray(base)
        y = lh.exp(x) * x
        z = (y + y.T.T) * 0.5 - lh.sin(y)  # y read by several nodes
        w = lh.sqrt(lh.abs(z)) + 1
        ref = planner.reference(w, z.sum(0))
        got = lh.compute(w, z.sum(0))
        runs.append([g.numpy() for g in got])
        np.testing.assert_allclose(runs[-1][0], ref[0], rtol=1e-12)
        np.testing.assert_allclose(runs[-1][1], ref[1], rtol=1e-12)
    assert all(np.array_equal(r[0], runs[0][0]) and np.array_equal(r[1], runs[0][1])
               for r in runs)
    assert lh.plan_cache_info()["hits"] >= 2


def test_frees_drop_each_value_after_its_last_reader():
    a = lh.asarray(np.arange(8.0))
    b = a * 2
    c = b + b  # b read twice by one node
    d = (c * b).sum()
    outs = planner.physical_plan([d, c])
    prog = executor.prepare(outs, 1)
    dropped = [i for step in prog.frees for i in step]
    assert len(dropped) == len(set(dropped))  # each value once
    assert not set(dropped) & prog.keep  # never an output
    ids = {id(n) for n in prog.order}
    live = ids - set(dropped) - prog.keep
    # what is not dropped and not an output is read by nobody (nothing here)
    assert not {i for i in live if any(i in map(id, n.inputs) for n in prog.order)}
