"""Traces and the progress bar on every rank count: rank 0 writes one file with one track per
rank, clocks aligned, and collectives carrying the bytes the plan says each rank receives."""

import json

from _util import COMM, RANK, SIZE, lh, raise_if_any

from lazyheat.graph import ops, topo_order
from lazyheat.graph.cost import comm_bytes_per_rank, is_free
from lazyheat.runtime import progress


def _shared_dir(tmp_path):
    """One directory for all ranks (rank 0's; the ranks share a file system here)."""
    return COMM.bcast(str(tmp_path), root=0)


def _arrays():
    x = lh.random.randn(60, 8, split=0, seed=3)
    return x.T @ x, (x - x.mean(axis=0)).sum(axis=1), lh.resplit(x, 1)


def _expected_collectives(arrays) -> list:
    """Per rank, the (op, bytes received) of the plan's collectives in execution order: where
    each starts (its issue, for one overlapped with kernels: its event spans issue to wait)."""
    plan = lh.plan(*arrays)
    order = topo_order(plan.outputs)
    if plan.schedule is not None:
        order = [n for kind, n in plan.schedule.resolve(order) if kind != "wait"]
    comms = [n for n in order if n.op in ops.COLLECTIVES]
    return [[(n.op, 0 if is_free(n) else comm_bytes_per_rank(n)[r]) for n in comms]
            for r in range(SIZE)]


def _check_merged(doc, expected) -> None:
    events = doc["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events
             if e["ph"] == "M" and e["name"] == "thread_name"}
    assert names == {r + 1: f"rank {r}" for r in range(SIZE)}, names
    timed = [e for e in events if e["ph"] != "M"]
    for e in timed:
        assert {"ph", "ts", "pid", "tid", "name"} <= set(e) and e["ts"] >= 0, e
        assert e["ph"] != "X" or e["dur"] >= 0, e
    tracks = {r: [e for e in timed if e["tid"] == r + 1] for r in range(SIZE)}
    colls = {}
    for r, track in tracks.items():
        ts = [e["ts"] for e in track]
        assert ts == sorted(ts), f"rank {r}'s track is not in time order"
        assert any(e["cat"] == "planning" for e in track), f"rank {r} has no planning span"
        colls[r] = [e for e in track if e["cat"] == "collective"]
        got = [(e["name"], e["args"]["bytes"]) for e in colls[r]]
        assert got == expected[r], f"rank {r}: {got} != {expected[r]}"
    # Aligned clocks: no rank leaves a collective that moves data before every rank has
    # entered it, so each such collective's spans on all ranks overlap (within the
    # measured alignment error).
    slack = 2 * max(doc["otherData"]["lazyheat"]["clock_uncertainty_us"]) + 50.0
    for k in range(len(colls[0])):
        if SIZE == 1 or any(colls[r][k]["args"]["bytes"] == 0 for r in range(SIZE)):
            continue
        last_in = max(colls[r][k]["ts"] for r in range(SIZE))
        first_out = min(colls[r][k]["ts"] + colls[r][k]["dur"] for r in range(SIZE))
        assert last_in <= first_out + slack, (k, last_in, first_out, slack)


def test_rank_zero_writes_one_track_per_rank_with_aligned_clocks(tmp_path):
    path = f"{_shared_dir(tmp_path)}/job.json"
    arrays = _arrays()
    expected = _expected_collectives(arrays)
    with lh.trace(path):
        lh.compute(*arrays)
    err = None
    if RANK == 0:
        try:
            with open(path, encoding="utf-8") as f:
                _check_merged(json.load(f), expected)
        except AssertionError as e:
            err = f"{type(e).__name__}: {e}"
    raise_if_any(err)


def test_the_progress_bar_is_shown_on_rank_zero_only(monkeypatch, capsys):
    monkeypatch.setenv("LAZYHEAT_PROGRESS", "1")
    monkeypatch.setattr(progress, "DELAY_S", 0.0)  # every plan counts as long
    monkeypatch.setattr(progress, "_tqdm", lambda: None)  # the plain line, tqdm or not
    arrays = _arrays()
    total = len(topo_order(lh.plan(*arrays).outputs))
    lh.compute(*arrays)
    err_text = capsys.readouterr().err
    err = None
    if RANK == 0 and f"lazyheat: {total}/{total} steps" not in err_text:
        err = f"no finished progress bar on rank 0: {err_text!r}"
    if RANK != 0 and "steps" in err_text:
        err = f"rank {RANK} printed a progress bar: {err_text!r}"
    raise_if_any(err)
