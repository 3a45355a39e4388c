"""Reductions: the one table of every reduction and the ops that carry them across ranks.

A reduction over the split axis runs in three steps (see ``passes/lower``): each rank reduces
its block into a *partial state* (``reduce_partial``), one collective combines the ranks'
states (an all-reduce where the state combines elementwise with an MPI operator, else an
``allreduce_state`` that combines fixed-size states pairwise), and, where needed, a *merge*
turns the combined state into the result (``reduce_merge``). ``Reduction`` says which of
these a reduction takes and what its state is; ``state_aval`` types the state, so byte
counts and memory estimates come from avals, not from the runtime's tuples.

Adding a reduction is one entry of ``REDUCTIONS`` here and its kernels in
``runtime/kernels/reduce.py``; the public function ``lh.<name>`` follows from ``public``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from . import dtypes as dt
from . import rules as ru
from .aval import Aval, TupleAval
from .errors import op_error
from .registry import Fusion, Group, Needs, OpDef, register


def _same(d):
    return d


def _real_of(d):
    return {dt.complex64: dt.float32, dt.complex128: dt.float64}.get(d, d)


def _mean_dtype(d):
    return d if d.is_inexact else dt.float64


def _var_dtype(d):
    return _real_of(_mean_dtype(d))


def _norm_dtype(d):  # NumPy converts non-float input to float64 first
    return _real_of(d) if d.is_inexact else dt.float64


class Reduction(NamedTuple):
    """One reduction.

    - ``dtype``: result dtype from the input's;
    - ``collective``: how ranks' states combine, ``("allreduce", mpi op)`` (an MPI
      all-reduce) or ``("state", None)`` (a fixed-size state combined pairwise by
      ``allreduce_state``: all-gather, recursive doubling or halving, by cost);
    - ``merge``: a ``reduce_merge`` step follows the collective;
    - ``state``: what one rank's partial state is: "value" (the result's shape and dtype),
      "sum32" (the value, accumulated in float32 for half precision), "arg" (value, index),
      "moments" (count, mean, M2), "extremes" (min, max);
    - ``chunk``: how a fused group's per-chunk results combine ("add", "mul", "min", "max",
      "or", "and"), or None when the group must see its whole value;
    - ``linear``: linear in the input (sum-like): pushed through transposes and sums;
    - ``compiled``: the compile tier may close a group with it (a single-tensor state);
    - ``needs_data``: no identity: refuses zero-size reductions; ``real``: no complex input.
    """

    dtype: Callable
    collective: tuple
    merge: bool
    state: str
    chunk: str | None = None
    linear: bool = False
    compiled: bool = False
    needs_data: bool = False
    real: bool = False
    public: bool = True
    doc: str = ""


REDUCTIONS = {
    "sum": Reduction(dt.sum_dtype, ("allreduce", "sum"), False, "value", "add", True, True,
                     doc="Sum of elements; bools and integers accumulate in int64."),
    "prod": Reduction(dt.sum_dtype, ("allreduce", "prod"), False, "value", "mul",
                      compiled=True, doc="Product of elements."),
    "mean": Reduction(_mean_dtype, ("allreduce", "sum"), True, "sum32", "add", True, True,
                      doc="Arithmetic mean; integers give float64, as NumPy."),
    "var": Reduction(_var_dtype, ("state", None), True, "moments",
                     doc="Variance with ``ddof`` delta degrees of freedom; per-rank moments "
                     "merged exactly."),
    "std": Reduction(_var_dtype, ("state", None), True, "moments",
                     doc="Standard deviation (square root of ``var``)."),
    "min": Reduction(_same, ("state", None), True, "value", "min", compiled=True,
                     needs_data=True, real=True, doc="Minimum; NaN propagates as in NumPy."),
    "max": Reduction(_same, ("state", None), True, "value", "max", compiled=True,
                     needs_data=True, real=True, doc="Maximum; NaN propagates as in NumPy."),
    "argmin": Reduction(lambda d: dt.int64, ("state", None), True, "arg",
                        needs_data=True, real=True,
                        doc="Index of the minimum (first occurrence; flat index when "
                        "``axis`` is None)."),
    "argmax": Reduction(lambda d: dt.int64, ("state", None), True, "arg",
                        needs_data=True, real=True,
                        doc="Index of the maximum (first occurrence; flat index when "
                        "``axis`` is None)."),
    "any": Reduction(lambda d: dt.bool_, ("allreduce", "lor"), False, "value", "or",
                     compiled=True, doc="Whether any element is true."),
    "all": Reduction(lambda d: dt.bool_, ("allreduce", "land"), False, "value", "and",
                     compiled=True, doc="Whether all elements are true."),
    "norm": Reduction(_norm_dtype, ("allreduce", "sum"), True, "value", compiled=True,
                      public=False),
    "ptp": Reduction(_same, ("state", None), True, "extremes", needs_data=True,
                     real=True, doc="Range of values (maximum - minimum), as NumPy's "
                     "``ptp``; per-rank (min, max) pairs are gathered and merged."),
    # the shared state of var, std and mean of real floating data (planned by lowering)
    "moments": Reduction(_same, ("state", None), True, "moments", public=False),
}


def reduce_dtype(fn: str, d: dt.DType) -> dt.DType:
    return REDUCTIONS[fn].dtype(d)


# ---------------------------------------------------------------- typed states
def _replicated(aval, shape, dtype) -> Aval:
    return Aval(tuple(shape), dtype, None, None, aval.device, aval.comm)


def state_aval(fn: str, src: Aval, out: Aval):
    """The aval of one rank's partial state of reduction ``fn`` of ``src`` (result ``out``)."""
    kind = REDUCTIONS[fn].state
    shape = out.shape
    if kind == "value":
        return _replicated(out, shape, out.dtype)
    if kind == "sum32":  # half precision sums would overflow: they travel as float32
        return _replicated(out, shape, dt.float32 if out.dtype.itemsize < 4 else out.dtype)
    if kind == "arg":
        value = dt.uint8 if src.dtype is dt.bool_ else src.dtype
        return TupleAval((_replicated(out, shape, value), _replicated(out, shape, dt.int64)),
                         ("value", "index"))
    if kind == "extremes":
        v = _replicated(out, shape, src.dtype)
        return TupleAval((v, v), ("min", "max"))
    # moments: count, mean (complex for complex data), M2, all in float64
    mean = dt.complex128 if src.dtype.is_complex else dt.float64
    return TupleAval((_replicated(out, (), dt.float64), _replicated(out, shape, mean),
                      _replicated(out, shape, dt.float64)), ("count", "mean", "m2"))


def local_moments_aval(src: Aval, out: Aval) -> TupleAval:
    """A rank's complete moments state of its own data: (M2, mean, n) in the working dtype
    (float32 for half precision)."""
    acc = dt.float32 if src.dtype.itemsize < 4 else src.dtype
    return TupleAval((out.with_(dtype=acc), out.with_(dtype=acc),
                      _replicated(out, (), dt.int64)), ("m2", "mean", "n"))


def gathered(aval):
    """The aval of every rank's ``aval`` stacked along a new leading axis (an all-gather)."""
    p = aval.comm.size
    parts = tuple(_replicated(a, (p,) + tuple(a.shape), a.dtype) for a in aval.parts)
    if isinstance(aval, TupleAval):
        return TupleAval(parts, aval.names)
    return parts[0]


# ---------------------------------------------------------------- the reduce op
def _reduce_result(x, fn, axes, keepdims, dtype) -> tuple:
    """(shape, dtype) of reduction ``fn`` of ``x`` over ``axes``; raises its build-time
    errors."""
    r = REDUCTIONS[fn]
    if r.real and x.dtype.is_complex:
        raise op_error(TypeError, fn, f"not supported for complex dtypes ({x.dtype.name})",
                       x.shape)
    if fn == "ptp" and x.dtype is dt.bool_:  # NumPy has no boolean subtract
        raise op_error(TypeError, fn, "not supported for the bool dtype", x.shape)
    if r.needs_data and any(x.shape[a] == 0 for a in axes):
        raise op_error(ValueError, fn, "zero-size array to reduction operation which has no "
                       "identity", x.shape)
    out = r.dtype(x.dtype) if dtype is None else dt.as_dtype(dtype)
    return ru.reduce_shape(x.shape, axes, keepdims), out


def _infer_reduce(avals, attrs):
    return _reduce_result(avals[0], attrs["fn"], attrs["axes"], attrs["keepdims"],
                          attrs.get("dtype"))


def _reduce_layout(avals, attrs, shape, p):
    return ru.reduce_layout(avals[0], attrs["axes"], attrs["keepdims"])[0]


# (fn, input dtype, ``dtype`` given) -> result dtype, for what passed the dtype checks: a
# few hundred at most. The shape's checks and the layout are made on every call.
_RESULT_DTYPE: dict = {}


def reduce_aval(x: Aval, fn: str, axes: tuple, keepdims: bool, dtype=None) -> Aval:
    """The output aval of ``reduce`` (``fn`` of ``x`` over normalized ``axes``; ``dtype`` a
    DType or None): what ``abstract_eval`` gives from the registry's rules above, computed
    without its memo key, as the public API builds every reduction through here."""
    key = (fn, x.dtype.name, None if dtype is None else dtype.name)
    out = _RESULT_DTYPE.get(key)
    if out is None or REDUCTIONS[fn].needs_data:
        shape, out = _reduce_result(x, fn, axes, keepdims, dtype)
        _RESULT_DTYPE[key] = out
    elif keepdims or len(axes) != len(x.shape):
        shape = ru.reduce_shape(x.shape, axes, keepdims)
    else:
        shape = ()
    if x.split is None:
        return Aval(shape, out, None, None, x.device, x.comm)
    split, counts = ru.reduce_layout(x, axes, keepdims)[0]
    return Aval(shape, out, split, counts, x.device, x.comm)


def _reduce_needs(avals, attrs, shape, out, p) -> Needs:
    (x,) = avals
    _, partial = ru.reduce_layout(x, attrs["axes"], attrs["keepdims"])
    return Needs((x.layout,), partial and p > 1)


register(
    OpDef("reduce", Group.REDUCTION, infer=_infer_reduce, layout=_reduce_layout,
          needs=_reduce_needs, resizable="always",
          fusion=Fusion.CLOSER, doc="reduction ``fn`` of one input over ``axes``"),
    OpDef("reduce_partial", Group.REDUCTION, fusion=Fusion.CLOSER, yields_partial=True,
          doc="this rank's partial state of a reduction over the split axis"),
    OpDef("reduce_merge", Group.COMBINER, reads_partial=True,
          doc="the result of a reduction from its combined partial states"),
    OpDef("moments_final", Group.COMBINER, doc="mean, var or std from a local moments state"),
    OpDef("moments_combine", Group.COMBINER, reads_partial=True,
          doc="a moments state over more axes from one over fewer (Chan's update)"),
)


# ---------------------------------------------------------------- counting reductions
# bincount and histogram reduce every element of their input into a vector of counts whose
# length is fixed when the op is built (the public functions run a small min/max plan first
# where it depends on the data). Each rank counts its own block; over a split input the
# counts are partial sums that one ``allreduce[sum]`` of length x itemsize bytes combines.
def _check_weights(fn, avals):
    if len(avals) > 1 and avals[1].shape != avals[0].shape:
        raise op_error(ValueError, fn, "weights must have the shape of the data",
                       avals[0].shape, avals[1].shape)


def _infer_bincount(avals, attrs):
    _check_weights("bincount", avals)
    # NumPy counts in intp and sums weights as float64
    return (attrs["length"],), dt.float64 if len(avals) > 1 else dt.int64


def _infer_histogram(avals, attrs):
    _check_weights("histogram", avals)
    return (len(attrs["edges"]) - 1,), avals[1].dtype if len(avals) > 1 else dt.int64


def _counts_layout(avals, attrs, shape, p):
    return None, None  # a short vector: every rank holds all of it


def _counts_needs(avals, attrs, shape, out, p) -> Needs:
    """Every input in the layout of the first split one, so data and weights line up block
    by block (a replicated input is sliced locally); split data leaves partial counts."""
    lead = next((a for a in avals if a.split is not None), avals[0])
    return Needs(tuple(lead.layout for _ in avals), lead.split is not None and p > 1)


register(
    OpDef("bincount", Group.REDUCTION, infer=_infer_bincount, layout=_counts_layout,
          needs=_counts_needs, doc="occurrences (or summed weights) of each value 0..length-1"),
    OpDef("histogram", Group.REDUCTION, infer=_infer_histogram, layout=_counts_layout,
          needs=_counts_needs, doc="counts (or summed weights) of the data in each bin"),
)
