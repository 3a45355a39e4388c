"""Elementwise ops: the one table of every elementwise op, with its arity, dtype rule and
the torch function that computes it.

Each dtype rule maps the operands' dtypes (DType for arrays, Python scalars as weak values)
to the result dtype, or raises ``TypeError`` naming the op and dtypes, as NumPy would refuse
them. Scalars are not graph nodes: an elementwise node keeps them in its ``scalars`` attribute
as ``(position, value)`` pairs, so the op still sees its operands in the user's order.

Adding an elementwise op is one line of ``EWISE``: its name (which becomes ``lh.<name>``),
arity, dtype rule, the name of the ``torch`` function of the same semantics (None where the
runtime has a kernel of its own, see ``runtime/kernels/elementwise.py``) and, where it is not
the result's, the dtype it computes in. Registration,
abstract evaluation, layout, lowering, fusion and the public function all follow from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from . import dtypes as dt
from . import rules as ru
from .errors import op_error
from .registry import Fusion, Group, Needs, OpDef, register


def _names(operands):
    return ", ".join(o.name if isinstance(o, dt.DType) else type(o).__name__ for o in operands)


def _promote(op, operands):
    return dt.result_type(*operands)


def _arith(op, operands):
    out = _promote(op, operands)
    if out is dt.bool_ and op == "subtract":
        raise op_error(TypeError, op, "boolean subtract is not supported, use ^ or logical_xor")
    return out


def _int_if_bool(op, operands):
    out = _promote(op, operands)
    return dt.int8 if out is dt.bool_ else out


def _real(rule):
    """``rule``, refusing complex results (NumPy has no complex loop for these ops)."""
    def checked(op, operands):
        out = rule(op, operands)
        if out.is_complex:
            raise op_error(TypeError, op, f"not supported for complex dtypes "
                           f"({_names(operands)})")
        return out
    return checked


def _true_div(op, operands):
    out = _promote(op, operands)
    return dt.float64 if out.kind in "biu" else out  # NumPy's / has no small-int loops


def _float(op, operands):
    return dt.default_float(_promote(op, operands))


def _bool(op, operands):
    _promote(op, operands)
    return dt.bool_


def _same(op, operands):
    return _promote(op, operands)


_no_complex, _real_float, _real_same = _real(_int_if_bool), _real(_float), _real(_same)


def _negative(op, operands):
    out = _promote(op, operands)
    if out is dt.bool_:
        raise op_error(TypeError, op, "boolean negative is not supported, use ~ or logical_not")
    return out


def _positive(op, operands):
    out = _promote(op, operands)
    if out is dt.bool_:
        raise op_error(TypeError, op, "boolean positive is not supported (NumPy has no loop)")
    return out


def _inexact(op, operands):
    """Floating and complex operands only (the standard's reciprocal; NumPy's integer
    reciprocal truncates to 0 and fails on 0)."""
    out = _promote(op, operands)
    if not out.is_inexact:
        raise op_error(TypeError, op, f"only floating-point dtypes are allowed; got "
                       f"{_names(operands)}")
    return out


def _abs(op, operands):
    out = _promote(op, operands)
    return {dt.complex64: dt.float32, dt.complex128: dt.float64}.get(out, out)


def _integer(op, operands):
    out = _promote(op, operands)
    if out.kind not in "biu":
        raise op_error(TypeError, op, f"only integer and bool dtypes are allowed; got "
                       f"{_names(operands)}")
    return out


def _shift(op, operands):
    out = _integer(op, operands)
    return dt.int8 if out is dt.bool_ else out


def _ordered_bool(op, operands):
    if _promote(op, operands).is_complex:
        raise op_error(TypeError, op, f"ordering is not supported for complex dtypes "
                       f"({_names(operands)})")
    return dt.bool_


def _real_part(op, operands):
    """``real``/``imag`` (and ``abs``): the real dtype of a complex operand, else its own."""
    return _abs(op, operands)


def _angle(op, operands):
    """NumPy's ``arctan2(0, x)`` for real ``x`` (a Python 0 lifts bool to int64: float64)."""
    out = _promote(op, operands)
    if out is dt.bool_:
        return dt.float64
    return _abs(op, operands) if out.is_complex else dt.default_float(out)


def _float_power(op, operands):
    return dt.complex128 if _promote(op, operands).is_complex else dt.float64


def _round(op, operands):
    """Round keeps the dtype (complex included); NumPy rounds bool as float16."""
    out = _promote(op, operands)
    return dt.float16 if out is dt.bool_ else out


def _where(op, operands):
    return dt.result_type(*operands[1:])


def _clip(op, operands):
    return _real_same(op, [o for o in operands if o is not None])


class Ewise(NamedTuple):
    arity: int
    dtype: Callable | None  # None: the ``dtype`` given by the caller (astype)
    torch: str | None       # name of the torch function, or None for a kernel of its own
    # the dtype the kernel computes in: "result" (the result's), "operands" (the operands'
    # promoted dtype: comparisons, abs of complex), "inexact" (the operands' promoted with a
    # Python float: isclose) or "bool" (logical ops)
    compute: str = "result"


EWISE = {
    "add": Ewise(2, _arith, "add"), "subtract": Ewise(2, _arith, "sub"),
    "multiply": Ewise(2, _arith, "mul"), "true_divide": Ewise(2, _true_div, "true_divide"),
    "floor_divide": Ewise(2, _no_complex, "floor_divide"),
    "remainder": Ewise(2, _no_complex, "remainder"), "power": Ewise(2, _int_if_bool, "pow"),
    "maximum": Ewise(2, _real_same, "maximum"), "minimum": Ewise(2, _real_same, "minimum"),
    "arctan2": Ewise(2, _real_float, "atan2"), "logaddexp": Ewise(2, _real_float, "logaddexp"),
    "equal": Ewise(2, _bool, "eq", "operands"), "not_equal": Ewise(2, _bool, "ne", "operands"),
    "less": Ewise(2, _ordered_bool, "lt", "operands"),
    "less_equal": Ewise(2, _ordered_bool, "le", "operands"),
    "greater": Ewise(2, _ordered_bool, "gt", "operands"),
    "greater_equal": Ewise(2, _ordered_bool, "ge", "operands"),
    "bitwise_and": Ewise(2, _integer, "bitwise_and"),
    "bitwise_or": Ewise(2, _integer, "bitwise_or"),
    "bitwise_xor": Ewise(2, _integer, "bitwise_xor"),
    "left_shift": Ewise(2, _shift, "bitwise_left_shift"),
    "right_shift": Ewise(2, _shift, "bitwise_right_shift"),
    "logical_and": Ewise(2, _bool, "logical_and", "bool"),
    "logical_or": Ewise(2, _bool, "logical_or", "bool"),
    "logical_xor": Ewise(2, _bool, "logical_xor", "bool"),
    "logical_not": Ewise(1, _bool, "logical_not", "bool"),
    "invert": Ewise(1, _integer, "bitwise_not"),
    "negative": Ewise(1, _negative, "neg"), "positive": Ewise(1, _positive, "positive"),
    "abs": Ewise(1, _abs, "abs", "operands"), "square": Ewise(1, _int_if_bool, "square"),
    "sign": Ewise(1, _negative, None),
    "exp": Ewise(1, _float, "exp"), "expm1": Ewise(1, _float, "expm1"),
    "log": Ewise(1, _float, "log"), "log1p": Ewise(1, _float, "log1p"),
    "log2": Ewise(1, _float, "log2"), "log10": Ewise(1, _float, "log10"),
    "sqrt": Ewise(1, _float, "sqrt"),
    "sin": Ewise(1, _float, "sin"), "cos": Ewise(1, _float, "cos"),
    "tan": Ewise(1, _float, "tan"), "arcsin": Ewise(1, _float, "asin"),
    "arccos": Ewise(1, _float, "acos"), "arctan": Ewise(1, _float, "atan"),
    "sinh": Ewise(1, _float, "sinh"), "cosh": Ewise(1, _float, "cosh"),
    "tanh": Ewise(1, _float, "tanh"),
    "floor": Ewise(1, _real_same, "floor"), "ceil": Ewise(1, _real_same, "ceil"),
    "trunc": Ewise(1, _real_same, "trunc"), "round": Ewise(1, _round, None),
    "isnan": Ewise(1, _bool, "isnan", "operands"), "isinf": Ewise(1, _bool, "isinf", "operands"),
    "isfinite": Ewise(1, _bool, "isfinite", "operands"),
    "where": Ewise(3, _where, None), "clip": Ewise(3, _clip, None),
    # the rest of the Array API's and NumPy's elementwise functions
    "arcsinh": Ewise(1, _float, "asinh"), "arccosh": Ewise(1, _float, "acosh"),
    "arctanh": Ewise(1, _float, "atanh"), "exp2": Ewise(1, _float, "exp2"),
    "cbrt": Ewise(1, _real_float, None), "deg2rad": Ewise(1, _real_float, "deg2rad"),
    "rad2deg": Ewise(1, _real_float, "rad2deg"), "fabs": Ewise(1, _real_float, "abs"),
    "reciprocal": Ewise(1, _inexact, "reciprocal"), "sinc": Ewise(1, _true_div, "sinc"),
    "signbit": Ewise(1, _ordered_bool, "signbit", "operands"),
    "real": Ewise(1, _real_part, None, "operands"), "imag": Ewise(1, _real_part, None, "operands"),
    "conj": Ewise(1, _int_if_bool, "conj_physical"), "angle": Ewise(1, _angle, None),
    "isreal": Ewise(1, _bool, None, "operands"), "iscomplex": Ewise(1, _bool, None, "operands"),
    "nan_to_num": Ewise(1, _same, None),
    "copysign": Ewise(2, _real_float, "copysign"), "hypot": Ewise(2, _real_float, "hypot"),
    "nextafter": Ewise(2, _real_float, "nextafter"), "heaviside": Ewise(2, _real_float, None),
    "fmod": Ewise(2, _no_complex, "fmod"), "fmin": Ewise(2, _real_same, "fmin"),
    "fmax": Ewise(2, _real_same, "fmax"), "float_power": Ewise(2, _float_power, "float_power"),
    "isclose": Ewise(2, _bool, None, "inexact"),
    "astype": Ewise(1, None, None),  # dtype given by the ``cdtype`` attribute
}


def ewise_dtype(op: str, operands) -> dt.DType:
    """Result dtype of elementwise ``op`` over operands (DTypes and weak Python scalars)."""
    return EWISE[op].dtype(op, list(operands))


def operand_kinds(avals, attrs: dict) -> list:
    """The operands in the user's order: array dtypes, and the scalars kept in ``attrs``."""
    scalars = attrs.get("scalars")
    if not scalars:
        return [a.dtype for a in avals]
    out, it, k = [], iter(avals), 0  # scalars are (position, value) in position order
    for p in range(attrs.get("nargs", len(avals))):
        if k < len(scalars) and scalars[k][0] == p:
            out.append(scalars[k][1])
            k += 1
        else:
            out.append(next(it).dtype)
    return out


def _infer(op):
    rule = EWISE[op].dtype

    def infer(avals, attrs):
        shape = ru.broadcast_shapes([a.shape for a in avals], op)
        if rule is None:  # astype: the dtype the caller asked for
            return shape, attrs["cdtype"]
        return shape, rule(op, operand_kinds(avals, attrs))
    return infer


def _layout(avals, attrs, shape, p):
    return ru.ewise_layout(avals, shape, p)


def _needs(avals, attrs, shape, out, p) -> Needs:
    """Each operand lined up with the output's blocks (one broadcast along the split axis
    is needed whole)."""
    return Needs(tuple(ru.ewise_required(a, shape, out) for a in avals))


for _name in EWISE:
    register(OpDef(_name, Group.ELEMENTWISE, infer=_infer(_name), layout=_layout,
                   needs=_needs, fusion=Fusion.MEMBER, doc=f"elementwise {_name}"))
