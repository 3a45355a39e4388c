"""Distribution lowering (``passes/lower/``) and the layout rules it applies: reductions over
the split axis become a partial step and a collective, redistributes are inserted where an
operand's layout differs, and matmul, reshape, slice and concatenate keep blocks local when
they can. Planned for many world sizes in one process with a fake communicator; the tests
under tests/mpi check the values on real ranks."""

import pytest
from _plans import SIZES, comms_of, moving_collectives, nodes_of, ops_of
from hypothesis import given, settings
from hypothesis import strategies as st

import lazyheat as lh
from lazyheat.graph import rules as ru
from lazyheat.graph import topo_order
from lazyheat.graph.commcost import allreduce_cost, log2_ceil, state_cost
from lazyheat.graph.layout import balanced_counts, recv_bytes, transfer_matrix
from lazyheat.passes import lower
from lazyheat.planner import comm_bytes, comm_kind


# ---------------------------------------------------------------- reductions
@pytest.mark.parametrize("p", SIZES)
def test_reduction_over_split_axis_is_partial_plus_allreduce(p):
    x = lh.ones((100, 5), split=0, comm=lh.FakeComm(p))
    if p == 1:  # one rank holds everything: a plain local reduction
        assert ops_of([x.sum(0)]) == ["full", "reduce"]
        assert comms_of([x.mean()]) == []
    else:
        assert ops_of([x.sum(0)]) == ["full", "reduce_partial", "allreduce"]
        # one float32 total, all-reduced by recursive doubling: 4 bytes a round
        assert comms_of([x.mean()]) == [("allreduce[sum]", allreduce_cost(4, p).bytes)]
    assert ops_of([x.sum(1)]) == ["full", "reduce"]
    assert x.sum(1).split == 0


def test_lowered_reductions_keep_aval_and_source_line():
    x = lh.random.randn(100, 5, split=0, seed=1, comm=lh.FakeComm(4))
    for y, chain in [(x.sum(0), ["allreduce", "reduce_partial"]),
                     (x.mean(0), ["reduce_merge", "allreduce", "reduce_partial"]),
                     (x.max(0), ["reduce_merge", "allreduce_state", "reduce_partial"]),
                     (x.argmin(0), ["reduce_merge", "allreduce_state", "reduce_partial"])]:
        (out,) = lower([y._node])
        assert out.aval == y._node.aval  # what the user asked for: shape, dtype, layout
        ops, n = [], out
        while n is not x._node:
            assert n.loc == y._node.loc  # every step names the user's line
            ops.append(n.op)
            n = n.inputs[0]
        assert ops == chain
    (merge,) = lower([x.mean(0)._node])
    assert merge.attr("count") == 100 and merge.inputs[0].attr("op") == "sum"
    (local,) = lower([x.sum(1)._node])
    assert local.op == "reduce" and local.inputs == (x._node,)


@pytest.mark.parametrize("p", [2, 3, 64])
def test_moment_and_arg_reductions_all_reduce_small_states(p):
    x = lh.random.randn(100, 3, split=0, seed=1, comm=lh.FakeComm(p))
    # a few ranks gather every state (one round); many combine them by recursive doubling,
    # so a rank receives log2(p) states instead of p - 1
    algo, rounds = ("allgather", p - 1) if p < 4 else ("doubling", 6)
    for y, fn, state, count in [
            (x.std(0), "moments", 8 + 3 * 8 + 3 * 8, 8),  # count, mean and M2 of 3 columns
            (x.argmax(0), "argmax", 3 * (4 + 8), 0),      # float32 maxima, int64 positions
            (x.max(0), "max", 3 * 4, 0)]:                 # float32 maxima
        got = comms_of([y])
        assert got == [(f"allreduce[{fn} state] ({algo})", state * rounds)]
        assert got[0][1] == state_cost(state, p, algo, count).bytes


@pytest.mark.parametrize("p", SIZES)
def test_standardize_needs_one_collective_round_for_its_statistics(p):
    x = lh.random.randn(4000, 16, split=0, seed=1, comm=lh.FakeComm(p))
    order = nodes_of((x - x.mean(0)) / x.std(0))
    comms = moving_collectives(order)
    assert len(comms) == (0 if p == 1 else 1)
    if p > 1:
        assert comms[0].op == "allreduce_state" and comms[0].attr("fn") == "moments"
        state = 8 + 2 * 16 * 8  # one moments state of 16-vectors: count, mean, M2
        algo = comms[0].attr("algorithm")
        assert comm_bytes(comms[0]) == state_cost(state, p, algo, 8).bytes
        assert comm_bytes(comms[0]) <= state * log2_ceil(p)  # a state a round, log p rounds
    # mean and std share one moments state: x is read once for both
    stats = [n for n in order if n.op in ("reduce", "reduce_partial")]
    assert len(stats) == 1 and stats[0].attr("fn") == "moments"
    fused = [n for n in order if n.op == "fused"]
    assert len(fused) == 1 and [m.op for m in fused[0].attr("members")] == [
        "subtract", "true_divide"]


@pytest.mark.parametrize("p", SIZES)
def test_six_moments_take_two_sweeps_and_one_message(p):
    x = lh.random.randn(1000, 16, split=0, seed=1, comm=lh.FakeComm(p))
    order = nodes_of(x.mean(), x.std(), x.mean(0), x.std(0), x.mean(1), x.std(1))
    sweeps = [n for n in order if n.op in ("reduce", "reduce_partial")]
    assert sorted(n.attr("axes") for n in sweeps) == [(0,), (1,)]
    assert len(moving_collectives(order)) == (0 if p == 1 else 1)
    assert any(n.op == "moments_combine" for n in order)


# ---------------------------------------------------------------- matmul
@pytest.mark.parametrize("p", SIZES)
def test_gram_is_local_gemm_plus_one_allreduce_and_never_gathers(p):
    for d in (8, 32):
        x = lh.random.randn(1000, d, split=0, seed=0, comm=lh.FakeComm(p))
        g = x.T @ x
        assert g.split is None and g.shape == (d, d)
        comms = comms_of([g])
        assert [k for k, _ in comms] == (["allreduce[sum]"] if p > 1 else [])
        assert p == 1 or comms[0][1] == allreduce_cost(d * d * 4, p).bytes  # the Gram only
        assert "allgather" not in lh.explain(g)
        order = nodes_of(g)
        assert not any(n.op == "redistribute" for n in order)
        assert [n.op for n in moving_collectives(order)] == ([] if p == 1 else ["allreduce"])


def test_matmul_lowering_marks_partial_products():
    comm = lh.FakeComm(4)
    x = lh.random.randn(100, 8, split=0, seed=0, comm=comm)
    w = lh.random.randn(8, 3, seed=1, comm=comm)
    (gram,) = lower([(x.T @ x)._node])
    assert gram.op == "allreduce" and gram.attr("op") == "sum"
    (part,) = gram.inputs
    assert part.op == "matmul" and part.attr("partial") == "sum"
    assert [i.op for i in part.inputs] == ["transpose", "random"]  # no redistribute
    (xw,) = lower([(x @ w)._node])  # rows of x times a replicated weight: block-local
    assert xw.op == "matmul" and xw.attr("partial") is None
    assert xw.inputs == (x._node, w._node) and xw.aval.layout == x._node.aval.layout


# ---------------------------------------------------------------- redistribute insertion
@pytest.mark.parametrize("p", [2, 3, 4, 64])
def test_mixed_splits_move_the_smaller_operand_and_explain_says_so(p):
    comm = lh.FakeComm(p)
    big = lh.random.rand(64, 64, dtype="float64", split=0, seed=1, comm=comm)
    small = lh.random.rand(64, 64, dtype="float32", split=1, seed=2, comm=comm)
    out = big + small
    assert out.split == 0
    moves = [n for n in nodes_of(out) if n.op == "redistribute"]
    assert len(moves) == 1 and moves[0].aval.dtype.name == "float32"
    assert moves[0].inputs[0].aval.dtype.name == "float32"
    assert "alltoall (split 1 -> 0)" in lh.explain(out)
    # the other way round: the float64 operand keeps its layout again
    assert (small + big).split == 0


def test_a_redistribute_is_inserted_only_where_a_layout_differs():
    comm = lh.FakeComm(4)
    a = lh.random.rand(64, 64, split=0, seed=1, comm=comm)
    b = lh.random.rand(64, 64, split=1, seed=2, comm=comm)
    (same,) = lower([(a * 2 + a)._node])
    assert "redistribute" not in [n.op for n in topo_order([same])]
    y = a + b
    (out,) = lower([y._node])
    moved = [i for i in out.inputs if i.op == "redistribute"]
    assert len(moved) == 1 and moved[0].aval.layout == out.aval.layout
    (src,) = moved[0].inputs
    assert src in (a._node, b._node) and src.aval.layout != out.aval.layout
    assert moved[0].loc == out.loc == y._node.loc  # the user's line of the add


@pytest.mark.parametrize("p", [2, 3, 4, 8, 64])
def test_broadcast_operands_on_two_splits_move_both_to_a_third_when_cheaper(p):
    comm = lh.FakeComm(p)
    a = lh.random.rand(64, 1, 256, split=0, seed=1, comm=comm)
    b = lh.random.rand(1, 64, 256, split=1, seed=2, comm=comm)
    y = a + b
    gather_b = 64 * 256 * 4 * (p - 1) // p  # the cheapest plan keeping split 0 or 1
    moved = max(comm_bytes(n) for n in moving_collectives(nodes_of(y)))
    if p == 2:  # two all-to-alls receive as much as one all-gather: keep an operand's split
        assert y.split in (0, 1)
    else:
        assert y.split == 2
        moves = [n for n in nodes_of(y) if n.op == "redistribute"]
        assert len(moves) == 2
        assert sum(comm_bytes(n) for n in moves) < gather_b
    assert moved <= gather_b


@pytest.mark.parametrize("p", SIZES)
def test_resplit_and_gather_bytes_match_formulas(p):
    n, m = 101, 37
    x = lh.zeros((n, m), dtype="float64", split=0, comm=lh.FakeComm(p))
    rows, cols = balanced_counts(n, p), balanced_counts(m, p)
    ((kind, b),) = comms_of([x.resplit(1)])
    assert kind == "alltoall (split 0 -> 1)"
    assert b == (0 if p == 1 else max(cols[r] * (n - rows[r]) * 8 for r in range(p)))
    ((kind, b),) = comms_of([x.resplit(None)])
    assert kind == "allgather" and b == max((n - rows[r]) * m * 8 for r in range(p))
    assert comms_of([x.resplit(None).resplit(0)])[-1][0] == "slice (local, free)"


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 40), p=st.integers(1, 9), q=st.integers(1, 9))
def test_recv_bytes_of_rebalance_match_transfer_matrix(n, p, q):
    src = balanced_counts(n, p)
    dst = tuple(reversed(src))
    m = transfer_matrix(src, dst)
    b = recv_bytes((n, q), 4, (0, src), (0, dst), p)
    assert b == [sum(m[s][r] for s in range(p) if s != r) * q * 4 for r in range(p)]


# ---------------------------------------------------------------- slices
@pytest.mark.parametrize("p", [2, 3, 4, 7])
def test_unbalanced_slices_move_boundary_rows_only(p):
    x = lh.zeros((40, 3), dtype="float32", split=0, comm=lh.FakeComm(p))
    s = x[5:33]
    assert sum(c[0] for c in s.lshape_map) == 28
    ((kind, b),) = comms_of([s.balance()])
    assert kind == "alltoall (rebalance)"
    src, dst = s.aval.counts, balanced_counts(28, p)
    moved = transfer_matrix(src, dst)
    expect = max(sum(moved[q][r] for q in range(p) if q != r) for r in range(p)) * 3 * 4
    assert b == expect


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 50), p=st.integers(1, 9), start=st.integers(-60, 60),
       stop=st.integers(-60, 60), step=st.integers(1, 7))
def test_slice_counts_cover_the_selection(n, p, start, stop, step):
    x = lh.zeros((n,), split=0, comm=lh.FakeComm(p))
    s = x[start:stop:step]
    assert sum(s.aval.counts) == len(range(n)[start:stop:step])


@pytest.mark.parametrize("p", [2, 3, 4, 7])
def test_reversing_slice_is_one_alltoall_not_a_gather(p):
    x = lh.zeros((1000, 8), split=0, comm=lh.FakeComm(p))
    for key in (slice(None, None, -1), slice(900, 10, -3)):
        kinds = [k for k, _ in comms_of([x[key]])]
        assert kinds == ["alltoall (rebalance)"]
        assert x[key].aval.balanced
    # on one rank nothing moves
    assert comms_of([lh.zeros((10, 2), split=0, comm=lh.FakeComm(1))[::-1]]) == []


# ---------------------------------------------------------------- reshape and concatenate
@pytest.mark.parametrize("shape,new,split,ok_local", [
    ((6, 4), (24,), 0, True), ((6, 4), (6, 2, 2), 0, True), ((6, 4), (3, 8), 0, False),
    ((2, 6, 4), (2, 24), 1, True), ((4, 6), (24,), 1, False),
])
def test_reshape_plan_stays_local_when_it_can(shape, new, split, ok_local):
    counts = balanced_counts(shape[split], 2)
    req, out = ru.reshape_plan(shape, new, split, counts)
    assert (req[0] is not None) == ok_local
    assert sum(out[1]) == new[out[0]]


def test_reshape_lowering_gathers_only_when_blocks_do_not_line_up():
    x = lh.zeros((6, 4), split=0, comm=lh.FakeComm(2))
    (flat,) = lower([x.reshape(24)._node])
    assert flat.op == "reshape" and flat.inputs == (x._node,)
    assert flat.aval.layout == (0, (12, 12))
    (odd,) = lower([x.reshape(3, 8)._node])
    chain = [n for n in topo_order([odd]) if n is not x._node]
    assert [n.op for n in chain] == ["redistribute", "reshape", "redistribute"]
    gather, whole, block = chain
    assert comm_kind(gather) == "allgather" and whole.aval.split is None
    assert comm_kind(block) == "slice (local, free)"  # this rank's block of the whole result
    assert block.aval == x.reshape(3, 8)._node.aval


@pytest.mark.parametrize("p", [2, 4, 7])
def test_concatenate_along_the_split_axis_lands_balanced(p):
    comm = lh.FakeComm(p)
    a = lh.zeros((10, 3), split=0, comm=comm)
    b = lh.ones((6, 3), split=0, comm=comm)
    (out,) = lower([lh.concatenate([a, b], 0)._node])
    assert out.op == "concatenate" and out.aval.counts == balanced_counts(16, p)
    # each operand sends its rows to the ranks whose output block they fall in
    starts = [0, 10]
    for i, (src, start) in enumerate(zip((a, b), starts)):
        lo = 0
        want = []
        for c in out.aval.counts:
            want.append(max(0, min(lo + c, start + src.shape[0]) - max(lo, start)))
            lo += c
        got = out.inputs[i].aval.counts
        assert got == tuple(want)
        assert out.inputs[i].op == ("redistribute" if got != src.aval.counts else "full")
    # along another axis the operands keep the layout of the largest split one
    c = lh.ones((10, 5), split=0, comm=comm)
    (side,) = lower([lh.concatenate([a, c], 1)._node])
    assert side.inputs == (a._node, c._node) and side.aval.layout == a.aval.layout
