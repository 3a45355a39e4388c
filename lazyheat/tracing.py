"""Execution traces of a job: ``lh.trace(path)`` and ``LAZYHEAT_TRACE=path.json``.

Both write one Chrome/Perfetto trace-event file (open it at https://ui.perfetto.dev) with one
track per rank: planning, every kernel, fused group and collective each rank ran (with the
value's type, the user's source line and, for collectives, the bytes the rank received), and
the time ranks spent waiting for each other. Rank 0 merges the ranks' events, with their
clocks aligned to its own, and writes the file. The recorder is ``runtime/trace.py``.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from .runtime import sync
from .runtime import trace as _rt

__all__ = ["trace"]


@contextmanager
def trace(path):
    """Record a trace of everything lazyheat runs inside the ``with`` block into ``path``.

    Collective: every rank must enter and leave the block, as with any collective call;
    leaving it merges every rank's events on rank 0 (clocks aligned), which writes ``path``.
    When the block raises, nothing is written (the other ranks might never arrive to merge).
    Traces nest: a block inside another one (or inside a ``LAZYHEAT_TRACE`` run) writes its
    own part, and the outer trace still records everything.

    >>> x = lh.random.randn(1000, 8, split=0, seed=1)
    >>> with lh.trace("standardize.json"):            # doctest: +SKIP
    ...     z = ((x - x.mean(0)) / x.std(0)).compute()
    """
    _rt.start(path)
    try:
        yield os.path.abspath(os.fspath(path))
    except BaseException:
        _rt.cancel()
        raise
    _rt.stop()


def _from_environment() -> None:
    """``LAZYHEAT_TRACE=path.json``: record the whole job; the file is written at interpreter
    exit, once every rank has finished its script (the merge is collective)."""
    path = os.environ.get("LAZYHEAT_TRACE", "").strip()
    if path:
        _rt.start(path)
        sync.at_clean_exit(_rt.stop)


_from_environment()
