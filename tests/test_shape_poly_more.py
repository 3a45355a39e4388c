"""Shape-polymorphic plans at their edges: sizes equal to constants, 0, 1 and 2, derived
counts, equal dimensions that later differ, materialized inputs, several outputs, the cache
switched off and cleared, and plans for several ranks (planned with ``lh.FakeComm``: each
resized plan is compared with planning its sizes anew).

The suite runs with ``planner.VERIFY_PASSES`` on, so every resized plan is also checked by
``planner._check_resized``; the tests here check values against NumPy as well.
"""

import gc
import weakref

import numpy as np
import pytest

import lazyheat as lh
from lazyheat import planner
from lazyheat.passes import polymorph


@pytest.fixture(autouse=True)
def fresh_cache():
    planner.clear_plan_cache()
    yield
    planner.clear_plan_cache()


def _resized():
    return planner.plan_cache_info()["resized"]


def _same_as_planned_anew(*arrays):
    """The plan ``compute`` takes for ``arrays`` (cached, resized or new) is the one
    planning them anew makes."""
    outs = planner._cached(list(arrays))[0]
    direct = lh.plan(*arrays).outputs
    assert polymorph.structure(outs) == polymorph.structure(direct)


# ---------------------------------------------------------------- one rank: values
def test_sizes_equal_to_scalar_constants_and_clip_bounds():
    """Constants of the expression equal to its sizes, to the probes' or to neither."""
    def build(a, c=1.5, d=2.5):
        return a * 5 + d, lh.clip(a, 0, 7), lh.where(a > 4, a, c), a % d

    logical = lh.plan(*build(lh.array(np.ones(5))), stage="logical").outputs
    probe = polymorph.template(logical, (5,), (), planner.run_passes)
    c, d = probe.probe[0], probe.probe[0] + 2  # the first probe, and a size near it
    for n in (5, 7, c, d, 9, 3, 2, 6):
        x = np.arange(float(n)) - 2
        a = lh.array(x)
        got = lh.compute(*build(a, c, d))
        want = (x * 5 + d, np.clip(x, 0, 7), np.where(x > 4, x, c), x % d)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w)
    # c equals the first probe and stays a constant (see test_shape_poly): the plan is
    # reused for the other lengths all the same
    assert _resized() > 0
    for n in (5, 7, c, d, 9, 3, 2, 6):
        x = np.arange(float(n)) - 2
        a = lh.array(x)
        got = lh.compute(a * 5 + d, lh.clip(a, 0, 7), a % d, (a - 7).sum())
        want = (x * 5 + d, np.clip(x, 0, 7), x % d, (x - 7).sum())
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w)
    assert _resized() > 0


def test_sizes_zero_one_and_two():
    for n in (0, 1, 2, 3, 0, 2, 5, 1, 4):
        x = np.arange(float(n * 3)).reshape(n, 3)
        a = lh.array(x)
        got = lh.compute(a.sum(0), a.prod(1), (a + 1).sum(), a.T * 2, a.sum(0, keepdims=True))
        want = (x.sum(0), x.prod(1), (x + 1).sum(), x.T * 2, x.sum(0, keepdims=True))
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w)
    assert _resized() > 0


@pytest.mark.parametrize("ddof", [0, 1, 2])
def test_var_std_mean_counts_over_new_shapes(ddof):
    rng = np.random.default_rng(ddof)
    for n, m in ((5, 7), (9, 4), (13, 11), (3, 6), (17, 2)):
        x = rng.standard_normal((n, m))
        a = lh.array(x)
        got = lh.compute(a.var(0, ddof=ddof), a.std(1, ddof=ddof, keepdims=True),
                         a.var(ddof=ddof), a.mean(1), (a * a).mean(keepdims=True))
        want = (x.var(0, ddof=ddof), x.std(1, ddof=ddof, keepdims=True), x.var(ddof=ddof),
                x.mean(1), (x * x).mean(keepdims=True))
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), w, rtol=1e-12)
    assert _resized() > 0


def test_argmin_argmax_of_transposes_with_keepdims():
    rng = np.random.default_rng(1)
    for n, m in ((4, 9), (6, 13), (11, 17), (2, 5)):
        x = rng.standard_normal((n, m))
        a = lh.array(x)
        got = lh.compute(a.T.argmax(0), a.argmin(1, keepdims=True), (a.T + 1).argmax())
        want = (x.T.argmax(0), x.argmin(1, keepdims=True), (x.T + 1).argmax())
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w)
    assert _resized() > 0


def test_matmul_and_scans_on_one_rank():
    rng = np.random.default_rng(2)
    for n, k, m in ((3, 4, 5), (6, 7, 8), (11, 13, 17), (2, 3, 9), (5, 5, 5), (7, 7, 7)):
        x, y = rng.standard_normal((n, k)), rng.standard_normal((k, m))
        a, b = lh.array(x), lh.array(y)
        got = lh.compute(a @ b, (a @ b).T.cumsum(0), lh.cumprod(a, axis=1), (a.T @ a).sum())
        want = (x @ y, (x @ y).T.cumsum(0), np.cumprod(x, axis=1), (x.T @ x).sum())
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), w, rtol=1e-12, atol=1e-12)
    assert _resized() > 0


def test_integer_complex_and_astype():
    for n in (4, 6, 11, 9, 2):
        i = np.arange(n, dtype=np.int64) * 7 - 5
        c = np.arange(n) + 1j * (np.arange(n)[::-1])
        a, z = lh.array(i), lh.array(c)
        got = lh.compute(a // 4, a % 6, (a * 2).astype(lh.float32) / 3, lh.abs(z) + z.real,
                         z.conj().sum(), (a > 10).astype(lh.int32).sum())
        want = (i // 4, i % 6, (i * 2).astype(np.float32) / 3, np.abs(c) + c.real,
                c.conj().sum(), (i > 10).astype(np.int32).sum())
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), w, rtol=1e-6)
    assert _resized() > 0


def test_equal_dimensions_that_later_differ_with_broadcasting():
    for n, m in ((5, 5), (5, 7), (7, 5), (9, 9), (8, 3), (3, 8)):
        x = np.arange(float(n * m)).reshape(n, m)
        v, col = np.arange(float(m)), np.arange(float(n)).reshape(n, 1)
        a = lh.array(x)
        got = lh.compute(a + lh.array(v), a * lh.array(col), (a.T * lh.array(col).T).sum(1))
        want = (x + v, x * col, (x.T * col.T).sum(1))
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w)


def test_materialized_intermediates_in_later_graphs():
    for n in (4, 6, 12, 5):
        x = np.arange(float(n * 2)).reshape(n, 2)
        a = lh.array(x)
        y = a * 2
        lh.compute(y)
        z = (y + a).sum(0)
        w = y.T - 1
        got = lh.compute(z, w)
        np.testing.assert_array_equal(got[0].numpy(), (x * 2 + x).sum(0))
        np.testing.assert_array_equal(got[1].numpy(), (x * 2).T - 1)
    assert _resized() > 0


def test_several_outputs_sharing_work_and_one_already_computed():
    for n in (4, 6, 12, 5, 13):
        x = np.arange(float(n)) - 3
        a = lh.array(x)
        s = lh.exp(a) - a
        got = lh.compute(s, s.sum(), s * 2, s.sum())
        want = (np.exp(x) - x, (np.exp(x) - x).sum(), (np.exp(x) - x) * 2)
        np.testing.assert_allclose(got[0].numpy(), want[0])
        np.testing.assert_allclose(got[1].numpy(), want[1])
        np.testing.assert_allclose(got[2].numpy(), want[2])
        np.testing.assert_allclose(got[3].numpy(), want[1])
        more = lh.compute((s + 1).max(), s)  # s is data now: a plan over it
        np.testing.assert_allclose(more[0].numpy(), (np.exp(x) - x + 1).max())
    assert _resized() > 0


def test_first_shape_planned_with_the_cache_off(monkeypatch):
    monkeypatch.setenv("LAZYHEAT_PLAN_CACHE", "0")
    for n in (5, 6):
        assert (lh.array(np.ones(n)) * 2).sum().item() == 2 * n
    assert planner.plan_cache_info()["entries"] == 0 and _resized() == 0
    monkeypatch.delenv("LAZYHEAT_PLAN_CACHE")
    for n in (7, 8, 9):
        assert (lh.array(np.ones(n)) * 2).sum().item() == 2 * n
    assert _resized() == 2  # 7 is the first shape the cache knows


def test_clear_plan_cache_forgets_the_templates():
    for n in (5, 6, 7):
        lh.array(np.ones(n)).sum().item()
    assert _resized() == 2
    planner.clear_plan_cache()
    assert planner.plan_cache_info() == {"hits": 0, "misses": 0, "resized": 0, "entries": 0}
    assert lh.array(np.ones(8)).sum().item() == 8
    assert _resized() == 0  # planned as the first shape again


def test_templates_keep_no_user_data_alive():
    refs = []
    for n in (5, 6, 7, 8):
        a = lh.array(np.ones((n, 3)))
        refs.append(weakref.ref(a._node.attr("buf").value))
        b = (a * 2).sum(0)
        lh.compute(b)
        del a, b
    gc.collect()
    assert _resized() == 3 and planner._POLY
    assert all(r() is None for r in refs)


def test_notes_explain_and_info_of_resized_plans():
    for n in (5, 6, 7):
        a = lh.array(np.ones((n, 2)))
        out = (a + 1).sum(0)
        notes = planner._cached([out])[1]
    assert notes[-1] == "plan resized from the plan of other sizes of this expression"
    text = lh.explain(out)  # planned for its own sizes, never the probe's
    assert "f64[7, 2]" in text
    for p in polymorph.probes((7,), (), 1):
        assert f"f64[{p[0]}" not in text
    info = planner.plan_cache_info()
    assert info["resized"] == 2 and info["misses"] == 3 and info["entries"] == 3


# ---------------------------------------------------------------- several ranks: plans
def test_allreduce_placement_follows_the_sizes_of_replicated_values():
    """An all-reduce of partial sums goes where it moves the fewest bytes, comparing values
    it was *not* placed at: here (m,) after the sum over k, or the two (1, k) partials before
    it. With k = 10 or 8 and m = 15 the sum is all-reduced; with k = 7 the partials are. The
    sizes of replicated values are exact in the key, so the plan for k = 10 is not resized
    to k = 7."""
    comm = lh.FakeComm(2)

    def expr(n, k, m):
        x, y = (lh.array(np.ones((n, k)), split=0, comm=comm) for _ in range(2))
        w, v = (lh.array(np.ones((m, 1)), comm=comm) for _ in range(2))
        return (x.sum(0, keepdims=True) * w + y.sum(0, keepdims=True) * v).sum(1)

    for n, k in ((20, 10), (20, 8), (24, 10), (20, 7), (20, 6), (24, 7), (28, 8)):
        _same_as_planned_anew(expr(n, k, 15))
    assert _resized() > 0  # a k seen before, with another n


@pytest.mark.parametrize("p", [2, 3, 4])
def test_splits_smaller_than_two_blocks_and_different_axes(p):
    comm = lh.FakeComm(p)
    for n, m in ((9, 5), (2 * p - 1, 5), (2 * p, 5), (23, 5), (1, 5), (0, 5), (31, 5),
                 (40, 2), (23, 2), (31, 31), (17, 19), (19, 17), (23, 19), (2 * p, 19)):
        x = lh.array(np.ones((n, m)), split=0, comm=comm)
        y = lh.array(np.ones((n, m)), split=1, comm=comm)
        z = x * y + 1
        outs = [z.sum(1), (x - x.mean(0)).std(0, ddof=1), y.var(keepdims=True), z.T.sum(0)]
        _same_as_planned_anew(*outs, *([x.argmax(0)] if n else []))


def test_ranks_resize_alike():
    """Two communicators of the same size make the same plans: a plan is decided from
    global metadata only, each communicator keeping its own templates."""
    def plans(comm):
        got = []
        for n in (12, 14, 30, 12, 41):
            x = lh.array(np.ones((n, 6)), split=0, comm=comm)
            got.append(polymorph.structure(planner._cached([(x * 2).sum(0), x.var(0)])[0]))
        return got

    assert plans(lh.FakeComm(3)) == plans(lh.FakeComm(3))
