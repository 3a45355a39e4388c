"""Reduction kernels: complete local reductions, per-rank partial states and their merge.

Every reduction of ``graph.reduce.REDUCTIONS`` has one entry in ``REDUCE_KERNELS``:

- ``local(x, dims, keepdims, dt, ddof)``: the complete reduction of a local tensor over
  ``dims`` (a list, maybe empty) to torch dtype ``dt`` (NumPy semantics, torch kernels);
- ``partial(node, x, ctx)``: this rank's partial state (``Reduction.state``) when the reduced
  axes include the split axis. States then travel by all-reduce (sum, prod, any, all, and the
  sums behind mean and norm) or are combined pairwise (the rest: ``kernels/states.py``);
- ``merge(node, val)``: the result from the combined states (all-reduced, or combined by
  ``allreduce_state`` and given here as a stack of one along a leading axis), the same on
  every rank; None where the collective's result is the result.

Merges:

- min/max: an empty block contributes the op's identity; ``amax``/``amin`` over ranks keeps
  NumPy's NaN propagation; ptp carries both (min, max) and subtracts after the merge;
- argmin/argmax: (value, global index) pairs; a NaN wins, then the extreme value, then the
  smallest global index (NumPy's first occurrence);
- var/std (and mean of real floats, which shares their state): (count, mean, M2) merged
  pairwise with Chan et al.'s update, in float64.

A state node's aval is typed by ``graph.reduce.state_aval`` (a ``TupleAval`` for tuple
states, whose result-shaped part gives the result's shape: ``_out_shape``). Runtime values
are tensors, or tuples of tensors for states.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import NamedTuple

import torch

from ...graph.aval import TupleAval
from ...graph.layout import offsets
from ...graph.reduce import REDUCTIONS
from .registry import TORCH_DTYPES, kernel, tdtype


class ReduceKernels(NamedTuple):
    """The kernels of one reduction (see the module docstring for their signatures)."""

    local: Callable
    partial: Callable
    merge: Callable | None = None


def _out_shape(node) -> tuple:
    """The reduction result's shape, from a state node's aval: the result-shaped part of a
    tuple state, else the aval itself (a single-tensor state)."""
    a = node.aval
    if isinstance(a, TupleAval):
        for name in ("mean", "value", "min"):
            if name in a.names:
                return a.part(name).shape
        raise TypeError(f"no result-shaped part in state {a.type_str()}")
    return a.shape


def _local_count(x, axes):
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def _identity(fn, dtype):
    """Neutral element of min/max (and argmin/argmax) for empty local blocks."""
    big = fn in ("min", "argmin")
    if dtype == torch.bool:
        return big
    if dtype.is_floating_point:
        return math.inf if big else -math.inf
    info = torch.iinfo(dtype)
    return info.max if big else info.min


# ---------------------------------------------------------------- moments
# elements per chunk of the two-pass moments: the centred chunk stays in cache
MOMENT_CHUNK = 1 << 16
# devices that take the chunked two-pass moments; others (GPUs) take torch.var_mean: one
# launch of a one-pass kernel instead of several launches and full-size temporaries
TWO_PASS_DEVICES = {"cpu"}


def _sum_squares(sq, dims):
    """``sq`` summed over ``dims`` (keepdim). Sums over all axes but 0, or over axis 0 alone,
    are matrix-vector products with ones: torch's CPU sum over a short inner axis of a
    chunk is several times slower than the GEMV."""
    rows, row = sq.shape[0], sq[0].numel() if sq.shape[0] else 0
    if sq.ndim >= 2 and rows and row and sq.is_contiguous():
        flat = sq.reshape(rows, row)
        if dims == list(range(1, sq.ndim)):
            return torch.mv(flat, sq.new_ones(row)).reshape(
                (rows,) + (1,) * (sq.ndim - 1))
        if dims == [0]:
            return torch.mv(flat.t(), sq.new_ones(rows)).reshape((1,) + tuple(sq.shape[1:]))
    return torch.sum(sq, dim=dims, keepdim=True)


def moments(x, dims, keepdim):
    """(M2, mean, n) of real floating ``x`` over ``dims``: the sum of squared deviations from
    the mean and the mean, by two passes (the mean, then the centred squares, chunk by chunk
    along axis 0 so no full-size temporary is made). As exact as Welford's update, and much
    faster than torch's var on CPU for reductions along short or long axes alike. M2 is
    accumulated in float64 across chunks; both results come in float32 for half-precision
    ``x`` (so sums of squares cannot overflow), else in ``x``'s dtype. Devices outside
    ``TWO_PASS_DEVICES`` (GPUs) take torch's one-pass ``var_mean`` instead."""
    dims = sorted(d % x.ndim for d in dims) if x.ndim else []
    n = 1
    for d in dims:
        n *= x.shape[d]
    acc = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
    if not dims:  # torch reads dim=[] as "all axes": no axes is each element alone
        return torch.zeros_like(x, dtype=acc), x.to(acc), 1
    if x.device.type not in TWO_PASS_DEVICES and x.numel():
        # one fused pass (Welford) on a GPU: no temporaries, one launch
        var, mean = torch.var_mean(x.to(acc), dim=dims, correction=0, keepdim=True)
        m2 = var * n
        if not keepdim:
            m2, mean = m2.squeeze(dims), mean.squeeze(dims)
        return m2, mean, n
    mean = torch.mean(x.to(acc), dim=dims, keepdim=True)
    row = 1
    for s in x.shape[1:]:
        row *= s
    step = max(1, MOMENT_CHUNK // max(row, 1))
    if x.ndim == 0 or x.shape[0] <= step:
        m2 = torch.sum(torch.square(x.to(acc) - mean), dim=dims, keepdim=True)
    elif 0 in dims:
        m2 = None
        for r0 in range(0, x.shape[0], step):
            sq = torch.square_(x[r0:r0 + step].to(acc) - mean)
            part = _sum_squares(sq, dims).to(torch.float64)
            m2 = part if m2 is None else m2.add_(part)
        m2 = m2.to(acc)
    else:
        m2 = torch.empty(mean.shape, dtype=acc, device=x.device)
        for r0 in range(0, x.shape[0], step):
            sq = torch.square_(x[r0:r0 + step].to(acc) - mean[r0:r0 + step])
            m2[r0:r0 + step] = _sum_squares(sq, dims)
    if not keepdim:
        m2, mean = m2.squeeze(dims), mean.squeeze(dims)
    return m2, mean, n


def local_moments(x, axes, keepdims):
    """(M2, mean, n) over ``axes`` of a local block (see ``moments``); integers in float64."""
    work = x if x.is_floating_point() or x.is_complex() else x.to(torch.float64)
    if work.is_floating_point():
        return moments(work, list(axes), keepdims)
    v, m = torch.var_mean(work, dim=list(axes), correction=0, keepdim=keepdims)
    n = 1
    for a in axes:
        n *= x.shape[a]
    return v * n, m, n


def var_of(m2, n, ddof):
    """Variance from the sum of squared deviations of ``n`` elements, NumPy's way: a
    non-positive ``n - ddof`` gives inf or NaN."""
    return m2 / (n - ddof) if n - ddof > 0 else m2 / 0.0


# ---------------------------------------------------------------- local reductions
def _over(f, each=lambda x, dt, ddof: x):
    """``f`` over its dims; with no dims, ``each(x.to(dt))``, the reduction of each element
    alone (torch reads ``dim=[]`` as every axis, so no dims never reaches ``f``)."""
    def local(x, dims, keep, dt, ddof=0):
        return f(x, dims, keep, dt, ddof) if dims else each(x.to(dt), dt, ddof)
    return local


def _sum(x, dims, keep, dt, ddof):
    # dtype=: torch widens small integers to int64 otherwise (a sum with dtype=int32 wraps)
    return torch.sum(x.to(dt), dim=dims, keepdim=keep, dtype=dt)


def _prod(x, dims, keep, dt, ddof):
    x = x.to(dt)
    for a in sorted(dims, reverse=True):
        x = torch.prod(x, dim=a, keepdim=keep, dtype=dt)
    return x


def _mean(x, dims, keep, dt, ddof):
    return torch.mean(x.to(dt), dim=dims, keepdim=keep)


def _variance(std):
    def local(x, dims, keep, dt, ddof):
        xf = x.to(torch.promote_types(dt, x.dtype) if x.is_complex() else dt)
        with warnings.catch_warnings():  # empty blocks and ddof >= n: NaN/inf as NumPy
            warnings.simplefilter("ignore")
            if xf.is_floating_point() and xf.numel():
                m2, _, n = moments(xf, dims, keep)
                v = var_of(m2, n, ddof)
            else:
                v = torch.var(xf, dim=dims, keepdim=keep, correction=ddof)
        return (torch.sqrt(v) if std else v).to(dt)

    def each(x, dt, ddof):  # one element each: 0 / (1 - ddof), NaN once ddof >= 1
        zero = torch.zeros_like(x.real if x.is_complex() else x).to(dt)
        v = zero / max(1 - ddof, 0)
        return torch.sqrt(v) if std else v
    return _over(local, each)


def _min(x, dims, keep, dt, ddof):
    return torch.amin(x, dim=dims, keepdim=keep)


def _max(x, dims, keep, dt, ddof):
    return torch.amax(x, dim=dims, keepdim=keep)


def _any(x, dims, keep, dt, ddof):
    return torch.any(x.to(torch.bool), dim=dims, keepdim=keep)


def _all(x, dims, keep, dt, ddof):
    return torch.all(x.to(torch.bool), dim=dims, keepdim=keep)


def _norm(x, dims, keep, dt, ddof):
    work = x if x.is_complex() else x.to(dt)
    return torch.linalg.vector_norm(work, dim=dims, keepdim=keep).to(dt)


def _arg(f):
    """argmin/argmax: the flat index over all axes of a block of ndim != 1, else the index
    along the one reduced axis; bool compares as uint8."""
    def local(x, dims, keep, dt, ddof=0):
        if x.dtype == torch.bool:
            x = x.to(torch.uint8)
        if len(dims) == x.ndim and x.ndim != 1:
            out = f(x.reshape(-1))
            return out.reshape((1,) * x.ndim) if keep else out
        return f(x, dim=dims[0], keepdim=keep)
    return local


def _range(hi, lo, dt):
    """``hi - lo`` in the input's dtype (integers wrap as NumPy's; bool is refused when the
    reduction is built, as NumPy refuses it)."""
    return (hi - lo).to(dt)


def _ptp(x, dims, keep, dt, ddof):
    return _range(torch.amax(x, dim=dims, keepdim=keep), torch.amin(x, dim=dims, keepdim=keep),
                  dt)


def _ptp_each(x, dt, ddof):  # max - min of one element: 0, NaN for NaN and inf (as NumPy)
    return _range(x, x, dt)


def _moments_local(x, dims, keep, dt, ddof):
    """The local moments state (M2, mean, n) (see ``local_moments``)."""
    return local_moments(x, dims, keep)


def reduce_local(fn, x, axes, keepdims, out_dtype, ddof=0):
    """A complete reduction of a local tensor (NumPy semantics, torch kernels); ``out_dtype``
    is the result's lazyheat dtype (None for a state-valued reduction: moments)."""
    dt = None if out_dtype is None else TORCH_DTYPES[out_dtype.name]
    return _kernels(fn).local(x, list(axes), keepdims, dt, ddof)


def _kernels(fn) -> ReduceKernels:
    try:
        return REDUCE_KERNELS[fn]
    except KeyError:
        raise NotImplementedError(f"reduction {fn!r} has no kernels") from None


# ---------------------------------------------------------------- partial states
def _partial_value(node, x, ctx):
    """sum, prod, any, all: the local reduction is the state."""
    return reduce_local(node.attr("fn"), x, node.attr("axes"), node.attr("keepdims"),
                        node.aval.dtype)


def _partial_mean(node, x, ctx):
    """The local sum; half precision sums would overflow: they accumulate in float32."""
    dt = tdtype(node.aval.dtype)
    acc = torch.float32 if dt in (torch.float16, torch.bfloat16) else dt
    return torch.sum(x.to(acc), dim=list(node.attr("axes")), keepdim=node.attr("keepdims"))


def _partial_norm(node, x, ctx):
    """The local sum of squared magnitudes."""
    dt = tdtype(node.aval.dtype)
    a = x.abs().to(dt) if x.is_complex() else x.to(dt).abs()
    return torch.sum(a * a, dim=list(node.attr("axes")), keepdim=node.attr("keepdims"))


def _partial_extreme(node, x, ctx):
    """min/max of the block, or the op's identity for an empty block."""
    fn, axes = node.attr("fn"), node.attr("axes")
    if _local_count(x, axes) == 0:
        return torch.full(_out_shape(node), _identity(fn, x.dtype), dtype=x.dtype,
                          device=x.device)
    return reduce_local(fn, x, axes, node.attr("keepdims"), node.aval.dtype)


def _partial_extremes(node, x, ctx):
    """(min, max) of the block; an empty block gives each op's identity."""
    axes, keep = list(node.attr("axes")), node.attr("keepdims")
    if _local_count(x, axes) == 0:
        shape = _out_shape(node)
        return tuple(torch.full(shape, _identity(fn, x.dtype), dtype=x.dtype, device=x.device)
                     for fn in ("min", "max"))
    return torch.amin(x, dim=axes, keepdim=keep), torch.amax(x, dim=axes, keepdim=keep)


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


def _partial_arg(node, x, ctx):
    """(value, global index) of the block's extreme; an empty block gives the identity and
    the largest index, which every merge passes over."""
    fn, axes, keep = node.attr("fn"), node.attr("axes"), node.attr("keepdims")
    xa = node.inputs[0].aval
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    ident = _identity(fn, x.dtype)
    shape = _out_shape(node)
    if x.numel() == 0:
        return (torch.full(shape, ident, dtype=x.dtype, device=x.device),
                torch.full(shape, torch.iinfo(torch.int64).max, dtype=torch.int64,
                           device=x.device))
    if len(axes) == 1:
        ax = axes[0]
        i = _kernels(fn).local(x, [ax], True, torch.int64)
        v = torch.gather(x, ax, i)
        gi = i + offsets(xa.counts)[ctx.rank]  # the split axis is the reduced one
        if not keep:
            v, gi = v.squeeze(ax), gi.squeeze(ax)
        return v, gi
    flat = x.reshape(-1)
    i = (torch.argmin if fn == "argmin" else torch.argmax)(flat)
    v = flat[i]
    gi = _global_flat_index(x, i, xa, ctx.rank)
    return v.reshape(shape), gi.reshape(shape)


def _partial_moments(node, x, ctx):
    """(count, mean, M2) of the block, in float64 (complex128 mean for complex data)."""
    axes, keep = node.attr("axes"), node.attr("keepdims")
    n = _local_count(x, axes)
    if n == 0:
        z = torch.zeros(_out_shape(node), dtype=torch.float64, device=x.device)
        return (torch.zeros((), dtype=torch.float64), z.to(torch.complex128)
                if x.is_complex() else z, z)
    # the local state in the working dtype is numerically sound (see ``moments``);
    # only the small per-rank states are widened to float64 for the merge
    m2, m, _ = local_moments(x, axes, keep)
    m = m.to(torch.complex128 if x.is_complex() else torch.float64)
    return torch.tensor(float(n), dtype=torch.float64), m, m2.to(torch.float64)


# ---------------------------------------------------------------- merges
def _merge_mean(node, val):
    """All-reduced sums divided by the count, or (of real floats) the merged moments."""
    if isinstance(val, tuple):
        return _merge_moments(node, val)
    return (val / node.attr("count")).to(tdtype(node.aval.dtype))


def _merge_norm(node, val):
    return torch.sqrt(val).to(tdtype(node.aval.dtype))


def _merge_min(node, val):
    return torch.amin(val, dim=0)


def _merge_max(node, val):
    return torch.amax(val, dim=0)


def _merge_ptp(node, val):
    mins, maxs = val
    return _range(torch.amax(maxs, dim=0), torch.amin(mins, dim=0), tdtype(node.aval.dtype))


def _merge_arg(node, val):
    fn = node.attr("fn")
    v, gi = val
    nan = torch.isnan(v) if v.is_floating_point() else torch.zeros_like(v, dtype=torch.bool)
    clean = v.masked_fill(nan, _identity(fn, v.dtype)) if v.is_floating_point() else v
    best = clean.amin(0) if fn == "argmin" else clean.amax(0)
    mask = torch.where(nan.any(0), nan, clean == best)
    big = torch.iinfo(torch.int64).max
    return torch.where(mask, gi, torch.full_like(gi, big)).amin(0)


def _merge_moments(node, val):
    """mean, var or std from the ranks' (count, mean, M2) states, merged in rank order."""
    fn, out = node.attr("fn"), node.aval
    dt = tdtype(out.dtype)
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


# ---------------------------------------------------------------- the table
_VAR, _STD = _variance(False), _variance(True)

REDUCE_KERNELS: dict[str, ReduceKernels] = {
    "sum": ReduceKernels(_over(_sum), _partial_value),
    "prod": ReduceKernels(_over(_prod), _partial_value),
    "mean": ReduceKernels(_over(_mean), _partial_mean, _merge_mean),
    "var": ReduceKernels(_VAR, _partial_moments, _merge_moments),
    "std": ReduceKernels(_STD, _partial_moments, _merge_moments),
    "min": ReduceKernels(_over(_min), _partial_extreme, _merge_min),
    "max": ReduceKernels(_over(_max), _partial_extreme, _merge_max),
    "argmin": ReduceKernels(_arg(torch.argmin), _partial_arg, _merge_arg),
    "argmax": ReduceKernels(_arg(torch.argmax), _partial_arg, _merge_arg),
    "any": ReduceKernels(_over(_any), _partial_value),
    "all": ReduceKernels(_over(_all), _partial_value),
    "norm": ReduceKernels(_over(_norm, lambda x, dt, ddof: x.abs().to(dt)), _partial_norm,
                          _merge_norm),
    "ptp": ReduceKernels(_over(_ptp, _ptp_each), _partial_extremes, _merge_ptp),
    # the shared state of var, std and mean; their merges read it (reduce_merge keeps the
    # user's reduction), so it has none of its own
    "moments": ReduceKernels(_moments_local, _partial_moments),
}


# ---------------------------------------------------------------- the ops
@kernel("reduce")
def k_reduce(node, args, ctx):
    """A reduction of a block that holds every element it reduces (no communication)."""
    out = None if isinstance(node.aval, TupleAval) else node.aval.dtype
    return reduce_local(node.attr("fn"), args[0], node.attr("axes"), node.attr("keepdims"),
                        out, node.attr("ddof", 0))


@kernel("reduce_partial")
def k_partial(node, args, ctx):
    """This rank's partial state for a reduction whose axes include the split axis."""
    return _kernels(node.attr("fn")).partial(node, args[0], ctx)


@kernel("reduce_merge")
def k_merge(node, args, ctx):
    """The result from the combined partial states (see the merges above)."""
    fn, val = node.attr("fn"), args[0]
    merge = _kernels(fn).merge
    if merge is None:
        raise NotImplementedError(f"reduction {fn!r} has no merge")
    if REDUCTIONS[fn].collective[0] == "state" or isinstance(val, tuple):
        # one combined state (``allreduce_state``): the merges read a stack of one
        val = tuple(t.unsqueeze(0) for t in val) if isinstance(val, tuple) else val.unsqueeze(0)
    return merge(node, val)


@kernel("moments_final")
def k_moments_final(node, args, ctx):
    """mean, var or std (with ``ddof``) from a local moments state, NumPy's way: a
    non-positive ``n - ddof`` gives inf or NaN."""
    m2, mean, n = args[0]
    fn, dt = node.attr("fn"), tdtype(node.aval.dtype)
    if fn == "mean":
        return mean.to(dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        var = var_of(m2, n, node.attr("ddof", 0))
    return (torch.sqrt(var) if fn == "std" else var).to(dt)


@kernel("moments_combine")
def k_moments_combine(node, args, ctx):
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
        gm = torch.full(_out_shape(node), math.nan, dtype=torch.float64, device=mean.device)
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


# the counting reductions (bincount, histogram) live in their own module
from . import reduce_more  # noqa: E402,F401 - registers their kernels
