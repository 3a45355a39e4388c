"""The graph verifier (``passes/verify.py``): it accepts what every pass produces and rejects
broken graphs with a message that names the node and its source line."""

import pytest
from _plans import SIZES

import lazyheat as lh
from lazyheat.graph import Node
from lazyheat.passes import eliminate_common_subexpressions, lower, verify
from lazyheat.passes.verify import VerifyError
from lazyheat.planner import physical_plan, run_passes


def _layout_outputs(comm):
    x = lh.random.randn(30, 4, split=0, seed=1, comm=comm)
    y = lh.ones((4, 30), split=1, comm=comm)
    return [(x + y.T).sum(), x[::-2].T @ x[1::2], lh.stack([x, x * 2], 1).reshape(30, 8),
            x.reshape(120).argmax(), lh.squeeze(x[2:3]), x.var(0, ddof=1)]


def _fused_outputs(comm):
    x = lh.random.randn(30, 4, split=0, seed=1, comm=comm)
    y = lh.ones((4, 30), split=1, comm=comm)
    return [(x + y.T).sum(), ((x * 2).exp() + 1).max(0), (x - x.mean(0)).var(1),
            lh.where(x > 0, x, -x).argmin(1)]


@pytest.mark.parametrize("p", SIZES)
def test_verifier_accepts_every_pass_output(p):
    comm = lh.FakeComm(p)
    for outs in (_layout_outputs(comm), _fused_outputs(comm)):
        nodes = [o._node for o in outs]
        verify(nodes)
        cse = eliminate_common_subexpressions(nodes)
        verify(cse)
        verify(lower(cse), physical=True)
        # the whole pipeline, checked after each pass (the suite sets VERIFY_PASSES) and here
        for stage in ("logical", "optimized", "physical"):
            staged, _ = run_passes(nodes, stage=stage)
            verify(staged, physical=stage == "physical")


def test_verifier_rejects_partials_read_as_whole():
    comm = lh.FakeComm(3)
    x = lh.random.randn(30, 4, split=0, seed=1, comm=comm)
    (reduced,) = physical_plan([x.sum(0)])
    part = reduced.inputs[0]
    assert part.op == "reduce_partial"
    with pytest.raises(VerifyError, match="output holds partial"):
        verify([part], physical=True)
    neg = Node("negative", (part,), {"nargs": 1, "scalars": (), "cdtype": part.aval.dtype},
               part.aval, "t.py:1")
    with pytest.raises(VerifyError, match="reads a partial value as if it were whole"):
        verify([Node("allreduce", (Node("exp", (neg,), dict(neg.attrs), neg.aval),), {},
                     neg.aval)], physical=True)
    marked = Node("negative", (part,), dict(neg.attrs) | {"partial": "sum"}, part.aval)
    verify([Node("allreduce", (marked,), {"op": "sum"}, part.aval)], physical=True)


def _leaf(comm, split=0):
    return lh.random.randn(12, 3, split=split, seed=1, comm=comm)._node


def _ewise(op, x, aval, loc):
    return Node(op, (x,), {"nargs": 1, "scalars": ()}, aval, loc)


def test_verifier_rejects_bad_avals_naming_the_node():
    comm = lh.FakeComm(4)
    x = _leaf(comm)
    bad = _ewise("exp", x, x.aval.with_(split=None), "bad.py:3")  # counts kept
    with pytest.raises(VerifyError, match=r"exp at bad\.py:3: replicated aval with counts"):
        verify([bad])
    bad = _ewise("sin", x, x.aval.with_(split=2), "bad.py:4")
    with pytest.raises(VerifyError, match=r"sin at bad\.py:4: split 2 out of range"):
        verify([bad])
    bad = _ewise("cos", x, x.aval.with_(counts=(3, 3, 3, 2)), "bad.py:5")
    with pytest.raises(VerifyError, match=r"cos at bad\.py:5: counts \(3, 3, 3, 2\) do not "
                                          r"cover 12 rows on 4 ranks"):
        verify([bad])
    bad = _ewise("tan", x, x.aval.with_(counts=(6, 6)), "bad.py:6")
    with pytest.raises(VerifyError, match=r"tan at bad\.py:6: counts"):
        verify([bad])


def test_verifier_rejects_mixed_communicators_and_needless_redistributes():
    x, other = _leaf(lh.FakeComm(4)), _leaf(lh.FakeComm(4))
    both = Node("add", (x, other), {"nargs": 2, "scalars": ()}, x.aval, "bad.py:8")
    with pytest.raises(VerifyError, match="different communicators"):
        verify([both])
    same = Node("redistribute", (x,), {}, x.aval, "bad.py:9")
    with pytest.raises(VerifyError, match=r"redistribute at bad\.py:9: redistribute to the "
                                          "same layout"):
        verify([same], physical=True)
    verify([same])  # only a physical plan must not move data in place


def _fused_node():
    x = lh.random.randn(12, 3, split=0, seed=1, comm=lh.FakeComm(2))
    (f,) = [n for n in physical_plan([(x * 2 + 1).exp()]) if n.op == "fused"]
    assert f.attr("args") == ((-1,), (0,), (1,))
    return f


def _regroup(f, loc="bad.py:11", **attrs):
    return Node("fused", f.inputs, dict(f.attrs) | attrs, f.aval, loc)


def test_verifier_rejects_an_inner_member_used_twice():
    f = _fused_node()
    verify([_regroup(f)], physical=True)
    twice = _regroup(f, args=((-1,), (0,), (0,)))  # multiply read by add and exp, add unused
    with pytest.raises(VerifyError, match=r"fused at bad\.py:11: an inner member is not used "
                                          "exactly once"):
        verify([twice], physical=True)


def test_verifier_rejects_broken_operand_refs_and_members():
    f = _fused_node()
    members = f.attr("members")
    ahead = _regroup(f, args=((-1,), (2,), (1,)))
    with pytest.raises(VerifyError, match=r"fused at bad\.py:11: member add refers to operand "
                                          "2 out of order"):
        verify([ahead])
    missing = _regroup(f, args=((-1,), (-2,), (1,)))  # only one external input
    with pytest.raises(VerifyError, match="member add refers to operand -2 out of order"):
        verify([missing])
    short = _regroup(f, args=((-1,), (), (1,)))
    with pytest.raises(VerifyError, match="member add has 0 operand refs for 1 inputs"):
        verify([short])
    m0 = members[0]
    wide = Node(m0.op, m0.inputs, m0.attrs, m0.aval.with_(shape=(12, 4)), "wide.py:2")
    odd = _regroup(f, members=(wide,) + members[1:])
    with pytest.raises(VerifyError, match=r"member multiply at wide\.py:2 has another shape "
                                          "or layout"):
        verify([odd])


def test_verifier_rejects_a_closer_that_does_not_read_the_root():
    x = lh.random.randn(12, 3, split=0, seed=1, comm=lh.FakeComm(2))
    (f,) = [n for n in physical_plan([(x * 2 + 1).exp().sum(1)]) if n.op == "fused"]
    closer, members = f.attr("closer"), f.attr("members")
    assert closer.inputs[0] is members[-1]
    stray = Node(closer.op, (members[0],), closer.attrs, closer.aval, closer.loc)
    with pytest.raises(VerifyError, match=r"fused at bad\.py:11: the closing reduction does "
                                          "not read the group's root"):
        verify([_regroup(f, closer=stray)], physical=True)
