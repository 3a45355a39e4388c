"""What the scalers share: input checks that name the estimator, the float dtype rule, the
fallback for data with NaN or infinity, and moving small fitted statistics between NumPy and
lazy arrays.

Invariants every scaler relies on:

- every check reads global metadata (shape, dtype) or a value every rank received from the
  same collective plan, so an error is raised identically on every rank;
- fitted statistics are NumPy arrays, equal on every rank (results of collective plans);
- statistics are first computed by the plain reductions (one plan); only when one of them
  comes out non-finite is the data read again (``nan_fallback``), to refuse infinity and
  ignore NaN as scikit-learn's scalers do. Clean data pays for one plan.
"""

from __future__ import annotations

import math

import numpy as np

from .. import elementwise as ew
from .._array import LazyArray
from ..base import check_array, check_is_fitted
from ..creation import asarray
from ..planner import compute

INF = math.inf


def np_dtype(x: LazyArray) -> np.dtype:
    """The NumPy dtype of a lazy floating array."""
    return np.dtype(x.dtype.name)


def as_float(X: LazyArray, who: str) -> LazyArray:
    """``X`` in a floating dtype scikit-learn's scalers keep: float16/32/64 stay, integers
    and bools become float64, bfloat16 (which NumPy cannot hold) becomes float32."""
    if X.dtype.is_complex:
        raise TypeError(f"{who}: X must be real, got {X.dtype.name}")
    if X.dtype.name == "bfloat16":
        return X.astype("float32")
    if not X.dtype.is_floating:
        return X.astype("float64")
    return X


def check_fit_input(est, X) -> LazyArray:
    """``X`` for ``fit``: 2-D, at least one sample and one feature, floating (NumPy input is
    split along its rows)."""
    who = type(est).__name__
    X = as_float(check_array(X, "X", ndim=2, dtype=None, min_samples=1, estimator=who), who)
    if X.shape[1] < 1:
        raise ValueError(f"{who}: X has 0 features (shape {X.shape}); at least 1 is needed")
    return X


def check_n_features(est, X: LazyArray, reset: bool) -> None:
    """Record ``n_features_in_`` (``reset``) or check ``X`` against it."""
    if reset or not hasattr(est, "n_features_in_"):
        est.n_features_in_ = int(X.shape[1])
    elif X.shape[1] != est.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(est).__name__} is "
                         f"expecting {est.n_features_in_} features as input.")


def check_transform_input(est, X, *fitted: str) -> LazyArray:
    """``X`` for ``transform``/``inverse_transform``: the estimator is fitted, ``X`` is 2-D,
    floating and has the fitted number of features. Nothing is computed."""
    who = type(est).__name__
    check_is_fitted(est, "n_features_in_", *fitted)
    X = as_float(check_array(X, "X", ndim=2, dtype=None, min_samples=1, estimator=who), who)
    check_n_features(est, X, reset=False)
    return X


def const(values, like: LazyArray) -> LazyArray:
    """NumPy ``values`` as a replicated lazy array in ``like``'s dtype, device and
    communicator (a fitted statistic as an operand of a lazy expression)."""
    return asarray(np.asarray(values, dtype=np_dtype(like)), device=like.device,
                   comm=like.comm)


def all_finite(*values) -> bool:
    """Whether every NumPy value is finite (None counts as finite)."""
    return all(v is None or bool(np.all(np.isfinite(v))) for v in values)


def nan_fallback(est, X: LazyArray, *stats: LazyArray) -> list[np.ndarray]:
    """One plan of the NaN-ignoring ``stats`` and an infinity check: raises ValueError (on
    every rank) when ``X`` holds infinity, else returns the stats as NumPy arrays.

    Called only after the plain statistics came out non-finite. NaN tests are comparisons
    (``X != X``), never ``isnan``/``isinf``, which the chunked fused kernels cannot run.
    """
    has_inf, *vals = compute((ew.abs(X) == INF).any(), *stats)
    if bool(has_inf.item()):
        raise ValueError(f"{type(est).__name__}: Input X contains infinity or a value too "
                         f"large for dtype('{X.dtype.name}').")
    return [v.numpy() for v in vals]


def valid(X: LazyArray) -> LazyArray:
    """True where ``X`` is not NaN."""
    return X == X


def zeros_to_one(scale: np.ndarray, constant=None) -> np.ndarray:
    """``scale`` with near-zero entries (below ten machine epsilons of its dtype, or where
    ``constant`` is true) replaced by 1, so dividing by it leaves constant features alone."""
    scale = np.array(scale, copy=True)
    if constant is None:
        constant = scale < 10 * np.finfo(scale.dtype).eps
    scale[constant] = 1.0
    return scale


class OneToOneFeatures:
    """``get_feature_names_out`` of a transformer that keeps its features one to one."""

    def get_feature_names_out(self, input_features=None):
        """The output feature names: ``input_features`` or ``x0, x1, ...``."""
        check_is_fitted(self, "n_features_in_")
        if input_features is None:
            return np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)
        names = np.asarray(input_features, dtype=object)
        if names.shape != (self.n_features_in_,):
            raise ValueError(f"{type(self).__name__}: input_features should have length "
                             f"{self.n_features_in_}, got {len(names)}")
        return names
