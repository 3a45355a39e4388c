"""Partial sums kept across linear consumers: each all-reduce goes where it moves fewest bytes.

A reduction over the split axis leaves every rank a partial sum (layout ``P``): the value is
the sum over ranks of what each rank holds. Lowering combines it at once
(``reduce_partial -> allreduce``), but a consumer that is linear in the value works on the
partials just as well, since ``sum_r(P_r) @ W == sum_r(P_r @ W)``. This pass moves each
``allreduce[sum]`` down through such consumers to where the value is smallest::

    (X.sum(0) * w).sum()        X: (n, d) split 0, w: (d,) replicated
    before: reduce_partial -> allreduce (d items) -> multiply -> reduce
    after:  reduce_partial -> multiply -> reduce -> allreduce (1 item)

Linear consumers (``LINEAR``): negative; multiply by a scalar or a replicated array; true_divide
of a partial numerator by anything else; add/subtract of two partials of the output's shape;
local sum and mean; matmul with a replicated other operand; transpose and reshape (squeeze,
expand_dims); and the divide by the count that ends a mean over the split axis
(``reduce_merge``), so a mean is a partial sum followed by a linear divide. A consumer must
compute in the partial's own dtype: a cast of a partial is not summed exactly. Integer partial
sums stay exact (these ops are ring operations, wrap-around included); float ones reassociate.

Invariants:

- only a value with exactly one consumer that is not a user output hands its partials on: a
  value read twice is combined once before its readers (no collective is duplicated), and a
  user never sees a partial;
- each tree of partials (sources merged by add/subtract, then a chain of single consumers)
  ends in exactly one all-reduce per path; the placement minimizes (bytes per rank,
  collectives, ops run on partials), so ties go to the earliest point: ``x.sum(0) / n`` still
  all-reduces right after the reduction, where it batches with other reductions;
- decisions read global metadata only (ops, shapes, dtypes, layouts), so every rank moves the
  same collectives.
"""

from __future__ import annotations

from ..graph import Node, rebuild, topo_order, users
from ..graph.cost import allreduce_bytes, comm_bytes
from ..graph.ops import holds_partial  # noqa: F401 - re-exported (a partial value's test)
from ..graph.reduce import REDUCTIONS

ZERO = (0, 0, 0)  # (bytes per rank, collectives, ops run on partials)


def _is_source(n: Node) -> bool:
    """An all-reduce of partial sums: its input is the partial value this pass may carry on."""
    return n.op == "allreduce" and n.attr("op") == "sum"


# ---------------------------------------------------------------- linear consumers
# rule(node, avail) -> indices of the inputs that carry partials when the node runs on them,
# or None. ``avail[k]``: input k can hand over its partials (see ``place_allreduces``).
def _dtype_kept(n: Node, ks) -> bool:
    """No cast touches a partial: the op computes in the partials' dtype and yields it."""
    cdt = n.attr("cdtype", n.aval.dtype)
    return cdt == n.aval.dtype and all(n.inputs[k].aval.dtype == cdt for k in ks)


def _array_positions(n: Node) -> list:
    """The user's operand position of each array input (scalars fill the other positions)."""
    taken = {p for p, _ in n.attr("scalars", ())}
    return [p for p in range(n.attr("nargs", len(n.inputs))) if p not in taken]


def _one_partial(n: Node, avail):
    """The only input that can carry partials (two would make a product of sums)."""
    ks = [k for k, a in enumerate(avail) if a]
    return (ks[0],) if len(ks) == 1 and _dtype_kept(n, ks) else None


def _negative(n, avail):
    return (0,) if avail[0] and _dtype_kept(n, (0,)) else None


def _numerator(n, avail):
    ok = avail[0] and _array_positions(n)[0] == 0 and _dtype_kept(n, (0,))
    return (0,) if ok else None


def _sum_of_partials(n, avail):
    if len(n.inputs) != 2 or not all(avail) or n.attr("scalars"):
        return None  # partial + whole would add the whole once per rank
    if any(i.aval.shape != n.aval.shape for i in n.inputs):
        return None
    return (0, 1) if _dtype_kept(n, (0, 1)) else None


def _local_reduce(n, avail):
    fn = n.attr("fn")
    if not avail[0] or n.inputs[0].aval.dtype != n.aval.dtype:
        return None
    # a linear reduction of partial sums is the partial of the reduction; one with a merge
    # step (the mean's divide by a count) is exact only in floating point
    r = REDUCTIONS[fn]
    linear = r.linear and (not r.merge or n.aval.dtype.is_inexact)
    return (0,) if linear else None


def _mean_merge(n, avail):
    # the merge of a mean divides the combined sums by the count; half precision partials
    # travel as float32 and are cast by the merge, so those stay combined first
    ok = avail[0] and n.attr("fn") == "mean" and n.aval.dtype.itemsize >= 4
    return (0,) if ok else None


def _matmul(n, avail):
    if n.attr("partial") is not None:
        return None  # contracts a split axis itself: lowering's own partial product
    return _one_partial(n, avail)


def _layout_only(n, avail):
    return (0,) if avail[0] else None


LINEAR = {
    "negative": _negative, "multiply": _one_partial, "true_divide": _numerator,
    "add": _sum_of_partials, "subtract": _sum_of_partials, "reduce": _local_reduce,
    "reduce_merge": _mean_merge, "matmul": _matmul, "transpose": _layout_only,
    "reshape": _layout_only,
}


def _slots(n: Node, avail):
    """Inputs of ``n`` that carry partials when ``n`` runs on them, or None. Everything is
    replicated (a partial has no split; a consumer that needs one needs the whole value), and
    an input carried as partials is not also read whole."""
    rule = LINEAR.get(n.op)
    if rule is None or not any(avail) or n.aval.split is not None or \
            any(i.aval.split is not None for i in n.inputs):
        return None
    ks = rule(n, avail)
    if not ks:
        return None
    if any(n.inputs[k] is n.inputs[j] for k in ks for j in range(len(n.inputs))
           if j not in ks):
        return None
    return ks


# ---------------------------------------------------------------- placement
def _add(*costs):
    return tuple(map(sum, zip(ZERO, *costs)))


def _distinct(n: Node, ks) -> list:
    return list({id(n.inputs[k]): n.inputs[k] for k in ks}.values())


def place_allreduces(outputs):
    """Return (new outputs, notes): all-reduces of partial sums moved past linear consumers
    to where they move the fewest bytes; ``notes`` has one line for ``explain`` when any
    moved.

    >>> x = lh.random.randn(100, 8, split=0, seed=1, comm=lh.FakeComm(4))
    >>> w = lh.ones(8, comm=x.comm)  # 4 ranks: an all-reduce receives its value twice
    >>> lh.plan(x.sum(0) * 2).totals()["bytes_moved_per_rank"]  # combined right away
    64
    >>> lh.plan((x.sum(0) * w).sum()).totals()["bytes_moved_per_rank"]  # one float32
    8
    """
    order = topo_order(outputs)
    if not order or order[0].aval.comm.size == 1:
        return list(outputs), []
    users_of, out_ids = users(order), {id(o) for o in outputs}

    # bottom-up: the cheapest way to have each value as partials (cost_p) or whole (cost_r)
    cost_p, cost_r, after, slots = {}, {}, {}, {}
    for n in order:
        if _is_source(n):
            cost_p[id(n)], cost_r[id(n)] = ZERO, (comm_bytes(n), 1, 0)
            continue
        avail = tuple(id(i) in cost_p and id(i) not in out_ids and users_of[id(i)] == [n]
                      for i in n.inputs)
        ks = _slots(n, avail)
        if ks is None:
            continue
        ins = _distinct(n, ks)
        slots[id(n)] = ks
        cost_p[id(n)] = _add(*(cost_p[id(i)] for i in ins), (0, 0, 1))
        reduced_here = _add(cost_p[id(n)], (max(allreduce_bytes(n.aval)), 1, 0))
        reduced_before = _add(*(cost_r[id(i)] for i in ins))
        after[id(n)] = reduced_here < reduced_before  # ties: the earlier point
        cost_r[id(n)] = min(reduced_here, reduced_before)

    # top-down: each value's only consumer says whether it wants partials or the whole.
    # form: "whole" (computed as before), "partial" (runs on partials for its consumer; a
    # source all-reduce in this form is dropped), "reduced" (runs on partials, all-reduced
    # right after it)
    form, wants = {}, {}
    for n in reversed(order):
        if id(n) not in cost_p:
            continue
        w = wants.get(id(n), "whole")
        if _is_source(n):
            form[id(n)] = w
            continue
        f = "partial" if w == "partial" else "reduced" if after[id(n)] else "whole"
        form[id(n)] = f
        for i in _distinct(n, slots[id(n)]):
            wants[id(i)] = "whole" if f == "whole" else "partial"

    new_of, part_of = {}, {}
    for n in order:
        f = form.get(id(n), "whole")
        if f == "partial" and _is_source(n):  # dropped: its consumer reads the partials
            part_of[id(n)] = new_of[id(n.inputs[0])]
            continue
        if f in ("partial", "reduced") and not _is_source(n):
            ks = slots[id(n)]
            ins = tuple(part_of[id(i)] if k in ks else new_of[id(i)]
                        for k, i in enumerate(n.inputs))
            p = part_of[id(n)] = Node(n.op, ins, dict(n.attrs) | {"partial": "sum"}, n.aval,
                                      n.loc)
            if f == "reduced":
                new_of[id(n)] = Node("allreduce", (p,), {"op": "sum"}, n.aval, n.loc)
            continue
        new_of[id(n)] = rebuild(n, [new_of[id(i)] for i in n.inputs])
    return [new_of[id(o)] for o in outputs], _notes(order, form)


def _notes(order, form) -> list:
    """One line: how many ops now run on partials and what the moved all-reduces carry."""
    moved = [n for n in order if form.get(id(n)) in ("partial", "reduced")
             and not _is_source(n)]
    if not moved:
        return []
    dropped = [n for n in order if _is_source(n) and form.get(id(n)) == "partial"]
    placed = [n for n in moved if form[id(n)] == "reduced"]
    count = f", {len(dropped)} -> {len(placed)} all-reduces" if len(dropped) != len(placed) \
        else ""
    where = ", ".join(dict.fromkeys(n.loc for n in placed))
    return [f"all-reduce of partial sums moved past {len(moved)} linear op(s) at {where}: "
            f"{sum(n.aval.nbytes for n in dropped)} -> {sum(n.aval.nbytes for n in placed)} "
            f"B all-reduced{count}"]
