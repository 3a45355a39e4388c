"""Turn ``results.jsonl`` into ``RESULTS.md`` (tables of seconds and ratios) and
``ratios.png`` (a bar chart of lazyheat / peer; needs matplotlib, skipped without it).

``python -m bench.report [OUT]`` redraws the report of an earlier run.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import sys
from pathlib import Path

from . import data

ORDER = ["lazyheat", "lazyheat-compiled", "heat", "dask-dist", "dask-threads", "numpy", "torch",
         "sklearn"]
THREADS = {"lazyheat": "mpiexec -n R, 1 torch thread per rank",
           "lazyheat-compiled": "as lazyheat, with LAZYHEAT_FUSED_TIER=compile",
           "heat": "mpiexec -n R, 1 torch thread per rank",
           "dask-dist": "LocalCluster: R worker processes x 1 thread",
           "dask-threads": "threaded scheduler, R threads (1 BLAS thread each)",
           "numpy": "1 process, R BLAS threads (elementwise loops are single-threaded)",
           "torch": "1 process, R intra-op threads", "sklearn": "1 process, R threads"}


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    except (OSError, ValueError):
        mem = float("nan")
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB"


def _rel(path: str) -> str:
    """A path inside the checkout, relative to it (the report says nothing of the machine's
    directory layout)."""
    root = str(Path(__file__).resolve().parent.parent)
    return path[len(root) + 1:] if path.startswith(root + "/") else path


def load(path: Path):
    meta, rows = {}, []
    for line in open(path):
        obj = json.loads(line)
        if "meta" in obj:
            meta = obj["meta"]
        else:
            rows.append(obj)
    return meta, rows


def _cell(row, fmt="{:.3f}"):
    if row is None:
        return ""
    if row["status"] == "ok":
        return fmt.format(row["seconds"])
    if row["status"] == "bad-checksum" and "seconds" in row:  # timed, but see the notes
        return fmt.format(row["seconds"]) + " †"
    return {"n/a": "n/a", "bad-checksum": "**BAD**"}.get(row["status"], row["status"])


def _per_op(row) -> float:
    """Seconds per operation where a run counts its operations (``overhead``, whose loop
    length differs between libraries), else seconds."""
    return row["seconds"] / row.get("extra", {}).get("ops", 1)


def _timed(row) -> bool:
    return row is not None and "seconds" in row and row["seconds"] > 0 and \
        row["status"] in ("ok", "bad-checksum")


def _table(head, body) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in line) + " |" for line in body]
    return out + [""]


def _ratios(index, base, cols, workloads, ranks):
    """Table rows of ``base`` / column at the same R, and {(workload, column, R): ratio}."""
    body, chart = [], {}
    for w in [w for w in workloads if w != "bandwidth"]:  # a property of the machine
        for r in ranks:
            lhr = index.get((base, w, r))
            cells = []
            for c in cols:
                pr = index.get((c, w, r))
                if _timed(lhr) and _timed(pr):
                    q = _per_op(lhr) / _per_op(pr)
                    mark = " †" if "bad-checksum" in (lhr["status"], pr["status"]) else ""
                    cells.append(f"{q:.2f}{mark}")
                    chart[(w, c, r)] = q
                else:
                    cells.append("")
            body.append([w, r] + cells)
    return body, chart


def _memory_cell(row) -> str:
    """Extra peak over the inputs: MiB, and percent of this process's input bytes."""
    if not row or row.get("status") not in ("ok", "bad-checksum") or "input_bytes" not in row:
        return ""
    if row.get("compute_peak") is None:
        return "not measured"
    mib = 2 ** 20
    pct = f"{100 * row['compute_peak_frac']:.0f}%" if row["input_bytes"] else "-"
    return f"{row['compute_peak'] / mib:.1f} ({pct} of {row['input_bytes'] / mib:.1f})"


def _note(x) -> str:
    """The notes column: what the library was told, an iterative solver's iteration count,
    and for lazyheat-compiled the warm-up runs, which include compiling and so are the cost
    a first use pays."""
    text = x.get("notes") if x["status"] == "ok" else x.get("reason")
    its = (x.get("extra") or {}).get("iterations")
    if x["status"] == "ok" and its is not None:  # an iterative solver's (cg)
        text = (text + "; " if text else "") + f"{its} iterations"
    if x["status"] == "ok" and x["config"] == "lazyheat-compiled" and x.get("warmup_s"):
        # the tier compiles when a plan comes round again: the second run may hold most of it
        nth = ["first run", "second", "third"]
        warm = ", ".join(f"{nth[i] if i < 3 else f'run {i + 1}'} {t:.3f} s"
                         for i, t in enumerate(x["warmup_s"]))
        text = (text + "; " if text else "") + f"warm-up, including compilation: {warm}"
    return text


def _memory(rows, index, configs, workloads, ranks) -> list[str]:
    """The table of each run's extra peak over its inputs (``bench/memory.py``)."""
    md = ["## Extra peak memory per rank over the inputs", "",
          "MiB (percent of the process's own inputs, MiB): the peak resident set minus the "
          "resident set just before the run, with the kernel's peak reset there "
          "(`/proc/self/clear_refs`); the largest over the timed runs and one more untimed "
          "run for which the allocator first hands back the memory it keeps for reuse "
          "(`malloc_trim`: reused pages would not count), and over the ranks. The inputs are "
          "the rank's rows under MPI, the whole input in one process, and a balanced 1/R "
          "share per dask-dist worker (the peak is measured in every worker).", ""]
    mem_rows = [[w, r] + [_memory_cell(index.get((c, w, r))) for c in configs]
                for w in workloads for r in ranks]
    md += _table(["workload", "R"] + configs, mem_rows)
    for measured, head in ((False, "not measured: "), (True, "")):
        why = sorted({x["compute_peak_note"] for x in rows if x.get("compute_peak_note")
                      and (x.get("compute_peak") is not None) == measured})
        if why:
            md += [head + "; ".join(why), ""]
    return md


def _bandwidth(index, r):
    """Copy bandwidth (bytes/s, read + write) at R threads: torch's, else NumPy's."""
    for cfg in ("torch", "numpy"):
        row = index.get((cfg, "bandwidth", r))
        if row and row["status"] == "ok":
            return 2 * row["params"]["n"] * 4 / row["seconds"]
    return None


def write(out: Path, publish: Path | None = None) -> Path:
    meta, rows = load(out / "results.jsonl")
    shown = [r for r in rows if not r.get("reference_only")]
    configs = [c for c in ORDER if any(r["config"] == c for r in shown)]
    peers = [c for c in configs if not c.startswith("lazyheat")]
    ranks = sorted({r["ranks"] for r in shown})
    workloads = [w for w in data.WORKLOADS if any(r["workload"] == w for r in shown)]
    index = {(r["config"], r["workload"], r["ranks"]): r for r in rows}
    versions = {}
    for r in rows:
        versions.update(r.get("versions") or {})
    md = ["# lazyheat benchmarks", ""]
    md += [f"- date: {meta.get('started', '?')}; total wall time {meta.get('wall_s', '?')} s",
           f"- machine: {meta.get('machine', machine())}; {meta.get('platform', '')}",
           "- versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
           + f"; lazyheat at commit {meta.get('lazyheat_commit', '?')}",
           f"- command: `{meta.get('argv', '?')}` (python: `{_rel(meta.get('python', '?'))}`)",
           f"- {'--quick sizes' if meta.get('quick') else 'default sizes'}"
           + (f", scaled by {meta['size_scale']}" if meta.get("size_scale", 1) != 1 else "")
           + (f"\n- note: {meta['note']}" if meta.get("note") else "")
           + f"\n- median of {meta.get('repeats', 3)} timed runs after one warm-up (two for "
           "lazyheat-compiled); data generation not timed; every checksum compared with "
           "NumPy's", ""]
    md += ["Seconds are medians; R is the number of MPI ranks, Dask workers or threads. "
           "Ratios are lazyheat / peer (and lazyheat-compiled / peer) at the same R: below 1 "
           "lazyheat is faster.", ""]
    md += ["## Seconds", ""]
    md += _table(["workload", "R"] + configs,
                 [[w, r] + [_cell(index.get((c, w, r))) for c in configs]
                  for w in workloads for r in ranks])
    md += ["† timed, but the result's checksum differs from NumPy's by more than the tolerance "
           "(the notes below give the size); its ratio is shown with the same mark.", ""]
    md += ["## Ratios lazyheat / peer", ""]
    ratio_rows, chart = _ratios(index, "lazyheat", peers, workloads, ranks)
    md += _table(["workload", "R"] + peers, ratio_rows)
    if "lazyheat-compiled" in configs:
        cols = [c for c in configs if c != "lazyheat-compiled"]
        md += ["## Ratios lazyheat-compiled / peer", "",
               "lazyheat with `LAZYHEAT_FUSED_TIER=compile`; the `lazyheat` column is the "
               "compile tier against the default one. Its warm-up runs, compilation included, "
               "are in the notes.", ""]
        md += _table(["workload", "R"] + cols,
                     _ratios(index, "lazyheat-compiled", cols, workloads, ranks)[0])
    md += ["## Elementwise workloads against the memory bound", "",
           "Bound: the bytes the workload must move (ewise_chain reads a and b; moments reads "
           "X; standardize reads X twice and writes Z) at the copy bandwidth measured at the "
           "same R (`bandwidth` row). Fraction = bound / measured time (1 is the bound).", ""]
    body = []
    for w in ("ewise_chain", "moments", "standardize"):
        for r in ranks:
            bw = _bandwidth(index, r)
            if w not in workloads or bw is None:
                continue
            p = next((x["params"] for x in rows if x["workload"] == w and "params" in x), None)
            bound = data.MIN_TRAFFIC[w](p) / bw
            cells = []
            for c in configs:
                x = index.get((c, w, r))
                cells.append(f"{bound / x['seconds']:.2f}" if x and x["status"] == "ok" else "")
            body.append([w, r, f"{bw / 1e9:.1f} GB/s", f"{bound:.3f}"] + cells)
    md += _table(["workload", "R", "copy bandwidth", "bound s"] + configs, body)
    md += ["## Per-operation overhead", "",
           "10-operation graph on 1000-element arrays, repeated; microseconds per operation. "
           "lazyheat: build = building the graph only; cold = build + plan + run of a graph "
           "of a new shape each time; warm = the same graph again (what the tables time). "
           "Small call: ``((a * 2 + 1) - a).sum()`` on 10 elements to a Python float, "
           "microseconds per call; new shape = a new length each call (lazyheat reuses "
           "the plan of another length, resized).", ""]
    body = []
    for r in ranks:
        for c in configs:
            x = index.get((c, "overhead", r))
            if not x or x["status"] != "ok":
                continue
            e = x.get("extra", {})
            per = x["seconds"] / e.get("ops", 1) * 1e6
            body.append([c, r, f"{per:.1f}"] + [f"{e[k]:.1f}" if k in e else "" for k in
                        ("build_us_per_node", "cold_us_per_node", "warm_us_per_node",
                         "call_us", "new_shape_call_us")])
    md += _table(["library", "R", "us/op (timed)", "build us/node", "cold us/node",
                  "warm us/node", "small call us", "small call, new shape us"], body)
    md += _overlap(index, configs, ranks)
    md += ["## Peak RSS per process (MiB)", "",
           "Largest over the ranks or Dask workers; includes data generation"
           + (" and, with --quick, every workload before it in the same process."
              if meta.get("quick") else "."), ""]
    md += _table(["workload", "R"] + configs,
                 [[w, r] + [f"{index[(c, w, r)]['peak_rss_mb']:.0f}"
                            if "peak_rss_mb" in index.get((c, w, r), {}) else ""
                            for c in configs] for w in workloads for r in ranks])
    if any("input_bytes" in x for x in rows):  # runs from before the measure have none
        md += _memory(rows, index, configs, workloads, ranks)
    md += ["## Threads per process", ""]
    md += _table(["configuration", "threads"], [[c, THREADS[c]] for c in configs])
    md += ["## Notes: what each library was told, and why some cannot run", ""]
    notes = {}
    for x in shown:
        text = _note(x)
        if text:
            notes.setdefault((x["workload"], x["config"], x["status"], text), []).append(
                x["ranks"])
    md += _table(["workload", "library", "status", "R", "note"],
                 [[w, c, s, ",".join(map(str, sorted(set(rs)))), t.replace("|", "/")]
                  for (w, c, s, t), rs in sorted(notes.items(), key=lambda kv: (
                      data.WORKLOADS.index(kv[0][0]), ORDER.index(kv[0][1])))])
    md += ["## Sizes", ""]
    md += [f"- `{w}`: " + ", ".join(f"{k}={v}" for k, v in p.items())
           for w, p in meta.get("sizes", {}).items()] + [""]
    fusion_md = out / "fusion.md"
    if fusion_md.exists():
        md += ["## Fused elementwise chains (`python -m bench.fusion_tiers`)", "",
               fusion_md.read_text(), ""]
    png = _chart(chart, out / "ratios.png", peers, ranks,
                 [w for w in workloads if w != "bandwidth"])
    if png:
        md.insert(2, "![lazyheat / peer](ratios.png)\n")
    path = out / "RESULTS.md"
    path.write_text("\n".join(md))
    if publish is not None:
        shutil.copy(path, publish / "RESULTS.md")
        if png:
            shutil.copy(png, publish / "ratios.png")
    return path


def _overlap(index, configs, ranks) -> list[str]:
    """The ``overlap`` workload's side-by-side runs with LAZYHEAT_OVERLAP=1 and =0, and the
    time model's gain from overlap on 64 and 1024 ranks (``passes.schedule.modelled_times``)."""
    body = []
    for r in ranks:
        for c in configs:
            x = index.get((c, "overlap", r))
            e = (x or {}).get("extra") or {}
            if not x or x["status"] != "ok" or "on_s" not in e:
                continue
            model = e.get("modelled", {})
            body.append([c, r, f"{e['on_median_s'] * 1e3:.1f}", f"{e['off_median_s'] * 1e3:.1f}",
                         f"{e['on_min_s'] * 1e3:.1f}", f"{e['off_min_s'] * 1e3:.1f}",
                         f"{len(e['on_s'])}"] +
                        [f"{model[k]['speedup']:.2f}x" if k in model else "" for k in
                         ("64", "1024")])
    if not body:
        return []
    return ["## Overlap of communication and compute", "",
            "The `overlap` workload with `LAZYHEAT_OVERLAP=1` (on) and `=0` (off), alternating "
            "in one process (ms, median and fastest of the runs), and the time model's "
            "speedup from overlap for the same problem on 64 and 1024 ranks.", ""] + _table(
        ["library", "R", "on ms", "off ms", "on min", "off min", "runs", "model 64",
         "model 1024"], body)


def _chart(chart, path: Path, peers, ranks, workloads):
    """Grouped bars of lazyheat / peer per workload, log scale; None without matplotlib."""
    if not chart:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    series = [(c, r) for r in ranks for c in peers if any((w, c, r) in chart for w in workloads)]
    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(workloads)), 4.5))
    width = 0.85 / max(1, len(series))
    for i, (c, r) in enumerate(series):
        xs = [k + i * width for k, w in enumerate(workloads) if (w, c, r) in chart]
        ys = [chart[(w, c, r)] for w in workloads if (w, c, r) in chart]
        ax.bar(xs, ys, width, label=f"{c} R={r}", hatch="" if r == ranks[0] else "//")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks([k + 0.425 - width / 2 for k in range(len(workloads))])
    ax.set_xticklabels(workloads, rotation=30, ha="right")
    ax.set_ylabel("lazyheat time / peer time (log; < 1: lazyheat faster)")
    lo = min(chart.values())
    hi = max(chart.values())
    ax.set_ylim(10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi)))
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results"
    print(write(target))
