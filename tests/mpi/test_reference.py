"""The distributed runtime against the reference interpreter (whole arrays, no plan).

Runs on any number of ranks; the reference is computed on every rank from gathered inputs.
"""

import numpy as np
import pytest

import lazyheat as lh
from lazyheat.planner import reference


def pipelines(split_a, split_b):
    a = lh.random.randn(11, 6, split=split_a, seed=7)
    b = lh.random.rand(6, 11, split=split_b, seed=8)
    c = lh.arange(66, split=0).reshape(11, 6).resplit(split_a)
    z = (a - a.mean(0)) / a.std(0, ddof=1)
    return [
        a @ b, b @ a, (a + b.T).sum(0), z.T @ z, a[2:9:3].var(1), a[::-1].argmin(0),
        lh.concatenate([a, b.T, z], 0).max(1), lh.stack([a, z], 2).reshape(11, 12).T,
        lh.where(a > 0, a, b.T) * c, (c % 7 == 3).any(1), lh.norm(a, axis=1),
        lh.expand_dims(a[:, 1], 1).resplit(0).balance() @ lh.ones((1, 3), split=1),
    ]


@pytest.mark.parametrize("split_a,split_b", [(None, None), (0, 0), (0, 1), (1, 0), (1, None)])
def test_runtime_matches_reference(split_a, split_b):
    outs = pipelines(split_a, split_b)
    got = [o.numpy() for o in lh.compute(*outs)]
    ref = reference(*pipelines(split_a, split_b))
    for i, (g, r) in enumerate(zip(got, ref)):
        assert g.shape == r.shape, i
        np.testing.assert_allclose(g, r, rtol=2e-5, atol=2e-5, err_msg=f"output {i}")
