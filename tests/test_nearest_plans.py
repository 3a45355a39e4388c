"""Plans of the nearest-center primitive: one pass over the samples feeds labels, distances
and per-center stats; over split rows the stats cost one all-reduce of k (d + 2) float64
values for any world size, and the n x k distance matrix never appears."""

import json

import numpy as np
import pytest
import torch

import lazyheat as lh
from lazyheat.graph.commcost import allreduce_cost
from lazyheat.runtime import native
from lazyheat.runtime.kernels import nearest as nk


def _doc(*ys, p):
    return json.loads(lh.explain(*ys, world_size=p, format="json"))


@pytest.mark.parametrize("p", (2, 3, 64, 1024))
def test_center_stats_cost_one_small_allreduce(p):
    n, d, k = 2_000_000, 8, 8
    X = lh.zeros((n, d), dtype="float32", split=0)
    C = lh.zeros((k, d), dtype="float32")
    sums, counts, dsum = lh.center_stats(X, C)
    labels = lh.nearest_centers(X, C)
    doc = _doc(sums, counts, dsum, labels, p=p)
    comms = [nd["comm"] for nd in doc["nodes"] if nd.get("comm")]
    assert [c["kind"] for c in comms] == ["allreduce[sum]"]
    # k (d + 2) float64 values, whatever n: what an all-reduce of them receives on p ranks
    assert doc["totals"]["bytes_moved_per_rank"] == allreduce_cost(k * (d + 2) * 8, p).bytes
    ops = [nd["op"] for nd in doc["nodes"]]
    assert ops.count("nearest") == 2  # labels and stats: two parts of one shared pass
    assert all(nd["op"] != "matmul" for nd in doc["nodes"])


def test_labels_stay_split_and_replicated_samples_need_no_message():
    X = lh.zeros((100, 3), dtype="float64", split=0)
    C = lh.zeros((4, 3), dtype="float64")
    labels = lh.nearest_centers(X, C)
    assert labels.split == 0 and labels.dtype == lh.int64
    doc = _doc(*lh.center_stats(lh.zeros((100, 3)), C), p=4)
    assert doc["totals"]["bytes_moved_per_rank"] == 0


def test_bad_operands_raise_at_build_time():
    X = lh.zeros((10, 3), split=0)
    with pytest.raises(ValueError, match="nearest_centers.*3 features"):
        lh.nearest_centers(X, lh.zeros((2, 4)))
    with pytest.raises(TypeError, match="floating"):
        lh.nearest_centers(lh.zeros((10, 3), dtype="int64"), lh.zeros((2, 3)))
    with pytest.raises(ValueError, match="metric"):
        lh.center_stats(X, lh.zeros((2, 3)), metric="cosine")


@pytest.mark.parametrize("metric", ["sqeuclidean", "cityblock"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_native_and_torch_kernels_agree_with_numpy(metric, dtype):
    """Both implementations: first minimum on ties, exact per-center sums and counts."""
    g = np.random.default_rng(5)
    for n, d, k in ((1, 3, 1), (37, 5, 7), (20_000, 3, 19), (9, 1, 2)):
        X = g.standard_normal((n, d)).astype(dtype)
        C = g.standard_normal((k, d)).astype(dtype)
        C[-1] = C[0]  # a duplicated center: the first one wins
        diff = X[:, None] - C[None]
        D = (diff ** 2).sum(-1) if metric == "sqeuclidean" else np.abs(diff).sum(-1)
        L = D.argmin(1)
        S = np.zeros((k, d))
        np.add.at(S, L, X.astype(np.float64))
        impls = [nk._torch(torch.from_numpy(X), torch.from_numpy(C), metric)]
        if native.load("nearest") is not None:
            impls.append(nk._native(torch.from_numpy(X), torch.from_numpy(C), metric,
                                    {"labels", "dist", "stats"}, 2, 0))
        for labels, dist, stats in impls:
            np.testing.assert_array_equal(labels.numpy(), L)
            np.testing.assert_allclose(dist.numpy(), D.min(1), rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(stats.numpy()[:, :d], S, rtol=1e-12, atol=1e-9)
            np.testing.assert_array_equal(stats.numpy()[:, d], np.bincount(L, minlength=k))


def test_native_result_does_not_depend_on_the_thread_count():
    if native.load("nearest") is None:
        pytest.skip("no C compiler")
    g = np.random.default_rng(2)
    X = torch.from_numpy(g.standard_normal((50_000, 4)).astype(np.float32))
    C = X[:6].clone()
    one = nk._native(X, C, "sqeuclidean", {"stats"}, 1, 0)[2]
    two = nk._native(X, C, "sqeuclidean", {"stats"}, 2, 0)[2]
    assert torch.equal(one, two)


def test_without_native_kernels_the_torch_version_runs(monkeypatch):
    monkeypatch.setenv("LAZYHEAT_NATIVE", "0")
    X = np.array([[0.0, 0.0], [0.2, 0.0], [5.0, 5.0]])
    C = np.array([[0.0, 0.0], [5.0, 5.0]])
    sums, counts, dsum = lh.compute(*lh.center_stats(lh.array(X, split=0), lh.array(C)))
    np.testing.assert_array_equal(counts.numpy(), [2.0, 1.0])
    np.testing.assert_allclose(sums.numpy(), [[0.2, 0.0], [5.0, 5.0]])
    np.testing.assert_allclose(dsum.numpy(), [0.04, 0.0])
