"""Pure graph-to-graph passes: common subexpressions, distribution lowering, fusion,
verification."""

from .cse import eliminate_common_subexpressions
from .fuse import fuse
from .lower import lower
from .verify import verify

__all__ = ["eliminate_common_subexpressions", "fuse", "lower", "verify"]
