"""A time model for plans: seconds per step on a given network and machine, from avals.

Every rank runs the steps of a plan one after another (``runtime/executor.py``), so a plan
takes the sum of its steps on the busiest rank, plus a fixed cost per plan (planning from
the cache, the rank handshake before a communicating plan) and per step (the executor's
Python loop and a kernel launch):

- a kernel: ``step_s`` + for each ``(class, amount)`` of ``work.work(node)``, amount /
  throughput[class] (bytes, flops or comparisons per second; ``work.CLASSES``);
- a collective: ``step_s`` + ``comm_call_s`` (lazyheat's and mpi4py's software cost of one
  call) + rounds * alpha + bytes / bandwidth + combine_bytes / throughput["reduce"], with
  rounds and bytes from ``commcost.comm_cost`` (the algorithm MPI runs), + its block
  copied into send buffers and its result out of receive buffers (the busiest rank's input
  and output bytes at throughput["copy"]);
- nodes that take parts of one computation (Q and R of one QR) count its work once;
- a step whose result is larger than ``MMAP_BYTES`` also pays for fresh memory: the C
  allocator maps such buffers anew every time, and the kernel then faults every page in on
  first touch (``alloc``; ``alloc_huge`` where the runtime asks for transparent huge pages:
  fused groups, matrix products, fills and collectives, ``runtime/memory.py``);
- on a machine with fewer cores than ranks (``Network.cores``), ranks share cores: every
  time is scaled by (ranks + background) / cores, where ``background`` counts the busy
  processes besides the ranks that calibrate found (a shared machine), so that every rank
  gets an equal share of the cores.

The throughputs (``Kernels``) default to numbers measured on lazyheat's development machine
(one core of an AMD EPYC with 32 MiB of L3, one torch thread, blocks of 16-32 MiB) and are
overridden by the file that ``python -m lazyheat calibrate`` writes (``calibration_path()``).
One rate per class is a simplification: rates fall once a block leaves the caches (a
column sum runs at ~35 GB/s on 16 MiB and ~4 GB/s on 256 MiB here, a tall QR at ~20 and ~5
Gflop/s), so the model is best for blocks of about the size calibrate measures. Networks are presets
(``NETWORKS``: ``"heat"``, ``"100gbe"``, ``"shm"``), a ``Network`` or a dict of its fields.

>>> import lazyheat as lh
>>> from lazyheat.graph.timemodel import estimate
>>> x = lh.zeros((4096, 1024), split=0, comm=lh.FakeComm(8))
>>> t = estimate(lh.plan(x.resplit(1)).outputs, network="heat")
>>> t.steps[-1].comm.algorithm, t.steps[-1].comm.rounds
('pairwise exchange', 7)
>>> round(t.comm_s * 1e3, 2) > 0
True
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from .commcost import NO_COST, CommCost, allreduce_cost, comm_cost
from .ops import COLLECTIVES, Group, opdef
from .traverse import topo_order
from .work import CLASSES, local_bytes, moves_nothing, shared_key, work

CALIBRATION_SCHEMA = "lazyheat.calibration/1"
HANDSHAKE_BYTES = 64  # the words the rank handshake all-reduces before a communicating plan
# glibc's largest dynamic mmap threshold (64-bit): larger buffers are always fresh mappings
MMAP_BYTES = 32 << 20


@dataclass(frozen=True)
class Network:
    """How ranks reach each other: ``alpha_s`` seconds of latency per message round,
    ``bandwidth_Bps`` bytes per second one rank receives, and ``cores`` when every rank
    shares one machine of that many cores (shared memory; None: a core per rank), busy
    with ``background`` other processes besides the ranks."""

    name: str
    alpha_s: float
    bandwidth_Bps: float
    cores: int | None = None
    note: str = ""
    background: float = 0.0

    def oversubscription(self, ranks: int) -> float:
        """How much slower each rank runs for sharing the cores with the others."""
        if not self.cores:
            return 1.0
        return max(1.0, (ranks + self.background) / self.cores)

    def seconds(self, c: CommCost) -> float:
        """Wire time of a collective: rounds of latency plus bytes over the bandwidth."""
        return c.rounds * self.alpha_s + c.bytes / self.bandwidth_Bps


# Presets. "heat": the interconnect of the cluster the HeAT paper measured on (Götz et al.
# 2020, JSC's machines with InfiniBand EDR): 100 Gb/s links, ~1.5 us MPI latency (the
# documented EDR figures; about 12 GB/s reach an application). "100gbe": 100 Gb Ethernet
# with MPI over TCP: latency ~15 us, ~11 GB/s. "shm": MPI over shared memory on this
# machine, as calibrate measured it (the defaults below until then).
_PRESETS = {
    "heat": Network("heat", 1.5e-6, 12.0e9, note="InfiniBand EDR (HeAT paper's cluster)"),
    "edr": Network("edr", 1.5e-6, 12.0e9, note="InfiniBand EDR, 100 Gb/s"),
    "100gbe": Network("100gbe", 15e-6, 11.0e9, note="100 Gb Ethernet, MPI over TCP"),
}
# MPICH over shared memory on the development machine (2 cores), measured by calibrate
_SHM_DEFAULT = Network("shm", 3.0e-6, 6.0e9, cores=2,
                       note="MPI over shared memory, development machine (defaults)")


@dataclass(frozen=True)
class Kernels:
    """Throughputs per class of ``work.CLASSES`` (units per second) and fixed costs:
    ``plan_s`` per plan run (the plan from the cache, argument checks, results wrapped),
    ``step_s`` per step of the plan, ``comm_call_s`` per collective call beyond the wire
    time (buffers, mpi4py); ``alloc`` and ``alloc_huge``, bytes per second of fresh memory
    faulted in (4 KiB pages, transparent huge pages). ``source`` says where the numbers
    come from."""

    ewise: float = 3.5e10
    math: float = 8.5e9
    reduce: float = 7.0e10
    colreduce: float = 3.0e10
    moments: float = 4.5e9
    scan: float = 4.0e9
    copy: float = 2.0e10
    select: float = 8.5e8
    gather: float = 4.0e8
    random: float = 1.5e7
    sort: float = 1.0e9
    matmul: float = 6.5e10
    lapack: float = 2.5e10
    fft: float = 1.6e10
    io: float = 1.5e10
    alloc: float = 2.6e9
    alloc_huge: float = 1.8e10
    plan_s: float = 27e-6
    step_s: float = 29e-6
    comm_call_s: float = 130e-6
    source: str = field(default="defaults (development machine)", compare=False)

    def throughput(self, cls: str) -> float:
        return getattr(self, cls)

    def with_(self, **kw) -> Kernels:
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in kw.items() if k in known})


# ---------------------------------------------------------------- the calibration file
def calibration_path() -> Path:
    """``$LAZYHEAT_CALIBRATION``, else ``calibration.json`` in lazyheat's cache directory
    (``$LAZYHEAT_CACHE_DIR``, default ``~/.cache/lazyheat``)."""
    given = os.environ.get("LAZYHEAT_CALIBRATION", "").strip()
    if given:
        return Path(given).expanduser()
    base = os.environ.get("LAZYHEAT_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "lazyheat")
    return Path(base) / "calibration.json"


_LOADED: dict = {}


def load_calibration(path=None) -> dict | None:
    """The calibration document at ``path`` (default ``calibration_path()``), or None when
    there is none or it is not one (a file of another schema is ignored, not an error:
    the model then runs on its defaults). Read once per path and modification time."""
    p = Path(path) if path is not None else calibration_path()
    try:
        key = (str(p), p.stat().st_mtime_ns)
    except OSError:
        return None
    if key not in _LOADED:
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            doc = None
        _LOADED[key] = doc if isinstance(doc, dict) and \
            doc.get("schema") == CALIBRATION_SCHEMA else None
    return _LOADED[key]


def write_calibration(doc: dict, path=None) -> Path:
    """Write a calibration document (``kernels`` and, when measured, ``network``)."""
    p = Path(path) if path is not None else calibration_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    doc = {"schema": CALIBRATION_SCHEMA, **doc}
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(p)  # readers never see half a file
    return p


def kernel_table(path=None) -> Kernels:
    """The throughput table: the calibration file's numbers over the defaults."""
    doc = load_calibration(path)
    if doc is None or not isinstance(doc.get("kernels"), dict):
        return Kernels()
    src = f"calibrated ({doc.get('created', 'unknown date')})"
    return Kernels(source=src).with_(**{k: float(v) for k, v in doc["kernels"].items()
                                        if isinstance(v, (int, float))})


NETWORKS = tuple(_PRESETS) + ("shm",)


def network_of(spec, path=None) -> Network:
    """A ``Network`` from a preset name (``NETWORKS``), a ``Network``, or a dict of its
    fields (``{"alpha_s": 2e-6, "bandwidth_Bps": 10e9}``; name defaults to "custom")."""
    if isinstance(spec, Network):
        return spec
    if isinstance(spec, dict):
        known = {f.name for f in fields(Network)}
        bad = set(spec) - known
        if bad:
            raise ValueError(f"unknown Network fields {sorted(bad)}; known: {sorted(known)}")
        return Network(**{"name": "custom", **spec})
    if isinstance(spec, str):
        name = spec.lower()
        if name == "shm":
            doc = load_calibration(path)
            net = doc.get("network") if doc else None
            if isinstance(net, dict):
                return Network("shm", float(net["alpha_s"]), float(net["bandwidth_Bps"]),
                               net.get("cores"), "MPI over shared memory (calibrated)",
                               float(net.get("background", 0.0)))
            return _SHM_DEFAULT
        if name in _PRESETS:
            return _PRESETS[name]
        raise ValueError(f"unknown network {spec!r}; presets: {', '.join(NETWORKS)}, or "
                         "give a Network or a dict of alpha_s and bandwidth_Bps")
    raise TypeError(f"network must be a preset name, a Network or a dict, "
                    f"got {type(spec).__name__}")


# ---------------------------------------------------------------- estimates
@dataclass(frozen=True)
class StepTime:
    """One step's estimate: ``seconds``, ``kind`` ("compute", "comm" or "none" for the
    user's data and views), the ``work`` it does (``[(class, amount)]``) and, for a
    collective, its ``CommCost``."""

    node: object = field(repr=False, compare=False)
    seconds: float
    kind: str
    work: tuple = ()
    comm: CommCost | None = None

    def as_dict(self) -> dict:
        d = {"seconds": self.seconds, "kind": self.kind,
             "work": {cls: amount for cls, amount in self.work}}
        if self.comm is not None:
            d["algorithm"], d["rounds"] = self.comm.algorithm, self.comm.rounds
            d["bytes"], d["combine_bytes"] = self.comm.bytes, self.comm.combine_bytes
        return d


@dataclass(frozen=True)
class PlanTime:
    """The estimate of a plan on ``network``: its ``steps`` in execution order and the
    fixed ``overhead_s`` per run (planning from the cache, the rank handshake). Times are
    the busiest rank's; ``scale`` is the oversubscription factor already applied."""

    steps: tuple
    overhead_s: float
    network: Network
    kernels: Kernels = field(repr=False)
    world_size: int = 1
    scale: float = 1.0

    @property
    def compute_s(self) -> float:
        return sum(s.seconds for s in self.steps if s.kind != "comm")

    @property
    def comm_s(self) -> float:
        return sum(s.seconds for s in self.steps if s.kind == "comm")

    @property
    def total_s(self) -> float:
        return self.compute_s + self.comm_s + self.overhead_s

    def of(self, node) -> StepTime:
        """The estimate of ``node``'s step."""
        for s in self.steps:
            if s.node is node:
                return s
        raise KeyError(f"{node.op} is not a step of this plan")

    def as_dict(self) -> dict:
        return {"network": asdict(self.network), "world_size": self.world_size,
                "oversubscription": self.scale, "kernels": self.kernels.source,
                "compute_s": self.compute_s, "comm_s": self.comm_s,
                "overhead_s": self.overhead_s, "total_s": self.total_s}


def comm_seconds(c: CommCost, net: Network, k: Kernels) -> float:
    """A collective's time beyond its executor step: the software cost of the call, the
    wire time, and the partial values it combines on the way."""
    if c is NO_COST or (c.rounds == 0 and c.bytes == 0):
        return 0.0
    return k.comm_call_s + net.seconds(c) + c.combine_bytes / k.reduce


def _fresh_memory(node, k: Kernels) -> float:
    """Seconds to fault in a result too large for the allocator to reuse (``MMAP_BYTES``):
    huge pages for the buffers the runtime allocates itself (fused groups, matrix products,
    fills, collectives), 4 KiB pages for torch's own."""
    nbytes = local_bytes(node.aval)
    if nbytes < MMAP_BYTES or moves_nothing(node):
        return 0.0
    d = opdef(node.op)
    huge = node.op in ("fused", "matmul") or d.group in (Group.LEAF, Group.COLLECTIVE)
    return nbytes / (k.alloc_huge if huge else k.alloc)


def _packing(node, c: CommCost, k: Kernels) -> float:
    """Seconds a collective spends copying its block into send buffers and its result out
    of receive buffers (``runtime/comm.py``): its input and output bytes, once each."""
    if c.rounds == 0 and c.bytes == 0:
        return 0.0
    nbytes = sum(local_bytes(i.aval) for i in node.inputs) + local_bytes(node.aval)
    return nbytes / k.copy


def step_time(node, net: Network, k: Kernels, scale: float = 1.0,
              shared: set | None = None) -> StepTime:
    """The estimate of one step of a physical plan (see the module docstring).
    ``shared`` collects the computations already counted (``work.shared_key``)."""
    d = opdef(node.op)
    if d.user_data or d.view:
        return StepTime(node, 0.0, "none")
    fresh = _fresh_memory(node, k)
    if node.op in COLLECTIVES:
        c = comm_cost(node)
        w = tuple(work(node))  # the local work some collectives do (a sample sort's sort)
        secs = k.step_s + comm_seconds(c, net, k) + _packing(node, c, k) + fresh + \
            sum(amount / k.throughput(cls) for cls, amount in w)
        return StepTime(node, scale * secs, "comm", w, c)
    key = shared_key(node)
    if key is not None and shared is not None:
        if key in shared:  # another part of a computation already counted
            return StepTime(node, scale * k.step_s, "compute")
        shared.add(key)
    w = tuple(work(node))
    secs = k.step_s + sum(amount / k.throughput(cls) for cls, amount in w) + fresh
    return StepTime(node, scale * secs, "compute", w)


def estimate(nodes, network="shm", kernels=None, cores=None) -> PlanTime:
    """Seconds a physical plan takes: ``nodes`` are its outputs (or its whole order),
    ``network`` a preset name, ``Network`` or dict, ``kernels`` a ``Kernels`` table
    (default: ``kernel_table()``, the calibration file over the defaults). ``cores`` overrides
    the network's: ranks beyond the cores share them (``Network.oversubscription``)."""
    net = network_of(network)
    if cores is not None:
        net = replace(net, cores=cores)
    k = kernels if kernels is not None else kernel_table()
    order = topo_order(list(nodes))
    p = order[0].aval.comm.size if order else 1
    scale = net.oversubscription(p)
    shared: set = set()
    steps = tuple(step_time(n, net, k, scale, shared) for n in order)
    overhead = k.plan_s
    if p > 1 and any(s.kind == "comm" for s in steps):
        # every rank checks that all run the same plan: one small all-reduce
        overhead += comm_seconds(allreduce_cost(HANDSHAKE_BYTES, p), net, k)
    return PlanTime(steps, scale * overhead, net, k, p, scale)


__all__ = ["CALIBRATION_SCHEMA", "CLASSES", "Kernels", "NETWORKS", "Network", "PlanTime",
           "StepTime", "calibration_path", "comm_seconds", "estimate", "kernel_table",
           "load_calibration", "network_of", "step_time", "write_calibration"]
