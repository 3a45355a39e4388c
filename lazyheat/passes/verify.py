"""Graph verifier: run after every pass in tests. Messages name the node and the user's line."""

from __future__ import annotations

from ..graph import topo_order
from ..graph.layout import same_layout


class VerifyError(AssertionError):
    pass


def verify(outputs, physical: bool = False) -> None:
    """Check structural invariants of the graph reachable from ``outputs``.

    - every aval is consistent: counts present iff split, summing to the split extent, one per
      rank of the array's communicator; split a valid axis;
    - all nodes share one communicator;
    - physically lowered graphs: every elementwise input's layout lines up with its output.
    """
    comm = None
    for n in topo_order(outputs):
        a = n.aval
        where = f"{n.op} at {n.loc}"
        if comm is None:
            comm = a.comm
        if a.comm is not comm:
            raise VerifyError(f"{where}: nodes from different communicators")
        if a.split is None:
            if a.counts is not None:
                raise VerifyError(f"{where}: replicated aval with counts {a.counts}")
            continue
        if not 0 <= a.split < a.ndim:
            raise VerifyError(f"{where}: split {a.split} out of range for {a.shape}")
        if len(a.counts) != comm.size or sum(a.counts) != a.shape[a.split]:
            raise VerifyError(f"{where}: counts {a.counts} do not cover {a.shape[a.split]} rows "
                              f"on {comm.size} ranks")
        if physical and n.op == "redistribute" and not n.attr("src_starts") and \
                same_layout(n.inputs[0].aval.layout, a.layout):
            raise VerifyError(f"{where}: redistribute to the same layout")
