"""Settings read from the environment on every run, cheaply.

The runtime reads its switches (``LAZYHEAT_JIT``, ``LAZYHEAT_FUSED_TIER``, ``LAZYHEAT_PROGRESS``,
...) at each run, so a change takes effect at the next one. ``os.environ.get`` costs about
0.7 µs (a Mapping method that encodes the key and decodes the value), and a run of a cached
plan on small data reads several of them: ``get`` answers the same from the mapping's own
store of encoded pairs in about a tenth of that, falling back to ``os.environ.get`` where that
store is not there (other platforms, a replaced ``os.environ``).

A ``Setting`` also keeps what the value means (parsed once per value seen).

>>> from lazyheat.runtime import env
>>> env.get("LAZYHEAT_SURELY_UNSET", "1")
'1'
>>> unset = env.Setting("LAZYHEAT_SURELY_UNSET", lambda text: text is None)
>>> unset()
True
"""

from __future__ import annotations

import os
import sys

_ENCODING = sys.getfilesystemencoding()
_KEYS: dict = {}  # name -> its encoded form
_VALUES: dict = {}  # encoded value -> the decoded one (settings take few values)
_POSIX = os.name == "posix"  # elsewhere the store's keys are not the encoded names


def get(name: str, default=None):
    """``os.environ.get(name, default)``."""
    data = getattr(os.environ, "_data", None) if _POSIX else None
    if type(data) is not dict:
        return os.environ.get(name, default)
    key = _KEYS.get(name)
    if key is None:
        key = _KEYS[name] = name.encode(_ENCODING, "surrogateescape")
    raw = data.get(key)
    if raw is None:
        return default
    value = _VALUES.get(raw)
    if value is None:
        value = raw.decode(_ENCODING, "surrogateescape")
        if len(_VALUES) < 1024:
            _VALUES[raw] = value
    return value


class Setting:
    """A variable the runtime reads on every run, parsed once per value it takes: calling
    it gives ``parse(os.environ.get(name))`` (``parse``: a pure function of the text, None
    when unset). The store keeps one bytes object per value, so an unchanged variable is
    recognized by identity; a new value (even an equal one) is parsed again."""

    __slots__ = ("name", "key", "parse", "seen")

    def __init__(self, name: str, parse):
        self.name, self.parse = name, parse
        self.key = name.encode(_ENCODING, "surrogateescape")
        self.seen = (self, None)  # (the raw value last parsed, what it means)

    def __call__(self):
        data = getattr(os.environ, "_data", None) if _POSIX else None
        if type(data) is not dict:
            return self.parse(os.environ.get(self.name))
        raw = data.get(self.key)
        seen = self.seen  # one tuple: threads see a raw value with its own meaning
        if raw is seen[0]:
            return seen[1]
        value = self.parse(None if raw is None else raw.decode(_ENCODING, "surrogateescape"))
        self.seen = (raw, value)
        return value
