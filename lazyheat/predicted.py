"""Predicted seconds of the plans a program runs: the time model's side of a benchmark.

Off by default, and then it costs one test of a module attribute per ``compute``. Turned on
by ``LAZYHEAT_MODEL=<network>`` (a preset name of ``graph.timemodel.NETWORKS``, read when
lazyheat is imported) or by ``record(network)``; from then on every plan that ``compute``
runs adds its estimate (``graph.timemodel.estimate``, memoized per cached plan) to a
counter, and so does every gather of a split array to NumPy. ``bench/`` reads the counter
around each timed run and records it beside the measured time (``bench/model_check.py``).

>>> import lazyheat as lh
>>> from lazyheat import predicted
>>> r = predicted.record("shm")
>>> _ = (lh.arange(10, dtype=lh.float32, split=0) * 2).sum().compute()
>>> r.plans, r.seconds > 0
(1, True)
>>> predicted.stop()
"""

from __future__ import annotations

import os
import time

from .graph.commcost import allgather_cost, allreduce_cost
from .graph.cost import rank_bytes
from .graph.timemodel import HANDSHAKE_BYTES, comm_seconds, estimate, kernel_table, network_of

MEMO_SIZE = 1024  # plans whose estimate is kept (the plan cache holds 256)


class Recorder:
    """Sums the estimates of the plans run while it is active: ``seconds`` in all (of
    which ``comm_seconds`` communicating), ``plans`` run, ``gathers`` to NumPy, and
    ``own_seconds``, the time spent estimating (which a measurement may subtract: plans
    that are not cached, such as those after a data-dependent break, are estimated anew
    every run); ``reset()`` starts again from zero."""

    def __init__(self, network="shm"):
        self.network = network_of(network)
        self.kernels = kernel_table()
        self.reset()
        # id of a plan's output list -> (the list, its seconds): a cache hit returns the
        # same list, so each plan is estimated once; the list is held so its id stays its own
        self._memo: dict = {}

    def reset(self) -> None:
        self.seconds, self.comm_seconds, self.plans, self.gathers = 0.0, 0.0, 0, 0
        self.own_seconds = 0.0

    def add_plan(self, outputs) -> None:
        """Count one run of the physical plan with ``outputs``."""
        hit = self._memo.get(id(outputs))
        if hit is None or hit[0] is not outputs:
            t0 = time.perf_counter()
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            t = estimate(outputs, self.network, self.kernels)
            hit = (outputs, t.total_s, t.comm_s)
            self._memo[id(outputs)] = hit
            self.own_seconds += time.perf_counter() - t0
        self.seconds += hit[1]
        self.comm_seconds += hit[2]
        self.plans += 1

    def add_gather(self, aval) -> None:
        """Count one gather of a split array to every rank (``numpy()``): the rank
        handshake and an all-gather of the busiest rank's block, outside any plan."""
        p = aval.comm.size
        if p > 1:
            net, k = self.network, self.kernels
            c = allgather_cost(int(rank_bytes(aval).max()), p)
            secs = comm_seconds(c, net, k) + \
                comm_seconds(allreduce_cost(HANDSHAKE_BYTES, p), net, k)
            scale = net.oversubscription(p)
            self.seconds += scale * secs
            self.comm_seconds += scale * secs
        self.gathers += 1


ACTIVE: Recorder | None = None


def record(network="shm") -> Recorder:
    """Start counting predicted seconds on ``network`` (a fresh counter); returns it."""
    global ACTIVE
    ACTIVE = Recorder(network)
    return ACTIVE


def stop() -> None:
    """Stop counting (``compute`` is then as fast as without the model)."""
    global ACTIVE
    ACTIVE = None


def active() -> Recorder | None:
    """The counter in use, or None when the model is off."""
    return ACTIVE


def _from_environment() -> None:
    name = os.environ.get("LAZYHEAT_MODEL", "").strip()
    if name and name.lower() not in ("0", "off", "false", "no"):
        record(name)


_from_environment()
