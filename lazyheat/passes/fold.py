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

from ..graph import Node, topo_order
from ..graph.ops import EWISE


def fold_constants(outputs, evaluate):
    """Return (new outputs, number of folded ops)."""
    new_of, folded = {}, 0
    for n in topo_order(outputs):
        ins = tuple(new_of[id(i)] for i in n.inputs)
        cur = n if all(a is b for a, b in zip(ins, n.inputs)) else \
            Node(n.op, ins, n.attrs, n.aval, n.loc)
        if n.op in EWISE and ins and all(i.op == "full" for i in ins):
            try:
                value = evaluate(cur, [i.attr("value") for i in ins])
            except Exception:  # noqa: BLE001 - left for the run to report
                value = None
            if value is not None:
                cur = Node("full", (), {"value": value}, n.aval, n.loc)
                folded += 1
        new_of[id(n)] = cur
    return [new_of[id(o)] for o in outputs], folded
