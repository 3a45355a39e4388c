"""Building the graph: the memoized paths give what fresh inference gives.

Elementwise inference is memoized free of shapes and reductions' dtypes by dtype; these tests
check that a memo hit yields the same node (aval, attributes, source line) as inference from
scratch, that shapes and scalar values never leak from one call into another, and that
build-time errors are raised on every call, naming the user's line.
"""

import os

import numpy as np
import pytest

import lazyheat as lh
from lazyheat import elementwise as ew
from lazyheat.graph import Node
from lazyheat.graph.aval import Aval
from lazyheat.graph.node import canonical
from lazyheat.graph.ops import eval_aval
from lazyheat.graph.reduce import reduce_aval

HERE = os.path.basename(__file__)


def _fresh(build):
    """``build()`` with every elementwise memo entry cleared first, and again with it warm."""
    ew._MEMO.clear()
    cold = build()
    warm = build()
    return cold._node, warm._node


def _same_node(a: Node, b: Node):
    assert a.op == b.op
    assert a.aval == b.aval and a.aval.comm is b.aval.comm
    assert canonical(a.attrs) == canonical(b.attrs)
    assert [i.aval for i in a.inputs] == [i.aval for i in b.inputs]


@pytest.mark.parametrize("build", [
    lambda a, b, i: a * 2,
    lambda a, b, i: 2 * a,
    lambda a, b, i: a + b,
    lambda a, b, i: b - a,
    lambda a, b, i: i + 1.5,
    lambda a, b, i: i * True,
    lambda a, b, i: (i > 3000),
    lambda a, b, i: lh.where(i > 1, a, 0),
    lambda a, b, i: lh.clip(i, -5000, 5000),
    lambda a, b, i: a + 1j,
    lambda a, b, i: lh.isclose(a, b, rtol=0.5),
    lambda a, b, i: lh.round(a, 2),
    lambda a, b, i: a.astype(lh.int16),
    lambda a, b, i: lh.add(a, b),
    lambda a, b, i: -a,
])
def test_memo_hit_equals_fresh_inference(build):
    a = lh.array(np.arange(6.0, dtype=np.float32))
    b = lh.array(np.ones(6))
    i = lh.array(np.arange(6, dtype=np.int16))
    cold, warm = _fresh(lambda: build(a, b, i))
    _same_node(cold, warm)


def test_a_new_shape_after_a_hit():
    for n in (3, 7, 1, 0, 12):
        x = lh.array(np.arange(float(n)))
        y = (x * 2 + 1) - x
        assert y.shape == (n,) and y.dtype == lh.float64
        assert y.sum().shape == () and y.sum().dtype == lh.float64
        np.testing.assert_array_equal(y.numpy(), np.arange(float(n)) + 1)
    m = lh.array(np.ones((4, 1), dtype=np.float32)) + lh.array(np.ones(5, dtype=np.float32))
    assert m.shape == (4, 5) and m.dtype == lh.float32


def test_broadcast_error_after_a_hit_names_the_line():
    a = lh.array(np.ones(3))
    _ = a + lh.array(np.ones(3))  # the dtypes' memo entry
    for _ in range(2):
        with pytest.raises(ValueError, match="could not be broadcast") as e:
            a + lh.array(np.ones(4))
        assert HERE in str(e.value)


def test_scalars_come_from_the_call_not_the_memo():
    a = lh.array(np.arange(3.0))
    pos, neg = a * 0.0, a * -0.0
    assert pos._node.attr("scalars") == ((1, 0.0),)
    neg_scalar = neg._node.attr("scalars")[0][1]
    assert np.signbit(neg_scalar)
    assert canonical(pos._node.attrs) != canonical(neg._node.attrs)
    assert (a + 1)._node.attr("scalars") == ((1, 1),)
    assert (a + 2)._node.attr("scalars") == ((1, 2),)
    assert (3 - a)._node.attr("scalars") == ((0, 3),)


def test_clip_clamps_int_bounds_on_every_hit():
    x = lh.array(np.arange(-3, 4, dtype=np.int8))
    for lo in (True, False):
        s = lh.clip(x, lo, 1000)._node.attr("scalars")
        assert s == ((1, lo), (2, 127)) and type(s[0][1]) is bool
    np.testing.assert_array_equal(lh.clip(x, -1000, 1).numpy(), np.clip(np.arange(-3, 4), -3, 1))


def test_weak_scalar_promotion():
    i8 = lh.array(np.arange(3, dtype=np.int8))
    f32 = lh.array(np.arange(3, dtype=np.float32))
    for _ in range(2):
        assert (i8 + 1).dtype == lh.int8
        assert (i8 + 1.5).dtype == lh.float64
        assert (f32 * 1e300).dtype == lh.float32
        assert (f32 + 1j).dtype == lh.complex64
        assert (i8 + True).dtype == lh.int8
        assert (lh.array(np.array([True])) + True).dtype == lh.bool
        with pytest.raises(OverflowError, match="out of bounds for int8") as e:
            i8 + 1000
        assert HERE in str(e.value)
        with pytest.raises(ValueError, match="negative integer powers"):
            i8 ** -1
        with pytest.raises(TypeError, match="boolean subtract"):
            lh.array(np.array([True])) - True


def test_node_records_the_users_line():
    a = lh.array(np.arange(3.0))
    b = lh.array(np.arange(3.0))
    builds = [lambda: a * 2, lambda: 2 * a, lambda: a + b, lambda: lh.add(a, 1),
              lambda: a.sum(), lambda: lh.sum(a), lambda: lh.exp(a), lambda: a > b]
    line = builds[0].__code__.co_firstlineno
    for build in builds * 2:  # a memo miss, then a hit
        assert build()._node.loc == f"{HERE}:{build.__code__.co_firstlineno}"
    assert {b.__code__.co_firstlineno for b in builds} == {line, line + 1}


def test_reduce_aval_matches_the_registry():
    cases = [((4, 5), np.float32, None), ((4, 5), np.int16, None), ((0, 3), np.float64, None),
             ((3,), np.bool_, None), ((2, 3), np.complex64, None), ((6,), np.int8, lh.float32)]
    for shape, dtype, out in cases:
        a = lh.array(np.zeros(shape, dtype=dtype)).aval
        for fn in ("sum", "mean", "var", "min", "argmax", "any", "prod", "ptp"):
            for axes in [(), (0,), tuple(range(len(shape)))]:
                for keepdims in (False, True):
                    attrs = {"fn": fn, "axes": axes, "keepdims": keepdims, "ddof": 0}
                    if out is not None:
                        attrs["dtype"] = out
                    try:
                        want = eval_aval("reduce", [a], attrs)
                    except (TypeError, ValueError) as e:
                        with pytest.raises(type(e)):
                            reduce_aval(a, fn, axes, keepdims, out)
                        with pytest.raises(type(e)):  # again: errors are not memoized
                            reduce_aval(a, fn, axes, keepdims, out)
                        continue
                    for _ in range(2):
                        got = reduce_aval(a, fn, axes, keepdims, out)
                        assert got == want and got.comm is want.comm


def test_zero_size_error_after_a_memo_hit():
    assert lh.array(np.ones(3)).max().shape == ()
    with pytest.raises(ValueError, match="zero-size") as e:
        lh.array(np.ones(0)).max()
    assert HERE in str(e.value)


def test_reduction_attrs_are_sorted_and_keyed():
    a = lh.array(np.arange(4.0))
    n = lh.sum(a, dtype=lh.float32)._node
    assert [k for k, _ in n.attrs] == sorted(k for k, _ in n.attrs)
    assert n.attr("dtype") == lh.float32 and n.aval.dtype == lh.float32
    n2 = lh.sum(a)._node
    assert [k for k, _ in n2.attrs] == ["axes", "ddof", "fn", "keepdims"]
    e = ew.apply("isclose", a, a, rtol=0.5, atol=0.0, equal_nan=False)._node
    assert [k for k, _ in e.attrs] == sorted(k for k, _ in e.attrs)


def test_node_and_aval_stay_immutable():
    n = (lh.array(np.arange(3.0)) * 2)._node
    with pytest.raises(AttributeError):
        n.op = "add"
    with pytest.raises(AttributeError):
        n.aval.shape = (4,)
    m = Node("add", [n, n], {"b": 1, "a": 2}, n.aval)
    assert m.inputs == (n, n) and m.attrs == (("a", 2), ("b", 1)) and m.loc == ""
    assert Aval((2,), lh.float32, None, None, "cpu", None) == \
        Aval(shape=(2,), dtype=lh.float32, split=None, counts=None, device="cpu", comm=1)
