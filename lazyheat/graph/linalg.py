"""Matrix functions of the ``linalg`` extension that factor or invert each matrix of a stack.

``linalg_local`` applies one torch.linalg routine (``fn``) to every matrix of its input (the
last two axes) and yields output ``out`` of it (a factorization's parts are separate nodes,
e.g. ``Q`` and ``R``). The matrix axes must be whole on a rank: the layout rule keeps a split
on a batch axis (a stack of matrices split over ranks: no communication at all) and otherwise
moves the input to a replicated layout, an all-gather that ``explain`` shows with its bytes.
The result takes the input's batch split, or is replicated.
"""

from __future__ import annotations

from . import dtypes as dt
from .errors import op_error
from .registry import Group, Needs, OpDef, register


def _real(d):
    return {dt.complex64: dt.float32, dt.complex128: dt.float64}.get(d, d)


def float_of(d):
    """The floating dtype a factorization of ``d`` computes in (integers: float64)."""
    if d.is_floating or d.is_complex:
        return dt.float32 if d in (dt.float16, dt.bfloat16) else d
    return dt.float64


def _square(x, fn):
    if len(x.shape) < 2 or x.shape[-1] != x.shape[-2]:
        raise op_error(ValueError, fn, f"needs a (stack of) square matrices, got shape "
                       f"{x.shape}", x.shape)


# fn -> (output shapes (batch, m, n, k=min(m, n)) by output name, dtype kind, square)
def _shapes(fn, out, x, attrs):
    *b, m, n = x.shape
    b, k = tuple(b), min(m, n)
    full = attrs.get("full_matrices", True)
    table = {
        ("cholesky", "L"): b + (m, n), ("inv", "X"): b + (m, n), ("pinv", "X"): b + (n, m),
        ("det", "d"): b, ("slogdet", "sign"): b, ("slogdet", "logabsdet"): b,
        ("eigh", "eigenvalues"): b + (m,), ("eigh", "eigenvectors"): b + (m, m),
        ("eigvalsh", "w"): b + (m,), ("svdvals", "S"): b + (k,),
        ("svd", "U"): b + ((m, m) if full else (m, k)), ("svd", "S"): b + (k,),
        ("svd", "Vh"): b + ((n, n) if full else (k, n)),
        ("qr", "Q"): b + ((m, m) if attrs.get("mode") == "complete" else (m, k)),
        ("qr", "R"): b + ((m, n) if attrs.get("mode") == "complete" else (k, n)),
        ("matrix_rank", "r"): b,
    }
    return table[(fn, out)]


SQUARE = {"cholesky", "inv", "det", "slogdet", "eigh", "eigvalsh"}
REAL_OUT = {("slogdet", "logabsdet"), ("eigh", "eigenvalues"), ("eigvalsh", "w"),
            ("svdvals", "S"), ("svd", "S")}


def _infer(avals, attrs):
    x = avals[0]
    fn, out = attrs["fn"], attrs["out"]
    if fn in SQUARE:
        _square(x, fn)
    elif len(x.shape) < 2:
        raise op_error(ValueError, fn, f"needs a (stack of) matrices, got shape {x.shape}",
                       x.shape)
    if x.dtype is dt.bool_ or (x.dtype.kind in "iu" and fn != "matrix_rank"):
        pass  # integers factor in float64, as NumPy
    d = float_of(x.dtype)
    if fn == "matrix_rank":
        return _shapes(fn, out, x, attrs), dt.int64
    if (fn, out) in REAL_OUT:
        d = _real(d)
    return _shapes(fn, out, x, attrs), d


def _layout(avals, attrs, shape, p):
    x = avals[0]
    if x.split is not None and x.split < len(x.shape) - 2:
        return x.split, x.counts  # a batch axis: each rank factors its own matrices
    return None, None


def _needs(avals, attrs, shape, out, p) -> Needs:
    x = avals[0]
    if out[0] is not None:
        return Needs((x.layout,))
    return Needs(((None, None),))


register(OpDef("linalg_local", Group.CONTRACTION, infer=_infer, layout=_layout, needs=_needs,
               doc="a torch.linalg factorization of each whole matrix of a stack"))
