"""Block-local kernels: one small torch function per op, looked up by name.

A kernel receives the physical node, its inputs' local values and the context (rank, comm,
device) and returns this rank's value: a torch tensor, or a tuple of tensors for the partial
state of a reduction. Kernels read global metadata from the node's aval (shape, counts) to
know which block they hold; they never communicate.
"""

from __future__ import annotations

import math
import warnings

import torch

from ..graph.layout import offsets
from . import memory
from . import random as rnd

TORCH_DTYPES = {n: getattr(torch, n) for n in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "float16", "bfloat16", "float32",
    "float64", "complex64", "complex128")}


def tdtype(d):
    return TORCH_DTYPES[d.name]


def local_offset(aval, rank):
    return 0 if aval.split is None else offsets(aval.counts)[rank]


# ---------------------------------------------------------------- leaves
def k_data(node, args, ctx):
    return node.attr("buf").value


def k_full(node, args, ctx):
    a = node.aval
    return memory.empty(a.local_shape(ctx.rank), tdtype(a.dtype), ctx.device).fill_(
        node.attr("value"))


def _index_1d(node, ctx):
    a = node.aval
    n = a.local_shape(ctx.rank)[0]
    off = local_offset(a, ctx.rank)
    return torch.arange(off, off + n, dtype=torch.float64 if a.dtype.is_inexact else
                        torch.int64, device=ctx.device)


def k_arange(node, args, ctx):
    start, step = node.attr("start"), node.attr("step")
    i = _index_1d(node, ctx)
    return (i * step + start).to(tdtype(node.aval.dtype))


def k_linspace(node, args, ctx):
    start, stop, num, endpoint = (node.attr(k) for k in ("start", "stop", "num", "endpoint"))
    i = _index_1d(node, ctx).to(torch.float64)
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else 0.0
    out = i * step + start
    if endpoint and num > 1:
        out = torch.where(i == num - 1, torch.tensor(float(stop), dtype=torch.float64), out)
    if node.aval.dtype.is_integer:  # NumPy floors before casting to an integer dtype
        out = torch.floor(out)
    return out.to(tdtype(node.aval.dtype))


def k_eye(node, args, ctx):
    a = node.aval
    shp = a.local_shape(ctx.rank)
    rows = torch.arange(shp[0], device=ctx.device)
    cols = torch.arange(shp[1], device=ctx.device)
    if a.split == 0:
        rows = rows + local_offset(a, ctx.rank)
    elif a.split == 1:
        cols = cols + local_offset(a, ctx.rank)
    return (cols[None, :] - rows[:, None] == node.attr("k")).to(tdtype(a.dtype))


def k_random(node, args, ctx):
    a = node.aval
    return rnd.generate(node.attr("dist"), node.attr("seed"), node.attr("params"), a.shape,
                        a.split, local_offset(a, ctx.rank), a.local_shape(ctx.rank),
                        tdtype(a.dtype), ctx.device)


# ---------------------------------------------------------------- elementwise
def _sign(x):
    if x.is_complex():
        return torch.sgn(x)
    s = torch.sign(x)
    return torch.where(torch.isnan(x), x, s) if x.is_floating_point() else s  # NaN stays NaN


EWISE_FN = {
    "add": torch.add, "subtract": torch.sub, "multiply": torch.mul,
    "true_divide": torch.true_divide, "floor_divide": torch.floor_divide,
    "remainder": torch.remainder, "power": torch.pow, "maximum": torch.maximum,
    "minimum": torch.minimum, "arctan2": torch.atan2,
    "equal": torch.eq, "not_equal": torch.ne, "less": torch.lt, "less_equal": torch.le,
    "greater": torch.gt, "greater_equal": torch.ge,
    "bitwise_and": torch.bitwise_and, "bitwise_or": torch.bitwise_or,
    "bitwise_xor": torch.bitwise_xor, "left_shift": torch.bitwise_left_shift,
    "right_shift": torch.bitwise_right_shift,
    "logical_and": torch.logical_and, "logical_or": torch.logical_or,
    "logical_xor": torch.logical_xor, "logical_not": torch.logical_not,
    "invert": torch.bitwise_not, "negative": torch.neg, "positive": lambda x: x,
    "abs": torch.abs, "square": torch.square, "sign": _sign,
    "exp": torch.exp, "expm1": torch.expm1, "log": torch.log, "log1p": torch.log1p,
    "log2": torch.log2, "log10": torch.log10, "sqrt": torch.sqrt,
    "sin": torch.sin, "cos": torch.cos, "tan": torch.tan, "arcsin": torch.asin,
    "arccos": torch.acos, "arctan": torch.atan, "sinh": torch.sinh, "cosh": torch.cosh,
    "tanh": torch.tanh, "floor": torch.floor, "ceil": torch.ceil, "trunc": torch.trunc,
    "isnan": torch.isnan, "isinf": torch.isinf,
    "isfinite": torch.isfinite, "astype": lambda x: x,
}


def operands(node, args):
    """Array inputs and scalar attributes merged back into the user's operand order."""
    scalars = dict(node.attr("scalars", ()))
    out, it = [], iter(args)
    for pos in range(node.attr("nargs", len(args))):
        out.append(scalars[pos] if pos in scalars else next(it))
    return out


def _int_divide(op, x, y):
    """Integer // and % with NumPy's answer for a zero divisor (0) instead of an error."""
    zero = y == 0
    out = EWISE_FN[op](x, torch.where(zero, torch.ones_like(y), y))
    return torch.where(zero, torch.zeros_like(out), out)


def _as_tensor(v, dtype, device):
    """An operand as a tensor of the compute dtype (Python scalars become 0-d tensors, so
    every torch op sees tensors of one dtype, as NumPy's loops do)."""
    return v.to(dtype) if torch.is_tensor(v) else torch.tensor(v, dtype=dtype, device=device)


def _round_int(x, decimals):
    """Integers rounded to ``decimals`` < 0 places, half to even (NumPy's ``round``)."""
    if decimals >= 0 or x.dtype == torch.bool:
        return x
    f = 10 ** (-decimals)
    q = torch.div(x, f, rounding_mode="floor")
    r2 = 2 * (x - q * f)
    up = (r2 > f) | ((r2 == f) & (q % 2 != 0))
    return (q + up.to(x.dtype)) * f


def k_ewise(node, args, ctx):
    op, out = node.op, tdtype(node.aval.dtype)
    cdt = tdtype(node.attr("cdtype"))
    dev = ctx.device
    vals = operands(node, args)
    if op == "where":
        cond = _as_tensor(vals[0], torch.bool, dev)
        return torch.where(cond, _as_tensor(vals[1], cdt, dev), _as_tensor(vals[2], cdt, dev)
                           ).to(out)
    if op == "clip":
        lo, hi = (None if v is None else _as_tensor(v, cdt, dev) for v in vals[1:])
        return torch.clamp(_as_tensor(vals[0], cdt, dev), lo, hi).to(out)
    vals = [_as_tensor(v, cdt, dev) for v in vals]
    integral = not (cdt.is_floating_point or cdt.is_complex)
    if op == "abs" and cdt == torch.bool:
        return vals[0].to(out)
    if op == "round":
        d = node.attr("decimals", 0)
        if integral:
            return _round_int(vals[0], d).to(out)
        return (torch.round(vals[0], decimals=d) if d else torch.round(vals[0])).to(out)
    if op == "power" and integral and cdt != torch.bool and bool((vals[1] < 0).any()):
        raise ValueError("integers to negative integer powers are not allowed")
    if op in ("floor_divide", "remainder") and integral:
        return _int_divide(op, *vals).to(out)
    return EWISE_FN[op](*vals).to(out)


# ---------------------------------------------------------------- reductions
def _identity(fn, dtype):
    """Neutral element of min/max (and argmin/argmax) for empty local blocks."""
    big = fn in ("min", "argmin")
    if dtype == torch.bool:
        return big
    if dtype.is_floating_point:
        return math.inf if big else -math.inf
    info = torch.iinfo(dtype)
    return info.max if big else info.min


def _prod(x, axes, keepdims, dtype):
    x = x.to(dtype)
    for a in sorted(axes, reverse=True):
        x = torch.prod(x, dim=a, keepdim=keepdims)
    return x


# elements per chunk of the two-pass moments below: the centred chunk stays in cache
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


def reduce_local(fn, x, axes, keepdims, out_dtype, ddof=0):
    """A complete reduction of a local tensor (NumPy semantics, torch kernels)."""
    dt = TORCH_DTYPES[out_dtype.name]
    if x.dtype == torch.bool and fn in ("argmin", "argmax", "min", "max"):
        x = x.to(torch.uint8) if fn.startswith("arg") else x
    if not axes and fn not in ("argmin", "argmax"):
        x = x.to(dt)
        if fn in ("var", "std"):  # one element each: 0 / (1 - ddof), NaN once ddof >= 1
            zero = torch.zeros_like(x.real if x.is_complex() else x).to(dt)
            v = zero / max(1 - ddof, 0)
            return torch.sqrt(v) if fn == "std" else v
        return x.abs().to(dt) if fn == "norm" else x
    dims = list(axes)
    if fn == "sum":
        return torch.sum(x.to(dt), dim=dims, keepdim=keepdims)
    if fn == "prod":
        return _prod(x, axes, keepdims, dt)
    if fn == "mean":
        return torch.mean(x.to(dt), dim=dims, keepdim=keepdims)
    if fn in ("var", "std"):
        xf = x.to(torch.promote_types(dt, x.dtype) if x.is_complex() else dt)
        with warnings.catch_warnings():  # empty blocks and ddof >= n: NaN/inf as NumPy
            warnings.simplefilter("ignore")
            if xf.is_floating_point() and xf.numel():
                m2, _, n = moments(xf, dims, keepdims)
                v = _var_of(m2, n, ddof)
            else:
                v = torch.var(xf, dim=dims, keepdim=keepdims, correction=ddof)
        return (torch.sqrt(v) if fn == "std" else v).to(dt)
    if fn == "min":
        return torch.amin(x, dim=dims, keepdim=keepdims)
    if fn == "max":
        return torch.amax(x, dim=dims, keepdim=keepdims)
    if fn == "any":
        return torch.any(x.to(torch.bool), dim=dims, keepdim=keepdims)
    if fn == "all":
        return torch.all(x.to(torch.bool), dim=dims, keepdim=keepdims)
    if fn == "norm":
        work = x if x.is_complex() else x.to(dt)
        return torch.linalg.vector_norm(work, dim=dims, keepdim=keepdims).to(dt)
    if fn in ("argmin", "argmax"):
        f = torch.argmin if fn == "argmin" else torch.argmax
        if len(axes) == x.ndim and x.ndim != 1:
            out = f(x.reshape(-1))
            return out.reshape((1,) * x.ndim) if keepdims else out
        return f(x, dim=dims[0], keepdim=keepdims)
    raise NotImplementedError(fn)


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


def k_moments_final(node, args, ctx):
    """mean, var or std (with ``ddof``) from a local moments state, NumPy's way: a
    non-positive ``n - ddof`` gives inf or NaN."""
    m2, mean, n = args[0]
    fn, dt = node.attr("fn"), tdtype(node.aval.dtype)
    if fn == "mean":
        return mean.to(dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        var = _var_of(m2, n, node.attr("ddof", 0))
    return (torch.sqrt(var) if fn == "std" else var).to(dt)


def _var_of(m2, n, ddof):
    """Variance from the sum of squared deviations of ``n`` elements, NumPy's way: a
    non-positive ``n - ddof`` gives inf or NaN."""
    return m2 / (n - ddof) if n - ddof > 0 else m2 / 0.0


def k_reduce(node, args, ctx):
    if node.attr("fn") == "moments":
        return local_moments(args[0], node.attr("axes"), node.attr("keepdims"))
    return reduce_local(node.attr("fn"), args[0], node.attr("axes"), node.attr("keepdims"),
                        node.aval.dtype, node.attr("ddof", 0))
