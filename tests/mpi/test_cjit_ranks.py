"""The C tier of fused groups (``runtime/cjit.py``) gives NumPy's values on any number of
ranks: split chains (inexact ops and a closing sum switch when their kernel is ready),
replicated exact groups (the same bits on both tiers) and replicated inexact groups (they
switch once the ranks agreed at a handshake that every rank has the kernel, so no two ranks
ever disagree on a replicated value)."""


import numpy as np
import pytest
from _util import COMM, SIZE, check, lh, make

from lazyheat.runtime import agreement, cjit, sync


@pytest.fixture(autouse=True)
def jit_on(monkeypatch):
    monkeypatch.setenv("LAZYHEAT_JIT", "1")
    monkeypatch.delenv("LAZYHEAT_FUSED_TIER", raising=False)
    lh.clear_plan_cache()
    lh.world()._agreement = None  # every rank alike: kernels agreed by earlier tests forgotten
    yield
    cjit.drain()


def _three_runs(expr):
    """The value of the third run (the first compiles in the background)."""
    expr().compute()
    cjit.drain()
    expr().compute()
    return expr()


@pytest.mark.parametrize("split", [None, 0])
@pytest.mark.parametrize("n", [1, 17, 5003])
def test_chain_with_sum(split, n):
    xa, ya = np.abs(make((n,), np.float32, 1)), np.abs(make((n,), np.float32, 2))
    a, b = lh.asarray(xa, split=split), lh.asarray(ya, split=split)
    got = _three_runs(lambda: ((a * 2 + b) / (a + 1)).exp().sum())
    check(got, np.exp((xa * 2 + ya) / (xa + 1)).sum(), rtol=1e-5)


@pytest.mark.parametrize("split", [None, 0])
def test_exact_elementwise_and_max(split):
    xa, ya = make((4001,), np.float64, 3), make((4001,), np.float64, 4)
    a, b = lh.asarray(xa, split=split), lh.asarray(ya, split=split)
    check(_three_runs(lambda: lh.where(a > b, a * 0.5, -b) - lh.minimum(a, 1.5)),
          np.where(xa > ya, xa * 0.5, -ya) - np.minimum(xa, 1.5))
    check(_three_runs(lambda: (lh.maximum(a, b) * 3).max()), (np.maximum(xa, ya) * 3).max())


def _same_bits_everywhere(value) -> bool:
    bits = np.asarray(value).tobytes()
    return all(b == bits for b in COMM.allgather(bits))


def test_replicated_inexact_groups_switch_together_once_agreed():
    xa = np.abs(make((3000,), np.float32, 5))
    a = lh.asarray(xa, split=None)
    before = cjit.STATS["runs"]
    got = _three_runs(lambda: lh.exp(a * 0.5).sum())
    check(got, np.exp(xa * 0.5).sum(), rtol=1e-5)
    # three runs: no handshake since the first (no collective, the data compared once), so
    # no agreement yet: every rank is still on the default tier
    assert SIZE == 1 or cjit.STATS["runs"] == before
    values = [got.item()]
    for _ in range(2 * agreement.PERIOD):  # plans without a handshake take one now and then
        values.append(lh.exp(a * 0.5).sum().item())
    assert SIZE == 1 or cjit.STATS["runs"] > before
    assert _same_bits_everywhere(np.array(values))
    assert max(abs(v - np.exp(xa * 0.5).sum()) for v in values) < 1e-5 * abs(values[0]) * 10


def test_new_replicated_arrays_switch_at_the_handshake_that_compares_them():
    # new replicated data read by plans without collectives is compared at a later
    # handshake (``sync.defer``), which carries the agreement
    xa = np.abs(make((2000,), np.float64, 6))
    values, reads = [], sync.DEFER_READS + 4
    for k in range(reads):
        a = lh.asarray(xa + k, split=None)
        values.append(lh.log(a * 2 + 1).sum().item())
        cjit.drain()
    assert _same_bits_everywhere(np.array(values))
    np.testing.assert_allclose(values, [np.log((xa + k) * 2 + 1).sum() for k in range(reads)],
                               rtol=1e-12)
    kernels = getattr(lh.world(), "_agreement", None)
    assert SIZE == 1 or not kernels.waiting  # agreed (or refused) by now
