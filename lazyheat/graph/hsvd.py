"""The hierarchical truncated SVD of a matrix split along its columns (``hsvd``).

The logical op ``hsvd`` yields the ``k`` leading left singular vectors (``out="U"``, m x k)
or singular values (``out="S"``) of a 2-D matrix, both replicated. Lowered over p ranks
with the columns split (``passes/lower/linalg.py``):

1. ``hsvd_local``: each rank's block ``A_r`` (m x n_r) is factored and truncated to its
   ``k`` leading singular triplets, keeping ``U_r S_r`` (m x k; zero columns where the block
   has fewer than k);
2. ``allgather`` of those p small factors: each rank receives ``(p - 1) m k`` elements;
3. ``hsvd_merge``: every rank factors ``[U_0 S_0, ..., U_{p-1} S_{p-1}]`` (m x p k), whose
   leading singular triplets are those of ``A`` up to the truncation of step 1 (exact when
   every block has rank at most k), and keeps k.

``V`` follows from ``A^H U S^-1``, a distributed product the public function builds. Signs
are fixed so that each column of ``U`` has its largest-magnitude entry positive: a
deterministic choice that every rank makes alike.
"""

from __future__ import annotations

from . import dtypes as dt
from .errors import op_error
from .linalg import float_of
from .registry import Group, Needs, OpDef, register


def _real(d):
    return {dt.complex64: dt.float32, dt.complex128: dt.float64}.get(d, d)


def _infer(avals, attrs):
    (x,) = avals
    if len(x.shape) != 2:
        raise op_error(ValueError, "hsvd", f"needs a 2-D matrix, got shape {x.shape}",
                       x.shape)
    if x.dtype is dt.bool_:
        raise op_error(TypeError, "hsvd", "not defined for bool input", x.shape)
    k = attrs["k"]
    if not 1 <= k <= min(x.shape):
        raise op_error(ValueError, "hsvd", f"rank must be in [1, {min(x.shape)}], got {k}",
                       x.shape)
    d = float_of(x.dtype)
    if attrs["out"] == "U":
        return (x.shape[0], k), d
    return (k,), _real(d)


def _layout(avals, attrs, shape, p):
    return None, None


def _needs(avals, attrs, shape, out, p) -> Needs:
    (x,) = avals
    if x.split is None or x.split == 1:
        return Needs((x.layout,))
    # split along rows: the public function factors the transpose instead; were it not,
    # one all-to-all moves the split to the columns
    from .layout import balanced_counts

    return Needs(((1, balanced_counts(x.shape[1], p)),))


register(
    OpDef("hsvd", Group.CONTRACTION, infer=_infer, layout=_layout, needs=_needs,
          doc="leading left singular vectors or values of a column-split matrix (hierarchical)"),
    OpDef("hsvd_local", Group.CONTRACTION,
          doc="this rank's column block's truncated U S (m x k, zero-padded)"),
    OpDef("hsvd_merge", Group.COMBINER,
          doc="U or S of the gathered per-rank U S factors, truncated (the same on every rank)"),
)
