"""Printing arrays: a computed array shows its values, NumPy style, printed once.

``repr(x)`` and ``str(x)`` (so ``print(x)``) of a computed (materialized) array show its
values as NumPy's ``repr`` lays them out, with the class name, then its dtype, device and
split, as HeAT prints a DNDarray (``lh.DNDarray`` is another name for ``lh.LazyArray``, so
the class is named ``LazyArray`` in both cases)::

    >>> print(lh.arange(4, dtype=lh.float32, split=0).reshape(2, 2).compute())
    LazyArray([[0., 1.],
               [2., 3.]], dtype=lh.float32, device=cpu, split=0)

Large arrays are summarized exactly as NumPy summarizes them, honouring
``np.get_printoptions()`` (``threshold``: more elements than this are summarized;
``edgeitems``: how many leading and trailing items each axis then shows; ``linewidth``,
``precision`` and the rest as NumPy uses them). A summarized split array is *not* gathered
whole: every rank contributes only the edge items it holds (at most ``2 * edgeitems`` per
axis), rank 0 receives them, and NumPy formats a stand-in array of those items with one
placeholder entry in the middle of each summarized axis, which NumPy's summary leaves out.
The text is the same as NumPy's for the whole array.

Printed once: rank 0 returns the text; every other rank returns an empty string, so
``print(x)`` under mpiexec shows the array once, and the other ranks print an empty line (as
HeAT's global printing does). Printing a computed *split* array is a collective, as
``numpy()`` is: every rank must print (or ``repr``) the same array at the same point of the
program. Replicated arrays are formatted from rank 0's own copy, without communication.

A lazy array (not computed yet) prints its metadata, the same on every rank, and computes
nothing: ``LazyArray(shape=(2, 2), dtype=float32, split=0, device=cpu, lazy, type=f32[2@0,
2])``.
"""

from __future__ import annotations

import numpy as np
import torch


def array_repr(x) -> str:
    """The text ``repr(x)`` and ``str(x)`` return (see the module doc)."""
    if not x.is_materialized:
        return lazy_repr(x)
    comm = x.comm
    if comm.size > 1 and x.split is not None and comm.mpi is None:
        # a planning-only communicator: the other blocks live on ranks that do not exist
        return lazy_repr(x, "materialized")
    opts = np.get_printoptions()
    edge = max(0, int(opts["edgeitems"]))
    summarize = x.size > opts["threshold"]
    values = _gather_edges(x, edge, summarize)
    if comm.rank != 0:
        return ""
    return _format(type(x).__name__, values, x, edge, summarize, opts)


def lazy_repr(x, state="lazy") -> str:
    """Metadata only: shape, dtype, split, device and the plan type, nothing computed."""
    return (f"{type(x).__name__}(shape={x.shape}, dtype={x.dtype.name}, split={x.split}, "
            f"device={x.device}, {state}, type={x.aval.type_str()})")


def _selection(n: int, edge: int, summarize: bool) -> list:
    """Global indices along an axis of length ``n`` that the text can show: all of them, or,
    when NumPy summarizes the axis (``n > 2 * edge``), the first and last ``edge``. With
    ``edgeitems=0`` NumPy still shows an axis's last item (and sizes the format from all
    items, which is not matched here): that index then doubles as the placeholder."""
    if not summarize or n <= 2 * edge:
        return list(range(n))
    return list(range(edge)) + list(range(n - edge, n)) if edge else [n - 1]


def _gather_edges(x, edge: int, summarize: bool):
    """On rank 0, the items the text shows, as one NumPy array (the whole array when it is
    not summarized); None on other ranks. Collective for split arrays: each rank sends only
    the selected items of its own block."""
    comm, split = x.comm, x.split
    if split is not None and comm.size == 1:
        split = None  # one block holds everything
    if split is None and comm.rank != 0:
        return None  # rank 0 formats its own copy
    t = x.larray
    for ax, n in enumerate(x.shape):
        sel = _selection(n, edge, summarize)
        if ax == split:
            start = sum(x.aval.counts[:comm.rank])
            sel = [g - start for g in sel if start <= g < start + t.shape[ax]]
        if len(sel) != t.shape[ax]:
            t = t.index_select(ax, torch.tensor(sel, dtype=torch.long, device=t.device))
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:
        t = t.to(torch.float32)  # NumPy has no bfloat16
    piece = t.numpy()
    if split is None:
        return piece
    pieces = comm.mpi.gather(piece, root=0)  # blocks are in rank order along the split axis
    return np.concatenate(pieces, axis=split) if comm.rank == 0 else None


def _stand_in(values, shape, edge: int, summarize: bool):
    """``values`` (the selected items) with a placeholder in the middle of every axis that
    NumPy summarizes, so that NumPy, summarizing the stand-in with the same ``edgeitems``,
    drops the placeholder where it drops the hidden items of the whole array."""
    for ax, n in enumerate(shape):
        if summarize and n > 2 * edge:
            idx = list(range(edge)) + [0] + list(range(edge, 2 * edge))
            values = values.take(idx, axis=ax)
    return values


def _format(name, values, x, edge, summarize, opts) -> str:
    """NumPy's ``repr`` layout (``numpy._core.arrayprint``): the values with continuation
    lines indented under the opening bracket, then the extras, on a new line when they
    would pass the line width."""
    prefix = name + "("
    small = _stand_in(values, x.shape, edge, summarize)
    body = np.array2string(small, separator=", ", prefix=prefix, suffix=")",
                           threshold=0 if summarize else max(small.size, 1), edgeitems=edge)
    extras = []
    if (x.size == 0 and x.shape != (0,)) or (summarize and opts.get("legacy") is False):
        extras.append(f"shape={x.shape}")  # as NumPy adds to summarized or empty arrays
    extras.append(f"dtype=lh.{x.dtype.name}, device={x.device}, split={x.split})")
    head = prefix + body + ","
    tail = ", ".join(extras)
    last_line = len(head) - (head.rfind("\n") + 1)
    spacer = "\n" + " " * len(prefix) if last_line + len(tail) + 1 > opts["linewidth"] else " "
    return head + spacer + tail


__all__ = ["array_repr", "lazy_repr"]
