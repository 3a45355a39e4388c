"""Elementwise arithmetic of uint16, uint32 and uint64, exact, on torch's signed kernels.

torch stores these dtypes natively (right memory, NumPy conversion) but has almost no CPU
kernels for them (add, lt, max, rem, shifts, ... fail). The elementwise kernel therefore
computes them in a signed *carrier* dtype and brings the result back:

- uint16 in int32 and uint32 in int64: every unsigned value is a non-negative carrier value,
  so signed arithmetic gives the exact result, and the cast back keeps its low bits (NumPy's
  wraparound: ``uint32(0) - 1 == 4294967295``).
- uint64 as int64 *bits* (``view``): add, subtract, multiply, and/or/xor, invert, negative and
  left shift are bit-exact in two's complement; ordering flips the top bit (an order-preserving
  bijection onto int64); division, remainder, right shift and power use unsigned algorithms
  below.

Example: ``uint64(2**64 - 1) // 3`` runs as ``_udivmod`` on the bits ``-1`` and ``3``.
"""

from __future__ import annotations

import torch

# the signed dtype each unsigned dtype computes in
CARRIER = {torch.uint16: torch.int32, torch.uint32: torch.int64, torch.uint64: torch.int64}
_TOP = -(1 << 63)          # int64 bits of 2**63: flips the order of uint64 bits to int64's
_LOW63 = (1 << 63) - 1     # clears the top bit (a logical shift right by one)
_U64_END = 1 << 64


def emulated(dtype) -> bool:
    """Whether torch dtype ``dtype`` computes through this module."""
    return dtype in CARRIER


def _bits(v, cdt, dev):
    """An operand as carrier values: tensors converted to ``cdt`` first (uint64: then
    reinterpreted), Python ints wrapped into the carrier's range."""
    car = CARRIER[cdt]
    if v is None:
        return None
    if torch.is_tensor(v):
        v = v.to(cdt)
        return v.view(torch.int64) if cdt == torch.uint64 else v.to(car)
    v = int(v)
    if cdt == torch.uint64 and v > _LOW63:
        v -= _U64_END
    return torch.tensor(v, dtype=car, device=dev)


def run(node, vals, cdt, dev, generic):
    """``node``'s op over operands ``vals`` (user order) in unsigned dtype ``cdt``.
    ``generic(node, carrier_vals, carrier, dev)`` is the elementwise kernel's own dispatch,
    used for every op whose signed carrier result has the right bits."""
    op = node.op
    xs = [v if op == "where" and i == 0 else _bits(v, cdt, dev) for i, v in enumerate(vals)]
    car = CARRIER[cdt]
    own = _U64.get(op) if cdt == torch.uint64 else None
    res = own(node, xs) if own is not None else generic(node, xs, car, dev)
    if res.dtype != car:  # predicates and comparisons: bool
        return res
    return res.view(torch.uint64) if cdt == torch.uint64 else res.to(cdt)


# ---------------------------------------------------------------- uint64 on int64 bits
def _flip(x):
    return x ^ _TOP


def _compare(fn):
    return lambda node, xs: fn(_flip(xs[0]), _flip(xs[1]))


def _order(fn):
    return lambda node, xs: _flip(fn(_flip(xs[0]), _flip(xs[1])))


def _clip(node, xs):
    lo, hi = (None if b is None else _flip(b) for b in xs[1:])
    if lo is None and hi is None:
        return xs[0]
    return _flip(torch.clamp(_flip(xs[0]), lo, hi))


def _udivmod(x, y):
    """Unsigned quotient and remainder of uint64 bits; a zero divisor gives 0 and 0, as
    NumPy's integer loops."""
    x, y = torch.broadcast_tensors(x, y)
    zero = y == 0
    y = torch.where(zero, 1, y)
    big = y < 0  # divisor >= 2**63: the quotient is 0 or 1
    ge = _flip(x) >= _flip(y)
    d = torch.where(big, 1, y)
    # divisor < 2**63: halve x (logical shift) so signed division is exact; the remainder
    # of x is then below 2 * d, so one correction step finishes
    q = torch.div((x >> 1) & _LOW63, d, rounding_mode="trunc") << 1
    r = x - q * d
    fix = (_flip(r) >= _flip(d)).to(torch.int64)
    q, r = q + fix, r - fix * d
    q = torch.where(big, ge.to(torch.int64), q)
    r = torch.where(big, torch.where(ge, x - y, x), r)
    return torch.where(zero, 0, q), torch.where(zero, 0, r)


def _floor_divide(node, xs):
    return _udivmod(*xs)[0]


def _remainder(node, xs):
    return _udivmod(*xs)[1]


def _right_shift(node, xs):
    x, s = torch.broadcast_tensors(*xs)
    out_of_range = (s < 0) | (s >= 64)  # shifts of 64 bits or more (as unsigned) give 0
    s1 = torch.where(out_of_range | (s == 0), 1, s)
    r = ((x >> 1) & _LOW63) >> (s1 - 1)
    r = torch.where(s == 0, x, r)
    return torch.where(out_of_range, 0, r)


def _left_shift(node, xs):
    x, s = torch.broadcast_tensors(*xs)
    return torch.where((s < 0) | (s >= 64), 0, x << s.clamp(0, 63))


def _power(node, xs):
    """Square and multiply over the exponent's bits (wraps modulo 2**64, as NumPy)."""
    base, e = torch.broadcast_tensors(*xs)
    out = torch.ones_like(base)
    while bool((e != 0).any()):  # at most 64 rounds; local, no communication
        out = torch.where((e & 1) == 1, out * base, out)
        base = base * base
        e = (e >> 1) & _LOW63
    return out


def _round(node, xs):
    """Round half to even to ``decimals`` < 0 places (integers are otherwise unchanged)."""
    (x,), d = xs, node.attr("decimals", 0)
    if d >= 0:
        return x
    if -d >= 20:  # 10**20 exceeds every uint64
        return torch.zeros_like(x)
    f = torch.tensor(10 ** (-d), dtype=torch.int64, device=x.device)
    q, r = _udivmod(x, f)
    rest = f - r
    up = (_flip(r) > _flip(rest)) | ((r == rest) & ((q & 1) == 1))
    return (q + up.to(torch.int64)) * f


_U64 = {
    "less": _compare(torch.lt), "less_equal": _compare(torch.le),
    "greater": _compare(torch.gt), "greater_equal": _compare(torch.ge),
    "maximum": _order(torch.maximum), "minimum": _order(torch.minimum),
    "fmax": _order(torch.maximum), "fmin": _order(torch.minimum), "clip": _clip,
    "floor_divide": _floor_divide, "remainder": _remainder, "fmod": _remainder,
    "right_shift": _right_shift, "left_shift": _left_shift, "power": _power, "round": _round,
    "abs": lambda node, xs: xs[0], "sign": lambda node, xs: (xs[0] != 0).to(torch.int64),
    "signbit": lambda node, xs: torch.zeros_like(xs[0], dtype=torch.bool),
}
