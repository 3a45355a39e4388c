"""Plan structure of sorting, searching, quantiles and set functions for any world size
(FakeComm, nothing runs): which collectives run and what they move; nothing gathers a whole
split array."""

import numpy as np
import pytest

import lazyheat as lh
from lazyheat.graph import ops, topo_order
from lazyheat.graph.commcost import allreduce_cost, reduce_scatter_cost
from lazyheat.graph.sort import SAMPLES


def _comms(y):
    order = topo_order(lh.plan(y).outputs)
    return [(lh.planner.comm_kind(n), lh.planner.comm_bytes(n)) for n in order
            if n.op in ops.COLLECTIVES]


_COMMS = {}


def _randn(*shape, p, split=0):
    comm = _COMMS.setdefault(p, lh.FakeComm(p))  # operands must share one communicator
    return lh.random.randn(*shape, split=split, seed=1, comm=comm)


def _samples(p):
    return p * SAMPLES * 16 + p * (p + 1) * 8


@pytest.mark.parametrize("p", [2, 4, 64])
def test_1d_sort_is_one_sample_sort_moving_about_a_block(p):
    x = _randn(1000, p=p)
    block = -(-1000 // p)
    (kind, b), = _comms(lh.sort(x))
    assert kind.startswith("alltoall (sample sort") and b == block * 4 + _samples(p)
    (kind, b), = _comms(lh.argsort(x, descending=True))
    assert "indices" in kind and b == block * (4 + 8) + _samples(p)


@pytest.mark.parametrize("p", [2, 4])
def test_nd_sort_along_the_split_axis_resplits_twice(p):
    x = _randn(100, 8, p=p)
    got = _comms(lh.sort(x, axis=0))
    assert [k for k, _ in got] == ["alltoall (split 0 -> 1)", "alltoall (split 1 -> 0)"]
    assert _comms(lh.sort(x, axis=1)) == [] and _comms(lh.argsort(x, axis=-1)) == []
    assert lh.sort(x, axis=0).split == 0


def test_explain_names_the_sample_sort_with_bytes():
    text = str(lh.explain(lh.sort(lh.random.randn(1000, split=0, seed=1)), world_size=4))
    assert "samplesort" in text and "alltoall (sample sort" in text and "B/rank" in text


@pytest.mark.parametrize("p", [2, 4])
def test_searchsorted_never_gathers_x1(p):
    x1 = lh.sort(_randn(10_000, p=p))
    v = _randn(50, p=p)
    got = _comms(lh.searchsorted(x1, v))
    kinds = [k for k, _ in got]
    # the sample sort, the (small) values gathered, the counts summed straight into the
    # result's blocks (each rank keeps its own: never the whole int64 counts per rank)
    assert kinds[0].startswith("alltoall (sample sort")
    assert kinds[1:] == ["allgather", "reduce_scatter[sum]"]
    assert got[1][1] <= 50 * 4
    assert got[2][1] == reduce_scatter_cost(50 * 8, p).bytes < 50 * 8
    assert lh.searchsorted(x1, v).split == 0


@pytest.mark.parametrize("p", [2, 4])
def test_quantiles_of_a_split_vector_sum_a_few_positions(p):
    x = _randn(1000, p=p)
    got = _comms(lh.quantile(x, [0.25, 0.5, 0.75]))
    assert got[0][0].startswith("alltoall (sample sort")
    # 2 * 3 + 1 float32 values for 3 quantiles, whatever the data: one all-reduce of them
    assert got[1] == ("allreduce[sum]", allreduce_cost((2 * 3 + 1) * 4, p).bytes)
    assert len(got) == 2


@pytest.mark.parametrize("p", [2, 4])
def test_median_along_a_split_axis_moves_the_split_once(p):
    x = _randn(100, 8, p=p)
    assert [k for k, _ in _comms(lh.median(x, axis=0))] == ["alltoall (split 0 -> 1)"]
    assert _comms(lh.median(x, axis=1)) == []
    flat = [k for k, _ in _comms(lh.median(_randn(100, 8, p=p, split=1)))]
    assert flat[0] == "alltoall (split 1 -> 0)" and flat[1].startswith("alltoall (sample")
    assert "allgather" not in flat


def test_no_plan_gathers_a_split_array():
    p = 8
    x = _randn(4000, p=p)
    for y in (lh.sort(x), lh.argsort(x), lh.quantile(x, 0.3), lh.percentile(x, [5, 95]),
              lh.searchsorted(lh.sort(x), lh.asarray(np.zeros(3, np.float32),
                                                      comm=x.comm))):
        for kind, b in _comms(y):
            assert kind != "allgather" or b < 4000, (kind, b)


def test_unique_plans_show_their_break():
    x = lh.array(np.array([3, 1, 3, 2]), split=0)
    text = str(lh.explain(lh.unique_counts(x).counts))
    assert "break at" in text and "unique_select" in text
    text = str(lh.explain(lh.unique_inverse(x).inverse_indices))
    assert "unique_inverse" in text
