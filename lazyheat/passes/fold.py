"""Constant folding: elementwise ops over constant (``full``) arrays become constants.

``lh.full((), 2.0) * 3 + lh.ones(())`` is a ``full`` leaf of value 7.0 before anything runs;
``x * (lh.ones(()) * 0.5)`` multiplies ``x`` by a folded constant. The value is computed by
an ``evaluate(node, values)`` function the caller provides (the runtime's own kernel on 0-d
values, so folding gives bit-for-bit what running would), keeping this pass free of torch.
An op whose evaluation fails (say an integer to a negative power) is left for the run, which
reports the error with the user's line as usual.

Only ops whose every array operand is a ``full`` leaf fold; the result keeps the op's aval
(shape, dtype, layout), and a ``full`` leaf needs no communication for any layout.
"""

from __future__ import annotations

from ..graph import Node, ops, rewrite


def fold_constants(outputs, evaluate):
    """Return (new outputs, number of folded ops)."""
    folded = 0

    def rule(n):
        nonlocal folded
        if n.op not in ops.ELEMENTWISE or not n.inputs or \
                any(i.op != "full" for i in n.inputs):
            return None
        try:
            value = evaluate(n, [i.attr("value") for i in n.inputs])
        except Exception:  # noqa: BLE001 - left for the run to report
            return None
        if value is None:
            return None
        folded += 1
        return Node("full", (), {"value": value}, n.aval, n.loc)

    return rewrite(outputs, rule), folded
