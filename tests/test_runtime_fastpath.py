"""Running a plan cheaply: fused groups of one structure share their compiled form across
sizes (``fused.signature``), the memory guard passes small new plans on a bound, and the
settings the runtime reads on every run follow the environment.

Values are checked against NumPy; sharing is checked by counting what gets built."""

import numpy as np
import pytest

import lazyheat as lh
from lazyheat.graph import topo_order
from lazyheat.graph.cost import added_bound, memory_peak
from lazyheat.runtime import cjit, env, executor, fused, memguard


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    monkeypatch.setenv("LAZYHEAT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LAZYHEAT_FUSED_TIER", raising=False)
    cjit._LIBS.clear()
    cjit._TEMPLATES.clear()
    fused._CALLS.clear()
    lh.clear_plan_cache()
    yield
    cjit.drain()


def _count(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def _expr(x):
    return ((x * 2 + 1) - x).sum()


def test_new_sizes_of_one_expression_share_the_c_template(fresh, monkeypatch):
    monkeypatch.setenv("LAZYHEAT_JIT", "1")
    xs = [np.arange(float(n)) for n in (11, 12, 13, 40)]
    assert float(_expr(lh.array(xs[0])).compute()) == _expr(xs[0])
    cjit.drain()
    built = _count(monkeypatch, cjit, "template")
    runs = cjit.STATS["runs"]
    for x in xs[1:]:
        assert float(_expr(lh.array(x)).compute()) == ((x * 2 + 1) - x).sum()
    assert built == [] and cjit.STATS["runs"] == runs + 3


def test_new_sizes_share_the_torch_tiers_members(fresh, monkeypatch):
    monkeypatch.setenv("LAZYHEAT_JIT", "0")
    _expr(lh.array(np.arange(5.0))).compute()
    built = _count(monkeypatch, fused, "_fast_member")
    for n in (6, 7, 300):
        x = np.arange(float(n))
        np.testing.assert_array_equal(np.asarray((lh.array(x) * 3 - 2).compute()), x * 3 - 2)
        assert float(_expr(lh.array(x)).compute()) == ((x * 2 + 1) - x).sum()
    assert len(built) == 2  # the members of a * 3 - 2, once; those of the sum: shared


@pytest.mark.parametrize("jit", ["0", "1"])
def test_scalars_that_compare_equal_keep_their_own_programs(fresh, monkeypatch, jit):
    """0.0 == -0.0, 2 == 2.0 and 1 == True in Python; as group keys they must differ."""
    monkeypatch.setenv("LAZYHEAT_JIT", jit)
    x = np.array([1.0, -3.0, 2.5, 0.0])
    for _ in range(2):  # the C tier's kernel comes in on a later run
        for s in (0.0, -0.0, 0.0):
            got = np.asarray((lh.array(x) * s).compute())
            np.testing.assert_array_equal(np.signbit(got), np.signbit(x * s))
        cjit.drain()
    i = np.arange(6, dtype=np.int64)
    for s in (2, 2.0, True, 1):
        want = i + s
        got = np.asarray((lh.array(i) + s).compute())
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_signature_ignores_sizes_and_sees_structure():
    def node(expr):
        return lh.plan(expr).outputs[0]

    def sig(n):
        return fused.signature(n, n.attr("members"), n.attr("args"), n.attr("closer"))

    a, b = lh.array(np.ones(10)), lh.array(np.ones(20))
    assert sig(node(_expr(a))) == sig(node(_expr(b)))
    assert sig(node(a * 2 + 1)) != sig(node(a * 2.5 + 1))
    assert sig(node(a * 0.0 + 1)) != sig(node(a * -0.0 + 1))
    s = lh.asarray(np.float64(2.0))
    assert sig(node(a * s + 1)) != sig(node(a * b[:10] + 1))  # a 0-d input, a full one
    assert sig(node(_expr(a))) != sig(node((a * 2 + 1 - a).max()))


def test_members_run_by_k_ewise_keep_their_own_node_across_sizes():
    """Groups share the direct torch calls of members, never a member node (``k_ewise``
    reads it; an error names it)."""
    x = lh.array(np.arange(4))
    ok = (x // 2 + 1).compute()
    np.testing.assert_array_equal(np.asarray(ok), np.arange(4) // 2 + 1)
    y = lh.array(np.arange(5))
    np.testing.assert_array_equal(np.asarray((y // 2 + 1).compute()), np.arange(5) // 2 + 1)


def test_the_bound_is_never_below_the_estimate():
    comm = lh.FakeComm(4)
    x = lh.zeros((4096, 64), split=0, comm=comm)
    y = lh.random.rand(1000, 8, split=0, comm=comm, seed=1)
    for expr in (x + 1, x.resplit(None), (x * 2).sum(axis=0), (y - y.mean(axis=0)) ** 2,
                 lh.resplit(y * 3, 1), (x + 1).sum()):
        outs = lh.plan(expr).outputs
        exact = memory_peak(topo_order(outs), list(outs)).added()[0]
        assert added_bound(outs) >= exact
        assert added_bound(outs, stop=exact // 2) > exact // 2


def test_a_small_new_plan_passes_on_the_bound(monkeypatch):
    monkeypatch.setenv(memguard.ENV, "1GiB")
    peaks = _count(monkeypatch, memguard, "memory_peak")
    for n in (10, 11, 12):
        assert float(_expr(lh.array(np.arange(float(n)))).compute()) == n * (n - 1) / 2 + n
    assert peaks == []


def test_a_plan_near_the_limit_still_gets_the_exact_check(monkeypatch):
    x = lh.random.rand(1000, 1000, split=0, seed=3)  # 3.8 MiB made by the plan
    y = lh.sort(x * 2, axis=0).sum()  # x is gone when the sort runs: the bound is above
    outs = lh.plan(y).outputs
    exact = memory_peak(topo_order(outs), list(outs)).added()[0]
    assert added_bound(outs) > exact
    monkeypatch.setenv(memguard.ENV, str(exact))  # within the estimate, not the bound
    peaks = _count(monkeypatch, memguard, "memory_peak")
    float(y.compute())
    assert len(peaks) == 1
    monkeypatch.setenv(memguard.ENV, str(exact - 1))
    z = lh.sort(lh.random.rand(1000, 1000, split=0, seed=4) * 2, axis=0).sum()
    with pytest.raises(MemoryError, match="nothing has run"):
        z.compute()


def test_settings_follow_the_environment(monkeypatch):
    monkeypatch.setenv("LAZYHEAT_FUSED_TIER", "alloc")
    assert fused.tier() == "alloc" and env.get("LAZYHEAT_FUSED_TIER") == "alloc"
    monkeypatch.setenv("LAZYHEAT_FUSED_TIER", "bogus")
    assert fused.tier() == "pooled"
    monkeypatch.delenv("LAZYHEAT_FUSED_TIER")
    assert fused.tier() == "pooled" and env.get("LAZYHEAT_FUSED_TIER", "x") == "x"
    monkeypatch.setenv("LAZYHEAT_JIT", "off")
    assert not cjit.enabled()
    monkeypatch.setenv("LAZYHEAT_JIT", "1")
    monkeypatch.setenv("LAZYHEAT_NATIVE", "0")
    assert not cjit.enabled()
    monkeypatch.delenv("LAZYHEAT_NATIVE")
    assert cjit.enabled()


def test_a_context_makes_its_part_tables_when_used():
    ctx = executor.Context(None, "cpu")
    ctx.part_uses["k"] += 2
    ctx.parts["k"] = 1
    assert ctx.part_uses == {"k": 2} and ctx.parts == {"k": 1} and ctx.part_outs == {}
    assert executor.Context(None, "cpu").part_uses == {}
