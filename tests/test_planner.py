"""The planner as a whole (``lazyheat/planner.py``): the plan cache, planning for a world size
other than the actual one, measured plans, and plans that come out the same on every rank.
The passes it runs have their own tests under tests/passes."""

import json

import numpy as np
import pytest
from _plans import SIZES, distinct_plans, simulated_ranks, strip_locations

import lazyheat as lh
from lazyheat.graph import topo_order
from lazyheat.graph.commcost import allreduce_cost


def test_plan_cache_hits_for_the_same_structure_with_new_data():
    lh.clear_plan_cache()
    outs = []
    for k in range(3):
        a = lh.asarray(np.arange(10.0) + k)
        outs.append(float(((a * 2 + 1) ** 2).sum()))
    info = lh.plan_cache_info()
    assert info["misses"] == 1 and info["hits"] == 2
    assert outs == [float((((np.arange(10.0) + k) * 2 + 1) ** 2).sum()) for k in range(3)]
    a = lh.asarray(np.arange(10.0))
    float((a * -0.0).sum())
    float((a * 0.0).sum())
    assert lh.plan_cache_info()["misses"] == 3  # -0.0 and 0.0 are different programs


def test_plan_cache_never_holds_user_data():
    lh.clear_plan_cache()
    a = lh.asarray(np.ones(5))
    (a + 1).compute()
    from lazyheat import planner
    for _, outs, *_ in planner._CACHE.values():
        assert not any(n.op == "data" for n in topo_order(outs))


def test_world_size_plans_for_ranks_you_do_not_have():
    x = lh.random.randn(10**6, 8, split=0, seed=1)  # built for this process's world
    g = x.T @ x
    doc = json.loads(lh.explain(g, format="json", world_size=1024))
    assert doc["world_size"] == 1024
    comms = [n for n in doc["nodes"] if "comm" in n]
    assert [c["comm"]["kind"] for c in comms] == ["allreduce[sum]"]
    # the 8 x 8 Gram only, as an all-reduce of it receives on 1024 ranks (10 rounds of it)
    assert comms[0]["comm"]["bytes_per_rank"] == allreduce_cost(8 * 8 * 4, 1024).bytes
    resplit = json.loads(lh.explain(x.resplit(1), format="json", world_size=8))
    moved = [n["comm"]["bytes_per_rank"] for n in resplit["nodes"] if "comm" in n]
    per_rank = 10**6 * 8 * 4 // 8
    assert moved == [per_rank - per_rank // 8]  # all but the block it already holds


def test_analyze_measures_every_step():
    x = lh.random.randn(1000, 8, split=0, seed=1)
    y = ((x * 2).exp() - 1).sum(0)
    doc = json.loads(lh.explain(y, analyze=True, format="json"))
    assert y.is_materialized
    steps = [n for n in doc["nodes"] if n["op"] != "param"]
    assert steps and all("measured" in n for n in steps)
    assert all(n["measured"]["seconds_max"] >= n["measured"]["seconds_min"] >= 0 for n in steps)
    assert "ms" in lh.explain(x.sum() * 2, analyze=True)


def test_fake_comm_refuses_to_compute():
    with pytest.raises(RuntimeError, match="only plans"):
        lh.ones(3, split=0, comm=lh.FakeComm(2)).compute()


def test_planning_deep_graphs_that_reuse_values_stays_linear():
    # 64 dependent coordinate updates, each reusing the previous theta twice: a structural
    # key nested through the inputs would take time exponential in the depth here
    comm = lh.FakeComm(2)
    X = lh.random.rand(100, 64, split=0, seed=1, comm=comm)
    y = lh.random.rand(100, split=0, seed=2, comm=comm)
    theta = lh.zeros(64, comm=comm)
    ids = lh.arange(64, comm=comm)
    for j in range(64):
        xj = X[:, j]
        rho = (xj * (y - X @ theta + theta[j] * xj)).mean()
        theta = lh.where(ids == j, rho, theta)
    p = lh.plan(theta)
    assert p.totals()["collectives"] >= 64


@pytest.mark.parametrize("p", SIZES)
def test_plans_identical_on_every_simulated_rank(p):
    def fused(rank):
        comm = lh.FakeComm(p, rank)
        x = lh.random.randn(50, 6, split=0, seed=1, comm=comm)
        z = (x - x.mean(0)) / x.std(0)
        return [(z * 2).exp().sum(1), (x[:6].T + x[:6]).sum(0), x.max(), x.argmin(0)]

    def layouts(rank):
        comm = lh.FakeComm(p, rank)
        x = lh.random.randn(50, 6, split=0, seed=1, comm=comm)
        y = lh.random.rand(6, 50, split=1, seed=2, comm=comm)
        z = (x - x.mean(0)) / x.std(0)
        return [z.T @ z, (x + y.T).max(1), x[3:40:3].sum(0), lh.concatenate([x, z], 0)]

    for build in (fused, layouts):
        assert len(distinct_plans(build, p)) == 1
        texts = {strip_locations(lh.explain(*build(r))) for r in simulated_ranks(p)}
        assert len(texts) == 1
