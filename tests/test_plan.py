"""Plan structure, planned for many world sizes in one process with a fake communicator.

These tests pin what the planner decides (collectives, bytes, layouts), independent of
values; the tests under tests/mpi check the values on real ranks.
"""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lazyheat as lh
from lazyheat.graph import rules as ru
from lazyheat.graph import topo_order
from lazyheat.graph.layout import balanced_counts, recv_bytes, transfer_matrix
from lazyheat.passes import eliminate_common_subexpressions, lower, verify
from lazyheat.planner import comm_bytes, comm_kind, physical_plan

SIZES = [1, 2, 3, 4, 7, 64]


def ops_of(arrays):
    """Ops of the physical plan, fused groups expanded into their members and closer."""
    out = []
    for n in topo_order(physical_plan(arrays)):
        if n.op == "fused":
            out.extend(m.op for m in n.attr("members"))
            if n.attr("closer") is not None:
                out.append(n.attr("closer").op)
        else:
            out.append(n.op)
    return out


def comms_of(arrays):
    return [(comm_kind(n), comm_bytes(n)) for n in topo_order(physical_plan(arrays))
            if n.op in ("redistribute", "allreduce", "allgather")]


def strip_locations(text):
    return re.sub(r"\s+# \S+", "", text)


@pytest.mark.parametrize("p", SIZES)
def test_gram_is_local_gemm_plus_one_allreduce(p):
    x = lh.random.randn(1000, 8, split=0, seed=0, comm=lh.FakeComm(p))
    g = x.T @ x
    assert g.split is None and g.shape == (8, 8)
    comms = comms_of([g])
    assert [k for k, _ in comms] == (["allreduce[sum]"] if p > 1 else [])
    assert p == 1 or comms[0][1] == 8 * 8 * 4
    assert "allgather" not in lh.explain(g)


@pytest.mark.parametrize("p", [2, 3, 4, 64])
def test_mixed_splits_move_the_smaller_operand(p):
    comm = lh.FakeComm(p)
    big = lh.random.rand(64, 64, dtype="float64", split=0, seed=1, comm=comm)
    small = lh.random.rand(64, 64, dtype="float32", split=1, seed=2, comm=comm)
    out = big + small
    assert out.split == 0
    moved = [n for n in topo_order(physical_plan([out])) if n.op == "redistribute"]
    assert len(moved) == 1 and moved[0].inputs[0].aval.dtype.name == "float32"
    assert "alltoall (split 1 -> 0)" in lh.explain(out)
    # the other way round: the float64 operand keeps its layout again
    assert (small + big).split == 0


@pytest.mark.parametrize("p", SIZES)
def test_reduction_over_split_axis_is_partial_plus_allreduce(p):
    x = lh.ones((100, 5), split=0, comm=lh.FakeComm(p))
    if p == 1:  # one rank holds everything: a plain local reduction
        assert ops_of([x.sum(0)]) == ["full", "reduce"]
        assert comms_of([x.mean()]) == []
    else:
        assert ops_of([x.sum(0)]) == ["full", "reduce_partial", "allreduce"]
        assert comms_of([x.mean()]) == [("allreduce[sum]", 4)]
    assert ops_of([x.sum(1)]) == ["full", "reduce"]
    assert x.sum(1).split == 0


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


@pytest.mark.parametrize("p", SIZES)
def test_plans_identical_on_every_simulated_rank(p):
    def build(rank):
        comm = lh.FakeComm(p, rank)
        x = lh.random.randn(50, 6, split=0, seed=1, comm=comm)
        y = lh.random.rand(6, 50, split=1, seed=2, comm=comm)
        z = (x - x.mean(0)) / x.std(0)
        return [z.T @ z, (x + y.T).max(1), x[3:40:3].sum(0), lh.concatenate([x, z], 0)]

    ranks = range(p) if p <= 8 else (0, p // 2, p - 1)
    texts = {strip_locations(lh.explain(*build(r))) for r in ranks}
    assert len(texts) == 1


@pytest.mark.parametrize("p", SIZES)
def test_verifier_accepts_every_pass_output(p):
    comm = lh.FakeComm(p)
    x = lh.random.randn(30, 4, split=0, seed=1, comm=comm)
    y = lh.ones((4, 30), split=1, comm=comm)
    outs = [(x + y.T).sum(), x[::-2].T @ x[1::2], lh.stack([x, x * 2], 1).reshape(30, 8),
            x.reshape(120).argmax(), lh.squeeze(x[2:3]), x.var(0, ddof=1)]
    nodes = [o._node for o in outs]
    verify(nodes)
    cse = eliminate_common_subexpressions(nodes)
    verify(cse)
    verify(lower(cse), physical=True)


def test_cse_shares_structurally_equal_work():
    x = lh.random.randn(10, 3, split=0, seed=5, comm=lh.FakeComm(4))
    a, b = (x * 2).sum(0), (x * 2).sum(0)
    ops = ops_of([a, b])
    assert ops.count("multiply") == 1
    assert ops.count("allreduce") == 1


def test_explain_marks_split_and_comm_lines():
    x = lh.ones((1000, 8), split=0, comm=lh.FakeComm(4))
    text = lh.explain(x.sum(0))
    assert "f32[1000@0, 8]" in text
    assert re.search(r"-- comm: allreduce\[sum\], 32 B/rank", text)
    assert "totals: 2 kernels (0 fused, 0 ops in them), 1 collectives" in text


def test_fake_comm_refuses_to_compute():
    with pytest.raises(RuntimeError, match="only plans"):
        lh.ones(3, split=0, comm=lh.FakeComm(2)).compute()


# ---------------------------------------------------------------- layout rules
@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 50), p=st.integers(1, 9), start=st.integers(-60, 60),
       stop=st.integers(-60, 60), step=st.integers(1, 7))
def test_slice_counts_cover_the_selection(n, p, start, stop, step):
    x = lh.zeros((n,), split=0, comm=lh.FakeComm(p))
    s = x[start:stop:step]
    assert sum(s.aval.counts) == len(range(n)[start:stop:step])


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 40), p=st.integers(1, 9), q=st.integers(1, 9))
def test_recv_bytes_of_rebalance_match_transfer_matrix(n, p, q):
    src = balanced_counts(n, p)
    dst = tuple(reversed(src))
    m = transfer_matrix(src, dst)
    b = recv_bytes((n, q), 4, (0, src), (0, dst), p)
    assert b == [sum(m[s][r] for s in range(p) if s != r) * q * 4 for r in range(p)]


@pytest.mark.parametrize("shape,new,split,ok_local", [
    ((6, 4), (24,), 0, True), ((6, 4), (6, 2, 2), 0, True), ((6, 4), (3, 8), 0, False),
    ((2, 6, 4), (2, 24), 1, True), ((4, 6), (24,), 1, False),
])
def test_reshape_plan_stays_local_when_it_can(shape, new, split, ok_local):
    counts = balanced_counts(shape[split], 2)
    req, out = ru.reshape_plan(shape, new, split, counts)
    assert (req[0] is not None) == ok_local
    assert sum(out[1]) == new[out[0]]


@pytest.mark.parametrize("p", [2, 3, 64])
def test_moment_and_arg_reductions_gather_small_states(p):
    x = lh.random.randn(100, 3, split=0, seed=1, comm=lh.FakeComm(p))
    assert comms_of([x.std(0)]) == [("allgather", (8 + 3 * 8 + 3 * 8) * (p - 1))]
    assert comms_of([x.argmax(0)]) == [("allgather", 3 * (4 + 8) * (p - 1))]
    assert comms_of([x.max(0)]) == [("allgather", 3 * 4 * (p - 1))]


@pytest.mark.parametrize("p", [2, 3, 4, 7])
def test_reversing_slice_is_one_alltoall_not_a_gather(p):
    x = lh.zeros((1000, 8), split=0, comm=lh.FakeComm(p))
    for key in (slice(None, None, -1), slice(900, 10, -3)):
        kinds = [k for k, _ in comms_of([x[key]])]
        assert kinds == ["alltoall (rebalance)"]
        assert x[key].aval.balanced
    # on one rank nothing moves
    assert comms_of([lh.zeros((10, 2), split=0, comm=lh.FakeComm(1))[::-1]]) == []
