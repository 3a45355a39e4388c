"""The peak memory of one run, apart from everything the process held before it (Linux).

Writing "5" to ``/proc/self/clear_refs`` resets the kernel's record of the process's peak
resident set (``VmHWM``) to the current resident set (``VmRSS``). Read ``VmRSS`` right after
the reset and ``VmHWM`` after the run: the difference is the most memory the run held
resident at once beyond what was already there, so the interpreter, the libraries, the
inputs and whatever data generation left behind are not counted. Only resident pages count;
memory the run frees back to the system stops counting when it is freed, which is what a peak
should do.

The allocator can hide memory, though. glibc maps a large block on its own and unmaps it on
free(), but after the first such free it raises its threshold for doing so to that block's
size (up to 32 MiB), and blocks below the threshold come from its heap, which keeps what is
freed at its top (up to twice the threshold) for reuse. A run that frees a 25 MiB result and
allocates it again in the next run then needs no new pages: lazyheat's ``standardize`` at
``--quick`` sizes shows 0 MiB where its output alone is 25 MiB. ``reset(trim_first=True)`` first
hands that kept memory back (``malloc_trim``) so the run has to fault its pages in again and
they count. That makes the run slower (a quarter, in that example), so it is for a run that
is not timed.

Without the reset (not Linux, a kernel before 4.0, a ``/proc`` mounted read-only) every
function here returns None and ``unavailable()`` says why.
"""

from __future__ import annotations

import ctypes

_CLEAR_REFS = "/proc/self/clear_refs"
_STATUS = "/proc/self/status"
_why: str | None = None
_trim = None  # glibc's malloc_trim, False where there is none


def _status_bytes(key: str) -> int | None:
    try:
        with open(_STATUS) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024  # the kernel reports kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def can_trim() -> bool:
    """Whether ``trim()`` can do anything here (glibc's ``malloc_trim``)."""
    global _trim
    if _trim is None:
        try:
            _trim = ctypes.CDLL(None).malloc_trim
            _trim.argtypes, _trim.restype = [ctypes.c_size_t], ctypes.c_int
        except (OSError, AttributeError):
            _trim = False
    return bool(_trim)


def trim() -> bool:
    """Give the memory malloc keeps for reuse back to the system; False without glibc."""
    if can_trim():
        _trim(0)
    return bool(_trim)


def reset(trim_first: bool = False) -> int | None:
    """Reset this process's peak resident set to its current size, after ``trim()`` if
    ``trim_first``; returns that size in bytes, or None where the peak cannot be reset."""
    global _why
    if _why is not None:
        return None
    if trim_first:
        trim()
    try:
        with open(_CLEAR_REFS, "w") as f:
            f.write("5")
    except OSError as exc:
        _why = f"{_CLEAR_REFS} cannot be written ({exc.strerror or exc})"
        return None
    rss = _status_bytes("VmRSS")
    if rss is None:
        _why = f"{_STATUS} has no VmRSS"
    return rss


def high_water() -> int | None:
    """This process's peak resident set since the last ``reset()``, in bytes."""
    return None if _why is not None else _status_bytes("VmHWM")


def unavailable() -> str | None:
    """Why ``reset()`` failed, once it has; None while it works (or was not tried)."""
    return _why
