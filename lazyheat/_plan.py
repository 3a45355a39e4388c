"""``Plan``: a plan at one stage, to print, dump, analyse in networkx, or run.

A plan holds its output nodes (the stage's graph), the rewrite notes, the data leaves in
parameter order, the communicator and the notes of its breaks (ops whose extent came from
the data). Rendering is ``explain``'s job; every number a plan
reports (bytes per rank, collectives, peak memory) comes from the cost model in
``graph/cost.py``.
"""

from __future__ import annotations

import os
import weakref

from . import explain
from .graph import TupleAval, topo_order
from .graph.cost import comm_bytes, comm_kind, is_free
from .graph.ops import COLLECTIVES, holds_partial
from .passes import schedule as overlap


class Plan:
    """The plan for some arrays at one stage: printable, dumpable, runnable.

    >>> x = lh.random.rand(8, 4, split=0, seed=1)
    >>> p = lh.plan((x * 2 + 1).sum(), world_size=4)
    >>> p.totals()["fused_kernels"], p.totals()["collectives"]
    (1, 1)
    """

    def __init__(self, outputs, stage, notes, params, comm, breaks=()):
        self.outputs, self.stage, self.notes = list(outputs), stage, list(notes)
        self.params, self.comm, self.breaks = list(params), comm, list(breaks)
        self.measured = None  # per-node measurements from analyze
        self.timing = None  # the time model's estimate (graph.timemodel.PlanTime), if asked

    @property
    def schedule(self):
        """The steps ``compute`` runs a physical plan in, collectives overlapped with kernels
        (``passes.schedule.Schedule``; ``schedule_of``), or None: nothing overlaps, another
        stage, or ``LAZYHEAT_OVERLAP=0``."""
        return schedule_of(self.outputs) if self.stage == "physical" else None

    @property
    def world_size(self) -> int:
        return self.outputs[0].aval.comm.size if self.outputs else self.comm.size

    def text(self) -> str:
        return explain.plan_text(self)

    def to_json(self) -> dict:
        return explain.plan_json(self)

    def to_dot(self) -> str:
        return explain.plan_dot(self)

    def totals(self) -> dict:
        return explain.plan_totals(self)

    def estimate(self, network="shm"):
        """The time model's estimate of this plan on ``network`` (``lh.estimate``)."""
        from .graph.timemodel import estimate

        return estimate(self.outputs, network)

    def to_networkx(self):
        """The plan as a ``networkx.DiGraph``, for analysing plans in your own tools.

        Nodes are SSA names (``"%3"``) with attributes ``op``, ``type`` (``f32[8@0, 4]``),
        ``shape``, ``dtype``, ``split``, ``counts`` (None for a state of several arrays),
        ``nbytes`` (the value's global bytes), ``local_nbytes`` (the busiest rank's block),
        ``loc`` (the user's source line), ``partial`` and, for communication, ``comm`` (its
        kind) and ``bytes_per_rank`` (what the busiest rank receives). Edges go from input to
        user and carry ``bytes``: the global bytes of the input value, and for an edge into
        communication, ``bytes_per_rank`` received. ``graph.graph`` has ``stage``,
        ``world_size``, ``outputs`` and ``totals``.

        >>> import networkx as nx
        >>> x = lh.random.rand(8, 4, split=0, seed=1)
        >>> g = lh.plan(x.sum(0), world_size=4).to_networkx()
        >>> [g.nodes[n]["op"] for n in nx.topological_sort(g)]
        ['random', 'reduce_partial', 'allreduce']
        """
        import networkx as nx

        order = topo_order(self.outputs)
        name = {id(n): f"%{i}" for i, n in enumerate(order)}
        g = nx.DiGraph(stage=self.stage, world_size=self.world_size,
                       outputs=[name[id(o)] for o in self.outputs], totals=self.totals())
        for n in order:
            a = n.aval
            array = not isinstance(a, TupleAval)
            attrs = {"op": n.op, "type": a.type_str(), "loc": n.loc, "nbytes": a.nbytes,
                     "local_nbytes": a.local_nbytes, "partial": holds_partial(n),
                     "shape": a.shape if array else None,
                     "dtype": a.dtype.name if array else None, "split": a.split,
                     "counts": a.counts}
            if n.op in COLLECTIVES:
                attrs["comm"] = comm_kind(n)
                attrs["bytes_per_rank"] = 0 if is_free(n) else comm_bytes(n)
            g.add_node(name[id(n)], **attrs)
            for i in n.inputs:
                edge = {"bytes": i.aval.nbytes}
                if n.op in COLLECTIVES:
                    edge["bytes_per_rank"] = attrs["bytes_per_rank"]
                g.add_edge(name[id(i)], name[id(n)], **edge)
        return g

    def dump(self, path, format=None) -> None:  # noqa: A002 - matches explain's keyword
        """Write the plan to ``path`` as ``format`` ("text", "json" or "dot"; by default
        from the suffix: .json, .dot/.gv, else text). Call it on one rank (or each its own
        path): the content is the same on every rank."""
        fmt = format or {".json": "json", ".dot": "dot", ".gv": "dot"}.get(
            os.path.splitext(str(path))[1].lower(), "text")
        with open(path, "w") as f:
            f.write(str.__str__(explain.render(self, fmt)))
            f.write("\n")

    def __str__(self) -> str:
        return self.text()

    __repr__ = __str__


# physical outputs -> (their ids, their schedule, (bytes it adds, on which rank) or None): made
# once per plan, kept beside it as the memory guard keeps its estimates (weakly keyed by the
# first output; a schedule names nodes by index, so the entry keeps no node alive).
_SCHEDULES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def scheduled(outs) -> tuple:
    """(the overlapped schedule of physical outputs ``outs``, the memory it adds beyond the
    user's data as ``(bytes, rank)`` or None when it overlaps nothing); cached per plan."""
    hit = _SCHEDULES.get(outs[0])
    if hit is not None and len(hit[0]) == len(outs) and all(map(
            lambda i, o: i == id(o), hit[0], outs)):
        return hit[1], hit[2]
    s = overlap.schedule(outs)
    got = (s, overlap.added(s, outs) if s.spans else None)
    _SCHEDULES[outs[0]] = (tuple(map(id, outs)), *got)
    return got


def schedule_of(outs):
    """The schedule ``compute`` runs physical outputs ``outs`` with: collectives issued
    early and waited for late, kernels between (``passes/schedule.py``); None when nothing
    overlaps (one rank included), or with ``LAZYHEAT_OVERLAP=0``. Made once per plan from
    global metadata, so every rank runs the same steps."""
    if not outs or outs[0].aval.comm.size == 1 or not overlap.enabled():
        return None
    s = scheduled(outs)[0]
    return s if s.spans else None


def format_plan(outputs, notes=(), breaks=()) -> str:
    """Text of physical outputs (what ``LAZYHEAT_DEBUG=1`` prints)."""
    return explain.plan_text(Plan(outputs, "physical", notes, [], outputs[0].aval.comm,
                                  breaks))
