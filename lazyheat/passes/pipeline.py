"""The pass pipeline, from the logical graph to the physical plan, in one ordered list.

1. **logical**: common subexpressions shared (re-planned for another world size on request);
2. **optimized**: constants folded, slices and resplits of file loads folded into the reads
   (``pushdown``), linear reductions pushed through transposes and sums (``rewrite``),
   common subexpressions again;
3. **physical**: distribution lowering (block-local ops and explicit collectives), CSE,
   all-reduces of partial sums moved to where they move the fewest bytes (``partial``),
   all-reduces read only as split blocks turned into reduce-scatters (``scatter``),
   batching of small reduction collectives, fusion of elementwise groups.

With ``verify=True`` the verifier checks the graph after every pass (the test suite and
``LAZYHEAT_DEBUG=3`` turn it on), and a failure names the pass.
"""

from __future__ import annotations

import os

from ..graph.traverse import shared_orders
from .batch import batch_collectives
from .cse import eliminate_common_subexpressions
from .fold import fold_constants
from .fuse import fuse
from .lower import lower
from .partial import place_allreduces
from .pushdown import push_into_reads
from .retarget import retarget
from .rewrite import push_reductions
from .scatter import scatter_partials
from .verify import VerifyError, verify

STAGES = ("logical", "optimized", "physical")


def run_passes(logical, stage="physical", comm=None, evaluate=None, verify_each=False):
    """(outputs at ``stage``, notes for ``explain``) for logical outputs over params.

    ``comm``: re-plan every layout for this communicator's size (a ``FakeComm`` for
    ``world_size=N``); ``evaluate(node, values)``: the constant folder's evaluator (the
    runtime's kernel, given by the caller so passes stay free of torch)."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
    with shared_orders():
        return _run(logical, stage, comm, evaluate, verify_each)


def _run(logical, stage, comm, evaluate, verify_each):

    def checked(name, outs, physical=False):
        if verify_each:
            try:
                verify(outs, physical=physical)
            except VerifyError as exc:
                raise VerifyError(f"after pass {name}: {exc}") from None
        return outs

    outs = checked("cse", eliminate_common_subexpressions(logical))
    if comm is not None:
        outs = checked("retarget", retarget(outs, comm))
    if stage == "logical":
        return outs, []
    notes = []
    if evaluate is not None:
        outs, folded = fold_constants(outs, evaluate)
        outs = checked("fold", outs)
        if folded:
            notes.append(f"{folded} elementwise op(s) on constants folded")
    outs, read = push_into_reads(outs)
    outs = checked("pushdown", outs)
    notes += read
    outs, pushed = push_reductions(outs)
    notes += pushed
    outs = checked("cse", eliminate_common_subexpressions(checked("rewrite", outs)))
    if stage == "optimized":
        return outs, notes
    outs = checked("lower", lower(outs), True)
    outs = checked("cse", eliminate_common_subexpressions(outs), True)
    outs, placed = place_allreduces(outs)
    outs, notes = checked("partial", outs, True), notes + placed
    outs = checked("scatter", scatter_partials(outs), True)
    outs = checked("batch", batch_collectives(outs), True)
    if os.environ.get("LAZYHEAT_FUSE", "1") != "0":  # =0: one kernel per op (for comparison)
        outs = checked("fuse", fuse(outs), True)
    return outs, notes


def break_note(n) -> str:
    """What ``explain`` says of an op whose extent depends on the data: where the plan broke
    and what the break learned (the counts this plan is made with)."""
    a = n.aval
    got = (f"per-rank counts {list(a.counts)} all-gathered" if a.split == 0 else
           f"{a.shape[0]} entries counted on every rank (no message)")
    return (f"break at {n.loc}: {n.op} has a data-dependent extent; the plan up to its mask "
            f"ran when it was built and {got}; this plan is made with them")
