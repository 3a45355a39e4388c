"""Reductions over the split axis: per-rank partial states and their exact merge.

A rank reduces its block into a partial state shaped like the output; the states then travel
by all-reduce (sum, prod, any, all, and the sums behind mean and norm) or by all-gather (the
rest), and ``merge`` combines the gathered states in rank order, so every rank gets the same,
deterministic result:

- min/max: an empty block contributes the op's identity; ``amax``/``amin`` over ranks keeps
  NumPy's NaN propagation;
- argmin/argmax: (value, global index) pairs; a NaN wins, then the extreme value, then the
  smallest global index (NumPy's first occurrence);
- var/std: (count, mean, M2) merged pairwise with Chan et al.'s update, in float64.
"""

from __future__ import annotations

import math

import torch

from ..graph.layout import offsets
from .kernels import TORCH_DTYPES, _identity, local_moments, reduce_local


def _local_count(x, axes):
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def _global_flat_index(x, idx_local_flat, aval, rank):
    """Map a flat index into the local block to the flat index into the global array."""
    shape = list(x.shape)
    coords, rem = [], idx_local_flat
    for s in reversed(shape):
        coords.append(rem % max(s, 1))
        rem = rem // max(s, 1)
    coords.reverse()
    coords[aval.split] = coords[aval.split] + offsets(aval.counts)[rank]
    flat = torch.zeros_like(idx_local_flat)
    for c, s in zip(coords, aval.shape):
        flat = flat * s + c
    return flat


def partial(node, args, ctx):
    """This rank's partial state for a reduction whose axes include the split axis."""
    fn, axes, keep = node.attr("fn"), node.attr("axes"), node.attr("keepdims")
    x, out = args[0], node.aval
    xa = node.inputs[0].aval
    dt = TORCH_DTYPES[out.dtype.name]
    if fn in ("sum", "prod", "any", "all"):
        return reduce_local(fn, x, axes, keep, out.dtype)
    if fn == "mean":  # half precision sums would overflow: accumulate in float32
        acc = torch.float32 if dt in (torch.float16, torch.bfloat16) else dt
        return torch.sum(x.to(acc), dim=list(axes), keepdim=keep)
    if fn == "norm":
        a = x.abs().to(dt) if x.is_complex() else x.to(dt).abs()
        return torch.sum(a * a, dim=list(axes), keepdim=keep)
    if fn in ("min", "max"):
        if _local_count(x, axes) == 0:
            return torch.full(out.shape, _identity(fn, x.dtype), dtype=x.dtype, device=x.device)
        return reduce_local(fn, x, axes, keep, out.dtype)
    if fn in ("argmin", "argmax"):
        if x.dtype == torch.bool:
            x = x.to(torch.uint8)
        ident = _identity(fn, x.dtype)
        if x.numel() == 0:
            shape = out.shape
            return (torch.full(shape, ident, dtype=x.dtype, device=x.device),
                    torch.full(shape, torch.iinfo(torch.int64).max, dtype=torch.int64,
                               device=x.device))
        if len(axes) == 1:
            ax = axes[0]
            i = reduce_local(fn, x, axes, True, out.dtype)
            v = torch.gather(x, ax, i)
            gi = i + offsets(xa.counts)[ctx.rank]  # the split axis is the reduced one
            if not keep:
                v, gi = v.squeeze(ax), gi.squeeze(ax)
            return v, gi
        flat = x.reshape(-1)
        i = (torch.argmin if fn == "argmin" else torch.argmax)(flat)
        v = flat[i]
        gi = _global_flat_index(x, i, xa, ctx.rank)
        shape = out.shape
        return v.reshape(shape), gi.reshape(shape)
    if fn in ("var", "std", "moments"):
        n = _local_count(x, axes)
        if n == 0:
            z = torch.zeros(out.shape, dtype=torch.float64, device=x.device)
            return (torch.zeros((), dtype=torch.float64), z.to(torch.complex128)
                    if x.is_complex() else z, z)
        # the local state in the working dtype is numerically sound (see kernels.moments);
        # only the small per-rank states are widened to float64 for the merge
        m2, m, _ = local_moments(x, axes, keep)
        m = m.to(torch.complex128 if x.is_complex() else torch.float64)
        return torch.tensor(float(n), dtype=torch.float64), m, m2.to(torch.float64)
    raise NotImplementedError(fn)


def combine_moments(node, args, ctx):
    """A moments state over more axes from a state over fewer (Chan's update with equal
    counts): ``axes`` of the input state are reduced. The input is a local state (M2, mean,
    n) or a per-rank partial state (count, mean, M2); ``out`` says which to return."""
    st = args[0]
    if isinstance(st[2], int):
        m2, mean, n = st
        n = float(n)
    else:
        cnt, mean, m2 = st
        n = float(cnt)
    axes = list(node.attr("axes"))
    k = 1
    for a in axes:
        k *= mean.shape[a]
    acc = mean.dtype
    if n == 0 or k == 0:
        tot = 0.0  # no elements: NumPy's mean is NaN (merges skip empty states)
        gm = torch.full(node.aval.shape, math.nan, dtype=torch.float64, device=mean.device)
        gm2 = torch.zeros_like(gm)
    else:
        mean64, m264 = mean.to(torch.float64), m2.to(torch.float64)
        gm = mean64.mean(dim=axes)
        gm2 = m264.sum(dim=axes) + n * torch.square(mean64 - _unsqueeze(gm, axes)).sum(dim=axes)
        tot = n * k
    if node.attr("out") == "partial":
        return torch.tensor(tot, dtype=torch.float64), gm, gm2
    return gm2.to(acc), gm.to(acc), int(tot)


def _unsqueeze(t, axes):
    for a in sorted(axes):
        t = t.unsqueeze(a)
    return t


def merge(node, args, ctx):
    """Combine combined partials (all-reduced, or all-gathered with a leading rank axis)."""
    fn = node.attr("fn")
    val, out = args[0], node.aval
    dt = TORCH_DTYPES[out.dtype.name]
    if fn == "mean" and not isinstance(val, tuple):  # all-reduced sums (else moments)
        return (val / node.attr("count")).to(dt)
    if fn == "norm":
        return torch.sqrt(val).to(dt)
    if fn == "min":
        return torch.amin(val, dim=0)
    if fn == "max":
        return torch.amax(val, dim=0)
    if fn in ("argmin", "argmax"):
        v, gi = val
        nan = torch.isnan(v) if v.is_floating_point() else torch.zeros_like(v, dtype=torch.bool)
        clean = v.masked_fill(nan, _identity(fn, v.dtype)) if v.is_floating_point() else v
        best = clean.amin(0) if fn == "argmin" else clean.amax(0)
        mask = torch.where(nan.any(0), nan, clean == best)
        big = torch.iinfo(torch.int64).max
        return torch.where(mask, gi, torch.full_like(gi, big)).amin(0)
    if fn in ("var", "std") or isinstance(val, tuple) and fn == "mean":
        ns, ms, m2s = val
        n_tot, mean, m2 = 0.0, None, None
        for r in range(ns.shape[0]):  # rank order: deterministic on every rank
            nb = float(ns[r])
            if nb == 0:
                continue
            if mean is None:
                n_tot, mean, m2 = nb, ms[r], m2s[r]
                continue
            delta = ms[r] - mean
            tot = n_tot + nb
            mean = mean + delta * (nb / tot)
            dd = (delta * delta.conj()).real if delta.is_complex() else delta * delta
            m2 = m2 + m2s[r] + dd * (n_tot * nb / tot)
            n_tot = tot
        if fn == "mean":
            return (mean if mean is not None else torch.full(out.shape, math.nan)).to(dt)
        ddof = node.attr("ddof", 0)
        dof = max(n_tot - ddof, 0)  # NumPy: a non-positive count gives inf or NaN
        var = m2 / dof if m2 is not None else torch.full(out.shape, math.nan)
        return (torch.sqrt(var) if fn == "std" else var).to(dt)
    raise NotImplementedError(fn)
