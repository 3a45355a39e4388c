"""Array creation. Every function takes ``split=``, ``dtype=``, ``device=`` and ``comm=``.

Generated arrays (zeros, arange, random, ...) are lazy: each rank makes only its own block at
run time. ``array`` keeps this rank's block of data every rank passes; ``from_local`` takes a
block per rank (sizes may differ) and learns the others' sizes with one small all-gather.
Float results default to float32, as HeAT, unless ``dtype`` says otherwise.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from . import _core
from ._array import LazyArray
from .graph import Aval, Buffer, user_location
from .graph import dtypes as dt
from .graph.errors import normalize_split, op_error
from .graph.layout import balanced_counts, offsets
from .runtime import sync
from .runtime.kernels import TORCH_DTYPES


def _shape(shape, op):
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError as exc:
        raise op_error(TypeError, op, f"shape must be an int or a tuple of ints, got "
                       f"{shape!r}") from exc
    if any(s < 0 for s in shape):
        raise op_error(ValueError, op, f"negative dimensions are not allowed: {shape}")
    return shape


def _aval(shape, dtype, split, device, comm, op):
    comm = _core.get_comm(comm)
    split = normalize_split(split, len(shape), op, shape)
    counts = None if split is None else balanced_counts(shape[split], comm.size)
    return Aval(shape, dtype, split, counts, _core.get_device(device), comm)


def _leaf(op, attrs, shape, dtype, split, device, comm):
    return _core.make(op, (), attrs, _aval(shape, dtype, split, device, comm, op))


def full(shape, fill_value, dtype=None, split=None, device=None, comm=None):
    """An array of ``shape`` filled with ``fill_value``.

    >>> lh.full((2, 3), 7, split=0).numpy()
    array([[7, 7, 7],
           [7, 7, 7]])
    """
    shape = _shape(shape, "full")
    if isinstance(fill_value, np.generic):  # a NumPy scalar brings its dtype along
        dtype = dtype or dt.as_dtype(fill_value.dtype)
        fill_value = fill_value.item()
    if dtype is None:
        d = dt.result_type(fill_value)
        dtype = dt.float32 if d is dt.float64 else (dt.complex64 if d is dt.complex128 else d)
    dtype = dt.as_dtype(dtype)
    return _leaf("full", {"value": fill_value}, shape, dtype, split, device, comm)


def zeros(shape, dtype=None, split=None, device=None, comm=None):
    """Zeros (float32 by default). ``lh.zeros((4, 2), split=0)``."""
    return full(shape, 0, dt.as_dtype(dtype or dt.float32), split, device, comm)


def ones(shape, dtype=None, split=None, device=None, comm=None):
    """Ones (float32 by default). ``lh.ones((4, 2), split=0)``."""
    return full(shape, 1, dt.as_dtype(dtype or dt.float32), split, device, comm)


def empty(shape, dtype=None, split=None, device=None, comm=None):
    """An uninitialized array; lazyheat fills it with zeros, which costs no more."""
    return zeros(shape, dtype, split, device, comm)


def _like(x, dtype, split, device, comm):
    return (dtype or x.dtype, x.split if split == "same" else split, device or x.device,
            comm or x.comm)


def full_like(x, fill_value, dtype=None, split="same", device=None, comm=None):
    """``full`` with ``x``'s shape, dtype, split and device unless given."""
    d, s, dev, c = _like(x, dtype, split, device, comm)
    return full(x.shape, fill_value, d, s, dev, c)


def zeros_like(x, dtype=None, split="same", device=None, comm=None):
    return full_like(x, 0, dtype, split, device, comm)


def ones_like(x, dtype=None, split="same", device=None, comm=None):
    return full_like(x, 1, dtype, split, device, comm)


def empty_like(x, dtype=None, split="same", device=None, comm=None):
    return full_like(x, 0, dtype, split, device, comm)


def arange(start, stop=None, step=1, dtype=None, split=None, device=None, comm=None):
    """Evenly spaced values in ``[start, stop)``; ints give int64, floats float32.

    >>> lh.arange(5, split=0).numpy()
    array([0, 1, 2, 3, 4])
    """
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise op_error(ValueError, "arange", "step must not be zero")
    n = max(0, math.ceil((stop - start) / step))
    if dtype is None:
        d = dt.result_type(start, stop, step)
        dtype = dt.float32 if d.is_inexact else d
    return _leaf("arange", {"start": start, "step": step}, (n,), dt.as_dtype(dtype), split,
                 device, comm)


def linspace(start, stop, num=50, endpoint=True, dtype=None, split=None, device=None,
             comm=None):
    """``num`` evenly spaced samples from ``start`` to ``stop`` (float32 by default)."""
    if num < 0:
        raise op_error(ValueError, "linspace", f"number of samples, {num}, must be >= 0")
    attrs = {"start": float(start), "stop": float(stop), "num": int(num),
             "endpoint": bool(endpoint)}
    return _leaf("linspace", attrs, (int(num),), dt.as_dtype(dtype or dt.float32), split,
                 device, comm)


def eye(n, m=None, k=0, dtype=None, split=None, device=None, comm=None):
    """Identity-like matrix: ones on diagonal ``k`` (float32 by default)."""
    shape = _shape((n, n if m is None else m), "eye")
    return _leaf("eye", {"k": int(k)}, shape, dt.as_dtype(dtype or dt.float32), split,
                 device, comm)


# ---------------------------------------------------------------- from data
def _to_tensor(obj, dtype):
    if isinstance(obj, torch.Tensor):
        t = obj.detach()
    else:
        arr = np.asarray(obj)
        if arr.dtype == object or arr.dtype.kind in "USVMm":
            raise op_error(TypeError, "array", f"unsupported data of dtype {arr.dtype}")
        if dtype is None and not isinstance(obj, (np.ndarray, np.generic)):
            # Python floats and complexes default to single precision, as HeAT
            arr = arr.astype({"float64": np.float32, "complex128": np.complex64}.get(
                arr.dtype.name, arr.dtype))
        t = torch.from_numpy(arr if arr.flags.c_contiguous else arr.copy(order="C"))
    d = dt.as_dtype(t.dtype if dtype is None else dtype)
    return t.to(TORCH_DTYPES[d.name]), d


def array(obj, dtype=None, split=None, device=None, comm=None, copy=True):
    """A distributed array from data every rank passes in full (NumPy, torch, lists,
    scalars, or another lazy array); this rank keeps its block along ``split``.

    ``copy`` as NumPy 2: True (default) keeps a private copy of the block, so later
    changes to the caller's data do not reach the lazy graph; None shares the caller's
    memory where no conversion is needed (the graph then reads it when it runs);
    False shares it or raises ``ValueError`` when a copy cannot be avoided.

    >>> lh.array([[1, 2], [3, 4]], split=0).sum().item()
    10
    """
    if isinstance(obj, LazyArray):
        out = obj if dtype is None else obj.astype(dtype)
        if split is None or split == out.split:
            return out
        split = normalize_split(split, out.ndim, "array", out.shape)
        aval = out.aval.with_(split=split, counts=balanced_counts(out.shape[split],
                                                                  out.comm.size))
        return _core.make("redistribute", (out._node,), {}, aval)
    dtype = _core.dtype_or_none(dtype)
    t, d = _to_tensor(obj, dtype)
    shape = tuple(t.shape)
    aval = _aval(shape, d, split, device, comm, "array")
    check = _checksum(t) if aval.comm.size > 1 and aval.comm.mpi is not None else None
    if aval.split is not None:
        r = aval.comm.rank
        t = t.narrow(aval.split, offsets(aval.counts)[r], aval.counts[r])
    t = t.to(_core.torch_device(aval.device, aval.comm))
    if copy:
        # a private copy of the block: later changes to the caller's data must not leak
        # into a lazy graph that reads it at compute time
        t = t.clone()
    elif copy is False and not _shares_memory(obj, t):
        raise op_error(ValueError, "array", "copy=False, but the data must be converted "
                       "(dtype, device, layout or Python data): use copy=None")
    out = _core.make("data", (), {"buf": Buffer(t, check)}, aval)
    out._node.attr("buf").loc = out._node.loc
    return out


def _checksum(t) -> int | None:
    """CRC-32 of the whole data a rank passed (before it keeps its block): the next
    collective step compares it between ranks, so data that differs between ranks is an
    error, not a silently mixed array. About 3.7 GB/s on one core; CPU data only (device
    data would need a copy to the host)."""
    if t.device.type != "cpu":
        return None
    flat = t.contiguous().reshape(-1)
    if flat.numel() == 0:
        return 0
    return sync.crc(flat.view(torch.uint8).numpy())


def _shares_memory(obj, t) -> bool:
    """Whether tensor ``t`` views the memory of ``obj`` (a tensor or NumPy array)."""
    if isinstance(obj, np.ndarray):
        obj = torch.from_numpy(obj) if obj.dtype.kind in "biufc" else None
    if not isinstance(obj, torch.Tensor) or t.numel() == 0:
        return isinstance(obj, torch.Tensor)
    base = obj.untyped_storage().data_ptr()
    return base <= t.data_ptr() < base + obj.untyped_storage().nbytes()


def asarray(obj, dtype=None, split=None, device=None, comm=None, copy=None):
    """Like ``array`` but shares the caller's memory where no conversion is needed
    (``copy=None``; see ``array``).

    >>> import numpy as np
    >>> a = np.arange(4.0)
    >>> x = lh.asarray(a)
    >>> a[0] = 7.0
    >>> float(x.numpy()[0])
    7.0
    """
    if isinstance(obj, LazyArray) and (dtype is None or obj.dtype == dtype) and \
            (split is None or split == obj.split):
        return obj
    return array(obj, dtype, split, device, comm, copy=copy)


def from_local(tensor, split=0, dtype=None, device=None, comm=None):
    """A distributed array from one block per rank, stacked along ``split`` in rank order.

    Blocks may differ in size along ``split``; all other dimensions must agree. This is
    collective: every rank must call it.
    """
    comm = _core.get_comm(comm)
    if comm.mpi is None:
        raise op_error(ValueError, "from_local", f"{comm!r} only plans; from_local needs the "
                       "ranks' real blocks")
    t, d = _to_tensor(tensor, _core.dtype_or_none(dtype))
    if split is None:
        return array(t, split=None, device=device, comm=comm)  # array() copies
    t = t.clone()  # the caller may change its block later; the graph must not see that
    split = normalize_split(split, t.ndim, "from_local", tuple(t.shape))
    loc = user_location()
    sync.handshake(comm, f"from_local at {loc}", sync.digest(f"from_local {split} {t.ndim}"),
                   loc)
    shapes = comm.mpi.allgather(tuple(t.shape) + (d.name,))
    others = {s[:split] + s[split + 1:-1] for s in shapes}
    if len(others) != 1 or len({s[-1] for s in shapes}) != 1:
        raise op_error(ValueError, "from_local", f"local blocks disagree outside axis {split}: "
                       f"{[s for s in shapes]}")
    counts = tuple(s[split] for s in shapes)
    shape = list(t.shape)
    shape[split] = sum(counts)
    dev = _core.get_device(device or ("cuda" if t.is_cuda else None))
    aval = Aval(tuple(shape), d, split, counts, dev, comm)
    return _core.make("data", (), {"buf": Buffer(t.to(_core.torch_device(dev, comm)))}, aval)


def lazy(obj) -> LazyArray:
    """``obj`` as a lazy array operand: itself, or a private copy of other data. A lazy
    graph reads its inputs when it runs, so data converted implicitly is copied: changing
    the caller's array afterwards cannot change a result computed later."""
    return obj if isinstance(obj, LazyArray) else array(obj, copy=True)
