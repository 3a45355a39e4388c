"""Planning and running: the plan cache, ``compute``, ``plan``, ``explain`` and ``reference``.

The pass pipeline itself is ``passes/pipeline.py`` (logical -> optimized -> physical).

Plans are cached by the graph's *template key*: ops, attributes and avals (shape, dtype,
layout, device), with data leaves standing for their position only. An iterative algorithm that
builds the same graph each iteration (new data, same structure) plans once. Every rank builds
the identical plan from global metadata, so collectives line up.
"""

from __future__ import annotations

from collections import OrderedDict
from types import SimpleNamespace

import numpy as np
import torch

from . import _core, predicted
from ._array import LazyArray
from ._graphkey import build as _build
from ._graphkey import template as _template
from ._plan import Plan, format_plan, schedule_of, scheduled
from .explain import PlanText, render
from .graph import Buffer, Node, signature, topo_order, user_location
from .graph.cost import comm_bytes, comm_bytes_per_rank, comm_kind, is_free
from .graph.ops import COLLECTIVES
from .graph.timemodel import PlanTime
from .graph.timemodel import estimate as _estimate
from .passes import pipeline, polymorph
from .passes.pipeline import STAGES, break_note
from .passes.schedule import enabled as overlap_enabled
from .runtime import agreement, env, memguard, sync
from .runtime import comm as cm
from .runtime import kernels as K
from .runtime.executor import execute, guarded, prepare
from .runtime.trace import span as trace_span

__all__ = ["Plan", "PlanText", "STAGES", "plan", "compute", "explain", "estimate", "comm_bytes",
           "comm_kind",
           "format_plan", "physical_plan", "run_passes", "to_numpy", "reference",
           "plan_cache_info", "clear_plan_cache"]

CACHE_SIZE = 256
# run the verifier after every pass (the test suite turns this on; LAZYHEAT_DEBUG=3 too)
VERIFY_PASSES = False

_CACHE: OrderedDict = OrderedDict()
_STATS = {"hits": 0, "misses": 0, "resized": 0}
# reuse the plan of another shape of the same expression where it is proven not to depend
# on sizes (passes/polymorph.py); the test suite checks every reuse against planning anew
SHAPE_POLYMORPHIC = True
# (symbolic key, outputs, id(comm)) -> (comm, the symbols its communication depends on,
# {their values: None once planned as they are, then the proven ``polymorph.Template``, or
# False where it is not polymorphic}, [the digest of the symbolic key, once made]), made
# when its first shape was planned
_POLY: OrderedDict = OrderedDict()
_UNSEEN = object()
# (structural key of the computed arrays, id(comm)) -> (comm, its ``_CACHE`` entry): the same
# entries, found without walking the graph (``_signed``)
_SIGNED: OrderedDict = OrderedDict()


def _parse_debug(text) -> int:
    value = (text or "").strip()
    if not value:
        return 0
    return int(value) if value.isdigit() else 1


# ``LAZYHEAT_DEBUG``, the one debug switch, read here only: 0 (unset) to 3; any other
# non-empty value means 1. Read at every compute (a change applies to the next one).
_debug_level = env.Setting("LAZYHEAT_DEBUG", _parse_debug)
# ``LAZYHEAT_PLAN_CACHE=0`` plans every compute anew
_use_cache = env.Setting("LAZYHEAT_PLAN_CACHE", lambda text: text != "0")


def run_passes(logical, stage="physical", world_size=None):
    """(outputs at ``stage``, rewrite notes) for logical outputs over params."""
    comm = None if world_size is None else cm.FakeComm(int(world_size))
    return pipeline.run_passes(logical, stage, comm, _evaluate_constant,
                               VERIFY_PASSES or _debug_level() >= 3)


def _evaluate_constant(node, values):
    """The value of elementwise ``node`` on constant operands: its runtime kernel on 0-d
    tensors of the operands' dtypes, as a Python scalar."""
    ts = [torch.tensor(v, dtype=K.tdtype(i.aval.dtype)) for v, i in zip(values, node.inputs)]
    out = K.k_ewise(node, ts, _CPU)
    return out.item()


_CPU = SimpleNamespace(device=torch.device("cpu"))


def plan(*arrays, stage="physical", world_size=None) -> Plan:
    """The plan ``compute`` would run for ``arrays`` (nothing runs). ``world_size=N`` plans
    for N ranks in this process, as if under ``mpiexec -n N``."""
    arrays = _arrays(arrays, "plan")
    key, order, new, params, breaks = _template([a._node for a in arrays], history=True)
    with trace_span("plan", "planning", stage=stage):
        outs, notes = run_passes(_build(order, new, key[1]), stage, world_size)
    comm = outs[0].aval.comm if outs else arrays[0].comm
    return Plan(outs, stage, notes, params, comm, [break_note(n) for n in breaks])


def _arrays(arrays, what):
    arrays = list(arrays)
    if not arrays:
        raise TypeError(f"{what}() needs at least one lazy array")
    for a in arrays:
        if not isinstance(a, LazyArray):
            raise TypeError(f"{what}() takes lazy arrays, got {type(a).__name__}")
    _core.check_same(arrays, what)
    return arrays


def physical_plan(arrays) -> list:
    """The physical outputs for ``arrays`` (over params; see ``plan``)."""
    return plan(*arrays).outputs


def _cached(arrays):
    """(physical outputs, notes, data buffers, fingerprint, breaks, programs) for
    ``arrays``, from the cache when the same template was planned before. ``programs``
    holds the executor's ``Program`` of the plan by schedule (``_program``); it lives and
    goes with the cache entry."""
    comm = arrays[0].comm
    use_cache = _use_cache()
    fast = _signed(arrays, comm) if use_cache else None
    if fast is not None:  # the graph's key without a walk (``graph/signature.py``)
        hit = _SIGNED.get(fast[0])
        if hit is not None and hit[0] is comm:
            _SIGNED.move_to_end(fast[0])
            _STATS["hits"] += 1
            entry = hit[1]
            params = [leaf.attr("buf") for leaf in fast[1]]
            if VERIFY_PASSES:
                _check_signed(arrays, entry, params)
            return entry[1], entry[2], params, entry[3], [], entry[4]
    key, order, new, params, breaks = _template([a._node for a in arrays])
    ck = (key, id(comm))
    hit = _CACHE.get(ck) if use_cache else None
    if hit is not None and hit[0] is comm:
        _CACHE.move_to_end(ck)
        _STATS["hits"] += 1
        _sign(fast, hit, breaks)
        return hit[1], hit[2], params, hit[3], breaks, hit[4]
    _STATS["misses"] += 1
    sym = polymorph.symbolic(key[0], comm.size) if use_cache and SHAPE_POLYMORPHIC and \
        not breaks else None
    got = _resized(sym, key, order, new, comm) if sym is not None else None
    if got is None:
        with trace_span("plan", "planning", stage="physical"):
            outs, notes = run_passes(_build(order, new, key[1]))
        if sym is not None:
            _remember(sym, key, comm, outs)
        # only ranks that compare plans need the fingerprint (one rank: no walk, no repr)
        fp = _fingerprint(key, outs) if comm.size > 1 else (None, None)
    else:
        outs, notes, fp = got
    programs = {}
    if use_cache:
        entry = _CACHE[ck] = (comm, outs, notes, fp, programs)
        if len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
        _sign(fast, entry, breaks)
    return outs, notes, params, fp, breaks, programs


def _signed(arrays, comm):
    """((the arrays' structural key, their data leaves' avals, id(comm)), the leaves in
    param order) when every array's node carries a signature and none of their graphs'
    nodes can have been materialized since it was built (``graph/signature.py``): then the
    key stands for the walk's, and the leaves' buffers are the params. Else None."""
    tags = []
    for a in arrays:
        t = a._node.tag
        if not t or t[2] != signature.EPOCH[0]:
            return None
        tags.append(t)
    key, leaves = signature.combine(tags)
    if key is None:
        return None
    return (key, tuple([leaf.aval.struct() for leaf in leaves]), id(comm)), leaves


def _sign(fast, entry, breaks) -> None:
    """Remember cache ``entry`` under the structural key ``fast`` (``_signed``), unless the
    graph has breaks (their notes name nodes of the graph, which the entry must not hold:
    they would keep the user's data alive)."""
    if fast is not None and not breaks:
        _SIGNED[fast[0]] = (entry[0], entry)
        if len(_SIGNED) > CACHE_SIZE:
            _SIGNED.popitem(last=False)


def _check_signed(arrays, entry, params) -> None:
    """The test suite's oracle for a structural hit: the walk finds the same params, and
    the plan found is the walk's (or one of the same structure: a graph of equal sig may
    share its nodes differently)."""
    key, order, new, walked, _ = _template([a._node for a in arrays])
    if len(walked) != len(params) or any(a is not b for a, b in zip(walked, params)):
        raise AssertionError(f"a structural key's params differ from the walk's: {params} "
                             f"vs {walked}")
    if _CACHE.get((key, id(entry[0]))) is entry:
        return
    direct, _ = run_passes(_build(order, new, key[1]))
    if polymorph.structure(entry[1]) != polymorph.structure(direct):
        raise AssertionError("a structural key found another plan than the walk's:\n"
                             f"{format_plan(entry[1])}\nvs\n{format_plan(direct)}")


def _poly_entry(skey, key, comm):
    """The ``_POLY`` entry of symbolic key ``skey`` with ``key``'s outputs on ``comm``, or
    None (the id of a communicator that is gone may be another's now: the entry holds it)."""
    entry = _POLY.get((skey, key[1], id(comm)))
    return entry if entry is not None and entry[0] is comm else None


def _remember(sym, key, comm, outs) -> None:
    """After a shape of an expression was planned as it is: at its first shape, which of
    its sizes the plan's communication depends on (``polymorph.exact_symbols``), for later
    shapes to key by; and that these sizes of communication were seen."""
    skey, values = sym
    entry = _poly_entry(skey, key, comm)
    if entry is None:
        entry = _POLY[(skey, key[1], id(comm))] = \
            (comm, polymorph.exact_symbols(outs, values), {}, [])
        if len(_POLY) > CACHE_SIZE:
            _POLY.popitem(last=False)
    _, exact, templates, _ = entry
    if len(templates) >= 16:  # sizes of communication seen: a few per expression
        templates.clear()
    templates.setdefault(tuple(values[k] for k in exact), None)


def _resized(sym, key, order, new, comm):
    """(physical outputs, notes) for a graph whose expression was planned before for other
    sizes, by resizing that plan (``passes/polymorph.py``), or None: the expression's first
    shape (planned as it is), or not proven free of sizes. The second shape of an
    expression with the same sizes in its communication proves a template (two plans at
    probe sizes: an expression whose sizes of communication change at every call never
    pays for it); later shapes cost a walk over the plan. Decided from global metadata:
    every rank resizes alike."""
    skey, values = sym
    entry = _poly_entry(skey, key, comm)
    if entry is None:
        return None
    _POLY.move_to_end((skey, key[1], id(comm)))
    _, exact, templates, digest = entry
    fixed = tuple(values[k] for k in exact)
    state = templates.get(fixed, _UNSEEN)
    if state is _UNSEEN:  # new sizes of communication: planned as they are (_remember)
        return None
    if state is None:  # their second shape: worth proving a template (two plannings)
        try:
            with trace_span("plan", "planning", stage="template"):
                state = polymorph.template(_build(order, new, key[1]), values, exact,
                                           run_passes)
        except polymorph.NotPolymorphic:
            state = False
        templates[fixed] = state
    if state is False:
        return None
    try:
        outs = state.instantiate(values)
    except polymorph.NotPolymorphic:
        return None
    _STATS["resized"] += 1
    if VERIFY_PASSES or _debug_level() >= 3:
        _check_resized(outs, order, new, key)
    fp = (None, None)
    if comm.size > 1:  # the concrete key is a function of the symbolic one and the sizes:
        # their digest tells plans apart as the key's would (one repr of the symbolic key
        # per expression), made when a handshake needs it (a plan without collectives
        # mostly has none)
        def plan_digest():
            if not digest:
                digest.append(sync.digest(repr(skey)))
            return sync.digest(f"{digest[0]} {values}")
        fp = (plan_digest() if state.communicates else plan_digest, state.communicates)
    # notes that count bytes were counted at the probe sizes
    return outs, [n for n in state.notes if "->" not in n] + [
        "plan resized from the plan of other sizes of this expression"], fp


def _check_resized(outs, order, new, key) -> None:
    """The test suite's oracle for resized plans: equal to planning the sizes anew."""
    direct, _ = run_passes(_build(order, new, key[1]))
    if polymorph.structure(outs) != polymorph.structure(direct):
        raise AssertionError("a resized plan differs from planning its sizes anew:\n"
                             f"{format_plan(outs)}\nvs\n{format_plan(direct)}")


def _fingerprint(key, outs) -> tuple:
    """(digest of the plan's template key, whether the plan communicates): what the
    handshake before a plan compares between ranks. Computed once per cached plan."""
    return sync.digest(repr(key)), _communicates(outs)


def _communicates(outs) -> bool:
    return any(n.op in COLLECTIVES for n in topo_order(outs))


def plan_cache_info() -> dict:
    """Plan cache statistics: hits, misses (of which ``resized``: a plan of other sizes of
    the same expression reused), entries."""
    return {"hits": _STATS["hits"], "misses": _STATS["misses"],
            "resized": _STATS["resized"], "entries": len(_CACHE)}


def clear_plan_cache() -> None:
    _CACHE.clear()
    _SIGNED.clear()
    _POLY.clear()
    _STATS["hits"] = _STATS["misses"] = _STATS["resized"] = 0


def compute(*arrays):
    """Compute several arrays in one plan (shared work done once); returns them as a tuple,
    now materialized (``a, b = lh.compute(a, b)``; ``(a,) = lh.compute(a)``, as Dask)."""
    for a in arrays:
        if not isinstance(a, LazyArray):
            raise TypeError(f"compute() takes lazy arrays, got {type(a).__name__}")
    todo = [a for a in arrays if a._node.op != "data"]  # not yet materialized
    if todo:
        if len(todo) > 1:
            _core.check_same(todo, "compute")
        outs, notes, params, fp, breaks, programs = _cached(todo)
        if predicted.ACTIVE is not None:  # the time model's counter (off: this test only)
            predicted.ACTIVE.add_plan(outs)
        comm = todo[0].comm
        _handshake(comm, fp, todo, params)
        debug = _debug_level()
        if debug >= 1 and comm.rank == 0 and \
                (fp[1] if fp[1] is not None else _communicates(outs)):
            print(format_plan(outs, notes, [break_note(n) for n in breaks]))
        _run(todo, outs, params, programs=programs, debug=debug, communicates=fp[1])
    return arrays


def _handshake(comm, fp, arrays, params) -> None:
    """Before a plan's first collective, check that every rank runs the same plan, from the
    same lines, on the same replicated data (``sync.handshake``). Plans that do not
    communicate need no check: the replicated data they read for the first time is
    compared at a later handshake (before any collective), and every few such plans take
    one (as they do while C kernels wait for the ranks' agreement)."""
    if comm.size == 1:
        return
    data = [(b.loc, b.crc) for b in params if b.crc is not None]
    for b in params:
        b.crc = None  # compared once (here or at a later handshake): equal on every rank
    if not fp[1]:
        # a plan without collectives compares new replicated data at a later handshake
        # (``sync.defer``: at the latest every few such reads); while replicated groups
        # wait for the ranks to agree on their C kernels, every few such plans take one
        # all the same (``runtime/agreement.py``)
        due = sync.defer(comm, data)
        kernels = agreement.pending(comm)
        if not due and (kernels is None or not kernels.due()):
            return
        data = []
    locs = "\n".join(a._node.loc for a in arrays)
    # overlapped or blocking collectives must be so on every rank (MPI never pairs a
    # posted collective with a blocking one): the switch is part of what is compared
    digest = fp[0] if type(fp[0]) is tuple else fp[0]()  # (made late: ``_resized``)
    if overlap_enabled():
        digest = (digest[0] ^ 1, digest[1])
    sync.handshake(comm, lambda: _describe(arrays, digest), digest, locs, data)


def _describe(arrays, plan_digest) -> str:
    """What a compute is, for divergence and timeout reports: each array's last op (the
    function of a reduction), type and line, and a short digest telling apart plans that
    read alike."""
    parts = []
    for a in arrays[:3]:
        n = a._node
        fn = n.attr("fn")
        label = fn if isinstance(fn, str) else n.op
        parts.append(f"{label} -> {a.aval.type_str()} at {n.loc}")
    more = f" and {len(arrays) - 3} more" if len(arrays) > 3 else ""
    return (f"compute of {', '.join(parts)}{more} "
            f"[plan {plan_digest[0] & 0xffffffff:08x}]")


def _run(todo, outs, params, profile=None, programs=None, debug=None, communicates=True):
    """Run physical ``outs`` and materialize ``todo`` with their values. ``communicates``:
    whether the plan has collectives (False: no schedule to make, nothing overlaps)."""
    comm = todo[0].comm
    dev = _core.torch_device(todo[0].device, comm)
    sched = schedule_of(outs) if comm.size > 1 and communicates is not False else None
    # MemoryError before anything runs, on every rank; an overlapped schedule holds a
    # collective's buffers from its issue to its wait: its own estimate is compared
    prog = _program(programs, outs, comm, sched)
    passed = memguard.check_plan(outs, comm, dev, None if sched is None else
                                 scheduled(outs)[1], prog and prog.memory_checked)
    if prog is not None:
        prog.memory_checked = passed
    values = execute(outs, comm, dev, [b.value for b in params], profile,
                     trace=(_debug_level() if debug is None else debug) >= 2, schedule=sched,
                     program=prog)
    for a, v in zip(todo, values):
        leaf = Node("data", (), (("buf", Buffer(v)),), a.aval, a._node.loc)
        _core.MATERIALIZED[a._node] = leaf
        a._node = leaf
    signature.materialized()  # graphs built before now may hold these nodes


def _program(programs, outs, comm, sched):
    """The executor's ``Program`` for ``outs`` run with ``sched`` (None: the plain order),
    made once per cached plan and schedule: ``programs`` is the plan's cache entry's."""
    if programs is None:
        return None
    key = id(sched) if sched is not None else None  # the schedule is cached with the plan
    prog = programs.get(key)
    if prog is None or prog.schedule is not sched:
        prog = programs[key] = prepare(outs, comm.size, sched)
    return prog


def explain(*arrays, stage="physical", format="text", analyze=False,  # noqa: A002
            world_size=None, network=None):
    """The plan ``compute`` would run for ``arrays``, as text (default), JSON or DOT.

    - ``stage``: "logical" (the expression graph), "optimized" (after rewrites) or
      "physical" (lowered: block-local kernels, fused groups in brackets, collectives on their
      own lines with the bytes each rank receives).
    - ``format``: "text" (an SSA listing; ``f32[1000@0, 8]`` is a float32 array split along
      axis 0), "json" (the same content, schema ``lazyheat.plan/1``) or "dot" (Graphviz).
    - ``world_size=N``: plan for N ranks in this process (no MPI needed).
    - ``analyze=True``: run the plan (a collective call: every rank must make it) and add the
      measured time and bytes of every step, min and max over ranks; the arrays are computed,
      and ``lh.plan``/``lh.explain`` of them still show the plan that computed them.
    - ``network``: add the time model's estimate (``lh.estimate``) on that network: a
      preset name ("heat", "100gbe", "shm", ...), an ``lh.Network`` or a dict of its
      fields. Every step shows its estimated time, collectives their algorithm and rounds,
      and the totals the estimated seconds of compute, communication and the whole plan.

    The text prints on rank 0 only: ``print(lh.explain(z))`` under mpiexec shows it once.

    >>> x = lh.random.rand(8, 4, split=0, seed=1)
    >>> "fused(" in lh.explain(((x * 2) + 1).sum(), world_size=4)
    True
    """
    arrays = _arrays(arrays, "explain")
    if analyze:
        if world_size is not None and world_size != arrays[0].comm.size:
            raise ValueError("analyze=True runs the plan: world_size must be the actual one")
        if stage != "physical":
            raise ValueError("analyze=True measures the physical plan: use stage='physical'")
        outs, notes, params, fp, breaks, programs = _cached(arrays)
        p = Plan(outs, "physical", notes, params, arrays[0].comm,
                 [break_note(n) for n in breaks])
        _handshake(arrays[0].comm, (fp[0], True), arrays, params)  # analyze gathers: always
        profile = {}
        logical = [a._node for a in arrays]
        _run(arrays, outs, params, profile, programs)
        for a, node in zip(arrays, logical):
            _core.ANALYZED[a._node] = node  # lh.plan(a) still shows what analyze ran
        p.measured = _gather_profile(p, profile)
        return render(_timed(p, network), format)
    return render(_timed(plan(*arrays, stage=stage, world_size=world_size), network), format)


def _timed(p: Plan, network) -> Plan:
    """``p`` with the time model's estimate on ``network`` (nothing when None)."""
    if network is not None:
        p.timing = _estimate(p.outputs, network)
    return p


def estimate(*arrays, network="shm", world_size=None) -> PlanTime:
    """The time model's estimate of the plan ``compute`` would run for ``arrays``, on
    ``network`` (a preset name of ``NETWORKS``, an ``lh.Network`` or a dict of its fields)
    and ``world_size`` ranks (default: the arrays' communicator): seconds per step and in
    all, compute and communication apart (``graph/timemodel.py``). Nothing runs.

    >>> x = lh.zeros((1 << 20, 16), split=0, comm=lh.FakeComm(64))
    >>> t = lh.estimate(x.T @ x, network="heat")
    >>> t.world_size, t.total_s < 0.01, t.comm_s < t.compute_s
    (64, True, True)
    """
    return _estimate(plan(*arrays, world_size=world_size).outputs, network)


def _gather_profile(plan, profile) -> dict:
    """Per-node {seconds_min/max, bytes_min/max} over ranks, from this rank's ``profile``
    (node id -> seconds). One all-gather: every rank must call it."""
    order = topo_order(plan.outputs)
    comm = plan.comm
    mine = []
    for n in order:
        b = comm_bytes_per_rank(n)[comm.rank] if n.op in COLLECTIVES and not is_free(n) \
            else 0
        mine.append((profile.get(id(n), 0.0), b))
    every = comm.mpi.allgather(mine) if comm.size > 1 else [mine]
    out = {}
    for k, n in enumerate(order):
        ts = [r[k][0] for r in every]
        bs = [r[k][1] for r in every]
        out[id(n)] = {"seconds_min": min(ts), "seconds_max": max(ts),
                      "bytes_min": min(bs), "bytes_max": max(bs)}
    return out


def to_numpy(x) -> np.ndarray:
    """The whole of ``x`` as a NumPy array on every rank."""
    t = x.larray
    if x.split is not None:
        if predicted.ACTIVE is not None:
            predicted.ACTIVE.add_gather(x.aval)
        buf = x._node.attr("buf")
        data = [(buf.loc, buf.crc)] if buf.crc is not None else []
        loc = user_location()
        sync.handshake(x.comm, lambda: f"numpy() of {x.aval.type_str()} at {loc}",
                       sync.digest(f"numpy {x.aval.struct()}"), loc, data)
        buf.crc = None
        t = guarded(x.comm, "numpy() gather", cm.redistribute, x.comm, t, x.shape,
                    x.aval.layout, (None, None))
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        t = t.to(torch.float32)  # NumPy has no bfloat16
    return t.numpy().copy()


def reference(*arrays) -> list:
    """Values of ``arrays`` from the reference interpreter (whole arrays, no distribution);
    the oracle that tests compare the distributed runtime with."""
    from .runtime.reference import evaluate

    nodes = [a._node for a in arrays]
    dev = _core.torch_device(arrays[0].device, arrays[0].comm)
    return [v.cpu().numpy() if v.dtype != torch.bfloat16 else v.float().cpu().numpy()
            for v in evaluate(nodes, arrays[0].comm, dev)]

