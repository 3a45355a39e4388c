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

- the kernels that replicated groups asked for wait in the order they asked (the same on
  every rank when every rank runs the same plans). A rank's words are a digest of the
  first kernel that waits and its state there: ready, failed to compile, or not yet;
- the handshake gives each word's minimum and maximum over ranks. Where every rank names
  the same kernel and every rank has it ready, it is agreed: it may run from now on, on
  every rank. Where every rank has it resolved but some failed, it is refused for good
  (its groups stay on the default tier). Where ranks name different kernels (a plan ran
  on some ranks only, against the rule that every rank runs every compute), each rank
  drops the kernel it named: it is never agreed, so no rank switches alone.

Everything here changes only at a handshake, from the all-reduced words and the shared
list, so every rank holds the same state at the same step. A plan that neither
communicates nor reads new replicated data has no handshake; while kernels are waiting,
every ``PERIOD``-th such plan takes one (``due``), so a warm loop of small replicated plans
also switches.
"""

from __future__ import annotations

import hashlib

PERIOD = 16  # plans without a handshake of their own, per extra handshake while waiting


class Agreement:
    """The kernels a communicator's ranks agreed on (see the module's docstring).
    ``status(key)``: this rank's state of a kernel, True (ready), False (failed for good)
    or None (not yet); the first call may start making it."""

    __slots__ = ("status", "waiting", "asked", "agreed", "ticks", "digests")

    def __init__(self, status):
        self.status = status
        self.waiting: list = []  # keys asked for and not yet agreed or dropped, in order
        self.asked: set = set()  # every key ever asked for (each enters ``waiting`` once)
        self.agreed: set = set()  # keys whose kernels every rank may run from now on
        self.ticks = 0
        self.digests: dict = {}  # key -> its digest (the same in every process)

    def ask(self, key) -> None:
        """A replicated group wants ``key``'s kernel (it runs on the default tier now)."""
        if key not in self.asked:
            self.asked.add(key)
            self.waiting.append(key)
            self.status(key)  # starts making it

    def words(self) -> tuple:
        """(digest of the first waiting key, 0 when none; its state here: 2 ready, 1 failed,
        0 not yet)."""
        if not self.waiting:
            return 0, 0
        key = self.waiting[0]
        state = self.status(key)
        return self._digest(key), 0 if state is None else 2 if state else 1

    def settle(self, least: tuple, most: tuple) -> None:
        """Apply the minimum and the maximum over ranks of each word (``words``)."""
        if not self.waiting:
            return
        if least[0] != most[0]:  # ranks wait for different kernels: each drops its own
            self.waiting.pop(0)
        elif least[1] == 2:  # every rank has it ready
            self.agreed.add(self.waiting.pop(0))
        elif least[1] == 1:  # resolved everywhere, failed somewhere: refused
            self.waiting.pop(0)

    def _digest(self, key) -> int:
        d = self.digests.get(key)
        if d is None:
            raw = hashlib.blake2b(key.encode(), digest_size=8).digest()
            d = self.digests[key] = int.from_bytes(raw, "little") >> 2 or 1
        return d

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
