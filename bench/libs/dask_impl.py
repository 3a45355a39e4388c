"""Dask arrays, two configurations:

* ``dask-dist``: ``distributed.LocalCluster`` with R worker processes of one thread each;
* ``dask-threads``: Dask's default threaded scheduler with R threads.

Inputs are generated chunk by chunk (``map_blocks`` over the shared generator, on the
workers) and persisted before timing. Rows are chunked as Dask's ``"auto"`` would, but into
at least two chunks per worker so that every worker has work; columns stay whole. Results
that are arrays are persisted (kept on the workers), scalars and small arrays computed.
"""

from __future__ import annotations

import numpy as np

from .. import data
from ..common import Case
from .numpy_impl import overhead_chain

MISSING = {"lasso": "Dask and dask-ml have no coordinate-descent Lasso",
           "bandwidth": "measured with torch",
           "cg": "dask.array.linalg has no conjugate-gradient solver",
           "fft_axis0": "dask.array.fft needs the transformed axis in one chunk",
           "fft_axis1": "dask.array.fft needs the transformed axis in one chunk",
           "gaussian_nb": "dask-ml's GaussianNB is scikit-learn's on each block",
           "knn": "dask-ml has no nearest-neighbour classifier",
           "overlap": "lazyheat's overlap of its own collectives (Dask schedules tasks)"}
da = dask = None
_client = None


def setup(ctx):
    global da, dask, _client
    import dask as _dask
    import dask.array as _da

    da, dask = _da, _dask
    if ctx.config == "dask-dist":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=ctx.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, memory_limit=0)
        _client = Client(cluster)
    else:
        dask.config.set(scheduler="threads", num_workers=ctx.workers)


def teardown(ctx):
    if _client is not None:
        cluster = _client.cluster
        _client.close()
        cluster.close()


def versions():
    import distributed

    return {"dask": dask.__version__, "distributed": distributed.__version__}


def worker_rss_mb(ctx):
    """The largest peak RSS among the worker processes (dask-dist only)."""
    if _client is None:
        return 0.0

    def peak():
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return max(_client.run(peak).values())


def mem_reset(ctx, trim=False):
    """Reset the peak resident set of every worker process (dask-dist: the computation runs
    there), after trimming their allocators if ``trim``; returns {worker: resident bytes at
    the reset}."""
    from .. import memory

    return _client.run(memory.reset, trim) if _client is not None else {}


def mem_peak(ctx):
    """{worker: peak resident bytes since ``mem_reset``}."""
    from .. import memory

    return _client.run(memory.high_water) if _client is not None else {}


def input_parts(ctx):
    """How many processes share the inputs: R workers with dask-dist (Dask places the chunks
    itself; the memory table uses a balanced share), the one process with dask-threads."""
    return ctx.workers if _client is not None else 1


_runs = iter(range(1 << 62))


def _fresh(x):
    """``x`` under new task keys. Dask names tasks by their inputs, so persisting the same
    expression again while the previous result is still on the cluster (its release is
    asynchronous) would return that result instead of computing it; an identity layer with
    a new token at the end forces the computation."""
    return x.map_blocks(lambda b: b, dtype=x.dtype, token=f"bench-run-{next(_runs)}")


def _wait(x):
    if _client is not None:
        from distributed import wait

        wait(x)
    return x


def _gen(ctx, shape, make, dtype=np.float32):
    """A persisted Dask array of ``shape`` whose rows [r0, r1) are ``make(r0, r1)``."""
    auto = da.core.normalize_chunks(("auto",) + (-1,) * (len(shape) - 1), shape,
                                    dtype=dtype)[0][0]
    rows = min(auto, -(-shape[0] // (2 * ctx.workers)))
    chunks = da.core.normalize_chunks((rows,) + shape[1:], shape)

    def block(block_info=None):
        (r0, r1) = block_info[None]["array-location"][0]
        return make(r0, r1)
    x = da.map_blocks(block, chunks=chunks, dtype=dtype,
                      meta=np.empty((0,) * len(shape), dtype))
    return _wait(x.persist())


def _sum(x):
    if isinstance(x, da.Array):
        x = x.sum(dtype=np.float64).compute()
    return float(np.sum(x, dtype=np.float64))


def ewise_chain(ctx, p):
    n = p["n"]
    a = _gen(ctx, (n,), lambda r0, r1: data.uniform(1, (n,), r0, r1))
    b = _gen(ctx, (n,), lambda r0, r1: data.uniform(2, (n,), r0, r1))
    return Case(lambda: da.exp((a * 2 + b) / (a + 1)).sum().compute(), float)


def _matrix(ctx, seed, rows, cols):
    return _gen(ctx, (rows, cols), lambda r0, r1: data.matrix(seed, rows, cols, r0, r1))


def moments(ctx, p):
    X = _matrix(ctx, 3, p["rows"], p["cols"])

    def run():
        return dask.compute(X.mean(), X.std(), X.mean(0), X.std(0), X.mean(1), X.std(1))
    return Case(run, lambda r: sum(_sum(v) for v in r), notes="the six in one dask.compute")


def standardize(ctx, p):
    X = _matrix(ctx, 3, p["rows"], p["cols"])
    return Case(lambda: _wait(_fresh((X - X.mean(0)) / X.std(0)).persist()),
                lambda Z: _sum(abs(Z)))


def gram(ctx, p):
    X = _matrix(ctx, 4, p["rows"], p["cols"])
    return Case(lambda: (X.T @ X).compute(), _sum)


def cdist(ctx, p):
    X = _matrix(ctx, 5, p["rows"], p["cols"])

    def run():
        sq = (X * X).sum(1)
        d2 = sq[:, None] + sq[None, :] - 2 * (X @ X.T)
        return _wait(_fresh(da.sqrt(da.maximum(d2, 0))).persist())
    return Case(run, _sum, notes="quadratic expansion written by hand")


def kmeans(ctx, p):
    k = p["k"]
    X = _gen(ctx, (p["rows"], p["cols"]), lambda r0, r1: data.kmeans_points(p, r0, r1))
    C0 = data.kmeans_points(p, 0, k)
    try:
        from dask_ml.cluster import KMeans
    except ImportError:
        KMeans = None
    if KMeans is not None:
        def run():
            model = KMeans(n_clusters=k, init=C0, n_init=1, max_iter=p["iters"], tol=0)
            return model.fit(X).cluster_centers_
        return Case(run, _sum, notes="dask_ml.cluster.KMeans(init=first k points, tol=0)")
    ids = np.arange(k)

    def run():
        C = C0
        for _ in range(p["iters"]):
            labels = ((C * C).sum(1)[None, :] - 2 * (X @ C.T)).argmin(1)
            onehot = (labels[:, None] == ids).astype(np.float32)
            sums, counts = dask.compute(onehot.T @ X, onehot.sum(0))
            C = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None],
                         C).astype(np.float32)
        return C
    return Case(run, _sum, notes="Lloyd loop written by hand (one-hot matmul; no dask-ml)")


def pca(ctx, p):
    from dask_ml.decomposition import PCA

    X = _gen(ctx, (p["rows"], p["cols"]), lambda r0, r1: data.pca_input(p, r0, r1))
    return Case(lambda: PCA(n_components=p["k"], svd_solver="tsqr").fit(X).explained_variance_,
                lambda v: float(np.sum(v, dtype=np.float64)), tol=1e-3,
                notes="dask_ml.decomposition.PCA(svd_solver='tsqr')")


def transpose_sum(ctx, p):
    X = _matrix(ctx, 11, p["n"], p["n"])
    return Case(lambda: (X.T + X).sum(0).compute(), _sum, notes="nothing")


def resplit(ctx, p):
    n = p["n"]
    X = _matrix(ctx, 11, n, n)
    cols = X.chunks[0][0]  # the same number of chunks, now along columns
    return Case(lambda: _wait(_fresh(X.rechunk((n, cols))).persist()), _sum,
                notes="rechunk from row blocks to column blocks")


def overhead(ctx, p):
    # Dask spends milliseconds per graph: 100 repetitions measure its per-operation cost as
    # well as 1000 would, and keep the suite within its time budget
    n, reps = p["n"], min(p["reps"], 100)
    a = _gen(ctx, (n,), lambda r0, r1: data.uniform(12, (n,), r0, r1)).rechunk(n)
    b = _gen(ctx, (n,), lambda r0, r1: data.uniform(13, (n,), r0, r1)).rechunk(n)
    a, b = _wait(a.persist()), _wait(b.persist())

    def run():
        for _ in range(reps):
            s = float(overhead_chain(a, b, da.abs, da.sqrt).sum().compute())
        return s
    return Case(run, float, extra=lambda r: {"ops": 10 * reps},
                notes="one chunk; graph built and computed each time; 100 repetitions "
                "(ratios are per operation)")


def _vector(ctx, p, make, dtype=np.float32):
    n = p["n"]
    return _gen(ctx, (n,), lambda r0, r1: make(p, r0, r1), dtype)


def sort(ctx, p):
    import dask.dataframe as dd

    x, k = _vector(ctx, p, data.sort_input), data.every_kth(p["n"])

    def run():  # Dask arrays cannot sort; Dask DataFrame's sort_values is its distributed sort
        s = dd.from_dask_array(_fresh(x), columns=["x"]).sort_values("x")  # new keys
        return _wait(s.persist())
    return Case(run, lambda s: data.sort_checksum(
        s["x"].to_dask_array(lengths=True)[::k].compute()),
        notes="dask.dataframe sort_values of a one-column frame (dask.array has no sort)")


def unique(ctx, p):
    x = _vector(ctx, p, data.unique_input, np.int64)
    return Case(lambda: dask.compute(*da.unique(x, return_counts=True)),
                lambda r: data.unique_checksum(*r), notes="da.unique(return_counts=True)")


def median(ctx, p):
    X = _gen(ctx, (p["rows"], p["cols"]), lambda r0, r1: data.median_input(p, r0, r1))
    return Case(lambda: da.median(X, axis=0).compute(), data.median_checksum,
                notes="da.median(axis=0) (rechunks the columns whole)")


def mask_filter(ctx, p):
    x, keep = _vector(ctx, p, data.mask_input), np.float32(p["keep"])

    def run():  # the kept count is unknown to Dask until computed: the mask's sum gives it
        mask = x < keep
        return dask.compute(mask.sum(), x[mask].sum())
    return Case(run, lambda r: data.mask_checksum(*r),
                notes="count as the mask's sum, in the same dask.compute")


def cumsum(ctx, p):
    x, k = _vector(ctx, p, data.cumsum_input), data.every_kth(p["n"])
    return Case(lambda: _wait(_fresh(da.cumsum(x)).persist()),
                lambda c: data.cumsum_checksum(c[::k].compute()),
                notes="da.cumsum: per-chunk cumsum plus the offsets of the chunks before")


def qr(ctx, p):
    X = _gen(ctx, (p["rows"], p["cols"]), lambda r0, r1: data.qr_input(p, r0, r1))

    def run():  # new keys for the whole graph; Q (as large as X) stays on the workers
        q, r = da.linalg.qr(_fresh(X))
        q, r = dask.persist(q, r)
        return _wait(q), r.compute()
    return Case(run, lambda r: data.abs_sum(r[1]), notes="da.linalg.qr (TSQR over the row "
                "chunks)")


def svd_tall(ctx, p):
    X = _gen(ctx, (p["rows"], p["cols"]), lambda r0, r1: data.svd_input(p, r0, r1))

    def run():  # U (as large as X) stays on the workers
        u, s, v = dask.persist(*da.linalg.svd(_fresh(X)))
        return _wait(u), s.compute(), v.compute()
    return Case(run, lambda r: _sum(r[1]), notes="da.linalg.svd (TSQR, then the SVD of R)")


def rsvd(ctx, p):
    n = p["n"]
    A = _gen(ctx, (n, n), lambda r0, r1: data.rsvd_input(p, r0, r1))

    def run():  # the results are small (n x rank): computed
        return dask.compute(*da.linalg.svd_compressed(
            _fresh(A), p["rank"], n_power_iter=p["power_iter"],
            n_oversamples=p["oversamples"], seed=0))
    return Case(run, lambda r: _sum(r[1]), notes="da.linalg.svd_compressed(seed=0)")
