"""What a collective costs: the algorithm that runs it, its rounds and its bytes.

The time a collective takes depends on the algorithm that runs it: how many messages a rank
waits for one after another (``rounds``, each paying the network latency), how many bytes it
receives (each paying the inverse bandwidth) and how many bytes of partial values it reduces
on the way. The rules here name the algorithms MPICH picks by default (and those of
lazyheat's own state all-reduce, ``runtime/statecomm.py``), from global metadata only;
``graph/timemodel.py`` turns a ``CommCost`` into seconds for a given network.
"""

from __future__ import annotations

from typing import NamedTuple

from .registry import opdef

SHORT_ALLREDUCE = 2048    # bytes: recursive doubling up to here, else Rabenseifner
SHORT_ALLGATHER = 81920   # total bytes: recursive doubling / Bruck up to here, else a ring


class CommCost(NamedTuple):
    """The cost of one collective on the busiest rank: ``algorithm`` (its name),
    ``rounds`` (messages received one after another), ``bytes`` (received),
    ``combine_bytes`` (bytes of partial values it reduces as they arrive) and ``merges``
    (calls of a pairwise merge written in Python: states only, 0 for MPI's operators)."""

    algorithm: str
    rounds: int
    bytes: int
    combine_bytes: int = 0
    merges: int = 0


NO_COST = CommCost("local", 0, 0, 0)


def log2_ceil(p: int) -> int:
    return max(p - 1, 0).bit_length()


def allreduce_cost(nbytes: int, p: int) -> CommCost:
    """An element-wise all-reduce of ``nbytes`` on ``p`` ranks: recursive doubling for short
    values (every round exchanges the whole value), else Rabenseifner's reduce-scatter by
    recursive halving and all-gather by recursive doubling (about 2 n (p-1)/p bytes, flat in
    p). Ranks beyond the largest power of two fold into it first and get the result last:
    two more rounds on the critical path, one more value received by the ranks they fold
    into (the busiest)."""
    if p <= 1 or nbytes == 0:
        return NO_COST
    k = p.bit_length() - 1  # the largest power of two 2^k <= p
    fold = 0 if p == 1 << k else 2
    if nbytes <= SHORT_ALLREDUCE or nbytes < (1 << k):
        return CommCost("recursive doubling", k + fold, nbytes * (k + fold // 2),
                        nbytes * (k + fold // 2))
    pk = 1 << k
    half = nbytes * (pk - 1) // pk
    return CommCost("reduce-scatter + allgather (Rabenseifner)", 2 * k + fold,
                    2 * half + nbytes * (fold // 2), half + nbytes * (fold // 2))


def allgather_cost(payload: int, p: int) -> CommCost:
    """Every rank's ``payload`` bytes to every rank: (p-1) payloads received, in log p rounds
    (recursive doubling, Bruck's algorithm for other p) while the total is short, else p-1
    rounds of a ring."""
    if p <= 1 or payload == 0:
        return NO_COST
    total = payload * p
    if total <= SHORT_ALLGATHER:
        return CommCost("recursive doubling" if p & (p - 1) == 0 else "Bruck",
                        log2_ceil(p), payload * (p - 1))
    return CommCost("ring", p - 1, payload * (p - 1))


def alltoall_cost(recv: int, p: int) -> CommCost:
    """A personalized all-to-all receiving ``recv`` bytes: p-1 pairwise exchanges."""
    if p <= 1:
        return NO_COST
    return CommCost("pairwise exchange", p - 1, recv)


# ---------------------------------------------------------------- reduction states
# A reduction whose per-rank state has a fixed size (moments, min/max, argmin/argmax with
# their tie rules, ptp's extremes, batched packs) combines states pairwise
# (``runtime/statecomm.py``) by one of three algorithms:
# - "allgather": every rank receives all p states and combines them in rank order: one
#   message round per doubling of the ranks, but (p-1) states received and merged;
# - "doubling": recursive doubling: log2 p rounds, each exchanging a whole state;
# - "halving": reduce-scatter by recursive halving, then an all-gather of the pieces: about
#   two states received per rank whatever p is (elementwise states only).
# Which one runs is chosen here from the state's bytes and p alone, by the time these
# planning constants give (a network with 5 us latency per round, Python's per-message cost
# included, 5 GB/s, and merges at 1 GB/s plus 5 us per call of a Python merge).
# ``FORCE_STATE_ALGORITHM`` pins one (tests).
STATE_ALGORITHMS = ("allgather", "doubling", "halving")
PLAN_ALPHA = 5e-6
PLAN_BANDWIDTH = 5e9
PLAN_MERGE_BANDWIDTH = 1e9
PLAN_MERGE_CALL = 5e-6
FORCE_STATE_ALGORITHM = None


def state_cost(nbytes: int, p: int, algorithm: str, scalar_bytes: int = 0) -> CommCost:
    """The cost of combining a state of ``nbytes`` per rank (``scalar_bytes`` of it shared
    by every element, e.g. a count, travel whole in every message) over ``p`` ranks."""
    if p <= 1 or nbytes == 0:
        return NO_COST
    if algorithm == "allgather":
        c = allgather_cost(nbytes, p)
        return c._replace(algorithm="allgather + merge in rank order",
                          combine_bytes=nbytes * (p - 1), merges=p - 1)
    k = p.bit_length() - 1
    pk = 1 << k
    fold = 0 if p == pk else 2
    if algorithm == "doubling":
        return CommCost("recursive doubling", k + fold, nbytes * (k + fold // 2),
                        nbytes * (k + fold // 2), k + fold // 2)
    elems = nbytes - scalar_bytes
    half = elems * (pk - 1) // pk
    return CommCost("reduce-scatter (recursive halving) + allgather", 2 * k + fold,
                    2 * half + scalar_bytes * k + nbytes * (fold // 2),
                    half + scalar_bytes * k + nbytes * (fold // 2), k + fold // 2)


def plan_seconds(c: CommCost) -> float:
    """The time the planning constants above give a ``CommCost`` (for choices only; the
    time model in ``graph/timemodel.py`` estimates real networks)."""
    return c.rounds * PLAN_ALPHA + c.bytes / PLAN_BANDWIDTH + \
        c.combine_bytes / PLAN_MERGE_BANDWIDTH + c.merges * PLAN_MERGE_CALL


def state_algorithm(nbytes: int, p: int, splittable: bool = True,
                    scalar_bytes: int = 0) -> str:
    """The cheapest of ``STATE_ALGORITHMS`` for a state of ``nbytes`` on ``p`` ranks (ties to
    the earlier one); "halving" only for ``splittable`` states (elementwise, more elements
    than ranks). Global metadata only: every rank chooses the same."""
    forced = FORCE_STATE_ALGORITHM
    if forced is not None:
        return "doubling" if forced == "halving" and not splittable else forced
    cands = [a for a in STATE_ALGORITHMS if a != "halving" or splittable]
    return min(cands, key=lambda a: plan_seconds(state_cost(nbytes, p, a, scalar_bytes)))


def reduce_scatter_cost(nbytes: int, p: int) -> CommCost:
    """An element-wise reduce-scatter of ``nbytes`` (each rank keeps its block of the
    result): recursive halving, about n (p-1)/p bytes received in log2 p rounds."""
    if p <= 1 or nbytes == 0:
        return NO_COST
    k = p.bit_length() - 1
    pk = 1 << k
    fold = 0 if p == pk else 2
    half = nbytes * (pk - 1) // pk
    return CommCost("reduce-scatter (recursive halving)", k + fold, half + nbytes * (fold // 2),
                    half + nbytes * (fold // 2))


def exscan_cost(nbytes: int, p: int) -> CommCost:
    """An exclusive prefix of one value per rank by recursive doubling (the algorithm of
    MPICH's scan, for any p): ceil(log2 p) rounds, one value received and combined in
    each."""
    if p <= 1 or nbytes == 0:
        return NO_COST
    k = log2_ceil(p)
    return CommCost("recursive doubling (prefix)", k, nbytes * k, nbytes * k, k)


def _default_cost(node) -> CommCost:
    """A collective without its own rule: read off its kind and byte counts."""
    p = node.aval.comm.size
    got = max(opdef(node.op).comm.recv_bytes(node))
    kind = opdef(node.op).comm.kind(node)
    if kind.startswith("allreduce"):  # a flag or a count: its payload is what it receives
        return allreduce_cost(got, p)
    if kind.startswith("allgather"):
        return allgather_cost(-(-got // max(p - 1, 1)), p)
    return alltoall_cost(got, p)


def comm_cost(node) -> CommCost:
    """The ``CommCost`` of a communication node (``NO_COST`` on one rank, or where it moves
    nothing)."""
    rule = opdef(node.op).comm
    if node.aval.comm.size == 1 or rule.free(node):
        return NO_COST
    if rule.cost is not None:
        return rule.cost(node)
    return _default_cost(node)
