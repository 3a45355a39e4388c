"""Counting kernels: bincount and histogram of a local block.

Over split data each rank counts its own block (``partial=sum`` on the node) and one
all-reduce adds the counts; the kernels themselves never communicate. Bin edges are
float64 attributes (exact for the float32 edges NumPy makes for float32 data), so every
rank compares against the same numbers.
"""

from __future__ import annotations

import torch

from .registry import kernel, tdtype


@kernel("bincount")
def k_bincount(node, args, ctx):
    """Occurrences of each value 0..length-1 in the block (weights summed in float64)."""
    x = args[0].reshape(-1).to(torch.int64)
    w = args[1].reshape(-1).to(torch.float64) if len(args) > 1 else None
    # (torch gives int64 for an empty block even with weights: the dtype is the node's)
    return torch.bincount(x, weights=w, minlength=node.attr("length")).to(
        tdtype(node.aval.dtype))


@kernel("histogram")
def k_histogram(node, args, ctx):
    """Counts per bin, NumPy's way: bin i holds ``e[i] <= v < e[i+1]``, the last bin also
    ``v == e[-1]``; values outside the edges and NaN are not counted."""
    x = args[0].reshape(-1)
    edges = torch.tensor(node.attr("edges"), dtype=torch.float64, device=x.device)
    nb = edges.numel() - 1
    xf = x.to(torch.float64)
    keep = (xf >= edges[0]) & (xf <= edges[-1])
    xf = xf[keep]
    idx = torch.searchsorted(edges, xf, right=True) - 1
    idx = torch.where(xf == edges[-1], nb - 1, idx).clamp_(0, nb - 1)
    if len(args) == 1:
        return torch.bincount(idx, minlength=nb)
    w = args[1].reshape(-1)[keep]
    out = torch.zeros(nb, dtype=tdtype(node.aval.dtype), device=x.device)
    return out.index_add_(0, idx, w.to(out.dtype))
