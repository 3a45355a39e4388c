"""Collective batching (``passes/batch.py``): small reduction collectives that are ready
together share one message (a ``batch_allgather`` on a few ranks, a ``batch_allreduce`` on
many, whichever the cost model finds cheaper); dependent ones, large ones and one-rank plans
do not."""

import pytest
from _plans import collectives, moving_collectives, nodes_of

import lazyheat as lh
from lazyheat.graph import topo_order
from lazyheat.graph.commcost import state_cost
from lazyheat.graph.cost import payload_bytes
from lazyheat.passes import (
    batch_collectives,
    eliminate_common_subexpressions,
    lower,
    place_allreduces,
    verify,
)
from lazyheat.passes.batch import BATCH_GATHER_BYTES
from lazyheat.planner import comm_bytes, physical_plan, run_passes


def _before_batching(*arrays):
    """The physical outputs as they reach the batching pass (lowered, all-reduces placed)."""
    logical, _ = run_passes([a._node for a in arrays], stage="optimized")
    return place_allreduces(eliminate_common_subexpressions(lower(logical)))[0]


@pytest.mark.parametrize("p", [2, 3, 64])
def test_independent_reductions_share_one_message(p):
    x = lh.random.randn(100, 8, split=0, seed=1, comm=lh.FakeComm(p))
    order = nodes_of(x.mean(0), x.std(0), x.sum(), x.max(), x.min(), x.argmin())
    (batch,) = moving_collectives(order)
    assert batch.attr("kinds") == (("state", "moments"), ("allreduce", "sum"), ("state", "max"),
                                   ("state", "min"), ("state", "argmin"))
    payload = payload_bytes(batch)  # every member's state, packed
    if p < 64:  # few ranks: every rank's packed states in one round, merged in rank order
        assert batch.op == "batch_allgather" and comm_bytes(batch) == payload * (p - 1)
    else:  # many ranks: recursive doubling of the pack, log2(64) = 6 packs per rank
        assert batch.op == "batch_allreduce" and comm_bytes(batch) == payload * 6
        assert comm_bytes(batch) == state_cost(payload, p, "doubling").bytes


@pytest.mark.parametrize("p", [2, 4])
def test_dependent_reductions_are_not_batched_together(p):
    x = lh.random.randn(100, 8, split=0, seed=1, comm=lh.FakeComm(p))
    c = x - x.mean()
    order = nodes_of((c * c).sum(), x.max())
    comms = moving_collectives(order)
    assert len(comms) == 2  # the second sum needs the mean first: two rounds, never a cycle
    verify(physical_plan([(c * c).sum(), x.max()]), physical=True)


def test_two_independent_reductions_become_parts_of_one_batch():
    x = lh.random.randn(100, 8, split=0, seed=1, comm=lh.FakeComm(4))
    before = _before_batching(x.sum(0), x.max(0))
    assert [n.op for n in before] == ["allreduce", "reduce_merge"]
    total, biggest = batch_collectives(before)
    assert total.op == "unbatch" and biggest.op == "reduce_merge"
    part = biggest.inputs[0]
    assert part.op == "unbatch"
    (batch,) = {id(u.inputs[0]): u.inputs[0] for u in (total, part)}.values()
    # one message for both: on 4 ranks recursive doubling of the packed sum and maxima (two
    # rounds) is cheaper than gathering and merging three ranks' packs
    assert batch.op == "batch_allreduce"
    assert [u.attr("index") for u in (total, part)] == [0, 1]
    assert batch.attr("kinds") == (("allreduce", "sum"), ("state", "max"))
    assert [i.op for i in batch.inputs] == ["reduce_partial", "reduce_partial"]
    assert [i.attr("fn") for i in batch.inputs] == ["sum", "max"]
    # both float32 8-vectors packed, received once per round, log2(4) = 2 rounds
    assert comm_bytes(batch) == (8 * 4 + 8 * 4) * 2 == state_cost(8 * 4 + 8 * 4, 4,
                                                                  "doubling").bytes
    assert total.aval == before[0].aval and part.aval == before[1].inputs[0].aval
    assert [n.op for n in collectives(topo_order([total, biggest]))] == ["batch_allreduce"]
    verify([total, biggest], physical=True)


def test_two_dependent_reductions_keep_their_own_collectives():
    x = lh.random.randn(100, 8, split=0, seed=1, comm=lh.FakeComm(4))
    outs = _before_batching((x - x.sum()).sum())  # the combined total feeds the second sum
    first, second = collectives(topo_order(outs))
    assert first.op == second.op == "allreduce"
    assert first in topo_order(second.inputs)  # the second depends on the first
    new = batch_collectives(outs)
    assert all(a is b for a, b in zip(new, outs))  # nothing batched: the graph as it was


def test_large_payloads_and_one_rank_plans_are_not_batched():
    comm = lh.FakeComm(4)
    cols = BATCH_GATHER_BYTES // 4 // 4 + 1  # a float32 row a little over the limit, gathered
    x = lh.zeros((8, cols), split=0, comm=comm)
    outs = _before_batching(x.sum(0), x.max(0))
    assert all(a is b for a, b in zip(batch_collectives(outs), outs))
    assert [n.op for n in collectives(topo_order(outs))] == ["allreduce", "allreduce_state"]
    y = lh.random.randn(100, 8, split=0, seed=1, comm=lh.FakeComm(1))
    outs = _before_batching(y.sum(0), y.max(0))
    assert all(a is b for a, b in zip(batch_collectives(outs), outs))
