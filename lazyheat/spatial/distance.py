"""Pairwise distances between the rows of two matrices, lazily and distributed.

``cdist(X, Y)`` is the n x m matrix of distances between the n rows of ``X`` and the m rows
of ``Y`` (SciPy's ``scipy.spatial.distance.cdist``, HeAT's ``ht.spatial.cdist``). It is an
expression like any other: nothing is computed until the result is asked for, and it fuses
with what follows (``rbf`` is ``exp`` of it, in the same kernel).

Layouts (the rows of the result follow the rows of ``X``, as in HeAT):

=============  =============  ============  ==========================================
``X.split``    ``Y.split``    result split  communication
=============  =============  ============  ==========================================
0              any            0             ``Y`` all-gathered once (none if replicated)
None           0              1             none: each rank pairs all of X with its rows
None           None           None          none
=============  =============  ============  ==========================================

A split along the columns (features) is first moved to a row split (one all-to-all).
``X`` itself never moves when it is split along its rows.

Euclidean-type metrics use the quadratic expansion by default: one GEMM,
``|x|^2 + |y|^2 - 2 x.y`` clamped at 0, as ``torch.cdist`` does. It loses accuracy where
distances are small against the norms (the absolute error of ``d^2`` is about
``eps * (|x|^2 + |y|^2)``; a point's distance to itself comes out near ``sqrt(eps) |x|``
rather than 0). ``quadratic_expansion=False`` sums the squared differences instead: exact to
rounding, as SciPy, and slower for many features. The difference form (also that of
``cityblock``) is a broadcast ``X[:, None, :] - Y[None, :, :]`` reduced over the last axis;
lazyheat evaluates it in cache-sized chunks without materializing the n x m x d
difference, and where that alone would be large the result is moreover built in blocks
along its unsplit axis (joined locally, at the cost of one copy of the result), so that no
rank's temporary exceeds ``_BLOCK_ELEMENTS`` where a kernel runs unchunked (a GPU,
``LAZYHEAT_CHUNK=0``).
"""

from __future__ import annotations

import math

# public modules, not ``import lazyheat``: the package imports this one (no import cycle)
from .. import elementwise as ew
from ..base import check_array
from ..dtype_functions import result_type
from ..manipulation import concatenate, resplit

__all__ = ["cdist", "rbf", "manhattan", "METRICS"]

#: The metrics ``cdist`` knows, with their aliases.
METRICS = {"euclidean": "euclidean", "sqeuclidean": "sqeuclidean", "cityblock": "cityblock",
           "manhattan": "cityblock", "l1": "cityblock", "l2": "euclidean", "cosine": "cosine"}

# At most this many elements of a broadcast difference per rank and kernel (256 MiB at
# float32): the column blocks of the difference form are sized by it.
_BLOCK_ELEMENTS = 1 << 26


def cdist(X, Y=None, metric="euclidean", quadratic_expansion=None):
    """Distances between the rows of ``X`` (n x d) and those of ``Y`` (m x d; ``X`` itself
    when None): a lazy n x m matrix.

    ``metric``: ``"euclidean"`` (alias ``"l2"``), ``"sqeuclidean"``, ``"cityblock"``
    (aliases ``"manhattan"``, ``"l1"``) or ``"cosine"`` (``1 - x.y / (|x| |y|)``, NaN for a
    zero row, as SciPy). ``quadratic_expansion``: for the euclidean metrics, True or None
    (the default) computes ``|x|^2 + |y|^2 - 2 x.y`` with one matrix product, False sums
    squared differences (exact to rounding; see the module notes). Integer and bool input
    becomes float32; two float types promote.

    The rows of the result are split as those of ``X``; see the module docstring for the
    layouts and what moves.

    >>> import lazyheat as lh
    >>> from lazyheat.spatial import cdist
    >>> X = lh.array([[0.0, 0.0], [3.0, 4.0]], split=0)
    >>> cdist(X).numpy()
    array([[0., 5.],
           [5., 0.]], dtype=float32)
    >>> cdist(X, lh.array([[1.0, 1.0]]), metric="cityblock").numpy()
    array([[2.],
           [5.]], dtype=float32)
    """
    name = _metric(metric, "cdist")
    if quadratic_expansion not in (None, True, False):
        raise ValueError(f"cdist: quadratic_expansion must be True, False or None, got "
                         f"{quadratic_expansion!r}")
    X, Y = _operands(X, Y, "cdist")
    if name == "cityblock":
        return _blocked(X, Y, lambda a, b: ew.abs(_diff(a, b)).sum(axis=-1))
    if name == "cosine":
        return _cosine(X, Y)
    d2 = _squared(X, Y, quadratic_expansion is not False)
    return d2 if name == "sqeuclidean" else ew.sqrt(d2)


def rbf(X, Y=None, sigma=1.0, quadratic_expansion=None):
    """The Gaussian (radial basis function) kernel ``exp(-|x - y|^2 / (2 sigma^2))`` between
    the rows of ``X`` and those of ``Y`` (``X`` when None), lazily; layouts and
    ``quadratic_expansion`` as in :func:`cdist`. HeAT's ``ht.spatial.rbf``.

    >>> import lazyheat as lh
    >>> from lazyheat.spatial import rbf
    >>> K = rbf(lh.array([[0.0], [2.0]], split=0), sigma=1.0).numpy()
    >>> bool(abs(K[0, 1] - 2.718281828 ** -2) < 1e-6)
    True
    """
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or \
            not math.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"rbf: sigma must be a positive number, got {sigma!r}")
    if quadratic_expansion not in (None, True, False):
        raise ValueError(f"rbf: quadratic_expansion must be True, False or None, got "
                         f"{quadratic_expansion!r}")
    X, Y = _operands(X, Y, "rbf")
    d2 = _squared(X, Y, quadratic_expansion is not False)
    return ew.exp(d2 * (-1.0 / (2.0 * float(sigma) ** 2)))


def manhattan(X, Y=None, expand=False):
    """City-block (L1) distances between the rows of ``X`` and those of ``Y`` (``X`` when
    None): ``cdist(X, Y, metric="cityblock")``. ``expand`` is HeAT's choice between two
    ways of evaluating it; lazyheat's chunked kernel serves both, so it changes nothing.

    >>> import lazyheat as lh
    >>> from lazyheat.spatial import manhattan
    >>> manhattan(lh.array([[0.0, 0.0], [1.0, -2.0]], split=0)).numpy()
    array([[0., 3.],
           [3., 0.]], dtype=float32)
    """
    if not isinstance(expand, bool):
        raise TypeError(f"manhattan: expand must be a bool, got {expand!r}")
    return cdist(X, Y, metric="cityblock")


# ---------------------------------------------------------------------------- helpers


def _metric(metric, who: str) -> str:
    """The canonical name of ``metric``, or a ValueError naming ``who`` and the choices."""
    if not isinstance(metric, str) or metric.lower() not in METRICS:
        raise ValueError(f"{who}: unknown metric {metric!r}; choose one of "
                         f"{sorted(METRICS)}")
    return METRICS[metric.lower()]


def _operands(X, Y, who: str):
    """``X`` and ``Y`` as 2-d lazy arrays of one floating type, laid out for a row-wise
    pairing: ``X`` split along its rows (0) or replicated; ``Y`` replicated when ``X`` is
    split, else split along its rows or replicated. Every check reads metadata only, so
    the same error comes up on every rank."""
    X = check_array(X, "X", ndim=2, estimator=who)
    Y = X if Y is None else check_array(Y, "Y", ndim=2, estimator=who)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"{who}: X and Y must have the same number of columns (features), "
                         f"got X {X.shape} and Y {Y.shape}")
    common = result_type(X.dtype, Y.dtype)
    # ew.astype: the method form ignores copy=False and would add a copying kernel
    X, Y = ew.astype(X, common, copy=False), ew.astype(Y, common, copy=False)
    if X.split not in (None, 0):
        X = resplit(X, 0)
    if X.split == 0 or Y.split not in (None, 0):
        # every rank pairs its rows of X with all of Y: Y (and only Y) is gathered
        Y = resplit(Y, None)
    return X, Y


def _diff(X, Y):
    """The broadcast difference ``X[:, None, :] - Y[None, :, :]`` (n x m x d, never
    materialized whole: it is consumed by a reduction in the same fused kernel)."""
    return X[:, None, :] - Y[None, :, :]


def _squared(X, Y, expand: bool):
    """Squared euclidean distances: the clamped quadratic expansion (one GEMM) or the sum
    of squared differences."""
    if not expand:
        # lh.square, not d * d: a value used twice by one op is materialized whole
        return _blocked(X, Y, lambda a, b: ew.square(_diff(a, b)).sum(axis=-1))
    xx = ew.square(X).sum(axis=1)[:, None]
    yy = ew.square(Y).sum(axis=1)[None, :]
    # rounding can make the expansion slightly negative for close points: clamp at 0
    return ew.maximum(xx + yy - 2 * (X @ Y.T), 0)


def _cosine(X, Y):
    """``1 - x.y / (|x| |y|)``, clipped to [0, 2] against rounding (NaN for a zero row)."""
    nx = ew.sqrt(ew.square(X).sum(axis=1))[:, None]
    ny = ew.sqrt(ew.square(Y).sum(axis=1))[None, :]
    return ew.clip(1 - (X @ Y.T) / (nx * ny), 0, 2)


def _blocked(X, Y, pair):
    """``pair(X, Y)`` for a broadcast-difference metric, evaluated on column blocks of the
    result when one rank's n x m x d difference would exceed ``_BLOCK_ELEMENTS``.

    The blocks run along the result's unsplit axis (Y's rows when X is split or both are
    replicated, X's rows when Y is split), so joining them moves nothing. The block size
    comes from global metadata alone: the same blocks on every rank."""
    n, d = X.shape
    m = Y.shape[0]
    p = X.comm.size
    if Y.split == 0:  # X replicated: this rank pairs all of X with its share of Y
        rows, block_axis, other = -(-m // p), 0, n
    else:
        rows, block_axis, other = (-(-n // p) if X.split == 0 else n), 1, m
    per_row = max(rows * max(d, 1), 1)  # elements of the difference per result column
    width = max(_BLOCK_ELEMENTS // per_row, 1)
    if other <= width:
        return pair(X, Y)
    parts = []
    for start in range(0, other, width):
        stop = min(start + width, other)
        parts.append(pair(X, Y[start:stop]) if block_axis == 1 else pair(X[start:stop], Y))
    return concatenate(parts, axis=block_axis)
