"""``python -m lazyheat calibrate``: measure this machine for the time model.

Writes the file ``graph/timemodel.py`` reads (``timemodel.calibration_path()``): the
throughput of each class of kernel (``graph/work.py``), the fixed costs per plan, per step
and per collective call, and, when run under ``mpiexec`` with several ranks, the latency
and bandwidth of the MPI transport (``network``, the "shm" preset when the ranks share a
machine).

Kernels are measured the way the runtime runs them: lazyheat plans on one torch thread, on
``lh.self_comm()`` so that nothing communicates, and each throughput is the class's amount
in the plan (``work.work``, the very function the model uses) over the plan's time less
its fixed costs, so the model reproduces these plans by construction. Rank 0 measures alone
while the others sleep, and keeps the fastest of several runs: on a machine that other
programs share, noise only ever adds time, and ranks measuring at once would mostly measure
each other (the model has no term for ranks contending for memory bandwidth). The transport
is fitted from ping-pong times (t = alpha + bytes / bandwidth, least squares), the cost of
a collective call from a small all-reduce plan (the rank handshake before it counts as a
call too), and the busy processes of other programs from a kernel run on rank 0 alone and
on every core's rank at once (``Network.background``). Rank 0 writes
the file and prints a summary.

Run it as ``python -m lazyheat calibrate [--quick] [--out PATH]``, or from Python:

>>> from lazyheat.calibrate import calibrate
>>> doc = calibrate("/tmp/calibration.json", quick=True)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np
import torch

import lazyheat as lh

from .graph import topo_order
from .graph.timemodel import (
    CLASSES,
    Kernels,
    Network,
    calibration_path,
    estimate,
    load_calibration,
    network_of,
    write_calibration,
)
from .graph.work import work

PING_SIZES = (8, 1 << 10, 1 << 16, 1 << 20, 1 << 22)
# what the plans measured here run on: one rank with a core of its own (self_comm), never
# the calibrated "shm" network, whose busy cores would scale the estimates subtracted
_ALONE = Network("calibrate", alpha_s=0.0, bandwidth_Bps=1.0)


def _best(fn, repeats: int, budget: float = 0.0) -> float:
    """The fastest of at least ``repeats`` timed calls, and more while ``budget`` seconds
    last, after one untimed call: noise from other programs only ever adds time, and on a
    busy machine a quiet moment takes a while to come."""
    fn()
    best = float("inf")
    start = time.perf_counter()
    k = 0
    while k < repeats or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        k += 1
    return best


def _best_compute(make, repeats: int, budget: float) -> float:
    """Like ``_best`` for ``lh.compute(*make())``, timing the compute alone: the graph is
    built before the clock starts (a plan with a data-dependent break runs its prefix
    while it is built, which is not the kernel being measured)."""
    lh.compute(*make())
    best = float("inf")
    start = time.perf_counter()
    k = 0
    while k < repeats or time.perf_counter() - start < budget:
        arrays = make()
        t0 = time.perf_counter()
        lh.compute(*arrays)
        best = min(best, time.perf_counter() - t0)
        k += 1
    return best


def _idle_wait(comm) -> None:
    """Wait for the other ranks without spinning on a core (MPI's barrier busy-polls,
    which would steal a core from the ranks that measure)."""
    req = comm.mpi.Ibarrier()
    while not req.Test():
        time.sleep(0.002)


# ---------------------------------------------------------------- kernels
def _cases(n: int, tmp: str) -> dict:
    """class -> a function making the arrays to compute for it (inputs already computed,
    so that the plan is the measured kernel alone)."""
    me = lh.self_comm()

    def vec(seed, size=n):
        return lh.random.rand(size, split=0, seed=seed, comm=me).compute()

    def mat(seed, cols, size=n):
        return lh.random.rand(size // cols, cols, split=0, seed=seed, comm=me).compute()

    a, b = vec(1), vec(2)
    # LAPACK's and BLAS's rates fall steeply once the matrix leaves the caches (a tall QR:
    # ~20 Gflop/s at 4 MiB, ~9 at 32 MiB, ~5 at 100 MiB here): measure them at 32 MiB, the
    # size of a rank's block in the quick benchmarks' factorizations and Gram matrices
    tall = mat(9, 32, 2 * n)
    # a filter that keeps a tenth: masked selection's rate depends on the fraction kept
    mask = (a < 0.1).compute()
    X16 = mat(3, 16)
    # random reads of a replicated vector (take along a split axis would route requests)
    whole = lh.random.rand(n, split=None, seed=8, comm=me).compute()
    idx = lh.random.randint(0, n, n // 4, split=None, seed=5, comm=me).compute()
    side = 1 << max((n // 4).bit_length() // 2, 6)  # FFTs of a power-of-two length
    F = lh.random.rand(side, side, split=0, seed=6, comm=me).compute().astype(lh.complex64)
    F = F.compute()
    path = os.path.join(tmp, "calibrate.npy")
    lh.save_npy(a, path, overwrite=True)
    return {
        "ewise": lambda: [a * b + a],
        "math": lambda: [lh.exp(a)],
        "reduce": lambda: [a.sum()],
        "colreduce": lambda: [X16.sum(0)],
        "moments": lambda: [X16.std(0)],
        "scan": lambda: [lh.cumulative_sum(a)],
        "copy": lambda: [lh.concatenate([a[:n // 2], b[:n // 2]])],
        "gather": lambda: [lh.take(whole, idx)],
        "random": lambda: [lh.random.rand(n, split=0, seed=7, comm=me)],
        "sort": lambda: [lh.sort(a)],
        "matmul": lambda: [tall.T @ tall],
        "lapack": lambda: list(lh.linalg.qr(tall)),
        "select": lambda: [a[mask]],
        "fft": lambda: [lh.fft.fft(F, axis=0), lh.fft.fft(F, axis=1)],  # strided, contiguous
        "io": lambda: [lh.load_npy(path, split=0, comm=me)],
    }


def _plan_of(arrays):
    return lh.plan(*arrays).outputs


def _fixed_costs(repeats: int) -> tuple:
    """(plan_s, step_s): the slope of a tiny plan's time as kernels (results) are added
    is the cost of a step; a plan of one kernel less that step is the cost of a plan."""
    me = lh.self_comm()
    x = lh.random.rand(8, split=0, seed=1, comm=me).compute()
    k = 9
    one = _best(lambda: (x + 1).compute(), repeats * 20)
    many = _best(lambda: lh.compute(*[x + i for i in range(1, k + 2)]), repeats * 10)
    step = max((many - one) / k, 1e-7)
    return max(one - step, 1e-7), step


def _fresh_memory(repeats: int, budget: float) -> dict:
    """Bytes per second of fresh memory faulted in by a first write, with torch's allocator
    (4 KiB pages) and with the runtime's (huge pages where the kernel grants them): a fill
    of a new 64 MiB buffer less a fill of a warm one."""
    from .runtime import memory

    n = (64 << 20) // 4
    warm = torch.empty(n)
    t_warm = _best(lambda: warm.fill_(1.0), repeats, budget)
    t_4k = _best(lambda: torch.empty(n).fill_(1.0), repeats, budget)
    t_huge = _best(lambda: memory.empty((n,), torch.float32, "cpu").fill_(1.0), repeats,
                   budget)
    return {"alloc": 4 * n / max(t_4k - t_warm, 1e-6),
            "alloc_huge": 4 * n / max(t_huge - t_warm, 1e-6)}


def measure_kernels(quick: bool = False) -> dict:
    """Throughput of every class of ``CLASSES`` and the fixed costs, on this rank, on
    arrays of 16 MiB (the size of a rank's block in the quick benchmarks; rates change
    where blocks leave the caches). Fresh memory is measured first, so that the plans
    whose result is larger than ``timemodel.MMAP_BYTES`` have it subtracted."""
    n = 1 << 22
    repeats, budget = (2, 0.15) if quick else (5, 1.0)
    plan_s, step_s = _fixed_costs(repeats)
    out = {"plan_s": plan_s, "step_s": step_s, **_fresh_memory(repeats, budget)}
    table = Kernels().with_(**out)
    with tempfile.TemporaryDirectory(prefix="lazyheat-calibrate-") as tmp:
        cases = _cases(n, tmp)
        # classes the others' plans also need first (QR's plan multiplies, too)
        for cls in sorted(CLASSES, key=lambda c: c == "lapack"):
            make = cases[cls]
            outs = _plan_of(make())
            amount = sum(a for n_ in topo_order(outs) for c, a in work(n_) if c == cls)
            secs = _best_compute(make, repeats, budget)
            est = estimate(outs, network=_ALONE, kernels=table.with_(**{cls: float("inf")}))
            rest = est.total_s  # everything but this class, at the table so far
            own = max(secs - rest, 0.1 * secs)
            out[cls] = amount / own
            table = table.with_(**{cls: out[cls]})
    return out


# ---------------------------------------------------------------- network
def _ping_pong(comm, nbytes: int, repeats: int) -> float:
    """One-way time of ``nbytes`` between ranks 0 and 1 (half the best round trip)."""
    buf = np.zeros(max(nbytes, 1), dtype=np.uint8)
    mpi = comm.mpi

    def once():
        if comm.rank == 0:
            mpi.Send(buf, dest=1, tag=7)
            mpi.Recv(buf, source=1, tag=7)
        else:
            mpi.Recv(buf, source=0, tag=7)
            mpi.Send(buf, dest=0, tag=7)
    return _best(once, repeats) / 2


def fit_line(sizes, times) -> tuple:
    """(alpha, bandwidth) of ``t = alpha + bytes / bandwidth``, least squares of the
    relative error (the times span five decades: absolute errors would let the largest
    message decide the latency too), both kept positive."""
    s = np.asarray(sizes, dtype=float)
    t = np.asarray(times, dtype=float)
    slope, alpha = np.polyfit(s, t, 1, w=1.0 / t)
    slope = max(slope, 1e-13)
    return max(float(alpha), 1e-8), float(1.0 / slope)


def measure_network(comm, quick: bool = False) -> dict:
    """Latency and bandwidth between ranks 0 and 1 (the others wait), then the software
    cost of one collective call in a lazyheat plan (all ranks). Collective."""
    repeats = 50 if quick else 200
    times = []
    if comm.rank < 2:
        for size in PING_SIZES:
            times.append(_ping_pong(comm, size, repeats))
    _idle_wait(comm)
    times = comm.mpi.bcast(times, root=0)
    alpha, bw = fit_line(PING_SIZES, times)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        os.cpu_count()
    slowdown, background = measure_background(comm, cores, quick)
    return {"alpha_s": alpha, "bandwidth_Bps": bw, "cores": cores,
            "background": background, "slowdown": slowdown, "ranks": comm.size,
            "ping_pong": {str(s): t for s, t in zip(PING_SIZES, times)}}


def measure_background(comm, cores: int, quick: bool = False) -> tuple:
    """(slowdown, background): a fixed kernel's typical (median) time on m = min(ranks,
    cores) ranks at once over its time on rank 0 alone, and the busy processes that
    explain it when every process gets an equal share of the cores (m + background =
    slowdown * cores). 0 on a machine of its own; other programs on a shared one."""
    m = min(comm.size, cores)
    a = torch.rand(192, 192)

    def kernel():
        for _ in range(40):
            torch.mm(a, a)

    # alternate the two, so that both see the machine's load of the same few seconds
    alone, together = [], []
    for _ in range(4 if quick else 10):
        alone.append(_median(kernel, 5) if comm.rank == 0 else 0.0)
        _idle_wait(comm)
        together.append(_median(kernel, 5) if comm.rank < m else 0.0)
        _idle_wait(comm)
    alone = comm.mpi.bcast(float(np.median(alone)), root=0)
    together = comm.mpi.allreduce(float(np.median(together)), op=_max())
    slowdown = max(together / alone, 1.0)
    return slowdown, max(slowdown * cores - m, 0.0) if slowdown > 1.05 else 0.0


def _quantile(fn, repeats: int, q: float = 0.5) -> float:
    """The ``q`` quantile of ``repeats`` timed calls after one untimed call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.quantile(times, q))


def _median(fn, repeats: int) -> float:
    return _quantile(fn, repeats, 0.5)


def measure_call(comm, kernels: dict, network: dict, quick: bool = False) -> float:
    """Seconds of software per collective call: a tiny all-reduce plan's time less what
    the model counts without it (the plan, its steps, the wire time of the reduction and
    of the handshake, which is a call as well). The first quartile, neither the best nor
    the median: a call waits for every rank to arrive, and some of how late the last one
    comes is part of its cost, but on a shared machine the median mostly measures the
    other programs (it varied from 10 to 330 us between runs here)."""
    x = lh.random.rand(8 * comm.size, split=0, seed=1).compute()
    outs = _plan_of([x.sum()])
    secs = _quantile(lambda: x.sum().compute(), 40 if quick else 200, 0.25)
    secs = comm.mpi.allreduce(secs, op=_max())
    table = Kernels().with_(**kernels, comm_call_s=0.0)
    net = network_of({"name": "shm", "alpha_s": network["alpha_s"],
                      "bandwidth_Bps": network["bandwidth_Bps"]})
    est = estimate(outs, network=net, kernels=table)
    calls = sum(1 for s in est.steps if s.kind == "comm") + 1  # + the handshake
    return max((secs - est.total_s) / calls, 0.0)


def _max():
    from mpi4py import MPI

    return MPI.MAX


# ---------------------------------------------------------------- the whole run
def calibrate(out=None, quick: bool = False) -> dict:
    """Measure, write the calibration file on rank 0 (merging a network measured before
    when this run has one rank), and return the document. Collective under mpiexec."""
    comm = lh.world()
    torch.set_num_threads(1)  # one thread per rank, as the runtime runs under mpiexec
    t0 = time.perf_counter()
    kernels = measure_kernels(quick) if comm.rank == 0 else None
    if comm.size > 1:
        _idle_wait(comm)
        kernels = comm.mpi.bcast(kernels, root=0)
    doc = {"created": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "quick": quick,
           "ranks": comm.size, "threads_per_rank": 1, "torch": torch.__version__,
           "kernels": kernels}
    path = calibration_path() if out is None else out
    if comm.size > 1:
        net = measure_network(comm, quick)
        kernels["comm_call_s"] = measure_call(comm, kernels, net, quick)
        doc["network"] = net
    else:
        before = load_calibration(path)
        if before and "network" in before:  # keep what an earlier MPI run measured
            doc["network"] = before["network"]
            kernels["comm_call_s"] = before["kernels"].get("comm_call_s",
                                                           Kernels().comm_call_s)
    doc["seconds"] = round(time.perf_counter() - t0, 2)
    if comm.rank == 0:
        write_calibration(doc, path)
        print(summary(doc, path), flush=True)
    return doc


def summary(doc: dict, path) -> str:
    """The calibration as a few readable lines."""
    k = doc["kernels"]
    units = {"matmul": "flop/s", "lapack": "flop/s", "fft": "flop/s", "sort": "cmp/s",
             "random": "values/s"}
    lines = [f"lazyheat calibrate: {doc['ranks']} rank(s), one torch thread each, "
             f"{doc['seconds']} s -> {path}"]
    for cls in CLASSES:
        lines.append(f"  {cls:<8} {k[cls] / 1e9:8.2f} G{units.get(cls, 'B/s')}")
    lines.append(f"  per plan {k['plan_s'] * 1e6:.1f} us, per step {k['step_s'] * 1e6:.1f} us"
                 + (f", per collective call {k['comm_call_s'] * 1e6:.1f} us"
                    if "comm_call_s" in k else ""))
    net = doc.get("network")
    if net:
        lines.append(f"  network (ranks 0-1): latency {net['alpha_s'] * 1e6:.2f} us, "
                     f"bandwidth {net['bandwidth_Bps'] / 1e9:.2f} GB/s, "
                     f"{net['cores']} cores, {net.get('background', 0):.1f} busy with "
                     "other programs")
    else:
        lines.append("  network: not measured (run under mpiexec -n 2 for the transport)")
    return "\n".join(lines)
