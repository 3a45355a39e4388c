"""Re-planning for another world size (``passes/retarget.py``): the same logical graph with
every layout chosen again, by the build-time rules, for a communicator of another size."""

import pytest

import lazyheat as lh
from lazyheat.graph import Node, topo_order
from lazyheat.graph.layout import balanced_counts
from lazyheat.passes import retarget, verify
from lazyheat.planner import run_passes


def _graph(comm):
    x = lh.random.randn(50, 6, split=0, seed=1, comm=comm)
    y = lh.ones((6, 50), split=1, comm=comm)
    z = (x - x.mean(0)) / x.std(0)
    return [z.T @ z, (x + y.T).max(1), x[3:40:3].sum(0), lh.concatenate([x, z], 0),
            x.reshape(300), x.resplit(1)]


@pytest.mark.parametrize("p", [1, 3, 8, 64])
def test_every_layout_is_chosen_again_for_the_new_size(p):
    outs = [a._node for a in _graph(lh.FakeComm(2))]
    comm = lh.FakeComm(p)
    new = retarget(outs, comm)
    before, after = topo_order(outs), topo_order(new)
    # the same graph: ops, attributes, shapes, dtypes and source lines unchanged
    assert [(n.op, n.attrs, n.aval.shape, n.aval.dtype, n.loc) for n in after] == \
        [(n.op, n.attrs, n.aval.shape, n.aval.dtype, n.loc) for n in before]
    assert all(n.aval.comm is comm for n in after)
    assert all(n.aval.counts is None or len(n.aval.counts) == p for n in after)
    for n in after:
        if not n.inputs or n.op == "redistribute":  # leaves and resplits are balanced
            a = n.aval
            assert a.counts == (None if a.split is None else balanced_counts(a.shape[a.split], p))
    verify(new)


def test_layouts_match_a_graph_built_for_that_size():
    built_for_2 = topo_order(retarget([a._node for a in _graph(lh.FakeComm(2))],
                                      lh.FakeComm(7)))
    built_for_7 = topo_order([a._node for a in _graph(lh.FakeComm(7))])
    assert [n.aval.layout for n in built_for_2] == [n.aval.layout for n in built_for_7]


def test_run_passes_retargets_before_anything_else():
    x = lh.random.randn(1000, 8, split=0, seed=1, comm=lh.FakeComm(2))
    (out,), _ = run_passes([(x.T @ x)._node], stage="logical", world_size=16)
    assert out.aval.comm.size == 16
    (leaf,) = [n for n in topo_order([out]) if not n.inputs]
    assert leaf.aval.counts == balanced_counts(1000, 16)
    physical, _ = run_passes([(x.T @ x)._node], world_size=16)
    assert all(n.aval.comm.size == 16 for n in topo_order(physical))


def test_an_op_without_a_layout_rule_is_refused():
    x = lh.random.randn(10, 3, split=0, seed=1, comm=lh.FakeComm(2))
    odd = Node("mystery", (x._node,), {}, x._node.aval, "t.py:1")
    with pytest.raises(NotImplementedError, match="mystery"):
        retarget([odd], lh.FakeComm(4))
