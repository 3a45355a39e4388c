"""Counter-based random arrays: the global array depends only on the seed and the shape, so
it is identical on 1, 2, 3 or 4 ranks and for any split.

>>> x = lh.random.randn(4, 3, split=0, seed=1)
>>> x.shape, x.dtype
((4, 3), lazyheat.float32)
"""

from __future__ import annotations

from .creation import _leaf, _shape
from .graph import dtypes as dt
from .graph.errors import op_error

_state = {"seed": 0, "calls": 0}


def seed(value: int) -> None:
    """Set the seed used by calls that pass no ``seed=``; each such call then draws a new,
    reproducible stream (the same sequence of calls gives the same arrays on every rank)."""
    _state["seed"], _state["calls"] = int(value), 0


def _next_seed(seed_):
    if seed_ is not None:
        return int(seed_)
    _state["calls"] += 1
    return _state["seed"] * 1_000_003 + _state["calls"]


def _draw(dist, params, shape, dtype, seed_, split, device, comm):
    attrs = {"dist": dist, "params": tuple(sorted(params.items())), "seed": _next_seed(seed_)}
    return _leaf("random", attrs, shape, dtype, split, device, comm)


def _float_dtype(dtype, op):
    d = dt.as_dtype(dtype or dt.float32)
    if not d.is_floating:
        raise op_error(TypeError, op, f"dtype must be a float dtype, got {d.name}")
    return d


def _dims(args, op):
    if len(args) == 1 and not isinstance(args[0], int):
        return _shape(args[0], op)
    return _shape(args, op)


def rand(*shape, dtype=None, seed=None, split=None, device=None, comm=None):
    """Uniform samples in [0, 1): ``lh.random.rand(1000, 8, split=0, seed=1)``."""
    return _draw("uniform", {"low": 0.0, "high": 1.0}, _dims(shape, "rand"),
                 _float_dtype(dtype, "rand"), seed, split, device, comm)


def randn(*shape, dtype=None, seed=None, split=None, device=None, comm=None):
    """Standard normal samples: ``lh.random.randn(1000, 8, split=0, seed=1)``."""
    return _draw("normal", {"mean": 0.0, "std": 1.0}, _dims(shape, "randn"),
                 _float_dtype(dtype, "randn"), seed, split, device, comm)


def uniform(low=0.0, high=1.0, size=None, dtype=None, seed=None, split=None, device=None,
            comm=None):
    """Uniform samples in [low, high)."""
    return _draw("uniform", {"low": float(low), "high": float(high)}, _shape(size or (), "uniform"),
                 _float_dtype(dtype, "uniform"), seed, split, device, comm)


def normal(mean=0.0, std=1.0, size=None, dtype=None, seed=None, split=None, device=None,
           comm=None):
    """Normal samples with ``mean`` and standard deviation ``std``."""
    if std < 0:
        raise op_error(ValueError, "normal", f"std must be non-negative, got {std}")
    return _draw("normal", {"mean": float(mean), "std": float(std)}, _shape(size or (), "normal"),
                 _float_dtype(dtype, "normal"), seed, split, device, comm)


def randint(low, high=None, size=None, dtype=None, seed=None, split=None, device=None,
            comm=None):
    """Integers in [low, high) (int64 by default); ``randint(5, size=3)`` draws from [0, 5)."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise op_error(ValueError, "randint", f"low >= high ({low} >= {high})")
    d = dt.as_dtype(dtype or dt.int64)
    if not d.is_integer:
        raise op_error(TypeError, "randint", f"dtype must be an integer dtype, got {d.name}")
    return _draw("randint", {"low": int(low), "high": int(high)}, _shape(size or (), "randint"),
                 d, seed, split, device, comm)


random_sample = rand
__all__ = ["rand", "randn", "randint", "uniform", "normal", "seed", "random_sample"]
