"""RobustScaler: center by the median and scale by a quantile range, robust to outliers."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from .. import elementwise as ew
from ..base import BaseEstimator, TransformerMixin
from ..planner import compute
from ..statistics import nanquantile, quantile
from ._common import (
    INF,
    OneToOneFeatures,
    check_fit_input,
    check_n_features,
    check_transform_input,
    const,
    nan_fallback,
    np_dtype,
    zeros_to_one,
)

__all__ = ["RobustScaler"]


def _normal_ppf(p: float) -> float:
    """The standard normal quantile function, with the limits at 0 and 1."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return NormalDist().inv_cdf(p)


class RobustScaler(OneToOneFeatures, TransformerMixin, BaseEstimator):
    """Scale features by statistics that outliers barely move: ``(x - center_) / scale_``
    with the median as ``center_`` and the ``quantile_range`` (percentiles, the
    interquartile range by default) as ``scale_``.

    ``fit`` selects all the quantiles it needs (median, low, high) in one call of
    ``lh.quantile`` over the rows: a distributed selection, no gather of the data, in one
    plan together with a finiteness check. NaNs are ignored (then ``lh.nanquantile`` runs
    in a second plan), infinity is refused. ``unit_variance`` divides ``scale_`` by the
    normal distribution's range between the same quantiles, so normal data ends up with
    unit variance. ``transform`` is lazy.

    Fitted attributes (NumPy, the same on every rank): ``center_`` (in ``X``'s floating
    dtype, None without ``with_centering``), ``scale_`` (float64, None without
    ``with_scaling``; a zero range gets scale 1), ``n_features_in_``.

    >>> from lazyheat.preprocessing import RobustScaler
    >>> X = lh.array([[1.0], [2.0], [3.0], [4.0], [100.0]], split=0)
    >>> s = RobustScaler().fit(X)
    >>> s.center_, s.scale_
    (array([3.], dtype=float32), array([2.]))
    >>> s.transform(X).numpy().ravel()
    array([-1. , -0.5,  0. ,  0.5, 48.5], dtype=float32)
    """

    def __init__(self, *, with_centering=True, with_scaling=True, quantile_range=(25.0, 75.0),
                 copy=True, unit_variance=False):
        self.with_centering = with_centering
        self.with_scaling = with_scaling
        self.quantile_range = quantile_range
        self.copy = copy
        self.unit_variance = unit_variance

    def fit(self, X, y=None):
        """Compute the median and the quantile range of every feature; returns self."""
        for name in ("center_", "scale_", "n_features_in_"):
            self.__dict__.pop(name, None)
        q_min, q_max = (float(q) for q in self.quantile_range)
        if not 0 <= q_min <= q_max <= 100:
            raise ValueError(f"{type(self).__name__}: invalid quantile range "
                             f"{tuple(self.quantile_range)}; it must satisfy "
                             "0 <= low <= high <= 100")
        X = check_fit_input(self, X)
        check_n_features(self, X, reset=True)
        # the quantiles to select, in this order: median (centering), low, high (scaling)
        qs = ([0.5] if self.with_centering else []) + \
            ([q_min / 100.0, q_max / 100.0] if self.with_scaling else [])
        finite = (ew.abs(X) < INF).all()  # False for NaN and for +-inf
        if qs:
            finite, sel = compute(finite, quantile(X, qs, axis=0))
        else:
            finite, sel = compute(finite)[0], None
        if not bool(finite.item()):
            # NaN (ignored) or infinity (refused): the NaN-ignoring selection, one more plan
            got = nan_fallback(self, X, *([nanquantile(X, qs, axis=0)] if qs else []))
            sel = got[0] if qs else None
        elif sel is not None:
            sel = sel.numpy()
        self.center_ = sel[0].astype(np_dtype(X)) if self.with_centering else None
        if self.with_scaling:
            lo, hi = sel[-2].astype(np.float64), sel[-1].astype(np.float64)
            scale = zeros_to_one(hi - lo)
            if self.unit_variance:
                scale = scale / (_normal_ppf(q_max / 100.0) - _normal_ppf(q_min / 100.0))
            self.scale_ = scale
        else:
            self.scale_ = None
        return self

    def transform(self, X):
        """``(X - center_) / scale_``, lazily."""
        X = check_transform_input(self, X, "center_", "scale_")
        if self.with_centering:
            X = X - const(self.center_, X)
        if self.with_scaling:
            X = X / const(self.scale_, X)
        return X

    def inverse_transform(self, X):
        """``X * scale_ + center_``: back to the original units, lazily."""
        X = check_transform_input(self, X, "center_", "scale_")
        if self.with_scaling:
            X = X * const(self.scale_, X)
        if self.with_centering:
            X = X + const(self.center_, X)
        return X
