"""The cost model: bytes each rank receives, and the memory a plan needs, from avals alone.

One module for the planner, the passes and ``explain``: layout rules rank candidate layouts
with ``move_cost``, the all-reduce placement and collective batching read collective and
state sizes here, and ``explain`` prints what these functions return. Every number comes
from global metadata (avals and the op registry), so every rank computes the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .aval import TupleAval
from .collectives import allreduce_bytes  # noqa: F401 - re-exported
from .commcost import CommCost, comm_cost  # noqa: F401 - re-exported
from .layout import move_cost, recv_bytes  # noqa: F401 - re-exported: the layout-move costs
from .ops import COLLECTIVES, USER_DATA, VIEWS, Group, opdef

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


# ---------------------------------------------------------------- memory
# The peak-memory estimate follows the executor (``runtime/executor.py``) step by step: every
# node's value is allocated when it runs and freed after its last consumer ran, unless it is
# an output; the user's data (params) is held throughout; a view (``unbatch``) holds no memory
# of its own but keeps the value it refers to alive as long as itself. While a collective runs
# it also holds its send and receive buffers (``COMM_BUFFERS``). Bytes are counted per rank
# (each rank's own block of every value), and the estimate is the largest over ranks of each
# rank's own peak, so unbalanced blocks and the ranks that receive the most are both seen.
#
# Not counted: intermediates of fused groups (chunk-sized where chunks run; whole blocks
# where they do not, e.g. on a GPU), torch's own scratch space, and host staging buffers of
# CUDA values (counted as if on the device). Approximated: movement ops that torch answers
# with a view of their input (transpose, reshape, basic slices) count as copies of their own
# size, and their input is freed at its last use, though a view keeps it alive (a small
# slice of a large temporary holds the whole temporary); on one rank a redistribute or an
# all-reduce returns its input unchanged, counted here as a copy.


def rank_bytes(aval) -> np.ndarray:
    """Bytes of ``aval``'s value on each rank (int64, one entry per rank): the whole value
    where it is replicated, each rank's block where it is split; a state sums its parts."""
    if isinstance(aval, TupleAval):
        out = rank_bytes(aval.parts[0])
        for part in aval.parts[1:]:
            out = out + rank_bytes(part)
        return out
    if aval.split is None or not aval.shape[aval.split]:
        return np.full(aval.comm.size, aval.nbytes, dtype=np.int64)
    return np.asarray(aval.counts, dtype=np.int64) * (aval.nbytes // aval.shape[aval.split])


def _redistribute_running(node, out) -> np.ndarray:
    src = node.inputs[0].aval
    if node.aval.comm.size == 1 or src.split is None:
        return out  # nothing moves (a local slice)
    inp = rank_bytes(src)
    if node.aval.split is None:
        # all-gather straight into the output; a block split along a later axis is first
        # copied to make the gathered axis leading
        return out + (inp if src.split != 0 else 0)
    # all-to-all: the whole block packed into a send buffer, the new block received into one
    # buffer. Pieces joined along axis 0 in rank order are that buffer; otherwise they are
    # copied into a fresh output after the send buffer is gone.
    starts = node.attr("src_starts")
    in_order = starts is None or list(starts) == sorted(starts)
    if src.split == 0 and in_order:
        return inp + out
    return out + np.maximum(inp, out)


def _allreduce_running(node, out) -> np.ndarray:
    if node.aval.comm.size == 1:
        return out
    dt = node.aval.dtype
    if dt.kind == "f" and dt.itemsize == 2:
        # MPI has no half types: widened to float32 to send and receive, then narrowed back
        return 5 * out
    if dt.kind == "b":
        return 3 * out  # carried as uint8: a copy to send, the receive buffer, the result
    return out  # the input is sent from where it lies; the receive buffer is the result


def _allgather_running(node, out) -> np.ndarray:
    return out  # each rank's value is sent from where it lies, received into the output


def _batch_running(node, out) -> np.ndarray:
    """A batched all-gather packs every member's state into one send buffer, receives every
    rank's packed states, and copies each member's gathered states out of the receive
    buffer; all-reduce members then combine theirs into their (small) results."""
    p = node.aval.comm.size
    payload = sum(rank_bytes(i.aval) for i in node.inputs)
    reduced = sum((rank_bytes(part) for part, (kind, _) in
                   zip(node.aval.parts, node.attr("kinds")) if kind != "allgather"),
                  np.zeros_like(out))
    return payload + 2 * p * payload + reduced


def _state_running(node, out) -> np.ndarray:
    """allreduce_state: by all-gather, the rank's state packed to send, every rank's states
    received and unpacked, and the combined state (``statecomm.combine_gathered``); else
    its own state, a received one and their combination (packed send and receive buffers
    of at most a state each)."""
    if node.attr("algorithm") == "allgather":
        return (2 * node.aval.comm.size + 2) * out
    return 4 * out


def _batch_reduce_running(node, out) -> np.ndarray:
    """batch_allreduce: the packed members, a received pack, their combination, the
    results."""
    payload = sum(rank_bytes(i.aval) for i in node.inputs)
    return 3 * payload + out


def _reduce_scatter_running(node, out) -> np.ndarray:
    """reduce_scatter: a contiguous host copy of the whole partial value, and the block."""
    return out + rank_bytes(node.inputs[0].aval)


# What each collective holds while it runs, its output included, given its output's bytes
# on each rank: the buffers of its kernel in ``runtime/comm.py`` (a new collective adds its
# rule here; a test checks that every collective has one).
def _flag_running(node, out) -> np.ndarray:
    return out  # index_check: one all-reduced int64 flag besides its (wrapped) indices


def _routed_running(node, out) -> np.ndarray:
    """take_routed / take_along_routed: each request is an int64 sent to its owner and
    received there; the answers (the result's bytes) are packed to send and received."""
    idx = rank_bytes(node.inputs[1].aval)
    requests = idx * 8 // max(node.inputs[1].aval.dtype.itemsize, 1)
    return out + 2 * requests + 2 * out


def _put_running(node, out) -> np.ndarray:
    """put_routed: a copy of x (the output), the (index, row) pairs packed to send and
    received by the owners."""
    idx_aval, v = node.inputs[1].aval, node.inputs[2].aval
    requests = rank_bytes(idx_aval) * 8 // max(idx_aval.dtype.itemsize, 1)
    return out + 2 * requests + 2 * rank_bytes(v)


def _sort_running(node, out) -> np.ndarray:
    """samplesort: the block's integer keys, sorted (and their permutation for indices),
    sent in pieces to their destinations and received into one buffer, then merged into
    the output."""
    keys = rank_bytes(node.inputs[0].aval)
    return keys + 2 * np.maximum(keys, out) + out


def _scan_running(node, out) -> np.ndarray:
    """unique_count: the block's keys besides its small gathered table;
    unique_inverse: (position, id) int64 pairs packed to send and received."""
    inp = rank_bytes(node.inputs[0].aval)
    if node.op == "unique_count":
        return out + inp
    return out + 2 * 2 * out


COMM_BUFFERS = {
    "redistribute": _redistribute_running,
    "allreduce": _allreduce_running,
    "allgather": _allgather_running,
    "batch_allgather": _batch_running,
    "allreduce_state": _state_running,
    "batch_allreduce": _batch_reduce_running,
    "reduce_scatter": _reduce_scatter_running,
    "exscan": lambda node, out: 4 * out,  # its value, one received, the running total, out
    "index_check": _flag_running,
    "take_routed": _routed_running,
    "take_along_routed": _routed_running,
    "put_routed": _put_running,
    "samplesort": _sort_running,
    "unique_count": _scan_running,
    "unique_inverse": _scan_running,
}


def running_bytes(node) -> np.ndarray:
    """Bytes ``node`` holds on each rank while it runs: its value, and for a collective its
    send and receive buffers too. A collective missing from ``COMM_BUFFERS`` is assumed to
    pack its inputs into a send buffer and receive into a buffer besides its output."""
    out = rank_bytes(node.aval)
    d = opdef(node.op)
    if d.comm is None:
        return out
    rule = COMM_BUFFERS.get(node.op)
    if rule is not None:
        return rule(node, out)
    return sum((rank_bytes(i.aval) for i in node.inputs), 2 * out)


def held_bytes(node) -> int:
    """Bytes the busiest rank holds while ``node`` runs (see ``running_bytes``)."""
    return int(running_bytes(node).max())


def _last_steps(order, outputs) -> dict:
    """``id(node) -> index of the last step that needs its memory``; ``len(order)`` for
    values held to the end (outputs, and values nothing reads, which the executor never
    drops). A view's referent lives as long as the view."""
    end = len(order)
    last = {}
    for k, n in enumerate(order):
        for i in n.inputs:
            last[id(i)] = k
    for o in outputs:
        last[id(o)] = end
    for n in order:
        last.setdefault(id(n), end)
    for n in reversed(order):  # users before their inputs: a view's own life is final here
        if n.op in VIEWS:
            for i in n.inputs:
                last[id(i)] = max(last[id(i)], last[id(n)])
    return last


@dataclass(frozen=True)
class MemoryPeak:
    """The peak-memory estimate of a plan: ``bytes`` on ``rank`` while step ``step`` of the
    order runs (-1: before any step). For every rank r: ``per_rank[r]`` is its own peak,
    ``steps[r]`` the step where it happens, and ``resident[r]`` the bytes of the user's
    data the plan reads (in memory before the plan runs and after it; part of the peak)."""

    bytes: int
    rank: int
    step: int
    per_rank: tuple
    steps: tuple
    resident: tuple
    order: tuple = field(repr=False)
    outputs: tuple = field(repr=False)

    def on(self, rank: int) -> MemoryPeak:
        """The same estimate seen from ``rank``."""
        return replace(self, bytes=self.per_rank[rank], rank=rank, step=self.steps[rank])

    def added(self) -> tuple:
        """(bytes, rank): the most memory the plan allocates on any rank beyond the user's
        data it reads (which exists already), and the lowest rank where that happens."""
        extra = [b - u for b, u in zip(self.per_rank, self.resident)]
        r = max(range(len(extra)), key=lambda i: (extra[i], -i))
        return extra[r], r

    def live(self, n: int = 5) -> list:
        """The ``n`` largest values live on ``rank`` at the peak, as ``(node, bytes,
        running)``, largest first; ``running`` marks the node then running, counted with
        its send and receive buffers."""
        order, k, r = self.order, self.step, self.rank
        last = _last_steps(order, self.outputs)
        found = []
        for j, m in enumerate(order):
            if m.op in USER_DATA:
                found.append((m, int(rank_bytes(m.aval)[r]), False))
            elif m.op in VIEWS or j > k:
                continue
            elif j == k:
                found.append((m, int(running_bytes(m)[r]), True))
            elif last[id(m)] >= k:
                found.append((m, int(rank_bytes(m.aval)[r]), False))
        found.sort(key=lambda t: -t[1])
        return found[:n]


def memory_peak(order, outputs, rank=None) -> MemoryPeak:
    """The most bytes live at once while the plan in ``order`` runs, on the busiest rank
    (``rank=None``: the lowest of the busiest) or on ``rank``: values freed after their last
    use as the executor frees them, collectives counted with their send and receive
    buffers. From global metadata only, so every rank computes the same.

    >>> from lazyheat.graph import topo_order
    >>> from lazyheat.graph.cost import memory_peak
    >>> x = lh.zeros((4096, 64), split=0, comm=lh.FakeComm(4))   # 256 KiB a rank
    >>> p = lh.plan(x.resplit(None))                              # all-gather: 1 MiB each
    >>> memory_peak(topo_order(p.outputs), p.outputs).bytes      # the block + the result
    1310720
    """
    p = outputs[0].aval.comm.size if outputs else 1
    last = _last_steps(order, outputs)
    live = np.zeros(p, dtype=np.int64)
    for n in order:
        if n.op in USER_DATA:
            live = live + rank_bytes(n.aval)
    resident = live
    peak, at = live.copy(), np.full(p, -1, dtype=np.int64)
    frees: dict = {}
    for k, n in enumerate(order):
        if n.op not in _NO_MEMORY:
            own = rank_bytes(n.aval)
            now = live + running_bytes(n)
            higher = now > peak
            peak = np.where(higher, now, peak)
            at = np.where(higher, k, at)
            live = live + own
            frees.setdefault(last[id(n)], []).append(own)
        for own in frees.pop(k, ()):  # values whose last reader just ran
            live = live - own
    r = int(np.argmax(peak)) if rank is None else int(rank)
    return MemoryPeak(int(peak[r]), r, int(at[r]), tuple(peak.tolist()), tuple(at.tolist()),
                      tuple(resident.tolist()), tuple(order), tuple(outputs))


def added_bound(outputs, stop=None) -> int:
    """A cheap upper bound on the bytes the plan ``outputs`` adds on any rank
    (``memory_peak(...).added()[0]``), from one walk of the graph: every value it makes held
    at once, each at its whole (global) size, a collective with its send and receive
    buffers on its busiest rank. Each step's live bytes on any rank are the user's data
    plus values made before it plus what the running node holds, so their sum bounds the
    peak. ``stop``: give up and return a number above it as soon as the sum passes it
    (the caller needs the exact estimate then).

    >>> from lazyheat.graph import topo_order
    >>> from lazyheat.graph.cost import added_bound, memory_peak
    >>> x = lh.zeros((4096, 64), split=0, comm=lh.FakeComm(4))
    >>> outs = lh.plan(x + 1).outputs                # one group: 256 KiB a rank, 1 MiB whole
    >>> added_bound(outs), memory_peak(topo_order(outs), outs).added()[0]
    (1048576, 262144)
    """
    total, seen, stack = 0, set(), list(outputs)
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        stack.extend(n.inputs)
        if n.op in _NO_MEMORY:
            continue
        if opdef(n.op).comm is None:
            total += n.aval.nbytes  # a rank's block is at most the whole value
        else:
            total += int(max(running_bytes(n).max(), rank_bytes(n.aval).max()))
        if stop is not None and total > stop:
            return total
    return total


def peak_bytes(order, outputs, rank=None) -> int:
    """Estimated peak memory of the busiest rank (or of ``rank``): see ``memory_peak``."""
    return memory_peak(order, outputs, rank).bytes


def totals(order, outputs) -> dict:
    """Kernels, collectives, bytes moved per rank (max) and estimated peak memory per rank."""
    kernels = sum(1 for n in order if n.op not in COLLECTIVES and n.op not in _NO_MEMORY)
    comms = [n for n in order if n.op in COLLECTIVES and not is_free(n)]
    fused = [n for n in order if n.op == "fused"]
    return {"kernels": kernels, "fused_kernels": len(fused),
            "fused_ops": sum(len(n.attr("members")) for n in fused),
            "collectives": len(comms),
            "bytes_moved_per_rank": sum(comm_bytes(n) for n in comms),
            "bytes_read_per_rank": sum(n.aval.local_nbytes for n in order
                                       if opdef(n.op).group is Group.LEAF and n.attr("region")),
            "peak_bytes_per_rank": peak_bytes(order, outputs)}


__all__ = ["COMM_BUFFERS", "CommCost", "MemoryPeak", "added_bound", "allreduce_bytes",
           "comm_bytes", "comm_bytes_per_rank", "comm_cost", "comm_kind", "held_bytes",
           "is_free", "memory_peak", "move_cost", "payload_bytes", "peak_bytes", "rank_bytes",
           "recv_bytes", "running_bytes", "totals"]
