"""The elementwise kernel: every op of ``graph.ops.ELEMENTWISE``, NumPy semantics.

Operands arrive in the user's order (array inputs, and the Python scalars kept in the node's
``scalars`` attribute), are brought to the node's compute dtype ``cdtype`` (as NumPy's loops
see them) and go through the op's torch function, named by ``graph.elementwise.EWISE``; the
result is cast to the node's dtype. Ops whose torch function is not NumPy's answer for every
dtype keep a kernel of their own here:

- ``_RAW``: ops whose operands do not all take the compute dtype (``where``'s condition is
  bool, ``clip``'s bounds may be None);
- ``_SPECIAL``: ops with no torch function (sign, round, astype) or with dtype special cases
  (integer division by zero, negative integer powers, abs and + of bool).

``PLAIN`` holds the rest: ops computed by their torch function alone. ``runtime/fused.py``
calls those directly (with ``out=``) when every operand already has the compute dtype.
"""

from __future__ import annotations

import torch

from ...graph.elementwise import EWISE
from ...graph.ops import ELEMENTWISE
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
    return torch.clamp(_as_tensor(vals[0], cdt, dev), lo, hi)


_RAW = {"where": _where, "clip": _clip}


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
    return torch.round(x, decimals=d) if d else torch.round(x)


def _same(node, vals, cdt):
    """The operand itself: ``astype`` (already cast to the target) and ``positive`` (torch's
    ``positive`` refuses bool, NumPy's returns it)."""
    return vals[0]


def _abs(node, vals, cdt):
    return vals[0] if cdt == torch.bool else torch.abs(vals[0])


def _power(node, vals, cdt):
    if _integral(cdt) and cdt != torch.bool and bool((vals[1] < 0).any()):
        raise ValueError("integers to negative integer powers are not allowed")
    return _TORCH["power"](*vals)


def _int_divide(node, vals, cdt):
    """Integer // and % with NumPy's answer for a zero divisor (0) instead of an error."""
    fn = _TORCH[node.op]
    if not _integral(cdt):
        return fn(*vals)
    x, y = vals
    zero = y == 0
    out = fn(x, torch.where(zero, torch.ones_like(y), y))
    return torch.where(zero, torch.zeros_like(out), out)


_SPECIAL = {"sign": _sign, "round": _round, "astype": _same, "positive": _same, "abs": _abs,
            "power": _power, "floor_divide": _int_divide, "remainder": _int_divide}

# the torch function of every op that names one
_TORCH = {op: getattr(torch, e.torch) for op, e in EWISE.items() if e.torch is not None}
# ops whose kernel is their torch function alone, over operands of the compute dtype
PLAIN = {op: fn for op, fn in _TORCH.items() if op not in _SPECIAL and op not in _RAW}


@kernel(*sorted(ELEMENTWISE))
def k_ewise(node, args, ctx):
    op, out = node.op, tdtype(node.aval.dtype)
    cdt = tdtype(node.attr("cdtype"))
    dev = ctx.device
    vals = operands(node, args)
    raw = _RAW.get(op)
    if raw is not None:
        return raw(node, vals, cdt, dev).to(out)
    vals = [_as_tensor(v, cdt, dev) for v in vals]
    own = _SPECIAL.get(op)
    if own is not None:
        return own(node, vals, cdt).to(out)
    fn = PLAIN.get(op)
    if fn is None:
        raise NotImplementedError(f"elementwise op {op!r} has neither a torch function nor "
                                  "a kernel of its own")
    return fn(*vals).to(out)
