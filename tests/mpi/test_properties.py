"""Randomised programs (hypothesis) checked against NumPy on any number of ranks.

Every rank must draw the same examples, so the search is derandomized, has no
example database and no timing-based checks (a deadline or a health check that
fired on one rank only would send the ranks down different paths).
"""

import numpy as np
from _util import check, lh, make
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=100,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)

splits = st.sampled_from([None, 0, 1])


def _split_for(draw, ndim):
    return draw(st.sampled_from([None] + list(range(ndim))))


def _slice(draw, n):
    step = draw(st.sampled_from([1, 1, 2, 3, -1, -2]))
    start = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
    stop = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
    return slice(start, stop, step)


def _step(draw, x, a):
    """Apply one randomly chosen operation to the pair (lazy x, NumPy a)."""
    ops = ["add", "mul", "neg", "abs", "slice", "resplit", "balance", "where"]
    if a.ndim == 2:
        ops += ["T", "sum", "max", "matmul", "reshape", "concat", "index"]
    if a.ndim == 1:
        ops += ["sum", "expand"]
    op = draw(st.sampled_from(ops))
    if op == "add":
        other = make(a.shape, a.dtype, seed=draw(st.integers(0, 99)), integral=True)
        return x + lh.array(other, split=_split_for(draw, a.ndim)), a + other
    if op == "mul":
        k = draw(st.integers(-3, 3))
        return x * k, a * k
    if op == "neg":
        return -x, -a
    if op == "abs":
        return lh.abs(x), np.abs(a)
    if op == "where":
        return lh.where(x > 0, x, 0), np.where(a > 0, a, 0)
    if op == "slice":
        if a.ndim == 0:
            return x, a
        key = tuple(_slice(draw, n) for n in a.shape)
        return x[key], a[key]
    if op == "index":
        if a.shape[0] == 0:
            return x, a
        i = draw(st.integers(-a.shape[0], a.shape[0] - 1))
        return x[i], a[i]
    if op == "resplit":
        return lh.resplit(x, _split_for(draw, a.ndim)), a
    if op == "balance":
        return x.balance(), a
    if op == "T":
        return x.T, a.T
    if op in ("sum", "max"):
        axis = draw(st.sampled_from([None] + list(range(a.ndim))))
        if op == "max" and (a.size == 0 or (axis is not None and a.shape[axis] == 0)):
            return x, a
        return getattr(x, op)(axis=axis), getattr(a, op)(axis=axis)
    if op == "matmul":
        return x @ x.T, a @ a.T
    if op == "reshape":
        return x.reshape(-1), a.reshape(-1)
    if op == "expand":
        return lh.expand_dims(x, 0), np.expand_dims(a, 0)
    if op == "concat":
        return lh.concatenate([x, x[::-1]], axis=0), np.concatenate([a, a[::-1]], axis=0)
    raise AssertionError(op)


@SETTINGS
@given(data=st.data())
def test_random_programs(data):
    draw = data.draw
    shape = (draw(st.integers(0, 9)), draw(st.integers(1, 6)))
    dtype = draw(st.sampled_from(["float64", "int64"]))
    # small integer values keep float arithmetic exact, so results compare exactly
    a = make(shape, dtype, seed=draw(st.integers(0, 99)), low=-4, high=5, integral=True)
    x = lh.array(a, split=draw(splits))
    for _ in range(draw(st.integers(1, 4))):
        x, a = _step(draw, x, a)
        assert x.shape == a.shape and x.dtype == a.dtype
    check(x, a, rtol=0, atol=0)


@SETTINGS
@given(
    m=st.integers(0, 8),
    k=st.integers(1, 6),
    n=st.integers(1, 5),
    sa=splits,
    sb=splits,
    seed=st.integers(0, 99),
)
def test_random_matmul(m, k, n, sa, sb, seed):
    a = make((m, k), "float64", seed=seed, low=-3, high=4, integral=True)
    b = make((k, n), "float64", seed=seed + 1, low=-3, high=4, integral=True)
    x, y = lh.array(a, split=sa), lh.array(b, split=sb)
    check(x @ y, a @ b, rtol=0, atol=0)
    check((x @ y).sum(axis=0), (a @ b).sum(axis=0), rtol=0, atol=0)


@SETTINGS
@given(
    rows=st.lists(st.integers(0, 3), min_size=1, max_size=4),
    cols=st.integers(1, 4),
    dst=splits,
)
def test_random_from_local_layouts(rows, cols, dst):
    import torch
    from _util import RANK, SIZE

    # rank r contributes rows[r % len(rows)] rows; blocks may be empty
    counts = [rows[r % len(rows)] for r in range(SIZE)]
    start = sum(counts[:RANK])
    total = sum(counts)
    full = np.arange(total * cols, dtype="f8").reshape(total, cols)
    x = lh.from_local(torch.from_numpy(full[start : start + counts[RANK]].copy()), split=0)
    assert x.shape == (total, cols)
    check(x, full, rtol=0, atol=0)
    check(lh.resplit(x, dst), full, rtol=0, atol=0)
    check(x.sum(axis=0), full.sum(axis=0), rtol=0, atol=0)
    check((x + x[::-1]).T, (full + full[::-1]).T, rtol=0, atol=0)
    check(x.balance(), full, rtol=0, atol=0)
