"""Linear algebra: matmul/dot for every split combination, transpose and permute_dims.

``matmul`` picks, from global metadata alone, the cheapest of: split the output along a's rows
(b replicated), along b's columns (a replicated), along a batch axis, or contract a split inner
axis into partial products and one all-reduce. ``X.T @ X`` with X split on rows takes the last:
a local GEMM and one all-reduce of the small result, never a gather of X.
"""

from __future__ import annotations

from . import _core
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

