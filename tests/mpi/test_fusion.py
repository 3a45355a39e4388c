"""Fused, chunked, batched and rewritten plans give NumPy's values on any number of ranks.

A tiny chunk size forces the chunked path of fused kernels (uneven last chunks included),
so every closing reduction's chunk combination is exercised against NumPy."""

import json
import warnings

import numpy as np
import pytest
from _util import SHAPES_2D, SPLITS_2D, check, lh, make

CLOSERS = ("sum", "mean", "prod", "min", "max", "any", "all", "var", "std", "argmin",
           "argmax", "norm")
AXES = (None, 0, 1, (0, 1))


@pytest.fixture(params=["7", "0"], ids=["chunked", "whole"])
def chunk(request, monkeypatch):
    monkeypatch.setenv("LAZYHEAT_CHUNK", request.param)
    return int(request.param)


def _reduce(fn, x, axis, keepdims):
    if fn in ("argmin", "argmax"):
        axis = axis if not isinstance(axis, tuple) else None
        return getattr(x, fn)(axis=axis, keepdims=keepdims)
    if fn == "norm":
        return lh.norm(x, axis=axis, keepdims=keepdims) if isinstance(x, lh.LazyArray) else \
            np.sqrt((x * x).sum(axis=axis, keepdims=keepdims))
    return getattr(x, fn)(axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("fn", CLOSERS)
@pytest.mark.parametrize("split", SPLITS_2D)
def test_fused_chain_closed_by_each_reduction(fn, split, chunk):
    xn = make((23, 5), "float32", seed=1)
    yn = make((23, 5), "float32", seed=2)
    x, y = lh.array(xn, split=split), lh.array(yn, split=split)
    for axis in AXES:
        for keepdims in (False, True):
            if fn in ("argmin", "argmax", "norm") and axis == (0, 1):
                continue
            got = _reduce(fn, (x * 0.5 + y).tanh() - x, axis, keepdims)
            want = _reduce(fn, np.tanh(xn * np.float32(0.5) + yn) - xn, axis, keepdims)
            if fn in ("any", "all"):
                got = _reduce(fn, (x * 0.5 + y) > 0.1, axis, keepdims)
                want = _reduce(fn, (xn * np.float32(0.5) + yn) > 0.1, axis, keepdims)
            check(got, np.asarray(want), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", SHAPES_2D)
@pytest.mark.parametrize("split", SPLITS_2D)
def test_fused_elementwise_with_broadcast_inputs(shape, split, chunk):
    xn = make(shape, "float64", seed=3)
    x = lh.array(xn, split=split)
    if shape[0] == 0:
        return
    mean, std = xn.mean(0), xn.std(0)
    z = (x - x.mean(0)) / (x.std(0) + 1.0)
    check(z, (xn - mean) / (std + 1.0))
    row = lh.array(xn[:1], split=None)
    check(((x * row) + 2).abs().sqrt(), np.sqrt(np.abs(xn * xn[:1] + 2)))


@pytest.mark.parametrize("dtype", ["int32", "int64", "float16", "bool", "complex64"])
def test_fused_kernels_keep_dtype_rules(dtype, chunk):
    xn = make((19, 3), dtype, seed=4)
    x = lh.array(xn, split=0)
    if dtype == "bool":
        check((x & ~x[::-1]) | x, (xn & ~xn[::-1]) | xn)
        check(((x ^ True) | x).sum(0), ((xn ^ True) | xn).sum(0))
        return
    check((x * 3 + 1) * x, (xn * 3 + 1) * xn)
    check(((x * 2) - 1).sum(0), ((xn * 2) - 1).sum(0), rtol=1e-2)
    if dtype.startswith("int"):
        check((x * 7 // 3 % 5).max(1), (xn * 7 // 3 % 5).max(1))


def test_fused_kernels_never_overwrite_user_data(chunk):
    an = make((50, 4), "float32", seed=5)
    a = lh.array(an, split=0).compute()
    b = (a * 2).compute()
    for _ in range(3):
        c = ((a + 1) * 3 - b).exp()
        d = (c * 2 + a).sum(1)
        check(d, (np.exp((an + 1) * 3 - an * 2) * 2 + an).sum(1), rtol=1e-4)
    check(a, an)
    check(b, an * 2)
    w = lh.array(make((4, 4), "float32", seed=6))
    check(((a @ w) * 2 + 1).exp(), np.exp((an @ w.numpy()) * 2 + 1), rtol=1e-4)


def test_batched_statistics_match_numpy():
    xn = make((31, 6), "float64", seed=7)
    x = lh.array(xn, split=0)
    outs = lh.compute(x.mean(0), x.std(0), x.sum(), x.max(), x.min(), x.argmin(), x.var(1))
    want = [xn.mean(0), xn.std(0), xn.sum(), xn.max(), xn.min(), xn.argmin(), xn.var(1)]
    for got, w in zip(outs, want):
        check(got, np.asarray(w))


@pytest.mark.parametrize("split", SPLITS_2D)
def test_transpose_sum_rewrite_matches_numpy(split):
    xn = make((9, 9), "float32", seed=8)
    x = lh.array(xn, split=split)
    check((x.T + x).sum(0), (xn.T + xn).sum(0), rtol=1e-5, atol=1e-5)
    check((x - x.T).mean(1), (xn - xn.T).mean(1), rtol=1e-5, atol=1e-5)
    check((x.T + x).sum(1), (xn.T + xn).sum(1), rtol=1e-5, atol=1e-5)


def test_plan_cache_across_iterations_on_all_ranks():
    xn = make((40, 3), "float64", seed=9)
    x = lh.array(xn, split=0)
    c = x[:4].resplit(None).compute()
    cn = xn[:4].copy()
    for _ in range(3):  # a Lloyd iteration: same graph, new centers
        d = (x * x).sum(1, keepdims=True) - 2 * (x @ c.T) + (c * c).sum(1)
        labels = d.argmin(1)
        onehot = (labels.reshape(40, 1) == lh.arange(4)).astype("float64")
        c = ((onehot.T @ x) / onehot.sum(0).reshape(4, 1)).compute()
        dn = (xn * xn).sum(1, keepdims=True) - 2 * (xn @ cn.T) + (cn * cn).sum(1)
        oh = (dn.argmin(1)[:, None] == np.arange(4)).astype("float64")
        cn = (oh.T @ xn) / oh.sum(0)[:, None]
    check(c, cn)


def test_analyze_gathers_measurements_from_every_rank():
    x = lh.random.randn(100, 4, split=0, seed=1)
    doc = json.loads(lh.explain((x * 2).sum(0), analyze=True, format="json"))
    measured = [n["measured"] for n in doc["nodes"] if "measured" in n]
    assert measured and all(m["seconds_max"] >= m["seconds_min"] for m in measured)


@pytest.mark.parametrize("shape", [(7, 5), (0, 3), (1, 6), (3, 4), (10, 3, 2)])
@pytest.mark.parametrize("split", [None, 0, 1])
def test_moments_over_all_axes_read_off_finer_states(shape, split):
    xn = make(shape, "float32", seed=10)
    x = lh.array(xn, split=split)
    outs = lh.compute(x.mean(), x.std(), x.var(ddof=1), x.mean(0), x.std(0), x.mean(1),
                      x.std(1))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy warns about empty slices; values are NaN
        want = [xn.mean(), xn.std(), xn.var(ddof=1), xn.mean(0), xn.std(0), xn.mean(1),
                xn.std(1)]
    for got, w in zip(outs, want):
        check(got, np.asarray(w, dtype=np.float32), rtol=1e-5, atol=1e-6)
