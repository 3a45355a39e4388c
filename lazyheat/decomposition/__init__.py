"""Matrix decompositions of distributed data, with scikit-learn's estimator interface.

- :class:`PCA`: principal components by the covariance route (one pass, one collective),
  TSQR-based SVD, the hierarchical SVD or the randomized SVD;
- :class:`IncrementalPCA`: principal components batch by batch (``partial_fit``), each
  batch reduced to a small d x d factor that every rank merges alike.

>>> import numpy as np
>>> from lazyheat.decomposition import PCA
>>> X = np.random.default_rng(0).standard_normal((300, 4))
>>> PCA(2).fit_transform(X).shape
(300, 2)
"""

from .incremental import IncrementalPCA
from .pca import PCA

__all__ = ["IncrementalPCA", "PCA"]
