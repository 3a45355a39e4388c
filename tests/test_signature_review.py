"""Structural signatures (``graph/signature.py``) on unusual graphs: the plan found without a
walk must be the walk's computation over the same data leaves, whatever the dtypes, shapes,
scalars, sharing or materializations; NumPy is the oracle."""

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


def _sig(x):
    return x._node.tag[0]


def _key(*xs):
    return planner._signed(list(xs), xs[0].comm)[0]


def test_scalars_of_other_types_signs_or_values_are_other_structures():
    a = lh.array(np.array([1.0, -1.0, 2.0]))
    xs = [a * 0.0, a * -0.0, a * 0, a * 1, a * 1.0, a * True, a * 1j, a * 2.5,
          0.0 * a, -0.0 * a, a + float("inf"), a + float("-inf")]
    assert len({_sig(x) for x in xs}) == len(xs) - 1  # (a * 1 and a * True compute alike)
    assert _sig(a * 1) == _sig(a * True)  # noqa: E712 - equal keys, equal values
    np.testing.assert_array_equal((a * 1).numpy(), (a * True).numpy())
    na = np.array([1.0, -1.0, 2.0])
    for s in (0.0, -0.0):
        got = (a * s).numpy()
        np.testing.assert_array_equal(np.signbit(got), np.signbit(na * s))
        got = (s - a).numpy()
        np.testing.assert_array_equal(np.signbit(got), np.signbit(s - na))


def test_int_and_float_scalars_on_int_arrays_keep_their_dtypes():
    x = lh.array(np.arange(5, dtype=np.int32))
    nx = np.arange(5, dtype=np.int32)
    for _ in range(2):  # the second round finds every plan without a walk
        for f in (lambda v: v + 1, lambda v: v + 1.0, lambda v: v * 2, lambda v: v * 2.0,
                  lambda v: v // 2, lambda v: v / 2):
            got, want = f(x).numpy(), f(nx)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


def test_operand_order_and_sharing_of_leaves():
    na, nb = np.arange(1.0, 5.0), np.arange(5.0, 9.0)
    a, b = lh.array(na), lh.array(nb)
    exprs = [lambda p, q: p - q, lambda p, q: q - p, lambda p, q: p * p - q,
             lambda p, q: p * q - q, lambda p, q: (p - q) / (q + p * 2),
             lambda p, q: (p + 1) * (q + 1) - (p + 1)]
    for f in exprs:
        for p, q, np_, nq in ((a, b, na, nb), (b, a, nb, na), (a, a, na, na)):
            np.testing.assert_allclose(f(p, q).numpy(), f(np_, nq))
    assert _sig(a - b) != _sig(b - b)
    assert _key(a - b) != _key(a - a)
    assert _key(a * b) == _key(b * a)  # the same pattern of two leaves


def test_dtypes_shapes_and_splits_key_apart():
    for dtype in (np.bool_, np.int8, np.int64, np.float32, np.float64, np.complex64,
                  np.complex128):
        for shape in ((), (0,), (1,), (4,), (2, 0), (3, 2)):
            na = (np.arange(int(np.prod(shape))).reshape(shape) % 3).astype(dtype)
            for split in (None,) + tuple(range(len(shape))):
                a = lh.asarray(na, split=split)
                if dtype is np.bool_:
                    got, want = (a ^ a) | a, (na ^ na) | na
                else:
                    got, want = (a * a - a).sum(), (na * na - na).sum()
                got = got.numpy()
                np.testing.assert_allclose(got, want)
                assert got.shape == np.shape(want), (dtype, shape, split)


def test_several_outputs_same_node_and_subexpressions():
    na = np.arange(6.0)
    for k in range(3):
        a = lh.array(na + k)
        t = a * 2 + 1
        u, v, w = lh.compute(t, t, (t - a).sum())
        np.testing.assert_array_equal(u.numpy(), (na + k) * 2 + 1)
        np.testing.assert_array_equal(v.numpy(), (na + k) * 2 + 1)
        assert w.item() == np.sum((na + k) * 2 + 1 - (na + k))


def test_nodes_materialized_after_a_graph_was_built_are_read():
    for k in range(3):
        na = np.arange(5.0) + k
        a = lh.array(na)
        t = a + 1
        y = (t * t).sum()
        z = t - a
        t.compute()  # y and z now read t's value
        assert y.item() == np.sum((na + 1) ** 2)
        np.testing.assert_array_equal(z.numpy(), np.ones(5))
        # an array computed in place of its node: a later expression on it
        w = (t * 3).sum()
        assert w.item() == np.sum((na + 1) * 3)


def test_more_leaves_than_a_tag_holds_and_deep_chains():
    nas = [np.full(3, float(k)) for k in range(signature.LEAVES_MAX + 4)]
    for _ in range(2):
        xs = [lh.array(v) for v in nas]
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        total = total * xs[3] - xs[0]
        want = sum(nas) * nas[3] - nas[0]
        np.testing.assert_array_equal(total.numpy(), want)
    a = lh.array(np.arange(3.0))
    y = a
    for _ in range(1500):  # deeper than the recursive walk goes
        y = y + 1.0
    np.testing.assert_array_equal(y.numpy(), np.arange(3.0) + 1500)


def test_a_data_leaf_does_not_hold_itself():
    import gc
    import weakref

    a = lh.array(np.arange(4.0))
    y = (a + 1) * a
    y.compute()
    assert a._node.tag[1] is None and y._node.op == "data"
    ref = weakref.ref(a._node)
    gc.disable()
    try:
        del a, y
        assert ref() is None  # freed by its reference count, no collection needed
    finally:
        gc.enable()


@pytest.mark.parametrize("var", ["LAZYHEAT_PLAN_CACHE", "LAZYHEAT_CHECK", "LAZYHEAT_JIT"])
def test_switches_off(monkeypatch, var):
    monkeypatch.setenv(var, "0")
    for k in range(3):
        na = np.arange(4.0) + k
        a = lh.array(na)
        assert ((a * 2.0 - a) / (a + 1)).sum().item() == pytest.approx(
            np.sum((na * 2.0 - na) / (na + 1)))
