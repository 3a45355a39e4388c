"""Start functions of the collectives that can run while kernels run.

``STARTS[op](node, args, ctx) -> nbcomm.Pending`` posts the collective of ``node`` (the
non-blocking form of its kernel in ``collectives.py`` and ``states.py``); the executor
waits for it at the wait step of the schedule (``passes/schedule.py``), and ``wait()``
yields exactly the value the blocking kernel returns. The registry's ``CommRule.nonblocking``
marks the same ops (``graph.ops.NONBLOCKING``; a test keeps the two in step).
"""

from __future__ import annotations

from .. import nbcomm as nb
from .collectives import batch_flat, batch_results
from .registry import registrar

STARTS: dict = {}
start = registrar(STARTS, "a start function")  # ``@start(name, ...)``, as ``@kernel``


@start("redistribute")
def s_redistribute(node, args, ctx):
    src = node.inputs[0].aval
    return nb.start_redistribute(ctx.comm, args[0], src.shape, src.layout, node.aval.layout,
                                 node.attr("src_starts"))


@start("allreduce")
def s_allreduce(node, args, ctx):
    return nb.start_allreduce(ctx.comm, args[0], node.attr("op"))


@start("reduce_scatter")
def s_reduce_scatter(node, args, ctx):
    a = node.aval
    return nb.start_reduce_scatter(ctx.comm, args[0], node.attr("op"), a.split, a.counts)


@start("allgather")
def s_allgather(node, args, ctx):
    """Every rank's value stacked along a new axis 0; a state's tensors in one packed
    all-gather (the blocking kernel gathers them one by one: the same values)."""
    v = args[0]
    if isinstance(v, tuple):
        return nb.start_allgather_packed(ctx.comm, list(v)).then(tuple)
    return nb.start_allgather_stack(ctx.comm, v)


@start("batch_allgather")
def s_batch_allgather(node, args, ctx):
    flat, spans = batch_flat(args)
    size = ctx.comm.size
    return nb.start_allgather_packed(ctx.comm, flat).then(
        lambda gathered: batch_results(node, gathered, spans, size))
