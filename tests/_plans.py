"""Helpers for tests that look at plans: the nodes of a physical plan, its collectives, and
the plans built on simulated ranks."""

from __future__ import annotations

import json
import re

import lazyheat as lh
from lazyheat.graph import topo_order
from lazyheat.graph.ops import COLLECTIVES as COLLECTIVE_OPS
from lazyheat.planner import comm_bytes, comm_kind, physical_plan

SIZES = [1, 2, 3, 4, 7, 64]


def collectives(order) -> list:
    """The nodes of ``order`` whose op is a collective, in order."""
    return [n for n in order if n.op in COLLECTIVE_OPS]


def moving_collectives(order) -> list:
    """The collectives of ``order`` that move data: a redistribute of a replicated value is a
    local slice (free) and left out."""
    return [n for n in collectives(order)
            if n.op != "redistribute" or n.inputs[0].aval.split is not None]


def kernels(order) -> list:
    """The nodes of ``order`` that compute: neither a collective, a param nor an unbatch."""
    return [n for n in order if n.op not in COLLECTIVE_OPS and n.op not in ("param", "unbatch")]


def nodes_of(*arrays) -> list:
    """The physical plan of ``arrays`` in topological order."""
    return topo_order(physical_plan(arrays))


def ops_of(arrays) -> list:
    """Ops of the physical plan, fused groups expanded into their members and closer."""
    out = []
    for n in topo_order(physical_plan(arrays)):
        if n.op == "fused":
            out.extend(m.op for m in n.attr("members"))
            if n.attr("closer") is not None:
                out.append(n.attr("closer").op)
        else:
            out.append(n.op)
    return out


def comms_of(arrays) -> list:
    """(kind, bytes per rank) of every collective of the physical plan."""
    return [(comm_kind(n), comm_bytes(n)) for n in collectives(nodes_of(*arrays))]


def strip_locations(text: str) -> str:
    """Plan text without the ``# file:line`` source locations."""
    return re.sub(r"\s+# \S+", "", text)


def distinct_plans(build, p: int) -> set[str]:
    """The distinct JSON plans of ``build(rank)`` over simulated ranks of a ``p``-rank world
    (every rank up to 8, else the first, middle and last), source lines left out: an SPMD plan
    must come out as a single one."""
    docs = set()
    for r in simulated_ranks(p):
        doc = json.loads(lh.explain(*build(r), format="json"))
        for d in doc["nodes"]:
            d.pop("loc")
            for m in d.get("group", {}).get("members", []):
                m.pop("loc")
        docs.add(json.dumps(doc, sort_keys=True))
    return docs


def simulated_ranks(p: int):
    """The ranks of a ``p``-rank world that the plan comparisons build on."""
    return range(p) if p <= 8 else (0, p // 2, p - 1)
