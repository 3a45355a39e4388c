"""K-medians and k-medoids: k-cluster estimators under the cityblock (manhattan) metric."""

from __future__ import annotations

import numpy as np

import lazyheat as lh

from ..base import Progress
from ._init import rows
from ._kcluster import KCluster


def cluster_medians(X, labels, k: int):
    """The feature-wise median of each cluster (k lazy vectors of d values, computed
    together): a distributed selection over the rows of the cluster, the others masked out as
    NaN. An empty cluster gives NaNs."""
    nan = float("nan")
    return [lh.nanmedian(lh.where((labels == j)[:, None], X, nan), axis=0) for j in range(k)]


class _Medians(KCluster):
    _metric = "cityblock"
    _desc = "KMedians"

    def _update(self, X, labels, medians):
        return medians

    def _fit_once(self, X, centers, w, tol):
        k = self.n_clusters
        progress = Progress(self.verbose, self.max_iter, self._desc, X.comm)
        centers = centers.astype(np.float64 if X.dtype.name == "float64" else np.float32)
        n_iter = 0
        try:
            for it in range(self.max_iter):
                C = lh.array(centers, comm=X.comm)
                labels = lh.nearest_centers(X, C, metric="cityblock")
                medians = [m.numpy() for m in lh.compute(*cluster_medians(X, labels, k))]
                new = self._update(X, labels, medians)
                new = np.stack([c if not np.isnan(c).any() else old  # empty: keep the old
                                for c, old in zip(new, centers)]).astype(centers.dtype)
                shift = float(((new.astype(np.float64) - centers) ** 2).sum())
                centers, n_iter = new, it + 1
                progress.update(n_iter, center_shift=shift)
                if shift <= tol:
                    break
        finally:
            progress.close()
        return centers, n_iter


class KMedians(_Medians):
    """K-medians clustering: samples go to the nearest center by the cityblock (manhattan)
    distance, and each center moves to the feature-wise median of its samples.

    The medians are distributed selections (no rank gathers a cluster). Stops when the squared
    shift of the centers is at most ``tol`` or after ``max_iter`` iterations. Parameters and
    attributes as :class:`KMeans`; ``inertia_`` is the sum of the cityblock distances.

    >>> import numpy as np
    >>> from lazyheat.cluster import KMedians
    >>> X = lh.array(np.array([[0., 0.], [0., 1.], [0., 5.], [9., 9.], [9., 8.]]), split=0)
    >>> KMedians(2, init=np.array([[0., 0.], [9., 9.]])).fit(X).cluster_centers_
    array([[0. , 1. ],
           [9. , 8.5]])
    """

    _desc = "KMedians"


class KMedoids(_Medians):
    """K-medoids clustering: like :class:`KMedians`, but each center is the sample of its
    cluster nearest (cityblock) to the cluster's feature-wise median, so centers are always
    data points.

    >>> import numpy as np
    >>> from lazyheat.cluster import KMedoids
    >>> X = lh.array(np.array([[0., 0.], [0., 1.], [0., 5.], [9., 9.], [9., 8.]]), split=0)
    >>> KMedoids(2, init=np.array([[0., 0.], [9., 9.]])).fit(X).cluster_centers_
    array([[0., 1.],
           [9., 9.]])
    """

    _desc = "KMedoids"

    def _update(self, X, labels, medians):
        """Each cluster's sample nearest to its median (an empty cluster keeps its NaN
        median, which the iteration replaces with the old center)."""
        live = [j for j, med in enumerate(medians) if not np.isnan(med).any()]
        if not live:
            return medians
        picks = []
        for j in live:
            d = lh.abs(X - lh.array(medians[j].astype(X.dtype.name), comm=X.comm)).sum(axis=1)
            picks.append(lh.argmin(lh.where(labels == j, d, float("inf"))))
        out = list(medians)
        for j, row in zip(live, rows(X, [int(v.item()) for v in lh.compute(*picks)])):
            out[j] = row
        return out
