"""Reduction states combined over ranks by each algorithm (all-gather, recursive doubling,
recursive halving) and each batch form, against NumPy: NaN propagation, first-occurrence
ties, empty blocks (more ranks than rows), complex moments; identical bits on every rank;
reduce-scatter of a partial sum consumed split."""

import numpy as np
import pytest
from _util import SIZE, check, lh, make, raise_if_any, same_everywhere

from lazyheat.graph import commcost
from lazyheat.planner import clear_plan_cache


@pytest.fixture(params=["allgather", "doubling", "halving"])
def algorithm(request):
    commcost.FORCE_STATE_ALGORITHM = request.param
    clear_plan_cache()
    yield request.param
    commcost.FORCE_STATE_ALGORITHM = None
    clear_plan_cache()


def _data():
    a = make((13, 6), "float32", seed=3)
    a[5, 2] = np.nan
    a[:, 4] = 1.0  # ties everywhere: the first occurrence wins
    return a


def test_state_reductions_every_algorithm(algorithm):
    a = _data()
    b = make((11, 3), "int64", seed=4)
    c = make((9, 4), "complex128", seed=5)
    x, y, z = lh.array(a, split=0), lh.array(b, split=0), lh.array(c, split=0)
    got = lh.compute(x.std(0), x.var(0, ddof=1), x.argmin(0), x.argmax(), x.max(0),
                     x.min(), y.argmax(0), y.min(0), lh.ptp(y, axis=0), z.var(0),
                     x.mean(0), y.std())
    ref = [a.std(0), a.var(0, ddof=1), a.argmin(0), a.argmax(), a.max(0), a.min(),
           b.argmax(0), b.min(0), np.ptp(b, 0), c.var(0), a.mean(0), b.std()]
    for g, r in zip(got, ref):
        check(g, r, rtol=1e-5, atol=1e-6)


def test_each_reduction_alone_and_bits_agree(algorithm):
    """Unbatched (one collective each), on rows fewer than ranks too; every rank holds
    the same bits."""
    for rows in (2, 10):
        a = make((rows, 5), "float64", seed=rows)
        x = lh.array(a, split=0)
        s = x.std(0)
        check(s, a.std(0))
        check(x.argmax(0), a.argmax(0))
        check(lh.ptp(x, axis=0), np.ptp(a, 0))
        assert same_everywhere(s.numpy().tobytes())


def test_plan_uses_the_forced_algorithm(algorithm):
    x = lh.array(_data(), split=0)
    text = lh.explain(x.std(0))
    if SIZE > 1:
        assert f"allreduce[moments state] ({algorithm})" in str.__str__(text)


def test_partial_sum_consumed_split_is_reduce_scattered():
    a = make((9, 14), "float64", seed=7)
    v = make((14,), "float64", seed=8)
    x, y = lh.array(a, split=0), lh.array(v, split=0)
    out = x.sum(0) + y
    text = str.__str__(lh.explain(out))
    err = None
    if SIZE > 1 and "reduce_scatter[sum]" not in text:
        err = "no reduce_scatter in the plan:\n" + text
    raise_if_any(err)
    check(out, a.sum(0) + v)


@pytest.mark.parametrize("dtype", ["float64", "int32", "uint32", "float32"])
def test_scans_along_the_split_axis_every_algorithm(algorithm, dtype):
    """cumsum / cumprod with the carries all-gathered or combined by an exclusive prefix."""
    a = make((11, 3), dtype, seed=9, low=0, high=4)
    x = lh.array(a, split=0)
    check(lh.cumulative_sum(x, axis=0), np.cumsum(a, axis=0), rtol=1e-5, atol=1e-5)
    if dtype.startswith("float"):
        b = make((11, 3), dtype, seed=10) * 0.5 + 1.0
        check(lh.cumulative_prod(lh.array(b, split=0), axis=0), np.cumprod(b, axis=0),
              rtol=1e-5, atol=1e-6)
    if SIZE > 1:
        text = str.__str__(lh.explain(lh.cumulative_sum(x, axis=0)))
        assert ("exscan[sum]" in text) == (algorithm != "allgather")
