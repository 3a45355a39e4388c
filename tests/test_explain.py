"""Readable plans (``lazyheat/explain.py``): the text, JSON and DOT formats of every stage,
and what the text marks (split axes, collectives and their bytes, totals)."""

import json
import re

import pytest

import lazyheat as lh


def test_explain_formats_and_stages(tmp_path):
    x = lh.random.randn(1000, 8, split=0, seed=1, comm=lh.FakeComm(4))
    z = ((x - x.mean(0)) / x.std(0)).sum(1)
    text = lh.explain(z)
    assert "fused(" in text and "t0 = subtract" in text and "-- comm:" in text
    assert "peak ~" in text and "totals:" in text
    doc = json.loads(lh.explain(z, format="json"))
    assert doc["schema"] == "lazyheat.plan/1" and doc["world_size"] == 4
    assert doc["totals"]["collectives"] == 1
    assert any("group" in n for n in doc["nodes"])
    dot = lh.explain(z, format="dot")
    assert dot.startswith("digraph plan {") and "subgraph cluster_" in dot
    logical = lh.explain(z, stage="logical")
    assert "reduce_partial" not in logical and "reduce[" in logical
    assert "fused(" not in lh.explain(z, stage="optimized")
    p = lh.plan(z)
    p.dump(tmp_path / "plan.json")
    p.dump(tmp_path / "plan.dot")
    p.dump(tmp_path / "plan.txt")
    assert json.loads((tmp_path / "plan.json").read_text())["stage"] == "physical"
    assert (tmp_path / "plan.dot").read_text().startswith("digraph")
    assert "totals:" in (tmp_path / "plan.txt").read_text()
    with pytest.raises(ValueError, match="stage"):
        lh.explain(z, stage="fancy")
    with pytest.raises(ValueError, match="format"):
        lh.explain(z, format="yaml")


def test_explain_marks_split_and_comm_lines():
    x = lh.ones((1000, 8), split=0, comm=lh.FakeComm(4))
    text = lh.explain(x.sum(0))
    assert "f32[1000@0, 8]" in text
    # 8 float32 sums all-reduced by recursive doubling: log2(4) = 2 rounds of 32 bytes
    assert re.search(rf"-- comm: allreduce\[sum\], {2 * 8 * 4} B/rank", text)
    assert "totals: 2 kernels (0 fused, 0 ops in them), 1 collectives" in text


def test_networkx_graph_carries_ops_types_and_bytes():
    import networkx as nx

    x = lh.random.randn(1000, 16, split=0, seed=1, comm=lh.FakeComm(4))
    plan = lh.plan((x - x.mean(0)) / x.std(0))
    g = plan.to_networkx()
    assert nx.is_directed_acyclic_graph(g)
    assert g.graph["world_size"] == 4 and g.graph["totals"] == plan.totals()
    ops = [g.nodes[n]["op"] for n in nx.topological_sort(g)]
    assert ops == ["random", "reduce_partial", "allreduce_state", "reduce_merge",
                   "reduce_merge", "fused"]
    (comb,) = [n for n, d in g.nodes(data=True) if d["op"] == "allreduce_state"]
    state = next(iter(g.predecessors(comb)))
    # a state's bytes come from its typed aval: count, mean and M2 in float64
    assert g.nodes[state]["nbytes"] == 8 + 16 * 8 + 16 * 8 and g.nodes[state]["shape"] is None
    # combined by recursive doubling on 4 ranks: a whole state received in each of 2 rounds
    assert g.nodes[comb]["bytes_per_rank"] == g.nodes[state]["nbytes"] * 2
    assert g.edges[state, comb]["bytes_per_rank"] == g.nodes[comb]["bytes_per_rank"]
    assert g.nodes[g.graph["outputs"][0]]["type"] == "f32[1000@0, 16]"


def test_json_lists_the_parts_of_a_state():
    x = lh.random.randn(10, 3, split=0, seed=1, comm=lh.FakeComm(2))
    doc = json.loads(str.__str__(lh.explain(x.argmin(0), format="json")))
    part = next(d for d in doc["nodes"] if d["op"] == "reduce_partial")
    assert part["shape"] is None and part["dtype"] is None
    assert part["parts"] == {"value": {"shape": [3], "dtype": "float32", "split": None,
                                       "counts": None},
                             "index": {"shape": [3], "dtype": "int64", "split": None,
                                       "counts": None}}
