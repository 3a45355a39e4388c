"""What the library modules in ``bench/libs`` share: the run context and a workload case."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class NotAvailable(Exception):
    """The library cannot run this workload; the message says why (shown in the table).
    ``checksum``, when given, still serves as the reference for the other libraries."""

    def __init__(self, reason: str, checksum: float | None = None):
        super().__init__(reason)
        self.checksum = checksum


@dataclass
class Ctx:
    """Where a workload runs: this process's rank among ``nranks`` (1 without MPI), the
    threads each process uses, and the configuration name (e.g. ``dask-dist``)."""

    config: str
    rank: int = 0
    nranks: int = 1
    threads: int = 1
    workers: int = 1  # ranks, Dask workers or threads: the "R" of the table
    state: dict = field(default_factory=dict)


@dataclass
class Case:
    """One prepared workload: ``run()`` is what is timed (inputs already generated) and
    returns the result; ``check(result)`` turns it into one float, the checksum (not timed).
    ``extra(result)`` may add measurements (the overhead workload's per-node costs); ``notes``
    says what the library had to be told or how it differs."""

    run: Callable[[], Any]
    check: Callable[[Any], float]
    notes: str = ""
    extra: Callable[[Any], dict] | None = None
    tol: float | None = None  # relative checksum tolerance, when not the workload's own
