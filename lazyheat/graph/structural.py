"""Leaves, movement, contraction and plan-structure ops: their abstract evaluation and
layout rules (the rules themselves are in ``rules.py``, shared with the cost model)."""

from __future__ import annotations

from . import dtypes as dt
from . import rules as ru
from .layout import offsets
from .registry import Group, Needs, OpDef, keep_inputs, register

R = ru.R

# ---------------------------------------------------------------- leaves
# A leaf's aval is given when it is built (creation functions); re-planned as balanced.
register(*(OpDef(name, Group.LEAF, doc=doc, user_data=name in ("data", "param"))
           for name, doc in (
    ("data", "data a rank already holds (a user array or a materialized result)"),
    ("param", "the plan's i-th data leaf (plans are cached without their data)"),
    ("full", "a constant array"),
    ("arange", "evenly spaced values, as NumPy's arange"),
    ("linspace", "evenly spaced values over an interval, as NumPy's linspace"),
    ("eye", "ones on the k-th diagonal"),
    ("random", "counter-based random numbers: the same global array on any rank count"),
)))


# ---------------------------------------------------------------- matmul
def _infer_matmul(avals, attrs):
    a, b = avals
    return ru.matmul_shape(a, b), dt.promote(a.dtype, b.dtype)


def _matmul_layout(avals, attrs, shape, p):
    return ru.matmul_plan(avals[0], avals[1], shape, p)[2]


def _matmul_needs(avals, attrs, shape, out, p) -> Needs:
    req_a, req_b, _, partial = ru.matmul_plan(avals[0], avals[1], shape, p)
    return Needs((req_a, req_b), partial and p > 1)


# ---------------------------------------------------------------- movement
def _infer_transpose(avals, attrs):
    (x,) = avals
    return tuple(x.shape[a] for a in attrs["perm"]), x.dtype


def _transpose_layout(avals, attrs, shape, p):
    (x,) = avals
    return R if x.split is None else (attrs["perm"].index(x.split), x.counts)


def _infer_reshape(avals, attrs):
    return tuple(attrs["shape"]), avals[0].dtype


def _reshape_layout(avals, attrs, shape, p):
    (x,) = avals
    return ru.reshape_plan(x.shape, shape, x.split, x.counts)[1]


def _reshape_needs(avals, attrs, shape, out, p) -> Needs:
    (x,) = avals
    return Needs((ru.reshape_plan(x.shape, shape, x.split, x.counts)[0],))


def _infer_slice(avals, attrs):
    return ru.slice_shape(avals[0].shape, attrs["slices"]), avals[0].dtype


def _slice_layout(avals, attrs, shape, p):
    return ru.slice_plan(avals[0], attrs["slices"], p)[1]


def _slice_needs(avals, attrs, shape, out, p) -> Needs:
    return Needs((ru.slice_plan(avals[0], attrs["slices"], p)[0],))


def _infer_broadcast_to(avals, attrs):
    return tuple(attrs["shape"]), avals[0].dtype


def _broadcast_to_layout(avals, attrs, shape, p):
    return ru.broadcast_plan(avals[0], shape, p)[1]


def _broadcast_to_needs(avals, attrs, shape, out, p) -> Needs:
    return Needs((ru.broadcast_plan(avals[0], shape, p)[0],))


def _infer_repeat(avals, attrs):
    (x,), ax, reps = avals, attrs["axis"], attrs["repeats"]
    return x.shape[:ax] + (sum(reps),) + x.shape[ax + 1:], x.dtype


def _repeat_layout(avals, attrs, shape, p):
    """Each rank repeats its own rows: along the split axis its output block holds the
    repeats of its rows (possibly unbalanced); any other layout is kept."""
    (x,), ax, reps = avals, attrs["axis"], attrs["repeats"]
    if x.split != ax:
        return x.layout
    return ax, tuple(sum(reps[o:o + c]) for o, c in zip(offsets(x.counts), x.counts))


def _infer_concatenate(avals, attrs):
    axis = attrs["axis"]
    shape = list(avals[0].shape)
    shape[axis] = sum(a.shape[axis] for a in avals)
    out = avals[0].dtype
    for a in avals[1:]:
        out = dt.promote(out, a.dtype)
    return tuple(shape), out


def _concatenate_layout(avals, attrs, shape, p):
    return ru.concat_plan(avals, attrs["axis"], shape, p)[1]


def _concatenate_needs(avals, attrs, shape, out, p) -> Needs:
    return Needs(tuple(ru.concat_plan(avals, attrs["axis"], shape, p)[0]))


register(
    OpDef("matmul", Group.CONTRACTION, infer=_infer_matmul, layout=_matmul_layout,
          needs=_matmul_needs, resizable="one_rank",
          doc="matrix product (NumPy's matmul); a split contracted axis gives partial sums"),
    OpDef("transpose", Group.MOVEMENT, infer=_infer_transpose, layout=_transpose_layout,
          needs=keep_inputs, resizable="always",
          doc="permuted axes; the split axis moves with its data"),
    OpDef("reshape", Group.MOVEMENT, infer=_infer_reshape, layout=_reshape_layout,
          needs=_reshape_needs,
          doc="a new shape of the same size, block-local where the split axis survives"),
    OpDef("slice", Group.MOVEMENT, infer=_infer_slice, layout=_slice_layout,
          needs=_slice_needs,
          doc="basic slicing (start, stop, step per axis)"),
    OpDef("broadcast_to", Group.MOVEMENT, infer=_infer_broadcast_to,
          layout=_broadcast_to_layout, needs=_broadcast_to_needs,
          doc="an array repeated along broadcast axes (a view: no copy of the data)"),
    OpDef("repeat", Group.MOVEMENT, infer=_infer_repeat, layout=_repeat_layout,
          needs=keep_inputs,
          doc="each element repeated its own number of times along an axis (block-local)"),
    OpDef("concatenate", Group.MOVEMENT, infer=_infer_concatenate, layout=_concatenate_layout,
          needs=_concatenate_needs,
          doc="arrays joined along an existing axis"),
    OpDef("fused", Group.STRUCTURAL, doc="an elementwise group (and its closing reduction) run "
          "as one kernel"),
    OpDef("unbatch", Group.STRUCTURAL, view=True,
          doc="one collective's result out of a batched one"),
)
