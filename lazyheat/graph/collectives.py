"""Communication ops: what each collective is called and what every rank receives.

The byte counts here are the cost model of communication (``cost.py`` reads them for the
planner, the passes and ``explain`` alike): bytes a rank *receives*, from the avals alone.
"""

from __future__ import annotations

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
    """Bytes each rank receives to all-reduce a value of ``aval`` (the whole value, as the
    runtime sends it)."""
    return [aval.nbytes] * aval.comm.size


def _allreduce_bytes(node) -> list:
    return allreduce_bytes(node.aval)


def _gather_bytes(node) -> list:
    """Every rank receives the other ranks' payloads (its inputs' states)."""
    payload = sum(i.aval.nbytes for i in node.inputs)
    return [payload * (_p(node) - 1)] * _p(node)


def _batch_held(node) -> int:
    """The receive buffer of a batched all-gather: every rank's states, packed."""
    return sum(gathered(i.aval).local_nbytes for i in node.inputs)


register(
    OpDef("redistribute", Group.COLLECTIVE,
          comm=CommRule(_redistribute_kind, _redistribute_bytes, _redistribute_free),
          doc="the same array in another layout (all-gather, all-to-all or a local slice)"),
    OpDef("allreduce", Group.COLLECTIVE,
          comm=CommRule(lambda n: f"allreduce[{n.attr('op')}]", _allreduce_bytes,
                        batchable=True), reads_partial=True,
          doc="ranks' partial values combined elementwise (sum, prod, max, ...)"),
    OpDef("allgather", Group.COLLECTIVE,
          comm=CommRule(lambda n: "allgather", _gather_bytes, batchable=True),
          reads_partial=True,
          doc="every rank's partial state, stacked along a leading rank axis"),
    OpDef("batch_allgather", Group.COLLECTIVE,
          comm=CommRule(lambda n: f"allgather (batch of {len(n.attr('kinds'))} reductions)",
                        _gather_bytes, held_bytes=_batch_held), reads_partial=True,
          doc="several small reduction collectives in one all-gather of packed bytes"),
)
