"""GaussianNB: Gaussian naive Bayes, fitted in one pass over split data."""

from __future__ import annotations

import math

import numpy as np

from .. import elementwise as ew
from .._array import LazyArray
from .._labels import Labels, one_hot
from ..base import BaseEstimator, ClassifierMixin, check_array, check_is_fitted
from ..creation import asarray
from ..indexing import take
from ..manipulation import reshape, resplit
from ..planner import compute
from ..preprocessing._common import as_float, check_n_features, const, np_dtype
from ..stats_more import bincount

__all__ = ["GaussianNB"]

INF = math.inf
# up to this many classes the per-class sums are products with a one-hot matrix (BLAS, and
# k times the work of one pass); beyond it a weighted bincount (work independent of k)
ONE_HOT_MAX_CLASSES = 32


def _class_sums(Xc, index, k, weight, counts=True):
    """Lazy per-class (weights or counts (None unless ``counts``), sums of ``Xc``, sums of
    its squares): partial sums per rank, combined by one all-reduce. ``index`` holds every
    row's class index."""
    d = Xc.shape[1]
    if k <= ONE_HOT_MAX_CLASSES:
        hot = one_hot(index, k)
        if weight is not None:
            hot = hot * weight[:, None]
        # two products, not one of [Xc, Xc * Xc]: a concatenated copy costs more than the
        # second read
        return (hot.sum(0) if counts else None), hot.T @ Xc, hot.T @ (Xc * Xc)
    # segment sums by bincount over the flattened (row, feature) cells: cell (i, j) adds to
    # bin index[i] * d + j; the rows must be split along axis 0 (or not at all) to flatten
    # without moving data
    if Xc.split == 1:
        Xc = resplit(Xc, 0)
    bins = reshape(index[:, None] * d + asarray(np.arange(d), device=Xc.device,
                                                comm=Xc.comm)[None, :], (-1,))
    wx = Xc if weight is None else Xc * weight[:, None]
    count = bincount(index, weights=weight, minlength=k).astype("float64") if counts else None
    sums = bincount(bins, weights=reshape(wx, (-1,)), minlength=k * d)
    squares = bincount(bins, weights=reshape(wx * Xc, (-1,)), minlength=k * d)
    return count, reshape(sums, (k, d)), reshape(squares, (k, d))


def _logsumexp_rows(a: LazyArray) -> LazyArray:
    """``log(sum(exp(a), axis=1))`` as a column, without overflow (the row maximum is
    taken out first; an infinite maximum is replaced by 0)."""
    top = a.max(1, keepdims=True)
    top = ew.where(ew.abs(top) < INF, top, 0.0)
    return ew.log(ew.exp(a - top).sum(1, keepdims=True)) + top


class GaussianNB(ClassifierMixin, BaseEstimator):
    """Gaussian naive Bayes: every feature, within every class, normally distributed and
    independent of the others.

    ``fit`` finds the classes (a distributed ``unique_values`` for lazy labels, NumPy's
    for host labels), then computes every class's count, feature sums and sums of squares in
    one plan: one pass over each rank's rows (per-class sums as products with a one-hot
    matrix, or a weighted ``bincount`` for many classes) and one message of the ``2 k d``
    sums (the counts of NumPy labels are known on every rank; those of lazy labels add a
    small one). The sums are taken about the first sample, broadcast from its owner first
    (a ``d``-vector), so that a large common offset does not cancel in the variances.
    ``partial_fit`` merges batches exactly (pairwise update of means and variances).
    ``predict``, ``predict_proba`` and ``predict_log_proba`` are lazy:
    the joint log-likelihood is evaluated row by row where the rows lie, so split rows stay
    split and nothing moves but the result.

    Parameters: ``priors`` (class prior probabilities; by default the class frequencies),
    ``var_smoothing`` (this fraction of the largest feature variance is added to every
    variance: ``epsilon_``).

    Fitted attributes (NumPy, the same on every rank; floating ones in ``X``'s dtype):
    ``classes_``, ``class_count_``, ``class_prior_``, ``theta_`` and ``var_`` (per class
    and feature), ``epsilon_``, ``n_features_in_``.

    Labels may be a NumPy array (any labels NumPy sorts, strings too) or a lazy array
    (numbers). ``predict`` returns a lazy array of labels when the classes are numbers, a
    NumPy array otherwise.

    >>> from lazyheat.naive_bayes import GaussianNB
    >>> X = lh.array([[-2.0, -1.0], [-1.0, -1.0], [1.0, 1.0], [2.0, 1.0]], split=0)
    >>> y = lh.array([0, 0, 1, 1], split=0)
    >>> nb = GaussianNB().fit(X, y)
    >>> nb.classes_, nb.theta_
    (array([0, 1]), array([[-1.5, -1. ],
           [ 1.5,  1. ]], dtype=float32))
    >>> nb.predict(lh.array([[-0.8, -1.0], [3.0, 2.0]], split=0)).numpy()
    array([0, 1])
    """

    def __init__(self, *, priors=None, var_smoothing=1e-9):
        self.priors = priors
        self.var_smoothing = var_smoothing

    def _reset(self):
        for name in ("classes_", "class_count_", "class_prior_", "theta_", "var_",
                     "epsilon_", "n_features_in_"):
            self.__dict__.pop(name, None)

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y, sample_weight=None):
        """Fit the per-class means and variances to ``X`` and labels ``y``; returns self."""
        X = self._check_X_fit(X)
        labels = Labels(y, X.shape[0], type(self).__name__)
        classes = labels.classes()
        self._reset()
        return self._update(X, labels, classes, True, sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the model with one batch; ``classes`` (every label that can occur) is
        required on the first call. Returns self."""
        who = type(self).__name__
        first = not hasattr(self, "classes_")
        if classes is not None:
            classes = np.unique(np.asarray(classes))
            if not first and not np.array_equal(classes, self.classes_):
                raise ValueError(f"{who}: classes={classes!r} is not the same as on the "
                                 f"last call to partial_fit, was: {self.classes_!r}")
        elif first:
            raise ValueError(f"{who}: classes must be passed on the first call to "
                             "partial_fit.")
        X = self._check_X_fit(X)
        labels = Labels(y, X.shape[0], who)
        return self._update(X, labels, classes if first else self.classes_, first,
                            sample_weight)

    def _check_X_fit(self, X) -> LazyArray:
        who = type(self).__name__
        if not self.var_smoothing >= 0:
            raise ValueError(f"{who}: var_smoothing must be >= 0, got {self.var_smoothing!r}")
        X = as_float(check_array(X, "X", ndim=2, dtype=None, min_samples=1, estimator=who),
                     who)
        if X.shape[1] < 1:
            raise ValueError(f"{who}: X has 0 features (shape {X.shape}); at least 1 is "
                             "needed")
        return X

    def _check_priors(self, k: int, dtype) -> np.ndarray:
        who = type(self).__name__
        priors = np.asarray(self.priors, dtype=dtype)
        if priors.shape != (k,):
            raise ValueError(f"{who}: the number of priors ({priors.size}) must match the "
                             f"number of classes ({k}).")
        if not np.isclose(priors.sum(), 1.0):
            raise ValueError(f"{who}: the sum of the priors should be 1.")
        if (priors < 0).any():
            raise ValueError(f"{who}: priors must be non-negative.")
        return priors

    def _update(self, X, labels, classes, first, sample_weight):
        """One batch: the per-class moments of ``X`` in one plan, merged into the model."""
        who = type(self).__name__
        if not first and X.shape[1] != self.theta_.shape[1]:
            raise ValueError(f"{who}: number of features {X.shape[1]} does not match "
                             f"previous data {self.theta_.shape[1]}.")
        check_n_features(self, X, reset=first)
        k, dtype = len(classes), np_dtype(X)
        if first and self.priors is not None:
            self._check_priors(k, dtype)
        weight = None
        if sample_weight is not None:
            weight = check_array(sample_weight, "sample_weight", ndim=1, dtype=None,
                                 estimator=who).astype("float64")
            if weight.shape[0] != X.shape[0]:
                raise ValueError(f"{who}: sample_weight has {weight.shape[0]} entries, X "
                                 f"has {X.shape[0]} samples")
        index, known = labels.indices(classes, X)
        # the sums are taken about the first sample (a per-feature shift broadcast from its
        # owner), so a large common offset of a feature does not cancel in the variances
        shift = X[0].astype("float64")
        Xc = X.astype("float64") - shift
        # NumPy labels are on every rank: their counts need no reduction; the sums then
        # travel in one message (after the shift's)
        host_count = labels.counts(k) if weight is None else None
        count, sums, squares = _class_sums(Xc, index, k, weight, host_count is None)
        outs = [shift, sums, squares] + ([count] if host_count is None else [])
        if weight is not None:  # epsilon_ is from the unweighted variance, as unweighted data
            outs.append(X.var(0))
        if known is not None:
            outs.append(known)
        got = compute(*outs)
        if known is not None and not bool(got[-1].item()):
            labels.raise_unknown(classes)
        shift, sums, squares = (v.numpy().astype(np.float64) for v in got[:3])
        count = host_count if host_count is not None else got[3].numpy().astype(np.float64)
        if not np.isfinite(sums).all() or not np.isfinite(squares).all():
            self._raise_not_finite(X, weight)
        if weight is not None:
            feature_var = got[4].numpy().astype(np.float64)  # after [shift, sums, sq, count]
        else:
            n = float(X.shape[0])
            total = sums.sum(0) / n
            feature_var = np.maximum(squares.sum(0) / n - total * total, 0.0)
        epsilon = self.var_smoothing * feature_var.max()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_c = sums / count[:, None]  # mean about the shift
            var_new = np.maximum(squares / count[:, None] - mean_c * mean_c, 0.0)
        self._merge(first, classes, count, mean_c + shift, var_new, epsilon, dtype)
        return self

    def _raise_not_finite(self, X, weight):
        """Sums came out NaN or infinite: tell which input holds what (one small plan)."""
        who = type(self).__name__
        flags = [(X != X).any(), (ew.abs(X) == INF).any()]
        if weight is not None:
            flags.append((ew.abs(weight) < INF).all())
        flags = [bool(f.item()) for f in compute(*flags)]
        if flags[0]:
            raise ValueError(f"{who}: Input X contains NaN; {who} does not accept missing "
                             "values (impute or drop them first).")
        if flags[1]:
            raise ValueError(f"{who}: Input X contains infinity or a value too large for "
                             f"dtype('{X.dtype.name}').")
        if weight is not None and not flags[2]:
            raise ValueError(f"{who}: sample_weight contains NaN or infinity.")
        # finite data whose squares overflow float64: the model is as good as the sums

    def _merge(self, first, classes, count, mean, var, epsilon, dtype):
        """Fold one batch's per-class (count, mean, variance) into the fitted attributes;
        classes without samples in the batch keep their values."""
        k, d = mean.shape
        if first:
            self.classes_ = classes
            n_old = np.zeros(k)
            mu_old = np.zeros((k, d))
            var_old = np.zeros((k, d))
        else:
            n_old = self.class_count_.astype(np.float64)
            mu_old = self.theta_.astype(np.float64)
            # as scikit-learn: the smoothing taken off the running variances is the new
            # batch's epsilon (the variances then get that same epsilon back)
            var_old = self.var_.astype(np.float64) - epsilon
        n = n_old + count
        has_new = ~np.isclose(count, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = (count / n)[:, None]
            delta = mean - mu_old
            mu = mu_old + delta * frac
            m2 = var_old * n_old[:, None] + var * count[:, None] + \
                delta * delta * (n_old[:, None] * frac)
            v = m2 / n[:, None]
        keep = ~has_new[:, None]
        self.theta_ = np.where(keep, mu_old, mu).astype(dtype)
        self.var_ = (np.where(keep, var_old, v) + epsilon).astype(dtype)
        self.class_count_ = np.where(has_new, n, n_old).astype(dtype)
        self.epsilon_ = dtype.type(epsilon)
        if self.priors is not None:
            self.class_prior_ = self._check_priors(k, dtype)
        else:
            self.class_prior_ = (self.class_count_ / self.class_count_.sum()).astype(dtype)

    # ------------------------------------------------------------------ prediction
    def _check_X_predict(self, X) -> LazyArray:
        who = type(self).__name__
        check_is_fitted(self, "theta_", "var_", "class_prior_")
        X = as_float(check_array(X, "X", ndim=2, dtype=None, min_samples=1, estimator=who),
                     who)
        check_n_features(self, X, reset=False)
        # NumPy's promotion of the data with the fitted attributes
        work = np.result_type(np_dtype(X), self.theta_.dtype)
        return X if np_dtype(X) == work else X.astype(work.name)

    def predict_joint_log_proba(self, X) -> LazyArray:
        """``log P(c) + log P(x | c)`` for every sample and class: an ``(n, k)`` lazy array
        with ``X``'s rows and layout."""
        X = self._check_X_predict(X)
        theta, var = const(self.theta_, X), const(self.var_, X)
        dist = ((X[:, None, :] - theta[None]) ** 2 / var[None]).sum(axis=2)
        wd = np_dtype(X)
        with np.errstate(divide="ignore"):
            log_norm = (-0.5 * np.log(2.0 * np.pi * self.var_.astype(wd)).sum(1)).astype(wd)
            log_prior = np.log(self.class_prior_.astype(wd))
        return (const(log_norm, X) - 0.5 * dist) + const(log_prior, X)

    def predict_log_proba(self, X) -> LazyArray:
        """Log posterior probabilities, ``(n, k)``, lazily."""
        jll = self.predict_joint_log_proba(X)
        return jll - _logsumexp_rows(jll)

    def predict_proba(self, X) -> LazyArray:
        """Posterior probabilities, ``(n, k)``, lazily (rows sum to 1)."""
        return ew.exp(self.predict_log_proba(X))

    def predict(self, X):
        """The most probable class of every sample: a lazy array of labels with ``X``'s
        rows (a NumPy array when the classes are not numbers)."""
        best = self.predict_joint_log_proba(X).argmax(axis=1)
        classes = self.classes_
        if classes.dtype.kind in "iu" and np.array_equal(classes, np.arange(len(classes))):
            return best.astype(classes.dtype.name)  # labels 0..k-1 are their own indices
        if classes.dtype.kind in "biuf":
            return take(asarray(classes, device=best.device, comm=best.comm), best)
        return self.classes_[best.numpy()]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y`` (a float)."""
        pred = self.predict(X)
        if isinstance(pred, LazyArray) and sample_weight is None and \
                (isinstance(y, LazyArray) or np.asarray(y).dtype.kind in "biuf"):
            y = check_array(y, "y", ndim=1, dtype=None, estimator=type(self).__name__)
            return float((pred == y).astype("float64").mean().item())
        hits = np.asarray(pred) == np.asarray(y).ravel()
        return float(np.average(hits, weights=sample_weight))
