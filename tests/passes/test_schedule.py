"""The overlap schedule (``passes/schedule.py``): collectives issued early and waited for late
with independent kernels between; valid (inputs first, issue before wait, bounded flight),
deterministic (the same steps for the same plan on every rank), within its memory bound, and
shown by ``explain``."""

import json

import numpy as np
import pytest
from _plans import SIZES, distinct_plans

import lazyheat as lh
from lazyheat.graph import topo_order
from lazyheat.graph.cost import memory_peak
from lazyheat.passes import schedule as S
from lazyheat.runtime.kernels.nonblocking import STARTS


def _data(shape, comm):
    """An array the user holds (a param of the plan: in memory before it runs)."""
    return lh.array(np.zeros(shape, np.float32), split=0, comm=comm)


def _resplit_and_reduce(p, rank=0):
    """A resplit (all-to-all) of one array and an elementwise reduction of another: the
    reduction is independent of the resplit."""
    comm = lh.FakeComm(p, rank)
    x, y = _data((1024, 512), comm), _data((2_000_000,), comm)
    return lh.resplit(x, 1), (lh.sin(y) * 2 + lh.cos(y)).sum()


def _gram_and_more(p, rank=0):
    comm = lh.FakeComm(p, rank)
    x, y = _data((100_000, 64), comm), _data((1_000_000,), comm)
    return x.T @ x, lh.exp(y).sum(), x.mean(0), x.std(0), lh.resplit(x, None)[:3]


def _plans(p):
    return [_resplit_and_reduce(p), _gram_and_more(p),
            (lh.random.rand(64, 64, split=0, seed=3, comm=lh.FakeComm(p)).sum(0),)]


def _named(s, outputs):
    return [(kind, n.op) for kind, n in s.resolve(topo_order(outputs))]


@pytest.mark.parametrize("p", SIZES)
def test_every_schedule_is_valid(p):
    for arrays in _plans(p):
        outs = lh.plan(*arrays).outputs
        s = S.schedule(outs)
        S.check(s, outs)
        if p == 1:
            assert not s.spans  # one rank: nothing moves, nothing to overlap


def test_independent_work_runs_between_issue_and_wait():
    outs = lh.plan(*_resplit_and_reduce(4)).outputs
    s = S.schedule(outs)
    steps = _named(s, outs)
    i, w = steps.index(("issue", "redistribute")), steps.index(("wait", "redistribute"))
    assert i < w and ("run", "fused") in steps[i + 1:w]  # the reduction hides the resplit
    assert s.overlapped == 1


def test_the_same_plan_gets_the_same_steps_on_every_rank_and_every_time():
    first = lh.plan(*_gram_and_more(64)).outputs
    again = lh.plan(*_gram_and_more(64)).outputs  # the same graph, built anew
    assert S.schedule(first) == S.schedule(again) == S.schedule(first)
    assert S.schedule(first).spans
    # the JSON plan (schedule included) is the same seen from every simulated rank
    assert len(distinct_plans(lambda r: _gram_and_more(8, r), 8)) == 1


def test_a_collective_with_nothing_beside_it_blocks():
    x = lh.random.rand(1000, 8, split=0, seed=1, comm=lh.FakeComm(4))
    outs = lh.plan(x.sum(0)).outputs
    assert S.schedule(outs) == S.plain(outs)
    assert lh.plan(x.sum(0)).schedule is None


def test_flight_is_bounded_and_memory_stays_within_its_slack():
    comm = lh.FakeComm(8)
    xs = [lh.random.rand(4096, 256, split=0, seed=k, comm=comm) for k in range(6)]
    y = _data((4_000_000,), comm)
    outs = lh.plan(*[lh.resplit(x, 1) for x in xs], (y * 3).sum()).outputs
    for slots in (1, 2):
        s = S.schedule(outs, max_in_flight=slots)
        S.check(s, outs, max_in_flight=slots)
        plain = S.scheduled_peak(S.plain(outs), outs)
        assert S.scheduled_peak(s, outs) <= plain * (1 + S.MEMORY_SLACK)


@pytest.mark.parametrize("p", [2, 7])
def test_the_peak_of_the_plain_order_is_the_cost_models(p):
    for arrays in _plans(p):
        outs = lh.plan(*arrays).outputs
        want = memory_peak(topo_order(outs), outs)
        assert S.scheduled_peak(S.plain(outs), outs) == want.bytes
        assert S.added(S.plain(outs), outs) == want.added()


def test_an_overlapped_collective_holds_its_buffers_until_its_wait():
    outs = lh.plan(*_resplit_and_reduce(4)).outputs
    s = S.schedule(outs)
    assert S.scheduled_peak(s, outs) > S.scheduled_peak(S.plain(outs), outs)


def test_the_switch_turns_it_off(monkeypatch):
    arrays = _resplit_and_reduce(4)
    assert lh.plan(*arrays).schedule is not None
    monkeypatch.setenv("LAZYHEAT_OVERLAP", "0")
    assert lh.plan(*arrays).schedule is None
    assert "issued at step" not in lh.explain(*arrays)


def test_the_runtime_can_post_every_collective_the_schedule_overlaps():
    assert set(STARTS) == S.NONBLOCKING


def test_explain_marks_issue_and_wait():
    arrays = _resplit_and_reduce(4)
    text = str.__str__(lh.explain(*arrays))
    assert "issued at step 1, waited at step" in text
    assert "overlap: 1 collective(s) run while kernels run" in text
    doc = json.loads(str.__str__(lh.explain(*arrays, format="json")))
    (node,) = [d for d in doc["nodes"] if "overlap" in d]
    o = node["overlap"]
    assert node["op"] == "redistribute" and o["issue_step"] < o["wait_step"]
    assert doc["overlap"]["steps"][o["issue_step"]] == f"issue {node['id']}"
    assert doc["overlap"]["steps"][o["wait_step"]] == f"wait {node['id']}"
    fused = [d["id"] for d in doc["nodes"] if d["op"] == "fused"]
    assert fused[0] in o["between"]


@pytest.mark.parametrize("p", [64, 1024])
def test_the_model_gains_from_overlap_where_work_hides_a_transfer(p):
    outs = lh.plan(*_resplit_and_reduce(p)).outputs
    t = S.modelled_times(outs)
    assert t["overlapped"] == 1 and 0 < t["overlapped_s"] < t["serial_s"]
    x = lh.random.rand(64, 64, split=0, seed=3, comm=lh.FakeComm(p))
    alone = S.modelled_times(lh.plan(x.sum(0)).outputs)  # nothing to hide it behind
    assert alone["overlapped"] == 0 and alone["overlapped_s"] == alone["serial_s"]


def test_the_memory_guard_checks_the_overlapped_estimate():
    from lazyheat.runtime import memguard

    arrays = _resplit_and_reduce(4)
    outs = lh.plan(*arrays).outputs
    s = S.schedule(outs)
    need, _ = S.added(s, outs)
    plain, _ = S.added(S.plain(outs), outs)
    assert plain < need
    memguard.check(outs, lh.FakeComm(4), need, added=(need, 0))  # fits: nothing raised
    with pytest.raises(MemoryError, match="LAZYHEAT_OVERLAP=0 runs it"):
        memguard.check(outs, lh.FakeComm(4), plain, added=(need, 0))
