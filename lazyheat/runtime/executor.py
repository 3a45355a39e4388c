"""The SPMD executor: interprets a lowered graph step by step on this rank's blocks.

Every rank walks the same physical nodes in the same (topological, deterministic) order, so
collectives line up; each node runs the kernel registered for its op (``kernels.KERNELS``).
Values are dropped after their last use. An exception on one rank ends the whole job through
``Comm.abort`` with the rank, the op and the user's source line, so no rank is left waiting in
a collective.

With a schedule (``passes/schedule.py``, made by the planner from global metadata, the same
on every rank) the steps are ``("run", node)``, ``("issue", collective)`` and
``("wait", collective)``: a collective is posted non-blocking at its issue
(``kernels.nonblocking.STARTS``) and completed at its wait, and the kernels between run
while it moves. Between steps the executor polls the collectives in flight (MPICH moves
their data only inside MPI calls). A collective in flight still counts as a reader of its
inputs: they stay alive, and are never donated to a kernel, until its wait.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import torch

from ..graph import topo_order, use_counts
from ..graph.ops import COLLECTIVES, USER_DATA
from . import comm as cm
from . import fused as F  # noqa: F401 - also registers the "fused" kernel
from . import kernels as K
from . import sync
from . import trace as tr
from .kernels.nonblocking import STARTS
from .trace import step_hook


def _made_on_first_use(slot: str, factory) -> property:
    """A property over ``slot`` that holds ``factory()`` from its first read (or what was
    set), so a run that never reads it never makes it."""
    def get(self):
        value = getattr(self, slot)
        if value is None:
            value = factory()
            setattr(self, slot, value)
        return value

    def put(self, value) -> None:
        setattr(self, slot, value)
    return property(get, put)


class Context:
    """What a kernel sees of its run: the communicator, the device, the user's data
    (``params``), the inputs of the running node that it may overwrite (``donated``, see
    ``execute``), and the parts of one computation taken by several nodes
    (``kernels.registry.shared_parts``: ``part_uses``, ``parts``, ``part_outs``: key -> the
    "out" attrs taken of it; made at their first use, as most plans have none). ``memo``:
    the running program's ``Program.memo``."""

    __slots__ = ("comm", "rank", "device", "params", "donated", "memo", "_part_uses",
                 "_parts", "_part_outs")

    def __init__(self, comm, device, params=(), donated=(), part_uses=None, parts=None,
                 part_outs=None, memo=None):
        self.comm, self.device, self.params, self.donated = comm, device, params, donated
        self.rank = comm.rank if comm is not None else 0  # read by many kernels: once here
        self._part_uses, self._parts, self._part_outs = part_uses, parts, part_outs
        self.memo = {} if memo is None else memo

    part_uses = _made_on_first_use("_part_uses", Counter)
    parts = _made_on_first_use("_parts", dict)
    part_outs = _made_on_first_use("_part_outs", dict)


def guarded(comm: cm.Comm, what: str, fn, *args):
    """``fn(*args)``, but an exception on one rank of a multi-rank job aborts every rank
    (with this rank and the cause) instead of leaving the others in a collective."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001
        if comm.size == 1:
            raise
        comm.abort(f"lazyheat: rank {comm.rank} failed in {what}: {type(exc).__name__}: {exc}")


# (not frozen: nothing changes a program once made, and a frozen dataclass's __init__
# costs each new plan a few microseconds)
@dataclass(eq=False)
class Program:
    """What ``execute`` derives from a plan alone, made once per cached plan (the planner
    keeps it beside the plan, so it goes when the plan leaves the cache): the steps, the
    values each step drops, the parts shared between nodes, which nodes may overwrite an
    input. Global metadata only: every rank's program is the same.

    A run of a cached plan on small data is dominated by such bookkeeping: before, a warm
    3-op compute on 10 elements spent about a third of the executor's time re-deriving it
    (topological order, use counts, part keys) on every call."""

    outputs: tuple
    order: tuple  # the nodes run, in order (a collective once, at its wait)
    steps: tuple | None  # (kind, node) for an overlapped schedule, else None
    spans: dict | None  # overlapped collectives by id: (issue step, wait step)
    frees: tuple  # per step (of ``steps``, else of ``order``): ids of the values it drops
    keep: frozenset  # ids of the outputs: never dropped
    part_uses: dict  # shared computation key -> nodes taking a part of it
    part_outs: dict  # key -> the "out" attrs taken of it
    donating: frozenset  # ids of the nodes that may overwrite a dying input
    schedule: object = None  # the schedule it was made for (None: the plain order)
    communicates: bool = True  # it holds a collective (one the watchdog must watch)
    # what kernels keep between runs of this program, by ``id`` of their node (the program
    # holds its nodes, so the ids stay theirs): a fused group's compiled form, for one
    memo: dict = field(default_factory=dict)
    # what the memory guard passed it with (``memguard.check_plan``), kept for its next run
    memory_checked: tuple | None = None


def prepare(outputs, comm_size: int, schedule=None) -> Program:
    """The ``Program`` running physical ``outputs`` on ``comm_size`` ranks with
    ``schedule`` (see ``execute``)."""
    outputs = tuple(outputs)
    order = topo_order(outputs)
    steps = spans = None
    if schedule is not None and schedule.spans and comm_size > 1:
        # the schedule numbers nodes by their place in topo_order(outputs)
        spans = {id(order[i]): span for i, span in schedule.spans.items()}
        steps = tuple(schedule.resolve(order))
        order = [n for kind, n in steps if kind != "issue"]
    keep = frozenset([id(o) for o in outputs])
    uses = use_counts(order)
    frees = []
    # a value is dropped once its last reader ran (a collective reads its inputs until
    # its wait: an issue step drops nothing)
    for step in steps if steps is not None else order:
        n = step if steps is None else step[1]
        dead = ()
        if n.inputs and (steps is None or step[0] != "issue"):
            dead = []
            for i in n.inputs:
                left = uses[id(i)] = uses[id(i)] - 1
                if left == 0 and id(i) not in keep:
                    dead.append(id(i))
            dead = tuple(dead)
        frees.append(dead)
    part_uses, part_outs = Counter(), {}
    part_keys, donates = K.PART_KEYS, K.DONATES
    donating = []
    for n in order:
        op = n.op
        if op in part_keys:
            key = part_keys[op](n)
            part_uses[key] += 1
            part_outs.setdefault(key, set()).add(n.attr("out"))
        if (op == "fused" and n.attr("closer") is None) or op in donates:
            donating.append(id(n))
    donating = frozenset(donating)
    return Program(outputs, tuple(order), steps, spans, tuple(frees), keep, dict(part_uses),
                   part_outs, donating, schedule,
                   communicates=any(n.op in COLLECTIVES for n in order))


def execute(outputs, comm: cm.Comm, device="cpu", params=(), profile=None,
            trace=False, schedule=None, program=None) -> list:
    """Run the physical graph reachable from ``outputs``; return their local values.

    ``params[i]`` is the local tensor behind ``param`` leaf i (data the user holds: never
    freed or overwritten). ``profile``, a dict, receives each node's seconds by ``id`` (for
    an overlapped collective: its issue and its wait, the time this rank spent on it);
    ``trace`` prints each step's time on rank 0 (the planner sets it at LAZYHEAT_DEBUG=2).
    ``schedule``: the steps to run (``passes.schedule.Schedule``; None, or one that
    overlaps nothing or runs on one rank: the plain order, every collective blocking).
    ``program``: ``prepare(outputs, comm.size, schedule)`` made before (the planner keeps
    one per cached plan); made here when None."""
    if isinstance(comm, cm.FakeComm):
        raise RuntimeError(f"cannot compute on {comm!r}: it only plans; use it with explain()")
    if program is None:
        program = prepare(outputs, comm.size, schedule)
    order, steps, frees = program.order, program.steps, program.frees
    if type(device) is not torch.device:
        device = torch.device(device)
    ctx = Context(comm, device, tuple(params), memo=program.memo)
    if program.part_uses:  # kernels count the parts down: a copy per run
        ctx.part_uses, ctx.part_outs = Counter(program.part_uses), program.part_outs
    kernels = K.KERNELS
    vals = {}
    # a trace or a progress bar sees each step; None (one test per step) when both are off
    hook = step_hook(order, comm, program.spans)
    # the watchdog ends the job when one collective waits past LAZYHEAT_TIMEOUT (a rank
    # died or hangs); local kernels are never timed out, however long they take
    watch = sync.WATCH if comm.size > 1 and program.communicates else None
    if watch is None and hook is None and profile is None and not trace and steps is None:
        return _run_plain(program, vals, ctx, comm, kernels, params)
    if watch is not None:
        sync.start_watchdog(comm)
    # collectives in flight: id -> (Pending, issue time, seconds its issue took)
    flight = {}
    timed = hook is not None or profile is not None or trace or watch is not None
    t0 = 0.0
    # Memory planning: a fused kernel whose output spans several chunks may overwrite an
    # input at its last use, when no live value and no user data shares that buffer.
    for k, step in enumerate(steps if steps is not None else order):
        if steps is None:
            n = step
        else:
            kind, n = step
            if kind != "run":
                if kind == "issue":
                    _issue(n, k, vals, ctx, flight, watch)
                    continue
                vals[id(n)] = _wait(n, k, flight, comm, watch, hook, profile, trace)
                for i in frees[k]:
                    del vals[i]
                continue
        if timed:
            t0 = time.perf_counter()
        if watch is not None:
            watch.since, watch.node = t0, (n if n.op in COLLECTIVES else None)
        _run_step(n, k, vals, ctx, comm, kernels, program, params)
        if hook is not None:
            hook(n, t0)
        if profile is not None:
            profile[id(n)] = time.perf_counter() - t0
        if trace and comm.rank == 0:
            print(f"lazyheat: {n.op:<14} {n.aval.type_str():<24} "
                  f"{(time.perf_counter() - t0) * 1e3:8.3f} ms")
        for i in frees[k]:
            del vals[i]
        if flight:  # progress for the collectives in flight (a local call each)
            for pending, _, _ in flight.values():
                pending.test()
    if watch is not None:
        watch.node = None
    return [vals[id(o)] for o in outputs]


def _run_plain(program, vals, ctx, comm, kernels, params) -> list:
    """``execute``'s loop for the plain order with nothing watching the steps (no trace, no
    profile, no progress bar, no watchdog: one rank): the same steps, without the tests."""
    frees = program.frees
    for k, n in enumerate(program.order):
        _run_step(n, k, vals, ctx, comm, kernels, program, params)
        for i in frees[k]:
            del vals[i]
    return [vals[id(o)] for o in program.outputs]


def _run_step(n, k, vals, ctx, comm, kernels, program, params) -> None:
    """Step ``k``: run node ``n``'s kernel into ``vals``, letting it overwrite the inputs
    that die here where it may (``Program.donating``); a failure ends every rank."""
    if program.donating and id(n) in program.donating:
        ctx.donated = _donatable(n, vals, program.frees[k], params, program.order)
    try:
        vals[id(n)] = kernels[n.op](n, [vals[id(i)] for i in n.inputs], ctx)
    except Exception as exc:  # noqa: BLE001 - any failure must end every rank
        if comm.size == 1:
            raise
        _fail(comm, getattr(exc, "lazyheat_node", n), exc)
    ctx.donated = ()


def _fail(comm, at, exc) -> None:
    """End every rank: ``at`` (a node, a fused group's failing member) raised ``exc``."""
    comm.abort(f"lazyheat: rank {comm.rank} failed in {at.op} "
               f"({at.aval.type_str()}) from {at.loc}: {type(exc).__name__}: {exc}")


def _issue(n, k, vals, ctx, flight, watch) -> None:
    """Step ``k``: post collective ``n`` (it completes at its wait step)."""
    t0 = time.perf_counter()
    if watch is not None:
        watch.since, watch.node = t0, n
    try:
        pending = STARTS[n.op](n, [vals[id(i)] for i in n.inputs], ctx)
    except Exception as exc:  # noqa: BLE001 - any failure must end every rank
        _fail(ctx.comm, n, exc)
    flight[id(n)] = (pending, t0, time.perf_counter() - t0)
    if watch is not None:
        watch.node = None
    if tr.ACTIVE:
        tr.instant(f"issue {n.op}", "issue", step=k)


def _wait(n, k, flight, comm, watch, hook, profile, trace):
    """Step ``k``: complete collective ``n``; its value. Its trace event spans its issue to
    the end of this wait; the wait itself is a span of its own (category "wait")."""
    pending, t_issue, issue_s = flight.pop(id(n))
    t0 = time.perf_counter()
    if watch is not None:
        watch.since, watch.node = t0, n
    try:
        if tr.ACTIVE:
            with tr.span(f"wait {n.op}", "wait", step=k, type=n.aval.type_str()):
                value = pending.wait()
        else:
            value = pending.wait()
    except Exception as exc:  # noqa: BLE001 - any failure must end every rank
        _fail(comm, n, exc)
    if watch is not None:
        watch.node = None
    if hook is not None:
        hook(n, t_issue)
    if profile is not None:
        profile[id(n)] = issue_s + time.perf_counter() - t0
    if trace and comm.rank == 0:
        now = time.perf_counter()
        print(f"lazyheat: {n.op:<14} {n.aval.type_str():<24} {(now - t0) * 1e3:8.3f} ms "
              f"waited, {(now - t_issue) * 1e3:.3f} ms since its issue")
    return value


def _storage(v):
    if torch.is_tensor(v) and v.numel():
        return v.untyped_storage().data_ptr()
    return None


def _donatable(n, vals, dies, params, order) -> tuple:
    """Indices of ``n``'s inputs whose buffers die here (``dies``: the ids of the values
    dropped after ``n``) and are shared with nothing alive (no other value, no user data).
    Only worth checking for outputs of several chunks."""
    chunk = F.chunk_elements()
    if chunk <= 0 or n.aval.size < 2 * chunk:
        return ()
    cands = []
    for k, i in enumerate(n.inputs):
        if id(i) in dies and n.inputs.count(i) == 1 and \
                i.op not in USER_DATA:
            ptr = _storage(vals[id(i)])
            if ptr is not None:
                cands.append((k, id(i), ptr))
    if not cands:
        return ()
    others = {}
    for v in vals.values():
        for t in v if isinstance(v, tuple) else (v,):
            ptr = _storage(t)
            if ptr is not None:
                others[ptr] = others.get(ptr, 0) + 1
    # user data: params, and data leaves (the reference interpreter runs those directly)
    pinned = {_storage(t) for t in params}
    pinned |= {_storage(d.attr("buf").value) for d in order if d.op == "data"}
    return tuple(k for k, _, ptr in cands if others.get(ptr) == 1 and ptr not in pinned)
