"""Predicted strong and weak scaling to 1024 ranks for the HeAT paper's workloads, lazyheat's
plans beside HeAT's communication pattern, both through one time model.

    python -m bench.scaling [--network heat] [--max-ranks 1024] [--out bench]

For each workload (k-means, statistical moments, Lasso, distance matrix) and each rank count
p = 1, 2, 4, ..., 1024 this plans lazyheat's computation for p ranks in this process
(``lh.FakeComm(p)``: no MPI, no data) and estimates it with ``graph.timemodel.estimate`` on
the chosen interconnect preset (default: the HeAT paper cluster's InfiniBand). HeAT's
algorithms are modelled the same way, step by step, from its source (HeAT 1.x):

- moments: ``mean`` all-reduces a (p x m) buffer of every rank's means and a p-vector of
  counts, ``var`` a (p x 3 x m) buffer, then merges the p states in a Python loop;
- k-means, per iteration: local distances to the k centers (``cdist`` with the quadratic
  expansion, as HeAT's KMeans) and argmin, then per cluster
  four eager elementwise passes over the block (``==``, cast, ``x * selection``, divide)
  and two all-reduces (the cluster's count and its coordinate sums);
- Lasso, per epoch: per feature j, ``x @ theta`` over the block, an elementwise residual
  and one all-reduced mean (HeAT's coordinate descent reads the data d times per epoch);
- distance matrix (X against itself): a ring of p - 1 exchanges of X's row blocks, each
  followed by the local distance block.

Both sides use the same kernel throughputs (the calibration file, else the shipped
defaults), network, per-call costs (HeAT pays ``EAGER_OP_S`` per eager op, measured on this
machine: ``../PERF-NOTES``) and MPI algorithm costs (``graph/commcost.py``). Strong scaling
fixes the global size, weak scaling the rows per rank. Writes ``SCALING.md`` (tables) and
``scaling.png`` (needs matplotlib) into ``--out``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import lazyheat as lh
from lazyheat.graph.commcost import CommCost, allreduce_cost
from lazyheat.graph.timemodel import estimate, kernel_table, network_of

EAGER_OP_S = 35e-6  # one eager HeAT op on a small array (dispatch, checks, wrapping)
MERGE_S = 10e-6     # one Python-level merge of two moment states in HeAT's loop

# (global rows, columns, extra) for strong scaling; rows per rank for weak scaling
STRONG = {"kmeans": (10_000_000, 16, 8), "moments": (100_000_000, 16, None),
          "lasso": (10_000_000, 64, None), "cdist": (40_000, 16, None)}
WEAK = {"kmeans": (1_000_000, 16, 8), "moments": (10_000_000, 16, None),
        "lasso": (1_000_000, 64, None), "cdist": (4_000, 16, None)}
ITERS = {"kmeans": 30, "lasso": 10}  # k-means iterations; Lasso epochs (HeAT's loop)


# ---------------------------------------------------------------- lazyheat's plans
def _plan_time(arrays, net, k) -> float:
    """A plan's predicted seconds, without filling its stand-in inputs (``lh.zeros`` on a
    fake communicator stands for data the user already holds)."""
    t = estimate(lh.plan(*arrays).outputs, network=net, kernels=k)
    return t.total_s - sum(s.seconds for s in t.steps if s.node.op == "full")


def _eager(builders, rows, cols, net, k) -> float:
    """Eager execution, HeAT's way: every op its own one-rank plan on a local block of
    ``rows`` x ``cols`` (the same kernels and throughputs as lazyheat's, nothing fused),
    plus ``EAGER_OP_S`` per op."""
    x = lh.zeros((rows, cols), dtype=lh.float32)
    return sum(_plan_time([b(x)], net, k) + EAGER_OP_S for b in builders)


def lazyheat_seconds(name, rows, cols, extra, p, net, k) -> float:
    """lazyheat's predicted time: its plans for p ranks through the time model."""
    c = lh.FakeComm(p)
    X = lh.zeros((rows, cols), dtype=lh.float32, split=0, comm=c)
    if name == "moments":
        return _plan_time([X.mean(axis=0), X.std(axis=0)], net, k)
    if name == "kmeans":
        C = lh.zeros((extra, cols), dtype=lh.float32, comm=c)
        return ITERS["kmeans"] * _plan_time(list(lh.center_stats(X, C)), net, k)
    if name == "lasso":
        # one pass: X^T X, X^T y and the sums in one plan; coordinate descent then runs on
        # the small replicated d x d problem (microseconds; not modelled)
        y = lh.zeros((rows, 1), dtype=lh.float32, split=0, comm=c)
        return _plan_time([X.T @ X, X.T @ y, X.sum(axis=0), y.sum(axis=0), (y * y).sum(0)],
                          net, k)
    import lazyheat.spatial as sp
    return _plan_time([sp.cdist(X, X)], net, k)


# ---------------------------------------------------------------- HeAT's pattern
def _comm(nbytes, p, net, k) -> float:
    c = allreduce_cost(nbytes, p)
    if c.rounds == 0:
        return 0.0
    return k.comm_call_s + net.seconds(c) + c.combine_bytes / k.reduce


def _ring(block_bytes, p, net, k) -> float:
    """p - 1 exchanges of one block each (point-to-point, one round each)."""
    c = CommCost("ring", p - 1, block_bytes * (p - 1))
    return (p - 1) * k.comm_call_s + net.seconds(c) if p > 1 else 0.0


def heat_seconds(name, rows, cols, extra, p, net, k) -> float:
    """HeAT's predicted time: its algorithm's steps (module docstring), local work as eager
    one-rank plans with the same throughputs, communication on the same network."""
    n = math.ceil(rows / p)  # the busiest rank's rows
    scale = max(1.0, p / net.cores) if net.cores else 1.0
    if name == "moments":
        t = _eager([lambda x: x.mean(axis=0), lambda x: x.var(axis=0)], n, cols, net, k)
        t += _comm(p * cols * 4, p, net, k) + _comm(p * 4, p, net, k)  # mean
        t += _comm(3 * p * cols * 4, p, net, k)  # var
        t += 2 * (p - 1) * MERGE_S
        return scale * t
    if name == "kmeans":
        kk = extra
        import lazyheat.spatial as sp
        C = lh.zeros((kk, cols), dtype=lh.float32)
        dist = lh.zeros((n, kk), dtype=lh.float32)
        per = _eager([lambda x: sp.cdist(x, C, quadratic_expansion=True),
                      lambda x: lh.argmin(dist, axis=1)], n, cols, net, k)
        lab = lh.zeros((n, 1), dtype=lh.int64)
        sel = lh.zeros((n, 1), dtype=lh.float32)
        cluster = _eager([lambda x: lab == 1, lambda x: sel.astype(lh.int64),
                          lambda x: x * sel, lambda x: sel.sum(axis=0),
                          lambda x: x / 3.0, lambda x: x.sum(axis=0)], n, cols, net, k)
        per += kk * (cluster + _comm(8, p, net, k) + _comm(cols * 4, p, net, k))
        return scale * ITERS["kmeans"] * per
    if name == "lasso":
        theta = lh.zeros((cols, 1), dtype=lh.float32)
        col = lh.zeros((n, 1), dtype=lh.float32)
        coord = _eager([lambda x: x @ theta, lambda x: col - col, lambda x: col * 2.0,
                        lambda x: col + col, lambda x: col * col, lambda x: col.mean()],
                       n, cols, net, k)
        per = cols * (coord + _comm(8, p, net, k))
        return scale * ITERS["lasso"] * per
    # cdist of X with itself: the local block against each rank's rows as they pass the
    # ring (HeAT's default: no quadratic expansion), one ring of p - 1 exchanges
    import lazyheat.spatial as sp
    other = lh.zeros((math.ceil(rows / p), cols), dtype=lh.float32)
    t = p * _eager([lambda x: sp.cdist(x, other, quadratic_expansion=False)], n, cols, net, k)
    return scale * (t + _ring(n * cols * 4, p, net, k))


# ---------------------------------------------------------------- driver
def run(network="heat", max_ranks=1024, out="bench") -> dict:
    net, k = network_of(network), kernel_table()
    ranks = [1 << i for i in range(int(math.log2(max_ranks)) + 1)]
    rows = {}
    for mode, sizes in (("strong", STRONG), ("weak", WEAK)):
        for name, (r, cols, extra) in sizes.items():
            for p in ranks:
                g = r if mode == "strong" else r * p
                rows[(mode, name, p)] = (lazyheat_seconds(name, g, cols, extra, p, net, k),
                                         heat_seconds(name, g, cols, extra, p, net, k))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "SCALING.md").write_text(_markdown(rows, ranks, net, k))
    _plot(rows, ranks, net, out / "scaling.png")
    return rows


def _markdown(rows, ranks, net, k) -> str:
    lines = ["# Predicted scaling to 1024 ranks", "",
             f"Made by `python -m bench.scaling --network {net.name}`: lazyheat's plans and "
             "HeAT's communication pattern through one time model "
             f"(`lazyheat/graph/timemodel.py`), network {net.name!r} ({net.note or ''}: "
             f"{net.alpha_s * 1e6:.1f} us, {net.bandwidth_Bps / 1e9:.1f} GB/s per rank), "
             f"kernels: {k.source}. One core per rank. See the module docstring of "
             "`bench/scaling.py` for how HeAT's steps are modelled.", ""]
    for mode, sizes in (("strong", STRONG), ("weak", WEAK)):
        what = "global size fixed" if mode == "strong" else "rows per rank fixed"
        lines += [f"## {mode.capitalize()} scaling ({what})", "",
                  "| workload | size | " + " | ".join(f"p={p}" for p in ranks) + " |",
                  "|---|---|" + "---:|" * len(ranks)]
        for name, (r, cols, extra) in sizes.items():
            size = f"{r:.0e} x {cols}" + (f", k={extra}" if extra else "") + \
                (" per rank" if mode == "weak" else "")
            lh_row = [rows[(mode, name, p)][0] for p in ranks]
            ht_row = [rows[(mode, name, p)][1] for p in ranks]
            lines.append(f"| {name} lazyheat (s) | {size} | " +
                         " | ".join(f"{t:.3g}" for t in lh_row) + " |")
            lines.append(f"| {name} HeAT (s) | | " +
                         " | ".join(f"{t:.3g}" for t in ht_row) + " |")
            lines.append(f"| {name} HeAT / lazyheat | | " +
                         " | ".join(f"{h / t:.1f}x" for t, h in zip(lh_row, ht_row)) + " |")
        lines.append("")
    return "\n".join(lines)


def _plot(rows, ranks, net, path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, axes = plt.subplots(2, 4, figsize=(16, 7), sharex=True)
    for i, (mode, sizes) in enumerate((("strong", STRONG), ("weak", WEAK))):
        for j, name in enumerate(sizes):
            ax = axes[i][j]
            for col, label, style in ((0, "lazyheat", "o-"), (1, "HeAT (modelled)", "s--")):
                ax.plot(ranks, [rows[(mode, name, p)][col] for p in ranks], style,
                        label=label)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_title(f"{name}, {mode} scaling")
            ax.set_xlabel("ranks")
            ax.set_ylabel("predicted seconds")
            ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend()
    fig.suptitle(f"Predicted time on {net.name} ({net.note or ''})")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__.split(
        "\n\n")[0])
    ap.add_argument("--network", default="heat", help="a preset of graph.timemodel "
                    "(heat, edr, 100gbe, shm)")
    ap.add_argument("--max-ranks", type=int, default=1024)
    ap.add_argument("--out", default=str(Path(__file__).parent))
    a = ap.parse_args(argv)
    run(a.network, a.max_ranks, a.out)
    print(f"wrote {Path(a.out) / 'SCALING.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
