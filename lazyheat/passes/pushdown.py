"""Read only what the plan uses: slices and resplits after a file load become the load's own
region and layout.

- ``slice(load)`` -> ``load`` of the composed region (positive steps; a negative step stays a
  slice after the read), with the slice's aval: each rank reads exactly the rows its block of
  the result holds, and the columns the slice keeps;
- ``redistribute(load)`` -> ``load`` with the new layout: reading along another split axis
  costs the same as reading along the first, while redistributing moves every byte.

Only a load that nothing else reads is folded (a load shared by a slice and the whole-array
use would otherwise be read twice). Chains fold step by step (``x[a:b][:, :4]``). Each fold
is noted for ``explain`` with the bytes the load then reads per rank.
"""

from __future__ import annotations

from ..graph import Node, ops, rebuild, topo_order, use_counts
from ..graph.io import region_bytes
from ..graph.layout import balanced_counts


def _attrs(load: Node, **changes) -> tuple:
    return tuple((k, changes.get(k, v)) for k, v in load.attrs)


def _slice_into(n: Node, load: Node):
    region = load.attr("region")
    slices = n.attr("slices")
    if any(step < 0 for _, _, step in slices):
        return None
    new = []
    for (start, stop, step), (a, b, s) in zip(region, slices):
        r = range(start, stop, step)[a:b:s]
        new.append((r.start, r.stop, r.step))
    return Node("load", (), _attrs(load, region=tuple(new)), _balanced(n.aval), load.loc)


def _balanced(aval):
    """The slice's aval, its blocks balanced over the ranks: the ranks share the reading
    (the slice's own blocks are those the original rows fell into, often one rank's)."""
    if aval.split is None:
        return aval
    return aval.with_(counts=balanced_counts(aval.shape[aval.split], aval.comm.size))


def _layout_into(n: Node, load: Node):
    return Node("load", (), load.attrs, n.aval, load.loc)


# ops folded into a load they read: op -> the folded load (or None to keep the op)
INTO_READ = {"slice": _slice_into, "redistribute": _layout_into}


def push_into_reads(outputs):
    """(new outputs, notes): slices and resplits of loads folded into the loads."""
    order = topo_order(outputs)
    if not any(n.op == "load" for n in order):
        return outputs, []
    uses = use_counts(order)
    for o in outputs:
        uses[id(o)] = uses.get(id(o), 0) + 1
    # a balanced read changes the layout of what follows it; layouts are derived again
    # below by each op's rule, which a data-dependent extent (counted for the old layout)
    # does not allow: then the read keeps the slice's own blocks
    rebalance = not any(ops.opdef(n.op).data_dependent for n in order)
    new_of, notes = {}, []
    for n in order:
        ins = [new_of[id(i)] for i in n.inputs]
        cur = _relayout(rebuild(n, ins)) if rebalance else rebuild(n, ins)
        fold = INTO_READ.get(n.op)
        if fold is not None and ins[0].op == "load" and uses.get(id(n.inputs[0]), 0) == 1:
            folded = fold(cur, ins[0])
            if folded is not None and not rebalance:
                folded = Node("load", (), folded.attrs, cur.aval, folded.loc)
            if folded is not None:
                a = folded.aval
                notes.append(f"{n.op} at {n.loc} pushed into the read of "
                             f"{folded.attr('path')}: region {_region(folded)}, "
                             f"{region_bytes(_local(folded), a.dtype.itemsize)} bytes per "
                             f"rank (max)")
                cur = folded
        new_of[id(n)] = cur
    # the results keep the layouts the user was shown (their lshape): a re-laid output
    # moves back (only its own, already sliced, data)
    outs = []
    for o in outputs:
        new = new_of[id(o)]
        if new.aval.layout != o.aval.layout:
            new = Node("redistribute", (new,), {}, o.aval, o.loc)
        outs.append(new)
    return outs, notes


def _relayout(n: Node) -> Node:
    """``n`` with the layout its op's rule derives from its (possibly re-laid) inputs; ops
    without a rule (leaves, explicit redistributions) keep theirs."""
    d = ops.opdef(n.op)
    if not n.inputs or d.layout is None:
        return n
    split, counts = ops.layout_of(n.op, [i.aval for i in n.inputs], dict(n.attrs),
                                  n.aval.shape, n.aval.comm.size)
    if split == n.aval.split and counts == n.aval.counts:
        return n
    return Node(n.op, n.inputs, n.attrs, n.aval.with_(split=split, counts=counts), n.loc)


def _region(load: Node) -> str:
    return "[" + ", ".join(f"{a}:{b}" + (f":{s}" if s != 1 else "")
                           for a, b, s in load.attr("region")) + "]"


def _local(load: Node) -> tuple:
    """The largest rank's part of the load's region."""
    a = load.aval
    region = list(load.attr("region"))
    if a.split is not None:
        start, stop, step = region[a.split]
        n = max(a.counts) if a.counts else 0
        region[a.split] = (start, start + n * step, step)
    return tuple(region)
