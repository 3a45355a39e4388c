"""How lazyheat should run fused elementwise groups: the measurements behind its defaults.

For chains of 2, 4 and 8 elementwise ops closed by a sum, on 1e5 to 1e8 float32 elements, in
one process with one thread (what each rank of ``mpiexec -n <cores>`` gets), this times:

- ``torch``: eager torch, one temporary per op; ``numpy``: the same with NumPy;
- ``unfused``: lazyheat with fusion off (``LAZYHEAT_FUSE=0``: one kernel per op);
- ``whole``: fused, evaluated on whole arrays (``LAZYHEAT_CHUNK=0``);
- ``alloc@C`` / ``pooled@C``: fused and chunked by C elements, each op allocating its chunk
  result, or writing with ``out=`` into chunk buffers reused in place along the chain
  (``LAZYHEAT_FUSED_TIER``);
- ``compile``: the opt-in ``torch.compile`` tier (``LAZYHEAT_FUSED_TIER=compile``), timed
  after the runs that compile it (it compiles when a plan repeats);
- ``cjit``: the default pooled tier with its C kernels (``runtime/cjit.py``), timed once
  compiled; the ``pooled@C`` rows run with ``LAZYHEAT_JIT=0``.

``--first-runs`` instead times runs 1, 2 and 3 of each chain in a fresh process state and
a cold kernel cache, ``LAZYHEAT_JIT=0`` beside ``LAZYHEAT_JIT=1`` (its first run includes
starting the background compile).

Run: ``python -m bench.fusion_tiers [--sizes 1e5 1e6 1e7 1e8] [--repeats 5] [--out FILE]
[--configs pooled@256K compile]``.
It prints a markdown table of median seconds, and the memory-copy bandwidth bound (bytes the
chain must read / measured copy bandwidth) for reference.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch

import lazyheat as lh

CHAINS = {
    2: lambda a, b, m: (a * 2 + b),
    4: lambda a, b, m: (a * 2 + b) / (a + 1),
    8: lambda a, b, m: m.sqrt(m.abs((((a * 2 + b) / (a + 1)) - b) * 0.5 + 1)) * a,
}


class _NP:
    sqrt, abs, exp = staticmethod(np.sqrt), staticmethod(np.abs), staticmethod(np.exp)


class _Torch:
    sqrt, abs, exp = staticmethod(torch.sqrt), staticmethod(torch.abs), staticmethod(torch.exp)


class _LH:
    sqrt, abs, exp = staticmethod(lh.sqrt), staticmethod(lh.abs), staticmethod(lh.exp)


def _median(fn, repeats, warm=1):
    for _ in range(warm):  # warm-up (the plan cache; compilation for the compile tier)
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _copy_bandwidth(n=50_000_000):
    src = torch.rand(n)
    dst = torch.empty_like(src)
    t = _median(lambda: dst.copy_(src), 5)
    return 2 * src.numel() * src.element_size() / t  # read + write


def _configs(chunks):
    out = [("unfused", {"LAZYHEAT_FUSE": "0"}), ("whole", {"LAZYHEAT_CHUNK": "0"})]
    for tier in ("alloc", "pooled"):
        for c in chunks:
            out.append((f"{tier}@{c // 1024}K", {"LAZYHEAT_FUSED_TIER": tier,
                                                   "LAZYHEAT_CHUNK": str(c),
                                                   "LAZYHEAT_JIT": "0"}))
    out.append(("compile", {"LAZYHEAT_FUSED_TIER": "compile"}))
    out.append(("cjit", {"LAZYHEAT_JIT": "1"}))
    return out


def _with_env(env, fn):
    old = {k: os.environ.get(k) for k in ("LAZYHEAT_FUSE", "LAZYHEAT_CHUNK",
                                          "LAZYHEAT_FUSED_TIER", "LAZYHEAT_JIT")}
    for k in old:
        os.environ.pop(k, None)
    os.environ.update(env)
    lh.clear_plan_cache()
    try:
        return fn()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        lh.clear_plan_cache()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6, 1e7, 1e8])
    ap.add_argument("--chains", nargs="+", type=int, default=[2, 4, 8])
    ap.add_argument("--chunks", nargs="+", type=int, default=[1 << 14, 1 << 16, 1 << 18])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None, help="also write the table to this file")
    ap.add_argument("--configs", nargs="+", default=None,
                    help="only these lazyheat configurations (names as in the table)")
    ap.add_argument("--first-runs", action="store_true",
                    help="runs 1-3 with a cold kernel cache, LAZYHEAT_JIT=0 and 1")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    if args.first_runs:
        return first_runs(args.sizes, args.chains)
    configs = [c for c in _configs(args.chunks) if args.configs is None or c[0] in args.configs]
    names = ["numpy", "torch"] + [c for c, _ in configs]
    bw = _copy_bandwidth()
    rows = []
    for n in (int(s) for s in args.sizes):
        g = torch.Generator().manual_seed(0)
        at, bt = torch.rand(n, generator=g), torch.rand(n, generator=g)
        an, bn = at.numpy(), bt.numpy()
        a, b = lh.asarray(at), lh.asarray(bt)
        for k in args.chains:
            row = _measure(CHAINS[k], (an, bn), (at, bt), (a, b), configs, args.repeats)
            row.update({"n": n, "ops": k + 1, "bound": 2 * n * 4 / bw})  # read a, b once
            rows.append(row)
            print(_fmt_row(row, names), flush=True)
    table = _table(rows, names, bw)
    print(table)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(table + "\n")


def first_runs(sizes, chains):
    """Seconds of runs 1, 2 and 3 of each chain (closed by a sum), each in a fresh plan
    cache and, for the C tier, a fresh kernel cache: the cost of the tier's start."""
    import tempfile

    from lazyheat.runtime import cjit
    print("| elements | ops | jit | run 1 | run 2 | run 3 |\n|---|---|---|---|---|---|")
    for n in (int(s) for s in sizes):
        g = torch.Generator().manual_seed(0)
        a, b = lh.asarray(torch.rand(n, generator=g)), lh.asarray(torch.rand(n, generator=g))
        for k in chains:
            for jit in ("0", "1"):
                with tempfile.TemporaryDirectory() as cache:
                    cjit._LIBS.clear()

                    def run(k=k, a=a, b=b):
                        t0 = time.perf_counter()
                        float(CHAINS[k](a, b, _LH).sum())
                        return time.perf_counter() - t0
                    env = {"LAZYHEAT_JIT": jit, "LAZYHEAT_CACHE_DIR": cache}
                    old = {v: os.environ.get(v) for v in env}
                    os.environ.update(env)
                    lh.clear_plan_cache()
                    try:
                        times = [run() for _ in range(3)]
                        cjit.drain()
                    finally:
                        for v, x in old.items():
                            os.environ.pop(v, None) if x is None else \
                                os.environ.__setitem__(v, x)
                print(f"| {n:.0e} | {k + 1} | {jit} | " +
                      " | ".join(f"{t:.4f}" for t in times) + " |", flush=True)


def _measure(f, np_in, torch_in, lh_in, configs, repeats) -> dict:
    """Median seconds of chain ``f`` closed by a sum, for every library and tier."""
    row = {"numpy": _median(lambda: float(f(*np_in, _NP).sum()), repeats),
           "torch": _median(lambda: float(f(*torch_in, _Torch).sum()), repeats)}
    for name, env in configs:
        warm = 2 if env.get("LAZYHEAT_FUSED_TIER") == "compile" else 1
        row[name] = _with_env(env, lambda w=warm: _median(
            lambda: float(f(*lh_in, _LH).sum()), repeats, w))
    return row


def _fmt_row(row, names):
    best = min(names, key=lambda c: row[c])
    return f"n={row['n']:.0e} ops={row['ops']}: best {best} {row[best]:.4f} s"


def _table(rows, names, bw):
    head = ["elements", "ops"] + names + ["copy bound"]
    lines = [f"Fused-kernel tiers, median seconds, 1 thread, float32, chains closed by a sum "
             f"({time.strftime('%Y-%m-%d')}, {platform.machine()}, torch {torch.__version__}, "
             f"copy bandwidth {bw / 1e9:.1f} GB/s)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        best = min(names, key=lambda c: r[c])
        cells = [f"{r['n']:.0e}", str(r["ops"])]
        cells += [(f"**{r[c]:.4f}**" if c == best else f"{r[c]:.4f}") for c in names]
        cells.append(f"{r['bound']:.4f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
