"""NumPy dispatch: NumPy's functions called on lazy arrays run lazyheat's, and stay lazy.

``np.mean(x)``, ``np.sum(x, axis=0)``, ``np.exp(x)``, ``np.add(x, 1)``, ``np.where(c, x, y)``,
``np.linalg.norm(x)`` on a ``LazyArray`` build the same graph as ``lh.mean(x)`` and friends
and return lazy arrays, as Dask arrays do (NEP 13 ``__array_ufunc__`` and NEP 18
``__array_function__``). A NumPy array on the left of an operator (``np_array + x``) goes
through the ufunc and gives a lazy array too.

Nothing here falls back to NumPy: a function lazyheat lacks raises a ``TypeError`` naming
it, since running NumPy on the gathered data would silently move a split array onto every
rank. ``np.asarray(x)`` still gathers on purpose (``LazyArray.__array__``).

>>> import numpy as np
>>> x = lh.arange(6, split=0)
>>> type(np.sum(x)).__name__, np.sum(x).item()
('LazyArray', 15)
"""

from __future__ import annotations

import importlib

import numpy as np

from . import stats_more
from ._array import LazyArray

# ufunc names whose lazyheat function has another name
_UFUNC_ALIASES = {"absolute": "abs", "conjugate": "conj", "fabs": "abs", "divide": "true_divide",
                  "true_divide": "divide", "power": "pow", "amax": "max", "amin": "min"}
# ``ufunc.reduce`` and ``ufunc.accumulate`` as lazyheat reductions and scans
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
           "logical_and": "all", "logical_or": "any", "fmax": "nanmax", "fmin": "nanmin"}
_ACCUMULATE = {"add": "cumsum"}
# ufunc keywords that change nothing when given their default
_UFUNC_DEFAULTS = {"casting": "same_kind", "order": "K", "subok": True, "where": True}


def _lh():
    return importlib.import_module("lazyheat")


def _no_function(name: str) -> TypeError:
    return TypeError(f"lazyheat has no {name}: numpy.{name} was called on a lazy array. "
                     "Running NumPy would gather the whole array on every rank; use "
                     "lazyheat's functions, or np.asarray(x) to gather on purpose")


def _find(name: str, submodule: str | None = None):
    """lazyheat's function ``name``: in ``lazyheat.<submodule>`` (linalg, fft, random) when
    NumPy's lives in ``numpy.<submodule>``, else at the top level (under NumPy's other
    spelling where lazyheat uses one, ``absolute`` -> ``abs``)."""
    lh = _lh()
    if submodule:
        f = getattr(getattr(lh, submodule, None), name, None)
        if callable(f):
            return f
    for n in (name, _UFUNC_ALIASES.get(name)):
        for space in (_ALIASES, vars(lh), vars(stats_more)):
            f = space.get(n) if n else None
            if callable(f) and not isinstance(f, type):
                return f
    raise _no_function(name if not submodule else f"{submodule}.{name}")


def _check_kwargs(name: str, kwargs: dict) -> dict:
    """Drop ufunc keywords at their defaults; ``out=`` and others cannot apply lazily."""
    out = kwargs.pop("out", None)
    if any(o is not None for o in (out if isinstance(out, tuple) else (out,))):
        raise TypeError(f"lazyheat {name}: out= is not supported (lazy arrays are immutable "
                        "and NumPy arrays cannot hold a lazy result); use the returned array")
    for k, default in _UFUNC_DEFAULTS.items():
        if k in kwargs and isinstance(kwargs[k], (str, bool)) and kwargs[k] == default:
            del kwargs[k]
    bad = sorted(k for k in kwargs if k in _UFUNC_DEFAULTS or k in ("signature", "axes"))
    if bad:
        raise TypeError(f"lazyheat {name}: keyword(s) {', '.join(bad)} are not supported")
    return kwargs


def array_ufunc(self, ufunc, method, *inputs, **kwargs):
    """NEP 13: a NumPy ufunc on lazy arrays (and NumPy arrays or scalars) builds lazyheat's
    function of the same name: ``__call__`` the elementwise op, ``reduce`` the reduction
    (``np.add.reduce`` is ``sum`` over axis 0 by default), ``accumulate`` the scan."""
    if any(not isinstance(i, (LazyArray, np.ndarray, np.generic, int, float, complex, bool))
           for i in inputs):
        return NotImplemented
    name = ufunc.__name__
    kwargs = _check_kwargs(name, dict(kwargs))
    if method == "__call__":
        return _find(name)(*inputs, **kwargs)
    if method in ("reduce", "accumulate"):
        table = _REDUCE if method == "reduce" else _ACCUMULATE
        if ufunc.__name__ not in table:
            raise TypeError(f"lazyheat has no {ufunc.__name__}.{method}")
        (x,) = inputs
        kwargs.setdefault("axis", 0)  # NumPy's default for ufunc methods
        if kwargs.pop("initial", None) is not None:
            raise TypeError(f"lazyheat {ufunc.__name__}.{method}: initial= is not supported")
        return _find(table[ufunc.__name__])(x, **kwargs)
    raise TypeError(f"lazyheat has no {ufunc.__name__}.{method}")


def array_function(self, func, types, args, kwargs):
    """NEP 18: ``numpy.<name>`` (or ``numpy.linalg.<name>``, ...) on lazy arrays calls
    lazyheat's function of that name with the same arguments; lazyheat has none: TypeError."""
    if not all(issubclass(t, (LazyArray, np.ndarray)) for t in types):
        return NotImplemented
    module = func.__module__ or "numpy"
    sub = module.split(".")[1] if module.startswith("numpy.") else None
    if sub in ("_core", "core", "lib", "_function_base_impl", "matrixlib"):
        sub = None
    return _find(func.__name__, sub)(*args, **kwargs)


def _shape(x):
    return x.shape if isinstance(x, LazyArray) else np.shape(x)


def _ndim(x):
    return x.ndim if isinstance(x, LazyArray) else np.ndim(x)


def _size(x, axis=None):
    if not isinstance(x, LazyArray):
        return np.size(x, axis)
    return x.size if axis is None else x.shape[axis]


# NumPy functions answered from metadata (nothing computed)
_ALIASES = {"shape": _shape, "ndim": _ndim, "size": _size}

LazyArray.__array_ufunc__ = array_ufunc
LazyArray.__array_function__ = array_function

__all__: list = []
