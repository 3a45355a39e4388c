"""Elementwise operators and functions, broadcasting and NumPy 2 type promotion."""

import operator

import numpy as np
import pytest
from _util import SHAPES_2D, SPLITS_2D, check, lh, make, valid_splits

FLOAT_UNARY = [
    "abs", "negative", "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "square",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
    "floor", "ceil", "round", "trunc", "sign", "isnan", "isinf", "isfinite",
]  # fmt: skip

INT_UNARY = ["abs", "negative", "square", "sign", "round", "isnan", "isinf", "isfinite"]


def _float_data(shape, dtype, seed=0):
    a = make(shape, dtype, seed=seed) * 2
    # values in [-1, 1] for the inverse trig functions are produced in the loop
    return a.astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES_2D + ((), (6,)))
def test_float_unary(shape, dtype):
    a = _float_data(shape, dtype)
    a_unit = np.tanh(a).astype(dtype)  # inside (-1, 1)
    a_pos = (np.abs(a) + 0.5).astype(dtype)
    with np.errstate(all="ignore"):
        for split in valid_splits(len(shape)):
            x = lh.array(a, split=split)
            for name in FLOAT_UNARY:
                data, xx = a, x
                if name in ("arcsin", "arccos"):
                    data, xx = a_unit, lh.array(a_unit, split=split)
                elif name in ("log", "log2", "log10", "sqrt"):
                    data, xx = a_pos, lh.array(a_pos, split=split)
                res = getattr(lh, name)(xx)
                assert res.split == split, name
                check(res, getattr(np, name)(data))
            # abs / negation via operators, builtins
            check(abs(x), np.abs(a))
            check(-x, -a)
            check(+x, +a)


def test_nonfinite_inputs():
    a = np.array([[0.0, -1.0, np.inf], [-np.inf, np.nan, 2.0]], dtype="f4")
    with np.errstate(all="ignore"):
        for split in SPLITS_2D:
            x = lh.array(a, split=split)
            for name in ("isnan", "isinf", "isfinite", "log", "sqrt", "exp", "sign", "abs"):
                check(getattr(lh, name)(x), getattr(np, name)(a))
            check(lh.logical_not(lh.isnan(x)), ~np.isnan(a))


@pytest.mark.parametrize("shape", [(7, 5), (3, 4), ()])
def test_int_unary_and_float_results(shape):
    a = make(shape, "int64", seed=2)
    a_pos = np.abs(a) + 1
    for split in valid_splits(len(shape)):
        x = lh.array(a, split=split)
        for name in INT_UNARY:
            check(getattr(lh, name)(x), getattr(np, name)(a))
        check(~x, ~a)
        # float functions of integers promote to float64 (NumPy rule)
        xp = lh.array(a_pos, split=split)
        for name in ("sqrt", "exp", "log", "sin"):
            check(getattr(lh, name)(xp), getattr(np, name)(a_pos))


def test_bool_unary():
    a = make((7, 5), "bool", seed=3)
    for split in SPLITS_2D:
        x = lh.array(a, split=split)
        check(~x, ~a)
        check(lh.logical_not(x), np.logical_not(a))
        check(lh.isnan(x), np.isnan(a))
        check(lh.isfinite(x), np.isfinite(a))


ARITH = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow]
INT_ARITH = [operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv,
             operator.mod]  # fmt: skip
COMPARE = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]
BITWISE = [operator.and_, operator.or_, operator.xor]


def test_broadcast_operands_split_on_different_axes():
    # on 3 and more ranks both operands are re-laid along axis 2
    an = make((6, 1, 5), "float32", seed=6)
    bn = make((1, 7, 5), "float32", seed=7)
    for sa, sb in ((0, 1), (0, 2), (2, 1), (None, 1), (0, 0)):
        a, b = lh.array(an, split=sa), lh.array(bn, split=sb)
        check(a + b, an + bn)
        check((a * b).sum(2), (an * bn).sum(2), rtol=1e-5)
        check(lh.maximum(a, b) - a, np.maximum(an, bn) - an)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_binary_all_split_pairs(dtype):
    a = make((7, 5), dtype, seed=4)
    b = make((7, 5), dtype, seed=5)
    b_nz = np.where(np.abs(b) < 0.1, 1.5, b).astype(dtype)
    a_pos = (np.abs(a) + 0.5).astype(dtype)
    with np.errstate(all="ignore"):
        for sa in SPLITS_2D:
            for sb in SPLITS_2D:  # includes the mixed split 0 / split 1 pairs
                x = lh.array(a, split=sa)
                y = lh.array(b_nz, split=sb)
                for op in ARITH + COMPARE + [operator.floordiv, operator.mod]:
                    lhs, data = (lh.array(a_pos, split=sa), a_pos) if op is operator.pow else (x, a)
                    check(op(lhs, y), op(data, b_nz))
                check(lh.maximum(x, y), np.maximum(a, b_nz))
                check(lh.minimum(x, y), np.minimum(a, b_nz))
                check(lh.arctan2(x, y), np.arctan2(a, b_nz))
                check(lh.where(x > y, x, y), np.where(a > b_nz, a, b_nz))
                check(lh.logical_and(x > 0, y > 0), np.logical_and(a > 0, b_nz > 0))
                check(lh.logical_or(x > 0, y > 0), np.logical_or(a > 0, b_nz > 0))
                check(lh.logical_xor(x > 0, y > 0), np.logical_xor(a > 0, b_nz > 0))


def test_int_and_bool_binary():
    a = make((7, 5), "int64", seed=6, low=-20, high=21)
    b = make((7, 5), "int64", seed=7, low=1, high=6) * np.where(make((7, 5), "bool", 8), 1, -1)
    p = make((7, 5), "bool", seed=9)
    q = make((7, 5), "bool", seed=10)
    shift = make((7, 5), "int64", seed=11, low=0, high=5)
    for sa in SPLITS_2D:
        for sb in (None, 0, 1):
            x, y = lh.array(a, split=sa), lh.array(b, split=sb)
            for op in INT_ARITH + COMPARE + BITWISE:
                check(op(x, y), op(a, b))
            s = lh.array(shift, split=sb)
            check(x << s, a << shift)
            check(x >> s, a >> shift)
            check(x ** lh.array(shift, split=sb), a**shift)
            u, v = lh.array(p, split=sa), lh.array(q, split=sb)
            for op in BITWISE + [operator.eq, operator.ne]:
                check(op(u, v), op(p, q))
            check(~u, ~p)
            check(lh.logical_and(u, v), p & q)


@pytest.mark.parametrize("sa", SPLITS_2D)
def test_broadcasting(sa):
    a = make((7, 5), "float32", seed=12)
    row = make((5,), "float32", seed=13)
    col = make((7, 1), "float32", seed=14)
    x = lh.array(a, split=sa)
    for sr in (None, 0):
        r = lh.array(row, split=sr)
        check(x + r, a + row)
        check(r * x, row * a)
        check(x - r, a - row)
    for sc in (None, 0, 1):
        c = lh.array(col, split=sc)
        check(x / c, a / col)
        check(c - x, col - a)
    # outer-product style broadcast of (7, 1) with (1, 5)
    cc = lh.array(col, split=0 if sa == 0 else None)
    rr = lh.array(row.reshape(1, 5), split=1 if sa == 1 else None)
    check(cc * rr, col * row.reshape(1, 5))
    # 3-D with 1-D and 0-d
    t = make((3, 4, 5), "float64", seed=15)
    for st in (None, 0, 1, 2):
        xt = lh.array(t, split=st)
        check(xt + lh.array(row.astype("f8")), t + row.astype("f8"))
        check(xt * lh.array(np.float64(3)), t * 3)


def test_scalar_operands_and_weak_promotion():
    f32 = make((7, 5), "float32", seed=16)
    i64 = make((7, 5), "int64", seed=17)
    bl = make((7, 5), "bool", seed=18)
    f64 = make((7, 5), "float64", seed=19)
    for split in SPLITS_2D:
        x = lh.array(f32, split=split)
        n = lh.array(i64, split=split)
        b = lh.array(bl, split=split)
        d = lh.array(f64, split=split)
        # weak Python scalars do not upcast (NumPy 2 / NEP 50)
        check(x * 2.0, f32 * 2.0)
        check(x + 2, f32 + 2)
        check(2.0 * x, 2.0 * f32)
        check(n / 2, i64 / 2)
        check(n + 1.5, i64 + 1.5)
        check(n + 2, i64 + 2)
        check(n * -3, i64 * -3)
        check(b + 1, bl + 1)
        check(b * 1.5, bl * 1.5)
        check(b | True, bl | True)
        check(b & b, bl & bl)
        # array-array promotion
        check(x + d, f32 + f64)
        check(n + x, i64 + f32)
        check(n * d, i64 * f64)
        check(b + n, bl + i64)
        check(b * x, bl * f32)
        # NumPy scalars are not weak
        check(x * np.float64(2.0), f32 * np.float64(2.0))
        # reflected operators (divisors kept away from zero)
        f32r = np.where(np.abs(f32) < 0.1, np.float32(0.75), f32)
        xr = lh.array(f32r, split=split)
        with np.errstate(all="ignore"):
            for op in (operator.add, operator.sub, operator.mul, operator.truediv,
                       operator.floordiv, operator.mod, operator.pow):  # fmt: skip
                check(op(2.5, xr), op(2.5, f32r))
                check(op(3, n + 10), op(3, i64 + 10))
        check(1 & n, 1 & i64)
        check(5 | n, 5 | i64)
        check(6 ^ n, 6 ^ i64)
        check(3 < x, 3 < f32)
        check(0.5 == x, 0.5 == f32)


def test_inplace_operators():
    a = make((7, 5), "float32", seed=20)
    k = make((7, 5), "int64", seed=21)
    for split in SPLITS_2D:
        x = lh.array(a, split=split)
        x += 1
        x *= 2.0
        x -= lh.array(a, split=0)
        x /= 4
        check(x, ((a + 1) * np.float32(2.0) - a) / 4)
        assert x.dtype == np.float32
        n = lh.array(k, split=split)
        n += 3
        n *= 2
        n //= 3
        n %= 5
        n |= 8
        n ^= 1
        n &= 13
        n <<= 1
        n >>= 1
        m = (((((k + 3) * 2) // 3) % 5) | 8) ^ 1
        m = ((m & 13) << 1) >> 1
        check(n, m)
        x **= 2
        check(x, (((a + 1) * np.float32(2.0) - a) / 4) ** 2, rtol=1e-5, atol=1e-6)


def test_clip_where_astype():
    a = make((7, 5), "float64", seed=22)
    k = make((7, 5), "int64", seed=23)
    for split in SPLITS_2D:
        x = lh.array(a, split=split)
        n = lh.array(k, split=split)
        check(lh.clip(x, -0.5, 0.5), np.clip(a, -0.5, 0.5))
        check(lh.clip(n, -2, 3), np.clip(k, -2, 3))
        check(lh.where(x > 0, x, 0.0), np.where(a > 0, a, 0.0))
        check(lh.where(n > 0, 1, -1), np.where(k > 0, 1, -1))
        check(lh.where(x > 0, n, x), np.where(a > 0, k, a))
        for dt in ("float32", "float64", "int64", "bool"):
            check(x.astype(dt), a.astype(dt))
            check(n.astype(dt), k.astype(dt))
        check(n.astype(np.float32) / 2, k.astype(np.float32) / 2)
    # where with broadcasting condition and mixed splits
    cond = make((7, 1), "bool", seed=24)
    check(
        lh.where(lh.array(cond, split=0), lh.array(a, split=1), lh.array(a[0], split=0)),
        np.where(cond, a, a[0]),
    )


def test_empty_arrays():
    a = np.zeros((0, 3), "f4")
    for split in SPLITS_2D:
        x = lh.array(a, split=split)
        check(x + 1, a + 1)
        check(lh.exp(x) * x, np.exp(a) * a)
        check(x > 0, a > 0)
        check(x + lh.ones(3), a + np.ones(3, "f4"))
