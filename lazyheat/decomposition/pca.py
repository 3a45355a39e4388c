"""Principal component analysis of data split along its rows.

Solvers (``svd_solver``):

- ``"covariance_eigh"``: one pass reads ``X^T X`` and the column means (each rank multiplies
  its own rows; one collective combines the d x d partial sums); the covariance
  ``(X^T X - n mu mu^T) / (n - 1)`` and its eigendecomposition are then computed in float64
  on every rank alike. The fastest route for tall data with few features: its cost is one
  GEMM over the data. Directions of tiny variance are less accurate than by an SVD (their
  relative accuracy is that of the covariance, about ``eps * lambda_max / lambda``).
- ``"full"`` (also ``"tsqr"``): the column means (one small plan, which also finds NaNs),
  then ``lh.linalg.svd`` of the lazily centered data: TSQR of the tall split matrix (one
  all-gather of small d x d factors) and the SVD of its R factor. Accurate to rounding for
  every direction; a QR costs several GEMMs.
- ``"hierarchical"``: ``lh.linalg.hsvd_rank`` (``hsvd_rtol`` for a fraction) of the centered
  data: per-rank truncated SVDs merged on every rank; exact when all components are kept.
- ``"randomized"``: ``lh.linalg.rsvd`` with ``iterated_power`` power iterations and
  ``n_oversamples`` extra columns, drawn from ``random_state`` (the same numbers on any
  number of ranks).
- ``"auto"``: scikit-learn's policy: ``"covariance_eigh"`` when ``d <= 1000`` and
  ``n >= 10 d``; else ``"full"`` for small data (``max(n, d) <= 500``) or a fraction; else
  ``"randomized"`` when ``n_components < 0.8 min(n, d)``; else ``"full"``.

Signs follow the components: each row of ``components_`` has its largest-magnitude entry
positive, so solvers, rank counts and scikit-learn agree on them.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

import lazyheat as lh

from ..base import check_array
from ._base import ProjectionMixin, check_int, flip_signs, np_dtype

SOLVERS = ("auto", "full", "tsqr", "covariance_eigh", "hierarchical", "randomized")


def seed_of(random_state):
    """An int seed (or None: lazyheat's own sequence, alike on every rank) from an int,
    None, or a NumPy ``RandomState``/``Generator`` seeded alike on every rank."""
    if random_state is None or isinstance(random_state, numbers.Integral):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    raise ValueError(f"random_state must be None, an int or a NumPy random generator, got "
                     f"{random_state!r}")


class PCA(ProjectionMixin):
    """Principal component analysis (scikit-learn's ``PCA``) of data split along its rows.

    ``n_components``: None (all, ``min(n, d)``), an int, or a float in (0, 1) (the fewest
    components explaining more than that fraction of the variance). ``svd_solver``: "auto",
    "covariance_eigh", "full" (= "tsqr"), "hierarchical" or "randomized" (see the module
    notes). ``whiten`` scales the projections to unit variance.

    Fitted attributes (NumPy, identical on every rank): ``components_`` (k x d),
    ``explained_variance_``, ``explained_variance_ratio_``, ``singular_values_``,
    ``mean_``, ``n_components_``, ``noise_variance_``, ``n_samples_``,
    ``n_features_in_``. ``transform``, ``inverse_transform`` and ``fit_transform`` are lazy.

    >>> import numpy as np
    >>> from lazyheat.decomposition import PCA
    >>> X = np.random.default_rng(0).standard_normal((1000, 5)) * [5.0, 2.0, 1.0, 0.5, 0.1]
    >>> pca = PCA(n_components=2).fit(X)
    >>> np.round(pca.explained_variance_ratio_, 2)
    array([0.83, 0.13])
    >>> pca.transform(X).shape
    (1000, 2)
    """

    def __init__(self, n_components=None, *, whiten=False, svd_solver="auto",
                 iterated_power="auto", n_oversamples=10, random_state=None):
        self.n_components = n_components
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.iterated_power = iterated_power
        self.n_oversamples = n_oversamples
        self.random_state = random_state

    # -------------------------------------------------------------- parameters
    def _requested(self, n, d):
        """``n_components`` checked against the data: an int k, or a float in (0, 1)."""
        k = self.n_components
        top = min(n, d)
        if k is None:
            return top
        if isinstance(k, numbers.Integral) and not isinstance(k, bool):
            if not 1 <= k <= top:
                raise ValueError(f"PCA: n_components={k} must be between 1 and "
                                 f"min(n_samples, n_features)={top}")
            return int(k)
        if isinstance(k, numbers.Real) and not isinstance(k, bool) and 0 < k < 1:
            return float(k)
        raise ValueError(f"PCA: n_components must be None, an int in [1, {top}] or a float "
                         f"in (0, 1), got {k!r}")

    def _solver(self, n, d, k):
        solver = self.svd_solver
        if solver not in SOLVERS:
            raise ValueError(f"PCA: svd_solver must be one of {SOLVERS}, got {solver!r}")
        if solver == "tsqr":
            return "full"
        if solver != "auto":
            return solver
        if d <= 1000 and n >= 10 * d:
            return "covariance_eigh"
        if max(n, d) <= 500 or isinstance(k, float):
            return "full"
        return "randomized" if k < 0.8 * min(n, d) else "full"

    # -------------------------------------------------------------- fitting
    def fit(self, X, y=None):
        """Fit the components on ``X`` (n x d, split along rows); returns self."""
        X = check_array(X, "X", estimator="PCA")
        n, d = X.shape
        if n < 2:
            raise ValueError(f"PCA: X has {n} sample(s); at least 2 are needed")
        if d < 1:
            raise ValueError("PCA: X has 0 features; at least 1 is needed")
        k = self._requested(n, d)
        solver = self._solver(n, d, k)
        if solver == "covariance_eigh":
            mean, s, vt, total = self._covariance(X)
        else:
            mean = self._mean(X)
            Xc = X - mean
            mean = np.asarray(mean.numpy(), np.float64)
            if solver == "full":
                s, vt, total = self._full(Xc)
            elif solver == "hierarchical":
                s, vt, total = self._hierarchical(Xc, k)
            else:
                s, vt, total = self._randomized(Xc, k)
        self._store(X, mean, s, vt, total, k, solver)
        return self

    def _mean(self, X):
        """The column means (materialized, replicated); raises for non-finite data."""
        mean = X.mean(axis=0).compute()
        if not np.isfinite(np.asarray(mean.numpy())).all():
            raise ValueError("PCA: X contains NaN or infinity")
        return mean

    def _covariance(self, X):
        """One pass: ``X^T X`` and the means; float64 eigendecomposition of the covariance.
        A NaN or infinity in column j makes ``(X^T X)_jj`` non-finite: no separate check."""
        n = X.shape[0]
        gram, mean = lh.compute(X.T @ X, X.mean(axis=0))
        gram = np.asarray(gram.numpy(), np.float64)
        mean = np.asarray(mean.numpy(), np.float64)
        if not (np.isfinite(np.diagonal(gram)).all() and np.isfinite(mean).all()):
            raise ValueError("PCA: X contains NaN or infinity")
        cov = (gram - n * np.outer(mean, mean)) / (n - 1)
        evals, evecs = np.linalg.eigh(0.5 * (cov + cov.T))
        evals = np.clip(evals[::-1], 0.0, None)  # descending; rounding can make them < 0
        s = np.sqrt(evals * (n - 1))
        return mean, s, evecs[:, ::-1].T, None

    def _full(self, Xc):
        """Every singular value and right vector of the centered data (TSQR)."""
        _, s, vh = lh.linalg.svd(Xc, full_matrices=False)
        s, vh = lh.compute(s, vh)
        return np.asarray(s.numpy(), np.float64), np.asarray(vh.numpy(), np.float64), None

    def _total(self, Xc):
        """The data's total sum of squares, lazy (for truncated solvers' variance ratios)."""
        return (Xc * Xc).sum(dtype=lh.float64)

    def _hierarchical(self, Xc, k):
        n, d = Xc.shape
        if isinstance(k, float):
            _, s, v, _ = lh.linalg.hsvd_rtol(Xc, math.sqrt(1.0 - k), compute_sv=True)
        else:
            _, s, v, _ = lh.linalg.hsvd_rank(Xc, k, compute_sv=True)
        s, v, total = lh.compute(s, v, self._total(Xc))
        return (np.asarray(s.numpy(), np.float64), np.asarray(v.numpy(), np.float64).T,
                float(total.item()))

    def _randomized(self, Xc, k):
        if isinstance(k, float):
            raise ValueError("PCA: n_components must be an int with svd_solver='randomized', "
                             f"got {k!r}")
        top = min(Xc.shape)
        power = self.iterated_power
        if power == "auto":
            power = 7 if k < 0.1 * top else 4
        power = check_int(power, "iterated_power", "PCA", 0)
        over = check_int(self.n_oversamples, "n_oversamples", "PCA", 0)
        _, s, v = lh.linalg.rsvd(Xc, k, n_oversamples=over, power_iter=power,
                                 seed=seed_of(self.random_state))
        s, v, total = lh.compute(s, v, self._total(Xc))
        return (np.asarray(s.numpy(), np.float64), np.asarray(v.numpy(), np.float64).T,
                float(total.item()))

    def _store(self, X, mean, s, vt, total, k, solver):
        """Fitted attributes from the singular values ``s`` and right vectors ``vt`` (all of
        them, ``total`` None, or the leading ones with the total sum of squares)."""
        n, d = X.shape
        top = min(n, d)
        variance = s * s / (n - 1)
        total_var = variance.sum() if total is None else total / (n - 1)
        ratio = variance / total_var if total_var > 0 else np.zeros_like(variance)
        if isinstance(k, float) and solver != "hierarchical":
            # the fewest components whose cumulative ratio exceeds the fraction
            k = int(np.searchsorted(np.cumsum(ratio), k, side="right")) + 1
        k = min(int(k) if not isinstance(k, float) else len(s), len(s))
        if k >= top:
            noise = 0.0
        elif total is None:
            noise = float(variance[k:].mean())
        else:
            noise = float((total_var - variance[:k].sum()) / (top - k))
        dtype = np_dtype(X.dtype)
        self.components_ = flip_signs(vt[:k]).astype(dtype)
        self.explained_variance_ = variance[:k].astype(dtype)
        self.explained_variance_ratio_ = ratio[:k].astype(dtype)
        self.singular_values_ = s[:k].astype(dtype)
        self.mean_ = mean.astype(dtype)
        self.n_components_, self.n_samples_, self.n_features_in_ = k, n, d
        self.noise_variance_ = noise
        self.svd_solver_ = solver
        return self
