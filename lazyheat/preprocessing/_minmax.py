"""Scalers by the extremes of every feature: MinMaxScaler and MaxAbsScaler."""

from __future__ import annotations

import numpy as np

from .. import elementwise as ew
from ..base import BaseEstimator, TransformerMixin
from ..planner import compute
from ._common import (
    INF,
    OneToOneFeatures,
    all_finite,
    check_fit_input,
    check_n_features,
    check_transform_input,
    const,
    nan_fallback,
    valid,
    zeros_to_one,
)

__all__ = ["MinMaxScaler", "MaxAbsScaler"]


def _nan_where_empty(lo, hi):
    """NaN-ignoring extremes of a feature with no values at all (every sample NaN) are NaN,
    as NumPy's nanmin/nanmax give; the fallback plan leaves +inf/-inf there (inf itself was
    refused before, so an infinite extreme can only mean "no values")."""
    empty = np.isinf(lo) if hi is None else (np.isinf(lo) & np.isinf(hi))
    lo = np.where(empty, np.nan, lo).astype(lo.dtype)
    return lo, (None if hi is None else np.where(empty, np.nan, hi).astype(hi.dtype))


class MinMaxScaler(OneToOneFeatures, TransformerMixin, BaseEstimator):
    """Scale every feature to ``feature_range``: ``x * scale_ + min_`` with
    ``scale_ = (hi - lo) / (data_max_ - data_min_)`` and ``min_ = lo - data_min_ * scale_``.

    ``fit`` takes the minimum and maximum of every feature in one plan (one pass over each
    rank's rows and one small collective over split rows); NaNs are ignored, infinity is
    refused. ``transform`` is lazy; ``clip=True`` clips its result to ``feature_range``.
    The fitted attributes (NumPy, in ``X``'s floating dtype, the same on every rank) are
    ``data_min_``, ``data_max_``, ``data_range_``, ``scale_``, ``min_``,
    ``n_samples_seen_`` and ``n_features_in_``. A constant feature is mapped to ``lo``.

    >>> from lazyheat.preprocessing import MinMaxScaler
    >>> X = lh.array([[1.0, -1.0], [3.0, 0.0], [5.0, 1.0]], split=0)
    >>> s = MinMaxScaler().fit(X)
    >>> s.data_min_, s.data_max_
    (array([ 1., -1.], dtype=float32), array([5., 1.], dtype=float32))
    >>> s.transform(X).numpy()
    array([[0. , 0. ],
           [0.5, 0.5],
           [1. , 1. ]], dtype=float32)
    """

    def __init__(self, feature_range=(0, 1), *, copy=True, clip=False):
        self.feature_range = feature_range
        self.copy = copy
        self.clip = clip

    def _reset(self):
        for name in ("n_samples_seen_", "data_min_", "data_max_", "data_range_", "scale_",
                     "min_", "n_features_in_"):
            self.__dict__.pop(name, None)

    def _range(self):
        lo, hi = self.feature_range
        if not lo < hi:
            raise ValueError(f"{type(self).__name__}: the minimum of the desired feature "
                             f"range must be smaller than its maximum; got "
                             f"{tuple(self.feature_range)}.")
        return lo, hi

    def fit(self, X, y=None):
        """Compute the minimum and maximum of every feature; returns self."""
        self._reset()
        return self.partial_fit(X, y)

    def partial_fit(self, X, y=None):
        """Update the extremes with the samples of ``X`` (one plan); returns self."""
        lo, hi = self._range()
        first = not hasattr(self, "n_samples_seen_")
        X = check_fit_input(self, X)
        check_n_features(self, X, reset=first)
        dmin, dmax = (v.numpy() for v in compute(X.min(0), X.max(0)))
        if not all_finite(dmin, dmax):
            ok = valid(X)
            dmin, dmax = nan_fallback(self, X, ew.where(ok, X, INF).min(0),
                                      ew.where(ok, X, -INF).max(0))
            dmin, dmax = _nan_where_empty(dmin, dmax)
        if not first:
            dmin = np.minimum(self.data_min_, dmin.astype(self.data_min_.dtype))
            dmax = np.maximum(self.data_max_, dmax.astype(self.data_max_.dtype))
            self.n_samples_seen_ += X.shape[0]
        else:
            self.n_samples_seen_ = int(X.shape[0])
        data_range = dmax - dmin
        self.scale_ = ((hi - lo) / zeros_to_one(data_range)).astype(dmin.dtype)
        self.min_ = (lo - dmin * self.scale_).astype(dmin.dtype)
        self.data_min_, self.data_max_, self.data_range_ = dmin, dmax, data_range
        return self

    def transform(self, X):
        """``X * scale_ + min_`` (clipped to ``feature_range`` with ``clip``), lazily."""
        X = check_transform_input(self, X, "scale_")
        X = X * const(self.scale_, X) + const(self.min_, X)
        if self.clip:
            lo, hi = self.feature_range
            X = ew.clip(X, lo, hi)
        return X

    def inverse_transform(self, X):
        """``(X - min_) / scale_``: back to the original units, lazily."""
        X = check_transform_input(self, X, "scale_")
        return (X - const(self.min_, X)) / const(self.scale_, X)


class MaxAbsScaler(OneToOneFeatures, TransformerMixin, BaseEstimator):
    """Scale every feature by its maximum absolute value, into ``[-1, 1]``; keeps zeros
    (and sparsity patterns) where they are and does not center.

    ``fit`` is one plan (one pass, one small collective over split rows); NaNs are ignored,
    infinity is refused; ``transform`` is lazy. Fitted attributes (NumPy, in ``X``'s
    floating dtype): ``max_abs_``, ``scale_`` (``max_abs_`` with zeros replaced by 1),
    ``n_samples_seen_``, ``n_features_in_``.

    >>> from lazyheat.preprocessing import MaxAbsScaler
    >>> X = lh.array([[1.0, -4.0], [-2.0, 2.0]], split=0)
    >>> s = MaxAbsScaler().fit(X)
    >>> s.max_abs_
    array([2., 4.], dtype=float32)
    >>> s.transform(X).numpy()
    array([[ 0.5, -1. ],
           [-1. ,  0.5]], dtype=float32)
    """

    def __init__(self, *, copy=True):
        self.copy = copy

    def _reset(self):
        for name in ("n_samples_seen_", "max_abs_", "scale_", "n_features_in_"):
            self.__dict__.pop(name, None)

    def fit(self, X, y=None):
        """Compute the maximum absolute value of every feature; returns self."""
        self._reset()
        return self.partial_fit(X, y)

    def partial_fit(self, X, y=None):
        """Update the maxima with the samples of ``X`` (one plan); returns self."""
        first = not hasattr(self, "n_samples_seen_")
        X = check_fit_input(self, X)
        check_n_features(self, X, reset=first)
        max_abs = compute(ew.abs(X).max(0))[0].numpy()
        if not all_finite(max_abs):
            (max_abs,) = nan_fallback(self, X, ew.where(valid(X), ew.abs(X), -INF).max(0))
            max_abs, _ = _nan_where_empty(max_abs, None)
        if not first:
            max_abs = np.maximum(self.max_abs_, max_abs.astype(self.max_abs_.dtype))
            self.n_samples_seen_ += X.shape[0]
        else:
            self.n_samples_seen_ = int(X.shape[0])
        self.max_abs_ = max_abs
        self.scale_ = zeros_to_one(max_abs)
        return self

    def transform(self, X):
        """``X / scale_``, lazily."""
        X = check_transform_input(self, X, "scale_")
        return X / const(self.scale_, X)

    def inverse_transform(self, X):
        """``X * scale_``, lazily."""
        X = check_transform_input(self, X, "scale_")
        return X * const(self.scale_, X)
