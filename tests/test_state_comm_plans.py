"""Bytes per rank of reductions stay flat (or grow like log p) from 2 to 4096 ranks: the
fixed-size states of var/std, argmin/argmax, min/max, ptp and batched packs are combined
pairwise instead of all-gathered, by the algorithm the planning cost model picks; a partial
consumed split is reduce-scattered. Formulas pinned on fake communicators."""

import pytest

import lazyheat as lh
from lazyheat.graph import commcost, topo_order
from lazyheat.graph.commcost import (
    allgather_cost,
    allreduce_cost,
    reduce_scatter_cost,
    state_algorithm,
    state_cost,
)
from lazyheat.graph.cost import comm_cost, totals
from lazyheat.graph.ops import COLLECTIVES

PS = (2, 3, 4, 8, 64, 1000, 1024, 4096)


def _comms(*arrays):
    p = lh.plan(*arrays)
    return [n for n in topo_order(p.outputs) if n.op in COLLECTIVES]


def _moved(*arrays) -> int:
    p = lh.plan(*arrays)
    return totals(topo_order(p.outputs), p.outputs)["bytes_moved_per_rank"]


def _big(p, dtype=lh.float32):
    return lh.zeros((10_000_000, 1000), dtype=dtype, split=0, comm=lh.FakeComm(p))


def test_std_moves_a_few_times_mean_at_1024_ranks():
    x = _big(1024)
    mean, std = _moved(x.mean(axis=0)), _moved(x.std(axis=0))
    # mean: 4000 B of float32 sums, Rabenseifner; std: (count, mean, M2) in float64
    assert mean == 2 * (4000 * 1023 // 1024)
    assert std <= 5 * mean
    assert std < 16_376_184 // 400  # the all-gather of every rank's state moved this


@pytest.mark.parametrize("p", PS)
def test_state_bytes_follow_the_chosen_algorithm(p):
    x = _big(p)
    (c,) = _comms(x.std(axis=0))
    assert c.op == "allreduce_state" and c.attr("fn") == "moments"
    n = 8 + 2 * 8 * 1000  # count + mean + M2, float64
    algo = state_algorithm(n, p, True, 8)
    assert c.attr("algorithm") == algo
    assert comm_cost(c) == state_cost(n, p, algo, 8)
    k = p.bit_length() - 1
    fold = 0 if p == 1 << k else 1
    if algo == "doubling":
        assert comm_cost(c).bytes == n * (k + fold)
    elif algo == "halving":
        assert comm_cost(c).bytes <= 2 * n + 8 * k + n * fold
    else:
        assert comm_cost(c).bytes == n * (p - 1)


@pytest.mark.parametrize("p", PS)
def test_bytes_per_rank_flat_or_log_in_p(p):
    """From 2 to 4096 ranks no reduction's state bytes grow faster than log2 p."""
    k = max(p.bit_length(), 2)
    x = _big(p)
    for expr, state in ((x.std(axis=0), 16_008), (x.argmin(axis=0), 12_000),
                        (x.max(axis=0), 4000), (lh.ptp(x, axis=0), 8000),
                        (x.max(), 4), (x.argmax(), 12)):
        assert _moved(expr) <= state * (k + 2), (expr, p)


def test_small_states_at_few_ranks_keep_the_allgather():
    """At 2 ranks an all-gather is one round like any other algorithm: the cost model
    keeps it (its merge needs no extra round)."""
    x = _big(2)
    (c,) = _comms(x.max())
    assert c.attr("algorithm") == "allgather"


def test_state_algorithm_is_global_metadata_only():
    for p in PS:
        for nbytes in (4, 4000, 16_008, 1 << 20):
            assert state_algorithm(nbytes, p) == state_algorithm(nbytes, p)
    assert state_algorithm(1 << 20, 1024) == "halving"
    assert state_algorithm(4, 1024) == "doubling"
    assert state_algorithm(1 << 20, 1024, splittable=False) == "doubling"


def _narrow(p):
    return lh.zeros((10_000_000, 10), dtype=lh.float32, split=0, comm=lh.FakeComm(p))


def test_batched_pack_at_1024_ranks_is_a_doubling():
    x = _narrow(1024)
    (c,) = _comms(x.std(axis=0), x.argmax(axis=0), x.sum(axis=0))
    assert c.op == "batch_allreduce"
    kinds = c.attr("kinds")
    assert ("state", "moments") in kinds and ("state", "argmax") in kinds
    payload = 168 + 120 + 40
    assert comm_cost(c).bytes == state_cost(payload, 1024, "doubling").bytes == payload * 10


def test_batched_pack_at_2_ranks_is_an_allgather():
    x = _narrow(2)
    (c,) = _comms(x.std(axis=0), x.argmax(axis=0), x.sum(axis=0))
    assert c.op == "batch_allgather"


def test_large_states_at_1024_ranks_are_not_packed():
    """States big enough for recursive halving keep their own collective (packing them
    into one doubling would receive log2 p packs)."""
    x = _big(1024)
    comms = _comms(x.std(axis=0), x.argmax(axis=0))
    assert [c.attr("algorithm") for c in comms] == ["halving", "halving"]


def test_force_pins_the_algorithm():
    try:
        commcost.FORCE_STATE_ALGORITHM = "halving"
        assert state_algorithm(4, 8, splittable=False) == "doubling"
        assert state_algorithm(4000, 8) == "halving"
    finally:
        commcost.FORCE_STATE_ALGORITHM = None


@pytest.mark.parametrize("p", (2, 3, 8, 1024))
def test_partial_sum_consumed_split_is_reduce_scattered(p):
    c = lh.FakeComm(p)
    x, y = lh.zeros((1000, 4096), split=0, comm=c), lh.zeros((4096,), split=0, comm=c)
    (r,) = _comms(x.sum(0) + y)
    assert r.op == "reduce_scatter" and r.aval.split == 0
    assert comm_cost(r) == reduce_scatter_cost(4096 * 4, p)
    assert comm_cost(r).bytes < allreduce_cost(4096 * 4, p).bytes


def test_allreduce_kept_where_the_value_is_read_whole():
    c = lh.FakeComm(4)
    x, y = lh.zeros((1000, 64), split=0, comm=c), lh.zeros((64,), split=0, comm=c)
    s = x.sum(0)
    ops = [n.op for n in _comms(s + y, s * 2)]
    assert "reduce_scatter" not in ops


def test_cost_formulas():
    assert allreduce_cost(1000, 1).bytes == 0
    assert allreduce_cost(1000, 8) == (allreduce_cost(1000, 8)._replace())
    assert allreduce_cost(1000, 8).rounds == 3 and allreduce_cost(1000, 8).bytes == 3000
    big = allreduce_cost(1 << 20, 1024)
    assert big.rounds == 20 and big.bytes == 2 * ((1 << 20) * 1023 // 1024)
    assert allgather_cost(8, 1024).rounds == 10
    assert allgather_cost(1 << 20, 4).algorithm == "ring"
    assert state_cost(800, 6, "doubling").rounds == 2 + 2
    assert reduce_scatter_cost(1 << 20, 1024).bytes == (1 << 20) * 1023 // 1024


@pytest.mark.parametrize("p", (2, 3, 64, 1024, 4096))
def test_scan_carries_by_prefix_at_many_ranks(p):
    """A cumulative sum along the split axis combines the ranks' carries: an all-gather of
    p carries at a few ranks, an exclusive prefix by recursive doubling (log2 p carries
    received) at many."""
    x = lh.zeros((10_000_000, 1000), dtype=lh.float32, split=0, comm=lh.FakeComm(p))
    (c,) = _comms(lh.cumulative_sum(x, axis=0))
    carry = 1000 * 4
    if p <= 3:
        assert c.op == "allgather" and comm_cost(c).bytes == carry * (p - 1)
    else:
        assert c.op == "exscan"
        k = (p - 1).bit_length()
        assert comm_cost(c).bytes == carry * k and comm_cost(c).rounds == k
