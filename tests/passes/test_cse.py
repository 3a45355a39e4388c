"""Common-subexpression elimination (``passes/cse.py``): structurally equal nodes become one
node, collectives included, and nothing else is merged."""

from _plans import collectives, nodes_of, ops_of

import lazyheat as lh
from lazyheat.graph import topo_order
from lazyheat.passes import eliminate_common_subexpressions, lower


def test_cse_shares_structurally_equal_work():
    x = lh.random.randn(10, 3, split=0, seed=5, comm=lh.FakeComm(4))
    a, b = (x * 2).sum(0), (x * 2).sum(0)
    ops = ops_of([a, b])
    assert ops.count("multiply") == 1
    assert ops.count("allreduce") == 1


def test_equal_subgraphs_become_one_node():
    x = lh.random.randn(10, 3, split=0, seed=5, comm=lh.FakeComm(4))
    a, b = (x * 2).exp().sum(0), (x * 2).exp().sum(0)
    assert a._node is not b._node
    out_a, out_b = eliminate_common_subexpressions([a._node, b._node])
    assert out_a is out_b  # one node, not two equal ones
    before = topo_order([a._node, b._node])
    after = topo_order([out_a, out_b])
    assert len(after) * 2 - 1 == len(before)  # the leaf was shared already
    assert [n.op for n in after] == ["random", "multiply", "exp", "reduce"]


def test_a_collective_is_not_duplicated():
    x = lh.random.randn(10, 3, split=0, seed=5, comm=lh.FakeComm(4))
    a, b = x.sum(0), x.sum(0)
    lowered = lower([a._node, b._node])
    assert len(collectives(topo_order(lowered))) == 2  # lowering builds one per reduction
    out_a, out_b = eliminate_common_subexpressions(lowered)
    assert out_a is out_b and out_a.op == "allreduce"
    assert [n.op for n in collectives(topo_order([out_a, out_b]))] == ["allreduce"]


def test_unique_graph_comes_back_unchanged():
    x = lh.random.randn(10, 3, split=0, seed=5, comm=lh.FakeComm(2))
    y = (x * 2 + 1).sum(0)
    (out,) = eliminate_common_subexpressions([y._node])
    assert out is y._node  # no copy when nothing is shared


def test_different_attributes_or_data_are_not_merged():
    comm = lh.FakeComm(2)
    x = lh.random.randn(10, 3, split=0, seed=5, comm=comm)
    y = lh.random.randn(10, 3, split=0, seed=6, comm=comm)
    outs = eliminate_common_subexpressions([(x * 2).sum()._node, (y * 2).sum()._node,
                                            (x * 3).sum()._node])
    assert len({id(o) for o in outs}) == 3
    # -0.0 and 0.0 are different constants
    outs = eliminate_common_subexpressions([(x * -0.0)._node, (x * 0.0)._node])
    assert outs[0] is not outs[1]
    # two arrays of equal data are still two data leaves
    a, b = lh.asarray([1.0, 2.0], comm=comm), lh.asarray([1.0, 2.0], comm=comm)
    outs = eliminate_common_subexpressions([a._node, b._node])
    assert outs[0] is not outs[1]


def test_same_seed_draws_are_one_leaf_in_the_plan():
    comm = lh.FakeComm(4)
    a = lh.random.randn(10, 3, split=0, seed=5, comm=comm)
    b = lh.random.randn(10, 3, split=0, seed=5, comm=comm)
    order = nodes_of(a + b)
    assert [n.op for n in order].count("random") == 1
