"""lazyheat's dtypes and NumPy 2 type promotion, free of torch.

A ``DType`` is a small immutable value with a name, an itemsize and a kind. It compares equal
to its name, to the matching NumPy dtype and to the matching torch dtype (by name), so
``x.dtype == np.float32`` and ``x.dtype == torch.float32`` both hold for a float32 array.

Promotion follows NumPy 2 (NEP 50): Python scalars are *weak*, they never widen an array's
dtype within its kind (``f32 * 2.0 -> f32``) but lift the kind (``i64 * 1.5 -> f64``).
bfloat16, which NumPy lacks, promotes like float16 within floats; bf16 with f16 gives f32.
Mixed signed and unsigned integers promote as NumPy 2 (``uint64`` with ``int64`` gives
``float64``), which the Array API leaves unspecified. The runtime stores uint16/32/64 in
torch's native dtypes and computes them exactly in signed ones (``runtime/kernels/unsigned``).
"""

from __future__ import annotations

import numpy as np

from .errors import op_error

_KIND_ORDER = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}


class DType:
    """A lazyheat dtype. Compare with strings, NumPy or torch dtypes."""

    __slots__ = ("name", "itemsize", "kind", "short")

    def __init__(self, name: str, itemsize: int, kind: str, short: str):
        self.name, self.itemsize, self.kind, self.short = name, itemsize, kind, short

    def __repr__(self) -> str:
        return f"lazyheat.{self.name}"

    __str__ = lambda self: self.name  # noqa: E731

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other) -> bool:
        if isinstance(other, DType):
            return other.name == self.name
        try:
            return as_dtype(other).name == self.name
        except TypeError:
            return False

    def __reduce__(self):
        return (as_dtype, (self.name,))

    @property
    def is_floating(self) -> bool:
        return self.kind == "f"

    @property
    def is_complex(self) -> bool:
        return self.kind == "c"

    @property
    def is_integer(self) -> bool:
        return self.kind in "iu"

    @property
    def is_inexact(self) -> bool:
        return self.kind in "fc"


_ALL = [
    DType("bool", 1, "b", "bool"),
    DType("int8", 1, "i", "i8"),
    DType("int16", 2, "i", "i16"),
    DType("int32", 4, "i", "i32"),
    DType("int64", 8, "i", "i64"),
    DType("uint8", 1, "u", "u8"),
    DType("uint16", 2, "u", "u16"),
    DType("uint32", 4, "u", "u32"),
    DType("uint64", 8, "u", "u64"),
    DType("float16", 2, "f", "f16"),
    DType("bfloat16", 2, "f", "bf16"),
    DType("float32", 4, "f", "f32"),
    DType("float64", 8, "f", "f64"),
    DType("complex64", 8, "c", "c64"),
    DType("complex128", 16, "c", "c128"),
]
BY_NAME = {d.name: d for d in _ALL}
bool_, int8, int16, int32, int64, uint8 = (BY_NAME[n] for n in
                                           ("bool", "int8", "int16", "int32", "int64", "uint8"))
uint16, uint32, uint64 = BY_NAME["uint16"], BY_NAME["uint32"], BY_NAME["uint64"]
float16, bfloat16, float32, float64 = (BY_NAME[n] for n in
                                       ("float16", "bfloat16", "float32", "float64"))
complex64, complex128 = BY_NAME["complex64"], BY_NAME["complex128"]

_ALIASES = {"float": float64, "int": int64, "complex": complex128, "double": float64,
            "half": float16, "long": int64, "bool_": bool_, "cfloat": complex64,
            "cdouble": complex128}
_PY_TYPES = {bool: bool_, int: int64, float: float64, complex: complex128}


def as_dtype(obj) -> DType:
    """Normalise a dtype given as DType, string, NumPy dtype/type, torch dtype or Python type."""
    if isinstance(obj, DType):
        return obj
    if obj in _PY_TYPES and isinstance(obj, type):
        return _PY_TYPES[obj]
    if isinstance(obj, str):
        # "float32", or a library's qualified name ("torch.float32", "array_api_strict.int8")
        name = obj.rsplit(".", 1)[-1]
    elif type(obj).__module__ == "torch" and type(obj).__name__ == "dtype":
        name = str(obj).removeprefix("torch.")
    else:
        try:
            name = np.dtype(obj).name
        except TypeError as exc:
            # another Array API library's dtype object prints as "<library>.<name>"
            name = str(obj).rsplit(".", 1)[-1]
            if name not in BY_NAME:
                raise _unsupported(obj) from exc
    name = {"bool8": "bool"}.get(name, name)
    if name in BY_NAME:
        return BY_NAME[name]
    if name in _ALIASES:
        return _ALIASES[name]
    raise _unsupported(obj)


def _unsupported(obj) -> TypeError:
    return op_error(TypeError, "dtype", f"unsupported dtype {obj!r}; lazyheat supports "
                    f"{', '.join(BY_NAME)}")


def _np(d: DType) -> np.dtype:
    return np.dtype("float16" if d is bfloat16 else d.name)


def promote(a: DType, b: DType) -> DType:
    """NumPy 2 promotion of two array dtypes (bfloat16 handled as a float16-sized float)."""
    if a is b:
        return a
    if bfloat16 in (a, b):
        other = b if a is bfloat16 else a
        if other.kind in "biu":  # as float16 does: small ints keep it, wider ones widen
            return {int16: float32, uint16: float32, int32: float64, uint32: float64,
                    int64: float64, uint64: float64}.get(other, bfloat16)
        if other is float16:
            return float32
        return other  # float32/float64/complex outrank bfloat16
    return as_dtype(np.promote_types(_np(a), _np(b)).name)


def promote_weak(arr: DType, scalar) -> DType:
    """Promotion of an array dtype with a Python scalar (weak, NEP 50)."""
    if isinstance(scalar, bool):
        skind = 0
    elif isinstance(scalar, int):
        skind = 1
    elif isinstance(scalar, float):
        skind = 2
    elif isinstance(scalar, complex):
        skind = 3
    else:
        raise op_error(TypeError, "promotion", f"unsupported scalar {scalar!r} of type "
                       f"{type(scalar).__name__}")
    akind = _KIND_ORDER[arr.kind]
    if skind <= akind:
        return arr
    if skind == 1:
        return int64
    if skind == 2:
        return float64
    # complex scalar: keep the array's float precision
    return complex64 if arr in (float16, bfloat16, float32) else complex128


def result_type(*operands) -> DType:
    """Promote array dtypes and weak Python scalars together (arrays first, as NumPy 2)."""
    arrays = [o for o in operands if isinstance(o, DType)]
    scalars = [o for o in operands if not isinstance(o, DType)]
    if not arrays:
        return _scalar_default(scalars)
    out = arrays[0]
    for d in arrays[1:]:
        out = promote(out, d)
    for s in scalars:
        out = promote_weak(out, s)
    return out


def _scalar_default(scalars) -> DType:
    kinds = [promote_weak(bool_, s) for s in scalars]
    out = kinds[0]
    for k in kinds[1:]:
        out = promote(out, k)
    return out


def can_cast_same_kind(src: DType, dst: DType) -> bool:
    """NumPy's ``same_kind`` casting (what in-place operators allow)."""
    return bool(np.can_cast(_np(src), _np(dst), "same_kind"))


def int_range(d: DType) -> tuple[int, int]:
    info = np.iinfo(d.name)
    return int(info.min), int(info.max)


def default_float(d: DType) -> DType:
    """The float dtype an operation like ``sqrt`` or ``/`` gives for ``d`` (NumPy rules)."""
    if d.kind in "fc":
        return d
    if d in (bool_, int8, uint8):
        return float16
    if d in (int16, uint16):
        return float32
    return float64


def sum_dtype(d: DType) -> DType:
    """Accumulator dtype of sum/prod: small integers and bools widen to int64, as NumPy."""
    return int64 if d.kind in "biu" else d
