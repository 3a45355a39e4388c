"""Lowering of Fourier transforms: the input moved to the layout the op's rule asks for
(its split off the transformed axes), then the transform on the blocks."""

from __future__ import annotations

from ...graph import Node, ops
from .base import lowering, move


@lowering("fft")
def lower_fft(n, ins, ctx):
    (req,) = ops.needs_of(n, ins).inputs
    return Node("fft", (move(ins[0], req, n.loc),), n.attrs, n.aval, n.loc)
