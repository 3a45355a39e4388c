"""Overlap of communication and compute on every rank count: the non-blocking collectives
give exactly what the blocking ones give, and plans give the same bits with overlap on and
off (``LAZYHEAT_OVERLAP``), NumPy agreeing."""

import json

import numpy as np
import pytest
import torch
from _util import COMM, RANK, SIZE, lh, make, raise_if_any

from lazyheat.graph.layout import balanced_counts
from lazyheat.planner import reference
from lazyheat.runtime import comm as cm
from lazyheat.runtime import nbcomm as nb

DTYPES = (torch.float32, torch.float64, torch.float16, torch.int64, torch.bool,
          torch.complex64)


def _same(a, b) -> str | None:
    """None when ``a`` and ``b`` (tensors, or lists or tuples of them) are identical."""
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{len(a)} != {len(b)} values"
        return next((e for e in map(_same, a, b) if e), None)
    if a.dtype != b.dtype or a.shape != b.shape or not torch.equal(a, b):
        return f"{a.dtype}{tuple(a.shape)} != {b.dtype}{tuple(b.shape)} or values differ"
    return None


def _block(shape, dtype, seed):
    """This rank's own data (it differs between ranks, as partial values do)."""
    data = torch.from_numpy(make(shape, np.float64, seed=seed + 7 * RANK))
    return data.to(dtype) if dtype != torch.bool else data > 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_posted_collectives_give_what_blocking_ones_give(dtype):
    world = lh.world()
    err = None
    t = _block((5, 3), dtype, 1)
    ops = ["land", "lor"] if dtype == torch.bool else ["sum", "max"]
    if dtype.is_complex:
        ops = ["sum"]
    for op in ops:
        err = err or _same(nb.start_allreduce(world, t, op).wait(), cm.allreduce(world, t, op))
    err = err or _same(nb.start_allgather_stack(world, t).wait(), cm.allgather_stack(world, t))
    parts = [t, _block((2,), dtype, 2), _block((0, 4), dtype, 3)]
    err = err or _same(nb.start_allgather_packed(world, parts).wait(),
                       cm.allgather_packed(world, parts))
    if hasattr(cm, "reduce_scatter") and not dtype.is_complex:
        op = "lor" if dtype == torch.bool else "sum"
        whole = _block((2 * SIZE + 1, 3), dtype, 4)
        counts = balanced_counts(whole.shape[0], SIZE)
        err = err or _same(nb.start_reduce_scatter(world, whole, op, 0, counts).wait(),
                           cm.reduce_scatter(world, whole, op, 0, counts))
    raise_if_any(err)


@pytest.mark.parametrize("shape", [(7, 5), (3, 4), (1, 6), (0, 3)])
@pytest.mark.parametrize("moves", [(0, 1), (1, 0), (0, None), (1, None), (None, 0), (0, 0)])
def test_posted_redistributions_give_what_blocking_ones_give(shape, moves):
    world = lh.world()
    src_split, dst_split = moves
    src_counts = None if src_split is None else balanced_counts(shape[src_split], SIZE)
    dst_counts = None if dst_split is None else balanced_counts(shape[dst_split], SIZE)
    if moves == (0, 0):  # a rebalance: everything on the last rank first
        src_counts = tuple([0] * (SIZE - 1) + [shape[0]])
    whole = torch.from_numpy(make(shape, np.float32, seed=5))
    if src_split is None:
        t = whole
    else:
        lo = sum(src_counts[:RANK])
        t = whole.narrow(src_split, lo, src_counts[RANK]).contiguous()
    args = (world, t, shape, (src_split, src_counts), (dst_split, dst_counts))
    raise_if_any(_same(nb.start_redistribute(*args).wait(), cm.redistribute(*args)))


def _plans():
    """(name, build) of plans with collectives and independent work beside them."""
    a = make((37, 12), np.float32, seed=11)
    b = make((53,), np.float64, seed=12)

    def resplit_and_reduce():
        x, y = lh.array(a, split=0), lh.array(b, split=0)
        return lh.resplit(x, 1), (lh.sin(y) * 2 + lh.cos(y)).sum(), lh.resplit(x, None)

    def gram_and_moments():
        x, y = lh.array(a, split=0), lh.array(b, split=0)
        return x.T @ x, lh.exp(y).max(), x.mean(0), x.std(0), (x * 3).sum(1)

    def chain():
        x = lh.array(a, split=0)
        z = lh.resplit(x + 1, 1)
        return lh.resplit(z * 2, 0).sum(0), (x - x.mean()).sum(), z.T @ x

    return [("resplit_and_reduce", resplit_and_reduce), ("gram_and_moments", gram_and_moments),
            ("chain", chain)]


@pytest.mark.parametrize("name, build", _plans())
def test_values_are_the_same_bits_with_overlap_on_and_off(name, build, monkeypatch):
    monkeypatch.setenv("LAZYHEAT_OVERLAP", "1")
    on = [v.numpy() for v in lh.compute(*build())]
    plan = lh.plan(*build())
    overlapped = plan.schedule is not None
    monkeypatch.setenv("LAZYHEAT_OVERLAP", "0")
    off = [v.numpy() for v in lh.compute(*build())]
    ref = reference(*build())
    err = None
    if SIZE > 1 and name == "resplit_and_reduce" and not overlapped:
        err = "nothing overlapped in a plan made to overlap"
    for k, (u, v, r) in enumerate(zip(on, off, ref)):
        if not np.array_equal(u, v):
            err = err or f"output {k}: overlap on and off differ"
        if not np.allclose(u, r, rtol=1e-4, atol=1e-4):
            err = err or f"output {k} differs from the reference"
    raise_if_any(err)


def test_a_trace_shows_issue_and_wait(tmp_path, monkeypatch):
    monkeypatch.setenv("LAZYHEAT_OVERLAP", "1")
    path = COMM.bcast(str(tmp_path), root=0) + "/overlap.json"
    x = lh.array(make((64, 32), np.float32, seed=3), split=0)
    y = lh.array(make((4000,), np.float32, seed=4), split=0)

    def build():
        return lh.resplit(x, 1), (lh.sin(y) * 2 + lh.cos(y)).sum()

    sched = lh.plan(*build()).schedule
    with lh.trace(path):
        lh.compute(*build())
    err = None
    if RANK == 0:
        with open(path, encoding="utf-8") as f:
            events = [e for e in json.load(f)["traceEvents"] if e["ph"] != "M"]
        mine = [e for e in events if e["tid"] == 1]
        spans = [e for e in mine if "issued_at_step" in e.get("args", {})]
        waits = [e for e in mine if e["cat"] == "wait" and e["name"].startswith("wait ")]
        issues = [e for e in mine if e["cat"] == "issue"]
        if SIZE == 1:
            err = "one rank overlapped something" if spans or waits or issues else None
        elif sched is None or not spans:
            err = "no overlapped collective in the trace"
        else:
            (want,) = sched.spans.values()
            got = spans[0]["args"]
            if (got["issued_at_step"], got["waited_at_step"]) != want:
                err = f"trace steps {got} != schedule {want}"
            elif len(waits) != 1 or len(issues) != 1:
                err = f"{len(issues)} issue marks and {len(waits)} wait spans"
            else:
                end = spans[0]["ts"] + spans[0]["dur"]
                w = waits[0]
                if not (spans[0]["ts"] <= issues[0]["ts"] and w["ts"] + w["dur"] <= end + 1):
                    err = "the wait is not inside the collective's span"
    raise_if_any(err)


def test_analyze_shows_the_steps_it_ran(monkeypatch):
    monkeypatch.setenv("LAZYHEAT_OVERLAP", "1")
    x = lh.array(make((64, 32), np.float32, seed=3), split=0)
    y = lh.array(make((4000,), np.float32, seed=4), split=0)
    text = str.__str__(lh.explain(lh.resplit(x, 1), (lh.sin(y) * 2).sum(), analyze=True))
    marked = "issued at step" in text and "overlap: 1 collective(s)" in text
    raise_if_any(None if marked == (SIZE > 1) else f"marks {marked} on {SIZE} rank(s)")
