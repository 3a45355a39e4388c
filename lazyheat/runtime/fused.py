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

from types import SimpleNamespace

import torch

from ..graph.dtypes import DType
from ..graph.reduce import REDUCTIONS
from . import cjit, env, memory
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
    return _TIER()


_TIER = env.Setting("LAZYHEAT_FUSED_TIER", lambda text: text if text in TIERS else "pooled")


def chunk_elements(device=None) -> int:
    """Elements per chunk. On a GPU every chunk costs a kernel launch per member and whole
    blocks do not fit a cache anyway, so GPU groups run whole unless ``LAZYHEAT_CHUNK``
    says otherwise."""
    value = env.get("LAZYHEAT_CHUNK", "")
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
    fast = _fast_member(m, ctx.device)
    return fast if fast is not None else _slow_member(m, ctx.device)


def _slow_member(m, device):
    dev_ctx = SimpleNamespace(device=device)
    return (lambda ops: K.k_ewise(m, ops, dev_ctx)), None


def _fast_member(m, device):
    """``compile_member``'s direct torch call for ``m``, or None where ``k_ewise`` runs it.
    What it returns depends on the member's op, dtypes and scalars only (never on ``m``
    itself or on sizes): groups of the same structure share it (``_calls``)."""
    cdt = m.attr("cdtype")
    fn = K.elementwise.PLAIN.get(m.op)
    fast = fn is not None and cdt is not None and \
        (m.aval.dtype == cdt or m.aval.dtype.name == "bool") and \
        K.elementwise.fast_dtype(K.tdtype(cdt), [v for _, v in m.attr("scalars", ())], m.op)
    if not fast or any(i.aval.dtype != cdt for i in m.inputs):
        return None
    tdt = K.tdtype(cdt)
    consts = {p: torch.tensor(v, dtype=tdt, device=device)
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
    return None


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


# ---------------------------------------------------------------- groups and their programs
# What runs a group is found twice over. Per fused node (``_Group``, kept while the node
# lives: plans are cached, so a cached plan's groups cost one lookup). And, for a node met
# the first time, by the group's structure (``signature``: ops, dtypes, scalars, which
# inputs are 0-d or the full shape, the closer; no size), so a new plan whose groups look
# like an earlier plan's (the same expression on other sizes) reuses its compiled members
# and its C kernel instead of building them again.
_SHARED_MAX = 4096  # structures kept (a bounded cache: cleared whole when full)
_CALLS: dict = {}  # (signature, device) -> per member: ``_fast_member``'s pair or None


def _canon(v):
    """``v`` as key material: floats by their bits (0.0 and -0.0 differ, NaN equals NaN),
    dtypes by name, other types than int and str tagged with their type (True is not 1,
    2.0 is not 2; a tagged value is only ever compared with one of its own type)."""
    t = type(v)
    if t is int or t is str or v is None:
        return v
    if t is tuple:
        return tuple([_canon(x) for x in v])
    if t is DType:
        return (t, v.name)
    if isinstance(v, float):
        return (t, float(v).hex())
    if isinstance(v, complex):
        return (t, v.real.hex(), v.imag.hex())
    return (t, v)


_PLAIN = frozenset({int, str, bool, type(None)})  # equal exactly when alike


def _attrs_key(attrs) -> tuple:
    """A node's attributes as key material (``_canon``), the common ones without its
    recursion: ints, strings, bools, None and tuples of them as they are (a member's
    scalars only when all are ints: no 0.0 == -0.0, no True == 1 among scalars), dtypes
    by name. A new plan keys each of its groups' members."""
    out = []
    for k, v in attrs:
        t = type(v)
        if t in _PLAIN:
            out.append((k, v))
            continue
        if t is DType:
            out.append((k, t, v.name))
            continue
        if t is tuple:
            if k == "scalars":
                for _, x in v:
                    if type(x) is not int:
                        break
                else:
                    out.append((k, v))
                    continue
            else:
                for x in v:
                    if type(x) not in _PLAIN:
                        break
                else:
                    out.append((k, v))
                    continue
        out.append((k, _canon(v)))
    return tuple(out)


def _dtypes(aval):
    """The dtype name of an array's aval; of a state's (``TupleAval``), its parts'."""
    dt = getattr(aval, "dtype", None)
    return dt.name if dt is not None else tuple([_dtypes(p) for p in aval.parts])


def signature(node, members, refs, closer):
    """The structure of fused group ``node``: everything its compiled members and its C
    kernel depend on, and nothing that depends on sizes (a new size of the same expression
    has the same signature). Unhashable where an attribute is: such groups share nothing.

    Members and inputs are arrays; the closer's value may be a state (``TupleAval``)."""
    root = members[-1].aval
    shape, split, counts = root.shape, root.split, root.counts
    ins = []
    for i in node.inputs:
        a = i.aval
        ashape = a.shape
        ins.append((a.dtype.name, 0 if ashape == () else 1 if (
            ashape == shape and a.split == split and a.counts == counts) else 2))
    return (tuple(ins), tuple([(m.op, m.aval.dtype.name, _attrs_key(m.attrs), r)
                               for m, r in zip(members, refs)]),
            None if closer is None else (closer.op, _dtypes(closer.aval),
                                         _attrs_key(closer.attrs)), len(shape))


def _calls(key, members, device):
    """Per member, ``_fast_member``'s (call, call_out) or None: shared by the groups of one
    structure (``key``) on one device."""
    try:
        got = _CALLS.get((key, device))
    except TypeError:  # an unhashable attribute
        return [_fast_member(m, device) for m in members]
    if got is None:
        if len(_CALLS) >= _SHARED_MAX:
            _CALLS.clear()
        got = _CALLS[key, device] = [_fast_member(m, device) for m in members]
    return got


_UNSET = object()


class _Group:
    """What runs one fused node on one device and rank, made at its first run: its local
    shape, its structure's key, and (each made when first needed) the members' program for
    the torch tiers and the C tier's runner (None: the C tier does not take it)."""

    __slots__ = ("device", "rank", "members", "refs", "closer", "shape", "_key", "_program",
                 "c")

    def __init__(self, node, ctx):
        self.device, self.rank = ctx.device, ctx.rank
        self.members, self.refs = node.attr("members"), node.attr("args")
        self.closer = node.attr("closer")
        self.shape = tuple(self.members[-1].aval.local_shape(ctx.rank))
        self._key = self._program = self.c = _UNSET

    def key(self, node):
        if self._key is _UNSET:
            self._key = signature(node, self.members, self.refs, self.closer)
        return self._key

    def program(self, node):
        """[(member, call, call_out, refs)]: the members compiled (``compile_member``)."""
        if self._program is _UNSET:
            calls = _calls(self.key(node), self.members, self.device)
            self._program = [(m, *(c if c is not None else _slow_member(m, self.device)), r)
                             for m, c, r in zip(self.members, calls, self.refs)]
        return self._program

    def runner(self, node, ctx):
        if self.c is _UNSET:
            self.c = cjit.runner(node, self.members, self.refs, self.closer, ctx,
                                 self.key(node), self.shape)
        return self.c


def _group(node, ctx) -> _Group:
    """The node's ``_Group``, kept in the running program's memo (``executor.Program``):
    plans are cached with their programs, so a group is made once per cached plan."""
    g = ctx.memo.get(id(node))
    if g is None or g.rank != ctx.rank or g.device != ctx.device:
        g = ctx.memo[id(node)] = _Group(node, ctx)
    return g


@K.kernel("fused")
def k_fused(node, args, ctx):
    g = _group(node, ctx)
    closer, shape = g.closer, g.shape
    mode_tier = tier()
    if mode_tier == "pooled":  # the C tier where it takes the group and has compiled it
        c = g.runner(node, ctx)
        if c is not None:
            value = c.run(args, None if closer is not None else
                          lambda shp: _out_buffer(node, args, ctx, shp))
            if value is not None:
                return value
    program = g.program(node)
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
