"""``python -m bench``: run lazyheat and its peers on every workload and write the report.

Each (library configuration, rank count, workload) runs in a process of its own, one at a
time: lazyheat and HeAT under ``mpiexec -n R`` with one torch thread per rank
(``lazyheat-compiled``: lazyheat with ``LAZYHEAT_FUSED_TIER=compile``); Dask with a
local cluster of R single-threaded workers (``dask-dist``) and with its threaded scheduler of
R threads (``dask-threads``); NumPy, torch and scikit-learn in one process with R threads.
``--quick`` shrinks the sizes and runs all workloads of a configuration in one process to
save start-up time. Every row's checksum is compared with NumPy's; a row that disagrees
fails. Results: ``OUT/results.jsonl``, ``OUT/RESULTS.md``, ``OUT/ratios.png``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import data, report
from .worker import MODULES

ROOT = Path(__file__).resolve().parent.parent
LIBS = {"lazyheat": ["lazyheat", "lazyheat-compiled"], "heat": ["heat"],
        "dask": ["dask-dist", "dask-threads"], "numpy": ["numpy"], "torch": ["torch"],
        "sklearn": ["sklearn"]}
MPI = {"lazyheat", "lazyheat-compiled", "heat"}
# What a configuration adds to the environment. The compile tier's cache directory
# (TORCHINDUCTOR_CACHE_DIR) is left to lazyheat, as a user would leave it.
CONFIG_ENV = {"lazyheat-compiled": {"LAZYHEAT_FUSED_TIER": "compile"}}
# Untimed runs before the timed ones. The compile tier compiles a group when its plan comes
# round again, so its first run plans, its second compiles (and recompiles where torch
# specializes on a second call), and only the third runs what timing should see.
WARMUPS = {"lazyheat-compiled": 2}
DEFAULT_TOL = 1e-3  # relative; float32 sums in different orders differ by about 1e-5


def _load_launcher():
    """lazyheat's launcher helpers (``lazyheat/_launcher.py``: pure standard library), loaded
    on their own: importing the lazyheat package would load torch and start MPI in this
    driver, which only starts processes."""
    spec = importlib.util.spec_from_file_location("_lazyheat_launcher",
                                                  ROOT / "lazyheat" / "_launcher.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


launcher = _load_launcher()


def threads_of(config: str, r: int) -> int:
    """Threads per process: 1 per MPI rank or Dask worker/thread, R for one-process peers."""
    return 1 if config in MPI or config.startswith("dask") else r


def command(args, config, r, workloads) -> list[str]:
    cmd = [args.python, "-m", "bench.worker", "--config", config, "--workers", str(r),
           "--repeats", str(args.repeats), "--warmups", str(WARMUPS.get(config, 1)),
           "--workloads", *workloads]
    if args.quick:
        cmd.append("--quick")
    if args.size_scale != 1.0:
        cmd += ["--size-scale", str(args.size_scale)]
    if config in MPI:
        # -n R, the flags the launcher's flavour needs (Open MPI: --oversubscribe beyond the
        # cores, --allow-run-as-root as root), then LAZYHEAT_MPIEXEC_ARGS
        cmd = launcher.launch_command(r, cmd, args.mpiexec, flavour=args.mpi_flavour)
    return cmd


def missing(config) -> dict:
    """Workloads a configuration declares it cannot run (no process needed to learn that);
    NumPy runs everything, as the checksum reference."""
    if config == "numpy":
        return {}
    module = importlib.import_module(f"bench.libs.{MODULES[config]}")
    return getattr(module, "MISSING", {})


def run_one(args, config, r, workloads, log) -> list[dict]:
    """Run one worker process; rows for workloads it did not report say why."""
    threads = threads_of(config, r)
    skip = missing(config)
    rows = [{"config": config, "workload": w, "workers": r, "threads": threads,
             "status": "n/a", "reason": skip[w], "ranks": r} for w in workloads if w in skip]
    workloads = [w for w in workloads if w not in skip]
    if not workloads:
        return rows
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads), PYTHONPATH=str(ROOT))
    if config in MPI:  # a nested launch must not join an MPI job this driver runs in
        env = launcher.child_env(env, flavour=args.mpi_flavour)
    env.update(CONFIG_ENV.get(config, {}))
    cmd = command(args, config, r, workloads)
    # the recorded command carries the configuration's variables, so that it can be rerun
    cmdline = shlex.join([f"{k}={v}" for k, v in CONFIG_ENV.get(config, {}).items()] + cmd)
    t0 = time.perf_counter()
    # a session of its own, so that a timeout ends the whole process tree (mpiexec, workers)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    timeout = args.timeout * len(workloads)
    try:
        out, err = proc.communicate(timeout=timeout)
        why = f"exit code {proc.returncode}: " + (err.strip().splitlines() or [""])[-1][-300:]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        why = f"timeout after {timeout:.0f} s"
    wall = time.perf_counter() - t0
    log.write(f"$ {cmdline}\n{err}\n")
    got = [json.loads(line[6:]) for line in out.splitlines() if line.startswith("BENCH ")]
    seen = {row["workload"] for row in got}
    for w in workloads:
        if w not in seen:
            got.append({"config": config, "workload": w, "workers": r, "threads": threads,
                         "status": "timeout" if why.startswith("timeout") else "error",
                         "reason": why})
    for row in got:
        row.update(ranks=r, command=cmdline, wall_s=round(wall, 2))
    return rows + got


def check(rows) -> int:
    """Compare every checksum with NumPy's; mark disagreeing rows. Returns how many failed.
    The tolerance is the row's own (``Case.tol``), else the workload's (``data.TOL``), else
    ``DEFAULT_TOL``."""
    ref = {row["workload"]: row["checksum"] for row in rows
           if row["config"] == "numpy" and row.get("checksum") is not None}
    bad = 0
    for row in rows:
        want = ref.get(row["workload"])
        if row["status"] != "ok" or want is None or row["workload"] == "bandwidth":
            continue
        tol = row.get("tol", data.TOL.get(row["workload"], DEFAULT_TOL))
        got = row["checksum"]
        if not abs(got - want) <= tol * abs(want) + 1e-6:
            row["status"] = "bad-checksum"
            row["reason"] = f"checksum {got!r} differs from NumPy's {want!r} by more than {tol}"
            bad += 1
    return bad


def fusion(args, out: Path, log) -> None:
    """The fused-elementwise micro-table (``bench/fusion_tiers.py``), when it is there."""
    if not (ROOT / "bench" / "fusion_tiers.py").exists():
        return
    # 1e8 elements take minutes per table: run bench.fusion_tiers alone for those
    sizes = ["1e5", "1e6"] if args.quick else ["1e5", "1e6", "1e7"]
    cmd = [args.python, "-m", "bench.fusion_tiers", "--sizes", *sizes, "--out",
           str(out / "fusion.md")]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    try:
        res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=args.timeout * 2)
        log.write(f"$ {shlex.join(cmd)}\n{res.stderr}\n")
    except subprocess.TimeoutExpired:
        log.write(f"$ {shlex.join(cmd)}\ntimed out\n")


def git_version() -> str:
    """The commit lazyheat was measured at, with "+changes" when the tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lazyheat"], cwd=ROOT,
                               text=True, capture_output=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2],
                    help="rank / worker / thread counts R to run (default: 1 2)")
    ap.add_argument("--libs", nargs="+", default=list(LIBS), choices=list(LIBS),
                    help="libraries (lazyheat and dask run two configurations each); "
                    "default: all")
    ap.add_argument("--workloads", nargs="+", default=["all"],
                    help=f"'all' or some of: {' '.join(data.WORKLOADS)} fusion")
    ap.add_argument("--quick", action="store_true", help="small sizes (see bench/README.md)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs after the warm-up "
                    "(one run; two for lazyheat-compiled)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per workload run (default 300, 60 with --quick)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--python", default=sys.executable,
                    help="interpreter of the benchmark environment (default: this one)")
    ap.add_argument("--mpiexec", default=None,
                    help="launcher of the MPI configurations, a command that may have words "
                    "of its own (e.g. 'srun --mpi=pmix'); default: $LAZYHEAT_MPIEXEC, else the "
                    "mpiexec beside --python, else mpiexec on PATH. -n R and the flags its "
                    "flavour needs are added, then $LAZYHEAT_MPIEXEC_ARGS")
    ap.add_argument("--publish", action="store_true",
                    help="also copy RESULTS.md and ratios.png to bench/ (to commit)")
    ap.add_argument("--size-scale", type=float, default=1.0,
                    help="multiply every workload's element and row counts by this factor "
                    "(at least 64), for smoke checks at tiny sizes (default 1)")
    args = ap.parse_args(argv)
    args.repeats = max(args.repeats, 1)
    args.timeout = args.timeout or (60.0 if args.quick else 300.0)
    found = launcher.find_mpiexec(python=args.python)
    # without any launcher the MPI rows fail, each with the reason, as before
    args.mpiexec = args.mpiexec or (shlex.join(found) if found else
                                    str(Path(args.python).parent / "mpiexec"))
    args.mpi_flavour = launcher.mpi_flavour(args.mpiexec)
    # --quick leaves the fusion micro-table out of "all" (name it to get it)
    names = data.WORKLOADS + ([] if args.quick else ["fusion"]) + \
        [w for w in args.workloads if w == "fusion"] if "all" in args.workloads \
        else args.workloads
    unknown = set(names) - set(data.WORKLOADS) - {"fusion"}
    if unknown:
        ap.error(f"unknown workloads: {sorted(unknown)}")
    workloads = [w for w in names if w != "fusion"]
    configs = [c for lib in args.libs for c in LIBS[lib]]
    plan = [(c, r) for r in sorted(set(args.ranks)) for c in configs]
    if "numpy" not in configs and workloads:  # NumPy is the checksum reference
        plan.insert(0, ("numpy", min(args.ranks)))
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    t0 = time.perf_counter()
    rows = []
    with open(args.out / "worker.log", "w") as log:
        for config, r in plan:
            groups = [workloads] if args.quick else [[w] for w in workloads]
            for group in groups:
                if not group:
                    continue
                got = run_one(args, config, r, group, log)
                for row in got:
                    if config == "numpy" and "numpy" not in configs:
                        row["reference_only"] = True
                    secs = row.get("seconds")
                    shown = f"{secs:.3f} s" if secs is not None else row.get("reason", "")
                    print(f"[{time.perf_counter() - t0:6.0f} s] {config:>17} R={r} "
                          f"{row['workload']:<14} {row['status']:<6} {shown}", flush=True)
                rows.extend(got)
        if "fusion" in names:
            print(f"[{time.perf_counter() - t0:6.0f} s] fusion micro-table", flush=True)
            fusion(args, args.out, log)
    bad = check(rows)
    meta = {"started": started, "wall_s": round(time.perf_counter() - t0, 1),
            "argv": "python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:]),
            "python": args.python, "mpiexec": args.mpiexec, "mpi_flavour": args.mpi_flavour,
            "quick": args.quick,
            "size_scale": args.size_scale, "repeats": args.repeats, "warmups": WARMUPS,
            "machine": report.machine(), "platform": platform.platform(),
            "lazyheat_commit": git_version(),
            "sizes": data.sizes(args.quick, args.size_scale)}
    with open(args.out / "results.jsonl", "w") as f:
        f.write(json.dumps({"meta": meta}) + "\n")
        for row in rows:
            f.write(json.dumps(row) + "\n")
    md = report.write(args.out, publish=ROOT / "bench" if args.publish else None)
    print(f"\n{len(rows)} rows in {meta['wall_s']} s; {bad} checksum mismatch(es); "
          f"report: {md}")
    failed_lazyheat = [r for r in rows if r["config"].startswith("lazyheat")
                       and r["status"] not in ("ok", "n/a")]
    return 1 if bad or failed_lazyheat else 0


if __name__ == "__main__":
    sys.exit(main())
