"""Workload sizes and the counter-seeded data generator every library shares.

Element ``i`` (row-major flat index) of a generated global array depends only on the array's
seed and ``i``: a splitmix64 hash of the counter gives 24 random bits, which become a float32
in [0, 1). Any block of rows can therefore be made on its own, bit-identical to the same rows
of the whole array, so every library, rank count and chunking sees exactly the same inputs
while each MPI rank (or Dask chunk) generates only its own rows.
"""

from __future__ import annotations

import numpy as np

# Default sizes: each workload takes roughly 0.5 to 5 s on the fastest library here.
FULL = {
    "ewise_chain": {"n": 50_000_000},
    "moments": {"rows": 4_000_000, "cols": 16},
    "standardize": {"rows": 4_000_000, "cols": 16},
    "gram": {"rows": 4_000_000, "cols": 32},
    "cdist": {"rows": 20_000, "cols": 16},
    "kmeans": {"rows": 2_000_000, "cols": 8, "k": 8, "iters": 30},
    "lasso": {"rows": 250_000, "cols": 32, "iters": 20, "lam": 0.01},
    "transpose_sum": {"n": 8000},
    "resplit": {"n": 8000},
    "overhead": {"n": 1000, "reps": 1000},
    "bandwidth": {"n": 1 << 26},
    "sort": {"n": 100_000_000},
    "unique": {"n": 100_000_000, "k": 1000},
    "median": {"rows": 4_000_000, "cols": 16},
    "mask_filter": {"n": 100_000_000, "keep": 0.1},
    "cumsum": {"n": 100_000_000},
    "qr": {"rows": 8_000_000, "cols": 32},
    "svd_tall": {"rows": 4_000_000, "cols": 64},
    "rsvd": {"n": 20_000, "rank": 20, "oversamples": 10, "power_iter": 1},
    "cg": {"n": 1_000_000, "rtol": 1e-6},
    "pca": {"rows": 4_000_000, "cols": 64, "k": 8},
    "gaussian_nb": {"rows": 2_000_000, "cols": 16, "k": 4},
    "knn": {"rows": 40_000, "cols": 16, "k": 4, "queries": 4_000, "neighbors": 5},
    "fft_axis0": {"n": 4096, "axis": 0},
    "fft_axis1": {"n": 4096, "axis": 1},
    "overlap": {"n": 4096, "cols": 2048},
}

# --quick: a tenth of the rows (a quarter of the side for square matrices, a fifth for rsvd),
# half the k-means iterations, 4 Lasso iterations and 30 overhead repetitions.
QUICK = {
    "ewise_chain": {"n": 5_000_000},
    "moments": {"rows": 400_000, "cols": 16},
    "standardize": {"rows": 400_000, "cols": 16},
    "gram": {"rows": 400_000, "cols": 32},
    "cdist": {"rows": 5000, "cols": 16},
    "kmeans": {"rows": 200_000, "cols": 8, "k": 8, "iters": 10},
    "lasso": {"rows": 50_000, "cols": 32, "iters": 4, "lam": 0.01},
    "transpose_sum": {"n": 2000},
    "resplit": {"n": 2000},
    "overhead": {"n": 1000, "reps": 30},
    "bandwidth": {"n": 1 << 24},
    "sort": {"n": 10_000_000},
    "unique": {"n": 10_000_000, "k": 1000},
    "median": {"rows": 400_000, "cols": 16},
    "mask_filter": {"n": 10_000_000, "keep": 0.1},
    "cumsum": {"n": 10_000_000},
    "qr": {"rows": 800_000, "cols": 32},
    "svd_tall": {"rows": 400_000, "cols": 64},
    "rsvd": {"n": 4000, "rank": 20, "oversamples": 10, "power_iter": 1},
    "cg": {"n": 100_000, "rtol": 1e-6},
    "pca": {"rows": 400_000, "cols": 64, "k": 8},
    "gaussian_nb": {"rows": 200_000, "cols": 16, "k": 4},
    "knn": {"rows": 10_000, "cols": 16, "k": 4, "queries": 1_000, "neighbors": 5},
    "fft_axis0": {"n": 1024, "axis": 0},
    "fft_axis1": {"n": 1024, "axis": 1},
    "overlap": {"n": 1024, "cols": 512},
}

WORKLOADS = list(FULL)

# Relative checksum tolerance of a workload whose results every library must reproduce more
# closely than the suite's default (1e-3): sort, unique and median select values of the input
# (or the mean of two), so their checksums agree to float64 rounding; a float32 sum of the
# kept values differs by about 1e-7 between summation orders. A library's Case.tol, where
# set, takes precedence.
TOL = {"sort": 1e-9, "unique": 1e-12, "median": 1e-6, "mask_filter": 1e-6}

# Bytes a workload must at least move through memory, as multiples of its input's size: the
# elementwise workloads are reported also as a fraction of the machine's copy bandwidth.
MIN_TRAFFIC = {
    "ewise_chain": lambda p: 2 * p["n"] * 4,  # read a and b once; the sum writes nothing
    "moments": lambda p: p["rows"] * p["cols"] * 4,  # read X once
    "standardize": lambda p: 3 * p["rows"] * p["cols"] * 4,  # read X twice, write Z
}


def _matrix_bytes(p, rows):
    return rows * p["cols"] * 4


# Bytes of a workload's inputs in a process that holds ``rows`` rows of them (the whole input
# without MPI): what the memory table compares each run's extra peak with. Arrays every
# process holds whole (k-means' starting centres) count in full.
INPUT_BYTES = {
    "ewise_chain": lambda p, rows: 2 * rows * 4,  # a and b
    "moments": _matrix_bytes,
    "standardize": _matrix_bytes,
    "gram": _matrix_bytes,
    "cdist": _matrix_bytes,
    "kmeans": lambda p, rows: (rows + p["k"]) * p["cols"] * 4,  # X and the k centres
    "lasso": lambda p, rows: rows * (p["cols"] + 1) * 4,  # X and y
    "transpose_sum": lambda p, rows: rows * p["n"] * 4,
    "resplit": lambda p, rows: rows * p["n"] * 4,
    "overhead": lambda p, rows: 2 * rows * 4,  # a and b
    "bandwidth": lambda p, rows: 2 * rows * 4,  # the source and the preallocated destination
    "sort": lambda p, rows: rows * 4,
    "unique": lambda p, rows: rows * 8,  # int64
    "median": _matrix_bytes,
    "mask_filter": lambda p, rows: rows * 4,
    "cumsum": lambda p, rows: rows * 4,
    "qr": _matrix_bytes,
    "svd_tall": _matrix_bytes,
    "rsvd": lambda p, rows: rows * p["n"] * 4,  # A (V0 and s are generation's alone)
    "cg": lambda p, rows: rows * 8,  # b, float64
    "pca": _matrix_bytes,
    "gaussian_nb": lambda p, rows: rows * (p["cols"] * 4 + 8),  # X and the int64 labels
    "knn": lambda p, rows: rows * (p["cols"] * 4 + 8),
    "fft_axis0": lambda p, rows: rows * p["n"] * 8,
    "fft_axis1": lambda p, rows: rows * p["n"] * 8,
    "overlap": lambda p, rows: rows * (p["n"] + p["cols"]) * 4,  # X and Y
}


def input_bytes(name: str, p: dict, part: int = 0, parts: int = 1) -> int:
    """Input bytes of part ``part`` of ``parts`` (an MPI rank's balanced block of rows)."""
    r0, r1 = rows_of(p["rows"] if "rows" in p else p["n"], part, parts)
    return INPUT_BYTES[name](p, r1 - r0)


def sizes(quick: bool = False, scale: float = 1.0) -> dict:
    """The parameters of every workload; ``scale`` shrinks the row counts (tests use it)."""
    base = QUICK if quick else FULL
    out = {}
    for name, p in base.items():
        q = dict(p)
        for key in ("n", "rows"):
            if key in q and name not in ("overhead",):
                q[key] = max(64, int(q[key] * scale))
        if name == "overhead" and scale < 1:
            q["reps"] = max(10, int(q["reps"] * scale))
        out[name] = q
    return out


_M = (1 << 64) - 1


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer on uint64 (wrapping arithmetic), in place where it can."""
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z


def uniform(seed: int, shape: tuple, r0: int = 0, r1: int | None = None) -> np.ndarray:
    """Rows ``[r0, r1)`` of the global float32 array of ``shape`` with entries in [0, 1).

    Works in chunks of about a million elements to keep the uint64 temporaries small.
    """
    shape = tuple(shape)
    rows = shape[0]
    r1 = rows if r1 is None else r1
    inner = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
    out = np.empty((r1 - r0) * inner, np.float32)
    offset = np.uint64((seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & _M)
    start, chunk = r0 * inner, 1 << 20
    for s in range(0, out.size, chunk):
        e = min(s + chunk, out.size)
        z = np.arange(start + s, start + e, dtype=np.uint64)
        z += offset
        z = _mix(z)
        out[s:e] = (z >> np.uint64(40)).astype(np.float32)
    out *= np.float32(2.0 ** -24)
    return out.reshape((r1 - r0,) + shape[1:])


def rows_of(n: int, rank: int, size: int) -> tuple[int, int]:
    """The balanced block of ``n`` rows rank ``rank`` of ``size`` holds (larger blocks first)."""
    base, extra = divmod(n, size)
    r0 = rank * base + min(rank, extra)
    return r0, r0 + base + (1 if rank < extra else 0)


# ---------------------------------------------------------------- per-workload inputs
# Each returns rows [r0, r1) of the workload's global inputs as NumPy float32 arrays.
def ewise_inputs(p, r0=0, r1=None):
    return uniform(1, (p["n"],), r0, r1), uniform(2, (p["n"],), r0, r1)


def matrix(seed, rows, cols, r0=0, r1=None):
    return uniform(seed, (rows, cols), r0, r1)


def overlap_inputs(p, r0=0, r1=None):
    """X (n x n, resplit) and Y (n x cols, reduced elementwise): the same rows of both."""
    return matrix(11, p["n"], p["n"], r0, r1), matrix(12, p["n"], p["cols"], r0, r1)


def kmeans_points(p, r0=0, r1=None):
    """Blobs: each point is one of k centres in [0, 10)^d plus uniform noise of width 1."""
    n, d, k = p["rows"], p["cols"], p["k"]
    centres = uniform(7, (k, d)) * np.float32(10.0)
    label = (uniform(6, (n,), r0, r1) * np.float32(k)).astype(np.int64)
    return centres[label] + (uniform(8, (n, d), r0, r1) - np.float32(0.5))


def lasso_inputs(p, r0=0, r1=None):
    """X with a column of ones (the intercept, as HeAT's Lasso expects) and standardized
    uniform columns (mean 0, variance 1); y = X @ w + noise, summed column by column so the
    rounding of a row does not depend on the block it is in."""
    n, d = p["rows"], p["cols"]
    X = (uniform(9, (n, d), r0, r1) - np.float32(0.5)) * np.float32(12 ** 0.5)
    X[:, 0] = 1.0
    w = true_lasso_weights(d)
    y = (uniform(10, (n,), r0, r1) - np.float32(0.5)) * np.float32(0.1)
    for j in range(d):
        y += X[:, j] * w[j]
    return X, y


def true_lasso_weights(d):
    """A sparse weight vector: intercept 0.5, then every third coefficient non-zero."""
    w = np.zeros(d, np.float32)
    w[0] = 0.5
    w[1::3] = np.linspace(1.0, -1.0, len(w[1::3]), dtype=np.float32)
    return w


def overhead_inputs(p, r0=0, r1=None):
    return uniform(12, (p["n"],), r0, r1), uniform(13, (p["n"],), r0, r1)


def sort_input(p, r0=0, r1=None):
    return uniform(15, (p["n"],), r0, r1)


def unique_input(p, r0=0, r1=None):
    """int64 in [0, k): floor(u * k) of the generator's u = m / 2^24, as (m * k) >> 24 in
    exact integer arithmetic (a float32 product would round some values up to the next
    integer), in place to keep the temporaries to one int64 array."""
    m = (uniform(16, (p["n"],), r0, r1) * np.float32(1 << 24)).astype(np.int64)
    m *= p["k"]
    m >>= 24
    return m


def median_input(p, r0=0, r1=None):
    return matrix(17, p["rows"], p["cols"], r0, r1)


def mask_input(p, r0=0, r1=None):
    return uniform(18, (p["n"],), r0, r1)


def cumsum_input(p, r0=0, r1=None):
    """Uniform in [-0.5, 0.5) (exact in float32): the running sum stays a random walk of a
    few thousand. Values in [0, 1) would make it reach 5e7 at 1e8 elements, past 2^24, where
    a float32 accumulator no longer grows by values below 1: a sequential float32 cumsum
    (NumPy's) would stop at 2^24 while torch's (float64 accumulator) would not."""
    return uniform(19, (p["n"],), r0, r1) - np.float32(0.5)



def qr_input(p, r0=0, r1=None):
    return matrix(20, p["rows"], p["cols"], r0, r1)


def svd_input(p, r0=0, r1=None):
    return matrix(21, p["rows"], p["cols"], r0, r1)


def rsvd_spectrum(p) -> np.ndarray:
    """The weights of the rank-k part of the rsvd matrix: 100 * 0.8^j, float32."""
    return (100.0 * 0.8 ** np.arange(p["rank"])).astype(np.float32)


def rsvd_factors(p, r0=0, r1=None):
    """Rows [r0, r1) of U0 * s (n x k) and the whole V0 (n x k), both float32, entries of U0
    and V0 uniform in [-0.5, 0.5): the rank-k part of the rsvd matrix is (U0 * s) @ V0.T."""
    n, k = p["n"], p["rank"]
    u = (uniform(22, (n, k), r0, r1) - np.float32(0.5)) * rsvd_spectrum(p)
    return u, uniform(23, (n, k)) - np.float32(0.5)


def rsvd_input(p, r0=0, r1=None):
    """Rows [r0, r1) of A = (U0 * s) @ V0.T + 1e-3 * noise (n x n float32, noise uniform in
    [-0.5, 0.5)). Its singular values fall geometrically (s times about n / 12: from 2e5
    down to 2e3 at n = 2e4, 3e4 to 500 at 4e3) and the noise adds a floor near 0.1 (0.04),
    far below them, so randomized methods find the top k accurately. The rank-k part is
    added one term at a time, each row in the same order whatever block it is in (a matrix
    product's rounding could depend on the block's shape): any block of rows is
    bit-identical to the same rows of the whole matrix."""
    n, k = p["n"], p["rank"]
    r1 = n if r1 is None else r1
    u, v = rsvd_factors(p, r0, r1)
    vt = np.ascontiguousarray(v.T)
    A = uniform(24, (n, n), r0, r1)
    A -= np.float32(0.5)
    A *= np.float32(1e-3)
    step = max(1, (1 << 20) // n)  # about a million elements at a time, to stay in cache
    tmp = np.empty((step, n), np.float32)
    for a in range(0, r1 - r0, step):
        block, t = A[a:a + step], tmp[:min(step, r1 - r0 - a)]
        for j in range(k):
            np.multiply(u[a:a + step, j:j + 1], vt[j], out=t)
            block += t
    return A


def rsvd_reference(p) -> float:
    """The sum of the k singular values of the rank-k part (U0 * s) @ V0.T, exactly (float64,
    from QR factors of U0 * s and V0: the singular values of R_u @ R_v.T). The noise moves
    each singular value of A by at most its spectral norm (Weyl), about 1e-4 of the
    smallest; their sum by far less than the checksum tolerance."""
    u, v = (f.astype(np.float64) for f in rsvd_factors(p))
    ru, rv = np.linalg.qr(u, mode="r"), np.linalg.qr(v, mode="r")
    return float(np.linalg.svd(ru @ rv.T, compute_uv=False).sum())


# The cg operator: y = CG_SHIFT * v - roll(v, 1) - roll(v, -1), the periodic 1-D Laplacian
# shifted by 0.01, symmetric positive definite with eigenvalues in [0.01, 4.01] (condition
# about 400: some hundred iterations to rtol 1e-6).
CG_SHIFT = 2.01


def cg_input(p, r0=0, r1=None):
    """The right-hand side b, float64 (the generator's float32 values, exact)."""
    return uniform(25, (p["n"],), r0, r1).astype(np.float64)


def labelled_points(p, r0=0, r1=None):
    """Rows [r0, r1) of overlapping blobs and their blob index: k centres in [0, 4)^d plus
    uniform noise of width 2, so the classes overlap and classifiers have work to do."""
    n, d, k = p["rows"], p["cols"], p["k"]
    centres = uniform(27, (k, d)) * np.float32(4.0)
    label = (uniform(28, (n,), r0, r1) * np.float32(k)).astype(np.int64)
    X = centres[label] + (uniform(29, (n, d), r0, r1) - np.float32(0.5)) * np.float32(2.0)
    return X, label


def knn_queries(p):
    """The query points of the knn workload (replicated): fresh uniform points in the box."""
    return uniform(30, (p["queries"], p["cols"])) * np.float32(4.0)


def fft_input(p, r0=0, r1=None):
    """Rows [r0, r1) of an n x n complex64 array, real and imaginary parts uniform."""
    n = p["n"]
    out = uniform(31, (n, n), r0, r1).astype(np.complex64)
    out.imag = uniform(32, (n, n), r0, r1)
    return out


FFT_STRIDE = 64  # the fft checksum reads every 64th row of the result


def fft_checksum(rows) -> float:
    """sum(|X|) in float64 of the strided rows of the transform."""
    return float(np.abs(np.asarray(rows).astype(np.complex128)).sum())


def pca_input(p, r0=0, r1=None):
    """Uniform columns scaled by 0.8^j: independent features with falling variances, so the
    k leading principal components are well separated (their variances sum to the
    checksum)."""
    X = matrix(26, p["rows"], p["cols"], r0, r1)
    X *= (0.8 ** np.arange(p["cols"])).astype(np.float32)
    return X


# ---------------------------------------------------------------- shared checksums
def every_kth(n: int) -> int:
    """The stride of the about 1000 entries a checksum reads from a long 1-D result."""
    return max(1, n // 1000)


def sort_checksum(strided) -> float:
    """Of ``sorted[::every_kth(n)]``: order statistics weighted by their rank, so a value in
    the wrong place changes it (exact: every library returns the same input values)."""
    v = np.asarray(strided, np.float64).ravel()
    return float((v * np.arange(1, v.size + 1)).sum())


def unique_checksum(values, counts) -> float:
    """sum(count * (value + 1)^2) + the number of distinct values: independent of their
    order, and it pairs each count with its value; exact in float64 (below 2^53)."""
    v = np.asarray(values, np.float64).ravel()
    c = np.asarray(counts, np.float64).ravel()
    return float((c * (v + 1) ** 2).sum() + v.size)


def median_checksum(medians) -> float:
    """Column medians weighted by column index: a swapped column changes it."""
    m = np.asarray(medians, np.float64).ravel()
    return float((m * np.arange(1, m.size + 1)).sum())


def mask_checksum(count, total) -> float:
    """The number of kept values plus their sum."""
    return float(count) + float(total)


def cumsum_checksum(strided) -> float:
    """Of ``cumsum[::every_kth(n)]``: the sum of their absolute values (the running sum
    changes sign). Float32 cumulative sums accumulate differently (NumPy sequentially, torch
    in float64, blocked libraries from per-block offsets): at 1e8 elements this checksum
    differs by about 3e-5 between them, inside the default 1e-3."""
    return float(np.abs(np.asarray(strided, np.float64)).sum())


def abs_sum(x) -> float:
    """sum(|x|) in float64: of R for qr (R is unique up to the signs of its rows), of the
    solution for cg."""
    return float(np.abs(np.asarray(x, np.float64)).sum())
