"""Kernel of ``linalg_local``: one torch.linalg routine on each matrix of the block (the
planner has made the matrix axes whole)."""

from __future__ import annotations

import torch

from .registry import computation_key, kernel, part_key, shared_parts, tdtype


def _run(fn, x, attrs):
    la = torch.linalg
    if fn == "cholesky":
        return {"L": la.cholesky(x, upper=attrs.get("upper", False))}
    if fn == "inv":
        return {"X": la.inv(x)}
    if fn == "pinv":
        return {"X": la.pinv(x, rtol=attrs.get("rtol"), hermitian=False)}
    if fn == "det":
        return {"d": la.det(x)}
    if fn == "slogdet":
        sign, logabs = la.slogdet(x)
        return {"sign": sign, "logabsdet": logabs}
    if fn == "eigh":
        w, v = la.eigh(x, UPLO=attrs.get("uplo", "L"))
        return {"eigenvalues": w, "eigenvectors": v}
    if fn == "eigvalsh":
        return {"w": la.eigvalsh(x, UPLO=attrs.get("uplo", "L"))}
    if fn == "svdvals":
        return {"S": la.svdvals(x)}
    if fn == "svd":
        u, s, vh = la.svd(x, full_matrices=attrs.get("full_matrices", True))
        return {"U": u, "S": s, "Vh": vh}
    if fn == "qr":
        q, r = la.qr(x, mode=attrs.get("mode", "reduced"))
        return {"Q": q, "R": r}
    if fn == "matrix_rank":
        return {"r": la.matrix_rank(x, rtol=attrs.get("rtol"))}
    raise NotImplementedError(f"linalg_local has no routine {fn!r}")


part_key("linalg_local")(computation_key)


@kernel("linalg_local")
def k_linalg_local(node, args, ctx):
    x = args[0]
    out = tdtype(node.aval.dtype)
    work = tdtype(node.attr("work"))
    local_shape = node.aval.local_shape(ctx.rank)
    if x.numel() == 0 or 0 in local_shape:  # an empty stack or empty matrices
        if node.attr("fn") == "det" and x.numel() == 0 and x.shape[-1] == 0:
            return torch.ones(local_shape, dtype=out, device=x.device)
        return torch.zeros(local_shape, dtype=out, device=x.device)
    parts = shared_parts(ctx, computation_key(node),
                         lambda: _run(node.attr("fn"), x.to(work), dict(node.attrs)))
    return parts[node.attr("out")].to(out)
