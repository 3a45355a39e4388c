"""Incremental PCA: principal components from batches of rows.

Each batch (a lazy array, split along its rows or replicated) is reduced, in one plan with
up to 15 other batches, to its size, mean, sum of squared deviations per column and the R
factor of its centered rows (TSQR: ``Xb - mean_b = Q R``, one all-gather of small factors).
``R`` has the centered batch's singular values and right vectors, so the merge with the
running model works on the small stacked matrix::

    [ diag(S) Vt                                   ]   k x d: the model so far
    [ R                                            ]   min(b, d) x d: the new batch
    [ sqrt(n_seen b / (n_seen + b)) (mean - mean_b) ]   1 x d: the shift between the means

whose SVD gives the updated components (Ross, Lim, Lin and Yang, "Incremental learning for
robust visual tracking", IJCV 2008). The merge runs in float64 on every rank alike, with no
communication; means and variances are combined by Chan, Golub and LeVeque's update.
"""

from __future__ import annotations

import numbers

import numpy as np

import lazyheat as lh

from ..base import check_array
from ._base import ProjectionMixin, check_int, flip_signs, np_dtype

# batches whose statistics one plan computes: fewer plans, the same merges in the same order
GROUP = 16


def batch_slices(n: int, size: int, min_size: int):
    """Row ranges of ``size`` rows; a last range shorter than ``min_size`` is merged into
    the one before it."""
    start = 0
    for _ in range(n // size):
        end = start + size
        if end + min_size > n:
            continue
        yield start, end
        start = end
    if start < n:
        yield start, n


class IncrementalPCA(ProjectionMixin):
    """Principal component analysis fitted batch by batch (scikit-learn's
    ``IncrementalPCA``).

    ``fit(X)`` walks ``X`` in batches of ``batch_size`` rows (default ``5 * n_features``),
    ``partial_fit(X)`` adds one batch; only the current batches' rows are read at a time, so
    ``X`` may be a lazy file (``lh.load_hdf5``, ...) larger than memory. One plan computes
    the statistics of up to 16 batches; each batch's merge is a small SVD every rank
    computes alike.

    Fitted attributes (NumPy, identical on every rank): ``components_``,
    ``explained_variance_``, ``explained_variance_ratio_``, ``singular_values_``, ``mean_``,
    ``var_``, ``noise_variance_``, ``n_components_``, ``n_samples_seen_``, ``batch_size_``,
    ``n_features_in_``.

    >>> import numpy as np
    >>> from lazyheat.decomposition import IncrementalPCA
    >>> X = np.random.default_rng(0).standard_normal((400, 6))
    >>> ipca = IncrementalPCA(n_components=3, batch_size=100).fit(X)
    >>> ipca.components_.shape, ipca.n_samples_seen_
    ((3, 6), 400)
    """

    def __init__(self, n_components=None, *, whiten=False, batch_size=None):
        self.n_components = n_components
        self.whiten = whiten
        self.batch_size = batch_size

    def fit(self, X, y=None):
        """Fit from scratch on ``X`` (n x d), batch by batch; returns self."""
        X = check_array(X, "X", estimator="IncrementalPCA")
        n, d = X.shape
        if n < 1 or d < 1:
            raise ValueError(f"IncrementalPCA: X of shape {X.shape} has no data")
        self._reset()
        size = 5 * d if self.batch_size is None else check_int(
            self.batch_size, "batch_size", "IncrementalPCA", 1)
        self.batch_size_ = size
        k = self.n_components
        slices = list(batch_slices(n, size, int(k) if isinstance(k, numbers.Integral) else 0))
        for i in range(0, len(slices), GROUP):
            group = [X[a:b] if (a, b) != (0, n) else X for a, b in slices[i:i + GROUP]]
            for batch, stats in zip(group, self._batch_stats(group)):
                self._merge(batch, stats)
        return self

    def partial_fit(self, X, y=None):
        """Add one batch ``X`` (n_b x d) to the model; returns self."""
        X = check_array(X, "X", estimator="IncrementalPCA")
        if not hasattr(self, "n_samples_seen_"):
            self._reset()
        if getattr(self, "batch_size_", None) is None:
            self.batch_size_ = X.shape[0]
        self._check_batch(X)
        return self._merge(X, self._batch_stats([X])[0])

    def _reset(self):
        for name in ("components_", "n_samples_seen_", "_m2", "batch_size_"):
            self.__dict__.pop(name, None)

    def _check_batch(self, X):
        name = "IncrementalPCA"
        nb, d = X.shape
        first = not hasattr(self, "components_")
        if not first and d != self.n_features_in_:
            raise ValueError(f"{name}: X has {d} features, but the model was fitted with "
                             f"{self.n_features_in_}")
        k = self.n_components
        if k is None:
            return min(nb, d) if first else self.n_components_
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"{name}: n_components must be None or an int >= 1, got {k!r}")
        k = int(k)
        if k > d:
            raise ValueError(f"{name}: n_components={k} must be at most n_features={d}")
        if first and k > nb:
            raise ValueError(f"{name}: n_components={k} must be at most the number of "
                             f"samples of the first batch, {nb}")
        if not first and k != self.n_components_:
            raise ValueError(f"{name}: n_components changed from {self.n_components_} to {k} "
                             "between calls to partial_fit")
        return k

    def _batch_stats(self, batches):
        """One plan for a group of batches: each batch's column means and squared
        deviations and the R factor of its centered rows (float64 NumPy)."""
        parts = []
        for X in batches:
            Xw = X if X.dtype == lh.float64 else X.astype(lh.float64)
            mean = Xw.mean(axis=0)
            centered = Xw - mean
            parts += [mean, (centered * centered).sum(axis=0), lh.linalg.qr(centered, mode="r")]
        values = [np.asarray(v.numpy(), np.float64) for v in lh.compute(*parts)]
        stats = [tuple(values[i:i + 3]) for i in range(0, len(values), 3)]
        if not all(np.isfinite(mean).all() for mean, _, _ in stats):
            raise ValueError("IncrementalPCA: X contains NaN or infinity")
        return stats

    def _merge(self, X, stats):
        """Merge one batch (its shape from ``X``, its ``stats`` from ``_batch_stats``)."""
        nb, d = X.shape
        if nb < 1:
            raise ValueError("IncrementalPCA: a batch needs at least 1 sample")
        k = self._check_batch(X)
        mean_b, m2_b, r = stats
        seen = getattr(self, "n_samples_seen_", 0)
        total = seen + nb
        if seen == 0:
            mean, m2, stacked = mean_b, m2_b, r
        else:
            delta = mean_b - self._mean
            mean = self._mean + delta * (nb / total)
            m2 = self._m2 + m2_b + delta * delta * (seen * nb / total)
            shift = np.sqrt(seen * nb / total) * (self._mean - mean_b)
            stacked = np.vstack([self._sv[:, None] * self._vt, r, shift[None, :]])
        _, s, vt = np.linalg.svd(stacked, full_matrices=False)
        vt = flip_signs(vt)
        variance = s * s / max(total - 1, 1)
        ratio = s * s / m2.sum() if m2.sum() > 0 else np.zeros_like(s)
        dtype = np_dtype(X.dtype)
        self._mean, self._m2, self._sv, self._vt = mean, m2, s[:k], vt[:k]
        self.n_samples_seen_ = total
        self.components_ = vt[:k].astype(dtype)
        self.singular_values_ = s[:k].astype(dtype)
        self.mean_ = mean.astype(dtype)
        self.var_ = (m2 / total).astype(dtype)
        self.explained_variance_ = variance[:k].astype(dtype)
        self.explained_variance_ratio_ = ratio[:k].astype(dtype)
        self.noise_variance_ = float(variance[k:].mean()) if k not in (nb, d) and len(s) > k \
            else 0.0
        self.n_components_ = k
        self.n_features_in_ = d
        return self
