"""Spatial algorithms on lazy arrays: pairwise distances and kernels (``cdist``, ``rbf``,
``manhattan``, in :mod:`lazyheat.spatial.distance`) and graph Laplacians of data sets
(:class:`Laplacian`). Written on lazyheat's public API only.

>>> import lazyheat as lh
>>> import lazyheat.spatial as sp
>>> sp.cdist(lh.array([[0.0, 0.0], [3.0, 4.0]], split=0)).numpy()[0, 1]
np.float32(5.0)
"""

from . import distance
from .distance import cdist, manhattan, rbf
from .laplacian import Laplacian

__all__ = ["Laplacian", "cdist", "distance", "manhattan", "rbf"]
