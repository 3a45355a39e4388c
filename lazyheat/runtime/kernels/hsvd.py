"""Kernels of the hierarchical SVD (see ``graph/hsvd.py``): a truncated SVD of each column
block, and the merge of the gathered ``U_r S_r`` factors that every rank computes alike."""

from __future__ import annotations

import torch

from .registry import computation_key, kernel, part_key, shared_parts, tdtype


def _fix_signs(u: torch.Tensor) -> torch.Tensor:
    """``u`` with each column scaled by a unit factor so that its largest-magnitude entry is
    real and positive (a deterministic choice among the SVD's equivalent ones)."""
    if u.numel() == 0:
        return u
    idx = u.abs().argmax(dim=0, keepdim=True)
    top = torch.gather(u, 0, idx)
    mag = top.abs()
    unit = torch.where(mag > 0, top / torch.where(mag > 0, mag, 1).to(top.dtype),
                       torch.ones((), dtype=top.dtype, device=top.device))
    return u / unit


def _truncated(a: torch.Tensor, k: int):
    u, s, _ = torch.linalg.svd(a, full_matrices=False)
    return u[:, :k], s[:k]


def _pad_columns(t: torch.Tensor, k: int) -> torch.Tensor:
    return torch.nn.functional.pad(t, (0, k - t.shape[-1])) if t.shape[-1] < k else t


def _pad(t: torch.Tensor, k: int) -> torch.Tensor:
    return torch.nn.functional.pad(t, (0, k - t.shape[0])) if t.shape[0] < k else t


def _result(node, u, s):
    k = node.attr("k")
    out = tdtype(node.aval.dtype)
    if node.attr("out") == "U":
        return _pad_columns(_fix_signs(u), k).to(out)
    return _pad(s, k).to(out)


part_key("hsvd", "hsvd_merge")(computation_key)


@kernel("hsvd")
def k_hsvd(node, args, ctx):
    """The whole matrix's truncated factor (a replicated matrix, or one rank)."""
    u, s = shared_parts(ctx, computation_key(node), lambda: _truncated(
        args[0].to(tdtype(node.attr("work"))), node.attr("k")))
    return _result(node, u, s)


@kernel("hsvd_local")
def k_hsvd_local(node, args, ctx):
    a = args[0].to(tdtype(node.attr("work")))
    k = node.attr("k")
    if a.shape[1] == 0:
        return torch.zeros((a.shape[0], k), dtype=a.dtype, device=a.device)
    u, s = _truncated(a, k)
    return _pad_columns(u * s.to(u.dtype), k)


@kernel("hsvd_merge")
def k_hsvd_merge(node, args, ctx):
    every = args[0]  # (p, m, k)
    p, m, k = every.shape

    def merge():
        stacked = every.permute(1, 0, 2).reshape(m, p * k).to(tdtype(node.attr("work")))
        return _truncated(stacked, node.attr("k"))

    u, s = shared_parts(ctx, computation_key(node), merge)
    return _result(node, u, s)
