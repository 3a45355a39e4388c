"""Lowering of ``linalg_local``: the input moved to the layout its rule needs (matrix axes
whole: a batch split kept, or replicated), then the routine on the block. ``tsqr`` becomes
a local factorization, one all-gather of the small R factors and a merge."""

from __future__ import annotations

from ...graph import Node, ops
from ...graph.reduce import gathered
from .base import lowering, move


@lowering("linalg_local")
def lower_linalg_local(n, ins, ctx):
    (req,) = ops.needs_of(n, ins).inputs
    return Node(n.op, (move(ins[0], req, n.loc),), n.attrs, n.aval, n.loc)


@lowering("tsqr")
def lower_tsqr(n, ins, ctx):
    """TSQR over the ranks holding row blocks (see ``graph/tsqr.py``); a replicated matrix,
    or one rank, factors its whole matrix locally."""
    (req,) = ops.needs_of(n, ins).inputs
    x = move(ins[0], req, n.loc)
    if x.aval.split is None or n.aval.comm.size == 1:
        return Node(n.op, (x,), n.attrs, n.aval, n.loc)
    cols = x.aval.shape[1]
    r_aval = x.aval.with_(shape=(cols, cols), dtype=n.aval.dtype, split=None, counts=None)
    rloc = Node("tsqr_rlocal", (x,), {"work": n.attr("work")}, r_aval, n.loc)
    every = Node("allgather", (rloc,), {}, gathered(r_aval), n.loc)
    if n.attr("out") == "R":
        return Node("tsqr_merge", (every,), {}, n.aval, n.loc)
    return Node("tsqr_q", (x, every), {"work": n.attr("work")}, n.aval, n.loc)


@lowering("hsvd")
def lower_hsvd(n, ins, ctx):
    """The hierarchical SVD over the ranks holding column blocks (see ``graph/hsvd.py``);
    a replicated matrix, or one rank, factors its whole matrix locally."""
    (req,) = ops.needs_of(n, ins).inputs
    x = move(ins[0], req, n.loc)
    if x.aval.split is None or n.aval.comm.size == 1:
        return Node(n.op, (x,), n.attrs, n.aval, n.loc)
    k, m = n.attr("k"), x.aval.shape[0]
    part = x.aval.with_(shape=(m, k), dtype=n.attr("work"), split=None, counts=None)
    loc = Node("hsvd_local", (x,), {"k": k, "work": n.attr("work")}, part, n.loc)
    every = Node("allgather", (loc,), {}, gathered(part), n.loc)
    return Node("hsvd_merge", (every,), n.attrs, n.aval, n.loc)
