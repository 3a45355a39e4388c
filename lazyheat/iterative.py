"""Iterative solvers on distributed operators: conjugate gradients and Lanczos.

An operator is a square lazy matrix (any split) or a callable ``v -> A v`` built from lazy
ops (a stencil, a product of factors), so a matrix that is never formed can be solved with.
Each iteration is one plan: the operator application, its dot products (an all-reduce of
one scalar each) and the vector updates, fused, then materialized. The stopping test reads a
scalar every rank holds after the same all-reduce, so every rank takes the same number of
iterations. The plan of an iteration is the same every time (its scalars are values, not
constants of the graph), so it is planned once and taken from the plan cache afterwards.
"""

from __future__ import annotations

import math

from . import elementwise as ew
from ._array import LazyArray
from .creation import lazy, zeros_like
from .factorize import local, matmul, mT
from .graph import dtypes as dt
from .graph.errors import op_error
from .planner import compute


def _operator(A, n_hint=None):
    """``(apply, n)`` for a lazy square matrix or a callable (``n`` from ``n_hint``)."""
    if callable(A) and not isinstance(A, LazyArray):
        return A, n_hint
    A = lazy(A)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise op_error(ValueError, "cg", f"A must be a square matrix or a callable, got shape "
                       f"{A.shape}", A.shape)
    return (lambda v: matmul(A, v)), A.shape[0]


def _dot(u, v):
    return (ew.conj(u) * v).sum() if u.dtype.is_complex else (u * v).sum()


def cg(A, b, x0=None, *, rtol=1e-5, atol=0.0, maxiter=None, return_info=False):
    """Solve ``A x = b`` for a symmetric (Hermitian) positive-definite ``A`` by conjugate
    gradients, as ``scipy.sparse.linalg.cg``: iterate until ``||b - A x|| <= max(rtol *
    ||b||, atol)`` or ``maxiter`` iterations (default ``10 n``).

    ``A``: a square lazy matrix or a callable ``v -> A v`` of lazy ops; ``b`` a 1-D lazy
    array (any split; ``x`` takes its layout); ``x0`` the start (zeros). Returns ``x``, or
    ``(x, iterations, converged)`` with ``return_info=True``.

    >>> n = 100
    >>> lap = lambda v: 2 * v - lh.roll(v, 1) - lh.roll(v, -1)  # periodic 1-D Laplacian
    >>> b = lh.cos(lh.linspace(0, 6.283185307179586, n, endpoint=False, split=0))
    >>> x = lh.linalg.cg(lambda v: lap(v) + 0.1 * v, b, rtol=1e-8)
    >>> bool(lh.allclose(lap(x) + 0.1 * x, b, atol=1e-6))
    True
    """
    b = lazy(b)
    if b.ndim != 1:
        raise op_error(ValueError, "cg", f"b must be 1-D, got shape {b.shape}", b.shape)
    apply, n = _operator(A, b.shape[0])
    if n != b.shape[0]:
        raise op_error(ValueError, "cg", f"A is {n} x {n} but b has {b.shape[0]} entries",
                       b.shape)
    dtype = b.dtype if b.dtype.is_inexact else dt.float64
    b = b.astype(dtype)
    maxiter = 10 * n if maxiter is None else int(maxiter)
    x = zeros_like(b) if x0 is None else lazy(x0).astype(dtype)
    r = b - apply(x) if x0 is not None else b
    x, r, rs, bb = compute(x + 0, r + 0, _dot(r, r), _dot(b, b))
    tol = max(float(rtol) * math.sqrt(abs(float(bb))), float(atol))
    p, it = r, 0
    while math.sqrt(abs(float(rs))) > tol and it < maxiter:
        q = apply(p)
        alpha = rs / _dot(p, q)
        x_new = x + alpha * p
        r_new = r - alpha * q
        rs_new = _dot(r_new, r_new)
        p_new = r_new + (rs_new / rs) * p
        x, r, p, rs = compute(x_new, r_new, p_new, rs_new)
        it += 1
    converged = math.sqrt(abs(float(rs))) <= tol
    return (x, it, converged) if return_info else x


def lanczos(A, m, v0=None, *, seed=None):
    """``m`` steps of the Lanczos process on a symmetric (Hermitian) ``A`` (HeAT's
    ``ht.lanczos``): ``(V, T)`` with orthonormal columns ``V`` (n x m, laid out like the
    vectors ``A`` produces) and the tridiagonal ``T = V^H A V`` (m x m, replicated), whose
    eigenvalues approximate ``A``'s extreme ones. Every new vector is re-orthogonalized
    against all earlier ones (full reorthogonalization, two passes), so ``V`` stays orthonormal
    in floating point. ``v0`` is the start vector (default: normal samples from ``seed``).
    A breakdown (an invariant subspace found) restarts with a random vector orthogonal to
    ``V``, as ARPACK does."""
    from .creation import zeros
    from .manipulation import stack
    from .random import randn

    apply, n = _operator(A, None if v0 is None else lazy(v0).shape[0])
    if n is None:
        raise op_error(ValueError, "lanczos", "a callable A needs v0 (its length gives n)")
    m = int(m)
    if not 1 <= m <= n:
        raise op_error(ValueError, "lanczos", f"m must be in [1, n = {n}], got {m}")
    v = randn(n, seed=seed) if v0 is None else lazy(v0)
    dtype = v.dtype if v.dtype.is_inexact else dt.float64
    v = v.astype(dtype)
    (v,) = compute(v / ew.sqrt(_dot(v, v)))
    vs, alphas, betas = [v], [], []
    for j in range(m):
        w = apply(vs[j])
        alpha = _dot(vs[j], w)
        w = w - alpha * vs[j] - (betas[-1] * vs[j - 1] if j else 0)
        basis = stack(vs, axis=1)  # n x (j + 1)
        for _ in range(2):  # twice is enough (Kahan-Parlett)
            basis_h = mT(ew.conj(basis) if dtype.is_complex else basis)
            w = w - matmul(basis, matmul(basis_h, w))
        w, alpha, beta = compute(w, ew.real(alpha), ew.sqrt(ew.real(_dot(w, w))))
        alphas.append(alpha)
        if j == m - 1:
            break
        if float(beta) <= 1e3 * _eps(dtype) * max(1.0, abs(float(alpha))):
            w = randn(n, seed=None if seed is None else seed + j + 1).astype(dtype)
            for _ in range(2):
                basis_h = mT(ew.conj(basis) if dtype.is_complex else basis)
                w = w - matmul(basis, matmul(basis_h, w))
            beta_v = zeros((), dtype=ew.real(alpha).dtype)
            (w,) = compute(w / ew.sqrt(ew.real(_dot(w, w))))
            betas.append(beta_v)
            vs.append(w)
            continue
        betas.append(beta)
        (w,) = compute(w / beta)
        vs.append(w)
    V = stack(vs, axis=1)
    T = _tridiagonal(alphas, betas)
    return compute(V, T)


def _eps(dtype) -> float:
    from .dtype_functions import finfo

    return float(finfo(dtype).eps)


def _tridiagonal(alphas, betas):
    from .construct import diag
    from .manipulation import stack

    a = stack(alphas)
    if not betas:
        return diag(a)
    b = stack(betas)
    return diag(a) + diag(b, 1) + diag(b, -1)


def eigsh(A, k=6, *, which="LA", m=None, v0=None, seed=None, return_eigenvectors=True):
    """``k`` extreme eigenpairs of a large symmetric (Hermitian) ``A`` by Lanczos with full
    reorthogonalization (a restart-free ``scipy.sparse.linalg.eigsh``): ``which`` "LA"
    (largest algebraic), "SA" (smallest) or "LM" (largest magnitude). ``m`` Lanczos steps
    (default ``min(n, max(2 k + 1, 20))``); the Ritz values of the m x m tridiagonal ``T``
    converge to the extreme eigenvalues first. Returns ``(w, V)`` ascending as NumPy's
    ``eigh`` (or ``w`` alone), ``V`` laid out like ``A``'s vectors."""
    apply, n = _operator(A, None if v0 is None else lazy(v0).shape[0])
    if n is None:
        raise op_error(ValueError, "eigsh", "a callable A needs v0 (its length gives n)")
    k = int(k)
    if not 1 <= k <= n:
        raise op_error(ValueError, "eigsh", f"k must be in [1, n = {n}], got {k}")
    if which not in ("LA", "SA", "LM"):
        raise op_error(ValueError, "eigsh", f"which must be 'LA', 'SA' or 'LM', got {which!r}")
    m = min(n, max(2 * k + 1, 20)) if m is None else int(m)
    V, T = lanczos(A if not callable(A) or isinstance(A, LazyArray) else apply, m, v0,
                   seed=seed)
    w = local("eigh", T, "eigenvalues", uplo="L")
    y = local("eigh", T, "eigenvectors", uplo="L")
    w_np = w.numpy()
    if which == "LA":
        pick = list(range(m - k, m))
    elif which == "SA":
        pick = list(range(k))
    else:
        pick = sorted(sorted(range(m), key=lambda i: -abs(float(w_np[i])))[:k],
                      key=lambda i: float(w_np[i]))
    w_k = _columns(w, pick, axis=0)
    if not return_eigenvectors:
        return w_k
    return w_k, matmul(V, _columns(y, pick, axis=1))


def _columns(x, pick, axis):
    """Entries ``pick`` (ascending host ints) of ``x`` along ``axis``: runs of consecutive
    positions as slices, joined."""
    from .manipulation import concatenate

    runs, start = [], pick[0]
    for a, b in zip(pick, pick[1:] + [None]):
        if b != a + 1:
            runs.append((start, a + 1))
            start = b
    parts = [x[s:e] if axis == 0 else x[:, s:e] for s, e in runs]
    return parts[0] if len(parts) == 1 else concatenate(parts, axis=axis)
