"""All-reduce placement for partial sums (``passes/partial.py``), pinned on fake communicators
of 1 to 64 ranks: where the all-reduce goes, how many bytes it moves, and where it must not
move. Values are checked on real ranks in tests/mpi/test_partial_layouts.py."""

import json

import pytest
from _plans import SIZES, collectives, distinct_plans, nodes_of

import lazyheat as lh
from lazyheat.graph import topo_order
from lazyheat.graph.commcost import allreduce_cost
from lazyheat.passes import lower, place_allreduces
from lazyheat.passes.partial import holds_partial
from lazyheat.planner import comm_bytes, physical_plan, run_passes

N, D, K = 1000, 16, 3


def comms(*arrays):
    """(op, bytes per rank) of every collective of the physical plan."""
    return [(n.op, comm_bytes(n)) for n in collectives(nodes_of(*arrays))]


def allreduce(nbytes, p):
    """The (op, bytes per rank) of an all-reduce of a value of ``nbytes`` on ``p`` ranks: a
    rank receives more than the value (MPI's recursive doubling, or Rabenseifner's
    algorithm for long values), so the placement is pinned by the value's size."""
    return ("allreduce", allreduce_cost(nbytes, p).bytes)


def moved(*arrays) -> int:
    return lh.plan(*arrays).totals()["bytes_moved_per_rank"]


def data(p, dtype="float32"):
    comm = lh.FakeComm(p)
    x = lh.random.randn(N, D, dtype=dtype, split=0, seed=1, comm=comm)
    w = lh.random.randn(D, dtype=dtype, seed=2, comm=comm)
    W = lh.random.randn(D, K, dtype=dtype, seed=3, comm=comm)
    return comm, x, w, W


@pytest.mark.parametrize("p", SIZES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_weighted_total_all_reduces_one_item(p, dtype):
    _, x, w, _ = data(p, dtype)
    y = (x.sum(0) * w).sum()
    item = 4 if dtype == "float32" else 8
    assert comms(y) == ([] if p == 1 else [allreduce(item, p)])
    assert moved(y) == (0 if p == 1 else allreduce_cost(item, p).bytes)
    text = lh.explain(y)
    if p > 1:
        assert f"-- comm: allreduce[sum], {allreduce_cost(item, p).bytes} B/rank" in text
        assert "rewrite: all-reduce of partial sums moved past 2 linear op(s) at " in text
        assert f"{D * item} -> {item} B all-reduced" in text
    else:
        assert "rewrite" not in text


@pytest.mark.parametrize("p", SIZES)
def test_sum_times_matrix_all_reduces_the_smaller_result(p):
    _, x, _, W = data(p)
    comm = x.comm
    for y in (x.sum(0) @ W, lh.dot(x.sum(0), W),
              lh.random.randn(K, D, seed=4, comm=comm) @ x.sum(0),
              lh.expand_dims(x.sum(0), 0) @ W,
              lh.squeeze(x.sum(0, keepdims=True), 0) @ W,
              x.sum(0, keepdims=True) @ W):
        assert comms(y) == ([] if p == 1 else [allreduce(K * 4, p)])


@pytest.mark.parametrize("p", [2, 3, 64])
def test_nonlinear_consumers_keep_the_all_reduce_before_them(p):
    _, x, w, _ = data(p)
    for y in (x.sum(0) + 1, x.sum(0) - w, (x.sum(0) + 1).sum(), (x.sum(0) ** 2).sum(),
              x.sum(0).exp().sum(), (x.sum(0) > 0).sum(), lh.abs(x.sum(0)).sum(),
              (x.sum(0) * x.sum(0)).sum(), x.sum(0).max(), x.sum(0).astype("float64").sum(),
              (w / x.sum(0)).sum()):
        assert comms(y) == [allreduce(D * 4, p)], lh.explain(y)
        assert "rewrite" not in lh.explain(y)
    # the add reads the combined sum, never the partials
    order = topo_order(physical_plan([x.sum(0) + 1]))
    reduced = next(n for n in order if n.op == "allreduce")
    assert reduced.inputs[0].op == "reduce_partial"


@pytest.mark.parametrize("p", [2, 4, 64])
def test_divide_by_count_still_all_reduces_right_after_the_reduction(p):
    _, x, _, _ = data(p)
    order = topo_order(physical_plan([x.sum(0) / N]))
    reduced = next(n for n in order if n.op == "allreduce")
    assert reduced.inputs[0].op == "reduce_partial"  # ties go to the earliest point
    # ... where it shares one message with an independent reduction: all-gathered on 2
    # ranks, combined by recursive doubling (with the maximum's state) on more
    batch = "batch_allgather" if p == 2 else "batch_allreduce"
    assert [op for op, _ in comms(x.sum(0) / N, x.max())] == [batch]
    assert [op for op, _ in comms(-x.sum(0), x.sum(0).T, x.sum(0).reshape(4, 4))] == [
        "allreduce"]


@pytest.mark.parametrize("p", SIZES)
def test_a_partial_read_twice_is_all_reduced_once_before_its_readers(p):
    comm, x, w, _ = data(p)
    v = lh.random.randn(D, seed=5, comm=comm)
    s = x.sum(0)
    expect = [] if p == 1 else [allreduce(D * 4, p)]
    assert comms((s * w).sum(), (s * v).sum()) == expect
    assert comms(s, (s * w).sum()) == expect  # a user output is always whole
    t = s * w
    assert comms(t, t.sum()) == expect


@pytest.mark.parametrize("p", SIZES)
def test_partials_flow_through_transpose_and_reshape(p):
    comm = lh.FakeComm(p)
    x3 = lh.random.randn(200, 4, 6, split=0, seed=1, comm=comm)
    w = lh.random.randn(24, seed=2, comm=comm)
    cases = [((x3.sum(0).T.reshape(-1) * w).sum(), 4),
             (x3.sum(0).reshape(2, 12).sum(1), 2 * 4),
             (lh.permute_dims(x3.sum(0, keepdims=True), (2, 0, 1)).sum((1, 2)), 6 * 4),
             (x3.sum((0, 2)).sum(), 4),
             (x3.mean(0).T.mean(0), 4 * 4)]
    for y, nbytes in cases:
        assert comms(y) == ([] if p == 1 else [allreduce(nbytes, p)]), lh.explain(y)


@pytest.mark.parametrize("p", SIZES)
def test_integer_partial_sums(p):
    comm = lh.FakeComm(p)
    xi = lh.random.randint(-5, 6, size=(N, D), split=0, seed=1, comm=comm)
    wi = lh.random.randint(-5, 6, size=(D,), seed=2, comm=comm)
    Wi = lh.random.randint(-5, 6, size=(D, K), seed=3, comm=comm)

    def expect(nbytes):
        return [] if p == 1 else [allreduce(nbytes, p)]

    assert comms((xi.sum(0) * wi).sum()) == expect(8)
    assert comms(xi.sum(0) @ Wi) == expect(K * 8)
    assert comms((xi.sum(0) - (-xi).sum(0)).sum()) == expect(8)
    # int64 / int is float64: a cast of a partial, so the all-reduce stays before it
    assert comms((xi.sum(0) / 2).sum()) == expect(D * 8)
    # int32 partial products would be widened by the sum: combined first
    x32 = lh.random.randint(-5, 6, size=(N, D), dtype="int32", split=0, seed=1, comm=comm)
    w32 = lh.random.randint(-5, 6, size=(D, K), dtype="int32", seed=1, comm=comm)
    assert comms((x32.T @ x32 @ w32).sum()) == expect(D * K * 4)


@pytest.mark.parametrize("p", SIZES)
def test_two_partials_added_share_one_all_reduce(p):
    comm, x, w, _ = data(p)
    y = lh.random.randn(300, D, split=0, seed=7, comm=comm)
    expect = [] if p == 1 else [allreduce(D * 4, p)]
    assert comms(x.sum(0) + y.sum(0)) == expect
    assert comms(x.sum(0) - 2 * y.mean(0)) == expect
    assert comms(((x.sum(0) + y.sum(0)) * w).sum()) == ([] if p == 1 else [allreduce(4, p)])
    if p > 1:
        assert "2 -> 1 all-reduces" in lh.explain(x.sum(0) + y.sum(0))
        # a product of two sums is not linear: both are combined (in one batched message)
        assert [op for op, _ in comms(x.sum(0) * y.sum(0))] == ["batch_allgather"]


@pytest.mark.parametrize("p", [2, 3, 64])
def test_mean_is_a_partial_sum_and_a_linear_divide(p):
    comm, x, w, _ = data(p)
    y = (x.mean(0) * w).sum()
    assert comms(y) == [allreduce(4, p)]
    merge = next(n for n in topo_order(physical_plan([y])) if n.op == "reduce_merge")
    assert merge.inputs[0].op == "reduce_partial" and holds_partial(merge)
    assert comms(x.mean(0)) == [allreduce(D * 4, p)]
    # half precision partial means travel as float32 (their typed state says so: D * 4
    # bytes, what the runtime sends): the merge casts, so they combine first
    h = lh.random.randn(N, D, dtype="float16", split=0, seed=1, comm=comm)
    assert comms((h.mean(0) * lh.ones(D, dtype="float16", comm=comm)).sum()) == [
        allreduce(D * 4, p)]


@pytest.mark.parametrize("p", [2, 4, 64])
def test_partial_matmul_flows_on(p):
    _, x, w, _ = data(p)
    assert comms((x.T @ x) @ w) == [allreduce(D * 4, p)]  # instead of D * D
    assert comms((x.T @ x).sum()) == [allreduce(4, p)]


@pytest.mark.parametrize("p", [2, 3])
def test_every_collective_on_its_own_line_and_partials_marked(p):
    _, x, w, W = data(p)
    doc = json.loads(lh.explain((x.sum(0) * w).sum(), x.sum(0) @ W, format="json"))
    lines = [n for n in doc["nodes"] if "comm" in n]  # the shared sum is combined first
    assert [n["comm"]["bytes_per_rank"] for n in lines] == [allreduce_cost(D * 4, p).bytes]
    assert not doc["rewrites"]
    doc = json.loads(lh.explain((x.sum(0) * w).sum(), (2 * x).sum(0) @ W, format="json"))
    lines = [n for n in doc["nodes"] if "comm" in n]  # two scalars' worth, in one message
    assert [n["comm"]["bytes_per_rank"] for n in lines] == [(4 + K * 4) * (p - 1)]
    assert len(doc["rewrites"]) == 1 and doc["totals"]["collectives"] == 1
    assert "moved past 3 linear op(s)" in doc["rewrites"][0]
    fused = next(n for n in doc["nodes"] if n["op"] == "fused" and n["group"]["closer"]
                 and n["group"]["closer"]["op"] == "reduce")
    assert fused["partial"] and fused["group"]["members"][0]["attrs"]["partial"] == "sum"
    assert not any(n["partial"] for n in doc["nodes"] if n["id"] in doc["outputs"])


@pytest.mark.parametrize("p", SIZES)
def test_same_placement_on_every_simulated_rank(p):
    def build(rank):
        comm = lh.FakeComm(p, rank)
        x = lh.random.randn(50, 6, split=0, seed=1, comm=comm)
        w = lh.random.randn(6, 2, seed=2, comm=comm)
        s = x.sum(0)
        return [(s @ w).sum(0), (x.mean(0) - x.sum(0) / 50).T @ w, x.T @ x @ w, s * 2]

    assert len(distinct_plans(build, p)) == 1


def test_the_pass_moves_the_all_reduce_past_linear_consumers():
    _, x, w, _ = data(4)
    y = (x.sum(0) * w).sum()
    logical, _ = run_passes([y._node], stage="optimized")
    lowered = lower(logical)
    (combined,) = collectives(topo_order(lowered))  # lowering combines right away
    assert combined.op == "allreduce" and combined.inputs[0].op == "reduce_partial"
    assert combined.aval.shape == (D,)
    (out,), notes = place_allreduces(lowered)
    assert out.op == "allreduce" and out.attr("op") == "sum" and out.aval == lowered[0].aval
    chain, n = [], out.inputs[0]
    while n.inputs:
        chain.append(n)
        n = n.inputs[0]
    # reduce_partial -> multiply -> reduce, every step on partials, then one all-reduce
    assert [n.op for n in chain] == ["reduce", "multiply", "reduce_partial"]
    assert all(holds_partial(n) for n in chain) and not holds_partial(out)
    assert chain[1].inputs[1] is w._node  # the replicated operand is read whole
    assert [n.op for n in collectives(topo_order([out]))] == ["allreduce"]
    assert len(notes) == 1 and notes[0].endswith(f"{D * 4} -> 4 B all-reduced")


@pytest.mark.parametrize("p", [1, 4])
def test_nothing_to_move_leaves_the_graph_as_it_was(p):
    _, x, w, _ = data(p)
    logical, _ = run_passes([(x.sum(0) + 1)._node, (x.max(0) * w)._node], stage="optimized")
    lowered = lower(logical)
    new, notes = place_allreduces(lowered)
    assert all(a is b for a, b in zip(new, lowered)) and notes == []
