"""``python -m bench.model_check``: the time model's predictions beside measured times.

Calibrates this machine (``python -m lazyheat calibrate`` under ``mpiexec -n 2``, into the
output directory, unless ``--calibration`` names a file), then runs every lazyheat workload
of ``bench/`` at each rank count with ``LAZYHEAT_MODEL=<network>``: every plan the
workload computes adds its estimate to a counter that the worker records beside the
measured time of the same run (``predicted_s``; ``lazyheat/predicted.py``). Writes
``OUT/results.jsonl`` and the report ``bench/MODEL.md`` (``--report``): predicted, measured
and their ratio per workload and rank count, and where the model is off at 2 ranks and why.

Quick sizes by default (``--full`` for the suite's full ones). On a machine with fewer
cores than ranks the ranks share cores, and the model scales its times by ranks / cores
(the "shm" network knows the cores from the calibration).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from . import data, report
from .__main__ import ROOT, git_version, launcher, missing, run_one

OFF = 1.5  # a ratio beyond this (or below its inverse) is "off" in the report

# Why the model misses, per workload, as analysed on the development machine (the report
# prints the reason of each workload that is off; see the text of MODEL.md).
REASONS = {
    "kmeans": "the fit is a Python loop: ~10 plans per iteration, each a few small kernels "
              "and a center update on NumPy; the model sees only the plans and charges each "
              "small step its calibrated constant",
    "lasso": "coordinate descent runs in NumPy on the 32 x 32 Gram matrix, outside any plan; "
             "the model sees only the one X^T X pass",
    "overhead": "30 tiny plans: all fixed cost (graph building, plan cache lookup, the rank "
                "handshake, Python around each compute), which the model has as two "
                "constants measured on other tiny plans",
    "sort": "the sample sort's local sorting and merging run inside its collective, and a "
            "collective costs only its communication in the model (commcost has no "
            "local work for it)",
    "unique": "the counting all-reduce is a collective whose local bincount and searchsorted "
              "the model does not see (commcost only)",
    "median": "the selection is priced as a full sort (n log n) of each column block, "
              "torch's kthvalue is cheaper",
    "mask_filter": "the boolean mask breaks the plan: counts, an exchange and a second plan "
                   "planned at run time (planning itself is not in the model)",
    "cg": "an iterative solver: one small plan per iteration, Python between them; the "
          "roll's halo exchange is tiny, the fixed costs dominate",
    "knn": "candidate search per rank and an all-to-all of candidates: the local top-k "
           "work inside the routed collective is not priced",
    "gaussian_nb": "fit and predict are several plans with small kernels and label handling "
                   "in Python between them",
    "rsvd": "several dependent plans with small QR and SVD on replicated matrices; LAPACK "
            "at these shapes is far from the rate measured on a tall QR",
    "pca": "fit computes mean, Gram and a 64 x 64 eigh on NumPy after the plan",
    "fft_axis0": "the FFT runs after two all-to-alls of a complex 1024 x 1024 array; shared "
                 "memory bandwidth for large all-to-alls is lower than the ping-pong fit",
    "fft_axis1": "torch's FFT rate depends strongly on the length and layout; the calibrated "
                 "rate is one size",
    "cdist": "the quadratic expansion's GEMM has a short inner dimension (16): far below "
             "the GEMM rate measured on a Gram matrix (inner dimension in the millions)",
    "qr": "Q and R share one local factorization (shared parts), but the model prices each "
          "output's QR",
    "svd_tall": "TSQR plus a small SVD; the same double-counted factorization as qr",
    "resplit": "the all-to-all's packing and unpacking copies are not in the model (only "
               "its wire time)",
    "transpose_sum": "the all-to-all's packing and unpacking copies are not in the model",
}


def calibrate(args, path: Path, log) -> None:
    """Run ``python -m lazyheat calibrate`` under ``mpiexec -n 2`` into ``path``."""
    cmd = [args.python, "-m", "lazyheat", "calibrate", "--out", str(path)]
    cmd = launcher.launch_command(2, cmd, args.mpiexec, flavour=args.mpi_flavour)
    env = launcher.child_env(dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT)),
                             flavour=args.mpi_flavour)
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    log.write(f"$ {shlex.join(cmd)}\n{res.stdout}\n{res.stderr}\n")
    if res.returncode != 0 or not path.exists():
        raise SystemExit(f"calibration failed (exit {res.returncode}): {res.stderr[-500:]}")
    print(res.stdout.strip(), flush=True)


def _measured(row) -> float | None:
    """The measured seconds less the time the estimator itself took in the run."""
    m = row.get("seconds")
    return None if m is None else m - row.get("model_own_s", 0.0)


def _ratio(row) -> float | None:
    p, m = row.get("predicted_s"), _measured(row)
    return p / m if p and m else None


def _cell(row) -> str:
    if row is None:
        return "-"
    if row.get("status") != "ok" or row.get("predicted_s") is None:
        return row.get("status", "?")
    r = _ratio(row)
    flag = " **" if r is not None and not 1 / OFF <= r <= OFF else ""
    return (f"{row['predicted_s'] * 1e3:.1f} / {_measured(row) * 1e3:.1f} "
            f"({r:.2f}){flag}")


def _fmt_rate(cls, v) -> str:
    unit = {"matmul": "Gflop/s", "lapack": "Gflop/s", "fft": "Gflop/s", "sort": "Gcmp/s",
            "random": "Gvalues/s"}.get(cls, "GB/s")
    return f"{cls} {v / 1e9:.2f} {unit}"


def write_report(path: Path, meta: dict, rows: list, cal: dict) -> None:
    ranks = sorted({r["ranks"] for r in rows})
    by = {(r["workload"], r["ranks"]): r for r in rows}
    workloads = [w for w in data.WORKLOADS if any((w, n) in by for n in ranks)]
    k, net = cal.get("kernels", {}), cal.get("network", {})
    lines = [
        "# The time model against measured times",
        "",
        "`python -m bench.model_check` runs every lazyheat workload of `bench/` at "
        f"{', '.join(map(str, ranks))} ranks with `LAZYHEAT_MODEL={meta['network']}`: each "
        "plan a workload computes adds the time model's estimate "
        "(`lazyheat/graph/timemodel.py`) to a counter that the worker reads around each "
        "timed run. Cells: predicted / measured milliseconds (predicted / measured), the "
        f"median of {meta['repeats']} timed runs, measured less the estimator's own time "
        f"(plans that are not cached are estimated anew each run); `**` marks a ratio "
        f"beyond {OFF}x either way.",
        "",
        f"Machine: {meta['machine']}; {meta['started']}; lazyheat {meta['commit']}; "
        f"{'quick' if meta['quick'] else 'full'} sizes"
        + (f" x {meta['size_scale']}" if meta["size_scale"] != 1.0 else "") + ".",
        f"Calibration (`python -m lazyheat calibrate` on 2 ranks, {cal.get('created', '?')}): "
        + ", ".join(_fmt_rate(c, k[c]) for c in ("ewise", "math", "reduce", "moments", "copy",
                                                  "sort", "matmul", "lapack") if c in k)
        + f"; per plan {k.get('plan_s', 0) * 1e6:.0f} us, per step "
        f"{k.get('step_s', 0) * 1e6:.0f} us, per collective call "
        f"{k.get('comm_call_s', 0) * 1e6:.0f} us"
        + (f"; shared-memory MPI: latency {net['alpha_s'] * 1e6:.1f} us, "
           f"{net['bandwidth_Bps'] / 1e9:.2f} GB/s, {net['cores']} cores" if net else "")
        + ".",
        "",
        "The machine has 2 cores: at 3 and 4 ranks they are oversubscribed (the model "
        "multiplies its times by ranks / cores). Other programs ran on it at the same "
        f"time (load average {meta['load'][0]:.1f} at the start, {meta['load'][1]:.1f} at "
        "the end, for 2 cores): a rank that loses its core for a while holds up every "
        "collective, so measured times at 2 or more ranks are noisy and on the high side, "
        "and the calibration itself varies by up to 2x between runs.",
        "",
        "| workload | " + " | ".join(f"{n} rank{'s' if n > 1 else ''}" for n in ranks) + " |",
        "|---|" + "---|" * len(ranks),
    ]
    for w in workloads:
        lines.append(f"| {w} | " + " | ".join(_cell(by.get((w, n))) for n in ranks) + " |")
    ratios = {n: [_ratio(by[(w, n)]) for w in workloads if (w, n) in by and
                  _ratio(by[(w, n)])] for n in ranks}
    lines += ["", "Geometric mean of predicted / measured: " + ", ".join(
        f"{n} rank{'s' if n > 1 else ''} {statistics.geometric_mean(v):.2f}"
        for n, v in ratios.items() if v) + ".", ""]
    off = [w for w in workloads if (w, 2) in by and _ratio(by[(w, 2)]) and
           not 1 / OFF <= _ratio(by[(w, 2)]) <= OFF]
    lines += [f"## Off by more than {OFF}x at 2 ranks", ""]
    if not off:
        lines.append("None.")
    for w in off:
        r = by[(w, 2)]
        lines.append(f"- **{w}** ({_ratio(r):.2f}; {r.get('plans_per_run', '?')} plan(s) per "
                     f"run, {r.get('predicted_comm_s', 0) * 1e3:.2f} ms of it communication): "
                     + REASONS.get(w, "no analysis yet") + ".")
    lines += ["", NOTES]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


NOTES = """## What the model leaves out

- **Work outside plans.** The counter sees the plans `compute` runs (and gathers to NumPy);
  Python between them, NumPy work on small results (Lasso's coordinate descent, PCA's
  eigendecomposition, k-means' center bookkeeping) and graph building are not estimated.
  Iterative workloads therefore come out low.
- **Fixed costs are constants.** Planning from the cache, the rank handshake and the
  executor's loop are three calibrated constants (per plan, per step, per collective call);
  plans of many tiny steps depend on them alone.
- **Local work inside collectives.** A collective is priced by `commcost.comm_cost`
  (rounds, bytes, combined bytes). Collectives that also compute (the sample sort's local
  sort and merge, unique's counting, kNN's candidate routing) or pack and unpack large
  buffers (all-to-all) cost more than their communication.
- **One rate per class.** A GEMM with a short inner dimension, a sort of a different size,
  a small LAPACK call run at other rates than the one size calibrate measures.
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.model_check", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 3, 4])
    ap.add_argument("--workloads", nargs="+", default=["all"])
    ap.add_argument("--network", default="shm", help="the time model's network (default shm)")
    ap.add_argument("--full", action="store_true", help="the suite's full sizes (slow)")
    ap.add_argument("--size-scale", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per workload")
    ap.add_argument("--calibration", type=Path, default=None,
                    help="a calibration file to use (default: calibrate now, into --out)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "model")
    ap.add_argument("--report", type=Path, default=ROOT / "bench" / "MODEL.md")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--mpiexec", default=None)
    args = ap.parse_args(argv)
    args.quick = not args.full
    found = launcher.find_mpiexec(python=args.python)
    args.mpiexec = args.mpiexec or (shlex.join(found) if found else
                                    str(Path(args.python).parent / "mpiexec"))
    args.mpi_flavour = launcher.mpi_flavour(args.mpiexec)
    skip = missing("lazyheat")
    workloads = [w for w in (data.WORKLOADS if "all" in args.workloads else args.workloads)
                 if w not in skip]
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    rows = []
    with open(args.out / "worker.log", "w") as log:
        cal_path = args.calibration or args.out / "calibration.json"
        if args.calibration is None:
            calibrate(args, cal_path, log)
        os.environ["LAZYHEAT_MODEL"] = args.network
        os.environ["LAZYHEAT_CALIBRATION"] = str(Path(cal_path).resolve())
        for r in args.ranks:
            for row in run_one(args, "lazyheat", r, workloads, log):
                rows.append(row)
                shown = _cell(row) if row.get("status") == "ok" else row.get("reason", "")
                print(f"[{time.perf_counter() - t0:6.0f} s] R={r} {row['workload']:<14} "
                      f"{shown}", flush=True)
    meta = {"started": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": report.machine(),
            "commit": git_version(), "quick": args.quick, "size_scale": args.size_scale,
            "repeats": args.repeats, "network": args.network,
            "load": (load0, os.getloadavg()[0]),
            "wall_s": round(time.perf_counter() - t0, 1)}
    with open(args.out / "results.jsonl", "w") as f:
        f.write(json.dumps({"meta": meta}) + "\n")
        for row in rows:
            f.write(json.dumps(row) + "\n")
    cal = json.loads(Path(cal_path).read_text(encoding="utf-8"))
    write_report(args.report, meta, rows, cal)
    print(f"\n{len(rows)} rows in {meta['wall_s']} s; report: {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
