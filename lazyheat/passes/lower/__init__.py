"""Distribution lowering: the logical graph becomes a physical one of block-local ops and
explicit communication.

Every logical node already carries its output layout (chosen at build time by its op's layout
rule, ``graph.ops.layout_of``). This pass asks the same rule which layouts the inputs need,
inserts a ``redistribute`` node wherever an input's layout differs, and expands ops whose
distributed form takes several steps (a reduction over the split axis: a partial state, one
collective, a merge; see ``reduce.py``).

One lowering per op or op family, registered by op name with ``@lowering(...)``; the driver
here dispatches on the node's op. A coverage test checks that every op the API builds has one.
Physical nodes keep the logical node's source location, so runtime errors name the user's line.
"""

from __future__ import annotations

from ...graph import topo_order
from . import blockwise, fft, index, linalg, reduce, scan, sort  # noqa: F401 - they register their lowerings
from .base import LOWERINGS, lowering, move  # noqa: F401 - re-exported
from .reduce import moments_keys


class Context:
    """What lowerings may know about the whole graph (global metadata only)."""

    def __init__(self, order):
        self.moment_keys = moments_keys(order)


def lower(outputs) -> list:
    """Lower logical outputs to physical nodes (inputs shared, order deterministic)."""
    order = topo_order(outputs)
    ctx = Context(order)
    new_of = {}
    for n in order:
        fn = LOWERINGS.get(n.op)
        if fn is None:
            raise NotImplementedError(f"no lowering for op {n.op!r}")
        new_of[id(n)] = fn(n, [new_of[id(i)] for i in n.inputs], ctx)
    return [new_of[id(o)] for o in outputs]

