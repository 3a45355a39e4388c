"""Replicated data read by plans without collectives is compared at a later handshake, and
replicated inexact groups switch to the C tier once every rank agreed: on any number of
ranks, sub-communicators and switches, every rank issues the same collectives and gets the
same bits, and the values are NumPy's."""

import numpy as np
import pytest
from _util import COMM, RANK, SIZE, check, lh, make, raise_if_any
from mpi4py import MPI

from lazyheat.runtime import cjit, sync
from lazyheat.runtime.comm import Comm


@pytest.fixture(autouse=True)
def fresh():
    lh.clear_plan_cache()
    yield
    cjit.drain()
    lh.clear_plan_cache()


def _same_bits_everywhere(values, comm=COMM) -> bool:
    bits = np.asarray(values).tobytes()
    return all(b == bits for b in comm.allgather(bits))


def test_deferred_reads_are_compared_before_a_collective():
    xa = make((40,), np.float64, 1)
    ctl = getattr(lh.world(), "_sync", None)
    values = []
    for k in range(5):  # fewer reads than a handshake of their own needs
        a = lh.asarray(xa + k, split=None)
        values.append(((a * 2.0) - a).sum().item())
    np.testing.assert_allclose(values, [np.sum(xa + k) for k in range(5)], rtol=1e-12)
    s = lh.asarray(xa, split=0)
    check((s * 3.0).sum(), np.sum(xa * 3.0), rtol=1e-12)  # a collective: compared by now
    raise_if_any(None if SIZE == 1 or not ctl.deferred else f"left {ctl.deferred}")
    assert _same_bits_everywhere(values)


def test_many_new_replicated_arrays_and_shapes():
    values = []
    for k in range(2 * sync.DEFER_READS + 3):
        n = 3 + k % 4  # new shapes of one expression, new data every time
        xa = make((n,), np.float32, k)
        a = lh.asarray(xa, split=None)
        values.append(float(lh.exp(a * 0.5).sum().item()))
        cjit.drain()
    want = [np.exp(make((3 + k % 4,), np.float32, k) * 0.5).sum()
            for k in range(2 * sync.DEFER_READS + 3)]
    np.testing.assert_allclose(values, want, rtol=1e-5)
    assert _same_bits_everywhere(values)


def test_a_sub_communicator_compares_new_data_at_once():
    color = RANK % 2 if SIZE > 2 else 0  # on 3 ranks: one of 2 ranks and one alone
    sub = Comm(COMM.Split(color, RANK))
    try:
        xa = make((12,), np.float64, 3)
        a = lh.asarray(xa + color, split=None, comm=sub)
        got = ((a + 1.0) * a).sum().item()
        assert got == pytest.approx(np.sum((xa + color + 1.0) * (xa + color)))
        ctl = getattr(sub, "_sync", None)
        # no handshake at the end of the script on this communicator: nothing may wait
        raise_if_any(None if ctl is None or not ctl.deferred else f"left {ctl.deferred}")
        s = lh.asarray(xa, split=0, comm=sub)
        got = (s * s).sum().item()
        raise_if_any(None if got == pytest.approx(np.sum(xa * xa)) else f"sum {got}")
    finally:
        sub.mpi.Free()


@pytest.mark.parametrize("var", ["LAZYHEAT_CHECK", "LAZYHEAT_PLAN_CACHE", "LAZYHEAT_JIT"])
def test_replicated_inexact_loop_with_a_switch_off(monkeypatch, var):
    monkeypatch.setenv(var, "0")
    xa = np.abs(make((500,), np.float32, 7))
    a = lh.asarray(xa, split=None)
    values = []
    for _ in range(40):
        values.append(lh.log(a * 2.0 + 1.0).sum().item())
        cjit.drain()
    assert _same_bits_everywhere(values)
    np.testing.assert_allclose(values, np.log(xa * 2 + 1).sum(), rtol=1e-5)


@pytest.mark.parametrize("n", [0, 1, 7])
def test_split_and_replicated_mixed_with_edge_shapes(n):
    xa = make((n,), np.float64, 9)
    for k in range(3):
        s = lh.asarray(xa + k, split=0)
        r = lh.asarray(xa - k, split=None)
        check(s * 2.0 + r, (xa + k) * 2.0 + (xa - k), rtol=1e-12)
        check((r * r).sum() + (s - r).sum(), np.sum((xa - k) ** 2) + 2.0 * k * n,
              rtol=1e-12, atol=1e-12)
    z = lh.asarray(np.float64(3.5), split=None)
    check(z * z - 1.0, np.float64(3.5) ** 2 - 1.0)
    c = lh.asarray((xa + 1j * xa).astype(np.complex128), split=0)
    check((c * c.conj()).sum(), np.sum((xa + 1j * xa) * (xa - 1j * xa)), rtol=1e-12,
          atol=1e-12)


def test_collectives_pair_after_deferred_reads_at_every_rank_count():
    # the world communicator's handshakes stay paired: a reduction over ranks after many
    # plans without collectives gives every rank the same value
    for k in range(sync.DEFER_READS + 1):
        a = lh.asarray(np.full(4, float(k)), split=None)
        assert (a * 2.0).sum().item() == 8.0 * k
    total = COMM.allreduce(1, op=MPI.SUM)
    assert total == SIZE
    s = lh.asarray(np.arange(10.0), split=0)
    check(s.sum(), 45.0)
