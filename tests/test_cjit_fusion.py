"""The C tier of fused groups (``runtime/cjit.py``): NumPy's values for every op and dtype it
takes, the default tier's bits for its exact ops, a kernel cache shared across processes,
and the default tier wherever it cannot compile.

Every check runs the expression until the C tier has run it: the first run goes to the
default tier while the kernel compiles in the background (``cjit.drain`` waits for it)."""

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import lazyheat as lh
from lazyheat.runtime import cjit

SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5])


@pytest.fixture(autouse=True)
def jit_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LAZYHEAT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAZYHEAT_JIT", "1")
    monkeypatch.delenv("LAZYHEAT_FUSED_TIER", raising=False)
    cjit._LIBS.clear()
    lh.clear_plan_cache()
    yield
    cjit.drain()


def _data(n, dtype, seed=0, positive=False):
    g = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "i":
        return g.integers(-50, 50, size=n).astype(dtype)
    x = g.standard_normal(n).astype(dtype)
    if positive:
        x = np.abs(x) + dtype(0.1) if n else x
    if n >= 2 * len(SPECIALS) and not positive:
        x[3:3 + len(SPECIALS)] = SPECIALS
    return x


def _jit(expr):
    """``expr()`` computed by the C tier (asserted), after a first run on the default tier."""
    expr().compute()
    cjit.drain()
    before = cjit.STATS["runs"]
    out = np.asarray(expr().compute())
    assert cjit.STATS["runs"] > before, "the C tier did not run the group"
    return out


def _default(expr, monkeypatch):
    monkeypatch.setenv("LAZYHEAT_JIT", "0")
    lh.clear_plan_cache()
    try:
        return np.asarray(expr().compute())
    finally:
        monkeypatch.setenv("LAZYHEAT_JIT", "1")
        lh.clear_plan_cache()


UNARY = {"negative": lambda x: -x, "abs": abs, "square": lambda m, x: m.square(x),
         "sqrt": "sqrt", "exp": "exp", "log": "log", "sin": "sin", "cos": "cos", "tanh": "tanh"}
BINARY = ["add", "subtract", "multiply", "true_divide", "maximum", "minimum", "equal",
          "not_equal", "less", "less_equal", "greater", "greater_equal"]
FLOAT_ONLY = {"sqrt", "exp", "log", "sin", "cos", "tanh", "true_divide"}
SIZES = [1, 15, 17, cjit.BLOCK + 1, (1 << 18) + 3]


def _unary(name, m, x):
    f = UNARY[name]
    if isinstance(f, str):
        return getattr(m, f)(x)
    return f(m, x) if name == "square" else f(x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
@pytest.mark.parametrize("op", list(UNARY) + BINARY)
def test_each_op_matches_numpy(op, dtype):
    if op in FLOAT_ONLY and np.dtype(dtype).kind == "i":
        pytest.skip("float-only op")
    n = 1000
    xa, ya = _data(n, dtype, 0, op in ("log", "sqrt")), _data(n, dtype, 1)
    a, b = lh.asarray(xa), lh.asarray(ya)
    if op in UNARY:  # one more op, so the group is a chain
        got = _jit(lambda: _unary(op, lh, a) * 2)
        with np.errstate(all="ignore"):
            want = _unary(op, np, xa) * 2
    else:
        got = _jit(lambda: getattr(lh, op)(a + 1, b))
        with np.errstate(all="ignore"):
            want = getattr(np, op)(xa + 1, ya)
    if want.dtype.kind == "f":
        tol = 2e-6 if want.dtype == np.float32 else 1e-14
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n", [0] + SIZES)
@pytest.mark.parametrize("fn", ["sum", "mean", "min", "max"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_closed_chains_at_block_edges(fn, n, dtype):
    if fn == "mean" and np.dtype(dtype).kind == "i":
        pytest.skip("an integer mean is float64: another dtype than the chain's")
    xa, ya = _data(n, dtype, 2, True), _data(n, dtype, 3, True)  # finite: NaN/inf below
    a, b = lh.asarray(xa), lh.asarray(ya)
    expr = lambda: getattr(lh.maximum(a * 3 - b, b), fn)()  # noqa: E731
    if n == 0:  # the default tier's edge cases: an empty block never reaches the C tier
        if fn in ("sum", "mean"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert np.asarray(expr().compute()) == 0 or fn == "mean"
        return
    got = _jit(expr)
    want = getattr(np.maximum(xa * 3 - ya, ya), fn)()
    if np.dtype(dtype).kind == "f":
        np.testing.assert_allclose(got, want, rtol=2e-6 if dtype == np.float32 else 1e-13)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("fn", ["sum", "min", "max"])
def test_nan_and_inf_reach_closers(fn):
    xa = np.abs(_data(5000, np.float32, 4))
    for special in (np.inf, np.nan):
        xa[4321] = special
        a = lh.asarray(xa)
        got = _jit(lambda a=a: getattr(a * 2 + 1, fn)())
        want = getattr(xa * 2 + 1, fn)()
        np.testing.assert_array_equal(got, want)
        lh.clear_plan_cache()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", SIZES)
def test_exact_groups_give_the_default_tiers_bits(n, dtype, monkeypatch):
    xa, ya = _data(n, dtype, 5), _data(n, dtype, 6)
    a, b = lh.asarray(xa), lh.asarray(ya)
    exprs = [lambda: lh.where(a > b, abs(a) * 0.3, -b) / (b + 2.5),
             lambda: lh.minimum(lh.maximum(a, b * 0.5), 0.75) - lh.square(a),
             lambda: (lh.maximum(a - 0.1, b) * 3).max()]
    for expr in exprs:
        want = _default(expr, monkeypatch)
        got = _jit(expr)
        eq = (got == want) | (np.isnan(got) & np.isnan(want))
        assert eq.all() and (np.signbit(got) == np.signbit(want)).all() | np.isnan(want).any()


def test_scalar_inputs_and_scalar_slots():
    xa = _data(3000, np.float64, 7)
    a, s = lh.asarray(xa), lh.asarray(np.float64(2.5))
    got = _jit(lambda: a * s + 1.25)
    np.testing.assert_array_equal(got, xa * 2.5 + 1.25)
    # the same template with other scalar values: one kernel for both
    keys = len(cjit._LIBS)
    got = _jit(lambda: a * s + 4.0)
    np.testing.assert_array_equal(got, xa * 2.5 + 4.0)
    assert len(cjit._LIBS) == keys


def test_untaken_groups_stay_on_the_default_tier():
    xa = _data(1200, np.float32, 8).reshape(40, 30)
    a, row = lh.asarray(xa), lh.asarray(xa[0])
    before = cjit.STATS["runs"]
    for _ in range(3):
        got = np.asarray((a * 2 + row).compute())  # a broadcast row: not the C tier's case
        cjit.drain()
    np.testing.assert_array_equal(got, xa * 2 + xa[0])
    assert cjit.STATS["runs"] == before


def test_jit_off(monkeypatch):
    monkeypatch.setenv("LAZYHEAT_JIT", "0")
    a = lh.asarray(_data(1000, np.float32, 9))
    before = cjit.STATS["runs"]
    for _ in range(3):
        (a * 2 + 1).compute()
        cjit.drain()
    assert cjit.STATS["runs"] == before


def test_no_compiler_falls_back_with_one_warning(monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/cc")
    monkeypatch.setattr(cjit, "_warned", False)
    xa = _data(1000, np.float32, 10)
    a = lh.asarray(xa)
    before = cjit.STATS["runs"]
    with pytest.warns(RuntimeWarning, match="C tier"):
        for _ in range(3):
            got = np.asarray((a * 2 + 1).compute())
    np.testing.assert_array_equal(got, xa * 2 + 1)
    assert cjit.STATS["runs"] == before


def test_failed_compile_falls_back(tmp_path, monkeypatch):
    fake = tmp_path / "cc"
    fake.write_text("#!/bin/sh\necho 'error: broken compiler' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CC", str(fake))
    monkeypatch.setattr(cjit, "_warned", False)
    xa = _data(1000, np.float32, 11)
    a = lh.asarray(xa)
    with pytest.warns(RuntimeWarning, match="compiling failed"):
        for _ in range(3):
            got = np.asarray((a - 3).compute())
            cjit.drain()
    np.testing.assert_array_equal(got, xa - 3)


def test_cache_is_reused_by_the_next_process(tmp_path):
    script = textwrap.dedent("""
        import numpy as np, lazyheat as lh
        from lazyheat.runtime import cjit
        a = lh.asarray(np.arange(5000, dtype=np.float32))
        v = float(((a * 2 + 1) / (a + 3)).max().compute())
        cjit.drain()
        print(cjit.STATS["runs"], v)
    """)
    env = dict(os.environ, LAZYHEAT_CACHE_DIR=str(tmp_path / "shared"), LAZYHEAT_JIT="1")
    first = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, check=True).stdout.split()
    second = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, check=True).stdout.split()
    assert first[0] == "0" and second[0] == "1"  # the second process starts compiled
    assert first[1] == second[1]
    assert len(list((tmp_path / "shared" / "jit").glob("*.so"))) == 1


def test_eviction_keeps_the_most_recently_used(tmp_path):
    for k in range(4):
        p = tmp_path / f"k{k}.so"
        p.write_bytes(b"x" * 1000)
        os.utime(p, (k, k))
    cjit._evict(tmp_path, 2500)
    assert sorted(p.name for p in tmp_path.glob("*.so")) == ["k2.so", "k3.so"]
