"""CSV files: ``load_csv`` and ``save_csv`` with HeAT's names and parameters.

A load scans the file once (rank 0, when the load is built) for its shape and a coarse row
index; when the plan runs each rank parses only its own rows' bytes. A save has every rank
format its rows and write them at its own byte offset of the one file, in parallel.
"""

from __future__ import annotations

from ..graph import dtypes as dt
from . import core


def load_csv(path, header_lines=0, sep=",", dtype=dt.float32, encoding="utf-8", split=0,
             device=None, comm=None, engine="auto"):
    """A lazy 2-d array of the numbers in the CSV file ``path``, split along ``split``.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.
    header_lines : int
        Lines at the start of the file that are not data (skipped).
    sep : str
        The one-character separator between values (``","``, ``";"``, ``"\\t"``, ...).
    dtype : lazyheat dtype
        The dtype of the values (float32 by default, as HeAT).
    encoding : str
        The file's encoding; it must be ASCII-compatible (UTF-8, Latin-1, ...).
    split : int or None
        The axis the array is distributed along (rows: 0; columns: 1; None: replicated).
    device, comm
        Where the array lives, as for every creation function.
    engine : str
        ``"auto"`` (pyarrow's CSV parser when installed, else NumPy), ``"pyarrow"`` or
        ``"numpy"``.

    Notes
    -----
    The shape is (data rows, columns); a file without data rows loads as shape (0, 0).
    Lines ending in ``\\n`` or ``\\r\\n``, a missing final newline and blank lines (skipped)
    are fine. A row with another number of fields than the first raises ``ValueError``
    naming its line, when the load is built; so does a quote character (quoted fields are
    not supported). Values that do not parse as ``dtype`` raise ``ValueError`` with their
    line when the rows are read.

    Examples
    --------
    ::

        x = lh.load_csv("data.csv", header_lines=1, sep=";", split=0)
        x.shape                     # known now: the file was scanned once
        x[1000:2000].mean(0)        # parses rows 1000..1999 only
    """
    d = dt.as_dtype(dtype)
    parse = "float32" if d is dt.bfloat16 else d.name  # NumPy has no bfloat16
    options = {"header_lines": header_lines, "sep": sep, "dtype": parse,
               "encoding": encoding, "engine": engine}
    return core.load("csv", path, "", split, d, device, comm, options)


def save_csv(data, path, header_lines=None, sep=",", decimals=-1, encoding="utf-8", comm=None,
             truncate=True, engine="auto") -> None:
    """Write the 1-d or 2-d array ``data`` to the CSV file ``path`` (collective).

    Parameters
    ----------
    data : LazyArray
        The array; a 1-d array is written one value per line.
    path : str or os.PathLike
        The CSV file.
    header_lines : str or iterable of str, optional
        Lines written before the data, each ended by a newline where it lacks one; no
        comment marker is added.
    sep : str
        The separator between values.
    decimals : int
        Digits after the decimal point of floating-point values; -1 (the default) writes the
        shortest text that reads back to the same value.
    encoding : str
        The encoding of the header (numbers are ASCII).
    comm : ignored
        Kept for HeAT compatibility; the array's communicator is used.
    truncate : bool
        True (as HeAT): an existing file is replaced. False: an existing file is refused
        (``FileExistsError``); HeAT would write over it without shortening it.
    engine : str
        ``"auto"`` (pyarrow's CSV writer when installed, for ``decimals=-1``), ``"pyarrow"``
        or ``"numpy"``.

    Notes
    -----
    Every rank formats its own rows and writes them at its own offset of the file (the
    ranks exchange one byte count each); the file appears under ``path`` only when every
    rank has finished. Booleans are written as 1/0 and complex numbers as ``re+imj``.

    Examples
    --------
    ::

        x = lh.random.randn(1000, 4, split=0)
        lh.save_csv(x, "data.csv", header_lines="a,b,c,d", decimals=6)
    """
    if header_lines is not None and not isinstance(header_lines, str):
        header_lines = tuple(header_lines)
    options = {"header_lines": header_lines, "sep": sep, "decimals": decimals,
               "encoding": encoding, "engine": engine}
    core.save("csv", data, path, "", overwrite=bool(truncate), options=options)
