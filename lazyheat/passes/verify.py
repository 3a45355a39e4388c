"""Graph verifier: run after every pass in tests. Messages name the node and the user's line."""

from __future__ import annotations

from ..graph import TupleAval, topo_order
from ..graph.layout import same_layout
from ..graph.ops import OPS, READS_PARTIAL, holds_partial


class VerifyError(AssertionError):
    pass


def verify(outputs, physical: bool = False) -> None:
    """Check structural invariants of the graph reachable from ``outputs``.

    - every aval is consistent: counts present iff split, summing to the split extent, one per
      rank of the array's communicator; split a valid axis;
    - every op is in the registry; all nodes share one communicator;
    - fused groups: members share the root's shape and layout, operand references point at
      earlier members or external inputs, inner members are used exactly once, the closing
      reduction reads the root;
    - physically lowered graphs: no redistribute to the layout its input already has; a
      partial value (a rank's part of a sum still to be combined) is read only by a collective,
      a merge, or an op that itself yields partials (inside fused groups too), and no output is
      partial: a user never sees one.
    """
    comm = None
    if physical:
        for o in outputs:
            if holds_partial(o):
                raise VerifyError(f"{o.op} at {o.loc}: an output holds partial results")
    for n in topo_order(outputs):
        a = n.aval
        where = f"{n.op} at {n.loc}"
        if n.op not in OPS:
            raise VerifyError(f"{where}: op not in the registry")
        if comm is None:
            comm = a.comm
        if a.comm is not comm:
            raise VerifyError(f"{where}: nodes from different communicators")
        if n.op == "fused":
            _verify_group(n, where)
        if physical:
            _verify_partial_readers(n, where)
        if isinstance(a, TupleAval):  # a state: each part's layout is its own
            continue
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


def _verify_partial_readers(n, where) -> None:
    """A partial value is read as a whole only by what combines the ranks' parts; a fused
    group is checked member by member (members refer to the nodes they were fused from)."""
    readers = (n,)
    if n.op == "fused":
        closer = n.attr("closer")
        readers = n.attr("members") + (() if closer is None else (closer,))
    for m in readers:
        if m.op not in READS_PARTIAL and not holds_partial(m) and \
                any(holds_partial(i) for i in m.inputs):
            raise VerifyError(f"{where}: {m.op} at {m.loc} reads a partial value as if it "
                              "were whole")


def _verify_group(n, where) -> None:
    members, refs, closer = n.attr("members"), n.attr("args"), n.attr("closer")
    root = members[-1]
    used = [0] * len(members)
    for j, (m, r) in enumerate(zip(members, refs)):
        if m.aval.shape != root.aval.shape or m.aval.layout != root.aval.layout:
            raise VerifyError(f"{where}: member {m.op} at {m.loc} has another shape or layout "
                              "than its group")
        if len(r) != len(m.inputs):
            raise VerifyError(f"{where}: member {m.op} has {len(r)} operand refs for "
                              f"{len(m.inputs)} inputs")
        for i in r:
            if i >= j or -1 - i >= len(n.inputs):
                raise VerifyError(f"{where}: member {m.op} refers to operand {i} out of order")
            if i >= 0:
                used[i] += 1
    if any(u != 1 for u in used[:-1]):
        raise VerifyError(f"{where}: an inner member is not used exactly once in its group")
    if closer is not None and closer.inputs[0] is not root:
        raise VerifyError(f"{where}: the closing reduction does not read the group's root")
