"""HeAT (PyPI ``heat``) under ``mpiexec -n R``, one torch thread per rank.

HeAT is eager: every call runs at once, so ``run()`` times the calls themselves. Each rank
generates its own block of rows and wraps it with ``ht.array(block, is_split=0)``. Where
HeAT has an estimator for a workload (KMeans, Lasso) it is used, as a HeAT user would.
"""

from __future__ import annotations

import numpy as np
import torch

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

MISSING = {"bandwidth": "measured with torch (the same kernels)",
           "cg": "ht.linalg.cg takes a dense matrix only, not an operator: the n x n matrix "
           "(8 TB at n = 1e6) does not fit; its stopping rule is also fixed (a residual norm "
           "below 1e-10)"}
ht = None  # imported in setup(), after the worker has fixed torch's threads


def setup(ctx):
    global ht
    import heat

    ht = heat


def versions():
    return {"heat": ht.__version__, "torch": torch.__version__}


def _local(block):
    return ht.array(torch.from_numpy(np.ascontiguousarray(block)), is_split=0)


def _rows(ctx, n):
    return data.rows_of(n, ctx.rank, ctx.nranks)


def _sum(x):
    if not isinstance(x, ht.DNDarray):  # ht.mean(X) of a non-split array is a Python float
        return float(x)
    return float(x.astype(ht.float64).sum().item())


def ewise_chain(ctx, p):
    a, b = map(_local, data.ewise_inputs(p, *_rows(ctx, p["n"])))
    return Case(lambda: ht.exp((a * 2 + b) / (a + 1)).sum(), lambda s: s.item())


def moments(ctx, p):
    X = _local(data.matrix(3, p["rows"], p["cols"], *_rows(ctx, p["rows"])))

    def run():
        return (ht.mean(X), ht.std(X), ht.mean(X, 0), ht.std(X, 0), ht.mean(X, 1),
                ht.std(X, 1))
    return Case(run, lambda r: sum(_sum(v) for v in r))


def standardize(ctx, p):
    X = _local(data.matrix(3, p["rows"], p["cols"], *_rows(ctx, p["rows"])))
    return Case(lambda: (X - ht.mean(X, 0)) / ht.std(X, 0), lambda Z: _sum(ht.abs(Z)))


def gram(ctx, p):
    X = _local(data.matrix(4, p["rows"], p["cols"], *_rows(ctx, p["rows"])))
    return Case(lambda: X.T @ X, _sum)


def cdist(ctx, p):
    X = _local(data.matrix(5, p["rows"], p["cols"], *_rows(ctx, p["rows"])))
    return Case(lambda: ht.spatial.cdist(X, X, quadratic_expansion=True), _sum,
                notes="ht.spatial.cdist(quadratic_expansion=True)")


def kmeans(ctx, p):
    k = p["k"]
    X = _local(data.kmeans_points(p, *_rows(ctx, p["rows"])))
    init = ht.array(data.kmeans_points(p, 0, k))

    def run():
        model = ht.cluster.KMeans(n_clusters=k, init=init, max_iter=p["iters"], tol=None)
        return model.fit(X).cluster_centers_
    return Case(run, _sum, notes="ht.cluster.KMeans(init=first k points, tol=None)")


def lasso(ctx, p):
    Xn, yn = data.lasso_inputs(p, *_rows(ctx, p["rows"]))
    X, y = _local(Xn), _local(yn)

    def run():
        model = ht.regression.Lasso(lam=p["lam"], max_iter=p["iters"], tol=None)
        model.fit(X, y)
        return model.theta
    return Case(run, lambda t: lasso_checksum(t.numpy()), notes="ht.regression.Lasso")


def transpose_sum(ctx, p):
    X = _local(data.matrix(11, p["n"], p["n"], *_rows(ctx, p["n"])))
    if ctx.nranks > 1:  # X.T is split along 1, X along 0: HeAT will not add them as they are
        try:
            (X.T + X).sum(0)
            notes = "nothing"
        except NotImplementedError:
            notes = "an explicit ht.resplit(X.T, 0) (X.T + X raises NotImplementedError)"
    else:
        notes = "an explicit ht.resplit(X.T, 0) at 2+ ranks"
    return Case(lambda: (ht.resplit(X.T, 0) + X).sum(0), _sum, notes=notes)


def resplit(ctx, p):
    X = _local(data.matrix(11, p["n"], p["n"], *_rows(ctx, p["n"])))
    return Case(lambda: ht.resplit(X, 1), _sum)


def overlap(ctx, p):
    X, Y = map(_local, data.overlap_inputs(p, *_rows(ctx, p["n"])))

    def run():  # HeAT runs each statement at once: the resplit blocks, then the reduction
        return ht.resplit(X, 1), overlap_reduction(Y, ht.sin, ht.cos, ht.exp)
    return Case(run, lambda r: _sum(r[0]) + float(r[1].item()))


def overhead(ctx, p):
    a, b = map(_local, data.overhead_inputs(p, *_rows(ctx, p["n"])))

    def run():
        for _ in range(p["reps"]):
            s = overhead_chain(a, b, ht.abs, ht.sqrt).sum().item()
        return s
    small = ht.array(np.arange(10.0))
    return Case(run, float, extra=lambda r: {
        "ops": 10 * p["reps"], "call_us": call_us(lambda: small_call(small).item(),
                                                  p["reps"]),
        "new_shape_call_us": new_shape_call_us(lambda n: ht.array(np.arange(float(n))),
                                               lambda x: small_call(x).item(), p["reps"])},
        notes="eager calls")


def _vector(ctx, p, make):
    return _local(make(p, *_rows(ctx, p["n"])))


def _strided(x, n):
    """``x[::every_kth(n)]`` as NumPy (about 1000 values; the checksums read these)."""
    return x[::data.every_kth(n)].numpy()


def sort(ctx, p):
    x = _vector(ctx, p, data.sort_input)
    # axis=0, not the default -1: HeAT 1.9.0 compares the axis with the split before
    # normalizing it, and with axis=-1 sorts each rank's block alone
    return Case(lambda: ht.sort(x, axis=0), lambda s: data.sort_checksum(_strided(s, p["n"])),
                notes="ht.sort(axis=0) (with the default axis=-1 HeAT 1.9.0 sorts each "
                "rank's block alone)")


def unique(ctx, p):
    x = _vector(ctx, p, data.unique_input)

    def run():  # ht.unique has no counts; the values are small non-negative integers
        values = ht.unique(x, sorted=True)
        counts = ht.bincount(x, minlength=p["k"])
        return values, counts[values]
    return Case(run, lambda r: data.unique_checksum(_np(r[0]), _np(r[1])),
                notes="ht.unique(sorted=True), counts from ht.bincount (ht.unique has no "
                "return_counts)")


def _np(x):
    return x.numpy() if isinstance(x, ht.DNDarray) else np.asarray(x)


def median(ctx, p):
    X = _local(data.median_input(p, *_rows(ctx, p["rows"])))
    return Case(lambda: ht.median(X, axis=0), lambda m: data.median_checksum(_np(m)))


def mask_filter(ctx, p):
    x, keep = _vector(ctx, p, data.mask_input), p["keep"]

    def run():
        kept = x[x < keep]
        return kept.shape[0], kept.sum().item()
    return Case(run, lambda r: data.mask_checksum(*r))


def cumsum(ctx, p):
    x = _vector(ctx, p, data.cumsum_input)
    return Case(lambda: ht.cumsum(x, 0), lambda c: data.cumsum_checksum(_strided(c, p["n"])))


def qr(ctx, p):
    X = _local(data.qr_input(p, *_rows(ctx, p["rows"])))
    return Case(lambda: ht.linalg.qr(X), lambda r: data.abs_sum(_np(r.R)),
                notes="ht.linalg.qr (TSQR)")


def svd_tall(ctx, p):
    X = _local(data.svd_input(p, *_rows(ctx, p["rows"])))
    return Case(lambda: ht.linalg.svd(X), lambda r: data.abs_sum(_np(r[1])),
                notes="ht.linalg.svd (TSQR, then the SVD of R)")


def rsvd(ctx, p):
    A = _local(data.rsvd_input(p, *_rows(ctx, p["n"])))

    def run():
        ht.random.seed(0)
        return ht.linalg.rsvd(A, p["rank"], n_oversamples=p["oversamples"],
                              power_iter=p["power_iter"])
    return Case(run, lambda r: data.abs_sum(_np(r[1])), notes="ht.linalg.rsvd")


def pca(ctx, p):
    X = _local(data.pca_input(p, *_rows(ctx, p["rows"])))

    def run():
        return ht.decomposition.PCA(n_components=p["k"]).fit(X).explained_variance_
    return Case(run, lambda v: data.abs_sum(_np(v)), tol=1e-3,
                notes="ht.decomposition.PCA (its default hierarchical SVD)")


def gaussian_nb(ctx, p):
    Xn, yn = data.labelled_points(p, *_rows(ctx, p["rows"]))
    X, y = _local(Xn), _local(yn)

    def run():
        return ht.naive_bayes.GaussianNB().fit(X, y).predict(X)
    return Case(run, lambda labels: data.abs_sum(_np(labels)),
                tol=1e-4,
                notes="ht.naive_bayes.GaussianNB fit + predict on the training rows")


def knn(ctx, p):
    from heat.classification.kneighborsclassifier import KNeighborsClassifier

    Xn, _ = data.labelled_points(p, *_rows(ctx, p["rows"]))
    X = _local(Xn)
    y = ht.array(data.labelled_points(p)[1])  # HeAT's predict fails on split labels
    Q = ht.array(data.knn_queries(p), split=0)

    def run():
        model = KNeighborsClassifier(n_neighbors=p["neighbors"])
        model.fit(X, y)  # returns None
        return model.predict(Q)
    return Case(run, lambda labels: data.abs_sum(_np(labels)),
                tol=1e-3,
                notes="ht KNeighborsClassifier fit + predict of the queries (labels "
                "replicated: with split labels HeAT 1.9 raises in predict)")


def _fft(ctx, p):
    X = _local(data.fft_input(p, *_rows(ctx, p["n"])))
    return Case(lambda: ht.fft.fft(X, axis=p["axis"]),
                lambda F: data.fft_checksum(_np(F[::data.FFT_STRIDE])), tol=1e-4,
                notes="ht.fft.fft")


fft_axis0 = fft_axis1 = _fft
