"""Fusion (``passes/fuse.py``): trees of elementwise ops of one shape and layout become one
``fused`` node, closed by a reduction that is the root's only consumer."""

import pytest
from _plans import SIZES, kernels, moving_collectives, nodes_of

import lazyheat as lh
from lazyheat.graph import topo_order
from lazyheat.graph.commcost import allreduce_cost
from lazyheat.passes import fuse, verify
from lazyheat.planner import comm_bytes, run_passes


@pytest.mark.parametrize("p", SIZES)
def test_elementwise_chain_and_sum_is_one_kernel_and_one_tiny_allreduce(p):
    comm = lh.FakeComm(p)
    a = lh.random.rand(10**6, split=0, seed=1, comm=comm)
    b = lh.random.rand(10**6, split=0, seed=2, comm=comm)
    order = nodes_of(((a * 2 + b) / (a + 1)).exp().sum())
    fused = [n for n in order if n.op == "fused"]
    assert len(fused) == 1
    assert [m.op for m in fused[0].attr("members")] == [
        "multiply", "add", "add", "true_divide", "exp"]
    assert fused[0].attr("closer").attr("fn") == "sum"
    # leaves, the fused kernel, and nothing else that computes
    assert [n.op for n in kernels(order)] == ["random", "random", "fused"]
    comms = moving_collectives(order)
    if p == 1:
        assert comms == []
    else:
        # one float32 total, all-reduced by recursive doubling: 4 bytes a round
        assert [n.op for n in comms] == ["allreduce"]
        assert comm_bytes(comms[0]) == allreduce_cost(4, p).bytes


def test_a_node_with_two_consumers_ends_its_group():
    x = lh.random.rand(1000, split=0, seed=1, comm=lh.FakeComm(2))
    t = x * 2 + 1  # used twice: materialized once, never recomputed
    order = nodes_of((t.exp() + t.sin()).sum())
    fused = [n for n in order if n.op == "fused"]
    ops = sorted(m.op for f in fused for m in f.attr("members"))
    assert ops == sorted(["multiply", "add", "exp", "sin", "add"])
    assert len(fused) == 2


def test_fusion_stops_at_layout_changes_and_opaque_ops():
    comm = lh.FakeComm(2)
    x = lh.random.rand(64, 64, split=0, seed=1, comm=comm)
    order = nodes_of(((x * 2) @ x + 1).T * 3)
    for f in (n for n in order if n.op == "fused"):
        root = f.attr("members")[-1]
        assert all(m.aval.layout == root.aval.layout for m in f.attr("members"))
    assert [n.op for n in order].count("fused") == 3


def group_size(node) -> int:
    """Elementwise ops fused into ``node`` (0 when it is not a fused node)."""
    return len(node.attr("members")) if node.op == "fused" else 0


def _unfused(*arrays):
    """The physical outputs as they reach the fusion pass."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAZYHEAT_FUSE", "0")
        return run_passes([a._node for a in arrays])[0]


def test_a_fused_node_holds_its_members_operand_refs_and_closer():
    comm = lh.FakeComm(4)
    a = lh.random.rand(100, 8, split=0, seed=1, comm=comm)
    b = lh.random.rand(100, 8, split=0, seed=2, comm=comm)
    outs = _unfused(((a * 2 + b) - a).exp().sum(0))
    assert "fused" not in [n.op for n in topo_order(outs)]
    (allreduce,) = fuse(outs)
    assert allreduce.op == "allreduce"
    (f,) = allreduce.inputs
    assert f.op == "fused" and group_size(f) == 4 and group_size(allreduce) == 0
    members = f.attr("members")
    assert [m.op for m in members] == ["multiply", "add", "subtract", "exp"]
    # external inputs once each (a is read twice), members by their index in the group
    assert [i.op for i in f.inputs] == ["random", "random"]
    assert f.attr("args") == ((-1,), (0, -2), (1, -1), (2,))
    closer = f.attr("closer")
    assert closer.op == "reduce_partial" and closer.inputs[0] is members[-1]
    assert f.aval == closer.aval  # the fused node yields the reduction
    assert outs[0].inputs[0] is closer  # members and closer are the nodes fused
    verify([allreduce], physical=True)


def test_fused_member_counts_and_totals_add_them_up():
    comm = lh.FakeComm(2)
    x = lh.random.rand(1000, split=0, seed=1, comm=comm)
    t = x * 2 + 1
    y = t.exp() + t.sin()  # groups [multiply, add] and [exp, sin, add]
    order = topo_order(fuse(_unfused(y)))
    sizes = sorted(group_size(n) for n in order if n.op == "fused")
    assert sizes == [2, 3]
    totals = lh.plan(y).totals()
    assert totals["fused_kernels"] == 2 and totals["fused_ops"] == 5


def test_an_output_ends_its_group_and_fusion_can_be_switched_off(monkeypatch):
    x = lh.random.rand(1000, split=0, seed=1, comm=lh.FakeComm(2))
    t = x * 2
    u = t + 1
    order = nodes_of(t, u)  # t is asked for: it must exist as a whole
    groups = [[m.op for m in n.attr("members")] for n in order if n.op == "fused"]
    assert groups == [["multiply"], ["add"]]
    monkeypatch.setenv("LAZYHEAT_FUSE", "0")
    order = nodes_of((u.exp()).sum())
    assert "fused" not in [n.op for n in order]
    assert [n.op for n in kernels(order)] == ["random", "multiply", "add", "exp",
                                              "reduce_partial"]
