"""``python -m lazyheat``: the demo job, and what lazyheat runs on.

``demo`` standardizes a tall matrix, computes its moments and its Gram matrix X.T @ X, prints
the plan (rank 0) and the results, and checks them against NumPy. ``info`` reports the
versions, the MPI library and launcher, ranks, threads and devices (attach it to a bug
report). ``calibrate`` measures this machine for the time model (``lazyheat/calibrate.py``).
All work as one rank or under ``mpiexec -n N``; rank 0 prints.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.metadata
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np


def demo(rows: int, cols: int, seed: int) -> int:
    import lazyheat as lh

    comm = lh.world()
    say = print if comm.rank == 0 else (lambda *a, **k: None)
    # the input: generated, written to a file (every rank writes its own rows), then read
    # back lazily; each rank reads only its block when the plan runs
    where = tempfile.mkdtemp(prefix="lazyheat-demo-") if comm.rank == 0 else None
    where = comm.mpi.bcast(where, root=0) if comm.size > 1 else where
    path = os.path.join(where, "measurements.npy")
    lh.save_npy(lh.random.randn(rows, cols, split=0, seed=seed) * 3.0 + 1.0, path)
    say(f"lazyheat demo: wrote {path} ({rows * cols * 4 / 1e6:.1f} MB)")
    t0 = time.perf_counter()
    x = lh.load_npy(path, split=0)
    mu, sigma = x.mean(axis=0), x.std(axis=0)
    z = (x - mu) / sigma
    gram = z.T @ z / rows
    stats = {"mean": x.mean(), "std": x.std(), "min": x.min(), "max": x.max()}
    say(f"lazyheat demo: X is {x.shape} {x.dtype.name}, split={x.split}, on {comm.size} "
        f"rank(s); local block {x.lshape}")
    say("\nplan for the Gram matrix of the standardized data:")
    say(lh.explain(gram))
    lh.compute(mu, sigma, gram, *stats.values())
    elapsed = time.perf_counter() - t0
    g = gram.numpy()
    ref = x.numpy().astype(np.float64)
    zr = (ref - ref.mean(0)) / ref.std(0)
    ok = np.allclose(g, zr.T @ zr / rows, rtol=1e-3, atol=1e-3) and \
        np.allclose(mu.numpy(), ref.mean(0), rtol=1e-3, atol=1e-3)
    np.set_printoptions(precision=4, suppress=True)
    say("\ncolumn means:", mu.numpy())
    say("column stds: ", sigma.numpy())
    say("moments:", {k: round(float(v), 4) for k, v in stats.items()})
    say("correlation matrix (Gram of standardized X / n):")
    say(g)
    say(f"\nchecked against NumPy: {'ok' if ok else 'MISMATCH'}; {elapsed:.3f} s")
    if comm.size > 1:
        comm.mpi.barrier()  # every rank has read the file before it goes
    if comm.rank == 0:
        shutil.rmtree(where, ignore_errors=True)
    return 0 if ok else 1



# -- info --------------------------------------------------------------------------------------


def _version(dist: str) -> str:
    """The installed version of distribution ``dist`` ("not installed" when it is not)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _versions() -> dict:
    import lazyheat

    return {"lazyheat": lazyheat.__version__,  # the code running, installed or not
            "python": f"{platform.python_version()} ({platform.python_implementation()})",
            "python_executable": sys.executable,
            **{name: _version(name) for name in ("torch", "numpy", "mpi4py", "networkx")}}


def _launcher_info() -> dict:
    """The launcher lazyheat's tools would use, where it came from, and a command it builds."""
    from lazyheat import _launcher

    extra = os.environ.get(_launcher.ENV_ARGS, "")
    cmd = _launcher.find_mpiexec()
    if not cmd:
        return {"command": None, "source": None, "flavour": None, "version": None,
                "extra_args": extra, "example": None}
    if os.environ.get(_launcher.ENV_COMMAND, "").strip():
        source = _launcher.ENV_COMMAND
    elif os.path.dirname(cmd[0]) == os.path.dirname(sys.executable):
        source = "beside the interpreter"
    else:
        source = "PATH"
    flavour = _launcher.mpi_flavour(cmd)
    example = _launcher.launch_command(4, ["python", "script.py"], cmd, flavour=flavour)
    return {"command": shlex.join(cmd), "source": source, "flavour": flavour,
            "version": _launcher.launcher_version(cmd) or None, "extra_args": extra,
            "example": shlex.join(example)}


def _loaded_mpi_libraries() -> list[str]:
    """Paths of the MPI libraries this process has loaded (Linux: from /proc/self/maps)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/libmpi" in line}
    except OSError:
        return []
    # libmpi.so.* itself first; libmpi_mt, libmpi_ibm, ... after it
    return sorted(paths, key=lambda p: (not os.path.basename(p).startswith("libmpi.so"), p))


def _ompi_info_cuda() -> str | None:
    """Open MPI's ompi_info: "yes" / "no" for mpi_built_with_cuda_support, None if unknown."""
    tool = shutil.which("ompi_info")
    if tool is None:
        return None
    try:
        out = subprocess.run([tool, "--parsable", "--all"], capture_output=True, text=True,
                             timeout=30, stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"mpi_built_with_cuda_support:value:(\w+)", out)
    return None if m is None else ("yes" if m.group(1) == "true" else "no")


def _cuda_aware(MPI, vendor: str) -> dict:
    """Whether the MPI library can take CUDA device buffers, and how that was found out.

    lazyheat stages GPU data through host memory and so works either way; the answer matters
    for the day it does not. Best effort: mpi4py's query where it has one, else the library's
    own ``MPIX_Query_cuda_support`` (MPICH >= 4, Open MPI built with its CUDA extension),
    else Open MPI's ``ompi_info``; "unknown" when none of them answers.
    """
    query = getattr(MPI, "Query_cuda_support", None)
    if query is not None:
        try:
            return {"answer": "yes" if query() else "no", "how": "MPI.Query_cuda_support()"}
        except Exception:  # noqa: BLE001  (not implemented by this library)
            pass
    for path in _loaded_mpi_libraries():
        try:
            fn = ctypes.CDLL(path).MPIX_Query_cuda_support
        except (OSError, AttributeError):
            continue
        fn.restype, fn.argtypes = ctypes.c_int, []
        return {"answer": "yes" if fn() else "no", "how": "MPIX_Query_cuda_support()"}
    if vendor == "Open MPI":
        built = _ompi_info_cuda()
        if built is not None:
            return {"answer": built, "how": "ompi_info: mpi_built_with_cuda_support"}
    return {"answer": "unknown", "how": None}


def _devices() -> dict:
    import torch

    from lazyheat import _core, _launcher

    cuda = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            cuda.append({"index": i, "name": props.name,
                         "memory_gib": round(props.total_memory / 2**30, 1)})
    return {"default": str(_core.default_device()),
            "cpu": {"machine": platform.machine(), "logical_cpus": os.cpu_count(),
                    "cores_usable": _launcher.physical_cores()},
            "torch_cuda": torch.version.cuda, "cuda": cuda}


def gather_info() -> dict:
    """Everything ``python -m lazyheat info`` reports, as a JSON-ready dict.

    Collective: every rank must call it (the ranks' host names are gathered).
    """
    info = {"versions": _versions()}
    info["launcher"] = _launcher_info()
    import mpi4py
    import torch
    from mpi4py import MPI

    import lazyheat as lh

    vendor, number = MPI.get_vendor()
    levels = {MPI.THREAD_SINGLE: "single", MPI.THREAD_FUNNELED: "funneled",
              MPI.THREAD_SERIALIZED: "serialized", MPI.THREAD_MULTIPLE: "multiple"}
    info["mpi"] = {
        "library": f"{vendor} {'.'.join(map(str, number))}",
        "library_version": MPI.Get_library_version().strip(),
        "standard": "{}.{}".format(*MPI.Get_version()),
        "thread_level": levels.get(MPI.Query_thread(), str(MPI.Query_thread())),
        "thread_level_requested": str(mpi4py.rc.thread_level),
        "cuda_aware": _cuda_aware(MPI, vendor),
    }
    comm = lh.world()
    hosts = MPI.COMM_WORLD.allgather(MPI.Get_processor_name())
    info["ranks"] = {"world_size": comm.size, "rank": comm.rank,
                     "hosts": sorted(set(hosts))}
    # as lazyheat sized the pool at import: a share of the node's cores per rank
    info["threads"] = {"torch": torch.get_num_threads(),
                       "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
    info["devices"] = _devices()
    return info


def format_info(info: dict) -> str:
    """The text form of :func:`gather_info`'s dict."""
    v, launch = info["versions"], info["launcher"]
    lines = [("lazyheat", v["lazyheat"]),
             ("python", f"{v['python']}, {v['python_executable']}"),
             ("packages", ", ".join(f"{k} {v[k]}" for k in ("torch", "numpy", "mpi4py",
                                                             "networkx")))]
    if launch["command"]:
        how = ", ".join(filter(None, [launch["flavour"], launch["version"]]))
        lines += [("launcher", f"{launch['command']} ({how}; from {launch['source']})"),
                  ("  4 ranks as", launch["example"])]
    else:
        lines.append(("launcher", "none found (set LAZYHEAT_MPIEXEC or install mpich)"))
    lines.append(("  extra args", launch["extra_args"] or "none (LAZYHEAT_MPIEXEC_ARGS)"))
    mpi = info["mpi"]
    # the first line of the library's own version text, where it says more than the number
    first = " ".join((mpi["library_version"].splitlines() or [""])[0].split())
    number = mpi["library"].rsplit(" ", 1)[-1]
    library = mpi["library"] + (f" ({first})" if first and number not in first else "")
    cuda = mpi["cuda_aware"]
    lines += [("MPI library", library),
              ("MPI standard", mpi["standard"]),
              ("thread level", f"{mpi['thread_level']} (requested: "
                               f"{mpi['thread_level_requested']})"),
              ("CUDA-aware", cuda["answer"] + (f" ({cuda['how']})" if cuda["how"] else ""))]
    ranks, threads, dev = info["ranks"], info["threads"], info["devices"]
    hosts = ranks["hosts"]
    lines += [("ranks", f"{ranks['world_size']} (this is rank {ranks['rank']}) on "
                        f"{len(hosts)} host(s): {', '.join(hosts)}"),
              ("threads", f"{threads['torch']} torch thread(s) per rank, OMP_NUM_THREADS="
                          f"{threads['OMP_NUM_THREADS'] or 'unset'}")]
    cpu = dev["cpu"]
    gpus = "; ".join(f"cuda:{d['index']} {d['name']} ({d['memory_gib']} GiB)"
                     for d in dev["cuda"])
    lines += [("devices", f"cpu ({cpu['machine']}, {cpu['logical_cpus']} logical CPUs, "
                          f"{cpu['cores_usable']} cores usable); default {dev['default']}"),
              ("CUDA", gpus or ("no device" if dev["torch_cuda"] else
                                "none (torch built without CUDA)"))]
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k:<{width}}  {val}" for k, val in lines)


def info(as_json: bool) -> int:
    report = gather_info()
    if report["ranks"]["rank"] == 0:
        print(json.dumps(report, indent=2) if as_json else format_info(report), flush=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lazyheat", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    d = sub.add_parser("demo", help="run the batch-analytics demo",
                       description="Standardize a generated tall matrix X, compute its moments "
                       "and X.T @ X, print the plan and the results, check them against NumPy.")
    d.add_argument("--rows", type=int, default=200_000,
                   help="rows of X, split over the ranks (default: %(default)s)")
    d.add_argument("--cols", type=int, default=8, help="columns of X (default: %(default)s)")
    d.add_argument("--seed", type=int, default=42,
                   help="seed of the random data (default: %(default)s)")
    i = sub.add_parser("info", help="report versions, MPI, launcher, ranks, threads, devices",
                       description="Report what lazyheat runs on: versions, the MPI library "
                       "and the launcher lazyheat's tools would use, ranks, threads per rank, "
                       "devices. Run it as your program runs (e.g. under mpiexec) and attach "
                       "the output to a bug report; rank 0 prints.")
    i.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    c = sub.add_parser("calibrate", help="measure kernel throughputs and the MPI transport "
                       "for the time model (explain(..., network=...))",
                       description="Measure kernel throughputs (one torch thread per rank) "
                       "and, under mpiexec with several ranks, the latency and bandwidth of "
                       "the MPI transport; rank 0 writes them to the calibration file that "
                       "lh.explain(..., network=...) and lh.estimate read.")
    from .graph.timemodel import calibration_path

    c.add_argument("--quick", action="store_true",
                   help="fewer repeats: a few seconds instead of about half a minute")
    c.add_argument("--out", default=None, help="where to write (default: "
                   f"$LAZYHEAT_CALIBRATION, else {calibration_path()})")
    args = ap.parse_args(argv)
    if args.cmd == "info":
        return info(args.json)
    if args.cmd == "calibrate":
        from .calibrate import calibrate

        calibrate(args.out, args.quick)
        return 0
    return demo(args.rows, args.cols, args.seed)


if __name__ == "__main__":
    sys.exit(main())
