"""compute, numpy, item, conversions, larray, lshape, lshape_map and explain."""

import numpy as np
import pytest
import torch
from _util import RANK, SIZE, SPLITS_2D, check, lh, make, raise_if_any, same_everywhere


def test_compute_returns_same_values():
    a = make((7, 5), "float64", seed=80)
    for split in SPLITS_2D:
        x = lh.array(a, split=split)
        z = (x * 2 - 1).sum(axis=0)
        c = z.compute()
        assert c.shape == z.shape and c.dtype == z.dtype
        check(c, (a * 2 - 1).sum(axis=0))
        check(c + 1, (a * 2 - 1).sum(axis=0) + 1)  # computed arrays keep composing
        check(z, (a * 2 - 1).sum(axis=0))  # the lazy one still works
        check(c.compute(), (a * 2 - 1).sum(axis=0))


def test_lh_compute_many():
    a = make((7, 5), "float32", seed=81)
    x = lh.array(a, split=0)
    s, m, t = x.sum(axis=0), x.mean(), x.T @ x
    out = lh.compute(s, m, t)
    assert isinstance(out, tuple) and len(out) == 3
    check(out[0], a.sum(axis=0))
    check(out[1], a.mean(), rtol=1e-5)
    check(out[2], a.T @ a, rtol=1e-5, atol=1e-5)
    (single,) = lh.compute(s, x.mean(axis=1))[:1]
    check(single, a.sum(axis=0))


def test_numpy_everywhere_and_scalars():
    a = make((7, 5), "int64", seed=82)
    for split in SPLITS_2D:
        x = lh.array(a, split=split)
        got = x.numpy()
        assert same_everywhere(got)
        np.testing.assert_array_equal(got, a)
        total = x.sum()
        assert total.item() == a.sum()
        assert isinstance(total.item(), int)
        assert int(total) == int(a.sum())
        assert float(total) == float(a.sum())
        assert bool(total != 0) == bool(a.sum() != 0)
        assert bool(x[0, 0] == a[0, 0])
        f = lh.array(a.astype("f8"), split=split).mean()
        assert isinstance(f.item(), float)
        assert abs(f.item() - a.mean()) < 1e-12
        assert isinstance((x > 0).any().item(), bool)
        assert len(x) == 7
        assert x[2:4, 1:2].sum().item() == a[2:4, 1:2].sum()


def test_item_requires_one_element():
    x = lh.ones((2, 2), split=0)
    with pytest.raises((ValueError, TypeError)):
        x.item()
    assert lh.ones((1, 1), split=0).item() == 1.0


def test_larray_lshape_lshape_map():
    for shape in ((7, 5), (3, 4), (1, 6), (0, 3)):
        a = make(shape, "float32", seed=83)
        for split in SPLITS_2D:
            x = lh.array(a, split=split)
            err = None
            local = x.larray
            if not isinstance(local, torch.Tensor):
                err = f"larray is {type(local)}"
            elif tuple(local.shape) != tuple(x.lshape):
                err = f"larray shape {tuple(local.shape)} != lshape {tuple(x.lshape)}"
            lmap = np.asarray(x.lshape_map)
            if err is None and lmap.shape != (SIZE, 2):
                err = f"lshape_map shape {lmap.shape}"
            if err is None:
                if split is None:
                    if not (lmap == np.array(shape)).all():
                        err = f"replicated lshape_map {lmap.tolist()}"
                    elif not np.array_equal(local.cpu().numpy(), a):
                        err = "replicated larray differs from the data"
                else:
                    if lmap[:, split].sum() != shape[split]:
                        err = f"split column of {lmap.tolist()} does not sum to {shape[split]}"
                    # this rank's block is the right slice of the global array
                    start = int(lmap[:RANK, split].sum())
                    idx = [slice(None)] * 2
                    idx[split] = slice(start, start + int(lmap[RANK, split]))
                    if not np.array_equal(local.cpu().numpy(), a[tuple(idx)]):
                        err = "larray is not this rank's block"
            raise_if_any(err)
            # a freshly distributed array is balanced: blocks differ by at most one
            if split is not None:
                col = lmap[:, split]
                assert col.max() - col.min() <= 1


def test_explain():
    x = lh.random.randn(8 * SIZE, 4, seed=1, split=0)
    text = lh.explain(x)
    assert isinstance(text, str) and text
    assert "@0" in text
    g = x.T @ x
    plan = lh.explain(g)
    assert isinstance(plan, str)
    assert "allgather" not in plan.lower()
    if SIZE > 1:
        assert "allreduce" in plan.lower()
    both = lh.explain(g, x.sum(axis=0))
    assert isinstance(both, str) and both
    assert same_everywhere(plan)
    # explain does not compute or change results
    xa = x.numpy()
    check(g, xa.T @ xa, rtol=1e-4, atol=1e-4)
    y = lh.ones((5, 8 * SIZE), split=1)
    assert "@1" in lh.explain(y)
