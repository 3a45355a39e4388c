"""Coordinate descent for the elastic net on the small replicated problem.

After the one distributed pass of :mod:`lazyheat.regression._gram`, the elastic net depends on
the data only through ``Q = Xc^T Xc`` (d x d), ``q = Xc^T yc`` (d) and ``yy = yc^T yc``, where
``Xc``, ``yc`` are the centered data. Every rank holds the same float64 copies and runs the
same sweeps below, so every rank ends with the same coefficients and no message is sent.

The problem, scaled by ``n`` as scikit-learn's solver scales it::

    minimize  1/2 w^T Q w - q^T w + 1/2 yy + l1 ||w||_1 + l2/2 ||w||^2

with ``l1 = n alpha l1_ratio`` and ``l2 = n alpha (1 - l1_ratio)``. One sweep updates each
coordinate in turn by its exact minimizer (soft thresholding) and keeps ``Qw = Q w`` current
with one axpy per changed coordinate: O(d^2) per sweep, independent of n.

Stopping follows scikit-learn's rule: when the largest coordinate change of a sweep is at most
``tol`` times the largest coefficient (or at the last sweep) the duality gap is evaluated, and
the descent stops once the gap is at most ``tol * yy``. Gap-safe screening (Ndiaye, Fercoq,
Gramfort and Salmon, "Gap Safe screening rules for sparsity enforcing penalties", JMLR 2017)
removes coordinates that the gap proves to be zero at the optimum, at every gap evaluation.
"""

from __future__ import annotations

import math

import numpy as np


class ConvergenceWarning(UserWarning):
    """The solver stopped at ``max_iter`` before reaching its tolerance."""


def duality_gap(w, Qw, q, yy, l1, l2, positive):
    """``(gap, XtA, dual_norm)`` of the scaled elastic net at ``w`` from the Gram statistics.

    ``XtA = q - Qw - l2 w`` is ``Xc^T r - l2 w`` for the residual ``r = yc - Xc w``;
    ``||r||^2 = yy + w.Qw - 2 q.w``. With ``l1 > 0`` the dual point is the residual scaled
    into the dual feasible set; with ``l1 = 0`` the ridge (``l2 > 0``) and least-squares
    (first-order condition ``||Xc^T r||^2``) forms apply.
    """
    qw = float(q @ w)
    r_norm2 = yy + float(w @ Qw) - 2.0 * qw
    ry = yy - qw
    w_norm2 = float(w @ w) if l2 > 0 else 0.0
    if l1 == 0:
        xta = q - Qw
        dual_norm = float(xta @ xta)
        if l2 == 0:
            return dual_norm, xta, dual_norm
        gap = r_norm2 + 0.5 * l2 * w_norm2 - ry + dual_norm / (2.0 * l2)
        return gap, xta, dual_norm
    xta = q - Qw - l2 * w
    dual_norm = float(xta.max()) if positive else float(np.abs(xta).max(initial=0.0))
    primal = 0.5 * (r_norm2 + l2 * w_norm2) + l1 * float(np.abs(w).sum())
    scale = l1 / dual_norm if dual_norm > l1 else 1.0
    dual = -0.5 * scale * scale * (r_norm2 + l2 * w_norm2) + scale * ry
    return primal - dual, xta, dual_norm


def _screen(active, excluded, w, Qw, Q, diag, xta, dual_norm, gap, l1, l2):
    """The coordinates the gap-safe sphere test cannot rule out, in increasing order.

    A coordinate ``j`` with ``(1 - |x_j . theta|) / ||x_j||`` above the sphere's radius
    ``sqrt(2 gap) / l1`` is zero at every optimum: it is set to zero (``Qw`` updated) and
    never visited again. ``excluded`` is updated in place."""
    radius = math.sqrt(2.0 * abs(gap)) / l1
    denom = max(l1, dual_norm)
    keep = []
    for j in active:
        d_j = (1.0 - abs(xta[j] / denom)) / math.sqrt(diag[j] + l2)
        if d_j <= radius:
            keep.append(j)
            continue
        if w[j] != 0.0:
            Qw -= w[j] * Q[j]
            w[j] = 0.0
        excluded[j] = True
    return keep


def enet_gram(Q, q, yy, l1, l2, w, *, max_iter, tol, positive=False, rng=None,
              progress=None):
    """Minimize the scaled elastic net from its Gram statistics by coordinate descent.

    ``Q`` (d x d), ``q`` (d), ``yy`` and the start ``w`` (d, changed in place) are float64
    and identical on every rank; ``rng`` (a NumPy generator) picks coordinates at random
    (with replacement, as "random" selection does) instead of cyclically. Returns
    ``(w, gap, tol_scaled, n_iter, converged)``; ``n_iter`` counts sweeps (0 when ``w``
    already met the tolerance).
    """
    d = q.shape[0]
    Qw = Q @ w
    diag = np.diagonal(Q).tolist()
    tol_scaled = tol * yy
    gap, xta, dual_norm = duality_gap(w, Qw, q, yy, l1, l2, positive)
    if 0 <= gap <= tol_scaled:  # a singular Q can make a start's gap slightly negative
        return w, gap, tol_scaled, 0, True
    active = list(range(d))
    screening = l1 > 0
    excluded = [False] * d
    if screening:
        for j in range(d):
            if diag[j] == 0.0:
                excluded[j] = True
                if w[j] != 0.0:
                    Qw -= w[j] * Q[j]
                    w[j] = 0.0
        active = [j for j in range(d) if not excluded[j]]
        active = _screen(active, excluded, w, Qw, Q, diag, xta, dual_norm, gap, l1, l2)
    converged = False
    n_iter = 0
    for n_iter in range(max_iter):
        w_max = dw_max = 0.0
        if rng is None:
            order = active
        else:
            order = [active[i] for i in rng.integers(0, len(active), len(active))] \
                if active else []
        for j in order:
            djj = diag[j]
            if djj == 0.0:
                continue
            w_j = float(w[j])
            tmp = float(q[j]) - float(Qw[j]) + w_j * djj
            if positive and tmp < 0.0:
                new = 0.0
            else:
                new = math.copysign(max(abs(tmp) - l1, 0.0), tmp) / (djj + l2)
            if new != w_j:
                Qw += (new - w_j) * Q[j]
                w[j] = new
            dw_max = max(dw_max, abs(new - w_j))
            w_max = max(w_max, abs(new))
        last = n_iter == max_iter - 1
        if w_max == 0.0 or dw_max / w_max <= tol or last:
            gap, xta, dual_norm = duality_gap(w, Qw, q, yy, l1, l2, positive)
            if progress is not None:
                progress.update(n_iter + 1, gap=gap, tol=tol_scaled)
            if gap <= tol_scaled:
                converged = True
                break
            if screening:
                active = _screen(active, excluded, w, Qw, Q, diag, xta, dual_norm, gap, l1,
                                 l2)
        elif progress is not None:
            progress.update(n_iter + 1, change=dw_max / w_max)
    return w, gap, tol_scaled, n_iter + 1 if max_iter else 0, converged
