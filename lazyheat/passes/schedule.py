"""Overlap of communication and compute: the order in which a rank runs a physical plan.

Without a schedule every rank runs the plan's nodes one after another in ``topo_order`` and
every collective blocks. Here a deterministic list schedule splits each collective that has
a non-blocking form (``NONBLOCKING``) into an *issue* step, placed as soon as its inputs
exist, and a *wait* step, placed as late as possible: when no independent kernel is left
to run, or, for a collective that another collective waits on (directly or through
kernels) or when a ready collective lacks a slot, once the work run since its issue has
covered its modelled transfer time ``COVER`` times over (so that a chain of collectives
overlaps link by link). A collective with no kernel between its issue and its wait runs
blocking. The executor receives the steps: ``("run", node)``, ``("issue", collective)``
and ``("wait", collective)``.

Invariants (``check`` verifies them; the tests run it on every schedule they make):

- SPMD: the schedule is a function of global metadata only (avals, attributes, the
  topological order, which is deterministic), never of rank-local values, timing or the
  iteration order of id-keyed containers, so every rank issues the same collectives in the
  same order;
- every node's inputs are available (run, or waited for) before it runs or is issued;
- every issued collective is waited for exactly once, after its issue and before any reader;
- at most ``MAX_IN_FLIGHT`` collectives are in flight at once;
- memory: ``scheduled_peak`` (the cost model's peak, with a collective's buffers held from
  its issue to its wait and its inputs until the wait) stays within ``1 + MEMORY_SLACK``
  times the peak of the plain order; a schedule that would exceed it is retried with one
  collective in flight, then given up (the plain order runs).

Priority: the plain order's depth-first walk, visiting first the inputs whose subgraph
holds a collective to overlap (``_comm_first_order``), so that collectives are issued early
and the other branches run while they are in flight. Ready collectives are issued first;
otherwise the ready kernel earliest in that order runs, unless a wait is due (above).

>>> import numpy as np, lazyheat as lh
>>> from lazyheat.graph import topo_order
>>> from lazyheat.passes.schedule import schedule
>>> comm = lh.FakeComm(4)
>>> x = lh.array(np.zeros((512, 512), np.float32), split=0, comm=comm)   # data in memory
>>> y = lh.array(np.zeros((10**6,), np.float32), split=0, comm=comm)
>>> p = lh.plan(lh.resplit(x, 1), (y.sin() * 2).sum())
>>> s = schedule(p.outputs)
>>> [(kind, n.op) for kind, n in s.resolve(topo_order(p.outputs))]
[('run', 'param'), ('issue', 'redistribute'), ('run', 'param'), ('run', 'fused'),
('run', 'allreduce'), ('wait', 'redistribute')]
"""

from __future__ import annotations

import heapq
import os
from dataclasses import dataclass, field

import numpy as np

from ..graph import ops
from ..graph.cost import comm_bytes, is_free, rank_bytes, running_bytes
from ..graph.ops import COLLECTIVES, USER_DATA, VIEWS
from ..graph.traverse import topo_order

# collectives whose runtime kernels have a non-blocking form (``CommRule.nonblocking`` in the
# registry; ``runtime/kernels/nonblocking`` registers one start function for each, and a
# test keeps the two in step)
NONBLOCKING = ops.NONBLOCKING
MAX_IN_FLIGHT = 4   # collectives in flight at once (each holds its buffers)
COVER = 4.0         # a wait is deferred until the work since the issue is COVER x its transfer
MEMORY_SLACK = 0.25  # a schedule may raise the estimated peak by at most this fraction

# The scheduler's own cost model, for priorities only (simple, fixed, and the same on every
# rank: no calibration file is read here): alpha-beta for collectives, memory bandwidth over
# the bytes a kernel touches.
ALPHA_S = 1.5e-6
BANDWIDTH_BPS = 12.5e9
KERNEL_BPS = 10e9


def enabled() -> bool:
    """``LAZYHEAT_OVERLAP`` (default "1"): "0" runs every plan in its plain order, every
    collective blocking. Read when a plan runs, so it may be switched between runs."""
    return os.environ.get("LAZYHEAT_OVERLAP", "1").strip() != "0"


def overlappable(n) -> bool:
    """Whether ``n`` is a collective that moves data and has a non-blocking form."""
    return n.op in NONBLOCKING and n.aval.comm.size > 1 and not is_free(n)


def _rounds(n) -> int:
    p = n.aval.comm.size
    log = max(p - 1, 0).bit_length()
    if n.op == "redistribute" and n.aval.split is not None:
        return p - 1  # all-to-all: a message from every other rank
    return 2 * log if n.op == "allreduce" else log


def step_seconds(n) -> float:
    """The scheduler's estimate of one step on the busiest rank (see the module doc)."""
    if n.op in USER_DATA or n.op in VIEWS:
        return 0.0
    if n.op in COLLECTIVES and n.aval.comm.size > 1 and not is_free(n):
        return _rounds(n) * ALPHA_S + comm_bytes(n) / BANDWIDTH_BPS
    touched = int(rank_bytes(n.aval).max())
    touched += sum(int(rank_bytes(i.aval).max()) for i in n.inputs)
    return touched / KERNEL_BPS


@dataclass(frozen=True)
class Schedule:
    """The steps a rank runs, ``(kind, i)`` with kind "run", "issue" or "wait" and ``i`` the
    node's index in ``topo_order(outputs)`` (the numbering of ``explain``'s ``%i``); and for
    each overlapped collective, by index, the step numbers of its issue and its wait.
    Indices, not nodes: a schedule cached beside its plan keeps no node alive."""

    steps: tuple
    spans: dict = field(repr=False)

    @property
    def overlapped(self) -> int:
        """How many collectives are issued and waited for apart."""
        return len(self.spans)

    def resolve(self, order) -> list:
        """The steps as ``(kind, node)``, ``order`` being ``topo_order(outputs)``."""
        return [(kind, order[i]) for kind, i in self.steps]


def _indexed(steps, spans, base) -> Schedule:
    at = {id(n): k for k, n in enumerate(base)}
    return Schedule(tuple((kind, at[id(n)]) for kind, n in steps),
                    {at[i]: sp for i, sp in (spans or {}).items()})


def plain(outputs) -> Schedule:
    """The plain order: every node run where ``topo_order`` puts it, nothing overlapped."""
    n = len(topo_order(list(outputs)))
    return Schedule(tuple(("run", k) for k in range(n)), {})


def schedule(outputs, max_in_flight=MAX_IN_FLIGHT) -> Schedule:
    """The overlapped schedule of the physical plan ``outputs`` (the plain order when
    nothing can overlap, or when overlapping would need too much memory; module doc)."""
    outputs = list(outputs)
    base = topo_order(outputs)
    if not any(overlappable(n) for n in base):
        return plain(outputs)
    limit = scheduled_peak(plain(outputs), outputs) * (1 + MEMORY_SLACK)
    prio = _comm_first_order(outputs, base)
    for slots in sorted({max_in_flight, 1}, reverse=True):
        s = _indexed(*_blocking_when_alone(_list_schedule(prio, slots)), base)
        if scheduled_peak(s, outputs) <= limit:
            return s
    return plain(outputs)


def _comm_first_order(outputs, base) -> list:
    """The depth-first order of ``topo_order``, visiting first (stably) the inputs and
    outputs whose subgraph holds a collective to overlap."""
    reach = {}
    for n in base:
        reach[id(n)] = overlappable(n) or any(reach[id(i)] for i in n.inputs)

    def first(nodes):
        return sorted(nodes, key=lambda i: not reach[id(i)])  # stable: ties keep their order

    return topo_order(first(outputs), lambda n: first(n.inputs))


def _list_schedule(prio, max_in_flight) -> list:
    """List scheduling of the nodes in priority order ``prio`` (module doc): the steps as
    ``(kind, node)``."""
    pos = {id(n): k for k, n in enumerate(prio)}
    need, users = {}, {}
    for n in prio:
        ins = {id(i): i for i in n.inputs}  # distinct inputs (a node may read one twice)
        need[id(n)] = len(ins)
        for i in ins:
            users.setdefault(i, []).append(n)
    kernels, comms = [], []  # heaps of priority positions of ready nodes

    def ready(n):
        heapq.heappush(comms if overlappable(n) else kernels, pos[id(n)])

    def available(n):
        for u in users.get(id(n), ()):
            need[id(u)] -= 1
            if need[id(u)] == 0:
                ready(u)

    # whether a later collective to overlap depends on a node: waiting for such a
    # collective early lets the next one be issued sooner (a pipeline of collectives)
    feeds = {}
    for n in reversed(prio):
        feeds[id(n)] = any(overlappable(u) or feeds[id(u)] for u in users.get(id(n), ()))
    for n in prio:
        if need[id(n)] == 0:
            ready(n)
    steps = []
    flight = []  # [remaining cover seconds, issue number, node]
    issues = 0
    while kernels or comms or flight:
        if comms and len(flight) < max_in_flight:
            n = prio[heapq.heappop(comms)]
            issues += 1
            flight.append([COVER * step_seconds(n), issues, n])
            steps.append(("issue", n))
            continue
        # a collective whose cover is used up is waited for early only where that lets
        # another collective start: a ready one lacks a slot, or one depends on it
        due = any(f[0] <= 0 and (comms or feeds[id(f[2])]) for f in flight)
        if kernels and not due:
            n = prio[heapq.heappop(kernels)]
            steps.append(("run", n))
            t = step_seconds(n)
            for f in flight:
                f[0] -= t
            available(n)
            continue
        # wait for the collective likeliest done: the least cover left, then the oldest
        f = min(flight, key=lambda f: (not (f[0] <= 0 and (comms or feeds[id(f[2])])),
                                       f[0], f[1]))
        flight.remove(f)
        steps.append(("wait", f[2]))
        available(f[2])
    return steps


def _blocking_when_alone(steps: list) -> tuple:
    """The steps with every collective that no kernel runs beside (nothing but other
    collectives' issues and waits between its issue and its wait) run blocking at its issue:
    posting and waiting at once only adds the cost of a request. Collectives keep their
    order. Returns (steps, (issue, wait) step numbers by node id)."""
    alone = set()
    issued = {}
    for k, (kind, n) in enumerate(steps):
        if kind == "issue":
            issued[id(n)] = k
        elif kind == "wait":
            i = issued[id(n)]
            if all(kk != "run" for kk, _ in steps[i + 1:k]):
                alone.add(id(n))
    out = []
    for kind, n in steps:
        if id(n) in alone and kind != "run":
            if kind == "issue":
                out.append(("run", n))
            continue
        out.append((kind, n))
    spans, issued = {}, {}
    for k, (kind, n) in enumerate(out):
        if kind == "issue":
            issued[id(n)] = k
        elif kind == "wait":
            spans[id(n)] = (issued[id(n)], k)
    return out, spans


# ---------------------------------------------------------------- memory
def scheduled_peak(s: Schedule, outputs) -> int:
    """The cost model's peak memory (``graph.cost.memory_peak``) of the busiest rank when
    the steps of ``s`` run: a collective holds its send and receive buffers and its output
    from its issue to its wait, and its inputs until its wait. For a schedule without
    overlap this equals ``memory_peak`` of its order (a test keeps the two in step)."""
    return int(scheduled_peaks(s, outputs).max())


def scheduled_peaks(s: Schedule, outputs) -> np.ndarray:
    """Per rank, the peak of ``scheduled_peak``."""
    outs = list(outputs)
    steps = s.resolve(topo_order(outs))
    end = len(steps)
    last = {}
    for k, (kind, n) in enumerate(steps):
        if kind != "issue":  # a collective reads its inputs until its wait
            for i in n.inputs:
                last[id(i)] = k
    for o in outs:
        last[id(o)] = end
    for _, n in steps:
        last.setdefault(id(n), end)
    for _, n in reversed(steps):  # a view keeps its referent alive
        if n.op in VIEWS:
            for i in n.inputs:
                last[id(i)] = max(last[id(i)], last[id(n)])
    p = steps[0][1].aval.comm.size
    live = np.zeros(p, dtype=np.int64)
    for _, n in steps:
        if n.op in USER_DATA:
            live = live + rank_bytes(n.aval)
    peak = live.copy()
    frees: dict = {}
    held = {}
    for k, (kind, n) in enumerate(steps):
        if n.op not in USER_DATA and n.op not in VIEWS:
            own = rank_bytes(n.aval)
            if kind == "issue":
                held[id(n)] = running_bytes(n)
                live = live + held[id(n)]
                peak = np.maximum(peak, live)
            elif kind == "wait":
                live = live - held.pop(id(n)) + own
                frees.setdefault(last[id(n)], []).append(own)
            else:
                peak = np.maximum(peak, live + running_bytes(n))
                live = live + own
                frees.setdefault(last[id(n)], []).append(own)
        for own in frees.pop(k, ()):
            live = live - own
    return peak


def added(s: Schedule, outputs) -> tuple:
    """(bytes, rank): the most memory the steps of ``s`` allocate on any rank beyond the
    user's data the plan reads, and the lowest rank where that happens (as
    ``MemoryPeak.added`` for the plain order; the memory guard compares it)."""
    outs = list(outputs)
    peaks = scheduled_peaks(s, outs)
    resident = np.zeros_like(peaks)
    for n in topo_order(outs):
        if n.op in USER_DATA:
            resident = resident + rank_bytes(n.aval)
    extra = (peaks - resident).tolist()
    r = max(range(len(extra)), key=lambda i: (extra[i], -i))
    return int(extra[r]), r


# ---------------------------------------------------------------- modelled time
def modelled_times(outputs, network="heat") -> dict:
    """Seconds the plan ``outputs`` takes on its busiest rank with and without overlap, by a
    simple model: a rank runs its steps one at a time; a blocking collective holds the rank
    and the network; a posted one holds the network from its issue (or when the network is
    free) for its transfer time while the rank runs on, and its wait holds the rank until it
    is done. Step times come from ``graph/timemodel.py`` on ``network`` (its default
    throughputs, not a calibration file: a collective's software cost counts on the rank,
    its wire time on the network) where that module is there, else from ``step_seconds``
    (alpha 1.5 us, 12.5 GB/s, kernels at 10 GB/s over the bytes they touch).

    >>> import numpy as np, lazyheat as lh
    >>> from lazyheat.passes.schedule import modelled_times
    >>> comm = lh.FakeComm(64)
    >>> x = lh.array(np.zeros((1024, 1024), np.float32), split=0, comm=comm)
    >>> y = lh.array(np.zeros((1024, 4096), np.float32), split=0, comm=comm)
    >>> t = modelled_times(lh.plan(lh.resplit(x, 1), (y.sin() * 2).sum()).outputs)
    >>> t["overlapped"], t["overlapped_s"] < t["serial_s"]
    (1, True)
    """
    outputs = list(outputs)
    order = topo_order(outputs)
    cost, model = _step_costs(network)
    serial = sum(sum(cost(n)) for n in order)
    s = schedule(outputs)
    t = net = 0.0
    done = {}
    for kind, n in s.resolve(order):
        cpu, wire = cost(n)
        if kind == "issue":
            t += cpu
            done[id(n)] = max(t, net) + wire
            net = done[id(n)]
        elif kind == "wait":
            t = max(t, done.pop(id(n)))
        elif wire:  # a blocking collective: the rank waits for the network, then for it
            t = max(t + cpu, net) + wire
            net = t
        else:
            t += cpu
    return {"serial_s": serial, "overlapped_s": t, "saved_s": serial - t,
            "speedup": serial / t if t else 1.0, "overlapped": s.overlapped, "model": model}


def _step_costs(network):
    """(``cost(node) -> (seconds on the rank, seconds on the network)``, the model's name)."""
    try:
        from ..graph.commcost import comm_cost
        from ..graph.timemodel import Kernels, network_of, step_time
    except ImportError:
        def simple(n):
            secs = step_seconds(n)
            return (0.0, secs) if _moves(n) else (secs, 0.0)
        return simple, f"alpha-beta ({ALPHA_S * 1e6:g} us, {BANDWIDTH_BPS / 1e9:g} GB/s)"
    net, k = network_of(network), Kernels()
    software = getattr(k, "step_s", 0.0) + getattr(k, "comm_call_s", 0.0)

    def timed(n):
        secs = step_time(n, net, k).seconds
        if not _moves(n):
            return secs, 0.0
        c = comm_cost(n)
        wire = net.seconds(c) + c.combine_bytes / k.throughput("reduce")
        return max(secs - wire, min(secs, software)), wire
    return timed, f"graph.timemodel on {net.name}"


def _moves(n) -> bool:
    return n.op in COLLECTIVES and n.aval.comm.size > 1 and not is_free(n)


# ---------------------------------------------------------------- checks
def check(s: Schedule, outputs, max_in_flight=MAX_IN_FLIGHT) -> None:
    """Raise ``AssertionError`` unless ``s`` is a valid schedule of ``outputs`` (module
    doc): every node once, inputs first, issue before wait, bounded flight."""
    nodes = topo_order(list(outputs))
    steps = s.resolve(nodes)
    avail, issued, flight = set(), set(), 0
    for kind, n in steps:
        if kind in ("run", "issue"):
            missing = [i for i in n.inputs if id(i) not in avail]
            assert not missing, f"{kind} {n.op} before its input {missing[0].op}"
        if kind == "issue":
            assert overlappable(n) and id(n) not in issued, f"issue of {n.op}"
            issued.add(id(n))
            flight += 1
            assert flight <= max_in_flight, "too many collectives in flight"
        elif kind == "wait":
            assert id(n) in issued and id(n) not in avail, f"wait of {n.op} without issue"
            flight -= 1
        else:
            assert kind == "run", f"unknown step kind {kind!r}"
        if kind != "issue":
            assert id(n) not in avail, f"{n.op} runs twice"
            avail.add(id(n))
    assert flight == 0, "a collective is never waited for"
    assert {id(n) for n in nodes} == avail and len(nodes) == len(avail), \
        "the schedule does not run every node of the plan"
    waits = {i: k for k, (kind, i) in enumerate(s.steps) if kind == "wait"}
    issues = {i: k for k, (kind, i) in enumerate(s.steps) if kind == "issue"}
    assert s.spans == {i: (issues[i], waits[i]) for i in waits}, "spans disagree with steps"


__all__ = ["COVER", "MAX_IN_FLIGHT", "MEMORY_SLACK", "NONBLOCKING", "Schedule", "added", "check",
           "enabled", "modelled_times", "overlappable", "plain", "schedule", "scheduled_peak",
           "scheduled_peaks", "step_seconds"]
