"""The cost model: bytes each rank receives, and the memory a plan needs, from avals alone.

One module for the planner, the passes and ``explain``: layout rules rank candidate layouts
with ``move_cost``, the all-reduce placement and collective batching read collective and
state sizes here, and ``explain`` prints what these functions return. Every number comes
from global metadata (avals and the op registry), so every rank computes the same.
"""

from __future__ import annotations

from .collectives import allreduce_bytes  # noqa: F401 - re-exported
from .layout import move_cost, recv_bytes  # noqa: F401 - re-exported: the layout-move costs
from .ops import COLLECTIVES, USER_DATA, VIEWS, opdef
from .traverse import use_counts

# nodes that hold no memory of their own: the user's data, and views into other values
_NO_MEMORY = USER_DATA | VIEWS


def comm_bytes_per_rank(node) -> list[int]:
    """Bytes each rank receives for a communication node (0 on one rank)."""
    if node.aval.comm.size == 1:
        return [0]
    return list(opdef(node.op).comm.recv_bytes(node))


def comm_bytes(node) -> int:
    """Bytes the busiest rank receives for a communication node."""
    return max(comm_bytes_per_rank(node))


def comm_kind(node) -> str:
    """Which collective a communication node is."""
    return opdef(node.op).comm.kind(node)


def is_free(node) -> bool:
    """A communication node that moves nothing (a replicated value sliced locally)."""
    return opdef(node.op).comm.free(node)


def payload_bytes(node) -> int:
    """Bytes one rank contributes to a reduction collective: its input's (typed) state."""
    return sum(i.aval.nbytes for i in node.inputs)


def held_bytes(node) -> int:
    """Bytes the busiest rank holds for ``node``'s value: its aval's block, or a
    collective's receive buffer where that is larger (a batched all-gather holds every
    rank's states until it has combined them)."""
    d = opdef(node.op)
    own = node.aval.local_nbytes
    if d.comm is not None and d.comm.held_bytes is not None:
        return max(own, d.comm.held_bytes(node))
    return own


def peak_bytes(order, outputs) -> int:
    """Largest sum of live values on the busiest rank while the plan runs (inputs held by
    the user count throughout; fused intermediates live in chunks and are not counted).
    Values are counted by their avals, states and gathered states included."""
    uses = use_counts(order)
    keep = {id(o) for o in outputs}
    live = sum(n.aval.local_nbytes for n in order if n.op in USER_DATA)
    peak = live
    held = {}
    for n in order:
        if n.op in _NO_MEMORY:
            continue
        held[id(n)] = held_bytes(n)
        live += held[id(n)]
        peak = max(peak, live)
        for i in n.inputs:
            uses[id(i)] -= 1
            if uses[id(i)] == 0 and id(i) not in keep and id(i) in held:
                live -= held[id(i)]
    return peak


def totals(order, outputs) -> dict:
    """Kernels, collectives, bytes moved per rank (max) and estimated peak memory per rank."""
    kernels = sum(1 for n in order if n.op not in COLLECTIVES and n.op not in _NO_MEMORY)
    comms = [n for n in order if n.op in COLLECTIVES and not is_free(n)]
    fused = [n for n in order if n.op == "fused"]
    return {"kernels": kernels, "fused_kernels": len(fused),
            "fused_ops": sum(len(n.attr("members")) for n in fused),
            "collectives": len(comms),
            "bytes_moved_per_rank": sum(comm_bytes(n) for n in comms),
            "peak_bytes_per_rank": peak_bytes(order, outputs)}


__all__ = ["allreduce_bytes", "comm_bytes", "comm_bytes_per_rank", "comm_kind", "held_bytes",
           "is_free", "move_cost", "payload_bytes", "peak_bytes", "recv_bytes", "totals"]
