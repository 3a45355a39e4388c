"""One benchmark process: ``python -m bench.worker --config C --workloads W [W ...]``.

Prepares each workload's inputs (not timed), runs it ``--warmups`` times to warm up, times
``--repeats`` runs, and prints one JSON line per workload (rank 0 only under MPI). It also
measures the peak memory of the computation itself (``bench/memory.py``): around each timed
run, and in one more untimed run after them with the allocator's kept memory handed back.
Started by ``python -m bench``; lazyheat and HeAT configurations run under ``mpiexec``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import sys
import time
import traceback

from . import data, memory
from .common import Ctx, NotAvailable

# configuration -> module in bench/libs
MODULES = {"lazyheat": "lazyheat_impl", "lazyheat-compiled": "lazyheat_impl",
           "heat": "heat_impl", "dask-dist": "dask_impl", "dask-threads": "dask_impl",
           "numpy": "numpy_impl", "torch": "torch_impl", "sklearn": "sklearn_impl"}
MPI_CONFIGS = {"lazyheat", "lazyheat-compiled", "heat"}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _mem_reset(mod, ctx, trim=False):
    """Reset the peak resident set of this process and of the library's other processes
    (Dask's workers); returns the resident sets at the reset, or None where it cannot."""
    before = {"self": memory.reset(trim)}
    if hasattr(mod, "mem_reset"):
        before.update(mod.mem_reset(ctx, trim))
    return None if None in before.values() else before


def _mem_extra(mod, ctx, before):
    """The largest peak since ``_mem_reset`` minus the resident set at the reset, over the
    processes measured there: the run's own extra memory, in bytes."""
    if before is None:
        return None
    hwm = {"self": memory.high_water()}
    if hasattr(mod, "mem_peak"):
        hwm.update(mod.mem_peak(ctx))
    extra = [hwm[k] - v for k, v in before.items() if hwm.get(k) is not None]
    return max(0, *extra) if len(extra) == len(before) else None


def _memory_fields(name, p, mod, ctx, timed, last, comm) -> dict:
    """The memory of the computation, each field the largest over the ranks (bytes):
    ``rss_before``, resident at the start of the memory run (inputs, interpreter, what the
    library keeps between runs); ``compute_peak``, the largest extra peak of the timed runs
    and the memory run; ``compute_peak_timed``, of the timed runs alone (the allocator's kept
    memory can hide some there); ``input_bytes``, this process's share of the inputs;
    ``compute_peak_frac``, compute_peak / input_bytes. None where the peak cannot be reset.
    ``timed`` holds the timed runs' extra peaks, ``last`` the memory run's (before, extra)."""
    part, parts = ctx.rank, ctx.nranks
    if hasattr(mod, "input_parts"):  # processes that share the inputs outside MPI (Dask)
        part, parts = 0, mod.input_parts(ctx)
    inputs = data.input_bytes(name, p, part, parts)
    ok = timed and None not in timed and last is not None and None not in last
    mine = (max(last[0].values()), max(last[1], *timed), max(timed), inputs) if ok else None
    every = comm.allgather(mine) if comm is not None else [mine]
    if None in every:
        why = memory.unavailable() or "not measured on every rank"
        return {"rss_before": None, "compute_peak": None, "compute_peak_timed": None,
                "input_bytes": inputs, "compute_peak_frac": None, "compute_peak_note": why}
    out = {"rss_before": max(e[0] for e in every), "compute_peak": max(e[1] for e in every),
           "compute_peak_timed": max(e[2] for e in every),
           "input_bytes": max(e[3] for e in every),
           "compute_peak_frac": max(e[1] / e[3] if e[3] else 0.0 for e in every)}
    if not memory.can_trim():
        out["compute_peak_note"] = "no malloc_trim here: memory the allocator kept from an " \
            "earlier run and reused is not counted"
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.worker")
    ap.add_argument("--config", required=True, choices=sorted(MODULES))
    ap.add_argument("--workloads", nargs="+", required=True)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmups", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--size-scale", type=float, default=1.0)
    args = ap.parse_args(argv)

    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    import torch  # every library module uses torch or lives beside it; fix its threads first

    torch.set_num_threads(threads)
    ctx = Ctx(args.config, threads=threads, workers=args.workers)
    comm = None
    if args.config in MPI_CONFIGS:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
        ctx.rank, ctx.nranks = comm.rank, comm.size
    mod = importlib.import_module(f"bench.libs.{MODULES[args.config]}")
    if hasattr(mod, "setup"):
        mod.setup(ctx)
    sizes = data.sizes(args.quick, args.size_scale)

    def barrier():
        if comm is not None:
            comm.Barrier()

    status = 0
    for name in args.workloads:
        row = {"config": args.config, "workload": name, "workers": args.workers,
               "threads": threads, "params": sizes[name], "status": "ok", "versions":
               mod.versions() if hasattr(mod, "versions") else {}}
        # lazyheat's switches as this process saw them: what the configuration ran with
        knobs = {k: v for k, v in os.environ.items() if k.startswith("LAZYHEAT_")}
        if knobs:
            row["lazyheat_env"] = knobs
        extras, last = [], None
        try:
            fn = getattr(mod, name, None)
            if fn is None:
                raise NotAvailable(getattr(mod, "MISSING", {}).get(
                    name, f"{args.config} has no implementation of {name}"))
            case = fn(ctx, sizes[name])
            result = None
            warm, times, predicted = [], [], []
            model = getattr(mod, "model_seconds", None)
            for i in range(max(args.warmups, 1) + args.repeats):
                timed = i >= max(args.warmups, 1)
                # drop the previous result first: it is not part of this run's memory
                result = None
                if timed:  # reading /proc costs microseconds: the timing does not notice
                    before = _mem_reset(mod, ctx)
                if model is not None:
                    mod.model_reset(ctx)
                barrier()
                t0 = time.perf_counter()
                result = case.run()
                barrier()
                (times if timed else warm).append(time.perf_counter() - t0)
                if timed:
                    extras.append(_mem_extra(mod, ctx, before))
                    if model is not None and model(ctx) is not None:
                        predicted.append(model(ctx))
            # One more run, untimed, for memory alone: after handing back what the allocator
            # keeps, so that memory reused from the previous run counts (bench/memory.py).
            result = None
            before = _mem_reset(mod, ctx, trim=True)
            barrier()
            result = case.run()
            barrier()
            last = (before, _mem_extra(mod, ctx, before))
            row.update(times=times, seconds=statistics.median(times), first_s=warm[0],
                       warmup_s=warm, checksum=float(case.check(result)), notes=case.notes)
            if predicted:  # the time model's estimate of each timed run (LAZYHEAT_MODEL)
                row["predicted_times"] = [p[0] for p in predicted]
                row["predicted_s"] = statistics.median(row["predicted_times"])
                row["predicted_comm_s"] = statistics.median(p[1] for p in predicted)
                row["plans_per_run"] = predicted[0][2]
                # time the estimator itself took inside the timed runs (plans not cached)
                row["model_own_s"] = statistics.median(p[3] for p in predicted)
            if case.tol is not None:
                row["tol"] = case.tol
            if case.extra is not None:
                row["extra"] = case.extra(result)
            del result
        except NotAvailable as exc:
            row.update(status="n/a", reason=str(exc))
            if exc.checksum is not None:
                row["checksum"] = float(exc.checksum)
        except Exception as exc:  # report and go on with the next workload
            row.update(status="error", reason=f"{type(exc).__name__}: {exc}")
            traceback.print_exc(file=sys.stderr)
            status = 1
        mem = _memory_fields(name, sizes[name], mod, ctx, extras, last, comm)  # collective
        if "times" in row:
            row.update(mem)
        rss = _peak_rss_mb()
        if comm is not None:
            rss = comm.allreduce(rss, op=__import__("mpi4py").MPI.MAX)
        if hasattr(mod, "worker_rss_mb"):  # Dask's worker processes
            rss = max(rss, mod.worker_rss_mb(ctx))
        row["peak_rss_mb"] = round(rss, 1)
        if ctx.rank == 0:
            print("BENCH " + json.dumps(row), flush=True)
    if hasattr(mod, "teardown"):
        mod.teardown(ctx)
    return status


if __name__ == "__main__":
    sys.exit(main())
