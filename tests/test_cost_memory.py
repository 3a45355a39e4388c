"""The peak-memory estimate (``graph.cost.memory_peak``), against bytes counted by hand.

Plans only (``world_size`` / ``FakeComm``), at 1, 4 and 1024 ranks. The model follows the
executor and the kernels in ``runtime/comm.py``: each rank's own block of every value,
values freed after their last use (outputs kept), and a collective's send and receive
buffers while it runs. The estimate is the largest over ranks of each rank's own peak, and
it is never below what a rank receives at once (all of it for a gather or an all-to-all, a
message at a time for a collective that combines what arrives each round).
"""

import pytest

import lazyheat as lh
from lazyheat.graph import ops, topo_order
from lazyheat.graph.commcost import state_cost
from lazyheat.graph.cost import COMM_BUFFERS, comm_bytes_per_rank, comm_cost, memory_peak
from lazyheat.graph.layout import balanced_counts

F32, F16 = 4, 2
KiB, MiB = 1 << 10, 1 << 20


def _peak(*arrays, p):
    plan = lh.plan(*arrays, world_size=p)
    order = topo_order(plan.outputs)
    peak = memory_peak(order, plan.outputs)
    assert plan.totals()["peak_bytes_per_rank"] == peak.bytes  # what explain prints
    return peak, order


def _block(rows, p, row_bytes, r=0):
    return balanced_counts(rows, p)[r] * row_bytes


def _ops(order):
    return [n.op for n in order]


# ---------------------------------------------------------------- all-gather
@pytest.mark.parametrize("p", [1, 4, 1024])
def test_allgather_holds_the_block_and_the_gathered_array(p):
    x = lh.zeros((4096, 64), split=0)
    peak, order = _peak(x.resplit(None), p=p)
    assert _ops(order) == ["full", "redistribute"]
    whole, block = 4096 * 64 * F32, _block(4096, p, 64 * F32)
    # the block, plus the receive buffer (the result); on one rank the "gather" is a copy
    assert peak.bytes == block + whole
    assert peak.step == 1 and peak.rank == 0


@pytest.mark.parametrize("p", [4, 1024])
def test_allgather_along_a_later_axis_copies_the_block_first(p):
    x = lh.zeros((64, 4096), split=1)
    peak, _ = _peak(x.resplit(None), p=p)
    whole, block = 64 * 4096 * F32, _block(4096, p, 64 * F32)
    assert peak.bytes == block + block + whole  # block, its contiguous copy, result


def test_allgather_of_unbalanced_blocks_counts_each_rank_its_own():
    x = lh.zeros((5, 1000), split=0)  # 4 ranks: rows 2, 1, 1, 1
    peak, order = _peak(x.resplit(None), p=4)
    row, whole = 1000 * F32, 5 * 1000 * F32
    assert peak.per_rank == (2 * row + whole, row + whole, row + whole, row + whole)
    assert peak.bytes == 2 * row + whole and peak.rank == 0
    recv = comm_bytes_per_rank(order[1])
    assert recv == [whole - 2 * row, whole - row, whole - row, whole - row]
    assert all(m >= r for m, r in zip(peak.per_rank, recv))


# ---------------------------------------------------------------- all-to-all
@pytest.mark.parametrize("p", [1, 4, 1024])
def test_alltoall_holds_block_send_buffer_and_receive_buffer(p):
    x = lh.zeros((4096, 64), split=0)
    peak, order = _peak(x.resplit(1), p=p)
    assert _ops(order) == ["full", "redistribute"]
    block_in = _block(4096, p, 64 * F32)
    block_out = _block(64, p, 4096 * F32)  # rank 0 has the most columns
    if p == 1:
        assert peak.bytes == 2 * 4096 * 64 * F32  # nothing moves: the block and the result
    else:
        # block + packed send buffer (the whole block) + receive buffer (the result, as
        # pieces along axis 0 arrive in rank order)
        assert peak.bytes == block_in + block_in + block_out
    assert peak.bytes >= max(comm_bytes_per_rank(order[1]))


@pytest.mark.parametrize("p", [4, 1024])
def test_alltoall_joined_along_a_later_axis_copies_the_pieces(p):
    x = lh.zeros((64, 4096), split=1)
    peak, _ = _peak(x.resplit(0), p=p)
    block_in = _block(4096, p, 64 * F32)
    block_out = _block(64, p, 4096 * F32)
    # block + receive buffer + (send buffer, or then the joined result)
    assert peak.bytes == block_in + block_out + max(block_in, block_out)
    if p == 1024:
        assert peak.bytes == 1024 + 16 * KiB + 16 * KiB


def test_an_alltoall_at_1024_ranks_is_at_least_what_a_rank_receives():
    x = lh.zeros((4096, 64), split=0)
    peak, order = _peak(x.resplit(1), p=1024)
    recv = comm_bytes_per_rank(order[1])
    assert recv[0] == 16 * KiB - 16  # 4096 x 1 column, less the 4 x 1 it holds
    assert peak.bytes == 1024 + 1024 + 16 * KiB
    assert all(m >= r for m, r in zip(peak.per_rank, recv))


# ---------------------------------------------------------------- all-reduce
@pytest.mark.parametrize("p", [1, 4, 1024])
def test_allreduce_of_a_sum(p):
    x = lh.zeros((64, 4096), split=0)
    peak, order = _peak(x.sum(0), p=p)
    block, vec = _block(64, p, 4096 * F32), 4096 * F32
    if p == 1:
        assert _ops(order) == ["full", "reduce"]
        assert peak.bytes == block + vec
        return
    assert _ops(order) == ["full", "reduce_partial", "allreduce"]
    # the block and the partial sums, then (the block freed) partial + receive buffer
    assert peak.bytes == max(block + vec, vec + vec)
    assert peak.bytes >= vec  # every rank receives the whole vector


@pytest.mark.parametrize("p", [4, 1024])
def test_allreduce_of_half_precision_widens_its_buffers(p):
    x = lh.zeros((64, 4096), dtype=lh.float16, split=0)
    peak, order = _peak(x.sum(0), p=p)
    assert _ops(order) == ["full", "reduce_partial", "allreduce"]
    block, vec = _block(64, p, 4096 * F16), 4096 * F16
    # float32 send and receive buffers (2x each) and the float16 result, beside the partial
    assert peak.bytes == max(block + vec, vec + 5 * vec)
    if p == 1024:
        assert peak.step == 2 and peak.bytes == 48 * KiB


@pytest.mark.parametrize("p", [4, 1024])
def test_allreduce_of_bools_carries_them_as_bytes(p):
    b = lh.zeros((64, 512), dtype=lh.bool, split=0)
    peak, _ = _peak(b.any(0), p=p)
    block, vec = _block(64, p, 512), 512
    assert peak.bytes == max(block + vec, vec + 3 * vec)


# ---------------------------------------------------------------- combined states
@pytest.mark.parametrize("p", [2, 3])
def test_moments_allgather_holds_every_ranks_state(p):
    x = lh.zeros((4 * p, 64), split=0)  # blocks of 4 rows: the states make the peak
    peak, order = _peak(x.mean(0), x.std(0), p=p)
    state = 8 + 64 * 8 + 64 * 8  # count f64[], mean f64[64], m2 f64[64]
    comb = next(n for n in order if n.op == "allreduce_state")
    assert comb.attr("algorithm") == "allgather"  # few ranks: one round of every state
    assert comm_bytes_per_rank(comb)[0] == state * (p - 1)
    block = 4 * 64 * F32
    # beside the rank's own state: its state packed to send, every rank's states received
    # and unpacked, and the combined state (as ``allgather_packed`` and a batched all-gather)
    running = state + 2 * p * state + state
    assert peak.bytes == max(block + state, state + running)


@pytest.mark.parametrize("p", [4, 1024])
def test_moments_by_recursive_doubling_hold_a_few_states(p):
    x = lh.zeros((4 * p, 64), split=0)  # blocks of 4 rows: the states make the peak
    peak, order = _peak(x.mean(0), x.std(0), p=p)
    state = 8 + 64 * 8 + 64 * 8  # count f64[], mean f64[64], m2 f64[64]
    comb = next(n for n in order if n.op == "allreduce_state")
    assert comb.attr("algorithm") == "doubling"
    # one whole state received per round, log2(p) rounds: never every rank's state
    rounds = p.bit_length() - 1
    assert comm_bytes_per_rank(comb)[0] == state * rounds == \
        state_cost(state, p, "doubling", 8).bytes
    block = 4 * 64 * F32
    # beside the rank's own state: the state combined so far, its packed copy sent, the
    # partner's received and unpacked (``statecomm.combine_doubling``)
    assert peak.bytes == max(block + state, state + 4 * state) == 5 * 1032


@pytest.mark.parametrize("p", [2, 3])
def test_batched_allgather_counts_send_receive_and_unpacked_copies(p):
    x = lh.zeros((4 * p, 16), split=0)  # blocks of 4 rows: the states make the peak
    peak, order = _peak(x.argmin(0), x.max(), x.mean(), p=p)
    assert _ops(order).count("batch_allgather") == 1  # few ranks: one round, all-gathered
    states = (16 * F32 + 16 * 8) + F32 + F32  # argmin (value, index), max, sum
    reduced = states  # every member's combined result, shaped like its state
    block = 4 * 16 * F32
    running = states + 2 * p * states + reduced  # send, receive, copies, results
    assert peak.bytes == max(block + states, states + running)


@pytest.mark.parametrize("p", [4, 1024])
def test_batched_allreduce_holds_a_few_packs(p):
    x = lh.zeros((4 * p, 16), split=0)  # blocks of 4 rows: the states make the peak
    peak, order = _peak(x.argmin(0), x.max(), x.mean(), p=p)
    (batch,) = [n for n in order if n.op == "batch_allreduce"]  # many ranks: doubling
    states = (16 * F32 + 16 * 8) + F32 + F32  # argmin (value, index), max, sum
    rounds = p.bit_length() - 1
    assert comm_bytes_per_rank(batch)[0] == states * rounds
    block = 4 * 16 * F32
    # beside the packed members: the pack combined so far, sent, received and unpacked (the
    # results, shaped like the members)
    running = 3 * states + states  # three packs and the results
    assert peak.bytes == max(block + states, states + running) == 5 * 200


# ---------------------------------------------------------------- lifetimes
def test_values_are_freed_after_their_last_use_and_outputs_kept():
    x = lh.random.rand(1000, 100, split=0, seed=1)  # (zeros would be folded to a constant)
    y = x * 2 + 1  # one fused kernel
    plan_one = lh.plan(y.sum(), world_size=4)
    both = lh.plan(y, y.sum(), world_size=4)
    block = 250 * 100 * F32
    one = memory_peak(topo_order(plan_one.outputs), plan_one.outputs)
    assert one.bytes == block + F32  # the fused kernel's reduction never materializes y
    two = memory_peak(topo_order(both.outputs), both.outputs)
    # x and y while y is made; then x is freed, and y (an output) stays with the sum
    assert two.bytes == 2 * block and two.step == 1
    assert sorted(n.op for n, _, _ in two.live()) == ["fused", "random"]


def test_the_users_data_counts_throughout_and_is_reported_apart():
    import numpy as np

    a = lh.array(np.zeros((400, 100), dtype=np.float32), split=0)
    plan = lh.plan(a.resplit(None), world_size=1)  # one rank: a is its own block
    peak = memory_peak(topo_order(plan.outputs), plan.outputs)
    assert peak.resident == (400 * 100 * F32,)
    assert peak.bytes == 2 * 400 * 100 * F32
    assert peak.added() == (400 * 100 * F32, 0)


def test_peak_for_a_given_rank():
    x = lh.zeros((5, 1000), split=0)
    plan = lh.plan(x.resplit(None), world_size=4)
    order = topo_order(plan.outputs)
    assert memory_peak(order, plan.outputs, rank=3).bytes == 1000 * F32 + 5000 * F32
    assert memory_peak(order, plan.outputs).on(3).rank == 3


# ---------------------------------------------------------------- never below a receive
PLANS = {
    "gather": lambda x: [x.resplit(None)],
    "alltoall": lambda x: [x.resplit(1)],
    "allreduce": lambda x: [x.sum(0)],
    "standardize": lambda x: [(x - x.mean(0)) / x.std(0)],
    "batch": lambda x: [x.argmin(0), x.max(), x.mean()],
    "gram": lambda x: [x.T @ x],
    "outer": lambda x: [x @ x.T],
    "cumsum": lambda x: [x.cumsum(0)],
}


# collectives that combine each message as it arrives, into a buffer reused every round: a
# rank never holds all it receives at once, but one message at a time (the largest at least
# the average per round)
COMBINING = {"allreduce", "batch_allreduce", "reduce_scatter", "exscan"}


@pytest.mark.parametrize("p", [1, 4, 1024])
@pytest.mark.parametrize("name", sorted(PLANS))
def test_the_estimate_covers_every_receive_on_every_rank(name, p):
    x = lh.zeros((2000, 48), split=0)
    peak, order = _peak(*PLANS[name](x), p=p)
    for n in order:
        if n.op in ops.COLLECTIVES:
            recv = comm_bytes_per_rank(n) if p > 1 else [0]
            if n.op in COMBINING or (n.op == "allreduce_state"
                                     and n.attr("algorithm") != "allgather"):
                rounds = max(comm_cost(n).rounds, 1)
                recv = [-(-r // rounds) for r in recv]
            assert all(m >= r for m, r in zip(peak.per_rank, recv)), (n, recv[:4])
    assert peak.bytes == max(peak.per_rank)


def test_every_collective_has_a_buffer_model():
    assert set(COMM_BUFFERS) == set(ops.COLLECTIVES)


def test_live_values_at_the_peak_name_the_largest_first():
    x = lh.zeros((4096, 64), split=0)
    plan = lh.plan(x.resplit(None), world_size=4)
    peak = memory_peak(topo_order(plan.outputs), plan.outputs)
    live = peak.live()
    assert [(n.op, b, running) for n, b, running in live] == [
        ("redistribute", 1 * MiB, True), ("full", 256 * KiB, False)]
    assert all(n.loc.startswith("test_cost_memory.py:") for n, _, _ in live)
