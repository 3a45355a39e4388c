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
    assert re.search(r"-- comm: allreduce\[sum\], 32 B/rank", text)
    assert "totals: 2 kernels (0 fused, 0 ops in them), 1 collectives" in text
