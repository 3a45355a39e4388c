"""One benchmark process: ``python -m bench.worker --config C --workloads W [W ...]``.

Prepares each workload's inputs (not timed), runs it once to warm up, times ``--repeats``
runs, and prints one JSON line per workload (rank 0 only under MPI). Started by
``python -m bench``; lazyheat and HeAT configurations run under ``mpiexec``.
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

from . import data
from .common import Ctx, NotAvailable

# configuration -> module in bench/libs
MODULES = {"lazyheat": "lazyheat_impl", "heat": "heat_impl", "dask-dist": "dask_impl",
           "dask-threads": "dask_impl", "numpy": "numpy_impl", "torch": "torch_impl",
           "sklearn": "sklearn_impl"}
MPI_CONFIGS = {"lazyheat", "heat"}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.worker")
    ap.add_argument("--config", required=True, choices=sorted(MODULES))
    ap.add_argument("--workloads", nargs="+", required=True)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
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
        try:
            fn = getattr(mod, name, None)
            if fn is None:
                raise NotAvailable(getattr(mod, "MISSING", {}).get(
                    name, f"{args.config} has no implementation of {name}"))
            case = fn(ctx, sizes[name])
            barrier()
            result = case.run()  # warm-up
            times = []
            for _ in range(args.repeats):
                del result
                barrier()
                t0 = time.perf_counter()
                result = case.run()
                barrier()
                times.append(time.perf_counter() - t0)
            row.update(times=times, seconds=statistics.median(times),
                       checksum=float(case.check(result)), notes=case.notes)
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
