"""lazyheat under ``mpiexec -n R``, one torch thread per rank.

Each rank generates only its own block of rows and hands it over with ``lh.from_local``.
Every workload is written with the public array API and ends in ``compute()`` (or
``lh.compute`` for several results), which is what is timed.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import torch

import lazyheat as lh
from lazyheat import predicted
from lazyheat.runtime import sync

from .. import data
from ..common import Case
from .numpy_impl import (
    call_us,
    lasso_checksum,
    new_shape_call_us,
    overhead_chain,
    overlap_reduction,
    small_call,
)

MISSING = {"bandwidth": "measured with torch (the same kernels)"}


def versions():
    return {"lazyheat": lh.__version__, "torch": torch.__version__}


def model_reset(ctx):
    """Zero the time model's counter (on with LAZYHEAT_MODEL=<network>; else nothing)."""
    r = predicted.active()
    if r is not None:
        r.reset()


def model_seconds(ctx):
    """(predicted seconds, of them communicating, plans, seconds spent estimating) since
    ``model_reset``, or None when the model is off."""
    r = predicted.active()
    return None if r is None else (r.seconds, r.comm_seconds, r.plans, r.own_seconds)


def _rows(ctx, n):
    return data.rows_of(n, ctx.rank, ctx.nranks)


def _local(block):
    return lh.from_local(torch.from_numpy(np.ascontiguousarray(block)), split=0)


def _sum(x):
    return float(x.astype(lh.float64).sum().item())


def ewise_chain(ctx, p):
    a, b = map(_local, data.ewise_inputs(p, *_rows(ctx, p["n"])))
    return Case(lambda: ((a * 2 + b) / (a + 1)).exp().sum().compute(), lambda s: s.item())


def moments(ctx, p):
    X = _local(data.matrix(3, p["rows"], p["cols"], *_rows(ctx, p["rows"])))

    def run():
        return lh.compute(X.mean(), X.std(), X.mean(0), X.std(0), X.mean(1), X.std(1))
    return Case(run, lambda r: sum(_sum(v) for v in r),
                notes="the six results in one lh.compute")


def standardize(ctx, p):
    X = _local(data.matrix(3, p["rows"], p["cols"], *_rows(ctx, p["rows"])))
    return Case(lambda: ((X - X.mean(0)) / X.std(0)).compute(), lambda Z: _sum(abs(Z)))


def gram(ctx, p):
    X = _local(data.matrix(4, p["rows"], p["cols"], *_rows(ctx, p["rows"])))
    return Case(lambda: (X.T @ X).compute(), _sum)


def cdist(ctx, p):
    from lazyheat.spatial import cdist as lh_cdist

    X = _local(data.matrix(5, p["rows"], p["cols"], *_rows(ctx, p["rows"])))
    return Case(lambda: lh_cdist(X, X).compute(), _sum,
                notes="lh.spatial.cdist (quadratic expansion, one GEMM; the planner decides "
                "how X reaches every rank)")


def kmeans(ctx, p):
    from lazyheat.cluster import KMeans

    k = p["k"]
    X = _local(data.kmeans_points(p, *_rows(ctx, p["rows"])))
    C0 = data.kmeans_points(p, 0, k)  # the first k points, on every rank

    def run():
        model = KMeans(n_clusters=k, init=C0, n_init=1, max_iter=p["iters"], tol=0)
        return model.fit(X).cluster_centers_
    return Case(run, lambda C: float(np.sum(C, dtype=np.float64)),
                notes="lh.cluster.KMeans(init=first k points, tol=0): one nearest-center pass "
                "and one all-reduce per iteration")


def lasso(ctx, p):
    from lazyheat.regression import Lasso

    Xn, yn = data.lasso_inputs(p, *_rows(ctx, p["rows"]))
    X, y = _local(Xn[:, 1:]), _local(yn)  # column 0 is the intercept: fit_intercept instead

    def run():  # scikit-learn's objective and sweeps, on one distributed Gram pass
        model = Lasso(alpha=p["lam"], fit_intercept=True, max_iter=p["iters"], tol=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
        return np.concatenate([[model.intercept_], model.coef_])
    return Case(run, lasso_checksum, tol=2e-2,
                notes="lh.regression.Lasso(tol=0): X^T X and X^T y in one pass and one "
                "all-reduce, then coordinate descent on the 32 x 32 problem; checksum to 2%")


def transpose_sum(ctx, p):
    X = _local(data.matrix(11, p["n"], p["n"], *_rows(ctx, p["n"])))
    return Case(lambda: (X.T + X).sum(0).compute(), _sum,
                notes="nothing: the planner redistributes X.T")


def resplit(ctx, p):
    X = _local(data.matrix(11, p["n"], p["n"], *_rows(ctx, p["n"])))
    return Case(lambda: lh.resplit(X, 1).compute(), _sum)


def overlap(ctx, p):
    """A resplit of X (all-to-all) beside an elementwise reduction of Y that does not need
    it: the plan posts the all-to-all, runs the reduction, then waits. Measured apart, side
    by side in this run: the same computation with LAZYHEAT_OVERLAP=1 and =0, alternating,
    and the time model's gain from overlap for the same problem on 64 and 1024 ranks."""
    X, Y = map(_local, data.overlap_inputs(p, *_rows(ctx, p["n"])))

    def run():
        return lh.compute(lh.resplit(X, 1), overlap_reduction(Y, lh.sin, lh.cos, lh.exp))

    def extra(_):
        times = {"1": [], "0": []}
        previous = os.environ.get("LAZYHEAT_OVERLAP")
        run()  # untimed: the memory run before this one handed the allocator's pages back
        try:
            for k in range(OVERLAP_PAIRS):  # on, off, off, on, ...: drift hits both alike
                for switch in ("1", "0") if k % 2 == 0 else ("0", "1"):
                    os.environ["LAZYHEAT_OVERLAP"] = switch
                    lh.world().mpi.Barrier()
                    t0 = time.perf_counter()
                    run()
                    lh.world().mpi.Barrier()
                    times[switch].append(time.perf_counter() - t0)
        finally:
            if previous is None:
                os.environ.pop("LAZYHEAT_OVERLAP", None)
            else:
                os.environ["LAZYHEAT_OVERLAP"] = previous
        on, off = sorted(times["1"]), sorted(times["0"])
        return {"on_s": times["1"], "off_s": times["0"], "on_median_s": on[len(on) // 2],
                "off_median_s": off[len(off) // 2], "on_min_s": on[0], "off_min_s": off[0],
                "modelled": {str(r): _modelled_overlap(p, r) for r in (64, 1024)}}
    return Case(run, lambda r: _sum(r[0]) + float(r[1]), extra=extra,
                notes="resplit(X, 1) and an elementwise reduction of Y in one lh.compute")


OVERLAP_PAIRS = 7  # on/off pairs of the side-by-side measurement


def _modelled_overlap(p, ranks) -> dict:
    """``passes.schedule.modelled_times`` of this workload's plan on ``ranks`` ranks (the
    same global problem), inputs held in memory as here."""
    from lazyheat.passes.schedule import modelled_times

    comm = lh.FakeComm(ranks)
    X = lh.array(np.zeros((p["n"], p["n"]), np.float32), split=0, comm=comm)
    Y = lh.array(np.zeros((p["n"], p["cols"]), np.float32), split=0, comm=comm)
    outs = lh.plan(lh.resplit(X, 1), overlap_reduction(Y, lh.sin, lh.cos, lh.exp)).outputs
    return modelled_times(outs)


def overhead(ctx, p):
    """Warm (timed): the same ten-operation graph built and computed ``reps`` times.
    Measured apart, per node: building the graph alone, and a cold run where every graph
    has a new shape (so no plan could be reused)."""
    a, b = map(_local, data.overhead_inputs(p, *_rows(ctx, p["n"])))
    reps, nodes = p["reps"], 10

    def run():
        for _ in range(reps):
            s = overhead_chain(a, b, abs, lh.sqrt).sum().item()
        return s

    def extra(_):
        t0 = time.perf_counter()
        for _ in range(reps):
            overhead_chain(a, b, abs, lh.sqrt).sum()
        build = time.perf_counter() - t0
        cold = 0.0
        for i in range(reps):  # a new length each time: a new graph shape
            n = p["n"] + 1 + i
            u = lh.random.rand(n, split=0, seed=i)
            v = lh.random.rand(n, split=0, seed=i + reps)
            lh.compute(u, v)
            t0 = time.perf_counter()
            overhead_chain(u, v, abs, lh.sqrt).sum().item()
            cold += time.perf_counter() - t0
        t0 = time.perf_counter()
        run()
        warm = time.perf_counter() - t0
        # the rank handshake before each communicating plan: alone, and the warm loop
        # with it switched off (LAZYHEAT_CHECK=0), side by side in this run
        comm = lh.world()
        t0 = time.perf_counter()
        for _ in range(reps):
            sync.handshake(comm, "bench", (1, 2), "bench.py:1")
        alone = time.perf_counter() - t0
        previous = os.environ.get("LAZYHEAT_CHECK")
        os.environ["LAZYHEAT_CHECK"] = "0"
        try:
            t0 = time.perf_counter()
            run()
            unchecked = time.perf_counter() - t0
        finally:
            if previous is None:
                del os.environ["LAZYHEAT_CHECK"]
            else:
                os.environ["LAZYHEAT_CHECK"] = previous
        us = 1e6 / (reps * nodes)
        # the small call (3 operations and a sum on 10 elements): warm, and a new length
        # each call (a plan template of a new shape: planned again)
        small = lh.array(np.arange(10.0))
        warm_call = call_us(lambda: small_call(small).item(), reps)
        new_call = new_shape_call_us(lambda n: lh.array(np.arange(float(n))),
                                     lambda x: small_call(x).item(), reps)
        return {"ops": reps * nodes, "call_us": warm_call, "new_shape_call_us": new_call,
                "build_us_per_node": build * us,
                "cold_us_per_node": cold * us, "warm_us_per_node": warm * us,
                "handshake_us_per_compute": alone * 1e6 / reps,
                "unchecked_warm_us_per_node": unchecked * us}
    return Case(run, float, extra=extra)


def _strided(x, n):
    """``x[::every_kth(n)]`` as NumPy (about 1000 values; the checksums read these)."""
    return x[::data.every_kth(n)].numpy()


def sort(ctx, p):
    x = _local(data.sort_input(p, *_rows(ctx, p["n"])))
    return Case(lambda: lh.sort(x).compute(),
                lambda s: data.sort_checksum(_strided(s, p["n"])),
                notes="lh.sort: sample sort, the result split 0 and balanced")


def unique(ctx, p):
    x = _local(data.unique_input(p, *_rows(ctx, p["n"])))

    def run():
        r = lh.unique_counts(x)
        return lh.compute(r.values, r.counts)
    return Case(run, lambda r: data.unique_checksum(r[0].numpy(), r[1].numpy()),
                notes="lh.unique_counts")


def median(ctx, p):
    X = _local(data.median_input(p, *_rows(ctx, p["rows"])))
    return Case(lambda: lh.median(X, axis=0).compute(),
                lambda m: data.median_checksum(m.numpy()))


def mask_filter(ctx, p):
    x = _local(data.mask_input(p, *_rows(ctx, p["n"])))
    keep = p["keep"]

    def run():
        kept = x[x < keep]
        return kept.shape[0], kept.sum().item()
    return Case(run, lambda r: data.mask_checksum(*r))


def cumsum(ctx, p):
    x = _local(data.cumsum_input(p, *_rows(ctx, p["n"])))
    return Case(lambda: lh.cumulative_sum(x).compute(),
                lambda c: data.cumsum_checksum(_strided(c, p["n"])),
                notes="float32; per-rank scan plus the offsets of the ranks before")


def qr(ctx, p):
    X = _local(data.qr_input(p, *_rows(ctx, p["rows"])))

    def run():
        q, r = lh.linalg.qr(X)
        return lh.compute(q, r)
    return Case(run, lambda r: data.abs_sum(r[1].numpy()),
                notes="lh.linalg.qr: TSQR, Q split 0 like X")


def svd_tall(ctx, p):
    X = _local(data.svd_input(p, *_rows(ctx, p["rows"])))

    def run():
        u, s, vh = lh.linalg.svd(X, full_matrices=False)
        return lh.compute(u, s, vh)
    return Case(run, lambda r: _sum(r[1]),
                notes="lh.linalg.svd(full_matrices=False): TSQR, then the SVD of R")


def rsvd(ctx, p):
    A, k = _local(data.rsvd_input(p, *_rows(ctx, p["n"]))), p["rank"]

    def run():
        u, s, v = lh.linalg.rsvd(A, k, n_oversamples=p["oversamples"],
                                 power_iter=p["power_iter"], seed=0)
        return lh.compute(u, s, v)
    return Case(run, lambda r: _sum(r[1]), notes="lh.linalg.rsvd(seed=0)")


def cg(ctx, p):
    b = _local(data.cg_input(p, *_rows(ctx, p["n"])))

    def op(v):
        return data.CG_SHIFT * v - lh.roll(v, 1) - lh.roll(v, -1)

    def run():
        x, it, _ = lh.linalg.cg(op, b, rtol=p["rtol"], return_info=True)
        return x, it
    return Case(run, lambda r: _sum(abs(r[0])), extra=lambda r: {"iterations": r[1]},
                notes="lh.linalg.cg with the operator as a function of lh.roll")


def pca(ctx, p):
    from lazyheat.decomposition import PCA

    X = _local(data.pca_input(p, *_rows(ctx, p["rows"])))
    return Case(lambda: PCA(n_components=p["k"]).fit(X).explained_variance_,
                lambda v: float(np.sum(v, dtype=np.float64)), tol=1e-3,
                notes="lh.decomposition.PCA (auto: one X^T X pass, eigh of 64 x 64)")


def gaussian_nb(ctx, p):
    from lazyheat.naive_bayes import GaussianNB

    Xn, yn = data.labelled_points(p, *_rows(ctx, p["rows"]))
    X, y = _local(Xn), _local(yn)

    def run():
        return GaussianNB().fit(X, y).predict(X).compute()
    return Case(run, lambda labels: float(labels.astype(lh.float64).sum().item()),
                tol=1e-4,
                notes="lh.naive_bayes.GaussianNB fit + predict on the training rows")


def knn(ctx, p):
    from lazyheat.classification import KNeighborsClassifier

    Xn, yn = data.labelled_points(p, *_rows(ctx, p["rows"]))
    X, y = _local(Xn), _local(yn)
    Q = lh.array(data.knn_queries(p), split=0)

    def run():
        model = KNeighborsClassifier(n_neighbors=p["neighbors"]).fit(X, y)
        return model.predict(Q).compute()
    return Case(run, lambda labels: float(labels.astype(lh.float64).sum().item()),
                tol=1e-3,
                notes="lh.classification.KNeighborsClassifier fit + predict of the queries")


def _fft(ctx, p):
    X = _local(data.fft_input(p, *_rows(ctx, p["n"])))
    return Case(lambda: lh.fft.fft(X, axis=p["axis"]).compute(),
                lambda F: data.fft_checksum(F[::data.FFT_STRIDE].numpy()), tol=1e-4,
                notes="lh.fft.fft of a split-0 array: along axis 0 one all-to-all each way")


fft_axis0 = fft_axis1 = _fft
