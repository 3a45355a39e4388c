"""Pure graph-to-graph passes: common subexpressions, distribution lowering, verification."""

from .cse import eliminate_common_subexpressions
from .lower import lower
from .verify import verify

__all__ = ["eliminate_common_subexpressions", "lower", "verify"]
