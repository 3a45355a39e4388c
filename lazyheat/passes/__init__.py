"""Pure graph-to-graph passes: common subexpressions, distribution lowering, fusion,
verification."""

from .batch import batch_collectives
from .cse import eliminate_common_subexpressions
from .fuse import fuse
from .lower import lower
from .verify import verify

__all__ = ["batch_collectives", "eliminate_common_subexpressions", "fuse", "lower", "verify"]
