"""Batch-parallel k-means: local k-means on every rank, then k-means of the local centers."""

from __future__ import annotations

import numpy as np

import lazyheat as lh

from ..base import shared_rng
from ._kcluster import KCluster
from .kmeans import KMeans


class BatchParallelKMeans(KCluster):
    """K-means in two levels, as HeAT's: each rank clusters its own block of rows into
    ``n_clusters`` centers with k-means (no communication at all while it iterates), then
    the ranks' centers are gathered (p k x d values) and clustered once more into the final
    ``n_clusters``. Much less communication than :class:`KMeans` at the price of an
    approximate result that depends on the number of ranks (for a given ``random_state`` it
    is reproducible on the same number of ranks).

    A rank with fewer rows than ``n_clusters`` contributes its rows as they are (decided from
    the global row counts, so every rank knows it). Parameters and attributes as
    :class:`KMeans`; ``n_iter_`` is that of the final clustering.

    >>> import numpy as np
    >>> from lazyheat.cluster import BatchParallelKMeans
    >>> X = lh.array(np.array([[0., 0.], [0., 1.], [9., 9.], [9., 8.]]), split=0)
    >>> BatchParallelKMeans(2, random_state=0).fit(X).cluster_centers_.shape
    (2, 2)
    """

    def fit(self, X, y=None):
        X = self._validate(X, reset=True)
        n_init = self._check_params(X)
        k = self.n_clusters
        comm = X.comm
        rng = shared_rng(self.random_state, comm)
        seed = int(rng.integers(2**62))
        params = dict(init=self.init, n_init=n_init, max_iter=self.max_iter, tol=self.tol)
        if X.split != 0 or comm.size == 1:  # nothing to batch: one level, distributed
            self._set(X, KMeans(k, random_state=seed, **params).fit(X))
            return self
        block = X.larray.cpu().numpy()
        if len(block) > k:  # cluster the block on this rank alone
            mine = lh.array(block, comm=lh.self_comm())
            block = KMeans(k, random_state=[seed, comm.rank], **params).fit(mine).cluster_centers_
        every = lh.from_local(np.ascontiguousarray(block), split=0)  # p k x d at most
        self._set(X, KMeans(k, random_state=seed, **params).fit(every.numpy()))
        return self

    def _set(self, X, top):
        self.cluster_centers_ = top.cluster_centers_
        self.n_iter_ = top.n_iter_
        self.labels_, self.inertia_ = self._assign(X, self.cluster_centers_)
