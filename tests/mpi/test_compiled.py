"""The ``torch.compile`` tier of fused groups gives NumPy's values on any number of ranks.

``LAZYHEAT_FUSED_TIER=compile`` compiles a fused group the second time its cached plan runs,
so each check below computes the same expression three times: the first run takes the default
tier, the later ones the compiled group. Compilation costs about a second per group (more on
a cold inductor cache), so this file keeps to a few shapes that still cover closers, empty
blocks, broadcasting and integer data.

Besides the values, every test checks the tier's own record of what ran: which groups the
compiled callable ran (``compiled.run``), which output buffer it wrote, and the per-group
state in ``compiled._STATE``."""

import shutil
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from _util import RANK, check, lh, make, raise_if_any

from lazyheat.runtime import compiled as C

# where the tier cannot compile, a group's compilation fails and it falls back for good
HAVE_COMPILER = bool(shutil.which("c++") or shutil.which("g++")) or torch.cuda.is_available()


@pytest.fixture(autouse=True)
def compile_tier(monkeypatch):
    monkeypatch.setenv("LAZYHEAT_FUSED_TIER", "compile")
    monkeypatch.setenv("LAZYHEAT_CHUNK", "64")  # first runs also take the chunked path
    lh.clear_plan_cache()  # fresh fused nodes: every group starts uncompiled


@pytest.fixture
def tier(monkeypatch):
    """The compile tier's decisions, in call order: ``lookups`` (fused node, the compiled
    callable or None) and ``runs`` of a compiled callable (fused node, callable, inputs,
    output buffer, the value it returned or None when it failed, device)."""
    log = SimpleNamespace(lookups=[], runs=[])
    lookup, run = C.lookup, C.run

    def logged_lookup(node, *rest):
        fn = lookup(node, *rest)
        log.lookups.append(SimpleNamespace(node=node, fn=fn))
        return fn

    def logged_run(node, compiled, args, ctx, out=None):
        value = run(node, compiled, args, ctx, out)
        log.runs.append(SimpleNamespace(node=node, fn=compiled, args=list(args), out=out,
                                        value=value, device=ctx.device))
        return value

    monkeypatch.setattr(C, "lookup", logged_lookup)
    monkeypatch.setattr(C, "run", logged_run)
    return log


def _thrice(build, want, log, **tol):
    """Compute ``build()`` three times against ``want``; the tier's records of each run."""
    per_run = []
    for _ in range(3):
        lookups, runs = len(log.lookups), len(log.runs)
        check(build(), np.asarray(want), **tol)
        per_run.append(SimpleNamespace(lookups=log.lookups[lookups:], runs=log.runs[runs:]))
    return per_run


def _everywhere(local_checks, *args):
    """Run ``local_checks(*args)`` (plain asserts on this rank's records) and fail on every
    rank when any rank failed, so that no rank is left waiting in a later collective."""
    err, result = None, None
    try:
        result = local_checks(*args)
    except Exception as exc:  # noqa: BLE001 - reported on every rank
        err = f"{type(exc).__name__}: {exc}"
    raise_if_any(err)
    return result


def _compiled_runs(per_run):
    """The compiled runs of the second run, after checking the schedule over three runs of
    one cached plan: the first on the default tier, the second compiles each eligible group
    and runs it, the third runs the very same callable again. Without a compiler the second
    run's compilation fails, the group is marked failed and the third run keeps to the
    default tier."""
    first, second, third = per_run
    assert first.lookups and all(rec.fn is None for rec in first.lookups), "compiled at once"
    assert not first.runs
    assert second.runs, "no compiled group ran on the second run"
    if HAVE_COMPILER:
        assert all(r.value is not None for r in second.runs + third.runs), "compile failed"
        assert len(third.runs) == len(second.runs)
        for again, r in zip(third.runs, second.runs):
            assert again.node is r.node and again.fn is r.fn, "compiled again"
            assert C._STATE[r.node][r.device] is r.fn
    else:
        assert all(C._STATE[r.node][r.device] is C._FAILED for r in second.runs)
        assert not third.runs
    return second.runs


def _closers(runs):
    return [r.node.attr("closer").attr("fn") for r in runs]


@pytest.mark.parametrize("shape", [(23, 5), (3, 4), (1, 6)])
def test_chain_closed_by_sum_mean_max(shape, tier):
    an, bn = make(shape, "float32", seed=1), make(shape, "float32", seed=2)
    a, b = lh.array(an, split=0), lh.array(bn, split=0)
    f = np.float32
    chain = np.exp((an * f(2) + bn) / (an + f(1)))
    ran = []
    for build, want, fn in [
            (lambda: ((a * 2 + b) / (a + 1)).exp().sum(), chain.sum(), "sum"),
            (lambda: ((a * 2 + b) / (a + 1)).exp().mean(0), chain.mean(0), "mean"),
            (lambda: ((a * 2 + b) / (a + 1)).exp().max(1), chain.max(1), "max")]:
        ran.append((_thrice(build, want, tier, rtol=1e-5), fn))

    def closed_by(per_run, fn):
        runs = _compiled_runs(per_run)
        assert _closers(runs) == [fn]  # the whole chain and its closer in one compiled group
        assert [m.op for m in runs[0].node.attr("members")] == [
            "multiply", "add", "add", "true_divide", "exp"]

    for per_run, fn in ran:
        _everywhere(closed_by, per_run, fn)


@pytest.mark.parametrize("split", [None, 0, 1])
def test_elementwise_output_with_broadcast(split, tier):
    xn = make((9, 4), "float64", seed=3)
    x = lh.array(xn, split=split)
    want = np.tanh(xn - xn.mean(0)) * 3.0 + 1.0
    per_run = _thrice(lambda: (lh.tanh(x - x.mean(0)) * 3.0 + 1.0), want, tier, rtol=1e-12)

    def elementwise_with_broadcast(per_run):
        (run,) = _compiled_runs(per_run)
        node = run.node
        assert node.attr("closer") is None  # an elementwise output: no closing reduction
        assert any(i.aval.shape != node.aval.shape for i in node.inputs)  # the mean, broadcast
        # the compiled group stored into the buffer it was handed
        assert run.value.data_ptr() == run.out.data_ptr()

    _everywhere(elementwise_with_broadcast, per_run)


def test_integer_and_bool_groups(tier):
    xn = np.arange(40, dtype=np.int64).reshape(10, 4)
    x = lh.array(xn, split=0)
    ints = _thrice(lambda: (x * 3 - 7).sum(0), (xn * 3 - 7).sum(0), tier)
    bools = _thrice(lambda: ((x % 3) == 1).any(1), ((xn % 3) == 1).any(1), tier)

    def typed(per_run, dtypes, fn):
        (run,) = _compiled_runs(per_run)
        assert [m.aval.dtype.name for m in run.node.attr("members")] == dtypes
        assert _closers([run]) == [fn]

    _everywhere(typed, ints, ["int64", "int64"], "sum")
    _everywhere(typed, bools, ["int64", "bool"], "any")


def test_ineligible_closer_keeps_default_tier(tier):
    xn = make((11, 3), "float32", seed=4)
    x = lh.array(xn, split=0)
    per_run = _thrice(lambda: (x * 2 + 1).var(0),
                      (xn * np.float32(2) + np.float32(1)).var(0), tier, rtol=1e-5)

    def default_tier(per_run):
        lookups = [rec for run in per_run for rec in run.lookups]
        assert len(lookups) == 3 and all(rec.fn is None for rec in lookups)
        (node,) = {id(rec.node): rec.node for rec in lookups}.values()  # one cached group
        assert not C.eligible(node.attr("closer"))  # a moments state: not a single tensor
        assert node not in C._STATE  # never counted towards a compilation
        assert not any(run.runs for run in per_run)

    _everywhere(default_tier, per_run)


@pytest.mark.skipif(not HAVE_COMPILER,
                    reason="no C++ compiler: the tier falls back to the default one")
def test_groups_compile_once_per_plan(tier, monkeypatch):
    compiles = []
    real_compile = torch.compile

    def counted(fn, **kw):
        compiles.append(fn.__name__)
        return real_compile(fn, **kw)

    monkeypatch.setattr(C.torch, "compile", counted)
    xn = make((17, 3), "float32", seed=5)
    x = lh.array(xn, split=0)
    for _ in range(4):
        check((x * x + 1).sum(), np.asarray((xn * xn + np.float32(1)).sum()), rtol=1e-5)
    compiled = [s for per_dev in C._STATE.values() for s in per_dev.values()
                if callable(s)]
    assert compiled, "no fused group was compiled"

    def once():
        assert len(compiles) == 1 and compiles[0].startswith("lazyheat_fused_2ops_")
        fns = [rec.fn for rec in tier.lookups]
        assert len(fns) == 4 and fns[0] is None and fns[1] is not None
        assert all(fn is fns[1] for fn in fns[2:])  # one callable for every later run
        assert [r.fn for r in tier.runs] == fns[1:] and all(r.value is not None
                                                            for r in tier.runs)

    _everywhere(once)


def test_failed_compilation_falls_back_to_default_tier(tier, monkeypatch):
    def broken(fn, **kw):
        def fails(*args):
            raise RuntimeError("no backend")
        return fails

    monkeypatch.setattr(C.torch, "compile", broken)
    monkeypatch.setattr(C, "_warned", False)
    xn = make((13, 3), "float32", seed=8)
    x = lh.array(xn, split=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        per_run = _thrice(lambda: (x * 3 - 1).exp().sum(0),
                          np.exp(xn * np.float32(3) - np.float32(1)).sum(0), tier, rtol=1e-5)

    def fell_back(per_run):
        first, second, third = per_run
        assert not first.runs and [r.value for r in second.runs] == [None]
        (r,) = second.runs
        assert C._STATE[r.node][r.device] is C._FAILED
        assert [rec.fn for rec in third.lookups] == [None] and not third.runs
        said = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
        assert (RANK != 0) or any("torch.compile tier failed (RuntimeError: no backend)" in s
                                  for s in said)

    _everywhere(fell_back, per_run)


@pytest.mark.parametrize("split", [0, 1])
def test_output_written_over_a_dead_temporary(split, tier):
    # the matmul's result dies in the group: the compiled group writes over it in place
    xn, wn = make((40, 8), "float64", seed=6), make((8, 8), "float64", seed=7)
    x, w = lh.array(xn, split=split), lh.array(wn)
    want = np.tanh((xn @ wn) * 2.0 + 1.0) - 0.5
    over_temp = _thrice(lambda: lh.tanh((x @ w) * 2.0 + 1.0) - 0.5, want, tier, rtol=1e-12)
    y = lh.array(xn, split=split)  # user data is never overwritten
    over_user = _thrice(lambda: lh.tanh(y * 2.0 + 1.0), np.tanh(xn * 2.0 + 1.0), tier,
                        rtol=1e-12)
    check(y, xn)

    def in_place(per_run):
        runs = _compiled_runs(per_run)
        if not HAVE_COMPILER:
            return
        for r in runs + per_run[2].runs:
            donated = [k for k, a in enumerate(r.args) if a is r.out]
            assert len(donated) == 1, "the output is not written over an input"
            # the product, now dead
            assert r.node.inputs[donated[0]].op in ("matmul", "allreduce")
            assert r.value.data_ptr() == r.out.data_ptr() or not r.out.numel()

    def fresh(per_run):
        runs = _compiled_runs(per_run)
        if not HAVE_COMPILER:
            return
        for r in runs + per_run[2].runs:
            assert r.out is not None and not any(a is r.out for a in r.args)
            assert not r.out.numel() or all(a.data_ptr() != r.out.data_ptr() for a in r.args)

    _everywhere(in_place, over_temp)
    _everywhere(fresh, over_user)
