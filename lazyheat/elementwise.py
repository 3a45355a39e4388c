"""Elementwise functions with NumPy 2 broadcasting and type promotion (weak Python scalars).

The output layout is the split of the operand cheapest to line up with (ties: the largest
operand, then the first); other operands are moved to match at run time, so operands split
on different axes just work.
"""

from __future__ import annotations

from . import _core
from ._array import LazyArray
from .creation import lazy
from .graph import dtypes as dt
from .graph.elementwise import EWISE
from .graph.errors import op_error
from .graph.ops import abstract_eval


def _operand(x):
    if isinstance(x, LazyArray) or (_core.is_scalar(x)) or x is None:
        return x
    return lazy(x)


def apply(op: str, *operands, dtype=None, **extra):
    """Build the elementwise node ``op(*operands)``."""
    ops = [_operand(o) for o in operands]
    arrays = [o for o in ops if isinstance(o, LazyArray)]
    if not arrays:
        first = next(i for i, o in enumerate(ops) if o is not None)
        ops[first] = lazy(ops[first])
        arrays = [ops[first]]
    _core.check_same(arrays, op)
    scalars = tuple((i, o) for i, o in enumerate(ops) if not isinstance(o, LazyArray))
    attrs = {"nargs": len(ops), "scalars": scalars, **extra}
    if op == "astype":
        attrs["cdtype"] = dt.as_dtype(dtype)
    nodes = [a._node for a in arrays]
    aval = abstract_eval(op, [n.aval for n in nodes], attrs)  # shape, dtype and layout
    out = aval.dtype
    compute = EWISE[op].compute
    if compute == "operands":  # comparisons, abs of complex: in the operands' own dtype
        cdt = dt.result_type(*[o.dtype if isinstance(o, LazyArray) else o for o in ops
                               if o is not None])
    elif compute == "bool":
        cdt = dt.bool_
    else:
        cdt = out
    if cdt.kind in "iu":
        cdt = _fit_int_scalars(op, ops, cdt, arrays)
        attrs["scalars"] = tuple((i, o) for i, o in enumerate(ops)
                                 if not isinstance(o, LazyArray))
    if op == "power" and out.kind in "biu" and _core.is_scalar(ops[1]) and \
            not isinstance(ops[1], bool) and ops[1] < 0:
        raise op_error(ValueError, op, "integers to negative integer powers are not allowed",
                       *(a.shape for a in arrays))
    attrs["cdtype"] = cdt
    return _core.make(op, nodes, attrs, aval)


def _fit_int_scalars(op, ops, cdt, arrays):
    """NumPy 2 rules for Python ints outside the integer dtype they meet: comparisons still
    compare values (computed in int64 here), ``clip`` clamps its bounds into the dtype's
    range, and anything else is an OverflowError at build time."""
    lo, hi = dt.int_range(cdt)
    for i, o in enumerate(ops):
        if not (_core.is_scalar(o) and isinstance(o, int) and not isinstance(o, bool)):
            continue
        if lo <= o <= hi:
            continue
        if EWISE[op].compute == "operands":  # comparisons still compare the values
            if not dt.int_range(dt.int64)[0] <= o <= dt.int_range(dt.int64)[1]:
                raise op_error(OverflowError, op, f"Python integer {o} out of bounds for int64")
            cdt = dt.int64
        elif op == "clip":
            ops[i] = min(max(o, lo), hi)
        else:
            raise op_error(OverflowError, op, f"Python integer {o} out of bounds for "
                           f"{cdt.name}", *(a.shape for a in arrays))
    return cdt


def _unary(name):
    def f(x):
        return apply(name, x)

    f.__name__ = name
    f.__doc__ = f"Elementwise ``{name}`` (NumPy semantics), lazily.\n\n" \
                f">>> lh.{name}(lh.arange(3)).shape\n(3,)\n"
    return f


def _binary(name):
    def f(x1, x2):
        return apply(name, x1, x2)

    f.__name__ = name
    f.__doc__ = f"Elementwise ``{name}`` of two operands, with NumPy broadcasting.\n\n" \
                f">>> lh.{name}(lh.arange(3), 2).shape\n(3,)\n"
    return f


_g = globals()
for _name, _def in EWISE.items():
    if _def.arity == 1 and _name != "astype":
        _g[_name] = _unary(_name)
    elif _def.arity == 2:
        _g[_name] = _binary(_name)

add, subtract, multiply = _g["add"], _g["subtract"], _g["multiply"]
divide = true_divide = _g["true_divide"]
absolute = _g["abs"]
abs = _g["abs"]  # noqa: A001 - NumPy's name
bitwise_not = _g["invert"]
pow = _g["power"]  # noqa: A001 - array API name


def round(x, decimals=0):  # noqa: A001 - NumPy's name
    """Round half to even to ``decimals`` decimal places (integers stay as they are).

    >>> lh.round(lh.array([0.5, 1.5, 2.25]), 1).numpy()
    array([0.5, 1.5, 2.2], dtype=float32)
    """
    return apply("round", x, decimals=int(decimals)) if decimals else apply("round", x)


around = round


def where(condition, x, y):
    """``x`` where ``condition`` holds, else ``y`` (broadcast, promoted as NumPy)."""
    return apply("where", condition, x, y)


def clip(x, a_min=None, a_max=None):
    """Limit values to ``[a_min, a_max]``; either bound may be None (not both)."""
    if a_min is None and a_max is None:
        raise op_error(ValueError, "clip", "one of a_min and a_max must be given")
    return apply("clip", x, a_min, a_max)


def astype(x, dtype):
    """``x`` cast to ``dtype`` (unsafe casting, as NumPy's ``astype``)."""
    return apply("astype", x, dtype=dtype)


__all__ = [n for n, d in EWISE.items() if d.arity <= 2 and n != "astype"] + [
    "divide", "true_divide", "absolute", "around", "bitwise_not", "pow", "where", "clip", "astype"]
