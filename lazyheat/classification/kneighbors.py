"""k-nearest-neighbour classification over distributed training and query sets.

The training set stays where it is: ``fit`` balances its rows over the ranks (moving only
rows whose owner changes) and keeps them there. A query asks every rank:

1. the queries are all-gathered (n_q x d, the small side: nothing of the training set
   moves), and each rank computes, in chunks of queries, a key matrix against its own
   training rows (a replicated and a row-split operand give a column block of it, with no
   communication; for the euclidean metrics one matrix product, see ``_ranking``) and keeps,
   per query, its local ``k`` smallest (torch on the local block, ``larray``: minima of
   column blocks first, then ``torch.topk`` over the best blocks);
2. the candidates (key, global training index, encoded label; at most ``k`` per rank and
   query) become one array split along the candidates, which ``resplit`` turns into one
   split along the queries (one all-to-all of ``n_q * k * p`` triples);
3. each rank sorts its queries' ``k * p`` candidates (a block-local ``argsort``), keeps the
   first ``k``, turns their keys into distances and votes.

Order: neighbours are ranked by (distance, training index), so exact distance ties go to
the lower training index; the vote's ties go to the smallest class label, as
scikit-learn's ``KNeighborsClassifier(algorithm="brute")``.
"""

from __future__ import annotations

import numpy as np
import torch

# public modules, not ``import lazyheat``: the package imports this one (no import cycle)
from .. import elementwise as ew
from .._array import LazyArray
from .._labels import Labels
from ..base import BaseEstimator, ClassifierMixin, check_array, check_is_fitted
from ..creation import arange, array, from_local, ones
from ..dtype_functions import result_type
from ..indexing import take, take_along_axis
from ..manipulation import concatenate, resplit
from ..planner import compute
from ..sorting import argsort
from ..spatial.distance import METRICS, cdist

__all__ = ["KNeighborsClassifier"]

# Elements of one rank's block of the query-by-training key matrix per chunk of queries
# (64 MiB at float32): bounds the memory of ``kneighbors`` for any query count.
_CHUNK_ELEMENTS = 1 << 24
# Columns per block of the two-level selection in ``_topk``.
_BLOCK = 64


class KNeighborsClassifier(ClassifierMixin, BaseEstimator):
    """Classifies each sample by a vote of its ``n_neighbors`` nearest training samples.

    Parameters
    ----------
    n_neighbors : int
        Neighbours that vote (at most the number of training samples).
    weights : ``"uniform"``, ``"distance"`` or callable
        Every neighbour's vote counts 1; or ``1 / distance`` (a query that coincides with
        training samples takes the vote of those alone); or ``weights(dist)`` of the lazy
        n_q x k distances, returning weights of that shape.
    metric : str
        A metric of :func:`lazyheat.spatial.cdist` (``"euclidean"``, ``"sqeuclidean"``,
        ``"cityblock"``/``"manhattan"``, ``"cosine"``) or ``"minkowski"`` with ``p`` 1 or 2.
        A zero row is at cosine distance 1 from everything here, as in scikit-learn.
    p : int
        The power of the Minkowski metric (used with ``metric="minkowski"`` only).

    Attributes (after ``fit``): ``classes_`` (the sorted labels, a NumPy array),
    ``n_features_in_``, ``n_samples_fit_``, ``effective_metric_``.

    ``predict`` and ``predict_proba`` return lazy arrays split along the queries (as the
    query rows are: along axis 0, or replicated); with string labels ``predict`` returns a
    NumPy array, the same on every rank.

    >>> import numpy as np
    >>> import lazyheat as lh
    >>> from lazyheat.classification import KNeighborsClassifier
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    >>> clf = KNeighborsClassifier(n_neighbors=3).fit(X, np.array([0, 0, 0, 1, 1]))
    >>> clf.predict(np.array([[0.5], [10.5]])).numpy()
    array([0, 1])
    >>> clf.predict_proba(np.array([[10.5]])).numpy()
    array([[0.33333333, 0.66666667]])
    """

    def __init__(self, n_neighbors=5, *, weights="uniform", metric="euclidean", p=2):
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.metric = metric
        self.p = p

    # ------------------------------------------------------------------ fit
    def _effective_metric(self) -> str:
        name = "KNeighborsClassifier"
        if isinstance(self.metric, str) and self.metric.lower() == "minkowski":
            if self.p not in (1, 2) or isinstance(self.p, bool):
                raise ValueError(f"{name}: metric 'minkowski' supports p=1 or p=2, got "
                                 f"p={self.p!r}")
            return "cityblock" if self.p == 1 else "euclidean"
        if not isinstance(self.metric, str) or self.metric.lower() not in METRICS:
            raise ValueError(f"{name}: unknown metric {self.metric!r}; choose one of "
                             f"{sorted(METRICS) + ['minkowski']}")
        return METRICS[self.metric.lower()]

    def _check_k(self, k, n_fit: int) -> int:
        name = "KNeighborsClassifier"
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"{name}: n_neighbors must be a positive int, got {k!r}")
        if k > n_fit:
            raise ValueError(f"{name}: n_neighbors={k} exceeds the {n_fit} training "
                             "samples (n_neighbors <= n_samples_fit_ is needed)")
        return int(k)

    def fit(self, X, y):
        """Keep the training set ``X`` (n x d) and labels ``y`` (n,), balanced over the
        ranks along the rows; returns self.

        Checks (the same error on every rank): X 2-D without NaN or infinity, one label
        per row, the hyper-parameters, ``n_neighbors <= n``.
        """
        name = "KNeighborsClassifier"
        metric = self._effective_metric()
        if not (self.weights in ("uniform", "distance") or callable(self.weights)):
            raise ValueError(f"{name}: weights must be 'uniform', 'distance' or a callable, "
                             f"got {self.weights!r}")
        X = check_array(X, "X", ndim=2, estimator=name, min_samples=1)
        n = X.shape[0]
        self._check_k(self.n_neighbors, n)
        classes, y_enc = _encode(y, n, name, X)
        # the invariant every query relies on: rank r's block of _fit_X and of _fit_y hold
        # the same training rows (both balanced along axis 0); the finiteness check rides
        # along in the same plan
        fit_X, fit_y, bad = compute(resplit(X, 0), resplit(y_enc, 0), _nonfinite(X))
        if bool(bad.item()):  # replicated: every rank raises
            raise ValueError(f"{name}: X contains NaN or infinity")
        self._fit_X, self._fit_y = fit_X, fit_y
        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        self.n_samples_fit_ = n
        self.effective_metric_ = metric
        self.outputs_2d_ = False
        return self

    # ------------------------------------------------------------------ queries
    def _queries(self, X, name: str) -> LazyArray:
        check_is_fitted(self, "_fit_X")
        X = check_array(X, "X", ndim=2, estimator=name)  # finiteness: in _neighbours
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"{name}: X has {X.shape[1]} features, but "
                             f"KNeighborsClassifier is expecting {self.n_features_in_} "
                             "features as input")
        return X

    def kneighbors(self, X, n_neighbors=None, return_distance=True):
        """The ``n_neighbors`` (default: the estimator's) nearest training samples of every
        row of ``X``: ``(dist, ind)``, lazy n_q x k arrays (distances in the metric, global
        training indices as int64), nearest first, split as ``X``'s rows; ``ind`` alone
        without ``return_distance``.

        >>> import numpy as np
        >>> from lazyheat.classification import KNeighborsClassifier
        >>> clf = KNeighborsClassifier(n_neighbors=2).fit(np.array([[0.0], [3.0], [1.0]]),
        ...                                              np.array([0, 1, 0]))
        >>> clf.kneighbors(np.array([[2.9]]), return_distance=False).numpy()
        array([[1, 2]])
        """
        name = "KNeighborsClassifier.kneighbors"
        Q = self._queries(X, name)
        k = self._check_k(self.n_neighbors if n_neighbors is None else n_neighbors,
                          self.n_samples_fit_)
        dist, ind, _ = self._neighbours(Q, k)
        return (dist, ind) if return_distance else ind

    def predict_proba(self, X):
        """Per query, the (weighted) share of its neighbours' votes for each class of
        ``classes_``: a lazy n_q x n_classes array, rows summing to 1."""
        Q = self._queries(X, "KNeighborsClassifier.predict_proba")
        votes = self._votes(Q)
        return votes / votes.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The class of every row of ``X``: the label with the most (weighted) votes among
        its neighbours, the smallest such label on a tie. A lazy array split as ``X``'s
        rows (a NumPy array for non-numeric labels)."""
        Q = self._queries(X, "KNeighborsClassifier.predict")
        best = self._votes(Q).argmax(axis=1)  # argmax keeps the first: the smallest label
        if self.classes_.dtype.kind not in "biuf":
            return self.classes_[best.numpy()]
        labels = array(self.classes_, comm=Q.comm, device=Q.device)
        return take(labels, best)

    def score(self, X, y):
        """The mean accuracy of ``predict(X)`` against the labels ``y`` (a float)."""
        classes = getattr(self, "classes_", None)
        if classes is None or classes.dtype.kind in "biuf":  # numeric labels: lazily
            return super().score(X, y)
        return float(np.mean(self.predict(X) == np.asarray(y).reshape(-1)))

    def _votes(self, Q) -> LazyArray:
        """n_q x n_classes float64 votes of the neighbours of the queries ``Q`` (counts for
        uniform weights, else sums of weights)."""
        dist, _, lab = self._neighbours(Q, self.n_neighbors)
        ids = arange(len(self.classes_), comm=Q.comm, device=Q.device)
        onehot = lab[:, :, None] == ids[None, None, :]  # n_q x k x n_classes, fused away
        if self.weights == "uniform":
            return ew.astype(onehot, "float64").sum(axis=1)
        if self.weights == "distance":
            dist = ew.astype(dist, "float64")
            zero = dist == 0
            # a query on top of training samples takes the vote of those alone
            w = ew.where(zero.any(axis=1, keepdims=True), ew.astype(zero, "float64"),
                         1 / ew.where(zero, 1, dist))
        else:
            w = self.weights(dist)
            if not isinstance(w, LazyArray) or w.shape != dist.shape:
                raise ValueError("KNeighborsClassifier: weights(dist) must return a lazy "
                                 f"array of shape {dist.shape}")
            w = ew.astype(w, "float64")
        return ew.where(onehot, w[:, :, None], 0).sum(axis=1)

    def _neighbours(self, Q, k: int):
        """(dist, training index, encoded label) of the ``k`` nearest training rows of every
        query: lazy n_q x k arrays split as ``Q``'s rows (0, or None when replicated).
        See the module docstring for the three steps."""
        Xf, yf = self._fit_X, self._fit_y
        common = result_type(Q.dtype, Xf.dtype)
        Xf = ew.astype(Xf, common, copy=False)
        Q = ew.astype(Q, common, copy=False)
        Qall = resplit(Q, None)
        n_q, rank = Q.shape[0], Xf.comm.rank
        counts = [s[0] for s in Xf.lshape_map]
        offset, n_local = sum(counts[:rank]), counts[rank]
        kk = min(k, n_local)  # a rank with fewer training rows offers all of them
        # the same chunks on every rank: sized by the largest block (global metadata)
        chunk = max(1, _CHUNK_ELEMENTS // max(max(counts), 1))
        train, keys, finish = self._ranking(Xf)
        if n_q <= chunk:  # one plan: the queries' gather, the check and the keys
            D, bad = compute(keys(Qall, train), _nonfinite(Qall))
            blocks = [D]
        else:  # the gathered queries and the training side once, then chunk by chunk
            Qall, train, bad = compute(Qall, train, _nonfinite(Qall))
            blocks = (keys(Qall[s:s + chunk], train) for s in range(0, n_q, chunk))
        if bool(bad.item()):  # replicated: every rank raises
            raise ValueError("KNeighborsClassifier: X contains NaN or infinity")
        y_local = yf.larray
        vals = [torch.zeros((0, kk), dtype=torch.float64, device=y_local.device)]
        idx = [torch.zeros((0, kk), dtype=torch.int64, device=y_local.device)]
        for D in blocks:
            # replicated queries x row-split training rows: this rank's column block
            block = compute(D)[0].larray
            if Xf.comm.size > 1 and (D.split != 1 or block.shape[1] != n_local):
                raise RuntimeError(f"KNeighborsClassifier: the distance block has layout "
                                   f"{D.split} and {block.shape[1]} columns here, not "
                                   f"this rank's {n_local} training rows")
            v, i = _smallest(block, kk)
            vals.append(v.to(torch.float64))
            idx.append(i)
        v, i = torch.cat(vals), torch.cat(idx)
        # float64 carries keys (float32 or 64), indices and labels exactly
        packed = torch.stack([v, (i + offset).to(torch.float64),
                              y_local[i].to(torch.float64)], dim=2)
        cand = from_local(packed, split=1, comm=Xf.comm)  # n_q x (candidates) x 3
        cand = resplit(cand, None if Q.split is None else 0)
        # stable: equal keys keep rank order, and within a rank index order, so the order
        # is (key, global index)
        order = argsort(cand[:, :, 0], axis=1)[:, :k]
        key, gidx, lab = (take_along_axis(cand[:, :, j], order, axis=1) for j in range(3))
        dist = finish(ew.astype(key, common), Q)
        return dist, ew.astype(gidx, "int64"), ew.astype(lab, "int64")

    def _ranking(self, Xf):
        """``(train, keys, finish)``: ``train``, the lazy training-side operand (row-split as
        ``Xf``); ``keys(Qc, train)``, a lazy matrix ranking the training rows for the
        replicated queries ``Qc`` (split along its columns as ``Xf``'s rows); and
        ``finish(key, Q)``, the distances of the selected keys.

        For the euclidean metrics the key is ``|x|^2 - 2 q.x = d^2 - |q|^2``: the same order
        per query as the distance, from one matrix product of ``[q, 1]`` and
        ``[-2 x, |x|^2]`` with nothing else to evaluate on the n_q x n block; ``|q|^2`` is
        added (and the root taken) for the k neighbours alone. Cosine ranks by ``-q^.x^``
        of unit rows, one product too; cityblock by its distances (``cdist``)."""
        metric = self.effective_metric_
        if metric == "cityblock":
            return Xf, (lambda Qc, X: cdist(Qc, X, metric=metric)), (lambda key, Q: key)
        if metric == "cosine":
            # a zero row stays zero: distance 1 to everything, as scikit-learn's
            # cosine_distances; the distance 1 + key is clipped against rounding
            return (_unit_rows(Xf), (lambda Qc, Xn: -(_unit_rows(Qc) @ Xn.T)),
                    (lambda key, Q: ew.clip(1 + key, 0, 2)))
        A = concatenate([-2 * Xf, ew.square(Xf).sum(axis=1)[:, None]], axis=1)

        def keys(Qc, A):
            one = ones((Qc.shape[0], 1), dtype=Qc.dtype, comm=Qc.comm, device=Qc.device)
            return concatenate([Qc, one], axis=1) @ A.T

        def finish(key, Q):
            # rounding can make d^2 slightly negative for close points: clamp at 0
            d2 = ew.maximum(key + ew.square(Q).sum(axis=1)[:, None], 0)
            return ew.sqrt(d2) if metric == "euclidean" else d2

        return A, keys, finish


def _smallest(D: torch.Tensor, k: int):
    """Per row of ``D``, the ``k`` smallest values and their column indices, ordered by
    (value, index): ties at the k-th value keep the lowest indices (``torch.topk`` alone
    picks any of them)."""
    if k == 0:
        return D.new_zeros((D.shape[0], 0)), torch.zeros((D.shape[0], 0), dtype=torch.int64,
                                                         device=D.device)
    # one more than k: a (k+1)-th value equal to the k-th means ties straddle the cut
    # (torch.topk picks any of them); those rows are redone by a stable sort
    m = min(k + 1, D.shape[1])
    vals, idx = _topk(D, m)
    if m > k:
        straddle = vals[:, k] == vals[:, k - 1]
        vals, idx = vals[:, :k].contiguous(), idx[:, :k].contiguous()
        if bool(straddle.any()):
            rows = straddle.nonzero().squeeze(1)
            s = torch.sort(D[rows], dim=1, stable=True)
            vals[rows], idx[rows] = s.values[:, :k], s.indices[:, :k]
    o = torch.argsort(idx, dim=1)
    vals, idx = vals.gather(1, o), idx.gather(1, o)
    o = torch.sort(vals, dim=1, stable=True).indices
    return vals.gather(1, o), idx.gather(1, o)


def _topk(D: torch.Tensor, m: int):
    """``torch.topk(D, m, dim=1, largest=False)``, values sorted, for a finite ``D``: from
    the ``_BLOCK``-column blocks with the m smallest minima (and the tail columns), which
    hold the m smallest values of the row (every other value is at least the m-th smallest
    of the minima). Reading the row once for the minima and then m blocks is several times
    faster than ``torch.topk`` over the whole row. Where several values equal the m-th, the
    values are still exact; the caller settles which indices win."""
    q, n = D.shape
    nb = n // _BLOCK
    if nb < 4 * m:
        return torch.topk(D, m, dim=1, largest=False, sorted=True)
    D = D.contiguous()
    blocks = torch.as_strided(D, (q, nb, _BLOCK), (n, _BLOCK, 1))
    _, best = torch.topk(blocks.amin(dim=2), m, dim=1, largest=False, sorted=False)
    cand = blocks.gather(1, best[:, :, None].expand(q, m, _BLOCK)).reshape(q, m * _BLOCK)
    cols = (best[:, :, None] * _BLOCK
            + torch.arange(_BLOCK, device=D.device)).reshape(q, m * _BLOCK)
    if nb * _BLOCK < n:  # the columns after the last whole block are candidates as well
        cand = torch.cat([cand, D[:, nb * _BLOCK:]], dim=1)
        tail = torch.arange(nb * _BLOCK, n, device=D.device).expand(q, -1)
        cols = torch.cat([cols, tail], dim=1)
    vals, j = torch.topk(cand, m, dim=1, largest=False, sorted=True)
    return vals, cols.gather(1, j)


def _unit_rows(X) -> LazyArray:
    """The rows of ``X`` divided by their euclidean norms (zero rows stay zero)."""
    norms = ew.sqrt(ew.square(X).sum(axis=1))
    return X / ew.where(norms == 0, 1, norms)[:, None]


def _nonfinite(X) -> LazyArray:
    """Whether ``X`` holds a NaN or an infinity (a replicated bool scalar). A comparison,
    not ``isfinite``: ``abs(x) < inf`` is False for NaN and +-inf alike, and ``isfinite``
    fails inside a chunked fused kernel (torch's ``isfinite`` takes no ``out=``)."""
    return ~(ew.abs(X) < float("inf")).all()


def _encode(y, n: int, name: str, like):
    """(classes_ as a sorted NumPy array, y as lazy int64 indices into it, laid out like
    ``like``'s rows): NumPy labels (strings too) are encoded where they are, lazy ones with
    one ``unique_values`` plan (``lazyheat._labels``, shared with the other classifiers)."""
    labels = Labels(y, n, name)
    classes = labels.classes()
    return classes, labels.indices(classes, like)[0]
