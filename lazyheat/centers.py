"""Nearest centers: the assignment step of k-means-type algorithms, for everyone.

``nearest_centers(X, C)`` labels every sample with its nearest center and
``center_stats(X, C)`` gives, per center, the sum, count and distance sum of the samples
nearest to it. Both are one op (``nearest`` in ``explain``) that reads ``X`` once in
cache-sized row blocks and never builds the n x k distance matrix; in one plan (one
``lh.compute``) they share that pass. Over rows split across ranks the stats are partial
sums that one all-reduce of ``k (d + 2)`` float64 values combines: the whole exchange a
k-means iteration needs.

>>> X = lh.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0]], split=0)
>>> C = lh.array([[0.0, 0.0], [5.0, 5.0]])
>>> lh.nearest_centers(X, C).numpy()
array([0, 0, 1])
>>> sums, counts, dist = lh.center_stats(X, C)
>>> counts.numpy()
array([2., 1.])
"""

from __future__ import annotations

from . import _core
from .creation import lazy
from .graph.errors import op_error

__all__ = ["nearest_centers", "center_stats"]

METRICS = {"sqeuclidean": "sqeuclidean", "euclidean": "sqeuclidean",
           "cityblock": "cityblock", "manhattan": "cityblock"}


def _operands(X, C, metric, fn):
    X, C = lazy(X), lazy(C)
    if metric not in METRICS:
        raise op_error(ValueError, fn, f"metric must be one of {sorted(METRICS)}, got "
                       f"{metric!r}")
    for name, a in (("X", X), ("C", C)):
        if not a.dtype.is_floating:
            raise op_error(TypeError, fn, f"{name} must hold floating point numbers, got "
                           f"{a.dtype.name}", a.shape)
    _core.check_same([X, C], fn)
    return X, C, METRICS[metric]


def _make(X, C, metric, out, w=None):
    ins = (X._node, C._node) + (() if w is None else (w._node,))
    return _core.make("nearest", ins, {"metric": metric, "out": out})


def nearest_centers(X, C, metric="sqeuclidean", return_distance=False):
    """The index of the nearest row of ``C`` (k x d) for every row of ``X`` (n x d), int64,
    laid out like ``X``'s rows (the first center on ties), and with ``return_distance`` the
    distance to it: squared euclidean for ``"sqeuclidean"``, euclidean for ``"euclidean"``,
    the sum of absolute differences for ``"cityblock"``/``"manhattan"``.

    ``C`` is replicated on every rank (the plan moves it there when it is split).
    """
    X, C, m = _operands(X, C, metric, "nearest_centers")
    labels = _make(X, C, m, "labels")
    if not return_distance:
        return labels
    dist = _make(X, C, m, "dist")
    if metric == "euclidean":
        from .elementwise import sqrt

        dist = sqrt(dist)
    return labels, dist


def center_stats(X, C, metric="sqeuclidean", sample_weight=None):
    """Per row ``j`` of ``C``: the sum of the rows of ``X`` nearest to it (k x d), their
    number (k,) and the sum of their distances to it (k,), all float64 and replicated
    (with ``sample_weight``, a vector of n weights: weighted sums, the weights' sum in place
    of the number)
    (distances as ``nearest_centers`` measures them; ``"euclidean"`` sums squared ones,
    k-means' inertia). One pass over ``X``, one all-reduce over split rows. The counts are
    exact below 2^53 samples.
    """
    X, C, m = _operands(X, C, metric, "center_stats")
    w = None
    if sample_weight is not None:
        w = lazy(sample_weight)
        if not w.dtype.is_floating:
            w = w.astype(X.dtype)
        _core.check_same([X, w], "center_stats")
    stats = _make(X, C, m, "stats", w)
    d = X.shape[1]
    return stats[:, :d], stats[:, d], stats[:, d + 1]
