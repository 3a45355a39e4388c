"""NumPy, one process: the reference every checksum is compared with.

Everything runs in float32 as the other libraries do, except that means and standard
deviations accumulate in float64: NumPy reduces a C-ordered float32 matrix along axis 0 row
by row in float32, which drifts by about 1e-3 at 4e6 rows, too far for a reference.
Checksums are summed in float64.
NumPy's elementwise loops are single-threaded whatever ``OMP_NUM_THREADS`` says; its BLAS
(matmul) uses the threads given.
"""

from __future__ import annotations

import time

import numpy as np

from .. import data
from ..common import Case, NotAvailable

F32 = np.float32


def versions():
    return {"numpy": np.__version__}


def _sum(x):
    return float(np.sum(np.asarray(x), dtype=np.float64))


def ewise_chain(ctx, p):
    a, b = data.ewise_inputs(p)
    return Case(lambda: np.exp((a * F32(2) + b) / (a + F32(1))).sum(), float)


def moments(ctx, p):
    X = data.matrix(3, p["rows"], p["cols"])

    def run():
        return tuple(f(X, axis, dtype=np.float64).astype(F32) for axis in (None, 0, 1)
                     for f in (np.mean, np.std))
    return Case(run, lambda r: sum(_sum(v) for v in r),
                notes="accumulated in float64")


def standardize(ctx, p):
    X = data.matrix(3, p["rows"], p["cols"])

    def run():
        mu, sigma = (f(X, 0, dtype=np.float64).astype(F32) for f in (np.mean, np.std))
        return (X - mu) / sigma
    return Case(run, lambda Z: _sum(np.abs(Z)), notes="mean and std accumulated in float64")


def gram(ctx, p):
    X = data.matrix(4, p["rows"], p["cols"])
    return Case(lambda: X.T @ X, _sum)


def cdist(ctx, p):
    X = data.matrix(5, p["rows"], p["cols"])

    def run():  # the quadratic expansion |x|^2 + |y|^2 - 2 x.y, as the other libraries
        sq = (X * X).sum(1)
        d2 = sq[:, None] + sq[None, :] - F32(2) * (X @ X.T)
        return np.sqrt(np.maximum(d2, F32(0)))
    return Case(run, _sum, notes="quadratic expansion written by hand")


def kmeans(ctx, p):
    X, k = data.kmeans_points(p), p["k"]

    def run():
        C = X[:k].copy()
        for _ in range(p["iters"]):
            labels = ((C * C).sum(1)[None, :] - F32(2) * (X @ C.T)).argmin(1)
            counts = np.bincount(labels, minlength=k)
            sums = np.stack([np.bincount(labels, X[:, j], minlength=k)
                             for j in range(X.shape[1])], 1)
            C = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None],
                         C).astype(F32)
        return C
    return Case(run, _sum, notes="Lloyd loop written by hand (bincount)")


def lasso_checksum(theta):
    """Weighted so a swapped or sign-flipped coefficient changes it."""
    theta = np.asarray(theta, np.float64).ravel()
    return float((theta * np.arange(1, theta.size + 1)).sum())


def soft_threshold(rho, lam):
    return rho + lam if rho < -lam else (rho - lam if rho > lam else 0.0)


def lasso(ctx, p):
    X, y = data.lasso_inputs(p)
    lam = p["lam"]

    def run():  # HeAT's coordinate descent (a full X @ theta per coordinate)
        theta = np.zeros(X.shape[1], F32)
        for _ in range(p["iters"]):
            for j in range(X.shape[1]):
                xj = X[:, j]
                rho = float((xj * (y - X @ theta + theta[j] * xj)).mean())
                theta[j] = rho if j == 0 else soft_threshold(rho, lam)
        return theta
    raise NotAvailable("NumPy has no Lasso (HeAT's algorithm run once, untimed, as the "
                       "reference)", lasso_checksum(run()))


def transpose_sum(ctx, p):
    X = data.matrix(11, p["n"], p["n"])
    return Case(lambda: (X.T + X).sum(0), _sum)


def resplit(ctx, p):
    X = data.matrix(11, p["n"], p["n"])
    raise NotAvailable("one process: there is no split to change", _sum(X))


def overlap_reduction(Y, sin, cos, exp):
    """The elementwise reduction of the overlap workload (the same expression everywhere)."""
    return (sin(Y) * cos(Y) + exp(-Y)).sum()


def overlap(ctx, p):
    X, Y = data.overlap_inputs(p)

    def run():  # one process: X is its own resplit; the reduction is the work
        return X, overlap_reduction(Y, np.sin, np.cos, np.exp)
    return Case(run, lambda r: _sum(r[0]) + float(r[1]),
                notes="one process: the resplit of X is X itself")


def overhead(ctx, p):
    a, b = data.overhead_inputs(p)
    small = np.arange(10.0)

    def run():
        for _ in range(p["reps"]):
            s = overhead_chain(a, b, np.abs, np.sqrt).sum()
        return s
    return Case(run, float, extra=lambda r: {
        "ops": 10 * p["reps"], "call_us": call_us(lambda: float(small_call(small)),
                                                  p["reps"]),
        "new_shape_call_us": new_shape_call_us(lambda n: np.arange(float(n)),
                                               lambda x: float(small_call(x)), p["reps"])})


def small_call(a):
    """The small call: three elementwise operations and a sum (of 10 elements, in the
    overhead workload), what one call costs when there is almost no data."""
    return ((a * 2 + 1) - a).sum()


def new_shape_call_us(make, call, reps) -> float:
    """Microseconds per ``call(x)`` where ``x = make(n)`` has a new length ``n`` each call
    (made untimed): the small call when the shape changes all the time."""
    held = [make(10)]
    lengths = iter(range(11, 11 + 5 * reps))

    def new(_):
        held[0] = make(next(lengths))
    return call_us(lambda: call(held[0]), reps, new)


def call_us(call, reps, new=None) -> float:
    """Microseconds per ``call()``, the least of three rounds of ``reps`` calls (after one
    untimed call). ``new(i)``, when given, is called before call ``i`` (untimed) to give it
    fresh inputs."""
    call()
    best = float("inf")
    for _ in range(3):
        spent = 0.0
        for i in range(reps):
            if new is not None:
                new(i)
            t0 = time.perf_counter()
            call()
            spent += time.perf_counter() - t0
        best = min(best, spent)
    return best / reps * 1e6


def overhead_chain(a, b, abs_, sqrt):
    """Nine elementwise operations; with the final sum, the ten-operation graph."""
    t = (a + b) * 2.0 - a
    t = t / (b + 1.0)
    t = sqrt(abs_(t))
    return t * t + 1.0


def bandwidth(ctx, p):
    src = data.uniform(14, (p["n"],))
    dst = np.empty_like(src)

    def run():
        np.copyto(dst, src)
        return dst
    return Case(run, lambda d: _sum(d[::4096]), notes="np.copyto, single-threaded")


def sort(ctx, p):
    x, k = data.sort_input(p), data.every_kth(p["n"])
    return Case(lambda: np.sort(x), lambda s: data.sort_checksum(s[::k]))


def unique(ctx, p):
    x = data.unique_input(p)
    return Case(lambda: np.unique_counts(x), lambda r: data.unique_checksum(*r),
                notes="np.unique_counts (sorts a copy)")


def median(ctx, p):
    X = data.median_input(p)
    return Case(lambda: np.median(X, axis=0), data.median_checksum,
                notes="np.median(axis=0) (partitions a copy)")


def mask_filter(ctx, p):
    x, keep = data.mask_input(p), F32(p["keep"])

    def run():
        kept = x[x < keep]
        return kept.size, kept.sum()
    return Case(run, lambda r: data.mask_checksum(*r))


def cumsum(ctx, p):
    x, k = data.cumsum_input(p), data.every_kth(p["n"])
    return Case(lambda: np.cumulative_sum(x), lambda c: data.cumsum_checksum(c[::k]),
                notes="float32, accumulated sequentially")


def qr(ctx, p):
    X = data.qr_input(p)
    return Case(lambda: np.linalg.qr(X), lambda r: data.abs_sum(r[1]),
                notes="np.linalg.qr (LAPACK geqrf + orgqr)")


def svd_tall(ctx, p):
    X = data.svd_input(p)
    return Case(lambda: np.linalg.svd(X, full_matrices=False), lambda r: _sum(r[1]),
                notes="np.linalg.svd(full_matrices=False)")


def rsvd(ctx, p):
    raise NotAvailable("NumPy has no randomized SVD (the reference: the exact singular values "
                       "of the rank-20 part, from its factors)", data.rsvd_reference(p))


def cg_numpy(b, rtol, maxiter):
    """Conjugate gradients with np.roll, stopping at ||r|| <= rtol * ||b||: (x, iterations)."""
    x, r = np.zeros_like(b), b.copy()
    d, rs = r.copy(), float(r @ r)
    tol, it = rtol * float(np.sqrt(b @ b)), 0
    while np.sqrt(rs) > tol and it < maxiter:
        q = data.CG_SHIFT * d - np.roll(d, 1) - np.roll(d, -1)
        alpha = rs / float(d @ q)
        x += alpha * d
        r -= alpha * q
        rs, rs_old = float(r @ r), rs
        d = r + (rs / rs_old) * d
        it += 1
    return x, it


def cg(ctx, p):
    b, n, rtol = data.cg_input(p), p["n"], p["rtol"]
    try:
        from scipy import sparse
        from scipy.sparse.linalg import cg as scipy_cg
    except ImportError:
        x, it = cg_numpy(b, rtol, 10 * n)
        raise NotAvailable(f"scipy is not installed (a NumPy CG loop, run once untimed, gives "
                           f"the reference: {it} iterations)", data.abs_sum(x)) from None
    # the circulant matrix: the three diagonals and the two wrap-around corners
    A = sparse.diags([-1.0, -1.0, data.CG_SHIFT, -1.0, -1.0], [-(n - 1), -1, 0, 1, n - 1],
                     shape=(n, n), format="csr")

    def run():
        count = [0]

        def step(xk):
            count[0] += 1
        x, info = scipy_cg(A, b, rtol=rtol, maxiter=10 * n, callback=step)
        return x, count[0], info
    return Case(run, lambda r: data.abs_sum(r[0]),
                extra=lambda r: {"iterations": r[1], "converged": r[2] == 0},
                notes="scipy.sparse.linalg.cg(rtol) on the circulant CSR matrix")


def pca(ctx, p):
    X = data.pca_input(p)

    def run():
        Xc = X - X.mean(axis=0)
        w = np.linalg.eigvalsh(Xc.T @ Xc / (len(X) - 1))
        return w[::-1][:p["k"]]
    return Case(run, lambda v: float(np.sum(v, dtype=np.float64)), tol=1e-3,
                notes="eigenvalues of the covariance matrix")


def gaussian_nb(ctx, p):
    X, y = data.labelled_points(p)

    def run():  # Gaussian naive Bayes as scikit-learn defines it (var_smoothing 1e-9)
        X64 = X.astype(np.float64)
        classes = np.unique(y)
        theta = np.stack([X64[y == c].mean(axis=0) for c in classes])
        var = np.stack([X64[y == c].var(axis=0) for c in classes])
        var += 1e-9 * X64.var(axis=0).max()
        prior = np.array([(y == c).mean() for c in classes])
        base = np.log(prior) - 0.5 * np.log(2 * np.pi * var).sum(axis=1)
        jll = np.empty((len(X64), len(classes)))
        for j in range(len(classes)):
            jll[:, j] = base[j] - 0.5 * (((X64 - theta[j]) ** 2) / var[j]).sum(axis=1)
        return classes[jll.argmax(axis=1)]
    return Case(run, lambda labels: float(np.sum(labels, dtype=np.float64)), tol=1e-4,
                notes="Gaussian naive Bayes written with NumPy (float64)")


def knn(ctx, p):
    X, y = data.labelled_points(p)
    Q = data.knn_queries(p)
    k = p["neighbors"]

    def run():  # brute force: all distances, the k nearest, a majority vote (ties: lowest)
        d2 = (Q * Q).sum(1)[:, None] - 2 * Q @ X.T + (X * X).sum(1)[None, :]
        near = np.argpartition(d2, k, axis=1)[:, :k]
        votes = np.zeros((len(Q), y.max() + 1), np.int64)
        np.add.at(votes, (np.arange(len(Q))[:, None], y[near]), 1)
        return votes.argmax(axis=1)
    return Case(run, lambda labels: float(np.sum(labels, dtype=np.float64)), tol=1e-3,
                notes="brute-force k nearest neighbours with NumPy")


def _fft(ctx, p):
    X = data.fft_input(p)
    return Case(lambda: np.fft.fft(X, axis=p["axis"]),
                lambda F: data.fft_checksum(F[::data.FFT_STRIDE]), tol=1e-4,
                notes="np.fft.fft (complex128 inside, complex128 result)")


fft_axis0 = fft_axis1 = _fft
