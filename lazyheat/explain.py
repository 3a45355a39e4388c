"""Readable plans: text (an SSA listing), JSON (schema ``lazyheat.plan/1``) and DOT.

All three render the same description of a plan, built here once per node; every number in
it (bytes, collectives, peak memory) comes from the cost model in ``graph/cost.py``:

- every node: SSA name (``%3``), op, attributes, inputs, type (``f32[1000@0, 8]``: dtype,
  shape, the split axis marked ``@``; ``~`` marks unbalanced blocks), the user's source line;
- fused groups: their members (``t0 = multiply(%1, 2)``) and the closing reduction;
- communication: the collective and the bytes the busiest rank receives;
- totals: kernels, collectives, bytes moved per rank, estimated peak memory per rank;
- with ``analyze=True``: measured seconds and bytes received per step, min and max over ranks;
- with ``network=...``: the time model's estimate (``graph/timemodel.py``) of every step, the
  algorithm and rounds of every collective, and estimated seconds in the totals.

JSON schema ``lazyheat.plan/1``: ``{"schema", "stage", "world_size", "breaks": [str],
"rewrites": [str],
"nodes": [node], "outputs": [id], "totals": {...}}`` where a node is ``{"id", "op", "inputs":
[id], "attrs": {name: str}, "type", "shape", "dtype", "split", "counts", "loc", "partial"}``
(a state of several arrays has null shape and dtype and ``"parts": {name: array}``) plus
``"comm": {"kind", "bytes_per_rank"}`` for communication, ``"group": {"members": [{"name",
"op", "args", "attrs", "type", "loc"}], "closer": member | null}`` for fused nodes and
``"measured": {"seconds_min", "seconds_max", "bytes_min", "bytes_max"}`` after ``analyze``.
When collectives overlap kernels (``passes/schedule.py``), each such node has ``"overlap":
{"issue_step", "wait_step", "between": [id]}`` and the document ``"overlap": {"steps":
[str], "collectives", "peak_bytes_per_rank"}``: the steps as run (``"%3"`` runs ``%3``,
``"issue %5"`` and ``"wait %5"`` post and complete collective ``%5``); the text marks them
on the collective's comm line and lists the steps.
With a ``network``, every node has ``"time": {"seconds", "kind", "work": {class: amount}}``
(collectives add ``"algorithm", "rounds", "bytes", "combine_bytes"``) and the document a
top-level ``"time": {"network": {...}, "world_size", "oversubscription", "kernels",
"compute_s", "comm_s", "overhead_s", "total_s"}``; without one, neither key appears.
"""

from __future__ import annotations

import json

from .graph import TupleAval, topo_order
from .graph.cost import comm_bytes, comm_kind, is_free, totals
from .graph.ops import COLLECTIVES, USER_DATA, holds_partial
from .passes.schedule import scheduled_peak

SCHEMA = "lazyheat.plan/1"
FORMATS = ("text", "json", "dot")


class PlanText(str):
    """Plan text that prints on rank 0 only (``print`` shows it once under mpiexec); its
    content, as a string, is the same on every rank."""

    rank = 0

    def __str__(self) -> str:
        return str.__str__(self) if self.rank == 0 else ""


# ---------------------------------------------------------------- description
def _fmt_attrs(node) -> dict:
    skip = {"buf", "scalars", "nargs", "cdtype", "members", "args", "closer", "kinds", "count"}
    out = {}
    for k, v in node.attrs:
        if k == "params":  # (name, value) pairs of a random distribution
            out.update({pk: repr(pv) for pk, pv in v})
        elif k == "ddof" and not v:
            continue
        elif k not in skip:
            out[k] = repr(v) if not isinstance(v, str) else v
    return out


def _call(op, args, attrs, scalars=(), nargs=None) -> str:
    args = list(args)
    for pos, v in sorted(scalars):
        args.insert(pos, repr(v))
    inner = f"[{', '.join(f'{k}={v}' for k, v in attrs.items())}]" if attrs else ""
    return f"{op}{inner}({', '.join(args)})"


def _member_info(m, args, name):
    return {"name": name, "op": m.op, "args": args, "attrs": _fmt_attrs(m),
            "scalars": list(m.attr("scalars", ())), "type": m.aval.type_str(), "loc": m.loc}


def describe(plan) -> dict:
    """The plan as plain data (the JSON document, minus serialization)."""
    order = topo_order(plan.outputs)
    name = {id(n): f"%{i}" for i, n in enumerate(order)}
    timing = getattr(plan, "timing", None)
    nodes = []
    for n in order:
        a = n.aval
        d = {"id": name[id(n)], "op": n.op, "inputs": [name[id(i)] for i in n.inputs],
             "attrs": _fmt_attrs(n), "scalars": list(n.attr("scalars", ())),
             "type": a.type_str(), **_array_of(a), "loc": n.loc, "partial": holds_partial(n)}
        if n.op in COLLECTIVES:
            d["comm"] = {"kind": comm_kind(n), "bytes_per_rank": comm_bytes(n),
                         "free": is_free(n)}
        if n.op == "fused":
            d["group"] = _group_info(n, [name[id(i)] for i in n.inputs])
        if plan.measured and id(n) in plan.measured:
            d["measured"] = plan.measured[id(n)]
        if timing is not None:
            d["time"] = timing.of(n).as_dict()
        nodes.append(d)
    doc = {"schema": SCHEMA, "stage": plan.stage, "world_size": plan.world_size,
           "breaks": list(plan.breaks), "rewrites": list(plan.notes), "nodes": nodes,
           "outputs": [name[id(o)] for o in plan.outputs], "totals": plan_totals(plan)}
    sched = getattr(plan, "schedule", None)
    if sched is not None:
        doc["overlap"] = _overlap_info(sched, plan.outputs, nodes)
    if timing is not None:
        doc["time"] = timing.as_dict()
    return doc


def _overlap_info(sched, outputs, nodes) -> dict:
    """The steps of an overlapped schedule (node ``i`` of the listing is ``%i``, the index
    the schedule uses); marks each overlapped collective's node with its issue and wait."""
    steps = [f"%{i}" if kind == "run" else f"{kind} %{i}" for kind, i in sched.steps]
    for i, (k, m) in sorted(sched.spans.items()):
        nodes[i]["overlap"] = {"issue_step": k, "wait_step": m, "between": [
            f"%{j}" for kind, j in sched.steps[k + 1:m] if kind == "run"]}
    return {"steps": steps, "collectives": sched.overlapped,
            "peak_bytes_per_rank": scheduled_peak(sched, outputs)}


def _array_of(a) -> dict:
    """Shape, dtype and layout of an array value; a state (several arrays) lists its parts
    by name instead, with null shape and dtype."""
    if isinstance(a, TupleAval):
        return {"shape": None, "dtype": None, "split": None, "counts": None,
                "parts": {nm: _array_of(p) for nm, p in zip(a.names, a.parts)}}
    return {"shape": list(a.shape), "dtype": a.dtype.name, "split": a.split,
            "counts": None if a.counts is None else list(a.counts)}


def _group_info(n, ext_names) -> dict:
    members = []
    for j, (m, refs) in enumerate(zip(n.attr("members"), n.attr("args"))):
        args = [f"t{r}" if r >= 0 else ext_names[-1 - r] for r in refs]
        members.append(_member_info(m, args, f"t{j}"))
    closer = n.attr("closer")
    last = f"t{len(members) - 1}"
    return {"members": members,
            "closer": None if closer is None else _member_info(closer, [last], "out")}


def plan_totals(plan) -> dict:
    """Kernels, collectives, bytes moved per rank (max) and estimated peak memory per rank:
    the cost model's numbers (``graph.cost.totals``)."""
    return totals(topo_order(plan.outputs), plan.outputs)


# ---------------------------------------------------------------- text
def _mb(b) -> str:
    return f"{b} B" if b < 1 << 20 else f"{b / (1 << 20):.1f} MiB"


def _secs(s) -> str:
    """Seconds in the unit that reads best: 12.3 us, 4.56 ms, 1.23 s."""
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    return f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


def _estimated(t) -> str:
    return f"  ~{_secs(t['seconds'])}" if t and t["kind"] != "none" else ""


def _time_line(t) -> str:
    net = t["network"]
    line = (f"time: ~{_secs(t['total_s'])} on {net['name']} (estimate, busiest rank): "
            f"compute {_secs(t['compute_s'])}, communication {_secs(t['comm_s'])}, "
            f"per run {_secs(t['overhead_s'])}; latency {net['alpha_s'] * 1e6:.2f} us, "
            f"{net['bandwidth_Bps'] / 1e9:.1f} GB/s")
    if t["oversubscription"] > 1:
        busy = f" (+{net['background']:.1f} busy)" if net.get("background") else ""
        line += f"; {t['world_size']} ranks on {net['cores']} cores{busy}: times x" \
                f"{t['oversubscription']:.2f}"
    return line


def _measured(m) -> str:
    if not m:
        return ""
    s = f"  [{m['seconds_min'] * 1e3:.3f}..{m['seconds_max'] * 1e3:.3f} ms"
    if m["bytes_max"]:
        s += f", {m['bytes_min']}..{m['bytes_max']} B recv"
    return s + "]"


def text_of(doc) -> str:
    lines = [f"plan for {doc['world_size']} rank(s), stage {doc['stage']}"]
    for b in doc["breaks"]:  # where the plan broke for a data-dependent extent
        lines.append(f"  {b}")
    for r in doc["rewrites"]:
        lines.append(f"  rewrite: {r}")
    for d in doc["nodes"]:
        head = f"{d['id']:>5} = " + _call(d["op"], d["inputs"], d["attrs"], d["scalars"])
        if d["op"] == "fused":
            head = f"{d['id']:>5} = fused({', '.join(d['inputs'])}) {{"
        line = f"{head:<60} : {d['type']}"
        if d["partial"]:
            line += " partial"  # per-rank part of the value, combined by the next collective
        if d["loc"] and d["op"] not in USER_DATA:  # the user's data: no line of its own
            line += f"    # {d['loc']}"
        lines.append(line + _measured(d.get("measured")) + _estimated(d.get("time")))
        if "group" in d:
            g = d["group"]
            for m in g["members"] + ([g["closer"]] if g["closer"] else []):
                body = f"          {m['name']} = " + _call(m["op"], m["args"], m["attrs"],
                                                         m["scalars"])
                lines.append(f"{body:<60} : {m['type']}")
            lines.append("        }")
        if "comm" in d:
            c = d["comm"]
            line = f"        -- comm: {c['kind']}, {c['bytes_per_rank']} B/rank"
            t = d.get("time")
            if t is not None and "algorithm" in t:
                rounds = t["rounds"]
                line += f"; {t['algorithm']}, {rounds} round{'s' if rounds != 1 else ''}"
            o = d.get("overlap")
            if o is not None:  # kernels run while it moves (the steps are listed below)
                line += (f"; issued at step {o['issue_step']}, waited at step "
                         f"{o['wait_step']} ({', '.join(o['between']) or 'nothing'} between)")
            lines.append(line)
    t = doc["totals"]
    lines.append(f"outputs: {', '.join(doc['outputs'])}")
    lines.append(f"totals: {t['kernels']} kernels ({t['fused_kernels']} fused, "
                 f"{t['fused_ops']} ops in them), {t['collectives']} collectives, "
                 f"{t['bytes_moved_per_rank']} B moved per rank (max), "
                 f"peak ~{_mb(t['peak_bytes_per_rank'])} per rank (estimate)"
                 + (f", {_mb(t['bytes_read_per_rank'])} read from files per rank (max)"
                    if t.get("bytes_read_per_rank") else ""))
    if "overlap" in doc:
        o = doc["overlap"]
        lines.append(f"overlap: {o['collectives']} collective(s) run while kernels run, "
                     f"peak ~{_mb(o['peak_bytes_per_rank'])} per rank with it (estimate); "
                     f"steps: {' '.join(o['steps'])}")
    if "time" in doc:
        lines.append(_time_line(doc["time"]))
    return "\n".join(lines)


def plan_text(plan) -> str:
    return text_of(describe(plan))


def plan_json(plan) -> dict:
    return describe(plan)


# ---------------------------------------------------------------- dot
def _q(s) -> str:
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def plan_dot(plan) -> str:
    """Graphviz: one box per op, fused groups as clusters, communication as ellipses with
    edges labelled by the bytes each rank receives."""
    doc = describe(plan)
    out = ["digraph plan {", "  rankdir=TB;", '  node [shape=box, fontname="monospace"];',
           f"  label={_q(doc['stage'] + ' plan for ' + str(doc['world_size']) + ' rank(s)')};"]
    port = {}  # SSA id -> the dot node that yields its value
    for d in doc["nodes"]:
        nid = "n" + d["id"][1:]
        if "group" in d:
            g = d["group"]
            out.append(f"  subgraph cluster_{nid} {{")
            out.append(f"    label={_q('fused ' + d['id'])}; style=dashed;")
            members = g["members"] + ([g["closer"]] if g["closer"] else [])
            for m in members:
                out.append(f"    {nid}_{m['name']} [label={_q(m['op'] + chr(10) + m['type'])}];")
            out.append("  }")
            for m in members:
                for a in m["args"]:
                    src = f"{nid}_{a}" if a.startswith("t") else port[a]
                    out.append(f"  {src} -> {nid}_{m['name']};")
            port[d["id"]] = f"{nid}_{members[-1]['name']}"
            continue
        shape = ", shape=ellipse" if "comm" in d else ""
        label = f"{d['id']} {d['op']}\n{d['type']}"
        out.append(f"  {nid} [label={_q(label)}{shape}];")
        for i in d["inputs"]:
            edge = f"  {port[i]} -> {nid}"
            if "comm" in d:
                edge += f" [label={_q(str(d['comm']['bytes_per_rank']) + ' B/rank')}]"
            out.append(edge + ";")
        port[d["id"]] = nid
    out.append("}")
    return "\n".join(out)


def _json_scalar(v):
    """Scalars JSON has no type for (complex constants): their Python repr, as text."""
    if isinstance(v, complex):
        return repr(v)
    raise TypeError(f"cannot write {type(v).__name__} to a JSON plan")


def render(plan, fmt):
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "json":
        text = json.dumps(plan_json(plan), indent=1, default=_json_scalar)
    elif fmt == "dot":
        text = plan_dot(plan)
    else:
        text = plan_text(plan)
    out = PlanText(text)
    out.rank = plan.comm.rank
    return out
