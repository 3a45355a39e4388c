"""StandardScaler: remove the mean and scale to unit variance, feature by feature."""

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

__all__ = ["StandardScaler"]

_EPS64 = np.finfo(np.float64).eps


def _stat_input(X):
    """Half-precision data is reduced in float32 (the statistics are kept in float64)."""
    return X.astype("float32") if X.dtype.itemsize < 4 else X


def merge_moments(n_a, mean_a, var_a, n_b, mean_b, var_b):
    """Counts, means and variances (``ddof=0``) of two sets combined, per feature (Chan,
    Golub and LeVeque's pairwise update). A feature one set has no samples of keeps the
    other's values; with none in either its mean and variance are NaN."""
    n = n_a + n_b
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(n > 0, n_b / np.maximum(n, 1), np.nan)
        delta = mean_b - mean_a
        mean = np.where(n_a == 0, mean_b, np.where(n_b == 0, mean_a, mean_a + delta * frac))
        if var_a is None:
            return n, mean, None
        m2 = var_a * n_a + var_b * n_b + delta * delta * n_a * frac
        var = np.where(n_a == 0, var_b, np.where(n_b == 0, var_a, m2 / np.maximum(n, 1)))
    return n, mean, var


class StandardScaler(OneToOneFeatures, TransformerMixin, BaseEstimator):
    """Standardize features: ``z = (x - mean_) / scale_``, with statistics computed over the
    samples (rows) of a lazy array split in any way.

    ``fit`` computes the mean and the variance of every feature in one plan: over rows split
    across ranks, one pass over each rank's block and one small collective. ``transform``
    is lazy: it returns a lazy array (the rows keep their layout) for you to compute or to
    feed to the next step. NaNs are ignored by ``fit`` and kept by ``transform``, as in
    scikit-learn; infinity is refused by ``fit``.

    Parameters: ``with_mean`` (center), ``with_std`` (scale to unit variance), ``copy``
    (accepted for scikit-learn compatibility; lazy arrays are never modified in place).

    The moments are computed in the data's precision (float16 in float32) and accumulated in
    float64 across chunks and ranks, so they agree with scikit-learn's to the rounding of
    the data's dtype (a few 1e-7 relative for float32 data).

    Fitted attributes (NumPy, the same on every rank): ``mean_``, ``var_`` and ``scale_``
    (float64, per feature; a feature of zero variance gets scale 1; ``var_``/``scale_`` are
    None without ``with_std``, ``mean_`` is None when neither is set), ``n_samples_seen_``
    (an int, or per feature when NaNs made the counts differ), ``n_features_in_``.

    >>> from lazyheat.preprocessing import StandardScaler
    >>> X = lh.array([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0], [6.0, 1.0]], split=0)
    >>> s = StandardScaler().fit(X)
    >>> s.mean_, s.var_, s.scale_
    (array([3., 1.]), array([5., 0.]), array([2.23606798, 1.        ]))
    >>> s.transform(X).numpy()[:, 0]
    array([-1.3416407, -0.4472136,  0.4472136,  1.3416407], dtype=float32)
    """

    def __init__(self, *, copy=True, with_mean=True, with_std=True):
        self.copy = copy
        self.with_mean = with_mean
        self.with_std = with_std

    def _reset(self):
        for name in ("n_samples_seen_", "mean_", "var_", "scale_", "n_features_in_"):
            self.__dict__.pop(name, None)

    def fit(self, X, y=None):
        """Compute the mean and standard deviation of every feature; returns self."""
        self._reset()
        return self.partial_fit(X, y)

    def partial_fit(self, X, y=None):
        """Update the statistics with the samples of ``X`` (one plan per call); returns
        self. The merge of the running and the new statistics is exact (pairwise update)."""
        first = not hasattr(self, "n_samples_seen_")
        X = check_fit_input(self, X)
        check_n_features(self, X, reset=first)
        n_new, mean_new, var_new = self._batch_stats(X)
        n_old = None if first else np.broadcast_to(
            np.asarray(self.n_samples_seen_, dtype=np.int64), n_new.shape)
        if first:
            n, mean, var = n_new, mean_new, var_new
        elif self.mean_ is None:  # neither centering nor scaling: only counts are kept
            n, mean, var = n_old + n_new, None, None
        else:
            n, mean, var = merge_moments(n_old, self.mean_, self.var_, n_new, mean_new,
                                         var_new)
        # n_samples_seen_ is a plain int unless NaNs made the per-feature counts differ
        self.n_samples_seen_ = int(n[0]) if np.all(n == n[0]) else n.astype(np.int64)
        if not (self.with_mean or self.with_std):
            self.mean_ = self.var_ = self.scale_ = None
            return self
        self.mean_ = mean
        self.var_ = var
        if self.with_std:
            # near-constant features: a variance within the rounding error bound of the
            # two-pass algorithm (Chan, Golub, LeVeque) is taken as zero
            nf = n.astype(np.float64)
            constant = var <= nf * _EPS64 * var + (nf * mean * _EPS64) ** 2
            self.scale_ = zeros_to_one(np.sqrt(var), constant)
        else:
            self.scale_ = None
        return self

    def _batch_stats(self, X):
        """(count, mean, var or None) per feature of ``X`` as float64 NumPy arrays: the plain
        moments in one plan; a second plan only when they are not finite (NaN or inf)."""
        d = X.shape[1]
        Xs = _stat_input(X)
        want_var = bool(self.with_std)
        if not (self.with_mean or self.with_std):
            # nothing to estimate but the non-NaN counts (and inf is still an error)
            has_inf, cnt = compute((ew.abs(X) == INF).any(), valid(X).sum(0))
            if bool(has_inf.item()):
                nan_fallback(self, X)  # raises the infinity error on every rank
            cnt = cnt.numpy().astype(np.int64)
            return cnt, None, None
        stats = compute(Xs.mean(0), Xs.var(0)) if want_var else compute(Xs.mean(0))
        stats = [s.numpy().astype(np.float64) for s in stats]
        mean, var = stats[0], (stats[1] if want_var else None)
        if all_finite(mean, var):
            return np.full(d, X.shape[0], dtype=np.int64), mean, var
        # NaN or inf somewhere: NaN-ignoring moments (two reduction stages, one plan)
        ok = valid(Xs)
        x64 = Xs.astype("float64")
        cnt = ok.sum(0)
        mean_l = ew.where(ok, x64, 0.0).sum(0) / cnt
        dev = ew.where(ok, x64 - mean_l, 0.0)
        cnt, mean, m2 = nan_fallback(self, X, cnt, mean_l, (dev * dev).sum(0))
        cnt = cnt.astype(np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = m2 / cnt if want_var else None
        return cnt, mean, var

    def transform(self, X, copy=None):
        """``(X - mean_) / scale_`` as a lazy array in ``X``'s floating dtype."""
        X = check_transform_input(self, X, "n_samples_seen_")
        if self.with_mean:
            X = X - const(self.mean_, X)
        if self.with_std:
            X = X / const(self.scale_, X)
        return X

    def inverse_transform(self, X, copy=None):
        """``X * scale_ + mean_``: back to the original units, lazily."""
        X = check_transform_input(self, X, "n_samples_seen_")
        if self.with_std:
            X = X * const(self.scale_, X)
        if self.with_mean:
            X = X + const(self.mean_, X)
        return X
