"""A progress bar for long plans: ``LAZYHEAT_PROGRESS=1``, shown by rank 0 only.

The bar counts the plan's steps (done / total) and the bytes moved so far by its collectives
(per rank, the busiest rank's count, as ``explain`` totals them). It appears only once a plan
has run for ``DELAY_S`` seconds, so short plans (most of them) print nothing. With tqdm
installed (``pip install lazyheat[progress]``) it is a tqdm bar; otherwise one plain line on
stderr, redrawn in place on a terminal and appended every ``LOG_REFRESH_S`` seconds elsewhere.

The executor asks ``start`` once per plan; off (the variable unset, or not rank 0) it gets
None and pays nothing per step.
"""

from __future__ import annotations

import sys
from time import perf_counter

from ..graph.cost import comm_bytes, is_free
from ..graph.ops import COLLECTIVES
from . import env

DELAY_S = 0.5  # a plan shows a bar once it has run this long
REFRESH_S = 0.2  # the plain bar redraws a terminal line at most this often
LOG_REFRESH_S = 10.0  # ... and appends a line to a non-terminal stderr at most this often


def enabled() -> bool:
    """``LAZYHEAT_PROGRESS`` set to anything but empty or "0" (read on every plan)."""
    return _PROGRESS()


_PROGRESS = env.Setting("LAZYHEAT_PROGRESS",
                        lambda text: text is not None and text.strip() not in ("", "0"))


def start(order, comm):
    """A bar for one run of ``order`` (a list of nodes) on ``comm``, or None: off, or not
    rank 0 (every rank runs the same plan; one bar is enough)."""
    if comm.rank != 0 or not enabled():
        return None
    return Bar(len(order))


def _tqdm():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def human_bytes(n: float) -> str:
    """``1.5 MB``: decimal units, as in ``explain``'s byte counts."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # unreachable: the loop returns at TB


class Bar:
    """The progress of one plan. ``step`` is called after each step; the bar is drawn
    only once ``DELAY_S`` have passed since the plan started, and closed at its last step."""

    def __init__(self, total: int):
        self.total, self.done, self.moved = total, 0, 0
        self.t_start = perf_counter()
        self.next_draw = self.t_start + DELAY_S
        self.shown = False
        self.tqdm = None
        self.tty = sys.stderr.isatty()

    def step(self, n, t0=None) -> None:
        self.done += 1
        if n.op in COLLECTIVES and not is_free(n):
            self.moved += comm_bytes(n)
        last = self.done >= self.total
        now = perf_counter()
        # invariant: before DELAY_S nothing is drawn, not even at the last step
        if now < self.next_draw and (not last or not self.shown):
            return
        self.next_draw = now + (REFRESH_S if self.tty or self.tqdm else LOG_REFRESH_S)
        self.draw(now, last)

    def draw(self, now: float, last: bool) -> None:
        moved = f"{human_bytes(self.moved)} moved/rank"
        if not self.shown:
            self.shown = True
            tqdm = _tqdm()
            if tqdm is not None:
                self.tqdm = tqdm(total=self.total, desc="lazyheat", unit="step",
                                 file=sys.stderr, leave=True)
        if self.tqdm is not None:
            self.tqdm.set_postfix_str(moved, refresh=False)
            self.tqdm.update(self.done - self.tqdm.n)
            if last:
                self.tqdm.close()
            return
        line = (f"lazyheat: {self.done}/{self.total} steps, {moved}, "
                f"{now - self.t_start:.1f} s")
        if self.tty:
            sys.stderr.write("\r" + line + ("\n" if last else ""))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
