"""``python -m lazyheat demo``: a small batch-analytics pipeline on generated data.

Standardizes a tall matrix, computes its moments and its Gram matrix X.T @ X, prints the plan
(rank 0) and the results, and checks them against NumPy. Works as one rank or under
``mpiexec -n N``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def demo(rows: int, cols: int, seed: int) -> int:
    import lazyheat as lh

    comm = lh.world()
    say = print if comm.rank == 0 else (lambda *a, **k: None)
    t0 = time.perf_counter()
    x = lh.random.randn(rows, cols, split=0, seed=seed) * 3.0 + 1.0
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
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lazyheat", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="run the batch-analytics demo")
    d.add_argument("--rows", type=int, default=200_000)
    d.add_argument("--cols", type=int, default=8)
    d.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    return demo(args.rows, args.cols, args.seed)


if __name__ == "__main__":
    sys.exit(main())
