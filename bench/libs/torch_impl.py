"""torch eager, one process with R intra-op threads (``torch.set_num_threads``)."""

from __future__ import annotations

import numpy as np
import torch

from .. import data
from ..common import Case
from .numpy_impl import call_us, new_shape_call_us, overhead_chain, small_call

MISSING = {"lasso": "torch has no Lasso",
           "gaussian_nb": "torch has no classifiers (scikit-learn is the reference)",
           "knn": "torch has no classifiers (scikit-learn is the reference)",
           "resplit": "one process: there is no split to change",
           "overlap": "one process: nothing to overlap (NumPy is the reference)"}


def versions():
    return {"torch": torch.__version__}


def _t(a):
    return torch.from_numpy(a)


def _sum(x):
    return float(x.sum(dtype=torch.float64))


def ewise_chain(ctx, p):
    a, b = map(_t, data.ewise_inputs(p))
    return Case(lambda: ((a * 2 + b) / (a + 1)).exp().sum(), float)


def moments(ctx, p):
    X = _t(data.matrix(3, p["rows"], p["cols"]))

    def run():
        return (X.mean(), X.std(correction=0), X.mean(0), X.std(0, correction=0),
                X.mean(1), X.std(1, correction=0))
    return Case(run, lambda r: sum(_sum(v) for v in r))


def standardize(ctx, p):
    X = _t(data.matrix(3, p["rows"], p["cols"]))
    return Case(lambda: (X - X.mean(0)) / X.std(0, correction=0), lambda Z: _sum(Z.abs()))


def gram(ctx, p):
    X = _t(data.matrix(4, p["rows"], p["cols"]))
    return Case(lambda: X.T @ X, _sum)


def cdist(ctx, p):
    X = _t(data.matrix(5, p["rows"], p["cols"]))
    return Case(lambda: torch.cdist(X, X), _sum,
                notes="torch.cdist (matmul-based for inputs this large)")


def kmeans(ctx, p):
    X, k = _t(data.kmeans_points(p)), p["k"]

    def run():
        C = X[:k].clone()
        for _ in range(p["iters"]):
            labels = ((C * C).sum(1)[None, :] - 2 * (X @ C.T)).argmin(1)
            counts = torch.bincount(labels, minlength=k)
            sums = torch.zeros_like(C).index_add_(0, labels, X)
            C = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], C)
        return C
    return Case(run, _sum, notes="Lloyd loop written by hand (index_add_)")


def transpose_sum(ctx, p):
    X = _t(data.matrix(11, p["n"], p["n"]))
    return Case(lambda: (X.T + X).sum(0), _sum)


def overhead(ctx, p):
    a, b = map(_t, data.overhead_inputs(p))

    def run():
        for _ in range(p["reps"]):
            s = overhead_chain(a, b, torch.abs, torch.sqrt).sum().item()
        return s
    small = torch.arange(10.0, dtype=torch.float64)
    return Case(run, float, extra=lambda r: {
        "ops": 10 * p["reps"], "call_us": call_us(lambda: small_call(small).item(),
                                                  p["reps"]),
        "new_shape_call_us": new_shape_call_us(
            lambda n: torch.arange(float(n), dtype=torch.float64),
            lambda x: small_call(x).item(), p["reps"])})


def bandwidth(ctx, p):
    src = _t(data.uniform(14, (p["n"],)))
    dst = torch.empty_like(src)

    def run():
        dst.copy_(src)
        return dst
    return Case(run, lambda d: float(np.sum(d.numpy()[::4096], dtype=np.float64)),
                notes="Tensor.copy_ with R threads")


def sort(ctx, p):
    x, k = _t(data.sort_input(p)), data.every_kth(p["n"])
    return Case(lambda: torch.sort(x).values, lambda s: data.sort_checksum(s[::k].numpy()))


def unique(ctx, p):
    x = _t(data.unique_input(p))
    return Case(lambda: torch.unique(x, sorted=True, return_counts=True),
                lambda r: data.unique_checksum(r[0].numpy(), r[1].numpy()),
                notes="torch.unique(return_counts=True)")


def median(ctx, p):
    X, m = _t(data.median_input(p)), p["rows"]

    def run():  # torch.median gives the lower middle value; the mean of the two, as NumPy
        lo = torch.kthvalue(X, (m + 1) // 2, dim=0).values
        if m % 2:
            return lo
        return (lo + torch.kthvalue(X, m // 2 + 1, dim=0).values) / 2
    return Case(run, lambda r: data.median_checksum(r.numpy()),
                notes="two torch.kthvalue selections (torch.median returns the lower "
                "middle value; torch.quantile refuses more than 2^24 elements)")


def mask_filter(ctx, p):
    x, keep = _t(data.mask_input(p)), p["keep"]

    def run():
        kept = x[x < keep]
        return kept.numel(), float(kept.sum())
    return Case(run, lambda r: data.mask_checksum(*r))


def cumsum(ctx, p):
    x, k = _t(data.cumsum_input(p)), data.every_kth(p["n"])
    return Case(lambda: torch.cumsum(x, 0), lambda c: data.cumsum_checksum(c[::k].numpy()),
                notes="float32 output, accumulated in float64 (torch on CPU)")


def qr(ctx, p):
    X = _t(data.qr_input(p))
    return Case(lambda: torch.linalg.qr(X), lambda r: data.abs_sum(r[1].numpy()),
                notes="torch.linalg.qr")


def svd_tall(ctx, p):
    X = _t(data.svd_input(p))
    return Case(lambda: torch.linalg.svd(X, full_matrices=False), lambda r: _sum(r[1]),
                notes="torch.linalg.svd(full_matrices=False)")


def rsvd(ctx, p):
    A, k = _t(data.rsvd_input(p)), p["rank"]

    def run():
        torch.manual_seed(0)
        u, s, v = torch.svd_lowrank(A, q=k + p["oversamples"], niter=p["power_iter"])
        return u[:, :k], s[:k], v[:, :k]
    return Case(run, lambda r: _sum(r[1]),
                notes="torch.svd_lowrank(q=rank + oversamples), the top rank triplets")


def cg(ctx, p):
    b, rtol, maxiter = _t(data.cg_input(p)), p["rtol"], 10 * p["n"]

    def op(v):
        return data.CG_SHIFT * v - torch.roll(v, 1) - torch.roll(v, -1)

    def run():  # stops at ||r|| <= rtol * ||b||, as scipy and lazyheat
        x, r = torch.zeros_like(b), b.clone()
        d, rs = r.clone(), float(r @ r)
        tol, it = rtol * float(torch.linalg.vector_norm(b)), 0
        while rs ** 0.5 > tol and it < maxiter:
            q = op(d)
            alpha = rs / float(d @ q)
            x.add_(d, alpha=alpha)
            r.add_(q, alpha=-alpha)
            rs, rs_old = float(r @ r), rs
            d = r + (rs / rs_old) * d
            it += 1
        return x, it
    return Case(run, lambda r: data.abs_sum(r[0].numpy()),
                extra=lambda r: {"iterations": r[1]},
                notes="a CG loop written by hand (torch.roll), float64")


def pca(ctx, p):
    X = torch.from_numpy(data.pca_input(p))

    def run():
        Xc = X - X.mean(dim=0)
        w = torch.linalg.eigvalsh(Xc.T @ Xc / (X.shape[0] - 1))
        return w.flip(0)[:p["k"]]
    return Case(run, lambda v: float(v.double().sum()), tol=1e-3,
                notes="eigenvalues of the covariance matrix")


def _fft(ctx, p):
    X = torch.from_numpy(data.fft_input(p))
    return Case(lambda: torch.fft.fft(X, dim=p["axis"]),
                lambda F: data.fft_checksum(F[::data.FFT_STRIDE].numpy()), tol=1e-4,
                notes="torch.fft.fft")


fft_axis0 = fft_axis1 = _fft
