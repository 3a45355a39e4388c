"""``.npy`` files: ``load_npy`` and ``save_npy``; every rank reads and writes its own byte
range of the one file."""

from __future__ import annotations

from . import core


def load_npy(path, split=0, dtype=None, device=None, comm=None):
    """A lazy array of the ``.npy`` file ``path``, split along ``split``.

    Shape and dtype come from the header (read by rank 0); each rank reads only its rows
    when the plan runs, and only the rows and columns a slice after the load keeps::

        x = lh.load_npy("data.npy", split=0)
        x[1000:2000, :4].sum()      # reads rows 1000..1999, columns 0..3
    """
    return core.load("npy", path, "", split, dtype, device, comm)


def save_npy(x, path, overwrite=False) -> None:
    """Write ``x`` to the ``.npy`` file ``path``: rank 0 writes the header, every rank its
    own rows, in parallel; the file appears when all have finished (collective)."""
    core.save("npy", x, path, "", overwrite)
