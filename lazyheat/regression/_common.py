"""Validation and prediction shared by the regressors (public API only)."""

from __future__ import annotations

import numbers

import numpy as np

import lazyheat as lh

from ..base import check_array, check_is_fitted


def np_dtype(dtype) -> np.dtype:
    """The NumPy type fitted attributes take for data of lazyheat type ``dtype``: the data's
    own for float32 and float64, float32 for the narrower floats."""
    return np.dtype(dtype.name) if dtype.name in ("float32", "float64") else np.dtype("float32")


def check_xy(X, y, estimator: str, y_ndim=(1, 2)):
    """``X`` (n x d) and ``y`` (n or n x t) as floating lazy arrays with matching rows; the
    errors are raised from metadata, so on every rank alike."""
    X = check_array(X, "X", estimator=estimator)
    y = check_array(y, "y", ndim=y_ndim, estimator=estimator)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{estimator}: X has {X.shape[0]} samples but y has {y.shape[0]}")
    if X.shape[0] == 0:
        raise ValueError(f"{estimator}: X has 0 samples; at least 1 is needed")
    if X.shape[1] == 0:
        raise ValueError(f"{estimator}: X has 0 features; at least 1 is needed")
    return X, y


def check_number(value, name: str, estimator: str, low=None, integral=False):
    """Raise ``ValueError`` unless ``value`` is a real number (an int with ``integral``) of
    at least ``low``."""
    kind = numbers.Integral if integral else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or (
            low is not None and value < low):
        want = "an integer" if integral else "a number"
        bound = f" >= {low}" if low is not None else ""
        raise ValueError(f"{estimator}: {name} must be {want}{bound}, got {value!r}")
    return value


def replicated(values, like):
    """Small NumPy ``values`` as a replicated lazy array on ``like``'s device and ranks."""
    return lh.asarray(np.ascontiguousarray(values), device=like.device, comm=like.comm)


def linear_predict(estimator, X):
    """``X @ coef_.T + intercept_`` as a lazy array split like ``X``'s rows."""
    name = type(estimator).__name__
    check_is_fitted(estimator, "coef_")
    X = check_array(X, "X", estimator=name)
    if X.shape[1] != estimator.n_features_in_:
        raise ValueError(f"{name}: X has {X.shape[1]} features, but {name} was fitted with "
                         f"{estimator.n_features_in_}")
    dtype = np_dtype(X.dtype)
    coef = np.asarray(estimator.coef_, dtype=dtype)
    out = X @ replicated(coef.T, X)
    intercept = np.asarray(estimator.intercept_, dtype=dtype)
    if intercept.ndim == 0:
        return out + float(intercept) if intercept != 0 else out
    return out + replicated(intercept, X)
