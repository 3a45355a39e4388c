"""Keeping ranks in step: the plan handshake, the wait timeout and the end-of-script check.

(Being written; ``at_clean_exit`` is the stable hook other modules use.)
"""

from __future__ import annotations

_CLEAN_EXIT: list = []


def at_clean_exit(fn) -> None:
    """Run ``fn()`` on every rank at interpreter exit, once every rank has reached the end of
    its script (so ``fn`` may use collectives), before MPI finalizes."""
    _CLEAN_EXIT.append(fn)
