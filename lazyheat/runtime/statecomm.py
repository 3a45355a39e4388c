"""Combining fixed-size reduction states over ranks, with bytes per rank that do not grow
like p.

A state is a list of tensors (moments: count, mean, M2; argmin: value, index; ...) that a
``combine(lower, higher) -> state`` function merges pairwise. Three algorithms, chosen by
the planner (``graph.commcost.state_algorithm``) from global metadata only:

- ``gather``: every rank's state all-gathered and combined in rank order;
- ``doubling``: recursive doubling over the largest power of two ``P <= p``: in round ``i``
  rank ``r`` exchanges its whole state with ``r ^ 2**i``; ranks ``P..p-1`` first fold their
  state into rank ``r - P`` and get the result back at the end (log2 p + 2 rounds);
- ``halving``: a reduce-scatter by recursive halving (each round exchanges half of the
  current element range; after log2 P rounds rank ``r`` holds segment ``r`` combined over
  every rank) and one all-gather of the segments: about two states received per rank.

Bit-identical on every rank, independent of timing: in doubling, both partners of a round
hold the same two states and compute ``combine(lower rank's, higher rank's)`` with the same
function on the same values, so they hold the same bits afterwards (a fold partner receives
the final bits); in halving every element is combined by exactly one rank per round and the
result is then copied to every rank. The bracketing depends on p alone, never on arrival
order, and messages between two ranks are matched in the order posted (MPI's
non-overtaking rule), so a run repeats exactly.

Element parts (shaped like the result, flattened here) are split between ranks in halving;
0-d parts (a shared count) travel whole with every message and combine alongside.
"""

from __future__ import annotations

import numpy as np
import torch
from mpi4py import MPI

from .comm import allgather_packed

# point-to-point tag of state exchanges; every exchange of one collective pairs the same two
# ranks in the same order on both sides, so one tag suffices
TAG = 0x5A7E


def _pack(parts) -> np.ndarray:
    """The tensors' bytes, concatenated (contiguous CPU copies)."""
    chunks = []
    for t in parts:
        t = t.detach().to("cpu").contiguous().reshape(-1)
        if t.numel():
            chunks.append(t.view(torch.uint8).numpy())
    return np.concatenate(chunks) if chunks else np.empty(0, np.uint8)


def _unpack(buf: np.ndarray, like) -> list:
    """Tensors shaped and typed as ``like`` (shape, dtype) pairs, read off ``buf``."""
    out, start = [], 0
    for shape, dtype in like:
        n = int(np.prod(shape, dtype=np.int64)) * torch.empty((), dtype=dtype).element_size()
        raw = torch.from_numpy(buf[start:start + n].copy())
        out.append(raw.view(dtype).reshape(shape) if n else torch.empty(shape, dtype=dtype))
        start += n
    return out


def _specs(parts) -> list:
    return [(tuple(t.shape), t.dtype) for t in parts]


def _nbytes(like) -> int:
    """Bytes of tensors shaped and typed as ``like`` (shape, dtype) pairs."""
    return sum(int(np.prod(s, dtype=np.int64)) * torch.empty((), dtype=d).element_size()
               for s, d in like)


def _exchange(mpi, send_parts, recv_like, partner: int) -> list:
    send = _pack(send_parts)
    recv = np.empty(_nbytes(recv_like), np.uint8)
    mpi.Sendrecv(send, dest=partner, sendtag=TAG, recvbuf=recv, source=partner, recvtag=TAG)
    return _unpack(recv, recv_like)


def _send(mpi, parts, dest: int) -> None:
    mpi.Send(_pack(parts), dest=dest, tag=TAG)


def _recv(mpi, like, source: int) -> list:
    buf = np.empty(_nbytes(like), np.uint8)
    mpi.Recv(buf, source=source, tag=TAG)
    return _unpack(buf, like)


def _power_of_two(p: int) -> int:
    return 1 << (p.bit_length() - 1)


def combine_gathered(comm, parts, combine) -> list:
    """All-gather every rank's state, then combine them in rank order."""
    every = allgather_packed(comm, parts)
    state = [g[0] for g in every]
    for r in range(1, comm.size):
        state = combine(state, [g[r] for g in every])
    return state


def combine_doubling(comm, parts, combine) -> list:
    """Recursive doubling (see the module docstring); every rank returns the same state."""
    mpi, p, r = comm.mpi, comm.size, comm.rank
    pk = _power_of_two(p)
    like = _specs(parts)
    if r >= pk:  # fold into r - pk, get the result back
        _send(mpi, parts, r - pk)
        return _recv(mpi, like, r - pk)
    if r + pk < p:
        parts = combine(parts, _recv(mpi, like, r + pk))
    mask = 1
    while mask < pk:
        partner = r ^ mask
        other = _exchange(mpi, parts, like, partner)
        parts = combine(parts, other) if r < partner else combine(other, parts)
        mask <<= 1
    if r + pk < p:
        _send(mpi, parts, r + pk)
    return parts


def segments(n: int, pk: int) -> list:
    """The element range [lo, hi) that each of ``pk`` ranks holds after recursive halving of
    ``n`` elements: each round splits the current range at its middle, the rank whose bit
    is set keeping the upper half (so rank r ends with the r-th range in order)."""
    out = [(0, n)]
    while len(out) < pk:
        out = [half for lo, hi in out for half in ((lo, lo + (hi - lo) // 2),
                                                    (lo + (hi - lo) // 2, hi))]
    return out


def combine_halving(comm, parts, combine, element) -> list:
    """Reduce-scatter by recursive halving, then an all-gather of the combined segments.
    ``element[i]``: part i is shaped like the result (split between ranks); else it is 0-d
    and travels whole."""
    mpi, p, r = comm.mpi, comm.size, comm.rank
    pk = _power_of_two(p)
    shapes = [tuple(t.shape) for t in parts]
    like = _specs(parts)
    if r < pk and r + pk < p:
        parts = combine(parts, _recv(mpi, like, r + pk))
    elif r >= pk:
        _send(mpi, parts, r - pk)
    n = next(t.numel() for t, e in zip(parts, element) if e)
    cur = [t.reshape(-1) if e else t for t, e in zip(parts, element)]
    lo, hi = 0, n
    mask = pk >> 1
    while r < pk and mask:
        partner = r ^ mask
        mid = lo + (hi - lo) // 2
        keep, give = ((mid, hi), (lo, mid)) if r & mask else ((lo, mid), (mid, hi))
        send = [t[give[0] - lo:give[1] - lo] if e else t for t, e in zip(cur, element)]
        mine = [t[keep[0] - lo:keep[1] - lo] if e else t for t, e in zip(cur, element)]
        other = _exchange(mpi, send, _specs(mine), partner)
        cur = combine(mine, other) if r < partner else combine(other, mine)
        lo, hi = keep
        mask >>= 1
    return _gather_segments(comm, cur, element, shapes, segments(n, pk), pk)


def _gather_segments(comm, cur, element, shapes, segs, pk) -> list:
    """Every rank's combined segment (ranks below ``pk``), and rank 0's copy of the 0-d
    parts, all-gathered into whole states on every rank."""
    r, p = comm.rank, comm.size
    dtypes = [t.dtype for t in cur]
    sizes = [torch.empty((), dtype=d).element_size() for d in dtypes]
    scalar_bytes = sum(s for s, e in zip(sizes, element) if not e)

    def chunk_bytes(q):
        if q >= pk:
            return 0
        lo, hi = segs[q]
        return sum((hi - lo) * s for s, e in zip(sizes, element) if e) + \
            (scalar_bytes if q == 0 else 0)

    mine = [t for t, e in zip(cur, element) if e] + \
        ([t for t, e in zip(cur, element) if not e] if r == 0 else [])
    send = _pack(mine) if r < pk else np.empty(0, np.uint8)
    counts = [chunk_bytes(q) for q in range(p)]
    displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64).tolist()
    recv = np.empty(sum(counts), np.uint8)
    comm.mpi.Allgatherv(send, [recv, (counts, displs), MPI.BYTE])
    out = [torch.empty(int(np.prod(s, dtype=np.int64)), dtype=d) if e else None
           for s, d, e in zip(shapes, dtypes, element)]
    for q in range(pk):
        lo, hi = segs[q]
        like = [((hi - lo),) if e else () for e in element]
        pieces = [(i, (like[i], dtypes[i])) for i in range(len(cur)) if element[i]]
        if q == 0:
            pieces += [(i, ((), dtypes[i])) for i in range(len(cur)) if not element[i]]
        got = _unpack(recv[displs[q]:displs[q] + counts[q]], [spec for _, spec in pieces])
        for (i, _), t in zip(pieces, got):
            if element[i]:
                out[i][lo:hi] = t
            else:
                out[i] = t
    return [t.reshape(s) for t, s in zip(out, shapes)]


def exscan(comm, t, combine):
    """The combination of the values of the ranks before this one (None on rank 0), by
    recursive doubling for any p (MPICH's scan algorithm): in round ``i`` rank r exchanges
    the combination of its current group with rank ``r ^ 2**i`` (when that rank exists);
    one from a lower rank is combined in front of this rank's prefix. ``combine(lower,
    higher)`` keeps the rank order, so a product of matrices would be right too."""
    mpi, p, r = comm.mpi, comm.size, comm.rank
    host = t.detach().to("cpu").contiguous()
    like = _specs([host])
    total, prefix = host, None
    mask = 1
    while mask < p:
        partner = r ^ mask
        if partner < p:
            (other,) = _exchange(mpi, [total], like, partner)
            if partner < r:
                prefix = other if prefix is None else combine(other, prefix)
                total = combine(other, total)
            else:
                total = combine(total, other)
        mask <<= 1
    return None if prefix is None else prefix.to(t.device)


def allreduce_state(comm, parts, combine, algorithm: str, element=None) -> list:
    """``parts`` (this rank's state) combined over every rank by ``algorithm`` ("allgather",
    "doubling" or "halving"); the same bits on every rank. Values return to the parts'
    device."""
    if comm.size == 1:
        return list(parts)
    device = parts[0].device if parts else torch.device("cpu")
    host = [t.detach().to("cpu") for t in parts]
    if algorithm == "allgather":
        out = combine_gathered(comm, host, combine)
    elif algorithm == "doubling":
        out = combine_doubling(comm, host, combine)
    elif algorithm == "halving":
        out = combine_halving(comm, host, combine, element)
    else:
        raise ValueError(f"unknown state algorithm {algorithm!r}")
    return [t.to(device) for t in out]
