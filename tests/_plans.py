"""Helpers for tests that compare plans built on simulated ranks."""

from __future__ import annotations

import json

import lazyheat as lh


def distinct_plans(build, p: int) -> set[str]:
    """The distinct JSON plans of ``build(rank)`` over simulated ranks of a ``p``-rank world
    (every rank up to 8, else the first, middle and last), source lines left out: an SPMD plan
    must come out as a single one."""
    docs = set()
    for r in range(p) if p <= 8 else (0, p // 2, p - 1):
        doc = json.loads(lh.explain(*build(r), format="json"))
        for d in doc["nodes"]:
            d.pop("loc")
            for m in d.get("group", {}).get("members", []):
                m.pop("loc")
        docs.add(json.dumps(doc, sort_keys=True))
    return docs
