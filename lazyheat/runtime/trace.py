"""Execution traces: one Chrome/Perfetto trace-event file for a whole job, one track per rank.

Recording is local to each rank: events are appended to a list as tuples, in this rank's own
``time.perf_counter`` clock, with no communication. ``stop`` (collective) aligns every rank's
clock with rank 0's, gathers the events on rank 0 and writes one JSON file in the trace-event
"JSON object format", which https://ui.perfetto.dev and chrome://tracing open:

- one process ("lazyheat, N ranks") with one thread track per rank, named ``rank R``
  (pid 1, tid R + 1: Perfetto treats pid 0 and tid 0 specially, so neither is used);
- complete events (``"ph": "X"``) for planning (category ``planning``), every step the executor
  runs (``kernel``, ``fused`` or ``collective``; named by the op, with the value's type and the
  user's source line, and for a collective the bytes this rank receives), and the time a rank
  waits for the others (``wait``, recorded by the sync module through ``span``);
- for a collective overlapped with kernels (``passes/schedule.py``): its event spans its
  issue to the end of its wait (args ``issued_at_step``, ``waited_at_step``), an instant
  ``issue <op>`` (category ``issue``) marks the issue, and the wait itself is a
  ``wait <op>`` span (category ``wait``).

Off, tracing costs one check: ``span`` returns a shared null context manager, ``instant``
returns at once, and the executor asks ``step_hook`` once per plan and, getting None, tests one
local variable per step (no clock reads, no dicts).

The API the runtime uses: ``ACTIVE`` (or ``active()``), ``span(name, cat, **args)``,
``instant(name, cat, **args)``, ``start(path)``, ``stop()`` and ``step_hook(order, comm)``.
Recordings nest: ``start`` inside a running recording opens an inner one; the inner ``stop``
writes the events since its own ``start``, and the outer one keeps recording everything.
"""

from __future__ import annotations

import contextlib
import json
import os
from time import perf_counter

import numpy as np
from mpi4py import MPI

from ..graph.cost import comm_bytes_per_rank, comm_kind, is_free
from ..graph.ops import COLLECTIVES
from . import progress

# True while at least one recording is open; read by every hook before it does anything
ACTIVE = False

# This rank's events: (ph, name, cat, start seconds, duration seconds, args), in this rank's
# perf_counter clock. Only rank-local data until ``stop`` merges it.
_EVENTS: list = []
# open recordings, innermost last: (path, index of its first event in _EVENTS, start time)
_RECORDINGS: list = []

PID = 1  # the one process of the merged file; ranks are its threads (tid = rank + 1)
CLOCK_ROUNDS = 8  # ping-pong rounds per rank when aligning clocks (the fastest one counts)
_NULL = contextlib.nullcontext()


def active() -> bool:
    """Whether a trace is being recorded on this rank."""
    return ACTIVE


class _Span:
    """A complete event: its start is read on entry, its duration on exit."""

    __slots__ = ("name", "cat", "args", "t0")

    def __init__(self, name, cat, args):
        self.name, self.cat, self.args = name, cat, args

    def __enter__(self):
        self.t0 = perf_counter()
        return self

    def __exit__(self, *exc):
        t1 = perf_counter()
        if ACTIVE:  # the recording may have stopped inside the span: then drop it
            _EVENTS.append(("X", self.name, self.cat, self.t0, t1 - self.t0, self.args))
        return False


def span(name: str, cat: str, **args):
    """A context manager recording a complete event ``name`` of category ``cat`` on this rank
    while tracing is active; a shared no-op context manager otherwise.

    >>> with span("handshake", "wait", step="compute of sum"):   # doctest: +SKIP
    ...     wait_for_the_others()
    """
    if not ACTIVE:
        return _NULL
    return _Span(name, cat, args)


def instant(name: str, cat: str, **args) -> None:
    """Record a point in time on this rank's track (nothing when tracing is off)."""
    if ACTIVE:
        _EVENTS.append(("i", name, cat, perf_counter(), 0.0, args))


def start(path) -> None:
    """Start recording on this rank; ``stop`` writes the trace to ``path`` (resolved now, so a
    later change of directory does not move it). Not collective: every rank records alone."""
    global ACTIVE
    _RECORDINGS.append((os.path.abspath(os.fspath(path)), len(_EVENTS), perf_counter()))
    ACTIVE = True


def _close():
    """Pop the innermost recording; (path, its events, its start time)."""
    global ACTIVE
    if not _RECORDINGS:
        raise RuntimeError("no lazyheat trace is being recorded")
    path, first, t_start = _RECORDINGS.pop()
    events = _EVENTS[first:]
    if not _RECORDINGS:
        ACTIVE = False
        _EVENTS.clear()
    return path, events, t_start


def cancel() -> None:
    """Close the innermost recording without writing it (no communication): for a block that
    failed, when the other ranks may never reach ``stop``."""
    _close()


def stop(comm=None) -> str | None:
    """Close the innermost recording: merge every rank's events on rank 0 and write the file.

    Collective over ``comm`` (an mpi4py communicator, default the world): every rank must call
    it. Returns the path on rank 0, None elsewhere."""
    path, events, t_start = _close()
    comm = MPI.COMM_WORLD if comm is None else comm
    doc = merge(events, t_start, comm)
    if doc is None:
        return None
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, default=str, separators=(",", ":"))
    return path


# ---------------------------------------------------------------- the executor's steps
def step_hook(order, comm, spans=None):
    """The executor's per-step callback for one run of ``order`` on ``comm`` (a lazyheat
    communicator), called as ``hook(node, t0)`` right after the node's kernel, ``t0`` being
    the step's start in perf_counter seconds; or None when neither a trace is recorded nor a
    progress bar shown, so the executor pays one ``is None`` test per step. ``spans``: for
    each collective overlapped with kernels, by ``id``, the steps of its issue and its wait
    (``passes.schedule``); the executor reports it at its wait with ``t0`` its issue, so its
    event spans issue to wait and names both steps."""
    bar = progress.start(order, comm)
    bar_step = None if bar is None else bar.step
    if not ACTIVE:
        return bar_step
    rank = comm.rank
    spans = spans or {}

    def record(n, t0):
        t1 = perf_counter()
        args = _step_args(n, rank)
        span = spans.get(id(n))
        if span is not None:
            args["issued_at_step"], args["waited_at_step"] = span
        _EVENTS.append(("X", n.op, _category(n), t0, t1 - t0, args))
        if bar_step is not None:
            bar_step(n, t0)

    return record


def _category(n) -> str:
    if n.op in COLLECTIVES:
        return "collective"
    return "fused" if n.op == "fused" else "kernel"


def _step_args(n, rank) -> dict:
    """What a step's event shows: its value's type, the user's line, a fused group's ops, and
    for a collective its kind and the bytes this rank receives (as ``explain`` counts them)."""
    args = {"type": n.aval.type_str(), "loc": n.loc}
    if n.op == "fused":
        closer = n.attr("closer")
        members = n.attr("members") + ((closer,) if closer is not None else ())
        args["ops"] = " ".join(_op_name(m) for m in members)
    if n.op in COLLECTIVES:
        args["kind"] = comm_kind(n)
        args["bytes"] = 0 if is_free(n) else int(comm_bytes_per_rank(n)[rank])
    return args


def _op_name(m) -> str:
    """A fused member's op, with its reduction where it has one (``reduce[sum]``)."""
    fn = m.attr("fn")
    return m.op if fn is None else f"{m.op}[{fn}]"


# ---------------------------------------------------------------- merging on rank 0
def clock_offsets(comm) -> tuple[list, list]:
    """(offset, uncertainty) per rank, in seconds: rank r's perf_counter clock minus rank
    0's, and half the round trip it was measured in. Collective.

    Method (Cristian's algorithm): rank 0 and each other rank in turn exchange
    ``CLOCK_ROUNDS`` ping-pongs; rank r replies with its clock reading, taken between rank
    0's send time t0 and receive time t1, so its offset is ``t_r - (t0 + t1) / 2`` within
    ``(t1 - t0) / 2``; the round with the shortest round trip is kept. Measured once, at merge
    time: the drift of two clocks over a job (parts per million) stays below that error for
    jobs of minutes. The exchange runs on a duplicate of ``comm``, apart from any other
    message."""
    p = comm.Get_size()
    if p == 1:
        return [0.0], [0.0]
    ctl = comm.Dup()
    try:
        buf = np.zeros(1)
        offsets, errors = [0.0] * p, [0.0] * p
        if ctl.Get_rank() == 0:
            for r in range(1, p):
                best = None
                for _ in range(CLOCK_ROUNDS):
                    t0 = perf_counter()
                    ctl.Send(buf, dest=r, tag=1)
                    ctl.Recv(buf, source=r, tag=2)
                    t1 = perf_counter()
                    if best is None or t1 - t0 < best[0]:
                        best = (t1 - t0, float(buf[0]) - (t0 + t1) / 2)
                errors[r], offsets[r] = best[0] / 2, best[1]
        else:
            for _ in range(CLOCK_ROUNDS):
                ctl.Recv(buf, source=0, tag=1)
                buf[0] = perf_counter()
                ctl.Send(buf, dest=0, tag=2)
        return offsets, errors
    finally:
        ctl.Free()


def merge(events, t_start, comm) -> dict | None:
    """The trace document of every rank's ``events`` (rank 0; None elsewhere). Collective:
    clock alignment, then one gather of the events."""
    offsets, errors = clock_offsets(comm)
    every = comm.gather((t_start, events), root=0)
    if comm.Get_rank() != 0:
        return None
    p = len(every)
    # every timestamp moves to rank 0's clock; the origin is the earliest recording start, so
    # no event lies before 0 (each rank's events follow its own start)
    origin = min(s - offsets[r] for r, (s, _) in enumerate(every))
    out = [{"ph": "M", "name": "process_name", "pid": PID, "tid": 0, "ts": 0,
            "args": {"name": f"lazyheat, {p} rank{'s' if p > 1 else ''}"}}]
    for r in range(p):
        out.append({"ph": "M", "name": "thread_name", "pid": PID, "tid": r + 1, "ts": 0,
                    "args": {"name": f"rank {r}"}})
        out.append({"ph": "M", "name": "thread_sort_index", "pid": PID, "tid": r + 1,
                    "ts": 0, "args": {"sort_index": r}})
    for r, (_, evs) in enumerate(every):
        shift = offsets[r] + origin
        track = []
        for ph, name, cat, t0, dur, args in evs:
            e = {"ph": ph, "name": name, "cat": cat, "pid": PID, "tid": r + 1,
                 "ts": _us(t0 - shift), "args": args}
            if ph == "X":
                e["dur"] = _us(max(dur, 0.0))
            else:
                e["s"] = "t"  # an instant event on its thread's track
            track.append(e)
        # per track in time order; of spans starting together the longer (the parent) first
        track.sort(key=lambda e: (e["ts"], -e.get("dur", 0.0)))
        out.extend(track)
    return {"traceEvents": out, "displayTimeUnit": "ms",
            "otherData": {"lazyheat": {
                "ranks": p,
                "clock_sync": "ping-pong with rank 0 at merge time (Cristian), fastest of "
                              f"{CLOCK_ROUNDS} rounds",
                "clock_offset_us": [_us(o) for o in offsets],
                "clock_uncertainty_us": [_us(e) for e in errors]}}}


def _us(seconds: float) -> float:
    """Seconds as microseconds (the trace-event unit), to the nanosecond."""
    return round(seconds * 1e6, 3)
