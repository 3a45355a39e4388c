"""The opt-in ``torch.compile`` tier for fused groups of plans that repeat.

``LAZYHEAT_FUSED_TIER=compile`` hands a fused group (its elementwise members and closing
reduction, never a collective: groups hold none) to ``torch.compile`` the second time the same
cached plan runs it, so one-off plans never pay for compilation. Inductor then emits one loop
nest per group (C++ with vectorized math on CPU, Triton on GPU) that reads each input once and
keeps every intermediate in registers. The first run of a group, and every group the tier does
not take, runs on the default tier of ``fused.py``.

Invariants and reasons:
- Collectives stay outside the compiled region: the fused node is a purely local step, and
  every rank runs the same steps whatever a compilation on another rank did.
- Each group compiles its own function object with its own code object, because dynamo keys
  its cache by code object: a shared one would pile every group's guards on one entry and hit
  the recompilation limit.
- Each rank writes to its own inductor cache directory (``TORCHINDUCTOR_CACHE_DIR``, set here
  unless the user set it), so ranks on one node never race on the same cache files; the
  directory persists, so a later process reuses compiled kernels.
- If compilation fails (no C++ compiler, an unsupported op), rank 0 warns once and the group
  stays on the default tier; results never depend on the tier beyond floating-point rounding.
"""

from __future__ import annotations

import getpass
import os
import tempfile
import types
import warnings
import weakref
from types import SimpleNamespace

import torch

from ..graph.reduce import REDUCTIONS

REPEATS_BEFORE_COMPILE = 1  # runs on the default tier before a group is compiled

_FAILED = object()
# fused node -> {device: run count | compiled callable | _FAILED}
_STATE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_warned = False


def eligible(closer) -> bool:
    """Whether the compiled region takes a group with this closing reduction: none, or one
    whose partial state is a single tensor (``REDUCTIONS[fn].compiled``; no state tuples)."""
    return closer is None or REDUCTIONS[closer.attr("fn")].compiled


def _cache_dir(rank: int) -> None:
    if os.environ.get("TORCHINDUCTOR_CACHE_DIR"):
        return
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(
        tempfile.gettempdir(), f"torchinductor_{user}", f"lazyheat-rank{rank}")


def _group_function(program, run_members, closer, close, ctx, name):
    """A fresh function (own code object) evaluating the group on whole local blocks. A group
    without a closing reduction writes its value into ``out``, the buffer the default tier
    would use (a dead input's, or fresh huge pages): inductor then stores straight into it,
    where a result it allocated itself would take a page fault per 4 KiB (4e6 x 16 float32,
    one thread: 0.19 s into its own allocation, 0.054 s into fresh huge pages, 0.015 s in
    place over a dead input)."""
    if closer is None:
        def group(out, *args):
            return out.copy_(run_members(program, args))
    else:
        def group(*args):
            return close(closer, run_members(program, args), ctx)

    code = group.__code__.replace(co_name=name, co_qualname=name) \
        if hasattr(group.__code__, "co_qualname") else group.__code__.replace(co_name=name)
    return types.FunctionType(code, group.__globals__, name, group.__defaults__,
                              group.__closure__)


def lookup(node, program, run_members, closer, close, ctx):
    """The compiled callable for ``node`` on this device, or None while the default tier runs
    it (first runs, ineligible groups, failed compilations). Counts runs as a side effect.
    ``run_members`` and ``close`` are the default tier's evaluation of the members and of the
    closing reduction (``fused.py``), traced whole by the compiler."""
    if not eligible(closer):
        return None
    per_dev = _STATE.get(node)
    if per_dev is None:
        per_dev = _STATE[node] = {}
    state = per_dev.get(ctx.device, 0)
    if state is _FAILED:
        return None
    if isinstance(state, int):
        if state < REPEATS_BEFORE_COMPILE:
            per_dev[ctx.device] = state + 1
            return None
        _cache_dir(ctx.rank)
        name = f"lazyheat_fused_{len(program)}ops_{id(node):x}"
        local_ctx = SimpleNamespace(device=ctx.device, rank=ctx.rank)
        fn = _group_function(program, run_members, closer, close, local_ctx, name)
        state = per_dev[ctx.device] = torch.compile(fn, dynamic=False)
    return state


def run(node, compiled, args, ctx, out=None):
    """Run ``compiled`` (into ``out`` for groups without a closer); None when it fails, and
    the group then stays on the default tier for good (rank 0 warns once). A genuine error of
    the program (bad values, out of memory) is raised again by the default tier, with the
    executor's usual message."""
    global _warned
    try:
        return compiled(*args) if out is None else compiled(out, *args)
    except Exception as exc:  # inductor and dynamo raise many types; the default tier decides
        _STATE[node][ctx.device] = _FAILED
        if not _warned and ctx.rank == 0:
            _warned = True
            first = str(exc).splitlines()[0] if str(exc) else ""
            warnings.warn(f"lazyheat: torch.compile tier failed ({type(exc).__name__}: "
                          f"{first[:200]}); this group runs on the default tier",
                          RuntimeWarning, stacklevel=2)
        return None
