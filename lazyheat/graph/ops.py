"""Elementwise op table: arity and dtype rule of every elementwise op, by name.

Each rule maps the operands' dtypes (DType for arrays, Python scalars as weak values) to the
result dtype, or raises ``TypeError`` naming the op and dtypes, as NumPy would refuse them.
Scalars are not graph nodes: an elementwise node keeps them in its ``scalars`` attribute as
``(position, value)`` pairs, so the op still sees its operands in the user's order.
"""

from __future__ import annotations

from . import dtypes as dt
from .errors import op_error


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


def _where(op, operands):
    return dt.result_type(*operands[1:])


def _clip(op, operands):
    return _real_same(op, [o for o in operands if o is not None])


EWISE = {
    # name: (arity, dtype rule)
    "add": (2, _arith), "subtract": (2, _arith), "multiply": (2, _arith),
    "true_divide": (2, _true_div), "floor_divide": (2, _no_complex),
    "remainder": (2, _no_complex), "power": (2, _int_if_bool),
    "maximum": (2, _real_same), "minimum": (2, _real_same), "arctan2": (2, _real_float),
    "equal": (2, _bool), "not_equal": (2, _bool), "less": (2, _ordered_bool),
    "less_equal": (2, _ordered_bool), "greater": (2, _ordered_bool),
    "greater_equal": (2, _ordered_bool),
    "bitwise_and": (2, _integer), "bitwise_or": (2, _integer), "bitwise_xor": (2, _integer),
    "left_shift": (2, _shift), "right_shift": (2, _shift),
    "logical_and": (2, _bool), "logical_or": (2, _bool), "logical_xor": (2, _bool),
    "logical_not": (1, _bool), "invert": (1, _integer),
    "negative": (1, _negative), "positive": (1, _same), "abs": (1, _abs),
    "square": (1, _int_if_bool), "sign": (1, _negative),
    "exp": (1, _float), "expm1": (1, _float), "log": (1, _float), "log1p": (1, _float),
    "log2": (1, _float), "log10": (1, _float), "sqrt": (1, _float),
    "sin": (1, _float), "cos": (1, _float), "tan": (1, _float),
    "arcsin": (1, _float), "arccos": (1, _float), "arctan": (1, _float),
    "sinh": (1, _float), "cosh": (1, _float), "tanh": (1, _float),
    "floor": (1, _real_same), "ceil": (1, _real_same), "trunc": (1, _real_same),
    "round": (1, _real_same),
    "isnan": (1, _bool), "isinf": (1, _bool), "isfinite": (1, _bool),
    "where": (3, _where), "clip": (3, _clip),
    "astype": (1, None),  # dtype given by the ``dtype`` attribute
}


def ewise_dtype(op: str, operands) -> dt.DType:
    """Result dtype of elementwise ``op`` over operands (DTypes and weak Python scalars)."""
    return EWISE[op][1](op, list(operands))


REDUCTIONS = ("sum", "prod", "mean", "var", "std", "min", "max", "argmin", "argmax",
              "any", "all", "norm")


def reduce_dtype(op: str, d: dt.DType) -> dt.DType:
    if op in ("sum", "prod"):
        return dt.sum_dtype(d)
    if op in ("mean", "var", "std"):
        out = d if d.is_inexact else dt.float64
        return {dt.complex64: dt.float32, dt.complex128: dt.float64}.get(out, out) \
            if op != "mean" else out
    if op in ("argmin", "argmax"):
        return dt.int64
    if op in ("any", "all"):
        return dt.bool_
    if op == "norm":  # NumPy converts non-float input to float64 first
        return _abs(op, [d]) if d.is_inexact else dt.float64
    return d
