"""Spectral clustering: k-means on the leading eigenvectors of a graph Laplacian."""

from __future__ import annotations

import math
import numbers

import numpy as np

import lazyheat as lh

from ..base import BaseEstimator, ClusterMixin, check_array, shared_rng
from .kmeans import KMeans


class Spectral(ClusterMixin, BaseEstimator):
    """Spectral clustering (HeAT's ``ht.cluster.Spectral``).

    The samples become the nodes of a similarity graph whose Laplacian
    (:class:`lazyheat.spatial.Laplacian`, n x n, split along rows like the samples) is
    never gathered: Lanczos with full reorthogonalization (``n_lanczos`` steps, each one
    distributed product with the Laplacian) finds its eigenvectors of smallest eigenvalue,
    and :class:`KMeans` clusters the rows of those eigenvectors.

    Parameters
    ----------
    n_clusters : int or None
        The number of clusters; None picks it from the largest gap between the smallest
        eigenvalues (at most ``max_clusters``).
    gamma : float
        The rbf similarity ``exp(-gamma ||x - y||^2)`` (HeAT's parameter).
    metric : "rbf" or "euclidean"
        Similarity of the fully connected graph, or distance of the eNeighbour graph.
    laplacian : "fully_connected" or "eNeighbour"
    threshold : float
        The eNeighbour bound; ``boundary`` "upper" keeps the entries below it, "lower" above.
    n_lanczos : int
        Lanczos steps (at most n).
    assign_labels : "kmeans"
    random_state : int, Generator or None
        Seeds the Lanczos start vector and k-means.

    Attributes: ``labels_`` (lazy, laid out like the samples), ``eigenvalues_``,
    ``n_clusters_``, ``n_features_in_``.
    """

    def __init__(self, n_clusters=None, gamma=1.0, metric="rbf", laplacian="fully_connected",
                 threshold=1.0, boundary="upper", n_lanczos=300, assign_labels="kmeans",
                 random_state=None, max_clusters=10):
        self.n_clusters = n_clusters
        self.gamma = gamma
        self.metric = metric
        self.laplacian = laplacian
        self.threshold = threshold
        self.boundary = boundary
        self.n_lanczos = n_lanczos
        self.assign_labels = assign_labels
        self.random_state = random_state
        self.max_clusters = max_clusters

    def _check(self, n):
        if self.assign_labels != "kmeans":
            raise ValueError(f"Spectral: assign_labels must be 'kmeans', got "
                             f"{self.assign_labels!r}")
        if self.metric not in ("rbf", "euclidean"):
            raise ValueError(f"Spectral: metric must be 'rbf' or 'euclidean', got "
                             f"{self.metric!r}")
        k = self.n_clusters
        if k is not None and (not isinstance(k, numbers.Integral) or not 1 <= k <= n):
            raise ValueError(f"Spectral: n_clusters must be in [1, n_samples={n}], got {k!r}")
        if not isinstance(self.n_lanczos, numbers.Integral) or self.n_lanczos < 1:
            raise ValueError(f"Spectral: n_lanczos must be a positive integer, got "
                             f"{self.n_lanczos!r}")

    def _laplacian(self, X):
        from ..spatial import Laplacian

        if self.metric == "rbf":
            sigma = math.sqrt(1.0 / (2.0 * self.gamma))
            lap = Laplacian("rbf", sigma=sigma, definition="norm_sym", mode=self.laplacian,
                            threshold_key=self.boundary, threshold_value=self.threshold)
        else:
            lap = Laplacian("euclidean", weighted=False, definition="norm_sym",
                            mode=self.laplacian, threshold_key=self.boundary,
                            threshold_value=self.threshold)
        return lap.construct(X)

    def fit(self, X, y=None):
        X = check_array(X, "X", allow_nan=False, estimator="Spectral")
        n = X.shape[0]
        self._check(n)
        self.n_features_in_ = X.shape[1]
        rng = shared_rng(self.random_state, X.comm)
        L = self._laplacian(X).astype(lh.float64).compute()
        k_max = self.n_clusters or min(self.max_clusters, n)
        m = min(n, max(self.n_lanczos, 2 * k_max + 1))
        w, V = lh.linalg.eigsh(L, k=min(k_max + 1, n), which="SA", m=m,
                               seed=int(rng.integers(2**31)))
        w = np.asarray(w.numpy() if isinstance(w, lh.LazyArray) else w)
        k = self.n_clusters
        if k is None:  # the largest gap among the smallest eigenvalues
            gaps = np.diff(w[:k_max + 1])
            k = int(np.argmax(gaps)) + 1 if len(gaps) else 1
        self.eigenvalues_ = w
        self.n_clusters_ = k
        components = V[:, :k]
        km = KMeans(k, random_state=int(rng.integers(2**31)), n_init=4).fit(components)
        self.labels_ = km.labels_
        self._embedding_model = km
        return self
