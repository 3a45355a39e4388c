"""The C tier for fused groups: one compiled loop per group template, without a cold start.

A fused group whose members are elementwise ops on float32/float64 (int32/int64 where the op
is simple), whose inputs are all the group's full shape or 0-d, optionally closed by a full
sum, mean, min or max, becomes one C loop: every input read once, every intermediate in a
register. The first runs of such a group go to the default tier (``fused.py``) while one
background thread per process writes the C source and runs the C compiler (the GIL is free
meanwhile); a later run that finds the library loaded switches to it. A library already in
the on-disk cache (an earlier process, another rank of the node) is loaded at the first run.

Which groups may switch (the SPMD rule). A group is local, so the tier never changes
collectives; but two ranks that compute the same replicated value on different tiers must
not disagree in the last bit. So:
- exact groups switch whenever their library is ready: their ops are correctly rounded in
  IEEE arithmetic (+ - * /, neg, abs, square, min/max, comparisons, where) and their
  closer is none, min or max (NaN payloads may differ: both give a NaN). The C code does
  the same operations in the same order (``-ffp-contract=off``: no fused multiply-add), so
  both tiers give the same bits and the switch point does not matter
  (``tests/test_cjit_fusion.py`` checks it);
- inexact groups (exp, log, sin, cos, tanh: libm's vector functions, not torch's; sqrt:
  the hardware's is correctly rounded, torch's float32 sqrt on AVX-512 is not; power by
  a constant; a sum or mean: another summation order) switch freely where no rank
  computes the same value as another: the group's members are split across ranks, or
  there is one rank. A replicated inexact group switches once every rank has agreed, at a
  handshake, that its kernel is ready (``agreement.py``): from that step on, on every
  rank alike.

The cache: ``$LAZYHEAT_CACHE_DIR/jit`` (default ``~/.cache/lazyheat/jit``), one library per
template (ops, dtypes, scalar slots, input kinds, closer, compiler, flags, CPU model), so
plans that differ only in scalar values or sizes share one. One process compiles a key (a
lock file), the library is renamed into place whole, and the oldest-used libraries beyond
``LAZYHEAT_JIT_CACHE_MB`` (default 256) are deleted. ``LAZYHEAT_JIT=0`` turns the tier off;
without a compiler, or when compiling fails, the default tier stays and rank 0 warns once.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from ..graph.ops import Group, opdef
from . import agreement, env, native

FLAGS = ("-O3", "-march=native", "-fno-math-errno", "-ffp-contract=off", "-fwrapv",
         "-fopenmp-simd", "-fPIC", "-shared", "-std=gnu11")
LIBS = ("-lmvec", "-lm")
BLOCK = 2048  # elements per block of a closed group (the block's values stay in L1)

_CTYPE = {"float32": "float", "float64": "double", "int32": "int32_t", "int64": "int64_t",
          "bool": "uint8_t"}
_FLOATS = ("float32", "float64")
_BIN = {"add": "({a} + {b})", "subtract": "({a} - {b})", "multiply": "({a} * {b})",
        "maximum": "lh_max_{t}({a}, {b})", "minimum": "lh_min_{t}({a}, {b})"}
_CMP = {"equal": "==", "not_equal": "!=", "less": "<", "less_equal": "<=", "greater": ">",
        "greater_equal": ">="}
# float-only ops; the transcendental ones are not correctly rounded (inexact)
_FLOAT_UNARY = {"sqrt": "sqrt{f}({a})", "exp": "exp{f}({a})", "log": "log{f}({a})",
                "sin": "sin{f}({a})", "cos": "cos{f}({a})", "tanh": "tanh{f}({a})"}
_INEXACT = frozenset(_FLOAT_UNARY) | {"power"}
# pow by these constants as products and roots (correctly rounded, or one rounding from it:
# the default tier's pow takes the exponent as a tensor, torch's general pow, so not exact)
_POW = {2.0: "({a} * {a})", 3.0: "({a} * {a} * {a})", 0.5: "sqrt{f}({a})",
        -1.0: "((T)1 / {a})", -2.0: "((T)1 / ({a} * {a}))", -0.5: "((T)1 / sqrt{f}({a}))"}
_CLOSERS = ("sum", "mean", "min", "max")

_PRELUDE = """#include <math.h>
#include <stdint.h>
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
double exp(double);
#pragma omp declare simd notinbranch
float logf(float);
#pragma omp declare simd notinbranch
double log(double);
#pragma omp declare simd notinbranch
float sinf(float);
#pragma omp declare simd notinbranch
double sin(double);
#pragma omp declare simd notinbranch
float cosf(float);
#pragma omp declare simd notinbranch
double cos(double);
#pragma omp declare simd notinbranch
float tanhf(float);
#pragma omp declare simd notinbranch
double tanh(double);
/* torch.maximum/minimum: NaN wins; otherwise the second operand on ties, as maxps/minps */
#define LH_EXT(T, N, OP) static inline T lh_##N##_##T(T a, T b) { \\
    return (a != a || b != b) ? a + b : (a OP b ? a : b); }
LH_EXT(float, max, >) LH_EXT(float, min, <) LH_EXT(double, max, >) LH_EXT(double, min, <)
LH_EXT(int32_t, max, >) LH_EXT(int32_t, min, <) LH_EXT(int64_t, max, >) LH_EXT(int64_t, min, <)
#define BLOCK """ + str(BLOCK) + "\n"


def enabled() -> bool:
    """``LAZYHEAT_JIT`` (default on); the C tier also needs ``LAZYHEAT_NATIVE`` on."""
    return _JIT() and native.enabled()


_JIT = env.Setting("LAZYHEAT_JIT", lambda text: text is None or
                   text.strip().lower() not in ("0", "", "off", "false"))


def cache_dir() -> Path:
    return native.cache_dir().parent / "jit"


def cache_limit_bytes() -> int:
    value = os.environ.get("LAZYHEAT_JIT_CACHE_MB", "256")
    return int(value) << 20 if value.strip().isdigit() else 256 << 20


# ---------------------------------------------------------------- code generation
class Template:
    """The C source of one group and what a call needs: ``kinds`` ("full" | "scalar" per
    group input), the scalar values (``fs`` doubles, ``is_`` ints, in slot order), the
    closer's fn (or None), its C value type, and whether both tiers agree bit for bit."""

    def __init__(self, source, kinds, fs, is_, closer_fn, root_dtype, exact, mean=False):
        self.source, self.kinds, self.closer_fn = source, kinds, closer_fn
        self.root_dtype, self.exact = root_dtype, exact
        # what each call needs besides its tensors (``Runner``)
        self.full = tuple(kind == "full" for kind in kinds)
        self.ptrs = ctypes.c_void_p * max(1, len(kinds))  # the type of the pointer array
        self.dtype = getattr(torch, root_dtype)
        # a mean's closer: "reduce" divides by the count, the per-rank partial sums do not
        self.mean = mean
        # a closed group's result: the accumulator (a double or an int64) is written into
        # a 0-d tensor made like this one (``torch.empty_like``: the cheapest new tensor)
        self.acc = torch.zeros((), dtype=torch.float64 if root_dtype in _FLOATS
                               else torch.int64)
        self.fs = (ctypes.c_double * max(1, len(fs)))(*fs)
        self.is_ = (ctypes.c_int64 * max(1, len(is_)))(*is_)


def _scalar_ok(v, cdt) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    if cdt in _FLOATS:
        return not isinstance(v, int) or abs(v) <= 1 << 53
    info = torch.iinfo(getattr(torch, cdt))
    return isinstance(v, int) and info.min <= v <= info.max


def _member_expr(m, ops, cdt, fs, is_, decls):
    """The C expression of member ``m`` over operand expressions (None for scalar slots,
    filled here), or None when the C tier does not take it; appends scalar declarations."""
    op, t = m.op, _CTYPE[cdt]
    f = "f" if cdt == "float32" else ""
    scalars = dict(m.attr("scalars", ()))
    if op == "power":
        e = scalars.get(1)
        if cdt not in _FLOATS or not isinstance(e, (int, float)) or isinstance(e, bool) \
                or float(e) not in _POW or 0 in scalars:
            return None
        return _POW[float(e)].format(a=ops[0], f=f).replace("(T)", f"({t})")
    for p, v in scalars.items():
        if not _scalar_ok(v, cdt):
            return None
        name = f"s{len(decls)}"
        if cdt in _FLOATS:
            decls.append(f"const {t} {name} = ({t})fs[{len(fs)}];")
            fs.append(float(v))
        else:
            decls.append(f"const {t} {name} = ({t})is_[{len(is_)}];")
            is_.append(int(v))
        ops[p] = name
    if op in _BIN:
        return _BIN[op].format(a=ops[0], b=ops[1], t=t)
    if op in _CMP:
        return f"(uint8_t)({ops[0]} {_CMP[op]} {ops[1]})"
    if op == "true_divide" and cdt in _FLOATS:
        return f"({ops[0]} / {ops[1]})"
    if op == "negative":
        return f"(-{ops[0]})"
    if op == "square":
        return f"({ops[0]} * {ops[0]})"
    if op == "abs":
        return f"fabs{f}({ops[0]})" if cdt in _FLOATS else f"({ops[0]} < 0 ? -{ops[0]} : {ops[0]})"
    if op == "where":
        return f"({ops[0]} ? {ops[1]} : {ops[2]})"
    if op in _FLOAT_UNARY and cdt in _FLOATS:
        return _FLOAT_UNARY[op].format(a=ops[0], f=f)
    return None


def template(node, members, refs, closer):
    """The group's ``Template``, or None when the C tier does not take it."""
    root = members[-1]
    shape, in_avals = root.aval.shape, [i.aval for i in node.inputs]
    kinds = []
    for a in in_avals:
        if a.dtype.name not in _CTYPE:
            return None
        if a.shape == ():
            kinds.append("scalar")
        elif a.shape == shape and a.split == root.aval.split and a.counts == root.aval.counts:
            kinds.append("full")
        else:
            return None
    fs, is_, decls, body, exact = [], [], [], [], True
    for j, (m, r) in enumerate(zip(members, refs)):
        cdt = m.attr("cdtype")
        cdt = getattr(cdt, "name", None)
        if cdt not in _CTYPE or cdt == "bool" or m.aval.dtype.name not in (cdt, "bool"):
            return None
        types = [members[i].aval.dtype.name if i >= 0 else in_avals[-1 - i].dtype.name
                 for i in r]
        want = ["bool"] + [cdt] * (len(types) - 1) if m.op == "where" else [cdt] * len(types)
        if types != want:
            return None
        arrays = iter(f"v{i}" if i >= 0 else f"x{-1 - i}" for i in r)
        scalars = dict(m.attr("scalars", ()))
        ops = [None if p in scalars else next(arrays)
               for p in range(m.attr("nargs", len(r)))]
        expr = _member_expr(m, ops, cdt, fs, is_, decls)
        if expr is None:
            return None
        exact = exact and m.op not in _INEXACT
        body.append(f"const {_CTYPE[m.aval.dtype.name]} v{j} = {expr};")
    rdt = root.aval.dtype.name
    fn = None
    if closer is not None:
        fn = closer.attr("fn")
        # a reduction of the group's root by ``fn`` (a complete or a per-rank partial one)
        if opdef(closer.op).group is not Group.REDUCTION or fn not in _CLOSERS or \
                tuple(sorted(closer.attr("axes"))) != tuple(range(len(shape))) or \
                closer.aval.dtype.name != rdt or rdt == "bool" or \
                (fn == "mean" and rdt not in _FLOATS):
            return None
        exact = exact and fn in ("min", "max")
    source = _source(kinds, [a.dtype.name for a in in_avals], decls, body,
                     len(members) - 1, rdt, fn)
    return Template(source, tuple(kinds), fs, is_, fn, rdt, exact,
                    fn == "mean" and closer.op == "reduce")


def _source(kinds, dtypes, decls, body, last, rdt, fn):
    t = _CTYPE[rdt]
    lines = [_PRELUDE, "void lh_fused(int64_t n, void *const *in, const double *fs, "
             "const int64_t *is_, void *outp, void *resp) {"]
    lines += ["  " + d for d in decls]
    for k, (kind, dt) in enumerate(zip(kinds, dtypes)):
        ct = _CTYPE[dt]
        if kind == "scalar":
            lines.append(f"  const {ct} x{k} = *(const {ct} *)in[{k}];")
        else:
            lines.append(f"  const {ct} *restrict p{k} = (const {ct} *)in[{k}];")
    loads = [f"const {_CTYPE[dt]} x{k} = p{k}[i];"
             for k, (kind, dt) in enumerate(zip(kinds, dtypes)) if kind == "full"]
    inner = " ".join(loads + body)
    if fn is None:
        lines += [f"  {t} *restrict out = ({t} *)outp;", "  #pragma omp simd",
                  "  for (int64_t i = 0; i < n; i++) {", f"    {inner}",
                  f"    out[i] = v{last};", "  }", "}"]
        return "\n".join(lines) + "\n"
    # closed: each block's values go to an L1 buffer, then into 16 lane accumulators (in
    # index order: the result does not depend on anything but n)
    floating = rdt in _FLOATS
    acc = "double" if floating else "int64_t"
    lines += [f"  {t} buf[BLOCK]; {t} lane[16]; {acc} total = 0; int nan = 0, first = 1;",
              "  for (int64_t b = 0; b < n; b += BLOCK) {",
              "    const int64_t m = n - b < BLOCK ? n - b : BLOCK;",
              "    #pragma omp simd",
              "    for (int64_t j = 0; j < m; j++) {", "      const int64_t i = b + j;",
              f"      {inner}", f"      buf[j] = v{last};", "    }"]
    if fn in ("sum", "mean"):
        lines += ["    for (int k = 0; k < 16; k++) lane[k] = 0;",
                  "    int64_t j = 0;",
                  "    for (; j + 16 <= m; j += 16)",
                  "      for (int k = 0; k < 16; k++) lane[k] += buf[j + k];",
                  "    for (int k = 0; j < m; j++, k++) lane[k] += buf[j];",
                  "    for (int w = 8; w; w >>= 1)",
                  "      for (int k = 0; k < w; k++) lane[k] += lane[k + w];",
                  f"    total += ({acc})lane[0];", "  }",
                  f"  *({acc} *)resp = total; (void)nan; (void)first;", "}"]
    else:
        op = ">" if fn == "max" else "<"
        nan_check = "nan |= buf[j + k] != buf[j + k]; " if floating else ""
        tail_nan = "nan |= buf[j] != buf[j]; " if floating else ""
        lines += ["    if (first) { for (int k = 0; k < 16; k++) lane[k] = buf[0]; first = 0; }",
                  "    int64_t j = 0;",
                  "    for (; j + 16 <= m; j += 16)",
                  "      for (int k = 0; k < 16; k++) {",
                  f"        {nan_check}lane[k] = buf[j + k] {op} lane[k] ? buf[j + k] : "
                  "lane[k]; }",
                  f"    for (; j < m; j++) {{ {tail_nan}"
                  f"lane[0] = buf[j] {op} lane[0] ? buf[j] : lane[0]; }}",
                  "  }",
                  f"  for (int k = 1; k < 16; k++) lane[0] = lane[k] {op} lane[0] ? lane[k] : "
                  "lane[0];",
                  f"  total = ({acc})lane[0];",
                  "  if (nan) total = NAN;" if floating else "  (void)nan;",
                  f"  *({acc} *)resp = total;", "}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- compiling and the cache
_POOL: ThreadPoolExecutor | None = None
_LOCK = threading.Lock()
_LIBS: dict = {}      # key -> ctypes function | None (failed)
_PENDING: dict = {}   # key -> Future
_warned = False
STATS = {"runs": 0}  # groups run by the C tier in this process (tests and benchmarks read it)


def drain() -> None:
    """Wait for every compilation in flight (tests and benchmarks: a known tier)."""
    with _LOCK:
        futs = list(_PENDING.values())
    for f in futs:
        try:
            f.result()
        except Exception:  # reported by ``kernel`` at the group's next run
            pass


_KEYS: dict = {}  # (source, compiler) -> cache key: a new plan's groups often share a source
_COMPILERS: dict = {}  # (CC, PATH) -> the compiler's path or None (no search per new group)


def _key(source: str, cc: str) -> str:
    key = _KEYS.get((source, cc))
    if key is None:
        text = "\0".join([source, cc, " ".join(FLAGS + LIBS), native.cpu_model()])
        key = hashlib.sha256(text.encode()).hexdigest()[:24]
        if len(_KEYS) >= 4096:
            _KEYS.clear()
        _KEYS[source, cc] = key
    return key


def _compiler():
    cc = (env.get("CC", "cc"), env.get("PATH"))
    if cc not in _COMPILERS:
        _COMPILERS[cc] = shutil.which(cc[0])
    return _COMPILERS[cc]


def _folder() -> Path:
    return native.usable_folder(cache_dir(), "jit")


def _load(lib: Path):
    fn = ctypes.CDLL(str(lib)).lh_fused
    fn.restype = None
    fn.argtypes = [ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                   ctypes.c_void_p, ctypes.c_void_p]
    try:
        os.utime(lib)  # marks the use for the eviction of the least recently used
    except OSError:
        pass
    return fn


def _build(source: str, key: str, cc: str):
    """Compile ``source`` into the cache (one process per key: ``native.build_once``) and
    load it; raises with the compiler's complaint if it fails."""
    folder = _folder()
    lib = folder / f"{key}.so"
    if not lib.exists():
        src = folder / f"{key}.{os.getpid()}.c"
        src.write_text(source)
        try:
            why = native.build_once(cc, src, lib, FLAGS, LIBS)
        finally:
            src.unlink(missing_ok=True)
        if why is not None:
            raise RuntimeError(why)
        _evict(folder, cache_limit_bytes())
    return _load(lib)


def _evict(folder: Path, limit: int) -> None:
    """Delete the least recently used libraries while the cache holds more than ``limit``."""
    libs = []
    for p in folder.glob("*.so"):
        try:
            st = p.stat()
            libs.append((st.st_mtime, st.st_size, p))
        except OSError:
            pass
    total = sum(s for _, s, _ in libs)
    for _, size, p in sorted(libs, key=lambda e: (e[0], e[2].name)):
        if total <= limit:
            break
        try:
            p.unlink()
            (folder / (p.stem + ".lock")).unlink(missing_ok=True)
            total -= size
        except OSError:
            pass


def _warn(rank, why):
    global _warned
    if not _warned and rank == 0:
        _warned = True
        warnings.warn(f"lazyheat: the C tier for fused groups is off ({why}); they run on "
                      "the default tier", RuntimeWarning, stacklevel=3)


def kernel(source: str, rank: int = 0, wait: bool = False):
    """The loaded kernel of ``source``: at once if it is loaded or in the disk cache, else
    None while the background thread compiles it (``wait``: compile now). Failed compiles
    give None for good (rank 0 warns once)."""
    global _POOL
    cc = _compiler()
    if cc is None:
        _warn(rank, "no C compiler")
        return None
    key = _key(source, cc)
    with _LOCK:
        if key in _LIBS:
            return _LIBS[key]
        fut = _PENDING.get(key)
    if fut is None:
        lib = _folder() / f"{key}.so"
        if lib.exists():  # an earlier process compiled it
            try:
                fn = _load(lib)
                with _LOCK:
                    _LIBS[key] = fn
                return fn
            except OSError:
                pass
        with _LOCK:
            if _POOL is None:
                _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lazyheat-cjit")
            fut = _PENDING.get(key)
            if fut is None:
                fut = _PENDING[key] = _POOL.submit(_build, source, key, cc)
    if not (wait or fut.done()):
        return None
    try:
        fn = fut.result()
    except Exception as exc:  # the compiler's error: the default tier stays
        fn = None
        _warn(rank, f"compiling failed: {type(exc).__name__}: {str(exc)[:200]}")
    with _LOCK:
        _LIBS[key] = fn
        _PENDING.pop(key, None)
    return fn


# ---------------------------------------------------------------- running groups
_TEMPLATES: dict = {}  # group signature (``fused.signature``) -> Template | None (not taken)
_TEMPLATES_MAX = 4096  # a bounded cache: cleared whole when full


def _template(node, members, refs, closer, key):
    """``template`` of the group, shared by the groups of one structure (``key``: source,
    scalar values and kinds do not depend on sizes)."""
    try:
        t = _TEMPLATES.get(key, _TEMPLATES)
    except TypeError:  # an unhashable attribute
        return template(node, members, refs, closer)
    if t is _TEMPLATES:
        if len(_TEMPLATES) >= _TEMPLATES_MAX:
            _TEMPLATES.clear()
        t = _TEMPLATES[key] = template(node, members, refs, closer)
    return t


def runner(node, members, refs, closer, ctx, key, shape):
    """The ``Runner`` of fused group ``node`` on this rank (``shape``: its local shape), or
    None when the C tier does not take it (``key``: the group's structure, see
    ``fused.signature``)."""
    if ctx.device.type != "cpu":
        return None
    t = _template(node, members, refs, closer, key)
    if t is None:
        return None
    n = 1
    for s in shape:
        n *= s
    if n == 0:
        return None  # empty blocks: the default tier's edge cases (identities, errors)
    # a replicated inexact group would give ranks different bits if they switched at
    # different runs: it waits for the ranks' agreement
    agreed = None
    if not t.exact and members[-1].aval.split is None and ctx.comm.size > 1:
        rank = ctx.rank
        agreed = agreement.of(ctx.comm, lambda source: status(source, rank))
    return Runner(t, closer is not None and bool(closer.attr("keepdims")), shape, n,
                  ctx.rank, agreed)


def status(source: str, rank: int = 0):
    """This process's state of ``source``'s kernel: True (loaded), False (it cannot be
    had: no compiler, the compile failed) or None (compiling); the first call starts
    compiling it in the background."""
    if kernel(source, rank) is not None:
        return True
    cc = _compiler()
    return False if cc is None or _key(source, cc) in _LIBS else None


class Runner:
    """One group's C kernel call on one rank: what a call needs beyond its tensors and
    its structure's ``Template``, made once per group (a cached plan's runs pay the
    argument checks and the call only)."""

    __slots__ = ("t", "fn", "shape", "n", "rank", "keep", "agreed")

    def __init__(self, t, keep, shape, n, rank, agreed=None):
        self.t, self.fn, self.shape, self.n, self.rank, self.keep = t, None, shape, n, rank, keep
        # the communicator's ``agreement.Agreement`` where the group must wait for the
        # ranks to agree its kernel is ready (replicated inexact groups), else None
        self.agreed = agreed

    def run(self, args, out_buffer):
        """The group's value, or None when the default tier runs it (the tier off, the
        kernel still compiling, this run's tensors not contiguous). ``out_buffer(shape)``
        gives the output of a group without a closer (a donated input's buffer or a fresh
        one)."""
        if not enabled():
            return None
        fn = self.fn
        if fn is None:  # loaded once per group: later runs skip the compiler and the caches
            agreed = self.agreed
            if agreed is not None and self.t.source not in agreed.agreed:
                agreed.ask(self.t.source)
                return None
            fn = self.fn = kernel(self.t.source, self.rank)
            if fn is None:
                return None
        t, shape = self.t, self.shape
        ptrs = t.ptrs()
        if len(args) != len(t.full):
            return None
        for k, (a, full) in enumerate(zip(args, t.full)):
            if not torch.is_tensor(a) or not a.is_cpu or not a.is_contiguous() or \
                    ((a.shape != shape) if full else (a.numel() != 1)):
                return None
            ptrs[k] = a.data_ptr()
        STATS["runs"] += 1
        if t.closer_fn is None:
            out = out_buffer(shape)
            fn(self.n, ptrs, t.fs, t.is_, out.data_ptr(), None)
            return out
        value = torch.empty_like(t.acc)
        fn(self.n, ptrs, t.fs, t.is_, None, value.data_ptr())
        if t.dtype is not value.dtype:  # narrowed as torch narrows: inf beyond float32's
            value = value.to(t.dtype)  # range, int32 wrapping
        if t.mean:
            value = (value / self.n).to(t.dtype)
        if self.keep:
            value = value.reshape((1,) * len(shape))
        return value
