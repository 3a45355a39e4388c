"""Pure graph-to-graph passes: common subexpressions, constant folding, algebraic rewrites,
re-planning for another world size, distribution lowering, all-reduce placement for partial
sums, collective batching, fusion, verification; ``pipeline`` runs them in order."""

from .batch import batch_collectives
from .cse import eliminate_common_subexpressions
from .fold import fold_constants
from .fuse import fuse
from .lower import lower
from .partial import place_allreduces
from .pipeline import STAGES, run_passes
from .retarget import retarget
from .rewrite import push_reductions
from .verify import VerifyError, verify

__all__ = ["STAGES", "VerifyError", "batch_collectives", "eliminate_common_subexpressions",
           "fold_constants", "fuse", "lower", "place_allreduces", "push_reductions",
           "retarget", "run_passes", "verify"]
