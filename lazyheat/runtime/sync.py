"""Keeping ranks in step: the plan handshake, the wait timeout and the end-of-script check.

MPI pairs the i-th collective of one rank with the i-th of every other rank, whatever each
rank meant by it; ranks that run different statements hang, or worse, exchange the wrong data
silently. lazyheat knows every plan before it runs, so before the first collective of a plan
(or of any other collective step: ``numpy()``'s gather, ``from_local``) every rank takes part
in a *handshake* on a private duplicate of the communicator:

- one small all-reduce (MIN over ``v`` and ``-v``) of a fingerprint ``v``: the step's kind,
  a digest of its plan, a digest of the user's source lines and a checksum of the replicated
  user data the plan reads for the first time. Equal minimum and maximum everywhere means
  every rank is about to run the same step on the same replicated data; the data
  collectives that follow then pair as planned.
- two more words of the same all-reduce agree which C kernels every rank has ready, so a
  replicated inexact group switches to its kernel at the same step on every rank
  (``agreement.py``);
- otherwise every rank exchanges a short description of what it is doing (fixed-size
  records, one all-gather) and rank 0 reports, for each group of ranks, the step and the
  user's line; then the job ends. Mismatched collectives never run.

The handshake is non-blocking and polled, so a rank never waits more than
``LAZYHEAT_TIMEOUT`` seconds (default 300) for the others: after that it asks every rank
what it is doing (ranks waiting in a handshake answer), reports who is where and who never
arrived, and ends the job. A rank that reaches the end of its script takes part in a last
handshake ("finished its script"), so ranks still waiting in a plan learn it at once instead
of hanging. Steps run inside a plan (its data collectives) are watched by a thread that ends
the job when one collective waits longer than the timeout.

``LAZYHEAT_CHECK``: "1" (default) compares plan, source lines and data; "plan" compares the
plan and data only (for programs whose ranks reach the same plan from different lines); "0"
turns the handshake off (the timeout then only covers the watched data collectives).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import sys
import threading
import time
import zlib

import numpy as np
from mpi4py import MPI

from . import trace

_CLEAN_EXIT: list = []
_RECORD = 512  # bytes of a rank's description in the slow path
_PROBE, _REPLY = 17, 18  # tags on the control communicator (used only once a wait timed out)
FINISHED = "finished its script"


def timeout() -> float:
    """``LAZYHEAT_TIMEOUT`` in seconds (default 300; 0 or less: wait forever)."""
    try:
        return float(os.environ.get("LAZYHEAT_TIMEOUT", "300"))
    except ValueError:
        return 300.0


def check_mode() -> str:
    value = os.environ.get("LAZYHEAT_CHECK", "1").strip().lower()
    return {"0": "off", "off": "off", "false": "off", "plan": "plan"}.get(value, "full")


def at_clean_exit(fn) -> None:
    """Run ``fn()`` on every rank at interpreter exit, once every rank has reached the end of
    its script (so ``fn`` may use collectives), before MPI finalizes."""
    _CLEAN_EXIT.append(fn)


def digest(text: str) -> tuple:
    """Two int64 words of a stable digest of ``text`` (the same on every rank; Python's
    ``hash`` is salted per process and would differ)."""
    raw = hashlib.blake2b(text.encode(), digest_size=16).digest()
    return tuple(int(w) for w in np.frombuffer(raw, dtype=np.int64))


def crc(data) -> int:
    """Checksum of a contiguous buffer (zlib's CRC-32, ~3.7 GB/s on one core)."""
    return zlib.crc32(memoryview(data).cast("B"))


class _Control:
    """The private duplicate of a communicator that handshakes run on, so they can never
    pair with a data collective or with the user's own MPI calls. The duplication is posted
    at once (for the world communicator: at ``import lazyheat``, on every rank alike) and
    waited for at first use."""

    def __init__(self, comm):
        self.comm = comm
        self.ctl, self.ready = comm.mpi.Idup()
        self.sends = []
        self.deferred = []  # replicated data to compare at the next handshake (``defer``)
        # the handshake's buffers: ``WORDS`` words and their negations (reused; one
        # handshake at a time per communicator)
        self.send = np.zeros(2 * WORDS, dtype=np.int64)
        self.recv = np.zeros(2 * WORDS, dtype=np.int64)

    def get(self, what: str, patient: bool = False):
        if self.ready is not None:
            if patient:
                _wait_forever(self.ready, None)
            else:
                _wait(self.ready, self.comm, None, what)
            self.ready = None
        return self


# every handshake all-reduces this many words (and their negations), whatever it is for, so
# that any two handshakes pair: 4 compared between ranks (plan digest, source lines, data)
# and the 2 of the kernel agreement (``agreement.py``: their minimum is what counts)
WORDS = 6


def _control(comm, what: str, patient: bool = False) -> _Control:
    ctl = getattr(comm, "_sync", None)
    if ctl is None:
        ctl = comm._sync = _Control(comm)
    return ctl.get(what, patient)


def handshake(comm, what: str, plan_digest=(0, 0), locs: str = "", data=()) -> None:
    """Make sure every rank of ``comm`` is about to run the same collective step.

    ``what`` describes the step for messages ("compute of sum f32[] at x.py:3"; a string
    or a function making it, called only when needed); the
    fingerprint is ``plan_digest`` (two ints, global metadata only), the CRC of ``locs``
    (the user's source lines) and the combined checksum of ``data``: (source line,
    checksum) pairs of replicated user data read for the first time. Collective; returns
    when every rank agrees, ends the job with a report otherwise."""
    if comm.size == 1 or comm.mpi is None:
        return
    mode = check_mode()
    if mode == "off":
        return
    ctl = _control(comm, what)
    if ctl.deferred:  # data read by plans without a handshake of their own (``defer``)
        data = [*ctl.deferred, *data]
        ctl.deferred = []
    loc_crc = zlib.crc32(locs.encode()) if mode == "full" else 0
    kernels = getattr(comm, "_agreement", None)
    extra = kernels.words() if kernels is not None else (0, 0)
    got = _agree(ctl, comm, what, (*plan_digest, loc_crc, _data_crc(data)), extra)
    if got is not None:
        if kernels is not None:
            kernels.settle(*got)
        return
    _diverged(comm, ctl, _text(what), locs if mode == "full" else "", data)


def _data_crc(data) -> int:
    return zlib.crc32(repr([c for _, c in data]).encode()) if data else 0


# plans without collectives that read new replicated data compare it at the next handshake;
# one is taken at the latest when this many such reads wait (``defer``)
DEFER_READS = 16


def defer(comm, data) -> bool:
    """Keep ``data`` ((source line, checksum) pairs of replicated user data that a plan
    without collectives reads for the first time) for the next handshake on ``comm``: such
    a plan exchanges nothing, so no rank can wait on another or pair the wrong message
    because of it, and the data is compared before any collective (or at the end of the
    script). True when a handshake is due now (``DEFER_READS`` reads wait). The same on
    every rank: they read the same data at the same steps."""
    if comm.size == 1 or comm.mpi is None or not data or check_mode() == "off":
        return False
    ctl = _control(comm, "a compute")
    ctl.deferred.extend(data)
    # only the communicator with the end-of-script handshake (``install``) may keep data
    # for later: on any other, data kept past its last handshake would never be compared
    return len(ctl.deferred) >= DEFER_READS or comm is not WATCH.comm


def _agree(ctl, comm, what, words, extra=(0, 0)):
    """One all-reduce (MIN over the words and their negations) on the control
    communicator: (the minimum, the maximum) of ``extra``'s words over ranks when every
    rank contributed the same ``words``, else None."""
    n = len(words)
    both = ctl.send
    both[:WORDS] = (*words, *extra)
    both[WORDS:] = [-w for w in both[:WORDS].tolist()]
    out = ctl.recv
    req = ctl.ctl.Iallreduce(both, out, op=MPI.MIN)
    if trace.ACTIVE:
        with trace.span("handshake", "wait", step=_text(what)):
            _wait(req, comm, ctl, what)
    else:
        _wait(req, comm, ctl, what)
    got = out.tolist()
    if got[:n] != [-w for w in got[WORDS:WORDS + n]]:
        return None
    return tuple(got[n:WORDS]), tuple(-w for w in got[WORDS + n:])


def _text(what) -> str:
    return what if isinstance(what, str) else what()


def _diverged(comm, ctl, what, locs, data) -> None:
    """Slow path: the ranks disagree. Exchange descriptions, rank 0 reports, all end."""
    mine = what if not locs or locs in what else f"{what} (from {locs})"
    if len(data) > 3:  # (compared later in one go: ``defer``)
        places = ", ".join(dict.fromkeys(loc for loc, _ in data))
        mine += (f" reading {len(data)} arrays of data created at {places} (crc32 of "
                 f"their checksums {_data_crc(data):08x})")
    elif data:
        mine += " reading " + ", ".join(f"data created at {loc} (crc32 {c:08x})"
                                        for loc, c in data)
    send = np.zeros(_RECORD, dtype=np.uint8)
    raw = mine.encode()[:_RECORD]
    send[:len(raw)] = np.frombuffer(raw, dtype=np.uint8)
    recv = np.empty((comm.size, _RECORD), dtype=np.uint8)
    req = ctl.ctl.Iallgather(send, recv)
    _wait(req, comm, ctl, what)
    descs = [bytes(row).rstrip(b"\0").decode(errors="replace") for row in recv]
    comm.abort(_divergence_message(descs) if comm.rank == 0 else "")


def _groups(descs) -> list:
    """[(ranks, description)] in order of each group's first rank."""
    groups: dict = {}
    for r, d in enumerate(descs):
        groups.setdefault(d, []).append(r)
    return sorted(((rs, d) for d, rs in groups.items()), key=lambda g: g[0][0])


def _ranks(rs) -> str:
    return ("rank " if len(rs) == 1 else "ranks ") + ", ".join(map(str, rs))


def _divergence_message(descs) -> str:
    base = {d.split(" reading ")[0] for d in descs}
    lines = [f"  {_ranks(rs)}: {d}" for rs, d in _groups(descs)]
    if len(base) == 1 and " reading " in descs[0]:
        return ("lazyheat: the data given to lh.array/asarray differs between ranks; every "
                "rank must pass the same whole array (for one block per rank use "
                "lh.from_local):\n" + "\n".join(lines))
    hint = ""
    if len({d.split(" [plan ")[0] for d in descs}) == 1:
        hint = ("\n  (the same statement, but different plans: the ranks gave it different "
                "constants, shapes or dtypes, or run with different LAZYHEAT_OVERLAP)")
    return ("lazyheat: ranks diverged: they reached different collective steps, which would "
            "pair mismatched communication. Every rank must run the same lazyheat operations "
            "in the same order:\n" + "\n".join(lines) + hint +
            "\n  (a value used on one rank only, such as a print under `if rank == 0:`, "
            "must still be computed on every rank: compute it before the `if`)")


# ---------------------------------------------------------------- waiting with a deadline
def _wait(req, comm, ctl, what) -> None:
    """Poll ``req`` until it completes: spin briefly (a handshake among ready ranks takes
    microseconds), then sleep with growing pauses (oversubscribed ranks give their core
    away), answering timeout probes; past ``LAZYHEAT_TIMEOUT`` report and end the job."""
    if _spin(req):
        return
    limit = timeout()
    start = time.monotonic()
    pause = 1e-4
    while not req.Test():
        time.sleep(pause)
        pause = min(pause * 2, 2e-3)
        if ctl is not None:
            _answer_probes(ctl, what)
        if 0 < limit < time.monotonic() - start:
            _timed_out(comm, ctl, what, limit)


SPIN_SECONDS = 2e-3


def _spin(req) -> bool:
    """Poll ``req`` for up to ``SPIN_SECONDS``, yielding the core now and then: ranks that
    arrive within that time (the common case: they run the same program) meet without the
    latency of a sleep (Linux sleeps at least ~50 us); oversubscribed ranks still let the
    others run."""
    deadline = 0.0
    k = 0
    while not req.Test():
        k += 1
        if k & 15 == 0:
            now = time.perf_counter()
            if not deadline:
                deadline = now + SPIN_SECONDS
            elif now > deadline:
                return False
            os.sched_yield()
    return True


def _answer_probes(ctl, what) -> None:
    status = MPI.Status()
    while ctl.ctl.Iprobe(MPI.ANY_SOURCE, _PROBE, status):
        src = status.Get_source()
        ctl.ctl.recv(source=src, tag=_PROBE)
        ctl.sends.append(ctl.ctl.isend(_text(what), dest=src, tag=_REPLY))


def _timed_out(comm, ctl, what, limit) -> None:
    """This rank waited ``limit`` seconds: ask every rank what it is doing (ranks waiting
    in a handshake answer within a moment), report and end the job."""
    me = comm.rank
    what = _text(what)
    answers = {me: what}
    if ctl is not None:
        for r in range(comm.size):
            if r != me:
                ctl.sends.append(ctl.ctl.isend(None, dest=r, tag=_PROBE))
        grace = time.monotonic() + min(5.0, max(1.0, limit / 10))
        status = MPI.Status()
        while time.monotonic() < grace and len(answers) < comm.size:
            _answer_probes(ctl, what)  # ranks timing out at the same moment ask us too
            if ctl.ctl.Iprobe(MPI.ANY_SOURCE, _REPLY, status):
                src = status.Get_source()
                answers[src] = ctl.ctl.recv(source=src, tag=_REPLY)
            else:
                time.sleep(0.01)
        if any(r < me and d != FINISHED for r, d in answers.items()):
            # a lower rank waits too and reports the same picture: stay quiet, unless it
            # has not ended the job after a while
            end = time.monotonic() + 2 * (grace - time.monotonic()) + 5.0
            while time.monotonic() < end:
                _answer_probes(ctl, what)
                time.sleep(0.01)
    missing = [r for r in range(comm.size) if r not in answers]
    lines = [f"  {_ranks(rs)}: waiting in {d}" if d != FINISHED else f"  {_ranks(rs)}: {d}"
             for rs, d in _groups([answers.get(r) for r in range(comm.size)]) if d is not None]
    if missing:
        lines.append(f"  {_ranks(missing)}: never arrived (still computing, blocked outside "
                     "lazyheat, or dead)")
    comm.abort(f"lazyheat: rank {me} waited {limit:g} s for the other ranks "
               f"(LAZYHEAT_TIMEOUT) in {what}:\n" + "\n".join(lines))


# ---------------------------------------------------------------- steps inside a plan
class Watch:
    """What this rank's executor is running: the node and since when (set for every step,
    read by the watchdog thread). Plain attribute stores: ~free per step."""

    node = None
    since = 0.0
    comm = None


WATCH = Watch()
_WATCHDOG = None


def start_watchdog(comm) -> None:
    """Start the thread that ends the job when one step inside a plan (a data collective
    waiting for a rank that died or hangs) runs past the timeout. Its report names the step,
    its value's type and the user's line; MPI_Abort from this thread needs MPI's
    THREAD_MULTIPLE (mpi4py's default); without it the process exits, which makes the
    launcher end the job."""
    global _WATCHDOG
    limit = timeout()
    if _WATCHDOG is not None or limit <= 0 or comm.size == 1:
        return

    def run():
        while True:
            time.sleep(min(1.0, limit / 4))
            node, since = WATCH.node, WATCH.since
            if node is not None and time.perf_counter() - since > limit and \
                    node is WATCH.node:
                msg = (f"lazyheat: rank {WATCH.comm.rank} waited more than {limit:g} s "
                       f"(LAZYHEAT_TIMEOUT) in {node.op} ({node.aval.type_str()}) from "
                       f"{node.loc}: another rank died, hangs in a kernel or never joined")
                sys.stderr.write(msg + "\n")
                sys.stderr.flush()
                if MPI.Query_thread() == MPI.THREAD_MULTIPLE:
                    MPI.COMM_WORLD.Abort(1)
                os._exit(1)

    _WATCHDOG = threading.Thread(target=run, name="lazyheat-watchdog", daemon=True)
    _WATCHDOG.start()


# ---------------------------------------------------------------- the end of the script
def _at_exit(comm) -> None:
    """The last handshake: tell ranks still waiting in a plan that this rank finished (they
    report it and end the job), wait for every rank to finish (no timeout: finishing
    late is no error), then run the clean-exit hooks."""
    if MPI.Is_finalized():
        return
    if comm.size > 1 and check_mode() != "off":
        ctl = _control(comm, FINISHED, patient=True)
        data, ctl.deferred = ctl.deferred, []  # compared here at the latest
        words = [*digest(FINISHED), 0, _data_crc(data), 0, 0]
        ctl.send[:WORDS] = words
        ctl.send[WORDS:] = [-w for w in words]
        req = ctl.ctl.Iallreduce(ctl.send, ctl.recv, op=MPI.MIN)
        _wait_forever(req, ctl)
        got = ctl.recv.tolist()
        if got[:4] != [-w for w in got[WORDS:WORDS + 4]]:
            _diverged(comm, ctl, FINISHED, "", data)
    for fn in _CLEAN_EXIT:
        fn()


def _wait_forever(req, ctl) -> None:
    pause = 1e-5
    while not req.Test():
        time.sleep(pause)
        pause = min(pause * 2, 5e-3)
        if ctl is not None:
            _answer_probes(ctl, FINISHED)


def install(comm) -> None:
    """Run the end-of-script handshake at exit (registered after mpi4py's own finalizer, so
    it runs before MPI finalizes)."""
    WATCH.comm = comm
    if comm.size > 1:
        comm._sync = _Control(comm)
    atexit.register(_at_exit, comm)
