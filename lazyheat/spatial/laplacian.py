"""Graph Laplacians of data sets: ``Laplacian(...).construct(X)`` (HeAT's ``ht.graph.Laplacian``).

The samples are the nodes of a graph whose edge weights come from a similarity (or distance)
of their feature vectors. ``construct`` returns the n x n Laplacian as a lazy matrix split
along its rows (as ``X``'s rows are), so spectral methods can keep it lazy or distributed:

- ``"simple"``: ``L = D - A``, ``D`` the diagonal of the degrees (row sums of ``A``);
- ``"norm_sym"``: ``L = I - D^-1/2 A D^-1/2``.

``A`` is the similarity matrix with a zero diagonal (no self loops). In ``"eNeighbour"``
mode only the entries on one side of ``threshold_value`` are kept as edges: those below it
(``threshold_key="upper"``, for distances: close samples) or above it (``"lower"``, for
similarities); ``weighted=False`` makes every kept edge weigh 1. A node without edges (degree
0) gets a zero row in both definitions, as ``scipy.sparse.csgraph.laplacian``'s.
"""

from __future__ import annotations

# public modules, not ``import lazyheat``: the package imports this one (no import cycle)
from .. import elementwise as ew
from .._array import LazyArray
from ..base import BaseEstimator, check_array
from ..creation import eye as _eye
from .distance import cdist, rbf

__all__ = ["Laplacian"]

_DEFINITIONS = ("simple", "norm_sym")
_MODES = ("fully_connected", "eNeighbour")


class Laplacian(BaseEstimator):
    """Builds the graph Laplacian of a data set from a similarity measure.

    Parameters
    ----------
    similarity : callable or str
        ``similarity(X)`` returns the n x n similarity (or distance) matrix of the rows of
        ``X``, e.g. ``lambda X: lazyheat.spatial.rbf(X, sigma=2.0)``; or ``"rbf"`` (the
        Gaussian kernel with ``sigma``) or ``"euclidean"`` (distances, for ``"eNeighbour"``
        with ``threshold_key="upper"``).
    weighted : bool
        Keep the similarities as edge weights (True) or give every edge weight 1.
    definition : ``"simple"`` or ``"norm_sym"``
        ``D - A`` or ``I - D^-1/2 A D^-1/2``.
    mode : ``"fully_connected"`` or ``"eNeighbour"``
        Every pair is an edge, or only pairs on one side of ``threshold_value``.
    threshold_key : ``"upper"`` or ``"lower"``
        In ``"eNeighbour"`` mode, keep entries below (``"upper"``) or above (``"lower"``)
        ``threshold_value``.
    threshold_value : float
        The neighbourhood's bound (HeAT's epsilon).
    neighbours : int
        Kept for HeAT's signature; a k-nearest-neighbour graph is not supported.
    sigma : float
        The kernel width of ``similarity="rbf"``.

    >>> import lazyheat as lh
    >>> from lazyheat.spatial import Laplacian
    >>> X = lh.array([[0.0], [1.0], [5.0]], split=0)
    >>> L = Laplacian("euclidean", weighted=False, definition="simple", mode="eNeighbour",
    ...               threshold_key="upper", threshold_value=2.0).construct(X)
    >>> L.numpy()
    array([[ 1., -1.,  0.],
           [-1.,  1.,  0.],
           [ 0.,  0.,  0.]], dtype=float32)
    """

    def __init__(self, similarity="rbf", weighted=True, definition="norm_sym",
                 mode="fully_connected", threshold_key="upper", threshold_value=1.0,
                 neighbours=10, sigma=1.0):
        self.similarity = similarity
        self.weighted = weighted
        self.definition = definition
        self.mode = mode
        self.threshold_key = threshold_key
        self.threshold_value = threshold_value
        self.neighbours = neighbours
        self.sigma = sigma

    def _check(self) -> None:
        """Hyper-parameters, checked when ``construct`` is called (scikit-learn checks at
        fit, so ``set_params`` may change them freely before)."""
        if self.definition not in _DEFINITIONS:
            raise ValueError(f"Laplacian: definition must be one of {_DEFINITIONS}, got "
                             f"{self.definition!r}")
        if self.mode == "kNN":
            raise NotImplementedError("Laplacian: mode 'kNN' is not supported; use "
                                      "'fully_connected' or 'eNeighbour'")
        if self.mode not in _MODES:
            raise ValueError(f"Laplacian: mode must be one of {_MODES}, got {self.mode!r}")
        if self.mode == "eNeighbour":
            if self.threshold_key not in ("upper", "lower"):
                raise ValueError("Laplacian: threshold_key must be 'upper' or 'lower', got "
                                 f"{self.threshold_key!r}")
            if isinstance(self.threshold_value, bool) or \
                    not isinstance(self.threshold_value, (int, float)):
                raise TypeError("Laplacian: threshold_value must be a number, got "
                                f"{self.threshold_value!r}")
        if not (callable(self.similarity) or self.similarity in ("rbf", "euclidean")):
            raise ValueError("Laplacian: similarity must be a callable, 'rbf' or "
                             f"'euclidean', got {self.similarity!r}")

    def _similarity(self, X):
        if self.similarity == "rbf":
            return rbf(X, sigma=self.sigma)
        if self.similarity == "euclidean":
            return cdist(X)
        S = self.similarity(X)
        if not isinstance(S, LazyArray) or S.shape != (X.shape[0], X.shape[0]):
            raise ValueError(f"Laplacian: similarity(X) must return a {X.shape[0]} x "
                             f"{X.shape[0]} lazy array, got "
                             f"{getattr(S, 'shape', type(S).__name__)}")
        return S

    def construct(self, X):
        """The Laplacian of the samples (rows) of ``X``: a lazy n x n matrix split along its
        rows (replicated when ``X`` is), of X's floating type.

        The degrees are row sums of the row-split adjacency (local); ``"norm_sym"`` gathers
        only the n scale factors ``D^-1/2`` to scale the columns.
        """
        self._check()
        X = check_array(X, "X", ndim=2, estimator="Laplacian")
        S = self._similarity(X)
        n = S.shape[0]
        if not S.dtype.is_floating:
            S = S.astype("float32")
        # eye has S's layout, so masking the diagonal and adding D move nothing
        eye = _eye(n, dtype="bool", split=S.split, comm=S.comm, device=S.device)
        A = ew.where(eye, 0, S)  # no self loops
        if self.mode == "eNeighbour":
            t = float(self.threshold_value)
            keep = (A < t) if self.threshold_key == "upper" else (A > t)
            keep = keep & ~eye
            A = ew.where(keep, A, 0) if self.weighted else keep.astype(A.dtype)
        degree = A.sum(axis=1)
        if self.definition == "simple":
            return ew.where(eye, degree[:, None], 0) - A
        # isolated nodes (degree 0) get scale 0 and a 0 on the diagonal: a zero row
        connected = degree > 0
        scale = ew.where(connected, 1 / ew.sqrt(ew.where(connected, degree, 1)), 0)
        diag = connected.astype(A.dtype)[:, None]
        return ew.where(eye, diag, 0) - scale[:, None] * A * scale[None, :]
