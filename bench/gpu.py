"""lazyheat on one GPU against torch on the same GPU, side by side in one process.

    python -m bench.gpu [--scale S] [--repeat N] [--json PATH]

Each workload runs the same data through: torch eager (the kernels lazyheat calls), torch
eager followed by ``torch.compile`` of the same function (the best a user gets by hand), and
lazyheat on its default tier and on ``LAZYHEAT_FUSED_TIER=compile``. Every row is the median
of ``--repeat`` runs after warm-up runs (two for the compiled variants: lazyheat compiles a
fused group when its plan repeats), timed with ``torch.cuda.synchronize`` around each run.
Results are checked against torch eager. Needs CUDA; one rank (several ranks on one GPU only
share it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch

import lazyheat as lh

DEVICE = "cuda"


def _sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def _time(fn, args, warm, repeat):
    for _ in range(warm):
        fn(*args)
    _sync()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        _sync()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def _value(x):
    if isinstance(x, (tuple, list)):
        return sum(_value(v) for v in x)
    if isinstance(x, lh.LazyArray):
        x = x.larray
    return float(x.double().abs().sum())


def workloads(scale):
    n = int(1e8 * scale)
    rows = int(3.2e7 * scale)
    g = torch.Generator(device=DEVICE).manual_seed(0)

    def rand(*shape):
        return torch.rand(*shape, device=DEVICE, generator=g)

    a, b = rand(n), rand(n)
    X = rand(rows, 16)
    G = rand(rows, 32)
    C = rand(int(2e4 * scale ** 0.5), 32)

    def std(x, axis=None):  # NumPy's ddof=0 for torch tensors and lazy arrays alike
        if isinstance(x, torch.Tensor):
            return x.std(correction=0) if axis is None else x.std(axis, correction=0)
        return x.std() if axis is None else x.std(axis)

    def chain(a, b):
        return ((a * 2 + b) / (a + 1)).exp().sum()

    def standardize(X):
        return (X - X.mean(0)) / std(X, 0)

    def moments(X):
        return (X.mean(), std(X), X.mean(0), std(X, 0), X.mean(1), std(X, 1))

    def gram(X):
        return X.T @ X

    def cdist(X):
        sq = (X * X).sum(1)
        d2 = sq[:, None] + sq[None, :] - 2 * (X @ X.T)
        return torch.sqrt(torch.clamp(d2, min=0))

    def lh_cdist(X):
        sq = (X * X).sum(1)
        d2 = sq[:, None] + sq[None, :] - 2 * (X @ X.T)
        return lh.sqrt(lh.maximum(d2, 0)).compute()

    return [
        ("ewise_chain", f"n={n:.0e}", chain, (a, b), lambda a, b: chain(a, b).compute()),
        ("standardize", f"{rows:.1e}x16", standardize, (X,),
         lambda X: standardize(X).compute()),
        ("moments", f"{rows:.1e}x16", moments, (X,), lambda X: lh.compute(*moments(X))),
        ("gram", f"{rows:.1e}x32", gram, (G,), lambda X: gram(X).compute()),
        ("cdist", f"{C.shape[0]}x32", cdist, (C,), lh_cdist),
    ]


def _row(workload, repeat):
    name, size, fn, inputs, lh_fn = workload
    t_torch, ref = _time(fn, inputs, 1, repeat)
    t_tc, _ = _time(torch.compile(fn), inputs, 2, repeat)
    arrays = [lh.from_local(t, split=0) for t in inputs]
    times, diffs = {}, []
    want = _value(ref)
    for tier in ("pooled", "compile"):
        os.environ["LAZYHEAT_FUSED_TIER"] = tier
        lh.clear_plan_cache()
        times[tier], out = _time(lh_fn, arrays, 2, repeat)
        diffs.append(abs(_value(out) - want) / max(abs(want), 1e-30))
    row = {"workload": name, "size": size, "torch": t_torch, "torch_compile": t_tc,
           "lazyheat": times["pooled"], "lazyheat_compile": times["compile"],
           "max_rel_diff": max(diffs), "device": _device_name()}
    print(f"| {name} | {size} | {t_torch:.4f} | {t_tc:.4f} | {times['pooled']:.4f} | "
          f"{times['compile']:.4f} | {times['pooled'] / t_torch:.2f} | "
          f"{times['compile'] / t_torch:.2f} | {max(diffs):.1e} |", flush=True)
    if DEVICE == "cuda":
        torch.cuda.empty_cache()
    return row


def _device_name():
    return torch.cuda.get_device_name() if DEVICE == "cuda" else "cpu"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every size")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", default=None, help="also write the rows here")
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"),
                    help="cpu only checks this script itself on small sizes")
    args = ap.parse_args(argv)
    global DEVICE
    DEVICE = args.device
    if DEVICE == "cuda" and not torch.cuda.is_available():
        raise SystemExit("bench.gpu needs a CUDA device")
    print(f"# {_device_name()}, torch {torch.__version__}, lazyheat "
          f"{lh.__version__}; median of {args.repeat}, seconds")
    print("| workload | size | torch | torch.compile | lazyheat | lazyheat compile | "
          "lazyheat/torch | compile/torch | max rel diff |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = [_row(w, args.repeat) for w in workloads(args.scale)]
    os.environ.pop("LAZYHEAT_FUSED_TIER", None)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
