"""The memory guard: a plan that would not fit is refused before anything runs.

Before a plan runs, ``check_plan`` compares its estimated peak memory per rank (the cost
model's ``memory_peak``: the busiest rank, values freed after their last use as the executor
frees them, collectives with their send and receive buffers) with the memory a rank may use,
and raises ``MemoryError`` when the estimate is larger. The error names the estimate, the
limit, how to change it, and the largest values live at the peak with their types and the
user's source lines, so an out-of-memory crash halfway through a job becomes an error at the
line that asked for too much.

What is compared: the bytes the plan allocates beyond the user's data it reads. Arrays the
user already holds (materialized inputs) are in memory before the plan runs, so they are no
part of what must still fit; lazily created inputs (``zeros``, ``random``, ...) are made by
the plan and count.

The limit, per rank:

- ``LAZYHEAT_MEMORY_LIMIT``: bytes, or a number with a unit: ``"8GiB"``, ``"500MB"``,
  ``"1.5G"`` (KB, MB, GB, TB are powers of 1000; K, M, G, T and KiB, MiB, GiB, TiB are
  powers of 1024). ``"0"`` or ``"off"`` turns the guard off.
- otherwise the memory available on this node divided by the ranks sharing it: the least of
  MemAvailable (``/proc/meminfo``) and what the process's cgroup (v2 or v1) leaves, or the
  free memory of the GPU for a CUDA device, divided by the ranks sharing that GPU. It is
  read once per process, communicator and device (at the first plan run), so later plans
  compare with the same number instead of one that moves with the page cache.

Same decision on every rank: the estimate is global metadata (the largest over ranks of
what each rank needs), so ranks that share the limit decide alike and either all raise or all
run, with no communication. An environment limit is the same on every rank. The default is
read from each node's memory, and nodes may differ: ``AGREE``, when set (the runtime's sync
module may install an all-reduce there), turns the local default into one value all ranks of
the communicator share (``AGREE(comm, local_limit) -> the smallest over ranks``); it is
called once per communicator and device, on the first plan run, which every rank reaches
alike. Without it, ranks on nodes with different free memory may disagree near the limit:
set ``LAZYHEAT_MEMORY_LIMIT`` for a limit that is the same everywhere.

The estimate is cached per plan, so a cached plan pays one dictionary lookup and one
comparison per run. A new plan whose every value, at its whole size and all held at once,
fits the limit even so (``cost.added_bound``: one walk of its graph) is passed without the
step-by-step estimate; any other plan gets the estimate, and its errors.
"""

from __future__ import annotations

import math
import os
import re
import weakref

from ..graph import topo_order
from ..graph.cost import added_bound, memory_peak, rank_bytes
from ..graph.ops import USER_DATA
from . import env
from .comm import FakeComm, _ranks_on_node

ENV = "LAZYHEAT_MEMORY_LIMIT"
OFF = frozenset({"0", "off", "none", "no", "false", "disable", "disabled"})

# Optional ``AGREE(comm, local_limit) -> limit shared by all ranks`` (see the module doc).
AGREE = None

_UNITS = {"": 1, "b": 1,
          "k": 1 << 10, "kib": 1 << 10, "kb": 10 ** 3,
          "m": 1 << 20, "mib": 1 << 20, "mb": 10 ** 6,
          "g": 1 << 30, "gib": 1 << 30, "gb": 10 ** 9,
          "t": 1 << 40, "tib": 1 << 40, "tb": 10 ** 12}
_NUMBER = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-z]*)\s*$")


def parse_limit(text: str) -> int | None:
    """Bytes from ``"8GiB"``, ``"500MB"``, ``"1.5G"`` or ``"123"``; None for ``"0"`` or
    ``"off"`` (no limit).

    >>> from lazyheat.runtime.memguard import parse_limit
    >>> parse_limit("8GiB"), parse_limit("500MB"), parse_limit("off")
    (8589934592, 500000000, None)
    """
    value = str(text).strip().lower()
    if value in OFF:
        return None
    m = _NUMBER.match(value)
    if m is None or m.group(2) not in _UNITS:
        raise ValueError(f"{ENV}={text!r}: expected bytes or a number with a unit "
                         "(e.g. 8GiB, 500MB), or 'off'")
    n = int(float(m.group(1)) * _UNITS[m.group(2)])
    return n if n > 0 else None


# ---------------------------------------------------------------- memory on this node
def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _meminfo_available() -> int | None:
    text = _read("/proc/meminfo")
    for line in (text or "").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def _cgroup_available() -> int | None:
    """What this process's cgroup still allows: its limit minus its usage, not counting
    inactive file cache (which the kernel reclaims first). v2, then v1; None unlimited."""
    groups = (_read("/proc/self/cgroup") or "").splitlines()
    for line in groups:  # v2: "0::/path"
        if line.startswith("0::"):
            path = line[3:].strip()
            for base in (f"/sys/fs/cgroup{path}", "/sys/fs/cgroup"):
                got = _cgroup_left(f"{base}/memory.max", f"{base}/memory.current",
                                   f"{base}/memory.stat", "inactive_file")
                if got is not None:
                    return got
    for line in groups:  # v1: "N:memory:/path"
        parts = line.split(":", 2)
        if len(parts) == 3 and "memory" in parts[1].split(","):
            for base in (f"/sys/fs/cgroup/memory{parts[2].strip()}", "/sys/fs/cgroup/memory"):
                got = _cgroup_left(f"{base}/memory.limit_in_bytes",
                                   f"{base}/memory.usage_in_bytes", f"{base}/memory.stat",
                                   "total_inactive_file")
                if got is not None:
                    return got
    return None


def _cgroup_left(limit_path, usage_path, stat_path, inactive_key) -> int | None:
    limit = (_read(limit_path) or "").strip()
    if not limit.isdigit() or int(limit) >= 1 << 60:  # "max", or v1's "unlimited"
        return None
    usage = int((_read(usage_path) or "0").strip() or 0)
    for line in (_read(stat_path) or "").splitlines():
        key, _, value = line.partition(" ")
        if key == inactive_key and value.strip().isdigit():
            usage -= int(value)
            break
    return max(0, int(limit) - max(0, usage))


def _sysconf_available() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def node_available(device) -> tuple[int | None, str]:
    """(bytes free for this node's ranks on ``device``, what they were read from)."""
    device = str(device)
    if device.startswith("cuda"):
        import torch

        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free), f"free memory of {device}"
    found = [(b, src) for b, src in ((_meminfo_available(), "MemAvailable"),
                                     (_cgroup_available(), "the cgroup's memory limit"))
             if b is not None]
    if not found:
        b = _sysconf_available()
        return (b, "available physical pages") if b is not None else (None, "unknown")
    return min(found)


def default_limit(device) -> tuple[int | None, str]:
    """(bytes a rank may use on ``device`` by default, how that was found): the node's free
    memory shared by the ranks on the node (on a GPU: the ranks sharing that GPU)."""
    free, src = node_available(device)
    if free is None:
        return None, "no memory information on this node"
    ranks = _ranks_on_node()
    if str(device).startswith("cuda"):
        import torch

        ranks = math.ceil(ranks / max(1, torch.cuda.device_count()))
    return free // max(1, ranks), f"{src} ({_fmt(free)}) shared by {ranks} rank(s)"


_DEFAULTS: dict = {}  # (comm, device) -> (limit, source): read once, see the module doc
_PARSED: dict = {}  # LAZYHEAT_MEMORY_LIMIT text -> bytes or None


def limit(comm, device) -> tuple[int | None, str]:
    """(bytes a rank of ``comm`` may use on ``device``, or None for no limit; its source)."""
    text = env.get(ENV)
    if text is not None and text.strip():
        if text not in _PARSED:
            _PARSED[text] = parse_limit(text)
        return _PARSED[text], f"{ENV}={text.strip()}"
    key = (comm, device)
    got = _DEFAULTS.get(key)
    if got is None:
        value, src = default_limit(device)
        if AGREE is not None and comm.size > 1:
            shared = AGREE(comm, -1 if value is None else value)
            value = None if shared is None or shared < 0 else int(shared)
            src += ", the least over ranks"
        got = _DEFAULTS[key] = (value, f"the default: {src}")
    return got


# ---------------------------------------------------------------- the check
# physical outputs -> (their ids, (bytes the plan adds on its busiest rank, that rank), exact).
# Plans are cached with their output lists, so a cached plan finds its estimate here. Keyed
# weakly by the first output and checked against every output's id; the value holds no node
# (it would keep its key alive), so a plan that is gone takes its entry with it. Not exact:
# an upper bound (``cost.added_bound``) that was enough to pass the plan, with rank 0.
_PEAKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _estimate(outs, limit_bytes=None) -> tuple:
    """(bytes the plan ``outs`` adds beyond the user's data it reads, on the rank that adds
    the most; that rank), cached per plan. With ``limit_bytes``, an upper bound may stand
    for it where the bound is within the limit: a new small plan is passed after one walk
    of its graph instead of the step-by-step estimate (the bound is global metadata, like
    the estimate, and the estimate is never larger: every rank decides as it would have)."""
    hit = _PEAKS.get(outs[0])
    if hit is not None and len(hit[0]) == len(outs) and all(map(
            lambda i, o: i == id(o), hit[0], outs)):
        if hit[2] or (limit_bytes is not None and hit[1][0] <= limit_bytes):
            return hit[1]
    elif limit_bytes is not None:
        bound = added_bound(outs, limit_bytes)
        if bound <= limit_bytes:
            _PEAKS[outs[0]] = (tuple(map(id, outs)), (bound, 0), False)
            return bound, 0
    got = memory_peak(topo_order(outs), list(outs)).added()
    _PEAKS[outs[0]] = (tuple(map(id, outs)), got, True)
    return got


def check(outs, comm, limit_bytes, source="the limit given", added=None) -> None:
    """Raise ``MemoryError`` when the plan ``outs`` needs more than ``limit_bytes`` on some
    rank, beyond the user's data it reads (None: no limit). ``added``: (bytes, rank) the
    plan adds as it will run, when its steps are not the plain order (an overlapped
    schedule's estimate, ``passes.schedule.added``); default the plain order's. Pure: it
    reads global metadata and its arguments only, so every rank given the same limit
    decides alike."""
    if limit_bytes is None or not outs:
        return
    need, rank = _estimate(outs, limit_bytes) if added is None else added
    if need > limit_bytes:
        peak = memory_peak(topo_order(outs), list(outs), rank)  # the details, for the text
        text = message(peak, need, limit_bytes, source, comm.size)
        plain = _estimate(outs)[0]
        if added is not None and plain <= limit_bytes:
            text += ("\nIts collectives overlap kernels, which holds their buffers longer; "
                     f"without overlap it needs {_exact(plain)}: LAZYHEAT_OVERLAP=0 runs it.")
        raise MemoryError(text)


def check_plan(outs, comm, device, added=None, passed=None):
    """The guard before a plan runs (the planner calls it): ``check`` with this rank's
    limit for ``device`` (``limit``). Plans on a planning-only communicator never run, so
    they are not checked here. Returns what the plan passed with; ``passed``, what an
    earlier call for the same plan returned (a plan does not change: the same limit
    passes it again, unchecked)."""
    if isinstance(comm, FakeComm):
        return None
    lim, source = limit(comm, device)
    verdict = (lim, added)
    if passed != verdict:
        check(outs, comm, lim, source, added)
    return verdict


def _fmt(b) -> str:
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(b) >= size:
            return f"{b / size:.1f} {unit}"
    return f"{b} B"


def _exact(b) -> str:
    short = _fmt(b)
    return short if short.endswith(" B") else f"{short} ({b} B)"


def message(peak, need, limit_bytes, source, ranks) -> str:
    """The error text: estimate, limit and its source, the largest values at the peak."""
    where = "before any step" if peak.step < 0 else \
        f"while {peak.order[peak.step].op} runs"
    inputs = peak.resident[peak.rank]
    lines = [f"lazyheat: this computation needs an estimated {_exact(need)} on rank "
             f"{peak.rank} of {ranks} at its peak ({where}), more than the "
             f"{_exact(limit_bytes)} a rank may use ({source}); nothing has run."]
    if inputs:
        lines[0] += (f" (The peak is {_fmt(peak.bytes)} with the {_fmt(inputs)} of arrays "
                     "it reads that are in memory already.)")
    lines.append(f"Largest values live on rank {peak.rank} at the peak:")
    for node, nbytes, running in peak.live():
        what = node.op
        if node.op in USER_DATA:
            what = "an input array (in memory already)"
        elif running and nbytes > rank_bytes(node.aval)[peak.rank]:
            what += " (running, with its send and receive buffers)"
        at = f"  at {node.loc}" if node.loc else ""
        lines.append(f"  {_fmt(nbytes):>10}  {node.aval.type_str()}  {what}{at}")
    lines.append(f"Set {ENV} to change the limit (bytes or e.g. 64GiB, 500MB; 'off' turns "
                 "the check off), or use more ranks or smaller pieces of work.")
    return "\n".join(lines)


__all__ = ["AGREE", "ENV", "check", "check_plan", "default_limit", "limit", "message",
           "node_available", "parse_limit"]
