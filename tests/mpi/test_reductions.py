"""Reductions as functions and methods: axis None/int/tuple/negative, keepdims."""

import numpy as np
import pytest
from _util import SPLITS_2D, check, lh, make, valid_splits

AXES_2D = (None, 0, 1, -1, (0, 1), (1, 0))
AXES_3D = (None, 0, 1, 2, -1, (0, 2), (1, 2), (0, 1, 2))


def _run_reductions(a, x, axes, names, **tol):
    for axis in axes:
        for keepdims in (False, True):
            for name in names:
                exp = getattr(np, name)(a, axis=axis, keepdims=keepdims)
                check(getattr(lh, name)(x, axis=axis, keepdims=keepdims), exp, **tol)
                if keepdims == (axis in (1, (0, 2))):  # methods: a subset suffices
                    check(getattr(x, name)(axis=axis, keepdims=keepdims), exp, **tol)


@pytest.mark.parametrize("shape", [(7, 5), (3, 4), (1, 6)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_reductions_2d(shape, dtype):
    a = make(shape, dtype, seed=30)
    for split in SPLITS_2D:
        x = lh.array(a, split=split)
        _run_reductions(a, x, AXES_2D, ["sum", "prod", "mean", "min", "max"])
        for axis in AXES_2D:
            count = a.size if axis is None else np.prod([shape[ax] for ax in np.atleast_1d(axis)])
            for ddof in (0, 1):
                if ddof >= count:
                    continue  # NumPy warns and returns inf/nan there
                check(lh.var(x, axis=axis, ddof=ddof), np.var(a, axis=axis, ddof=ddof))
                check(x.std(axis=axis, ddof=ddof), np.std(a, axis=axis, ddof=ddof))
            check(lh.std(x, axis=axis, keepdims=True), np.std(a, axis=axis, keepdims=True))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_moments_one_pass_kernel(dtype, monkeypatch):
    # the var_mean path GPUs take, run here on the CPU
    from lazyheat.runtime.kernels import reduce as reduce_kernels

    monkeypatch.setattr(reduce_kernels, "TWO_PASS_DEVICES", set())
    a = make((9, 4), dtype, seed=31)
    x = lh.array(a, split=0)
    ref = a.astype(np.float64)
    for axis in AXES_2D:
        check(x.var(axis=axis), np.var(ref, axis=axis).astype(a.dtype),
              rtol=2e-3 if dtype == "float16" else 1e-5)
        check(lh.compute(x.std(axis=axis, keepdims=True), x.mean(axis=axis, keepdims=True))[0],
              np.std(ref, axis=axis, keepdims=True).astype(a.dtype),
              rtol=2e-3 if dtype == "float16" else 1e-5)


@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_int_bool_reductions(dtype):
    a = make((7, 5), dtype, seed=31, low=-3, high=4)
    for split in SPLITS_2D:
        x = lh.array(a, split=split)
        names = ["sum", "any", "all"] + (["prod", "mean", "min", "max"] if dtype == "int64" else [])
        _run_reductions(a, x, AXES_2D, names)


def test_reductions_3d():
    a = make((4, 5, 3), "float64", seed=32)
    for split in valid_splits(3):
        x = lh.array(a, split=split)
        _run_reductions(a, x, AXES_3D, ["sum", "mean", "max", "min"])
        check(lh.var(x, axis=(0, 2)), np.var(a, axis=(0, 2)))


@pytest.mark.parametrize("shape", [(7, 5), (3, 4), (1, 6), (6, 1)])
def test_argmin_argmax(shape):
    # distinct values so ties do not matter
    a = np.random.default_rng(33).permutation(np.prod(shape)).reshape(shape).astype("f4") - 3
    for split in SPLITS_2D:
        x = lh.array(a, split=split)
        for axis in (None, 0, 1, -1):
            for name in ("argmin", "argmax"):
                exp = getattr(np, name)(a, axis=axis)
                check(getattr(lh, name)(x, axis=axis), exp)
                check(getattr(x, name)(axis=axis), exp)
    # ties: NumPy returns the first occurrence
    t = np.array([[1, 3, 3], [3, 0, 0], [3, 1, 0], [2, 3, 0]], dtype="i8")
    for split in SPLITS_2D:
        x = lh.array(t, split=split)
        for axis in (None, 0, 1):
            check(lh.argmax(x, axis=axis), np.argmax(t, axis=axis))
            check(lh.argmin(x, axis=axis), np.argmin(t, axis=axis))


def test_any_all_values():
    z = np.zeros((5, 4), bool)
    o = np.ones((5, 4), bool)
    m = z.copy()
    m[4, 3] = True
    for split in SPLITS_2D:
        for a in (z, o, m):
            x = lh.array(a, split=split)
            for axis in (None, 0, 1):
                check(lh.any(x, axis=axis), np.any(a, axis=axis))
                check(lh.all(x, axis=axis), np.all(a, axis=axis))
        f = lh.array(np.array([[0.0, 1.0], [0.0, 2.0]], "f4"), split=split)
        check(lh.any(f, axis=0), np.array([False, True]))
        check(lh.all(f), np.array(False))


def test_norm():
    a = make((7, 5), "float32", seed=34)
    for split in SPLITS_2D:
        x = lh.array(a, split=split)
        check(lh.norm(x), np.sqrt((a.astype("f8") ** 2).sum()).astype("f4"), rtol=1e-5)
        for axis in (0, 1, -1):
            check(lh.norm(x, axis=axis), np.linalg.norm(a, axis=axis), rtol=1e-5)
    v = make((9,), "float64", seed=35)
    for split in (None, 0):
        check(lh.norm(lh.array(v, split=split)), np.array(np.linalg.norm(v)))


def test_empty_and_scalar_reductions():
    e = np.zeros((0, 3), "f4")
    for split in SPLITS_2D:
        x = lh.array(e, split=split)
        check(lh.sum(x), np.sum(e))
        check(lh.sum(x, axis=0), np.sum(e, axis=0))
        check(lh.sum(x, axis=1), np.sum(e, axis=1))
        check(lh.prod(x, axis=0), np.prod(e, axis=0))
        check(lh.any(x), np.any(e))
        check(lh.all(x, axis=0), np.all(e, axis=0))
    s = lh.array(np.float64(2.5))
    check(lh.sum(s), np.sum(np.float64(2.5)))
    check(s.max(), np.array(2.5))
    check(lh.mean(s), np.array(2.5))


def test_reduction_of_expressions_and_mixed_splits():
    a = make((7, 5), "float64", seed=36)
    b = make((7, 5), "float64", seed=37)
    x, y = lh.array(a, split=0), lh.array(b, split=1)
    check(((x - y) ** 2).sum(axis=1), ((a - b) ** 2).sum(axis=1))
    check((x * y).mean(axis=0), (a * b).mean(axis=0))
    check(lh.sum(x + y, axis=(0, 1), keepdims=True), np.sum(a + b, axis=(0, 1), keepdims=True))
    check(x.sum(axis=0) + y.sum(axis=0), a.sum(axis=0) + b.sum(axis=0))
    check(x.max(axis=1) - y.min(axis=1), a.max(axis=1) - b.min(axis=1))
