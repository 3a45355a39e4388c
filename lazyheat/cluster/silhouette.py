"""Silhouette coefficients of a clustering, without the n x n distance matrix."""

from __future__ import annotations

import numpy as np

import lazyheat as lh

from ..base import check_array

# rows of the reference block replicated per step: the n x BLOCK distances of one step are
# the largest temporary (split along rows like X)
BLOCK = 2048


def _distances(X, Y, metric):
    if metric == "euclidean":
        d2 = (X * X).sum(axis=1)[:, None] - 2.0 * (X @ Y.T) + (Y * Y).sum(axis=1)[None, :]
        return lh.sqrt(lh.maximum(d2, 0.0))
    if metric == "sqeuclidean":
        return lh.maximum((X * X).sum(axis=1)[:, None] - 2.0 * (X @ Y.T)
                          + (Y * Y).sum(axis=1)[None, :], 0.0)
    if metric in ("cityblock", "manhattan"):
        return lh.abs(X[:, None, :] - Y[None, :, :]).sum(axis=2)
    raise ValueError(f"silhouette_samples: metric must be 'euclidean', 'sqeuclidean' or "
                     f"'cityblock', got {metric!r}")


def silhouette_samples(X, labels, metric="euclidean"):
    """The silhouette coefficient of every sample: ``(b - a) / max(a, b)`` with ``a`` the
    mean distance to the other samples of its cluster and ``b`` the smallest mean distance to
    the samples of another cluster; 0 for samples alone in their cluster (scikit-learn's
    convention). Returns a lazy float64 array laid out like ``X``'s rows, computed.

    The distances are taken against blocks of ``BLOCK`` reference rows at a time (each block
    replicated, the samples staying split): per sample and cluster the distance sums grow
    block by block, so memory stays at n x BLOCK per step over all ranks.

    >>> import numpy as np
    >>> from lazyheat.cluster import silhouette_samples
    >>> X = np.array([[0.0], [0.1], [5.0], [5.2]])
    >>> silhouette_samples(X, np.array([0, 0, 1, 1])).numpy().round(3)
    array([0.98 , 0.98 , 0.96 , 0.961])
    """
    X = check_array(X, "X", allow_nan=False, estimator="silhouette_samples")
    X = X.astype(lh.float64)
    labels = check_array(labels, "labels", ndim=1, dtype=None)
    n = X.shape[0]
    if labels.shape[0] != n:
        raise ValueError(f"silhouette_samples: X has {n} samples but labels has "
                         f"{labels.shape[0]}")
    # cluster codes 0..k-1 (a distributed unique; the codes stay laid out like the labels)
    uniq, codes_l = lh.unique_inverse(labels)
    k = uniq.shape[0]
    if not 2 <= k <= n - 1:
        raise ValueError(f"silhouette_samples: the number of labels is {k}; valid values "
                         f"are 2 to n_samples - 1 ({n - 1})")
    codes_l = codes_l.astype(lh.int64)
    ids = lh.arange(k, comm=X.comm)
    sums = lh.zeros((n, k), dtype=lh.float64, split=X.split if X.split == 0 else None,
                    comm=X.comm)
    for a in range(0, n, BLOCK):
        b = min(n, a + BLOCK)
        Y = lh.resplit(X[a:b], None)  # this block's rows and codes, replicated
        onehot = (lh.resplit(codes_l[a:b], None)[:, None] == ids[None, :]).astype(lh.float64)
        sums = (sums + _distances(X, Y, metric) @ onehot).compute()
    sizes = lh.bincount(codes_l, minlength=k).astype(lh.float64).compute()  # replicated
    own = (codes_l[:, None] == ids[None, :])
    size_own = sizes[codes_l]
    a_mean = (sums * own).sum(axis=1) / lh.maximum(size_own - 1.0, 1.0)
    b_mean = lh.where(own, float("inf"), sums / sizes[None, :]).min(axis=1)
    s = (b_mean - a_mean) / lh.maximum(lh.maximum(a_mean, b_mean), 1e-300)
    return lh.where(size_own > 1.0, s, 0.0).compute()


def silhouette_score(X, labels, metric="euclidean", sample_size=None, random_state=None):
    """The mean silhouette coefficient over all samples (or over ``sample_size`` samples
    drawn with ``random_state``, the same rows on any number of ranks), a float."""
    if sample_size is not None:
        from ..base import shared_rng

        X = check_array(X, "X", allow_nan=False, estimator="silhouette_score")
        labels = check_array(labels, "labels", ndim=1, dtype=None)
        idx = shared_rng(random_state, X.comm).permutation(X.shape[0])[:sample_size]
        sel = lh.array(np.sort(idx), comm=X.comm)
        X, labels = X[sel], labels[sel]
    return float(silhouette_samples(X, labels, metric=metric).mean().item())
