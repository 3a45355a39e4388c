"""Distributed factorizations of 2-D matrices: QR and SVD by TSQR, least squares, randomized
and truncated SVDs.

A matrix split over ranks is factored in its *tall* orientation: ``x`` itself when it has at
least as many rows as columns, else ``x.T``; the ``tsqr`` op (``graph/tsqr.py``) needs that
matrix split along its rows (a split along the other axis costs one all-to-all, shown in
``explain``), factors each rank's block locally, all-gathers the p small n x n R factors and
merges them. The SVD follows from the small R: ``R = U_r S Vh`` on every rank, ``U = Q U_r``
locally. Nothing gathers the matrix itself.

>>> x = lh.random.randn(1000, 8, split=0, seed=0)
>>> q, r = lh.linalg.qr(x)
>>> bool(lh.allclose(q @ r, x, atol=1e-5))
True
"""

from __future__ import annotations

import builtins

from . import _core
from . import elementwise as ew
from .creation import lazy
from .dtype_functions import finfo
from .graph import dtypes as dt
from .graph.errors import op_error


def matmul(a, b):
    """``a @ b`` (the ``matmul`` op: the planner picks its distribution)."""
    _core.check_same([a, b], "matmul")
    return _core.make("matmul", (a._node, b._node), {})


def mT(x):  # noqa: N802 - the standard's attribute name
    """The transpose of a 2-D matrix (its split moves with it, no communication)."""
    return _core.make("transpose", (x._node,), {"perm": (1, 0)})


def mH(x):  # noqa: N802
    """The conjugate transpose of a 2-D matrix."""
    return mT(ew.conj(x)) if x.dtype.is_complex else mT(x)


def local(fn, x, out, **attrs):
    """``linalg_local``: one torch.linalg routine on each whole matrix of ``x`` (see
    ``graph/linalg.py``)."""
    from .graph.linalg import float_of

    x = lazy(x)
    attrs = {k: v for k, v in attrs.items() if v is not None}
    return _core.make("linalg_local", (x._node,),
                      {"fn": fn, "out": out, "work": float_of(x.dtype), **attrs})


def svd_local(x, full_matrices=False):
    """``(U, S, Vh)`` of each whole matrix of ``x``."""
    return tuple(local("svd", x, part, full_matrices=bool(full_matrices))
                 for part in ("U", "S", "Vh"))


def _tsqr(x, out):
    from .graph.linalg import float_of

    return _core.make("tsqr", (x._node,), {"out": out, "work": float_of(x.dtype)})


def is_tall_2d(x) -> bool:
    """Whether ``x`` is a 2-D matrix with at least as many rows as columns."""
    return x.ndim == 2 and x.shape[0] >= x.shape[1]


def tsqr(x, mode="reduced"):
    """QR of a tall 2-D matrix by TSQR: ``(Q, R)`` (``mode="reduced"``) or ``R`` alone
    (``mode="r"``, which skips building Q). ``R`` has a real non-negative diagonal, so the
    factors of a full-rank matrix do not depend on the number of ranks.

    Communication: one all-gather of the ranks' n x n R factors, ``(p - 1) n^2`` elements
    received per rank (plus one all-to-all when ``x`` is split along its columns)."""
    x = lazy(x)
    if not is_tall_2d(x):
        raise op_error(ValueError, "qr", f"TSQR needs a tall 2-D matrix (m >= n), got shape "
                       f"{x.shape}", x.shape)
    if mode == "r":
        return _tsqr(x, "R")
    if mode != "reduced":
        raise op_error(ValueError, "qr", f"TSQR mode must be 'reduced' or 'r', got {mode!r}")
    return _tsqr(x, "Q"), _tsqr(x, "R")


def svd_2d(x):
    """``(U, S, Vh)`` of a 2-D matrix, reduced (``k = min(m, n)`` singular triplets), by
    TSQR of its tall orientation and the SVD of the small R factor."""
    x = lazy(x)
    if is_tall_2d(x):
        q, r = tsqr(x)
        ur, s, vh = svd_local(r)
        return matmul(q, ur), s, vh
    # x = (x^T)^T with x^T = Q R = Q U_r S Vh  =>  x = Vh^T S (Q U_r)^T
    q, r = tsqr(mT(x))
    ur, s, vh = svd_local(r)
    return mT(vh), s, mT(matmul(q, ur))


def svdvals_2d(x):
    """Singular values of a 2-D matrix: those of the R factor of its tall orientation."""
    x = lazy(x)
    t = x if is_tall_2d(x) else mT(x)
    return local("svdvals", tsqr(t, mode="r"), "S")


def lstsq(a, b, rcond=None):
    """Least-squares solution of ``a @ x = b`` (NumPy's ``numpy.linalg.lstsq``), returning
    ``(x, residuals, rank, s)``: the minimum-norm solution, the squared residual norms
    (one per column of ``b``), the effective rank of ``a`` and its singular values.

    ``a`` (m x n, any split) is factored by TSQR and the SVD of its R factor; singular values
    at most ``rcond`` times the largest are treated as zero (default ``max(m, n) * eps``), so
    rank-deficient systems give the minimum-norm solution, as NumPy's. Unlike NumPy the
    residuals are always returned (NumPy gives an empty array when the rank is below n or
    m <= n); everything stays lazy.

    >>> a = lh.random.randn(200, 3, split=0, seed=1)
    >>> x, res, rank, s = lh.linalg.lstsq(a, a @ lh.asarray([1.0, 2.0, 3.0]))
    >>> int(rank)
    3
    """
    from .reductions import sum as lsum

    a, b = lazy(a), lazy(b)
    if a.ndim != 2:
        raise op_error(ValueError, "lstsq", f"a must be a 2-D matrix, got shape {a.shape}",
                       a.shape, b.shape)
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise op_error(ValueError, "lstsq", f"b must have {a.shape[0]} rows (1-D or 2-D), got "
                       f"shape {b.shape}", a.shape, b.shape)
    m, n = a.shape
    u, s, vh = svd_2d(a)
    work = s.dtype
    if rcond is None:
        rcond = builtins.max(m, n) * finfo(work).eps
    cutoff = s[:1] * float(rcond) if s.shape[0] else s
    keep = s > cutoff
    s_inv = ew.where(keep, 1.0 / ew.where(keep, s, 1.0), 0.0)
    vec = b.ndim == 1
    b2 = b.reshape((m, 1)) if vec else b
    c = matmul(mT(ew.conj(u)), b2.astype(u.dtype))
    x = matmul(mT(ew.conj(vh)), c * s_inv.reshape((-1, 1)))
    resid = b2.astype(u.dtype) - matmul(a.astype(u.dtype), x)
    res = lsum(ew.real(resid * ew.conj(resid)), axis=0)
    rank = lsum(keep.astype(dt.int64))
    if vec:
        x = x.reshape((n,))
    return x, res, rank, s


def rsvd(A, rank, n_oversamples=10, power_iter=0, seed=None):
    """Randomized truncated SVD (Halko, Martinsson and Tropp): ``(U, S, V)`` with
    ``A ~= U @ diag(S) @ V^H``, ``rank`` triplets (HeAT's ``ht.linalg.rsvd`` convention: ``V``,
    not ``Vh``).

    ``A`` (m x n, any split) is multiplied by a Gaussian test matrix of ``rank +
    n_oversamples`` columns (drawn from ``seed``: the same on any number of ranks); each of
    the ``power_iter`` power iterations (for slowly decaying spectra) multiplies by ``A^H``
    and ``A`` again, re-orthonormalized by TSQR; the small projected matrix ``Q^H A`` is then
    factored by TSQR as well. Communication: all-reduces and all-gathers of small
    (m or n) x l and l x l blocks; ``A`` itself never moves.

    >>> a = lh.random.randn(300, 200, split=0, seed=3)
    >>> u, s, v = lh.linalg.rsvd(a, 5, power_iter=2, seed=0)
    >>> u.shape, s.shape, v.shape
    ((300, 5), (5,), (200, 5))
    """
    from .graph.linalg import float_of
    from .random import randn

    A = lazy(A)
    if A.ndim != 2:
        raise op_error(ValueError, "rsvd", f"A must be a 2-D matrix, got shape {A.shape}",
                       A.shape)
    m, n = A.shape
    rank, n_oversamples, power_iter = int(rank), int(n_oversamples), int(power_iter)
    if not 1 <= rank <= builtins.min(m, n):
        raise op_error(ValueError, "rsvd", f"rank must be in [1, min(m, n) = "
                       f"{builtins.min(m, n)}], got {rank}", A.shape)
    if n_oversamples < 0 or power_iter < 0:
        raise op_error(ValueError, "rsvd", "n_oversamples and power_iter must be >= 0",
                       A.shape)
    width = builtins.min(rank + n_oversamples, m, n)
    work = float_of(A.dtype)
    real = {dt.complex64: dt.float32, dt.complex128: dt.float64}.get(work, work)
    omega = randn(n, width, dtype=real, seed=seed, device=A.device, comm=A.comm)
    A = A.astype(work)
    AH = mT(ew.conj(A)) if work.is_complex else mT(A)
    y = matmul(A, omega.astype(work))
    for _ in range(power_iter):
        q = tsqr(y)[0]
        z = tsqr(matmul(AH, q))[0]
        y = matmul(A, z)
    q = tsqr(y)[0]
    qh = mT(ew.conj(q)) if work.is_complex else mT(q)
    b = matmul(qh, A)  # width x n
    ub, s, vh = svd_2d(b) if b.split is not None else svd_local(b)
    u = matmul(q, ub)
    v = mT(ew.conj(vh)) if work.is_complex else mT(vh)
    return u[:, :rank], s[:rank], v[:, :rank]


def _hsvd_parts(A, k):
    """``(U, S)`` of the hierarchical SVD keeping ``k`` triplets per block, and the matrix
    the factors belong to (``A``, or ``A^T`` when ``A`` is split along its rows, whose
    columns then hold the blocks), with whether it was transposed."""
    from .graph.linalg import float_of

    flip = A.split == 0
    B = mT(A) if flip else A
    attrs = {"k": int(k), "work": float_of(B.dtype)}
    u = _core.make("hsvd", (B._node,), {"out": "U", **attrs})
    s = _core.make("hsvd", (B._node,), {"out": "S", **attrs})
    return u, s, B, flip


def _hsvd_result(A, B, flip, u, s, r, compute_sv):
    """Truncate to ``r`` and build ``V = B^H U S^-1`` (distributed, laid out like B's
    columns) and the relative error ``||B - U U^H B||_F / ||B||_F``; swap the factors back
    when ``B`` is ``A^T``."""
    u, s = u[:, :r], s[:r]
    if not compute_sv:
        return _orient(B, flip, u, s, None)[0]
    bh_u = matmul(mH(B), u)  # n x r
    safe = ew.where(s > 0, s, 1.0)
    v = bh_u / safe.reshape((1, -1))
    total = (ew.real(B * ew.conj(B)) if B.dtype.is_complex else B * B).sum()
    kept = (ew.real(bh_u * ew.conj(bh_u)) if bh_u.dtype.is_complex else bh_u * bh_u).sum()
    err = ew.sqrt(ew.maximum(total - kept, 0.0) / ew.where(total > 0, total, 1.0))
    u, v = _orient(B, flip, u, s, v)[:2]
    return u, s, v, err


def _orient(B, flip, u, s, v):
    # A = B^T = (U S V^H)^T = conj(V) S U^T: A's left vectors are conj(V), right ones conj(U)
    if not flip:
        return u, v
    if v is None:
        # left singular vectors of A without V: computed from U as A's rows do
        v = matmul(mH(B), u) / ew.where(s > 0, s, 1.0).reshape((1, -1))
        return (ew.conj(v) if v.dtype.is_complex else v), None
    cu = ew.conj(u) if u.dtype.is_complex else u
    cv = ew.conj(v) if v.dtype.is_complex else v
    return cv, cu


def hsvd_rank(A, maxrank, compute_sv=False, safetyshift=5):
    """Truncated SVD of rank ``maxrank`` by the hierarchical algorithm (HeAT's
    ``ht.linalg.hsvd_rank``): each rank factors its own block of columns (rows of ``A^T``
    when ``A`` is split along rows) keeping ``maxrank + safetyshift`` triplets, one
    all-gather of those m x k factors, and a merge on every rank. Exact when every block has
    rank at most ``maxrank + safetyshift``; otherwise an approximation whose error the
    returned estimate measures.

    Returns ``U`` (m x maxrank), or with ``compute_sv=True`` ``(U, S, V, rel_error)`` with
    ``A ~= U @ diag(S) @ V^H`` and ``rel_error = ||A - U U^H A||_F / ||A||_F`` (exact, one
    more pass over ``A``).

    >>> a = lh.random.randn(50, 400, split=1, seed=2)
    >>> u, s, v, err = lh.linalg.hsvd_rank(a, 5, compute_sv=True)
    >>> u.shape, s.shape, v.shape
    ((50, 5), (5,), (400, 5))
    """
    A = lazy(A)
    if A.ndim != 2:
        raise op_error(ValueError, "hsvd_rank", f"A must be a 2-D matrix, got shape "
                       f"{A.shape}", A.shape)
    r = int(maxrank)
    if not 1 <= r <= builtins.min(A.shape):
        raise op_error(ValueError, "hsvd_rank", f"maxrank must be in [1, "
                       f"{builtins.min(A.shape)}], got {r}", A.shape)
    k = builtins.min(r + int(safetyshift), *A.shape)
    u, s, B, flip = _hsvd_parts(A, k)
    return _hsvd_result(A, B, flip, u, s, r, compute_sv)


def hsvd_rtol(A, rtol, compute_sv=False, maxrank=None, safetyshift=5):
    """Truncated SVD of the smallest rank whose relative error ``||A - A_r||_F / ||A||_F``
    is at most ``rtol`` (HeAT's ``ht.linalg.hsvd_rtol``), by the hierarchical algorithm of
    ``hsvd_rank`` keeping ``maxrank + safetyshift`` triplets per block (default: all, which
    gathers factors as large as the matrix's shorter side allows). Choosing the rank reads the
    singular values and ``||A||_F`` first (a plan break); returns as ``hsvd_rank``."""
    from .planner import compute

    A = lazy(A)
    if A.ndim != 2:
        raise op_error(ValueError, "hsvd_rtol", f"A must be a 2-D matrix, got shape "
                       f"{A.shape}", A.shape)
    if not 0 <= float(rtol) < 1:
        raise op_error(ValueError, "hsvd_rtol", f"rtol must be in [0, 1), got {rtol}")
    top = builtins.min(A.shape)
    cap = top if maxrank is None else builtins.min(int(maxrank), top)
    k = builtins.min(cap + int(safetyshift), top)
    u, s, B, flip = _hsvd_parts(A, k)
    total = (ew.real(B * ew.conj(B)) if B.dtype.is_complex else B * B).sum()
    s_c, total_c = compute(s, total.astype(dt.float64))
    sv, tot = s_c.numpy().astype("float64"), float(total_c)
    r = cap
    if tot > 0:
        left = tot - (sv[:cap] ** 2).cumsum()
        ok = [i + 1 for i in range(cap) if max(left[i], 0.0) <= (float(rtol) ** 2) * tot]
        r = ok[0] if ok else cap
    return _hsvd_result(A, B, flip, u, s_c, builtins.max(r, 1), compute_sv)
