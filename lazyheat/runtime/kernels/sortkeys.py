"""Integer sort keys: every sortable dtype mapped to integers that order as NumPy sorts.

Comparing integers makes splitters, cut points and searches exact and cheap: a float's bits,
read as a signed integer, order like the float once the negative ones have their magnitude
bits flipped. Before that every NaN becomes the one positive quiet NaN (whose key is above
every number's, so NaNs sort last, as NumPy's) and -0.0 becomes 0.0 (they compare equal, so a
stable sort keeps them in their original order). Descending order is the bitwise complement
of the ascending key: a bijection that reverses the order, so a stable sort of the
complemented keys keeps equal keys in their original order and puts NaNs first, as the Array
API's stable descending sort does. ``from_keys`` inverts the map (canonical NaN and +0.0 for
those inputs).
"""

from __future__ import annotations

import torch

# dtype -> (key dtype, integer view of its bits for floats)
_BITS = {torch.float16: torch.int16, torch.bfloat16: torch.int16, torch.float32: torch.int32,
         torch.float64: torch.int64}
_INTS = {torch.bool: torch.int16, torch.uint8: torch.int16, torch.int8: torch.int16,
         torch.int16: torch.int16, torch.int32: torch.int32, torch.int64: torch.int64,
         torch.uint16: torch.int32, torch.uint32: torch.int64}
# uint64 keys: its bits as int64 with the top bit flipped, an order-preserving bijection
# onto int64 (torch has no uint64 comparison kernels, so the keys must be signed)
_TOP = -(1 << 63)
_MAGNITUDE = {torch.int16: 0x7FFF, torch.int32: 0x7FFFFFFF, torch.int64: 0x7FFFFFFFFFFFFFFF}


def key_dtype(dtype: torch.dtype) -> torch.dtype:
    """The integer dtype of the keys of ``dtype`` (TypeError for complex)."""
    if dtype in _BITS:
        return _BITS[dtype]
    if dtype in _INTS:
        return _INTS[dtype]
    if dtype == torch.uint64:
        return torch.int64
    raise TypeError(f"cannot sort {dtype}")


def to_keys(x: torch.Tensor, descending: bool = False) -> torch.Tensor:
    """Integer keys of ``x`` that order as NumPy sorts ``x`` (reversed when descending)."""
    kd = key_dtype(x.dtype)
    if x.dtype in _BITS:
        canon = torch.where(torch.isnan(x), torch.tensor(float("nan"), dtype=x.dtype,
                                                         device=x.device), x + 0)
        bits = canon.view(kd)
        # negative floats: flip the magnitude bits so larger magnitudes order lower
        k = torch.where(bits < 0, bits ^ _MAGNITUDE[kd], bits)
    elif x.dtype == torch.uint64:
        k = x.view(torch.int64) ^ _TOP
    else:
        k = x.to(kd)
    return torch.bitwise_not(k) if descending else k


def from_keys(k: torch.Tensor, dtype: torch.dtype, descending: bool = False) -> torch.Tensor:
    """Values of ``dtype`` back from their keys (the inverse of ``to_keys``)."""
    if descending:
        k = torch.bitwise_not(k)
    if dtype in _BITS:
        return torch.where(k < 0, k ^ _MAGNITUDE[k.dtype], k).view(dtype)
    if dtype == torch.bool:
        return k != 0
    if dtype == torch.uint64:
        return (k ^ _TOP).view(torch.uint64)
    return k.to(dtype)
