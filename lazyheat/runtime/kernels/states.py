"""Combining reduction states over ranks: the pairwise combine of every fixed-size state, and
the kernels of ``allreduce_state``, ``batch_allreduce`` and ``reduce_scatter``.

``COMBINES[fn](lower, higher) -> state`` merges two states (lists of tensors, as
``reduce_partial`` yields them) of reduction ``fn``: the state of the lower ranks first. Each
is exact or deterministic, so the algorithms of ``runtime/statecomm.py`` give every rank the
same bits:

- min/max: ``torch.minimum``/``maximum`` (NaN propagates, as NumPy's);
- ptp: both at once on its (min, max) pair;
- argmin/argmax: (value, global index) pairs; a NaN wins (the first NaN), then the extreme
  value, then the smaller global index (NumPy's first occurrence). Associative and
  commutative, so any bracketing gives the same pair;
- moments (var, std, and mean of real floats): (count, mean, M2) by Chan et al.'s update in
  float64; an empty state is the identity;
- sums and the other MPI operators of batched members: the elementwise operator.
"""

from __future__ import annotations

import torch

from .. import comm as cm
from .. import statecomm
from .registry import kernel


def _min(lo, hi):
    return [torch.minimum(lo[0], hi[0])]


def _max(lo, hi):
    return [torch.maximum(lo[0], hi[0])]


def _extremes(lo, hi):
    return [torch.minimum(lo[0], hi[0]), torch.maximum(lo[1], hi[1])]


def _arg(fn):
    def combine(lo, hi):
        v1, i1 = lo
        v2, i2 = hi
        if v1.is_floating_point():
            n1, n2 = torch.isnan(v1), torch.isnan(v2)
        else:
            n1 = n2 = torch.zeros_like(v1, dtype=torch.bool)
        better = v2 < v1 if fn == "argmin" else v2 > v1
        first = i2 < i1
        take = torch.where(n1 | n2, n2 & (~n1 | first), better | ((v2 == v1) & first))
        return [torch.where(take, v2, v1), torch.where(take, i2, i1)]
    return combine


def _moments(lo, hi):
    """Chan's pairwise update of (count, mean, M2)."""
    a, b = float(lo[0]), float(hi[0])
    if b == 0:
        return list(lo)
    if a == 0:
        return list(hi)
    tot = a + b
    delta = hi[1] - lo[1]
    mean = lo[1] + delta * (b / tot)
    dd = (delta * delta.conj()).real if delta.is_complex() else delta * delta
    m2 = lo[2] + hi[2] + dd * (a * b / tot)
    return [torch.tensor(tot, dtype=torch.float64), mean, m2]


COMBINES = {"min": _min, "max": _max, "ptp": _extremes, "argmin": _arg("argmin"),
            "argmax": _arg("argmax"), "moments": _moments}


def _op_combine(op):
    """The pairwise form of an MPI all-reduce operator (batched sums and flags). Half
    precision adds and multiplies in float32, as the all-reduce does."""
    def combine(lo, hi):
        a, b = lo[0], hi[0]
        if op in ("sum", "prod"):
            wide = a.dtype in (torch.float16, torch.bfloat16)
            x, y = (a.float(), b.float()) if wide else (a, b)
            out = x + y if op == "sum" else x * y
            return [out.to(a.dtype)]
        if op == "max":
            return [torch.maximum(a, b)]
        if op == "min":
            return [torch.minimum(a, b)]
        if op == "lor":
            return [torch.logical_or(a, b).to(a.dtype)]
        return [torch.logical_and(a, b).to(a.dtype)]
    return combine


def _parts(v) -> list:
    return list(v) if isinstance(v, tuple) else [v]


@kernel("allreduce_state")
def k_allreduce_state(node, args, ctx):
    """Every rank's state of reduction ``fn`` combined (``statecomm.allreduce_state``)."""
    parts = _parts(args[0])
    element = [t.dim() > 0 for t in parts]
    out = statecomm.allreduce_state(ctx.comm, parts, COMBINES[node.attr("fn")],
                                    node.attr("algorithm"), element)
    return tuple(out) if isinstance(args[0], tuple) else out[0]


def member_combine(kind, arg):
    """The pairwise combine of one batched member: ``("allreduce", op)`` or
    ``("state", fn)``."""
    return _op_combine(arg) if kind == "allreduce" else COMBINES[arg]


@kernel("batch_allreduce")
def k_batch_allreduce(node, args, ctx):
    """Several members' states and sums combined in one recursive doubling of their packed
    bytes; yields each member's combined value."""
    flat, spans = [], []
    for v in args:
        parts = _parts(v)
        spans.append((len(flat), len(parts), isinstance(v, tuple)))
        flat.extend(parts)
    fns = [member_combine(kind, arg) for kind, arg in node.attr("kinds")]

    def combine(lo, hi):
        out = []
        for fn, (s0, k, _) in zip(fns, spans):
            out.extend(fn(lo[s0:s0 + k], hi[s0:s0 + k]))
        return out

    got = statecomm.allreduce_state(ctx.comm, flat, combine, "doubling")
    return tuple(tuple(got[s0:s0 + k]) if is_tuple else got[s0]
                 for s0, k, is_tuple in spans)


@kernel("reduce_scatter")
def k_reduce_scatter(node, args, ctx):
    """Ranks' partial values combined elementwise; this rank keeps its block."""
    a = node.aval
    return cm.reduce_scatter(ctx.comm, args[0], node.attr("op"), a.split, a.counts)
