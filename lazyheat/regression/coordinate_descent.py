"""Elastic net and lasso by coordinate descent on the Gram matrix.

The design is for ``n >> d``: the data are read once (``_gram.py``: one ``lh.compute``, one
collective) into the centered d x d Gram matrix and its companions; every rank then runs the
same float64 coordinate descent on them (``_cd.py``), each sweep O(d^2) and free of
communication. The minimized objective is scikit-learn's::

    1 / (2 n) ||y - X w - b||^2 + alpha l1_ratio ||w||_1 + alpha (1 - l1_ratio) / 2 ||w||^2

with scikit-learn's stopping rule (duality gap at most ``tol * ||y - mean(y)||^2``), so at
convergence the coefficients agree with scikit-learn's to the tolerance.
"""

from __future__ import annotations

import warnings

import numpy as np

import lazyheat as lh

from ..base import BaseEstimator, Progress, RegressorMixin
from ._cd import ConvergenceWarning, enet_gram
from ._common import check_number, check_xy, linear_predict, np_dtype
from ._gram import gram_stats


class ElasticNet(RegressorMixin, BaseEstimator):
    """Linear regression with combined L1 and L2 penalties (scikit-learn's ``ElasticNet``).

    Parameters follow scikit-learn: ``alpha`` scales the penalty, ``l1_ratio`` mixes L1
    (1.0: lasso) and L2 (0.0: ridge); ``tol`` bounds the duality gap relative to
    ``||y - mean(y)||^2``; ``selection="random"`` visits coordinates in a random order
    drawn from ``random_state`` (an int, or None for a fixed seed: every rank draws the same
    order). ``precompute`` is accepted for compatibility: the Gram route is always taken
    (True, False and "auto" alike); an array is used as the centered Gram matrix
    ``Xc^T Xc`` instead of computing it. ``verbose=True`` shows progress on rank 0.

    Fitted attributes: ``coef_`` (d, or t x d for a 2-D ``y``), ``intercept_``, ``n_iter_``,
    ``dual_gap_`` (of the objective above), ``n_features_in_``; all NumPy, identical on
    every rank. ``predict`` is lazy.

    >>> import numpy as np
    >>> from lazyheat.regression import ElasticNet
    >>> X = np.random.default_rng(0).standard_normal((200, 4))
    >>> y = X @ [1.0, 0.0, -2.0, 0.5] + 3.0
    >>> model = ElasticNet(alpha=0.01, l1_ratio=0.7).fit(X, y)
    >>> np.round(model.coef_, 1) + 0.0, round(float(model.intercept_), 1)
    (array([ 1. ,  0. , -2. ,  0.5]), 3.0)
    """

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, precompute="auto",
                 max_iter=1000, tol=1e-4, warm_start=False, positive=False,
                 random_state=None, selection="cyclic", verbose=False):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.verbose = verbose

    def _penalty_mix(self) -> float:
        return self.l1_ratio

    def _check_params(self, name):
        check_number(self.alpha, "alpha", name, low=0)
        ratio = self._penalty_mix()
        check_number(ratio, "l1_ratio", name, low=0)
        if ratio > 1:
            raise ValueError(f"{name}: l1_ratio must be in [0, 1], got {ratio!r}")
        check_number(self.max_iter, "max_iter", name, low=1, integral=True)
        check_number(self.tol, "tol", name, low=0)
        if self.selection not in ("cyclic", "random"):
            raise ValueError(f"{name}: selection must be 'cyclic' or 'random', got "
                             f"{self.selection!r}")
        pre = self.precompute
        if not (isinstance(pre, bool) or hasattr(pre, "__array__") or pre == "auto"):
            raise ValueError(f"{name}: precompute must be True, False, 'auto' or an array, "
                             f"got {pre!r}")

    def fit(self, X, y):
        """Fit on ``X`` (n x d) and ``y`` (n, or n x t: one model per target); returns
        self. NumPy data are split along their rows."""
        name = type(self).__name__
        self._check_params(name)
        X, y = check_xy(X, y, name)
        d = X.shape[1]
        given = None
        if hasattr(self.precompute, "__array__"):
            given = np.asarray(self.precompute, dtype=np.float64)
            if given.shape != (d, d):
                raise ValueError(f"{name}: precompute must be a {d} x {d} Gram matrix, got "
                                 f"shape {given.shape}")
        stats = gram_stats(X, y, self.fit_intercept, name, gram=given)
        gram = np.ascontiguousarray(stats.gram)
        n, t = stats.n, stats.xy.shape[1]
        l1 = float(self.alpha) * self._penalty_mix() * n
        l2 = float(self.alpha) * (1.0 - self._penalty_mix()) * n
        start = self._start(d, t, name)
        rng = self._rng() if self.selection == "random" else None
        coefs, gaps, iters = np.empty((t, d)), np.empty(t), []
        progress = Progress(self.verbose, self.max_iter * t, name, comm=X.comm)
        try:
            for k in range(t):
                w, gap, tol_k, n_iter, ok = enet_gram(
                    gram, stats.xy[:, k].copy(), float(stats.yy[k]), l1, l2, start[k].copy(),
                    max_iter=int(self.max_iter), tol=float(self.tol),
                    positive=bool(self.positive), rng=rng, progress=progress)
                coefs[k], gaps[k] = w, gap / n
                iters.append(n_iter)
                if not ok and X.comm.rank == 0:
                    warnings.warn(f"{name}: objective did not converge in {self.max_iter} "
                                  f"iterations (duality gap {gap:.3e}, tolerance "
                                  f"{tol_k:.3e}); increase max_iter or tol, or scale the "
                                  "features", ConvergenceWarning, stacklevel=2)
        finally:
            progress.close()
        intercepts = stats.y_mean - coefs @ stats.x_mean
        if not (np.isfinite(coefs).all() and np.isfinite(intercepts).all()):
            raise ValueError(f"{name}: coordinate descent produced non-finite coefficients; "
                             "the data may need scaling")
        dtype = np_dtype(X.dtype)
        if stats.vector_y:
            self.coef_ = coefs[0].astype(dtype)
            self.intercept_ = dtype.type(intercepts[0]) if self.fit_intercept else 0.0
            self.n_iter_, self.dual_gap_ = iters[0], float(gaps[0])
        else:
            self.coef_ = coefs.astype(dtype)
            self.intercept_ = intercepts.astype(dtype) if self.fit_intercept else 0.0
            self.n_iter_, self.dual_gap_ = iters, gaps
        self.n_features_in_ = d
        return self

    def _rng(self):
        """The generator of the random coordinate order: the same on every rank for an int
        (or None: seed 0) and for NumPy generators seeded alike on every rank."""
        rs = self.random_state
        if isinstance(rs, np.random.Generator):
            return rs
        if isinstance(rs, np.random.RandomState):
            return np.random.default_rng(rs.randint(2**31 - 1))
        return np.random.default_rng(0 if rs is None else rs)

    def _start(self, d, t, name):
        """The starting coefficients, t x d float64: zeros, or ``coef_`` with warm_start."""
        if not self.warm_start or not hasattr(self, "coef_"):
            return np.zeros((t, d))
        start = np.asarray(self.coef_, dtype=np.float64).reshape(-1, d)
        if start.shape != (t, d):
            raise ValueError(f"{name}: warm_start needs coef_ of shape {(t, d)}, the fitted "
                             f"one has shape {np.shape(self.coef_)}")
        return start

    def predict(self, X):
        """``X @ coef_.T + intercept_``, lazy (split like ``X``'s rows)."""
        return linear_predict(self, X)

    def objective(self, X, y) -> float:
        """The minimized objective at the fitted coefficients on ``(X, y)`` (one pass; a
        float, summed over targets)."""
        X, y = check_xy(X, y, type(self).__name__)
        resid = (y - self.predict(X)) ** 2
        ratio = self._penalty_mix()
        w = np.asarray(self.coef_, dtype=np.float64)
        penalty = self.alpha * (ratio * np.abs(w).sum() + 0.5 * (1 - ratio) * (w * w).sum())
        return float(resid.sum().astype(lh.float64).item()) / (2 * X.shape[0]) + penalty


class Lasso(ElasticNet):
    """Linear regression with an L1 penalty (scikit-learn's ``Lasso``): the elastic net
    with ``l1_ratio=1``, minimizing ``1 / (2 n) ||y - X w - b||^2 + alpha ||w||_1``.

    Parameters and attributes as :class:`ElasticNet`. The data are read once, into the
    centered Gram matrix (one collective); the coordinate-descent sweeps then run on every
    rank alike, without communication.

    >>> import numpy as np
    >>> from lazyheat.regression import Lasso
    >>> X = np.random.default_rng(0).standard_normal((500, 5))
    >>> y = X @ [2.0, 0.0, 0.0, -1.0, 0.0] + 1.0
    >>> model = Lasso(alpha=0.1).fit(X, y)
    >>> np.round(model.coef_, 2) + 0.0
    array([ 1.91,  0.  ,  0.  , -0.91,  0.  ])
    >>> pred = model.predict(X)          # lazy, split like X
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, precompute="auto", max_iter=1000,
                 tol=1e-4, warm_start=False, positive=False, random_state=None,
                 selection="cyclic", verbose=False):
        # no l1_ratio: get_params (and so clone) read the names of this __init__
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.verbose = verbose

    def _penalty_mix(self) -> float:
        return 1.0
