"""Block layouts of distributed arrays and what it costs to move between them.

A layout is ``(split, counts)``: ``split`` None means replicated (every rank holds the whole
array); ``split = k`` means the array is cut along axis k into contiguous blocks, rank r holding
``counts[r]`` consecutive slices. Balanced counts give the first ``n % p`` ranks one extra slice,
as HeAT does. Counts are global metadata: every rank computes the same ones.
"""

from __future__ import annotations

from math import prod


def balanced_counts(n: int, p: int) -> tuple[int, ...]:
    """Per-rank extents of ``n`` slices over ``p`` ranks, the first ``n % p`` ranks get one more."""
    base, extra = divmod(n, p)
    return tuple(base + (1 if r < extra else 0) for r in range(p))


def offsets(counts) -> tuple[int, ...]:
    """Start index of each rank's block."""
    out, acc = [], 0
    for c in counts:
        out.append(acc)
        acc += c
    return tuple(out)


def overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def transfer_matrix(src_counts, dst_counts, src_starts=None) -> list[list[int]]:
    """``m[s][d]``: slices rank s sends to rank d when re-blocking one axis (no axis change).

    ``src_starts`` gives where each source block begins when blocks are not in rank order
    (after a reversing slice); by default they follow each other in rank order.
    """
    so, do = src_starts or offsets(src_counts), offsets(dst_counts)
    p = len(src_counts)
    return [[overlap(so[s], so[s] + src_counts[s], do[d], do[d] + dst_counts[d])
             for d in range(p)] for s in range(p)]


def local_shape(shape, split, counts, rank) -> tuple[int, ...]:
    if split is None:
        return tuple(shape)
    s = list(shape)
    s[split] = counts[rank]
    return tuple(s)


def recv_bytes(shape, itemsize, src, dst, p, src_starts=None) -> list[int]:
    """Bytes each rank receives to go from layout ``src`` to ``dst`` (both ``(split, counts)``).

    ``|B(r)| - |B(r) ∩ A(r)|`` in elements, times the itemsize. Replicated -> split is free.
    """
    (ssplit, scounts), (dsplit, dcounts) = src, dst
    total = prod(shape)
    out = []
    for r in range(p):
        want = prod(local_shape(shape, dsplit, dcounts, r))
        if dsplit is None:
            have = total if ssplit is None else prod(local_shape(shape, ssplit, scounts, r))
        elif ssplit is None:
            have = want
        elif ssplit == dsplit:
            o_s, o_d = src_starts or offsets(scounts), offsets(dcounts)
            rows = overlap(o_s[r], o_s[r] + scounts[r], o_d[r], o_d[r] + dcounts[r])
            have = want // dcounts[r] * rows if dcounts[r] else 0
        else:
            # the intersection of a block along ssplit with a block along dsplit
            cut = shape[ssplit] * shape[dsplit]
            have = scounts[r] * dcounts[r] * (total // cut) if cut else 0
        out.append((want - have) * itemsize)
    return out


def move_cost(aval, dst) -> tuple[int, int, int]:
    """(max over ranks, sum over ranks) of bytes received to give ``aval`` the layout
    ``dst``, and the number of collectives that takes (0 or 1; replicated -> split is a
    local slice). The count breaks ties on one rank, where every move is free of bytes."""
    if same_layout(aval.layout, dst):
        return (0, 0, 0)
    b = recv_bytes(aval.shape, aval.dtype.itemsize, aval.layout, dst, aval.comm.size)
    return (max(b), sum(b), 0 if aval.split is None else 1)


def same_layout(a, b) -> bool:
    return a[0] == b[0] and (a[0] is None or tuple(a[1]) == tuple(b[1]))
