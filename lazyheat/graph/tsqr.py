"""TSQR: the QR factorization of a tall matrix split along its rows (``tsqr``).

The logical op ``tsqr`` yields one factor (``attrs["out"]``: ``"Q"``, the m x n orthonormal
factor laid out as the input's rows, or ``"R"``, the replicated n x n triangle) of a 2-D
matrix with m >= n. Lowered over p ranks with the rows split (``passes/lower/linalg.py``):

1. ``tsqr_rlocal``: each rank factors its own block, ``X_r = Q1_r R_r``, and keeps ``R_r``
   (n x n; zero rows pad a block of fewer than n rows);
2. ``allgather`` of the p small triangles: every rank receives the p - 1 others
   (``(p - 1) * n * n * itemsize`` bytes, whatever m is);
3. ``tsqr_merge``: every rank factors the stacked ``(p n) x n`` triangles,
   ``[R_0; ...; R_{p-1}] = Q2 R``, and yields ``R``;
   ``tsqr_q``: each rank refactors its block (the same routine on the same data gives the
   same ``R_r``), takes its n rows of ``Q2`` and forms ``Q_r = Q1_r Q2_r`` locally.

Both factors are normalized so that ``R`` has a real non-negative diagonal (``Q``'s columns
scaled by the same unit factors): the factorization is then unique for a full-rank matrix, so
the result does not depend on the number of ranks beyond rounding, and every rank computes
the same ``R`` bit for bit from the same gathered stack.
"""

from __future__ import annotations

from . import dtypes as dt
from .errors import op_error
from .layout import balanced_counts
from .linalg import float_of
from .registry import Group, Needs, OpDef, register


def _infer(avals, attrs):
    (x,) = avals
    if len(x.shape) != 2 or x.shape[0] < x.shape[1]:
        raise op_error(ValueError, "qr", f"TSQR needs a tall matrix (m >= n), got shape "
                       f"{x.shape}", x.shape)
    if x.dtype is dt.bool_:
        raise op_error(TypeError, "qr", "not defined for bool input", x.shape)
    m, n = x.shape
    shape = (m, n) if attrs["out"] == "Q" else (n, n)
    return shape, float_of(x.dtype)


def _layout(avals, attrs, shape, p):
    (x,) = avals
    if attrs["out"] == "R" or x.split is None:
        return None, None
    return 0, _row_counts(x, p)


def _row_counts(x, p):
    """Q keeps the input's row blocks when it is split along rows; otherwise the balanced
    row split that ``_needs`` asks for."""
    return tuple(x.counts) if x.split == 0 else balanced_counts(x.shape[0], p)


def _needs(avals, attrs, shape, out, p) -> Needs:
    (x,) = avals
    if x.split is None:
        return Needs((x.layout,))
    if x.split == 0:
        return Needs((x.layout,))
    # split along columns: one all-to-all to balanced row blocks first
    return Needs(((0, balanced_counts(x.shape[0], p)),))


register(
    OpDef("tsqr", Group.CONTRACTION, infer=_infer, layout=_layout, needs=_needs,
          doc="a factor (Q or R) of the QR of a tall matrix split along rows (TSQR)"),
    OpDef("tsqr_rlocal", Group.CONTRACTION,
          doc="the R factor of this rank's row block (n x n, zero-padded)"),
    OpDef("tsqr_merge", Group.COMBINER,
          doc="R of the stacked per-rank R factors (the same on every rank)"),
    OpDef("tsqr_q", Group.COMBINER,
          doc="this rank's rows of Q: its block's Q times its rows of the merged Q"),
)
