"""Agreeing between ranks that a rank-local resource is ready, at the handshakes.

A replicated value is computed by every rank, and every rank must get the same bits. The C
tier of fused groups (``cjit.py``) gives other bits than the default tier for inexact groups
(libm's functions, another summation order), and its kernels become ready at a different
moment on each rank (a background compiler, a disk cache that one node has and another
lacks). So a replicated inexact group may switch to its C kernel only at a point of the
program that every rank passes alike, and only once every rank has the kernel.

The points are the handshakes (``sync.handshake``): every rank takes part in them at the
same steps, and each adds two words to the handshake's one all-reduce, so agreeing costs no
message of its own:

- the kernels that replicated groups asked for, in the order they asked (the same on every
  rank: groups ask when they run, and every rank runs the same plans), are the ``waiting``
  list;
- a rank's words are the length of the list's prefix it has ready, and of the prefix that
  is resolved (ready, or failed to compile);
- the minimum over ranks of the first is agreed: those kernels may run from now on, on
  every rank. Where a kernel is resolved everywhere but not ready somewhere (it failed to
  compile on some rank), it is refused for good: its groups stay on the default tier.

Everything here changes only at a handshake, from the all-reduced words and the shared
list, so every rank holds the same state at the same step. A plan that neither
communicates nor reads new replicated data has no handshake; while kernels are waiting,
every ``PERIOD``-th such plan takes one (``due``), so a warm loop of small replicated plans
also switches.
"""

from __future__ import annotations

PERIOD = 16  # plans without a handshake of their own, per extra handshake while waiting


class Agreement:
    """The kernels a communicator's ranks agreed on (see the module's docstring).
    ``status(key)``: this rank's state of a kernel, True (ready), False (failed for good)
    or None (not yet); the first call may start making it."""

    __slots__ = ("status", "waiting", "asked", "agreed", "ticks")

    def __init__(self, status):
        self.status = status
        self.waiting: list = []  # keys asked for and not yet agreed or refused, in order
        self.asked: set = set()  # every key ever asked for (each enters ``waiting`` once)
        self.agreed: set = set()  # keys whose kernels every rank may run from now on
        self.ticks = 0

    def ask(self, key) -> None:
        """A replicated group wants ``key``'s kernel (it runs on the default tier now)."""
        if key not in self.asked:
            self.asked.add(key)
            self.waiting.append(key)
            self.status(key)  # starts making it

    def words(self) -> tuple:
        """(ready prefix, resolved prefix) of ``waiting`` on this rank."""
        ready = resolved = 0
        failed = False
        for key in self.waiting:
            state = self.status(key)
            if state is None:
                break
            resolved += 1
            failed = failed or not state
            if not failed:
                ready += 1
        return ready, resolved

    def settle(self, ready: int, resolved: int) -> None:
        """Apply the minimum over ranks of each word (``words``)."""
        agreed, rest = self.waiting[:ready], self.waiting[ready:]
        self.agreed.update(agreed)
        if resolved > ready and rest:  # resolved everywhere, ready not everywhere: refused
            rest = rest[1:]
        self.waiting = rest

    def due(self) -> bool:
        """Whether a plan without a handshake of its own takes one now (for the kernels
        that wait)."""
        if not self.waiting:
            return False
        self.ticks += 1
        return self.ticks % PERIOD == 0


def of(comm, status) -> Agreement:
    """The communicator's ``Agreement`` (made at its first use, with ``status``)."""
    got = getattr(comm, "_agreement", None)
    if got is None:
        got = comm._agreement = Agreement(status)
    return got


def pending(comm) -> Agreement | None:
    """The communicator's ``Agreement`` when kernels wait for one, else None."""
    got = getattr(comm, "_agreement", None)
    return got if got is not None and got.waiting else None
