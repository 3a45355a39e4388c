"""Linear algebra: matmul/dot for every split combination, transpose and permute_dims.

``matmul`` picks, from global metadata alone, the cheapest of: split the output along a's rows
(b replicated), along b's columns (a replicated), along a batch axis, or contract a split inner
axis into partial products and one all-reduce. ``X.T @ X`` with X split on rows takes the last:
a local GEMM and one all-reduce of the small result, never a gather of X.
"""

from __future__ import annotations

from . import _core, factorize
from ._array import LazyArray
from .creation import lazy
from .graph.errors import normalize_axis, op_error


def matmul(x1, x2):
    """Matrix product with NumPy's ``matmul`` semantics (1-D operands, batch broadcasting).

    >>> x = lh.random.randn(100, 4, split=0, seed=0)
    >>> (x.T @ x).shape
    (4, 4)
    """
    a, b = lazy(x1), lazy(x2)
    _core.check_same([a, b], "matmul")
    return _core.make("matmul", (a._node, b._node), {})


def dot(x1, x2):
    """NumPy's ``dot`` for scalars, vectors and matrices (``matmul`` for 1-D and 2-D)."""
    if _core.is_scalar(x1) or _core.is_scalar(x2):
        return x1 * x2 if isinstance(x1, LazyArray) else lazy(x2) * x1
    a, b = lazy(x1), lazy(x2)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim > 2 or b.ndim > 2:
        raise op_error(ValueError, "dot", "only operands of up to 2 dimensions are supported; "
                       "use matmul for stacks of matrices", a.shape, b.shape)
    return matmul(a, b)


def permute_dims(x, axes):
    """Permute the axes of ``x``; the split axis moves with its data (no communication)."""
    x = lazy(x)
    axes = tuple(normalize_axis(a, x.ndim, "permute_dims", x.shape) for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise op_error(ValueError, "permute_dims", f"axes {axes} are not a permutation of "
                       f"{x.ndim} axes", x.shape)
    if axes == tuple(range(x.ndim)):
        return x
    return _core.make("transpose", (x._node,), {"perm": axes})


def transpose(x, axes=None):
    """Reverse (or permute by ``axes``) the axes of ``x``; ``x.T`` for short."""
    x = lazy(x)
    return permute_dims(x, tuple(reversed(range(x.ndim))) if axes is None else axes)



# ---------------------------------------------------------------- the linalg extension
# Functions composed of distributed ops (reductions, elementwise, matmul) are distributed as
# those are; factorizations and solvers run ``linalg_local`` on whole matrices (see
# ``graph/linalg.py``: a stack split along a batch axis needs no communication).
def matrix_transpose(x, /):
    """The transpose of the last two axes (``x.mT``)."""
    x = lazy(x)
    if x.ndim < 2:
        raise op_error(ValueError, "matrix_transpose", f"needs at least 2 dimensions, got "
                       f"shape {x.shape}", x.shape)
    return permute_dims(x, tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))


_local = factorize.local


def cholesky(x, /, *, upper=False):
    """The Cholesky factor of each symmetric (Hermitian) positive-definite matrix: lower
    triangular ``L`` with ``x = L @ L^H`` (upper: ``U`` with ``x = U^H @ U``)."""
    return _local("cholesky", x, "L", upper=bool(upper))


def inv(x, /):
    """The inverse of each square matrix."""
    return _local("inv", x, "X")


def pinv(x, /, *, rtol=None):
    """The Moore-Penrose pseudo-inverse of each matrix (singular values below ``rtol`` times
    the largest are treated as zero)."""
    return _local("pinv", x, "X", rtol=None if rtol is None else float(rtol))


def det(x, /):
    """The determinant of each square matrix."""
    return _local("det", x, "d")


class SlogdetResult(tuple):
    """``(sign, logabsdet)``: the determinant is ``sign * exp(logabsdet)``."""

    sign = property(lambda self: self[0])
    logabsdet = property(lambda self: self[1])


def slogdet(x, /):
    """Sign and natural log of the absolute determinant of each square matrix."""
    return SlogdetResult((_local("slogdet", x, "sign"), _local("slogdet", x, "logabsdet")))


class EighResult(tuple):
    """``(eigenvalues, eigenvectors)`` of a symmetric (Hermitian) matrix, ascending."""

    eigenvalues = property(lambda self: self[0])
    eigenvectors = property(lambda self: self[1])


def eigh(x, /, *, UPLO="L"):  # noqa: N803 - the standard's name
    """Eigenvalues (ascending) and eigenvectors of each symmetric (Hermitian) matrix, from
    its lower (``UPLO="L"``) or upper triangle."""
    return EighResult((_local("eigh", x, "eigenvalues", uplo=UPLO),
                       _local("eigh", x, "eigenvectors", uplo=UPLO)))


def eigvalsh(x, /, *, UPLO="L"):  # noqa: N803
    """The eigenvalues (ascending) of each symmetric (Hermitian) matrix."""
    return _local("eigvalsh", x, "w", uplo=UPLO)


class SVDResult(tuple):
    """``(U, S, Vh)`` with ``x = U @ diag(S) @ Vh``, ``S`` descending."""

    U = property(lambda self: self[0])
    S = property(lambda self: self[1])
    Vh = property(lambda self: self[2])


def _split_2d(x) -> bool:
    """A 2-D matrix split over ranks: factored by TSQR (``factorize.py``), not gathered."""
    return x.ndim == 2 and x.split is not None


def svd(x, /, *, full_matrices=True):
    """The singular value decomposition of each matrix: ``x = U @ diag(S) @ Vh``.

    A 2-D matrix split over ranks with ``full_matrices=False`` is factored without gathering
    it: TSQR of its tall orientation (one all-gather of small n x n factors), then the SVD of
    the small triangle on every rank. ``full_matrices=True`` (the standard's default) asks for
    an m x m ``U`` of a tall matrix, which is formed from the whole matrix (an all-gather)."""
    x = lazy(x)
    if _split_2d(x) and not full_matrices:
        return SVDResult(factorize.svd_2d(x))
    return SVDResult(factorize.svd_local(x, full_matrices))


def svdvals(x, /):
    """The singular values of each matrix, descending (of a split 2-D matrix: those of its
    TSQR R factor, without gathering the matrix)."""
    x = lazy(x)
    if _split_2d(x):
        return factorize.svdvals_2d(x)
    return _local("svdvals", x, "S")


class QRResult(tuple):
    """``(Q, R)`` with ``x = Q @ R``, ``Q`` orthonormal columns, ``R`` upper triangular."""

    Q = property(lambda self: self[0])
    R = property(lambda self: self[1])


def qr(x, /, *, mode="reduced"):
    """The QR factorization of each matrix: ``mode`` "reduced" or "complete" give ``(Q, R)``,
    "r" (NumPy's) gives ``R`` alone.

    A tall 2-D matrix (m >= n) in "reduced" or "r" mode is factored by TSQR
    (``lh.linalg.tsqr``): each rank factors its row block, one all-gather of the p small
    n x n R factors, a merge on every rank; ``Q`` keeps the input's row split. ``R`` then has
    a real non-negative diagonal, so the factors of a full-rank matrix do not depend on the
    number of ranks. Stacks, wide matrices and "complete" mode factor whole matrices (a
    batch split is kept; a split matrix axis is gathered).

    >>> q, r = lh.linalg.qr(lh.random.randn(100, 4, split=0, seed=0))
    >>> q.shape, r.shape, q.split
    ((100, 4), (4, 4), 0)
    """
    if mode not in ("reduced", "complete", "r"):
        raise op_error(ValueError, "qr", f"mode must be 'reduced', 'complete' or 'r', got "
                       f"{mode!r}")
    x = lazy(x)
    if factorize.is_tall_2d(x) and mode != "complete":
        return factorize.tsqr(x, mode) if mode == "r" else QRResult(factorize.tsqr(x, mode))
    if mode == "r":
        return _local("qr", x, "R", mode="reduced")
    return QRResult((_local("qr", x, "Q", mode=mode), _local("qr", x, "R", mode=mode)))


def matrix_rank(x, /, *, rtol=None):
    """The rank of each matrix: singular values above ``rtol`` times the largest (default
    ``max(m, n) * eps``)."""
    return _local("matrix_rank", x, "r", rtol=None if rtol is None else float(rtol))


def solve(x1, x2, /):
    """The solution ``X`` of ``x1 @ X = x2`` for each square ``x1`` (``x2`` a vector or a
    stack of matrices, broadcast as the standard says); ``inv(x1) @ x2`` on whole matrices."""
    a, b = lazy(x1), lazy(x2)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise op_error(ValueError, "solve", f"x1 must be a (stack of) square matrices, got "
                       f"shape {a.shape}", a.shape, b.shape)
    if b.ndim == 1:
        if b.shape[0] != a.shape[-1]:
            raise op_error(ValueError, "solve", "x2's length does not match x1", a.shape,
                           b.shape)
        return matmul(inv(a), b)
    if b.shape[-2] != a.shape[-1]:
        raise op_error(ValueError, "solve", "x2's rows do not match x1", a.shape, b.shape)
    return matmul(inv(a), b)


def matrix_power(x, n, /):
    """``x`` multiplied by itself ``n`` times (by repeated squaring; ``n < 0`` inverts first,
    ``n == 0`` gives identities)."""
    x = lazy(x)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise op_error(ValueError, "matrix_power", f"needs (a stack of) square matrices, got "
                       f"shape {x.shape}", x.shape)
    n = int(n)
    if n == 0:
        from . import elementwise as ew
        from .creation import eye

        ident = eye(x.shape[-1], dtype=x.dtype, device=x.device, comm=x.comm)
        return ew.add(ew.multiply(x, 0), ident)
    if n < 0:
        x, n = inv(x), -n
    result, base = None, x
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result


def outer(x1, x2, /):
    """The outer product of two vectors (elementwise, distributed as its operands)."""
    a, b = lazy(x1), lazy(x2)
    if a.ndim != 1 or b.ndim != 1:
        raise op_error(ValueError, "outer", "needs two 1-D arrays", a.shape, b.shape)
    from .manipulation import reshape

    return reshape(a, (a.shape[0], 1)) * reshape(b, (1, b.shape[0]))


def vecdot(x1, x2, /, *, axis=-1):
    """The dot product of vectors along ``axis`` (``conj(x1)`` for complex), broadcasting
    the other axes: a fused multiply and one distributed sum."""
    from . import elementwise as ew
    from . import reductions

    a, b = lazy(x1), lazy(x2)
    if a.dtype.is_complex:
        a = ew.conj(a)
    prod = a * b
    axis = normalize_axis(axis, prod.ndim, "vecdot", prod.shape)
    if a.shape[axis - prod.ndim + a.ndim] != b.shape[axis - prod.ndim + b.ndim]:
        raise op_error(ValueError, "vecdot", "the vectors' lengths differ", a.shape, b.shape)
    return reductions.sum(prod, axis=axis)


def tensordot(x1, x2, /, *, axes=2):
    """Sum of products over ``axes`` (an int: the last ``axes`` of x1 with the first of x2;
    or two sequences), as one matmul of the operands reshaped to matrices."""
    from .manipulation import reshape

    a, b = lazy(x1), lazy(x2)
    if isinstance(axes, int):
        if axes < 0:
            raise op_error(ValueError, "tensordot", f"axes must be non-negative, got {axes}")
        ax_a = tuple(range(a.ndim - axes, a.ndim))
        ax_b = tuple(range(axes))
    else:
        ax_a, ax_b = (tuple(normalize_axis(i, t.ndim, "tensordot", t.shape) for i in
                      ((ax,) if isinstance(ax, int) else ax))
                      for t, ax in zip((a, b), axes))
    if len(ax_a) != len(ax_b) or any(a.shape[i] != b.shape[j] for i, j in zip(ax_a, ax_b)):
        raise op_error(ValueError, "tensordot", "shape mismatch for sum", a.shape, b.shape)
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [j for j in range(b.ndim) if j not in ax_b]
    k = 1
    for i in ax_a:
        k *= a.shape[i]
    m = 1
    for i in free_a:
        m *= a.shape[i]
    n = 1
    for j in free_b:
        n *= b.shape[j]
    am = reshape(permute_dims(a, tuple(free_a) + ax_a), (m, k))
    bm = reshape(permute_dims(b, ax_b + tuple(free_b)), (k, n))
    return reshape(matmul(am, bm),
                   tuple(a.shape[i] for i in free_a) + tuple(b.shape[j] for j in free_b))


def cross(x1, x2, /, *, axis=-1):
    """The cross product of 3-element vectors along ``axis`` (broadcasting the rest)."""
    from . import elementwise as ew
    from .manipulation import concatenate, getitem

    a, b = lazy(x1), lazy(x2)
    nd = max(a.ndim, b.ndim)
    ax = normalize_axis(axis, nd, "cross", a.shape)
    if a.shape != b.shape:  # broadcast both (zeros of the joint shape keep each dtype)
        from .creation import zeros
        from .graph.rules import broadcast_shapes

        shape = broadcast_shapes([a.shape, b.shape], "cross")
        a = ew.add(a, zeros(shape, dtype=a.dtype, device=a.device, comm=a.comm))
        b = ew.add(b, zeros(shape, dtype=b.dtype, device=b.device, comm=b.comm))
    if a.shape[ax] != 3 or b.shape[ax] != 3:
        raise op_error(ValueError, "cross", "the vectors must have 3 elements along axis",
                       a.shape, b.shape)

    def comp(t, i):
        key = [slice(None)] * nd
        key[ax] = slice(i, i + 1)
        return getitem(t, tuple(key))

    a0, a1, a2 = (comp(a, i) for i in range(3))
    b0, b1, b2 = (comp(b, i) for i in range(3))
    return concatenate([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], ax)


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """The vector ``ord``-norm over ``axis`` (all axes by default, a tuple allowed):
    2 (default), 1, inf, -inf, 0 (non-zero count) or any p, as distributed reductions."""
    from . import elementwise as ew
    from . import reductions

    x = lazy(x)
    a = ew.abs(x)
    if not (a.dtype.is_floating):
        a = ew.astype(a, "float64")
    inf = float("inf")
    if ord == inf:
        return reductions.max(a, axis=axis, keepdims=keepdims)
    if ord == -inf:
        return reductions.min(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return ew.astype(reductions.sum(ew.not_equal(a, 0), axis=axis, keepdims=keepdims),
                         a.dtype)
    if ord == 1:
        return reductions.sum(a, axis=axis, keepdims=keepdims)
    if ord == 2:
        return ew.sqrt(reductions.sum(a * a, axis=axis, keepdims=keepdims))
    p = float(ord)
    return ew.power(reductions.sum(ew.power(a, p), axis=axis, keepdims=keepdims), 1.0 / p)


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """The matrix norm of each matrix (last two axes): "fro", "nuc", 1, -1, 2, -2, inf,
    -inf, as NumPy's. The elementwise ones are distributed reductions; 2, -2 and "nuc" come
    from the singular values."""
    from . import elementwise as ew
    from . import reductions

    x = lazy(x)
    if x.ndim < 2:
        raise op_error(ValueError, "matrix_norm", f"needs at least 2 dimensions, got shape "
                       f"{x.shape}", x.shape)
    ax = (x.ndim - 2, x.ndim - 1)
    inf = float("inf")

    def keep(r):
        if not keepdims:
            return r
        from .manipulation import reshape

        return reshape(r, r.shape + (1, 1))

    if ord == "fro":
        return vector_norm(x, axis=ax, keepdims=keepdims)
    if ord in ("nuc", 2, -2):
        s = svdvals(x)
        r = (reductions.sum(s, axis=-1) if ord == "nuc" else
             reductions.max(s, axis=-1) if ord == 2 else reductions.min(s, axis=-1))
        return keep(r)
    a = ew.abs(x)
    if ord in (1, -1):
        col = reductions.sum(a, axis=ax[0])
        return keep(reductions.max(col, axis=-1) if ord == 1 else reductions.min(col, axis=-1))
    if ord in (inf, -inf):
        row = reductions.sum(a, axis=ax[1])
        return keep(reductions.max(row, axis=-1) if ord == inf else
                    reductions.min(row, axis=-1))
    raise op_error(ValueError, "matrix_norm", f"invalid norm order {ord!r}")


def trace(x, /, *, offset=0, dtype=None):
    """The sum of each matrix's ``offset`` diagonal (last two axes): a masked sum, so a
    split matrix is reduced where it lies."""
    from . import elementwise as ew
    from . import reductions
    from .creation import arange
    from .manipulation import reshape

    x = lazy(x)
    if x.ndim < 2:
        raise op_error(ValueError, "trace", f"needs at least 2 dimensions, got shape "
                       f"{x.shape}", x.shape)
    m, n = x.shape[-2:]
    i = reshape(arange(m, device=x.device, comm=x.comm), (m, 1))
    j = reshape(arange(n, device=x.device, comm=x.comm), (1, n))
    on_diag = ew.equal(j - i, int(offset))
    masked = ew.where(on_diag, x, 0)
    return reductions.sum(masked, axis=(x.ndim - 2, x.ndim - 1), dtype=dtype)


def diagonal(x, /, *, offset=0):
    """The ``offset`` diagonal of each matrix (last two axes): a strided slice of the
    flattened matrices (step ``n + 1``), so a batch split stays where it is."""
    from .manipulation import getitem, reshape

    x = lazy(x)
    if x.ndim < 2:
        raise op_error(ValueError, "diagonal", f"needs at least 2 dimensions, got shape "
                       f"{x.shape}", x.shape)
    *batch, m, n = x.shape
    k = int(offset)
    length = max(0, min(m, n - k) if k >= 0 else min(m + k, n))
    flat = reshape(x, tuple(batch) + (m * n,))
    start = k if k >= 0 else -k * n
    stop = start + (length - 1) * (n + 1) + 1 if length else start
    key = (Ellipsis, slice(start, stop, n + 1))
    return getitem(flat, key)


__all__ = ["matmul", "dot", "transpose", "permute_dims", "matrix_transpose", "cholesky", "inv",
           "pinv", "det", "slogdet", "eigh", "eigvalsh", "svd", "svdvals", "qr",
           "matrix_rank", "solve", "matrix_power", "outer", "vecdot", "tensordot", "cross",
           "vector_norm", "matrix_norm", "trace", "diagonal", "norm"]


def norm(x, ord=None, axis=None, keepdims=False):
    """NumPy's ``linalg.norm``: a vector norm for 1-D input or an int ``axis``, a matrix
    norm ("fro" by default) for 2-D input or a 2-tuple ``axis``."""
    x = lazy(x)
    if axis is None and x.ndim == 2 or (isinstance(axis, tuple) and len(axis) == 2):
        if axis is not None:
            ax = tuple(normalize_axis(a, x.ndim, "norm", x.shape) for a in axis)
            rest = [i for i in range(x.ndim) if i not in ax]
            x = permute_dims(x, tuple(rest) + ax)
        return matrix_norm(x, keepdims=keepdims, ord="fro" if ord is None else ord)
    return vector_norm(x, axis=axis, keepdims=keepdims, ord=2 if ord is None else ord)


# distributed factorizations beyond the standard (HeAT's and NumPy's)
hsvd_rank = factorize.hsvd_rank
hsvd_rtol = factorize.hsvd_rtol
lstsq = factorize.lstsq
rsvd = factorize.rsvd
tsqr = factorize.tsqr
from .iterative import cg, eigsh, lanczos  # noqa: E402,F401 - they build on the above
