"""Counter-based random numbers: element i of the global array depends only on (seed, i).

Each element's 64-bit draw is the splitmix64 finalizer of ``key(seed) + 2*i + stream``, so a
rank computes exactly its block, with no state and no communication, and the global array is
bit-identical on any number of ranks and for any split. torch's int64 arithmetic wraps modulo
2**64; logical right shifts are arithmetic shifts with the sign bits masked off.
"""

from __future__ import annotations

import math

import torch

_M64 = (1 << 64) - 1


def _s64(v: int) -> int:
    v &= _M64
    return v - (1 << 64) if v >= 1 << 63 else v


_GOLDEN, _MIX1, _MIX2 = _s64(0x9E3779B97F4A7C15), _s64(0xBF58476D1CE4E5B9), \
    _s64(0x94D049BB133111EB)


def _srl(z: torch.Tensor, s: int) -> torch.Tensor:
    return (z >> s) & ((1 << (64 - s)) - 1)


def _mix(z: torch.Tensor) -> torch.Tensor:
    z = z + _GOLDEN
    z = (z ^ _srl(z, 30)) * _MIX1
    z = (z ^ _srl(z, 27)) * _MIX2
    return z ^ _srl(z, 31)


def seed_key(seed: int) -> int:
    """A 64-bit key for ``seed`` (splitmix64 of the seed, in Python integers)."""
    z = (seed * 0x2545F4914F6CDD1D + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return _s64(z ^ (z >> 31))


def global_index(shape, split, offset, lshape, device) -> torch.Tensor:
    """Flat global (row-major) index of every element of this rank's block."""
    idx = torch.zeros((), dtype=torch.int64, device=device)
    for ax, (n, ln) in enumerate(zip(shape, lshape)):
        start = offset if ax == split else 0
        a = torch.arange(start, start + ln, dtype=torch.int64, device=device)
        idx = idx.unsqueeze(-1) * n + a
    return idx


def bits(seed, stream, shape, split, offset, lshape, device) -> torch.Tensor:
    i = global_index(shape, split, offset, lshape, device)
    return _mix(i * 2 + (seed_key(seed) + stream))


_MANTISSA = {torch.float16: 11, torch.bfloat16: 8, torch.float32: 24}


def uniform01(z: torch.Tensor, dtype=torch.float64) -> torch.Tensor:
    """[0, 1) as float64 from as many top bits as ``dtype`` can hold, so that casting to
    ``dtype`` never rounds up to 1."""
    b = _MANTISSA.get(dtype, 53)
    return _srl(z, 64 - b).to(torch.float64) * (1.0 / (1 << b))


def generate(dist, seed, params, shape, split, offset, lshape, dtype, device):
    """This rank's block of a random array drawn from ``dist`` with ``params``."""
    p = dict(params)
    z0 = bits(seed, 0, shape, split, offset, lshape, device)
    if dist == "randint":
        lo, hi = p["low"], p["high"]
        return (_srl(z0, 1) % (hi - lo) + lo).to(dtype)
    if dist == "uniform":
        u = uniform01(z0, dtype)
        return (u * (p["high"] - p["low"]) + p["low"]).to(dtype)
    if dist == "normal":
        u = uniform01(z0)
        u2 = uniform01(bits(seed, 1, shape, split, offset, lshape, device))
        r = torch.sqrt(-2.0 * torch.log1p(-u))  # 1 - u lies in (0, 1]: log is finite
        g = r * torch.cos(2 * math.pi * u2)
        return (g * p["std"] + p["mean"]).to(dtype)
    raise ValueError(f"unknown distribution {dist!r}")
