"""Reduction push-through rewrites (``passes/rewrite.py``): linear reductions pushed through
transposes and through sums of differently laid out operands, where that removes
communication."""

import pytest
from _plans import moving_collectives, nodes_of, strip_locations

import lazyheat as lh
from lazyheat.graph import topo_order
from lazyheat.passes import fuse, lower, push_reductions
from lazyheat.planner import comm_bytes, run_passes


@pytest.mark.parametrize("p", [2, 3, 4, 64])
def test_transpose_sum_moves_a_vector_not_the_matrix(p):
    x = lh.random.rand(8000, 8000, split=0, seed=1, comm=lh.FakeComm(p))
    y = (x.T + x).sum(0)
    order = nodes_of(y)
    moved = sum(comm_bytes(n) for n in moving_collectives(order))
    assert 0 < moved <= 2 * 8000 * 4  # at most two vectors, never an 8000 x 8000 block
    text = lh.explain(y)
    assert "rewrite: sum(add(...))" in text
    # without the rewrite the plan would move a block of the matrix
    logical, _ = run_passes([y._node], stage="logical")
    plain = topo_order(fuse(lower(logical)))
    biggest = max(comm_bytes(n) for n in plain if n.op == "redistribute")
    assert biggest >= 8000 * 8000 * 4 * (p - 1) // (p * p)


def test_same_layout_sums_are_not_rewritten():
    x = lh.random.rand(100, 10, split=0, seed=1, comm=lh.FakeComm(4))
    # source locations left out: they name this file, test_rewrite.py
    assert "rewrite" not in strip_locations(lh.explain((x + x * 2).sum(0)))
    assert lh.plan((x + x * 2).sum(0)).notes == []


def test_sum_of_a_sum_becomes_a_sum_of_sums_with_the_same_aval():
    x = lh.random.rand(60, 60, split=0, seed=1, comm=lh.FakeComm(4))
    y = (x.T + x).sum(0)
    (out,), notes = push_reductions([y._node])
    # sum(add(transpose(x), x), 0) -> add(sum(x, 1), sum(x, 0)): no transpose is left
    assert out.op == "add" and [i.op for i in out.inputs] == ["reduce", "reduce"]
    assert [i.attr("axes") for i in out.inputs] == [(1,), (0,)]
    assert all(i.inputs[0] is x._node for i in out.inputs)
    assert "transpose" not in [n.op for n in topo_order([out])]
    assert out.aval == y._node.aval  # the rewritten reduction keeps shape, dtype and layout
    assert len(notes) == 1 and notes[0].startswith("sum(add(...)) pushed through to add(")


def test_sum_of_a_transpose_reads_the_untransposed_array():
    x = lh.random.rand(6, 5, 4, split=0, seed=1, comm=lh.FakeComm(2))
    y = lh.permute_dims(x, (2, 0, 1)).sum(0)  # kept axes 0, 1 of x stay in order
    (out,), notes = push_reductions([y._node])
    assert out.op == "reduce" and out.inputs[0] is x._node and out.attr("axes") == (2,)
    assert out.aval.shape == y._node.aval.shape and out.aval.layout == y._node.aval.layout
    assert len(notes) == 1
    # kept axes that would come out permuted: the transpose stays
    z = x.T.sum(0)
    (out,), notes = push_reductions([z._node])
    assert out is z._node and notes == []


def test_nonlinear_reductions_and_untouched_graphs_come_back_unchanged():
    x = lh.random.rand(60, 60, split=0, seed=1, comm=lh.FakeComm(4))
    outs = [(x.T + x).max(0)._node, (x + 1).sum(0)._node]
    new, notes = push_reductions(outs)
    assert all(a is b for a, b in zip(new, outs)) and notes == []
