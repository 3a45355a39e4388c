"""The one distributed pass of the Gram-based regressions: centered second moments of
``(X, y)`` as small float64 NumPy arrays that every rank holds alike.

The pass runs in the data's precision (float64 when X or y is float64, else float32: the
sums of float32 data then carry float32 rounding, as a float32 solver's would); the
centering and everything after it are float64.

One ``lh.compute`` evaluates ``X^T X``, ``X^T y``, the column sums of ``X`` and ``y`` and
``sum(y^2)``: each rank multiplies its own rows and the planner combines the five partial
results with one collective (about ``(d^2 + d t + d + 2 t) * 8`` bytes per rank, where ``t``
is the number of targets); ``X`` never moves. The centering is then applied to the small
results (``G = X^T X - n mu mu^T``, ...), which loses digits only when a column's mean is
many orders of magnitude above its spread (relative error about ``eps (mu / sigma)^2``).

Non-finite input shows up in the pass itself: a NaN or infinity in column ``j`` of ``X``
makes its column sum (and ``(X^T X)_jj``) non-finite, one in ``y`` makes ``sum(y^2)``
non-finite, so no separate pass looks for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import lazyheat as lh


@dataclass
class GramStats:
    """Centered (when ``fit_intercept``) statistics of one regression problem, float64.

    ``gram`` (d x d), ``xy`` (d x t), ``yy`` (t), ``x_mean`` (d; zeros without intercept),
    ``y_mean`` (t; zeros without intercept); ``n`` samples, ``vector_y`` whether y was 1-D.
    """

    n: int
    gram: np.ndarray
    xy: np.ndarray
    yy: np.ndarray
    x_mean: np.ndarray
    y_mean: np.ndarray
    vector_y: bool


def gram_stats(X, y, fit_intercept: bool, estimator: str, gram=None) -> GramStats:
    """Run the one pass over ``X`` (n x d) and ``y`` (n or n x t), both lazy and floating;
    raise ``ValueError`` (on every rank alike) for non-finite data. A given ``gram`` (the
    centered d x d Gram matrix, NumPy) is used instead of computing ``X^T X``."""
    n = X.shape[0]
    # the pass runs in the data's precision (float32 data: a float32 GEMM, 3-4x faster than
    # casting X to float64 first); everything after it is float64
    work = lh.float64 if lh.float64 in (X.dtype, y.dtype) else lh.float32
    Xw = X if X.dtype == work else X.astype(work)
    yw = y if y.dtype == work else y.astype(work)
    sums = [Xw.T @ yw, Xw.sum(axis=0), yw.sum(axis=0), (yw * yw).sum(axis=0)]
    parts = lh.compute(*(sums if gram is not None else [Xw.T @ Xw] + sums))
    parts = [np.asarray(p.numpy(), dtype=np.float64) for p in parts]
    xtx = None if gram is not None else parts.pop(0)
    xty, xs, ys, yss = parts
    if not (np.isfinite(xs).all() and (xtx is None or np.isfinite(np.diagonal(xtx)).all())):
        raise ValueError(f"{estimator}: X contains NaN or infinity")
    if not (np.isfinite(yss).all() and np.isfinite(ys).all()):
        raise ValueError(f"{estimator}: y contains NaN or infinity")
    vector_y = y.ndim == 1
    xty = xty.reshape(X.shape[1], -1)
    ys, yss = ys.reshape(-1), yss.reshape(-1)
    if fit_intercept:
        mu, ybar = xs / n, ys / n
        xy = xty - n * np.outer(mu, ybar)
        yy = yss - n * ybar * ybar
        if gram is None:
            gram = xtx - n * np.outer(mu, mu)
    else:
        mu, ybar = np.zeros_like(xs), np.zeros_like(ys)
        xy, yy = xty, yss
        if gram is None:
            gram = xtx
    gram = 0.5 * (gram + gram.T)  # exactly symmetric, whatever order the GEMM summed in
    return GramStats(n, np.ascontiguousarray(gram), xy, np.maximum(yy, 0.0), mu, ybar,
                     vector_y)
