"""Non-blocking collectives: each ``start_*`` posts MPI's non-blocking form of a collective
of ``runtime/comm.py`` and returns a ``Pending``; ``Pending.wait()`` completes it and yields
exactly what the blocking function returns (the tests compare them bit for bit).

Between the start and the wait, the buffers MPI reads and writes belong to MPI: ``Pending``
holds them (sender copies and receive buffers alike), and the executor keeps the inputs of
a collective in flight alive and never lets a kernel overwrite them (``executor``). Every
start is collective: all ranks post the same collectives in the same order (the schedule,
``passes/schedule.py``, is the same on every rank), and MPI pairs them by that order.

Progress: MPICH advances a non-blocking collective only inside MPI calls (unless
``MPICH_ASYNC_PROGRESS=1``, which costs a core per rank), so the executor calls
``Pending.test()`` between the kernels it runs while collectives are in flight.
"""

from __future__ import annotations

import numpy as np
import torch
from mpi4py import MPI

from ..graph.layout import offsets
from . import memory
from .comm import (
    REDUCE_OPS,
    Comm,
    _bytes,
    _host,
    _joined,
    _row_numel,
    alltoallv_buffers,
    received_pieces,
    redistribute_moves,
)


class Pending:
    """A collective in flight: its MPI request (None when nothing moves), the buffers it
    owns until it completes, and ``finish()``, which turns them into the result."""

    __slots__ = ("req", "finish", "buffers")

    def __init__(self, req, finish, buffers=()):
        self.req, self.finish, self.buffers = req, finish, buffers

    def test(self) -> bool:
        """Whether it has completed; drives MPI's progress engine (cheap, never blocks)."""
        if self.req is None:
            return True
        if self.req.Test():
            self.req = None
            return True
        return False

    def wait(self):
        """Block until it completes; its result."""
        if self.req is not None:
            self.req.Wait()
            self.req = None
        out = self.finish()
        self.finish = self.buffers = None
        return out

    def then(self, fn) -> Pending:
        """The same collective, its result passed through ``fn`` when it completes."""
        first = self.finish
        self.finish = lambda: fn(first())
        return self


def done(value) -> Pending:
    """A collective that completed at its start (one rank, or nothing to move)."""
    return Pending(None, lambda: value)


def _typed(src: torch.Tensor) -> torch.Tensor:
    """``src`` in a type MPI reduces: half precision widened to float32, bool as uint8."""
    if src.dtype in (torch.float16, torch.bfloat16):
        return src.to(torch.float32)
    if src.dtype == torch.bool:
        return src.to(torch.uint8)
    return src


def start_allreduce(comm: Comm, t: torch.Tensor, op: str) -> Pending:
    """``comm.allreduce`` posted: ``Iallreduce``."""
    if comm.size == 1:
        return done(t)
    src = _typed(_host(t))
    out = torch.empty_like(src)
    req = comm.mpi.Iallreduce(src.numpy(), out.numpy(), op=REDUCE_OPS[op][0])
    dtype, dev = t.dtype, t.device
    return Pending(req, lambda: out.to(dtype).to(dev), (src, out))


def start_reduce_scatter(comm: Comm, t: torch.Tensor, op: str, axis: int, counts) -> Pending:
    """``comm.reduce_scatter`` posted: ``Ireduce_scatter`` of the blocks along ``axis``."""
    if comm.size == 1:
        return done(t)
    src = _typed(_host(torch.movedim(t, axis, 0)))
    row = _row_numel(src.shape)
    out = torch.empty((counts[comm.rank],) + tuple(src.shape[1:]), dtype=src.dtype)
    req = comm.mpi.Ireduce_scatter(src.numpy(), out.numpy(), [c * row for c in counts],
                                   op=REDUCE_OPS[op][0])
    dtype, dev = t.dtype, t.device
    return Pending(req, lambda: torch.movedim(out.to(dtype), 0, axis).to(dev), (src, out))


def start_allgather_stack(comm: Comm, t: torch.Tensor) -> Pending:
    """``comm.allgather_stack`` posted: ``Iallgather``."""
    src = _host(t)
    out = torch.empty((comm.size,) + tuple(src.shape), dtype=src.dtype)
    if comm.size == 1 or not src.numel():
        if comm.size == 1:
            out[0] = src
        return done(out.to(t.device))
    req = comm.mpi.Iallgather(_bytes(src), _bytes(out))
    dev = t.device
    return Pending(req, lambda: out.to(dev), (src, out))


def start_allgather_packed(comm: Comm, tensors) -> Pending:
    """``comm.allgather_packed`` posted: one ``Iallgather`` of the tensors' packed bytes;
    the result is the list of the tensors' gathered copies."""
    host = [_host(t) for t in tensors]
    sizes = [t.numel() * t.element_size() for t in host]
    send = np.concatenate([_bytes(t) for t in host]) if host else np.empty(0, np.uint8)
    recv = np.empty((comm.size, send.size), dtype=np.uint8)

    def finish():
        out, start = [], 0
        for t, src, nb in zip(tensors, host, sizes):
            if nb == 0:
                out.append(torch.empty((comm.size,) + tuple(src.shape), dtype=src.dtype,
                                       device=t.device))
                continue
            raw = torch.from_numpy(recv[:, start:start + nb].copy())
            out.append(raw.view(src.dtype).reshape((comm.size,) + tuple(src.shape))
                       .to(t.device))
            start += nb
        return out

    if comm.size == 1:
        recv[0] = send
        return Pending(None, finish)
    if not send.size:
        return Pending(None, finish)
    req = comm.mpi.Iallgather(send, recv)
    return Pending(req, finish, (send, recv))


def start_allgather_axis(comm: Comm, t: torch.Tensor, axis: int, counts) -> Pending:
    """``comm.allgather_axis`` posted: ``Iallgatherv`` of the blocks along ``axis``."""
    if comm.size == 1:
        return done(t)
    src = _host(torch.movedim(t, axis, 0))
    row = _row_numel(src.shape)
    out = memory.empty((sum(counts),) + tuple(src.shape[1:]), src.dtype, "cpu")
    sizes = [c * row * src.element_size() for c in counts]
    sbuf = _bytes(src)
    req = comm.mpi.Iallgatherv(sbuf, [_bytes(out), (sizes, list(offsets(sizes))), MPI.BYTE])
    dev = t.device
    return Pending(req, lambda: torch.movedim(out, 0, axis).to(dev), (src, sbuf, out))


def _start_alltoallv(comm: Comm, send_pieces, recv_shapes, dtype, finish) -> Pending:
    """``comm._alltoallv`` posted: ``send_pieces[d]`` to rank d, a piece of
    ``recv_shapes[s]`` from rank s; ``finish(pieces, recv)`` makes the result."""
    send, scount, recv, rcount = alltoallv_buffers(send_pieces, recv_shapes, dtype)
    sbuf, rbuf = _bytes(send), _bytes(recv)
    req = comm.mpi.Ialltoallv([sbuf, (scount, list(offsets(scount))), MPI.BYTE],
                              [rbuf, (rcount, list(offsets(rcount))), MPI.BYTE])
    return Pending(req, lambda: finish(received_pieces(recv, recv_shapes), recv),
                   (send, sbuf, recv, rbuf))


def start_redistribute(comm: Comm, t: torch.Tensor, shape, src, dst,
                       src_starts=None) -> Pending:
    """``comm.redistribute`` posted: an ``Iallgatherv`` (S -> R) or an ``Ialltoallv``
    (S -> S), the moves ``comm.redistribute_moves`` plans; a local slice (or one rank)
    completes at once."""
    kind, *how = redistribute_moves(comm, t, shape, src, dst, src_starts)
    if kind == "local":
        return done(how[0])
    if kind == "allgather":
        return start_allgather_axis(comm, t, *how)
    send, shapes, order, axis = how
    dev = t.device
    return _start_alltoallv(comm, send, shapes, t.dtype,
                            lambda pieces, recv: _joined(pieces, recv, order, axis).to(dev))
