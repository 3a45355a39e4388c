"""Shared helpers for the rank-count independent tests in tests/mpi.

Every test in this directory runs identically on every rank (same data, same
sequence of collective calls) and uses NumPy as the oracle.  Assertions about
values are combined over all ranks before raising, so a mismatch seen by one
rank fails the test on every rank instead of leaving the others waiting in the
next collective.
"""

from __future__ import annotations

import numpy as np
from mpi4py import MPI

import lazyheat as lh

COMM = MPI.COMM_WORLD
RANK = COMM.rank
SIZE = COMM.size
# "cpu" unless the run sets LAZYHEAT_DEVICE=gpu: the whole suite then runs on the GPU
DEFAULT_DEVICE = lh.zeros(()).device

SPLITS_2D = (None, 0, 1)

# Shapes chosen to be uneven for 2, 3 and 4 ranks; (3, 4) gives some ranks no
# rows on 4 ranks, (1, 6) has fewer rows than ranks, (0, 3) is empty.
SHAPES_2D = ((7, 5), (3, 4), (1, 6), (0, 3))

_TOL = {
    "float16": (1e-3, 1e-3),
    "bfloat16": (1e-2, 1e-2),
    "float32": (1e-5, 1e-6),
    "float64": (1e-10, 1e-12),
    "complex64": (1e-5, 1e-6),
    "complex128": (1e-10, 1e-12),
}


def rng(seed: int = 0) -> np.random.Generator:
    """A generator that yields the same numbers on every rank."""
    return np.random.default_rng(seed)


def make(
    shape, dtype, seed: int = 0, low: int = -5, high: int = 6, integral: bool = False
) -> np.ndarray:
    """Deterministic test data of the given shape and NumPy dtype.

    Integers are drawn from [low, high); floats are standard normal, or integers
    from [low, high) with ``integral`` (exact arithmetic for small programs).
    """
    g = rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return g.integers(0, 2, size=shape).astype(bool)
    if dtype.kind in "iu" or integral:
        return g.integers(low, high, size=shape).astype(dtype)
    return g.standard_normal(size=shape).astype(dtype)


def valid_splits(ndim: int):
    """Splits that are valid for an array with ``ndim`` dimensions."""
    return (None,) + tuple(range(ndim))


def raise_if_any(local_error: str | None) -> None:
    """Collectively raise AssertionError on every rank if any rank failed."""
    errors = COMM.allgather(local_error)
    bad = [(r, e) for r, e in enumerate(errors) if e]
    if bad:
        shown = "\n".join(f"[rank {r}] {e}" for r, e in bad[:4])
        raise AssertionError(f"{len(bad)} of {SIZE} rank(s) failed:\n{shown}")


def _layout_error(x) -> str | None:
    """Local shape / lshape_map consistency of a lazy array (collective)."""
    lmap = np.asarray(x.lshape_map)
    larray = x.larray
    lshape = tuple(x.lshape)
    if tuple(larray.shape) != lshape:
        return f"larray.shape {tuple(larray.shape)} != lshape {lshape}"
    if x.ndim == 0:
        return None
    if lmap.shape != (SIZE, x.ndim):
        return f"lshape_map has shape {lmap.shape}, expected {(SIZE, x.ndim)}"
    if tuple(int(v) for v in lmap[RANK]) != lshape:
        return f"lshape_map[{RANK}] = {tuple(lmap[RANK])} but lshape = {lshape}"
    for ax in range(x.ndim):
        col = lmap[:, ax]
        if ax == x.split:
            if int(col.sum()) != x.shape[ax]:
                return (
                    f"lshape_map {lmap.tolist()} split column sums to {col.sum()}, "
                    f"not {x.shape[ax]}"
                )
        elif not (col == x.shape[ax]).all():
            return f"lshape_map {lmap.tolist()} disagrees with global shape {x.shape} on axis {ax}"
    return None


def check(x, expected, rtol=None, atol=None, layout: bool = True) -> np.ndarray:
    """Compare a lazy array with its NumPy oracle; collective on all ranks.

    Checks metadata known without computing (shape, dtype, ndim, size, split),
    then materializes and compares values: exactly for integer and bool data,
    with ``assert_allclose`` for floating data.  With ``layout`` also checks
    ``larray``, ``lshape`` and ``lshape_map``.  Returns the gathered array.
    """
    expected = np.asarray(expected)
    assert isinstance(x.shape, tuple), f"shape is {type(x.shape)}, not tuple"
    assert x.shape == expected.shape, f"shape {x.shape} != expected {expected.shape}"
    assert x.dtype == expected.dtype, f"dtype {x.dtype} != expected {expected.dtype}"
    assert x.ndim == expected.ndim, f"ndim {x.ndim} != {expected.ndim}"
    assert x.size == expected.size, f"size {x.size} != {expected.size}"
    assert x.split is None or 0 <= x.split < max(x.ndim, 1), f"bad split {x.split}"

    got = x.numpy()
    err = None
    try:
        assert isinstance(got, np.ndarray), f"numpy() returned {type(got)}"
        assert got.shape == expected.shape, f"numpy().shape {got.shape} != {expected.shape}"
        assert got.dtype == expected.dtype, f"numpy().dtype {got.dtype} != {expected.dtype}"
        if expected.dtype.kind in "biuSU":
            np.testing.assert_array_equal(got, expected)
        else:
            r, a = _TOL.get(expected.dtype.name, (1e-7, 0.0))
            np.testing.assert_allclose(
                got,
                expected,
                rtol=r if rtol is None else rtol,
                atol=a if atol is None else atol,
                equal_nan=True,
            )
    except AssertionError as e:
        err = str(e)
    if layout:
        lerr = _layout_error(x)
        if err is None:
            err = lerr
    raise_if_any(err)
    return got


def same_everywhere(value) -> bool:
    """True if ``value`` (picklable, comparable) is identical on all ranks."""
    values = COMM.allgather(value)
    return all(_eq(values[0], v) for v in values[1:])


def _eq(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
    return a == b


__all__ = [
    "COMM",
    "RANK",
    "SIZE",
    "SHAPES_2D",
    "SPLITS_2D",
    "check",
    "lh",
    "make",
    "raise_if_any",
    "rng",
    "same_everywhere",
    "valid_splits",
]
