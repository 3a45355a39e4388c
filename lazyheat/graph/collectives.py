"""Communication ops: what each collective is called and what every rank receives.

The byte counts here are the cost model of communication (``cost.py`` reads them for the
planner, the passes and ``explain`` alike): bytes a rank *receives*, from the avals alone.
"""

from __future__ import annotations

from .commcost import (
    allgather_cost,
    allreduce_cost,
    exscan_cost,
    reduce_scatter_cost,
    state_cost,
)
from .layout import recv_bytes
from .reduce import gathered
from .registry import CommRule, Group, OpDef, register


def _p(node) -> int:
    return node.aval.comm.size


# ---------------------------------------------------------------- redistribute
def _redistribute_kind(node) -> str:
    src, dst = node.inputs[0].aval.layout, node.aval.layout
    if dst[0] is None:
        return "allgather"
    if src[0] is None:
        return "slice (local, free)"
    if src[0] == dst[0]:
        return "alltoall (rebalance)"
    return f"alltoall (split {src[0]} -> {dst[0]})"


def _redistribute_bytes(node) -> list:
    a, src = node.aval, node.inputs[0].aval
    return recv_bytes(a.shape, a.dtype.itemsize, src.layout, a.layout, _p(node),
                      node.attr("src_starts"))


def _redistribute_free(node) -> bool:
    return node.inputs[0].aval.split is None


# ---------------------------------------------------------------- reductions' collectives
def allreduce_bytes(aval) -> list:
    """Bytes each rank receives to all-reduce a value of ``aval``, by the algorithm MPI
    uses for its size (``commcost.allreduce_cost``)."""
    p = aval.comm.size
    return [allreduce_cost(aval.nbytes, p).bytes] * p


def _allreduce_bytes(node) -> list:
    return allreduce_bytes(node.aval)


def _gather_bytes(node) -> list:
    """Every rank receives the other ranks' payloads (its inputs' states)."""
    payload = sum(i.aval.nbytes for i in node.inputs)
    return [payload * (_p(node) - 1)] * _p(node)


def _cost_bytes(rule):
    """Bytes per rank read off a cost rule (the busiest rank's, on every rank)."""
    return lambda node: [rule(node).bytes] * _p(node)


def state_parts(aval) -> tuple:
    """(element bytes, scalar bytes) of a reduction state: parts shaped like the result are
    combined element by element (and may be split between ranks), 0-d parts (a count) are
    shared by every element and travel whole."""
    scalar = sum(a.nbytes for a in aval.parts if not a.shape)
    return aval.nbytes - scalar, scalar


def state_splittable(aval) -> bool:
    """Whether a state may be reduce-scattered: some part has elements to split."""
    return state_parts(aval)[0] > 0 and any(a.shape for a in aval.parts)


def _state_cost(node):
    a = node.aval
    return state_cost(a.nbytes, a.comm.size, node.attr("algorithm"), state_parts(a)[1])


def _batch_cost(node):
    """A batched combine of small states and sums: by all-gather (then merged in rank
    order) or by recursive doubling of the packed bytes."""
    payload, p = sum(i.aval.nbytes for i in node.inputs), node.aval.comm.size
    if node.op == "batch_allgather":
        c = allgather_cost(payload, p)
        kinds = node.attr("kinds")
        merged = sum(i.aval.nbytes for i, (kind, _) in zip(node.inputs, kinds)
                     if kind != "allgather")
        states = sum(1 for kind, _ in kinds if kind == "state")
        sums = sum(1 for kind, _ in kinds if kind == "allreduce")
        return c._replace(combine_bytes=merged * (p - 1), merges=states * (p - 1) + sums)
    c = state_cost(payload, p, "doubling")
    return c._replace(merges=c.merges * len(node.inputs))


def _reduce_scatter_cost(node):
    return reduce_scatter_cost(node.inputs[0].aval.nbytes, node.aval.comm.size)


def _exscan_cost(node):
    return exscan_cost(node.aval.nbytes, node.aval.comm.size)


def _batch_held(node) -> int:
    """The receive buffer of a batched all-gather: every rank's states, packed."""
    return sum(gathered(i.aval).local_nbytes for i in node.inputs)


register(
    OpDef("redistribute", Group.COLLECTIVE,
          comm=CommRule(_redistribute_kind, _redistribute_bytes, _redistribute_free,
                        nonblocking=True, resizable=True),
          doc="the same array in another layout (all-gather, all-to-all or a local slice)"),
    OpDef("allreduce", Group.COLLECTIVE,
          comm=CommRule(lambda n: f"allreduce[{n.attr('op')}]", _allreduce_bytes,
                        batchable=True, nonblocking=True, resizable=True,
                        cost=lambda n: allreduce_cost(n.aval.nbytes, n.aval.comm.size)),
          reads_partial=True,
          doc="ranks' partial values combined elementwise (sum, prod, max, ...)"),
    OpDef("allgather", Group.COLLECTIVE,
          comm=CommRule(lambda n: "allgather", _gather_bytes, batchable=True,
                        nonblocking=True),
          reads_partial=True,
          doc="every rank's partial state, stacked along a leading rank axis"),
    OpDef("batch_allgather", Group.COLLECTIVE,
          comm=CommRule(lambda n: f"allgather (batch of {len(n.attr('kinds'))} reductions)",
                        _gather_bytes, held_bytes=_batch_held, cost=_batch_cost,
                        nonblocking=True, resizable=True),
          reads_partial=True,
          doc="several small reduction collectives in one all-gather of packed bytes"),
    OpDef("allreduce_state", Group.COLLECTIVE,
          comm=CommRule(lambda n: f"allreduce[{n.attr('fn')} state] ({n.attr('algorithm')})",
                        _cost_bytes(_state_cost), batchable=True, cost=_state_cost,
                        resizable=True),
          reads_partial=True,
          doc="ranks' fixed-size reduction states (moments, extremes, arg pairs) combined "
          "pairwise: all-gather, recursive doubling or recursive halving, by cost"),
    OpDef("batch_allreduce", Group.COLLECTIVE,
          comm=CommRule(lambda n: f"allreduce (recursive doubling, batch of "
                        f"{len(n.attr('kinds'))} reductions)", _cost_bytes(_batch_cost),
                        cost=_batch_cost, resizable=True),
          reads_partial=True,
          doc="several small sums and states combined in one recursive doubling of packed "
          "bytes"),
    OpDef("exscan", Group.COLLECTIVE,
          comm=CommRule(lambda n: f"exscan[{n.attr('op')}] (recursive doubling)",
                        _cost_bytes(_exscan_cost), cost=_exscan_cost),
          doc="the combination (sum or product) of the values of the ranks before this one "
          "(a scan's carries): log2 p rounds of one value"),
    OpDef("reduce_scatter", Group.COLLECTIVE,
          comm=CommRule(lambda n: f"reduce_scatter[{n.attr('op')}]",
                        _cost_bytes(_reduce_scatter_cost), cost=_reduce_scatter_cost,
                        nonblocking=True, resizable=True),
          reads_partial=True,
          doc="ranks' partial values combined elementwise, each rank keeping its block"),
)
