"""Ordinary least squares: ``LinearRegression``.

``solver="lstsq"`` (the default) centers the data lazily and solves by
``lh.linalg.lstsq``: TSQR of the tall split matrix (one all-gather of small d x d factors)
and the SVD of its R factor, as accurate as a direct SVD (rank-deficient ``X`` gives the
minimum-norm solution). ``solver="normal"`` reads the data once into the centered Gram
matrix (``_gram.py``) and solves the d x d normal equations in float64 on every rank: faster
(a GEMM instead of a QR) but it squares the condition number of ``X``.
"""

from __future__ import annotations

import numpy as np

import lazyheat as lh

from ..base import BaseEstimator, RegressorMixin
from ._common import check_xy, linear_predict, np_dtype
from ._gram import gram_stats


class LinearRegression(RegressorMixin, BaseEstimator):
    """Least-squares linear regression (scikit-learn's ``LinearRegression``).

    Fitted attributes (NumPy, identical on every rank): ``coef_`` (d, or t x d for a 2-D
    ``y``), ``intercept_``, ``rank_`` and ``singular_values_`` of the centered ``X``
    (``solver="lstsq"``; from the Gram matrix's eigenvalues with ``"normal"``),
    ``n_features_in_``. ``predict`` is lazy.

    >>> import numpy as np
    >>> from lazyheat.regression import LinearRegression
    >>> X = np.random.default_rng(0).standard_normal((50, 2))
    >>> model = LinearRegression().fit(X, X @ [1.5, -2.0] + 0.5)
    >>> np.round(model.coef_, 6), round(float(model.intercept_), 6)
    (array([ 1.5, -2. ]), 0.5)
    """

    def __init__(self, *, fit_intercept=True, solver="lstsq"):
        self.fit_intercept = fit_intercept
        self.solver = solver

    def fit(self, X, y):
        """Fit on ``X`` (n x d) and ``y`` (n, or n x t); returns self."""
        name = type(self).__name__
        if self.solver not in ("lstsq", "normal"):
            raise ValueError(f"{name}: solver must be 'lstsq' or 'normal', got "
                             f"{self.solver!r}")
        X, y = check_xy(X, y, name)
        if self.solver == "normal":
            coef, x_mean, y_mean, sv, rank = self._normal(X, y, name)
        else:
            coef, x_mean, y_mean, sv, rank = self._lstsq(X, y, name)
        dtype = np_dtype(X.dtype)
        intercept = y_mean - coef @ x_mean  # coef: t x d
        if y.ndim == 1:
            self.coef_ = coef[0].astype(dtype)
            self.intercept_ = dtype.type(intercept[0]) if self.fit_intercept else 0.0
        else:
            self.coef_ = coef.astype(dtype)
            self.intercept_ = intercept.astype(dtype) if self.fit_intercept else 0.0
        self.rank_, self.singular_values_ = int(rank), sv.astype(dtype)
        self.n_features_in_ = X.shape[1]
        return self

    def _lstsq(self, X, y, name):
        """TSQR route: means (one small plan, also the finiteness check), then the lazy
        centered solve. Returns float64 ``(coef t x d, x_mean, y_mean, s, rank)``."""
        d = X.shape[1]
        x_mean, y_mean = lh.compute(X.mean(axis=0), y.mean(axis=0))
        xm, ym = (np.asarray(v.numpy(), dtype=np.float64).reshape(-1) for v in (x_mean, y_mean))
        if not np.isfinite(xm).all():
            raise ValueError(f"{name}: X contains NaN or infinity")
        if not np.isfinite(ym).all():
            raise ValueError(f"{name}: y contains NaN or infinity")
        if self.fit_intercept:
            A, b = X - x_mean, y - y_mean
        else:
            A, b = X, y
            xm, ym = np.zeros_like(xm), np.zeros_like(ym)
        work = lh.float64 if lh.float64 in (A.dtype, b.dtype) else A.dtype
        A = A if A.dtype == work else A.astype(work)
        b = b if b.dtype == work else b.astype(work)
        sol, _, rank, s = lh.linalg.lstsq(A, b)
        sol, rank, s = lh.compute(sol, rank, s)
        coef = np.asarray(sol.numpy(), dtype=np.float64).reshape(d, -1).T
        return coef, xm, ym, np.asarray(s.numpy(), dtype=np.float64), int(rank.item())

    def _normal(self, X, y, name):
        """Normal equations from the one-pass Gram statistics, solved in float64 by the
        eigendecomposition of the Gram matrix (minimum-norm for a singular one)."""
        stats = gram_stats(X, y, self.fit_intercept, name)
        evals, evecs = np.linalg.eigh(stats.gram)
        top = evals[-1] if evals.size else 0.0
        keep = evals > max(X.shape) * np.finfo(np.float64).eps * max(top, 0.0)
        inv = np.where(keep, 1.0 / np.where(keep, evals, 1.0), 0.0)
        coef = (evecs * inv) @ (evecs.T @ stats.xy)  # d x t
        sv = np.sqrt(np.clip(evals[::-1], 0.0, None))
        return coef.T, stats.x_mean, stats.y_mean, sv, int(keep.sum())

    def predict(self, X):
        """``X @ coef_.T + intercept_``, lazy (split like ``X``'s rows)."""
        return linear_predict(self, X)
