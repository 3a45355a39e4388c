"""What a kernel does, in units a machine has a throughput for: bytes, flops, comparisons.

``work(node)`` lists ``(class, amount)`` pairs for one step of a physical plan on the
busiest rank: an elementwise member moves its operands' and its result's bytes
(``"ewise"``, or ``"math"`` for transcendental functions), a reduction reads its input
(``"reduce"``, ``"moments"`` for variance-like states), a matrix product does 2 m n k flops
(``"matmul"``), a sort n log2 n comparisons (``"sort"``), and so on (``CLASSES``).
``graph/timemodel.py`` divides each amount by the machine's throughput for its class.

Amounts come from the avals alone (each rank's block: ``Aval.local_nbytes``), so every rank
computes the same, for any world size. They are coarse on purpose: one number per class
is what ``python -m lazyheat calibrate`` can measure in seconds, and the classes are chosen
so that the kernels in one class run at about the same speed per unit on a CPU.
Collectives are not counted here: their cost is ``commcost.comm_cost``.
"""

from __future__ import annotations

import math

from .aval import TupleAval
from .registry import Group, opdef

# class -> what its amount counts (the throughput table's keys, per second)
CLASSES = {
    "ewise": "bytes read and written by elementwise ops (each member of a fused group)",
    "math": "bytes read and written by transcendental elementwise ops (exp, log, sin, ...)",
    "reduce": "bytes read by reductions over a whole block or its last axis (sum, mean, "
              "min, max, arg-reductions, ...)",
    "colreduce": "bytes read by reductions over leading axes only (column sums x.sum(0) of "
                 "a matrix: strided)",
    "moments": "bytes read by variance-like reductions (var, std, moments)",
    "scan": "bytes read by sequential passes with a running state (cumulative sums, "
            "counting: bincount, histogram)",
    "copy": "bytes written by movement ops and fills (concatenate, repeat, ...)",
    "select": "bytes read by masked selection (boolean indexing)",
    "gather": "bytes of random-access reads and writes (take, put, bincount, ...)",
    "random": "random numbers generated",
    "sort": "comparisons of a sort: n log2 n over each rank's block",
    "matmul": "flops of matrix products: 2 m n k",
    "lapack": "flops of factorizations (QR, SVD, eigh, solve): about 4 m n^2",
    "fft": "flops of FFTs: 5 n log2 n",
    "io": "bytes read from files",
}

# elementwise ops that cost a libm call per element rather than a memory access
TRANSCENDENTAL = frozenset({
    "exp", "exp2", "expm1", "log", "log10", "log1p", "log2", "sin", "cos", "tan", "sinh",
    "cosh", "tanh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "arctan2",
    "power", "float_power", "cbrt", "hypot", "logaddexp", "sinc", "angle",
    "floor_divide", "remainder", "fmod",
})
VARIANCE = frozenset({"var", "std", "moments"})
# movement ops torch answers with a view of their input: nothing moves
VIEW_MOVES = frozenset({"transpose", "reshape", "slice"})


def local_elements(aval) -> int:
    """Elements of the busiest rank's block (of all parts, for a state)."""
    if isinstance(aval, TupleAval):
        return sum(local_elements(p) for p in aval.parts)
    return int(local_bytes(aval)) // max(aval.dtype.itemsize, 1)


def local_bytes(aval) -> int:
    """Bytes of the busiest rank's block of ``aval`` (of each part's, for a state)."""
    return aval.local_nbytes


def local_shape(aval) -> tuple:
    """The shape of the busiest rank's block (the whole shape where replicated)."""
    if aval.split is None or not aval.shape or not aval.shape[aval.split]:
        return tuple(aval.shape)
    shape = list(aval.shape)
    shape[aval.split] = max(aval.counts)
    return tuple(shape)


def _member_bytes(m) -> int:
    """Bytes an elementwise op reads and writes: each operand's block, broadcast operands
    counted at their own size (they stay in cache), and its result's block."""
    return sum(local_bytes(i.aval) for i in m.inputs) + local_bytes(m.aval)


def _ewise(m) -> tuple:
    return ("math" if m.op in TRANSCENDENTAL else "ewise", _member_bytes(m))


def _fused(node) -> list:
    """A fused group: every member as its own elementwise op over its operands (group
    inputs or earlier members; the runtime streams cache-sized chunks through them), then
    its closing reduction over the last member."""
    members = node.attr("members")
    ext = [local_bytes(i.aval) for i in node.inputs]
    own = [local_bytes(m.aval) for m in members]
    out = []
    for j, (m, refs) in enumerate(zip(members, node.attr("args"))):
        read = sum(own[r] if r >= 0 else ext[-1 - r] for r in refs)
        out.append(("math" if m.op in TRANSCENDENTAL else "ewise", read + own[j]))
    closer = node.attr("closer")
    if closer is not None:
        out.append((_reduce_class(closer, members[-1].aval), own[-1]))
    return out


def _reduce_class(n, aval=None) -> str:
    """``moments`` for variance-like states, ``colreduce`` when the reduced axes leave the
    last axis of a matrix out (the kernel strides across rows), else ``reduce``."""
    if n.attr("fn") in VARIANCE:
        return "moments"
    a = aval if aval is not None else n.inputs[0].aval
    axes = n.attr("axes")
    nd = len(getattr(a, "shape", ()) or ())
    if nd >= 2 and axes is not None and (nd - 1) not in {ax % nd for ax in axes}:
        return "colreduce"
    return "reduce"


def _matmul(node) -> list:
    """2 m n k: the result's elements times the contracted extent of the busiest block."""
    a = node.inputs[0].aval
    k = local_shape(a)[-1] if a.shape else 1
    return [("matmul", 2.0 * local_elements(node.aval) * k)]


def _tall(aval) -> tuple:
    """(rows, columns) of the busiest block of a (stack of) matrices, batch folded into
    the rows."""
    shape = local_shape(aval)
    if len(shape) < 2:
        return (shape[0] if shape else 1), 1
    return math.prod(shape[:-1]), shape[-1]


def _factor(node) -> list:
    """A QR / SVD of an m x n block (m >= n): about 4 m n^2 flops with its Q or U formed."""
    m, n = _tall(node.inputs[0].aval)
    if m < n:
        m, n = n, m
    return [("lapack", 4.0 * m * n * n)]


def _linalg_local(node) -> list:
    """A torch.linalg routine on each matrix of a stack (replicated, small): ~n^3 each."""
    shape = local_shape(node.inputs[0].aval)
    if len(shape) < 2:
        return []
    batch = math.prod(shape[:-2])
    m, n = shape[-2], shape[-1]
    return [("lapack", 4.0 * batch * max(m, n) * min(m, n) ** 2)]


def _fft(node) -> list:
    n = max(local_elements(node.aval), 1)
    axes = node.attr("axes") or ()
    length = math.prod(node.aval.shape[a] for a in axes) if axes else n
    return [("fft", 5.0 * n * math.log2(max(length, 2)))]


def _sort(node) -> list:
    """n log2 n comparisons over the busiest block's sorted axis (rows sorted one by one)."""
    a = node.inputs[0].aval
    n = local_elements(a)
    axis = node.attr("axis")
    length = local_shape(a)[axis] if axis is not None and a.shape else n
    return [("sort", n * math.log2(max(length, 2)))]


def _nearest(node) -> list:
    """Distances of n samples to k centers in d dimensions: a GEMM (squared euclidean),
    whose inner dimension d is short, so that its n x k result is written, completed
    with the norms and read back for the minimum: elementwise traffic besides the flops."""
    x, c = node.inputs[0].aval, node.inputs[1].aval
    n, d = local_shape(x)
    k = c.shape[0]
    size = x.dtype.itemsize
    return [("matmul", 2.0 * n * k * d), ("ewise", (n * d + 4 * n * k) * size)]


def _tsqr_q(node) -> list:
    m, n = _tall(node.inputs[0].aval)
    return [("matmul", 2.0 * m * n * n)]


def _in_bytes(cls):
    return lambda node: [(cls, sum(local_bytes(i.aval) for i in node.inputs))]


def _out_bytes(cls):
    return lambda node: [(cls, local_bytes(node.aval))]


def _in_out_bytes(cls):
    return lambda node: [(cls, sum(local_bytes(i.aval) for i in node.inputs)
                          + local_bytes(node.aval))]


def _nothing(node) -> list:
    return []


def _samplesort(node) -> list:
    """The local work of a sample sort (its collective step sorts too): the block sorted,
    the received pieces merged (about a balanced block, log2 p runs), and both copied."""
    a = node.inputs[0].aval
    n = local_elements(a)
    p = a.comm.size
    return [("sort", n * math.log2(max(n, 2)) + n * math.log2(max(p, 2))),
            ("copy", 2 * local_bytes(node.aval))]


# per op; ops not named here fall back on their group below. A collective costs what
# commcost says for its messages; the collectives named here also compute locally (a sample
# sort sorts and merges, routed takes gather and scatter, counts of unique values scan),
# which the time model adds to their step.
BY_OP = {
    "fused": _fused,
    "unbatch": _nothing,
    "random": lambda n: [("random", local_elements(n.aval))],
    "load": _out_bytes("io"),
    "matmul": _matmul,
    "fft": _fft,
    "tsqr": _factor, "tsqr_rlocal": _factor, "hsvd": _factor, "hsvd_local": _factor,
    "linalg_local": _linalg_local, "tsqr_merge": _factor, "hsvd_merge": _factor,
    "tsqr_q": _tsqr_q,
    "sort": _sort, "order_stats": _sort, "nan_quantile": _sort, "unique_select": _sort,
    "nearest": _nearest,
    "reduce": lambda n: [(_reduce_class(n), local_bytes(n.inputs[0].aval))],
    "reduce_partial": lambda n: [(_reduce_class(n), local_bytes(n.inputs[0].aval))],
    "bincount": _in_bytes("scan"), "histogram": _in_bytes("scan"),
    "searchsorted": _in_bytes("gather"),
    "take": _out_bytes("gather"), "take_along": _out_bytes("gather"),
    "put": _in_out_bytes("gather"),
    "scan_add": _in_out_bytes("ewise"),
    "scan_carry": _out_bytes("copy"),  # the block's last running value: one row
    "mask_count": _in_bytes("reduce"), "mask_select": _in_bytes("select"),
    "samplesort": _samplesort,
    "unique_count": _in_bytes("reduce"), "unique_inverse": _in_out_bytes("gather"),
    "take_routed": _in_out_bytes("gather"), "take_along_routed": _in_out_bytes("gather"),
    "put_routed": _in_out_bytes("gather"),
}

# Ops whose nodes are parts of one computation (a factorization's Q and R, U, S and Vh):
# the runtime computes it once per plan for all nodes with the same inputs and attributes
# but the part they take (``runtime/kernels/registry.py``: ``computation_key``), so the
# model counts its work once. (``tsqr_rlocal`` and ``tsqr_q`` share a block factorization
# too; their rules above already count it once, in ``tsqr_rlocal``.)
SHARED_PARTS = frozenset({"tsqr", "hsvd", "hsvd_merge", "linalg_local", "nearest"})


def shared_key(node):
    """The computation ``node`` takes a part of, or None: ``(op, inputs, attrs but the
    part)``, as the runtime keys it."""
    if node.op not in SHARED_PARTS:
        return None
    attrs = tuple((k, v) for k, v in node.attrs if k not in ("out", "partial"))
    return (node.op, *(id(i) for i in node.inputs), attrs)

BY_GROUP = {
    Group.LEAF: _out_bytes("copy"),  # fills: full, arange, linspace, eye
    Group.ELEMENTWISE: lambda n: [_ewise(n)],
    Group.REDUCTION: _in_bytes("reduce"),
    Group.COMBINER: _in_out_bytes("reduce"),
    Group.MOVEMENT: _out_bytes("copy"),
    Group.CONTRACTION: _factor,
    Group.SCAN: _in_bytes("scan"),
    Group.SELECTION: _in_bytes("copy"),
    Group.STRUCTURAL: _nothing,
    Group.COLLECTIVE: _nothing,
}


def moves_nothing(node) -> bool:
    """The user's data, views and view-like movement: no kernel, no memory of its own."""
    d = opdef(node.op)
    return d.user_data or d.view or node.op in VIEW_MOVES


def work(node) -> list:
    """``[(class, amount), ...]``: what ``node`` computes on the busiest rank, by class of
    ``CLASSES``; ``[]`` for the user's data and views; for a collective, only the local
    work it does besides its messages (``BY_OP``)."""
    if moves_nothing(node):
        return []
    rule = BY_OP.get(node.op) or BY_GROUP[opdef(node.op).group]
    return [(cls, float(amount)) for cls, amount in rule(node) if amount]
