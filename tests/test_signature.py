"""Structural signatures (``graph/signature.py``): the plan cache's key made as nodes are built.

A compute whose graph carries signatures finds its plan without walking the graph; these
tests check that such a hit happens where it should, that it is never taken where the walk
would key another plan (shared leaves, materialized nodes), and that the values stay NumPy's.
The suite's verifier also compares every structural hit's params with the walk's."""

import numpy as np
import pytest

import lazyheat as lh
from lazyheat import planner
from lazyheat.graph import signature


@pytest.fixture(autouse=True)
def fresh_cache():
    lh.clear_plan_cache()
    yield
    lh.clear_plan_cache()


def _no_walk(monkeypatch):
    def walk(*_a, **_k):
        raise AssertionError("the graph was walked")
    monkeypatch.setattr(planner, "_template", walk)
    monkeypatch.setattr(planner, "VERIFY_PASSES", False)  # (its check walks)


def _small(x):
    return ((x * 2 + 1) - x).sum()


def test_same_structure_over_new_data_is_found_without_a_walk(monkeypatch):
    a = lh.array(np.arange(10.0))
    assert _small(a).item() == np.sum(np.arange(10.0) + 1)
    b = lh.array(np.arange(10.0) * 3)
    _no_walk(monkeypatch)
    before = lh.plan_cache_info()["hits"]
    assert _small(b).item() == np.sum(np.arange(10.0) * 3 + 1)
    assert lh.plan_cache_info()["hits"] == before + 1


def test_equal_structures_share_a_signature_and_others_do_not():
    a, b = lh.array(np.ones(4)), lh.array(np.ones(4))
    assert (a + 1)._node.tag[0] == (b + 1)._node.tag[0]
    assert (a + 1)._node.tag[0] != (a + 2)._node.tag[0]  # another constant
    assert (a + 1)._node.tag[0] != (a - 1)._node.tag[0]  # another op
    # another shape: the same sig (an elementwise aval follows from its inputs'), told
    # apart by the leaves' avals in the plan cache's key; a redistribution's is its own
    c = lh.array(np.ones(5))
    assert (a + 1)._node.tag[0] == (c + 1)._node.tag[0]
    assert planner._signed([a + 1], a.comm)[0] != planner._signed([c + 1], c.comm)[0]
    assert lh.resplit(a + 1, 0)._node.tag[0] != lh.resplit(c + 1, 0)._node.tag[0]
    assert (a * a)._node.tag[0] != (a * b)._node.tag[0]  # one leaf read twice, or two
    assert (a * b)._node.tag[0] == (b * a)._node.tag[0]  # the same pattern of leaves
    assert [n for n in (a * b)._node.tag[1]] == [a._node, b._node]


def test_shared_leaves_are_never_confused(monkeypatch):
    xa, xb = np.arange(6.0), np.arange(6.0) * 10
    a, b = lh.array(xa), lh.array(xb)
    np.testing.assert_array_equal((a - b).numpy(), xa - xb)
    np.testing.assert_array_equal((a - a).numpy(), xa - xa)
    c = lh.array(xa + 1)
    np.testing.assert_array_equal((c - b).numpy(), xa + 1 - xb)
    np.testing.assert_array_equal((b - b).numpy(), xb - xb)
    # three leaves, in the order the walk meets them
    e = (a + (b * c)) - (c * a)
    assert list(e._node.tag[1]) == [a._node, b._node, c._node]
    np.testing.assert_array_equal(e.numpy(), (xa + xb * (xa + 1)) - (xa + 1) * xa)


def test_a_materialized_node_is_read_not_recomputed():
    a = lh.array(np.arange(8.0))
    x = a * 2
    y = (x + 1).sum()
    x.compute()  # y's graph now reads x's value: the walk keys it, not the signature
    assert y._node.tag[2] < signature.EPOCH[0]
    plan = lh.plan(y)
    assert "multiply" not in lh.explain(y)
    assert len(plan.params) == 1 and plan.params[0] is x._node.attr("buf")
    assert y.item() == np.sum(np.arange(8.0) * 2 + 1)


def test_compute_of_several_arrays_with_shared_leaves(monkeypatch):
    xa, xb = np.arange(5.0), np.arange(5.0) + 7
    a, b = lh.array(xa), lh.array(xb)
    u, v = lh.compute((a + b).sum(), (a * 2).sum())
    assert (u.item(), v.item()) == (np.sum(xa + xb), np.sum(xa * 2))
    c, d = lh.array(xa * 3), lh.array(xb * 3)
    _no_walk(monkeypatch)
    u, v = lh.compute((c + d).sum(), (c * 2).sum())
    assert (u.item(), v.item()) == (np.sum(xa * 3 + xb * 3), np.sum(xa * 6))
    # the second array reads the other leaf now: another key
    monkeypatch.undo()
    u, v = lh.compute((c + d).sum(), (d * 2).sum())
    assert (u.item(), v.item()) == (np.sum(xa * 3 + xb * 3), np.sum(xb * 6))


def test_many_leaves_or_unhashable_attributes_leave_the_walk(monkeypatch):
    monkeypatch.setattr(signature, "LEAVES_MAX", 3)
    xs = [lh.array(np.full(3, float(k))) for k in range(5)]
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    assert not total._node.tag  # False: none, found once
    np.testing.assert_array_equal(total.numpy(), np.full(3, 10.0))


def test_a_full_table_only_makes_new_signatures(monkeypatch):
    monkeypatch.setattr(signature, "TABLE_MAX", 4)
    a = lh.array(np.arange(4.0))
    first = (a + 1)._node.tag[0]
    for k in range(10):
        (a * float(k + 2)).sum()
    again = (a + 1)._node.tag[0]
    assert again != first  # the table was cleared: a new int, never another structure's
    assert (a + 1).numpy().tolist() == [1.0, 2.0, 3.0, 4.0]


def test_deep_chains_of_untagged_inputs_give_up_cleanly():
    from lazyheat.graph import Node

    a = lh.array(np.arange(3.0))
    node = a._node
    one = (a + 1)._node
    for _ in range(signature.DEPTH_MAX + 5):  # nodes built without a LazyArray
        node = Node(one.op, (node,), one.attrs, one.aval, one.loc, one.plain)
    assert signature.stamp(node) is None or signature.stamp(node)[1] == (a._node,)
    out = lh.LazyArray(node) if hasattr(lh, "LazyArray") else None
    if out is not None:
        np.testing.assert_array_equal(out.numpy(), np.arange(3.0) + signature.DEPTH_MAX + 5)


def test_the_cache_switch_turns_structural_hits_off(monkeypatch):
    monkeypatch.setenv("LAZYHEAT_PLAN_CACHE", "0")
    a = lh.array(np.arange(4.0))
    for _ in range(3):
        assert _small(a).item() == np.sum(np.arange(4.0) + 1)
    assert lh.plan_cache_info()["hits"] == 0 and not planner._SIGNED


def test_the_inlined_cases_key_as_the_general_one():
    from lazyheat.graph.node import _set_tag

    a, b = lh.array(np.arange(4.0)), lh.array(np.ones(4))
    for expr in (lambda: (a * 2 + 1 - a).sum(), lambda: a * b - a, lambda: (a - 1) * 3,
                 lambda: (a * 2) - b, lambda: (a + 1) * (a + 1), lambda: a + b):
        node = expr()._node
        quick = node.tag
        _set_tag(node, None)
        inputs = [i.tag for i in node.inputs]
        assert all(t is not None for t in inputs)
        assert signature._compound(node, 0) == quick


def test_float_scalars_are_keyed_by_their_bits():
    a = lh.array(np.arange(4.0))
    sig = lambda x: x._node.tag[0]  # noqa: E731
    assert sig(a * 2.0) == sig(a * 2.0)
    assert sig(a * 2.0) != sig(a * 2)  # a Python int scalar is another computation
    assert sig(a * 0.0) != sig(a * -0.0)
    assert sig(a + float("nan")) == sig(a + float("nan"))
    assert sig(2.0 - a) != sig(a - 2.0)
    np.testing.assert_array_equal((a * -0.0).numpy(), np.arange(4.0) * -0.0)


def test_a_sum_of_many_arrays_gives_up_on_signatures_once(monkeypatch):
    monkeypatch.setattr(signature, "LEAVES_MAX", 3)
    xs = [lh.array(np.full(2, float(k))) for k in range(40)]
    calls = []
    compound = signature._compound

    def counting(node, depth):
        calls.append(node)
        return compound(node, depth)
    monkeypatch.setattr(signature, "_compound", counting)
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    assert len(calls) <= 2 * len(xs)  # no node's history stamped again and again
    np.testing.assert_array_equal(total.numpy(), np.full(2, float(sum(range(40)))))
