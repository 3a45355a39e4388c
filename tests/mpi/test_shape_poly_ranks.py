"""Shape-polymorphic plans on several ranks: new sizes of a known expression reuse its plan
(resized: counts rebalanced, all-reduce states re-priced) and match NumPy, with blocks of
every size, more ranks than rows included. The suite compares every resized plan with
planning its sizes anew (``planner.VERIFY_PASSES``)."""

import numpy as np
import pytest
from _util import check, lh, make

from lazyheat import planner

# rows and columns both repeat with the other one new: whichever is exact in the key (the
# sizes of communication), some shape comes again with it and reuses the plan
SIZES = ((9, 10), (14, 10), (23, 10), (2, 10), (9, 12), (14, 13), (31, 10), (17, 10))


@pytest.fixture(autouse=True)
def fresh_cache():
    planner.clear_plan_cache()
    yield
    planner.clear_plan_cache()


@pytest.mark.parametrize("split", [None, 0, 1])
def test_elementwise_and_reductions_over_new_sizes(split):
    for k, shape in enumerate(SIZES):
        a = make(shape, "float64", seed=k)
        x = lh.array(a, split=split)
        y = lh.exp(x) * 2 - x
        got = lh.compute(y, y.sum(0), (x * x).mean(0), x.max(0), x.argmin(1), x.std(0))
        ref = [np.exp(a) * 2 - a, (np.exp(a) * 2 - a).sum(0), (a * a).mean(0), a.max(0),
               a.argmin(1), a.std(0)]
        for g, r in zip(got, ref):
            check(g, r)
    assert planner.plan_cache_info()["resized"] > 0


def test_split_operands_of_new_sizes():
    """Two operands split on different axes: one moves (the same choice at every size)."""
    for k, n in enumerate((6, 9, 12, 15)):
        a, b = make((n, n), "float32", seed=k), make((n, n), "float32", seed=k + 9)
        x, y = lh.array(a, split=0), lh.array(b, split=1)
        check((x * y + 1).sum(1), (a * b + 1).sum(1))
