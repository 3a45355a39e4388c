"""What KMeans, KMedians and KMedoids share: parameters, initialization, predict.

The samples stay where they are (split along rows); the centers are a small k x d NumPy
array that every rank holds and updates alike from replicated statistics, so every rank
takes the same decisions (convergence, empty clusters) without further messages.
"""

from __future__ import annotations

import numbers

import numpy as np

import lazyheat as lh

from ..base import (
    BaseEstimator,
    ClusterMixin,
    TransformerMixin,
    check_array,
    check_is_fitted,
    shared_rng,
)
from . import _init


class KCluster(ClusterMixin, TransformerMixin, BaseEstimator):
    """Base of the k-cluster estimators. Subclasses set ``_metric`` (what ``nearest_centers``
    measures) and implement ``_fit_once(X, centers, w, tol) -> (centers, n_iter)`` (``w``: the
    sample weights or None; ``tol``: the stopping shift from ``_tolerance``, found once per
    fit)."""

    _metric = "sqeuclidean"

    def __init__(self, n_clusters=8, init="k-means++", n_init="auto", max_iter=300, tol=1e-4,
                 random_state=None, verbose=False):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ validation
    def _name(self) -> str:
        return type(self).__name__

    def _check_params(self, X):
        name = self._name()
        k = self.n_clusters
        if not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"{name}: n_clusters must be a positive integer, got {k!r}")
        if k > X.shape[0]:
            raise ValueError(f"{name}: n_samples={X.shape[0]} should be >= n_clusters={k}")
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise ValueError(f"{name}: max_iter must be a positive integer, got "
                             f"{self.max_iter!r}")
        if not isinstance(self.tol, numbers.Real) or self.tol < 0:
            raise ValueError(f"{name}: tol must be a non-negative number, got {self.tol!r}")
        init = self.init
        if isinstance(init, str):
            if init not in ("k-means++", "random"):
                raise ValueError(f"{name}: init must be 'k-means++', 'random' or an array of "
                                 f"shape (n_clusters, n_features), got {init!r}")
        elif not callable(init):
            shape = tuple(np.shape(init))  # a lazy array's without computing it
            if shape != (k, X.shape[1]):
                raise ValueError(f"{name}: init has shape {shape}; it should be "
                                 f"(n_clusters, n_features) = {(k, X.shape[1])}")
        n_init = self.n_init
        if n_init == "auto":
            n_init = 10 if isinstance(init, str) and init == "random" else 1
        if not isinstance(n_init, numbers.Integral) or n_init < 1:
            raise ValueError(f"{name}: n_init must be 'auto' or a positive integer, got "
                             f"{self.n_init!r}")
        if not isinstance(init, str) and n_init != 1:
            n_init = 1  # explicit centers: one run (as scikit-learn, which warns)
        return n_init

    def _validate(self, X, reset: bool):
        X = check_array(X, "X", allow_nan=False, estimator=self._name())
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(f"{self._name()}: X has {X.shape[1]} features, but it was "
                             f"fitted with {self.n_features_in_}")
        return X

    # ------------------------------------------------------------------ fitting
    def _initial(self, X, rng, w=None):
        init, k = self.init, self.n_clusters
        if isinstance(init, str):
            if init == "k-means++":
                return _init.kmeans_plusplus(X, k, rng, weights=w)[0]
            return _init.random_rows(X, k, rng, weights=w)[0]
        if callable(init):
            return np.asarray(init(X, k, rng), dtype=X.dtype.name)
        arr = init.numpy() if isinstance(init, lh.LazyArray) else np.asarray(init)
        return arr.astype(X.dtype.name)

    _weighted = False  # whether the estimator takes sample weights

    def _weights(self, X, sample_weight):
        """``sample_weight`` as a lazy float vector laid out like ``X``'s rows, or None."""
        if sample_weight is None:
            return None
        if not self._weighted:
            raise ValueError(f"{self._name()}: sample_weight is not supported")
        if np.ndim(sample_weight) == 0:
            return lh.full((X.shape[0],), float(sample_weight), dtype=X.dtype, split=X.split
                           if X.split == 0 else None, comm=X.comm)
        w = check_array(sample_weight, "sample_weight", ndim=1, allow_nan=False,
                        estimator=self._name())
        if w.shape[0] != X.shape[0]:
            raise ValueError(f"{self._name()}: sample_weight has {w.shape[0]} values for "
                             f"{X.shape[0]} samples")
        return w.astype(X.dtype)

    def fit(self, X, y=None, sample_weight=None):
        """Cluster ``X`` (n_samples x n_features; NumPy input is split along rows), each
        sample weighted by ``sample_weight`` where the estimator takes weights.

        Sets ``cluster_centers_`` (a NumPy array, the same on every rank), ``labels_``
        (lazy, laid out like ``X``'s rows, computed), ``inertia_`` and ``n_iter_``."""
        X = self._validate(X, reset=True)
        n_init = self._check_params(X)
        w = self._weights(X, sample_weight)
        tol = self._tolerance(X)
        rng = shared_rng(self.random_state, X.comm)
        best = None
        for _ in range(n_init):
            centers = self._initial(X, rng, w)
            centers, n_iter = self._fit_once(X, centers, w, tol)
            labels, inertia = self._assign(X, centers, w)
            if best is None or inertia < best[2]:
                best = (centers, labels, inertia, n_iter)
        self.cluster_centers_, self.labels_, self.inertia_, self.n_iter_ = best
        return self

    def _tolerance(self, X) -> float:
        """The squared center shift at or below which the iterations stop."""
        return float(self.tol)

    def _assign(self, X, centers, w=None):
        """Labels (computed, lazy) and the (weighted) objective of ``centers``: one pass
        without weights."""
        C = lh.array(centers, comm=X.comm)
        labels = lh.nearest_centers(X, C, metric=self._metric)
        _, _, dsum = lh.center_stats(X, C, metric=self._metric, sample_weight=w)
        labels, dsum = lh.compute(labels, dsum.sum())
        return labels, float(dsum.item())

    # ------------------------------------------------------------------ using the fit
    def predict(self, X):
        """The index of the nearest center of every row of ``X`` (lazy, int64)."""
        check_is_fitted(self, "cluster_centers_")
        X = self._validate(X, reset=False)
        C = lh.array(self.cluster_centers_, comm=X.comm)
        return lh.nearest_centers(X, C, metric=self._metric)

    def transform(self, X):
        """Distances of every row of ``X`` to every center (lazy, n x k)."""
        check_is_fitted(self, "cluster_centers_")
        X = self._validate(X, reset=False)
        C = lh.array(self.cluster_centers_.astype(X.dtype.name), comm=X.comm)
        if self._metric == "cityblock":
            return lh.abs(X[:, None, :] - C[None, :, :]).sum(axis=2)
        d2 = (X * X).sum(axis=1)[:, None] - 2.0 * (X @ C.T) + (C * C).sum(axis=1)[None, :]
        return lh.sqrt(lh.maximum(d2, 0.0))

    def score(self, X, y=None, sample_weight=None) -> float:
        """Minus the (weighted) objective of ``X`` against the fitted centers."""
        check_is_fitted(self, "cluster_centers_")
        X = self._validate(X, reset=False)
        w = self._weights(X, sample_weight)
        C = lh.array(self.cluster_centers_, comm=X.comm)
        dsum = lh.center_stats(X, C, metric=self._metric, sample_weight=w)[2]
        return -float(dsum.sum().item())
