"""Class labels for classifiers: validation, the sorted classes, and every sample's class
index as a lazy integer array.

Labels given as NumPy (or lists) are the same on every rank, so they are handled on the host
(any labels NumPy can sort, strings included); labels given as a lazy array must be numeric
and stay distributed (their classes come from ``lh.unique_values``, a distributed sort).
Whatever a rank decides here it decides from global metadata or collective results, so an
error is raised on every rank alike.
"""

from __future__ import annotations

import numpy as np

from ._array import LazyArray
from .creation import arange, array, asarray
from .elementwise import clip
from .sets import unique_values
from .sorting import searchsorted


class Labels:
    """Validated labels ``y`` of ``n`` samples: ``host`` (a NumPy array) or ``lazy`` (a 1-d
    lazy array), exactly one of them set."""

    def __init__(self, y, n: int, who: str):
        self.who = who
        if isinstance(y, LazyArray):
            if y.ndim == 2 and y.shape[1] == 1:
                y = y.reshape((y.shape[0],))
            if y.ndim != 1:
                raise ValueError(f"{who}: y must be 1-D, got shape {y.shape}")
            if y.dtype.is_complex:
                raise TypeError(f"{who}: y must hold real labels, got {y.dtype.name}")
            self.host, self.lazy = None, y
        else:
            y = np.asarray(y)
            if y.ndim == 2 and y.shape[1] == 1:
                y = y.ravel()
            if y.ndim != 1:
                raise ValueError(f"{who}: y must be 1-D, got shape {y.shape}")
            if y.dtype.kind == "O":
                y = y.astype(str) if all(isinstance(v, str) for v in y) else y
            self.host, self.lazy = y, None
        if len(self) != n:
            raise ValueError(f"{who}: found input variables with inconsistent numbers of "
                             f"samples: X has {n}, y has {len(self)}")

    def __len__(self) -> int:
        return len(self.host) if self.host is not None else self.lazy.shape[0]

    def classes(self) -> np.ndarray:
        """The sorted distinct labels (a plan of ``unique_values`` for lazy labels)."""
        values = np.unique(self.host) if self.host is not None else \
            unique_values(self.lazy).numpy()
        check_no_nan(values, self.who)
        return values

    def indices(self, classes: np.ndarray, like: LazyArray):
        """(index of every sample's class in ``classes`` as a lazy int64 array split along
        its rows, and a lazy bool scalar "every label is one of ``classes``", or None when
        that is known already). Indices of unknown labels are clipped into range: the
        caller must check the flag before trusting results."""
        k = len(classes)
        if self.host is not None:
            pos = np.searchsorted(classes, self.host)
            known = (pos < k) & (classes[np.minimum(pos, k - 1)] == self.host)
            if not known.all():
                raise unknown_labels(self.host[~known], classes, self.who)
            self.host_index = pos
            return array(pos.astype(np.int64), split=0, device=like.device,
                         comm=like.comm), None
        if classes.dtype.kind not in "biuf":
            raise ValueError(f"{self.who}: lazy labels y cannot be compared with the "
                             f"non-numeric classes {classes}")
        cls = asarray(classes, device=like.device, comm=like.comm)
        # a label is known where its right insertion point lies past its left one (two
        # local searches in the replicated classes; no lookup at an owner)
        left = searchsorted(cls, self.lazy)
        known = (searchsorted(cls, self.lazy, side="right") > left).all()
        return clip(left, 0, k - 1), known

    def counts(self, k: int):
        """Samples per class of NumPy labels (after ``indices``) as float64; None for lazy
        labels, whose counts need a reduction."""
        if self.host is None:
            return None
        return np.bincount(self.host_index, minlength=k).astype(np.float64)

    def raise_unknown(self, classes: np.ndarray):
        """The error for labels outside ``classes`` (after the flag said so)."""
        values = self.classes()
        raise unknown_labels(values[~np.isin(values, classes)], classes, self.who)


def check_no_nan(values: np.ndarray, who: str) -> None:
    if values.dtype.kind == "f" and np.isnan(values).any():
        raise ValueError(f"{who}: Input y contains NaN.")


def unknown_labels(labels, classes, who: str) -> ValueError:
    return ValueError(f"{who}: the target label(s) {np.unique(labels)} in y do not exist "
                      f"in the initial classes {classes}")


def one_hot(index: LazyArray, k: int, dtype: str = "float64") -> LazyArray:
    """``(n, k)`` indicator matrix of class indices (lazy; fused into its consumer)."""
    return (index[:, None] == arange(k, device=index.device, comm=index.comm)[None, :]) \
        .astype(dtype)
