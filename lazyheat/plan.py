"""Planning and running: ``compute``, ``explain`` and gathering to NumPy.

A plan is the lowered (physical) graph of the requested outputs after common-subexpression
elimination; results already materialized are substituted as leaves, so they are never
recomputed. Every rank builds the identical plan from global metadata.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
import torch

from . import _core
from ._array import LazyArray
from .graph import Buffer, Node, topo_order
from .graph.layout import recv_bytes
from .passes import batch_collectives, eliminate_common_subexpressions, fuse, lower
from .passes.batch import state_bytes
from .runtime import comm as cm
from .runtime.executor import execute, guarded

COLLECTIVES = {"redistribute", "allreduce", "allgather", "batch_allgather"}


def physical_plan(arrays) -> list:
    """The lowered outputs for ``arrays`` (materialized results substituted)."""
    nodes = [a._node for a in arrays]
    replace = {}
    for n in topo_order(nodes):
        leaf = _core.MATERIALIZED.get(n)
        if leaf is not None:
            replace[id(n)] = leaf
    return fuse(batch_collectives(lower(eliminate_common_subexpressions(nodes, replace))))


def compute(*arrays):
    """Compute several arrays in one plan (shared work done once); returns them as a tuple,
    now materialized (``a, b = lh.compute(a, b)``; ``(a,) = lh.compute(a)``, as Dask)."""
    arrays = list(arrays)
    for a in arrays:
        if not isinstance(a, LazyArray):
            raise TypeError(f"compute() takes lazy arrays, got {type(a).__name__}")
    todo = [a for a in arrays if not a.is_materialized]
    if todo:
        _core.check_same(todo, "compute")
        outs = physical_plan(todo)
        if os.environ.get("LAZYHEAT_DEBUG") and any(
                n.op in COLLECTIVES for n in topo_order(outs)):
            _check_same_plan(outs, todo[0].comm)
            if todo[0].comm.rank == 0:
                print(format_plan(outs))
        dev = _core.torch_device(todo[0].device, todo[0].comm)
        values = execute(outs, todo[0].comm, dev)
        for a, v in zip(todo, values):
            leaf = Node("data", (), {"buf": Buffer(v)}, a.aval, a._node.loc)
            _core.MATERIALIZED[a._node] = leaf
            a._node = leaf
    return tuple(arrays)


def _check_same_plan(outputs, comm) -> None:
    """Abort when ranks built different plans (a script that diverged between ranks), which
    would otherwise deadlock in mismatched collectives. One small all-gather; debug only."""
    # data leaves differ by buffer id from rank to rank: compare their avals only
    text = "|".join(f"{n.op}{[a for a in n.attrs if a[0] != 'buf']!r}{n.aval.struct()!r}"
                    for n in topo_order(outputs))
    digest = hashlib.sha1(text.encode()).hexdigest()
    digests = comm.mpi.allgather(digest)
    if len(set(digests)) != 1:
        bad = [r for r, d in enumerate(digests) if d != digests[0]]
        comm.abort(f"lazyheat: ranks {bad} built a different plan than rank 0; every rank must "
                   "run the same sequence of operations")


def to_numpy(x) -> np.ndarray:
    """The whole of ``x`` as a NumPy array on every rank."""
    t = x.larray
    if x.split is not None:
        t = guarded(x.comm, "numpy() gather", cm.redistribute, x.comm, t, x.shape,
                    x.aval.layout, (None, None))
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        t = t.to(torch.float32)  # NumPy has no bfloat16
    return t.numpy().copy()


# ---------------------------------------------------------------- explain
def comm_kind(node) -> str:
    """Which collective a communication node is, and whether it is free."""
    if node.op == "allreduce":
        return f"allreduce[{node.attr('op')}]"
    if node.op == "allgather":
        return "allgather"
    if node.op == "batch_allgather":
        return f"allgather (batch of {len(node.attr('kinds'))} reductions)"
    src, dst = node.inputs[0].aval.layout, node.aval.layout
    if dst[0] is None:
        return "allgather"
    if src[0] is None:
        return "slice (local, free)"
    if src[0] == dst[0]:
        return "alltoall (rebalance)"
    return f"alltoall (split {src[0]} -> {dst[0]})"


def comm_bytes(node) -> int:
    """Bytes the busiest rank receives for a communication node."""
    a, p = node.aval, node.aval.comm.size
    if p == 1:
        return 0
    if node.op == "allreduce":
        return a.nbytes
    if node.op == "allgather":
        return state_bytes(node.inputs[0]) * (p - 1)
    if node.op == "batch_allgather":
        return node.aval.nbytes * (p - 1)
    src = node.inputs[0].aval
    return max(recv_bytes(a.shape, a.dtype.itemsize, src.layout, a.layout, p,
                          node.attr("src_starts")))


def _fmt_attrs(node) -> str:
    skip = {"buf", "scalars", "nargs", "cdtype"}
    parts = []
    for k, v in node.attrs:
        if k == "params":  # (name, value) pairs of a random distribution
            parts.extend(f"{pk}={pv}" for pk, pv in v)
        elif k not in skip:
            parts.append(f"{k}={v}")
    sc = node.attr("scalars")
    if sc:
        parts.append("scalars=" + ",".join(f"{p}:{v!r}" for p, v in sc))
    return f"[{', '.join(parts)}]" if parts else ""


def format_plan(outputs) -> str:
    """The physical plan as text: one line per node, communication on its own lines."""
    order = topo_order(outputs)
    name = {id(n): f"%{i}" for i, n in enumerate(order)}
    lines, kernels, colls, moved = [], 0, 0, 0
    p = outputs[0].aval.comm.size if outputs else 1
    lines.append(f"plan for {p} rank(s)")
    for n in order:
        args = ", ".join(name[id(i)] for i in n.inputs)
        head = f"{name[id(n)]:>5} = data" if n.op == "data" else \
            f"{name[id(n)]:>5} = {n.op}{_fmt_attrs(n)}({args})"
        line = f"{head:<60} : {n.aval.type_str()}"
        if n.op == "reduce_partial" or n.attr("partial"):
            line += " partial"  # per-rank part of the value, combined by the next collective
        if n.loc and n.op != "data":
            line += f"    # {n.loc}"
        lines.append(line)
        if n.op in COLLECTIVES:
            b, kind = comm_bytes(n), comm_kind(n)
            if not kind.startswith("slice"):
                colls += 1
                moved += b
            lines.append(f"        -- comm: {kind}, {b} B/rank")
        elif n.op != "data":
            kernels += 1
    outs = ", ".join(name[id(o)] for o in outputs)
    lines.append(f"outputs: {outs}")
    lines.append(f"totals: {kernels} kernels, {colls} collectives, {moved} B moved per rank "
                 "(max)")
    return "\n".join(lines)


def explain(*arrays) -> str:
    """The plan that ``compute`` would run for ``arrays``, as text (does not compute).

    Each line is one node: ``%3 = add(%1, %2) : f32[1000@0, 8]``, the split axis marked with
    ``@``; communication appears as its own line with the bytes each rank receives.
    """
    return format_plan(physical_plan(arrays))


def reference(*arrays) -> list:
    """Values of ``arrays`` from the reference interpreter (whole arrays, no distribution);
    the oracle that tests compare the distributed runtime with."""
    from .runtime.reference import evaluate

    nodes = [a._node for a in arrays]
    dev = _core.torch_device(arrays[0].device, arrays[0].comm)
    return [v.cpu().numpy() if v.dtype != torch.bfloat16 else v.float().cpu().numpy()
            for v in evaluate(nodes, arrays[0].comm, dev)]
