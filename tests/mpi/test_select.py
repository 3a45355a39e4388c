"""Boolean mask selection ``x[mask]``: a data-dependent extent planned as a break, on any
number of ranks, against NumPy."""

import numpy as np
import pytest
from _util import SHAPES_2D, check, lh, make, same_everywhere

SPLITS = (None, 0, 1)


@pytest.mark.parametrize("shape", SHAPES_2D)
@pytest.mark.parametrize("split", SPLITS)
def test_positive_entries(shape, split):
    a = make(shape, "float32", seed=61)
    x = lh.array(a, split=split)
    got = x[x > 0]
    assert got.split == (None if split is None else 0)
    check(got, a[a > 0])


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("mask_split", (None, 0))
def test_row_mask_keeps_trailing_axes(split, mask_split):
    a = make((7, 5), "int64", seed=62)
    m = a[:, 0] > 0
    x = lh.array(a, split=split)
    got = x[lh.array(m, split=mask_split)]
    check(got, a[m])
    if split == 1:  # a split after the masked axes stays where it is
        assert got.split == 1 and got.lshape_map == tuple(
            (int(m.sum()), n) for _, n in lh.array(a, split=1).lshape_map)


def test_empty_selection_on_every_layout():
    a = make((5, 3), "float64", seed=63)
    for split in SPLITS:
        x = lh.array(a, split=split)
        got = x[x > 100.0]
        assert got.shape == (0,)
        check(got, a[a > 100.0])
        check(got.sum(), np.float64(0.0))  # planned on after the break like any array


def test_counts_are_the_data_and_the_rest_is_planned_normally():
    a = np.arange(40, dtype=np.float32).reshape(8, 5)
    x = lh.array(a, split=0)
    sel = x[x >= 30]  # only the last rows: most ranks hold nothing
    counts = [c[0] for c in sel.lshape_map]
    assert sum(counts) == 10 and same_everywhere(counts)
    check((sel * 2).sum(), (a[a >= 30] * 2).sum())
    check(sel.balance(), a[a >= 30])
    assert sel.balance().is_balanced


def test_numpy_bool_index_and_errors():
    a = make((6, 2), "float32", seed=64)
    x = lh.array(a, split=0)
    m = a[:, 1] < 0
    check(x[m], a[m])
    with pytest.raises(IndexError, match="boolean index"):
        x[lh.array(np.ones(5, dtype=bool))]
    with pytest.raises(IndexError, match="must be boolean or integer"):
        x[lh.array(np.ones(6))]
    check(x[lh.arange(5, -1, -1)], a[::-1])  # integer arrays are routed, not refused


def test_explain_names_the_break():
    x = lh.array(make((9, 4), "float32", seed=65), split=0)
    y = x[x > 0].sum()
    text = str.__str__(lh.explain(y))
    assert "mask_select" in text and "break at" in text
    doc = lh.plan(y).to_json()
    assert len(doc["breaks"]) == 1 and "data-dependent" in doc["breaks"][0]
    assert not any("break" in r for r in doc["rewrites"])


def test_numpy_mask_follows_the_arrays_communicator():
    # a NumPy mask is built on x's communicator (no "different communicators" error); on a
    # planning-only communicator the break then refuses to run, as any compute does
    x = lh.zeros((6, 2), split=1, comm=lh.FakeComm(3))
    with pytest.raises(RuntimeError, match="only plans"):
        x[np.ones(6, dtype=bool)]
