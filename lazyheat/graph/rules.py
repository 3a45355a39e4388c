"""Layout rules: for each kind of op, which layouts its inputs must have and what it yields.

Every function here is pure and reads global metadata only (shapes, dtypes, splits, counts,
world size), so all ranks make the same choice. Candidates are ranked by the bytes a rank must
receive (the max over ranks, then the sum); ties keep the first candidate, and candidates are
listed in a fixed order (keep the largest operand's layout first, then lower operand index).
"""

from __future__ import annotations

from math import prod

from .errors import op_error
from .layout import balanced_counts, move_cost, offsets, overlap, same_layout

R = (None, None)


def _add(c1, c2):
    return tuple(x + y for x, y in zip(c1, c2))


def broadcast_shapes(shapes, op: str) -> tuple:
    first = shapes[0]
    if all(s == first for s in shapes):
        return tuple(first)
    nd = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(nd):
        dims = {s[len(s) - nd + i] for s in shapes if len(s) - nd + i >= 0} - {1}
        if len(dims) > 1:
            raise op_error(ValueError, op, "operands could not be broadcast together", *shapes)
        out.append(dims.pop() if dims else 1)
    return tuple(out)


# ---------------------------------------------------------------- elementwise
def ewise_required(aval, out_shape, layout):
    """Layout operand ``aval`` needs so that its local block lines up with the output's block."""
    split, counts = layout
    if split is None:
        return R
    ax = split - (len(out_shape) - aval.ndim)
    if ax < 0 or aval.shape[ax] != out_shape[split]:
        return R  # broadcast along the split axis: every rank needs the whole operand
    return (ax, counts)


def ewise_layout(avals, out_shape, p: int):
    """Output layout of an elementwise op: the split of the operand whose layout is cheapest to
    match (ties: largest operand, then lower index); replicated when no operand is split.

    Where two or more operands are split, every other output axis (balanced) is a candidate
    too, taken only when strictly cheaper: ``a (n, 1, k) split 0 + b (1, m, k) split 1``
    re-lays both along axis 2 (an all-to-all of each) rather than all-gather one of them,
    which on p ranks receives about ``(|a| + |b|) / p`` instead of ``min(|a|, |b|)``."""
    cands = []
    order = sorted(range(len(avals)), key=lambda i: (-avals[i].nbytes, i))
    for i in order:
        a = avals[i]
        if a.split is None:
            continue
        ax = a.split + (len(out_shape) - a.ndim)
        if a.shape[a.split] != out_shape[ax]:
            continue
        cand = (ax, a.counts)
        if cand not in cands:
            cands.append(cand)
    if not cands:
        return R
    if sum(a.split is not None for a in avals) >= 2:
        taken = {ax for ax, _ in cands}
        cands += [(ax, balanced_counts(n, p)) for ax, n in enumerate(out_shape)
                  if ax not in taken and n > 1]
    best, best_cost = None, None
    for cand in cands:
        cost = (0, 0, 0)
        for a in avals:
            cost = _add(cost, move_cost(a, ewise_required(a, out_shape, cand)))
        if best_cost is None or cost < best_cost:
            best, best_cost = cand, cost
    return best


# ---------------------------------------------------------------- broadcast_to
def broadcast_plan(aval, shape, p: int):
    """(required input layout, output layout) for broadcasting ``aval`` to ``shape``.

    A split axis that keeps its length keeps its blocks (block-local: nothing moves). A split
    axis broadcast from length one is split again, balanced, over the output's length; every
    rank then needs the whole (small) input, one all-gather of it."""
    if aval.split is None:
        return R, R
    ax = aval.split + len(shape) - aval.ndim
    if aval.shape[aval.split] == shape[ax]:
        return aval.layout, (ax, aval.counts)
    return R, (ax, balanced_counts(shape[ax], p))


# ---------------------------------------------------------------- reductions
def reduce_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def reduce_layout(aval, axes, keepdims):
    """(output layout, whether ranks hold partial results that must be combined)."""
    if aval.split is None:
        return R, False
    if aval.split in axes:
        return R, True
    new = aval.split if keepdims else aval.split - sum(1 for a in axes if a < aval.split)
    return (new, aval.counts), False


# ---------------------------------------------------------------- matmul
def _matmul_roles(nd_a, nd_b, nd_out):
    """Axis of each role in a, b, out. Roles: ('b', j) batch axis j of out, 'm', 'k', 'n'."""
    ra, rb, ro = {}, {}, {}
    nbatch = nd_out - (nd_a >= 2) - (nd_b >= 2)
    if nd_a == 1:
        ra["k"] = 0
    else:
        ra["m"], ra["k"] = nd_a - 2, nd_a - 1
        for j in range(nd_a - 2):
            ra[("b", nbatch - (nd_a - 2) + j)] = j
    if nd_b == 1:
        rb["k"] = 0
    else:
        rb["k"], rb["n"] = nd_b - 2, nd_b - 1
        for j in range(nd_b - 2):
            rb[("b", nbatch - (nd_b - 2) + j)] = j
    for j in range(nbatch):
        ro[("b", j)] = j
    if nd_a >= 2:
        ro["m"] = nbatch
    if nd_b >= 2:
        ro["n"] = nd_out - 1
    return ra, rb, ro


def matmul_shape(a, b, op="matmul"):
    if a.ndim == 0 or b.ndim == 0:
        raise op_error(ValueError, op, "operands must be at least 1-D (use * for scalars)",
                       a.shape, b.shape)
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise op_error(ValueError, op, f"mismatch in the contracted dimension ({ka} != {kb})",
                       a.shape, b.shape)
    batch = broadcast_shapes([a.shape[:-2], b.shape[:-2]], op)
    m = (a.shape[-2],) if a.ndim >= 2 else ()
    n = (b.shape[-1],) if b.ndim >= 2 else ()
    return batch + m + n


def matmul_plan(a, b, out_shape, p: int):
    """Choose how to run ``a @ b``: returns (req_a, req_b, out_layout, partial).

    Candidates: split the output along m (a's rows, b replicated), along n (b's columns, a
    replicated), along a batch axis, or contract a split k axis into partial sums combined by
    one all-reduce (X.T @ X with X split on rows: no gather of X), or replicate everything.
    """
    ra, rb, ro = _matmul_roles(a.ndim, b.ndim, len(out_shape))
    out_bytes = prod(out_shape) * max(a.dtype.itemsize, b.dtype.itemsize)
    role_of = {}
    for src, roles in ((a, ra), (b, rb)):
        for role, ax in roles.items():
            # a split axis sets the output's counts only where it is not broadcast
            if src.split == ax and (role not in ro or src.shape[ax] == out_shape[ro[role]]):
                role_of.setdefault(role, (src.split, src.counts))
    cands = []

    def counts_for(role, n):
        return role_of[role][1] if role in role_of else balanced_counts(n, p)

    for role, oax in ro.items():
        n = out_shape[oax]
        c = counts_for(role, n)
        req = []
        for src, roles in ((a, ra), (b, rb)):
            ax = roles.get(role)
            req.append((ax, c) if ax is not None and src.shape[ax] == n else R)
        cands.append((req[0], req[1], (oax, c), False))
    kc = counts_for("k", a.shape[-1])
    cands.append(((ra["k"], kc), (rb["k"], kc), R, True))
    cands.append((R, R, R, False))
    # the candidate that keeps the current layouts goes first so it wins ties
    cands.sort(key=lambda c: not (same_layout(c[0], a.layout) and same_layout(c[1], b.layout)))
    best, best_cost = None, None
    for cand in cands:
        cost = _add(move_cost(a, cand[0]), move_cost(b, cand[1]))
        if cand[3]:
            cost = _add(cost, (out_bytes, out_bytes * p, 1) if p > 1 else (0, 0, 1))
        if best_cost is None or cost < best_cost:
            best, best_cost = cand, cost
    return best


# ---------------------------------------------------------------- reshape
def reshape_plan(shape, newshape, split, counts):
    """(required input layout, output layout) for a reshape done block by block.

    A block-local reshape is exact when the split axis survives with the same prefix product:
    kept as is, merged with the axes after it (counts scale up), or cut into several axes of
    which it is the first (every rank's count divisible by the rest). Otherwise the input is
    replicated first and the output split on the first axis.
    """
    if split is None:
        return R, R
    pre = prod(shape[:split])
    post_old = shape[split + 1:]
    for j in range(len(newshape)):
        if prod(newshape[:j]) != pre:
            continue
        n_old, n_new = shape[split], newshape[j]
        # merge: new axis j = old split axis times the next t old axes
        for t in range(len(post_old) + 1):
            f = prod(post_old[:t])
            if n_new == n_old * f and (f > 0 or n_old == 0):
                return (split, counts), (j, tuple(c * f for c in counts))
        # cut: old split axis = new axis j times the next t new axes
        for t in range(1, len(newshape) - j):
            f = prod(newshape[j + 1:j + 1 + t])
            if f > 0 and n_old == n_new * f and all(c % f == 0 for c in counts):
                return (split, counts), (j, tuple(c // f for c in counts))
    if not newshape:
        return R, R
    return R, (0, balanced_counts(newshape[0], len(counts)))


# ---------------------------------------------------------------- slicing
def slice_shape(shape, slices):
    return tuple(len(range(*s)) for s in slices)


def slice_plan(aval, slices, p: int):
    """(required input layout, output layout) for basic slicing."""
    if aval.split is None:
        return R, R
    k = aval.split
    start, stop, step = slices[k]
    if step < 0:  # blocks come out in reverse rank order; rebalanced by one all-to-all
        return aval.layout, (k, balanced_counts(len(range(start, stop, step)), p))
    return aval.layout, (k, tuple(t1 - t0 for t0, t1 in slice_blocks(aval, slices[k])))


def slice_positions(start, stop, step, lo, hi) -> tuple[int, int]:
    """Half-open range [t0, t1) of positions, in the slice's own numbering, whose source
    index ``start + t * step`` lies in a block [lo, hi). Either sign of step."""
    n = len(range(start, stop, step))
    if step > 0:
        t0, t1 = -(-(lo - start) // step), -(-(hi - start) // step)
    else:
        t0, t1 = -(-(start - hi + 1) // -step), (start - lo) // -step + 1
    t0 = min(max(t0, 0), n)
    return t0, min(max(t1, t0), n)


def slice_blocks(aval, sl) -> list[tuple[int, int]]:
    """For each rank, the positions [t0, t1) of a slice along the split axis it holds."""
    return [slice_positions(*sl, o, o + c) for o, c in zip(offsets(aval.counts), aval.counts)]


def local_slice(start, stop, step, lo, hi) -> range:
    """The local indices a rank owning rows [lo, hi) takes for a global slice, in order."""
    t0, t1 = slice_positions(start, stop, step, lo, hi)
    r = range(start, stop, step)[t0:t1]
    return range(r.start - lo, r.stop - lo, step) if len(r) else range(0)


# ---------------------------------------------------------------- concatenate
def concat_plan(avals, axis, out_shape, p: int):
    """(required layout of each operand, output layout) for concatenation along ``axis``."""
    split_ops = [a for a in sorted(avals, key=lambda a: -a.nbytes) if a.split is not None]
    if not split_ops:
        return [R] * len(avals), R
    s = split_ops[0].split
    if s != axis:
        counts = split_ops[0].counts
        return [(s, counts)] * len(avals), (s, counts)
    out_counts = balanced_counts(out_shape[axis], p)
    oo = offsets(out_counts)
    req, start = [], 0
    for a in avals:
        n = a.shape[axis]
        req.append((axis, tuple(overlap(o, o + c, start, start + n)
                                for o, c in zip(oo, out_counts))))
        start += n
    return req, (axis, out_counts)
