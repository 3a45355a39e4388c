"""What PCA and IncrementalPCA share: sign convention, projection and its inverse."""

from __future__ import annotations

import numbers

import numpy as np

import lazyheat as lh

from ..base import BaseEstimator, TransformerMixin, check_array, check_is_fitted


def flip_signs(vt: np.ndarray) -> np.ndarray:
    """``vt`` with each row's sign chosen so that its entry of largest magnitude (the first
    such entry on ties) is positive: the convention that makes components deterministic,
    independent of the solver and of the number of ranks."""
    if vt.size == 0:
        return vt
    pick = np.abs(vt).argmax(axis=1)
    signs = np.sign(vt[np.arange(vt.shape[0]), pick])
    signs[signs == 0] = 1.0
    return vt * signs[:, None]


def np_dtype(dtype) -> np.dtype:
    """The NumPy type of fitted attributes for data of lazyheat type ``dtype``."""
    return np.dtype(dtype.name) if dtype.name in ("float32", "float64") else np.dtype("float32")


def check_int(value, name: str, estimator: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{estimator}: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def replicated(values, like):
    """Small NumPy ``values`` as a replicated lazy array on ``like``'s device and ranks."""
    return lh.asarray(np.ascontiguousarray(values), device=like.device, comm=like.comm)


class ProjectionMixin(TransformerMixin, BaseEstimator):
    """``transform``/``inverse_transform`` from ``components_``, ``mean_``,
    ``explained_variance_`` and ``whiten`` (all lazy in the data, split like its rows)."""

    def _check_input(self, X, width: int, what: str):
        """``X`` as a floating lazy array of ``width`` columns (``what`` names them)."""
        name = type(self).__name__
        check_is_fitted(self, "components_")
        X = check_array(X, "X", estimator=name)
        if X.shape[1] != width:
            raise ValueError(f"{name}: X has {X.shape[1]} columns, but {name} needs {width} "
                             f"({what})")
        return X, np_dtype(X.dtype)

    def _whiten_scale(self) -> np.ndarray:
        # variances near zero (rank-deficient data) are clipped so the scale stays finite
        scale = np.sqrt(np.asarray(self.explained_variance_, dtype=np.float64))
        return np.maximum(scale, np.finfo(self.components_.dtype).eps)

    def transform(self, X):
        """Project ``X`` (n x d) on the components: ``(X - mean_) @ components_.T`` (divided
        by the components' standard deviations with ``whiten``), lazy. The centering is
        applied to the small product, so no centered copy of ``X`` is made."""
        check_is_fitted(self, "components_")
        X, dtype = self._check_input(X, self.n_features_in_, "the fitted features")
        comps = np.asarray(self.components_, dtype=np.float64)
        shift = np.asarray(self.mean_, dtype=np.float64) @ comps.T
        out = X @ replicated(comps.T.astype(dtype), X) - replicated(shift.astype(dtype), X)
        if self.whiten:
            out = out / replicated(self._whiten_scale().astype(dtype), X)
        return out

    def inverse_transform(self, X):
        """Map projected data ``X`` (n x k) back to the feature space, lazy."""
        check_is_fitted(self, "components_")
        X, dtype = self._check_input(X, self.components_.shape[0], "one per component")
        comps = np.asarray(self.components_, dtype=np.float64)
        if self.whiten:
            comps = np.sqrt(np.asarray(self.explained_variance_, np.float64))[:, None] * comps
        return X @ replicated(comps.astype(dtype), X) + replicated(
            np.asarray(self.mean_).astype(dtype), X)
