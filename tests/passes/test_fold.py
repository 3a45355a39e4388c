"""Constant folding (``passes/fold.py``): elementwise ops on ``full`` leaves become ``full``
leaves of the same aval before anything runs."""

from _plans import nodes_of

import lazyheat as lh
from lazyheat.graph import topo_order
from lazyheat.passes import fold_constants
from lazyheat.planner import run_passes


def test_ops_on_constants_fold_into_constants():
    comm = lh.FakeComm(2)
    x = lh.random.rand(10, split=0, seed=1, comm=comm)
    c = lh.full((), 2.0, comm=comm) * 3 + lh.ones((), comm=comm)
    order = nodes_of(x * c)
    consts = [n for n in order if n.op == "full"]
    assert len(consts) == 1 and consts[0].attr("value") == 7.0
    assert "2 elementwise op(s) on constants folded" in lh.explain(x * c)
    # a fold that would fail is left for the run (which reports it with the user's line)
    bad = lh.full((3,), 2, dtype="int32", comm=comm) ** lh.full((3,), -1, dtype="int32",
                                                                 comm=comm)
    assert any(n.op == "fused" for n in nodes_of(bad))


def test_a_fold_keeps_the_aval():
    comm = lh.FakeComm(4)
    c = lh.full((10, 3), 2, dtype="int32", split=0, comm=comm)
    y = (c * 2.5).astype("float32")  # a float64 product (NumPy rules), then a cast
    calls = []

    def evaluate(node, values):
        calls.append((node.op, values))
        return 6.0 if node.op == "multiply" else values[0]

    (out,), folded = fold_constants([y._node], evaluate)
    assert folded == 2 and calls == [("multiply", [2]), ("astype", [6.0])]
    assert out.op == "full" and out.inputs == () and out.attr("value") == 6.0
    assert out.aval == y._node.aval  # shape, dtype, split and counts of the folded op
    assert out.aval.dtype.name == "float32" and y._node.inputs[0].aval.dtype.name == "float64"
    assert out.aval.split == 0 and out.aval.counts == (3, 3, 2, 2)
    assert out.loc == y._node.loc


def test_only_ops_whose_every_operand_is_constant_fold():
    comm = lh.FakeComm(2)
    x = lh.random.rand(10, split=0, seed=1, comm=comm)
    y = x * (lh.ones((), comm=comm) * 0.5)
    (out,), folded = fold_constants([y._node], lambda node, values: 0.5)
    assert folded == 1
    assert out.op == "multiply" and [i.op for i in out.inputs] == ["random", "full"]
    assert out.inputs[0] is x._node  # untouched inputs are kept, not copied
    assert out.inputs[1].attr("value") == 0.5


def test_a_failing_evaluation_is_left_unfolded():
    comm = lh.FakeComm(2)
    y = lh.full((3,), 2, dtype="int32", comm=comm) + 1

    def evaluate(node, values):
        raise ValueError("cannot evaluate")

    (out,), folded = fold_constants([y._node], evaluate)
    assert folded == 0 and out is y._node


def test_the_optimized_stage_holds_the_folded_constant():
    comm = lh.FakeComm(2)
    c = lh.full((4,), 3.0, comm=comm) * 2 - 1
    (out,), notes = run_passes([c._node], stage="optimized")
    assert [n.op for n in topo_order([out])] == ["full"] and out.attr("value") == 5.0
    assert out.aval.shape == (4,) and out.aval.dtype.name == "float32"
    assert notes == ["2 elementwise op(s) on constants folded"]
