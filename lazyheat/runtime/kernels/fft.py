"""Fourier-transform kernel: torch.fft's n-D transforms on a block whose transformed axes
are whole (the planner has moved the split off them)."""

from __future__ import annotations

import torch

from .registry import kernel, tdtype


@kernel("fft")
def k_fft(node, args, ctx):
    x = args[0]
    kind = node.attr("kind")
    out = tdtype(node.aval.dtype)
    if kind == "irfftn":  # complex input of the result's precision
        work = torch.complex64 if out == torch.float32 else torch.complex128
    elif kind == "rfftn":  # real input of the result's precision
        work = torch.float32 if out == torch.complex64 else torch.float64
    else:
        work = out
    if x.dtype != work:
        x = x.to(work)
    if x.numel() == 0:  # an empty block (more ranks than rows): MKL refuses empty input
        return torch.empty(node.aval.local_shape(ctx.rank), dtype=out, device=x.device)
    fn = getattr(torch.fft, kind)
    return fn(x, s=node.attr("s"), dim=node.attr("axes"), norm=node.attr("norm")).to(out)
