"""Regression tests for semantics that once went wrong (NumPy is the oracle)."""

import warnings

import numpy as np
import pytest
from _util import check, lh


def test_broadcast_batch_matmul_keeps_output_layout():
    a, b = np.arange(20.0).reshape(1, 4, 5), np.ones((3, 5, 2))
    for sa in (None, 0, 1):
        for sb in (None, 0, 2):
            check(lh.array(a, split=sa) @ lh.array(b, split=sb), a @ b)


def test_inplace_refuses_shape_change_and_unsafe_casts():
    x = lh.zeros(3, split=0)
    with pytest.raises(ValueError, match="in-place"):
        x += lh.ones((2, 3), split=0)
    u = lh.array(np.array([1, 2], np.uint8), split=0)
    with pytest.raises(TypeError, match="same_kind"):
        u += lh.array(np.array([1, 2], np.int8), split=0)
    i = lh.array(np.arange(4), split=0)
    i *= 3
    check(i, np.arange(4) * 3)


def test_complex_abs_and_half_precision_mean():
    z = np.array([3 + 4j, 1j, -2 + 0j])
    check(abs(lh.array(z, split=0)), np.abs(z))
    h = lh.ones(70000, dtype=lh.float16, split=0)
    assert h.mean().item() == 1.0


def test_var_with_large_ddof_and_empty_axes():
    x = np.arange(4.0)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for split in (None, 0):
            a = lh.array(x, split=split)
            assert lh.var(a, ddof=6).item() == np.var(x, ddof=6)
            check(lh.std(a, axis=(), ddof=1), np.std(x, axis=(), ddof=1))


def test_norm_and_round_of_integers():
    v = np.array([-128, 5, 3], np.int8)
    check(lh.norm(lh.array(v, split=0)), np.linalg.norm(v))
    b = np.array([True, False, True])
    check(lh.norm(lh.array(b, split=0)), np.linalg.norm(b))
    r = np.array([15, 25, -35, 44])
    check(lh.round(lh.array(r, split=0), -1), np.round(r, -1))


def test_python_ints_outside_the_dtype():
    u = np.array([0, 200], np.uint8)
    x = lh.array(u, split=0)
    check(x < -1, u < -1)
    check(x == 300, u == 300)
    check(lh.clip(lh.array(np.array([1, 100], np.int8), split=0), 0, 1000),
          np.clip(np.array([1, 100], np.int8), 0, 1000))
    with pytest.raises(OverflowError):
        x + 300


def test_signed_zero_is_not_merged_by_cse():
    x = lh.ones(2, split=0)
    a, b = lh.compute(1 / (x * 0.0), 1 / (x * -0.0))
    check(b, np.array([-np.inf, -np.inf], np.float32))
    check(a, np.array([np.inf, np.inf], np.float32))


def test_scalars_in_any_position_and_bool_kernels():
    a = np.array([[1.0, -2.0], [0.0, 3.0]])
    for split in (None, 0, 1):
        x = lh.array(a, split=split)
        check(lh.less(2, x), np.less(2, a))
        check(lh.logical_and(x, 1), np.logical_and(a, 1))
        check(lh.where(True, x, 0.0), np.where(True, a, 0.0))
        bx = x > 0
        check(bx @ bx, (a > 0) @ (a > 0))
        check(bx.argmax(0), (a > 0).argmax(0))
        check(bx << True, (a > 0) << True)
    with pytest.raises(TypeError):
        lh.less(lh.array(np.array([1j])), 2)


def test_equality_with_none_and_numpy_scalar_fill():
    x = lh.ones(3, split=0)
    check(x == None, np.ones(3) == None)  # noqa: E711
    check(x != None, np.ones(3) != None)  # noqa: E711
    check(lh.full((2,), np.int16(3), split=0), np.full((2,), np.int16(3)))
    check(lh.linspace(-5, 0, 4, dtype=lh.int64), np.linspace(-5, 0, 4, dtype=np.int64))


def test_from_local_copies_its_block():
    loc = np.arange(3.0)
    x = lh.from_local(loc, split=0)
    loc[:] = -1
    assert (x.numpy() >= 0).all()


def test_nan_predicates_in_chunked_fused_groups():
    """isnan/isinf/isfinite have no out= form in torch: large (chunked) fused groups that
    contain them must still run."""
    a = np.random.default_rng(0).standard_normal((300_000, 3))
    a[5, 1], a[7, 2] = np.nan, np.inf
    x = lh.array(a, split=0)
    check(lh.isnan(x).sum(0), np.isnan(a).sum(0))
    check((~lh.isfinite(x)).sum(), (~np.isfinite(a)).sum())
    check(lh.isinf(x * 2).any(1).sum(), np.isinf(a * 2).any(1).sum())
