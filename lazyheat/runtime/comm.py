"""Communication: the MPI communicator wrapper and block redistribution of torch tensors.

Tensors travel zero-copy as byte buffers (``tensor.view(torch.uint8)`` -> NumPy -> mpi4py), so
every dtype moves, bfloat16 included. Reductions need typed buffers: float16/bfloat16 are
widened to float32 for the all-reduce and bool is carried as uint8. CUDA tensors are staged
through host memory. Every communicating function here is collective: all ranks of ``comm``
must call it with the same global arguments, which the planner guarantees. ``REDUCE_OPS`` is
the one table of reduction operators, for all-reduces and for their stand-in in a batched
all-gather (``reduce_stacked``), so both combine ranks' values alike.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import time

import numpy as np
import torch
from mpi4py import MPI

from ..graph.layout import offsets, transfer_matrix
from . import memory

# The reduction operators of all-reduces (named by ``graph.reduce.REDUCTIONS[fn].collective``
# and by partial matmuls): the MPI op, and the torch function combining ranks' values stacked
# along axis 0 (a batched all-gather standing in for the all-reduce, ``reduce_stacked``).
REDUCE_OPS = {
    "sum": (MPI.SUM, torch.sum), "prod": (MPI.PROD, torch.prod),
    "max": (MPI.MAX, torch.amax), "min": (MPI.MIN, torch.amin),
    "lor": (MPI.LOR, torch.any), "land": (MPI.LAND, torch.all),
}


class Comm:
    """A lazyheat communicator: an mpi4py communicator plus its rank and size."""

    def __init__(self, mpi_comm):
        self.mpi = mpi_comm
        self.rank = mpi_comm.Get_rank()
        self.size = mpi_comm.Get_size()

    def __repr__(self) -> str:
        return f"Comm(rank={self.rank}, size={self.size})"

    def abort(self, message: str, code: int = 1):
        """Print ``message`` (unless empty: ranks that have nothing of their own to say stay
        quiet) and bring every rank of the job down (no rank is left hanging)."""
        if message:
            sys.stderr.write(message.rstrip() + "\n")
            sys.stderr.flush()
        sys.stdout.flush()
        if self.size > 1 or MPI.COMM_WORLD.Get_size() > 1:
            # a moment for other ranks failing the same way to print their reason before
            # the abort tears the job down
            time.sleep(1.0)
            MPI.COMM_WORLD.Abort(code)
            os._exit(code)  # MPI_Abort does not return; should it, this rank still ends
        raise SystemExit(code)


class FakeComm(Comm):
    """A communicator that only plans: ``size`` ranks seen from ``rank``, no MPI behind it.

    ``lh.zeros(..., comm=FakeComm(1024))`` and ``lh.explain`` show what a 1024-rank run would
    do and move, in a plain process. Computing on it raises.
    """

    def __init__(self, size: int, rank: int = 0):
        if not 0 <= rank < size:
            raise ValueError(f"rank {rank} out of range for {size} ranks")
        self.mpi, self.rank, self.size = None, rank, size

    def __repr__(self) -> str:
        return f"FakeComm(rank={self.rank}, size={self.size})"


_WORLD = None


def world() -> Comm:
    """The world communicator (set up by ``install_world`` at ``import lazyheat``)."""
    return _WORLD if _WORLD is not None else install_world()


_SELF = None


def self_comm() -> Comm:
    """A communicator of this rank alone: arrays made on it are local to the rank and their
    plans never communicate (each rank may then run its own, different computation)."""
    global _SELF
    if _SELF is None:
        _SELF = Comm(MPI.COMM_SELF)
    return _SELF


def install_world() -> Comm:
    """Set up the world communicator when lazyheat is imported, before any user code can
    fail: size torch's thread pool so that ranks sharing a node do not oversubscribe its
    cores, install an excepthook that ends the whole job when an uncaught exception ends
    one rank of a multi-rank run, and arm the end-of-script handshake (``sync``). Local
    calls only, except the control communicator's duplication, which is posted (not
    waited for) on every rank alike."""
    global _WORLD
    if _WORLD is None:
        from . import sync  # runtime-internal; imported here so sync may use comm helpers

        _WORLD = Comm(MPI.COMM_WORLD)
        if _WORLD.size > 1:
            if "OMP_NUM_THREADS" not in os.environ:
                torch.set_num_threads(max(1, (os.cpu_count() or 1) // _ranks_on_node()))
            _install_excepthook(_WORLD)
        sync.install(_WORLD)
    return _WORLD


def _ranks_on_node() -> int:
    """Ranks sharing this node, from the launcher's environment. Deliberately not a
    collective (the first lazyheat call may happen on one rank only); without a hint,
    assume all ranks share the node, which never oversubscribes its cores."""
    for var in ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE",
                "PMI_LOCAL_SIZE", "PALS_LOCAL_SIZE"):
        value = os.environ.get(var, "").split("(")[0]
        if value.isdigit() and int(value) > 0:
            return int(value)
    return MPI.COMM_WORLD.Get_size()


_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# installed libraries and the standard library: frames there are not the user's code
_LIB_DIRS = tuple({os.path.join(p, "") for p in (sysconfig.get_paths()["stdlib"],
                                                sysconfig.get_paths()["purelib"],
                                                sysconfig.get_paths()["platlib"])})


def _user_line(tb) -> str:
    """``file:line`` of the innermost traceback frame in the user's code: outside lazyheat
    and, where there is one, outside installed libraries (NumPy's allocator is not where a
    user looks for the cause)."""
    where = fallback = ""
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not name.startswith(_PKG_DIR) and not name.startswith("<frozen"):
            here = f"{os.path.basename(name)}:{tb.tb_lineno}"
            fallback = here
            if not name.startswith(_LIB_DIRS):
                where = here
        tb = tb.tb_next
    return where or fallback


def _install_excepthook(comm: Comm) -> None:
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        where = _user_line(tb)
        comm.abort(f"lazyheat: rank {comm.rank} failed{' at ' + where if where else ''}: "
                   f"{kind.__name__}: {value}; aborting all ranks")

    sys.excepthook = hook


# ---------------------------------------------------------------- buffers
def _bytes(t: torch.Tensor) -> np.ndarray:
    """A contiguous CPU tensor as a flat uint8 NumPy view (no copy)."""
    if t.numel() == 0:  # empty tensors may carry any strides; nothing to view
        return np.empty(0, dtype=np.uint8)
    flat = t.reshape(-1)
    if flat.stride(0) != 1:  # torch calls size-1 tensors contiguous whatever their stride
        flat = torch.empty(flat.shape, dtype=flat.dtype).copy_(flat)
    return flat.view(torch.uint8).numpy()


def _host(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu").contiguous()


def allgather_stack(comm: Comm, t: torch.Tensor) -> torch.Tensor:
    """Every rank's ``t`` (same shape everywhere) stacked along a new axis 0."""
    src = _host(t)
    out = torch.empty((comm.size,) + tuple(src.shape), dtype=src.dtype)
    if comm.size == 1:
        out[0] = src
    elif src.numel():
        comm.mpi.Allgather(_bytes(src), _bytes(out))
    return out.to(t.device)


def allgather_packed(comm: Comm, tensors) -> list[torch.Tensor]:
    """Every rank's ``tensors`` in one all-gather of their packed bytes: for each tensor, the
    ranks' copies stacked along a new axis 0. Meant for small partial states."""
    host = [_host(t) for t in tensors]
    sizes = [t.numel() * t.element_size() for t in host]
    send = np.concatenate([_bytes(t) for t in host]) if host else np.empty(0, np.uint8)
    recv = np.empty((comm.size, send.size), dtype=np.uint8)
    if comm.size == 1:
        recv[0] = send
    elif send.size:
        comm.mpi.Allgather(send, recv)
    out, start = [], 0
    for t, src, nb in zip(tensors, host, sizes):
        if nb == 0:  # nothing to view (a zero-size state)
            out.append(torch.empty((comm.size,) + tuple(src.shape), dtype=src.dtype,
                                   device=t.device))
            continue
        raw = torch.from_numpy(recv[:, start:start + nb].copy())
        out.append(raw.view(src.dtype).reshape((comm.size,) + tuple(src.shape)).to(t.device))
        start += nb
    return out


def allreduce(comm: Comm, t: torch.Tensor, op: str) -> torch.Tensor:
    """Element-wise reduction of ``t`` over ranks; every rank gets the result."""
    if comm.size == 1:
        return t
    src = _host(t)
    orig = src.dtype
    if orig in (torch.float16, torch.bfloat16):
        src = src.to(torch.float32)
    elif orig == torch.bool:
        src = src.to(torch.uint8)
    out = torch.empty_like(src)
    comm.mpi.Allreduce(src.numpy(), out.numpy(), op=REDUCE_OPS[op][0])
    return out.to(orig).to(t.device)


def reduce_scatter(comm: Comm, t: torch.Tensor, op: str, axis: int, counts) -> torch.Tensor:
    """Element-wise reduction of ``t`` (the whole value on every rank) over ranks, each rank
    keeping its block along ``axis`` (``counts`` per rank): MPI's reduce-scatter, which
    receives about one block per round instead of the whole value."""
    if comm.size == 1:
        return t
    src = _host(torch.movedim(t, axis, 0))
    orig = src.dtype
    if orig in (torch.float16, torch.bfloat16):
        src = src.to(torch.float32)
    elif orig == torch.bool:
        src = src.to(torch.uint8)
    row = _row_numel(src.shape)
    out = torch.empty((counts[comm.rank],) + tuple(src.shape[1:]), dtype=src.dtype)
    comm.mpi.Reduce_scatter(src.numpy(), out.numpy(), [c * row for c in counts],
                            op=REDUCE_OPS[op][0])
    return torch.movedim(out.to(orig), 0, axis).to(t.device)


def reduce_stacked(stacked: torch.Tensor, op: str) -> torch.Tensor:
    """Combine ranks' values stacked along axis 0 with all-reduce operator ``op``, in rank
    order, so the result is identical on every rank. Not collective: the values were
    gathered already. Half-precision sums and products accumulate in float32, as the
    all-reduce does."""
    fn, dt = REDUCE_OPS[op][1], stacked.dtype
    if dt in (torch.float16, torch.bfloat16) and op in ("sum", "prod"):
        return fn(stacked.to(torch.float32), 0).to(dt)
    return fn(stacked, 0).to(dt)


def allgather_axis(comm: Comm, t: torch.Tensor, axis: int, counts) -> torch.Tensor:
    """S(axis, counts) -> replicated: concatenate every rank's block along ``axis``."""
    if comm.size == 1:
        return t
    src = _host(torch.movedim(t, axis, 0))
    row = _row_numel(src.shape)
    item = src.element_size()
    out = memory.empty((sum(counts),) + tuple(src.shape[1:]), src.dtype, "cpu")
    sizes = [c * row * item for c in counts]
    comm.mpi.Allgatherv(_bytes(src), [_bytes(out), (sizes, list(offsets(sizes))), MPI.BYTE])
    return torch.movedim(out, 0, axis).to(t.device)


def _row_numel(shape) -> int:
    n = 1
    for s in shape[1:]:
        n *= s
    return n


def alltoallv_buffers(send_pieces, recv_shapes, dtype) -> tuple:
    """(send buffer, send byte counts, receive buffer, receive byte counts) of an all-to-all
    of ``send_pieces[d]`` to rank d and a piece of ``recv_shapes[s]`` from rank s. Each send
    piece is copied once, straight into its slot of the send buffer (strided pieces
    included)."""
    numel = [p.numel() for p in send_pieces]
    send = memory.empty((sum(numel),), dtype, "cpu")
    start = 0
    for p, n in zip(send_pieces, numel):
        if n:
            send[start:start + n].view(p.shape).copy_(p)
        start += n
    item = send.element_size()
    rnumel = [int(np.prod(s)) for s in recv_shapes]
    recv = memory.empty((sum(rnumel),), dtype, "cpu")
    return send, [n * item for n in numel], recv, [n * item for n in rnumel]


def received_pieces(recv, recv_shapes) -> list:
    """Views of ``recv`` (one flat buffer in rank order) shaped as ``recv_shapes``."""
    out, start = [], 0
    for s in recv_shapes:
        n = int(np.prod(s))
        out.append(recv[start:start + n].reshape(s))
        start += n
    return out


def _alltoallv(comm: Comm, send_pieces, recv_shapes, dtype):
    """Send ``send_pieces[d]`` to rank d, receive a tensor of ``recv_shapes[s]`` from rank s.

    Returns (pieces, recv): the received pieces are views into ``recv``, one flat buffer in
    rank order; nothing is copied after the receive."""
    send, scount, recv, rcount = alltoallv_buffers(send_pieces, recv_shapes, dtype)
    comm.mpi.Alltoallv([_bytes(send), (scount, list(offsets(scount))), MPI.BYTE],
                       [_bytes(recv), (rcount, list(offsets(rcount))), MPI.BYTE])
    return received_pieces(recv, recv_shapes), recv


def redistribute_moves(comm: Comm, t: torch.Tensor, shape, src, dst, src_starts=None):
    """How this rank's block ``t`` moves from layout ``src`` to ``dst`` (each ``(split,
    counts)``), shared by the blocking (``redistribute``) and the posted
    (``nbcomm.start_redistribute``) forms: ``("local", value)`` (no message: one rank, an
    unchanged replicated value, or R -> S, this rank's slice), ``("allgather", axis,
    counts)`` (S -> R), or ``("alltoall", send pieces, receive shapes, order, axis)``: S(k)
    -> S(k) with other counts moves only the rows whose owner changes, S(k) -> S(j) the
    blocks; the received pieces are joined along ``axis`` in ``order`` (by position)."""
    (ss, sc), (ds, dc) = src, dst
    r, p = comm.rank, comm.size
    if p == 1:
        return ("local", t)  # one block holds everything, whatever the split
    if ds is None:
        return ("local", t) if ss is None else ("allgather", ss, sc)
    do = offsets(dc)
    if ss is None:
        return ("local", t.narrow(ds, do[r], dc[r]))
    so = src_starts or offsets(sc)
    if ss == ds:
        m = transfer_matrix(sc, dc, src_starts)
        send = []
        for d in range(p):
            lo = min(max(0, max(so[r], do[d]) - so[r]), t.shape[ss])
            send.append(t.narrow(ss, lo, m[r][d]))
        shapes = []
        for s in range(p):
            shp = list(t.shape)
            shp[ss] = m[s][r]
            shapes.append(tuple(shp))
        return ("alltoall", send, shapes, sorted(range(p), key=lambda s: so[s]), ss)
    send = [t.narrow(ds, do[d], dc[d]) for d in range(p)]
    shapes = []
    for s in range(p):
        shp = list(shape)
        shp[ss], shp[ds] = sc[s], dc[r]
        shapes.append(tuple(shp))
    return ("alltoall", send, shapes, range(p), ss)


def redistribute(comm: Comm, t: torch.Tensor, shape, src, dst, src_starts=None) -> torch.Tensor:
    """Move a local block from layout ``src`` to ``dst`` (each ``(split, counts)``): a local
    slice, an all-gather or an all-to-all (``redistribute_moves``)."""
    kind, *how = redistribute_moves(comm, t, shape, src, dst, src_starts)
    if kind == "local":
        return how[0]
    if kind == "allgather":
        return allgather_axis(comm, t, *how)
    send, shapes, order, axis = how
    pieces, recv = _alltoallv(comm, send, shapes, t.dtype)
    return _joined(pieces, recv, order, axis).to(t.device)


def _joined(pieces, recv, order, axis) -> torch.Tensor:
    """The received pieces concatenated along ``axis`` in ``order``. Pieces joined along
    axis 0 in rank order already lie that way in the receive buffer: no copy then."""
    if axis == 0 and list(order) == list(range(len(pieces))):
        shape = list(pieces[0].shape)
        shape[0] = sum(p.shape[0] for p in pieces)
        return recv.view(shape)
    return _cat([pieces[s] for s in order], axis)


def _cat(pieces, axis) -> torch.Tensor:
    """Concatenate received pieces along ``axis`` into one fresh (huge-page) buffer."""
    shape = list(pieces[0].shape)
    shape[axis] = sum(p.shape[axis] for p in pieces)
    return torch.cat(pieces, dim=axis, out=memory.empty(tuple(shape), pieces[0].dtype, "cpu"))
