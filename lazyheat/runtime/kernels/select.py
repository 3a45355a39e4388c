"""Boolean-mask selection kernels (see ``graph/select.py`` and ``indexing.py``).

The planner brings ``x`` and the mask to layouts where each rank's selection is its own:
both split along axis 0 with the same counts (the selected rows of a block are a contiguous
run of the result), both replicated, or ``x`` split after the masked axes with the mask
replicated. A rank's result block is then ``x_block[mask_block]``, in C order, and its
length is what ``mask_count`` reported for it.
"""

from __future__ import annotations

import torch

from .registry import kernel


@kernel("mask_count")
def k_mask_count(node, args, ctx):
    """This rank's true entries as its one-element block of ``int64[p]``; a replicated mask
    is every rank's block, so every entry is its full count."""
    n = torch.count_nonzero(args[0]).to(torch.int64).reshape(1)
    if node.aval.split is None:
        return n.expand(node.aval.shape).contiguous()
    return n


@kernel("mask_select")
def k_mask_select(node, args, ctx):
    """The block's entries (or sub-arrays along the masked axes) where its mask is true."""
    x, mask = args
    return x[mask.to(torch.bool)]
