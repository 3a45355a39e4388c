"""Operators and methods of LazyArray, attached from the function modules (one source of
truth: ``x.sum(0)`` is ``lh.sum(x, 0)``)."""

from __future__ import annotations

from . import elementwise as ew
from . import indexing, linalg, manipulation, planner, reductions, searching, shaping, sorting
from ._array import LazyArray
from .graph.dtypes import can_cast_same_kind
from .graph.errors import op_error

_BINOPS = {
    "add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide",
    "floordiv": "floor_divide", "mod": "remainder", "pow": "power",
    "and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor",
    "lshift": "left_shift", "rshift": "right_shift",
}


def _fwd(op):
    def f(self, other):
        return ew.binary(op, self, other)
    return f


def _rev(op):
    def f(self, other):
        return ew.binary(op, other, self)
    return f


def _inplace(op):
    def f(self, other):
        """In place as NumPy: the result keeps this array's dtype (same-kind casting)."""
        res = ew.apply(op, self, other)
        if res.shape != self.shape:
            raise op_error(ValueError, op, f"in-place result of shape {res.shape} does not fit "
                           f"the array's shape {self.shape}", self.shape, res.shape)
        if res.dtype != self.dtype:
            if not can_cast_same_kind(res.dtype, self.dtype):
                raise op_error(TypeError, op, f"cannot cast the output from {res.dtype.name} "
                               f"to {self.dtype.name} in place (same_kind casting)")
            res = ew.astype(res, self.dtype)
        if res.aval.layout != self.aval.layout:
            res = manipulation.redistribute_to(res, self.aval.split, self.aval.counts)
        self._node = res._node
        return self
    return f


for _py, _op in _BINOPS.items():
    setattr(LazyArray, f"__{_py}__", _fwd(_op))
    setattr(LazyArray, f"__r{_py}__", _rev(_op))
    setattr(LazyArray, f"__i{_py}__", _inplace(_op))

for _py, _op in {"lt": "less", "le": "less_equal", "gt": "greater",
                 "ge": "greater_equal"}.items():
    setattr(LazyArray, f"__{_py}__", _fwd(_op))


def _equality(op, none_result):
    def f(self, other):
        if other is None:  # NumPy: no element equals None
            from .creation import full_like

            return full_like(self, none_result, dtype="bool")
        return ew.binary(op, self, other)
    return f


LazyArray.__eq__ = _equality("equal", False)
LazyArray.__ne__ = _equality("not_equal", True)

LazyArray.__neg__ = lambda self: ew.negative(self)
LazyArray.__pos__ = lambda self: ew.positive(self)
LazyArray.__abs__ = lambda self: ew.abs(self)
LazyArray.__invert__ = lambda self: ew.invert(self)
LazyArray.__matmul__ = lambda self, other: linalg.matmul(self, other)
LazyArray.__rmatmul__ = lambda self, other: linalg.matmul(other, self)


def _getitem(self, key):
    """Basic indexing (ints, slices, None, ...), a boolean mask (``x[x > 0]``) or one
    integer array along an axis (``x[[2, 0]]``, ``x[:, idx]``)."""
    mask = indexing.as_mask(key)
    if mask is not None:
        return indexing.select(self, mask)
    keys = key if isinstance(key, tuple) else (key,)
    if any(indexing.is_index_array(k) for k in keys):
        return indexing.getitem(self, key)
    if isinstance(key, LazyArray):
        return indexing.select(self, key)  # raises the dtype error
    return manipulation.getitem(self, key)


def _setitem(self, key, value):
    """``x[key] = value``: a lazy functional update. This array now stands for the updated
    value; expressions built on it before keep the old one (see ``indexing.setitem``)."""
    self._node = indexing.setitem(self, key, value)._node


LazyArray.__getitem__ = _getitem
LazyArray.__setitem__ = _setitem

for _name in ("exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "square", "sin", "cos",
              "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "floor", "ceil",
              "trunc", "sign", "isnan", "isinf", "isfinite", "abs"):
    setattr(LazyArray, _name, getattr(ew, _name))

LazyArray.round = lambda self, decimals=0: ew.round(self, decimals)
LazyArray.astype = lambda self, dtype, copy=True: ew.astype(self, dtype)
LazyArray.clip = lambda self, a_min=None, a_max=None: ew.clip(self, a_min, a_max)

for _name in reductions.METHODS:
    setattr(LazyArray, _name, getattr(reductions, _name))
LazyArray.cumsum = lambda self, axis=None, dtype=None: reductions.cumsum(self, axis, dtype)

LazyArray.reshape = lambda self, *shape: manipulation.reshape(
    self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)
LazyArray.transpose = lambda self, *axes: linalg.transpose(
    self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else (axes or None))
LazyArray.T = property(lambda self: linalg.transpose(self))
LazyArray.squeeze = lambda self, axis=None: manipulation.squeeze(self, axis)
LazyArray.flatten = lambda self: manipulation.reshape(self, (-1,))
LazyArray.ravel = LazyArray.flatten
LazyArray.resplit = lambda self, axis=None: manipulation.resplit(self, axis)
LazyArray.balance = lambda self: manipulation.balance(self)
LazyArray.dot = lambda self, other: linalg.dot(self, other)


# ---------------------------------------------------------------- NumPy's ndarray methods
def _sort_in_place(self, axis=-1, kind=None, order=None):
    """Sort along ``axis`` in place, as NumPy's ``ndarray.sort`` (returns None): the array
    now refers to the sorted value; expressions built on it before keep the old one."""
    if order is not None:
        raise op_error(ValueError, "sort", "order= applies to structured arrays only")
    self._node = sorting.sort(self, axis=axis)._node


def _fill(self, value):
    """Set every element to ``value`` in place (the array keeps its dtype and layout)."""
    from .creation import full_like

    self._node = full_like(self, value)._node


LazyArray.sort = _sort_in_place
LazyArray.fill = _fill
LazyArray.argsort = lambda self, axis=-1, kind=None: sorting.argsort(self, axis=axis)
LazyArray.searchsorted = lambda self, v, side="left", sorter=None: sorting.searchsorted(
    self, v, side=side, sorter=sorter)
LazyArray.nonzero = lambda self: searching.nonzero(self)
LazyArray.cumprod = lambda self, axis=None, dtype=None: searching.cumprod(self, axis, dtype)
LazyArray.take = lambda self, indices, axis=None: indexing.take(self, indices, axis=axis)
LazyArray.flip = lambda self, axis=None: shaping.flip(self, axis=axis)
LazyArray.repeat = lambda self, repeats, axis=None: shaping.repeat(self, repeats, axis=axis)
LazyArray.swapaxes = lambda self, axis1, axis2: shaping.swapaxes(self, axis1, axis2)
LazyArray.diagonal = lambda self, offset=0, axis1=0, axis2=1: shaping.diagonal(
    self, offset=offset, axis1=axis1, axis2=axis2)
LazyArray.trace = lambda self, offset=0, axis1=0, axis2=1, dtype=None: reductions.sum(
    shaping.diagonal(self, offset=offset, axis1=axis1, axis2=axis2), axis=-1, dtype=dtype)
for _name in ("conj", "conjugate"):
    if hasattr(ew, "conj"):
        setattr(LazyArray, _name, lambda self: ew.conj(self))
if hasattr(ew, "real"):
    LazyArray.real = property(lambda self: ew.real(self))
    LazyArray.imag = property(lambda self: ew.imag(self))

# ---------------------------------------------------------------- materializing
def compute(self) -> LazyArray:
    """Run the plan for this array; returns it, now backed by materialized data."""
    planner.compute(self)
    return self


def _larray(self):
    """This rank's block as a torch tensor (computes if needed)."""
    self.compute()
    return self._node.attr("buf").value


def numpy(self):
    """The whole array as NumPy on every rank (gathers split arrays)."""
    return planner.to_numpy(self)


LazyArray.compute = compute
LazyArray.larray = property(_larray)
LazyArray.numpy = numpy
