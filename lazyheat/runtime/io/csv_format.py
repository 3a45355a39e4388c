"""CSV backend: delimited text of numbers, one row per line, read by row ranges.

A CSV file has no metadata, so ``meta`` scans it once (rank 0, at build time; ``csv_scan``)
with NumPy on raw byte blocks: newline positions, per-line separator counts (a word-wise
prefix count of the separator mask read at each newline, no per-byte cumulative sum), the
header and blank lines.
It returns the shape (data rows, columns), raises ``ValueError`` naming the path and line for
a ragged row, and keeps a coarse row index in ``Meta.info``: the byte offset (and line number)
of every ``stride``-th data row, with ``stride`` doubled while scanning until the index holds
at most ``_MAX_INDEX`` entries. ``read`` maps the bytes from the indexed row at or before its
first row to the indexed row at or after its last, skips the few rows up to its first and
parses only its own rows, in pieces of ``_PIECE`` bytes (pyarrow's CSV reader when installed,
else ``np.loadtxt``): each rank reads its rows plus less than one stride at each end.

Supported: one-byte separators, ``\\n`` and ``\\r\\n`` line endings, a missing final newline,
blank lines (skipped, as NumPy and pandas do), ``header_lines`` leading lines skipped, a UTF-8
byte-order mark, ASCII-compatible encodings. Not supported (refused at build time): quoted
fields (a ``"`` anywhere after the header), lines ending in ``\\r`` alone, encodings where the
separator or newline is not one ASCII byte (UTF-16/32). Values that do not parse as the
requested dtype are reported when the rows are read (compute time), with the line number.

Saves format each rank's rows to bytes (pyarrow's CSV writer when installed and
``decimals == -1``, else ``%``-formatting), learn every rank's byte count with one
``allgather`` and ``pwrite`` at their own offset into the one file; rank 0's ``prepare``
creates the file and writes the header.
"""

from __future__ import annotations

import codecs
import io
import os
import re

import numpy as np

from .base import Backend, IOProblem, Meta, need, register_backend
from .csv_scan import scan_file

_PIECE = 64 << 20           # bytes parsed at a time by read: the parser's tables stay small


# ---------------------------------------------------------------- options

def _sep_byte(path, sep, encoding) -> int:
    """The separator as one byte; refuses encodings where digits/newlines are not ASCII."""
    if not isinstance(sep, str) or len(sep) != 1:
        raise IOProblem(f"{path}: sep must be one character, got {sep!r}", TypeError
                        if not isinstance(sep, str) else ValueError)
    if sep in '\r\n"' or sep.isdigit() or sep in ".+-eE":
        raise IOProblem(f"{path}: sep {sep!r} cannot separate numbers", ValueError)
    tail = "\n\r0123456789.+-eE"
    try:
        codecs.lookup(encoding)
        probe = (sep + tail).encode(encoding)
    except (LookupError, UnicodeError) as exc:
        raise IOProblem(f"{path}: cannot use encoding {encoding!r} with sep {sep!r}: {exc}",
                        ValueError) from None
    if len(probe) != 1 + len(tail) or probe[1:] != tail.encode("ascii"):
        raise IOProblem(f"{path}: CSV needs an ASCII-compatible encoding where sep is one "
                        f"byte; {encoding!r} with sep {sep!r} is not", ValueError)
    return probe[0]


def _parse_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype the parsers produce for ``dtype`` (cast afterwards where they differ)."""
    return np.dtype(np.float32) if dtype == np.float16 else dtype


def _arrow_type(pa, dtype: np.dtype):
    return pa.bool_() if dtype == np.bool_ else pa.from_numpy_dtype(_parse_dtype(dtype))


def _use_arrow(engine, dtype, path) -> bool:
    """Whether to parse/format with pyarrow: ``engine`` "auto" (when importable), "pyarrow"
    or "numpy". pyarrow has no complex numbers; those always take the NumPy path."""
    if engine not in ("auto", "pyarrow", "numpy"):
        raise IOProblem(f"{path}: engine must be 'auto', 'pyarrow' or 'numpy', got {engine!r}",
                        ValueError)
    if engine == "numpy" or np.dtype(dtype).kind == "c":
        return False
    if engine == "pyarrow":
        need("pyarrow.csv", extra="csv")
        return True
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------- reading rows

def _map_bytes(path, lo: int, hi: int) -> np.ndarray:
    """Bytes ``[lo, hi)`` of the file, mapped (read from disk as they are touched)."""
    return np.memmap(path, dtype=np.uint8, mode="r", offset=lo, shape=(hi - lo,))


class _Sink:
    """Rows parsed piece by piece, kept where (row - first) % step == 0, written in order
    into ``out``; ``seen`` counts every row parsed."""

    def __init__(self, out, step, path):
        self.out, self.step, self.path = out, step, path
        self.seen = 0
        self.filled = 0

    def take(self, n: int) -> tuple[slice, slice]:
        """For the next ``n`` parsed rows: which of them to keep, and where they go."""
        first = -self.seen % self.step
        keep = len(range(first, n, self.step))
        if self.filled + keep > len(self.out):
            raise IOProblem(f"{self.path}: file changed since it was scanned; load it again",
                            OSError)
        dst = slice(self.filled, self.filled + keep)
        self.seen += n
        self.filled += keep
        return slice(first, n, self.step), dst

    def put(self, part: np.ndarray) -> None:
        src, dst = self.take(len(part))
        self.out[dst] = part[src]


def _pieces(a, lo: int, hi: int):
    """``(start, stop)`` ranges covering ``a[lo:hi]``, about ``_PIECE`` bytes each, cut after
    a newline (rows never straddle two pieces)."""
    p = lo
    while p < hi:
        q = min(p + _PIECE, hi)
        while q < hi:
            nl = np.flatnonzero(a[q:min(q + 65536, hi)] == 10)
            if len(nl):
                q += int(nl[0]) + 1
                break
            q = min(q + 65536, hi)
        yield p, q
        p = q


def _bad_value(path, meta, a, p0, w0, exc) -> IOProblem:
    """A parse error as the path, line and column of the value (NumPy's messages count the
    rows parsed from 0 and the columns from 1)."""
    msg = str(exc)
    hit = re.search(r" at row (\d+), column (\d+)\.?", msg)
    where = ""
    if hit:
        line = _line_of(a, p0, int(hit.group(1)), meta.get("blank"),
                        meta.get("index_lines")[w0])
        where = f" line {line}, column {int(hit.group(2))}:"
        msg = msg[:hit.start()] + msg[hit.end():]
    return IOProblem(f"{path}:{where} cannot read values as {meta.dtype}: {msg}", ValueError)


def _row_starts(a: np.ndarray, lo: int, hi: int, blank: bool) -> np.ndarray:
    """Byte offsets (in ``a``) of the data rows that start in ``a[lo:hi]``; ``lo`` starts one."""
    nl = np.flatnonzero(a[lo:hi] == 10) + lo
    starts = np.concatenate(([lo], nl + 1))
    ends = np.append(nl, hi)
    if blank:
        cr = (ends > starts) & (a[np.maximum(ends - 1, 0)] == 13)
        keep = (ends - starts - cr) > 0
        starts = starts[keep]
    return starts[starts < hi]


def _skip(path, a, lo, hi, n, blank) -> int:
    """Offset of the ``n``-th data row after the one at ``lo``, searching ``a[lo:hi]``."""
    if n == 0:
        return lo
    starts = _row_starts(a, lo, hi, blank)
    if n >= len(starts):
        raise IOProblem(f"{path}: file changed since it was scanned; load it again", OSError)
    return int(starts[n])


def _line_of(a, lo, row, blank, first_line) -> int:
    """1-based file line of data row ``row`` counted from the row at ``lo``, where ``a``
    starts at 0-based line ``first_line`` (error messages only)."""
    starts = _row_starts(a, lo, len(a), blank)
    off = int(starts[min(row, len(starts) - 1)])
    return first_line + int(np.count_nonzero(a[:off] == 10)) + 1


def _parse_arrow(data, sep, cols, ncols, dtype):
    """Rows of ``data`` (bytes), columns ``cols``, as a pyarrow table; None where pyarrow
    cannot parse them (the NumPy parser then reports the line and column)."""
    pa = need("pyarrow", extra="csv")
    pcsv = need("pyarrow.csv", extra="csv")
    names = [f"f{j}" for j in range(ncols)]
    keep = [names[j] for j in cols]
    typ = _arrow_type(pa, dtype)
    try:
        return pcsv.read_csv(
        pa.py_buffer(data),
        read_options=pcsv.ReadOptions(column_names=names, use_threads=_threads() > 1),
        parse_options=pcsv.ParseOptions(delimiter=chr(sep), quote_char=False, escape_char=False,
                                         double_quote=False, newlines_in_values=False,
                                         ignore_empty_lines=True),
        convert_options=pcsv.ConvertOptions(column_types={k: typ for k in keep},
                                            include_columns=keep, null_values=[],
                                            strings_can_be_null=False, check_utf8=False,
                                            true_values=["1", "true", "True", "TRUE"],
                                            false_values=["0", "false", "False", "FALSE"]))
    except pa.ArrowException:
        return None


def _put_table(sink: _Sink, table) -> None:
    for batch in table.to_batches():  # batch by batch: the rows written stay in cache
        src, dst = sink.take(batch.num_rows)
        for j, col in enumerate(batch.columns):
            sink.out[dst, j] = col.to_numpy(zero_copy_only=False)[src]


def _parse_numpy(data, sep, cols, encoding, dtype):
    text = bytes(data).decode(encoding)
    if not text or text.isspace():  # blank lines only (a piece after the last row)
        return np.empty((0, len(cols)), dtype=dtype)
    out = np.loadtxt(io.StringIO(text), delimiter=chr(sep), dtype=_parse_dtype(dtype),
                     comments=None, usecols=list(cols), ndmin=2)
    return out.astype(dtype, copy=False)


def _threads() -> int:
    try:
        import torch
        return torch.get_num_threads()
    except ImportError:  # pragma: no cover - torch is a dependency of lazyheat
        return 1


# ---------------------------------------------------------------- formatting rows

def _header_bytes(header, encoding) -> bytes:
    """HeAT's ``header_lines``: a string or an iterable of strings, each line ended by a
    newline if it lacks one; no comment marker is added."""
    if header is None:
        return b""
    lines = [header] if isinstance(header, str) else list(header)
    text = "".join(h if h.endswith("\n") else h + "\n" for h in lines)
    return text.encode(encoding)


def _format_rows(block, sep: str, decimals: int, encoding: str, engine: str):
    """Rows of ``block`` (1-d: one value per line) as CSV bytes (a bytes-like object), "\\n"
    line endings.

    ``decimals == -1`` writes the shortest text that parses back to the same value of the
    block's dtype; ``decimals >= 0`` fixed-point with that many digits. Booleans are written
    as 1/0, float16 through float32 (exact), complex numbers as ``re+imj``."""
    a = np.asarray(block)
    a = a.reshape(-1, 1) if a.ndim == 1 else a
    n, c = a.shape
    if n == 0 or c == 0:
        return b""
    if a.dtype == np.bool_:
        a = a.astype(np.uint8)
    elif a.dtype == np.float16:
        a = a.astype(np.float32)
    kind = a.dtype.kind
    fixed = decimals is not None and decimals >= 0 and kind in "fc"
    if kind in "iuf" and not fixed and _use_arrow(engine, a.dtype, "save_csv"):
        return _format_arrow(a, sep)
    fmt = "%d" if kind in "iu" else f"%.{int(decimals)}f" if fixed else "%r"
    row = sep.join([fmt] * c) + "\n"
    parts = a
    if kind == "c":
        row = sep.join([fmt + fmt.replace("%", "%+") + "j"] * c) + "\n"
        parts = np.empty((n, 2 * c), dtype=a.real.dtype)
        parts[:, 0::2], parts[:, 1::2] = a.real, a.imag
        if not fixed:  # "%+r" does not exist: sign the imaginary part by hand
            vals = parts.ravel().tolist()
            parts = np.array([f"{re!r}{im:+}j" for re, im in zip(vals[0::2], vals[1::2])],
                             dtype=object).reshape(n, c)
            row = sep.join(["%s"] * c) + "\n"
    elif fmt == "%r" and a.dtype == np.float32:
        # Python floats are float64: use NumPy's shortest float32 text instead
        parts, row = a.astype(str), sep.join(["%s"] * c) + "\n"
    # one %-operation per chunk of rows formats in C, not one Python call per value
    out = []
    for i in range(0, n, 1 << 16):
        chunk = parts[i:i + (1 << 16)]
        out.append(((row * len(chunk)) % tuple(chunk.reshape(-1).tolist())).encode(encoding))
    return b"".join(out)


def _format_arrow(a, sep: str):
    pa = need("pyarrow", extra="csv")
    pcsv = need("pyarrow.csv", extra="csv")
    table = pa.table({f"f{j}": a[:, j] for j in range(a.shape[1])})
    sink = pa.BufferOutputStream()
    pcsv.write_csv(table, sink, write_options=pcsv.WriteOptions(
        include_header=False, delimiter=sep, quoting_style="none"))
    return memoryview(sink.getvalue())  # no copy: pwrite reads the buffer itself


def _pwrite(path, data: bytes, offset: int) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        view = memoryview(data)
        done = 0
        while done < len(view):  # pwrite may write less than asked (and at most ~2 GiB)
            done += os.pwrite(fd, view[done:done + (1 << 30)], offset + done)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- the backend

class CsvBackend(Backend):
    """Delimited text; options: ``sep`` (","), ``header_lines`` (load: lines to skip; save:
    header text), ``encoding`` ("utf-8"), ``dtype`` (load: the dtype values are parsed as;
    "float64" when not given, so that a cast to the dtype asked of ``core.load`` loses
    nothing; ``load_csv`` passes HeAT's float32 default), ``decimals`` (save: -1 = shortest
    round trip), ``engine`` ("auto" | "pyarrow" | "numpy")."""

    name = "csv"
    extra = None  # the NumPy path needs nothing; pyarrow (extra "csv") makes it faster
    suffixes = (".csv", ".txt", ".tsv")
    rows_only = True

    def meta(self, path, key, options) -> Meta:
        opts = dict(options)
        if key:
            raise IOProblem(f"{path}: CSV files have no datasets, got key {key!r}", KeyError)
        header = opts.get("header_lines", 0)
        if not isinstance(header, int) or isinstance(header, bool) or header < 0:
            raise IOProblem(f"{path}: header_lines must be an int >= 0, got {header!r}",
                            TypeError if not isinstance(header, int) else ValueError)
        sep = _sep_byte(path, opts.get("sep", ","), opts.get("encoding", "utf-8"))
        dtype = np.dtype(opts.get("dtype", "float64"))
        if dtype.kind not in "biufc":
            raise IOProblem(f"{path}: cannot load CSV values as {dtype}", TypeError)
        _use_arrow(opts.get("engine", "auto"), dtype, path)  # a bad engine fails early
        if not os.path.isfile(path):
            raise IOProblem(f"{path}: no such file", FileNotFoundError
                            if not os.path.exists(path) else IsADirectoryError)
        try:
            s, size = scan_file(path, sep, header)
        except OSError as exc:
            raise IOProblem(f"{path}: cannot read: {exc}", OSError) from None
        st = os.stat(path)
        cols = s.cols if s.rows else 0
        info = (("cols", cols), ("rows", s.rows), ("stride", s.stride),
                ("index", tuple(s.index)), ("index_lines", tuple(s.index_lines)),
                ("blank", s.blank), ("size", size), ("mtime_ns", st.st_mtime_ns))
        return Meta((s.rows, cols), dtype, info)

    def read(self, path, key, index, meta, options) -> np.ndarray:
        opts = dict(options)
        rsl, csl = index
        nrows, ncols = meta.shape
        r0, r1, rstep = rsl.indices(nrows)
        cols = range(*csl.indices(ncols))
        nsel = len(range(r0, r1, rstep))
        if nsel == 0 or len(cols) == 0:
            return np.empty((nsel, len(cols)), dtype=meta.dtype)
        r1 = r0 + (nsel - 1) * rstep + 1  # the rows up to the last one taken
        st = os.stat(path)
        if st.st_size != meta.get("size") or st.st_mtime_ns != meta.get("mtime_ns"):
            raise IOProblem(f"{path}: file changed since it was scanned; load it again",
                            OSError)
        k, idx, blank = meta.get("stride"), meta.get("index"), meta.get("blank")
        size = meta.get("size")
        # bytes [idx[w0], end): from the indexed row at or before r0 to the end of the
        # stride holding r1 - 1 (or exactly the indexed row r1 when it is one), mapped: the
        # pages are read as the parser reaches them, no copy of the text is made
        w0, w1 = r0 // k, r1 // k
        at = lambda w: idx[w] if w < len(idx) else size  # noqa: E731
        end = at(w1) if r1 % k == 0 else at(w1 + 1)
        base = idx[w0]
        a = _map_bytes(path, base, end)
        lo = _skip(path, a, 0, at(w0 + 1) - base, r0 - w0 * k, blank)
        hi = len(a) if r1 % k == 0 or r1 == nrows else _skip(path, a, idx[w1] - base, len(a),
                                                              r1 - w1 * k, blank)
        sep = _sep_byte(path, opts.get("sep", ","), opts.get("encoding", "utf-8"))
        arrow = _use_arrow(opts.get("engine", "auto"), meta.dtype, path)
        enc = opts.get("encoding", "utf-8")
        sink = _Sink(np.empty((nsel, len(cols)), dtype=meta.dtype), rstep, path)
        # in pieces of about _PIECE bytes cut at line ends: the parser's tables stay small
        for p0, p1 in _pieces(a, lo, hi):
            data = memoryview(a)[p0:p1]
            try:
                table = _parse_arrow(data, sep, cols, ncols, meta.dtype) if arrow else None
                if table is not None:
                    _put_table(sink, table)
                else:
                    sink.put(_parse_numpy(data, sep, cols, enc, meta.dtype))
            except ValueError as exc:
                raise _bad_value(path, meta, a, p0, w0, exc) from None
        if sink.seen != r1 - r0:
            raise IOProblem(f"{path}: file changed since it was scanned; load it again",
                            OSError)
        return sink.out

    def prepare(self, job) -> None:
        _check_job(job)
        opts = job.options
        with open(job.path, "wb") as f:
            f.write(_header_bytes(opts.get("header_lines"), opts.get("encoding", "utf-8")))

    def write(self, job) -> None:
        _check_job(job)
        if job.split is None and job.rank != 0:
            return  # a replicated array is written by rank 0 alone
        opts = job.options
        enc = opts.get("encoding", "utf-8")
        head = len(_header_bytes(opts.get("header_lines"), enc))
        many = job.split is not None and job.size > 1
        if many and job.comm is None:
            raise RuntimeError("save_csv on several ranks needs a communicator")
        try:
            data = _format_rows(job.block, opts.get("sep", ","), opts.get("decimals", -1),
                                enc, opts.get("engine", "auto"))
        except Exception:
            if many:  # the others wait in the allgather below: tell them, then raise
                job.comm.allgather(-1)
            raise
        offset = head
        if many:
            # rows differ in length: every rank learns every rank's byte count (all ranks
            # call this, those without rows too) and writes at the sum of those before it
            sizes = job.comm.allgather(len(data))
            if min(sizes) < 0:
                raise IOProblem(f"rank {sizes.index(min(sizes))} could not format its rows",
                                ValueError)
            offset += sum(sizes[:job.rank])
        if len(data):
            _pwrite(job.path, data, offset)


def _check_job(job) -> None:
    """What a save can check before writing: the same on every rank (no rank may leave the
    others waiting in ``write``'s allgather)."""
    if len(job.shape) not in (1, 2):
        raise IOProblem(f"CSV holds 1-d or 2-d arrays; got shape {tuple(job.shape)}",
                        ValueError)
    if np.dtype(job.dtype).kind not in "biufc":
        raise IOProblem(f"cannot write {job.dtype} values to CSV", TypeError)
    opts = job.options
    _sep_byte("save_csv", opts.get("sep", ","), opts.get("encoding", "utf-8"))
    _use_arrow(opts.get("engine", "auto"), job.dtype, "save_csv")
    header = opts.get("header_lines")
    if header is not None and not isinstance(header, str) and \
            not all(isinstance(h, str) for h in header):
        raise IOProblem(f"save_csv: header_lines must be a string or strings, got {header!r}",
                        TypeError)
    decimals = opts.get("decimals", -1)
    if not isinstance(decimals, int) or decimals < -1:
        raise IOProblem(f"save_csv: decimals must be an int >= -1, got {decimals!r}",
                        ValueError)


register_backend(CsvBackend())
