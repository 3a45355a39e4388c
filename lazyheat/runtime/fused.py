"""Execution of fused elementwise groups (see ``passes/fuse.py``).

A group runs its members' elementwise kernels in order. Large local blocks are evaluated in
chunks of rows (local axis 0), so a chunk's intermediates stay in cache instead of streaming
whole temporaries through memory; the closing reduction is applied to each chunk and the chunk
results are combined as ``graph.reduce.REDUCTIONS[fn].chunk`` says (sum, product, min, max,
any, all: exact up to floating-point reassociation), or written to their rows when the
reduction keeps axis 0. Reductions that have no such chunk combination (variance states,
arg-reductions and ranges over axis 0, norms) see the whole group value, exactly as without
fusion.

Small blocks (at most one chunk) run once on whole tensors through the very same kernels as
the unfused plan, so every edge case (empty blocks, 0-d values) behaves identically.

Chunk size: ``LAZYHEAT_CHUNK`` elements per chunk (default below, chosen by measurement in
``bench/fusion_tiers.py``); ``LAZYHEAT_CHUNK=0`` turns chunking off.
"""

from __future__ import annotations

import os
import weakref
from types import SimpleNamespace

import torch

from ..graph.reduce import REDUCTIONS
from . import cjit, memory
from . import compiled as C
from . import kernels as K

DEFAULT_CHUNK = 1 << 18

# how per-chunk results of a closing reduction combine into the whole block's result, by
# ``REDUCTIONS[fn].chunk``: in place into the running result
_CHUNK_COMBINE = {
    "add": torch.Tensor.add_, "mul": torch.Tensor.mul_,
    "min": lambda acc, x: torch.minimum(acc, x, out=acc),
    "max": lambda acc, x: torch.maximum(acc, x, out=acc),
    "or": lambda acc, x: torch.logical_or(acc, x, out=acc),
    "and": lambda acc, x: torch.logical_and(acc, x, out=acc),
}


def _combine(fn):
    """The in-place combination of reduction ``fn``'s chunk results, or None when the
    reduction must see its whole value (its chunk results do not combine)."""
    return _CHUNK_COMBINE.get(REDUCTIONS[fn].chunk)


TIERS = ("pooled", "alloc", "compile")


def tier() -> str:
    """How chunks run: "pooled" (torch ops with ``out=`` into chunk buffers reused in place
    along the chain; groups the C tier of ``cjit.py`` takes run compiled once their kernel is
    built, unless ``LAZYHEAT_JIT=0``) or "alloc" (each op allocates its chunk result);
    "compile" hands groups
    of plans that repeat to ``torch.compile`` (``compiled.py``) and runs their first pass
    pooled. ``LAZYHEAT_FUSED_TIER`` overrides the default; see bench/fusion_tiers.py for the
    measurements behind it."""
    value = os.environ.get("LAZYHEAT_FUSED_TIER", "pooled")
    return value if value in TIERS else "pooled"


def chunk_elements(device=None) -> int:
    """Elements per chunk. On a GPU every chunk costs a kernel launch per member and whole
    blocks do not fit a cache anyway, so GPU groups run whole unless ``LAZYHEAT_CHUNK``
    says otherwise."""
    value = os.environ.get("LAZYHEAT_CHUNK", "")
    if value.strip().lstrip("-").isdigit():
        return int(value)
    return 0 if device is not None and torch.device(device).type != "cpu" else DEFAULT_CHUNK


_TAKES_OUT: dict = {}


def _takes_out(op, fn, nargs) -> bool:
    """Whether torch function ``fn`` accepts ``out=`` (a few predicates, such as isnan, do
    not): probed once per op on a one-element tensor."""
    if op not in _TAKES_OUT:
        x = torch.zeros(1)
        try:
            r = fn(*([x] * nargs))
            fn(*([x] * nargs), out=torch.empty_like(r))
            _TAKES_OUT[op] = True
        except TypeError:
            _TAKES_OUT[op] = False
        except Exception:  # the probe's dtype does not suit the op: assume the usual form
            _TAKES_OUT[op] = True
    return _TAKES_OUT[op]


def compile_member(m, ctx):
    """(call, call_out) for a member: ``call(ops)`` returns its value; ``call_out(ops, out)``
    writes it into ``out`` (None when the op has no such fast form). Ops that ``k_ewise``
    computes by their torch function alone (``kernels.elementwise.PLAIN``) call it directly
    when every array operand already has the compute dtype and the result is of that dtype
    or bool (comparisons, predicates, logical ops): no casts, nothing for ``k_ewise`` to do
    but that call. Scalars become 0-d tensors once; everything else goes through
    ``kernels.k_ewise``, and so do members in uint16/32/64 (torch computes nothing in them:
    ``kernels/unsigned.py`` emulates them) and integer members with a Python int outside
    their dtype (a comparison answered as a constant). ``ctx`` only carries the device:
    compiled programs are cached."""
    cdt = m.attr("cdtype")
    fn = K.elementwise.PLAIN.get(m.op)
    fast = fn is not None and cdt is not None and \
        (m.aval.dtype == cdt or m.aval.dtype.name == "bool") and \
        K.elementwise.fast_dtype(K.tdtype(cdt), [v for _, v in m.attr("scalars", ())], m.op)
    if not fast or any(i.aval.dtype != cdt for i in m.inputs):
        return (lambda ops: K.k_ewise(m, ops, ctx)), None
    tdt = K.tdtype(cdt)
    consts = {p: torch.tensor(v, dtype=tdt, device=ctx.device)
              for p, v in m.attr("scalars", ())}
    if not consts:
        if not _takes_out(m.op, fn, len(m.inputs)):
            return (lambda ops: fn(*ops)), None
        return (lambda ops: fn(*ops)), (lambda ops, out: fn(*ops, out=out))
    nargs = m.attr("nargs", len(m.inputs))
    if nargs == 2 and len(consts) == 1:
        if 0 in consts:
            c0 = consts[0]
            return (lambda ops: fn(c0, ops[0])), (lambda ops, out: fn(c0, ops[0], out=out))
        c1 = consts[1]
        return (lambda ops: fn(ops[0], c1)), (lambda ops, out: fn(ops[0], c1, out=out))
    return (lambda ops: K.k_ewise(m, ops, ctx)), None


def run_members(program, inputs, bufs=None, root_out=None, rows=0):
    """Evaluate a compiled group on ``inputs``; returns the root's value. Each inner member has
    one consumer, so its value is dropped as soon as that consumer ran. With ``bufs`` (the
    pooled tier), members with a fast form write into their preassigned chunk buffers, and
    the root into ``root_out`` when given; ``rows`` is the chunk's row count."""
    vals = [None] * len(program)
    last = len(program) - 1
    for j, (m, call, call_out, r) in enumerate(program):
        ops = [vals[i] if i >= 0 else inputs[-1 - i] for i in r]
        try:
            if bufs is not None and call_out is not None and bufs[j] is not None:
                out = root_out if j == last and root_out is not None else \
                    bufs[j][:rows]
                vals[j] = call_out(ops, out)
            else:
                vals[j] = call(ops)
        except Exception as exc:
            exc.lazyheat_node = m  # the executor's error names the member and its line
            raise
        for i in r:
            if i >= 0:
                vals[i] = None
    return vals[-1]


def _pool(program, rows, shape, device):
    """Chunk buffers for the pooled tier: a member writes into the buffer of a member operand
    that dies with it (same dtype), else into a fresh one; slow members get none."""
    bufs = [None] * len(program)
    for j, (m, _, call_out, r) in enumerate(program):
        if call_out is None:
            continue
        dt = K.tdtype(m.aval.dtype)
        reuse = next((bufs[i] for i in r if i >= 0 and bufs[i] is not None
                      and bufs[i].dtype == dt), None)
        bufs[j] = reuse if reuse is not None else \
            torch.empty((rows,) + tuple(shape[1:]), dtype=dt, device=device)
    return bufs


def _close(closer, value, ctx):
    """The closing reduction (complete or partial) of the group's value: its own kernel."""
    return K.KERNELS[closer.op](closer, [value], ctx)


def _chunk_plan(closer):
    """('rows' | 'combine', reduction fn) when the group can run chunk by chunk along local
    axis 0, else None: 'rows' when each chunk yields its own rows of the result, 'combine'
    when the chunks' reductions are combined into one."""
    if closer is None:
        return ("rows", None)
    fn, axes = closer.attr("fn"), closer.attr("axes")
    if fn == "moments":  # a state tuple, not rows: the group runs whole
        return None
    if 0 not in axes:  # partial states by rows only where chunks combine (single tensors)
        if closer.op == "reduce" or _combine(fn) is not None:
            return ("rows", fn)
        return None
    return ("combine", fn) if _combine(fn) is not None else None


# fused node -> {device: compiled program}; plans are cached, so programs are reused
_PROGRAMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _program(node, members, refs, device):
    per_dev = _PROGRAMS.get(node)
    if per_dev is None:
        per_dev = _PROGRAMS[node] = {}
    prog = per_dev.get(device)
    if prog is None:
        dev_ctx = SimpleNamespace(device=device)
        prog = per_dev[device] = [(m, *compile_member(m, dev_ctx), r)
                                  for m, r in zip(members, refs)]
    return prog


@K.kernel("fused")
def k_fused(node, args, ctx):
    members, refs, closer = node.attr("members"), node.attr("args"), node.attr("closer")
    program = _program(node, members, refs, ctx.device)
    mode_tier = tier()
    shape = members[-1].aval.local_shape(ctx.rank)
    if mode_tier == "compile":
        compiled = C.lookup(node, program, run_members, closer, _close, ctx)
        if compiled is not None:
            out = None
            if closer is None:  # a dead input's buffer when donated, else fresh huge pages
                out = _donated_buffer(node, args, ctx, shape)
                if out is None:
                    out = memory.empty(shape, K.tdtype(node.aval.dtype), ctx.device)
            value = C.run(node, compiled, args, ctx, out)
            if value is not None:
                return value
    if mode_tier == "pooled":  # the C tier where it takes the group and has compiled it
        value = cjit.run(node, members, refs, closer, args, ctx,
                         lambda shp: _out_buffer(node, args, ctx, shp))
        if value is not None:
            return value
    row = 1
    for s in shape[1:]:
        row *= s
    chunk = chunk_elements(ctx.device)
    rows_per_chunk = max(1, chunk // max(row, 1))
    plan = _chunk_plan(closer)
    if chunk <= 0 or not shape or shape[0] <= rows_per_chunk or plan is None:
        value = run_members(program, args)
        return value if closer is None else _close(closer, value, ctx)

    n = shape[0]
    cut = [torch.is_tensor(a) and a.ndim == len(shape) and a.shape[0] == n for a in args]
    mode, fn = plan
    combine = _combine(fn) if mode == "combine" else None
    result = None
    if closer is None:  # write into a dead temporary of the right shape, if one is donated
        result = _donated_buffer(node, args, ctx, shape)
    pooled = mode_tier != "alloc"
    bufs = _pool(program, rows_per_chunk, shape, ctx.device) if pooled else None
    if pooled and closer is None and result is None:
        result = memory.empty(shape, K.tdtype(node.aval.dtype), ctx.device)
    for r0 in range(0, n, rows_per_chunk):
        r1 = min(n, r0 + rows_per_chunk)
        ins = [a[r0:r1] if c else a for a, c in zip(args, cut)]
        if pooled:
            dest = result[r0:r1] if closer is None else None
            value = run_members(program, ins, bufs, dest, r1 - r0)
            if closer is None:
                if value is not dest:
                    dest.copy_(value)
                continue
        else:
            value = run_members(program, ins)
        if mode == "rows":
            part = value if closer is None else _close(closer, value, ctx)
            if result is None:
                result = memory.empty((n,) + tuple(part.shape[1:]), part.dtype, part.device)
            result[r0:r1] = part
        else:
            part = _chunk_reduce(closer, fn, value)
            result = part if result is None else combine(result, part)
    if mode == "combine" and fn == "mean" and closer.op == "reduce":
        count = 1
        for a in closer.attr("axes"):
            count *= shape[a]
        result = (result / count).to(K.tdtype(closer.aval.dtype))
    return result


def _out_buffer(node, args, ctx, shape):
    """The output of a group without a closer: a donated input's buffer, or a fresh one."""
    out = _donated_buffer(node, args, ctx, shape)
    return out if out is not None else \
        memory.empty(shape, K.tdtype(node.aval.dtype), ctx.device)


def _donated_buffer(node, args, ctx, shape):
    """A donated input that can hold the output: same local shape and dtype, contiguous.
    Chunk i of it is read before chunk i of the output is written, and no chunk reads
    another chunk's rows, so the output may overwrite it in place."""
    want = K.tdtype(node.aval.dtype)
    for k in getattr(ctx, "donated", ()):
        a = args[k]
        if tuple(a.shape) == tuple(shape) and a.dtype == want and a.is_contiguous():
            return a
    return None


def _chunk_reduce(closer, fn, value):
    """The closer's reduction of one chunk, in the dtype its partial result has."""
    axes, keep = closer.attr("axes"), closer.attr("keepdims")
    if fn == "mean":  # a running sum; half precision accumulates in float32 (as its partial
        # state does, kernels/reduce.py)
        dt = K.tdtype(closer.aval.dtype)
        acc = torch.float32 if dt in (torch.float16, torch.bfloat16) else dt
        return torch.sum(value.to(acc), dim=list(axes), keepdim=keep)
    return K.reduce_local(fn, value, axes, keep, closer.aval.dtype)
