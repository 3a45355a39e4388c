"""Loading and saving, format-independent: lazy loads with metadata read once, atomic saves.

``load`` builds a ``load`` leaf: rank 0 reads the file's metadata (shape, dtype) and broadcasts
it, so every rank raises the same error for a missing file or dataset, at the user's line,
and no data is read until the plan runs. ``save`` computes the array and writes it with every
rank writing its own part (as the format allows) into a temporary name next to the target,
which rank 0 renames over the target once every rank has succeeded: a failure on any rank
leaves no partial file under the target name, and a previous file there intact.

Both are collective over the array's communicator (every rank must call them in the same
order); the rank handshake (``runtime.sync``) checks that before anything is exchanged.
"""

from __future__ import annotations

import os
import shutil
import uuid

import numpy as np

from .. import _core
from ..graph import Aval, user_location
from ..graph import dtypes as dt
from ..graph.errors import normalize_split, op_error
from ..graph.io import FileMeta
from ..graph.layout import balanced_counts
from ..runtime import sync
from ..runtime.io import BACKENDS, IOProblem, WriteJob, backend


def _options(options) -> tuple:
    return tuple(sorted((options or {}).items()))


def _agreed(comm, fn):
    """``fn()`` run on rank 0 only, its result (or its ``IOProblem``/error) broadcast: every
    rank returns the same value or raises the same exception."""
    out = err = None
    if comm.rank == 0:
        try:
            out = fn()
        except IOProblem as exc:
            err = (exc.kind, str(exc))
        except (OSError, ValueError, KeyError, TypeError, ImportError) as exc:
            err = (type(exc), str(exc))
    if comm.size > 1 and comm.mpi is not None:
        out, err = comm.mpi.bcast((out, err), root=0)
    if err is not None:
        kind, msg = err
        raise kind(msg)
    return out


def _message(exc) -> str:
    return str(exc.args[0]) if exc.args else str(exc)


def _where(fn_name, path, key) -> str:
    return f"{fn_name}({os.fspath(path)!r}{', ' + repr(key) if key else ''})"


def load(fmt: str, path, key: str = "", split=0, dtype=None, device=None, comm=None,
         options=None):
    """A lazy array reading ``key`` of the ``fmt`` file ``path``, split along ``split``.

    Shape and dtype come from the file's metadata (read by rank 0, broadcast); no data is
    read until compute, and then each rank reads only its block, or less where slices and
    resplits that follow are pushed into the read. ``dtype`` converts on reading."""
    comm = _core.get_comm(comm)
    b = backend(fmt)
    path = os.path.abspath(os.fspath(path))
    opts = _options(options)
    what = _where(f"load_{fmt}", path, key)
    if comm.size > 1 and comm.mpi is not None:
        loc = user_location()
        sync.handshake(comm, f"{what} at {loc}", sync.digest(f"load {fmt} {path} {key}"), loc)
    try:
        meta = _agreed(comm, lambda: b.meta(path, key, opts))
    except (FileNotFoundError, KeyError, ValueError, TypeError, OSError, ImportError) as exc:
        raise op_error(type(exc), f"load_{fmt}", _message(exc)) from None
    shape = tuple(int(s) for s in meta.shape)
    try:
        file_dtype = dt.as_dtype(meta.dtype)
    except TypeError:
        file_dtype = None
    if dtype is None and file_dtype is None:
        raise op_error(TypeError, f"load_{fmt}", f"{what}: data of dtype {meta.dtype} has no "
                       "lazyheat dtype; pass dtype= to convert it on reading")
    d = dt.as_dtype(dtype) if dtype is not None else file_dtype
    split = normalize_split(split, len(shape), f"load_{fmt}", shape)
    counts = None if split is None else balanced_counts(shape[split], comm.size)
    aval = Aval(shape, d, split, counts, _core.get_device(device), comm)
    attrs = {"fmt": fmt, "path": path, "key": key or "",
             "region": tuple((0, n, 1) for n in shape), "options": opts,
             "meta": FileMeta(meta)}
    return _core.make("load", (), attrs, aval)


def format_of(path) -> str:
    """The format a path's extension names (``BACKENDS[...].suffixes``)."""
    name = os.fspath(path).rstrip("/").lower()
    for fmt, b in BACKENDS.items():
        if any(name.endswith(s) for s in b.suffixes):
            return fmt
    known = sorted(s for b in BACKENDS.values() for s in b.suffixes)
    raise ValueError(f"cannot tell the file format of {os.fspath(path)!r} from its "
                     f"extension; known extensions: {', '.join(known)}")


def save(fmt: str, x, path, key: str = "", overwrite: bool = False, options=None) -> None:
    """Write ``x`` to ``path`` (``key`` inside it) in format ``fmt``, atomically.

    Collective. Every rank writes its own block where the format allows it; the file appears
    under ``path`` only when every rank has finished. ``overwrite=False`` refuses an existing
    ``path`` (FileExistsError on every rank)."""
    from ..creation import lazy

    x = lazy(x)
    comm = x.comm
    b = backend(fmt)
    path = os.path.abspath(os.fspath(path))
    what = _where(f"save_{fmt}", path, key)
    loc = user_location()
    if comm.size > 1 and comm.mpi is not None:
        sync.handshake(comm, f"{what} at {loc}", sync.digest(f"save {fmt} {path} {key} "
                                                             f"{x.aval.struct()}"), loc)

    def check_target():
        if os.path.exists(path) and not overwrite:
            raise IOProblem(f"{what}: {path} exists; pass overwrite=True (mode='w') to "
                            "replace it", FileExistsError)
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            raise IOProblem(f"{what}: no such directory {parent}", FileNotFoundError)
        base = os.path.basename(path)
        return os.path.join(parent, f".{base}.lazyheat-{uuid.uuid4().hex[:12]}.tmp")

    try:
        tmp = _agreed(comm, check_target)
    except (FileExistsError, FileNotFoundError) as exc:
        raise op_error(type(exc), f"save_{fmt}", _message(exc)) from None
    x = _laid_out_for(b, x, options)
    x.compute()
    job = _job(b, x, tmp, key, options)
    ok = _step(comm, "prepare", lambda: b.prepare(job) if comm.rank == 0 else None)
    if ok is None:
        ok = _step(comm, "write", lambda: b.write(job))
    if ok is None:
        ok = _step(comm, "finish", lambda: b.finish(job) if comm.rank == 0 else None)
    if comm.rank == 0:
        if ok is None:
            _replace(tmp, path)
        else:
            _remove(tmp)
    if comm.size > 1 and comm.mpi is not None:
        comm.mpi.barrier()  # the file is in place (or gone) before any rank goes on
    if ok is not None:
        rank, kind, msg = ok
        raise kind(f"{what} failed on rank {rank}: {msg}; nothing was written to {path}")


def _laid_out_for(b, x, options=None):
    """``x`` laid out as backend ``b`` writes it: rows in rank order along axis 0 (and,
    for chunked formats, every rank's block a whole number of chunks)."""
    if not b.rows_only or x.split is None or x.ndim == 0:
        return x
    n = x.shape[0]
    p = x.comm.size
    counts = balanced_counts(n, p)
    multiple = getattr(b, "row_multiple", None)
    if multiple is not None:
        np_dtype = np.dtype(x.dtype.name if x.dtype.name != "bfloat16" else "float32")
        c = max(1, int(multiple(x.shape, np_dtype, p, dict(options or {}))))
        counts = _chunked_counts(n, p, c)
    if x.split == 0 and tuple(x.aval.counts) == tuple(counts):
        return x
    return _core.make("redistribute", (x._node,), {}, x.aval.with_(split=0, counts=counts))


def _chunked_counts(n: int, p: int, c: int) -> tuple:
    """Row counts over ``p`` ranks, each a multiple of ``c`` except the last rank's share of
    the remainder: chunks never straddle two ranks' blocks."""
    chunks = -(-n // c)
    per = balanced_counts(chunks, p)
    counts = [k * c for k in per]
    extra = sum(counts) - n
    for r in range(p - 1, -1, -1):  # the short last chunk belongs to the last non-empty rank
        if counts[r]:
            counts[r] -= extra
            break
    return tuple(counts)


def _job(b, x, tmp, key, options) -> WriteJob:
    comm = x.comm
    t = x.larray.detach().cpu()
    if t.dtype.is_floating_point and t.element_size() == 2 and str(t.dtype) == "torch.bfloat16":
        t = t.float()
    block = t.numpy()
    split = x.split
    counts = tuple(x.aval.counts) if split is not None else ()
    offset = sum(counts[:comm.rank]) if split is not None else 0
    return WriteJob(path=tmp, key=key or "", shape=tuple(x.shape), dtype=block.dtype,
                    block=block, split=split, offset=offset, counts=counts, rank=comm.rank,
                    size=comm.size, comm=comm.mpi if comm.size > 1 else None,
                    options=dict(options or {}))


def _step(comm, name, fn):
    """Run one phase of a save on every rank; None when it succeeded everywhere, else
    (rank, exception class, message) of the first rank that failed (the same on all)."""
    err = None
    try:
        fn()
    except IOProblem as exc:
        err = (comm.rank, exc.kind, str(exc))
    except Exception as exc:  # noqa: BLE001 - any failure is reported on every rank
        err = (comm.rank, type(exc), f"{type(exc).__name__}: {exc}")
    if comm.size > 1 and comm.mpi is not None:
        errs = [e for e in comm.mpi.allgather(err) if e is not None]
        return errs[0] if errs else None
    return err


def _replace(tmp: str, path: str) -> None:
    """Move ``tmp`` over ``path``: one rename for a file; for a directory (or a file
    replaced by a directory), the old one is moved aside first and removed last, so the
    previous data stays complete until the new is in place."""
    if os.path.isdir(path) or (os.path.exists(path) and os.path.isdir(tmp)):
        old = tmp + ".old"
        os.replace(path, old)
        os.replace(tmp, path)
        _remove(old)
    else:
        os.replace(tmp, path)


def _remove(p: str) -> None:
    if os.path.isdir(p):
        shutil.rmtree(p, ignore_errors=True)
    elif os.path.exists(p):
        os.remove(p)
