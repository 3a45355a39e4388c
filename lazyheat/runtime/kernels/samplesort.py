"""The parallel sample sort of a 1-d split array, and the exchange helpers it shares.

Steps, every rank alike (the collectives line up because each step's decisions come from
data every rank holds identically or from global metadata):

1. sort the block's integer keys (``sortkeys``) with a stable sort, so equal keys keep
   their global order (global index = local position + the block's offset);
2. take ``SAMPLES`` regular samples of the sorted block as (key, global index) pairs and
   all-gather them; each sample stands for ``count / SAMPLES`` elements of its block;
3. on every rank, from the same gathered samples: p - 1 splitters (key, global index) at
   the weighted positions where the balanced output blocks begin;
4. cut the sorted block at the splitters, comparing (key, global index) pairs, so equal keys
   split between ranks in global order; all-gather the cut counts (p * p integers);
5. one all-to-all sends each run to its rank (keys, and global indices for an argsort);
6. a stable sort of the received runs (in source-rank order, so ties stay in global order);
7. the rows whose owner changes move once more (``redistribute``) so the output is balanced.
"""

from __future__ import annotations

import torch

from ...graph.layout import offsets
from ...graph.sort import SAMPLES
from .. import comm as cm
from .sortkeys import from_keys, to_keys


def _lexsorted(rows: torch.Tensor) -> torch.Tensor:
    """Rows of (key, global index, weight) ordered by key, then global index."""
    rows = rows[torch.sort(rows[:, 1], stable=True).indices]
    return rows[torch.sort(rows[:, 0], stable=True).indices]


def splitters(comm, ks, perm, off, in_counts, out_counts) -> list:
    """The p - 1 splitters (key, global index), identical on every rank: where the output
    blocks ``out_counts`` begin, estimated from every block's regular samples."""
    n = ks.numel()
    samp = torch.full((SAMPLES, 3), -1, dtype=torch.int64)
    if n:
        pos = ((torch.arange(SAMPLES) * n) // SAMPLES).to(ks.device)
        samp[:, 0] = ks[pos].to(torch.int64).cpu()
        samp[:, 1] = perm[pos].cpu() + off
        samp[:, 2] = comm.rank
    every = cm.allgather_stack(comm, samp).reshape(-1, 3)
    every = _lexsorted(every[every[:, 1] >= 0])
    if not every.shape[0]:
        return []
    weight = torch.tensor([c / SAMPLES for c in in_counts], dtype=torch.float64)
    cum = torch.cumsum(weight[every[:, 2]], 0) - weight[every[:, 2]]  # elements before
    out = []
    for start in offsets(out_counts)[1:]:
        j = int(torch.searchsorted(cum, torch.tensor([float(start)], dtype=torch.float64),
                                   right=True)) - 1
        j = min(max(j, 0), every.shape[0] - 1)
        out.append((int(every[j, 0]), int(every[j, 1])))
    return out


def cuts(ks, perm, off, split_at) -> list:
    """Positions cutting the sorted block before each splitter: elements ordered before
    (key, global index) go left. Within a run of equal keys the global indices ascend."""
    out = [0]
    for key, gi in split_at:
        kt = torch.tensor([key], dtype=ks.dtype, device=ks.device)
        lo = int(torch.searchsorted(ks, kt))
        hi = int(torch.searchsorted(ks, kt, right=True))
        gt = torch.tensor([gi - off], dtype=perm.dtype, device=perm.device)
        c = lo + int(torch.searchsorted(perm[lo:hi].contiguous(), gt))
        out.append(max(c, out[-1]))
    out.append(ks.numel())
    return out


def exchange(comm, pieces, matrix, dtype, device):
    """One all-to-all: ``pieces[d]`` to rank d; ``matrix[s][d]`` elements go from s to d.
    Returns what this rank received, concatenated in source-rank order."""
    r = comm.rank
    shapes = [(matrix[s][r],) for s in range(comm.size)]
    _, recv = cm._alltoallv(comm, [p.cpu() for p in pieces], shapes, dtype)
    return recv.to(device)


def samplesort(comm, x, in_counts, out_counts, descending=False, indices=False):
    """This rank's block of the sorted (or argsorted) 1-d array, balanced as
    ``out_counts``; ``x`` is the block of a 1-d array laid out as ``in_counts``."""
    p, r, dev = comm.size, comm.rank, x.device
    n_total = sum(in_counts)
    off = offsets(in_counts)[r]
    keys = to_keys(x, descending)
    ks, perm = torch.sort(keys, stable=True)
    split_at = splitters(comm, ks, perm, off, in_counts, out_counts)
    if len(split_at) < p - 1:  # nothing anywhere (every rank sees the same samples)
        return torch.empty(0, dtype=torch.int64 if indices else x.dtype, device=dev)
    cut = cuts(ks, perm, off, split_at)
    mine = [cut[d + 1] - cut[d] for d in range(p)]
    matrix = comm.mpi.allgather(mine) if p > 1 else [mine]
    held = tuple(sum(matrix[s][d] for s in range(p)) for d in range(p))
    got_keys = exchange(comm, [ks[cut[d]:cut[d + 1]] for d in range(p)], matrix, ks.dtype,
                        dev)
    # runs arrive in source-rank order, each sorted: a stable sort keeps equal keys in
    # global order (lower ranks hold lower global indices); one run is sorted already
    if sum(1 for s in range(p) if matrix[s][r]) <= 1:
        merged, order = got_keys, None
    else:
        merged, order = torch.sort(got_keys, stable=True)
    if indices:
        got_idx = exchange(comm, [perm[cut[d]:cut[d + 1]] + off for d in range(p)], matrix,
                           torch.int64, dev)
        out = got_idx if order is None else got_idx[order]
    else:
        out = merged
    if held != tuple(out_counts):
        out = cm.redistribute(comm, out.contiguous(), (n_total,), (0, held),
                              (0, tuple(out_counts)))
    return out if indices else from_keys(out, x.dtype, descending)
