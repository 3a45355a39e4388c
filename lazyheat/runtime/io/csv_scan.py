"""The build-time scan of a CSV file: one pass over raw byte blocks with NumPy.

It finds newline positions and per-line separator counts (a word-wise prefix count of the
separator mask read at each newline, no per-byte cumulative sum), skips the header and blank
lines, refuses ragged rows, quotes and lines ending in "\\r" alone with their line number, and
keeps a coarse row index: the byte offset (and line number) of every ``stride``-th data row,
``stride`` doubled while scanning until the index holds at most ``_MAX_INDEX`` entries. The
reader (``csv_format``) uses the index to find a rank's rows without scanning again.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from .base import IOProblem

_BLOCK = 4 << 20            # bytes per scan block: the masks of a block stay in L2/L3 cache
_MAX_INDEX = 4096           # most entries of the coarse row index
_BOM = b"\xef\xbb\xbf"
_LANES = np.uint64(0x0101010101010101)  # w * _LANES: byte k holds the sum of bytes 0..k of w
_BYTE = np.uint64(0xFF)


class _Buffers:
    """Scratch arrays of one scan, reused by every block (no allocation per block)."""

    def __init__(self, size: int):
        size = (size + 63) & ~63
        self.nl = np.empty(size, dtype=np.bool_)
        self.mask = np.zeros(size, dtype=np.bool_)
        self.words = np.empty(size // 8, dtype=np.uint64)
        self.tops = np.empty(size // 8, dtype=np.uint8)
        self.groups = np.empty(size // 64, dtype=np.uint64)


def _seps_before(a, sep: int, nl, bufs: _Buffers):
    """Number of ``sep`` bytes in ``a`` before each position ``nl`` (where ``a`` holds no
    ``sep``), and in all of ``a``, without a per-byte cumulative sum: in a 0/1 byte mask
    viewed as 8-byte words, ``word * 0x0101..01`` leaves in byte k the count of bytes 0..k
    (at most 8: no carries); the words' totals (their top bytes) get the same treatment per
    8 words (at most 64), and only those group totals, 1/64 of the bytes, are summed up."""
    n = len(a)
    if sys.byteorder != "little":  # the byte lanes below assume little-endian words
        pos = np.flatnonzero(a == sep)
        return np.searchsorted(pos, nl).astype(np.int64), len(pos)
    n64 = (n + 63) & ~63
    m = bufs.mask[:n64]
    np.equal(a, sep, out=m[:n])
    m[n:] = False
    words = np.multiply(m.view(np.uint64), _LANES, out=bufs.words[:n64 // 8])
    tops = bufs.tops[:n64 // 8]
    np.copyto(tops, words.view(np.uint8)[7::8])       # separators per word
    groups = np.multiply(tops.view(np.uint64), _LANES, out=bufs.groups[:n64 // 64])
    per_group = groups.view(np.uint8)[7::8]             # separators per 64 bytes
    csum = np.cumsum(per_group, dtype=np.int64)
    total = int(csum[-1]) if len(csum) else 0
    w, g = nl >> 3, nl >> 6
    in_word = (words[w] >> ((nl & 7) << 3).astype(np.uint64)) & _BYTE
    in_group = (groups[g] >> ((w & 7) << 3).astype(np.uint64)) & _BYTE
    return (csum[g] - per_group[g] + in_group.astype(np.int64) - tops[w]
            + in_word.astype(np.int64)), total


class _Scan:
    """State of the scan of one file, carried from block to block."""

    def __init__(self, path, sep, header_lines, start):
        self.path, self.sep, self.header_lines = path, sep, header_lines
        self.line_no = 0          # complete (newline-terminated) lines seen
        self.line_start = start   # byte offset where the current, unfinished line starts
        self.seps_before = 0      # separators before the current block
        self.line_start_seps = 0  # separators before self.line_start
        self.last_byte = -1       # last byte of the previous block (for "\r\n" across blocks)
        self.data_start = start if header_lines == 0 else None
        self.cols = None
        self.first_data_line = None
        self.rows = 0
        self.blank = False        # a blank line before some data row
        self.blank_pending = False  # a blank line after the last data row so far
        self.stride = 1
        self.index: list[int] = []
        self.index_lines: list[int] = []

    def lines(self, starts, ends, seps, cr):
        """Account for complete lines: byte ``starts``/``ends`` (the newline or EOF),
        separator counts ``seps`` and whether each ends in "\\r" (``cr``)."""
        n = len(starts)
        if n == 0:
            return
        nums = self.line_no + np.arange(n)
        h = self.header_lines
        if self.data_start is None and self.line_no + n >= h:
            # the line after the last header line starts the data (or the file end)
            j = h - self.line_no
            self.data_start = int(starts[j]) if j < n else int(ends[-1]) + 1
        blank = ((ends - starts - cr) == 0) & (nums >= h)
        data = (nums >= h) & ~blank
        rows_here = np.flatnonzero(data)
        if len(rows_here) == 0:
            self.blank_pending |= bool(blank.any())
            return
        # only blank lines before a data row make row offsets differ from line offsets
        last = rows_here[-1]
        self.blank |= self.blank_pending or bool(blank[:last].any())
        self.blank_pending = bool(blank[last:].any())
        starts, seps, nums = starts[data], seps[data], nums[data]
        if self.cols is None:
            self.cols = int(seps[0]) + 1
            self.first_data_line = int(nums[0]) + 1
        bad = np.flatnonzero(seps != self.cols - 1)
        if len(bad):
            b = bad[0]
            k = int(seps[b]) + 1
            raise IOProblem(f"{self.path}: line {int(nums[b]) + 1} has {k} field"
                            f"{'s' if k != 1 else ''}, expected {self.cols} (as on line "
                            f"{self.first_data_line}); ragged rows cannot be loaded",
                            ValueError)
        rows = self.rows + np.arange(len(starts))
        pick = rows % self.stride == 0
        self.index.extend(starts[pick].tolist())
        self.index_lines.extend(nums[pick].tolist())
        self.rows += len(starts)
        # keep the index small: double the stride (the kept rows stay multiples of it)
        while len(self.index) > _MAX_INDEX:
            self.stride *= 2
            del self.index[1::2], self.index_lines[1::2]

    def data_from(self, pos: int, nl) -> int | None:
        """Where the data starts, if known by the end of the block at ``pos`` with newlines
        ``nl``: the header ends in or before it."""
        if self.data_start is not None:
            return self.data_start
        j = self.header_lines - self.line_no - 1  # the header's last newline in this block
        return pos + int(nl[j]) + 1 if j < len(nl) else None

    def block(self, a: np.ndarray, pos: int, nl, bufs: _Buffers):
        """Scan block ``a`` (uint8) that starts at byte ``pos`` of the file; ``nl`` are the
        positions of its newlines."""
        n = len(a)
        at_nl, total = _seps_before(a, self.sep, nl, bufs)
        if len(nl):
            at_nl += self.seps_before
            ends = pos + nl
            starts = np.empty_like(ends)
            starts[0] = self.line_start
            starts[1:] = ends[:-1] + 1
            seps = np.diff(at_nl, prepend=self.line_start_seps)
            prev = np.where(nl > 0, a[np.maximum(nl - 1, 0)], self.last_byte)
            cr = (prev == 13) & (ends > starts)
            self.lines(starts, ends, seps, cr.astype(np.int64))
            self.line_no += len(nl)
            self.line_start = int(ends[-1]) + 1
            self.line_start_seps = int(at_nl[-1])
        self.seps_before += total
        if n:
            self.last_byte = int(a[-1])

    def end(self, size: int):
        """The unterminated last line, if the file does not end with a newline."""
        if self.line_start < size:
            seps = self.seps_before - self.line_start_seps
            cr = int(self.last_byte == 13)
            self.lines(np.array([self.line_start]), np.array([size]), np.array([seps]),
                       np.array([cr]))
            self.line_no += 1
        if self.data_start is None:
            self.data_start = size


def scan_file(path, sep: int, header_lines: int) -> tuple[_Scan, int]:
    """One pass over the file in ``_BLOCK``-byte blocks; returns the state and the size."""
    buf = bytearray(_BLOCK)
    bufs = _Buffers(_BLOCK)
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        n = f.readinto(buf)
        start = 3 if buf[:3] == _BOM else 0
        s = _Scan(path, sep, header_lines, start)
        pos = 0
        while n:
            a = np.frombuffer(buf, np.uint8, n)[start:]
            nl = np.flatnonzero(np.equal(a, 10, out=bufs.nl[:len(a)]))
            if pos == 0 and len(nl) == 0 and buf.find(b"\r", 0, n - 1) >= 0:
                raise IOProblem(f"{path}: lines ending in '\\r' alone are not supported",
                                ValueError)
            # quotes first: a quoted separator would otherwise be reported as a ragged row
            data = s.data_from(pos + start, nl)
            q = buf.find(b'"', max(data - pos, 0), n) if data is not None else -1
            if q >= 0:  # memchr speed; a quote means quoting rules we do not parse
                line = s.line_no + int(np.searchsorted(nl + start, q)) + 1
                raise IOProblem(f"{path}: line {line} holds a quote character; quoted fields "
                                f"are not supported by lazyheat's CSV reader (a header line? "
                                f"pass header_lines)", ValueError)
            s.block(a, pos + start, nl, bufs)
            pos += n
            start = 0
            n = f.readinto(buf)
    s.end(size)
    return s, size
