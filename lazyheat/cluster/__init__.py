"""Clustering on lazyheat arrays, with scikit-learn's interface (``ht.cluster`` becomes
``lh.cluster``)."""

from .kmeans import KMeans

__all__ = ["KMeans"]
