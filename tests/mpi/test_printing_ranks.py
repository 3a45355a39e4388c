"""Printing computed arrays on any number of ranks: every rank calls ``repr`` on the same
array (a collective for split arrays); rank 0 gets NumPy's text of the whole array's
values, the other ranks an empty string. Summarized split arrays send only edge items."""

import numpy as np
import pytest
from _util import RANK, SIZE, lh, make, raise_if_any, valid_splits

from lazyheat import printing

PREFIX = "LazyArray("


def _error(x, v) -> str | None:
    """What is wrong with this rank's ``repr(x)`` and ``str(x)`` (None: nothing)."""
    text = repr(x)
    if str(x) != text:
        return f"str {str(x)!r} differs from repr {text!r}"
    if RANK != 0:
        return None if text == "" else f"rank {RANK} printed {text!r}"
    body = PREFIX + np.array2string(v, separator=", ", prefix=PREFIX, suffix=")") + ","
    meta = f"dtype=lh.{x.dtype.name}, device={x.device}, split={x.split})"
    if not text.startswith(body) or not text.endswith(meta):
        return f"got\n{text}\nexpected the values\n{body}\nand {meta}"
    return None


CASES = [((7, 5), "float32"), ((3, 4), "int64"), ((1, 6), "float64"), ((0, 3), "float32"),
         ((5,), "bool"), ((), "complex128"), ((1500,), "float64"), ((600, 4), "int32"),
         ((4, 600), "float32"), ((2, 2000), "bool"), ((20, 9, 11), "complex64"),
         ((11, 10, 12), "float64")]


@pytest.mark.parametrize("shape,dtype", CASES)
def test_rank0_prints_numpys_text_and_the_others_nothing(shape, dtype):
    v = make(shape, dtype, seed=7)
    err = None
    for split in valid_splits(len(shape)):
        x = lh.array(v, split=split)
        err = err or _error(x, v)
    raise_if_any(err)


def test_computed_results_print_once():
    v = make((1200, 3), "float64", seed=8)
    x = lh.array(v, split=0)
    y = (x * 2 + 1).compute()
    z = lh.resplit(y, 1).compute()
    s = x.sum(0).compute()
    raise_if_any(_error(y, v * 2 + 1) or _error(z, v * 2 + 1) or _error(s, v.sum(0)))


def test_more_ranks_than_rows():
    v = make((2, 1000), "float32", seed=9)  # summarized along axis 1, split along axis 0
    w = make((1, 3), "int64", seed=9)
    raise_if_any(_error(lh.array(v, split=0), v) or _error(lh.array(w, split=0), w)
                 or _error(lh.array(v[:, :2], split=0), v[:, :2]))


def test_summarizing_gathers_only_the_edge_items():
    v = make((2000, 50), "float64", seed=10)
    x = lh.array(v, split=0)
    got = printing._gather_edges(x, 3, True)  # collective
    err = None
    if RANK == 0:
        want = v[np.ix_([0, 1, 2, 1997, 1998, 1999], [0, 1, 2, 47, 48, 49])]
        if got is None or got.shape != (6, 6) or not np.array_equal(got, want):
            err = f"gathered {None if got is None else got.shape}, expected (6, 6)"
    elif got is not None:
        err = f"rank {RANK} received {got.shape}"
    raise_if_any(err)


def test_print_options_on_every_rank():
    v = make((40, 30), "float64", seed=11)
    with np.printoptions(threshold=50, edgeitems=2, precision=3, linewidth=60):
        raise_if_any(_error(lh.array(v, split=1), v) or _error(lh.array(v, split=0), v))


def test_lazy_arrays_print_metadata_on_every_rank():
    x = lh.random.randn(10, 3, split=0, seed=1) + 1
    text = repr(x)
    ok = text.startswith("LazyArray(shape=(10, 3)") and "lazy" in text
    raise_if_any(None if ok and not x.is_materialized else f"{text!r} on {SIZE} ranks")
