"""Clustering on lazyheat arrays, with scikit-learn's interface (``ht.cluster`` becomes
``lh.cluster``)."""

from .batchparallel import BatchParallelKMeans
from .kmeans import KMeans
from .kmedians import KMedians, KMedoids
from .silhouette import silhouette_samples, silhouette_score
from .spectral import Spectral

__all__ = ["KMeans", "KMedians", "KMedoids", "BatchParallelKMeans", "Spectral",
           "silhouette_samples", "silhouette_score"]
