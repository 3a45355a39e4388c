"""The elementwise kernel: every op of ``graph.ops.ELEMENTWISE``, NumPy semantics.

Operands arrive in the user's order (array inputs, and the Python scalars kept in the node's
``scalars`` attribute), are brought to the node's compute dtype ``cdtype`` (as NumPy's loops
see them) and go through the op's torch function, named by ``graph.elementwise.EWISE``; the
result is cast to the node's dtype. Ops whose torch function is not NumPy's answer for every
dtype keep a kernel of their own here:

- ``_RAW``: ops whose operands do not all take the compute dtype (``where``'s condition is
  bool, ``clip``'s bounds may be None);
- ``_SPECIAL``: ops with no torch function (sign, round, astype, cbrt, ...) or with dtype
  special cases (integer division by zero, negative integer powers, abs and + of bool, NaN in
  heaviside).

``PLAIN`` holds the rest: ops computed by their torch function alone. ``runtime/fused.py``
calls those directly (with ``out=``) when every operand already has the compute dtype.
Unsigned dtypes wider than 8 bits compute through ``unsigned.py`` (torch has almost no
kernels for them), which calls back into the same dispatch in a signed carrier dtype.
"""

from __future__ import annotations

import math
import operator

import torch

from ...graph.elementwise import EWISE
from ...graph.ops import ELEMENTWISE
from . import unsigned
from .registry import kernel, tdtype


def operands(node, args):
    """Array inputs and scalar attributes merged back into the user's operand order."""
    scalars = dict(node.attr("scalars", ()))
    out, it = [], iter(args)
    for pos in range(node.attr("nargs", len(args))):
        out.append(scalars[pos] if pos in scalars else next(it))
    return out


def _as_tensor(v, dtype, device):
    """An operand as a tensor of the compute dtype (Python scalars become 0-d tensors, so
    every torch op sees tensors of one dtype, as NumPy's loops do)."""
    return v.to(dtype) if torch.is_tensor(v) else torch.tensor(v, dtype=dtype, device=device)


def _integral(dtype) -> bool:
    return not (dtype.is_floating_point or dtype.is_complex)


# ---------------------------------------------------------------- operands not all of cdtype
def _where(node, vals, cdt, dev):
    cond = _as_tensor(vals[0], torch.bool, dev)
    return torch.where(cond, _as_tensor(vals[1], cdt, dev), _as_tensor(vals[2], cdt, dev))


def _clip(node, vals, cdt, dev):
    lo, hi = (None if v is None else _as_tensor(v, cdt, dev) for v in vals[1:])
    x = _as_tensor(vals[0], cdt, dev)
    return x.clone() if lo is None and hi is None else torch.clamp(x, lo, hi)


def _angle(node, vals, cdt, dev):
    """Complex: the argument; real: ``atan2(0, x)`` (pi for negatives and -0.0, as NumPy)."""
    x = vals[0]
    if torch.is_tensor(x) and x.is_complex():
        return torch.angle(x)
    x = _as_tensor(x, cdt, dev)
    return torch.atan2(torch.zeros_like(x), x)


_RAW = {"where": _where, "clip": _clip, "angle": _angle}


# ---------------------------------------------------------------- own code, operands of cdtype
def _sign(node, vals, cdt):
    (x,) = vals
    if x.is_complex():
        return torch.sgn(x)
    s = torch.sign(x)
    return torch.where(torch.isnan(x), x, s) if x.is_floating_point() else s  # NaN stays NaN


def _round_int(x, decimals):
    """Integers rounded to ``decimals`` < 0 places, half to even (NumPy's ``round``)."""
    if decimals >= 0 or x.dtype == torch.bool:
        return x
    f = 10 ** (-decimals)
    q = torch.div(x, f, rounding_mode="floor")
    r2 = 2 * (x - q * f)
    up = (r2 > f) | ((r2 == f) & (q % 2 != 0))
    return (q + up.to(x.dtype)) * f


def _round(node, vals, cdt):
    (x,), d = vals, node.attr("decimals", 0)
    if _integral(cdt):
        return _round_int(x, d)
    if x.is_complex():  # real and imaginary parts rounded on their own (the standard)
        return torch.complex(*(torch.round(p, decimals=d) for p in (x.real, x.imag)))
    return torch.round(x, decimals=d) if d else torch.round(x)


def _cbrt(node, vals, cdt):
    """Real cube root: |x| ** (1/3) and one Newton step (exact cubes stay exact), the sign of
    x restored with copysign (-0.0 stays -0.0, NaN stays NaN)."""
    x = vals[0]
    a = x.abs().to(torch.float64)
    y = a.pow(1.0 / 3.0)
    ok = (y > 0) & torch.isfinite(y)
    y = torch.where(ok, y - (y * y * y - a) / (3 * y * y), y)
    return torch.copysign(y.to(cdt), x)


def _heaviside(node, vals, cdt):
    x, h = vals
    return torch.where(torch.isnan(x), x, torch.heaviside(x, h))


def _real(node, vals, cdt):
    return torch.real(vals[0]) if vals[0].is_complex() else vals[0]


def _imag(node, vals, cdt):
    return torch.imag(vals[0]) if vals[0].is_complex() else torch.zeros_like(vals[0])


def _isreal(node, vals, cdt):
    x = vals[0]
    return torch.imag(x) == 0 if x.is_complex() else torch.ones_like(x, dtype=torch.bool)


def _iscomplex(node, vals, cdt):
    return ~_isreal(node, vals, cdt)


def _nan_to_num(node, vals, cdt):
    x = vals[0]
    if _integral(cdt):
        return x
    return torch.nan_to_num(x, nan=node.attr("nan", 0.0), posinf=node.attr("posinf"),
                            neginf=node.attr("neginf"))


def _isclose(node, vals, cdt):
    """NumPy's ``|a - b| <= atol + rtol * |b|`` (equal infinities are close) in the operands'
    inexact dtype."""
    return torch.isclose(*vals, rtol=node.attr("rtol", 1e-5), atol=node.attr("atol", 1e-8),
                         equal_nan=node.attr("equal_nan", False))


def _same(node, vals, cdt):
    """The operand itself: ``astype`` (already cast to the target) and ``positive`` (torch's
    ``positive`` refuses bool, NumPy's returns it)."""
    return vals[0]


def _abs(node, vals, cdt):
    return vals[0] if cdt == torch.bool else torch.abs(vals[0])


def _power(node, vals, cdt):
    if _integral(cdt) and cdt != torch.bool and bool((vals[1] < 0).any()):
        raise ValueError("integers to negative integer powers are not allowed")
    if cdt.is_complex:
        return _complex_power(*vals)
    return _TORCH["power"](*vals)


def _complex_power(x, y):
    """NumPy's complex power: ``x ** 0 == 1``; ``0 ** y`` is 0 for real positive y, else
    NaN; real integral exponents below 100 in magnitude by repeated squaring (exact for
    small powers, as NumPy, where ``exp(y log x)`` is not); the rest by torch's pow."""
    x, y = torch.broadcast_tensors(x, y)
    out = torch.pow(x, y)
    n = y.real
    small = (y.imag == 0) & (n == torch.round(n)) & (n.abs() < 100)
    k = torch.where(small, n.abs(), torch.zeros_like(n)).to(torch.int64)
    acc, base = torch.ones_like(x), x
    while bool((k > 0).any()):  # at most 7 rounds (|n| < 100)
        acc = torch.where((k & 1) == 1, acc * base, acc)
        base, k = base * base, k >> 1
    acc = torch.where(n < 0, 1 / acc, acc)
    out = torch.where(small, acc, out)
    zero_x = (x.real == 0) & (x.imag == 0)
    nan = torch.full_like(x, complex(float("nan"), float("nan")))
    out = torch.where(zero_x, torch.where((y.real > 0) & (y.imag == 0),
                                          torch.zeros_like(x), nan), out)
    return torch.where((y.real == 0) & (y.imag == 0), torch.ones_like(x), out)


def _int_divide(node, vals, cdt):
    """Integer // and % with NumPy's answer for a zero divisor (0) instead of an error; a
    float remainder of zero takes the divisor's sign (NumPy, the standard)."""
    fn = _TORCH[node.op]
    if not _integral(cdt):
        out = fn(*vals)
        if node.op == "remainder":
            out = torch.where(out == 0, torch.copysign(torch.zeros_like(out), vals[1]), out)
        return out
    x, y = vals
    zero = y == 0
    out = fn(x, torch.where(zero, torch.ones_like(y), y))
    return torch.where(zero, torch.zeros_like(out), out)


def _complex_subtract(node, vals, cdt):
    """Part by part: torch subtracts as ``a + (-1) * b``, and that product turns an infinite
    part into NaN in the other part."""
    a, b = vals
    return torch.complex(a.real - b.real, a.imag - b.imag)


def _complex_log_base(node, vals, cdt):
    """``log(z)`` scaled part by part (NumPy's log2/log10; a complex division would turn an
    infinite real part into NaN)."""
    scale = 1 / math.log(2.0) if node.op == "log2" else 1 / math.log(10.0)
    z = torch.log(vals[0])
    return torch.complex(z.real * scale, z.imag * scale)


def _complex(cdt) -> bool:
    return cdt.is_complex


# ops whose torch function is right except for some compute dtypes: (which dtypes, kernel);
# ``fast_dtype`` keeps those members off the fused groups' direct torch calls
_OVERRIDE = {
    "subtract": (_complex, _complex_subtract),
    "log2": (_complex, _complex_log_base), "log10": (_complex, _complex_log_base),
    # NumPy's floor/ceil/trunc return bools as they are; torch has no bool kernels for them
    "floor": (lambda cdt: cdt == torch.bool, _same),
    "ceil": (lambda cdt: cdt == torch.bool, _same),
    "trunc": (lambda cdt: cdt == torch.bool, _same),
}


_SPECIAL = {"sign": _sign, "round": _round, "astype": _same, "positive": _same, "abs": _abs,
            "power": _power, "floor_divide": _int_divide, "remainder": _int_divide,
            "fmod": _int_divide, "cbrt": _cbrt, "heaviside": _heaviside, "real": _real,
            "imag": _imag, "isreal": _isreal, "iscomplex": _iscomplex,
            "nan_to_num": _nan_to_num, "isclose": _isclose}

# the torch function of every op that names one
_TORCH = {op: getattr(torch, e.torch) for op, e in EWISE.items() if e.torch is not None}
# ops whose kernel is their torch function alone, over operands of the compute dtype
PLAIN = {op: fn for op, fn in _TORCH.items() if op not in _SPECIAL and op not in _RAW}


# comparisons of integers with a Python int outside the compute dtype's range: the answer is
# the same for every element (all lie on one side of it), NumPy 2's value-based answer
_COMPARE = {"less": operator.lt, "less_equal": operator.le, "greater": operator.gt,
            "greater_equal": operator.ge, "equal": operator.eq, "not_equal": operator.ne}


def _constant_compare(node, vals, cdt, dev):
    cmp = _COMPARE.get(node.op)
    if cmp is None or not _integral(cdt) or cdt == torch.bool:
        return None
    info = torch.iinfo(cdt)
    if all(torch.is_tensor(v) or info.min <= v <= info.max for v in vals):
        return None
    a, b = (0 if torch.is_tensor(v) else v for v in vals)  # 0 stands for every element
    shape = torch.broadcast_shapes(*(v.shape for v in vals if torch.is_tensor(v)))
    return torch.full(shape, bool(cmp(a, b)), dtype=torch.bool, device=dev)


def fast_dtype(cdt, scalars=(), op=None) -> bool:
    """Whether op ``op`` of torch compute dtype ``cdt`` with these Python scalars may call
    its ``PLAIN`` torch function directly: not for the unsigned dtypes torch computes nothing
    in, nor where ``_OVERRIDE`` has a kernel for the dtype, nor for integer scalars outside
    the dtype (comparisons answer those as constants)."""
    if unsigned.emulated(cdt):
        return False
    if op in _OVERRIDE and _OVERRIDE[op][0](cdt):
        return False
    if not _integral(cdt) or cdt == torch.bool:
        return True
    info = torch.iinfo(cdt)
    return all(info.min <= v <= info.max for v in scalars)


@kernel(*sorted(ELEMENTWISE))
def k_ewise(node, args, ctx):
    out = tdtype(node.aval.dtype)
    cdt = tdtype(node.attr("cdtype"))
    vals = operands(node, args)
    const = _constant_compare(node, vals, cdt, ctx.device)
    if const is not None:
        return const
    if unsigned.emulated(cdt):
        return unsigned.run(node, vals, cdt, ctx.device, _dispatch).to(out)
    return _dispatch(node, vals, cdt, ctx.device).to(out)


def _dispatch(node, vals, cdt, dev):
    """``node``'s op over operands ``vals`` (user order) computed in torch dtype ``cdt``."""
    op = node.op
    raw = _RAW.get(op)
    if raw is not None:
        return raw(node, vals, cdt, dev)
    vals = [_as_tensor(v, cdt, dev) for v in vals]
    over = _OVERRIDE.get(op)
    if over is not None and over[0](cdt):
        return over[1](node, vals, cdt)
    own = _SPECIAL.get(op)
    if own is not None:
        return own(node, vals, cdt)
    fn = PLAIN.get(op)
    if fn is None:
        raise NotImplementedError(f"elementwise op {op!r} has neither a torch function nor "
                                  "a kernel of its own")
    return fn(*vals)
