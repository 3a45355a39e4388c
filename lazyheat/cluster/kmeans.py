"""K-means clustering (Lloyd's algorithm) on split data."""

from __future__ import annotations

import numpy as np

import lazyheat as lh

from ..base import Progress
from ._init import rows
from ._kcluster import KCluster


class KMeans(KCluster):
    """K-means clustering, scikit-learn's interface, on lazyheat arrays.

    Each iteration is one pass over the samples and one small message: ``center_stats``
    (the ``nearest`` op in ``explain``) labels the rows block by block against the current
    centers and sums them per center, and one all-reduce of k x (d + 2) float64 values
    combines the ranks' sums, counts and distance sums. The new centers, the convergence test
    and empty-cluster handling then run on that replicated k x d summary, alike on every rank.

    Parameters
    ----------
    n_clusters : int
        The number of clusters k.
    init : {"k-means++", "random"}, array (k x d) or callable ``f(X, k, rng)``
        "k-means++": the greedy k-means++ seeding (each new center the best of
        ``2 + log k`` rows sampled by squared distance); "random": k distinct rows.
    n_init : "auto" or int
        Runs from different seeds; the one with the lowest inertia is kept ("auto": 10 for
        "random", 1 otherwise).
    max_iter : int
        The most Lloyd iterations of one run.
    tol : float
        Convergence when the squared shift of the centers (summed) is at most ``tol`` times
        the mean variance of the features (scikit-learn's criterion); the iterations also
        stop as soon as no label changes.
    random_state : int, Generator or None
        Seeds the initialization; the same seed picks the same centers on any number of
        ranks.
    verbose : bool
        A progress line per iteration on rank 0 (inertia, center shift, time).

    Attributes
    ----------
    cluster_centers_ : ndarray (k x d), the same on every rank
    labels_ : LazyArray (n,), int64, laid out like the rows of X
    inertia_ : float, the sum of squared distances of the samples to their nearest center
    n_iter_ : int
    n_features_in_ : int

    Clusters that lose all their samples are refilled as scikit-learn does: with the samples
    farthest from their centers (which then leave their old clusters).

    >>> import numpy as np
    >>> from lazyheat.cluster import KMeans
    >>> X = lh.array(np.array([[0., 0.], [0., 1.], [9., 9.], [9., 8.]]), split=0)
    >>> km = KMeans(n_clusters=2, init=np.array([[0., 0.], [9., 9.]])).fit(X)
    >>> km.cluster_centers_
    array([[0. , 0.5],
           [9. , 8.5]])
    """

    _metric = "sqeuclidean"
    _weighted = True

    def __init__(self, n_clusters=8, init="k-means++", n_init="auto", max_iter=300, tol=1e-4,
                 random_state=None, verbose=False, algorithm="lloyd"):
        super().__init__(n_clusters=n_clusters, init=init, n_init=n_init, max_iter=max_iter,
                         tol=tol, random_state=random_state, verbose=verbose)
        self.algorithm = algorithm

    def _check_params(self, X):
        if self.algorithm not in ("lloyd", "auto", "full"):
            raise ValueError(f"KMeans: algorithm must be 'lloyd', got {self.algorithm!r}")
        return super()._check_params(X)

    def _tolerance(self, X) -> float:
        """``tol`` relative to the data: tol times the mean of the features' variances."""
        if self.tol == 0:
            return 0.0
        return float(self.tol * X.astype(lh.float64).var(axis=0).mean().item())

    def _fit_once(self, X, centers, w, tol):
        progress = Progress(self.verbose, self.max_iter, "KMeans", X.comm)
        centers = centers.copy()
        n_iter = 0
        try:
            for it in range(self.max_iter):
                C = lh.array(centers, comm=X.comm)
                stats = lh.center_stats(X, C, sample_weight=w)
                sums, counts, dsum = (v.numpy() for v in lh.compute(*stats))
                if (counts == 0).any():
                    sums, counts = self._relocate_empty(X, C, sums, counts, w)
                with np.errstate(invalid="ignore", divide="ignore"):
                    new = np.where(counts[:, None] > 0, sums / counts[:, None], centers)
                new = new.astype(centers.dtype)
                shift = float(((new.astype(np.float64) - centers) ** 2).sum())
                centers = new
                n_iter = it + 1
                progress.update(n_iter, inertia=float(dsum.sum()), center_shift=shift)
                if shift <= tol:
                    break
        finally:
            progress.close()
        return centers, n_iter

    def _relocate_empty(self, X, C, sums, counts, w=None):
        """Refill empty clusters with the rows farthest from their nearest center, taken out
        of their own clusters (the choice is global, so every rank makes it alike); with
        weights, each row moves with its weight."""
        empty = np.flatnonzero(counts == 0)
        labels, dist = lh.nearest_centers(X, C, return_distance=True)
        far = lh.argsort(dist, descending=True, stable=True)[:len(empty)].numpy()
        far_rows = rows(X, far).astype(np.float64)
        far_lazy = lh.array(far, comm=X.comm)
        far_labels = labels[far_lazy].numpy()
        far_w = np.ones(len(far)) if w is None else w[far_lazy].numpy().astype(np.float64)
        sums, counts = sums.copy(), counts.copy()
        for j, row, old, wt in zip(empty, far_rows, far_labels, far_w):
            sums[old] -= wt * row
            counts[old] -= wt
            sums[j], counts[j] = wt * row, wt
        return sums, counts
