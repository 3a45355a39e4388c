"""Discrete Fourier transforms: one op over a set of axes none of which is split.

``fft`` computes torch's ``fftn``/``ifftn``/``rfftn``/``irfftn`` over ``axes`` with output
lengths ``s`` and normalization ``norm``. A transform needs every element along its axes, so
the layout rule keeps the split where it is when the split axis is not transformed (no
communication), and otherwise moves it to the largest axis that is not transformed (one
all-to-all, which ``explain`` shows as a redistribute with its bytes): the "pencil" step of a
distributed n-D FFT. Only when every axis is transformed does the rule fall back to a
replicated input; ``lazyheat.fft`` avoids that case by transforming in stages (and a 1-D
split array by the four-step algorithm).
"""

from __future__ import annotations

from . import dtypes as dt
from .errors import op_error
from .layout import balanced_counts
from .registry import Group, Needs, OpDef, register

KINDS = ("fftn", "ifftn", "rfftn", "irfftn")


def complex_of(d: dt.DType) -> dt.DType:
    """The complex dtype a transform of ``d`` yields (NumPy 2: float32 stays single
    precision, integers and bools go to complex128)."""
    if d.is_complex:
        return d
    if d in (dt.float32, dt.float16, dt.bfloat16):
        return dt.complex64
    return dt.complex128


def real_of(d: dt.DType) -> dt.DType:
    return dt.float32 if complex_of(d) is dt.complex64 else dt.float64


def _infer(avals, attrs):
    (x,) = avals
    kind, axes, s = attrs["kind"], attrs["axes"], attrs["s"]
    shape = list(x.shape)
    for ax, n in zip(axes, s):
        shape[ax] = n
    if kind == "rfftn":
        if x.dtype.is_complex:
            raise op_error(TypeError, "rfft", f"needs real input, got {x.dtype.name}", x.shape)
        shape[axes[-1]] = s[-1] // 2 + 1
        return tuple(shape), complex_of(x.dtype)
    if kind == "irfftn":
        return tuple(shape), real_of(x.dtype)
    return tuple(shape), complex_of(x.dtype)


def target_split(x, axes):
    """Where the transform's output is split: the input's split when it is not transformed;
    else the largest non-transformed axis (ties: the lowest); None when every axis is."""
    if x.split is None or x.split not in axes:
        return x.split
    free = [a for a in range(len(x.shape)) if a not in axes]
    if not free:
        return None
    return max(free, key=lambda a: (x.shape[a], -a))


def _layout(avals, attrs, shape, p):
    (x,) = avals
    k = target_split(x, attrs["axes"])
    if k is None:
        return None, None
    if k == x.split:
        return k, x.counts
    return k, balanced_counts(shape[k], p)


def _needs(avals, attrs, shape, out, p) -> Needs:
    # the split axis is not transformed, so its extent is the output's: same counts
    return Needs((out,))


register(OpDef("fft", Group.CONTRACTION, infer=_infer, layout=_layout, needs=_needs,
               doc="discrete Fourier transform over unsplit axes (torch.fft's n-D forms)"))
