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
from .graph import rules as ru
from .graph.aval import Aval
from .graph.elementwise import EWISE
from .graph.errors import op_error
from .graph.node import Node
from .graph.ops import MEMO_LIMIT, eval_aval, value_key
from .graph.source import user_location


def _operand(x):
    if isinstance(x, LazyArray) or (_core.is_scalar(x)) or x is None:
        return x
    return lazy(x)


# What ``apply`` infers beyond shape and layout, keyed free of shapes: the op, then for each
# operand its dtype's name (an array), its value (a Python int: overflow checks, clip's
# clamping and integer powers read it) or its type (bool, float, complex, None: weak
# promotion reads nothing else), then the extra attributes and ``dtype`` by value. It maps
# to (result dtype, compute dtype, the int scalars clamped into range as (position, value)).
# Shapes reach the result through broadcasting and the layout rule only, which every call
# computes, so a new length costs no inference. Errors are never memoized.
_MEMO: dict = {}


def apply(op: str, *operands, dtype=None, **extra):
    """Build the elementwise node ``op(*operands)``."""
    ops = list(operands)
    key, arrays, keyed = [op], [], True
    for i, o in enumerate(ops):
        t = type(o)
        if t is LazyArray:
            arrays.append(o)
            key.append(o._node.aval.dtype.name)
        elif t is int:
            key.append(o)
        elif t is float or t is bool or t is complex or o is None:
            key.append(t)
        elif isinstance(o, LazyArray):
            arrays.append(o)
            key.append(o._node.aval.dtype.name)
        elif _core.is_scalar(o):  # a subclass of a Python scalar type: inferred every time
            keyed = False
        else:
            ops[i] = o = lazy(o)
            arrays.append(o)
            key.append(o._node.aval.dtype.name)
    if not arrays:  # scalars only: the first becomes a 0-d array
        first = next(i for i, o in enumerate(ops) if o is not None)
        ops[first] = lazy(ops[first])
        return apply(op, *ops, dtype=dtype, **extra)
    if len(arrays) > 1:
        _core.check_same(arrays, op)
    nodes = tuple([a._node for a in arrays])
    if extra or dtype is not None:
        try:
            key = (tuple(key), tuple([(k, value_key(v)) for k, v in extra.items()]),
                   value_key(dtype))
        except TypeError:  # an attribute with no memo key
            keyed = False
    else:
        key = tuple(key)
    hit = _MEMO.get(key) if keyed else None
    if hit is None:
        aval, cdt, clamped = _infer(op, ops, arrays, nodes, dtype, extra)
        if keyed:
            if len(_MEMO) >= MEMO_LIMIT:
                _MEMO.clear()
            _MEMO[key] = (aval.dtype, cdt, clamped)
    else:
        out, cdt, clamped = hit
        aval = _aval(op, [n.aval for n in nodes], out)
        for i, v in clamped:
            ops[i] = v
    scalars = tuple([(i, o) for i, o in enumerate(ops) if not isinstance(o, LazyArray)])
    if extra:
        attrs = {"nargs": len(ops), "scalars": scalars, **extra, "cdtype": cdt}
    else:  # already in the sorted order ``Node`` keeps
        attrs = (("cdtype", cdt), ("nargs", len(ops)), ("scalars", scalars))
    return LazyArray(Node(op, nodes, attrs, aval, user_location(2)))


def binary(op: str, x, y):
    """``apply(op, x, y)``: the operators' path, with what a memo hit needs inlined for two
    arrays, or an array and a Python scalar; anything else (and every miss) goes through
    ``apply``."""
    tx, ty = type(x), type(y)
    if tx is LazyArray:
        nx = x._node
        ax = nx.aval
        if ty is LazyArray:
            ny = y._node
            ay = ny.aval
            hit = _MEMO.get((op, ax.dtype.name, ay.dtype.name))
            if hit is None or ay.comm is not ax.comm or ay.device != ax.device:
                return apply(op, x, y)  # (which raises what ``check_same`` finds)
            out, cdt = hit[0], hit[1]
            if ax.shape == ay.shape and ax.split is None and ay.split is None:
                aval = ax if out is ax.dtype else ay if out is ay.dtype else \
                    Aval(ax.shape, out, None, None, ax.device, ax.comm)
            else:
                aval = _aval(op, [ax, ay], out)
            nodes, scalars, plain = (nx, ny), (), True
        elif ty is float or ty is int or ty is bool or ty is complex:
            hit = _MEMO.get((op, ax.dtype.name, y if ty is int else ty))
            if hit is None or hit[2]:
                return apply(op, x, y)
            out, cdt = hit[0], hit[1]
            aval = ax if out is ax.dtype else \
                Aval(ax.shape, out, ax.split, ax.counts, ax.device, ax.comm)
            nodes, scalars, plain = (nx,), ((1, y),), ty is int or ty is bool
        else:
            return apply(op, x, y)
    elif ty is LazyArray and (tx is float or tx is int or tx is bool or tx is complex):
        ny = y._node
        ay = ny.aval
        hit = _MEMO.get((op, x if tx is int else tx, ay.dtype.name))
        if hit is None or hit[2]:
            return apply(op, x, y)
        out, cdt = hit[0], hit[1]
        aval = ay if out is ay.dtype else \
            Aval(ay.shape, out, ay.split, ay.counts, ay.device, ay.comm)
        nodes, scalars, plain = (ny,), ((0, x),), tx is int or tx is bool
    else:
        return apply(op, x, y)
    return LazyArray(Node(op, nodes, (("cdtype", cdt), ("nargs", 2), ("scalars", scalars)),
                          aval, user_location(2), plain))


def _aval(op, avals, out):
    """The output aval of an elementwise op over ``avals`` with result dtype ``out``: the
    broadcast shape, the layout rule's choice (an input's aval itself where it matches)."""
    a0 = avals[0]
    if len(avals) == 1:  # one array: its shape and layout (``ewise_layout`` of one operand)
        if out is a0.dtype:
            return a0
        return Aval(a0.shape, out, a0.split, a0.counts, a0.device, a0.comm)
    shape = ru.broadcast_shapes([a.shape for a in avals], op)
    split = counts = None
    for a in avals:
        if a.split is not None:
            split, counts = ru.ewise_layout(avals, shape, a0.comm.size)
            break
    for a in avals:
        if a.dtype is out and a.shape == shape and a.split == split and a.counts == counts:
            return a
    return Aval(shape, out, split, counts, a0.device, a0.comm)


def _infer(op, ops, arrays, nodes, dtype, extra) -> tuple:
    """The output aval, the dtype the kernel computes in and the int scalars clamped into
    range (``(position, value)`` pairs, also set in ``ops``) of ``apply``; raises its
    build-time errors."""
    scalars = tuple((i, o) for i, o in enumerate(ops) if not isinstance(o, LazyArray))
    attrs = {"nargs": len(ops), "scalars": scalars, **extra}
    if op == "astype":
        attrs["cdtype"] = dt.as_dtype(dtype)
    aval = eval_aval(op, [n.aval for n in nodes], attrs)  # shape, dtype and layout
    out = aval.dtype
    compute = EWISE[op].compute
    if compute == "operands":  # comparisons, abs of complex: in the operands' own dtype
        cdt = dt.result_type(*[o.dtype if isinstance(o, LazyArray) else o for o in ops
                               if o is not None])
    elif compute == "inexact":  # isclose: the operands' dtype promoted with a Python float
        cdt = dt.result_type(*[o.dtype if isinstance(o, LazyArray) else o for o in ops], 1.0)
    elif compute == "bool":
        cdt = dt.bool_
    else:
        cdt = out
    clamped = ()
    if cdt.kind in "iu":
        clamped = _fit_int_scalars(op, ops, cdt, arrays)
    if op == "power" and out.kind in "biu" and _core.is_scalar(ops[1]) and \
            not isinstance(ops[1], bool) and ops[1] < 0:
        raise op_error(ValueError, op, "integers to negative integer powers are not allowed",
                       *(a.shape for a in arrays))
    return aval, cdt, clamped


def _fit_int_scalars(op, ops, cdt, arrays) -> tuple:
    """NumPy 2 rules for Python ints outside the integer dtype they meet: comparisons still
    compare values (the kernel's answer is then the same for every element), ``clip``
    clamps its bounds into the dtype's range (set in ``ops``; returned as ``(position,
    value)`` pairs), and anything else is an OverflowError at build time."""
    lo, hi = dt.int_range(cdt)
    clamped = []
    for i, o in enumerate(ops):
        if not (_core.is_scalar(o) and isinstance(o, int) and not isinstance(o, bool)):
            continue
        if lo <= o <= hi:
            continue
        if EWISE[op].compute == "operands":  # comparisons still compare the values: the
            continue  # kernel answers a bound outside the dtype as a constant
        if op == "clip":
            ops[i] = min(max(o, lo), hi)
            clamped.append((i, ops[i]))
        else:
            raise op_error(OverflowError, op, f"Python integer {o} out of bounds for "
                           f"{cdt.name}", *(a.shape for a in arrays))
    return tuple(clamped)


def _takes_integers(name) -> bool:
    try:
        EWISE[name].dtype(name, [dt.int64])
    except TypeError:
        return False
    return True


def _unary(name):
    def f(x):
        return apply(name, x)

    example = "lh.arange(3)" if _takes_integers(name) else "lh.arange(3.0)"
    f.__name__ = name
    f.__doc__ = f"Elementwise ``{name}`` (NumPy semantics), lazily.\n\n" \
                f">>> lh.{name}({example}).shape\n(3,)\n"
    return f


def _binary(name):
    def f(x1, x2):
        return binary(name, x1, x2)

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
bitwise_not = bitwise_invert = _g["invert"]
bitwise_left_shift, bitwise_right_shift = _g["left_shift"], _g["right_shift"]
pow = _g["power"]  # noqa: A001 - array API name
# the Array API's names of NumPy's inverse trigonometric functions
acos, asin, atan, atan2 = _g["arccos"], _g["arcsin"], _g["arctan"], _g["arctan2"]
acosh, asinh, atanh = _g["arccosh"], _g["arcsinh"], _g["arctanh"]
degrees, radians = _g["rad2deg"], _g["deg2rad"]


def round(x, decimals=0):  # noqa: A001 - NumPy's name
    """Round half to even to ``decimals`` decimal places (integers stay as they are; complex
    values round their real and imaginary parts).

    >>> lh.round(lh.array([0.5, 1.5, 2.25]), 1).numpy()
    array([0.5, 1.5, 2.2], dtype=float32)
    """
    return apply("round", x, decimals=int(decimals)) if decimals else apply("round", x)


around = round


def where(condition, x, y):
    """``x`` where ``condition`` holds, else ``y`` (broadcast, promoted as NumPy)."""
    return apply("where", condition, x, y)


def clip(x, /, min=None, max=None, *, a_min=None, a_max=None):  # noqa: A002 - the standard's
    """Limit values to ``[min, max]`` (arrays or scalars, broadcast); either bound may be None,
    and with both None the result is a copy of ``x``. A NaN bound gives NaN. NumPy's keyword
    names ``a_min``/``a_max`` are accepted too.

    >>> lh.clip(lh.arange(5), 1, 3).numpy()
    array([1, 1, 2, 3, 3])
    """
    lo = a_min if min is None else min
    hi = a_max if max is None else max
    return apply("clip", x, lo, hi)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise ``|a - b| <= atol + rtol * |b|`` (NumPy's ``isclose``): equal infinities
    are close, NaNs only with ``equal_nan``.

    >>> lh.isclose(lh.array([1.0, 2.0]), lh.array([1.0 + 1e-9, 2.1])).numpy()
    array([ True, False])
    """
    return apply("isclose", a, b, rtol=float(rtol), atol=float(atol),
                 equal_nan=bool(equal_nan))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """Whether every element of ``a`` is close to ``b`` (``isclose`` everywhere), as NumPy's
    and HeAT's ``allclose``: a Python bool, so it computes (one all-reduce of a flag).

    >>> lh.allclose(lh.array([1.0, 2.0], split=0), lh.array([1.0, 2.0 + 1e-9]))
    True
    """
    return bool(isclose(a, b, rtol, atol, equal_nan).all())


def array_equal(a1, a2, equal_nan=False) -> bool:
    """Whether two arrays have the same shape and elements (NumPy's ``array_equal``; NaNs
    equal with ``equal_nan``): a Python bool, so it computes."""
    from .creation import lazy

    a1, a2 = lazy(a1), lazy(a2)
    if tuple(a1.shape) != tuple(a2.shape):
        return False
    eq = apply("equal", a1, a2)
    if equal_nan and a1.dtype.is_inexact and a2.dtype.is_inexact:
        eq = apply("logical_or", eq, apply("logical_and", apply("isnan", a1),
                                           apply("isnan", a2)))
    return bool(eq.all())


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN replaced by ``nan``, infinities by ``posinf``/``neginf`` (default: the dtype's
    largest and smallest finite values); integers unchanged. The result is always new.

    >>> lh.nan_to_num(lh.array([float("nan"), 1.0])).numpy()
    array([0., 1.], dtype=float32)
    """
    return apply("nan_to_num", x, nan=float(nan),
                 posinf=None if posinf is None else float(posinf),
                 neginf=None if neginf is None else float(neginf))


def astype(x, dtype, /, *, copy=True, device=None):
    """``x`` cast to ``dtype`` (unsafe casting, as NumPy's ``astype``); ``copy=False`` returns
    ``x`` itself when nothing changes. ``device`` moves the result (``to_device``).

    >>> lh.astype(lh.arange(3), lh.float32).dtype
    lazyheat.float32
    """
    x = _operand(x)
    target = dt.as_dtype(dtype)
    out = x if not copy and x.dtype == target else apply("astype", x, dtype=target)
    if device is not None and _core.get_device(device) != out.device:
        out = out.to_device(device)
    return out


__all__ = [n for n, d in EWISE.items() if d.arity <= 2 and n != "astype"] + [
    "divide", "true_divide", "absolute", "around", "bitwise_not", "pow", "where", "clip",
    "astype", "bitwise_invert", "bitwise_left_shift", "bitwise_right_shift", "acos", "asin",
    "atan", "atan2", "acosh", "asinh", "atanh", "degrees", "radians", "allclose",
    "array_equal"]
