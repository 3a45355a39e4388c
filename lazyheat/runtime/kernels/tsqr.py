"""Kernels of TSQR (see ``graph/tsqr.py``): local Householder QR of the row blocks, a merge
of the gathered R factors, and Q rebuilt block by block.

Every rank merges the same gathered stack with the same routine, so ``R`` and the rows of
``Q2`` agree bit for bit across ranks. ``tsqr_rlocal`` and ``tsqr_q`` share one factorization
of the block (``shared_parts``): ``Q1_r`` is the Q of the very ``R_r`` the rank contributed.
"""

from __future__ import annotations

import torch

from .registry import computation_key, kernel, part_key, shared_parts, tdtype


def positive_diagonal(q: torch.Tensor, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(q d, d^H r)`` with ``d`` the unit factors that make ``r``'s diagonal real and
    non-negative (1 where it is zero): the same product, and the unique QR of a full-rank
    matrix."""
    diag = torch.diagonal(r, dim1=-2, dim2=-1)
    mag = diag.abs()
    one = torch.ones((), dtype=diag.dtype, device=diag.device)
    d = torch.where(mag > 0, diag / torch.where(mag > 0, mag, 1).to(diag.dtype), one)
    return q * d.unsqueeze(-2), d.conj().unsqueeze(-1) * r


def _block_qr(x: torch.Tensor, n: int):
    """Q1 (rows x n, zero columns past the block's rank) and R (n x n, zero rows past it)
    of a row block; an empty block gives zeros."""
    q, r = torch.linalg.qr(x, mode="reduced")
    k = r.shape[0]
    if k < n:
        q = torch.nn.functional.pad(q, (0, n - k))
        r = torch.nn.functional.pad(r, (0, 0, 0, n - k))
    return q, r


def _merge(every: torch.Tensor, work):
    n = every.shape[-1]
    return torch.linalg.qr(every.reshape(-1, n).to(work), mode="reduced")


part_key("tsqr")(computation_key)


@kernel("tsqr")
def k_tsqr(node, args, ctx):
    """The whole matrix's factor (a replicated matrix, or one rank); Q and R share one
    factorization."""
    work, out = tdtype(node.attr("work")), tdtype(node.aval.dtype)
    q, r = shared_parts(ctx, computation_key(node), lambda: positive_diagonal(
        *torch.linalg.qr(args[0].to(work), mode="reduced")))
    return (q if node.attr("out") == "Q" else r).to(out)


@part_key("tsqr_rlocal", "tsqr_q")
def _block_key(node):
    """The block factorization that ``tsqr_rlocal`` (its R) and ``tsqr_q`` (its Q) share."""
    return ("tsqr_block", id(node.inputs[0]), node.attr("work"))


def _block_factors(node, x, ctx):
    """``(Q1, R)`` of this rank's block, computed once for both ops (``Q1`` only when
    ``tsqr_q`` takes it: R alone needs just the Householder reflections)."""
    n = x.shape[1]

    def factor():
        w = x.to(tdtype(node.attr("work")))
        if w.shape[0] == 0:
            return (torch.zeros((0, n), dtype=w.dtype, device=w.device),
                    torch.zeros((n, n), dtype=w.dtype, device=w.device))
        if w.shape[0] >= n and ctx.part_uses.get(_block_key(node), 0) <= 1 and \
                node.op == "tsqr_rlocal":
            return None, torch.linalg.qr(w, mode="r")[1]
        return _block_qr(w, n)

    return shared_parts(ctx, _block_key(node), factor)


@kernel("tsqr_rlocal")
def k_tsqr_rlocal(node, args, ctx):
    return _block_factors(node, args[0], ctx)[1]


@kernel("tsqr_merge")
def k_tsqr_merge(node, args, ctx):
    out = tdtype(node.aval.dtype)
    q2, r = _merge(args[0], out)
    return positive_diagonal(q2, r)[1]


@kernel("tsqr_q")
def k_tsqr_q(node, args, ctx):
    x, every = args
    work = tdtype(node.attr("work"))
    n = every.shape[-1]
    q2, r = _merge(every, work)
    q2 = positive_diagonal(q2, r)[0]
    mine = q2[ctx.rank * n:(ctx.rank + 1) * n]
    if x.shape[0] == 0:
        return torch.zeros((0, n), dtype=work, device=x.device)
    q1 = _block_factors(node, x, ctx)[0]
    return (q1 @ mine).to(tdtype(node.aval.dtype))
