"""File reads as leaves of the graph: the ``load`` op.

A load knows its shape and dtype at build time (from the file's metadata, read once on rank 0
and broadcast by ``lazyheat.io``) and reads nothing until its plan runs. Its attributes name
the format, the path, the key inside the file (dataset, variable, array; "" for none), the
*region* it reads (one ``(start, stop, step)`` per file axis, in file coordinates), the
format's options and the metadata (``FileMeta``). Each rank reads the rows of the region
that its block of the load's layout covers; the planner's ``pushdown`` pass folds slices and
resplits that follow a load into its region and layout, so a plan reads only what it uses.
"""

from __future__ import annotations

import hashlib

from .registry import Group, OpDef, register


class FileMeta:
    """A file's metadata (``runtime.io.Meta``: shape, NumPy dtype, format facts) as a node
    attribute: compared and hashed by a digest of its content, printed short, so plans with
    it cache and print like any other."""

    __slots__ = ("meta", "digest")

    def __init__(self, meta):
        self.meta = meta
        text = repr((tuple(meta.shape), str(meta.dtype), meta.info))
        self.digest = hashlib.blake2b(text.encode(), digest_size=6).hexdigest()

    def __eq__(self, other):
        return isinstance(other, FileMeta) and other.digest == self.digest

    def __hash__(self):
        return hash(self.digest)

    def __repr__(self) -> str:
        return f"meta:{self.digest}"


def region_bytes(region, itemsize: int) -> int:
    n = itemsize
    for start, stop, step in region:
        n *= len(range(start, stop, step))
    return n


register(OpDef("load", Group.LEAF,
               doc="a lazy read of a file's region (HDF5, netCDF, Zarr, npy, CSV, Parquet); "
                   "slices and resplits after it are pushed into the read"))
