"""The op registry: one definition per op (or op family) that every layer reads.

An ``OpDef`` holds what the IR knows about an op: its group, its abstract evaluation (shape
and dtype from the inputs' avals and the attributes), its layout rule (the output layout and
the layout each input must have, chosen by the cost model), how fusion treats it, and for
communication its collective rule (what it is called and what each rank receives). Passes
and the runtime key their own tables by the same names: ``passes/lower`` registers one
lowering per op or group and ``runtime/kernels`` one kernel, and a coverage test fails when an
op lacks a piece. No module keeps its own list of op names: it asks for a group.

This module holds the registry itself; the definitions live in one module per family
(``elementwise``, ``reduce``, ``structural``, ``collectives``, ``scan``, ``select``), which
``graph.ops`` imports.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class Group(enum.Enum):
    """What kind of op a node is; passes ask ``op in ops.ELEMENTWISE`` and the like."""

    LEAF = "leaf"                # no inputs: data, constants, generators
    ELEMENTWISE = "elementwise"  # one output element from the same position of each input
    REDUCTION = "reduction"      # reduces axes of one input (may close a fused group)
    COMBINER = "combiner"        # combines ranks' partial states after a collective
    MOVEMENT = "movement"        # moves or re-shapes elements: transpose, reshape, slice, ...
    CONTRACTION = "contraction"  # matmul and friends (opaque BLAS calls)
    SCAN = "scan"                # cumulative ops: carry a running value along an axis
    SELECTION = "selection"      # data-dependent extents (boolean masks)
    COLLECTIVE = "collective"    # communication between ranks
    STRUCTURAL = "structural"    # plan structure: fused groups, batch parts


class Fusion(enum.Enum):
    """How the fusion pass treats an op."""

    MEMBER = "member"    # may join an elementwise group
    CLOSER = "closer"    # may close a group (one reduction of the group's root)
    BARRIER = "barrier"  # never fused


@dataclass(frozen=True)
class Needs:
    """What an op needs to produce its chosen output layout: the layout each input must
    have, and whether ranks then hold partial results that a collective must combine."""

    inputs: tuple
    partial: bool = False


def keep_inputs(avals, attrs, shape, out, p) -> Needs:
    """The input-layout rule of an op that runs block by block on its inputs as they are
    laid out: nothing moves."""
    return Needs(tuple(a.layout for a in avals))


@dataclass(frozen=True)
class CommRule:
    """What a collective is and costs. ``kind(node)`` names it for ``explain``;
    ``recv_bytes(node)`` lists the bytes each rank receives; ``free(node)`` says it moves
    nothing (a replicated value sliced locally). Every collective counts one step of comm
    depth, so two collectives of equal depth never depend on each other (batching)."""

    kind: Callable
    recv_bytes: Callable
    free: Callable = lambda node: False
    # a reduction's collective: small states that may share one all-gather (batching)
    batchable: bool = False
    # bytes a rank holds while it runs, when more than its result (a receive buffer)
    held_bytes: Callable | None = None
    # ``cost(node) -> graph.commcost.CommCost`` (algorithm, rounds, bytes), when the default
    # read off ``kind`` and ``recv_bytes`` does not describe it
    cost: Callable | None = None
    # the runtime has a non-blocking form (issue now, wait later: ``passes/schedule.py``)
    nonblocking: bool = False
    # its form follows from layouts (and, where priced, from the bytes of the value it
    # moves): a plan resized for new sizes keeps it (``passes/polymorph.py``)
    resizable: bool = False


@dataclass(frozen=True)
class OpDef:
    """Everything the IR knows about one op.

    - ``infer(avals, attrs) -> (shape, dtype)``: abstract evaluation; raises the user-facing
      error (shape mismatch, bad dtype) at build time. None for ops only passes create.
    - ``layout(avals, attrs, shape, p) -> (split, counts)``: the output layout for ``p``
      ranks, the cheapest by the cost model, from global metadata only. None: the node keeps
      the layout it was given (leaves, explicit redistribution), re-planned as balanced.
    - ``needs(avals, attrs, shape, out, p) -> Needs``: the input layouts that produce the
      output layout ``out`` block by block (lowering inserts the moves).
    - ``yields_partial``: the value is this rank's part of a sum/state a collective combines;
      ``reads_partial``: the op combines ranks' parts, so it may read such a value.
    - ``data_dependent``: the op's extent depends on the data (planned as a break).
    - ``user_data``: a leaf whose value is memory the user holds (never freed or reused);
      ``view``: the value is a reference into another node's value (no memory of its own).
    - ``resizable``: "always" when its plan depends on sizes only through the dimensions of
      its avals, so a new shape reuses the plan, resized (``passes/polymorph.py``; the
      elementwise group is so by nature); "one_rank" when that holds on one rank only (on
      several, the planner chooses its communication by sizes); "" otherwise.
    """

    name: str
    group: Group
    infer: Callable | None = None
    layout: Callable | None = None
    needs: Callable | None = None
    fusion: Fusion = Fusion.BARRIER
    comm: CommRule | None = None
    yields_partial: bool = False
    reads_partial: bool = False
    data_dependent: bool = False
    user_data: bool = False
    view: bool = False
    resizable: str = ""
    doc: str = ""


OPS: dict[str, OpDef] = {}


def register(*defs: OpDef) -> None:
    """Add definitions; an op is defined once (a second definition is a bug)."""
    for d in defs:
        if d.name in OPS:
            raise ValueError(f"op {d.name!r} is defined twice")
        if d.group is Group.COLLECTIVE and d.comm is None:
            raise ValueError(f"collective {d.name!r} needs a CommRule")
        if not d.doc:
            raise ValueError(f"op {d.name!r} needs a doc line (explain and the README use it)")
        OPS[d.name] = d


def opdef(name: str) -> OpDef:
    try:
        return OPS[name]
    except KeyError:
        raise KeyError(f"no op {name!r} in the registry") from None


def names_in(*groups: Group) -> frozenset:
    return frozenset(n for n, d in OPS.items() if d.group in groups)
