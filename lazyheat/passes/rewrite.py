"""Algebraic rewrites that remove communication, applied to the logical graph.

Only exact identities are used (the result may differ by floating-point reassociation only):

- ``sum(transpose(X, perm), axes)`` -> ``sum(X, perm[axes])`` when the kept axes stay in order
  (no data is permuted at all);
- ``sum(A + B, axes)`` -> ``sum(A, axes) + sum(B, axes)`` (likewise ``-`` and ``mean``) when
  ``A`` and ``B`` have the full shape, the result's dtype, and *different layouts*: the sum of
  the two would need one whole operand redistributed, the rewritten form moves reduced
  vectors only. With equal layouts the fused ``sum(A + B)`` is as cheap, so it is kept.

So ``(X.T + X).sum(0)`` with ``X`` split on rows becomes ``X.sum(1) + X.sum(0)``: a local
reduction, a partial one and a vector-sized collective instead of an all-to-all of ``X``.
A rewritten reduction keeps its original aval (shape, dtype, layout); where the new form yields
another layout, a ``redistribute`` of the (small) result restores it. Every rewrite is
recorded as a line of text that ``explain`` prints.
"""

from __future__ import annotations

from ..graph import Node, rewrite
from ..graph import rules as ru
from ..graph.layout import same_layout
from ..graph.reduce import REDUCTIONS


def _reduce(n: Node, x: Node, axes) -> Node:
    """The reduction ``n`` applied to ``x`` over ``axes`` (layout from the reduce rule)."""
    keep = n.attr("keepdims")
    (split, counts), _ = ru.reduce_layout(x.aval, axes, keep)
    aval = n.aval.with_(shape=ru.reduce_shape(x.aval.shape, axes, keep), split=split,
                        counts=counts)
    attrs = tuple((k, axes if k == "axes" else v) for k, v in n.attrs)
    return Node("reduce", (x,), attrs, aval, n.loc)


def _with_layout(node: Node, like: Node) -> Node:
    if same_layout(node.aval.layout, like.aval.layout):
        return node
    return Node("redistribute", (node,), {}, like.aval, like.loc)


def _through_transpose(n: Node, x: Node):
    perm, axes = x.attr("perm"), n.attr("axes")
    if n.attr("keepdims") or not axes:
        return None
    kept = [perm[i] for i in range(len(perm)) if i not in axes]
    if kept != sorted(kept):
        return None  # the result itself would need a transpose
    return _push(_reduce(n, x.inputs[0], tuple(sorted(perm[a] for a in axes))))


def _through_sum(n: Node, x: Node):
    a, b = x.inputs if len(x.inputs) == 2 else (None, None)
    if a is None or x.attr("scalars"):
        return None
    if any(i.aval.shape != x.aval.shape or i.aval.dtype != x.aval.dtype for i in (a, b)):
        return None
    if x.aval.dtype != n.aval.dtype or not n.aval.dtype.is_inexact:
        return None
    if same_layout(a.aval.layout, b.aval.layout):
        return None  # no communication to save
    ra, rb = (_push(_reduce(n, i, n.attr("axes"))) for i in (a, b))
    return Node(x.op, (ra, rb), x.attrs, n.aval, n.loc)


# The rewrite rules, as a table: the op under a linear reduction -> how to push it through
# (a replacement of the reduction, or None where the identity does not apply or saves nothing)
PUSH_THROUGH = {"transpose": _through_transpose, "add": _through_sum,
                "subtract": _through_sum}


def _push(n: Node) -> Node:
    """``n`` rewritten as far as the rules go (its aval's shape and dtype unchanged)."""
    if n.op != "reduce" or not REDUCTIONS[n.attr("fn")].linear:
        return n
    rule = PUSH_THROUGH.get(n.inputs[0].op)
    new = rule(n, n.inputs[0]) if rule is not None else None
    return n if new is None else new


def push_reductions(outputs):
    """Return (new outputs, notes): linear reductions pushed through transposes and sums
    where that removes communication; ``notes`` lists each rewrite for ``explain``."""
    notes = []

    def rule(cur):
        new = _push(cur)
        if new is cur:
            return None
        notes.append(f"{cur.attr('fn')}({cur.inputs[0].op}(...)) pushed through to "
                     f"{_describe(new)} at {cur.loc}")
        return _with_layout(new, cur)

    return rewrite(outputs, rule), notes


def _describe(n: Node) -> str:
    if n.op == "redistribute":
        return _describe(n.inputs[0])
    if n.op == "reduce":
        return f"{n.attr('fn')}(axes={n.attr('axes')})"
    return f"{n.op}({', '.join(_describe(i) for i in n.inputs)})"
