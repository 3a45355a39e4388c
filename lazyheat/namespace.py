"""lazyheat as an Array API namespace: the version, the inspection object and DLPack.

``lazyheat`` itself is the namespace (``x.__array_namespace__()`` returns the module), so code
written against the Python Array API standard takes lazy arrays::

    xp = x.__array_namespace__()           # lazyheat
    xp.__array_namespace_info__().default_dtypes()["real floating"]

DLPack exchanges memory a process holds: a replicated array (or any array on one rank) is
exported as its local tensor; a split array on several ranks has no single buffer, so
exporting it raises ``BufferError`` naming the ways out (``resplit(None)``, ``larray``).
"""

from __future__ import annotations

import math
import sys

import torch

from . import _core
from ._array import LazyArray
from .graph import dtypes as dt
from .graph.errors import op_error

__array_api_version__ = "2024.12"

# the standard's constants (Python floats, as NumPy's)
e = math.e
pi = math.pi
inf = math.inf
nan = math.nan
newaxis = None

# every dtype of the standard, by the standard's names (bool first, as the standard lists)
_DTYPE_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                "uint64", "float32", "float64", "complex64", "complex128")
# the standard's kinds, as DType kind letters (see ``dtypes.DType.kind``)
_KINDS = {"bool": "b", "signed integer": "i", "unsigned integer": "u",
          "integral": "iu", "real floating": "f", "complex floating": "c",
          "numeric": "iufc"}


def _known_dtypes() -> dict:
    """The standard's dtypes this build of lazyheat defines (by name, in standard order)."""
    out = {}
    for name in _DTYPE_NAMES:
        d = getattr(dt, "bool_" if name == "bool" else name, None)
        if isinstance(d, dt.DType):
            out[name] = d
    return out


class Info:
    """What ``lh.__array_namespace_info__()`` returns: the standard's inspection API.

    >>> info = lh.__array_namespace_info__()
    >>> info.capabilities()["boolean indexing"]
    True
    >>> info.default_dtypes()["indexing"]
    lazyheat.int64
    """

    __slots__ = ()

    def capabilities(self) -> dict:
        """Boolean indexing and data-dependent shapes (``x[mask]``, ``unique_*``,
        ``nonzero``) are supported: each is planned as a break that runs the plan up to it."""
        return {"boolean indexing": True, "data-dependent shapes": True,
                "max dimensions": 64}

    def default_device(self) -> str:
        """The device creation functions use when given none (see ``lh.use_device``)."""
        return _core.default_device()

    def devices(self) -> list:
        """"cpu", and "cuda" where torch sees a GPU."""
        return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

    def default_dtypes(self, *, device=None) -> dict:
        """The dtypes creation functions choose when given none: float32 for real floating
        data (as HeAT), complex64 for complex, int64 for integers and indices."""
        self._check_device(device)
        return {"real floating": dt.float32, "complex floating": dt.complex64,
                "integral": dt.int64, "indexing": dt.int64}

    def dtypes(self, *, device=None, kind=None) -> dict:
        """The supported dtypes by name, all of them or those of ``kind`` (a kind name of
        the standard, or a tuple of them)."""
        self._check_device(device)
        every = _known_dtypes()
        if kind is None:
            return every
        kinds = kind if isinstance(kind, tuple) else (kind,)
        letters = ""
        for k in kinds:
            if k not in _KINDS:
                raise op_error(ValueError, "dtypes", f"unknown dtype kind {k!r}; use one of "
                               f"{sorted(_KINDS)}")
            letters += _KINDS[k]
        return {n: d for n, d in every.items() if d.kind in letters}

    def _check_device(self, device) -> None:
        if device is not None:
            _core.get_device(device)  # raises for an unknown or absent device

    def __repr__(self) -> str:
        return "lazyheat.__array_namespace_info__()"


_INFO = Info()


def __array_namespace_info__() -> Info:
    """The Array API inspection object of lazyheat (capabilities, devices, dtypes)."""
    return _INFO


# ---------------------------------------------------------------- LazyArray's namespace API
def _array_namespace(self, /, *, api_version=None):
    """The namespace of this array: the ``lazyheat`` module (2024.12 and earlier versions of
    the standard are served by the same functions)."""
    if api_version is not None and api_version not in ("2021.12", "2022.12", "2023.12",
                                                        "2024.12"):
        raise op_error(ValueError, "__array_namespace__", f"unsupported Array API version "
                       f"{api_version!r}; lazyheat implements 2024.12")
    return sys.modules[__package__]  # the package itself (imported: it holds this module)


def _local_whole(self, what: str) -> torch.Tensor:
    """This rank's tensor when it is the whole array (replicated, or one rank)."""
    if self.split is not None and self.comm.size > 1:
        raise BufferError(f"{what}: a split array on {self.comm.size} ranks has no single "
                          "buffer; export x.resplit(None) (every rank gets the whole array) "
                          "or this rank's block x.larray")
    return self.larray


def _dlpack(self, /, *, stream=None, max_version=None, dl_device=None, copy=None):
    """The array's memory as a DLPack capsule (computes it first). Only an array held
    whole by this process can be exported: see the module docstring."""
    t = _local_whole(self, "__dlpack__")
    if copy:
        t = t.clone()
    kwargs = {}
    if stream is not None:
        kwargs["stream"] = stream
    if max_version is not None:
        kwargs["max_version"] = max_version
    try:
        return t.__dlpack__(**kwargs)
    except TypeError:  # an older protocol signature
        return t.__dlpack__()


def _dlpack_device(self):
    """(device type, device id) as DLPack names them: (1, 0) for the CPU, (2, i) for CUDA."""
    if self.device == "cuda":
        return (2, self.comm.rank % max(torch.cuda.device_count(), 1))
    return (1, 0)


def _to_device(self, device, /, *, stream=None):
    """This array on ``device`` ("cpu" or "gpu"/"cuda"); the same array when it is there.
    Moving computes the array and copies each rank's block (layout kept)."""
    target = _core.get_device(device)
    if target == self.device:
        return self
    from .creation import from_local

    tensor = self.larray.to(_core.torch_device(target, self.comm))
    if self.split is None:
        from .creation import array

        return array(tensor, split=None, device=target, comm=self.comm)
    return from_local(tensor, split=self.split, device=target, comm=self.comm)


def _matrix_transpose(self):
    """The transpose of the last two axes (a stack of matrices stays a stack)."""
    if self.ndim < 2:
        raise op_error(ValueError, "mT", f"needs at least 2 dimensions, got shape {self.shape}")
    from .linalg import permute_dims

    perm = tuple(range(self.ndim - 2)) + (self.ndim - 1, self.ndim - 2)
    return permute_dims(self, perm)


LazyArray.__array_namespace__ = _array_namespace
LazyArray.__dlpack__ = _dlpack
LazyArray.__dlpack_device__ = _dlpack_device
LazyArray.to_device = _to_device
LazyArray.mT = property(_matrix_transpose)


def from_dlpack(x, /, *, device=None, copy=None):
    """A replicated lazy array of the memory ``x`` exports through DLPack (a torch tensor,
    NumPy array or any producer of the protocol), shared when ``copy`` is not True.

    >>> import numpy as np
    >>> lh.from_dlpack(np.arange(3)).numpy()
    array([0, 1, 2])
    """
    from .creation import array

    t = torch.from_dlpack(x)
    if copy:
        t = t.clone()
    dev = "cuda" if t.device.type == "cuda" else "cpu"
    return array(t, split=None, device=device if device is not None else dev,
                 copy=bool(copy))


def matrix_transpose(x, /):
    """The transpose of the last two axes of ``x`` (Array API ``matrix_transpose``)."""
    return _matrix_transpose(_core_lazy(x))


def _core_lazy(x):
    from .creation import lazy

    return lazy(x)


__all__ = ["__array_api_version__", "__array_namespace_info__", "from_dlpack",
           "matrix_transpose", "e", "pi", "inf", "nan", "newaxis"]
