"""Where the user wrote it: the ``file:line`` of the innermost frame outside lazyheat.

Every node records it, and every build-time error names it. Free of other lazyheat imports,
so the error and dtype modules can use it without a cycle.
"""

from __future__ import annotations

import os
import sys

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

_INTERNAL: dict = {}  # file name -> (inside lazyheat or frozen, base name)


def user_location(depth: int = 1) -> str:
    """``file:line`` of the innermost frame outside the lazyheat package (the user's line),
    looking from ``depth`` frames up (1: the caller; 2, from lazyheat's own code: its
    caller). Called for every node built, so file names are classified once and
    remembered."""
    f = sys._getframe(depth)
    while f is not None:
        name = f.f_code.co_filename
        info = _INTERNAL.get(name)
        if info is None:
            # lazyheat's own modules are not the user's code, except an entry script run as
            # ``python -m lazyheat ...``, whose lines are what its plans come from
            inside = (name.startswith(_PKG_DIR) and not name.endswith("__main__.py")) or \
                name.startswith("<frozen")
            info = _INTERNAL[name] = (inside, os.path.basename(name))
        if not info[0]:
            return f"{info[1]}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"
