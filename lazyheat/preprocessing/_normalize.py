"""Normalizer and normalize: every sample (row) scaled to unit norm."""

from __future__ import annotations

import numpy as np

from .. import elementwise as ew
from ..base import BaseEstimator, TransformerMixin, check_array
from ._common import OneToOneFeatures, as_float, check_transform_input, np_dtype

__all__ = ["Normalizer", "normalize"]

NORMS = ("l1", "l2", "max")


def normalize(X, norm="l2", *, axis=1):
    """``X`` with every row (``axis=1``) or column (``axis=0``) divided by its ``norm``
    (``"l1"``, ``"l2"`` or ``"max"``), lazily; an all-zero row stays zero. Rows split
    across ranks are normalized where they lie; a norm across the split axis costs one
    all-reduce of the norms.

    >>> from lazyheat.preprocessing import normalize
    >>> normalize(lh.array([[3.0, 4.0], [0.0, 0.0]], split=0)).numpy()
    array([[0.6, 0.8],
           [0. , 0. ]], dtype=float32)
    """
    if norm not in NORMS:
        raise ValueError(f"normalize: norm must be one of {NORMS}, got {norm!r}")
    if axis not in (0, 1):
        raise ValueError(f"normalize: axis must be 0 or 1, got {axis!r}")
    X = as_float(check_array(X, "X", ndim=2, dtype=None, estimator="normalize"), "normalize")
    return _divide_by_norms(X, norm, axis)


def _divide_by_norms(X, norm: str, axis: int):
    if norm == "l1":
        norms = ew.abs(X).sum(axis, keepdims=True)
    elif norm == "l2":
        norms = ew.sqrt((X * X).sum(axis, keepdims=True))
    else:
        norms = ew.abs(X).max(axis, keepdims=True)
    # norms within ten machine epsilons of zero count as zero: divide those by 1
    tiny = 10 * float(np.finfo(np_dtype(X)).eps)
    return X / ew.where(norms < tiny, 1.0, norms)


class Normalizer(OneToOneFeatures, TransformerMixin, BaseEstimator):
    """Scale every sample (row) to unit ``norm`` (``"l1"``, ``"l2"`` or ``"max"``).

    Stateless: ``fit`` only checks ``X`` (2-D, no NaN or infinity: one small plan) and
    records ``n_features_in_``; ``transform`` is lazy, and rows split across ranks are
    normalized without communication. There is no ``inverse_transform`` (the norms are not
    kept), as in scikit-learn.

    >>> from lazyheat.preprocessing import Normalizer
    >>> X = lh.array([[1.0, 1.0], [2.0, 0.0]], split=0)
    >>> Normalizer(norm="l1").fit_transform(X).numpy()
    array([[0.5, 0.5],
           [1. , 0. ]], dtype=float32)
    """

    def __init__(self, norm="l2", *, copy=True):
        self.norm = norm
        self.copy = copy

    def fit(self, X, y=None):
        """Check ``X`` and record its number of features; returns self."""
        who = type(self).__name__
        if self.norm not in NORMS:
            raise ValueError(f"{who}: norm must be one of {NORMS}, got {self.norm!r}")
        X = check_array(X, "X", ndim=2, dtype=None, min_samples=1, allow_nan=False,
                        estimator=who)
        as_float(X, who)
        self.n_features_in_ = int(X.shape[1])
        return self

    def transform(self, X, copy=None):
        """Every row of ``X`` divided by its norm, lazily."""
        if self.norm not in NORMS:
            raise ValueError(f"{type(self).__name__}: norm must be one of {NORMS}, got "
                             f"{self.norm!r}")
        X = check_transform_input(self, X)
        return _divide_by_norms(X, self.norm, 1)
