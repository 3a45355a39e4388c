"""lazyheat: lazy distributed arrays with a NumPy-like API, PyTorch kernels and MPI.

>>> import lazyheat as lh
>>> x = lh.random.randn(1000, 8, split=0, seed=1)
>>> z = (x - x.mean(axis=0)) / x.std(axis=0)     # lazy: nothing has run yet
>>> z.shape, z.split
((1000, 8), 0)
>>> print(lh.explain(z))                          # doctest: +SKIP
>>> z = z.compute()                               # runs the plan on every rank
"""

from . import (
    _dispatch,  # noqa: F401  (NumPy's functions and ufuncs dispatch to lazyheat)
    _methods,  # noqa: F401  (attaches LazyArray's operators and methods)
    dtype_functions,
    fft,
    indexing,
    io,
    namespace,
    random,
    searching,
    sets,
    shaping,
    sorting,
    statistics,
    stats_more,
)
from ._array import LazyArray
from ._core import use_device
from .centers import center_stats, nearest_centers
from .creation import (
    arange,
    array,
    asarray,
    empty,
    empty_like,
    eye,
    from_local,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    zeros,
    zeros_like,
)
from .dtype_functions import *  # noqa: F403
from .elementwise import *  # noqa: F403
from .elementwise import __all__ as _ew_all
from .graph.dtypes import (
    DType,
    bfloat16,
    bool_,
    complex64,
    complex128,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
)
from .graph.timemodel import Network
from .indexing import *  # noqa: F403
from .io import *  # noqa: F403
from .io import __all__ as _io_all
from .linalg import dot, matmul, permute_dims, tensordot, transpose, vecdot
from .manipulation import balance, concatenate, expand_dims, reshape, resplit, squeeze, stack
from .namespace import *  # noqa: F403
from .planner import Plan, clear_plan_cache, compute, estimate, explain, plan, plan_cache_info
from .reductions import *  # noqa: F403
from .reductions import __all__ as _red_all
from .runtime.comm import Comm, FakeComm, self_comm, world
from .searching import *  # noqa: F403
from .searching import where  # noqa: F401 - where(cond) alone is nonzero(cond)
from .sets import *  # noqa: F403
from .shaping import *  # noqa: F403
from .sorting import *  # noqa: F403
from .statistics import *  # noqa: F403
from .stats_more import *  # noqa: F403
from .tracing import trace

# The algorithm packages sit on the public API (they ``import lazyheat``), so the package
# loads them on first use (``lh.cluster.KMeans``) instead of at import: the package is whole
# before any of them imports it. ``from lazyheat.cluster import KMeans`` works as well.
_ALGORITHMS = ("base", "cluster", "classification", "decomposition", "naive_bayes",
               "preprocessing", "regression", "spatial")


def __getattr__(name):
    if name in _ALGORITHMS:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'lazyheat' has no attribute {name!r}")


DNDarray = LazyArray
bool = bool_  # noqa: A001 - NumPy-style dtype name
__version__ = "0.1.0"

_more_all = [n for m in (dtype_functions, indexing, namespace, searching, sets, shaping, sorting,
                         statistics, stats_more) for n in m.__all__]
__all__ = list(_ew_all) + list(_red_all) + list(_io_all) + _more_all + [
    "io", "fft", "nearest_centers", "center_stats", *_ALGORITHMS,
    "LazyArray", "DNDarray", "Comm", "FakeComm", "DType", "world", "self_comm", "use_device",
    "random",
    "compute", "explain", "plan", "Plan", "plan_cache_info", "clear_plan_cache",
    "estimate", "Network",
    "trace",
    "array", "asarray", "from_local", "zeros", "ones", "full", "empty", "zeros_like",
    "ones_like", "full_like", "empty_like", "arange", "linspace", "eye",
    "matmul", "dot", "transpose", "permute_dims", "tensordot", "vecdot", "reshape", "squeeze",
    "expand_dims", "concatenate", "stack", "resplit", "balance",
    "bool", "bool_", "int8", "int16", "int32", "int64", "uint8", "float16", "bfloat16",
    "float32", "float64", "complex64", "complex128",
]
