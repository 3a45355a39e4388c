"""The op enumeration: every op lazyheat knows, by group, and abstract evaluation.

Importing this module registers every definition (one module per family) and fixes the
groups below, which every pass and the runtime read instead of keeping lists of op names::

    from lazyheat.graph import ops
    n.op in ops.COLLECTIVES        # redistribute, allreduce, allgather, batch_allgather
    ops.opdef(n.op).fusion         # how fusion treats it

``abstract_eval`` is the one place an op's output aval is computed, from its inputs' avals
and its attributes: the public API builds nodes with it, and re-planning for another world
size (``passes/retarget``) derives every layout again with it.
"""

from __future__ import annotations

from . import (  # noqa: F401 - they register ops
    collectives,
    elementwise,
    fft,
    hsvd,
    index,
    io,
    linalg,
    nearest,
    reduce,
    scan,
    select,
    sort,
    structural,
    tsqr,
)
from .aval import Aval
from .dtypes import DType
from .elementwise import EWISE, ewise_dtype  # noqa: F401 - re-exported
from .reduce import REDUCTIONS, reduce_dtype  # noqa: F401 - re-exported
from .registry import OPS, Fusion, Group, Needs, OpDef, names_in, opdef  # noqa: F401

LEAVES = names_in(Group.LEAF)
ELEMENTWISE = names_in(Group.ELEMENTWISE)
COLLECTIVES = names_in(Group.COLLECTIVE)
# ops that may read a partial value without holding one: they combine the ranks' parts
READS_PARTIAL = frozenset(n for n, d in OPS.items() if d.reads_partial)
FUSABLE = frozenset(n for n, d in OPS.items() if d.fusion is Fusion.MEMBER)
CLOSERS = frozenset(n for n, d in OPS.items() if d.fusion is Fusion.CLOSER)
# collectives of reductions whose small states may share one all-gather
BATCHABLE = frozenset(n for n in COLLECTIVES if OPS[n].comm.batchable)
NONBLOCKING = frozenset(n for n in COLLECTIVES if OPS[n].comm.nonblocking)
USER_DATA = frozenset(n for n, d in OPS.items() if d.user_data)
VIEWS = frozenset(n for n, d in OPS.items() if d.view)
DATA_DEPENDENT = frozenset(n for n, d in OPS.items() if d.data_dependent)
# ops whose aval follows from their op, attributes and inputs' avals by the registry's rule,
# so their plans depend on sizes only through those avals (``resizable="always"``): the
# shape-polymorphic plans (``passes/polymorph.py``) and the signatures that leave such avals
# out (``signature.py``) read this one set
RESIZABLE = ELEMENTWISE | frozenset(n for n, d in OPS.items() if d.resizable == "always")


def layout_of(op: str, avals, attrs, shape, p: int) -> tuple:
    """The output layout ``op``'s rule chooses for inputs ``avals`` on ``p`` ranks."""
    rule = opdef(op).layout
    if rule is None:
        raise NotImplementedError(f"op {op!r} has no layout rule")
    return rule(avals, attrs, shape, p)


def needs_of(node, inputs) -> Needs:
    """What ``node``'s op needs of its (lowered) ``inputs`` to produce its own layout."""
    rule = opdef(node.op).needs
    if rule is None:
        raise NotImplementedError(f"op {node.op!r} has no input-layout rule")
    a = node.aval
    return rule([i.aval for i in inputs], dict(node.attrs), a.shape, a.layout, a.comm.size)


def value_key(v):
    """``v`` as a memo key with its type in it: ``2``, ``2.0`` and ``True`` are equal dict
    keys in Python but not to type promotion, and floats go by their bits (``0.0`` and
    ``-0.0`` stay distinct). Raises TypeError for what it does not know (no memo then)."""
    t = type(v)
    if t is tuple:
        return tuple([value_key(x) for x in v])
    if t is float:
        return (t, v.hex())
    if t is int or t is bool or t is str or t is DType or v is None:
        return (t, v)
    if t is complex:
        return (t, v.real.hex(), v.imag.hex())
    raise TypeError(f"no memo key for {t.__name__}")


# (op, inputs' avals, attrs) -> output aval: inference is a pure function of them, and the
# same small expression is built again and again (a loop body). Bounded by clearing.
_EVAL_MEMO: dict = {}
MEMO_LIMIT = 4096


def abstract_eval(op: str, avals: list, attrs: dict) -> Aval:
    """The output aval of ``op`` over inputs with ``avals``: shape and dtype from the op's
    ``infer``, layout from its layout rule, device and communicator from the first input.
    Raises the op's build-time error (the same on every rank) for invalid input; errors are
    never memoized, so they are raised (and name the user's line) on every call."""
    try:
        key = (op, tuple([(a, a.comm) for a in avals]),
               tuple([(k, value_key(v)) for k, v in attrs.items()]))
    except TypeError:
        return eval_aval(op, avals, attrs)
    aval = _EVAL_MEMO.get(key)
    if aval is None:
        aval = eval_aval(op, avals, attrs)
        if len(_EVAL_MEMO) >= MEMO_LIMIT:
            _EVAL_MEMO.clear()
        _EVAL_MEMO[key] = aval
    return aval


def eval_aval(op: str, avals: list, attrs: dict) -> Aval:
    """``abstract_eval`` without the memo."""
    d = OPS.get(op)  # (called for every node the API builds: no more than a dict lookup)
    if d is None or d.infer is None:
        raise NotImplementedError(f"op {op!r} is not in the registry or is built by the "
                                  "passes only")
    shape, dtype = d.infer(avals, attrs)
    a0 = avals[0]
    split, counts = d.layout(avals, attrs, shape, a0.comm.size)
    return Aval(tuple(shape), dtype, split, counts, a0.device, a0.comm)


def holds_partial(n) -> bool:
    """Whether ``n``'s local value is this rank's part of a value that a later collective
    combines (a partial reduction, or an op run on partial sums)."""
    if n.op == "fused":
        closer = n.attr("closer")
        return holds_partial(closer if closer is not None else n.attr("members")[-1])
    return OPS[n.op].yields_partial or n.attr("partial") is not None
