"""A cached plan's executor ``Program`` on every rank count: repeated computes of one
template (overlap on and off: one program per schedule) give NumPy's values, the same as
the first run's."""

import numpy as np
import pytest
from _util import SIZE, lh, make, raise_if_any

from lazyheat import planner


@pytest.mark.parametrize("overlap", ["1", "0"])
def test_repeated_computes_of_a_cached_plan_agree_with_numpy(overlap, monkeypatch):
    monkeypatch.setenv("LAZYHEAT_OVERLAP", overlap)
    lh.clear_plan_cache()
    errors = []
    for k in range(3):
        base = make((13, 4), np.float64, seed=k)
        x = lh.asarray(base, split=0)
        g = x.T @ x  # an all-reduce on several ranks
        s = ((x * 2 + 1) - x).sum(0)  # a second one, batched or overlapped with the first
        m = (x - x.mean(0)).resplit(1)  # an all-to-all
        got = lh.compute(g, s, m)
        want = (base.T @ base, ((base * 2 + 1) - base).sum(0), base - base.mean(0))
        for a, b in zip(got, want):
            if not np.allclose(a.numpy(), b, rtol=1e-12, atol=1e-12):
                errors.append(f"run {k}: {a.aval.type_str()} differs")
    info = lh.plan_cache_info()
    if info["misses"] != 1 or info["hits"] != 2:
        errors.append(f"plan cache {info}")
    entries = [e for e in planner._CACHE.values() if e[4]]
    if len(entries) != 1 or len(entries[0][4]) != 1:
        errors.append(f"{len(entries)} plans with programs, {SIZE} ranks")
    raise_if_any("; ".join(errors) or None)
