"""Initial centers for the k-cluster estimators: k-means++, random samples, or given.

Every choice is made from global quantities (a NumPy generator seeded alike on every rank,
float64 cumulative sums of distances, global row indices), so the same ``random_state``
picks the same rows on any number of ranks. Rows are fetched with integer indexing, which
routes each request to the rank that owns the row: no rank gathers the data.
"""

from __future__ import annotations

import math

import numpy as np

import lazyheat as lh


def rows(X, idx) -> np.ndarray:
    """Rows ``idx`` (global indices) of ``X`` as a replicated NumPy array."""
    idx = np.asarray(idx, dtype=np.int64)
    return X[lh.array(idx, comm=X.comm)].numpy()


def sample_by_weight(cum, total: float, u: np.ndarray) -> np.ndarray:
    """Global indices of the rows whose interval of ``cum`` (an inclusive running sum of
    non-negative weights, lazy and laid out like the rows) holds ``u * total``."""
    hits = lh.searchsorted(cum, lh.array(u * total, comm=cum.comm), side="right")
    return np.minimum(hits.numpy(), cum.shape[0] - 1)


def _first(X, rng, weights):
    """One row drawn uniformly, or with probability proportional to its weight."""
    n = X.shape[0]
    if weights is None:
        return int(rng.integers(n))
    cum = lh.cumulative_sum(weights.astype(lh.float64)).compute()
    total = float(cum[-1].item())
    if total <= 0.0:
        return int(rng.integers(n))
    return int(sample_by_weight(cum, total, rng.random(1))[0])


def kmeans_plusplus(X, k: int, rng: np.random.Generator, n_trials: int | None = None,
                    weights=None):
    """Greedy k-means++: the first center drawn uniformly (by weight), each further one the
    best of ``n_trials`` (default ``2 + log k``) rows sampled with probability proportional
    to the (weighted) squared distance to the nearest chosen center, the best being the one
    that lowers the total (weighted) squared distance most. Returns (centers (k x d, X's
    dtype), global indices)."""
    n = X.shape[0]
    trials = n_trials or 2 + int(math.log(k))
    wt = None if weights is None else weights.astype(lh.float64)
    first = _first(X, rng, weights)
    centers = [rows(X, [first])[0]]
    chosen = [first]
    sq = (X * X).sum(axis=1)
    C = lh.array(np.stack(centers), comm=X.comm)
    _, closest = lh.nearest_centers(X, C, return_distance=True)
    closest = closest.astype(lh.float64).compute()
    for _ in range(1, k):
        cum = lh.cumulative_sum(closest if wt is None else closest * wt).compute()
        total = float(cum[-1].item())
        if total <= 0.0:  # every row sits on a chosen center: take any other rows
            idx = rng.choice(n, size=trials, replace=n < trials)
        else:
            idx = sample_by_weight(cum, total, rng.random(trials))
        cand = rows(X, idx)
        Cc = lh.array(cand.astype(np.float64), comm=X.comm)
        # squared distances of every row to each candidate (n x trials), through one GEMM
        d2 = lh.maximum(sq[:, None].astype(lh.float64) - 2.0 * (X.astype(lh.float64) @ Cc.T)
                        + (Cc * Cc).sum(axis=1)[None, :], 0.0)
        near = lh.minimum(d2, closest[:, None])
        pot = (near if wt is None else near * wt[:, None]).sum(axis=0).numpy()
        best = int(np.argmin(pot))
        centers.append(cand[best])
        chosen.append(int(idx[best]))
        closest = lh.minimum(closest, d2[:, best]).compute()
    return np.stack(centers).astype(X.dtype.name, copy=False), np.asarray(chosen)


def random_rows(X, k: int, rng: np.random.Generator, weights=None):
    """``k`` distinct rows drawn uniformly, or by weight (global indices, the same on every
    rank; the weights are read whole: one float per sample)."""
    p = None
    if weights is not None:
        wn = weights.astype(lh.float64).numpy()
        p = wn / wn.sum() if wn.sum() > 0 else None
    idx = rng.choice(X.shape[0], size=k, replace=False, p=p)
    return rows(X, idx), idx
