"""Build-time errors: raised identically on every rank because they depend only on metadata."""

from __future__ import annotations

from .source import user_location


def op_error(cls, op: str, msg: str, *shapes) -> Exception:
    """An exception naming the op, the operand shapes and the user's source line."""
    shp = ", ".join(str(tuple(s)) for s in shapes)
    where = user_location()
    return cls(f"{op}: {msg}" + (f" (shapes {shp})" if shapes else "") + f" [at {where}]")


def normalize_axis(axis: int, ndim: int, op: str, shape=(), what: str = "axis") -> int:
    """``axis`` as a non-negative int, or a build-time error naming ``op`` and ``shape``."""
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise op_error(TypeError, op, f"{what} must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise op_error(ValueError, op, f"{what} {axis} is out of bounds for an array of "
                       f"dimension {ndim}", shape)
    return axis % ndim


def normalize_axes(axis, ndim: int, op: str, shape=()) -> tuple:
    """None -> all axes; int or tuple -> sorted tuple of non-negative axes, no repeats."""
    if axis is None:
        return tuple(range(ndim))
    try:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
    except TypeError:
        raise op_error(TypeError, op, f"axis must be None, an int or a tuple of ints, got "
                       f"{axis!r}") from None
    out = tuple(sorted(normalize_axis(a, ndim, op, shape) for a in axes))
    if len(set(out)) != len(out):
        raise op_error(ValueError, op, f"repeated axis in {axis!r}", shape)
    return out


def normalize_split(split, ndim: int, op: str, shape=()):
    """None (replicated) or the split axis as a non-negative int."""
    return None if split is None else normalize_axis(split, ndim, op, shape, "split axis")
